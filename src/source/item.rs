//! One item of a folder: its id, where its bytes are ([`Origin`]), and the
//! facts its folder's metadata gave ([`ItemMeta`]: flags, the "deleted"
//! bit, dates, MAPI class, and which index they came from). The bytes are
//! read on demand ([`Item::read`]), so a walk holds no item's content.
//!
//! Flags are already [`MailFlags`]: no caller ever sees a source's own flag
//! bits. An item without metadata has no flags, is not deleted, and has no
//! index dates.

pub use super::fs::{not_regular, open_regular, read_file, read_listed_file, DirStat};
use super::kind::{FolderKind, KindSource};
use crate::model::MailFlags;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

/// Where an item's bytes are, all read by the same [`Item::read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file on disk that its directory listing said is a regular file
    /// (read with the fast path of [`read_listed_file`]).
    File(PathBuf),
    /// A file read through another [`StoreFs`](super::fs::StoreFs): an
    /// entry of a backup set read in place (reading it inflates the ZIP
    /// entry; its time is the entry's).
    Entry {
        /// The path the file system knows it by (below the archive's path).
        path: PathBuf,
        /// The file system.
        fs: super::fs::FsHandle,
    },
    /// A file the source knows it cannot read (a compressed archive period
    /// in an undocumented format): stat and read fail with `why`, so the
    /// file is counted and reported like any unreadable item.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        why: String,
    },
}

/// The facts a folder's metadata index holds about one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemMeta {
    /// The mail flags (`\Seen`, `\Answered`, `\Flagged`, `\Draft`).
    pub flags: MailFlags,
    /// Marked deleted but not expunged (Kerio: bit 0x8, inferred; never
    /// sent as `\Deleted`).
    pub deleted: bool,
    /// The flags had bits the reader does not interpret.
    pub unknown_flags: bool,
    /// When the item was received (Unix seconds; Kerio `T`).
    pub received: Option<i64>,
    /// When the item was created in the store (Unix seconds; Kerio `D`).
    pub created: Option<i64>,
    /// MAPI message class (`IPM.Note`, `IPM.Contact`).
    pub class: Option<String>,
    /// `created` is not when the item arrived but when it last entered
    /// its folder (Kerio resets `D` when an item is delivered to or moved
    /// into INBOX or Deleted Items), so a `Received:` date is the better
    /// internal date when `received` is missing.
    pub created_is_move_time: bool,
    /// The index file the facts came from.
    pub index: Arc<Path>,
}

/// One item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Id, stable across runs: the file's path below the folder's item
    /// directory without the extension (`0000001a`, `00/0000001a`).
    pub id: String,
    /// Where its bytes are.
    pub origin: Origin,
    /// Its index record, when it has one.
    pub meta: Option<ItemMeta>,
    /// What the item is: in a mail folder decided per item (a contact or a
    /// meeting in `Deleted Items` is not mail), elsewhere its folder's kind.
    pub kind: FolderKind,
    /// Where `kind` came from ([`KindSource::MessageClass`],
    /// [`KindSource::Content`], or [`KindSource::Folder`]).
    pub kind_source: KindSource,
}

/// What `stat` says about an item's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Size in bytes.
    pub size: u64,
    /// Modification time (Unix seconds); `None` when unknown or before
    /// 1970 (the journal has always stored it so).
    pub mtime: Option<i64>,
}

/// An item's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemData {
    /// The content, as stored.
    pub bytes: Vec<u8>,
    /// The file's modification time (Unix seconds, negative before 1970).
    pub mtime: Option<i64>,
}

/// An item that could not be stat'ed or read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct ItemError {
    /// The item's id.
    pub item: String,
    /// Its file.
    pub path: PathBuf,
    /// What the system said (reports that already name the item show only
    /// this).
    #[source]
    pub source: io::Error,
}

impl Item {
    /// The file the item is in, for reports.
    pub fn path(&self) -> &Path {
        match &self.origin {
            Origin::File(p)
            | Origin::Unreadable { path: p, .. }
            | Origin::Entry { path: p, .. } => p,
        }
    }

    /// The file to open and the file system it is on (`None`: the disk's
    /// fast path), or the error of an item known to be unreadable.
    fn file(&self) -> Result<(&Path, Option<&super::fs::SharedFs>), ItemError> {
        match &self.origin {
            Origin::File(p) => Ok((p, None)),
            Origin::Entry { path, fs } => Ok((path, Some(&fs.0))),
            Origin::Unreadable { why, .. } => Err(self.error(io::Error::other(why.clone()))),
        }
    }

    /// Its mail flags (none without an index record).
    pub fn flags(&self) -> MailFlags {
        self.meta.as_ref().map(|m| m.flags).unwrap_or_default()
    }

    /// Marked deleted (not expunged) in the index.
    pub fn deleted(&self) -> bool {
        self.meta.as_ref().is_some_and(|m| m.deleted)
    }

    /// The index's received time.
    pub fn received(&self) -> Option<i64> {
        self.meta.as_ref().and_then(|m| m.received)
    }

    /// The index's creation time.
    pub fn created(&self) -> Option<i64> {
        self.meta.as_ref().and_then(|m| m.created)
    }

    /// The index's MAPI class.
    pub fn class(&self) -> Option<&str> {
        self.meta.as_ref().and_then(|m| m.class.as_deref())
    }

    /// A mail item (to migrate as mail), not a groupware one.
    pub fn is_mail(&self) -> bool {
        self.kind == FolderKind::Mail
    }

    /// An item of `id` at `origin` without metadata: a mail item unless
    /// said otherwise.
    pub fn new(id: impl Into<String>, origin: Origin, meta: Option<ItemMeta>) -> Item {
        Item {
            id: id.into(),
            origin,
            meta,
            kind: FolderKind::Mail,
            kind_source: KindSource::Folder,
        }
    }

    fn error(&self, source: io::Error) -> ItemError {
        ItemError {
            item: self.id.clone(),
            path: self.path().to_path_buf(),
            source,
        }
    }

    /// Size and modification time, without reading.
    pub fn stat(&self) -> Result<Stat, ItemError> {
        let (path, fs) = self.file()?;
        if let Some(fs) = fs {
            let m = fs.stat(path).map_err(|e| self.error(e))?;
            return Ok(Stat {
                size: m.len,
                mtime: m.mtime.filter(|t| *t >= 0),
            });
        }
        let m = std::fs::metadata(path).map_err(|e| self.error(e))?;
        let mtime = m.modified().ok().and_then(|t| {
            t.duration_since(UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs() as i64)
        });
        Ok(Stat {
            size: m.len(),
            mtime,
        })
    }

    /// [`Item::stat`] through `dirs`, which keeps the last directory open
    /// (a folder's files are stat'ed relative to it: for the many stats of
    /// a sync's work lists).
    pub fn stat_in(&self, dirs: &mut DirStat) -> Result<Stat, ItemError> {
        let (path, fs) = self.file()?;
        if fs.is_some() {
            return self.stat();
        }
        let (size, mtime) = dirs.stat(path).map_err(|e| self.error(e))?;
        Ok(Stat { size, mtime })
    }

    /// The bytes and the modification time.
    pub fn read(&self) -> Result<ItemData, ItemError> {
        let (path, fs) = self.file()?;
        let (bytes, mtime) = match fs {
            Some(fs) => fs.read(path),
            None => read_listed_file(path),
        }
        .map_err(|e| self.error(e))?;
        Ok(ItemData { bytes, mtime })
    }

    /// At most the first `limit` bytes (to read headers without reading a
    /// large message whole).
    pub fn read_head(&self, limit: u64) -> Result<Vec<u8>, ItemError> {
        let (path, fs) = self.file()?;
        let got = match fs {
            Some(fs) => fs.read_head(path, limit).map(|(b, _)| b),
            None => open_regular(path).and_then(|f| {
                let mut head = Vec::new();
                f.take(limit).read_to_end(&mut head)?;
                Ok(head)
            }),
        };
        got.map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(path: PathBuf, meta: Option<ItemMeta>) -> Item {
        Item::new("0000001a", Origin::File(path), meta)
    }

    #[test]
    fn reads_stats_and_says_which_file_failed() {
        let t = tempfile::tempdir().expect("tempdir");
        let p = t.path().join("0000001a.eml");
        std::fs::write(&p, b"Subject: x\r\n\r\nbody").expect("write");
        let old = filetime::FileTime::from_unix_time(1_600_000_000, 0);
        filetime::set_file_mtime(&p, old).expect("mtime");
        let it = item(p.clone(), None);
        assert_eq!(
            it.stat().expect("stat"),
            Stat {
                size: 18,
                mtime: Some(1_600_000_000)
            }
        );
        let d = it.read().expect("read");
        assert_eq!(d.bytes, b"Subject: x\r\n\r\nbody");
        assert_eq!(d.mtime, Some(1_600_000_000));
        assert_eq!(it.flags(), MailFlags::default());
        assert!(!it.deleted());

        std::fs::remove_file(&p).expect("rm");
        let e = it.read().expect_err("gone");
        assert_eq!(e.item, "0000001a");
        assert_eq!(e.path, p);
        assert_eq!(e.source.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().starts_with(&p.display().to_string()));
        assert!(it.stat().is_err());
    }

    #[test]
    fn an_item_known_to_be_unreadable_fails_with_its_reason() {
        let t = tempfile::tempdir().expect("tempdir");
        let p = t.path().join("2012-11.tar.gz");
        std::fs::write(&p, b"\x1f\x8b rest").expect("write");
        let it = Item::new(
            "2012-11.tar.gz",
            Origin::Unreadable {
                path: p.clone(),
                why: "compressed (gzip)".into(),
            },
            None,
        );
        assert_eq!(it.path(), p);
        let e = it.read().expect_err("unreadable");
        assert_eq!(e.source.to_string(), "compressed (gzip)");
        assert_eq!(e.path, p);
        assert!(it.stat().is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_never_opened() {
        let t = tempfile::tempdir().expect("tempdir");
        let p = t.path().join("0000fff5.eml");
        let c = std::ffi::CString::new(p.to_string_lossy().as_bytes()).expect("cstring");
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let e = read_file(&p).expect_err("a FIFO");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("FIFO"), "{e}");
        let e = open_regular(t.path()).expect_err("a directory");
        assert!(e.to_string().contains("a directory"), "{e}");
    }

    #[test]
    fn facts_come_from_the_index_record() {
        let meta = ItemMeta {
            flags: MailFlags {
                seen: true,
                ..MailFlags::default()
            },
            deleted: true,
            unknown_flags: false,
            received: Some(7),
            created: Some(5),
            class: Some("IPM.Note".into()),
            created_is_move_time: false,
            index: Arc::from(Path::new("index.fld")),
        };
        let it = item(PathBuf::from("x.eml"), Some(meta));
        assert!(it.flags().seen && it.deleted());
        assert_eq!((it.received(), it.created()), (Some(7), Some(5)));
        assert_eq!(it.class(), Some("IPM.Note"));
    }
}
