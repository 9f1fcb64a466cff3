//! One append connection's work, sans I/O: the queue of units, what is in
//! flight (by command key), and carrying out [`super::decide`] for each
//! tagged answer and [`super::lost`] when the connection dies.
//! What it cannot do itself it leaves for the worker thread to take:
//! reports for the dispatcher, a pause, a mailbox to recreate, an account
//! to stop, units to look for on the server.
//!
//! Invariants a maintainer must keep: every message given to a lane ends
//! in exactly one report; units sent again go first in line, in their
//! order; a message is counted in flight in [`Claims`] before its command
//! is handed out and leaves that count exactly once; nothing is handed
//! out while a pause or a recreate is due.

use super::append::{Lost, Window};
use super::claims::Claims;
use super::decide::{decide, Action, Policy};
use super::identity::header_fingerprint;
use super::lost::{self, Verdict};
use super::matching::{Found, Want};
use super::wire::{build_append, command_tag, Cmd, CmdOutcome, WireMsg};
use super::{Msg, Report, Unit};
use crate::dest::imap::caps::Capabilities;
use crate::dest::imap::ImapOptions;
use crate::dest::{DeliveryResult, DestRef};
use imap_next::imap_types::mailbox::Mailbox;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// The window of one connection: its start and its cap.
pub(crate) fn window_limits(opts: &ImapOptions, multi: bool) -> (Window, Window) {
    let start = window(opts, multi);
    let cap = Window {
        commands: opts.window_max.max(start.commands),
        bytes: opts.window_bytes_max.max(1),
    };
    (start, cap)
}

/// The starting window of one connection: MULTIAPPEND commands or single
/// APPENDs.
pub(crate) fn window(opts: &ImapOptions, multi: bool) -> Window {
    Window {
        commands: if multi {
            opts.multi_in_flight.max(1)
        } else {
            opts.window.max(1)
        },
        bytes: opts.window_bytes,
    }
}

/// What the check after a lost connection got.
pub(crate) enum Checked {
    /// The server was read: its UIDVALIDITY and one answer per want, or
    /// the check's error.
    Read(Result<(Option<u32>, Vec<Found>), String>),
    /// No new connection (the error).
    Unreachable(String),
}

/// What [`Lane::next_command`] gave.
#[derive(Debug)]
pub(crate) enum Built {
    /// Send this.
    Cmd(Cmd),
    /// The unit could not be encoded: its messages failed (reported).
    Refused,
    /// Nothing queued, or nothing may be sent now.
    Empty,
}

/// One connection's queue (see the module header).
pub(crate) struct Lane {
    mailbox: String,
    policy: Policy,
    queue: VecDeque<Unit>,
    inflight: HashMap<u64, Unit>,
    next_key: u64,
    pause: Option<Duration>,
    recreate: bool,
    /// After a lost connection: what is sent again once checked.
    resend: Vec<Unit>,
    reports: Vec<Report>,
    stop: Option<String>,
    /// Messages put back in line to be sent again, not yet taken.
    retried: u64,
}

impl Lane {
    /// A lane for `mailbox` (named in logs).
    pub fn new(mailbox: &str, policy: Policy) -> Lane {
        Lane {
            mailbox: mailbox.to_string(),
            policy,
            queue: VecDeque::new(),
            inflight: HashMap::new(),
            next_key: 0,
            pause: None,
            recreate: false,
            resend: Vec::new(),
            reports: Vec::new(),
            stop: None,
            retried: 0,
        }
    }

    /// A unit from the dispatcher, last in line.
    pub fn push(&mut self, unit: Unit) {
        self.queue.push_back(unit);
    }

    /// Nothing queued.
    pub fn queue_is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Nothing queued and nothing in flight.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.inflight.is_empty()
    }

    /// False while a pause or a recreate is due.
    pub fn may_send(&self) -> bool {
        self.pause.is_none() && !self.recreate
    }

    /// The pause due before sending again.
    pub fn take_pause(&mut self) -> Option<Duration> {
        self.pause.take()
    }

    /// True once when the mailbox must be created again first.
    pub fn take_recreate(&mut self) -> bool {
        std::mem::take(&mut self.recreate)
    }

    /// Reports for the dispatcher, in order.
    pub fn take_reports(&mut self) -> Vec<Report> {
        std::mem::take(&mut self.reports)
    }

    /// Messages put back to be sent again since the last call.
    pub fn take_retried(&mut self) -> u64 {
        std::mem::take(&mut self.retried)
    }

    /// Why the account must stop, once.
    pub fn take_stop(&mut self) -> Option<String> {
        self.stop.take()
    }

    /// The next command, first in line, encoded for `mbox`; it counts as
    /// in flight from here.
    pub fn next_command(
        &mut self,
        caps: &Capabilities,
        mbox: &Mailbox<'static>,
        claims: &mut Claims,
    ) -> Built {
        if !self.may_send() {
            return Built::Empty;
        }
        let Some(unit) = self.queue.pop_front() else {
            return Built::Empty;
        };
        let key = self.next_key;
        self.next_key += 1;
        let built = command_tag(key).and_then(|tag| {
            let wire: Vec<WireMsg<'_>> = unit
                .msgs
                .iter()
                .map(|m| WireMsg {
                    data: &m.data,
                    flags: m.flags.clone(),
                    date: m.date.clone(),
                })
                .collect();
            build_append(caps, mbox, tag, key, &wire)
        });
        match built {
            Ok(cmd) => {
                claims.sending(&unit.msgs);
                self.inflight.insert(key, unit);
                Built::Cmd(cmd)
            }
            Err(e) => {
                self.reports
                    .extend(Report::fail_all(unit.msgs, &e.to_string()));
                Built::Refused
            }
        }
    }

    /// The unit command `key` carries, while it is in flight.
    pub fn unit(&self, key: u64) -> Option<&Unit> {
        self.inflight.get(&key)
    }

    /// The tagged answer to command `key`.
    pub fn answered(&mut self, key: u64, outcome: CmdOutcome, claims: &mut Claims) {
        let Some(mut unit) = self.inflight.remove(&key) else {
            return;
        };
        let action = decide(outcome, unit.msgs.len(), unit.tries, &self.policy);
        if let Action::Stored { uid_validity, uids } = action {
            for (m, uid) in unit.msgs.into_iter().zip(uids) {
                claims.not_sending(std::slice::from_ref(&m));
                claims.stored(&m, uid);
                self.reports.push(Report::Done {
                    key: m.key,
                    result: DeliveryResult::Delivered(DestRef::imap(uid_validity, uid)),
                });
            }
            return;
        }
        // Refused: nothing of it was stored.
        claims.not_sending(&unit.msgs);
        if matches!(
            action,
            Action::Recreate { .. } | Action::Pause { .. } | Action::Split { .. }
        ) {
            self.retried += unit.msgs.len() as u64;
        }
        match action {
            Action::Stored { .. } => {}
            Action::Recreate { tries } => {
                unit.tries = tries;
                self.recreate = true;
                self.queue.push_front(unit);
            }
            Action::Pause { wait, said, tries } => {
                tracing::warn!("{}: {said}; pausing {wait:?}", self.mailbox);
                unit.tries = tries;
                self.pause = Some(self.pause.map_or(wait, |p| p.max(wait)));
                self.queue.push_front(unit);
            }
            Action::Split { note } => {
                self.reports.push(Report::Note(note));
                for m in unit.msgs.into_iter().rev() {
                    self.queue.push_front(Unit {
                        msgs: vec![m],
                        tries: unit.tries,
                    });
                }
            }
            Action::Fail { reason } => self.reports.extend(Report::fail_all(unit.msgs, &reason)),
            Action::StopAccount { reason } => {
                self.reports.extend(Report::fail_all(unit.msgs, &reason));
                self.stop = Some(reason);
            }
        }
    }

    /// The connection died (`why`: the error as the report shows it):
    /// [`Self::lost`], then `check` looks on the server for what may have
    /// arrived (called only when there is something to look for), then
    /// [`Self::requeue`]. `claims` is locked for each step, never across
    /// `check`.
    pub fn recover(
        &mut self,
        lost: &Lost,
        why: &str,
        claims: &Mutex<Claims>,
        check: &mut dyn FnMut(&[Want]) -> Checked,
    ) {
        let lock = || claims.lock().unwrap_or_else(|p| p.into_inner());
        let units = self.lost(lost, why, &mut lock());
        if !units.is_empty() {
            match check(&self.wants(&units)) {
                Checked::Read(result) => self.checked(units, result, &mut lock()),
                Checked::Unreachable(e) => self.unreachable(units, why, &e, &mut lock()),
            }
        }
        self.requeue(why);
    }

    /// The commands not written wait to be sent again, those of a
    /// timed-out connection are in doubt, and the others are returned, to
    /// be looked for on the server ([`Self::checked`],
    /// [`Self::unreachable`]).
    fn lost(&mut self, lost: &Lost, why: &str, claims: &mut Claims) -> Vec<Unit> {
        let keys = lost.not_stored.iter().map(|k| (false, k));
        let keys = keys.chain(lost.unknown.iter().map(|k| (true, k)));
        let mut check = Vec::new();
        for (written, key) in keys {
            let Some(u) = self.inflight.remove(key) else {
                continue;
            };
            claims.not_sending(&u.msgs);
            match lost::after_loss(written, lost.timed_out, why) {
                Verdict::Retry => self.resend.push(u),
                Verdict::InDoubt(reason) => self.in_doubt(u.msgs, &reason, claims),
                Verdict::Check | Verdict::Stored(_) => check.push(u),
            }
        }
        check
    }

    /// What to look for on the server for `units`.
    fn wants(&self, units: &[Unit]) -> Vec<Want> {
        units
            .iter()
            .flat_map(|u| &u.msgs)
            .map(|m| Want {
                hash: m.hash,
                size: Some(m.data.len() as u64),
                lower: m.lower,
                uid_validity: self.policy.uid_validity,
                message_id: m.message_id.clone(),
                internal_date: m.sent_date,
                decoded: m.decoded,
                fingerprint: m
                    .message_id
                    .is_none()
                    .then(|| header_fingerprint(&m.data))
                    .flatten(),
            })
            .collect()
    }

    /// What the check of `units` found: the mailbox's UIDVALIDITY and one
    /// answer per message (in [`Self::wants`] order), or the check's error.
    fn checked(
        &mut self,
        units: Vec<Unit>,
        result: Result<(Option<u32>, Vec<Found>), String>,
        claims: &mut Claims,
    ) {
        let (uv, found) = match result {
            Ok(r) => r,
            Err(e) => {
                let Verdict::InDoubt(reason) = lost::check_failed(&e) else {
                    return;
                };
                let msgs = units.into_iter().flat_map(|u| u.msgs).collect();
                return self.in_doubt(msgs, &reason, claims);
            }
        };
        let mut found = found.into_iter();
        for mut u in units {
            let mut rest = Vec::new();
            for m in u.msgs.drain(..) {
                let verdict = found
                    .next()
                    .map_or(Verdict::Retry, |f| lost::after_check(&f));
                match verdict {
                    Verdict::Stored(uid) => {
                        claims.stored(&m, Some(uid));
                        self.reports.push(Report::Done {
                            key: m.key,
                            result: DeliveryResult::Delivered(DestRef::imap(uv, Some(uid))),
                        });
                    }
                    Verdict::InDoubt(reason) => self.in_doubt(vec![m], &reason, claims),
                    Verdict::Retry | Verdict::Check => rest.push(m),
                }
            }
            if !rest.is_empty() {
                u.msgs = rest;
                self.resend.push(u);
            }
        }
    }

    /// No connection for the check of `units` (`error`): they are in doubt
    /// and the account stops.
    fn unreachable(&mut self, units: Vec<Unit>, why: &str, error: &str, claims: &mut Claims) {
        let (verdict, stop) = lost::reconnect_failed(why, error);
        if let Verdict::InDoubt(reason) = verdict {
            let msgs = units.into_iter().flat_map(|u| u.msgs).collect();
            self.in_doubt(msgs, &reason, claims);
        }
        self.stop = Some(stop);
    }

    /// Puts what is sent again after the loss first in line (each message
    /// counts one more lost connection, and fails when `retries` are used
    /// up), and pauses by the most connections a queued message has lost.
    fn requeue(&mut self, why: &str) {
        for mut u in std::mem::take(&mut self.resend).into_iter().rev() {
            let mut keep = Vec::new();
            for mut m in u.msgs.drain(..) {
                m.attempts += 1;
                match lost::retry(m.attempts, self.policy.retries, why) {
                    Ok(()) => keep.push(m),
                    Err(reason) => self.reports.extend(Report::fail_all(vec![m], &reason)),
                }
            }
            if !keep.is_empty() {
                self.retried += keep.len() as u64;
                u.msgs = keep;
                self.queue.push_front(u);
            }
        }
        let most = self
            .queue
            .iter()
            .flat_map(|u| u.msgs.iter().map(|m| m.attempts))
            .max()
            .unwrap_or(0);
        if let Some(p) = lost::pause(most, self.policy.backoff_max) {
            self.pause = Some(p);
        }
    }

    /// The account stopped (`why`): everything queued or in flight fails
    /// "not sent".
    pub fn abandon(&mut self, why: &str, claims: &mut Claims) {
        let mut units: Vec<Unit> = self.queue.drain(..).collect();
        for (_, u) in self.inflight.drain() {
            claims.not_sending(&u.msgs);
            units.push(u);
        }
        let reason = format!("not sent: {why}");
        for u in units {
            self.reports.extend(Report::fail_all(u.msgs, &reason));
        }
    }

    /// `msgs` may be on the server: counted as such, reported failed.
    fn in_doubt(&mut self, msgs: Vec<Msg>, reason: &str, claims: &mut Claims) {
        claims.in_doubt(&msgs);
        self.reports.extend(Report::fail_all(msgs, reason));
    }
}
