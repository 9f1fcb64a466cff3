//! A target that stops answering part way (a stalled server or proxy: the
//! fake of tests/it/support/fakeimap.rs with `stall_after`): the run gives
//! the account up once a connection timed out, reporting the rest failed
//! with the reason, instead of paying a timeout and reconnections per
//! folder.

use crate::support::fakeimap::Fake;
use crate::support::run::wait_at_most;
use crate::support::*;
use std::process::Stdio;
use std::time::Duration;

const ANN: &str = "ann@fake.test";
const FOLDERS: usize = 10;
const PER: usize = 2;

#[test]
fn a_target_that_stalls_gives_the_account_up_after_one_timeout() {
    let fake = Fake::storing("IMAP4rev1 UIDPLUS LITERAL+");
    fake.state().stall_after = Some(1);
    let tmp = tempfile::tempdir().expect("tmp");
    let s = StoreBuilder::new(&tmp.path().join("kerio"));
    for f in 0..FOLDERS {
        s.messages(ANN, &format!("F{f}"), PER, |i| {
            format!(
                "From: a@fake.test\nSubject: {f}/{i}\nMessage-ID: <{f}.{i}@fake.test>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\nbody {f} {i}\n"
            )
        });
    }
    let report = tmp.path().join("r.json");
    let mut child = Run::migrate(&s.install, &fake.url())
        .args(["--tls", "none", "--connections", "1", "--io-timeout", "1"])
        .state(&tmp.path().join("j.sqlite"))
        .report(&report)
        .login(ANN, "ann", "pw")
        .spawn(Stdio::null());
    // Before the fix each of the 10 folders paid a timeout and 5
    // reconnections with backoff (minutes); a generous limit, no timing
    // assertion.
    let status = wait_at_most(&mut child, Duration::from_secs(90))
        .expect("the run gave up on the stalled target");
    assert_eq!(status.code(), Some(3), "a stalled target: items failed");
    let text = std::fs::read_to_string(&report).expect("report");
    let r: serde_json::Value = serde_json::from_str(&text).expect("json");
    let t = &r["totals"];
    let migrated = t["migrated"].as_u64().unwrap_or(0);
    let failed = t["failed"].as_u64().unwrap_or(0);
    assert!(migrated <= PER as u64, "{t}");
    assert_eq!(migrated + failed, (FOLDERS * PER) as u64, "{t}");
    assert!(text.contains("the target stopped answering"), "{text}");
}
