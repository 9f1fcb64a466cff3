//! One mail folder of an account on a given destination session: list it
//! or begin its report, prepare its mailbox, migrate it
//! ([`super::folder`]) and complete its report. What `account` (one
//! session, the folders in order) and `pool` (several at once) share.
//!
//! Invariants a maintainer must keep: every item of a mail folder ends in
//! one bucket whatever happens (no session, no mailbox, a stop, a journal
//! error); a journal error is kept as the account's fatal error and stops
//! the run; once the run halts nothing more is prepared or sent.

use super::folder::{FolderJob, NextFolder};
use super::reason;
use super::Run;
use crate::dest::{DestError, DestSession, MailboxSpec};
use crate::mapping::MapSource;
use crate::model::{Account, LinkStats};
use crate::progress::AccountProgress;
use crate::report::{AccountReport, FolderReport, SkippedFolder};
use crate::source::{Folder, FolderKind, Item};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// The account's destination session, or why there is none.
pub(super) enum Session {
    Open(Box<dyn DestSession>),
    /// The destination has no place for this account (why).
    NotMapped(String),
    /// Opening failed (the error).
    Failed(String),
}

/// What a folder of the account needs, on whichever session it runs.
#[derive(Clone, Copy)]
pub(super) struct AccountCtx<'a> {
    pub run: &'a Run<'a>,
    pub id: &'a str,
    pub progress: &'a AccountProgress<'a>,
    pub moved: &'a HashMap<String, super::moves::Arrived>,
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
        if !self.is_mail(folder) {
            return Classified::Listed(SkippedFolder::unselected(folder));
        }
        let mut fr = FolderReport {
            folder: folder.path.clone(),
            notes: folder.notes.clone(),
            problems: folder.problems.clone(),
            ..FolderReport::default()
        };
        fr.counts.expected = folder.items.len() as u64;
        self.progress.add_total(fr.counts.expected);
        Classified::Mail(Box::new(fr))
    }

    /// A mail folder this run migrates (selected).
    pub fn is_mail(&self, folder: &Folder) -> bool {
        folder.kind() == FolderKind::Mail && self.run.opts.selection.folder(&folder.path)
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
    /// `next` says which folder comes after it on this session.
    pub fn migrate(
        &self,
        session: &mut Session,
        folder: &Folder,
        fr: &mut FolderReport,
        next: NextFolder<'_>,
    ) {
        if self.halted() {
            self.stopped(folder, fr);
        } else {
            match session {
                Session::Open(s) => self.on_session(s.as_mut(), folder, fr, next),
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
    fn on_session(
        &self,
        session: &mut dyn DestSession,
        folder: &Folder,
        fr: &mut FolderReport,
        next: NextFolder<'_>,
    ) {
        let items = &folder.items;
        let spec = spec_of(folder);
        // Where its messages went before (a name the target chose itself
        // is chosen again); a journal error surfaces when the folder starts.
        let mut lookup = || {
            self.run
                .journal
                .account_mailboxes(self.id)
                .unwrap_or_else(|e| {
                    tracing::warn!("{}: {}: {e}", self.id, folder.path);
                    Vec::new()
                })
        };
        session.journaled_mailboxes(&spec, &mut lookup);
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
        if let Err(e) = job.migrate(session, fr, next) {
            lock(self.fatal).get_or_insert(e.to_string());
            self.run.stop.store(true, Ordering::Relaxed);
        }
    }

    /// What every migrated folder's report ends with.
    fn close(&self, folder: &Folder, fr: &mut FolderReport) {
        if let Some(a) = self.moved.get(&folder.path).copied() {
            let sync = fr.sync.get_or_insert_with(Default::default);
            sync.moved_in += a.moved_in;
            sync.came_back += a.came_back;
            if a.moved_in > 0 {
                fr.notes.push(format!(
                    "{} messages moved here in Kerio were moved on the target, not uploaded again",
                    a.moved_in
                ));
            }
            if a.came_back > 0 {
                fr.notes.push(super::reason::came_back(a.came_back));
            }
        }
        fr.attach_paths(folder);
    }
}

/// The mailbox request of a source folder.
pub(super) fn spec_of(folder: &Folder) -> MailboxSpec {
    MailboxSpec {
        source_path: folder.path.clone(),
        components: folder.components.clone(),
    }
}

/// What `pool` needs of an account being migrated.
pub(super) struct Parts<'a> {
    pub ctx: AccountCtx<'a>,
    pub account: &'a Account,
    /// The first session (opened on first use).
    pub first: &'a mut Option<Session>,
    pub rep: &'a mut AccountReport,
    /// The append connections of the account's other sessions.
    pub links: &'a mut Vec<LinkStats>,
}

/// The lock, whoever panicked holding it.
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens the account's session; the account's error when that fails.
/// With `work`, the session is expected to deliver (see [`if_new`]).
pub(super) fn open_session(
    run: &Run<'_>,
    account: &Account,
    rep: &mut AccountReport,
    work: Option<(usize, usize)>,
) -> Session {
    let work = if_new(run, &account.id(), work);
    match run.target.open_expecting(account, work) {
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

/// `work` for [`crate::dest::Destination::open_expecting`] when the
/// journal knows nothing of the account yet (a first run: its items are
/// all to send); a journal error here only means no head start.
pub(super) fn if_new(
    run: &Run<'_>,
    account: &str,
    work: Option<(usize, usize)>,
) -> Option<(usize, usize)> {
    work.filter(|_| matches!(run.journal.is_new_account(account), Ok(true)))
}

/// Plans the mailbox of every mail folder of the account, selected or
/// not, before any is created: a destination that substitutes a name the
/// server refuses then never gives a folder the name another folder maps
/// to (the IMAP target reserves each planned name for its folder). Errors
/// are the folder's own later.
pub(super) fn reserve_names(session: &mut dyn DestSession, folders: &[Folder]) {
    for f in folders.iter().filter(|f| f.kind() == FolderKind::Mail) {
        let spec = MailboxSpec {
            source_path: f.path.clone(),
            components: f.components.clone(),
        };
        session.reserve_mailbox(&spec);
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
