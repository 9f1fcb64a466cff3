//! Finding messages on the server whose arrival is in doubt (in flight when
//! a connection died, or pending in the journal after a crash): the
//! candidates are the messages with a UID at or above the lower bound
//! recorded before sending (UIDNEXT from STATUS, raised by every APPENDUID
//! seen since), matched one-to-one by content: the BLAKE3 hash of
//! BODY.PEEK[] with NUL and 0x80 folded together (Dovecot stores NUL as
//! 0x80), after a first cut by RFC822.SIZE.

use super::client::ImapSession;
use super::error::ImapError;
use std::collections::HashSet;

/// A message being looked for.
#[derive(Clone, Debug)]
pub(crate) struct Want {
    /// [`fold_hash`] of the bytes sent.
    pub hash: [u8; 32],
    /// Bytes sent, when known.
    pub size: Option<u64>,
    /// Lowest UID it can have.
    pub lower: u32,
}

/// BLAKE3 of `bytes` with every NUL read as 0x80. For data without NUL it
/// is the plain hash, so it equals the journal's content hash.
pub(crate) fn fold_hash(bytes: &[u8]) -> [u8; 32] {
    if !bytes.contains(&0) {
        return *blake3::hash(bytes).as_bytes();
    }
    let mut h = blake3::Hasher::new();
    for (i, part) in bytes.split(|b| *b == 0).enumerate() {
        if i > 0 {
            h.update(&[0x80]);
        }
        h.update(part);
    }
    *h.finalize().as_bytes()
}

/// Candidates beyond this count are only fetched when their size matches.
const FETCH_ALL_UP_TO: usize = 200;

/// Looks for `wants` in `mailbox` (EXAMINE, then UNSELECT). Returns the
/// mailbox's UIDVALIDITY and, per want, the UID of the message that
/// matches it; a UID in `exclude` (known to belong to something else) or
/// already given to an earlier want is never given again.
pub(crate) fn find_on_server(
    sess: &mut ImapSession,
    mailbox: &str,
    wants: &[Want],
    exclude: &HashSet<u32>,
) -> Result<(Option<u32>, Vec<Option<u32>>), ImapError> {
    let mut found = vec![None; wants.len()];
    if wants.is_empty() {
        return Ok((None, found));
    }
    let ex = sess.examine(mailbox)?;
    let result = (|| {
        let from = wants.iter().map(|w| w.lower.max(1)).min().unwrap_or(1);
        let sizes = sess.uid_sizes_from(from)?;
        let candidates: Vec<(u32, u64)> = sizes
            .into_iter()
            .filter(|(uid, _)| !exclude.contains(uid))
            .collect();
        let wanted_sizes: HashSet<u64> = wants.iter().filter_map(|w| w.size).collect();
        let any_unsized = wants.iter().any(|w| w.size.is_none());
        let fetch: Vec<u32> = candidates
            .iter()
            .filter(|(_, s)| {
                candidates.len() <= FETCH_ALL_UP_TO || any_unsized || wanted_sizes.contains(s)
            })
            .map(|(u, _)| *u)
            .collect();
        let bodies = sess.uid_bodies(&fetch)?;
        let mut hashed: Vec<(u32, [u8; 32])> =
            bodies.iter().map(|(u, b)| (*u, fold_hash(b))).collect();
        hashed.sort_by_key(|(u, _)| *u);
        let mut taken: HashSet<u32> = HashSet::new();
        for (i, w) in wants.iter().enumerate() {
            if let Some((uid, _)) = hashed
                .iter()
                .find(|(u, h)| *u >= w.lower && *h == w.hash && !taken.contains(u))
            {
                taken.insert(*uid);
                found[i] = Some(*uid);
            }
        }
        Ok(())
    })();
    let unselect = sess.unselect();
    result?;
    unselect?;
    Ok((ex.uid_validity, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_nul_and_0x80() {
        let plain = b"abc\r\n";
        assert_eq!(fold_hash(plain), *blake3::hash(plain).as_bytes());
        assert_eq!(
            fold_hash(b"a\0b\0"),
            *blake3::hash(b"a\x80b\x80").as_bytes()
        );
        assert_eq!(fold_hash(b"\0"), fold_hash(b"\x80"));
        assert_ne!(fold_hash(b"a\0b"), fold_hash(b"ab"));
    }
}
