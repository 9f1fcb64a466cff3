//! A scripted in-memory destination for the engine's tests: each item gets
//! the outcome the test scripts (delivered, already present, failed,
//! skipped, or none at all), and the session can announce Pending groups,
//! fail or stop mid-stream, raise Ctrl-C, answer reconciliation, set flags
//! and refuse to open. What it was given is logged for the test to check.

use crate::dest::{
    Delivery, DeliveryResult, DestError, DestRef, DestSession, Destination, Lookahead, MailboxSpec,
    Outgoing, Planner, Reconciled, SessionEvent,
};
use crate::model::{Account, ContentHash, DoneCopy, MailFlags, PendingItem};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// What the session does with one message.
#[derive(Debug, Clone)]
pub enum Outcome {
    Deliver,
    Present,
    Fail(&'static str),
    Skip(&'static str),
    /// Taken, never reported.
    Silent,
}

/// How the session behaves.
#[derive(Debug, Default, Clone)]
pub struct Script {
    /// Per item id; [`Outcome::Deliver`] for the others.
    pub outcomes: HashMap<String, Outcome>,
    /// Announce each message as Pending before sending it; a refusal fails
    /// it with "journal unavailable: not sent" and stops the session (as
    /// the IMAP session does).
    pub announce: bool,
    /// `deliver` fails with this error once it took this many messages
    /// (counted over the session).
    pub fail_after: Option<(usize, &'static str)>,
    /// `deliver` returns Ok, taking no more, once it took this many.
    pub stop_after: Option<usize>,
    /// Raises this flag (Ctrl-C) once it took this many.
    pub cancel_after: Option<(usize, Arc<AtomicBool>)>,
    /// Reconciliation answers per item id ([`Reconciled::Absent`] else).
    pub reconcile: HashMap<String, Reconciled>,
    /// `open` fails: `Some(None)` with NotMapped, `Some(Some(e))` with `e`.
    pub open_error: Option<Option<&'static str>>,
    /// `prepare_mailbox` fails with this.
    pub mailbox_error: Option<&'static str>,
    /// The durability barrier fails.
    pub barrier_error: bool,
    /// Sessions an account may migrate folders on at once (0: 1).
    pub sessions: usize,
}

/// What the session saw.
#[derive(Debug, Default)]
pub struct Log {
    /// Messages taken from the stream, by item id.
    pub taken: Vec<String>,
    /// Messages stored (delivered): (mailbox, item, hash).
    pub stored: Vec<(String, String, ContentHash)>,
    /// Pending groups announced, and whether the engine acknowledged them.
    pub announced: Vec<(Vec<String>, bool)>,
    /// Reconciliation requests: (mailbox, pending items, known copies).
    pub reconciled: Vec<(String, Vec<String>, usize)>,
    /// Flag changes asked (`sync`): (mailbox, UID, from, to).
    pub flag_changes: Vec<(String, Option<u32>, MailFlags, MailFlags)>,
    /// Each `deliver` that took every message: (session, mailbox, the
    /// folder the driver said comes next).
    pub told_next: Vec<(usize, String, Option<String>)>,
}

/// The destination.
#[derive(Debug, Clone, Default)]
pub struct FakeDest {
    pub script: Script,
    pub log: Arc<Mutex<Log>>,
    /// Sessions opened so far.
    opened: Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeDest {
    pub fn new(script: Script) -> FakeDest {
        FakeDest {
            script,
            log: Arc::default(),
            opened: Arc::default(),
        }
    }

    pub fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Destination for FakeDest {
    fn id(&self) -> String {
        "fake:".into()
    }

    fn open(&self, account: &Account) -> Result<Box<dyn DestSession>, DestError> {
        match self.script.open_error {
            Some(None) => Err(DestError::NotMapped("no place for it".into())),
            Some(Some(e)) => Err(DestError::Protocol(e.into())),
            None => Ok(Box::new(FakeSession {
                user: account.id(),
                script: self.script.clone(),
                log: self.log.clone(),
                taken: 0,
                next_uid: 1,
                serial: self.opened.fetch_add(1, Ordering::Relaxed),
                lookahead: None,
            })),
        }
    }

    fn folder_sessions(&self, wanted: usize) -> usize {
        wanted.min(self.script.sessions.max(1))
    }
}

struct FakeSession {
    user: String,
    script: Script,
    log: Arc<Mutex<Log>>,
    taken: usize,
    next_uid: u32,
    /// The session's number (in opening order).
    serial: usize,
    lookahead: Option<Lookahead>,
}

impl FakeSession {
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn uid(&mut self) -> DestRef {
        let uid = self.next_uid;
        self.next_uid += 1;
        DestRef::imap(Some(7), Some(uid))
    }

    /// Announces `o`; false when the engine refused.
    fn announce(&self, o: &Outgoing, events: &mut dyn FnMut(SessionEvent) -> bool) -> bool {
        let ok = events(SessionEvent::Pending {
            items: vec![(o.item_id.clone(), o.message.hash)],
            marker: format!("marker-{}", o.item_id),
        });
        self.log().announced.push((vec![o.item_id.clone()], ok));
        ok
    }

    fn outcome(&mut self, mailbox: &str, o: &Outgoing) -> Option<DeliveryResult> {
        let outcome = self.script.outcomes.get(&o.item_id).cloned();
        Some(match outcome.unwrap_or(Outcome::Deliver) {
            Outcome::Deliver => {
                let item = (mailbox.to_string(), o.item_id.clone(), o.message.hash);
                self.log().stored.push(item);
                DeliveryResult::Delivered(self.uid())
            }
            Outcome::Present => DeliveryResult::AlreadyPresent(self.uid()),
            Outcome::Fail(r) => DeliveryResult::Failed { reason: r.into() },
            Outcome::Skip(r) => DeliveryResult::Skipped { reason: r.into() },
            Outcome::Silent => return None,
        })
    }
}

fn done(o: &Outgoing, result: DeliveryResult) -> SessionEvent {
    SessionEvent::Done(Delivery {
        item_id: o.item_id.clone(),
        hash: o.message.hash,
        size: o.message.bytes.len() as u64,
        internal_date: o.internal_date,
        message_id: o.message.message_id.clone(),
        result,
        target_flags: None,
    })
}

impl Planner for FakeSession {
    fn target_account(&self) -> String {
        format!("fake/{}", self.user)
    }

    fn finish(self: Box<Self>) -> Result<(), DestError> {
        Ok(())
    }

    fn plan_mailbox(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        Ok(spec.source_path.clone())
    }
}

impl DestSession for FakeSession {
    fn prepare_mailbox(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        match self.script.mailbox_error {
            Some(e) => Err(DestError::Protocol(e.into())),
            None => Ok(spec.source_path.clone()),
        }
    }

    fn deliver(
        &mut self,
        mailbox: &str,
        messages: &mut dyn Iterator<Item = Outgoing>,
        events: &mut dyn FnMut(SessionEvent) -> bool,
    ) -> Result<(), DestError> {
        for o in messages {
            self.taken += 1;
            self.log().taken.push(o.item_id.clone());
            if self.script.announce && !self.announce(&o, events) {
                let reason = "journal unavailable: not sent".to_string();
                events(done(&o, DeliveryResult::Failed { reason }));
                return Err(DestError::Stopped("journal unavailable: not sent".into()));
            }
            if let Some(result) = self.outcome(mailbox, &o) {
                events(done(&o, result));
            }
            if let Some((n, flag)) = &self.script.cancel_after {
                if self.taken == *n {
                    flag.store(true, Ordering::Relaxed);
                }
            }
            if let Some((n, e)) = self.script.fail_after {
                if self.taken == n {
                    return Err(DestError::Protocol(e.into()));
                }
            }
            if self.script.stop_after == Some(self.taken) {
                return Ok(());
            }
        }
        let next = self
            .lookahead
            .as_ref()
            .and_then(|s| s.lock().unwrap_or_else(|p| p.into_inner()).take());
        let told = (
            self.serial,
            mailbox.to_string(),
            next.map(|s| s.source_path),
        );
        self.log().told_next.push(told);
        Ok(())
    }

    fn lookahead(&mut self, slot: Option<Lookahead>) {
        self.lookahead = slot;
    }

    fn durability_barrier(&self) -> Box<dyn Fn() -> std::io::Result<()> + Send + Sync> {
        let fails = self.script.barrier_error;
        Box::new(move || match fails {
            true => Err(std::io::Error::other("syncfs: read-only file system")),
            false => Ok(()),
        })
    }

    fn set_flags(
        &mut self,
        mailbox: &str,
        changes: &[crate::dest::FlagChange],
    ) -> Result<Vec<bool>, DestError> {
        let mut log = self.log();
        for c in changes {
            log.flag_changes
                .push((mailbox.to_string(), c.target.uid, c.from, c.to));
        }
        Ok(vec![true; changes.len()])
    }

    fn reconcile(
        &mut self,
        mailbox: &str,
        pending: &[PendingItem],
        known: &[DoneCopy],
    ) -> Result<Vec<Reconciled>, DestError> {
        let items = pending.iter().map(|p| p.item.clone()).collect();
        self.log()
            .reconciled
            .push((mailbox.to_string(), items, known.len()));
        Ok(pending
            .iter()
            .map(|p| {
                let answer = self.script.reconcile.get(&p.item).cloned();
                answer.unwrap_or(Reconciled::Absent)
            })
            .collect())
    }
}
