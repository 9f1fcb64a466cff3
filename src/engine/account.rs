//! One account: walk its folders, open a destination session, prepare
//! each mail folder's mailbox and migrate it ([`super::mail_folder`],
//! [`super::folder`]); folders
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

use super::mail_folder::{
    open_session, reserve_names, spec_of, AccountCtx, Classified, Parts, Session,
};
use super::reason;
use super::Run;
use crate::model::{Account, LinkStats};
use crate::progress::AccountProgress;
use crate::report::{AccountReport, FolderReport};
use crate::source::Folder;
use std::collections::HashMap;
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
    spent_earlier(run, account, &mut rep);
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
    // Moves need every folder's view first, and so do grouping the folders
    // by mailbox and planning every folder's mailbox before any is created
    // (a substitute for a name the server refuses must not be the name
    // another folder maps to).
    let folders: Vec<Folder> = walk.collect();
    if run.opts.sync {
        a.moves(&folders);
    }
    if sessions > 1 {
        super::pool::migrate_folders(a.pool_parts(), &folders, sessions);
    } else {
        a.reserve_names(&folders);
        for (i, folder) in folders.iter().enumerate() {
            a.folder(folder, &folders[i + 1..]);
        }
    }
    a.finish()
}

/// `--max-bytes-per-day`: what earlier runs of this journal sent to the
/// account in the last 24 hours counts against this run's budget (said in
/// the account's notes), so a stop and a rerun never spend a day twice.
fn spent_earlier(run: &Run<'_>, account: &Account, rep: &mut AccountReport) {
    if run.target.spent_earlier(account, &[]).is_none() {
        return; // no daily budget
    }
    let sent = match run.journal.sent_last_day(&rep.account) {
        Ok(s) => s,
        Err(e) => {
            rep.notes.push(format!(
                "--max-bytes-per-day: what earlier runs sent is not known ({e}); \
                 this run's budget starts full"
            ));
            return;
        }
    };
    let now = std::time::SystemTime::now();
    let ages: Vec<(std::time::Duration, u64)> = sent
        .iter()
        .map(|(at, n)| (now.duration_since(*at).unwrap_or_default(), *n))
        .collect();
    if let Some(n) = run.target.spent_earlier(account, &ages) {
        if n > 0 {
            rep.notes.push(format!(
                "--max-bytes-per-day: {} sent to this account in the last 24 hours \
                 (journal) count against this run's budget",
                crate::text::human_bytes(n)
            ));
        }
    }
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
    pub moved: HashMap<String, super::moves::Arrived>,
    /// The append connections of the account's other sessions (`pool`).
    pub links: Vec<LinkStats>,
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

    /// What `pool` works with.
    pub fn pool_parts(&mut self) -> Parts<'_> {
        Parts {
            ctx: AccountCtx {
                run: self.run,
                id: &self.id,
                progress: &self.progress,
                moved: &self.moved,
                fatal: &self.fatal,
            },
            account: self.account,
            first: &mut self.session,
            rep: &mut self.rep,
            links: &mut self.links,
        }
    }

    /// The first session, opened on first use.
    pub fn session(&mut self) -> &mut Session {
        let (run, account, rep) = (self.run, self.account, &mut self.rep);
        self.session
            .get_or_insert_with(|| open_session(run, account, rep, None))
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
        let mut notes = Vec::new();
        let moved = super::moves::carry(run, &id, session.as_mut(), folders, vanished, &mut notes);
        self.rep.notes.extend(renames.notes);
        self.rep.notes.extend(notes);
        match moved {
            Ok(m) => self.moved = m,
            Err(e) => self
                .rep
                .notes
                .push(format!("moves between folders not carried: {e}")),
        }
        // What the moves did not carry out of a folder gone from the store
        // stays on the target: say so (the folder pass never sees it).
        for folder in &renames.unmatched {
            match run.journal.done_items(&id, folder) {
                Ok(rows) if !rows.is_empty() => {
                    let mailbox = rows.values().flatten().next().map(|d| d.mailbox.clone());
                    let note = super::reason::folder_gone(folder, rows.len(), mailbox.as_deref());
                    self.rep.notes.push(note);
                }
                Ok(_) => {}
                Err(e) => self.rep.notes.push(format!("{folder}: {e}")),
            }
        }
    }

    /// Plans every mail folder's mailbox on the first session (opened
    /// here when a selected mail folder is to migrate) before any folder
    /// is migrated (see [`reserve_names`]).
    fn reserve_names(&mut self, folders: &[Folder]) {
        let (ctx, _, _) = self.parts();
        let selected: Vec<&Folder> = folders.iter().filter(|f| ctx.is_mail(f)).collect();
        if selected.is_empty() || ctx.halted() {
            return;
        }
        let work = selected
            .iter()
            .any(|f| !f.items.is_empty())
            .then_some((0, 1));
        let (run, account, rep) = (self.run, self.account, &mut self.rep);
        let session = self
            .session
            .get_or_insert_with(|| open_session(run, account, rep, work));
        if let Session::Open(s) = session {
            reserve_names(s.as_mut(), folders);
        }
    }

    /// Lists, or migrates, one folder; `rest` are the folders after it.
    pub fn folder(&mut self, folder: &Folder, rest: &[Folder]) {
        let (ctx, _, rep) = self.parts();
        match ctx.classify(folder) {
            Classified::Listed(sf) => rep.skipped_folders.push(sf),
            Classified::Mail(fr) => self.mail_folder(folder, *fr, rest),
        }
    }

    /// Migrates a mail folder on the first session (opened for the first
    /// one that is attempted) and adds its report; the next mail folder of
    /// `rest` is the one the session is told comes next.
    pub fn mail_folder(&mut self, folder: &Folder, mut fr: FolderReport, rest: &[Folder]) {
        let account = self.account;
        let (ctx, session, rep) = self.parts();
        if ctx.halted() {
            ctx.stopped_and_closed(folder, &mut fr);
        } else {
            let work = (!folder.items.is_empty()).then_some((0, 1));
            let session = session.get_or_insert_with(|| open_session(ctx.run, account, rep, work));
            let mut next = || rest.iter().find(|f| ctx.is_mail(f)).map(spec_of);
            ctx.migrate(session, folder, &mut fr, &mut next);
        }
        self.rep.folders.push(fr);
    }

    /// Closes the session; the report and the fatal error.
    fn finish(self) -> (AccountReport, Option<String>) {
        if self.run.opts.sync && !self.run.halted() {
            // Records of moves whose rows the folders' passes forgot.
            if let Err(e) = self.run.journal.prune_moving(&self.id) {
                tracing::debug!("{}: the move records are not pruned: {e}", self.id);
            }
        }
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
