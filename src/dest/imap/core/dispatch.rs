//! The `deliver` side of the IMAP session, sans I/O: takes the driver's
//! messages, checks them (NUL, APPENDLIMIT, `--max-bytes-per-day`,
//! INTERNALDATE, PERMANENTFLAGS), groups them, announces each group with
//! [`SessionEvent::Pending`] and, once the driver says it is durable,
//! hands it to the connections; every outcome comes back through it, and
//! it alone calls `events`. Time comes from a [`Clock`], the connections
//! are behind a [`Link`], so waits and hand-outs are tested without
//! threads.
//!
//! Invariants a maintainer must keep:
//! - every message taken from the stream gets exactly one
//!   [`SessionEvent::Done`] (settled here, or reported by a connection, or
//!   "no outcome" at [`Dispatcher::finish`]);
//! - nothing of a group is handed out before its Pending announcement is
//!   durable; a group the journal could not record is not sent at all,
//!   and the account stops;
//! - the marker's lowest UID only grows (UIDNEXT, then every UID
//!   reported), so a later run never looks below a copy of the group.

use super::budget::ByteBudget;
use super::identity::{decoded_hash, header_fingerprint, lacks_identity, may_be_reencoded, tagged};
use super::marker::{DecodedCopy, Marker, WireCopy};
use super::matching::fold_hash;
use super::{Msg, Report, Unit};
use crate::dest::imap::caps::Capabilities;
use crate::dest::imap::{ImapOptions, NulPolicy};
use crate::dest::{Delivery, DeliveryResult, DestRef, MailFlags, Outgoing, SessionEvent};
use crate::model::ContentHash;
use crate::text::sample;
use chrono::{DateTime, FixedOffset, Offset, Utc};
use imap_next::imap_types::{datetime::DateTime as ImapDateTime, flag::Flag};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Where the dispatcher's time comes from.
pub(crate) trait Clock {
    /// Monotonic time, for the byte budget and its waits.
    fn now(&self) -> Instant;
    /// Wall-clock time: dates in the future are sent as this.
    fn wall(&self) -> DateTime<Utc>;
}

/// The system's clocks.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn wall(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What [`Link::hand_out`] did with a unit.
pub(crate) enum HandOut {
    /// A connection will send it.
    Taken,
    /// A report came first: handle it, then offer the unit again.
    Report(Report, Unit),
    /// No connection is left.
    Closed(Unit),
}

/// The dispatcher's way to the connections and the account's state.
pub(crate) trait Link {
    /// Offers a unit to the connections (blocking until one takes it or a
    /// report comes).
    fn hand_out(&mut self, unit: Unit) -> HandOut;
    /// A report, if one is ready.
    fn try_report(&mut self) -> Option<Report>;
    /// Waits up to `d` for a report.
    fn wait_report(&mut self, d: Duration) -> Option<Report>;
    /// Why the account stopped, if it did.
    fn stopped(&self) -> Option<String>;
    /// Stops the account (the first reason stays).
    fn stop_account(&mut self, why: String);
    /// Ctrl-C / SIGTERM.
    fn cancelled(&self) -> bool;
}

/// The four system flags a mailbox keeps (PERMANENTFLAGS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PermFlags {
    seen: bool,
    answered: bool,
    flagged: bool,
    draft: bool,
}

impl PermFlags {
    /// From the mailbox's flag list (`None`: every flag, RFC 3501 §7.1).
    pub fn from(list: Option<&Vec<String>>) -> PermFlags {
        let has = |f: &str| list.is_none_or(|v| v.iter().any(|x| x.eq_ignore_ascii_case(f)));
        PermFlags {
            seen: has("\\Seen"),
            answered: has("\\Answered"),
            flagged: has("\\Flagged"),
            draft: has("\\Draft"),
        }
    }

    /// The flags of `f` the mailbox keeps.
    pub fn apply(&self, f: MailFlags) -> Vec<Flag<'static>> {
        let mut v = Vec::new();
        if f.seen && self.seen {
            v.push(Flag::Seen);
        }
        if f.answered && self.answered {
            v.push(Flag::Answered);
        }
        if f.flagged && self.flagged {
            v.push(Flag::Flagged);
        }
        if f.draft && self.draft {
            v.push(Flag::Draft);
        }
        v
    }

    /// True when `f` has a flag the mailbox does not keep.
    pub fn dropped(&self, f: MailFlags) -> bool {
        (f.seen && !self.seen)
            || (f.answered && !self.answered)
            || (f.flagged && !self.flagged)
            || (f.draft && !self.draft)
    }
}

/// True when groups go out as MULTIAPPEND.
pub(crate) fn multiappend(opts: &ImapOptions, caps: &Capabilities) -> bool {
    opts.multiappend && caps.multiappend && opts.batch > 1
}

/// What one `deliver` call dispatches into.
pub(crate) struct Setup<'a> {
    /// The server's capabilities (BINARY, APPENDLIMIT, MULTIAPPEND).
    pub caps: &'a Capabilities,
    /// The target's options.
    pub opts: &'a ImapOptions,
    /// The mailbox's PERMANENTFLAGS.
    pub perm: PermFlags,
    /// The mailbox's UIDVALIDITY.
    pub uid_validity: Option<u32>,
    /// UIDNEXT before sending.
    pub uid_next: u32,
    /// The target login, for the log.
    pub user: &'a str,
    /// The account's `--max-bytes-per-day`.
    pub budget: &'a ByteBudget,
    /// Counts the waits for it.
    pub budget_waits: &'a std::sync::atomic::AtomicU64,
}

/// The journal facts of a message handed out.
struct Meta {
    item_id: String,
    hash: ContentHash,
    /// Bytes on the wire (NUL removed under `--nul strip`): what the
    /// server should store.
    size: u64,
    internal_date: DateTime<Utc>,
    message_id: Option<String>,
}

/// The group being built: announced and handed out together.
#[derive(Default)]
struct Group {
    msgs: Vec<Msg>,
    bytes: usize,
    items: Vec<(String, ContentHash)>,
    wire_copies: BTreeMap<String, WireCopy>,
    decoded: BTreeMap<String, DecodedCopy>,
    fingerprints: BTreeMap<String, DecodedCopy>,
}

/// What the folder's report is told at the end, by item id.
#[derive(Default)]
struct Notes {
    dates_before_1970: Vec<String>,
    dates_future: Vec<String>,
    nul_stripped: Vec<String>,
    tagged: Vec<String>,
    nul_binary: Vec<String>,
    flags_dropped: u64,
}

/// How the wait for the byte budget ended.
enum Budget {
    /// It fits: send it.
    Fits,
    /// Settled here (failed), or the wait was cut short.
    NotSent,
}

/// The `deliver` side (see the module header).
pub(crate) struct Dispatcher<'a> {
    setup: Setup<'a>,
    clock: &'a dyn Clock,
    lower: u32,
    meta: BTreeMap<u64, Meta>,
    next_key: u64,
    group: Group,
    notes: Notes,
}

type Events<'e> = dyn FnMut(SessionEvent) -> bool + 'e;

impl<'a> Dispatcher<'a> {
    /// A dispatcher for one `deliver` call.
    pub fn new(setup: Setup<'a>, clock: &'a dyn Clock) -> Dispatcher<'a> {
        Dispatcher {
            lower: setup.uid_next.max(1),
            setup,
            clock,
            meta: BTreeMap::new(),
            next_key: 0,
            group: Group::default(),
            notes: Notes::default(),
        }
    }

    fn multi(&self) -> bool {
        multiappend(self.setup.opts, self.setup.caps)
    }

    /// Takes every message of the stream until it ends or the account
    /// stops; the last group is announced and handed out (or, when the
    /// account stopped, failed "not sent").
    pub fn run(
        &mut self,
        messages: &mut dyn Iterator<Item = Outgoing>,
        events: &mut Events<'_>,
        link: &mut dyn Link,
    ) {
        let opts = self.setup.opts;
        let (group_max, group_bytes_max) = if self.multi() {
            (opts.batch.max(1), opts.batch_bytes.max(1))
        } else {
            (16, opts.window_bytes.max(1))
        };
        loop {
            while let Some(r) = link.try_report() {
                self.report(r, events);
            }
            if link.stopped().is_some() {
                break;
            }
            let Some(mut o) = messages.next() else {
                break;
            };
            // The prepared size: the message's bytes move into what is sent.
            let size = o.message.bytes.len() as u64;
            let Some(msg) = self.prepare(&mut o, events) else {
                continue;
            };
            let wire = msg.data.len() as u64;
            if let Budget::NotSent = self.wait_for_budget(&o, size, wire, events, link) {
                if link.cancelled() {
                    let reason =
                        "not sent: interrupted while waiting for the daily byte budget".into();
                    self.done_now(&o, size, DeliveryResult::Skipped { reason }, events);
                    break;
                }
                continue;
            }
            self.add(msg, o);
            if self.group.msgs.len() >= group_max || self.group.bytes >= group_bytes_max {
                self.flush(events, link);
            }
        }
        match link.stopped() {
            None => self.flush(events, link),
            Some(why) => {
                let msgs = std::mem::take(&mut self.group.msgs);
                self.fail(msgs, &format!("not sent: {why}"), events);
            }
        }
    }

    /// Handles a connection's report.
    pub fn report(&mut self, r: Report, events: &mut Events<'_>) {
        match r {
            Report::Note(n) => {
                events(SessionEvent::Note(n));
            }
            Report::Done { key, result } => {
                if let DeliveryResult::Delivered(DestRef { uid: Some(u), .. })
                | DeliveryResult::AlreadyPresent(DestRef { uid: Some(u), .. }) = &result
                {
                    self.lower = self.lower.max(u.saturating_add(1));
                }
                if let Some(m) = self.meta.remove(&key) {
                    events(SessionEvent::Done(Delivery {
                        item_id: m.item_id,
                        hash: m.hash,
                        size: m.size,
                        internal_date: m.internal_date,
                        message_id: m.message_id,
                        result,
                        target_flags: None,
                    }));
                }
            }
        }
    }

    /// After the last report: anything without an outcome is reported
    /// failed (a bug, but never a lost item), then the folder's notes.
    pub fn finish(&mut self, events: &mut Events<'_>) {
        let keys: Vec<u64> = self.meta.keys().copied().collect();
        for key in keys {
            let reason = "no outcome from the IMAP worker".into();
            let result = DeliveryResult::Failed { reason };
            self.report(Report::Done { key, result }, events);
        }
        for note in self.notes.lines() {
            events(SessionEvent::Note(note));
        }
    }

    /// An outcome known before the message went out; `size` is its
    /// prepared size.
    fn done_now(&self, o: &Outgoing, size: u64, result: DeliveryResult, events: &mut Events<'_>) {
        events(SessionEvent::Done(Delivery {
            item_id: o.item_id.clone(),
            hash: o.message.hash,
            size,
            internal_date: o.internal_date,
            message_id: o.message.message_id.clone(),
            result,
            target_flags: None,
        }));
    }

    fn fail(&mut self, msgs: Vec<Msg>, reason: &str, events: &mut Events<'_>) {
        for r in Report::fail_all(msgs, reason) {
            self.report(r, events);
        }
    }

    /// Checks one message and makes it ready for the wire; `None` when it
    /// was settled here (skipped or failed).
    ///
    /// The prepared bytes move out of `o` into what is sent (`o` keeps its
    /// item id, hash and Message-ID). They are scanned once for NUL and
    /// hashed again only when they change (the prepared hash is BLAKE3 of
    /// the prepared bytes, [`fold_hash`] of NUL-free bytes is that too).
    fn prepare(&mut self, o: &mut Outgoing, events: &mut Events<'_>) -> Option<Msg> {
        let size = o.message.bytes.len() as u64;
        let nul = memchr::memchr(0, &o.message.bytes).is_some();
        let (mut data, mut changed) = self.nul_policy(o, nul, events)?;
        if self.setup.opts.tag_messages && lacks_identity(&data) {
            // Asked for: the copy on the server names its content hash.
            data = tagged(&data, &o.message.hash.0);
            self.notes.tagged.push(o.item_id.clone());
            changed = true;
        }
        if let Some(limit) = self.setup.caps.append_limit() {
            if data.len() as u64 > limit {
                let reason = format!(
                    "message is {} bytes, larger than the server's APPENDLIMIT of {limit} bytes",
                    data.len()
                );
                self.done_now(o, size, DeliveryResult::Failed { reason }, events);
                return None;
            }
        }
        let (date, sent_date) = self.internal_date(o);
        let perm = self.setup.perm;
        if perm.dropped(o.flags) {
            self.notes.flags_dropped += 1;
        }
        let hash = if changed || nul {
            fold_hash(&data)
        } else {
            o.message.hash.0
        };
        if hash != o.message.hash.0 || data.len() as u64 != size {
            let copy = WireCopy(hash, data.len() as u64);
            self.group.wire_copies.insert(o.item_id.clone(), copy);
        }
        if o.message.message_id.is_none() {
            if let Some(fp) = header_fingerprint(&data) {
                self.group
                    .fingerprints
                    .insert(o.item_id.clone(), DecodedCopy(fp));
            }
        }
        let decoded = may_be_reencoded(&data).then(|| decoded_hash(&data));
        if let Some(d) = decoded {
            self.group.decoded.insert(o.item_id.clone(), DecodedCopy(d));
        }
        let key = self.next_key;
        self.next_key += 1;
        Some(Msg {
            key,
            data: std::sync::Arc::new(data),
            flags: perm.apply(o.flags),
            date,
            sent_date: Some(sent_date),
            message_id: o.message.message_id.clone(),
            hash,
            decoded,
            lower: 0,
            attempts: 0,
        })
    }

    /// The bytes to send: NUL goes as literal8 with BINARY, else it is
    /// stripped or the message skipped (`--nul`).
    /// The bytes to send (taken out of `o`), and whether they differ
    /// from the prepared ones; `nul`: they hold a NUL byte.
    fn nul_policy(
        &mut self,
        o: &mut Outgoing,
        nul: bool,
        events: &mut Events<'_>,
    ) -> Option<(Vec<u8>, bool)> {
        if !nul {
            return Some((std::mem::take(&mut o.message.bytes), false));
        }
        if self.setup.caps.binary {
            self.notes.nul_binary.push(o.item_id.clone());
            return Some((std::mem::take(&mut o.message.bytes), false));
        }
        match self.setup.opts.nul {
            NulPolicy::Skip => {
                let reason = "contains NUL bytes and the server has no BINARY (--nul skip)".into();
                let size = o.message.bytes.len() as u64;
                self.done_now(o, size, DeliveryResult::Skipped { reason }, events);
                None
            }
            NulPolicy::Strip => {
                let mut data = std::mem::take(&mut o.message.bytes);
                data.retain(|b| *b != 0);
                self.notes.nul_stripped.push(o.item_id.clone());
                Some((data, true))
            }
        }
    }

    /// INTERNALDATE as sent, in +0000 and whole seconds: servers reject
    /// dates before 1970 or in the future, so those are clamped (and
    /// noted). Also as Unix seconds.
    fn internal_date(&mut self, o: &Outgoing) -> (Option<ImapDateTime>, i64) {
        let now = self.clock.wall();
        let mut date = o.internal_date;
        if date.timestamp() < 0 {
            date = DateTime::<Utc>::UNIX_EPOCH;
            self.notes.dates_before_1970.push(o.item_id.clone());
        } else if date > now {
            date = now;
            self.notes.dates_future.push(o.item_id.clone());
        }
        let fixed: DateTime<FixedOffset> = date.with_timezone(&Utc.fix());
        let fixed = chrono::DurationRound::duration_trunc(fixed, chrono::Duration::seconds(1))
            .unwrap_or(fixed);
        (ImapDateTime::try_from(fixed).ok(), fixed.timestamp())
    }

    /// `--max-bytes-per-day`: waits until `size` more bytes (as sent; the
    /// message's prepared size is `prepared`) fit, handing
    /// out what is grouped first and handling reports meanwhile; Ctrl-C or
    /// the account stopping (over quota, connection gone) end the wait.
    fn wait_for_budget(
        &mut self,
        o: &Outgoing,
        prepared: u64,
        size: u64,
        events: &mut Events<'_>,
        link: &mut dyn Link,
    ) -> Budget {
        loop {
            let d = match self.setup.budget.take(size, self.clock.now()) {
                Ok(d) if d.is_zero() => return Budget::Fits,
                Ok(d) => d,
                Err(limit) => {
                    let reason =
                        format!("message is {size} bytes, more than --max-bytes-per-day ({limit})");
                    self.done_now(o, prepared, DeliveryResult::Failed { reason }, events);
                    return Budget::NotSent;
                }
            };
            // What already fits the budget goes out now rather than wait
            // with this message.
            self.flush(events, link);
            self.setup
                .budget_waits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let until = self.clock.wall().with_timezone(&chrono::Local)
                + chrono::Duration::from_std(d).unwrap_or_default();
            tracing::warn!(
                "{}: --max-bytes-per-day used up; waiting until {} (Ctrl-C stops; rerun to resume)",
                self.setup.user,
                until.format("%Y-%m-%d %H:%M")
            );
            let end = self.clock.now() + d;
            while self.clock.now() < end && !link.cancelled() && link.stopped().is_none() {
                if let Some(r) = link.wait_report(Duration::from_millis(200)) {
                    self.report(r, events);
                }
            }
            if link.cancelled() {
                return Budget::NotSent;
            }
            if let Some(why) = link.stopped() {
                let reason = format!("not sent: {why}");
                self.done_now(o, prepared, DeliveryResult::Failed { reason }, events);
                return Budget::NotSent;
            }
        }
    }

    /// Adds a checked message to the group.
    fn add(&mut self, msg: Msg, o: Outgoing) {
        self.group.bytes += msg.data.len();
        self.group.items.push((o.item_id.clone(), o.message.hash));
        let meta = Meta {
            item_id: o.item_id,
            hash: o.message.hash,
            size: msg.data.len() as u64,
            internal_date: o.internal_date,
            message_id: o.message.message_id,
        };
        self.meta.insert(msg.key, meta);
        self.group.msgs.push(msg);
    }

    /// Announces the group, then hands it out (as one MULTIAPPEND unit, or
    /// one unit per message).
    fn flush(&mut self, events: &mut Events<'_>, link: &mut dyn Link) {
        if self.group.msgs.is_empty() {
            return;
        }
        let group = std::mem::take(&mut self.group);
        let mut marker = Marker::new(self.setup.uid_validity, self.lower);
        marker.wire_copies = group.wire_copies;
        marker.decoded = group.decoded;
        marker.fingerprints = group.fingerprints;
        let durable = events(SessionEvent::Pending {
            items: group.items,
            marker: marker.to_json(),
        });
        let mut msgs = group.msgs;
        if !durable {
            // Unrecorded, a message that arrives could not be found by the
            // next run, which would send it again: send none of them, and
            // nothing more from this account.
            let why = "journal unavailable: not sent".to_string();
            self.fail(msgs, &why, events);
            link.stop_account(why);
            return;
        }
        for m in &mut msgs {
            m.lower = self.lower;
        }
        let units: Vec<Unit> = if self.multi() {
            vec![Unit::new(msgs)]
        } else {
            msgs.into_iter().map(|m| Unit::new(vec![m])).collect()
        };
        for unit in units {
            self.hand_out(unit, events, link);
        }
    }

    /// Hands one unit out, handling the reports that come meanwhile.
    fn hand_out(&mut self, mut unit: Unit, events: &mut Events<'_>, link: &mut dyn Link) {
        loop {
            match link.hand_out(unit) {
                HandOut::Taken => return,
                HandOut::Report(r, u) => {
                    self.report(r, events);
                    unit = u;
                }
                HandOut::Closed(u) => {
                    // No connection left: they all stopped.
                    let why = link
                        .stopped()
                        .unwrap_or_else(|| "no connection left".into());
                    return self.fail(u.msgs, &format!("not sent: {why}"), events);
                }
            }
        }
    }
}

impl Notes {
    /// The folder's notes, in the report's order.
    fn lines(&self) -> Vec<String> {
        let mut v = Vec::new();
        let mut say = |ids: &[String], text: &str| {
            if !ids.is_empty() {
                v.push(format!("{} message(s) {text} ({})", ids.len(), sample(ids)));
            }
        };
        say(&self.dates_before_1970, "had an internal date before 1970, which IMAP cannot carry: sent as 01-Jan-1970 00:00:00 +0000");
        say(
            &self.dates_future,
            "had an internal date in the future: sent with the current time",
        );
        say(&self.nul_stripped, "contained NUL bytes, which the server (no BINARY) cannot take: NULs removed (--nul strip)");
        say(
            &self.nul_binary,
            "contained NUL bytes: sent as literal8 (BINARY); the server may store them otherwise (Dovecot serves a NUL of a text part as 0x80 in BODY[] and stores binary parts as base64 ; BINARY[] gives the bytes back)",
        );
        say(
            &self.tagged,
            "had no Message-ID and no Date/From/Subject: tagged with an X-Kerio-Migrate-Id header (--tag-messages)",
        );
        if self.flags_dropped > 0 {
            v.push(format!(
                "{} message(s) lost a flag the mailbox does not keep (PERMANENTFLAGS)",
                self.flags_dropped
            ));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_permanentflags() {
        let all = MailFlags {
            seen: true,
            answered: true,
            flagged: true,
            draft: true,
        };
        let p = PermFlags::from(Some(&vec!["\\Seen".into(), "\\Flagged".into()]));
        assert_eq!(p.apply(all), vec![Flag::Seen, Flag::Flagged]);
        assert!(p.dropped(all));
        assert!(!p.dropped(MailFlags {
            seen: true,
            ..MailFlags::default()
        }));
        let any = PermFlags::from(None);
        assert_eq!(any.apply(all).len(), 4);
        assert!(!any.dropped(all));
    }
}
