//! Kerio backup archives: unpacking them into a directory that
//! [`Store::open`](super::Store::open) accepts.
//!
//! Kerio writes backups as ZIP files in its backup directory (commonly
//! `store/backup`, research/kerio-store.md §5): `F<stamp>.zip` (full),
//! `D<stamp>.zip` (differential: files new or changed since the last full),
//! `C<stamp>.zip` (manual backup copy), with `<stamp>` = `YYYYMMDDThhmmssZ`,
//! and extra volumes `F<stamp>.1.zip`, `F<stamp>.2.zip`, … A restore is the
//! newest full, its volumes, then the newest differential after it, each
//! replacing the files of the ones before.
//!
//! What this module does, and why:
//!
//! - [`select_archives`] turns what the user gave (archives, or a backup
//!   directory) into that ordered list, and says what it chose.
//! - [`unpack`] streams every entry to disk (`std::io::copy`, constant
//!   memory per entry), keeps each entry's modification time (item mtimes
//!   are a date source for the migration), and rejects, with the entry name
//!   and the reason, any entry whose name is absolute, has a drive letter, a
//!   `..` component or a NUL, or is a symbolic link: entry names are
//!   untrusted input and nothing may be written outside the output
//!   directory. Backslashes are read as `/` in entries made on Windows; in
//!   entries made on Unix they are part of the name (Kerio on Linux keeps
//!   a folder `Back\slash` as one directory).
//! - The layout inside Kerio's ZIPs is not documented; it is **inferred** to
//!   mirror `store/…` plus the cfg files. [`Layout::detect`] finds where
//!   `mail/<domain>/<user>/<folder>/…` sits in the archive (`store/mail/`,
//!   `mail/`, or deeper) and where `users.cfg` / `mailserver.cfg` are, and
//!   entries are placed so that the output is an install directory:
//!   `OUT/users.cfg`, `OUT/mailserver.cfg`, `OUT/store/mail/…`.
//! - A marker file in the output directory ([`MARKER_FILE`]) records the
//!   archives (path, size, mtime) that were completely unpacked; a rerun
//!   skips them. An archive that was interrupted is unpacked again, and so
//!   is every archive after it in the set, so that later archives still win.
//! - Volumes are assumed to be standalone ZIPs (unverified on a real
//!   backup). A volume that is one part of a split (spanned) archive is
//!   refused with an error that says how to join it.

use super::Store;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;
use zip::result::ZipError;
use zip::{ExtraField, ZipArchive};

/// The marker file written in the output directory.
pub const MARKER_FILE: &str = ".kerio-migrate-unpack.json";

/// How to join a split archive, quoted in errors.
pub const JOIN_HINT: &str = "if it is one part of a split (spanned) ZIP, join the parts into one \
     archive first with Info-ZIP: `zip -s 0 in.zip --out joined.zip` (the other parts must be \
     named in.z01, in.z02, … beside in.zip), then unpack joined.zip";

/// Temporary name an entry is written under before it is renamed into
/// place, so that an interrupted unpack never leaves a truncated file under
/// the real name.
const TMP_NAME: &str = ".kerio-migrate-unpack.tmp";

/// The cfg files of an install directory, placed in the output's root.
const CFG_FILES: &[&str] = &[
    "users.cfg",
    "mailserver.cfg",
    "users.cfg.bak",
    "mailserver.cfg.bak",
    "cluster.cfg",
];

/// Errors that stop an unpack. Problems with single entries are not
/// errors: they are [`Rejected`] entries in the report.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// No archive was given.
    #[error("no backup archive given")]
    NoArchives,
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Writing an entry's data failed (disk full, permissions).
    #[error("{archive}: entry {entry:?}: writing {path}: {source}")]
    Write {
        /// The archive.
        archive: PathBuf,
        /// The entry name as stored in the archive.
        entry: String,
        /// The file being written.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The file is not a ZIP archive that can be read on its own.
    #[error("{path}: not a standalone ZIP archive ({detail}); {hint}", hint = JOIN_HINT)]
    NotStandalone {
        /// The archive.
        path: PathBuf,
        /// What the ZIP reader said and what the file starts with.
        detail: String,
    },
    /// No Kerio mail tree in an archive, and none inherited from an earlier
    /// archive of the set.
    #[error(
        "{archive}: no Kerio mail tree (…/mail/<domain>/<user>/<folder>/#msgs/…) found in the \
         archive; its top-level entries are: {}",
        list_or_none(top_level)
    )]
    NoMailTree {
        /// The archive.
        archive: PathBuf,
        /// Top-level entry names (directories end with `/`).
        top_level: Vec<String>,
    },
    /// A backup directory holds no full backup.
    #[error(
        "{dir}: no full backup (F<YYYYMMDDThhmmssZ>.zip) or backup copy (C….zip) found; \
         files seen: {}",
        list_or_none(seen)
    )]
    NoFullBackup {
        /// The directory.
        dir: PathBuf,
        /// ZIP files seen there.
        seen: Vec<String>,
    },
    /// The output directory is not empty and holds no marker: refusing to
    /// unpack into a directory that may hold other data.
    #[error(
        "{0}: not empty and not made by `kerio-migrate unpack` (no {MARKER_FILE}); \
         choose a new or empty directory"
    )]
    OutNotEmpty(PathBuf),
    /// The marker file exists but cannot be read.
    #[error("{path}: unreadable unpack marker ({detail}); delete it to unpack everything again")]
    Marker {
        /// The marker file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// Interrupted (Ctrl-C); the archive being unpacked will be unpacked
    /// again next time.
    #[error("interrupted while unpacking {0}; run the same command again to resume")]
    Interrupted(PathBuf),
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "(none)".to_string()
    } else {
        v.join(", ")
    }
}

fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> BackupError {
    let path = path.into();
    move |source| BackupError::Io { path, source }
}

// ---------------------------------------------------------------------------
// Names and selection

/// Kind of a Kerio backup archive, from the first letter of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum BackupKind {
    /// `F…`: full backup.
    Full,
    /// `C…`: backup copy / manual backup (a full backup outside rotation).
    Copy,
    /// `D…`: differential, the files new or changed since the last full.
    Differential,
}

impl BackupKind {
    fn describe(self) -> &'static str {
        match self {
            BackupKind::Full => "full backup",
            BackupKind::Copy => "backup copy",
            BackupKind::Differential => "differential backup",
        }
    }
}

/// A parsed Kerio backup file name: `F20240101T020000Z.zip`,
/// `F20240101T020000Z.1.zip`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupName {
    /// Kind.
    pub kind: BackupKind,
    /// `YYYYMMDDThhmmssZ` (upper case).
    pub stamp: String,
    /// 0 for `X.zip`, N for `X.N.zip`.
    pub volume: u32,
}

/// Parses a Kerio backup file name; `None` for any other name.
pub fn parse_backup_name(file_name: &str) -> Option<BackupName> {
    let n = file_name.len();
    if n < 4 || !file_name.is_char_boundary(n - 4) {
        return None;
    }
    if !file_name[n - 4..].eq_ignore_ascii_case(".zip") {
        return None;
    }
    let stem = &file_name[..n - 4];
    let (base, volume) = match stem.split_once('.') {
        Some((b, v)) => {
            if v.is_empty() || v.len() > 6 || !v.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            (b, v.parse::<u32>().ok()?)
        }
        None => (stem, 0),
    };
    let b = base.as_bytes();
    if b.len() != 17 {
        return None;
    }
    let kind = match b[0].to_ascii_uppercase() {
        b'F' => BackupKind::Full,
        b'D' => BackupKind::Differential,
        b'C' => BackupKind::Copy,
        _ => return None,
    };
    let s = &b[1..];
    let digits = |r: std::ops::Range<usize>| s[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..8)
        && s[8].eq_ignore_ascii_case(&b'T')
        && digits(9..15)
        && s[15].eq_ignore_ascii_case(&b'Z'))
    {
        return None;
    }
    Some(BackupName {
        kind,
        stamp: base[1..].to_ascii_uppercase(),
        volume,
    })
}

fn file_name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The archives to unpack, in order, and what was decided on the way.
#[derive(Debug, Clone, Default)]
pub struct BackupSet {
    /// Archives in the order they are unpacked; later ones replace files
    /// of earlier ones.
    pub archives: Vec<PathBuf>,
    /// What was chosen and why, in words.
    pub notes: Vec<String>,
}

/// Volumes `X.zip`, `X.1.zip`, … of one backup found in `dir`, in order.
/// Notes gaps.
fn volumes_in(
    dir: &Path,
    kind: BackupKind,
    stamp: &str,
    files: &[(PathBuf, BackupName)],
    notes: &mut Vec<String>,
) -> Vec<PathBuf> {
    let mut v: Vec<(u32, PathBuf)> = files
        .iter()
        .filter(|(_, n)| n.kind == kind && n.stamp == stamp)
        .map(|(p, n)| (n.volume, p.clone()))
        .collect();
    v.sort();
    v.dedup_by_key(|(n, _)| *n);
    let mut expect = 0;
    for (n, _) in &v {
        if *n != expect {
            let first = kind_letter(kind);
            let missing: Vec<String> = (expect..*n)
                .map(|m| {
                    if m == 0 {
                        format!("{first}{stamp}.zip")
                    } else {
                        format!("{first}{stamp}.{m}.zip")
                    }
                })
                .collect();
            notes.push(format!(
                "WARNING: {}: volume(s) {} missing; what they hold will not be unpacked",
                dir.display(),
                missing.join(", ")
            ));
        }
        expect = n + 1;
    }
    v.into_iter().map(|(_, p)| p).collect()
}

fn kind_letter(k: BackupKind) -> char {
    match k {
        BackupKind::Full => 'F',
        BackupKind::Copy => 'C',
        BackupKind::Differential => 'D',
    }
}

/// Files of a backup directory whose names parse, with the parsed name.
type NamedFiles = Vec<(PathBuf, BackupName)>;

/// The Kerio-named files of `dir`, and the names of all its ZIP files.
fn backup_files_in(dir: &Path) -> Result<(NamedFiles, Vec<String>), BackupError> {
    let mut named = Vec::new();
    let mut zips = Vec::new();
    for e in fs::read_dir(dir).map_err(io_err(dir))? {
        let e = e.map_err(io_err(dir))?;
        let p = e.path();
        if !p.is_file() {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if name.to_ascii_lowercase().ends_with(".zip") {
            zips.push(name.clone());
        }
        if let Some(n) = parse_backup_name(&name) {
            named.push((p, n));
        }
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    zips.sort();
    Ok((named, zips))
}

/// Chooses, in a backup directory, the newest full backup (`F…`; the newest
/// copy `C…` when there is no full), its volumes, and the newest
/// differential made after it, with its volumes.
fn choose_in_dir(dir: &Path, set: &mut BackupSet) -> Result<(), BackupError> {
    let (files, zips) = backup_files_in(dir)?;
    let newest = |k: BackupKind| {
        files
            .iter()
            .filter(|(_, n)| n.kind == k)
            .map(|(_, n)| n.stamp.clone())
            .max()
    };
    let (kind, stamp) = match (newest(BackupKind::Full), newest(BackupKind::Copy)) {
        (Some(f), c) => {
            if let Some(c) = c.filter(|c| *c > f) {
                set.notes.push(format!(
                    "{}: the backup copy C{c}.zip is newer than the newest full backup; it is \
                     not used (pass it explicitly to unpack it instead)",
                    dir.display()
                ));
            }
            (BackupKind::Full, f)
        }
        (None, Some(c)) => {
            set.notes.push(format!(
                "{}: no full backup (F…zip); using the newest backup copy C{c}.zip",
                dir.display()
            ));
            (BackupKind::Copy, c)
        }
        (None, None) => {
            return Err(BackupError::NoFullBackup {
                dir: dir.to_path_buf(),
                seen: zips,
            })
        }
    };
    let full = volumes_in(dir, kind, &stamp, &files, &mut set.notes);
    set.notes.push(format!(
        "{}: chose the {} {}{stamp} ({} volume{})",
        dir.display(),
        kind.describe(),
        kind_letter(kind),
        full.len(),
        if full.len() == 1 { "" } else { "s" }
    ));
    set.archives.extend(full);
    let diff = files
        .iter()
        .filter(|(_, n)| n.kind == BackupKind::Differential && n.stamp > stamp)
        .map(|(_, n)| n.stamp.clone())
        .max();
    match diff {
        Some(d) => {
            let v = volumes_in(dir, BackupKind::Differential, &d, &files, &mut set.notes);
            set.notes.push(format!(
                "{}: chose the differential backup D{d} ({} volume{}), the newest after the full",
                dir.display(),
                v.len(),
                if v.len() == 1 { "" } else { "s" }
            ));
            set.archives.extend(v);
        }
        None => set.notes.push(format!(
            "{}: no differential backup after {}{stamp}",
            dir.display(),
            kind_letter(kind)
        )),
    }
    let older_diffs = files
        .iter()
        .filter(|(_, n)| n.kind == BackupKind::Differential && n.stamp < stamp && n.volume == 0)
        .count();
    if older_diffs > 0 {
        set.notes.push(format!(
            "{}: {older_diffs} differential backup(s) older than the full are ignored",
            dir.display()
        ));
    }
    Ok(())
}

/// Turns the user's inputs (archives and/or backup directories) into the
/// ordered set to unpack. A directory contributes its newest full backup
/// with its volumes and the newest differential after it. An archive given
/// alone brings its sibling volumes (`X.1.zip`, …) along. When every name
/// is a Kerio backup name, archives are put in backup order (by timestamp,
/// then volume), otherwise the order given is kept.
pub fn select_archives(inputs: &[PathBuf]) -> Result<BackupSet, BackupError> {
    if inputs.is_empty() {
        return Err(BackupError::NoArchives);
    }
    let mut set = BackupSet::default();
    let mut explicit = Vec::new();
    for p in inputs {
        let meta = fs::metadata(p).map_err(io_err(p))?;
        if meta.is_dir() {
            choose_in_dir(p, &mut set)?;
        } else {
            explicit.push(p.clone());
        }
    }
    // Sibling volumes of archives given by name.
    let mut added = Vec::new();
    for p in &explicit {
        let Some(n) = parse_backup_name(&file_name_of(p)) else {
            continue;
        };
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let Ok((files, _)) = backup_files_in(dir) else {
            continue;
        };
        let mut notes = Vec::new();
        for v in volumes_in(dir, n.kind, &n.stamp, &files, &mut notes) {
            let known = explicit.iter().chain(&added).any(|e| same_file(e, &v));
            if !known {
                set.notes.push(format!(
                    "added {}: another volume of the same backup",
                    v.display()
                ));
                added.push(v);
            }
        }
        set.notes.extend(notes);
        if n.kind != BackupKind::Differential {
            let newer = files
                .iter()
                .filter(|(_, m)| {
                    m.kind == BackupKind::Differential && m.stamp > n.stamp && m.volume == 0
                })
                .map(|(q, _)| q.clone())
                .max();
            if let Some(q) = newer {
                let given = explicit.iter().any(|e| same_file(e, &q));
                if !given {
                    set.notes.push(format!(
                        "note: {} is a newer differential backup beside it, not given; pass the \
                         backup directory to include it",
                        q.display()
                    ));
                }
            }
        }
    }
    explicit.extend(added);
    let named: Option<Vec<BackupName>> = explicit
        .iter()
        .map(|p| parse_backup_name(&file_name_of(p)))
        .collect();
    match named {
        Some(names) => {
            let mut v: Vec<(BackupName, PathBuf)> = names.into_iter().zip(explicit).collect();
            let given: Vec<PathBuf> = v.iter().map(|(_, p)| p.clone()).collect();
            v.sort_by(|(a, _), (b, _)| {
                (&a.stamp, a.kind, a.volume).cmp(&(&b.stamp, b.kind, b.volume))
            });
            let sorted: Vec<PathBuf> = v.into_iter().map(|(_, p)| p).collect();
            if sorted != given && sorted.len() > 1 {
                set.notes
                    .push("archives put in backup order (timestamp, then volume)".to_string());
            }
            set.archives.extend(sorted);
        }
        None => {
            if explicit.len() > 1 {
                set.notes.push(
                    "not every name is a Kerio backup name (F/D/C + YYYYMMDDThhmmssZ): archives \
                     are unpacked in the order given, later ones replacing earlier files"
                        .to_string(),
                );
            }
            set.archives.extend(explicit);
        }
    }
    // The same file given twice is unpacked once.
    let mut seen: Vec<PathBuf> = Vec::new();
    set.archives.retain(|p| {
        let c = fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        if seen.contains(&c) {
            false
        } else {
            seen.push(c);
            true
        }
    });
    Ok(set)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------
// Entry names

/// Splits an entry name into safe path components, or says why it is
/// refused. Empty and `.` components are dropped.
///
/// `backslash_is_separator`: the entry comes from Windows, where `\` is a
/// separator (see [`backslash_is_separator`]). From Unix, `\` is part of
/// a name: Kerio on Linux keeps a folder called `Back\slash` as a
/// directory of that name. Either way a `..` or a drive letter between
/// backslashes is refused.
pub fn entry_components(name: &str, backslash_is_separator: bool) -> Result<Vec<String>, String> {
    if name.contains('\0') {
        return Err("the name contains a NUL byte".into());
    }
    let n = if backslash_is_separator {
        name.replace('\\', "/")
    } else {
        name.to_string()
    };
    if n.starts_with('/') || n.starts_with('\\') {
        return Err("absolute path".into());
    }
    let b = n.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err("Windows drive letter".into());
    }
    let mut comps = Vec::new();
    for c in n.split('/') {
        if c.is_empty() || c == "." {
            continue;
        }
        if c.split('\\').any(|p| p == "..") {
            return Err("`..` component (would leave the output directory)".into());
        }
        // Whatever the platform reads as anything but a plain name (a
        // Windows prefix such as `C:` inside the path) is refused too.
        let mut it = Path::new(c).components();
        match (it.next(), it.next()) {
            (Some(Component::Normal(x)), None) if x == c => {}
            _ => return Err(format!("component {c:?} is not a plain name")),
        }
        comps.push(c.to_string());
    }
    if comps.is_empty() {
        return Err("empty name".into());
    }
    Ok(comps)
}

/// Whether `\` separates directories in an entry's name: when the entry
/// was made on Windows / DOS, or when no name of the archive has a `/` but
/// some have a `\` (a Windows writer that does not say so).
pub fn backslash_is_separator(system: zip::System, archive_uses_backslashes: bool) -> bool {
    archive_uses_backslashes
        || matches!(
            system,
            zip::System::Dos | zip::System::WindowsNTFS | zip::System::VFAT | zip::System::Os2
        )
}

// ---------------------------------------------------------------------------
// Layout

/// Where the parts of a Kerio install are inside one archive, and how its
/// entries are placed in the output directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Components of the archive directory that holds `mail/` (the store
    /// directory); empty for the archive root.
    pub store_prefix: Vec<String>,
    /// The mail directory's name as spelt in the archive (`mail`, `Mail`).
    pub mail_dir: String,
    /// Components of the archive directory holding `users.cfg` /
    /// `mailserver.cfg`, when the archive has them.
    pub cfg_prefix: Option<Vec<String>>,
    /// Other directories that also looked like a mail tree (fewer entries);
    /// their entries are unpacked at their place under `store/`.
    pub other_mail_dirs: Vec<String>,
}

fn show_dir(comps: &[String]) -> String {
    if comps.is_empty() {
        "the archive root".to_string()
    } else {
        format!("\"{}/\"", comps.join("/"))
    }
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn is_cfg_name(c: &str) -> Option<&'static str> {
    CFG_FILES.iter().copied().find(|f| eq_ci(f, c))
}

impl Layout {
    /// Finds the mail tree and the cfg files among an archive's entry
    /// names (already split into components; directories marked).
    ///
    /// The mail directory is a component `mail` followed by at least
    /// `<domain>/<user>/<folder>/` before a `#msgs` directory or a folder's
    /// `index.fld` / `status.fld`. Each such entry votes for every `mail`
    /// component that fits; the directory with the most votes wins (on a
    /// tie: `prefer`, the layout of the archive before it in the set, then
    /// the deepest).
    pub fn detect(entries: &[(Vec<String>, bool)], prefer: Option<&Layout>) -> Option<Layout> {
        let mut votes: BTreeMap<Vec<String>, (u64, String)> = BTreeMap::new();
        for (comps, is_dir) in entries {
            let marker = comps.iter().position(|c| eq_ci(c, "#msgs")).or_else(|| {
                let last = comps.last()?;
                (!is_dir && (eq_ci(last, "index.fld") || eq_ci(last, "status.fld")))
                    .then(|| comps.len() - 1)
            });
            let Some(k) = marker else { continue };
            for j in 0..k.saturating_sub(3) {
                if eq_ci(&comps[j], "mail") {
                    let e = votes
                        .entry(comps[..j].to_vec())
                        .or_insert((0, comps[j].clone()));
                    e.0 += 1;
                }
            }
        }
        let best = votes.values().map(|(n, _)| *n).max()?;
        let winner = votes
            .iter()
            .filter(|(_, (n, _))| *n == best)
            .max_by_key(|(p, _)| {
                let preferred = prefer.is_some_and(|l| &l.store_prefix == *p);
                (preferred, p.len())
            })
            .map(|(p, (_, m))| (p.clone(), m.clone()))?;
        let (store_prefix, mail_dir) = winner;
        let mut mail_path = store_prefix.clone();
        mail_path.push(mail_dir.clone());
        let other_mail_dirs = votes
            .iter()
            .filter(|(p, _)| **p != store_prefix)
            .filter(|(p, _)| {
                // Not a folder named `mail` inside the chosen tree.
                !(p.len() > mail_path.len() && p[..mail_path.len()] == mail_path[..])
            })
            .map(|(p, (_, m))| {
                let mut v = p.clone();
                v.push(m.clone());
                v.join("/") + "/"
            })
            .collect();
        // cfg files outside the mail tree: prefer the directory above the
        // store (an install directory), then the store directory itself,
        // then the shallowest.
        let mut cfg_dirs: Vec<Vec<String>> = entries
            .iter()
            .filter(|(c, d)| !d && c.last().is_some_and(|l| is_cfg_name(l).is_some()))
            .map(|(c, _)| c[..c.len() - 1].to_vec())
            .filter(|d| !(d.len() >= mail_path.len() && d[..mail_path.len()] == mail_path[..]))
            .collect();
        cfg_dirs.sort();
        cfg_dirs.dedup();
        let parent = store_prefix
            .split_last()
            .map(|(_, rest)| rest.to_vec())
            .unwrap_or_default();
        let cfg_prefix = if !store_prefix.is_empty() && cfg_dirs.contains(&parent) {
            Some(parent)
        } else if cfg_dirs.contains(&store_prefix) {
            Some(store_prefix.clone())
        } else {
            cfg_dirs.into_iter().min_by_key(|d| (d.len(), d.clone()))
        };
        Some(Layout {
            store_prefix,
            mail_dir,
            cfg_prefix,
            other_mail_dirs,
        })
    }

    /// Where an entry goes, relative to the output directory. `None` for a
    /// directory that only leads to the store or cfg directory (nothing is
    /// made for it).
    pub fn place(&self, comps: &[String], is_dir: bool) -> Option<Vec<String>> {
        let starts = |p: &[String]| comps.len() >= p.len() && comps[..p.len()] == p[..];
        if let (Some(cfg), false) = (&self.cfg_prefix, is_dir) {
            if comps.len() == cfg.len() + 1 && starts(cfg) {
                if let Some(name) = comps.last().and_then(|l| is_cfg_name(l)) {
                    return Some(vec![name.to_string()]);
                }
            }
        }
        let leads_to = |p: &[String]| comps.len() < p.len() && p[..comps.len()] == comps[..];
        if is_dir
            && (leads_to(&self.store_prefix) || self.cfg_prefix.as_deref().is_some_and(leads_to))
        {
            return None;
        }
        if starts(&self.store_prefix) {
            let rest = &comps[self.store_prefix.len()..];
            let mut out = vec!["store".to_string()];
            match rest.split_first() {
                Some((first, tail)) if eq_ci(first, &self.mail_dir) => {
                    out.push("mail".to_string());
                    out.extend(tail.iter().cloned());
                }
                _ => out.extend(rest.iter().cloned()),
            }
            return Some(out);
        }
        if let Some(cfg) = &self.cfg_prefix {
            if starts(cfg) && comps.len() > cfg.len() {
                return Some(comps[cfg.len()..].to_vec());
            }
        }
        Some(comps.to_vec())
    }

    /// One line: where the mail tree and the cfg files are.
    pub fn describe(&self) -> String {
        let mut mail = self.store_prefix.clone();
        mail.push(self.mail_dir.clone());
        let mut s = format!("mail tree at \"{}/\" → store/mail/", mail.join("/"));
        match &self.cfg_prefix {
            Some(c) => {
                let _ = write!(s, "; cfg files in {}", show_dir(c));
            }
            None => s.push_str("; no users.cfg / mailserver.cfg"),
        }
        if !self.other_mail_dirs.is_empty() {
            let _ = write!(
                s,
                "; also looked like mail trees (fewer entries, unpacked in place): {}",
                self.other_mail_dirs.join(", ")
            );
        }
        s
    }
}

// ---------------------------------------------------------------------------
// Opening archives

type Archive = ZipArchive<BufReader<File>>;

fn sniff(path: &Path) -> String {
    let mut head = [0u8; 4];
    let n = File::open(path)
        .and_then(|mut f| {
            let mut got = 0;
            while got < head.len() {
                let r = f.read(&mut head[got..])?;
                if r == 0 {
                    break;
                }
                got += r;
            }
            Ok(got)
        })
        .unwrap_or(0);
    match &head[..n] {
        [] => "the file is empty".to_string(),
        [b'P', b'K', 7, 8] => {
            "it starts with the signature of the first part of a split archive".to_string()
        }
        [b'P', b'K', 3, 4] => "it starts like a ZIP, but its end (the central directory) is \
                               missing or belongs to other parts: a truncated file, or one part \
                               of a split archive"
            .to_string(),
        h => format!("it does not start like a ZIP (first bytes {h:02x?})"),
    }
}

fn open_archive(path: &Path) -> Result<Archive, BackupError> {
    let f = File::open(path).map_err(io_err(path))?;
    match ZipArchive::new(BufReader::new(f)) {
        Ok(a) => Ok(a),
        Err(ZipError::Io(e)) if e.kind() != io::ErrorKind::UnexpectedEof => Err(BackupError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
        Err(e) => {
            let what = if e.to_string().to_ascii_lowercase().contains("multi-disk") {
                "it is one part of a split (multi-disk) archive".to_string()
            } else {
                sniff(path)
            };
            Err(BackupError::NotStandalone {
                path: path.to_path_buf(),
                detail: format!("{e}; {what}"),
            })
        }
    }
}

/// True when no entry name has a `/` but some have a `\`.
fn archive_uses_backslashes(a: &Archive) -> bool {
    let mut back = false;
    for n in a.file_names_raw() {
        if n.contains(&b'/') {
            return false;
        }
        back |= n.contains(&b'\\');
    }
    back
}

/// Entry names of an archive, split; entries whose names are refused are
/// left out here (they are reported when unpacking).
fn entry_list(a: &Archive, backslashes: bool) -> (Vec<(Vec<String>, bool)>, Vec<String>) {
    let mut v = Vec::with_capacity(a.len());
    let mut top: Vec<String> = Vec::new();
    for i in 0..a.len() {
        let Ok(e) = a.by_index_data(i) else { continue };
        let Ok(name) = e.name() else { continue };
        let sep = backslash_is_separator(e.system(), backslashes);
        let is_dir = name.ends_with('/') || (sep && name.ends_with('\\'));
        if let Ok(c) = entry_components(&name, sep) {
            let t = if c.len() > 1 || is_dir {
                format!("{}/", c[0])
            } else {
                c[0].clone()
            };
            if !top.contains(&t) && top.len() < 50 {
                top.push(t);
            }
            v.push((c, is_dir));
        }
    }
    top.sort();
    (v, top)
}

// ---------------------------------------------------------------------------
// Marker

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Marker {
    version: u32,
    archives: Vec<MarkerEntry>,
}

/// Identity of an archive file: path, size, modification time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Fingerprint {
    path: String,
    size: u64,
    mtime_secs: i64,
    mtime_nanos: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MarkerEntry {
    #[serde(flatten)]
    id: Fingerprint,
    layout: Layout,
    entries: u64,
    files: u64,
    bytes: u64,
    /// Entry name and reason, so that a rerun can list them again.
    rejected: Vec<(String, String)>,
    finished: String,
}

fn fingerprint(path: &Path) -> Result<Fingerprint, BackupError> {
    let meta = fs::metadata(path).map_err(io_err(path))?;
    let canon = fs::canonicalize(path).map_err(io_err(path))?;
    let (secs, nanos) = match meta.modified() {
        Ok(t) => match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
            Err(e) => (-(e.duration().as_secs() as i64), 0),
        },
        Err(_) => (0, 0),
    };
    Ok(Fingerprint {
        path: canon.to_string_lossy().into_owned(),
        size: meta.len(),
        mtime_secs: secs,
        mtime_nanos: nanos,
    })
}

fn read_marker(out: &Path) -> Result<Option<Marker>, BackupError> {
    let p = out.join(MARKER_FILE);
    match fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| BackupError::Marker {
                path: p,
                detail: e.to_string(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BackupError::Io { path: p, source: e }),
    }
}

fn write_marker(out: &Path, m: &Marker) -> Result<(), BackupError> {
    let p = out.join(MARKER_FILE);
    let tmp = out.join(format!("{MARKER_FILE}.tmp"));
    let json = serde_json::to_vec_pretty(m).map_err(|e| BackupError::Marker {
        path: p.clone(),
        detail: e.to_string(),
    })?;
    let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(&json).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    drop(f);
    fs::rename(&tmp, &p).map_err(io_err(&p))
}

// ---------------------------------------------------------------------------
// Report

/// An entry that was not unpacked, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The archive.
    pub archive: PathBuf,
    /// The entry name as stored (lossy if not UTF-8 / CP437).
    pub entry: String,
    /// Why.
    pub reason: String,
}

/// Where entry modification times came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TimeSources {
    /// The Info-ZIP extended timestamp (UTC, seconds).
    pub extended: u64,
    /// The NTFS extra field (UTC, 100 ns).
    pub ntfs: u64,
    /// The DOS date and time (2 s steps), read as local time.
    pub dos: u64,
    /// No valid time: the file keeps the time it was written.
    pub none: u64,
}

/// What happened to one archive.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveReport {
    /// The archive.
    pub path: PathBuf,
    /// Kind, from the name, when it is a Kerio backup name.
    pub kind: Option<BackupKind>,
    /// Volume number from the name (0 for `X.zip`).
    pub volume: u32,
    /// The layout used.
    pub layout: Layout,
    /// Whether the layout came from an earlier archive (no mail tree in this one).
    pub layout_inherited: bool,
    /// Already unpacked completely by an earlier run (same path, size, mtime): skipped.
    pub already_unpacked: bool,
    /// Entries in the archive.
    pub entries: u64,
    /// Files written.
    pub files: u64,
    /// Directory entries.
    pub dirs: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Entries not unpacked, with reasons (for a skipped archive: those
    /// recorded when it was unpacked).
    pub rejected: Vec<Rejected>,
    /// Where modification times came from.
    pub times: TimeSources,
    /// Whether the archive is recorded as completely unpacked (false when
    /// reading it failed in a way a retry may fix).
    pub complete: bool,
}

/// The outcome of [`unpack`].
#[derive(Debug, Clone, Serialize)]
pub struct UnpackReport {
    /// The output directory (an install directory when all went well).
    pub out: PathBuf,
    /// Per archive, in order.
    pub archives: Vec<ArchiveReport>,
    /// What was decided, in words.
    pub notes: Vec<String>,
}

impl UnpackReport {
    /// Rejected entries, now and (for skipped archives) in the earlier run.
    pub fn rejected_count(&self) -> u64 {
        self.archives.iter().map(|a| a.rejected.len() as u64).sum()
    }

    /// True when every archive was skipped (an earlier complete unpack).
    pub fn all_reused(&self) -> bool {
        self.archives.iter().all(|a| a.already_unpacked)
    }

    /// Human-readable summary.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Unpacking into {}", self.out.display());
        for n in &self.notes {
            let _ = writeln!(s, "  {n}");
        }
        for a in &self.archives {
            let what = match a.kind {
                Some(k) if a.volume > 0 => format!("{}, volume {}", k.describe(), a.volume),
                Some(k) => k.describe().to_string(),
                None => "archive".to_string(),
            };
            let _ = writeln!(s, "{} ({what})", a.path.display());
            let _ = writeln!(
                s,
                "  layout: {}{}",
                a.layout.describe(),
                if a.layout_inherited {
                    " (no mail tree in this archive: layout of the archive before it)"
                } else {
                    ""
                }
            );
            if a.already_unpacked {
                let _ = writeln!(
                    s,
                    "  already unpacked completely (same path, size and mtime): skipped{}",
                    if !a.rejected.is_empty() {
                        format!("; {} entries were rejected then", a.rejected.len())
                    } else {
                        String::new()
                    }
                );
                continue;
            }
            let _ = writeln!(
                s,
                "  {} entries: {} files ({}), {} directories, {} rejected",
                a.entries,
                a.files,
                crate::text::human_bytes(a.bytes),
                a.dirs,
                a.rejected.len()
            );
            let t = &a.times;
            let _ = writeln!(
                s,
                "  modification times: {} extended timestamp, {} NTFS, {} DOS (local time), {} none",
                t.extended, t.ntfs, t.dos, t.none
            );
            if !a.complete {
                let _ = writeln!(
                    s,
                    "  NOT recorded as complete (read errors): it will be unpacked again next time"
                );
            }
        }
        let rejected: Vec<&Rejected> = self.archives.iter().flat_map(|a| &a.rejected).collect();
        if !rejected.is_empty() {
            let _ = writeln!(s, "Rejected entries ({}):", rejected.len());
            for r in rejected {
                let _ = writeln!(
                    s,
                    "  {}: {:?}: {}",
                    file_name_of(&r.archive),
                    r.entry,
                    r.reason
                );
            }
        }
        s
    }
}

// ---------------------------------------------------------------------------
// Unpacking

/// Options of [`unpack`].
#[derive(Debug, Clone, Copy, Default)]
pub struct UnpackOptions<'a> {
    /// Set to stop between entries (Ctrl-C).
    pub cancel: Option<&'a AtomicBool>,
}

/// A writer that remembers whether the write side failed, so that an
/// error from `io::copy` can be told apart: a bad entry (read side) is
/// rejected, a failing disk (write side) stops the run.
struct Tracked<W> {
    inner: W,
    failed: bool,
}

impl<W: Write> Write for Tracked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).inspect_err(|_| self.failed = true)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|_| self.failed = true)
    }
}

enum TimeSource {
    Extended,
    Ntfs,
    Dos,
}

/// The entry's modification time: extended timestamp, else NTFS, else the
/// DOS time read as local time (as Info-ZIP's unzip does).
fn entry_mtime<R: Read>(
    zf: &zip::read::ZipFile<'_, R>,
) -> Option<(filetime::FileTime, TimeSource)> {
    for f in zf.extra_data_fields() {
        if let ExtraField::ExtendedTimestamp(t) = f {
            if let Some(m) = t.mod_time() {
                return Some((
                    filetime::FileTime::from_unix_time(i64::from(m), 0),
                    TimeSource::Extended,
                ));
            }
        }
    }
    for f in zf.extra_data_fields() {
        if let ExtraField::Ntfs(n) = f {
            let t = n.mtime();
            if t != 0 {
                let secs = (t / 10_000_000) as i64 - 11_644_473_600;
                let nanos = ((t % 10_000_000) * 100) as u32;
                return Some((
                    filetime::FileTime::from_unix_time(secs, nanos),
                    TimeSource::Ntfs,
                ));
            }
        }
    }
    let d = zf.last_modified()?;
    use chrono::TimeZone as _;
    let naive = chrono::NaiveDate::from_ymd_opt(
        i32::from(d.year()),
        u32::from(d.month()),
        u32::from(d.day()),
    )?
    .and_hms_opt(
        u32::from(d.hour()),
        u32::from(d.minute()),
        u32::from(d.second()),
    )?;
    let secs = chrono::Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp())
        .unwrap_or_else(|| naive.and_utc().timestamp());
    Some((filetime::FileTime::from_unix_time(secs, 0), TimeSource::Dos))
}

/// Makes sure `rel` (relative to `out`) is a directory reached without
/// going through a symbolic link, creating what is missing. `ok` caches
/// directories already checked.
fn ensure_dir(out: &Path, rel: &[String], ok: &mut HashSet<PathBuf>) -> Result<(), String> {
    let mut p = out.to_path_buf();
    for c in rel {
        p.push(c);
        if ok.contains(&p) {
            continue;
        }
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "{} in the output directory is a symbolic link; refusing to write through it",
                    p.display()
                ))
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "{} is a file; the entry needs a directory there",
                    p.display()
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&p).map_err(|e| format!("creating {}: {e}", p.display()))?;
            }
            Err(e) => return Err(format!("{}: {e}", p.display())),
        }
        ok.insert(p.clone());
    }
    Ok(())
}

enum EntryOutcome {
    File(u64, Option<TimeSource>),
    Dir,
}

struct Unpacker<'a> {
    out: &'a Path,
    archive_path: &'a Path,
    layout: &'a Layout,
    dirs_ok: HashSet<PathBuf>,
    dir_times: Vec<(PathBuf, filetime::FileTime)>,
    /// A read error that a retry might fix (not corrupt data).
    retry: bool,
    /// No name has a `/` but some have a `\`: see [`backslash_is_separator`].
    backslashes: bool,
}

/// Reasons an entry is refused or failed; `Fatal` stops the run.
enum EntryError {
    Reject(String),
    Fatal(BackupError),
}

impl Unpacker<'_> {
    fn entry(&mut self, a: &mut Archive, i: usize) -> Result<EntryOutcome, (String, EntryError)> {
        let reject = |name: &str, r: String| (name.to_string(), EntryError::Reject(r));
        // Metadata first: nothing is read or written for a refused entry.
        let (name, is_dir, comps) = {
            let e = a.by_index_data(i).map_err(|e| {
                reject(
                    &format!("#{i}"),
                    format!("unreadable central directory record: {e}"),
                )
            })?;
            let name = match e.name() {
                Ok(n) => n.into_owned(),
                Err(err) => {
                    let lossy = String::from_utf8_lossy(e.name_raw()).into_owned();
                    return Err(reject(&lossy, format!("undecodable name: {err}")));
                }
            };
            let mode = e.unix_mode().map(|m| m & 0o170000);
            if e.is_symlink() || mode == Some(0o120000) {
                return Err(reject(&name, "symbolic link (not unpacked)".into()));
            }
            let sep = backslash_is_separator(e.system(), self.backslashes);
            let is_dir =
                name.ends_with('/') || (sep && name.ends_with('\\')) || mode == Some(0o040000);
            if let Some(m) = mode.filter(|m| *m != 0 && *m != 0o100000 && *m != 0o040000) {
                return Err(reject(
                    &name,
                    format!("special file (mode {m:o}), not unpacked"),
                ));
            }
            if !is_dir && e.encrypted() {
                return Err(reject(
                    &name,
                    "encrypted (password-protected) entry: not supported".into(),
                ));
            }
            let comps = entry_components(&name, sep).map_err(|r| reject(&name, r))?;
            (name, is_dir, comps)
        };
        let Some(rel) = self.layout.place(&comps, is_dir) else {
            return Ok(EntryOutcome::Dir);
        };
        if let [only] = rel.as_slice() {
            if only.starts_with(MARKER_FILE) {
                return Err(reject(&name, "reserved name (the unpack marker)".into()));
            }
        }
        let target = self.out.join(rel.iter().collect::<PathBuf>());
        if !target.starts_with(self.out) {
            // Cannot happen with plain components; kept as a last guard.
            return Err(reject(&name, "would leave the output directory".into()));
        }
        let mut zf = match a.by_index(i) {
            Ok(z) => z,
            Err(e) => {
                if matches!(&e, ZipError::Io(io) if !is_corrupt_kind(io.kind())) {
                    self.retry = true;
                }
                return Err(reject(&name, format!("cannot read the entry: {e}")));
            }
        };
        let time = entry_mtime(&zf);
        if is_dir {
            ensure_dir(self.out, &rel, &mut self.dirs_ok).map_err(|r| reject(&name, r))?;
            if let Some((t, _)) = time {
                self.dir_times.push((target, t));
            }
            return Ok(EntryOutcome::Dir);
        }
        let Some((_, parent)) = rel.split_last() else {
            return Err(reject(&name, "empty name".into()));
        };
        ensure_dir(self.out, parent, &mut self.dirs_ok).map_err(|r| reject(&name, r))?;
        match fs::symlink_metadata(&target) {
            Ok(m) if m.is_dir() => {
                return Err(reject(
                    &name,
                    format!("{} is a directory; the entry is a file", target.display()),
                ))
            }
            _ => {} // a file or symlink there is replaced by the rename, not followed
        }
        let dir = target.parent().unwrap_or(self.out);
        let tmp = dir.join(TMP_NAME);
        let fatal = |path: &Path, source: io::Error| {
            (
                name.clone(),
                EntryError::Fatal(BackupError::Write {
                    archive: self.archive_path.to_path_buf(),
                    entry: name.clone(),
                    path: path.to_path_buf(),
                    source,
                }),
            )
        };
        let _ = fs::remove_file(&tmp); // a leftover of an interrupted run, or nothing
        let file = File::create(&tmp).map_err(|e| fatal(&tmp, e))?;
        let mut w = Tracked {
            inner: BufWriter::with_capacity(256 * 1024, file),
            failed: false,
        };
        let copied = io::copy(&mut zf, &mut w);
        let bytes = match copied {
            Ok(n) => n,
            Err(e) if w.failed => {
                drop(w);
                let _ = fs::remove_file(&tmp);
                return Err(fatal(&target, e));
            }
            Err(e) => {
                drop(w);
                let _ = fs::remove_file(&tmp);
                if !is_corrupt_kind(e.kind()) {
                    self.retry = true;
                }
                return Err(reject(&name, format!("corrupt or unreadable data: {e}")));
            }
        };
        let file = w
            .inner
            .into_inner()
            .map_err(|e| fatal(&target, e.into_error()))?;
        if let Some((t, _)) = &time {
            filetime::set_file_handle_times(&file, None, Some(*t)).map_err(|e| fatal(&tmp, e))?;
        }
        drop(file);
        fs::rename(&tmp, &target).map_err(|e| fatal(&target, e))?;
        Ok(EntryOutcome::File(bytes, time.map(|(_, s)| s)))
    }
}

fn is_corrupt_kind(k: io::ErrorKind) -> bool {
    matches!(
        k,
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof
    )
}

/// What pass 1 of [`unpack`] decided for one archive.
struct Plan {
    path: PathBuf,
    fp: Fingerprint,
    layout: Layout,
    inherited: bool,
    /// Completely unpacked before, and nothing before it is redone.
    skip: bool,
    name: Option<BackupName>,
    backslashes: bool,
}

/// Unpacks `archives` (in that order: see [`select_archives`]) into `out`,
/// which becomes a Kerio install directory (`users.cfg`, `mailserver.cfg`,
/// `store/mail/…`). Archives recorded as completely unpacked in `out`'s
/// marker are skipped (unless an archive before them is unpacked again).
///
/// Every archive is opened and its layout detected before anything is
/// written, so a missing volume or a split archive stops the run early.
/// Rejected entries are in the report; errors are what stops the run.
pub fn unpack(
    archives: &[PathBuf],
    out: &Path,
    progress: &dyn crate::model::ProgressSink,
    opts: UnpackOptions<'_>,
) -> Result<UnpackReport, BackupError> {
    if archives.is_empty() {
        return Err(BackupError::NoArchives);
    }
    let marker = match read_marker(out)? {
        Some(m) => m,
        None => {
            if out.exists() {
                let mut rd = fs::read_dir(out).map_err(io_err(out))?;
                if rd.next().is_some() {
                    return Err(BackupError::OutNotEmpty(out.to_path_buf()));
                }
            }
            Marker {
                version: 1,
                archives: Vec::new(),
            }
        }
    };
    let mut marker = marker;
    let mut report = UnpackReport {
        out: out.to_path_buf(),
        archives: Vec::new(),
        notes: Vec::new(),
    };

    // Pass 1: open every archive, detect layouts, decide what to skip.
    let mut plans = Vec::new();
    let mut prev: Option<Layout> = marker.archives.last().map(|m| m.layout.clone());
    let mut redo = false;
    let mut total_entries = 0u64;
    for path in archives {
        let fp = fingerprint(path)?;
        let a = open_archive(path)?;
        let backslashes = archive_uses_backslashes(&a);
        let (names, top) = entry_list(&a, backslashes);
        let detected = Layout::detect(&names, prev.as_ref());
        let (layout, inherited) = match (detected, &prev) {
            (Some(l), _) => (l, false),
            (None, Some(p)) => {
                let mut l = p.clone();
                // The cfg files, if this archive has some, still go to the root.
                if let Some(c) = Layout::detect_cfg_only(&names) {
                    l.cfg_prefix = Some(c);
                }
                (l, true)
            }
            (None, None) => {
                return Err(BackupError::NoMailTree {
                    archive: path.clone(),
                    top_level: top,
                })
            }
        };
        prev = Some(layout.clone());
        let done = marker.archives.iter().find(|m| m.id == fp);
        let skip = !redo && done.is_some();
        if !skip {
            redo = true;
            total_entries += a.len() as u64;
        }
        let name = parse_backup_name(&file_name_of(path));
        plans.push(Plan {
            path: path.clone(),
            fp,
            layout,
            inherited,
            skip,
            name,
            backslashes,
        });
    }
    let known: Vec<String> = plans.iter().map(|p| p.fp.path.clone()).collect();
    let strangers: Vec<String> = marker
        .archives
        .iter()
        .filter(|m| !known.contains(&m.id.path))
        .map(|m| m.id.path.clone())
        .collect();
    if !strangers.is_empty() {
        report.notes.push(format!(
            "note: {} also holds what was unpacked earlier from other archives ({}); files they \
             left that these archives do not replace are still there",
            out.display(),
            strangers.join(", ")
        ));
    }
    fs::create_dir_all(out).map_err(io_err(out))?;
    // Archives unpacked again lose their "complete" record first, so an
    // interrupted run redoes them.
    let redo_ids: Vec<Fingerprint> = plans
        .iter()
        .filter(|p| !p.skip)
        .map(|p| p.fp.clone())
        .collect();
    // Written before anything else, so that an interrupted first run is
    // recognised as an unpack directory (and resumed) next time.
    marker
        .archives
        .retain(|m| !redo_ids.iter().any(|r| r.path == m.id.path));
    write_marker(out, &marker)?;
    progress.add_total(total_entries);

    // Pass 2: unpack.
    for Plan {
        path,
        fp,
        layout,
        inherited,
        skip,
        name,
        backslashes,
    } in plans
    {
        let mut ar = ArchiveReport {
            path: path.clone(),
            kind: name.as_ref().map(|n| n.kind),
            volume: name.as_ref().map_or(0, |n| n.volume),
            layout: layout.clone(),
            layout_inherited: inherited,
            already_unpacked: skip,
            entries: 0,
            files: 0,
            dirs: 0,
            bytes: 0,
            rejected: Vec::new(),
            times: TimeSources::default(),
            complete: true,
        };
        if skip {
            if let Some(m) = marker.archives.iter().find(|m| m.id == fp) {
                ar.entries = m.entries;
                ar.files = m.files;
                ar.bytes = m.bytes;
                ar.rejected = m
                    .rejected
                    .iter()
                    .map(|(entry, reason)| Rejected {
                        archive: path.clone(),
                        entry: entry.clone(),
                        reason: reason.clone(),
                    })
                    .collect();
            }
            report.archives.push(ar);
            continue;
        }
        let mut a = open_archive(&path)?;
        ar.entries = a.len() as u64;
        let mut u = Unpacker {
            out,
            archive_path: &path,
            layout: &layout,
            dirs_ok: HashSet::new(),
            dir_times: Vec::new(),
            retry: false,
            backslashes,
        };
        for i in 0..a.len() {
            if opts.cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
                return Err(BackupError::Interrupted(path.clone()));
            }
            match u.entry(&mut a, i) {
                Ok(EntryOutcome::File(n, t)) => {
                    ar.files += 1;
                    ar.bytes += n;
                    match t {
                        Some(TimeSource::Extended) => ar.times.extended += 1,
                        Some(TimeSource::Ntfs) => ar.times.ntfs += 1,
                        Some(TimeSource::Dos) => ar.times.dos += 1,
                        None => ar.times.none += 1,
                    }
                    progress.inc(1, n);
                }
                Ok(EntryOutcome::Dir) => {
                    ar.dirs += 1;
                    progress.inc(1, 0);
                }
                Err((entry, EntryError::Reject(reason))) => {
                    tracing::debug!(archive = %path.display(), entry = %entry, "rejected: {reason}");
                    ar.rejected.push(Rejected {
                        archive: path.clone(),
                        entry,
                        reason,
                    });
                    progress.inc(1, 0);
                }
                Err((_, EntryError::Fatal(e))) => return Err(e),
            }
        }
        // Directory times last: writing files into them changes them.
        for (d, t) in u.dir_times.iter().rev() {
            let _ = filetime::set_file_mtime(d, *t);
        }
        ar.complete = !u.retry;
        if ar.complete {
            marker.archives.retain(|m| m.id.path != fp.path);
            marker.archives.push(MarkerEntry {
                id: fp,
                layout: layout.clone(),
                entries: ar.entries,
                files: ar.files,
                bytes: ar.bytes,
                rejected: ar
                    .rejected
                    .iter()
                    .map(|r| (r.entry.clone(), r.reason.clone()))
                    .collect(),
                finished: chrono::Utc::now().to_rfc3339(),
            });
            write_marker(out, &marker)?;
        }
        report.archives.push(ar);
    }
    if let Err(e) = Store::open(out) {
        report
            .notes
            .push(format!("WARNING: the result is not a usable store: {e}"));
    }
    Ok(report)
}

impl Layout {
    /// The cfg directory of an archive that has no mail tree (a
    /// differential with only cfg changes): the shallowest directory
    /// holding a cfg file.
    fn detect_cfg_only(entries: &[(Vec<String>, bool)]) -> Option<Vec<String>> {
        entries
            .iter()
            .filter(|(c, d)| !d && c.last().is_some_and(|l| is_cfg_name(l).is_some()))
            .map(|(c, _)| c[..c.len() - 1].to_vec())
            .min_by_key(|d| (d.len(), d.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Vec<String> {
        entry_components(s, false).expect("valid")
    }

    #[test]
    fn backup_names() {
        let n = parse_backup_name("F20240101T020000Z.zip").expect("full");
        assert_eq!(n.kind, BackupKind::Full);
        assert_eq!(n.stamp, "20240101T020000Z");
        assert_eq!(n.volume, 0);
        let n = parse_backup_name("d20240105t020000z.12.ZIP").expect("diff volume");
        assert_eq!(
            (n.kind, n.stamp.as_str(), n.volume),
            (BackupKind::Differential, "20240105T020000Z", 12)
        );
        assert_eq!(
            parse_backup_name("C20041027T100000Z.zip").map(|n| n.kind),
            Some(BackupKind::Copy)
        );
        for bad in [
            "F20240101T020000.zip",
            "X20240101T020000Z.zip",
            "F20240101T020000Z.zip.bak",
            "F20240101T020000Z..zip",
            "F20240101T020000Z.+1.zip",
            "backup.zip",
            "é.zip",
            ".zip",
        ] {
            assert_eq!(parse_backup_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn entry_names() {
        let win = |s: &str| entry_components(s, true).expect("valid");
        assert_eq!(win("store\\mail\\a.org\\u\\INBOX\\#msgs\\1.eml").len(), 7);
        assert_eq!(c("store/mail/a.org/u/Back\\slash/#msgs/1.eml").len(), 7);
        assert_eq!(c("./mail//a/"), vec!["mail", "a"]);
        for (bad, why) in [
            ("../evil", "`..`"),
            ("a/../../b", "`..`"),
            ("a/../b", "`..`"),
            ("/abs", "absolute"),
            ("\\abs", "absolute"),
            ("C:/x", "drive"),
            ("C:\\x", "drive"),
            ("a\0b", "NUL"),
            ("./", "empty"),
            ("..\\evil", "`..`"),
        ] {
            for sep in [false, true] {
                let e = entry_components(bad, sep).expect_err(bad);
                assert!(e.contains(why), "{bad}: {e}");
            }
        }
    }

    fn entries(names: &[&str]) -> Vec<(Vec<String>, bool)> {
        names.iter().map(|n| (c(n), n.ends_with('/'))).collect()
    }

    #[test]
    fn layouts() {
        let l = Layout::detect(
            &entries(&[
                "users.cfg",
                "mailserver.cfg",
                "store/",
                "store/mail/a.org/u/INBOX/#msgs/00000001.eml",
                "store/mail/a.org/u/INBOX/index.fld",
                "store/mail/a.org/#public/Shared/status.fld",
            ]),
            None,
        )
        .expect("layout");
        assert_eq!(l.store_prefix, vec!["store"]);
        assert_eq!(l.cfg_prefix, Some(vec![]));
        assert_eq!(
            l.place(&c("store/mail/a.org/u/INBOX/index.fld"), false),
            Some(c("store/mail/a.org/u/INBOX/index.fld"))
        );
        assert_eq!(l.place(&c("users.cfg"), false), Some(c("users.cfg")));
        assert_eq!(l.place(&c("store/logs/x"), false), Some(c("store/logs/x")));

        // mail/ at the root, cfg files beside it.
        let l = Layout::detect(
            &entries(&["Users.cfg", "Mail/a.org/u/INBOX/#msgs/1.eml", "lists/x"]),
            None,
        )
        .expect("layout");
        assert!(l.store_prefix.is_empty());
        assert_eq!(l.place(&c("Users.cfg"), false), Some(c("users.cfg")));
        assert_eq!(
            l.place(&c("Mail/a.org/u/INBOX/#msgs/1.eml"), false),
            Some(c("store/mail/a.org/u/INBOX/#msgs/1.eml"))
        );
        assert_eq!(l.place(&c("lists/x"), false), Some(c("store/lists/x")));

        // Deeper, with a user folder called `mail` with deep subfolders.
        let l = Layout::detect(
            &entries(&[
                "opt/kerio/mailserver/users.cfg",
                "opt/kerio/mailserver/store/mail/a.org/u/INBOX/#msgs/1.eml",
                "opt/kerio/mailserver/store/mail/a.org/u/mail/x/y/z/#msgs/1.eml",
            ]),
            None,
        )
        .expect("layout");
        assert_eq!(l.store_prefix, c("opt/kerio/mailserver/store"));
        assert_eq!(l.cfg_prefix, Some(c("opt/kerio/mailserver")));
        assert!(l.other_mail_dirs.is_empty(), "{:?}", l.other_mail_dirs);
        assert_eq!(l.place(&c("opt/kerio/"), true), None);
        assert_eq!(
            l.place(&c("opt/kerio/mailserver/users.cfg"), false),
            Some(c("users.cfg"))
        );
        assert_eq!(
            l.place(&c("opt/kerio/mailserver/license/k.key"), false),
            Some(c("license/k.key"))
        );

        assert_eq!(
            Layout::detect(&entries(&["a/b/c.txt", "users.cfg"]), None),
            None
        );
    }
}
