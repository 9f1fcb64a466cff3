//! Messages on the server that the journal has no record of: an empty,
//! lost or copied journal, a first run into a mailbox that already holds
//! mail, or the same server reached under another URL. Before a message
//! is appended, it is looked for among them; one found is reported as
//! already present (and its UID claimed), never sent a second time.
//!
//! What identifies a copy, in this order (each copy answers for at most
//! one message, the lowest free UID first):
//! 1. its bytes ([`fold_hash`]: NUL and 0x80 folded, as Dovecot serves
//!    NUL), as prepared or as they went on the wire (NUL stripped);
//! 2. its decoded content ([`decoded_hash`]: binary parts stored as
//!    base64);
//! 3. for a server that rewrites what it stores, its Message-ID, with
//!    RFC822.SIZE and INTERNALDATE plausible (see [`plausible`]);
//! 4. for a message without a Message-ID, the [`header_fingerprint`]
//!    (Date, From, Subject, first Received), with size and date plausible.
//!
//! Invariant: a UID given to a message here is never given to another,
//! and the copies the journal gives to items are not in the index at all
//! (the session leaves them out when it reads the server).

use super::identity::{decoded_hash, header_fingerprint, message_id, untagged};
use super::matching::fold_hash;
use crate::model::MailFlags;

/// One copy on the server that no journal row accounts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerCopy {
    pub uid: u32,
    /// RFC822.SIZE.
    pub size: u64,
    /// INTERNALDATE (Unix seconds).
    pub date: Option<i64>,
    /// Its system flags (None: not read), which the journal records for
    /// the item that adopts it: they are what the next `sync` compares
    /// with the source.
    pub flags: Option<MailFlags>,
    /// [`fold_hash`] of `BODY[]`.
    pub hash: [u8; 32],
    /// [`decoded_hash`] of `BODY[]`.
    pub decoded: [u8; 32],
    /// Its Message-ID header (without `<>`).
    pub message_id: Option<String>,
    /// Its [`header_fingerprint`].
    pub fingerprint: Option<[u8; 32]>,
    /// [`fold_hash`] of `BODY[]` without the `X-Kerio-Migrate-Id` line
    /// `--tag-messages` put first, when it has one.
    pub untagged: Option<[u8; 32]>,
}

impl ServerCopy {
    /// The identities of a copy read from the server.
    pub fn read(uid: u32, size: u64, date: Option<i64>, body: &[u8]) -> ServerCopy {
        ServerCopy {
            uid,
            size,
            date,
            flags: None,
            hash: fold_hash(body),
            decoded: decoded_hash(body),
            message_id: message_id(body),
            fingerprint: header_fingerprint(body),
            untagged: untagged(body).map(fold_hash),
        }
    }
}

/// A message about to be appended, as the index compares it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outgoing<'a> {
    /// The prepared bytes.
    pub bytes: &'a [u8],
    /// Message-ID (without `<>`).
    pub message_id: Option<&'a str>,
    /// INTERNALDATE to be sent (Unix seconds).
    pub date: i64,
}

/// The copies no journal row accounts for, and which of them this run
/// gave to a message.
#[derive(Debug, Default)]
pub(crate) struct Unjournaled {
    copies: Vec<ServerCopy>,
    taken: Vec<bool>,
    /// Messages found among them (not sent).
    pub found: usize,
}

/// RFC822.SIZE and INTERNALDATE close enough to what is sent: half to
/// twice the size (+ 64 KiB: servers add headers or re-encode), the date
/// within a day (some shift zones); `now` clamps the date as sending does.
pub(crate) fn plausible(sent_size: u64, sent_date: i64, copy: &ServerCopy, now: i64) -> bool {
    let size_ok = copy.size >= sent_size / 2
        && copy.size <= sent_size.saturating_mul(2).saturating_add(65_536);
    let date_ok = copy
        .date
        .is_none_or(|d| (sent_date.clamp(0, now) - d).abs() <= 86_400);
    size_ok && date_ok
}

impl Unjournaled {
    /// The index of `copies` (any order).
    pub fn new(mut copies: Vec<ServerCopy>) -> Unjournaled {
        copies.sort_by_key(|c| c.uid);
        let taken = vec![false; copies.len()];
        Unjournaled {
            copies,
            taken,
            found: 0,
        }
    }

    /// Copies on the server no journal row accounts for.
    pub fn len(&self) -> usize {
        self.copies.len()
    }

    /// The flags read with the copy at `uid`, if they were.
    pub fn flags_of(&self, uid: u32) -> Option<MailFlags> {
        let i = self.copies.binary_search_by_key(&uid, |c| c.uid).ok()?;
        self.copies[i].flags
    }

    /// True when there is nothing to compare with.
    pub fn is_empty(&self) -> bool {
        self.copies.is_empty()
    }

    /// The UID of the copy that is `m`, if one is (and claims it): by its
    /// bytes or decoded content first, else by Message-ID or header
    /// fingerprint with a plausible size and date.
    pub fn claim(&mut self, m: Outgoing<'_>, now: i64) -> Option<u32> {
        let i = self.exact(&m).or_else(|| self.weak(&m, now))?;
        Some(self.take(i))
    }

    /// [`Self::claim`] by bytes or decoded content only.
    pub fn claim_exact(&mut self, m: Outgoing<'_>) -> Option<u32> {
        let i = self.exact(&m)?;
        Some(self.take(i))
    }

    /// Whether a free copy matches `m` only by Message-ID or fingerprint (a
    /// server that rewrites what it stores): such a copy may be another
    /// message's exact one, so the caller decides it after the others.
    pub fn weakly_matched(&self, m: Outgoing<'_>, now: i64) -> bool {
        self.exact(&m).is_none() && self.weak(&m, now).is_some()
    }

    fn take(&mut self, i: usize) -> u32 {
        self.taken[i] = true;
        self.found += 1;
        self.copies[i].uid
    }

    fn exact(&self, m: &Outgoing<'_>) -> Option<usize> {
        if self.copies.is_empty() {
            return None;
        }
        let hash = fold_hash(m.bytes);
        let stripped = m.bytes.contains(&0).then(|| {
            let v: Vec<u8> = m.bytes.iter().copied().filter(|b| *b != 0).collect();
            (fold_hash(&v), decoded_hash(&v))
        });
        let decoded = decoded_hash(m.bytes);
        let by_bytes = |c: &ServerCopy| {
            c.hash == hash
                || c.untagged == Some(hash)
                || stripped.is_some_and(|s| c.hash == s.0 || c.untagged == Some(s.0))
        };
        let by_decoded =
            |c: &ServerCopy| c.decoded == decoded || stripped.is_some_and(|s| c.decoded == s.1);
        self.first(by_bytes).or_else(|| self.first(by_decoded))
    }

    fn weak(&self, m: &Outgoing<'_>, now: i64) -> Option<usize> {
        if self.copies.is_empty() {
            return None;
        }
        let size = m.bytes.len() as u64;
        if let Some(mid) = m.message_id {
            return self.first(|c| {
                c.message_id.as_deref() == Some(mid) && plausible(size, m.date, c, now)
            });
        }
        let fp = header_fingerprint(m.bytes)?;
        self.first(|c| {
            c.message_id.is_none() && c.fingerprint == Some(fp) && plausible(size, m.date, c, now)
        })
    }

    /// The first free copy (lowest UID) that `f` accepts.
    fn first(&self, f: impl Fn(&ServerCopy) -> bool) -> Option<usize> {
        (0..self.copies.len()).find(|&i| !self.taken[i] && f(&self.copies[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 2_000_000_000;
    const DATE: i64 = 1_500_000_000;

    fn copy(uid: u32, body: &[u8]) -> ServerCopy {
        ServerCopy::read(uid, body.len() as u64, Some(DATE), body)
    }

    fn out<'a>(bytes: &'a [u8], message_id: Option<&'a str>) -> Outgoing<'a> {
        Outgoing {
            bytes,
            message_id,
            date: DATE,
        }
    }

    #[test]
    fn each_copy_answers_for_one_message_and_twins_each_need_their_own() {
        let a = b"Subject: a\r\n\r\nsame\r\n";
        let mut idx = Unjournaled::new(vec![copy(7, a), copy(3, a)]);
        assert_eq!(idx.claim(out(a, None), NOW), Some(3));
        assert_eq!(idx.claim(out(a, None), NOW), Some(7));
        assert_eq!(idx.claim(out(a, None), NOW), None, "a third twin is sent");
        assert_eq!(idx.found, 2);
    }

    #[test]
    fn dovecots_re_encoded_copy_of_a_message_without_message_id_is_found() {
        // Measured on Dovecot 2.3.19: a binary part sent as literal8 comes
        // back as base64, NUL in a text part as 0x80.
        let sent = b"From: a@x\r\nSubject: bin\r\nDate: Mon, 1 Jan 2018 10:00:00 +0000\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nhe\x00llo\r\n--BB\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\nab\x00cd\r\n--BB--\r\n";
        let stored = b"From: a@x\r\nSubject: bin\r\nDate: Mon, 1 Jan 2018 10:00:00 +0000\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nhe\x80llo\r\n--BB\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nYWIAY2QNCg==\r\n--BB--\r\n";
        let other = b"From: a@x\r\nSubject: other\r\n\r\nx\r\n";
        let mut idx = Unjournaled::new(vec![copy(1, other), copy(2, stored)]);
        assert_eq!(idx.claim(out(sent, None), NOW), Some(2));
        assert_eq!(idx.claim(out(sent, None), NOW), None);
    }

    #[test]
    fn a_rewritten_copy_is_found_by_message_id_or_fingerprint_when_plausible() {
        let sent = b"Message-ID: <m@x>\r\nSubject: caf\xc3\xa9\r\n\r\nbody\r\n";
        let munged = b"Message-ID: <m@x>\r\nSubject: cafXX\r\n\r\nbody\r\n";
        let mut idx = Unjournaled::new(vec![copy(4, munged)]);
        assert_eq!(idx.claim(out(sent, Some("m@x")), NOW), Some(4));
        let sent = b"Date: Mon, 1 Jan 2018 10:00:00 +0000\r\nFrom: a@x\r\nSubject: s\r\nX-8bit: \xc3\xa9\r\n\r\nbody\r\n";
        let munged = b"Date: Mon, 1 Jan 2018 10:00:00 +0000\r\nFrom: a@x\r\nSubject: s\r\nX-8bit: XX\r\n\r\nbody\r\n";
        let mut idx = Unjournaled::new(vec![copy(5, munged)]);
        assert_eq!(idx.claim(out(sent, None), NOW), Some(5));
        // Implausible date: not it.
        let mut far = copy(6, munged);
        far.date = Some(DATE - 10 * 86_400);
        let mut idx = Unjournaled::new(vec![far]);
        assert_eq!(idx.claim(out(sent, None), NOW), None);
        // Another message with the same headers but a Message-ID is not a
        // fingerprint match.
        let mut idx = Unjournaled::new(vec![copy(8, munged)]);
        assert_eq!(idx.claim(out(sent, Some("z@x")), NOW), None);
    }

    #[test]
    fn a_tagged_copy_is_found_by_its_bytes_under_the_tag() {
        let m = b"X-Only: 1\r\n\r\nbody\r\n";
        let stored = super::super::identity::tagged(m, &[1; 32]);
        let mut idx = Unjournaled::new(vec![copy(3, &stored)]);
        assert_eq!(idx.claim(out(m, None), NOW), Some(3));
    }

    #[test]
    fn nul_stripped_on_the_wire_is_found_too() {
        let prepared = b"Subject: n\r\n\r\na\x00b\r\n";
        let mut idx = Unjournaled::new(vec![copy(9, b"Subject: n\r\n\r\nab\r\n")]);
        assert_eq!(idx.claim(out(prepared, None), NOW), Some(9));
    }
}
