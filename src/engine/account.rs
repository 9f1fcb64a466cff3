//! One account: walk its folders, open a destination session, prepare
//! each mail folder's mailbox and migrate it ([`super::folder`]); folders
//! that are not mail or not selected are listed, not migrated. Where the
//! target allows more than one session per account, the folders run on
//! several at once ([`super::pool`]); otherwise one after another, in the
//! walk's order, on one session.
//!
//! Invariants a maintainer must keep:
//! - the first session is opened at most once, for the first folder to
//!   migrate; an account the destination has no place for skips its items
//!   ("not mapped"), one it cannot open fails them;
//! - once the run halts (or this account hit a fatal error) every later
//!   folder is still reported, its items skipped ("not attempted: run
//!   stopped");
//! - a journal error is the account's fatal error: it sets the run's stop
//!   and is returned, so the report's `fatal` says it;
//! - the account is walked once, through [`Source::walk`]; the folder
//!   notes are the source's, the same that `scan` and `plan` show;
//! - the report lists the folders in the walk's order, whichever session
//!   migrated them.

use super::folder::FolderJob;
use super::reason;
use super::Run;
use crate::dest::{DestError, DestSession, MailboxSpec};
use crate::mapping::MapSource;
use crate::model::Account;
use crate::model::LinkStats;
use crate::progress::AccountProgress;
use crate::report::{AccountReport, FolderReport, SkippedFolder};
use crate::source::{Folder, FolderKind, Item};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// Migrates one account. Returns its report and a fatal error (journal
/// failure) that must stop the whole run.
pub(super) fn migrate_account(run: &Run<'_>, account: &Account) -> (AccountReport, Option<String>) {
    let mut rep = AccountReport {
        account: account.id(),
        ..AccountReport::default()
    };
    let walk = match run.source.walk(account) {
        Ok(w) => w,
        Err(e) => {
            rep.error = Some(e.to_string());
            return (rep, None);
        }
    };
    rep.skipped_system = walk.skipped.clone();
    rep.notes = walk.notes.clone();
    rep.problems = walk.problems.clone();
    let mut a = AccountRun {
        progress: run.progress.account(&rep.account),
        id: rep.account.clone(),
        rep,
        run,
        account,
        session: None,
        fatal: Mutex::new(None),
        moved: Default::default(),
        links: Vec::new(),
    };
    let sessions = run.target.folder_sessions(run.opts.parallel_folders);
    if run.opts.sync || sessions > 1 {
        // Moves need every folder's view first, and so does grouping the
        // folders by mailbox.
        let folders: Vec<Folder> = walk.collect();
        if run.opts.sync {
            a.moves(&folders);
        }
        if sessions > 1 {
            super::pool::migrate_folders(&mut a, &folders, sessions);
        } else {
            for folder in &folders {
                a.folder(folder);
            }
        }
    } else {
        for folder in walk {
            a.folder(&folder);
        }
    }
    a.finish()
}

/// The account's destination session, or why there is none.
pub(super) enum Session {
    Open(Box<dyn DestSession>),
    /// The destination has no place for this account (why).
    NotMapped(String),
    /// Opening failed (the error).
    Failed(String),
}

/// One account being migrated.
pub(super) struct AccountRun<'a> {
    pub run: &'a Run<'a>,
    pub account: &'a Account,
    /// The account's id (as in the report).
    pub id: String,
    pub rep: AccountReport,
    pub progress: AccountProgress<'a>,
    /// Opened for the first folder to migrate.
    pub session: Option<Session>,
    /// The first journal error of any of its folders.
    pub fatal: Mutex<Option<String>>,
    /// `--sync`: messages moved into each folder (source path).
    pub moved: HashMap<String, u64>,
    /// The append connections of the account's other sessions (`pool`).
    pub links: Vec<LinkStats>,
}

/// What a folder of the account needs, on whichever session it runs.
#[derive(Clone, Copy)]
pub(super) struct AccountCtx<'a> {
    pub run: &'a Run<'a>,
    pub id: &'a str,
    pub progress: &'a AccountProgress<'a>,
    pub moved: &'a HashMap<String, u64>,
    pub fatal: &'a Mutex<Option<String>>,
}

/// A folder as the walk gave it: listed only, or mail to migrate (its
/// report begun).
pub(super) enum Classified {
    Listed(SkippedFolder),
    Mail(Box<FolderReport>),
}

impl AccountCtx<'_> {
    /// True once nothing new may start: the run halted or this account hit
    /// a fatal error.
    pub fn halted(&self) -> bool {
        self.run.halted() || lock(self.fatal).is_some()
    }

    /// Lists the folder, or begins its report (and counts its items in the
    /// progress total).
    pub fn classify(&self, folder: &Folder) -> Classified {
        if folder.kind() != FolderKind::Mail {
            return Classified::Listed(SkippedFolder::groupware(folder));
        }
        if !self.run.opts.selection.folder(&folder.path) {
            return Classified::Listed(SkippedFolder::unselected(folder));
        }
        let mut fr = FolderReport {
            folder: folder.path.clone(),
            notes: folder.notes.clone(),
            ..FolderReport::default()
        };
        fr.counts.expected = folder.items.len() as u64;
        self.progress.add_total(fr.counts.expected);
        Classified::Mail(Box::new(fr))
    }

    /// Every item of the folder skipped: the run stopped.
    pub fn stopped(&self, folder: &Folder, fr: &mut FolderReport) {
        skip_all(fr, &folder.items, reason::RUN_STOPPED, self.progress);
    }

    /// Every item skipped (the run stopped), and the report completed.
    pub fn stopped_and_closed(&self, folder: &Folder, fr: &mut FolderReport) {
        self.stopped(folder, fr);
        self.close(folder, fr);
    }

    /// Migrates a mail folder on `session`, or says why not; its report is
    /// then complete.
    pub fn migrate(&self, session: &mut Session, folder: &Folder, fr: &mut FolderReport) {
        if self.halted() {
            self.stopped(folder, fr);
        } else {
            match session {
                Session::Open(s) => self.on_session(s.as_mut(), folder, fr),
                Session::NotMapped(why) => {
                    skip_all(fr, &folder.items, &reason::not_mapped(why), self.progress)
                }
                Session::Failed(e) => {
                    fail_all(fr, &folder.items, &reason::not_opened(e), self.progress)
                }
            }
        }
        self.close(folder, fr);
    }

    /// Prepares the folder's mailbox and migrates the folder into it.
    fn on_session(&self, session: &mut dyn DestSession, folder: &Folder, fr: &mut FolderReport) {
        let items = &folder.items;
        let spec = MailboxSpec {
            source_path: folder.path.clone(),
            components: folder.components.clone(),
        };
        let mailbox = match session.prepare_mailbox(&spec) {
            Ok(m) => m,
            Err(e) => {
                let why = reason::mailbox_unavailable(e);
                return fail_all(fr, items, &why, self.progress);
            }
        };
        fr.mailbox = Some(mailbox.clone());
        // A folder whose mailbox the source names apart from its path
        // (`#deleted` → `Recovered`, `#archive/2012-12-21` →
        // `Archive/2012-12-21`) shows where it went, as a renamed one does.
        fr.renamed = folder.components.join("/") != folder.path;
        if let Ok(p) = session.explain_mailbox(&spec) {
            fr.renamed |= p.how.is_some_and(|h| h != MapSource::Default) || !p.notes.is_empty();
            fr.notes
                .extend(p.notes.into_iter().map(reason::mapping_note));
        }
        let job = FolderJob {
            run: self.run,
            account: self.id,
            folder,
            mailbox: &mailbox,
            progress: self.progress,
        };
        if let Err(e) = job.migrate(session, fr) {
            lock(self.fatal).get_or_insert(e.to_string());
            self.run.stop.store(true, Ordering::Relaxed);
        }
    }

    /// What every migrated folder's report ends with.
    fn close(&self, folder: &Folder, fr: &mut FolderReport) {
        if let Some(n) = self.moved.get(&folder.path).copied() {
            fr.sync.get_or_insert_with(Default::default).moved_in += n;
            fr.notes.push(format!(
                "{n} messages moved here in Kerio were moved on the target, not uploaded again"
            ));
        }
        fr.attach_paths(folder);
    }
}

impl<'a> AccountRun<'a> {
    /// What the folders share, and the first session (opened on first
    /// use) with the report it writes into.
    pub fn parts(&mut self) -> (AccountCtx<'_>, &mut Option<Session>, &mut AccountReport) {
        let ctx = AccountCtx {
            run: self.run,
            id: &self.id,
            progress: &self.progress,
            moved: &self.moved,
            fatal: &self.fatal,
        };
        (ctx, &mut self.session, &mut self.rep)
    }

    /// The first session, opened on first use.
    pub fn session(&mut self) -> &mut Session {
        let (run, account, rep) = (self.run, self.account, &mut self.rep);
        self.session
            .get_or_insert_with(|| open_session(run, account, rep))
    }

    /// `--sync`: carries the account's folder renames (`engine::renames`)
    /// and moves between folders (`engine::moves`) before the folders are
    /// migrated.
    fn moves(&mut self, folders: &[Folder]) {
        if self.run.halted() {
            return;
        }
        let (run, id) = (self.run, self.id.clone());
        let Session::Open(session) = self.session() else {
            return;
        };
        let renames = match super::renames::carry(run, &id, session.as_mut(), folders) {
            Ok(r) => r,
            Err(e) => {
                let note = format!("folder renames not carried: {e}");
                self.rep.notes.push(note);
                return;
            }
        };
        let vanished = &renames.vanished;
        let moved = super::moves::carry(run, &id, session.as_mut(), folders, vanished);
        self.rep.notes.extend(renames.notes);
        match moved {
            Ok(m) => self.moved = m,
            Err(e) => self
                .rep
                .notes
                .push(format!("moves between folders not carried: {e}")),
        }
    }

    /// Lists, or migrates, one folder.
    pub fn folder(&mut self, folder: &Folder) {
        let (ctx, _, rep) = self.parts();
        match ctx.classify(folder) {
            Classified::Listed(sf) => rep.skipped_folders.push(sf),
            Classified::Mail(fr) => self.mail_folder(folder, *fr),
        }
    }

    /// Migrates a mail folder on the first session (opened for the first
    /// one that is attempted) and adds its report.
    pub fn mail_folder(&mut self, folder: &Folder, mut fr: FolderReport) {
        let account = self.account;
        let (ctx, session, rep) = self.parts();
        if ctx.halted() {
            ctx.stopped_and_closed(folder, &mut fr);
        } else {
            let session = session.get_or_insert_with(|| open_session(ctx.run, account, rep));
            ctx.migrate(session, folder, &mut fr);
        }
        self.rep.folders.push(fr);
    }

    /// Closes the session; the report and the fatal error.
    fn finish(self) -> (AccountReport, Option<String>) {
        let AccountRun {
            mut rep,
            session,
            fatal,
            progress,
            links,
            ..
        } = self;
        let mut all = links;
        if let Some(Session::Open(s)) = session {
            all.extend(s.info().links);
            if let Err(e) = s.finish() {
                rep.error.get_or_insert(reason::cannot_close(e));
            }
        }
        // Sessions of one account may all report every connection (one
        // metrics entry): each slot once, the last value.
        let mut by_slot: std::collections::BTreeMap<usize, LinkStats> = Default::default();
        for l in all {
            by_slot.insert(l.connection, l);
        }
        rep.connections = by_slot.into_values().collect();
        drop(progress);
        (rep, fatal.into_inner().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The lock, whoever panicked holding it.
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens the account's session; the account's error when that fails.
pub(super) fn open_session(run: &Run<'_>, account: &Account, rep: &mut AccountReport) -> Session {
    match run.target.open(account) {
        Ok(s) => {
            rep.target_account = Some(s.target_account());
            Session::Open(s)
        }
        Err(DestError::NotMapped(why)) => Session::NotMapped(why),
        Err(e) => {
            rep.error = Some(reason::cannot_open(&e));
            Session::Failed(e.to_string())
        }
    }
}

/// Every item of a folder skipped for one reason.
fn skip_all(fr: &mut FolderReport, items: &[Item], why: &str, progress: &AccountProgress<'_>) {
    items.iter().for_each(|it| fr.skip(&it.id, why));
    progress.record(
        crate::progress::metrics::Outcome::Skipped,
        items.len() as u64,
    );
}

/// Every item of a folder failed for one reason.
fn fail_all(fr: &mut FolderReport, items: &[Item], why: &str, progress: &AccountProgress<'_>) {
    items.iter().for_each(|it| fr.fail(&it.id, why));
    progress.record(
        crate::progress::metrics::Outcome::Failed,
        items.len() as u64,
    );
}
