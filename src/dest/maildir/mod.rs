//! The Maildir target: one Maildir++ per account that a new Dovecot can
//! serve as it is.
//!
//! - `DIR/<user>@<domain>/` for users, `DIR/#public@<domain>/` for public
//!   folders; INBOX is the account root, every other folder is
//!   `.<Parent>.<Child>` with each component in modified UTF-7.
//! - A `.` (and `/`, `\`, a leading `~`) inside a folder name is escaped as
//!   `\NN` hex, exactly as Dovecot's `listescape` plugin writes and reads
//!   it, so `ivan.ivanov` stays one level (`.ivan\2eivanov`). Without the
//!   plugin Dovecot shows the escape literally; `--maildir-dot-char` can
//!   replace dots with another character instead.
//! - With `--mapping`, `--prefix` or `--preset` the folder mapping
//!   ([`crate::mapping`]) chooses the path first (e.g. `--preset dovecot`
//!   puts `Sent Items` into Dovecot's `Sent`); without them every folder
//!   keeps its path.
//! - File names are deterministic (`<date>.M<item>K<hash>.kerio-migrate,
//!   S=<size>,W=<size>:2,<flags>`), so a rerun finds what an interrupted run
//!   wrote even if the journal never heard of it: nothing is written twice.
//! - Each message is written as an unnamed file in `cur/` (`O_TMPFILE`),
//!   its mtime set to the internal date, then given its name (`linkat`), so
//!   no reader sees a partial file and a crash leaves none; where the file
//!   system cannot, it is written to `tmp/` and renamed into `cur/`.
//!   Durability: the driver calls the barrier (`syncfs`) before it
//!   journals a batch as done.
//! - `--parallel-folders` sessions of one account write its folders at the
//!   same time (each folder is its own directory; the account root is
//!   created idempotently by each), files made and named relative to the
//!   open `cur/` (`openat`, `linkat`), not by their whole path.
//!
//! In this directory: `names.rs` makes the names, `write.rs` delivers,
//! `changes.rs` carries what `sync` changes into copies already written
//! and checks them for `verify`.

mod changes;
mod names;
mod write;

pub use names::{base_name, escape_component, folder_dir_name, info_flags};

use super::{
    DestError, DestRef, DestSession, Destination, MailboxPlan, MailboxSpec, Outgoing, Planner,
    SessionEvent,
};
use crate::mapping::Mapper;
use crate::model::Account;
use names::explain;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use write::{clean_tmp, make_maildir, no_room, syncfs};

/// Options of the Maildir target.
#[derive(Debug, Clone, Default)]
pub struct MaildirOptions {
    /// Replace `.` in folder names with this character instead of the
    /// listescape `\2e`.
    pub dot_char: Option<char>,
    /// fsync every message file (slow; the default is one `syncfs` per
    /// journal batch).
    pub fsync_each: bool,
    /// The folder mapping; `None` keeps every folder's path as it is.
    /// Build it with [`crate::mapping::TargetFolders::maildir`].
    pub mapper: Option<Arc<Mapper>>,
}

/// Writes accounts into Maildir++ trees below one directory.
#[derive(Debug, Clone)]
pub struct MaildirDest {
    root: PathBuf,
    opts: MaildirOptions,
    /// Accounts whose writes found the disk (ENOSPC) or the quota (EDQUOT)
    /// full, by account directory: why. Shared by the sessions of an
    /// account (`--parallel-folders`), so one full write stops them all.
    full: Arc<Mutex<HashMap<PathBuf, String>>>,
}

impl MaildirDest {
    /// A target rooted at `root` (created when missing).
    pub fn new(root: &Path, opts: MaildirOptions) -> Result<MaildirDest, DestError> {
        fs::create_dir_all(root).map_err(|e| io_err(root, e))?;
        let root = root.canonicalize().map_err(|e| io_err(root, e))?;
        Ok(MaildirDest {
            root,
            opts,
            full: Arc::default(),
        })
    }

    /// A target for `plan`: nothing is created, not even the root.
    pub fn for_plan(root: &Path, opts: MaildirOptions) -> Result<MaildirDest, DestError> {
        let root = if root.exists() {
            root.canonicalize().map_err(|e| io_err(root, e))?
        } else {
            std::path::absolute(root).map_err(|e| io_err(root, e))?
        };
        Ok(MaildirDest {
            root,
            opts,
            full: Arc::default(),
        })
    }

    /// A session that only plans (`plan_mailbox`, `explain_mailbox`):
    /// unlike [`Destination::open`] it creates nothing.
    pub fn plan_session(&self, account: &Account) -> Box<dyn Planner> {
        Box::new(MaildirPlanner {
            account_dir: self.account_dir(account),
            opts: self.opts.clone(),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of an account.
    pub fn account_dir(&self, account: &Account) -> PathBuf {
        self.root.join(account.id())
    }
}

fn io_err(path: &Path, source: std::io::Error) -> DestError {
    DestError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Destination for MaildirDest {
    fn id(&self) -> String {
        format!("maildir:{}", self.root.display())
    }

    fn open(&self, account: &Account) -> Result<Box<dyn DestSession>, DestError> {
        let dir = self.account_dir(account);
        make_maildir(&dir, false)?;
        Ok(Box::new(MaildirSession {
            account_dir: dir,
            opts: self.opts.clone(),
            unnamed: AtomicBool::new(true),
            mailboxes: HashMap::new(),
            full: Arc::clone(&self.full),
        }))
    }

    fn planner(&self, account: &Account) -> Result<Box<dyn Planner>, DestError> {
        Ok(self.plan_session(account))
    }

    fn default_journal(&self) -> PathBuf {
        self.root.join(super::JOURNAL_FILE)
    }

    /// Every folder has its own directory (Maildir++ is flat: `.A.B` is
    /// not inside `.A`), so sessions of one account share nothing but the
    /// account root, which each creates idempotently: the writing of one
    /// account's folders runs on `wanted` threads, not one.
    fn folder_sessions(&self, wanted: usize) -> usize {
        wanted.max(1)
    }
}

struct MaildirSession {
    account_dir: PathBuf,
    opts: MaildirOptions,
    /// Messages are still written as unnamed files (`O_TMPFILE`); false
    /// once the file system said it cannot.
    unnamed: AtomicBool,
    /// Mailbox name → its directory.
    mailboxes: HashMap<String, PathBuf>,
    /// The accounts whose disk or quota is full (see [`MaildirDest`]):
    /// nothing more is tried for this one; each message left fails with the
    /// reason instead of one more failed write.
    full: Arc<Mutex<HashMap<PathBuf, String>>>,
}

impl MaildirSession {
    /// Why this account takes nothing more (its disk or quota is full).
    fn full(&self) -> Option<String> {
        let g = self.full.lock().unwrap_or_else(|e| e.into_inner());
        g.get(&self.account_dir).cloned()
    }

    /// A write found the disk or the quota full: the account stops.
    fn set_full(&self, why: String) {
        let mut g = self.full.lock().unwrap_or_else(|e| e.into_inner());
        g.entry(self.account_dir.clone()).or_insert(why);
    }

    /// The directory of `mailbox` (INBOX is the account's own).
    fn mailbox_dir(&self, mailbox: &str) -> PathBuf {
        if mailbox == "INBOX" {
            self.account_dir.clone()
        } else {
            self.account_dir.join(mailbox)
        }
    }
}

/// What `plan` gets: names only; nothing is created, not even on finish.
struct MaildirPlanner {
    account_dir: PathBuf,
    opts: MaildirOptions,
}

impl Planner for MaildirPlanner {
    fn target_account(&self) -> String {
        self.account_dir.display().to_string()
    }

    fn plan_mailbox(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        Ok(explain(&self.opts, spec).name)
    }

    fn explain_mailbox(&mut self, spec: &MailboxSpec) -> Result<MailboxPlan, DestError> {
        Ok(explain(&self.opts, spec))
    }

    fn finish(self: Box<Self>) -> Result<(), DestError> {
        Ok(())
    }
}

impl Planner for MaildirSession {
    fn target_account(&self) -> String {
        self.account_dir.display().to_string()
    }

    fn finish(self: Box<Self>) -> Result<(), DestError> {
        syncfs(&self.account_dir).map_err(|e| io_err(&self.account_dir, e))
    }

    fn plan_mailbox(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        Ok(explain(&self.opts, spec).name)
    }

    fn explain_mailbox(&mut self, spec: &MailboxSpec) -> Result<MailboxPlan, DestError> {
        Ok(explain(&self.opts, spec))
    }
}

impl DestSession for MaildirSession {
    fn remove(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, Option<u64>)],
    ) -> Result<Vec<bool>, DestError> {
        self.remove_files(mailbox, refs)
    }

    fn rename_mailbox(
        &mut self,
        from: &str,
        spec: &MailboxSpec,
    ) -> Result<super::MailboxRename, DestError> {
        if from == "INBOX" {
            return Ok(super::MailboxRename::NotSupported);
        }
        let to = self.plan_mailbox(spec)?;
        self.mailboxes
            .retain(|m, _| m != from && !m.starts_with(&format!("{from}.")));
        self.rename_dirs(from, &to)
    }

    fn move_message(
        &mut self,
        from: &str,
        r: &DestRef,
        _size: Option<u64>,
        to: &str,
    ) -> Result<Option<DestRef>, DestError> {
        self.move_file(from, r, to)
    }

    fn set_flags(
        &mut self,
        mailbox: &str,
        changes: &[super::FlagChange],
    ) -> Result<Vec<bool>, DestError> {
        self.rename_for_flags(mailbox, changes)
    }

    fn gone_copies(&mut self, mailbox: &str, refs: &[DestRef]) -> Result<Vec<bool>, DestError> {
        self.gone_files(mailbox, refs)
    }

    fn verify(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, crate::message::ContentHash)],
        deep: bool,
    ) -> Result<Vec<super::Presence>, DestError> {
        self.check_files(mailbox, refs, deep)
    }

    fn prepare_mailbox(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        if let Some(why) = self.full() {
            return Err(DestError::Stopped(why));
        }
        let name = self.plan_mailbox(spec)?;
        let dir = if name == "INBOX" {
            self.account_dir.clone()
        } else {
            self.account_dir.join(&name)
        };
        if let Err(e) = make_maildir(&dir, name != "INBOX") {
            // No inode or block left for a directory: the account stops
            // here as on a write that found the disk full.
            if let DestError::Io { source, .. } = &e {
                if no_room(source) {
                    let why = format!("{e}; nothing more is written for this account");
                    self.set_full(why.clone());
                    return Err(DestError::Stopped(why));
                }
            }
            return Err(e);
        }
        clean_tmp(&dir);
        self.mailboxes.insert(name.clone(), dir);
        Ok(name)
    }

    fn deliver(
        &mut self,
        mailbox: &str,
        messages: &mut dyn Iterator<Item = Outgoing>,
        events: &mut dyn FnMut(SessionEvent) -> bool,
    ) -> Result<(), DestError> {
        self.deliver_files(mailbox, messages, events)
    }

    fn durability_barrier(&self) -> Box<dyn Fn() -> std::io::Result<()> + Send + Sync> {
        let dir = self.account_dir.clone();
        Box::new(move || syncfs(&dir))
    }
}
