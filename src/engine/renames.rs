//! `migrate --sync`: folders renamed in Kerio. A journaled folder the store
//! no longer has, whose journaled items (nearly) all turn up by item id and
//! size in one selected folder that has no journal rows, is renamed on the
//! target (IMAP `RENAME`, which takes the children along; a Maildir++
//! directory and its `.A.B` children), and its journal rows follow, its
//! sub-folders' too: nothing is uploaded again, nothing counted deleted.
//! When the new folder's mailbox exists on the target already (a special
//! folder, a mapping that joins folders), nothing is renamed: the old
//! folder's messages are left to `engine::moves`, and the report says what
//! happened and what to do.

use super::Run;
use crate::dest::{DestSession, MailboxRename, MailboxSpec};
use crate::journal::{DoneItem, JournalError};
use crate::source::{Folder, FolderKind};
use std::collections::{HashMap, HashSet};

/// What the renames did: the notes for the report, and the journaled
/// folders still gone (not renamed), whose messages moves may carry.
#[derive(Debug, Default)]
pub(super) struct Renames {
    pub notes: Vec<String>,
    pub vanished: Vec<String>,
    /// Of `vanished`, those no folder of the store matched (a rename found
    /// but not carried has its own note).
    pub unmatched: Vec<String>,
}

/// Finds and carries out the account's folder renames.
pub(super) fn carry(
    run: &Run<'_>,
    account: &str,
    session: &mut dyn DestSession,
    folders: &[Folder],
) -> Result<Renames, JournalError> {
    // Rows written under another URL of this server first: renames and
    // moves are found from them.
    let taken = super::takeover::take_over_account(run.journal, account, session)?;
    let present: HashSet<&str> = folders.iter().map(|f| f.path.as_str()).collect();
    let journaled = run.journal.journaled_folders(account)?;
    let known: HashSet<&str> = journaled.iter().map(String::as_str).collect();
    let fresh: Vec<&Folder> = folders
        .iter()
        .filter(|f| f.kind() == FolderKind::Mail && run.opts.selection.folder(&f.path))
        .filter(|f| !known.contains(f.path.as_str()))
        .collect();
    let mut out = Renames {
        notes: taken,
        ..Renames::default()
    };
    let mut renamed: Vec<(String, String)> = Vec::new();
    // Sorted: a parent comes before its sub-folders, which it takes along.
    for old in journaled.iter().filter(|f| !present.contains(f.as_str())) {
        if renamed.iter().any(|(o, _)| under(old, o)) {
            continue;
        }
        let rows = run.journal.done_items(account, old)?;
        let Some(new) = best_match(&rows, &fresh) else {
            out.vanished.push(old.clone());
            out.unmatched.push(old.clone());
            continue;
        };
        let Some(from) = rows.values().flatten().next().map(|d| d.mailbox.clone()) else {
            continue;
        };
        let spec = MailboxSpec {
            source_path: new.path.clone(),
            components: new.components.clone(),
        };
        let what = format!("folder renamed in Kerio: {old} -> {}", new.path);
        match session.rename_mailbox(&from, &spec) {
            Ok(MailboxRename::Renamed(to)) => {
                let n = run
                    .journal
                    .rename_folder(account, (old, &new.path), (&from, &to))?;
                out.notes.push(format!(
                    "folder renamed: {old} -> {} ({n} messages; mailbox {from:?} renamed to {to:?} on the target)",
                    new.path
                ));
                renamed.push((old.clone(), new.path.clone()));
            }
            other => {
                out.notes.push(not_renamed(&what, &from, rows.len(), other));
                out.vanished.push(old.clone());
            }
        }
    }
    Ok(out)
}

/// `path` is `parent` or one of its sub-folders.
fn under(path: &str, parent: &str) -> bool {
    path.strip_prefix(parent)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The fresh folder holding (nearly: 90 %) all of the old folder's
/// journaled items, by item id and source size.
fn best_match<'f>(
    rows: &HashMap<String, Vec<DoneItem>>,
    fresh: &[&'f Folder],
) -> Option<&'f Folder> {
    if rows.is_empty() {
        return None;
    }
    let (found, f) = fresh
        .iter()
        .map(|f| {
            let n = f
                .items
                .iter()
                .filter(|i| {
                    let want = rows
                        .get(&i.id)
                        .and_then(|v| v.last())
                        .and_then(|d| d.src_size);
                    want.is_some() && i.stat().ok().map(|s| s.size) == want
                })
                .count();
            (n, *f)
        })
        .max_by_key(|(n, _)| *n)?;
    (found > 0 && found * 10 >= rows.len() * 9).then_some(f)
}

/// The report's note for a rename not carried out: what happened, and
/// what the admin should do.
fn not_renamed(
    what: &str,
    from: &str,
    n: usize,
    outcome: Result<MailboxRename, crate::dest::DestError>,
) -> String {
    match outcome {
        Ok(MailboxRename::Exists(to)) => format!(
            "{what}, but mailbox {to:?} exists on the target already: not renamed; its {n} messages are moved from {from:?} into {to:?} where possible (else uploaded again); check, then remove the old mailbox {from:?} on the target if it is empty, or map the folder elsewhere (--map) before the next run"
        ),
        Ok(MailboxRename::Missing) => format!(
            "{what}, but mailbox {from:?} is not on the target: not renamed; its {n} messages are uploaded again"
        ),
        Ok(MailboxRename::NotSupported) | Ok(MailboxRename::Renamed(_)) => format!(
            "{what}: mailbox {from:?} cannot be renamed on this target; its {n} messages are moved where possible (else uploaded again)"
        ),
        Err(e) => format!(
            "{what}: mailbox {from:?} not renamed ({}); its {n} messages are moved where possible (else uploaded again)",
            super::reason::dest_error(e)
        ),
    }
}
