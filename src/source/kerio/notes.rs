//! A Kerio folder's notes: what a report says about it, one line each, the
//! same text for every command (the migration report has always shown
//! these). Built from what the walk found; nothing here reads the disk.

use super::items::FolderContents;
use super::kind::KindDecision;
use super::layout::Folder;

/// The notes of `folder`, in this order: name problem, `index.fld` missing
/// or damaged, stale records, unindexed files, shared ids, non-item files,
/// problems, an unknown `status.fld` type, kind disagreements.
pub(super) fn folder_notes(folder: &Folder, c: &FolderContents, d: &KindDecision) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(p) = &folder.name_problem {
        notes.push(p.clone());
    }
    match &c.index {
        None => notes.push("no index.fld: flags unknown, dates from file times".into()),
        Some(idx) => {
            if idx.stats.garbage > 0 {
                notes.push(format!(
                    "index.fld: {} unparsable line(s) skipped",
                    idx.stats.garbage
                ));
            }
        }
    }
    if !c.stale.is_empty() {
        let mut ids = c.stale.clone();
        ids.truncate(10);
        notes.push(format!(
            "index.fld lists {} item(s) with no file (stale): {}",
            c.stale.len(),
            ids.join(", ")
        ));
    }
    if c.unindexed > 0 && c.index.is_some() {
        notes.push(format!(
            "{} file(s) not in index.fld: migrated unflagged, dated by file time",
            c.unindexed
        ));
    }
    if c.duplicate_ids > 0 {
        notes.push(format!(
            "{} file(s) share an index id with another file",
            c.duplicate_ids
        ));
    }
    for (name, n) in &c.skipped.files {
        notes.push(format!(
            "ignored {n} non-item file(s) named {name:?} in #msgs"
        ));
    }
    notes.extend(c.problems.iter().cloned());
    if let Some(code) = d.unrecognised_type_code {
        notes.push(format!(
            "status.fld type T{code} is not a known code; kind from {}",
            d.source
        ));
    }
    for (src, k) in &d.disagreements {
        notes.push(format!(
            "kind: {} says {k}, {} says {}",
            src, d.source, d.kind
        ));
    }
    notes
}
