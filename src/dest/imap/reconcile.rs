//! Finding messages on the server whose arrival is in doubt (in flight when
//! a connection died, or pending in the journal after a crash): the
//! reading half. What was read is decided by [`super::core::matching`].
//!
//! Only the messages with a UID at or above the lowest lower bound (or the
//! floor) are read: RFC822.SIZE first, then the bodies of the candidates
//! (all of them up to 200, beyond that only those of a size sent), up to
//! 8 MiB to a FETCH, hashed and dropped. For a want whose content is nowhere and that
//! has a Message-ID, `UID SEARCH HEADER Message-ID` in its range (up to 32
//! of them ORed in one SEARCH; a group with hits again one by one), and the
//! size and INTERNALDATE of the hits. The mailbox is opened with EXAMINE
//! and left with UNSELECT, whatever happened. A check that finds a message
//! absent reads once more after a pause ([`find_settled`]): a dead
//! connection's server side may still be committing.

use super::client::ImapSession;
use super::core::matching::{wants_decoded, Found, Known, Search, Seen, Want};
use super::error::ImapError;
use std::collections::HashSet;

/// Candidates beyond this count are only fetched when their size matches.
const FETCH_ALL_UP_TO: usize = 200;

/// Message-IDs looked for in one `UID SEARCH` (an OR of HEADER keys,
/// ~2 KB of command at most).
const SEARCH_TOGETHER: usize = 32;

/// A Message-ID we can put in a SEARCH (printable ASCII, sane length).
fn searchable(mid: &str) -> bool {
    !mid.is_empty() && mid.len() <= 900 && mid.bytes().all(|b| (0x21..0x7f).contains(&b))
}

/// Looks for `wants` in `mailbox` (EXAMINE, then UNSELECT). `floor` is the
/// lowest UID a copy counted in [`Known::sure`] can have (`None`: none is
/// expected); `known` is called once the server was read, with the
/// mailbox's UIDVALIDITY. Returns that UIDVALIDITY and one answer per want.
pub(crate) fn find_on_server(
    sess: &mut ImapSession,
    mailbox: &str,
    wants: &[Want],
    floor: Option<u32>,
    known: &dyn Fn(Option<u32>) -> Known,
) -> Result<(Option<u32>, Vec<Found>), ImapError> {
    if wants.is_empty() {
        return Ok((None, Vec::new()));
    }
    let ex = sess.examine(mailbox)?;
    let uv = ex.uid_validity;
    let search = Search::new(wants, uv, floor);
    let read = read_server(sess, wants, &search.lowers, search.from);
    let unselect = sess.unselect();
    let seen = read?;
    unselect?;
    let known = known(uv);
    let now = chrono::Utc::now().timestamp();
    Ok((uv, search.decide(wants, &seen, &known, now)))
}

/// How long a check waits before it reads the mailbox once more when it
/// found a message absent: the server process of a connection that just
/// died may still be committing what it received (measured on Dovecot:
/// a check on a new connection selected the mailbox before the dead
/// connection's MULTIAPPEND was visible, and the batch was sent twice).
pub(crate) const SETTLE: std::time::Duration = std::time::Duration::from_millis(1500);

/// [`find_on_server`], and when any want was found absent, the same again
/// after `settle` (slept with `sleep`) on a fresh EXAMINE, whose answers
/// are the ones kept: "absent" only counts once the mailbox shows what
/// the dead connection's server side may still have been storing.
pub(crate) fn find_settled(
    sess: &mut ImapSession,
    mailbox: &str,
    wants: &[Want],
    floor: Option<u32>,
    known: &dyn Fn(Option<u32>) -> Known,
    settle: std::time::Duration,
    sleep: &dyn Fn(std::time::Duration),
) -> Result<(Option<u32>, Vec<Found>), ImapError> {
    let first = find_on_server(sess, mailbox, wants, floor, known)?;
    if !first.1.contains(&Found::Absent) {
        return Ok(first);
    }
    sleep(settle);
    // A fresh EXAMINE shows what was committed meanwhile.
    find_on_server(sess, mailbox, wants, floor, known)
}

/// Lower case without whitespace (folded header lines compare as one).
fn squeezed(b: &[u8]) -> Vec<u8> {
    b.iter()
        .filter(|c| !c.is_ascii_whitespace())
        .map(u8::to_ascii_lowercase)
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Reads what the wants can be matched against (see the module header).
fn read_server(
    sess: &mut ImapSession,
    wants: &[Want],
    lowers: &[u32],
    from: u32,
) -> Result<Seen, ImapError> {
    let sizes = sess.uid_sizes_from(from)?;
    let wanted_sizes: HashSet<u64> = wants.iter().filter_map(|w| w.size).collect();
    // A message stored re-encoded has another size: read every candidate.
    let decoded = wants_decoded(wants);
    let any_unsized = decoded || wants.iter().any(|w| w.size.is_none());
    let fetch: Vec<(u32, u64)> = sizes
        .iter()
        .filter(|(_, s)| sizes.len() <= FETCH_ALL_UP_TO || any_unsized || wanted_sizes.contains(s))
        .copied()
        .collect();
    let mut seen = Seen::default();
    sess.uid_bodies_each_sized(&fetch, &mut |uid, body| seen.add_copy(uid, body, decoded))?;
    seen.sort();
    // Servers that rewrite messages: look for the Message-ID of wants whose
    // content is nowhere.
    let mut search: Vec<(usize, String)> = Vec::new();
    for (i, w) in wants.iter().enumerate() {
        if seen.has_copy(w) {
            continue;
        }
        if let Some(hits) = seen.print_hits(w, lowers[i]) {
            seen.hits.insert(i, hits);
            continue;
        }
        if let Some(mid) = w.message_id.as_deref().filter(|m| searchable(m)) {
            search.push((i, format!("<{mid}>")));
        }
    }
    // Most of them never arrived (pending when the run was killed): one
    // SEARCH for a group tells that in one round trip instead of one per
    // message. When the group has hits, their Message-ID lines are read
    // (one more round trip) and only the wants a hit may be (its lines hold
    // the want's Message-ID, whitespace and case aside) are searched again
    // alone, so that whose hits they are is the server's own answer.
    for group in search.chunks(SEARCH_TOGETHER) {
        let mut alone: Vec<&(usize, String)> = group.iter().collect();
        if group.len() > 1 {
            let from = group.iter().map(|(i, _)| lowers[*i]).min().unwrap_or(1);
            let values: Vec<String> = group.iter().map(|(_, v)| v.clone()).collect();
            let union = sess.uid_search_any_header(from, "Message-ID", &values)?;
            if union.is_empty() {
                alone.clear();
            } else {
                let read = sess.uid_header_field(&union, "MESSAGE-ID")?;
                // A hit whose lines did not come may be anyone's: then
                // every want of the group is searched alone.
                if union.iter().all(|u| read.iter().any(|(r, _)| r == u)) {
                    let lines: Vec<Vec<u8>> = read.iter().map(|(_, l)| squeezed(l)).collect();
                    alone.retain(|(_, v)| {
                        let v = squeezed(v.as_bytes());
                        lines.iter().any(|l| contains(l, &v))
                    });
                }
            }
            for (i, _) in group {
                if !alone.iter().any(|(j, _)| j == i) {
                    seen.hits.insert(*i, Vec::new());
                }
            }
        }
        for (i, value) in alone {
            let hits: Vec<u32> = sess
                .uid_search_header(lowers[*i], "Message-ID", value)?
                .into_iter()
                .filter(|u| *u >= lowers[*i])
                .collect();
            seen.hits.insert(*i, hits);
        }
    }
    let mut all: Vec<u32> = seen.hits.values().flatten().copied().collect();
    all.sort_unstable();
    all.dedup();
    for (uid, size, date) in sess.uid_sizes_dates(&all)? {
        seen.facts.insert(uid, (size, date));
    }
    Ok(seen)
}
