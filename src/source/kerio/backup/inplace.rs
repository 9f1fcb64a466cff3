//! A backup set read in place (issue 12): [`ArchiveFs`] is a
//! [`StoreFs`] over a [`LayeredIndex`], so that the store walk reads the
//! install directory an unpack would make straight from the archives:
//! listings and stats from the central directories, file bytes by
//! inflating one entry at a time. Nothing is written to disk.
//!
//! Paths: the install directory is the path of the set's first archive
//! (`/backups/F20240101T000000Z.zip`), its files below it
//! (`…/F20240101T000000Z.zip/store/mail/a.org/u/INBOX/#msgs/1.eml`), so
//! that reports name the archive and the entry. A path outside it (an
//! `--archive-dir` on disk, a directory `mailserver.cfg` names) is read
//! from the disk, as for an unpacked store.
//!
//! An entry that cannot be read (bad data, a truncated archive) fails with
//! [`io::ErrorKind::InvalidData`] and the reason, for its item alone.

use super::layered::LayeredIndex;
use super::{select_archives, BackupError, Rejected};
use crate::source::fs::{DirEntry, DiskFs, Kind, Meta, StoreFs};
use std::io;
use std::path::{Component, Path, PathBuf};

/// A backup set read in place.
pub struct ArchiveFs {
    root: PathBuf,
    index: LayeredIndex,
    /// What [`select_archives`] chose and why.
    pub notes: Vec<String>,
}

impl std::fmt::Debug for ArchiveFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveFs")
            .field("root", &self.root)
            .field("archives", &self.index.archives)
            .field("paths", &self.index.len())
            .finish()
    }
}

/// Where a path is.
enum Place {
    /// Outside the set: on disk.
    Disk,
    /// In the set (components joined by `/`; `""` is the root).
    In(String),
    /// Below the set's root, but no entry can have that name (`..`, not
    /// UTF-8).
    Nowhere,
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such entry in the backup", path.display()),
    )
}

impl ArchiveFs {
    /// Selects the set from what the user gave (archives or a backup
    /// directory, as `unpack` does) and reads its central directories.
    pub fn open(inputs: &[PathBuf]) -> Result<ArchiveFs, BackupError> {
        let set = select_archives(inputs)?;
        let index = LayeredIndex::open(&set.archives)?;
        let root = set
            .archives
            .first()
            .cloned()
            .ok_or(BackupError::NoArchives)?;
        Ok(ArchiveFs {
            root,
            index,
            notes: set.notes,
        })
    }

    /// The path the install directory has (the first archive's).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The archives, in layering order.
    pub fn archives(&self) -> &[PathBuf] {
        &self.index.archives
    }

    /// Entries refused (same rules as an unpack), with why.
    pub fn rejected(&self) -> &[Rejected] {
        &self.index.rejected
    }

    fn place(&self, path: &Path) -> Place {
        let Ok(rest) = path.strip_prefix(&self.root) else {
            return Place::Disk;
        };
        let mut parts = Vec::new();
        for c in rest.components() {
            match c {
                Component::Normal(n) => match n.to_str() {
                    Some(s) => parts.push(s),
                    None => return Place::Nowhere,
                },
                Component::CurDir => {}
                _ => return Place::Nowhere,
            }
        }
        Place::In(parts.join("/"))
    }

    /// The file entry at `path`, or why there is none.
    fn file(&self, path: &Path, rel: &str) -> io::Result<super::EntryRef> {
        match self.index.get(rel) {
            Some(r) if !r.is_dir => Ok(r),
            Some(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a directory, not a regular file: not opened",
            )),
            None if self.index.is_dir(rel) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a directory, not a regular file: not opened",
            )),
            None => Err(not_found(path)),
        }
    }
}

fn bad_data(reason: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason)
}

impl StoreFs for ArchiveFs {
    fn read_dir(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let rel = match self.place(dir) {
            Place::Disk => return DiskFs.read_dir(dir),
            Place::Nowhere => return Err(not_found(dir)),
            Place::In(rel) => rel,
        };
        if !self.index.is_dir(&rel) {
            return Err(match self.index.get(&rel) {
                Some(_) => io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
                None => not_found(dir),
            });
        }
        Ok(self
            .index
            .children(&rel)
            .into_iter()
            .map(|(name, is_dir)| DirEntry {
                path: dir.join(&name),
                name: name.into(),
                kind: if is_dir { Kind::Dir } else { Kind::File },
            })
            .collect())
    }

    fn stat(&self, path: &Path) -> io::Result<Meta> {
        let rel = match self.place(path) {
            Place::Disk => return DiskFs.stat(path),
            Place::Nowhere => return Err(not_found(path)),
            Place::In(rel) => rel,
        };
        let dir = Meta {
            kind: Kind::Dir,
            len: 0,
            mtime: None,
        };
        match self.index.get(&rel) {
            Some(r) if !r.is_dir => Ok(Meta {
                kind: Kind::File,
                len: r.size,
                mtime: r.mtime,
            }),
            Some(_) => Ok(dir),
            None if self.index.is_dir(&rel) => Ok(dir),
            None => Err(not_found(path)),
        }
    }

    fn read(&self, path: &Path) -> io::Result<(Vec<u8>, Option<i64>)> {
        let rel = match self.place(path) {
            Place::Disk => return DiskFs.read(path),
            Place::Nowhere => return Err(not_found(path)),
            Place::In(rel) => rel,
        };
        let r = self.file(path, &rel)?;
        self.index.read(r).map_err(bad_data)
    }

    fn read_head(&self, path: &Path, limit: u64) -> io::Result<(Vec<u8>, u64)> {
        let rel = match self.place(path) {
            Place::Disk => return DiskFs.read_head(path, limit),
            Place::Nowhere => return Err(not_found(path)),
            Place::In(rel) => rel,
        };
        let r = self.file(path, &rel)?;
        let (head, _) = self.index.read_limited(r, limit).map_err(bad_data)?;
        Ok((head, r.size))
    }

    fn dev_ino(&self, path: &Path) -> Option<(u64, u64)> {
        match self.place(path) {
            Place::Disk => DiskFs.dev_ino(path),
            // No links in a set read in place: nothing is met twice.
            _ => None,
        }
    }

    fn canonical(&self, path: &Path) -> PathBuf {
        match self.place(path) {
            Place::Disk => DiskFs.canonical(path),
            _ => path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    const INBOX: &str = "store/mail/a.org/u/INBOX";

    fn zip(path: &Path, entries: &[(&str, &[u8])]) {
        let f = std::fs::File::create(path).expect("create");
        let mut w = ZipWriter::new(f);
        let o = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(
                zip::DateTime::from_date_and_time(2020, 5, 6, 7, 8, 10).expect("date"),
            );
        for (name, data) in entries {
            w.start_file(*name, o).expect("start");
            w.write_all(data).expect("write");
        }
        w.finish().expect("finish");
    }

    #[test]
    fn the_layered_set_reads_like_a_directory() {
        let t = tempfile::tempdir().expect("tmp");
        let full = t.path().join("F20240101T000000Z.zip");
        let diff = t.path().join("D20240102T000000Z.zip");
        let m1 = format!("{INBOX}/#msgs/00000001.eml");
        let m2 = format!("{INBOX}/#msgs/00000002.eml");
        zip(
            &full,
            &[
                ("users.cfg", b"<config/>"),
                (&m1, b"old one"),
                (&m2, b"two"),
            ],
        );
        zip(&diff, &[(&m1, b"new one!")]);
        let fs = ArchiveFs::open(&[full.clone(), diff]).expect("open");
        assert_eq!(fs.root(), full);
        let msgs = full.join(INBOX).join("#msgs");
        let names: Vec<String> = fs
            .read_dir(&msgs)
            .expect("list")
            .into_iter()
            .map(|e| e.name.to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["00000001.eml", "00000002.eml"]);
        let st = fs.stat(&msgs.join("00000001.eml")).expect("stat");
        assert_eq!((st.kind, st.len), (Kind::File, 8), "the differential's");
        assert!(st.mtime.is_some());
        let (bytes, mtime) = fs.read(&msgs.join("00000001.eml")).expect("read");
        assert_eq!((bytes.as_slice(), mtime), (&b"new one!"[..], st.mtime));
        assert_eq!(
            fs.read_head(&msgs.join("00000002.eml"), 2).expect("head"),
            (b"tw".to_vec(), 3)
        );
        assert!(fs.is_dir(&full) && fs.is_dir(&full.join("store/mail")));
        assert!(fs.is_file(&full.join("users.cfg")));
        assert!(fs.read(&msgs).is_err(), "a directory is not read");
        let e = fs.read(&msgs.join("nope.eml")).expect_err("missing");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(fs.read_dir(&full.join("store/../..")).is_err());
        // Outside the set: the disk.
        assert!(fs.is_dir(t.path()));
    }
}
