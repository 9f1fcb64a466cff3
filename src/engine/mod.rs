//! The migration driver: source store → prepared messages → destination →
//! journal → report.
//!
//! Per account (`account`): walk the folders, migrate only mail folders,
//! open one destination session and prepare each folder's mailbox. Per
//! folder (`folder`): settle what an interrupted run left pending
//! (`reconcile`), decide each item's fate without reading it
//! ([`worklist`]: skipped, failed, already present, or to read), read and
//! prepare the rest in parallel (`producer`) and stream them into the
//! session, while the `ledger` puts every item in exactly one report
//! bucket and keeps the journal. The reasons and notes the engine writes
//! live in `reason` (what the source says of a folder: `account`).
//! Accounts run in parallel (`parallel_accounts`), and the folders of one
//! account on up to `parallel_folders` sessions (`pool`).
//!
//! Invariants a maintainer must keep:
//! - every item of a migrated folder ends in exactly one bucket (migrated,
//!   already present, skipped, failed), even when the journal or the
//!   destination fails: `expected = migrated + present + skipped + failed`;
//! - a Pending announcement is acknowledged only once it is in the journal,
//!   and the session sends nothing unacknowledged; a journal that fails
//!   stops the whole run (the account's error becomes the report's fatal);
//! - done rows are written only after the session's durability barrier;
//! - once the run stops (Ctrl-C, SIGTERM, a fatal error in any account)
//!   nothing new is handed to a session; one bad file never stops the run.

mod account;
mod folder;
mod ledger;
mod mail_folder;
mod moves;
mod pool;
mod producer;
mod proof;
mod reason;
mod reconcile;
mod renames;
mod sync;
mod takeover;
pub use takeover::take_over_account;
pub mod worklist;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use crate::dest::Destination;
use crate::journal::Journal;
use crate::model::Account;
use crate::pace::Pacer;
use crate::progress::Progress;
use crate::report::{AccountReport, Report};
use crate::select::Selection;
use crate::source::Source;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Options of a migration run.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// Accounts and folders to migrate.
    pub selection: Selection,
    /// Skip items whose index flags carry 0x8 (probably deleted, not
    /// expunged). By default they are migrated, without `\Deleted`.
    pub skip_deleted: bool,
    /// Journal rows per commit.
    pub journal_batch: usize,
    /// Items read and prepared in parallel per chunk.
    pub chunk: usize,
    /// Prepared messages queued ahead of the destination.
    pub queue: usize,
    /// Accounts migrated at once.
    pub parallel_accounts: usize,
    /// `--parallel-folders`: folders of one account migrated at once, each
    /// on its own destination session, as far as the target allows
    /// ([`crate::dest::Destination::folder_sessions`]; see `engine::pool`).
    pub parallel_folders: usize,
    /// Messages per second over the whole run (`None`: unlimited).
    pub max_rate: Option<f64>,
    /// Items larger than this many bytes are not read: each fails with
    /// its size ([`DEFAULT_MAX_MESSAGE_SIZE`] by default).
    pub max_message_size: u64,
    /// `--sync`: also carry flag changes of known items to the target and
    /// report items deleted at the source (see `engine::sync`).
    pub sync: bool,
    /// `--settle`: a file modified less than this many seconds before the
    /// run started is left for the next run (0: none is).
    pub settle: u64,
    /// `--propagate-deletes` (with `sync`): remove from the target the
    /// messages this tool put there whose source item is gone.
    pub propagate_deletes: bool,
}

/// The default `--parallel-folders`.
pub const DEFAULT_PARALLEL_FOLDERS: usize = 4;

/// The default `--max-message-size`: 256 MiB, seven times Gmail's 35 MB
/// limit and far below what a machine has (each message is held in memory
/// once while it is prepared and sent; chunks of them are read in
/// parallel).
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 256 * 1024 * 1024;

impl Default for MigrateOptions {
    fn default() -> Self {
        MigrateOptions {
            selection: Selection::default(),
            skip_deleted: false,
            journal_batch: 512,
            chunk: 32,
            queue: 64,
            parallel_accounts: 2,
            parallel_folders: DEFAULT_PARALLEL_FOLDERS,
            max_rate: None,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            sync: false,
            settle: 0,
            propagate_deletes: false,
        }
    }
}

/// What every account of a run shares: read-only context, the pacer and
/// the two ways a run stops.
struct Run<'a> {
    source: &'a dyn Source,
    target: &'a dyn Destination,
    journal: &'a Journal,
    opts: &'a MigrateOptions,
    progress: &'a Progress,
    /// Ctrl-C / SIGTERM.
    cancel: &'a AtomicBool,
    /// Set when an account hit a fatal (journal) error: the others stop.
    stop: AtomicBool,
    /// Unix seconds at the start, for plausible internal dates.
    now: i64,
    pacer: Pacer,
}

impl Run<'_> {
    /// True once the run stops: interrupted, or a fatal error anywhere.
    fn halted(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.cancel.load(Ordering::Relaxed)
    }

    /// True when the user interrupted the run.
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Runs a migration and returns its report (finalised, with exit code).
pub fn migrate(
    source: &dyn Source,
    target: &dyn Destination,
    journal: &Journal,
    opts: &MigrateOptions,
    progress: &Progress,
    cancel: &AtomicBool,
) -> Report {
    let mut report = Report {
        version: env!("CARGO_PKG_VERSION").to_string(),
        started: chrono::Utc::now().to_rfc3339(),
        store: source.root().display().to_string(),
        target: target.id(),
        journal: journal.path().display().to_string(),
        ..Report::default()
    };
    report.notes = source.notes();
    match source.accounts() {
        Ok(list) => {
            let accounts: Vec<Account> = list
                .accounts
                .into_iter()
                .filter(|a| opts.selection.account(&a.id()))
                .collect();
            let run = Run {
                source,
                target,
                journal,
                opts,
                progress,
                cancel,
                stop: AtomicBool::new(false),
                now: chrono::Utc::now().timestamp(),
                pacer: Pacer::new(opts.max_rate),
            };
            (report.accounts, report.fatal) = run_accounts(&run, &accounts);
            report.interrupted = cancel.load(Ordering::Relaxed);
            report.finished = chrono::Utc::now().to_rfc3339();
        }
        Err(e) => report.fatal = Some(e.to_string()),
    }
    report.finalize();
    report
}

/// Migrates the accounts, `parallel_accounts` at a time, and returns their
/// reports in the order given and the first fatal error. A fatal error
/// stops the run: no account starts after it.
fn run_accounts(run: &Run<'_>, accounts: &[Account]) -> (Vec<AccountReport>, Option<String>) {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, AccountReport)>> = Mutex::new(Vec::new());
    let fatal: Mutex<Option<String>> = Mutex::new(None);
    let workers = run.opts.parallel_accounts.clamp(1, accounts.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if run.stop.load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(account) = accounts.get(i) else {
                    break;
                };
                let (rep, err) = account::migrate_account(run, account);
                if let Some(e) = err {
                    run.stop.store(true, Ordering::Relaxed);
                    let mut f = fatal.lock().unwrap_or_else(|p| p.into_inner());
                    f.get_or_insert(e);
                }
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((i, rep));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let reports = results.into_iter().map(|(_, r)| r).collect();
    (
        reports,
        fatal.into_inner().unwrap_or_else(|p| p.into_inner()),
    )
}
