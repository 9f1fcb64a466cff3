//! The items of one folder: the `#msgs` listing (the truth for which items
//! exist) joined with `index.fld` (flags, dates, class), with stale index
//! records and unindexed files counted, and the folder's kind decided.
//!
//! Which index: `index.fld` whenever it exists (even empty: a 0-byte
//! `index.fld`, as archiver scripts create, means "no metadata"); only when
//! it is missing, `index.bad`, the copy Kerio's reindex leaves behind (a
//! store copied mid-reindex has only that one). `index.bad` is never
//! preferred over a present `index.fld`; which one was read is recorded.
//!
//! Memory: one folder's listing and index at a time; item bytes are read
//! on demand by [`read_item`].

use super::index::{normalize_id, Index, IndexRecord};
use super::kind::{self, FolderKind, KindDecision, KindEvidence};
use super::layout::Folder;
use crate::source::fs::{Kind, StoreFs};
use crate::source::SkipLog;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// How deep below `#msgs` items are looked for.
const MSGS_DEPTH: usize = 8;

/// One item file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef {
    /// Item id: the path below `#msgs` without `.eml`, `/`-separated
    /// (`0000001a`, or `00/0000001a` in a subdirectory). Stable across runs.
    pub id: String,
    /// The path below `#msgs`, as on disk.
    pub rel: PathBuf,
    /// Why the file is never opened (it is a FIFO, a socket, a device, or
    /// a link to one): the item is listed, so that it is counted and fails
    /// with this reason, but nothing reads it.
    pub refused: Option<String>,
    /// The id used to join with `index.fld`: the file stem, normalised
    /// ([`normalize_id`]).
    pub key: String,
}

impl ItemRef {
    /// The id used to join with `index.fld` (the file stem, normalised).
    pub fn join_key(&self) -> &str {
        &self.key
    }
}

/// A folder's items and metadata.
#[derive(Debug, Default)]
pub struct FolderContents {
    /// `#msgs` directory.
    pub msgs_dir: PathBuf,
    /// Items in id order.
    pub items: Vec<ItemRef>,
    /// The parsed index; `None` when the folder has no `index.fld`.
    pub index: Option<Index>,
    /// The file the index was read from, when there is one.
    pub index_file: Option<PathBuf>,
    /// The index was read from `index.bad` (no `index.fld`).
    pub index_from_bad: bool,
    /// `index.bad` exists beside a present `index.fld` and was not read.
    pub bad_index_ignored: bool,
    /// The index file read has 0 bytes.
    pub index_empty_file: bool,
    /// Index records without a file (their `U` ids).
    pub stale: Vec<String>,
    /// Files without an index record (all of them when there is no
    /// `index.fld`).
    pub unindexed: u64,
    /// Files that share one index id (e.g. `1a.eml` and `1A.eml`).
    pub duplicate_ids: u64,
    /// Non-item files in `#msgs`, by name.
    pub skipped: SkipLog,
    /// What could not be read (index, subdirectories of `#msgs`).
    pub problems: Vec<String>,
}

fn is_eml(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("eml"))
}

fn file_len(fs: &dyn StoreFs, p: &Path) -> Option<u64> {
    fs.stat(p).ok().map(|m| m.len)
}

/// Lists `dir` (`#msgs` or a subdirectory of it, `depth` levels down, at
/// `rel_dir` below `#msgs`) into `c`: `.eml` files are items, other files
/// are counted by name, and subdirectories are walked to [`MSGS_DEPTH`]
/// levels.
fn list_msgs(fs: &dyn StoreFs, rel_dir: &Path, dir: &Path, depth: usize, c: &mut FolderContents) {
    let entries = match fs.read_dir(dir) {
        Ok(v) => v,
        Err(e) => {
            c.problems.push(format!("{}: {e}", dir.display()));
            return;
        }
    };
    for entry in entries {
        if entry.kind == Kind::Dir {
            if is_eml(&entry.path) {
                c.problems.push(format!(
                    "{}: a directory named like a message; walked as a subdirectory of #msgs",
                    entry.path.display()
                ));
            }
            if depth < MSGS_DEPTH {
                list_msgs(fs, &rel_dir.join(&entry.name), &entry.path, depth + 1, c);
            }
            continue;
        }
        // The type is known from the listing; a link is followed with
        // `stat` (which never blocks), never by opening it.
        let refused = if entry.kind == Kind::Symlink {
            match fs.stat(&entry.path) {
                Ok(m) => m
                    .kind
                    .not_regular()
                    .map(|w| format!("a symbolic link to {w}: not opened")),
                Err(e) => Some(format!("a symbolic link that cannot be followed: {e}")),
            }
        } else {
            entry
                .kind
                .not_regular()
                .map(|w| format!("{w}, not a regular file: not opened"))
        };
        let rel = rel_dir.join(&entry.name);
        if !is_eml(&rel) {
            *c.skipped
                .files
                .entry(entry.name.to_string_lossy().into_owned())
                .or_insert(0) += 1;
            continue;
        }
        // A file name that is not UTF-8 keeps its bytes, `%XX`.
        let text = |p: &Path| crate::mutf7::escape_non_utf8(p.as_os_str().as_encoded_bytes());
        let mut id = text(&rel.with_extension("")).replace('\\', "/");
        if id.is_empty() {
            id = text(&rel);
        }
        let key = normalize_id(id.rsplit('/').next().unwrap_or(&id));
        c.items.push(ItemRef {
            id,
            rel,
            refused,
            key,
        });
    }
}

impl FolderContents {
    /// Lists `#msgs` and reads `index.fld` of `folder`.
    pub fn load(fs: &dyn StoreFs, folder: &Folder) -> FolderContents {
        let msgs_dir = folder.dir.join("#msgs");
        let mut c = FolderContents {
            msgs_dir: msgs_dir.clone(),
            ..FolderContents::default()
        };
        let index_file = folder.dir.join("index.fld");
        let bad_file = folder.dir.join("index.bad");
        match Index::load_in(fs, &index_file) {
            Ok(Some(idx)) => {
                c.index_empty_file = idx.stats.lines == 0 && file_len(fs, &index_file) == Some(0);
                c.index_file = Some(index_file);
                c.index = Some(idx);
                c.bad_index_ignored = fs.is_file(&bad_file);
            }
            Ok(None) => match Index::load_in(fs, &bad_file) {
                Ok(Some(idx)) => {
                    c.index_empty_file = idx.stats.lines == 0 && file_len(fs, &bad_file) == Some(0);
                    c.index_file = Some(bad_file);
                    c.index = Some(idx);
                    c.index_from_bad = true;
                }
                Ok(None) => {}
                Err(e) => c.problems.push(format!("{}: {e}", bad_file.display())),
            },
            Err(e) => c.problems.push(format!("{}: {e}", index_file.display())),
        }
        if fs.is_dir(&msgs_dir) {
            list_msgs(fs, Path::new(""), &msgs_dir, 1, &mut c);
        }
        // By normalised id: shorter (smaller hex) first.
        c.items
            .sort_by(|a, b| (a.key.len(), &a.key).cmp(&(b.key.len(), &b.key)));
        let mut seen = HashSet::with_capacity(c.items.len());
        for it in &c.items {
            if !seen.insert(it.join_key()) {
                c.duplicate_ids += 1;
            }
        }
        c.unindexed = c.items.iter().filter(|i| c.record(i).is_none()).count() as u64;
        if let Some(idx) = &c.index {
            let mut stale: Vec<String> = idx
                .records()
                .filter(|(k, _)| !seen.contains(k.as_str()))
                .map(|(_, r)| r.id.clone())
                .collect();
            stale.sort();
            c.stale = stale;
        }
        c
    }

    /// The index record of an item.
    pub fn record(&self, item: &ItemRef) -> Option<&IndexRecord> {
        self.index
            .as_ref()
            .and_then(|i| i.get_normalized(&item.key))
    }

    /// The file of an item.
    pub fn path(&self, item: &ItemRef) -> PathBuf {
        self.msgs_dir.join(&item.rel)
    }

    /// Guesses kinds from the first bytes of up to `n` items, spread over
    /// the folder.
    pub fn sample_content_kinds(&self, fs: &dyn StoreFs, n: usize) -> Vec<FolderKind> {
        if self.items.is_empty() || n == 0 {
            return Vec::new();
        }
        let step = (self.items.len() / n).max(1);
        self.items
            .iter()
            .step_by(step)
            .take(n)
            .filter(|it| it.refused.is_none())
            .filter_map(|it| read_head(fs, &self.path(it), 16 * 1024).ok())
            .filter(|head| !head.is_empty())
            .map(|head| kind::kind_from_content(&head))
            .collect()
    }

    /// Decides the folder's kind from every source of evidence.
    pub fn decide_kind(
        &self,
        fs: &dyn StoreFs,
        folder: &Folder,
        parent: Option<FolderKind>,
    ) -> KindDecision {
        let classes: Vec<&str> = self
            .index
            .iter()
            .flat_map(|i| i.records().filter_map(|(_, r)| r.class.as_deref()))
            .collect();
        let content = self.sample_content_kinds(fs, 12);
        kind::decide(&KindEvidence {
            status_type: folder.status.as_ref().and_then(|s| s.type_code),
            path: &folder.path,
            classes,
            content,
            parent,
        })
    }
}

pub(super) fn read_head(fs: &dyn StoreFs, path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    fs.read_head(path, limit).map(|(b, _)| b)
}

/// An item's bytes and the file's modification time (Unix seconds).
pub fn read_item(path: &Path) -> std::io::Result<(Vec<u8>, Option<i64>)> {
    crate::source::item::read_file(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::kerio::layout::Folder;
    use std::fs;

    fn folder(dir: &Path) -> Folder {
        Folder {
            path: "INBOX".into(),
            components: vec!["INBOX".into()],
            dir: dir.to_path_buf(),
            parent: None,
            name_problem: None,
            status: None,
            has_status: false,
            files: Default::default(),
            mail_by_place: None,
        }
    }

    #[test]
    fn join_stale_unindexed() {
        let t = tempfile::tempdir().expect("tempdir");
        let d = t.path();
        fs::create_dir_all(d.join("#msgs/sub")).expect("mkdir");
        for n in [
            "00000001.eml",
            "0000001A.eml",
            "00000003.eml",
            "sub/00000004.eml",
        ] {
            fs::write(d.join("#msgs").join(n), b"Subject: x\r\n\r\n").expect("write");
        }
        fs::write(d.join("#msgs/thumbs.db"), b"junk").expect("write");
        fs::write(
            d.join("index.fld"),
            b"U00000001 F1 S1 D5 T6 M7 CIPM.Note\nU0000001a F0 S1 D5 M7 CIPM.Note\nU00000002 F0 CIPM.Note\ngarbage\n",
        )
        .expect("write");
        let c = FolderContents::load(&crate::source::fs::DiskFs, &folder(d));
        let ids: Vec<_> = c.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(
            ids,
            vec!["00000001", "00000003", "sub/00000004", "0000001A"]
        );
        assert_eq!(c.items[2].rel, Path::new("sub/00000004.eml"));
        assert_eq!(c.path(&c.items[2]), d.join("#msgs/sub/00000004.eml"));
        assert_eq!(c.items[3].join_key(), "1a");
        assert_eq!(c.stale, vec!["00000002".to_string()]);
        assert_eq!(c.unindexed, 2);
        assert_eq!(c.skipped.files.get("thumbs.db"), Some(&1));
        assert_eq!(c.record(&c.items[3]).map(|r| r.created), Some(Some(5)));
        assert_eq!(c.index.as_ref().map(|i| i.stats.garbage), Some(1));
    }

    #[test]
    fn missing_index_is_no_metadata() {
        let t = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(t.path().join("#msgs")).expect("mkdir");
        fs::write(t.path().join("#msgs/00000001.eml"), b"x").expect("write");
        let c = FolderContents::load(&crate::source::fs::DiskFs, &folder(t.path()));
        assert!(c.index.is_none());
        assert_eq!(c.unindexed, 1);
        assert!(c.problems.is_empty());
        assert_eq!(c.items.len(), 1);
    }
}
