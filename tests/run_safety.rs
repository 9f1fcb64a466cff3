//! How a run behaves around it: two runs on one journal, SIGTERM during a
//! paced run, and a journal that fails under the driver. Against the Maildir
//! target (no server needed).

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One account with `n` small messages in INBOX.
fn store(dir: &Path, n: usize) -> StoreBuilder {
    let s = StoreBuilder::new(&dir.join("kerio"));
    for i in 0..n {
        let body = format!(
            "From: a@run.test\nSubject: {i}\nMessage-ID: <{i}@run.test>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\nbody {i}\n"
        );
        s.item(
            "ann@run.test",
            "INBOX",
            &format!("{:08x}", i + 1),
            body.as_bytes(),
        );
    }
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
    let lock = std::fs::File::create(tmp.path().join("state/j.sqlite.lock")).expect("lock file");
    // SAFETY: flock on a descriptor we own.
    let rc = unsafe {
        libc::flock(
            std::os::fd::AsRawFd::as_raw_fd(&lock),
            libc::LOCK_EX | libc::LOCK_NB,
        )
    };
    assert_eq!(rc, 0);
    let out_dir = tmp.path().join("maildir");
    let out = bin()
        .args(["--quiet", "migrate"])
        .arg(&s.install)
        .arg("--to")
        .arg(format!("maildir:{}", out_dir.display()))
        .arg("--state")
        .arg(&journal)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("another kerio-migrate run is using") && err.contains("j.sqlite"),
        "{err}"
    );
    assert_eq!(maildir_count(&out_dir), 0, "nothing was written");
    // Once the other run is gone, the same command works.
    drop(lock);
    let out = bin()
        .args(["--quiet", "migrate"])
        .arg(&s.install)
        .arg("--to")
        .arg(format!("maildir:{}", out_dir.display()))
        .arg("--state")
        .arg(&journal)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let mut child = Command::new(bin_path())
        .args(["--quiet", "migrate"])
        .arg(&s.install)
        .arg("--to")
        .arg(format!("maildir:{}", out_dir.display()))
        .arg("--state")
        .arg(&journal)
        .arg("--report")
        .arg(&report)
        .args(["--max-rate", "0.05"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The journal exists once the handlers are installed and the run began.
    let start = Instant::now();
    while !journal.exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "no journal");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let sent = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if sent.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("still running 15 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
        .expect("stderr");
    assert_eq!(status.code(), Some(4), "{status:?}: {err}");
    assert!(
        sent.elapsed() < Duration::from_secs(5),
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
