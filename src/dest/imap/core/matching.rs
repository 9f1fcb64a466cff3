//! Which copy on the server is which message, decided from what a check
//! read there ([`Seen`]) and what is known of other items' copies
//! ([`Known`]); [`super::super::reconcile`] does the reading.
//!
//! The candidates are the messages with a UID at or above each want's
//! lower bound (UIDNEXT from STATUS, raised by every APPENDUID seen since;
//! UID 1 when the mailbox was recreated since), matched by content: the
//! BLAKE3 hash with NUL and 0x80 folded together ([`fold_hash`]; Dovecot
//! stores NUL as 0x80).
//!
//! A message a server may store re-encoded (a binary part sent as a BINARY
//! literal: Dovecot stores it as base64) is also matched by its decoded
//! content ([`super::identity::decoded_hash`]) when no copy has its bytes.
//!
//! Byte-identical messages ("twins": the same mail in a folder twice) make
//! a content match ambiguous, so what is known about the mailbox counts:
//! UIDs known to hold other items are never given to a want; copies of
//! other items whose UID is unknown (no UIDPLUS) are subtracted per hash;
//! copies that may or may not be there (in flight on another connection,
//! in doubt) make a match impossible to decide. Per want:
//!
//! - no copy of its content at or above its lower bound → **absent**;
//! - more free copies there than other items' copies of unknown UID, and
//!   none in flight or in doubt → **present** (the lowest free UID);
//! - every copy counted from the lowest UID those other copies can have
//!   belongs to them → **absent**;
//! - otherwise → **unknown**: not sent again, left for a later check.
//!
//! A server that rewrites what it stores never matches by content. When no
//! copy of a want's content exists at all and it has a Message-ID, the
//! `UID SEARCH HEADER Message-ID` hits in its range decide, with a
//! plausibility check of RFC822.SIZE (half to twice the size sent, + 64
//! KiB) and INTERNALDATE (within a day of the date sent): one free hit →
//! present, none → absent, several (or another item with that Message-ID
//! whose UID is unknown) → unknown.
//!
//! Invariant: a UID is given to at most one want, and never to one whose
//! copy it cannot be.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

/// A message being looked for.
#[derive(Clone, Debug)]
pub(crate) struct Want {
    /// [`fold_hash`] of the bytes sent.
    pub hash: [u8; 32],
    /// Bytes sent, when known.
    pub size: Option<u64>,
    /// Lowest UID it can have, under `uid_validity`.
    pub lower: u32,
    /// The UIDVALIDITY `lower` was taken under; when the mailbox now has
    /// another one it was recreated, and the whole mailbox is searched.
    pub uid_validity: Option<u32>,
    /// Message-ID (without `<>`), for servers that rewrite messages.
    pub message_id: Option<String>,
    /// INTERNALDATE sent (Unix seconds).
    pub internal_date: Option<i64>,
    /// [`super::identity::decoded_hash`] of the bytes sent, for a message
    /// a server may store re-encoded: a copy with this decoded content is
    /// a copy of it when none has its bytes.
    pub decoded: Option<[u8; 32]>,
    /// [`super::identity::header_fingerprint`] of a message without a
    /// Message-ID: what finds it on a server that rewrote its bytes.
    pub fingerprint: Option<[u8; 32]>,
}

/// Copies per content hash and per Message-ID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    by_hash: HashMap<[u8; 32], usize>,
    by_mid: HashMap<String, usize>,
}

impl Tally {
    /// One more copy.
    pub fn add(&mut self, hash: [u8; 32], message_id: Option<&str>) {
        *self.by_hash.entry(hash).or_default() += 1;
        if let Some(m) = message_id {
            *self.by_mid.entry(m.to_string()).or_default() += 1;
        }
    }

    /// One copy less.
    pub fn remove(&mut self, hash: [u8; 32], message_id: Option<&str>) {
        if let Some(n) = self.by_hash.get_mut(&hash) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_hash.remove(&hash);
            }
        }
        if let Some(m) = message_id {
            if let Some(n) = self.by_mid.get_mut(m) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.by_mid.remove(m);
                }
            }
        }
    }

    /// No copy at all.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Copies with this content.
    pub fn hash(&self, h: &[u8; 32]) -> usize {
        self.by_hash.get(h).copied().unwrap_or(0)
    }

    /// Copies with this Message-ID.
    pub fn message_id(&self, m: &str) -> usize {
        self.by_mid.get(m).copied().unwrap_or(0)
    }

    /// Adds all of `other`.
    pub fn extend(&mut self, other: &Tally) {
        for (h, n) in &other.by_hash {
            *self.by_hash.entry(*h).or_default() += n;
        }
        for (m, n) in &other.by_mid {
            *self.by_mid.entry(m.clone()).or_default() += n;
        }
    }

    /// True when `want` shares its content or Message-ID with a copy here.
    pub fn touches(&self, want: &Want) -> bool {
        self.hash(&want.hash) > 0
            || want
                .message_id
                .as_deref()
                .is_some_and(|m| self.message_id(m) > 0)
    }
}

/// What is known about the copies of other items in the mailbox, taken
/// after the server was read (so that a copy seen there is either known
/// here or still counted as in flight).
#[derive(Clone, Debug, Default)]
pub(crate) struct Known {
    /// UIDs (under the current UIDVALIDITY) that hold other items.
    pub exclude: HashSet<u32>,
    /// Copies certainly in the mailbox whose UID is unknown (delivered
    /// without UIDPLUS), all at or above the `floor` given to
    /// [`match_wants`].
    pub sure: Tally,
    /// Copies that may or may not be in the mailbox (in flight on another
    /// connection, in doubt, or journaled under another UIDVALIDITY).
    pub maybe: Tally,
}

/// The answer for one want.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// There, at this UID.
    Present(u32),
    /// Certainly not there.
    Absent,
    /// Cannot tell, and why.
    Unknown(String),
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

/// What a check read from the server.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// UIDs at or above the lowest fetched UID, by content hash, ascending.
    pub copies: HashMap<[u8; 32], Vec<u32>>,
    /// The same UIDs by [`super::identity::decoded_hash`] (read only when a
    /// want has a decoded hash), ascending.
    pub decoded: HashMap<[u8; 32], Vec<u32>>,
    /// The same UIDs by [`super::identity::header_fingerprint`] (of copies
    /// without a Message-ID), ascending.
    pub prints: HashMap<[u8; 32], Vec<u32>>,
    /// Per want (by index): UIDs whose Message-ID header matches, or for a
    /// want without one whose header fingerprint does (only for wants with
    /// no copy of their content at all).
    pub hits: HashMap<usize, Vec<u32>>,
    /// RFC822.SIZE and INTERNALDATE of the hits.
    pub facts: HashMap<u32, (u64, Option<i64>)>,
}

impl Seen {
    /// A copy the check read at `uid`: by its bytes and, with `decoded`, by
    /// its decoded content (see [`wants_decoded`]).
    pub fn add_copy(&mut self, uid: u32, body: &[u8], decoded: bool) {
        self.copies.entry(fold_hash(body)).or_default().push(uid);
        if decoded {
            let d = super::identity::decoded_hash(body);
            self.decoded.entry(d).or_default().push(uid);
        }
        if super::identity::message_id(body).is_none() {
            if let Some(fp) = super::identity::header_fingerprint(body) {
                self.prints.entry(fp).or_default().push(uid);
            }
        }
    }

    /// The UIDs at or above `lower` whose header fingerprint is `w`'s (a
    /// want without a Message-ID), for the hits of [`Self::hits`].
    pub fn print_hits(&self, w: &Want, lower: u32) -> Option<Vec<u32>> {
        if w.message_id.is_some() {
            return None;
        }
        let fp = w.fingerprint?;
        Some(
            self.prints
                .get(&fp)
                .map(|v| v.iter().copied().filter(|u| *u >= lower).collect())
                .unwrap_or_default(),
        )
    }

    /// Every UID list ascending (after the last [`Self::add_copy`]).
    pub fn sort(&mut self) {
        for v in self
            .copies
            .values_mut()
            .chain(self.decoded.values_mut())
            .chain(self.prints.values_mut())
        {
            v.sort_unstable();
            v.dedup();
        }
    }

    /// True when `w` has a copy of its bytes or of its decoded content.
    pub fn has_copy(&self, w: &Want) -> bool {
        self.copies.contains_key(&w.hash)
            || w.decoded.is_some_and(|d| self.decoded.contains_key(&d))
    }
}

/// True when some want may be stored re-encoded: the check must read the
/// decoded content of every candidate, whatever its size.
pub(crate) fn wants_decoded(wants: &[Want]) -> bool {
    wants.iter().any(|w| w.decoded.is_some())
}

/// Where a check of some wants reads in a mailbox, and how it decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Search {
    /// The lowest UID each want can have (1 for a want recorded under
    /// another UIDVALIDITY: the mailbox was recreated since).
    pub lowers: Vec<u32>,
    /// The lowest UID to read.
    pub from: u32,
    /// The lowest UID a copy in [`Known::sure`] can have, when the read
    /// covers it.
    pub floor: Option<u32>,
}

impl Search {
    /// The search for `wants` in a mailbox whose UIDVALIDITY is `uv`;
    /// `floor` as for [`match_wants`] (`None`: no copy of unknown UID is
    /// expected).
    pub fn new(wants: &[Want], uv: Option<u32>, floor: Option<u32>) -> Search {
        let lowers: Vec<u32> = wants
            .iter()
            .map(|w| {
                if w.uid_validity.is_some() && w.uid_validity != uv {
                    1
                } else {
                    w.lower.max(1)
                }
            })
            .collect();
        let mut from = lowers.iter().copied().min().unwrap_or(1);
        if let Some(f) = floor {
            from = from.min(f.max(1));
        }
        Search {
            lowers,
            from,
            floor: floor.filter(|f| from <= *f),
        }
    }

    /// One answer per want (see [`match_wants`]).
    pub fn decide(&self, wants: &[Want], seen: &Seen, known: &Known, now: i64) -> Vec<Found> {
        match_wants(wants, &self.lowers, seen, self.floor, known, now)
    }
}

/// RFC822.SIZE and INTERNALDATE close enough to what was sent (servers
/// that rewrite add headers or re-encode; some shift the date's zone).
/// `now` is the current Unix time: the date sent was clamped to 1970 … now.
fn plausible(w: &Want, fact: Option<&(u64, Option<i64>)>, now: i64) -> bool {
    let Some((size, date)) = fact else {
        return false;
    };
    let size_ok = w
        .size
        .is_none_or(|s| *size >= s / 2 && *size <= s.saturating_mul(2).saturating_add(65_536));
    let date_ok = match (w.internal_date, date) {
        (Some(sent), Some(got)) => (sent.clamp(0, now) - got).abs() <= 86_400,
        _ => true,
    };
    size_ok && date_ok
}

/// One answer per want, from what the server showed and what is known
/// (see the module header): `lowers` from [`Search`], `floor` the
/// lowest UID a copy in [`Known::sure`] can have when the check counted
/// from there, `now` the current Unix time. Wants with a higher lower
/// bound choose first.
pub(crate) fn match_wants(
    wants: &[Want],
    lowers: &[u32],
    seen: &Seen,
    floor: Option<u32>,
    known: &Known,
    now: i64,
) -> Vec<Found> {
    let mut out = vec![Found::Absent; wants.len()];
    let mut taken: HashSet<u32> = HashSet::new();
    let mut order: Vec<usize> = (0..wants.len()).collect();
    order.sort_by_key(|&i| (Reverse(lowers[i]), i));
    let mut by_mid = Vec::new();
    for &i in &order {
        let w = &wants[i];
        let copies = seen.copies.get(&w.hash).or_else(|| {
            // Stored re-encoded (binary parts as base64): by decoded content.
            w.decoded.and_then(|d| seen.decoded.get(&d))
        });
        match copies {
            Some(copies) => {
                out[i] = by_content(&wants[i], lowers[i], copies, floor, known, &mut taken)
            }
            None => by_mid.push(i),
        }
    }
    // No copy of its content anywhere: a server that rewrites messages?
    let mut message_ids: HashMap<&str, usize> = HashMap::new();
    let mut prints: HashMap<[u8; 32], usize> = HashMap::new();
    for &i in &by_mid {
        if let Some(m) = wants[i].message_id.as_deref() {
            *message_ids.entry(m).or_default() += 1;
        } else if let Some(fp) = wants[i].fingerprint {
            *prints.entry(fp).or_default() += 1;
        }
    }
    for i in by_mid {
        let w = &wants[i];
        if w.message_id.is_none() {
            // No Message-ID: the header fingerprint, as for one.
            let (Some(fp), Some(hits)) = (w.fingerprint, seen.hits.get(&i)) else {
                continue; // absent
            };
            let hits: Vec<u32> = hits
                .iter()
                .copied()
                .filter(|u| {
                    *u >= lowers[i]
                        && !known.exclude.contains(u)
                        && !taken.contains(u)
                        && plausible(w, seen.facts.get(u), now)
                })
                .collect();
            let namesakes = prints.get(&fp).copied().unwrap_or(0);
            out[i] = by_fingerprint(&hits, namesakes, known, &mut taken);
            continue;
        }
        let (Some(message_id), Some(hits)) = (w.message_id.as_deref(), seen.hits.get(&i)) else {
            continue; // absent
        };
        let hits: Vec<u32> = hits
            .iter()
            .copied()
            .filter(|u| {
                *u >= lowers[i]
                    && !known.exclude.contains(u)
                    && !taken.contains(u)
                    && plausible(w, seen.facts.get(u), now)
            })
            .collect();
        let namesakes = message_ids.get(message_id).copied().unwrap_or(0);
        out[i] = by_message_id(message_id, &hits, namesakes, known, &mut taken);
    }
    out
}

/// A want with copies of its content at `copies` (ascending).
fn by_content(
    w: &Want,
    lower: u32,
    copies: &[u32],
    floor: Option<u32>,
    known: &Known,
    taken: &mut HashSet<u32>,
) -> Found {
    let free = |u: &u32| !known.exclude.contains(u) && !taken.contains(u);
    let avail: Vec<u32> = copies
        .iter()
        .copied()
        .filter(|u| *u >= lower && free(u))
        .collect();
    let (sure, maybe) = (known.sure.hash(&w.hash), known.maybe.hash(&w.hash));
    if avail.is_empty() {
        Found::Absent
    } else if maybe == 0 && avail.len() > sure {
        taken.insert(avail[0]);
        Found::Present(avail[0])
    } else if floor.is_some_and(|f| copies.iter().filter(|u| **u >= f && free(u)).count() <= sure) {
        // Every copy is another item's.
        Found::Absent
    } else if maybe > 0 {
        Found::Unknown(format!(
            "{} byte-identical message(s) in flight or in doubt may be any of the {} found",
            maybe,
            avail.len()
        ))
    } else {
        Found::Unknown(format!(
            "{} byte-identical message(s) without a known UID may be any of the {} found",
            sure,
            avail.len()
        ))
    }
}

/// A want without a Message-ID found nowhere by content: `hits` are the
/// free, plausible UIDs with its header fingerprint; `namesakes` the wants
/// of this check with the same fingerprint (itself included). Any copy
/// whose UID is not known (in flight, in doubt, without a UID) may be one
/// of the hits (fingerprints are not counted there), so then it cannot
/// tell.
fn by_fingerprint(
    hits: &[u32],
    namesakes: usize,
    known: &Known,
    taken: &mut HashSet<u32>,
) -> Found {
    if hits.is_empty() {
        Found::Absent
    } else if namesakes > 1 || !known.sure.is_empty() || !known.maybe.is_empty() {
        Found::Unknown(
            "not found by content; another message with its Date, From and Subject may be the copy"
                .into(),
        )
    } else if hits.len() == 1 {
        taken.insert(hits[0]);
        Found::Present(hits[0])
    } else {
        Found::Unknown(format!(
            "not found by content; {} messages have its Date, From, Subject and Received",
            hits.len()
        ))
    }
}

/// A want found nowhere by content, with Message-ID `message_id`: `hits` are the
/// free, plausible UIDs with that header; `namesakes` the wants of this
/// check with the same Message-ID (itself included).
fn by_message_id(
    message_id: &str,
    hits: &[u32],
    namesakes: usize,
    known: &Known,
    taken: &mut HashSet<u32>,
) -> Found {
    if hits.is_empty() {
        Found::Absent
    } else if known.sure.message_id(message_id) + known.maybe.message_id(message_id) > 0
        || namesakes > 1
    {
        Found::Unknown(format!(
            "not found by content; another message with Message-ID <{message_id}> has no known UID"
        ))
    } else if hits.len() == 1 {
        taken.insert(hits[0]);
        Found::Present(hits[0])
    } else {
        Found::Unknown(format!(
            "not found by content; {} messages have its Message-ID <{message_id}>",
            hits.len()
        ))
    }
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

    /// The test's "now" (2033), after every date used here.
    const NOW: i64 = 2_000_000_000;

    const T: [u8; 32] = [7; 32];
    const O: [u8; 32] = [9; 32];

    fn want(hash: [u8; 32], lower: u32) -> Want {
        Want {
            hash,
            size: Some(100),
            lower,
            uid_validity: Some(42),
            message_id: None,
            internal_date: None,
            decoded: None,
            fingerprint: None,
        }
    }

    fn seen(copies: &[([u8; 32], &[u32])]) -> Seen {
        Seen {
            copies: copies.iter().map(|(h, u)| (*h, u.to_vec())).collect(),
            ..Seen::default()
        }
    }

    fn run(wants: &[Want], seen: &Seen, floor: Option<u32>, known: &Known) -> Vec<Found> {
        let lowers: Vec<u32> = wants.iter().map(|w| w.lower).collect();
        match_wants(wants, &lowers, seen, floor, known, NOW)
    }

    #[test]
    fn a_twin_never_takes_a_uid_that_holds_another_item() {
        // Twin 1 is done at UID 1 (journal); twin 2 was pending from UID 1.
        let known = Known {
            exclude: [1].into(),
            ..Known::default()
        };
        let w = [want(T, 1)];
        assert_eq!(run(&w, &seen(&[(T, &[1])]), None, &known), [Found::Absent]);
        assert_eq!(
            run(&w, &seen(&[(T, &[1, 2])]), None, &known),
            [Found::Present(2)]
        );
    }

    #[test]
    fn twins_without_uids_are_counted() {
        // No UIDPLUS: twin 1 arrived (UID unknown), twin 2 is in doubt.
        let mut sure = Tally::default();
        sure.add(T, None);
        let known = Known {
            sure,
            ..Known::default()
        };
        let w = [want(T, 1)];
        // One copy: twin 1's. Counted from the floor, twin 2 is absent.
        assert_eq!(
            run(&w, &seen(&[(T, &[1])]), Some(1), &known),
            [Found::Absent]
        );
        // Without a count that covers twin 1's copy: cannot tell.
        assert!(matches!(
            run(&w, &seen(&[(T, &[1])]), None, &known)[0],
            Found::Unknown(_)
        ));
        // Two copies: one is twin 2's.
        assert_eq!(
            run(&w, &seen(&[(T, &[1, 2])]), Some(1), &known),
            [Found::Present(1)]
        );
        // A copy below the floor (from before this run) is not counted.
        assert!(matches!(
            run(&[want(T, 5)], &seen(&[(T, &[2, 6])]), Some(5), &known)[0],
            Found::Absent
        ));
        assert!(matches!(
            run(&[want(T, 5)], &seen(&[(T, &[2, 6, 7])]), Some(5), &known)[0],
            Found::Present(6)
        ));
    }

    #[test]
    fn a_twin_in_flight_elsewhere_makes_it_unknown() {
        let mut maybe = Tally::default();
        maybe.add(T, None);
        let known = Known {
            maybe,
            ..Known::default()
        };
        let w = [want(T, 3), want(O, 3)];
        let got = run(&w, &seen(&[(T, &[3, 4]), (O, &[5])]), Some(3), &known);
        assert!(matches!(got[0], Found::Unknown(_)), "{got:?}");
        assert_eq!(got[1], Found::Present(5), "other content is unaffected");
        // Nothing in range: certainly absent.
        assert_eq!(
            run(&w[..1], &seen(&[(T, &[1])]), Some(3), &known),
            [Found::Absent]
        );
    }

    #[test]
    fn twins_in_doubt_together_share_the_copies() {
        let w = [want(T, 1), want(T, 1), want(T, 1)];
        let got = run(&w, &seen(&[(T, &[4, 9])]), None, &Known::default());
        assert_eq!(got, [Found::Present(4), Found::Present(9), Found::Absent]);
        // A higher lower bound chooses first.
        let w = [want(T, 1), want(T, 5)];
        let got = run(&w, &seen(&[(T, &[4, 9])]), None, &Known::default());
        assert_eq!(got, [Found::Present(4), Found::Present(9)]);
    }

    #[test]
    fn message_id_fallback_for_rewritten_messages() {
        let w = |message_id: &str| Want {
            message_id: Some(message_id.into()),
            internal_date: Some(1_500_000_000),
            ..want(T, 1)
        };
        let mut s = seen(&[(O, &[1])]);
        s.hits.insert(0, vec![2]);
        s.facts.insert(2, (130, Some(1_500_000_000)));
        assert_eq!(
            run(&[w("a@x")], &s, None, &Known::default()),
            [Found::Present(2)]
        );
        // Implausible size or date: not it.
        s.facts.insert(2, (10_000_000, Some(1_500_000_000)));
        assert_eq!(
            run(&[w("a@x")], &s, None, &Known::default()),
            [Found::Absent]
        );
        s.facts.insert(2, (130, Some(1_400_000_000)));
        assert_eq!(
            run(&[w("a@x")], &s, None, &Known::default()),
            [Found::Absent]
        );
        // Several hits: cannot tell.
        s.facts.insert(2, (130, Some(1_500_000_000)));
        s.hits.insert(0, vec![2, 3]);
        s.facts.insert(3, (140, Some(1_500_000_010)));
        assert!(matches!(
            run(&[w("a@x")], &s, None, &Known::default())[0],
            Found::Unknown(_)
        ));
        // A hit that holds another item is not a hit.
        let known = Known {
            exclude: [3].into(),
            ..Known::default()
        };
        assert_eq!(run(&[w("a@x")], &s, None, &known), [Found::Present(2)]);
        // Another item with that Message-ID and no UID: cannot tell.
        let mut sure = Tally::default();
        sure.add(O, Some("a@x"));
        let known = Known {
            exclude: [3].into(),
            sure,
            ..Known::default()
        };
        assert!(matches!(
            run(&[w("a@x")], &s, None, &known)[0],
            Found::Unknown(_)
        ));
        // No Message-ID but a fingerprint: one plausible hit decides.
        let fp = Want {
            fingerprint: Some([5; 32]),
            internal_date: Some(1_500_000_000),
            ..want(T, 1)
        };
        let mut s2 = seen(&[(O, &[1])]);
        s2.hits.insert(0, vec![2]);
        s2.facts.insert(2, (130, Some(1_500_000_000)));
        assert_eq!(
            run(std::slice::from_ref(&fp), &s2, None, &Known::default()),
            [Found::Present(2)]
        );
        // Something in flight elsewhere may be the hit: cannot tell.
        let mut maybe = Tally::default();
        maybe.add(O, None);
        let busy = Known {
            maybe,
            ..Known::default()
        };
        assert!(matches!(
            run(std::slice::from_ref(&fp), &s2, None, &busy)[0],
            Found::Unknown(_)
        ));
        // Two wants with that fingerprint: cannot tell which.
        assert!(matches!(
            run(&[fp.clone(), fp.clone()], &s2, None, &Known::default())[0],
            Found::Unknown(_)
        ));
        // No Message-ID, or no hit: absent.
        assert_eq!(
            run(&[want(T, 1)], &s, None, &Known::default()),
            [Found::Absent]
        );
    }
}
