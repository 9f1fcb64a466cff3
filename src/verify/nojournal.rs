//! `verify --no-journal`: checks a target filled by any tool (imapsync,
//! mbsync, a provider's migration service, an earlier attempt) against the
//! store by content, with the folder mapping `migrate` uses. Per folder:
//! the source items, how many the target has, which are missing (named as
//! the journal-based verify names them) and, per mailbox, the messages no
//! source item accounts for (extra).
//!
//! It streams: each source item is read and prepared once for its size
//! and Message-ID and dropped; only where those do not decide is it read
//! again, when the target asks (`DestSession::find_by_content`). Memory per
//! source message: a [`Sought`] (its size and Message-ID, ~100 bytes) for
//! the folder being checked; per target message see `dest::imap::inventory`.

use super::{start_check, AccountCheck, ExtraCopy, FolderCheck, Verification, VerifyOptions};
use crate::dest::{DestSession, Destination, MailboxSpec, Sought};
use crate::model::Account;
use crate::source::{Folder, FolderKind, Item, Source};
use std::collections::{HashMap, HashSet};

/// Verifies the target by content, without a journal.
pub fn verify_no_journal(
    source: &dyn Source,
    target: &dyn Destination,
    opts: &VerifyOptions,
) -> Verification {
    let mut v = Verification {
        target: target.id(),
        no_journal: true,
        ..Verification::default()
    };
    match source.accounts() {
        Ok(list) => {
            for account in list
                .accounts
                .iter()
                .filter(|a| opts.selection.account(&a.id()))
            {
                v.accounts
                    .push(check_account(source, target, opts, account));
            }
        }
        Err(e) => v.accounts.push(AccountCheck {
            error: Some(e.to_string()),
            ..AccountCheck::default()
        }),
    }
    v.finish();
    v
}

/// What was seen of one target mailbox over the account's folders.
#[derive(Default)]
struct MailboxSeen {
    /// The first folder (index into the account's) that goes there.
    first: usize,
    /// Every message there.
    on_target: Vec<u32>,
    /// Those matched to a source item.
    taken: HashSet<u32>,
}

fn check_account(
    source: &dyn Source,
    target: &dyn Destination,
    opts: &VerifyOptions,
    account: &Account,
) -> AccountCheck {
    let (mut ac, walk) = match start_check(source, account) {
        Ok(started) => started,
        Err(failed) => return failed,
    };
    let mut session = match target.open(account) {
        Ok(s) => s,
        Err(e) => {
            ac.error = Some(format!("cannot open the target account: {e}"));
            return ac;
        }
    };
    let mut mailboxes: HashMap<String, MailboxSeen> = HashMap::new();
    for folder in walk {
        if folder.kind() != FolderKind::Mail || !opts.selection.folder(&folder.path) {
            continue;
        }
        let mut fc = FolderCheck {
            folder: folder.path.clone(),
            ..FolderCheck::default()
        };
        check_folder(
            session.as_mut(),
            &folder,
            opts,
            &mut fc,
            &mut mailboxes,
            ac.folders.len(),
        );
        super::name_problems(&folder, &mut fc);
        ac.folders.push(fc);
    }
    for seen in mailboxes.into_values() {
        if let Some(fc) = ac.folders.get_mut(seen.first) {
            fc.extra = seen
                .on_target
                .iter()
                .filter(|u| !seen.taken.contains(u))
                .map(|u| ExtraCopy {
                    uid: Some(*u),
                    ..ExtraCopy::default()
                })
                .collect();
        }
    }
    let _ = session.finish();
    ac
}

/// The items of a folder that should be on the target (non-empty mail;
/// not deleted with `--skip-deleted`), as the journal-based verify counts.
fn expected_items(folder: &Folder, skip_deleted: bool) -> Vec<&Item> {
    folder
        .items
        .iter()
        .filter(|item| {
            let empty = item.stat().map(|s| s.size == 0).unwrap_or(false);
            !empty && item.is_mail() && !(skip_deleted && item.deleted())
        })
        .collect()
}

/// The prepared bytes of an item (`None`: unreadable).
fn prepared(item: &Item) -> Option<crate::message::Prepared> {
    item.read()
        .ok()
        .map(|raw| crate::message::prepare(raw.bytes))
}

fn check_folder(
    sess: &mut dyn DestSession,
    folder: &Folder,
    opts: &VerifyOptions,
    fc: &mut FolderCheck,
    mailboxes: &mut HashMap<String, MailboxSeen>,
    index: usize,
) {
    let mailbox = match sess.plan_mailbox(&MailboxSpec {
        source_path: folder.path.clone(),
        components: folder.components.clone(),
    }) {
        Ok(m) => m,
        Err(e) => {
            fc.error = Some(e.to_string());
            return;
        }
    };
    fc.mailbox = Some(mailbox.clone());
    let items = expected_items(folder, opts.skip_deleted);
    fc.source_items = items.len() as u64;
    // One read per item, dropped at once: its size and Message-ID. An
    // unreadable item can never be shown present (size 0 matches nothing
    // a server lists, and its bytes are None).
    let sought: Vec<Sought> = items
        .iter()
        .map(|item| match prepared(item) {
            Some(p) if !p.anomalies.empty => Sought {
                size: p.bytes.len() as u64,
                // Read as the target's header is read (a header that
                // starts oddly still has its Message-ID there).
                message_id: crate::message::header_value(&p.bytes, "Message-ID"),
            },
            _ => Sought {
                size: 0,
                message_id: None,
            },
        })
        .collect();
    let seen = mailboxes
        .entry(mailbox.clone())
        .or_insert_with(|| MailboxSeen {
            first: index,
            ..MailboxSeen::default()
        });
    let found = sess.find_by_content(&mailbox, &sought, &seen.taken, &mut |i| {
        items
            .get(i)
            .and_then(|item| prepared(item))
            .map(|p| p.bytes)
    });
    let found = match found {
        Ok(f) => f,
        Err(e) => {
            fc.error = Some(e.to_string());
            return;
        }
    };
    if seen.on_target.is_empty() {
        seen.on_target = found.on_target;
    }
    for (item, uid) in items.iter().zip(&found.found) {
        match uid {
            Some(u) => {
                seen.taken.insert(*u);
                fc.present += 1;
            }
            None => fc.missing_on_target.push(item.id.clone()),
        }
    }
    for (i, reason) in found.altered {
        if let Some(item) = items.get(i) {
            fc.altered.push(crate::report::ItemNote {
                item: item.id.clone(),
                reason,
                path: None,
            });
        }
    }
}
