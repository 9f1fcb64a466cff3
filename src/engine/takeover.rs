//! `migrate --sync` under another URL of the same server (another port, a
//! proxy, a name for the address): before renames and moves are looked
//! for, the journal rows other targets wrote for this account are taken
//! over, folder by folder, where the store's identity (login and INBOX
//! UIDVALIDITY) is the one recorded with them and the folder's mailbox has
//! the UIDVALIDITY of its rows ([`crate::journal::Journal::take_over`]).
//! Without it the first sync under a new URL sees no rows: a renamed
//! folder is uploaded again under its new name, and moved messages are
//! uploaded and their old copies left. Each folder's own pass does the
//! same for its folder (a plain rerun); this one also reaches the folders
//! the store no longer has (renamed, deleted). `verify` takes over the
//! same way before it checks ([`take_over_account`]).

use super::reason;
use crate::dest::DestSession;
use crate::journal::{Journal, JournalError};

/// Takes over `account`'s rows that `journal` holds under other URLs of
/// the store `session` is logged in to; the notes (one per folder and
/// former target).
pub fn take_over_account(
    journal: &Journal,
    account: &str,
    session: &mut dyn DestSession,
) -> Result<Vec<String>, JournalError> {
    let Some(identity) = session.store_identity() else {
        return Ok(Vec::new());
    };
    let mut notes = Vec::new();
    let mut took = false;
    for (folder, mailbox) in journal.foreign_folders(account, &identity)? {
        let uv = session.uid_validity_of(&mailbox);
        if uv.is_none() {
            continue;
        }
        for (from, n) in journal.take_over(account, &folder, &identity, uv)? {
            notes.push(format!("{folder}: {}", reason::taken_over(n, &from)));
            took = true;
        }
    }
    // The rows now under this URL carry the store's identity, so a run
    // under the URL they came from takes them back (`verify` through
    // `localhost` and the next sync through `127.0.0.1`); without it that
    // run found its journal empty and uploaded every moved message again.
    if took {
        journal.record_identity(account, &identity)?;
    }
    Ok(notes)
}
