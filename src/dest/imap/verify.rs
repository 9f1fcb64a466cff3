//! `verify` on the IMAP target: are the messages the journal says arrived
//! in a mailbox, and (deep) with the content that was sent? And which
//! messages there does no journal row account for (extras, and among
//! them duplicates of journaled items)? By UID where
//! the journal has one under the mailbox's current UIDVALIDITY, else by
//! content. Bodies are compared or hashed as they come and dropped.
//!
//! Invariant: a copy on the server answers for at most one journaled
//! message when matched by content (byte-identical messages each need
//! their own copy); NUL and 0x80 count as the same byte (Dovecot stores
//! NUL as 0x80); with `--deep`, a copy whose `BODY[]` differs is read
//! again as `BINARY[]` where offered (Dovecot re-encodes binary parts).

use super::client::ImapSession;
use super::core::identity::decoded_hash;
use super::core::matching::fold_hash;
use super::error::ImapError;
use crate::dest::{DestRef, Extra, Presence};
use crate::model::{ContentHash, DoneCopy};
use std::collections::{HashMap, HashSet};

/// Checks `refs` in the mailbox the control connection has open: by UID
/// when the journal has one under the current UIDVALIDITY, else by content
/// (servers without UIDPLUS, or a mailbox recreated since). With `deep`,
/// every message found is fetched and its content compared (NUL and 0x80
/// folded together: Dovecot stores NUL as 0x80).
pub(super) fn verify_in_selected(
    c: &mut ImapSession,
    uid_validity: Option<u32>,
    refs: &[(DestRef, ContentHash)],
    deep: bool,
) -> Result<Vec<Presence>, ImapError> {
    let on_server: HashMap<u32, u64> = c.uid_sizes_from(1)?.into_iter().collect();
    let mut out = vec![Presence::Missing; refs.len()];
    let mut by_uid: Vec<(usize, u32)> = Vec::new();
    let mut by_content: Vec<usize> = Vec::new();
    for (i, (r, _)) in refs.iter().enumerate() {
        match (r.uid, r.uid_validity) {
            (Some(uid), Some(v)) if Some(v) == uid_validity => {
                if on_server.contains_key(&uid) {
                    by_uid.push((i, uid));
                }
            }
            _ => by_content.push(i),
        }
    }
    if deep && !by_uid.is_empty() {
        let mut at: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, uid) in &by_uid {
            at.entry(*uid).or_default().push(*i);
        }
        let uids: Vec<u32> = at.keys().copied().collect();
        // Bodies are compared as they come and dropped.
        let mut read: HashSet<u32> = HashSet::new();
        c.uid_bodies_each(&uids, &mut |uid, body| {
            read.insert(uid);
            for &i in at.get(&uid).into_iter().flatten() {
                out[i] = if same_content(body, &refs[i].1) {
                    Presence::Present
                } else {
                    Presence::Differs
                };
            }
        })?;
        // What a faithful server would store is what was sent: a server
        // that re-encodes (Dovecot stores a binary part sent as literal8 as
        // base64) gives it back with BINARY.PEEK[], so a copy that differs
        // in BODY[] is compared once more that way.
        let differ: Vec<u32> = at
            .iter()
            .filter(|(_, is)| is.iter().any(|&i| out[i] == Presence::Differs))
            .map(|(u, _)| *u)
            .collect();
        if !differ.is_empty() && c.capabilities().binary {
            c.uid_binaries_each(&differ, &mut |uid, body| {
                for &i in at.get(&uid).into_iter().flatten() {
                    if same_content(body, &refs[i].1) {
                        out[i] = Presence::Present;
                    }
                }
            })?;
        }
        // Listed by UID but no body came back in a form the parser takes
        // (Cyrus answers BODY[] of a message with NUL as a literal8): it is
        // there; its content is not compared.
        for uid in uids.iter().filter(|u| !read.contains(u)) {
            tracing::warn!(
                "UID {uid}: the server's BODY[] could not be read; content not compared"
            );
            for &i in at.get(uid).into_iter().flatten() {
                out[i] = Presence::Present;
            }
        }
    } else {
        for (i, _) in by_uid {
            out[i] = Presence::Present;
        }
    }
    if !by_content.is_empty() {
        let mut uids: Vec<u32> = on_server.keys().copied().collect();
        uids.sort_unstable();
        // Only the hashes are kept (a body with 0x80 also as read with
        // 0x80 as NUL, see same_content).
        let mut hashes: Vec<(u32, ContentHash, Option<ContentHash>)> = Vec::new();
        c.uid_bodies_each(&uids, &mut |uid, body| {
            let unfolded = body.contains(&0x80).then(|| {
                let v: Vec<u8> = body
                    .iter()
                    .map(|&b| if b == 0x80 { 0 } else { b })
                    .collect();
                ContentHash::of(&v)
            });
            hashes.push((uid, ContentHash::of(body), unfolded));
        })?;
        hashes.sort_by_key(|(u, _, _)| *u);
        let mut taken: HashSet<u32> = HashSet::new();
        for i in by_content {
            let want = &refs[i].1;
            if let Some((uid, _, _)) = hashes
                .iter()
                .find(|(u, h, h2)| !taken.contains(u) && (h == want || h2.as_ref() == Some(want)))
            {
                taken.insert(*uid);
                out[i] = Presence::Present;
            }
        }
    }
    Ok(out)
}

/// The messages of the mailbox the control connection has open that no
/// row of `journaled` accounts for: by UID under UIDVALIDITY
/// `uid_validity`, and a row without one (no UIDPLUS, or recorded under
/// another UIDVALIDITY) takes the first copy of its content. An extra
/// whose bytes (NUL read as 0x80) or decoded content equal a row's copy is
/// that row's duplicate. Bodies are hashed as they come and dropped; the
/// journaled copies are read only when an extra is not matched by bytes.
pub(super) fn extras_in_selected(
    c: &mut ImapSession,
    uid_validity: Option<u32>,
    journaled: &[DoneCopy],
) -> Result<Vec<Extra>, ImapError> {
    let on_server: Vec<u32> = c.uid_sizes_from(1)?.into_iter().map(|(u, _)| u).collect();
    let mut by_uid: HashMap<u32, usize> = HashMap::new();
    let mut uidless: Vec<usize> = Vec::new();
    for (i, r) in journaled.iter().enumerate() {
        match r.uid {
            Some(u) if r.uid_validity == uid_validity => {
                by_uid.entry(u).or_insert(i);
            }
            _ => uidless.push(i),
        }
    }
    let others: Vec<u32> = on_server
        .iter()
        .copied()
        .filter(|u| !by_uid.contains_key(u))
        .collect();
    if others.is_empty() {
        return Ok(Vec::new());
    }
    let mut seen: Vec<(u32, [u8; 32], [u8; 32])> = Vec::new();
    c.uid_bodies_each(&others, &mut |uid, body| {
        seen.push((uid, fold_hash(body), decoded_hash(body)));
    })?;
    seen.sort_by_key(|s| s.0);
    // Rows without a UID take the first copy of their content.
    let mut taken: HashSet<u32> = HashSet::new();
    for &i in &uidless {
        let h = journaled[i].hash.0;
        if let Some(s) = seen.iter().find(|s| !taken.contains(&s.0) && s.1 == h) {
            taken.insert(s.0);
        }
    }
    let mut by_hash: HashMap<[u8; 32], usize> = HashMap::new();
    for (i, r) in journaled.iter().enumerate() {
        by_hash.entry(r.hash.0).or_insert(i);
    }
    let extras: Vec<&(u32, [u8; 32], [u8; 32])> =
        seen.iter().filter(|s| !taken.contains(&s.0)).collect();
    // Decoded content of the journaled copies, only when needed.
    let mut by_decoded: HashMap<[u8; 32], usize> = HashMap::new();
    if extras.iter().any(|s| !by_hash.contains_key(&s.1)) {
        let uids: Vec<u32> = by_uid.keys().copied().collect();
        c.uid_bodies_each(&uids, &mut |uid, body| {
            if let Some(&i) = by_uid.get(&uid) {
                by_decoded.entry(decoded_hash(body)).or_insert(i);
            }
        })?;
    }
    Ok(extras
        .into_iter()
        .map(|s| Extra {
            uid: Some(s.0),
            duplicate_of: by_hash.get(&s.1).or_else(|| by_decoded.get(&s.2)).copied(),
        })
        .collect())
}

/// True when `body` (as the server returns it) is what was sent with hash
/// `sent`. Dovecot returns every NUL byte as 0x80, so a body with 0x80 is
/// also tried with 0x80 read back as NUL.
fn same_content(body: &[u8], sent: &ContentHash) -> bool {
    if ContentHash::of(body) == *sent {
        return true;
    }
    // `--tag-messages` put its header first: compare what it was added to.
    if let Some(rest) = super::core::identity::untagged(body) {
        return same_content(rest, sent);
    }
    body.contains(&0x80) && {
        let unfolded: Vec<u8> = body
            .iter()
            .map(|&b| if b == 0x80 { 0 } else { b })
            .collect();
        ContentHash::of(&unfolded) == *sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_matches_with_nul_read_back_as_0x80() {
        let sent = b"a\0b\r\n";
        let h = ContentHash::of(sent);
        assert!(same_content(sent, &h));
        assert!(same_content(b"a\x80b\r\n", &h), "Dovecot's copy");
        assert!(!same_content(b"ab\r\n", &h));
        assert!(!same_content(b"a\x80c\r\n", &h));
    }
}
