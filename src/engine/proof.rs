//! `--sync` with rows journaled before schema 4, which have no stored
//! size: a copy the server holds with another size than was sent (Dovecot
//! re-encodes a binary part) failed the ownership proof by size, so it was
//! neither moved nor removed (a move uploaded it again and left the old
//! copy). Before a move or a removal, such a copy is proven otherwise:
//! under the journaled UIDVALIDITY and UID (which no other message can
//! ever have), its Message-ID is the one journaled and its size plausible
//! for what was sent (half to twice, plus 64 KiB: what adoption accepts
//! from a server that rewrites). Its bytes cannot be compared: they are
//! what the server changed. A copy so proven gets the size it holds, in
//! the row and the journal, so this and every later pass prove it by size.
//! A row without a Message-ID is not proven (left as before). Only the
//! copies about to be moved or removed are asked: the cost follows the
//! changes.

use super::reason;
use crate::dest::DestSession;
use crate::journal::{DoneItem, Journal, JournalError};
use std::collections::HashMap;

/// A journaled copy about to be moved or removed: its source folder, item
/// and row (whose `stored_size` a proof fills in).
pub(super) struct Journaled<'r> {
    pub folder: &'r str,
    pub item: &'r str,
    pub row: &'r mut DoneItem,
}

/// Half to twice the size sent, plus 64 KiB.
fn plausible(sent: u64, held: u64) -> bool {
    held >= sent / 2 && held <= sent.saturating_mul(2).saturating_add(65_536)
}

/// Proves the `copies` (all in `mailbox`) without a stored size that the
/// target holds with another size than sent; what could not be asked is a
/// note. How many were proven.
pub(super) fn prove_altered(
    journal: &Journal,
    account: &str,
    session: &mut dyn DestSession,
    mailbox: &str,
    copies: Vec<Journaled<'_>>,
    notes: &mut Vec<String>,
) -> Result<usize, JournalError> {
    if !journal.has_rows_before_schema_4() {
        // Every row has its stored size where it differs: nothing to ask.
        return Ok(0);
    }
    let asked: Vec<Journaled<'_>> = copies
        .into_iter()
        .filter(|c| {
            c.row.stored_size.is_none()
                && c.row.size.is_some()
                && c.row.message_id.is_some()
                && c.row.target.uid.is_some()
        })
        .collect();
    if asked.is_empty() {
        return Ok(0);
    }
    let refs: Vec<_> = asked
        .iter()
        .map(|c| (c.row.target.clone(), c.row.size.unwrap_or(0)))
        .collect();
    let held = match session.altered_copies(mailbox, &refs) {
        Ok(h) => h,
        Err(e) => {
            notes.push(format!(
                "journaled copies without a stored size not checked: {}",
                reason::dest_error(e)
            ));
            return Ok(0);
        }
    };
    let mut by_folder: HashMap<&str, Vec<(String, u32, u64)>> = HashMap::new();
    let mut proven = 0;
    for (c, copy) in asked.into_iter().zip(held) {
        let (Some(copy), Some(uid), Some(sent)) = (copy, c.row.target.uid, c.row.size) else {
            continue;
        };
        if copy.message_id.is_none() || copy.message_id != c.row.message_id {
            continue;
        }
        if !plausible(sent, copy.size) {
            continue;
        }
        c.row.stored_size = Some(copy.size);
        by_folder
            .entry(c.folder)
            .or_default()
            .push((c.item.to_string(), uid, copy.size));
        proven += 1;
    }
    for (folder, rows) in by_folder {
        journal.record_stored_size(account, folder, &rows)?;
    }
    Ok(proven)
}

#[cfg(test)]
mod tests {
    #[test]
    fn plausible_sizes_are_half_to_twice_plus_64_kib() {
        assert!(super::plausible(1000, 1009));
        assert!(super::plausible(1000, 500));
        assert!(!super::plausible(1000, 499));
        assert!(super::plausible(1000, 2000 + 65_536));
        assert!(!super::plausible(1000, 2001 + 65_536));
    }
}
