//! Choosing the archives to unpack: from a backup directory, the newest
//! full backup (or copy), its volumes and the newest differential after
//! it; from archives given by name, their sibling volumes, in backup order.
//! Every choice is said in words in [`BackupSet::notes`].

use super::names::{file_name_of, kind_letter, parse_backup_name, BackupKind, BackupName};
use super::{io_err, BackupError};
use std::fs;
use std::path::{Path, PathBuf};

/// The archives to unpack, in order, and what was decided on the way.
#[derive(Debug, Clone, Default)]
pub struct BackupSet {
    /// Archives in the order they are unpacked; later ones replace files
    /// of earlier ones.
    pub archives: Vec<PathBuf>,
    /// What was chosen and why, in words.
    pub notes: Vec<String>,
}

/// Files of a backup directory whose names parse, with the parsed name.
type NamedFiles = Vec<(PathBuf, BackupName)>;

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

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The base of a restore in `dir`: the newest full backup, else the
/// newest copy.
fn choose_base(
    dir: &Path,
    files: &NamedFiles,
    zips: Vec<String>,
    set: &mut BackupSet,
) -> Result<(BackupKind, String), BackupError> {
    let newest = |k: BackupKind| {
        files
            .iter()
            .filter(|(_, n)| n.kind == k)
            .map(|(_, n)| n.stamp.clone())
            .max()
    };
    match (newest(BackupKind::Full), newest(BackupKind::Copy)) {
        (Some(f), c) => {
            if let Some(c) = c.filter(|c| *c > f) {
                set.notes.push(format!(
                    "{}: the backup copy C{c}.zip is newer than the newest full backup; it is \
                     not used (pass it explicitly to unpack it instead)",
                    dir.display()
                ));
            }
            Ok((BackupKind::Full, f))
        }
        (None, Some(c)) => {
            set.notes.push(format!(
                "{}: no full backup (F…zip); using the newest backup copy C{c}.zip",
                dir.display()
            ));
            Ok((BackupKind::Copy, c))
        }
        (None, None) => Err(BackupError::NoFullBackup {
            dir: dir.to_path_buf(),
            seen: zips,
        }),
    }
}

/// Chooses, in a backup directory, the newest full backup (`F…`; the newest
/// copy `C…` when there is no full), its volumes, and the newest
/// differential made after it, with its volumes.
fn choose_in_dir(dir: &Path, set: &mut BackupSet) -> Result<(), BackupError> {
    let (files, zips) = backup_files_in(dir)?;
    let (kind, stamp) = choose_base(dir, &files, zips, set)?;
    let full = volumes_in(dir, kind, &stamp, &files, &mut set.notes);
    set.notes.push(format!(
        "{}: chose the {} {}{stamp} ({} volume{})",
        dir.display(),
        kind.describe(),
        kind_letter(kind),
        full.len(),
        plural(full.len())
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
                plural(v.len())
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
    let added = sibling_volumes(&explicit, &mut set);
    explicit.extend(added);
    put_in_order(explicit, &mut set);
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

/// The other volumes of archives given by name, not given themselves; a
/// note for a newer differential beside a full one that was not given.
fn sibling_volumes(explicit: &[PathBuf], set: &mut BackupSet) -> Vec<PathBuf> {
    let mut added: Vec<PathBuf> = Vec::new();
    for p in explicit {
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
        if n.kind == BackupKind::Differential {
            continue;
        }
        let newer = files
            .iter()
            .filter(|(_, m)| {
                m.kind == BackupKind::Differential && m.stamp > n.stamp && m.volume == 0
            })
            .map(|(q, _)| q.clone())
            .max();
        if let Some(q) = newer.filter(|q| !explicit.iter().any(|e| same_file(e, q))) {
            set.notes.push(format!(
                "note: {} is a newer differential backup beside it, not given; pass the \
                 backup directory to include it",
                q.display()
            ));
        }
    }
    added
}

/// Appends `explicit` to the set: in backup order (timestamp, then
/// volume) when every name is a Kerio backup name, else as given.
fn put_in_order(explicit: Vec<PathBuf>, set: &mut BackupSet) {
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
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}
