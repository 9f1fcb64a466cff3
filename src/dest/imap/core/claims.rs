//! What is known of the copies in one mailbox that belong to items, for
//! the checks that decide whether a message of unknown fate is there (see
//! [`super::matching`]): [`Claims`] is what this run knows of its own
//! copies, over all the `deliver` calls and connections of a session;
//! [`JournalCopies`] is what the journal knows from earlier runs.
//!
//! Invariants a maintainer must keep: a message is counted in flight from
//! before its first byte goes out until its answer (or its connection's
//! end) is handled, and it leaves `in_flight` under the same lock that
//! claims its UID, so a check on another connection sees it as one or the
//! other; [`Claims::known`] is read after the server was read.

use super::matching::{Known, Tally, Want};
use super::Msg;
use crate::model::DoneCopy;
use std::collections::HashSet;

/// What this run knows about its own copies in one mailbox.
#[derive(Debug, Default)]
pub(crate) struct Claims {
    /// UIDVALIDITY these facts hold under.
    pub uid_validity: Option<u32>,
    /// UIDNEXT when this run first sent here: every copy of this run is at
    /// or above it.
    pub floor: Option<u32>,
    /// UIDs known to hold messages of this run.
    pub uids: HashSet<u32>,
    /// Delivered without a UID (no UIDPLUS): there, UID unknown.
    pub uidless: Tally,
    /// Written on a connection, answer not read yet.
    pub in_flight: Tally,
    /// Fate unknown (timed out, or the check could not tell): may be there.
    pub doubt: Tally,
}

impl Claims {
    /// Starts counting for a `deliver` call that sees UIDVALIDITY `uv` and
    /// UIDNEXT `uid_next`: what was known stays known unless the mailbox
    /// was recreated meanwhile.
    pub fn begin(&mut self, uv: Option<u32>, uid_next: Option<u32>) {
        if self.floor.is_none() || self.uid_validity != uv {
            *self = Claims {
                uid_validity: uv,
                floor: Some(uid_next.unwrap_or(1)),
                ..Claims::default()
            };
        }
    }

    /// What a check of this mailbox must count (taken after reading the
    /// server): `uv` is the UIDVALIDITY the server showed.
    pub fn known(&self, uv: Option<u32>) -> Known {
        let mut maybe = self.in_flight.clone();
        maybe.extend(&self.doubt);
        if uv == self.uid_validity {
            Known {
                exclude: self.uids.clone(),
                sure: self.uidless.clone(),
                maybe,
            }
        } else {
            // Recreated meanwhile: what arrived before may be gone.
            maybe.extend(&self.uidless);
            Known {
                maybe,
                ..Known::default()
            }
        }
    }

    /// The lowest UID a check of `wants` must read from, when this run's
    /// copies without a UID share content or Message-ID with one of them
    /// (they are all at or above the run's floor).
    pub fn check_floor(&self, wants: &[Want]) -> Option<u32> {
        wants
            .iter()
            .any(|w| self.uidless.touches(w))
            .then(|| self.floor.unwrap_or(1))
    }

    /// `msgs` are about to be written on a connection.
    pub fn sending(&mut self, msgs: &[Msg]) {
        for m in msgs {
            self.in_flight.add(m.hash, m.message_id.as_deref());
        }
    }

    /// `msgs` are no longer on the way (refused, or their connection is
    /// gone).
    pub fn not_sending(&mut self, msgs: &[Msg]) {
        for m in msgs {
            self.in_flight.remove(m.hash, m.message_id.as_deref());
        }
    }

    /// `m` was stored: at `uid`, or somewhere (no UIDPLUS). Call after
    /// [`Self::not_sending`] for it (the answer came on its connection) or
    /// without (a check found it).
    pub fn stored(&mut self, m: &Msg, uid: Option<u32>) {
        match uid {
            Some(u) => {
                self.uids.insert(u);
            }
            None => self.uidless.add(m.hash, m.message_id.as_deref()),
        }
    }

    /// `msgs` may or may not be there: left for the next run.
    pub fn in_doubt(&mut self, msgs: &[Msg]) {
        for m in msgs {
            self.doubt.add(m.hash, m.message_id.as_deref());
        }
    }
}

/// What the journal knows of a mailbox: its done rows (every source
/// folder of the account), whose copies belong to other items.
pub(crate) struct JournalCopies<'a>(pub &'a [DoneCopy]);

impl JournalCopies<'_> {
    /// What a check of pending items must count, for a mailbox whose
    /// UIDVALIDITY is `uv`: under it the rows' UIDs are taken and UID-less
    /// copies are there somewhere; under another one (recreated) they may
    /// or may not be there.
    pub fn known(&self, uv: Option<u32>) -> Known {
        let mut k = Known::default();
        for c in self.0 {
            let message_id = c.message_id.as_deref();
            match (c.uid_validity == uv, c.uid) {
                (true, Some(u)) => {
                    k.exclude.insert(u);
                }
                (true, None) => k.sure.add(c.hash.0, message_id),
                (false, _) => k.maybe.add(c.hash.0, message_id),
            }
        }
        k
    }

    /// UID 1 when a copy without a UID shares content or Message-ID with a
    /// want: such a copy may be anywhere, so the check reads everything.
    pub fn check_floor(&self, wants: &[Want]) -> Option<u32> {
        let mut uidless = Tally::default();
        for c in self.0.iter().filter(|c| c.uid.is_none()) {
            uidless.add(c.hash.0, c.message_id.as_deref());
        }
        wants.iter().any(|w| uidless.touches(w)).then_some(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ContentHash;

    const T: [u8; 32] = [7; 32];

    fn msg(hash: [u8; 32], message_id: Option<&str>) -> Msg {
        Msg {
            key: 0,
            data: Default::default(),
            flags: Vec::new(),
            date: None,
            sent_date: None,
            message_id: message_id.map(str::to_string),
            hash,
            decoded: None,
            lower: 1,
            attempts: 0,
        }
    }

    fn want(hash: [u8; 32], message_id: Option<&str>) -> Want {
        Want {
            hash,
            size: None,
            lower: 1,
            uid_validity: Some(5),
            message_id: message_id.map(str::to_string),
            internal_date: None,
            decoded: None,
            fingerprint: None,
        }
    }

    #[test]
    fn a_message_is_in_flight_until_answered_then_claimed() {
        let mut c = Claims::default();
        c.begin(Some(5), Some(10));
        let m = msg(T, Some("a@x"));
        c.sending(std::slice::from_ref(&m));
        assert_eq!(c.known(Some(5)).maybe.hash(&T), 1);
        c.not_sending(std::slice::from_ref(&m));
        c.stored(&m, Some(12));
        let k = c.known(Some(5));
        assert_eq!(k.maybe.hash(&T), 0);
        assert!(k.exclude.contains(&12));
        // Under another UIDVALIDITY its UID means nothing.
        assert!(c.known(Some(6)).exclude.is_empty());
    }

    #[test]
    fn uidless_copies_are_sure_here_and_maybe_after_a_recreate() {
        let mut c = Claims::default();
        c.begin(Some(5), Some(10));
        let m = msg(T, None);
        c.stored(&m, None);
        assert_eq!(c.known(Some(5)).sure.hash(&T), 1);
        assert_eq!(c.known(Some(6)).maybe.hash(&T), 1);
        assert_eq!(c.check_floor(&[want(T, None)]), Some(10));
        assert_eq!(c.check_floor(&[want([1; 32], None)]), None);
        c.in_doubt(std::slice::from_ref(&m));
        assert_eq!(c.known(Some(5)).maybe.hash(&T), 1);
    }

    #[test]
    fn begin_keeps_what_is_known_unless_the_mailbox_was_recreated() {
        let mut c = Claims::default();
        c.begin(Some(5), Some(10));
        c.uids.insert(11);
        c.begin(Some(5), Some(20));
        assert_eq!((c.floor, c.uids.len()), (Some(10), 1));
        c.begin(Some(6), Some(3));
        assert_eq!((c.floor, c.uids.len()), (Some(3), 0));
    }

    #[test]
    fn journal_rows_exclude_their_uids_and_count_the_rest() {
        let rows = [
            DoneCopy {
                hash: ContentHash(T),
                uid_validity: Some(5),
                uid: Some(1),
                message_id: None,
            },
            DoneCopy {
                hash: ContentHash(T),
                uid_validity: Some(5),
                uid: None,
                message_id: Some("a@x".into()),
            },
            DoneCopy {
                hash: ContentHash([2; 32]),
                uid_validity: Some(4),
                uid: Some(9),
                message_id: None,
            },
        ];
        let j = JournalCopies(&rows);
        let k = j.known(Some(5));
        assert_eq!(k.exclude, [1].into());
        assert_eq!(k.sure.hash(&T), 1);
        assert_eq!(k.maybe.hash(&[2; 32]), 1, "another UIDVALIDITY: maybe");
        assert_eq!(j.check_floor(&[want([3; 32], Some("a@x"))]), Some(1));
        assert_eq!(j.check_floor(&[want([3; 32], None)]), None);
    }
}
