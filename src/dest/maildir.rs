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

use super::{
    Delivery, DeliveryResult, DestError, DestRef, DestSession, Destination, MailFlags, MailboxPlan,
    MailboxSpec, Outgoing, Planner, SessionEvent,
};
use crate::mapping::{MapSource, Mapper};
use crate::model::Account;
use crate::mutf7 as names;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
}

impl MaildirDest {
    /// A target rooted at `root` (created when missing).
    pub fn new(root: &Path, opts: MaildirOptions) -> Result<MaildirDest, DestError> {
        fs::create_dir_all(root).map_err(|e| io_err(root, e))?;
        let root = root.canonicalize().map_err(|e| io_err(root, e))?;
        Ok(MaildirDest { root, opts })
    }

    /// A target for `plan`: nothing is created, not even the root.
    pub fn for_plan(root: &Path, opts: MaildirOptions) -> Result<MaildirDest, DestError> {
        let root = if root.exists() {
            root.canonicalize().map_err(|e| io_err(root, e))?
        } else {
            std::path::absolute(root).map_err(|e| io_err(root, e))?
        };
        Ok(MaildirDest { root, opts })
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

/// Escapes one decoded folder-name component for a Maildir++ directory
/// name: modified UTF-7, then `\NN` for the characters listescape escapes.
pub fn escape_component(name: &str, dot_char: Option<char>) -> String {
    let replaced;
    let name = match dot_char {
        Some(c) => {
            replaced = name.replace('.', &c.to_string());
            replaced.as_str()
        }
        None => name,
    };
    let encoded = names::encode(name);
    let mut out = String::with_capacity(encoded.len() + 4);
    for (i, c) in encoded.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\5c"),
            '.' => out.push_str("\\2e"),
            '/' => out.push_str("\\2f"),
            '~' if i == 0 => out.push_str("\\7e"),
            c => out.push(c),
        }
    }
    out
}

/// The Maildir++ directory name of a folder (`None` for INBOX itself,
/// which is the account root).
pub fn folder_dir_name(components: &[String], dot_char: Option<char>) -> Option<String> {
    if components.len() == 1 && components[0] == "INBOX" {
        return None;
    }
    let mut s = String::new();
    for c in components {
        s.push('.');
        s.push_str(&escape_component(c, dot_char));
    }
    Some(s)
}

fn sanitize_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The deterministic base name (before `,S=`) of a message file.
pub fn base_name(msg: &Outgoing) -> String {
    format!(
        "{}.M{}K{}.kerio-migrate",
        msg.internal_date.timestamp().max(0),
        sanitize_id(&msg.item_id),
        &msg.message.hash.to_hex()[..16]
    )
}

/// Maildir info flags, in the ASCII order Maildir requires.
/// A Maildir file name with `change` applied to its `:2,` info: the four
/// system letters (D F R S) added or removed, every other letter (`T`,
/// keywords) kept, in ASCII order as the Maildir spec wants.
fn renamed_info(name: &str, change: &super::FlagChange) -> String {
    let (stem, info) = match name.split_once(":2,") {
        Some((stem, info)) => (stem, info),
        None => (name, ""),
    };
    let (add, remove) = change.delta();
    let mut letters: Vec<char> = info.chars().collect();
    let removed = info_flags(remove);
    letters.retain(|c| !removed.contains(*c));
    for c in info_flags(add).chars() {
        if !letters.contains(&c) {
            letters.push(c);
        }
    }
    letters.sort_unstable();
    letters.dedup();
    format!("{stem}:2,{}", letters.into_iter().collect::<String>())
}

pub fn info_flags(f: MailFlags) -> String {
    let mut s = String::new();
    if f.draft {
        s.push('D');
    }
    if f.flagged {
        s.push('F');
    }
    if f.answered {
        s.push('R');
    }
    if f.seen {
        s.push('S');
    }
    s
}

fn make_maildir(dir: &Path, is_folder: bool) -> Result<(), DestError> {
    for sub in ["cur", "new", "tmp"] {
        let p = dir.join(sub);
        fs::create_dir_all(&p).map_err(|e| io_err(&p, e))?;
    }
    if is_folder {
        let marker = dir.join("maildirfolder");
        if !marker.exists() {
            fs::write(&marker, b"").map_err(|e| io_err(&marker, e))?;
        }
    }
    Ok(())
}

/// Removes what an interrupted run of ours left in `tmp/` (our names end
/// in `.kerio-migrate,…`); other programs' files are left alone.
fn clean_tmp(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir.join("tmp")) else {
        return;
    };
    for e in rd.flatten() {
        if e.file_name().to_string_lossy().contains(".kerio-migrate,") {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn existing_bases(dir: &Path) -> Result<HashSet<String>, DestError> {
    let mut set = HashSet::new();
    for sub in ["cur", "new"] {
        let p = dir.join(sub);
        let rd = fs::read_dir(&p).map_err(|e| io_err(&p, e))?;
        for e in rd {
            let e = e.map_err(|e| io_err(&p, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let base = name.split([',', ':']).next().unwrap_or(&name).to_string();
            set.insert(base);
        }
    }
    Ok(set)
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
        }))
    }

    fn planner(&self, account: &Account) -> Result<Box<dyn Planner>, DestError> {
        Ok(self.plan_session(account))
    }

    fn default_journal(&self) -> PathBuf {
        self.root.join(super::JOURNAL_FILE)
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
}

impl MaildirSession {
    /// The directory of `mailbox` (INBOX is the account's own).
    fn mailbox_dir(&self, mailbox: &str) -> PathBuf {
        if mailbox == "INBOX" {
            self.account_dir.clone()
        } else {
            self.account_dir.join(mailbox)
        }
    }

    /// The files of `mailbox` (`cur/` and `new/`) by the base of their
    /// name (before `,` or `:`): our names are deterministic, so a base
    /// names the copy we wrote whatever its flags.
    fn files_by_base(&self, mailbox: &str) -> Result<HashMap<String, PathBuf>, DestError> {
        let dir = self.mailbox_dir(mailbox);
        let mut files: HashMap<String, PathBuf> = HashMap::new();
        for sub in ["cur", "new"] {
            let p = dir.join(sub);
            let rd = match fs::read_dir(&p) {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&p, e)),
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let base = name.split([',', ':']).next().unwrap_or(&name).to_string();
                files.insert(base, e.path());
            }
        }
        Ok(files)
    }

    /// `sync`: moves our copy `r` from mailbox `from` to `to` (a message
    /// moved between folders in Kerio): the same file name, info part
    /// included, into the same `cur/` or `new/` of `to`. Its new reference,
    /// or `None` when `from` holds no such file of ours or `to` already has
    /// that name (then the item is uploaded as a new one).
    fn move_file(&self, from: &str, r: &DestRef, to: &str) -> Result<Option<DestRef>, DestError> {
        let id = r.id.as_deref().unwrap_or("");
        let base = id.split([',', ':']).next().unwrap_or(id);
        if !base.ends_with(".kerio-migrate") {
            return Ok(None);
        }
        let files = self.files_by_base(from)?;
        let Some(path) = files.get(base) else {
            return Ok(None);
        };
        let (Some(name), Some(sub)) = (path.file_name(), path.parent().and_then(|p| p.file_name()))
        else {
            return Ok(None);
        };
        let dest = self.mailbox_dir(to).join(sub).join(name);
        if fs::symlink_metadata(&dest).is_ok() {
            return Ok(None);
        }
        fs::rename(path, &dest).map_err(|e| io_err(path, e))?;
        Ok(Some(DestRef {
            id: Some(name.to_string_lossy().into_owned()),
            ..DestRef::default()
        }))
    }

    /// `sync`: renames the Maildir++ folder `from` to `to`, and its
    /// children (`from.X` to `to.X`, names being directory names).
    fn rename_dirs(&self, from: &str, to: &str) -> Result<super::MailboxRename, DestError> {
        use super::MailboxRename;
        let (old, new) = (self.account_dir.join(from), self.account_dir.join(to));
        if fs::symlink_metadata(&new).is_ok() {
            return Ok(MailboxRename::Exists(to.to_string()));
        }
        if !old.is_dir() {
            return Ok(MailboxRename::Missing);
        }
        let child = format!("{from}.");
        let rd = fs::read_dir(&self.account_dir).map_err(|e| io_err(&self.account_dir, e))?;
        let children: Vec<String> = rd
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(String::from))
            .filter(|n| n.starts_with(&child))
            .collect();
        fs::rename(&old, &new).map_err(|e| io_err(&old, e))?;
        for c in children {
            let dest = self.account_dir.join(format!("{to}{}", &c[from.len()..]));
            let src = self.account_dir.join(&c);
            fs::rename(&src, &dest).map_err(|e| io_err(&src, e))?;
        }
        Ok(MailboxRename::Renamed(to.to_string()))
    }

    fn write_one(&self, dir: &Path, msg: &Outgoing, base: &str) -> Result<String, std::io::Error> {
        let size = msg.message.bytes.len();
        let name = format!("{base},S={size},W={size}:2,{}", info_flags(msg.flags));
        let cur = dir.join("cur").join(&name);
        if self.unnamed.load(Ordering::Relaxed) {
            match self.write_unnamed(dir, msg, &cur) {
                Ok(()) => return Ok(name),
                // Not a failure of this message: the file system (or a
                // missing /proc) cannot do it; `tmp/` from now on.
                Err(Unnamed::Unsupported(e)) => {
                    tracing::debug!(
                        "{}: no O_TMPFILE + linkat ({e}): writing through tmp/",
                        dir.display()
                    );
                    self.unnamed.store(false, Ordering::Relaxed);
                }
                // The name exists already (written since the listing):
                // replaced through `tmp/` and a rename, as always.
                Err(Unnamed::Exists) => {}
                Err(Unnamed::Io(e)) => return Err(e),
            }
        }
        let tmp = dir.join("tmp").join(&name);
        let result = (|| {
            let mut f = fs::File::create(&tmp)?;
            self.fill(&mut f, msg)?;
            drop(f);
            fs::rename(&tmp, &cur)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map(|()| name)
    }

    /// Writes the message into the open file `f`: bytes, times through the
    /// descriptor (futimens: no second open by name), fsync if asked.
    fn fill(&self, f: &mut fs::File, msg: &Outgoing) -> std::io::Result<()> {
        f.write_all(&msg.message.bytes)?;
        let t = file_time(msg.internal_date.timestamp());
        f.set_times(fs::FileTimes::new().set_accessed(t).set_modified(t))?;
        if self.opts.fsync_each {
            f.sync_all()?;
        }
        Ok(())
    }

    /// The message as an unnamed file in `cur/` (`O_TMPFILE`), given its
    /// name `cur` only once it is complete (`linkat`): what `tmp/` and a
    /// rename give (no reader ever sees a partial file), with no directory
    /// entry made in `tmp/` and removed again, and nothing left behind by a
    /// crash (an unnamed file goes with its last descriptor).
    #[cfg(target_os = "linux")]
    fn write_unnamed(&self, dir: &Path, msg: &Outgoing, cur: &Path) -> Result<(), Unnamed> {
        use std::os::fd::AsRawFd;
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .mode(0o666)
            .custom_flags(libc::O_TMPFILE)
            .open(dir.join("cur"))
            .map_err(|e| match e.raw_os_error() {
                Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL) => Unnamed::Unsupported(e),
                _ => Unnamed::Io(e),
            })?;
        self.fill(&mut f, msg).map_err(Unnamed::Io)?;
        let cstr = |b: &[u8]| std::ffi::CString::new(b).map_err(|e| Unnamed::Io(e.into()));
        let from = cstr(format!("/proc/self/fd/{}", f.as_raw_fd()).as_bytes())?;
        let to = cstr(cur.as_os_str().as_bytes())?;
        // SAFETY: two valid NUL-terminated paths; linkat touches no other
        // memory.
        let rc = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        Err(match e.raw_os_error() {
            Some(libc::EEXIST) => Unnamed::Exists,
            Some(libc::ENOENT | libc::EPERM | libc::EXDEV | libc::EOPNOTSUPP) => {
                Unnamed::Unsupported(e)
            }
            _ => Unnamed::Io(e),
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn write_unnamed(&self, _dir: &Path, _msg: &Outgoing, _cur: &Path) -> Result<(), Unnamed> {
        Err(Unnamed::Unsupported(std::io::Error::from(
            std::io::ErrorKind::Unsupported,
        )))
    }
}

/// Why a message was not written as an unnamed file.
enum Unnamed {
    /// The file system or the system cannot (no `O_TMPFILE`, no `/proc`).
    Unsupported(std::io::Error),
    /// The name exists in `cur/` already.
    Exists,
    /// Writing failed (the message fails as it would through `tmp/`).
    Io(std::io::Error),
}

/// The Maildir directory a source folder goes to, and how that was chosen.
fn explain(opts: &MaildirOptions, spec: &MailboxSpec) -> MailboxPlan {
    let (components, how, notes) = match &opts.mapper {
        Some(m) => {
            let r = m.map_components(&spec.components);
            (r.components, r.how, r.notes)
        }
        None => (spec.components.clone(), MapSource::Default, Vec::new()),
    };
    MailboxPlan {
        name: folder_dir_name(&components, opts.dot_char).unwrap_or_else(|| "INBOX".into()),
        how: Some(how),
        notes,
        warnings: Vec::new(),
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
        let files = self.files_by_base(mailbox)?;
        let mut answers = Vec::with_capacity(refs.len());
        for (r, _) in refs {
            // Our names are deterministic (item id and content hash in
            // the base): a file with that base is the copy we wrote.
            let id = r.id.as_deref().unwrap_or("");
            let base = id.split([',', ':']).next().unwrap_or(id);
            let ours = base.ends_with(".kerio-migrate");
            match files.get(base).filter(|_| ours) {
                // One file that cannot be removed is not removed (its row
                // stays); the others still are.
                Some(path) => match fs::remove_file(path) {
                    Ok(()) => answers.push(true),
                    Err(e) => {
                        tracing::warn!("{}: not removed: {e}", path.display());
                        answers.push(false);
                    }
                },
                None => answers.push(false),
            }
        }
        Ok(answers)
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
        let dir = self.mailbox_dir(mailbox);
        let files = self.files_by_base(mailbox)?;
        let mut answers = Vec::with_capacity(changes.len());
        for ch in changes {
            let id = ch.target.id.as_deref().unwrap_or("");
            let base = id.split([',', ':']).next().unwrap_or(id);
            let Some(path) = files.get(base) else {
                answers.push(false);
                continue;
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let to = renamed_info(&name, ch);
            let dest = dir.join("cur").join(&to);
            if to != name || path.parent() != dest.parent() {
                fs::rename(path, &dest).map_err(|e| io_err(path, e))?;
            }
            answers.push(true);
        }
        Ok(answers)
    }

    fn verify(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, crate::message::ContentHash)],
        deep: bool,
    ) -> Result<Vec<super::Presence>, DestError> {
        use super::Presence;
        // Base name -> current file (flags in the name may have changed since).
        let files = self.files_by_base(mailbox)?;
        Ok(refs
            .iter()
            .map(|(r, hash)| {
                let id = r.id.as_deref().unwrap_or("");
                let base = id.split([',', ':']).next().unwrap_or(id);
                match files.get(base) {
                    None => Presence::Missing,
                    Some(_) if !deep => Presence::Present,
                    Some(path) => match fs::read(path) {
                        Ok(b) if crate::message::ContentHash::of(&b) == *hash => Presence::Present,
                        _ => Presence::Differs,
                    },
                }
            })
            .collect())
    }

    fn prepare_mailbox(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        let name = self.plan_mailbox(spec)?;
        let dir = if name == "INBOX" {
            self.account_dir.clone()
        } else {
            self.account_dir.join(&name)
        };
        make_maildir(&dir, name != "INBOX")?;
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
        let dir = self
            .mailboxes
            .get(mailbox)
            .cloned()
            .ok_or_else(|| DestError::Mailbox {
                mailbox: mailbox.to_string(),
                reason: "not prepared".into(),
            })?;
        let mut existing = existing_bases(&dir)?;
        for msg in messages {
            let base = base_name(&msg);
            let result = if existing.contains(&base) {
                DeliveryResult::AlreadyPresent(DestRef {
                    id: Some(base.clone()),
                    ..DestRef::default()
                })
            } else {
                match self.write_one(&dir, &msg, &base) {
                    Ok(name) => {
                        existing.insert(base);
                        DeliveryResult::Delivered(DestRef {
                            id: Some(name),
                            ..DestRef::default()
                        })
                    }
                    Err(e) => DeliveryResult::Failed {
                        reason: format!("write into {}: {e}", dir.display()),
                    },
                }
            };
            // Deterministic names make a Pending announcement unnecessary.
            events(SessionEvent::Done(Delivery {
                size: msg.message.bytes.len() as u64,
                hash: msg.message.hash,
                internal_date: msg.internal_date,
                message_id: msg.message.message_id.clone(),
                item_id: msg.item_id,
                result,
            }));
        }
        Ok(())
    }

    fn durability_barrier(&self) -> Box<dyn Fn() -> std::io::Result<()> + Send + Sync> {
        let dir = self.account_dir.clone();
        Box::new(move || syncfs(&dir))
    }
}

/// Unix seconds as a file time (dates before 1970 included).
fn file_time(secs: i64) -> std::time::SystemTime {
    let d = std::time::Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        std::time::UNIX_EPOCH + d
    } else {
        std::time::UNIX_EPOCH - d
    }
}

/// Flushes the file system holding `dir` (one call instead of an fsync per
/// message).
fn syncfs(dir: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let f = fs::File::open(dir)?;
        // SAFETY: syncfs takes a valid open descriptor and touches no memory.
        let rc = unsafe { libc::syncfs(f.as_raw_fd()) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        fs::File::open(dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(p: &str) -> Vec<String> {
        p.split('/').map(str::to_string).collect()
    }

    #[test]
    fn folder_names() {
        assert_eq!(folder_dir_name(&comps("INBOX"), None), None);
        assert_eq!(
            folder_dir_name(&comps("INBOX/Projects"), None).as_deref(),
            Some(".INBOX.Projects")
        );
        assert_eq!(
            folder_dir_name(&comps("Sent Items"), None).as_deref(),
            Some(".Sent Items")
        );
        assert_eq!(
            folder_dir_name(&comps("Crédit Agricole/ivan.ivanov"), None).as_deref(),
            Some(".Cr&AOk-dit Agricole.ivan\\2eivanov")
        );
        assert_eq!(
            folder_dir_name(&comps("ivan.ivanov"), Some('_')).as_deref(),
            Some(".ivan_ivanov")
        );
        assert_eq!(
            folder_dir_name(&comps("a\\b"), None).as_deref(),
            Some(".a\\5cb")
        );
        assert_eq!(
            folder_dir_name(&comps("~x~"), None).as_deref(),
            Some(".\\7ex~")
        );
        assert_eq!(
            folder_dir_name(&comps("R&D"), None).as_deref(),
            Some(".R&-D")
        );
        assert_eq!(
            folder_dir_name(&comps(".."), None).as_deref(),
            Some(".\\2e\\2e")
        );
        assert_eq!(
            folder_dir_name(&["a/b".to_string()], None).as_deref(),
            Some(".a\\2fb")
        );
    }

    #[test]
    fn mapped_names_and_planning_sessions() {
        use crate::mapping::{MappingConfig, Preset, TargetFolders};
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("not-yet");
        let config = MappingConfig {
            preset: Some(Preset::Dovecot),
            prefix: Some("Kerio/".into()),
            ..MappingConfig::default()
        };
        let opts = MaildirOptions {
            mapper: Some(Arc::new(Mapper::new(&config, &TargetFolders::maildir()))),
            ..MaildirOptions::default()
        };
        let target = MaildirDest::for_plan(&root, opts).expect("target");
        let account = Account {
            domain: "example.com".into(),
            local: "alice".into(),
            dir: dir.path().join("src"),
            public: false,
        };
        let mut s = target.plan_session(&account);
        let name = |s: &mut Box<dyn Planner>, p: &str| {
            s.plan_mailbox(&MailboxSpec {
                source_path: p.into(),
                components: comps(p),
            })
            .expect("name")
        };
        assert_eq!(name(&mut s, "INBOX"), "INBOX");
        assert_eq!(name(&mut s, "INBOX/Sub"), ".INBOX.Sub");
        assert_eq!(name(&mut s, "Sent Items"), ".Sent");
        assert_eq!(name(&mut s, "Sent Items/2019"), ".Sent.2019");
        assert_eq!(
            name(&mut s, "Crédit/ivan.ivanov"),
            ".Kerio.Cr&AOk-dit.ivan\\2eivanov"
        );
        let spec = MailboxSpec {
            source_path: "Junk E-mail".into(),
            components: comps("Junk E-mail"),
        };
        let p = s.explain_mailbox(&spec).expect("explain");
        assert_eq!(p.name, ".Junk");
        assert_eq!(p.how, Some(MapSource::Special));
        // Planning creates nothing, not even on finish (a planner cannot
        // create mailboxes or deliver).
        s.finish().expect("finish");
        assert!(!root.exists());
        // Without a mapper the names are as they always were.
        let target = MaildirDest::for_plan(&root, MaildirOptions::default()).expect("target");
        let mut s = target.plan_session(&account);
        assert_eq!(name(&mut s, "Sent Items"), ".Sent Items");
    }

    #[test]
    fn sync_renames_only_the_four_system_letters() {
        let ch = super::super::FlagChange {
            target: DestRef::default(),
            from: MailFlags {
                flagged: true,
                ..MailFlags::default()
            },
            to: MailFlags {
                seen: true,
                ..MailFlags::default()
            },
        };
        assert_eq!(
            renamed_info("1.M1,S=5,W=5:2,FTa", &ch),
            "1.M1,S=5,W=5:2,STa"
        );
        assert_eq!(renamed_info("1.M1", &ch), "1.M1:2,S");
    }

    #[test]
    fn flags_in_order() {
        let f = MailFlags {
            seen: true,
            answered: true,
            flagged: true,
            draft: true,
        };
        assert_eq!(info_flags(f), "DFRS");
        assert_eq!(info_flags(MailFlags::default()), "");
    }

    /// Writes `msgs` (id, bytes) into INBOX of a new session whose
    /// unnamed-file path is `unnamed`; the delivered names.
    fn deliver_all(dir: &Path, unnamed: bool, msgs: &[(&str, &[u8])]) -> Vec<String> {
        let target = MaildirDest::new(dir, MaildirOptions::default()).expect("target");
        let account = Account {
            domain: "example.com".into(),
            local: "alice".into(),
            dir: dir.join("src"),
            public: false,
        };
        let mut session = MaildirSession {
            account_dir: target.account_dir(&account),
            opts: MaildirOptions::default(),
            unnamed: AtomicBool::new(unnamed),
            mailboxes: HashMap::new(),
        };
        make_maildir(&session.account_dir, false).expect("maildir");
        let spec = MailboxSpec {
            source_path: "INBOX".into(),
            components: comps("INBOX"),
        };
        let mailbox = session.prepare_mailbox(&spec).expect("prepare");
        let mut out = msgs.iter().map(|(id, bytes)| Outgoing {
            item_id: id.to_string(),
            message: crate::message::prepare(bytes.to_vec()),
            flags: MailFlags {
                seen: true,
                ..MailFlags::default()
            },
            internal_date: chrono::DateTime::from_timestamp(1_300_000_000, 0).expect("date"),
        });
        let mut names = Vec::new();
        session
            .deliver(&mailbox, &mut out, &mut |e| {
                if let SessionEvent::Done(d) = e {
                    match d.result {
                        DeliveryResult::Delivered(r) => names.extend(r.id),
                        other => panic!("not delivered: {other:?}"),
                    }
                }
                true
            })
            .expect("deliver");
        names
    }

    #[test]
    fn messages_land_complete_in_cur_with_or_without_unnamed_files() {
        for unnamed in [true, false] {
            let t = tempfile::tempdir().expect("tmp");
            let names = deliver_all(
                t.path(),
                unnamed,
                &[("1", b"Subject: a\n\nx\n"), ("2", b"Subject: b\r\n\r\ny")],
            );
            let inbox = t.path().join("alice@example.com");
            assert_eq!(names.len(), 2);
            for (name, want) in names
                .iter()
                .zip([&b"Subject: a\r\n\r\nx\r\n"[..], b"Subject: b\r\n\r\ny\r\n"])
            {
                let p = inbox.join("cur").join(name);
                assert_eq!(fs::read(&p).expect("in cur/"), want, "{name}");
                let m = fs::metadata(&p).expect("stat");
                assert_eq!(m.modified().expect("mtime"), file_time(1_300_000_000));
                assert!(name.ends_with(":2,S"), "{name}");
            }
            assert_eq!(fs::read_dir(inbox.join("tmp")).expect("tmp/").count(), 0);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_unnamed_file_whose_name_exists_replaces_it_through_tmp() {
        let t = tempfile::tempdir().expect("tmp");
        let first = deliver_all(t.path(), true, &[("1", b"Subject: a\n\nx\n")]);
        let p = t
            .path()
            .join("alice@example.com")
            .join("cur")
            .join(&first[0]);
        // A stale file under the same full name but with other bytes (base
        // names are looked up when a mailbox's delivery starts, so this is
        // the name appearing in between): linkat says EEXIST.
        let session = MaildirSession {
            account_dir: t.path().join("alice@example.com"),
            opts: MaildirOptions::default(),
            unnamed: AtomicBool::new(true),
            mailboxes: HashMap::new(),
        };
        fs::write(&p, b"stale").expect("write");
        let msg = Outgoing {
            item_id: "1".into(),
            message: crate::message::prepare(b"Subject: a\n\nx\n".to_vec()),
            flags: MailFlags {
                seen: true,
                ..MailFlags::default()
            },
            internal_date: chrono::DateTime::from_timestamp(1_300_000_000, 0).expect("date"),
        };
        let base = base_name(&msg);
        let name = session
            .write_one(&session.account_dir, &msg, &base)
            .expect("written");
        assert_eq!(name, first[0]);
        assert_eq!(fs::read(&p).expect("read"), b"Subject: a\r\n\r\nx\r\n");
        assert!(
            session.unnamed.load(Ordering::Relaxed),
            "EEXIST is not 'unsupported'"
        );
    }
}
