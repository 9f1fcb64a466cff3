//! `verify --no-journal` on the IMAP target: which source messages a
//! mailbox filled by any tool holds, matched by content without a journal.
//!
//! The mailbox is listed once, in chunks: `UID SEARCH ALL`, then `UID
//! FETCH (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])` 500 UIDs
//! at a time, into a compact index ([`Listed`], sorted by Message-ID hash
//! and size). A source message whose (Message-ID, size) is unique among
//! the messages sought and has exactly one free copy there is present
//! without reading a body. Only the rest (several candidates with that
//! Message-ID, no Message-ID, or a size the server changed) are decided by
//! their bytes: the candidates' bodies are fetched, hashed and dropped, and
//! compared by [`fold_hash`] (NUL read as 0x80), then by
//! [`identity::decoded_hash`] (re-encoded parts), then by the same body
//! and every header line of the source among the copy's (a tool added
//! header fields: mbsync's `X-TUID`, a provider's trace fields), then, when
//! it is the
//! only copy either side could mean, by Message-ID or
//! [`identity::header_fingerprint`] (a server that rewrote the message).
//!
//! Memory per message on the target: one [`Listed`] (32 bytes) and a UID
//! in the list of the mailbox (4 bytes); per message sought: its size and
//! Message-ID (~100 bytes), and for an ambiguous one its hashes (~140
//! bytes, and 8 per header line) and those of its candidates. No body is
//! kept.
//!
//! Invariant: a UID answers for at most one source message (those `taken`
//! by other folders of the same mailbox never).

use super::client::{uid_set, ImapSession};
use super::core::identity;
use super::core::matching::fold_hash;
use super::error::ImapError;
use crate::dest::{ContentFound, Sought};
use imap_next::imap_types::{
    core::{AString, Vec1},
    fetch::{MessageDataItem, MessageDataItemName, Section},
    search::SearchKey,
};
use io_imap::client::ImapClient;
use io_imap::rfc3501::search::ImapMessageSearchOptions;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;

/// A Message-ID, hashed (16 bytes of BLAKE3 of the value without `<>`).
type MidKey = [u8; 16];

/// UIDs per `UID FETCH` of the listing.
const LIST_CHUNK: usize = 500;

/// White space runs count as one space (the header parsers differ there).
fn mid_key(mid: &str) -> MidKey {
    let v = mid.trim().trim_start_matches('<').trim_end_matches('>');
    let v: Vec<&str> = v.split_whitespace().collect();
    let h = blake3::hash(v.join(" ").as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&h.as_bytes()[..16]);
    k
}

/// One message of the mailbox as listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Listed {
    mid: Option<MidKey>,
    size: u64,
    uid: u32,
}

/// What identifies a body beyond its size and Message-ID.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hashes {
    fold: [u8; 32],
    decoded: [u8; 32],
    print: Option<[u8; 32]>,
    /// [`fold_hash`] of the body alone.
    body: [u8; 32],
    /// A hash of each line of the header block, sorted.
    lines: Vec<u64>,
    /// Its Message-ID, as the header has it.
    mid: Option<MidKey>,
}

impl Hashes {
    fn of(body: &[u8]) -> Hashes {
        // `--tag-messages` put its header first: compare what it was added to.
        let body = identity::untagged(body).unwrap_or(body);
        Hashes {
            fold: fold_hash(body),
            decoded: identity::decoded_hash(body),
            print: identity::header_fingerprint(body),
            body: fold_hash(identity::header_and_body(body).1),
            lines: header_lines(body),
            mid: identity::message_id(body).map(|m| mid_key(&m)),
        }
    }
}

/// A hash of each line of the header block of `body`, sorted.
fn header_lines(body: &[u8]) -> Vec<u64> {
    let (head, _) = identity::header_and_body(body);
    let mut v: Vec<u64> = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut k = [0u8; 8];
            k.copy_from_slice(&fold_hash(l)[..8]);
            u64::from_le_bytes(k)
        })
        .collect();
    v.sort_unstable();
    v
}

/// True when every header line of `a` is one of `b`'s, and `b` has more:
/// `b` is `a` with header fields added.
fn has_fields_added(a: &Hashes, b: &Hashes) -> bool {
    a.body == b.body
        && a.lines.len() < b.lines.len()
        && a.lines.iter().all(|l| b.lines.binary_search(l).is_ok())
}

/// Finds `sought` in the mailbox the control connection has open (see the
/// module header). `bytes(i)` gives the prepared bytes of sought message
/// `i` again (only asked for ambiguous ones; `None`: unreadable).
pub(super) fn find_in_selected(
    c: &mut ImapSession,
    sought: &[Sought],
    taken: &HashSet<u32>,
    bytes: &mut dyn FnMut(usize) -> Option<Vec<u8>>,
) -> Result<ContentFound, ImapError> {
    let (mut index, on_target) = list(c)?;
    index.sort_unstable();
    let keys: Vec<(u64, Option<MidKey>)> = sought
        .iter()
        .map(|s| (s.size, s.message_id.as_deref().map(mid_key)))
        .collect();
    let mut m = Matcher::new(&index, taken);
    let ambiguous = m.cheap(&keys);
    if !ambiguous.is_empty() {
        let mut uids: Vec<u32> = ambiguous
            .iter()
            .flat_map(|&i| m.candidates(keys[i]))
            .collect();
        uids.sort_unstable();
        uids.dedup();
        let mut seen: HashMap<u32, Hashes> = HashMap::new();
        c.uid_bodies_each(&uids, &mut |uid, body| {
            seen.insert(uid, Hashes::of(body));
        })?;
        let wanted: Vec<(usize, Option<Hashes>)> = ambiguous
            .iter()
            .map(|&i| (i, bytes(i).map(|b| Hashes::of(&b))))
            .collect();
        m.by_bytes(&keys, &wanted, &seen);
    }
    Ok(ContentFound {
        found: m.found,
        altered: m.altered,
        on_target,
    })
}

/// The mailbox's messages: the index and every UID, ascending.
fn list(c: &mut ImapSession) -> Result<(Vec<Listed>, Vec<u32>), ImapError> {
    let criteria = Vec1::from(SearchKey::All);
    let mut uids: Vec<u32> = c
        .io(
            |cl| cl.search(criteria, ImapMessageSearchOptions { uid: true }),
            "UID SEARCH",
            "ALL",
        )?
        .into_iter()
        .map(NonZeroU32::get)
        .collect();
    uids.sort_unstable();
    let field = AString::try_from("MESSAGE-ID")
        .map_err(|e| ImapError::Invalid(format!("MESSAGE-ID: {e}")))?;
    let mut index = Vec::with_capacity(uids.len());
    for chunk in uids.chunks(LIST_CHUNK) {
        let Some(set) = uid_set(chunk)? else {
            continue;
        };
        let items = vec![
            MessageDataItemName::Uid,
            MessageDataItemName::Rfc822Size,
            MessageDataItemName::BodyExt {
                section: Some(Section::HeaderFields(None, Vec1::from(field.clone()))),
                partial: None,
                peek: true,
            },
        ];
        let res = c.uid_fetch(
            set,
            items,
            "RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]",
        )?;
        for (_seq, items) in res {
            let (mut uid, mut size, mut mid) = (None, None, None);
            for it in items.into_iter() {
                match it {
                    MessageDataItem::Uid(u) => uid = Some(u.get()),
                    MessageDataItem::Rfc822Size(n) => size = Some(u64::from(n)),
                    MessageDataItem::BodyExt { data, .. } => {
                        mid = data
                            .0
                            .and_then(|h| identity::message_id(h.as_ref()))
                            .map(|m| mid_key(&m))
                    }
                    _ => {}
                }
            }
            if let (Some(uid), Some(size)) = (uid, size) {
                index.push(Listed { mid, size, uid });
            }
        }
    }
    Ok((index, uids))
}

/// The matching, without I/O: what is found so far and which UIDs are
/// taken.
struct Matcher<'a> {
    /// Sorted by (Message-ID hash, size, UID).
    index: &'a [Listed],
    /// (size, UID), sorted: candidates whose Message-ID was read otherwise.
    by_size: Vec<(u64, u32)>,
    taken: HashSet<u32>,
    found: Vec<Option<u32>>,
    altered: Vec<(usize, String)>,
}

impl<'a> Matcher<'a> {
    fn new(index: &'a [Listed], taken: &HashSet<u32>) -> Matcher<'a> {
        let mut by_size: Vec<(u64, u32)> = index.iter().map(|l| (l.size, l.uid)).collect();
        by_size.sort_unstable();
        Matcher {
            index,
            by_size,
            taken: taken.clone(),
            found: Vec::new(),
            altered: Vec::new(),
        }
    }

    /// The listed messages with Message-ID `mid` and a size in `lo..=hi`.
    fn range(&self, mid: Option<MidKey>, lo: u64, hi: u64) -> &'a [Listed] {
        let a = self.index.partition_point(|l| (l.mid, l.size) < (mid, lo));
        let b = self.index.partition_point(|l| (l.mid, l.size) <= (mid, hi));
        &self.index[a..b.max(a)]
    }

    fn free(&self, uid: u32) -> bool {
        !self.taken.contains(&uid)
    }

    /// Decides what size and Message-ID decide alone; returns the others.
    fn cheap(&mut self, keys: &[(u64, Option<MidKey>)]) -> Vec<usize> {
        self.found = vec![None; keys.len()];
        let mut count: HashMap<(u64, MidKey), u32> = HashMap::new();
        for (s, m) in keys {
            if let Some(m) = m {
                *count.entry((*s, *m)).or_default() += 1;
            }
        }
        let mut ambiguous = Vec::new();
        for (i, &(s, m)) in keys.iter().enumerate() {
            let unique = m.is_some_and(|m| count.get(&(s, m)) == Some(&1));
            let free: Vec<u32> = self
                .range(m, s, s)
                .iter()
                .map(|l| l.uid)
                .filter(|u| self.free(*u))
                .collect();
            if unique && free.len() == 1 {
                self.taken.insert(free[0]);
                self.found[i] = Some(free[0]);
            } else {
                ambiguous.push(i);
            }
        }
        ambiguous
    }

    /// The UIDs whose bytes may tell whether `key` is there: every copy
    /// with its Message-ID (or, for none or none found, a plausible size:
    /// half to twice, + 64 KiB), and every copy of exactly its size.
    fn candidates(&self, (s, m): (u64, Option<MidKey>)) -> Vec<u32> {
        let mut out: Vec<u32> = match m {
            Some(_) => self.range(m, 0, u64::MAX).iter().map(|l| l.uid).collect(),
            None => Vec::new(),
        };
        if out.is_empty() {
            out = self
                .range(None, s / 2, s.saturating_mul(2).saturating_add(64 * 1024))
                .iter()
                .map(|l| l.uid)
                .collect();
        }
        let a = self.by_size.partition_point(|x| x.0 < s);
        let b = self.by_size.partition_point(|x| x.0 <= s);
        out.extend(self.by_size[a..b].iter().map(|x| x.1));
        out.retain(|u| self.free(*u));
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Decides the ambiguous ones by the hashes of their bytes (`wanted`)
    /// and of their candidates' (`seen`): the same bytes first, then the
    /// same decoded content, then the only copy either side can mean.
    fn by_bytes(
        &mut self,
        keys: &[(u64, Option<MidKey>)],
        wanted: &[(usize, Option<Hashes>)],
        seen: &HashMap<u32, Hashes>,
    ) {
        type Pick = fn(&Hashes, &Hashes) -> bool;
        let passes: [(Pick, Option<&str>); 3] = [
            (|a, b| a.fold == b.fold, None),
            (
                |a, b| a.decoded == b.decoded,
                Some("stored re-encoded by the server (same decoded content)"),
            ),
            (
                has_fields_added,
                Some("stored with header fields added (same body and header lines)"),
            ),
        ];
        for (same, note) in passes {
            for (i, h) in wanted {
                let Some(h) = h else { continue };
                if self.found[*i].is_some() {
                    continue;
                }
                let hit = self
                    .candidates(keys[*i])
                    .into_iter()
                    .find(|u| seen.get(u).is_some_and(|c| same(h, c)));
                if let Some(u) = hit {
                    self.take(*i, u, note);
                }
            }
        }
        self.by_identity(keys, wanted, seen);
    }

    /// The last pass: a message still unmatched whose Message-ID (or,
    /// without one, header fingerprint) is that of exactly one free copy,
    /// and of no other unmatched message: the server rewrote its bytes.
    fn by_identity(
        &mut self,
        keys: &[(u64, Option<MidKey>)],
        wanted: &[(usize, Option<Hashes>)],
        seen: &HashMap<u32, Hashes>,
    ) {
        let open: Vec<usize> = wanted
            .iter()
            .map(|(i, _)| *i)
            .filter(|i| self.found[*i].is_none())
            .collect();
        let mut mids: HashMap<MidKey, u32> = HashMap::new();
        let mut prints: HashMap<[u8; 32], u32> = HashMap::new();
        for (i, h) in wanted.iter().filter(|(i, _)| open.contains(i)) {
            match (keys[*i].1, h.as_ref().and_then(|h| h.print)) {
                (Some(m), _) => *mids.entry(m).or_default() += 1,
                (None, Some(p)) => *prints.entry(p).or_default() += 1,
                (None, None) => {}
            }
        }
        for (i, h) in wanted.iter().filter(|(i, _)| open.contains(i)) {
            let cands = self.candidates(keys[*i]);
            let (hits, note): (Vec<u32>, &str) = match (keys[*i].1, h.as_ref().and_then(|h| h.print))
            {
                (Some(m), _) if mids.get(&m) == Some(&1) => (
                    self.range(Some(m), 0, u64::MAX)
                        .iter()
                        .map(|l| l.uid)
                        .filter(|u| self.free(*u))
                        .collect(),
                    "stored with other bytes by the server (matched by Message-ID)",
                ),
                (None, Some(p)) if prints.get(&p) == Some(&1) => (
                    cands
                        .into_iter()
                        .filter(|u| seen.get(u).is_some_and(|c| c.print == Some(p)))
                        .collect(),
                    "stored with other bytes by the server (matched by Date, From, Subject, Received)",
                ),
                _ => continue,
            };
            if let [u] = hits[..] {
                self.take(*i, u, Some(note));
            }
        }
    }

    fn take(&mut self, i: usize, uid: u32, note: Option<&str>) {
        self.taken.insert(uid);
        self.found[i] = Some(uid);
        if let Some(n) = note {
            self.altered.push((i, n.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(uid: u32, size: u64, mid: Option<&str>) -> Listed {
        Listed {
            mid: mid.map(mid_key),
            size,
            uid,
        }
    }

    fn run(
        index: &mut [Listed],
        keys: &[(u64, Option<&str>)],
        bodies: &[(u32, &[u8])],
        sources: &[&[u8]],
    ) -> Vec<Option<u32>> {
        index.sort_unstable();
        let keys: Vec<(u64, Option<MidKey>)> =
            keys.iter().map(|(s, m)| (*s, m.map(mid_key))).collect();
        let mut m = Matcher::new(index, &HashSet::new());
        let amb = m.cheap(&keys);
        let seen: HashMap<u32, Hashes> = bodies.iter().map(|(u, b)| (*u, Hashes::of(b))).collect();
        let wanted: Vec<(usize, Option<Hashes>)> = amb
            .iter()
            .map(|&i| (i, Some(Hashes::of(sources[i]))))
            .collect();
        m.by_bytes(&keys, &wanted, &seen);
        m.found
    }

    #[test]
    fn a_unique_size_and_message_id_needs_no_body() {
        let mut idx = [listed(7, 10, Some("a@x")), listed(8, 20, Some("b@x"))];
        let found = run(
            &mut idx,
            &[(20, Some("<b@x>")), (10, Some("a@x"))],
            &[],
            &[],
        );
        assert_eq!(found, vec![Some(8), Some(7)]);
    }

    #[test]
    fn twins_by_message_id_and_size_are_told_apart_by_bytes() {
        let (a, b): (&[u8], &[u8]) = (
            b"Message-ID: <m@x>\r\n\r\nAAAA\r\n",
            b"Message-ID: <m@x>\r\n\r\nBBBB\r\n",
        );
        let n = a.len() as u64;
        let mut idx = [listed(3, n, Some("m@x"))];
        let keys = [(n, Some("m@x")), (n, Some("m@x"))];
        assert_eq!(
            run(&mut idx, &keys, &[(3, b)], &[a, b]),
            vec![None, Some(3)]
        );
    }

    #[test]
    fn one_copy_answers_for_one_message() {
        let a: &[u8] = b"Subject: s\r\n\r\nsame\r\n";
        let n = a.len() as u64;
        let mut idx = [listed(1, n, None)];
        let found = run(&mut idx, &[(n, None), (n, None)], &[(1, a)], &[a, a]);
        assert_eq!(found, vec![Some(1), None]);
    }

    #[test]
    fn a_copy_with_a_header_field_added_is_that_message() {
        let a: &[u8] = b"Subject: s\r\nMessage-ID: <t@x>\r\n\r\nsame\r\n";
        let b: &[u8] = b"Subject: s\r\nMessage-ID: <t@x>\r\n\r\nother\r\n";
        let stored: &[u8] = b"Subject: s\r\nMessage-ID: <t@x>\r\nX-TUID: abc\r\n\r\nsame\r\n";
        let mut idx = [listed(4, stored.len() as u64, Some("t@x"))];
        let keys = [(b.len() as u64, Some("t@x")), (a.len() as u64, Some("t@x"))];
        assert_eq!(
            run(&mut idx, &keys, &[(4, stored)], &[b, a]),
            vec![None, Some(4)]
        );
    }

    #[test]
    fn a_rewritten_copy_is_found_by_its_message_id_when_unique() {
        let a: &[u8] = b"Subject: s\r\nMessage-ID: <r@x>\r\n\r\nbody\r\n";
        // The server rewrote a header field and the body's line ends.
        let stored: &[u8] = b"Subject: [ext] s\r\nMessage-ID: <r@x>\r\n\r\nbody\n";
        let mut idx = [listed(5, stored.len() as u64, Some("r@x"))];
        let found = run(
            &mut idx,
            &[(a.len() as u64, Some("r@x"))],
            &[(5, stored)],
            &[a],
        );
        assert_eq!(found, vec![Some(5)]);
        // Two messages with that Message-ID and one copy: which is it?
        let found = run(
            &mut idx,
            &[(a.len() as u64, Some("r@x")), (99, Some("r@x"))],
            &[(5, stored)],
            &[a, b"other"],
        );
        assert_eq!(found, vec![None, None]);
    }
}
