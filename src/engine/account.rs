//! One account: walk its folders, open one destination session, prepare
//! each mail folder's mailbox and migrate it ([`super::folder`]); folders
//! that are not mail or not selected are listed, not migrated.
//!
//! Invariants a maintainer must keep:
//! - the session is opened at most once, for the first folder to migrate;
//!   an account the destination has no place for skips its items ("not
//!   mapped"), one it cannot open fails them;
//! - once the run halts (or this account hit a fatal error) every later
//!   folder is still reported, its items skipped ("not attempted: run
//!   stopped");
//! - a journal error is the account's fatal error: it sets the run's stop
//!   and is returned, so the report's `fatal` says it;
//! - the account is walked once, through [`Source::walk`]; the folder
//!   notes are the source's, the same that `scan` and `plan` show.

use super::folder::FolderJob;
use super::reason;
use super::Run;
use crate::dest::{DestError, DestSession, MailboxSpec};
use crate::mapping::MapSource;
use crate::model::Account;
use crate::progress::AccountProgress;
use crate::report::{AccountReport, FolderReport, SkippedFolder};
use crate::source::{Folder, FolderKind, Item};
use std::sync::atomic::Ordering;

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
        rep,
        run,
        account,
        session: None,
        fatal: None,
        moved: Default::default(),
    };
    if run.opts.sync {
        // Moves need every folder's view first.
        let folders: Vec<Folder> = walk.collect();
        a.moves(&folders);
        for folder in &folders {
            a.folder(folder);
        }
    } else {
        for folder in walk {
            a.folder(&folder);
        }
    }
    a.finish()
}

/// The account's destination session, or why there is none.
enum Session {
    Open(Box<dyn DestSession>),
    /// The destination has no place for this account (why).
    NotMapped(String),
    /// Opening failed (the error).
    Failed(String),
}

/// One account being migrated.
struct AccountRun<'a> {
    run: &'a Run<'a>,
    account: &'a Account,
    rep: AccountReport,
    progress: AccountProgress<'a>,
    /// Opened for the first folder to migrate.
    session: Option<Session>,
    fatal: Option<String>,
    /// `--sync`: messages moved into each folder (source path).
    moved: std::collections::HashMap<String, u64>,
}

impl AccountRun<'_> {
    /// `--sync`: carries the account's folder renames (`engine::renames`)
    /// and moves between folders (`engine::moves`) before the folders are
    /// migrated.
    fn moves(&mut self, folders: &[Folder]) {
        if self.run.halted() {
            return;
        }
        let (run, account, rep) = (self.run, self.account, &mut self.rep);
        let Session::Open(session) = self
            .session
            .get_or_insert_with(|| open_session(run, account, rep))
        else {
            return;
        };
        let renames = match super::renames::carry(run, &account.id(), session.as_mut(), folders) {
            Ok(r) => r,
            Err(e) => {
                let note = format!("folder renames not carried: {e}");
                self.rep.notes.push(note);
                return;
            }
        };
        self.rep.notes.extend(renames.notes);
        let vanished = &renames.vanished;
        match super::moves::carry(run, &account.id(), session.as_mut(), folders, vanished) {
            Ok(m) => self.moved = m,
            Err(e) => self
                .rep
                .notes
                .push(format!("moves between folders not carried: {e}")),
        }
    }

    /// Lists, or migrates, one folder.
    fn folder(&mut self, folder: &Folder) {
        if folder.kind() != FolderKind::Mail {
            self.rep
                .skipped_folders
                .push(SkippedFolder::groupware(folder));
            return;
        }
        if !self.run.opts.selection.folder(&folder.path) {
            self.rep
                .skipped_folders
                .push(SkippedFolder::unselected(folder));
            return;
        }
        let mut fr = FolderReport {
            folder: folder.path.clone(),
            notes: folder.notes.clone(),
            ..FolderReport::default()
        };
        fr.counts.expected = folder.items.len() as u64;
        self.progress.add_total(fr.counts.expected);
        self.mail_folder(folder, &mut fr);
        if let Some(n) = self.moved.get(&folder.path).copied() {
            fr.sync.get_or_insert_with(Default::default).moved_in += n;
            fr.notes.push(format!(
                "{n} messages moved here in Kerio were moved on the target, not uploaded again"
            ));
        }
        fr.attach_paths(folder);
        self.rep.folders.push(fr);
    }

    /// Migrates a mail folder into its mailbox, or says why not.
    fn mail_folder(&mut self, folder: &Folder, fr: &mut FolderReport) {
        let items = &folder.items;
        if self.fatal.is_some() || self.run.halted() {
            for it in items {
                fr.skip(&it.id, reason::RUN_STOPPED);
            }
            self.progress.record(
                crate::progress::metrics::Outcome::Skipped,
                items.len() as u64,
            );
            return;
        }
        let (run, account, rep) = (self.run, self.account, &mut self.rep);
        let session = match self
            .session
            .get_or_insert_with(|| open_session(run, account, rep))
        {
            Session::Open(s) => s.as_mut(),
            Session::NotMapped(why) => {
                return skip_all(fr, items, &reason::not_mapped(why), &self.progress);
            }
            Session::Failed(e) => {
                return fail_all(fr, items, &reason::not_opened(e), &self.progress);
            }
        };
        let spec = MailboxSpec {
            source_path: folder.path.clone(),
            components: folder.components.clone(),
        };
        let mailbox = match session.prepare_mailbox(&spec) {
            Ok(m) => m,
            Err(e) => {
                let why = reason::mailbox_unavailable(e);
                return fail_all(fr, items, &why, &self.progress);
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
            account: &self.rep.account,
            folder,
            mailbox: &mailbox,
            progress: &self.progress,
        };
        if let Err(e) = job.migrate(session, fr) {
            self.fatal = Some(e.to_string());
            self.run.stop.store(true, Ordering::Relaxed);
        }
    }

    /// Closes the session; the report and the fatal error.
    fn finish(self) -> (AccountReport, Option<String>) {
        let AccountRun {
            mut rep,
            session,
            fatal,
            progress,
            ..
        } = self;
        if let Some(Session::Open(s)) = session {
            rep.connections = s.info().links;
            if let Err(e) = s.finish() {
                rep.error.get_or_insert(reason::cannot_close(e));
            }
        }
        drop(progress);
        (rep, fatal)
    }
}

/// Opens the account's session; the account's error when that fails.
fn open_session(run: &Run<'_>, account: &Account, rep: &mut AccountReport) -> Session {
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
