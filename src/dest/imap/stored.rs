//! After a `deliver`: the sizes the server stored for what was just
//! appended (one EXAMINE and batched `UID FETCH … (RFC822.SIZE)` on the
//! control connection), handed to [`super::core::stored`] to find the
//! messages the server altered.

use super::client::ImapSession;
use super::core::names::Product;
use super::core::stored::{altered, altered_content, Sent};
use super::error::ImapError;
use crate::model::ContentHash;
use std::collections::HashMap;

/// The delivered messages of `sent` whose stored size differs, with the
/// reason.
pub(super) fn check(
    c: &mut ImapSession,
    mailbox: &str,
    sent: &[Sent],
    eight_bit: &HashMap<String, ContentHash>,
    product: Option<Product>,
) -> Result<Vec<(String, String)>, ImapError> {
    if sent.is_empty() {
        return Ok(Vec::new());
    }
    let uids: Vec<u32> = sent.iter().map(|s| s.1).collect();
    c.examine(mailbox)?;
    let r = read_back(c, &uids, sent, eight_bit, product);
    let closed = c.unselect();
    let out = r?;
    closed?;
    Ok(out)
}

/// In the examined mailbox (UIDVALIDITY `uid_validity`): which of `refs`
/// (reference, size sent) are stored with another size.
pub(super) fn sizes_differ(
    c: &mut ImapSession,
    uid_validity: Option<u32>,
    refs: &[(crate::dest::DestRef, u64)],
    product: Option<Product>,
) -> Result<Vec<(usize, String)>, ImapError> {
    let sent: Vec<Sent> = refs
        .iter()
        .enumerate()
        .filter(|(_, (r, _))| r.uid_validity.is_some() && r.uid_validity == uid_validity)
        .filter_map(|(i, (r, size))| r.uid.map(|u| (i.to_string(), u, *size)))
        .collect();
    let uids: Vec<u32> = sent.iter().map(|s| s.1).collect();
    let stored: HashMap<u32, u64> = c
        .uid_sizes_dates(&uids)?
        .into_iter()
        .map(|(u, s, _)| (u, s))
        .collect();
    Ok(altered(&sent, &stored, product)
        .into_iter()
        .filter_map(|(i, why)| i.parse().ok().map(|i| (i, why)))
        .collect())
}

fn read_back(
    c: &mut ImapSession,
    uids: &[u32],
    sent: &[Sent],
    eight_bit: &HashMap<String, ContentHash>,
    product: Option<Product>,
) -> Result<Vec<(String, String)>, ImapError> {
    let stored: HashMap<u32, u64> = c
        .uid_sizes_dates(uids)?
        .into_iter()
        .map(|(u, s, _)| (u, s))
        .collect();
    let mut out = altered(sent, &stored, product);
    // Same size, other bytes: only messages with 8-bit header bytes are
    // read back whole (Cyrus's munge8bit keeps the size).
    let checked: Vec<(String, u32, ContentHash)> = sent
        .iter()
        .filter(|(item, _, _)| !out.iter().any(|(a, _)| a == item))
        .filter_map(|(item, uid, _)| eight_bit.get(item).map(|h| (item.clone(), *uid, *h)))
        .collect();
    if !checked.is_empty() {
        let uids: Vec<u32> = checked.iter().map(|c| c.1).collect();
        let mut got: HashMap<u32, ContentHash> = HashMap::new();
        c.uid_bodies_each(&uids, &mut |uid, body| {
            got.insert(uid, ContentHash::of(body));
        })?;
        out.extend(altered_content(&checked, &got, product));
    }
    Ok(out)
}
