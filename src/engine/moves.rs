//! `migrate --sync`: messages moved between folders in Kerio. An item gone
//! from folder A whose content (hash) turns up as a new item in folder B
//! of the same account is moved on the target (IMAP `UID MOVE`, or COPY,
//! `\Deleted` and `UID EXPUNGE` of that UID only), not uploaded again; its
//! journal row moves with it, so A does not count it as deleted and B finds
//! it present. Only files whose size matches a gone row are read for their
//! hash, before the folders are migrated.

use super::Run;
use crate::dest::{DestSession, MailboxSpec};
use crate::journal::{DoneItem, ItemRow, JournalError};
use crate::message::ContentHash;
use crate::source::{Folder, FolderKind};
use std::collections::{HashMap, HashSet};

/// A journaled copy whose source item is gone.
struct Gone {
    folder: String,
    item: String,
    row: DoneItem,
}

/// Gone copies by their content hash.
type GoneByHash = HashMap<ContentHash, Gone>;
/// Each folder's journaled item ids.
type KnownIds<'f> = HashMap<&'f str, HashSet<String>>;

/// Finds and carries out the account's moves; returns how many arrived
/// per destination folder (source path). The journaled folders in
/// `vanished` (gone from the store, not renamed) count as gone entirely.
pub(super) fn carry(
    run: &Run<'_>,
    account: &str,
    session: &mut dyn DestSession,
    folders: &[Folder],
    vanished: &[String],
) -> Result<HashMap<String, u64>, JournalError> {
    let selected: Vec<&Folder> = folders
        .iter()
        .filter(|f| f.kind() == FolderKind::Mail && run.opts.selection.folder(&f.path))
        .collect();
    let (mut gone, known) = gone_and_known(run, account, &selected)?;
    for folder in vanished {
        for (id, rows) in run.journal.done_items(account, folder)? {
            if let Some(row) = rows.last() {
                let g = Gone {
                    folder: folder.clone(),
                    item: id.clone(),
                    row: row.clone(),
                };
                gone.insert(row.hash, g);
            }
        }
    }
    let mut arrived: HashMap<String, u64> = HashMap::new();
    if gone.is_empty() {
        return Ok(arrived);
    }
    let sizes: HashSet<u64> = gone.values().filter_map(|g| g.row.src_size).collect();
    for f in &selected {
        let mut mailbox: Option<String> = None;
        for item in &f.items {
            if gone.is_empty() {
                return Ok(arrived);
            }
            if !item.is_mail()
                || known
                    .get(f.path.as_str())
                    .is_some_and(|k| k.contains(&item.id))
            {
                continue;
            }
            let Ok(stat) = item.stat() else { continue };
            if !sizes.contains(&stat.size) {
                continue;
            }
            let Ok(data) = item.read() else { continue };
            let hash = crate::message::prepare(data.bytes).hash;
            let Some(g) = gone.get(&hash) else { continue };
            if g.folder == f.path {
                continue;
            }
            let Some(to) = folder_mailbox(session, f, &mut mailbox) else {
                break;
            };
            let Some(target) = move_on_target(session, g, &to) else {
                continue;
            };
            let Some(g) = gone.remove(&hash) else {
                continue;
            };
            let row = ItemRow {
                account: account.to_string(),
                folder: f.path.clone(),
                item: item.id.clone(),
                hash,
                src_size: Some(stat.size),
                src_mtime: stat.mtime,
                mailbox: to.clone(),
                target_id: target.id,
                uid_validity: target.uid_validity,
                uid: target.uid,
                size: g.row.size,
                flags: g.row.flags,
                ..ItemRow::default()
            };
            move_row(run, account, row, g)?;
            *arrived.entry(f.path.clone()).or_default() += 1;
        }
    }
    Ok(arrived)
}

/// The destination mailbox of folder `f`, prepared once (`None` when it
/// cannot be: its items then go by the folder's own pass).
fn folder_mailbox(
    session: &mut dyn DestSession,
    f: &Folder,
    mailbox: &mut Option<String>,
) -> Option<String> {
    if let Some(m) = mailbox {
        return Some(m.clone());
    }
    let spec = MailboxSpec {
        source_path: f.path.clone(),
        components: f.components.clone(),
    };
    let m = session.prepare_mailbox(&spec).ok()?;
    Some(mailbox.insert(m).clone())
}

/// Moves the gone copy `g` into mailbox `to` on the target; its new
/// reference, or `None` when it was not moved (an error, or not that copy
/// any more: the item is then uploaded by the folder's pass as a new one).
fn move_on_target(
    session: &mut dyn DestSession,
    g: &Gone,
    to: &str,
) -> Option<crate::model::DestRef> {
    if g.row.mailbox == to {
        return Some(g.row.target.clone());
    }
    session
        .move_message(&g.row.mailbox, &g.row.target, g.row.size, to)
        .ok()
        .flatten()
}

/// The journaled copies whose source item is gone from its folder (by
/// content hash), and every folder's journaled item ids.
fn gone_and_known<'f>(
    run: &Run<'_>,
    account: &str,
    selected: &[&'f Folder],
) -> Result<(GoneByHash, KnownIds<'f>), JournalError> {
    let mut gone: HashMap<ContentHash, Gone> = HashMap::new();
    let mut known: HashMap<&str, HashSet<String>> = HashMap::new();
    for f in selected {
        let done = run.journal.done_items(account, &f.path)?;
        let ids: HashSet<&str> = f.items.iter().map(|i| i.id.as_str()).collect();
        for (id, rows) in &done {
            if ids.contains(id.as_str()) {
                continue;
            }
            if let Some(row) = rows.last() {
                gone.insert(
                    row.hash,
                    Gone {
                        folder: f.path.clone(),
                        item: id.clone(),
                        row: row.clone(),
                    },
                );
            }
        }
        known.insert(f.path.as_str(), done.into_keys().collect());
    }
    Ok((gone, known))
}

/// The journal follows a moved message: its row under the new folder, the
/// old folder's row forgotten.
fn move_row(run: &Run<'_>, account: &str, row: ItemRow, g: Gone) -> Result<(), JournalError> {
    run.journal.record_done(&[row])?;
    run.journal
        .forget_done(account, &g.folder, &[(g.item, g.row.hash)])
}
