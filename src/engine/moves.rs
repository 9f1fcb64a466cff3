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

/// Finds and carries out the account's moves; returns how many arrived
/// per destination folder (source path).
pub(super) fn carry(
    run: &Run<'_>,
    account: &str,
    session: &mut dyn DestSession,
    folders: &[Folder],
) -> Result<HashMap<String, u64>, JournalError> {
    let selected: Vec<&Folder> = folders
        .iter()
        .filter(|f| f.kind() == FolderKind::Mail && run.opts.selection.folder(&f.path))
        .collect();
    let mut gone: HashMap<ContentHash, Gone> = HashMap::new();
    let mut known: HashMap<&str, HashSet<String>> = HashMap::new();
    for f in &selected {
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
            let to = match &mailbox {
                Some(m) => m.clone(),
                None => {
                    let spec = MailboxSpec {
                        source_path: f.path.clone(),
                        components: f.components.clone(),
                    };
                    match session.prepare_mailbox(&spec) {
                        Ok(m) => mailbox.insert(m).clone(),
                        Err(_) => break,
                    }
                }
            };
            let target = if g.row.mailbox == to {
                Some(g.row.target.clone())
            } else {
                // Not moved (an error, or not that copy any more): the item
                // is uploaded by the folder's pass as a new one.
                session
                    .move_message(&g.row.mailbox, &g.row.target, g.row.size, &to)
                    .ok()
                    .flatten()
            };
            let Some(target) = target else { continue };
            let Some(g) = gone.remove(&hash) else {
                continue;
            };
            run.journal.record_done(&[ItemRow {
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
            }])?;
            run.journal
                .forget_done(account, &g.folder, &[(g.item, g.row.hash)])?;
            *arrived.entry(f.path.clone()).or_default() += 1;
        }
    }
    Ok(arrived)
}
