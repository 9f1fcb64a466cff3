//! Reading the messages of a mailbox that no journal row accounts for
//! (the I/O half of [`super::core::adopt`]), and the message stream that
//! looks for each outgoing message among them before it is appended.
//!
//! The mailbox is opened with EXAMINE and left with UNSELECT whatever
//! happened; only the UIDs outside `exclude` are read (RFC822.SIZE and
//! INTERNALDATE, FLAGS, then the bodies 50 a command and up to 16 MiB a
//! flight, reduced to their identities and dropped). A message found
//! among them is reported with the flags that copy has, for the journal. A read that fails is an error: the caller then
//! appends nothing, since "cannot look" is no proof of "not there".

use super::client::ImapSession;
use super::core::adopt::{Outgoing as Sent, ServerCopy, Unjournaled};
use super::core::claims::Claims;
use super::error::ImapError;
use crate::dest::{Delivery, DeliveryResult, DestRef, MailFlags, Outgoing, SessionEvent};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// The copies in `mailbox` whose UID is not in `exclude`, with the
/// mailbox's UIDVALIDITY.
pub(super) fn read_unjournaled(
    sess: &mut ImapSession,
    mailbox: &str,
    known: (Option<u32>, &[u32]),
    exclude: &dyn Fn(Option<u32>, u32) -> bool,
) -> Result<(Option<u32>, Vec<ServerCopy>), ImapError> {
    // First ask the server which UIDs are not the known ones (usually
    // none): one flight, no line per message.
    let probed = match sess.examine_unknown(mailbox, known.1) {
        Ok(p) => p,
        Err(ImapError::Invalid(why)) => {
            tracing::debug!("{mailbox}: unjournaled messages read, not searched: {why}");
            None
        }
        Err(e) => return Err(e),
    };
    let (uv, read) = match probed {
        Some((uv, unknown)) if uv == known.0 => {
            let unknown: Vec<u32> = unknown.into_iter().filter(|u| !exclude(uv, *u)).collect();
            if unknown.is_empty() {
                (uv, Ok(Vec::new()))
            } else {
                // The probe's flight may have left the mailbox: opened
                // again, and read whole if it is not the one probed.
                let ex = sess.examine(mailbox)?;
                if ex.uid_validity == uv {
                    (uv, read_these(sess, unknown))
                } else {
                    let uv = ex.uid_validity;
                    (uv, read_selected(sess, &|uid| exclude(uv, uid)))
                }
            }
        }
        _ => {
            let ex = sess.examine(mailbox)?;
            let uv = ex.uid_validity;
            (uv, read_selected(sess, &|uid| exclude(uv, uid)))
        }
    };
    let unselect = sess.unselect();
    let copies = read?;
    unselect?;
    Ok((uv, copies))
}

fn read_selected(
    sess: &mut ImapSession,
    exclude: &dyn Fn(u32) -> bool,
) -> Result<Vec<ServerCopy>, ImapError> {
    let unknown: Vec<u32> = sess
        .uid_sizes_from(1)?
        .into_iter()
        .map(|(u, _)| u)
        .filter(|u| !exclude(*u))
        .collect();
    read_these(sess, unknown)
}

/// A copy's RFC822.SIZE and INTERNALDATE (seconds).
type SizeAndDate = (u64, Option<i64>);

/// Sizes, dates, flags and bodies of the `unknown` UIDs of the selected
/// mailbox.
fn read_these(sess: &mut ImapSession, unknown: Vec<u32>) -> Result<Vec<ServerCopy>, ImapError> {
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    // Sizes, dates and flags in one flight; one chunk at a time when a
    // flight cannot say it.
    let (facts, flags): (HashMap<u32, SizeAndDate>, HashMap<u32, MailFlags>) =
        match sess.uid_facts_pipelined(&unknown) {
            Ok(rows) => {
                let flags = rows
                    .iter()
                    .filter_map(|((u, ..), f)| Some((*u, (*f)?)))
                    .collect();
                let facts = rows.into_iter().map(|((u, s, d), _)| (u, (s, d))).collect();
                (facts, flags)
            }
            Err(ImapError::Invalid(_)) => {
                let facts = sess
                    .uid_sizes_dates(&unknown)?
                    .into_iter()
                    .map(|(u, s, d)| (u, (s, d)))
                    .collect();
                (facts, sess.uid_flags(&unknown)?.into_iter().collect())
            }
            Err(e) => return Err(e),
        };
    let sized: Vec<(u32, u64)> = unknown
        .iter()
        .map(|u| (*u, facts.get(u).map_or(0, |f| f.0)))
        .collect();
    let mut copies = Vec::new();
    sess.uid_bodies_sized_each(&sized, &mut |uid, body| {
        let (size, date) = facts
            .get(&uid)
            .copied()
            .unwrap_or((body.len() as u64, None));
        let mut copy = ServerCopy::read(uid, size, date, body);
        copy.flags = flags.get(&uid).copied();
        copies.push(copy);
    })?;
    Ok(copies)
}

/// The note for the folder's report.
pub(super) fn note(mailbox: &str, journaled: usize, index: &Unjournaled) -> String {
    let head = if journaled == 0 {
        format!(
            "journal empty for {mailbox:?}, {} message(s) already on the server: each message was looked for there before appending, {} found (not sent)",
            index.len(),
            index.found
        )
    } else {
        format!(
            "{} message(s) in {mailbox:?} on the server that the journal does not account for: each message was looked for among them before appending, {} found (not sent)",
            index.len(),
            index.found
        )
    };
    // Those no item took: another tool's, or copies of items gone from
    // this folder (moved or deleted in Kerio while no journal knew them).
    match index.len().saturating_sub(index.found) {
        0 => head,
        n => format!(
            "{head}; the other {n} match no item of this folder and are left as they are (`verify` lists them as extra)"
        ),
    }
}

/// UIDs the journal or this run gives to items, under the mailbox's
/// UIDVALIDITY `uv`.
pub(super) fn excluded(
    journal: &[crate::model::DoneCopy],
    claims: &Claims,
    uv: Option<u32>,
) -> HashSet<u32> {
    let mut out: HashSet<u32> = journal
        .iter()
        .filter(|c| c.uid_validity == uv)
        .filter_map(|c| c.uid)
        .collect();
    if claims.uid_validity == uv {
        out.extend(claims.uids.iter().copied());
    }
    out
}

/// Messages held back at most, by count and bytes, while their weak match
/// waits for the exact ones ([`Adopting`]); past that a weak match is
/// decided at once, as it comes.
const HOLD_COUNT: usize = 1000;
const HOLD_BYTES: usize = 32 << 20;

/// The stream `deliver` sends from: every message is first looked for
/// among the unjournaled copies; one found is reported already present
/// (its UID claimed for this run) instead of being handed on. A message
/// found only by Message-ID or header fingerprint (for servers that
/// rewrite what they store) is held back until the stream ends, so that a
/// message coming later whose bytes are that very copy gets it first (an
/// edited message sharing the Message-ID of another took its copy, and the
/// other was uploaded a second time).
pub(super) struct Adopting<'a, 'e> {
    pub inner: &'a mut dyn Iterator<Item = Outgoing>,
    pub index: &'a mut Unjournaled,
    pub events: &'a RefCell<&'e mut dyn FnMut(SessionEvent) -> bool>,
    pub uid_validity: Option<u32>,
    pub claims: &'a Mutex<Claims>,
    /// Unix time, for the plausibility of dates.
    pub now: i64,
    /// Messages held back for a weak match, in stream order.
    pub held: Vec<Outgoing>,
}

impl Adopting<'_, '_> {
    fn sent(o: &Outgoing) -> Sent<'_> {
        Sent {
            bytes: &o.message.bytes,
            message_id: o.message.message_id.as_deref(),
            date: o.internal_date.timestamp(),
        }
    }

    /// Reports `o` already present at `uid` and claims the UID.
    fn present(&mut self, o: &Outgoing, uid: u32) {
        self.claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .uids
            .insert(uid);
        let delivery = Delivery {
            item_id: o.item_id.clone(),
            hash: o.message.hash,
            size: o.message.bytes.len() as u64,
            internal_date: o.internal_date,
            message_id: o.message.message_id.clone(),
            result: DeliveryResult::AlreadyPresent(DestRef::imap(self.uid_validity, Some(uid))),
            target_flags: self.index.flags_of(uid),
        };
        let mut events = self.events.borrow_mut();
        (*events)(SessionEvent::Done(delivery));
    }

    fn may_hold(&self, o: &Outgoing) -> bool {
        let bytes: usize = self.held.iter().map(|h| h.message.bytes.len()).sum();
        self.held.len() < HOLD_COUNT && bytes + o.message.bytes.len() <= HOLD_BYTES
    }
}

impl Iterator for Adopting<'_, '_> {
    type Item = Outgoing;

    fn next(&mut self) -> Option<Outgoing> {
        loop {
            let Some(o) = self.inner.next() else {
                // The stream is over: the held ones take what is left.
                if self.held.is_empty() {
                    return None;
                }
                let o = self.held.remove(0);
                match self.index.claim(Self::sent(&o), self.now) {
                    Some(uid) => {
                        self.present(&o, uid);
                        continue;
                    }
                    None => return Some(o),
                }
            };
            if let Some(uid) = self.index.claim_exact(Self::sent(&o)) {
                self.present(&o, uid);
                continue;
            }
            if !self.index.weakly_matched(Self::sent(&o), self.now) {
                return Some(o);
            }
            if self.may_hold(&o) {
                self.held.push(o);
                continue;
            }
            match self.index.claim(Self::sent(&o), self.now) {
                Some(uid) => self.present(&o, uid),
                None => return Some(o),
            }
        }
    }
}
