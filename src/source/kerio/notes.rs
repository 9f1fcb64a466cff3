//! A Kerio folder's notes: what a report says about it, one line each, the
//! same text for every command (the migration report has always shown
//! these). Built from what the walk found; nothing here reads the disk.

use super::index::ACL_LIMIT;
use super::items::FolderContents;
use super::layout::Folder;
use crate::source::Folder as SharedFolder;
use crate::text::human_bytes;

/// Files Kerio keeps in a folder directory (research §1.4, §3.6–3.8), and
/// the `.bad` copies its reindex and consistency check leave.
fn is_folder_metadata(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".fld") || lower.ends_with(".bad")
}

/// The notes of `folder`, in this order: name problem, `index.fld` missing,
/// empty, replaced by `index.bad` or damaged, stale records, unindexed
/// files, shared ids, non-item files, unknown files in the folder
/// directory, `status.fld` oddities, problems, items that are not mail, an
/// unknown `status.fld` type, kind disagreements.
pub(super) fn folder_notes(folder: &Folder, c: &FolderContents, f: &SharedFolder) -> Vec<String> {
    let d = &f.decision;
    let mut notes = Vec::new();
    if let Some(p) = &folder.name_problem {
        notes.push(p.clone());
    }
    let index_name = if c.index_from_bad {
        "index.bad"
    } else {
        "index.fld"
    };
    match &c.index {
        None => notes.push("no index.fld: flags unknown, dates from file times".into()),
        Some(idx) => {
            if c.index_from_bad {
                notes.push(
                    "no index.fld: flags and dates read from index.bad (left by an interrupted reindex)"
                        .into(),
                );
            }
            if c.index_empty_file && !c.items.is_empty() {
                notes.push(format!(
                    "{index_name} is empty (0 bytes) beside {} item(s): no metadata, flags unknown, dates from file times",
                    c.items.len()
                ));
            }
            if idx.stats.garbage > 0 {
                notes.push(format!(
                    "{index_name}: {} unparsable line(s) skipped",
                    idx.stats.garbage
                ));
            }
        }
    }
    if c.bad_index_ignored {
        notes.push("index.bad is there too: not read (index.fld is used when present)".into());
    }
    if !c.stale.is_empty() {
        let mut ids = c.stale.clone();
        ids.truncate(10);
        notes.push(format!(
            "{index_name} lists {} item(s) with no file (stale): {}",
            c.stale.len(),
            ids.join(", ")
        ));
    }
    if c.unindexed > 0 && c.index.is_some() && !c.index_empty_file {
        notes.push(format!(
            "{} file(s) not in {index_name}: migrated unflagged, dated by file time",
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
    let unknown: Vec<String> = folder
        .files
        .iter()
        .filter(|(n, _)| !is_folder_metadata(n))
        .map(|(n, k)| {
            if *k > 1 {
                format!("{n:?} x{k}")
            } else {
                format!("{n:?}")
            }
        })
        .collect();
    if !unknown.is_empty() {
        notes.push(format!(
            "ignored {} file(s) in the folder directory that are not Kerio metadata: {}",
            unknown.len(),
            unknown.join(", ")
        ));
    }
    if let Some(st) = &folder.status {
        if let Some(size) = st.truncated_from {
            notes.push(format!(
                "status.fld is {}: only its first {} read",
                human_bytes(size),
                human_bytes(super::index::STATUS_READ_LIMIT)
            ));
        }
        if st.acl_dropped > 0 {
            notes.push(format!(
                "status.fld lists {} more access entries than the {ACL_LIMIT} kept",
                st.acl_dropped
            ));
        }
    }
    notes.extend(c.problems.iter().cloned());
    let not_mail = f.not_mail();
    if !not_mail.is_empty() {
        let n: u64 = not_mail.values().sum();
        let kinds: Vec<String> = not_mail.iter().map(|(k, v)| format!("{v} {k}")).collect();
        notes.push(format!(
            "{n} item(s) in this mail folder are not mail ({}): not migrated as mail, exported by `contacts` / `calendar`",
            kinds.join(", ")
        ));
    }
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
