//! After a `deliver`: the sizes the server stored for what was just
//! appended, handed to [`super::core::stored`] to find the messages the
//! server altered. Most come from the append connections' own read-back
//! tails ([`from_sizes`]); what they did not cover is read here (EXAMINE,
//! the `UID FETCH … (RFC822.SIZE)` chunks and UNSELECT in one flight on
//! the control connection, [`check`]).

use super::client::{ImapSession, FLIGHT_BYTES};
use super::core::names::Product;
use super::core::stored::{altered, altered_content, Sent};
use super::error::ImapError;
use super::worker::ReadBack;
use crate::model::ContentHash;
use std::collections::HashMap;

/// A delivered message the server stores other than it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Altered {
    pub item: String,
    /// What differs and why.
    pub reason: String,
    /// Its UID and the size the server reports for it, when that differs
    /// from the size sent (same size, other bytes: `None`).
    pub stored: Option<(u32, u64)>,
}

/// The delivered messages of `sent` whose stored size (or, for 8-bit
/// headers, content) differs, with the reason.
pub(super) fn check(
    c: &mut ImapSession,
    mailbox: &str,
    sent: &[Sent],
    eight_bit: &HashMap<String, ContentHash>,
    product: Option<Product>,
) -> Result<Vec<Altered>, ImapError> {
    if sent.is_empty() {
        return Ok(Vec::new());
    }
    let uids: Vec<u32> = sent.iter().map(|s| s.1).collect();
    // The messages with 8-bit header bytes are read back whole; up to
    // FLIGHT_BYTES of them go in the flight of the sizes (a body whose
    // size already differs is read for nothing, and dropped).
    let wanted: Vec<(u32, u64)> = sent
        .iter()
        .filter(|(item, _, _)| eight_bit.contains_key(item))
        .map(|(_, uid, size)| (*uid, *size))
        .collect();
    let in_flight = wanted.iter().map(|w| w.1).sum::<u64>() <= FLIGHT_BYTES;
    let mut got: HashMap<u32, ContentHash> = HashMap::new();
    let mut read = false;
    // EXAMINE, every size chunk, those bodies and UNSELECT in one flight;
    // one by one only if the flight cannot say it.
    let bodies: Vec<u32> = if in_flight {
        wanted.iter().map(|w| w.0).collect()
    } else {
        Vec::new()
    };
    let leave = in_flight || wanted.is_empty();
    let flight = c.examine_sizes_dates(
        mailbox,
        &uids,
        &bodies,
        &mut |uid, body| {
            got.insert(uid, ContentHash::of(body));
        },
        leave,
    );
    let stored = match flight {
        Ok((_, v)) => {
            read = in_flight;
            Some(v)
        }
        Err(ImapError::Invalid(why)) => {
            tracing::debug!("{mailbox}: stored sizes one by one: {why}");
            None
        }
        Err(e) => {
            let _ = c.unselect();
            return Err(e);
        }
    };
    let stored = match stored {
        Some(v) => v,
        None => {
            c.unselect()?;
            c.examine(mailbox)?;
            match c.uid_sizes_dates(&uids) {
                Ok(v) => v,
                Err(e) => {
                    let _ = c.unselect();
                    return Err(e);
                }
            }
        }
    };
    let stored: HashMap<u32, u64> = stored.into_iter().map(|(u, s, _)| (u, s)).collect();
    let r = read_back(c, &stored, sent, eight_bit, product, read.then_some(got));
    let closed = c.unselect();
    let out = r?;
    closed?;
    Ok(with_stored(out, sent, &stored))
}

/// The messages of `sent` stored altered, from what the append
/// connections' tails read already (every UID of `sent` has its size
/// there, and its body when it is compared by content).
pub(super) fn from_tails(
    sent: &[Sent],
    found: &ReadBack,
    eight_bit: &HashMap<String, ContentHash>,
    product: Option<Product>,
) -> Vec<Altered> {
    let mut out = altered(sent, &found.sizes, product);
    let checked: Vec<(String, u32, ContentHash)> = sent
        .iter()
        .filter(|(item, _, _)| !out.iter().any(|(a, _)| a == item))
        .filter_map(|(item, uid, _)| eight_bit.get(item).map(|h| (item.clone(), *uid, *h)))
        .collect();
    out.extend(altered_content(&checked, &found.bodies, product));
    with_stored(out, sent, &found.sizes)
}

/// The altered messages (item, reason), each with its UID and stored size
/// when that differs from the size sent.
fn with_stored(
    out: Vec<(String, String)>,
    sent: &[Sent],
    stored: &HashMap<u32, u64>,
) -> Vec<Altered> {
    out.into_iter()
        .map(|(item, reason)| {
            let stored = sent
                .iter()
                .find(|s| s.0 == item)
                .and_then(|(_, uid, size)| {
                    stored
                        .get(uid)
                        .filter(|got| *got != size)
                        .map(|got| (*uid, *got))
                });
            Altered {
                item,
                reason,
                stored,
            }
        })
        .collect()
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

/// From the stored sizes, and the bodies of the messages with 8-bit
/// header bytes whose size matched (`bodies`: read already; else read
/// now, in the examined mailbox).
fn read_back(
    c: &mut ImapSession,
    stored: &HashMap<u32, u64>,
    sent: &[Sent],
    eight_bit: &HashMap<String, ContentHash>,
    product: Option<Product>,
    bodies: Option<HashMap<u32, ContentHash>>,
) -> Result<Vec<(String, String)>, ImapError> {
    let mut out = altered(sent, stored, product);
    // Same size, other bytes: only messages with 8-bit header bytes are
    // read back whole (Cyrus's munge8bit keeps the size).
    let checked: Vec<(String, u32, ContentHash)> = sent
        .iter()
        .filter(|(item, _, _)| !out.iter().any(|(a, _)| a == item))
        .filter_map(|(item, uid, _)| eight_bit.get(item).map(|h| (item.clone(), *uid, *h)))
        .collect();
    if !checked.is_empty() {
        let got = match bodies {
            Some(got) => got,
            None => {
                let uids: Vec<u32> = checked.iter().map(|c| c.1).collect();
                let mut got: HashMap<u32, ContentHash> = HashMap::new();
                c.uid_bodies_each(&uids, &mut |uid, body| {
                    got.insert(uid, ContentHash::of(body));
                })?;
                got
            }
        };
        out.extend(altered_content(&checked, &got, product));
    }
    Ok(out)
}
