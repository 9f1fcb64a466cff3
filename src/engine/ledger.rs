//! The ledger of one folder: where every item ends (the report's buckets:
//! migrated, already present, skipped, failed) and what the journal learns
//! of it (pending before it is sent, done once it arrived).
//!
//! Invariants a maintainer must keep:
//! - every item is put in exactly one bucket, through exactly one call:
//!   [`Ledger::skip`] (or [`Ledger::skip_all`]), [`Ledger::fail`],
//!   [`Ledger::present`], [`Ledger::present_by_hash`], [`Ledger::empty`],
//!   or [`Ledger::take`] followed by one destination outcome
//!   ([`Ledger::event`] with `Done`), [`Ledger::unsent`] or
//!   [`Ledger::orphans`]; items never produced go through
//!   [`Ledger::unreached`];
//! - a Pending announcement is acknowledged only once its rows are
//!   committed; once the journal failed nothing more is acknowledged;
//! - when a Pending group or a batch of done rows cannot be committed, the
//!   feed is told to stop (`feed_stop`); a failed refresh of rows found by
//!   hash does not stop it (the feed still hands nothing more out, as the
//!   journal failed), which is how the driver has always behaved;
//! - done rows are committed in batches of `journal_batch`, and before
//!   every Pending group is recorded (the UIDs a server answered are
//!   journaled before the next group is sent), each only after the
//!   session's durability barrier: a batch the barrier could not make
//!   durable is not journaled (a rerun finds it on the destination);
//! - the first journal error is kept and returned by [`Ledger::finish`]:
//!   it stops the run.

use super::producer::Ready;
use super::reason;
use super::worklist::SrcStat;
use crate::dest::{Delivery, DeliveryResult, DestRef, Outgoing, SessionEvent};
use crate::journal::{ItemRow, Journal, JournalError};
use crate::message::{Anomalies, DateSource};
use crate::model::ContentHash;
use crate::progress::metrics::Outcome;
use crate::progress::AccountProgress;
use crate::report::FolderReport;
use crate::source::Item;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

/// The session's durability barrier ([`crate::dest::DestSession::durability_barrier`]).
pub(super) type Barrier = Box<dyn Fn() -> std::io::Result<()> + Send + Sync>;

/// Where a folder's rows go in the journal.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place<'a> {
    pub account: &'a str,
    pub folder: &'a str,
    pub mailbox: &'a str,
}

/// The source stat recorded for an outcome of an item not in flight (a
/// session that reports an item it was never given).
const UNKNOWN_SRC: SrcStat = SrcStat {
    size: 0,
    mtime: None,
};

/// A message handed to the session, until its outcome is known: what its
/// pending and done rows need.
#[derive(Debug, Clone)]
struct InFlight {
    src: SrcStat,
    size: u64,
    internal_date: i64,
    message_id: Option<String>,
    flags: crate::model::MailFlags,
}

/// How a session's stream ended, for the items it did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StreamEnd {
    /// `deliver` returned Ok (it stopped taking, or the stream ran dry).
    Returned,
    /// `deliver` failed with this reason ([`reason::dest_error`]).
    Failed(String),
}

impl StreamEnd {
    fn reason(&self) -> &str {
        match self {
            StreamEnd::Returned => reason::RUN_STOPPED,
            StreamEnd::Failed(r) => r,
        }
    }
}

/// One folder's buckets and journal rows.
pub(super) struct Ledger<'a> {
    journal: &'a Journal,
    progress: &'a AccountProgress<'a>,
    place: Place<'a>,
    batch: usize,
    barrier: Barrier,
    report: &'a mut FolderReport,
    /// Told to stop when the journal fails during delivery.
    feed_stop: &'a AtomicBool,
    in_flight: HashMap<String, InFlight>,
    /// Done rows waiting for the next commit.
    done: Vec<ItemRow>,
    /// Done rows whose source size and mtime are to be refreshed.
    refresh: Vec<ItemRow>,
    /// Items found present by their content ([`Ledger::present_by_hash`]),
    /// for `--sync`'s flag pass after the stream.
    known_by_hash: Vec<String>,
    fatal: Option<JournalError>,
}

/// What a ledger needs besides the report it fills.
pub(super) struct LedgerSetup<'a> {
    pub journal: &'a Journal,
    pub progress: &'a AccountProgress<'a>,
    pub place: Place<'a>,
    /// Done rows per commit.
    pub batch: usize,
    pub barrier: Barrier,
    pub feed_stop: &'a AtomicBool,
}

impl<'a> Ledger<'a> {
    pub fn new(setup: LedgerSetup<'a>, report: &'a mut FolderReport) -> Ledger<'a> {
        Ledger {
            journal: setup.journal,
            progress: setup.progress,
            place: setup.place,
            batch: setup.batch,
            barrier: setup.barrier,
            report,
            feed_stop: setup.feed_stop,
            in_flight: HashMap::new(),
            done: Vec::new(),
            refresh: Vec::new(),
            known_by_hash: Vec::new(),
            fatal: None,
        }
    }

    /// Skipped, with why.
    pub fn skip(&mut self, item: &str, why: impl Into<String>) {
        self.report.skip(item, why);
        self.progress.record(Outcome::Skipped, 1);
    }

    /// Failed, with why.
    pub fn fail(&mut self, item: &str, why: impl Into<String>) {
        let why = why.into();
        if why.starts_with(reason::IN_DOUBT) {
            self.progress.in_doubt(1);
        }
        self.report.fail(item, why);
        self.progress.record(Outcome::Failed, 1);
    }

    /// Every item of `items` skipped for one reason.
    pub fn skip_all(&mut self, items: &[Item], why: &str) {
        for it in items {
            self.skip(&it.id, why);
        }
    }

    /// Already present: the journal has it with the same size and mtime.
    /// The folder's `--sync` counts.
    pub fn sync_counts(&mut self) -> &mut crate::report::SyncCounts {
        self.report.sync.get_or_insert_with(Default::default)
    }

    pub fn present(&mut self) {
        self.report.counts.already_present += 1;
        self.progress.record(Outcome::Present, 1);
    }

    /// Already present: the journal has its content; its row gets the
    /// file's new size and mtime.
    pub fn present_by_hash(&mut self, item: &str, hash: ContentHash, src: SrcStat) {
        self.report.counts.already_present += 1;
        self.known_by_hash.push(item.to_string());
        self.refresh.push(self.row(item, hash, src));
        if self.refresh.len() >= self.batch {
            self.flush();
        }
        self.progress.record(Outcome::Present, 1);
    }

    /// The items found present by their content so far.
    pub fn known_by_hash(&self) -> &[String] {
        &self.known_by_hash
    }

    /// A 0-byte file: skipped, and counted as an anomaly.
    pub fn empty(&mut self, item: &str) {
        self.report.skip(item, reason::EMPTY_FILE);
        *self
            .report
            .anomalies
            .entry(reason::EMPTY_FILE_ANOMALY.into())
            .or_default() += 1;
        self.progress.record(Outcome::Skipped, 1);
    }

    /// A line for the folder's report.
    pub fn note(&mut self, note: String) {
        self.report.notes.push(note);
    }

    /// True once the journal failed: nothing more may be sent.
    pub fn journal_failed(&self) -> bool {
        self.fatal.is_some()
    }

    /// A message goes to the session: its date source and anomalies are
    /// counted and it is in flight until its outcome is known.
    pub fn take(&mut self, ready: Ready) -> Outgoing {
        let Ready {
            outgoing,
            src,
            date_source,
            anomalies,
        } = ready;
        self.count_facts(date_source, &anomalies);
        self.in_flight.insert(
            outgoing.item_id.clone(),
            InFlight {
                src,
                size: outgoing.message.bytes.len() as u64,
                internal_date: outgoing.internal_date.timestamp(),
                message_id: outgoing.message.message_id.clone(),
                flags: outgoing.flags,
            },
        );
        outgoing
    }

    fn count_facts(&mut self, date_source: DateSource, anomalies: &Anomalies) {
        *self
            .report
            .date_sources
            .entry(date_source.as_str().to_string())
            .or_default() += 1;
        for a in anomalies.names() {
            *self.report.anomalies.entry(a.to_string()).or_default() += 1;
        }
    }

    /// What the session reports while it delivers; `true` for a Pending
    /// group means it is durable and may be sent.
    pub fn event(&mut self, ev: SessionEvent) -> bool {
        match ev {
            SessionEvent::Pending { items, marker } => self.pending(&items, &marker),
            SessionEvent::Note(n) => {
                self.note(n);
                true
            }
            SessionEvent::Altered {
                item_id,
                reason,
                stored,
            } => {
                if let Some((uid, size)) = stored {
                    self.stored_size(&item_id, uid, size);
                }
                self.report.altered.push(crate::report::ItemNote {
                    item: item_id,
                    reason,
                    path: None,
                });
                true
            }
            SessionEvent::Done(d) => {
                self.delivered(d);
                true
            }
        }
    }

    /// The size the target stored for a delivered copy, when it is not the
    /// size sent: on its done row, so that `sync` can still prove the copy
    /// is its own (a row already committed is updated).
    fn stored_size(&mut self, item: &str, uid: u32, size: u64) {
        if let Some(row) = self
            .done
            .iter_mut()
            .find(|r| r.item == item && r.uid == Some(uid))
        {
            row.stored_size = Some(size);
            return;
        }
        if self.fatal.is_some() {
            return;
        }
        let row = [(item.to_string(), uid, size)];
        let place = self.place;
        if let Err(e) = self
            .journal
            .record_stored_size(place.account, place.folder, &row)
        {
            self.fatal = Some(e);
            self.feed_stop.store(true, Ordering::Relaxed);
        }
    }

    fn pending(&mut self, items: &[(String, ContentHash)], marker: &str) -> bool {
        // What arrived so far (with the UIDs the server answered) is
        // journaled before the next group goes out, so a kill leaves at
        // most the groups still in flight to reconcile: in the same
        // transaction as the group's pending rows (one commit, one sync of
        // the journal's log per group, not two).
        let done = self.durable_done();
        if self.fatal.is_some() {
            return false;
        }
        let rows: Vec<ItemRow> = items
            .iter()
            .map(|(item, hash)| self.pending_row(item, *hash, marker))
            .collect();
        match self.journal.record_done_and_pending(&done, &rows) {
            Ok(()) => true,
            Err(e) => {
                self.fatal = Some(e);
                self.feed_stop.store(true, Ordering::Relaxed);
                false
            }
        }
    }

    fn pending_row(&self, item: &str, hash: ContentHash, marker: &str) -> ItemRow {
        let f = self.in_flight.get(item);
        ItemRow {
            marker: Some(marker.to_string()),
            size: f.map(|f| f.size),
            internal_date: f.map(|f| f.internal_date),
            message_id: f.and_then(|f| f.message_id.clone()),
            flags: f.map(|f| f.flags),
            ..self.row(item, hash, f.map_or(UNKNOWN_SRC, |f| f.src))
        }
    }

    fn delivered(&mut self, d: Delivery) {
        let flight = self.in_flight.remove(&d.item_id);
        // What the target holds: a copy found there has its own flags.
        let flags = d.target_flags.or(flight.as_ref().map(|f| f.flags));
        let src = flight.map_or(UNKNOWN_SRC, |f| f.src);
        let Delivery {
            item_id,
            hash,
            size,
            internal_date,
            message_id,
            result,
            target_flags: _,
        } = d;
        let base = self.row(&item_id, hash, src);
        let done_row = move |r: DestRef| ItemRow {
            target_id: r.id,
            uid_validity: r.uid_validity,
            uid: r.uid,
            size: Some(size),
            internal_date: Some(internal_date.timestamp()),
            message_id,
            flags,
            ..base
        };
        match result {
            DeliveryResult::Delivered(r) => {
                self.report.counts.migrated += 1;
                self.report.counts.bytes_migrated += size;
                if let Some(uid) = r.uid {
                    self.report.saw_uid(r.uid_validity, uid);
                }
                self.progress.record(Outcome::Migrated(size), 1);
                self.done.push(done_row(r));
            }
            DeliveryResult::AlreadyPresent(r) => {
                self.report.counts.already_present += 1;
                self.progress.record(Outcome::Present, 1);
                self.done.push(done_row(r));
            }
            DeliveryResult::Skipped { reason } => self.skip(&item_id, reason),
            DeliveryResult::Failed { reason } => self.fail(&item_id, reason),
        }
        if self.done.len() >= self.batch {
            self.flush();
            if self.fatal.is_some() {
                self.feed_stop.store(true, Ordering::Relaxed);
            }
        }
    }

    /// A message the stream still had when the session returned: never
    /// sent. Failed when the session failed, else skipped.
    pub fn unsent(&mut self, item: &str, end: &StreamEnd) {
        self.in_flight.remove(item);
        match end {
            StreamEnd::Failed(why) => self.fail(item, why.as_str()),
            StreamEnd::Returned => self.skip(item, end.reason()),
        }
    }

    /// Messages the session took and never reported: failed (in item
    /// order).
    pub fn orphans(&mut self, end: &StreamEnd) {
        let mut items: Vec<String> = self.in_flight.drain().map(|(k, _)| k).collect();
        items.sort();
        let why = reason::no_outcome(end.reason());
        for item in items {
            self.fail(&item, why.as_str());
        }
    }

    /// Items the producer never reached: skipped when the run stopped
    /// (interrupted, or the journal failed), else failed, with the
    /// session's reason when it failed (a full disk, over quota), not a
    /// bare "stopped".
    pub fn unreached<'i>(
        &mut self,
        items: impl Iterator<Item = &'i Item>,
        interrupted: bool,
        end: &StreamEnd,
    ) {
        for it in items {
            if interrupted || self.fatal.is_some() {
                self.skip(&it.id, reason::RUN_STOPPED);
            } else {
                match end {
                    StreamEnd::Failed(why) => self.fail(&it.id, why.as_str()),
                    StreamEnd::Returned => self.fail(&it.id, reason::DEST_STOPPED),
                }
            }
        }
    }

    /// Commits what is left; the first journal error, if any.
    pub fn finish(mut self) -> Result<(), JournalError> {
        self.flush();
        match self.fatal {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn row(&self, item: &str, hash: ContentHash, src: SrcStat) -> ItemRow {
        ItemRow {
            account: self.place.account.to_string(),
            folder: self.place.folder.to_string(),
            item: item.to_string(),
            hash,
            src_size: Some(src.size),
            src_mtime: src.mtime,
            mailbox: self.place.mailbox.to_string(),
            ..ItemRow::default()
        }
    }

    /// Journals what is batched now: refreshes the source facts, then
    /// (after the barrier) commits the done rows.
    pub fn flush(&mut self) {
        let done = self.durable_done();
        if done.is_empty() {
            return;
        }
        if let Err(e) = self.journal.record_done(&done) {
            self.fatal = Some(e);
        }
    }

    /// The done rows batched now, taken once the source facts are
    /// refreshed and the target's barrier made them durable (none: nothing
    /// batched, a fatal journal error, or a failed barrier, which is noted
    /// and drops them: not claimed in the journal, the deterministic names
    /// or the reconciliation find them next time).
    fn durable_done(&mut self) -> Vec<ItemRow> {
        if self.fatal.is_some() {
            return Vec::new();
        }
        if !self.refresh.is_empty() {
            if let Err(e) = self.journal.refresh_source(&self.refresh) {
                self.fatal = Some(e);
                return Vec::new();
            }
            self.refresh.clear();
        }
        if self.done.is_empty() {
            return Vec::new();
        }
        if let Err(e) = (self.barrier)() {
            self.report.notes.push(reason::barrier_failed(e));
            self.done.clear();
            return Vec::new();
        }
        std::mem::take(&mut self.done)
    }
}
