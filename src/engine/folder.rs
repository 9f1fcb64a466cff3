//! One folder's migration into its prepared mailbox: reconcile, (`--sync`)
//! forget the journaled copies gone from the target, work list, then the
//! producer feeding the session while the ledger keeps the books.
//!
//! Threads: the producer runs on its own thread (reading on the rayon
//! pool); the session's `deliver` runs on this one and pulls from the
//! [`Feed`]. The session trait lends the message stream and the event
//! callback at the same time, so the two share the ledger through one
//! `RefCell`; every borrow is a single ledger call, never held across the
//! pacer's wait or a call into the session.
//!
//! Invariants a maintainer must keep:
//! - after `deliver` returns, the feed is drained (nothing is left
//!   unaccounted in the channel), the session's unreported messages are
//!   failed, and the items the producer never reached are settled;
//! - once the run halts or the journal fails, the feed hands nothing more
//!   to the session;
//! - `--max-rate` waits only while the folder is still sending, and a stop
//!   ends the wait.

use super::ledger::{Ledger, LedgerSetup, Place, StreamEnd};
use super::producer::{ByteGate, Produced, Producer, Ready, Work, QUEUE_BYTES};
use super::reason;
use super::reconcile::{self, PendingPlace};
use super::worklist::{self, Candidate, DoneRows, InDoubt, Known, Verdict};
use super::Run;
use crate::dest::{DestSession, Lookahead, MailboxSpec, Outgoing};
use crate::journal::JournalError;
use crate::progress::AccountProgress;
use crate::report::FolderReport;
use crate::source::Folder;
use crossbeam_channel::Receiver;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};

/// Which folder comes next on the session, asked when the current one has
/// handed out its last message (see [`crate::dest::DestSession::lookahead`]).
pub(super) type NextFolder<'n> = &'n mut dyn FnMut() -> Option<MailboxSpec>;

/// One folder of one account, going to one mailbox.
pub(super) struct FolderJob<'a> {
    pub run: &'a Run<'a>,
    pub account: &'a str,
    pub folder: &'a Folder,
    /// The prepared mailbox.
    pub mailbox: &'a str,
    pub progress: &'a AccountProgress<'a>,
}

/// The journal's view of the folder at its start.
struct Start {
    done: DoneRows,
    in_doubt: InDoubt,
}

impl FolderJob<'_> {
    /// Migrates the folder, filling `fr`. A journal error is returned (it
    /// stops the run) once every item is accounted for.
    pub fn migrate(
        &self,
        session: &mut dyn DestSession,
        fr: &mut FolderReport,
        next: NextFolder<'_>,
    ) -> Result<(), JournalError> {
        let feed_stop = AtomicBool::new(false);
        let mut ledger = Ledger::new(
            LedgerSetup {
                journal: self.run.journal,
                progress: self.progress,
                place: Place {
                    account: self.account,
                    folder: &self.folder.path,
                    mailbox: self.mailbox,
                },
                batch: self.run.opts.journal_batch,
                barrier: session.durability_barrier(),
                feed_stop: &feed_stop,
            },
            fr,
        );
        let job = super::sync::SyncJob {
            journal: self.run.journal,
            account: self.account,
            folder: self.folder,
            mailbox: self.mailbox,
            propagate_deletes: self.run.opts.propagate_deletes,
            skip_deleted: self.run.opts.skip_deleted,
        };
        let start = match self.start(session, &mut ledger) {
            Ok(mut s) if self.run.opts.sync => job
                .resend_gone(session, &mut s.done, &mut ledger)
                .map(|()| s),
            other => other,
        };
        let start = match start {
            Ok(s) => s,
            Err(e) => {
                // Without the journal nothing can be sent safely; every item
                // is still counted, so the folder's numbers add up.
                ledger.skip_all(&self.folder.items, reason::JOURNAL_ERROR);
                return Err(e);
            }
        };
        let mut present = Vec::new();
        let mut earlier = DoneRows::new();
        let work = self.work(&start, &mut ledger, &mut present, &mut earlier);
        if self.run.opts.sync {
            if let Err(e) = job.run(session, &start.done, &present, &mut ledger) {
                for w in &work {
                    ledger.skip(&w.item.id, reason::JOURNAL_ERROR);
                }
                return Err(e);
            }
        }
        if work.is_empty() {
            if let Err(e) = job.superseded(session, earlier, &mut ledger) {
                ledger.finish()?;
                return Err(e);
            }
            return ledger.finish();
        }
        let mut ledger = self.stream(session, &work, &start.done, ledger, &feed_stop, next);
        if self.run.opts.sync && !self.run.halted() {
            // The new versions journaled first, so they are seen below.
            ledger.flush();
        }
        if self.run.opts.sync && !self.run.halted() && !ledger.journal_failed() {
            // Items read again whose content the journal did not know.
            let known: std::collections::HashSet<&str> =
                ledger.known_by_hash().iter().map(String::as_str).collect();
            let rewritten: Vec<&str> = work
                .iter()
                .map(|w| w.item.id.as_str())
                .filter(|id| start.done.contains_key(*id) && !known.contains(id))
                .collect();
            let found = job.rewritten_earlier(&start.done, &rewritten);
            let done = found.and_then(|more| {
                earlier.extend(more);
                job.superseded(session, earlier, &mut ledger)
            });
            if let Err(e) = done {
                ledger.finish()?;
                return Err(e);
            }
        }
        // Items whose file changed but whose content the journal has: their
        // flags are compared now, not one run later.
        if self.run.opts.sync && !ledger.known_by_hash().is_empty() && !self.run.halted() {
            let ids: std::collections::HashSet<&str> =
                ledger.known_by_hash().iter().map(String::as_str).collect();
            let items: Vec<&crate::source::Item> = work
                .iter()
                .map(|w| w.item)
                .filter(|i| ids.contains(i.id.as_str()))
                .collect();
            if let Err(e) = job.late_flags(session, &start.done, &items, &mut ledger) {
                ledger.finish()?;
                return Err(e);
            }
        }
        ledger.finish()
    }

    /// Reconciles what was pending and reads the done rows.
    fn start(
        &self,
        session: &mut dyn DestSession,
        ledger: &mut Ledger<'_>,
    ) -> Result<Start, JournalError> {
        let place = PendingPlace {
            account: self.account,
            folder: &self.folder.path,
            mailbox: self.mailbox,
        };
        // The journal is keyed by the target's URL, which is only a hint:
        // rows written under another URL for the same store are taken over.
        let mut uid_validity = None;
        if let Some((identity, uv)) = session.identity(self.mailbox) {
            let journal = self.run.journal;
            let moved = journal.take_over(self.account, &self.folder.path, &identity, uv)?;
            for (from, n) in moved {
                ledger.note(reason::taken_over(n, &from));
            }
            journal.record_identity(self.account, &identity)?;
            uid_validity = uv;
        }
        let r = reconcile::reconcile(self.run.journal, session, place)?;
        if let Some(note) = r.note {
            ledger.note(note);
        }
        let mut done = self
            .run
            .journal
            .done_items(self.account, &self.folder.path)?;
        // What the journal accounts for in the mailbox (after reconciling;
        // every row, those of another UIDVALIDITY too): the target compares
        // what else it holds before appending.
        let known = self
            .run
            .journal
            .done_in_mailbox_of(self.account, self.mailbox, &done)?;
        session.journal_copies(self.mailbox, &known);
        // Rows of another UIDVALIDITY of this mailbox name their copies in
        // a mailbox that is gone (recreated, or renamed away and created
        // again on the server): those items are not there, they go again
        // (each first looked for among what the mailbox holds now).
        if let Some(uv) = uid_validity {
            let mut stale = 0usize;
            done.retain(|_, rows| {
                rows.retain(|d| {
                    let other =
                        d.mailbox == self.mailbox && d.target.uid_validity.is_some_and(|v| v != uv);
                    stale += usize::from(other);
                    !other
                });
                !rows.is_empty()
            });
            if stale > 0 {
                ledger.note(reason::other_uid_validity(stale, self.mailbox, uv));
            }
        }
        Ok(Start {
            done,
            in_doubt: r.in_doubt,
        })
    }

    /// Stats every item, decides its fate, settles all but those to read.
    /// Items known present are added to `present`, and (`--sync`) the rows
    /// of earlier versions of items whose file is a later one to
    /// `earlier`.
    fn work<'s>(
        &'s self,
        start: &Start,
        ledger: &mut Ledger<'_>,
        present: &mut Vec<&'s crate::source::Item>,
        earlier: &mut DoneRows,
    ) -> Vec<Work<'s>> {
        let known = Known {
            done: &start.done,
            in_doubt: &start.in_doubt,
        };
        let candidates = self.candidates();
        // (Items with two rows are rare: no lookup per item without one.)
        if self.run.opts.sync && start.done.values().any(|rows| rows.len() > 1) {
            earlier.extend(earlier_versions(&candidates, &start.done));
        }
        let mut work = Vec::new();
        let mut settling = 0u64;
        for (item, verdict) in worklist::work_list(candidates, known, self.run.opts.skip_deleted) {
            match verdict {
                Verdict::Skip(why) => ledger.skip(&item.id, why),
                Verdict::Fail(why) => ledger.fail(&item.id, why),
                Verdict::Present => {
                    present.push(item);
                    ledger.present();
                }
                Verdict::Read(stat) if self.settling(stat.mtime) => {
                    settling += 1;
                    ledger.skip(&item.id, reason::SETTLING);
                }
                Verdict::Read(stat) => work.push(Work { item, stat }),
            }
        }
        if settling > 0 {
            ledger.sync_counts().settling += settling;
            ledger.note(format!(
                "{settling} items modified in the last {} seconds are settling: left for the next run",
                self.run.opts.settle
            ));
        }
        work
    }

    /// `--settle`: the file was modified within the window before the run
    /// started (or as far after it: a clock slightly ahead), so Kerio may
    /// still be writing it. A file dated further in the future (a restore,
    /// a wrong clock) is not being written now: it is migrated, or it would
    /// settle on every run.
    fn settling(&self, mtime: Option<i64>) -> bool {
        let settle = self.run.opts.settle as i64;
        settle > 0 && mtime.is_some_and(|m| m > self.run.now - settle && m <= self.run.now + settle)
    }

    /// The facts the work list decides on: index flags and file stats (on
    /// the rayon pool: a rerun or a sync stats every file of the store).
    fn candidates(&self) -> Vec<Candidate<'_>> {
        use rayon::prelude::*;
        self.folder
            .items
            .par_iter()
            .with_min_len(256)
            .map_init(crate::source::DirStat::default, |dirs, item| Candidate {
                item,
                flagged_deleted: item.deleted(),
                stat: item.stat_in(dirs).map_err(|e| e.source.to_string()),
            })
            .collect()
    }

    /// Streams `work` through the session and settles whatever it did not
    /// finish; the ledger is finished by the caller.
    fn stream<'l>(
        &self,
        session: &mut dyn DestSession,
        work: &[Work<'_>],
        done: &DoneRows,
        ledger: Ledger<'l>,
        feed_stop: &AtomicBool,
        next: NextFolder<'_>,
    ) -> Ledger<'l> {
        let gate = ByteGate::new(QUEUE_BYTES);
        let producer = Producer {
            done,
            now: self.run.now,
            chunk: self.run.opts.chunk,
            max_size: self.run.opts.max_message_size,
            gate: &gate,
        };
        let ledger = RefCell::new(ledger);
        let run = self.run;
        let stopped = move || feed_stop.load(Ordering::Relaxed) || run.halted();
        let (tx, rx) = crossbeam_channel::bounded::<Produced>(self.run.opts.queue.max(1));
        let handed = std::thread::scope(|s| {
            // The producer owns the sender: when it ends, the stream ends.
            let producer_thread = s.spawn(|| producer.run(work, tx, &stopped));
            let slot = Lookahead::default();
            session.lookahead(Some(slot.clone()));
            let mut feed = Feed {
                rx,
                gate: &gate,
                ledger: &ledger,
                run: self.run,
                feed_stop,
                next: Some((next, slot)),
            };
            let result = session.deliver(self.mailbox, &mut feed, &mut |ev| {
                ledger.borrow_mut().event(ev)
            });
            session.lookahead(None);
            // Whatever the session did not take: stop the producer, drain.
            feed_stop.store(true, Ordering::Relaxed);
            let end = match result {
                Err(e) => StreamEnd::Failed(reason::dest_error(e)),
                Ok(()) => StreamEnd::Returned,
            };
            for o in feed.by_ref() {
                ledger.borrow_mut().unsent(&o.item_id, &end);
            }
            drop(feed);
            ledger.borrow_mut().orphans(&end);
            let handed = producer_thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (handed, end)
        });
        let (handed, end) = handed;
        let mut ledger = ledger.into_inner();
        let unreached = work.iter().skip(handed).map(|w| w.item);
        ledger.unreached(unreached, self.run.cancelled(), &end);
        ledger
    }
}

/// The rows of earlier versions of the candidates whose file is the one a
/// row of theirs was sent from (same size and mtime) while other rows of
/// theirs (other content, same item id) were sent before: kept on the
/// target by the run that sent the new version without
/// `--propagate-deletes`. Not when two rows match the file (which is the
/// current one cannot be told).
fn earlier_versions(candidates: &[Candidate<'_>], done: &DoneRows) -> DoneRows {
    let mut earlier = DoneRows::new();
    for c in candidates {
        let (Ok(stat), Some(rows)) = (&c.stat, done.get(&c.item.id)) else {
            continue;
        };
        if rows.len() < 2 {
            continue;
        }
        let same = |d: &crate::journal::DoneItem| worklist::same_file(d, stat);
        if rows.iter().filter(|d| same(d)).count() != 1 {
            continue;
        }
        let old: Vec<_> = rows.iter().filter(|d| !same(d)).cloned().collect();
        earlier.insert(c.item.id.clone(), old);
    }
    earlier
}

/// The stream a session pulls from: produced items, settled in the ledger
/// as they arrive; only messages to send come out.
struct Feed<'f, 'l> {
    rx: Receiver<Produced>,
    /// The queue's byte bound: what is taken out is released.
    gate: &'f ByteGate,
    ledger: &'f RefCell<Ledger<'l>>,
    run: &'f Run<'f>,
    feed_stop: &'f AtomicBool,
    /// Asked once the producer ended (every message taken) and the folder
    /// was not stopped: which folder comes next on this session, for the
    /// session's lookahead slot.
    next: Option<(NextFolder<'f>, Lookahead)>,
}

impl Feed<'_, '_> {
    /// This folder takes no more messages, or the run halted.
    fn stopped(&self) -> bool {
        self.feed_stop.load(Ordering::Relaxed) || self.run.halted()
    }

    /// Settles a produced item; a message to send is returned.
    fn admit(&self, p: Produced) -> Option<Outgoing> {
        match p {
            Produced::Ready(ready) => return self.admit_ready(*ready),
            Produced::Empty { item } => self.ledger.borrow_mut().empty(&item),
            Produced::Unreadable { item, reason } => self.ledger.borrow_mut().fail(&item, reason),
            Produced::KnownByHash { item, hash, src } => {
                self.ledger.borrow_mut().present_by_hash(&item, hash, src)
            }
        }
        None
    }

    fn admit_ready(&self, ready: Ready) -> Option<Outgoing> {
        // --max-rate: not while draining after a stop, and a stop ends the
        // wait.
        let journal_failed = self.ledger.borrow().journal_failed();
        if !self.stopped() && !journal_failed {
            self.run.pacer.wait(&|| self.stopped());
        }
        let mut ledger = self.ledger.borrow_mut();
        if self.run.halted() || ledger.journal_failed() {
            // Nothing new goes out once the run stops.
            ledger.skip(&ready.outgoing.item_id, reason::RUN_STOPPED);
            return None;
        }
        Some(ledger.take(ready))
    }
}

impl Iterator for Feed<'_, '_> {
    type Item = Outgoing;

    fn next(&mut self) -> Option<Outgoing> {
        loop {
            let Ok(p) = self.rx.recv() else {
                if let Some((next, slot)) = self.next.take() {
                    if !self.stopped() {
                        let spec = next();
                        *slot.lock().unwrap_or_else(|p| p.into_inner()) = spec;
                    }
                }
                return None;
            };
            self.gate.release(p.queued_bytes());
            if let Some(o) = self.admit(p) {
                return Some(o);
            }
        }
    }
}
