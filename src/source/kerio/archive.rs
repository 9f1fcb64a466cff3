//! Kerio's archive: the copies of local, incoming, outgoing and relayed
//! mail Kerio writes when archiving is on, possibly the only copy left of
//! mail users deleted.
//!
//! Where it is: [`super::archive_dir`].
//!
//! What ([`ArchiveTree::walk`]): a new archive folder is started per period
//! (day, week, month) and at every restart; their inner layout is not
//! documented, so every directory below an archive root that looks like a
//! Kerio folder (`#msgs/`, `index.fld`, `index.bad` or `status.fld`) is read
//! like any folder, wherever it is. The first level below the root is the
//! period. Old periods may be compressed in an undocumented format: such a
//! file (recognised by its magic bytes or extension) is one unreadable item
//! of its own folder, so it is counted, reported with its path, and fails
//! a migration that was asked to take the archive. Other files that are
//! neither folder metadata nor items are counted by name.
//!
//! Invariants: folder paths start with `#archive` (`#archive.2` for a
//! second root), which no folder of an account can have, so the journal
//! never confuses an archive folder with a user's own; the mailbox
//! components are the `--archive-to` folder plus the period (or the
//! archive's own tree); the walk is depth-limited and never follows into
//! system directories.

pub use super::archive_dir::{locate, Location};
use super::layout::Folder as LayoutFolder;
use crate::mutf7 as names;
use crate::source::fs::{DirEntry, Kind, StoreFs};
use crate::source::{
    ArchiveLayout, ArchivePeriod, ArchiveTo, FolderKind, Item, KindDecision, KindSource, Origin,
    SkipLog,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How deep below an archive root folders are looked for.
const MAX_DEPTH: usize = 12;

/// The compression format of a file, from its first bytes or its name.
pub fn compression(fs: &dyn StoreFs, path: &Path) -> Option<&'static str> {
    let head = fs.read_head(path, 262).map(|(h, _)| h).unwrap_or_default();
    let h = head.as_slice();
    let magic: [(&[u8], &str); 9] = [
        (b"PK\x03\x04", "zip"),
        (b"PK\x05\x06", "zip"),
        (b"\x1f\x8b", "gzip"),
        (b"BZh", "bzip2"),
        (b"\xfd7zXZ\x00", "xz"),
        (b"7z\xbc\xaf\x27\x1c", "7z"),
        (b"\x28\xb5\x2f\xfd", "zstd"),
        (b"Rar!\x1a\x07", "rar"),
        (b"\x04\x22\x4d\x18", "lz4"),
    ];
    if let Some((_, f)) = magic.iter().find(|(m, _)| h.starts_with(m)) {
        return Some(f);
    }
    if h.len() >= 262 && &h[257..262] == b"ustar" {
        return Some("tar");
    }
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    [
        (".zip", "zip"),
        (".tar.gz", "gzip"),
        (".tgz", "gzip"),
        (".gz", "gzip"),
        (".tar", "tar"),
        (".bz2", "bzip2"),
        (".xz", "xz"),
        (".7z", "7z"),
        (".zst", "zstd"),
        (".rar", "rar"),
        (".z", "compress"),
    ]
    .iter()
    .find(|(ext, _)| name.ends_with(ext))
    .map(|(_, f)| *f)
}

/// A period name without its compression extension (`2012-11.tar.gz` →
/// `2012-11`).
fn strip_compression(name: &str) -> &str {
    let lower = name.to_ascii_lowercase();
    for ext in [
        ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".gz", ".tar", ".bz2", ".xz", ".7z",
        ".zst", ".rar", ".z",
    ] {
        if lower.ends_with(ext) && name.len() > ext.len() {
            return &name[..name.len() - ext.len()];
        }
    }
    name
}

/// One folder of the archive, or one compressed file.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A directory read like any folder.
    Folder(LayoutFolder),
    /// A compressed period or file: its folder path, mailbox components,
    /// file and format.
    Compressed {
        /// `#archive/2012-11.tar.gz`.
        path: String,
        /// Mailbox components.
        components: Vec<String>,
        /// The file.
        file: PathBuf,
        /// `gzip`, `zip`, …
        format: &'static str,
    },
}

/// The archive's folders, found without reading their items.
#[derive(Debug, Clone, Default)]
pub struct ArchiveTree {
    /// Folders in walk order (parents before children, names sorted).
    pub entries: Vec<Entry>,
    /// Its periods.
    pub periods: Vec<ArchivePeriod>,
    /// System directories and stray files skipped, by name.
    pub skipped: SkipLog,
    /// Where the stray files are, and what was too deep to read.
    pub notes: Vec<String>,
    /// Directories and metadata that could not be read.
    pub problems: Vec<String>,
}

/// Kerio folder metadata whose presence makes a directory a folder.
fn looks_like_folder(fs: &dyn StoreFs, dir: &Path) -> bool {
    fs.is_dir(&dir.join("#msgs"))
        || ["index.fld", "index.bad", "status.fld"]
            .iter()
            .any(|f| fs.is_file(&dir.join(f)))
}

fn sorted_entries(fs: &dyn StoreFs, dir: &Path) -> std::io::Result<Vec<DirEntry>> {
    fs.read_dir(dir)
}

impl ArchiveTree {
    /// Finds the folders below `roots`; `to` names their mailboxes
    /// (default: `Archive`, one per period).
    pub fn walk(
        fs: &dyn StoreFs,
        roots: &[(PathBuf, String)],
        to: Option<&ArchiveTo>,
    ) -> ArchiveTree {
        let mut t = ArchiveTree::default();
        let default_folder = vec!["Archive".to_string()];
        let (folder, layout) = match to {
            Some(a) => (a.folder.clone(), a.layout),
            None => (default_folder, ArchiveLayout::Period),
        };
        for (i, (root, _)) in roots.iter().enumerate() {
            let key = if i == 0 {
                "#archive".to_string()
            } else {
                format!("#archive.{}", i + 1)
            };
            let mut w = Walker {
                fs,
                tree: &mut t,
                key,
                folder: &folder,
                layout,
            };
            w.visit(root, &[], 0);
        }
        t
    }
}

struct Walker<'a> {
    fs: &'a dyn StoreFs,
    tree: &'a mut ArchiveTree,
    key: String,
    folder: &'a [String],
    layout: ArchiveLayout,
}

impl Walker<'_> {
    /// The path key and mailbox components of the archive directory `rel`.
    fn names(&self, rel: &[String]) -> (String, Vec<String>) {
        let path = std::iter::once(self.key.clone())
            .chain(rel.iter().cloned())
            .collect::<Vec<_>>()
            .join("/");
        let mut comps = self.folder.to_vec();
        match self.layout {
            ArchiveLayout::Period => comps.extend(rel.first().cloned()),
            ArchiveLayout::Tree => comps.extend(rel.iter().cloned()),
        }
        (path, comps)
    }

    fn visit(&mut self, dir: &Path, rel: &[String], depth: usize) {
        let fs = self.fs;
        let entries = match sorted_entries(fs, dir) {
            Ok(v) => v,
            Err(e) => {
                self.tree.problems.push(format!("{}: {e}", dir.display()));
                return;
            }
        };
        let is_folder = looks_like_folder(fs, dir);
        let me = if is_folder {
            let (path, components) = self.names(rel);
            let status_path = dir.join("status.fld");
            let status = match super::index::Status::load_in(fs, &status_path) {
                Ok(s) => s,
                Err(e) => {
                    self.tree
                        .problems
                        .push(format!("{}: {e}", status_path.display()));
                    None
                }
            };
            self.tree.entries.push(Entry::Folder(LayoutFolder {
                path,
                components,
                dir: dir.to_path_buf(),
                parent: None,
                name_problem: None,
                has_status: fs.is_file(&status_path),
                status,
                files: BTreeMap::new(),
                mail_by_place: Some("the archive"),
            }));
            Some(self.tree.entries.len() - 1)
        } else {
            None
        };
        for e in entries {
            let name = e.name.to_string_lossy().into_owned();
            let path = e.path.clone();
            let is_dir = fs.is_dir(&path);
            if is_dir && e.kind == Kind::Symlink {
                self.tree.notes.push(format!(
                    "{}: a symbolic link to a directory in the archive; not followed",
                    path.display()
                ));
                continue;
            }
            if depth == 0 {
                let compressed = (!is_dir).then(|| compression(fs, &path)).flatten();
                if is_dir || compressed.is_some() {
                    self.tree.periods.push(ArchivePeriod {
                        name: if is_dir {
                            names::decode_lenient(name.as_bytes()).0
                        } else {
                            strip_compression(&name).to_string()
                        },
                        path: path.clone(),
                        compressed: compressed.map(str::to_string),
                    });
                }
            }
            if !is_dir {
                if let Some(Entry::Folder(f)) = me.and_then(|i| self.tree.entries.get_mut(i)) {
                    *f.files.entry(name).or_default() += 1;
                    continue;
                }
                match compression(fs, &path) {
                    Some(format) => {
                        let mut r = rel.to_vec();
                        r.push(strip_compression(&name).to_string());
                        let (_, components) = self.names(&r);
                        let mut key_rel = rel.to_vec();
                        key_rel.push(name.clone());
                        let (path_key, _) = self.names(&key_rel);
                        self.tree.entries.push(Entry::Compressed {
                            path: path_key,
                            components,
                            file: path,
                            format,
                        });
                    }
                    None => {
                        self.tree.skipped.add_file(&name);
                        self.tree.notes.push(format!(
                            "{}: not a folder, an item or a compressed period: not read",
                            path.display()
                        ));
                    }
                }
                continue;
            }
            if name == "#msgs" && is_folder {
                continue;
            }
            if super::layout::is_system_dir(name.as_bytes()) {
                self.tree.skipped.add_dir(&name);
                continue;
            }
            if depth + 1 > MAX_DEPTH {
                self.tree.notes.push(format!(
                    "{}: deeper than {MAX_DEPTH} levels below the archive: not read",
                    path.display()
                ));
                continue;
            }
            let mut r = rel.to_vec();
            r.push(names::decode_lenient(name.as_bytes()).0);
            self.visit(&path, &r, depth + 1);
        }
    }
}

/// The shared folder of a compressed archive file: one item that cannot be
/// read, with why.
pub fn compressed_folder(
    path: &str,
    components: &[String],
    file: &Path,
    format: &str,
) -> crate::source::Folder {
    let why = format!(
        "compressed archive period ({format}): Kerio's compression format is not documented, so it is not read; unpack it into the archive directory and rerun"
    );
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let item = Item::new(
        name,
        Origin::Unreadable {
            path: file.to_path_buf(),
            why: why.clone(),
        },
        None,
    );
    crate::source::Folder {
        path: path.to_string(),
        components: components.to_vec(),
        dir: file.parent().map(Path::to_path_buf).unwrap_or_default(),
        decision: KindDecision {
            kind: FolderKind::Mail,
            source: KindSource::Place,
            disagreements: Vec::new(),
            unrecognised_type_code: None,
        },
        name_problem: None,
        has_status: false,
        acl: Vec::new(),
        files: BTreeMap::new(),
        index: None,
        items: vec![item],
        unindexed: 1,
        stale: Vec::new(),
        duplicate_ids: 0,
        ignored_files: BTreeMap::new(),
        problems: Vec::new(),
        notes: vec![format!("{}: {why}", file.display())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(p: &Path, data: &[u8]) {
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, data).expect("write");
    }

    #[test]
    fn finds_the_archive_where_kerio_and_mailserver_cfg_put_it() {
        let t = tempfile::tempdir().expect("tempdir");
        let inst = t.path();
        let store = inst.join("store");
        fs::create_dir_all(store.join("mail/example.com/alice/INBOX/#msgs")).expect("mkdir");
        // Nothing yet.
        let l = locate(
            &crate::source::fs::DiskFs,
            &store.join("mail"),
            Some(&store),
            Some(inst),
            None,
        );
        assert!(l.roots.is_empty() && l.problems.is_empty());
        assert_eq!(l.looked_at.len(), 2);
        // 7.x default, and the 6.x one beside it: both read.
        fs::create_dir_all(store.join("archive/2012-12-21")).expect("mkdir");
        fs::create_dir_all(store.join("mail/archive/2005-Jan")).expect("mkdir");
        let l = locate(
            &crate::source::fs::DiskFs,
            &store.join("mail"),
            Some(&store),
            Some(inst),
            None,
        );
        assert_eq!(l.roots.len(), 2);
        assert!(l.is_root(&crate::source::fs::DiskFs, &store.join("mail/archive")));
        // mailserver.cfg names the old server's path below its StoreDir.
        write(
            &inst.join("mailserver.cfg"),
            b"<config><table name=\"Store\"><variable name=\"StoreDir\">D:\\\\Kerio\\\\store</variable></table>\
<table name=\"Archive\"><variable name=\"ArchiveDir\">D:\\\\Kerio\\\\store\\\\old-archive</variable></table>\
<table name=\"Archiving2\"><variable name=\"ArchivePath\">/mnt/elsewhere</variable></table></config>",
        );
        fs::create_dir_all(store.join("old-archive")).expect("mkdir");
        let l = locate(
            &crate::source::fs::DiskFs,
            &store.join("mail"),
            Some(&store),
            Some(inst),
            None,
        );
        assert_eq!(l.roots[0].0, store.join("old-archive"));
        assert!(l.roots[0]
            .1
            .starts_with("mailserver.cfg (table \"Archive\""));
        assert_eq!(l.problems.len(), 1, "{:?}", l.problems);
        assert!(l.problems[0].contains("\"/mnt/elsewhere\", which is not here"));
        // --archive-dir overrides, and a file there is a problem.
        let f = inst.join("archive.tgz");
        write(&f, b"\x1f\x8b\x08junk");
        let l = locate(
            &crate::source::fs::DiskFs,
            &store.join("mail"),
            Some(&store),
            Some(inst),
            Some(&f),
        );
        assert!(l.roots.is_empty());
        assert!(
            l.problems[0].contains("not a directory"),
            "{:?}",
            l.problems
        );
        // store/archive as a file.
        fs::remove_dir_all(store.join("archive")).expect("rm");
        write(&store.join("archive"), b"not a dir");
        let l = locate(
            &crate::source::fs::DiskFs,
            &store.join("mail"),
            Some(&store),
            None,
            None,
        );
        assert!(l
            .problems
            .iter()
            .any(|p| p.contains("holds a file, not a directory")));
    }

    #[test]
    fn walks_periods_nested_folders_compressed_files_and_strays() {
        let t = tempfile::tempdir().expect("tempdir");
        let root = t.path().join("archive");
        write(
            &root.join("2012-12-21/#msgs/00000001.eml"),
            b"Subject: a\r\n\r\nx",
        );
        write(&root.join("2012-12-21/index.fld"), b"");
        write(
            &root.join("2013-01/INBOX/#msgs/00000001.eml"),
            b"Subject: b\r\n\r\nx",
        );
        write(&root.join("2013-01/INBOX/#assoc/index.fld"), b"");
        write(&root.join("2013-01/Sent/status.fld"), b"T0\n");
        write(&root.join("2013-01/readme.txt"), b"hello");
        write(&root.join("2012-11.tar.gz"), b"\x1f\x8b\x08\x00rest");
        write(&root.join("2012-10.dat"), b"PK\x03\x04zip");
        let roots = vec![(root.clone(), "test".to_string())];
        let tree = ArchiveTree::walk(&crate::source::fs::DiskFs, &roots, None);
        let shape: Vec<(String, Vec<String>)> = tree
            .entries
            .iter()
            .map(|e| match e {
                Entry::Folder(f) => (f.path.clone(), f.components.clone()),
                Entry::Compressed {
                    path, components, ..
                } => (format!("{path} [compressed]"), components.clone()),
            })
            .collect();
        let c = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            shape,
            vec![
                (
                    "#archive/2012-10.dat [compressed]".into(),
                    c(&["Archive", "2012-10.dat"])
                ),
                (
                    "#archive/2012-11.tar.gz [compressed]".into(),
                    c(&["Archive", "2012-11"])
                ),
                ("#archive/2012-12-21".into(), c(&["Archive", "2012-12-21"])),
                ("#archive/2013-01/INBOX".into(), c(&["Archive", "2013-01"])),
                ("#archive/2013-01/Sent".into(), c(&["Archive", "2013-01"])),
            ]
        );
        let periods: Vec<(&str, Option<&str>)> = tree
            .periods
            .iter()
            .map(|p| (p.name.as_str(), p.compressed.as_deref()))
            .collect();
        assert_eq!(
            periods,
            vec![
                ("2012-10.dat", Some("zip")),
                ("2012-11", Some("gzip")),
                ("2012-12-21", None),
                ("2013-01", None)
            ]
        );
        assert_eq!(tree.skipped.dirs.get("#assoc"), Some(&1));
        assert_eq!(tree.skipped.files.get("readme.txt"), Some(&1));
        assert!(tree.notes[0]
            .ends_with("readme.txt: not a folder, an item or a compressed period: not read"));
        assert!(tree.problems.is_empty());

        // --archive-to x@y/Old/Arch, tree layout.
        let to = ArchiveTo::parse("x@y.org/Old/Arch", ArchiveLayout::Tree).expect("parse");
        let tree = ArchiveTree::walk(&crate::source::fs::DiskFs, &roots, Some(&to));
        let Entry::Folder(f) = &tree.entries[3] else {
            panic!("folder")
        };
        assert_eq!(f.components, c(&["Old", "Arch", "2013-01", "INBOX"]));
    }
}
