//! `verify` on the IMAP target: are the messages the journal says arrived
//! in a mailbox, and (deep) with the content that was sent? By UID where
//! the journal has one under the mailbox's current UIDVALIDITY, else by
//! content. Bodies are compared or hashed as they come and dropped.
//!
//! Invariant: a copy on the server answers for at most one journaled
//! message when matched by content (byte-identical messages each need
//! their own copy); NUL and 0x80 count as the same byte (Dovecot stores
//! NUL as 0x80); with `--deep`, a copy whose `BODY[]` differs is read
//! again as `BINARY[]` where offered (Dovecot re-encodes binary parts).

use super::client::ImapSession;
use super::error::ImapError;
use crate::dest::{DestRef, Presence};
use crate::model::ContentHash;
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
        c.uid_bodies_each(&uids, &mut |uid, body| {
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

/// True when `body` (as the server returns it) is what was sent with hash
/// `sent`. Dovecot returns every NUL byte as 0x80, so a body with 0x80 is
/// also tried with 0x80 read back as NUL.
fn same_content(body: &[u8], sent: &ContentHash) -> bool {
    if ContentHash::of(body) == *sent {
        return true;
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
