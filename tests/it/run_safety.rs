//! How a run behaves around it: two runs on one journal, SIGTERM during a
//! paced run, and a journal that fails under the driver. Against the Maildir
//! target (no server needed).

use crate::support::run::{wait_at_most, wait_while_running};
use crate::support::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// One account with `n` small messages in INBOX.
fn store(dir: &Path, n: usize) -> StoreBuilder {
    let s = StoreBuilder::new(&dir.join("kerio"));
    s.messages("ann@run.test", "INBOX", n, |i| {
        format!(
            "From: a@run.test\nSubject: {i}\nMessage-ID: <{i}@run.test>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\nbody {i}\n"
        )
    });
    s
}

fn maildir_count(dir: &Path) -> usize {
    maildir_messages(&dir.join("ann@run.test")).len()
}

#[test]
fn a_second_run_on_the_same_journal_stops_before_sending() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = store(tmp.path(), 3);
    let journal = tmp.path().join("state/j.sqlite");
    std::fs::create_dir_all(journal.parent().expect("dir")).expect("mkdir");
    // Another run holds the journal.
    let lock = hold_lock(&tmp.path().join("state/j.sqlite.lock"));
    let out_dir = tmp.path().join("maildir");
    let migrate = Run::migrate_to_maildir(&s.install, &out_dir).state(&journal);
    let o = migrate.run();
    assert_eq!(o.code, 1, "{o}");
    assert!(
        o.stderr.contains("another kerio-migrate run is using") && o.stderr.contains("j.sqlite"),
        "{o}"
    );
    assert_eq!(maildir_count(&out_dir), 0, "nothing was written");
    // Once the other run is gone, the same command works.
    drop(lock);
    let o = migrate.run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(maildir_count(&out_dir), 3);
}

#[test]
fn sigterm_during_a_paced_run_stops_cleanly_with_exit_4() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = store(tmp.path(), 6);
    let out_dir = tmp.path().join("maildir");
    let journal = tmp.path().join("j.sqlite");
    let report = tmp.path().join("r.json");
    // One message every 20 s: the run sits in the pacer.
    let mut child = Run::migrate_to_maildir(&s.install, &out_dir)
        .state(&journal)
        .report(&report)
        .args(["--max-rate", "0.05"])
        .spawn(Stdio::piped());
    // The first message goes at once; then the pacer holds the next one
    // for 20 s. (A fixed sleep here raced a loaded machine: with nothing
    // delivered yet, `migrated` was 0.)
    wait_while_running(
        &mut child,
        Duration::from_secs(30),
        "a first message",
        || maildir_count(&out_dir) >= 1,
    );
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let sent = Instant::now();
    let status = wait_at_most(&mut child, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("still running 15 s after SIGTERM"));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
        .expect("stderr");
    assert_eq!(status.code(), Some(4), "{status:?}: {err}");
    assert!(
        sent.elapsed() < Duration::from_secs(12),
        "the pacer's wait ends at once: {:?}",
        sent.elapsed()
    );
    // The report is written and says what happened to every item.
    let r = json(&report);
    assert_eq!(r["interrupted"], true, "{r}");
    let t = &r["totals"];
    assert_eq!(t["expected"], 6);
    let migrated = t["migrated"].as_u64().expect("migrated");
    assert!((1..6).contains(&migrated), "{t}");
    assert_eq!(t["skipped"].as_u64(), Some(6 - migrated), "{t}");
    assert_eq!(maildir_count(&out_dir) as u64, migrated);
    // The journal has the run's end and every message that arrived.
    let c = rusqlite::Connection::open(&journal).expect("journal");
    let (code, finished): (Option<i64>, Option<String>) = c
        .query_row(
            "SELECT exit_code, finished FROM runs ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("run row");
    assert_eq!(code, Some(4));
    assert!(finished.is_some());
    let done: i64 = c
        .query_row("SELECT COUNT(*) FROM items WHERE state = 'done'", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(done as u64, migrated);
}

/// A Maildir target whose sessions break the journal's items table when
/// they prepare their first mailbox (so every journal read after it fails).
struct BreaksJournal {
    inner: kerio_migrate::dest::maildir::MaildirDest,
    journal: std::path::PathBuf,
}

struct BreaksJournalSession {
    inner: Box<dyn kerio_migrate::dest::DestSession>,
    journal: std::path::PathBuf,
    broken: bool,
}

impl kerio_migrate::dest::Destination for BreaksJournal {
    fn id(&self) -> String {
        self.inner.id()
    }
    fn open(
        &self,
        account: &kerio_migrate::source::kerio::Account,
    ) -> Result<Box<dyn kerio_migrate::dest::DestSession>, kerio_migrate::dest::DestError> {
        Ok(Box::new(BreaksJournalSession {
            inner: self.inner.open(account)?,
            journal: self.journal.clone(),
            broken: false,
        }))
    }
}

impl kerio_migrate::dest::Planner for BreaksJournalSession {
    fn target_account(&self) -> String {
        self.inner.target_account()
    }
    fn plan_mailbox(
        &mut self,
        spec: &kerio_migrate::dest::MailboxSpec,
    ) -> Result<String, kerio_migrate::dest::DestError> {
        self.inner.plan_mailbox(spec)
    }
    fn finish(self: Box<Self>) -> Result<(), kerio_migrate::dest::DestError> {
        self.inner.finish()
    }
}

impl kerio_migrate::dest::DestSession for BreaksJournalSession {
    fn prepare_mailbox(
        &mut self,
        spec: &kerio_migrate::dest::MailboxSpec,
    ) -> Result<String, kerio_migrate::dest::DestError> {
        if !std::mem::replace(&mut self.broken, true) {
            let c = rusqlite::Connection::open(&self.journal).expect("journal");
            c.execute_batch("ALTER TABLE items RENAME TO items_gone")
                .expect("rename");
        }
        self.inner.prepare_mailbox(spec)
    }
    fn deliver(
        &mut self,
        mailbox: &str,
        messages: &mut dyn Iterator<Item = kerio_migrate::dest::Outgoing>,
        events: &mut dyn FnMut(kerio_migrate::dest::SessionEvent) -> bool,
    ) -> Result<(), kerio_migrate::dest::DestError> {
        self.inner.deliver(mailbox, messages, events)
    }
    fn durability_barrier(&self) -> Box<dyn Fn() -> std::io::Result<()> + Send + Sync> {
        self.inner.durability_barrier()
    }
}

#[test]
fn a_journal_that_fails_at_a_folders_start_still_counts_every_item() {
    use kerio_migrate::dest::maildir::{MaildirDest, MaildirOptions};
    let tmp = tempfile::tempdir().expect("tmp");
    let s = store(tmp.path(), 4);
    s.item(
        "ann@run.test",
        "Archive",
        "00000001",
        b"From: a@run.test\nMessage-ID: <a@run.test>\n\narchived\n",
    );
    let journal_path = tmp.path().join("j.sqlite");
    let target = BreaksJournal {
        inner: MaildirDest::new(&tmp.path().join("maildir"), MaildirOptions::default())
            .expect("target"),
        journal: journal_path.clone(),
    };
    let journal = kerio_migrate::journal::Journal::open(
        &journal_path,
        &kerio_migrate::dest::Destination::id(&target),
        "test",
    )
    .expect("journal");
    let store = kerio_migrate::source::kerio::Store::open(&s.install).expect("store");
    let progress = kerio_migrate::progress::Progress::new(
        "migrate",
        Some(0),
        kerio_migrate::progress::ProgressMode::Quiet,
    );
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let report = kerio_migrate::engine::migrate(
        &store,
        &target,
        &journal,
        &kerio_migrate::engine::MigrateOptions::default(),
        &progress,
        &cancel,
    );
    assert!(
        report.fatal.as_deref().is_some_and(|f| f.contains("items")),
        "{:?}",
        report.fatal
    );
    assert_eq!(report.exit_code, 1);
    let folders = &report.accounts[0].folders;
    assert_eq!(folders.len(), 2);
    for f in folders {
        assert!(
            f.counts.balanced() && f.counts.expected > 0,
            "{}: {:?}",
            f.folder,
            f.counts
        );
        assert_eq!(f.counts.skipped, f.counts.expected, "{}", f.folder);
    }
    let first = &folders[0];
    assert!(
        first
            .skipped
            .iter()
            .all(|n| n.reason == "not attempted: journal error"),
        "{:?}",
        first.skipped
    );
    assert!(report.totals.balanced(), "{:?}", report.totals);
}

/// `/dev/full`: every write fails with ENOSPC, as a `2>run.log` or a
/// `>inventory.json` on a full disk does.
fn dev_full() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full"),
    )
}

/// `scan STORE EXTRA…` with its stdout on /dev/full: exit code, stderr.
fn scan_onto_full_stdout(store: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let o = Run::new("scan")
        .arg(store)
        .args(extra)
        .command()
        .stdout(dev_full())
        .output()
        .expect("run");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_full_stderr_or_stdout_never_turns_a_command_into_a_panic() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = store(tmp.path(), 5);
    let out_dir = tmp.path().join("maildir");
    // A run whose stderr cannot be written (its warning, its progress)
    // still delivers everything and says so by its exit code.
    let status = Run::migrate_to_maildir(&s.install, &out_dir)
        .state(&tmp.path().join("j.sqlite"))
        .command()
        .arg("--tls")
        .arg("none")
        .stdout(Stdio::null())
        .stderr(dev_full())
        .status()
        .expect("run");
    // --tls means nothing for a Maildir: refused by the command line, not a panic.
    assert_ne!(status.code(), Some(101), "{status:?}");
    let status = Run::migrate_to_maildir(&s.install, &out_dir)
        .state(&tmp.path().join("j.sqlite"))
        .command()
        .stdout(dev_full())
        .stderr(dev_full())
        .status()
        .expect("run");
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(maildir_count(&out_dir), 5);
    // An IMAP target with --tls none (its warning goes to stderr first)
    // that nobody listens on: a fatal error (exit 1), reported nowhere
    // since stderr is full, but not exit 101.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let status = Run::migrate(&s.install, &format!("imap://127.0.0.1:{port}"))
        .args(["--tls", "none", "--user", "ann", "--password-env", "PW"])
        .env("PW", "x")
        .state(&tmp.path().join("j2.sqlite"))
        .command()
        .stdout(Stdio::null())
        .stderr(dev_full())
        .status()
        .expect("run");
    assert!(
        matches!(status.code(), Some(1) | Some(3)),
        "exit 1 or 3, not a panic: {status:?}"
    );
    // A fatal error whose message cannot be written: exit 1.
    let status = Run::new("scan")
        .arg(tmp.path().join("no-such-store"))
        .command()
        .stdout(Stdio::null())
        .stderr(dev_full())
        .status()
        .expect("run");
    assert_eq!(status.code(), Some(1), "{status:?}");
    // Output a script reads that cannot be written is the command's error,
    // said on stderr.
    let (code, err) = scan_onto_full_stdout(&s.install, &["--json"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("writing to stdout") && err.contains("No space left"),
        "{err}"
    );
}

/// A tmpfs of `size` mounted on `dir` while it lives (needs root; `None`
/// when this machine will not mount one).
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    /// `options`: tmpfs's (`size=64k`, `nr_inodes=48`).
    fn mount(dir: &Path, options: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).expect("mkdir");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(dir.to_path_buf()))
    }

    fn grow(&self, size: &str) {
        let s = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .expect("remount");
        assert!(s.success(), "remount {}", self.0.display());
    }
}

/// A migration of `s` into the Maildir `out`, one folder after the other,
/// journal and report in `dir`.
fn one_folder_at_a_time(s: &StoreBuilder, out: &Path, dir: &Path) -> Run {
    Run::migrate_to_maildir(&s.install, out)
        .state(&dir.join("j.sqlite"))
        .report(&dir.join("r.json"))
        .args(["--parallel-folders", "1"])
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_maildir_disk_stops_the_account_at_once_and_a_rerun_writes_the_rest() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = StoreBuilder::new(&tmp.path().join("kerio"));
    let filler = "x".repeat(6000);
    for folder in ["INBOX", "Archive"] {
        s.messages("ann@run.test", folder, 60, |i| {
            format!(
                "From: a@run.test\nSubject: {i}\nMessage-ID: <{folder}{i}@run.test>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\n{filler} {i}\n"
            )
        });
    }
    let out_dir = tmp.path().join("disk/maildir");
    let Some(disk) = SmallDisk::mount(&tmp.path().join("disk"), "size=64k") else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root); the full-disk case is untested"
        );
        return;
    };
    // One folder after the other: the second one is not even started.
    let run = one_folder_at_a_time(&s, &out_dir, tmp.path());
    let o = run.run();
    assert_eq!(o.code, 3, "{o}");
    let archive = out_dir.join("ann@run.test/.Archive");
    let on_disk = || maildir_count(&out_dir) + maildir_messages(&archive).len();
    let written = on_disk();
    assert!(written < 60, "the disk was not full: {written} written");
    let totals = &o.report["totals"];
    assert_eq!(totals["migrated"], written, "{totals}");
    assert_eq!(totals["failed"], 120 - written, "{totals}");
    // One write found the disk full; every message after it, in this
    // folder and the next, fails with that reason without another write.
    let mut reasons = Vec::new();
    for f in o.report["accounts"][0]["folders"]
        .as_array()
        .expect("folders")
    {
        for x in f["failed"].as_array().expect("failed") {
            reasons.push(x["reason"].as_str().expect("reason").to_string());
        }
    }
    assert_eq!(reasons.len(), 120 - written);
    let tried = reasons
        .iter()
        .filter(|r| !r.contains("nothing more is written"))
        .count();
    assert_eq!(tried, 1, "{reasons:#?}");
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("No space left on device")),
        "{reasons:#?}"
    );
    // Room again: the rerun writes what failed, once.
    disk.grow("4m");
    let o = run.run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.report["totals"]["migrated"], 120 - written, "{o}");
    assert_eq!(on_disk(), 120);
}

#[test]
fn a_report_that_cannot_be_written_leaves_the_last_complete_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = store(tmp.path(), 5);
    let Some(_disk) = SmallDisk::mount(&tmp.path().join("disk"), "size=64k") else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root); a report on a full disk is untested"
        );
        return;
    };
    let report = tmp.path().join("disk/r.json");
    let run = Run::migrate_to_maildir(&s.install, &tmp.path().join("maildir"))
        .state(&tmp.path().join("j.sqlite"))
        .report(&report);
    let first = run.run();
    assert_eq!(first.code, 0, "{first}");
    let complete = std::fs::read(&report).expect("report");
    // The next run has more to say (20 more folders): written in place, the
    // old report's blocks freed by the truncation would not hold it.
    for f in 0..20 {
        s.messages("ann@run.test", &format!("Folder {f}"), 1, |i| {
            format!("From: a@run.test\nSubject: {f}\nMessage-ID: <f{f}.{i}@run.test>\n\nbody\n")
        });
    }
    // Fill the disk: the next report cannot be written.
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(tmp.path().join("disk/filler")).expect("filler");
        while f.write_all(&[b'x'; 4096]).is_ok() {}
    }
    let o = run.command().output().expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("writing the report to") && err.contains("No space left"),
        "{err}"
    );
    // The previous report is whole (it was written in place before: empty
    // or cut here), and nothing half-written is left beside it.
    let now = std::fs::read(&report).expect("report");
    assert!(
        now == complete,
        "the previous report was damaged: {} bytes left of {}",
        now.len(),
        complete.len()
    );
    let mut names: Vec<_> = std::fs::read_dir(tmp.path().join("disk"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["filler", "r.json"]);
    // A report for a person on a full stdout: the command's error too.
    let (code, err) = scan_onto_full_stdout(&s.install, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("writing the report to stdout"), "{err}");
}

#[test]
fn a_maildir_disk_out_of_inodes_stops_the_account_at_the_first_folder_it_cannot_create() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = StoreBuilder::new(&tmp.path().join("kerio"));
    const FOLDERS: usize = 12;
    for f in 0..FOLDERS {
        s.messages("ann@run.test", &format!("F{f:02}"), 3, |i| {
            format!(
                "From: a@run.test\nSubject: {f}.{i}\nMessage-ID: <{f}.{i}@run.test>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\nbody\n"
            )
        });
    }
    let disk_dir = tmp.path().join("disk");
    // Room for bytes, not for files: the mkdir of a folder fails first.
    let Some(disk) = SmallDisk::mount(&disk_dir, "size=4m,nr_inodes=48") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); inode exhaustion is untested");
        return;
    };
    let out_dir = disk_dir.join("maildir");
    let run = one_folder_at_a_time(&s, &out_dir, tmp.path());
    let o = run.run();
    assert_eq!(o.code, 3, "{o}");
    let folders = o.report["accounts"][0]["folders"]
        .as_array()
        .expect("folders")
        .clone();
    let mut reasons = Vec::new();
    for f in &folders {
        for x in f["failed"].as_array().into_iter().flatten() {
            reasons.push(x["reason"].as_str().expect("reason").to_string());
        }
        if let Some(e) = f["error"].as_str() {
            reasons.push(e.to_string());
        }
    }
    let written = o.report["totals"]["migrated"].as_u64().expect("migrated");
    let all = (FOLDERS * 3) as u64;
    assert!(written < all, "inodes left: {o}");
    assert_eq!(o.report["totals"]["failed"], all - written, "{o}");
    // One folder's directory could not be made; every folder after it fails
    // with that reason, not with a mkdir of its own each.
    let distinct: BTreeSet<&String> = reasons.iter().collect();
    assert_eq!(distinct.len(), 1, "{distinct:#?}");
    let why = reasons.first().expect("a reason");
    assert!(
        why.contains("No space left on device") && why.contains("nothing more is written"),
        "{why}"
    );
    // Inodes again: the rerun writes the rest, once.
    let s2 = std::process::Command::new("mount")
        .args(["-o", "remount,nr_inodes=4096"])
        .arg(&disk_dir)
        .status()
        .expect("remount");
    assert!(s2.success());
    let o = run.run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.report["totals"]["migrated"], all - written, "{o}");
    let mut on_disk = maildir_count(&out_dir);
    for f in 0..FOLDERS {
        on_disk += maildir_messages(&out_dir.join(format!("ann@run.test/.F{f:02}"))).len();
    }
    assert_eq!(on_disk as u64, all);
    drop(disk);
}

#[test]
fn a_second_run_through_a_symlink_to_the_journal_is_refused_too() {
    // The lock is the journal's real path's: a run given a symlink to the
    // journal (helper-60: two syncs at once through one uploaded a new
    // item twice) meets the lock of a run on the journal itself.
    let tmp = tempfile::tempdir().expect("tmp");
    let s = store(tmp.path(), 3);
    let journal = tmp.path().join("state/j.sqlite");
    std::fs::create_dir_all(journal.parent().expect("dir")).expect("mkdir");
    std::fs::write(&journal, b"").expect("journal file");
    let link = tmp.path().join("link.sqlite");
    std::os::unix::fs::symlink(&journal, &link).expect("symlink");
    let lock = hold_lock(&tmp.path().join("state/j.sqlite.lock"));
    let out_dir = tmp.path().join("maildir");
    let o = Run::migrate_to_maildir(&s.install, &out_dir)
        .state(&link)
        .run();
    assert_eq!(o.code, 1, "{o}");
    assert!(
        o.stderr.contains("another kerio-migrate run is using"),
        "{o}"
    );
    assert_eq!(maildir_count(&out_dir), 0, "nothing was written");
    drop(lock);
    let o = Run::migrate_to_maildir(&s.install, &out_dir)
        .state(&link)
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(maildir_count(&out_dir), 3);
}

/// Another run's lock on a journal: `flock` held on `path` until dropped.
fn hold_lock(path: &Path) -> std::fs::File {
    let lock = std::fs::File::create(path).expect("lock file");
    // SAFETY: flock on a descriptor we own.
    let rc = unsafe {
        libc::flock(
            std::os::fd::AsRawFd::as_raw_fd(&lock),
            libc::LOCK_EX | libc::LOCK_NB,
        )
    };
    assert_eq!(rc, 0);
    lock
}
