//! Delivery into the Maildir target: the `cur/ new/ tmp/` directories,
//! each message as an unnamed file given its name once complete (or through
//! `tmp/` and a rename), its mtime the internal date, names already there
//! answered as present (with the flags their `:2,` info has now), and
//! `syncfs` as the durability barrier.

use super::names::{base_name, info_flags, name_flags};
use super::{io_err, MaildirSession};
use crate::dest::{
    Delivery, DeliveryResult, DestError, DestRef, MailFlags, Outgoing, SessionEvent,
};
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;

/// The disk (ENOSPC: no block or no inode left) or the quota (EDQUOT) is
/// full: the account takes nothing more (see `MaildirSession::set_full`).
pub(super) fn no_room(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

pub(super) fn make_maildir(dir: &Path, is_folder: bool) -> Result<(), DestError> {
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
pub(super) fn clean_tmp(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir.join("tmp")) else {
        return;
    };
    for e in rd.flatten() {
        if e.file_name().to_string_lossy().contains(".kerio-migrate,") {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// The files of a mailbox directory by the base of their name, with the
/// flags their `:2,` info says they have (what a reader gave them since).
fn existing_bases(dir: &Path) -> Result<HashMap<String, MailFlags>, DestError> {
    let mut map = HashMap::new();
    for sub in ["cur", "new"] {
        let p = dir.join(sub);
        let rd = fs::read_dir(&p).map_err(|e| io_err(&p, e))?;
        for e in rd {
            let e = e.map_err(|e| io_err(&p, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let base = name.split([',', ':']).next().unwrap_or(&name).to_string();
            map.insert(base, name_flags(&name));
        }
    }
    Ok(map)
}

impl MaildirSession {
    /// Writes `messages` into the prepared `mailbox`; every one is answered
    /// through `events`.
    pub(super) fn deliver_files(
        &mut self,
        mailbox: &str,
        messages: &mut dyn Iterator<Item = Outgoing>,
        events: &mut dyn FnMut(SessionEvent) -> bool,
    ) -> Result<(), DestError> {
        if let Some(why) = self.full() {
            return Err(DestError::Stopped(why));
        }
        let dir = self
            .mailboxes
            .get(mailbox)
            .cloned()
            .ok_or_else(|| DestError::Mailbox {
                mailbox: mailbox.to_string(),
                reason: "not prepared".into(),
            })?;
        let mut existing = existing_bases(&dir)?;
        // `cur/` opened once: each file is made and named relative to it,
        // not by resolving the whole path twice per message.
        let cur_dir = open_dir(&dir.join("cur")).ok();
        for msg in messages {
            let base = base_name(&msg);
            // A file of ours already there keeps the flags its name has:
            // those are what the journal records, for `sync` to correct.
            let (result, target_flags) = if let Some(flags) = existing.get(&base) {
                let present = DeliveryResult::AlreadyPresent(DestRef {
                    id: Some(base.clone()),
                    ..DestRef::default()
                });
                (present, Some(*flags))
            } else {
                match self.write_one(&dir, cur_dir.as_ref(), &msg, &base) {
                    Ok(name) => {
                        existing.insert(base, msg.flags);
                        let delivered = DeliveryResult::Delivered(DestRef {
                            id: Some(name),
                            ..DestRef::default()
                        });
                        (delivered, None)
                    }
                    Err(e) => {
                        let reason = format!("write into {}: {e}", dir.display());
                        if no_room(&e) {
                            self.set_full(format!(
                                "{reason}; nothing more is written for this account"
                            ));
                        }
                        (DeliveryResult::Failed { reason }, None)
                    }
                }
            };
            // Deterministic names make a Pending announcement unnecessary.
            events(SessionEvent::Done(done(msg, result, target_flags)));
            if let Some(why) = self.full() {
                return Err(DestError::Stopped(why));
            }
        }
        Ok(())
    }

    /// Writes one message under its full name into `dir`'s `cur/`
    /// (`cur_dir`: that directory, open; `None` when it could not be
    /// opened: through `tmp/`).
    fn write_one(
        &self,
        dir: &Path,
        cur_dir: Option<&fs::File>,
        msg: &Outgoing,
        base: &str,
    ) -> Result<String, std::io::Error> {
        let size = msg.message.bytes.len();
        let name = format!("{base},S={size},W={size}:2,{}", info_flags(msg.flags));
        let cur = dir.join("cur").join(&name);
        if let Some(cur_dir) = cur_dir.filter(|_| self.unnamed.load(Ordering::Relaxed)) {
            match self.write_unnamed(cur_dir, msg, &name) {
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
    fn write_unnamed(&self, cur_dir: &fs::File, msg: &Outgoing, name: &str) -> Result<(), Unnamed> {
        use std::os::fd::{AsRawFd, FromRawFd};
        // SAFETY: a valid directory descriptor and a NUL-terminated path;
        // the descriptor returned (if any) is ours alone.
        let fd = unsafe {
            libc::openat(
                cur_dir.as_raw_fd(),
                c".".as_ptr(),
                libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC,
                0o666 as libc::c_uint,
            )
        };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL) => Unnamed::Unsupported(e),
                _ => Unnamed::Io(e),
            });
        }
        // SAFETY: `fd` was just opened and nothing else owns it.
        let mut f = unsafe { fs::File::from_raw_fd(fd) };
        self.fill(&mut f, msg).map_err(Unnamed::Io)?;
        let cstr = |b: &[u8]| std::ffi::CString::new(b).map_err(|e| Unnamed::Io(e.into()));
        let from = cstr(format!("/proc/self/fd/{}", f.as_raw_fd()).as_bytes())?;
        let to = cstr(name.as_bytes())?;
        // SAFETY: a valid directory descriptor and two valid NUL-terminated
        // paths; linkat touches no other memory.
        let rc = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                from.as_ptr(),
                cur_dir.as_raw_fd(),
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
    fn write_unnamed(
        &self,
        _cur_dir: &fs::File,
        _msg: &Outgoing,
        _name: &str,
    ) -> Result<(), Unnamed> {
        Err(Unnamed::Unsupported(std::io::Error::from(
            std::io::ErrorKind::Unsupported,
        )))
    }
}

/// The answer for `msg`.
fn done(msg: Outgoing, result: DeliveryResult, target_flags: Option<MailFlags>) -> Delivery {
    Delivery {
        size: msg.message.bytes.len() as u64,
        hash: msg.message.hash,
        internal_date: msg.internal_date,
        message_id: msg.message.message_id,
        item_id: msg.item_id,
        result,
        target_flags,
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

/// A directory opened for `openat` / `linkat` relative to it.
fn open_dir(p: &Path) -> std::io::Result<fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(p)
    }
    #[cfg(not(unix))]
    {
        fs::File::open(p)
    }
}

/// Unix seconds as a file time (dates before 1970 included).
pub(super) fn file_time(secs: i64) -> std::time::SystemTime {
    let d = std::time::Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        std::time::UNIX_EPOCH + d
    } else {
        std::time::UNIX_EPOCH - d
    }
}

/// Flushes the file system holding `dir` (one call instead of an fsync per
/// message).
pub(super) fn syncfs(dir: &Path) -> std::io::Result<()> {
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
    use super::super::{MaildirDest, MaildirOptions};
    use super::*;
    use crate::dest::{DestSession, MailFlags, MailboxSpec};
    use crate::model::Account;
    use std::collections::HashMap;
    use std::sync::atomic::AtomicBool;

    fn comps(p: &str) -> Vec<String> {
        p.split('/').map(str::to_string).collect()
    }

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
            full: std::sync::Arc::default(),
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

    #[test]
    fn the_folders_of_one_account_are_written_by_as_many_sessions_as_asked() {
        use crate::dest::Destination;
        let t = tempfile::tempdir().expect("tmp");
        let target = MaildirDest::new(t.path(), MaildirOptions::default()).expect("target");
        assert_eq!(target.folder_sessions(4), 4);
        assert_eq!(target.folder_sessions(1), 1);
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
            full: std::sync::Arc::default(),
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
            .write_one(
                &session.account_dir,
                open_dir(&session.account_dir.join("cur")).ok().as_ref(),
                &msg,
                &base,
            )
            .expect("written");
        assert_eq!(name, first[0]);
        assert_eq!(fs::read(&p).expect("read"), b"Subject: a\r\n\r\nx\r\n");
        assert!(
            session.unnamed.load(Ordering::Relaxed),
            "EEXIST is not 'unsupported'"
        );
    }
}
