//! The layered index of a backup set read in place (issue 12, first step):
//! which archive entry holds each path of the install directory an unpack
//! would make, built from the central directories only (nothing is
//! decompressed). Archives are layered in the order of
//! [`select_archives`](super::select_archives): for each path the entry of
//! the latest archive wins, as when unpacking. Entries an unpack refuses
//! are refused here with the same reasons
//! ([`entry_meta`](super::extract::entry_meta): absolute names, `..`,
//! symbolic links, special files, encrypted entries) and listed in
//! [`LayeredIndex::rejected`].
//!
//! Each file entry's size and modification time (as an unpack would set
//! it, [`entry_mtime`]) are taken when the index is built, so that a stat
//! reads nothing. Readers: each archive is opened once (one file
//! descriptor, its central directory parsed once); a thread reading an
//! entry takes an idle clone from the archive's pool or clones a new one
//! (a position and a 4 KiB buffer over the shared file), so as many
//! readers exist per archive as threads read at once, never more.
//!
//! Memory: one B-tree node share per file or directory entry: the placed
//! path as a `String` (its length plus 24 bytes), an [`EntryRef`] (40
//! bytes) and the tree's own overhead (a few tens of bytes): roughly
//! 130–180 bytes per entry, about 180 MB for a million messages, plus the
//! ZIP reader's own central directory of each archive.

use super::archive::{archive_uses_backslashes, entry_list, open_archive};
use super::extract::entry_meta;
use super::layout::Layout;
use super::report::Rejected;
use super::times::entry_mtime;
use super::unpack::detect_layout;
use super::{BackupError, MARKER_FILE};
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Mutex;

/// Where one path of the layered set is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef {
    /// Index into [`LayeredIndex::archives`].
    pub archive: u32,
    /// The entry's index in that archive's central directory.
    pub index: u32,
    /// A directory entry.
    pub is_dir: bool,
    /// The size of the file, uncompressed (0 for a directory).
    pub size: u64,
    /// The modification time, Unix seconds (as an unpack sets it).
    pub mtime: Option<i64>,
}

/// The paths of a backup set, each with the entry that holds it.
#[derive(Debug)]
pub struct LayeredIndex {
    /// The archives, in layering order.
    pub archives: Vec<PathBuf>,
    /// Each archive's layout (detected or inherited).
    pub layouts: Vec<Layout>,
    /// Entries refused, with the archive, the name as stored and why.
    pub rejected: Vec<Rejected>,
    /// Placed path (components joined by `/`, relative to the install
    /// directory) → entry. No component holds a `/`.
    entries: BTreeMap<String, EntryRef>,
    /// Each archive as opened (the central directory parsed), cloned
    /// for a reader when none is idle.
    opened: Vec<super::archive::Archive>,
    /// Idle readers per archive: reading needs `&mut`, so each caller
    /// takes one (cloning one when none is idle) and gives it back; as
    /// many exist per archive as threads read at once.
    readers: Vec<Mutex<Vec<super::archive::Archive>>>,
}

impl LayeredIndex {
    /// Reads the central directories of `archives` (in layering order).
    /// An archive that cannot be opened (missing, split, truncated so its
    /// central directory is gone) is an error, as for unpacking; bad
    /// entries are counted in [`LayeredIndex::rejected`].
    pub fn open(archives: &[PathBuf]) -> Result<LayeredIndex, BackupError> {
        if archives.is_empty() {
            return Err(BackupError::NoArchives);
        }
        let mut ix = LayeredIndex {
            archives: archives.to_vec(),
            layouts: Vec::new(),
            rejected: Vec::new(),
            entries: BTreeMap::new(),
            opened: Vec::with_capacity(archives.len()),
            readers: archives.iter().map(|_| Mutex::new(Vec::new())).collect(),
        };
        for (n, path) in archives.iter().enumerate() {
            let mut a = open_archive(path)?;
            let backslashes = archive_uses_backslashes(&a);
            let (names, top) = entry_list(&a, backslashes);
            let (layout, _) = detect_layout(path, &names, top, ix.layouts.last())?;
            for i in 0..a.len() {
                let meta = match entry_meta(&mut a, i, backslashes) {
                    Ok(m) => m,
                    Err((entry, reason)) => {
                        ix.reject(path, entry, reason);
                        continue;
                    }
                };
                let Some(rel) = layout.place(&meta.comps, meta.is_dir) else {
                    continue;
                };
                if matches!(rel.as_slice(), [only] if only.starts_with(MARKER_FILE)) {
                    ix.rejected.push(Rejected {
                        archive: path.clone(),
                        entry: meta.name,
                        reason: "reserved name (the unpack marker)".to_string(),
                    });
                    continue;
                }
                let (Ok(archive), Ok(index)) = (u32::try_from(n), u32::try_from(i)) else {
                    continue; // more than 4 billion archives or entries
                };
                let (size, mtime) = if meta.is_dir {
                    (0, None)
                } else {
                    // The size from the central directory; the time from
                    // the extra fields (read with the local header).
                    let size = a.by_index_data(i).map(|e| e.size()).unwrap_or(0);
                    match a.by_index_raw(i) {
                        Ok(zf) => (size, entry_mtime(&zf).map(|(t, _)| t.unix_seconds())),
                        // Its local header is unreadable: kept, so that
                        // reading it fails and is counted for its item.
                        Err(_) => (size, None),
                    }
                };
                let r = EntryRef {
                    archive,
                    index,
                    is_dir: meta.is_dir,
                    size,
                    mtime,
                };
                ix.entries.insert(rel.join("/"), r);
            }
            ix.layouts.push(layout);
            ix.opened.push(a);
        }
        Ok(ix)
    }

    fn reject(&mut self, path: &std::path::Path, entry: String, why: super::extract::EntryError) {
        let reason = match why {
            super::extract::EntryError::Reject(r) => r,
            super::extract::EntryError::Fatal(e) => e.to_string(),
        };
        self.rejected.push(Rejected {
            archive: path.to_path_buf(),
            entry,
            reason,
        });
    }

    /// The bytes of file entry `r` (decompressed; stored and deflated
    /// entries) and its modification time in Unix seconds (as an unpack
    /// would set it, [`entry_mtime`]). An entry that cannot be read (a
    /// truncated archive, bad data) is an `Err` with the reason, for the
    /// caller to count and report.
    pub fn read(&self, r: EntryRef) -> Result<(Vec<u8>, Option<i64>), String> {
        self.read_limited(r, u64::MAX)
    }

    /// [`LayeredIndex::read`] of at most the first `limit` bytes.
    pub fn read_limited(&self, r: EntryRef, limit: u64) -> Result<(Vec<u8>, Option<i64>), String> {
        let n = r.archive as usize;
        let (Some(opened), Some(pool)) = (self.opened.get(n), self.readers.get(n)) else {
            return Err(format!("no archive #{n}"));
        };
        let idle = pool.lock().map_err(|e| e.to_string())?.pop();
        let mut a = idle.unwrap_or_else(|| opened.clone());
        let got = read_entry(&mut a, r.index as usize, limit);
        if let Ok(mut p) = pool.lock() {
            p.push(a);
        }
        got
    }

    /// The entry holding `rel` (components joined by `/`).
    pub fn get(&self, rel: &str) -> Option<EntryRef> {
        self.entries.get(rel).copied()
    }

    /// How many paths the set holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the set holds no path.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The names directly inside directory `dir` (`""` for the root), each
    /// with whether it is a directory; directories only implied by the
    /// paths of their files are included. Sorted by name. A
    /// subdirectory's own contents are skipped over, not visited.
    pub fn children(&self, dir: &str) -> Vec<(String, bool)> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: BTreeMap<String, bool> = BTreeMap::new();
        let mut from = prefix.clone();
        loop {
            let mut jump = None;
            for (k, r) in self.entries.range(from.clone()..) {
                let Some(rest) = k.strip_prefix(&prefix) else {
                    break;
                };
                if rest.is_empty() {
                    continue;
                }
                match rest.split_once('/') {
                    Some((first, _)) => {
                        out.insert(first.to_string(), true);
                        // Everything below `first/` sorts before `first0`.
                        jump = Some(format!("{prefix}{first}0"));
                        break;
                    }
                    None => *out.entry(rest.to_string()).or_default() |= r.is_dir,
                }
            }
            match jump {
                Some(j) => from = j,
                None => break,
            }
        }
        out.into_iter().collect()
    }

    /// True when `rel` is a directory: a directory entry, or implied by
    /// the paths below it (`""`, the root, when the set holds anything).
    pub fn is_dir(&self, rel: &str) -> bool {
        if rel.is_empty() {
            return !self.entries.is_empty();
        }
        if self.entries.get(rel).is_some_and(|r| r.is_dir) {
            return true;
        }
        let prefix = format!("{rel}/");
        self.entries
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }
}

fn read_entry(
    a: &mut super::archive::Archive,
    i: usize,
    limit: u64,
) -> Result<(Vec<u8>, Option<i64>), String> {
    let zf = a
        .by_index(i)
        .map_err(|e| format!("cannot read the entry: {e}"))?;
    if zf.is_dir() {
        return Err("a directory, not a file".to_string());
    }
    let mtime = entry_mtime(&zf).map(|(t, _)| t.unix_seconds());
    let cap = zf.size().min(limit).min(64 << 20);
    let mut buf = Vec::with_capacity(usize::try_from(cap).unwrap_or(0));
    zf.take(limit)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read the entry: {e}"))?;
    Ok((buf, mtime))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    const INBOX: &str = "store/mail/a.org/u/INBOX";

    /// Writes a ZIP of `(name, data)`; `None` data is a directory.
    fn zip(path: &std::path::Path, entries: &[(&str, Option<&[u8]>)]) {
        let f = std::fs::File::create(path).expect("create");
        let mut w = ZipWriter::new(f);
        let o = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, data) in entries {
            match data {
                None => w.add_directory(*name, o).expect("dir"),
                Some(d) => {
                    w.start_file(*name, o).expect("start");
                    w.write_all(d).expect("write");
                }
            }
        }
        w.finish().expect("finish");
    }

    #[test]
    fn the_latest_archive_wins_per_path() {
        let t = tempfile::tempdir().expect("tmp");
        let full = t.path().join("F20240101T000000Z.zip");
        let diff = t.path().join("D20240102T000000Z.zip");
        let m1 = format!("{INBOX}/#msgs/00000001.eml");
        let m2 = format!("{INBOX}/#msgs/00000002.eml");
        let m3 = format!("{INBOX}/#msgs/00000003.eml");
        let ix_name = format!("{INBOX}/index.fld");
        zip(
            &full,
            &[
                ("users.cfg", Some(b"cfg")),
                ("store/", None),
                (&m1, Some(b"old")),
                (&m2, Some(b"two")),
                (&ix_name, Some(b"ix")),
            ],
        );
        zip(&diff, &[(&m1, Some(b"new")), (&m3, Some(b"three"))]);
        let ix = LayeredIndex::open(&[full, diff]).expect("index");
        assert!(ix.rejected.is_empty(), "{:?}", ix.rejected);
        assert_eq!(ix.get(&m1).map(|r| r.archive), Some(1), "the differential");
        assert_eq!(ix.get(&m2).map(|r| r.archive), Some(0), "the full");
        assert_eq!(ix.get(&m3).map(|r| r.archive), Some(1));
        assert_eq!(ix.get("users.cfg").map(|r| r.archive), Some(0));
        let names: Vec<String> = ix
            .children(&format!("{INBOX}/#msgs"))
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["00000001.eml", "00000002.eml", "00000003.eml"]);
        assert_eq!(
            ix.children(INBOX),
            [
                ("#msgs".to_string(), true),
                ("index.fld".to_string(), false)
            ]
        );
        let root: Vec<String> = ix.children("").into_iter().map(|(n, _)| n).collect();
        assert_eq!(root, ["store", "users.cfg"]);
        let read = |p: &str| ix.get(p).map(|r| ix.read(r).expect("read").0);
        assert_eq!(read(&m1).as_deref(), Some(&b"new"[..]));
        assert_eq!(read(&m2).as_deref(), Some(&b"two"[..]));
        assert_eq!(read(&m3).as_deref(), Some(&b"three"[..]), "a reader reused");
    }

    #[test]
    fn hostile_entries_are_rejected_with_name_and_reason() {
        let t = tempfile::tempdir().expect("tmp");
        let full = t.path().join("F20240101T000000Z.zip");
        let ok = format!("{INBOX}/#msgs/00000001.eml");
        let up = format!("{INBOX}/../../../../../../evil.eml");
        zip(
            &full,
            &[
                (&ok, Some(b"fine")),
                (&up, Some(b"evil")),
                ("/etc/passwd", Some(b"abs")),
            ],
        );
        let ix = LayeredIndex::open(&[full]).expect("index");
        assert!(ix.get(&ok).is_some());
        assert_eq!(ix.len(), 1, "only the good entry: {:?}", ix.entries);
        let names: Vec<&str> = ix.rejected.iter().map(|r| r.entry.as_str()).collect();
        assert!(names.contains(&up.as_str()), "{names:?}");
        assert!(names.contains(&"/etc/passwd"), "{names:?}");
        assert!(ix.rejected.iter().all(|r| !r.reason.is_empty()));
    }

    #[test]
    fn a_truncated_archive_is_an_error_not_a_crash() {
        let t = tempfile::tempdir().expect("tmp");
        let full = t.path().join("F20240101T000000Z.zip");
        let m = format!("{INBOX}/#msgs/00000001.eml");
        zip(&full, &[(&m, Some(&[b'x'; 4096][..]))]);
        let bytes = std::fs::read(&full).expect("read");
        std::fs::write(&full, &bytes[..bytes.len() / 2]).expect("truncate");
        assert!(LayeredIndex::open(&[full]).is_err());
    }
}
