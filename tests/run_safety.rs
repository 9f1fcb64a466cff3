//! How a run behaves around it: two runs on one journal, SIGTERM during a
//! paced run, and a journal that fails under the driver. Against the Maildir
//! target (no server needed).

mod common;

use common::*;
use std::path::Path;

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
