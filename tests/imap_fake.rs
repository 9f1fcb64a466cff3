//! The IMAP target against a scripted fake server (tests/common/fakeimap.rs)
//! for what Dovecot will not do on demand. Each test checks what ended on
//! the server (every message exactly once, or the refused one missing) and
//! what the report says.

mod common;

use common::fakeimap::{Action, Fake, Script};
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const N: usize = 12;

/// One account, one folder, N messages; message 7 is "big" (its body says so).
fn store(dir: &Path) -> StoreBuilder {
    let s = StoreBuilder::new(&dir.join("kerio"));
    let mut index = Vec::new();
    for i in 0..N {
        let id = format!("{:08x}", i + 1);
        let tag = if i == 7 { "BIG" } else { "small" };
        let body = format!(
            "From: a@fake.test\nSubject: {i}\nMessage-ID: <{i}@fake.test>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\n{tag} body {i}\n{}",
            "x".repeat(100 * i)
        );
        s.item("ann@fake.test", "INBOX", &id, body.as_bytes());
        index.push(format!(
            "U{id} F1 S{} D5a4a0000 T5a4a{:04x} M0 CIPM.Note",
            body.len(),
            i
        ));
    }
    s.index("ann@fake.test", "INBOX", &index);
    s
}

fn run(fake: &Fake, dir: &Path, extra: &[&str]) -> (i32, Value, String) {
    let st = store(dir);
    let report = dir.join("r.json");
    let out = Command::new(bin_path())
        .args(["--quiet", "migrate"])
        .arg(&st.install)
        .arg("--to")
        .arg(format!("imap://127.0.0.1:{}", fake.port))
        .args([
            "--tls",
            "none",
            "--account",
            "ann@fake.test",
            "--user",
            "ann",
        ])
        .args([
            "--password-env",
            "PW",
            "--connections",
            "1",
            "--io-timeout",
            "10",
        ])
        .arg("--state")
        .arg(dir.join("j.sqlite"))
        .arg("--report")
        .arg(&report)
        .args(extra)
        .env("PW", "pw")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let r = if report.exists() {
        json(&report)
    } else {
        Value::Null
    };
    (out.status.code().unwrap_or(-1), r, err)
}

/// The Message-ID numbers stored, sorted.
fn stored(fake: &Fake) -> Vec<usize> {
    let mut v: Vec<usize> = fake
        .bodies("INBOX")
        .iter()
        .map(|b| {
            let t = String::from_utf8_lossy(b).into_owned();
            let l = t
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID: <"))
                .expect("Message-ID");
            l.split('@').next().expect("id").parse().expect("number")
        })
        .collect();
    v.sort();
    v
}

fn all() -> Vec<usize> {
    (0..N).collect()
}

fn script(f: impl FnMut(usize, &common::fakeimap::AppendCmd) -> Action + Send + 'static) -> Script {
    Box::new(f)
}

fn is_big(c: &common::fakeimap::AppendCmd) -> bool {
    c.bodies
        .iter()
        .any(|b| String::from_utf8_lossy(b).contains("BIG body"))
}

#[test]
fn without_literal_plus_sync_literals_still_pipeline_and_all_arrive() {
    let fake = Fake::start("IMAP4rev1 UIDPLUS", script(|_, _| Action::Store));
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, r, err) = run(&fake, tmp.path(), &[]);
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(stored(&fake), all());
    assert_eq!(r["totals"]["migrated"], N as u64);
    let g = fake.state.lock().expect("lock");
    let appends: Vec<&String> = g.lines.iter().filter(|l| l.contains(" APPEND ")).collect();
    assert_eq!(
        appends.len(),
        N,
        "one APPEND per message (no MULTIAPPEND offered)"
    );
    assert!(
        appends
            .iter()
            .all(|l| l.ends_with('}') && !l.ends_with("+}")),
        "{appends:?}"
    );
}

#[test]
fn toobig_fails_that_message_only_and_the_batch_is_split() {
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+ MULTIAPPEND",
        script(|_, c| {
            if is_big(c) {
                Action::No("[TOOBIG] Message too large".into())
            } else {
                Action::Store
            }
        }),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, r, err) = run(&fake, tmp.path(), &[]);
    assert_eq!(code, 3, "one item failed: {err}");
    let mut want = all();
    want.retain(|i| *i != 7);
    assert_eq!(stored(&fake), want, "the rest arrived once");
    let f = &r["accounts"][0]["folders"][0];
    assert_eq!(f["counts"]["failed"], 1);
    assert_eq!(f["failed"][0]["item"], "00000008");
    let reason = f["failed"][0]["reason"].as_str().expect("reason");
    assert!(reason.contains("[TOOBIG] Message too large"), "{reason}");
    assert!(
        f["notes"].to_string().contains("MULTIAPPEND batch"),
        "{}",
        f["notes"]
    );
    // The batch went as one command, then one by one.
    let g = fake.state.lock().expect("lock");
    assert!(
        g.appends[0].bodies.len() == N,
        "first a MULTIAPPEND of all {N}"
    );
    assert_eq!(g.appends.len(), 1 + N);
}

#[test]
fn throttled_then_success_waits_and_sends_again() {
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+",
        script(|i, _| {
            if i == 2 || i == 3 {
                Action::No(
                    "[THROTTLED] Request is throttled. Suggested Backoff Time: 300 milliseconds"
                        .into(),
                )
            } else {
                Action::Store
            }
        }),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let t = Instant::now();
    let (code, r, err) = run(&fake, tmp.path(), &["--batch", "1"]);
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(stored(&fake), all(), "each message exactly once");
    assert!(t.elapsed() >= Duration::from_millis(300), "it waited");
    assert!(err.contains("THROTTLED"), "logged: {err}");
}

#[test]
fn dropped_connection_mid_batch_is_reconciled_then_resumed() {
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+ MULTIAPPEND",
        script(|i, _| match i {
            1 => Action::StoreThenDrop,   // arrived, answer lost
            3 => Action::DropBeforeStore, // lost
            _ => Action::Store,
        }),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, r, err) = run(&fake, tmp.path(), &["--batch", "3"]);
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(stored(&fake), all(), "every message exactly once");
    assert_eq!(r["totals"]["migrated"], N as u64);
    let g = fake.state.lock().expect("lock");
    assert!(g.connections >= 3, "reconnected: {}", g.connections);
    // The batch that arrived was found, not sent again: 4 batches of 3, one
    // of them sent twice (the dropped one).
    let sent: usize = g.appends.iter().map(|a| a.bodies.len()).sum();
    assert_eq!(sent, N + 3, "only the lost batch was resent");
}

#[test]
fn untagged_data_before_continuation_is_tolerated() {
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS MULTIAPPEND",
        script(|_, _| Action::Store),
    );
    fake.state.lock().expect("lock").untagged_before_plus = vec![
        "* 3 EXISTS".into(),
        "* 1 RECENT".into(),
        "* OK [ALERT] hello".into(),
    ];
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, r, err) = run(&fake, tmp.path(), &["--batch", "4"]);
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(stored(&fake), all());
}

#[test]
fn bye_mid_run_reconnects_and_sends_the_rest_once() {
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+",
        script(|i, _| if i == 4 { Action::Bye } else { Action::Store }),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, r, err) = run(&fake, tmp.path(), &["--batch", "1"]);
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(stored(&fake), all(), "every message exactly once");
    // Depending on timing the client first sees the BYE or the closed socket.
    assert!(
        err.contains("BYE") || err.contains("connection lost"),
        "{err}"
    );
}

#[test]
fn overquota_stops_the_account_with_the_reason() {
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+",
        script(|i, _| {
            if i >= 3 {
                Action::No("[OVERQUOTA] Quota exceeded (mailbox for user is full)".into())
            } else {
                Action::Store
            }
        }),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, r, err) = run(&fake, tmp.path(), &["--batch", "1", "--window", "1"]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(stored(&fake), vec![0, 1, 2]);
    let f = &r["accounts"][0]["folders"][0];
    assert_eq!(f["counts"]["migrated"], 3);
    assert_eq!(f["counts"]["failed"], (N - 3) as u64);
    assert!(
        f["failed"].to_string().contains("over quota"),
        "{}",
        f["failed"]
    );
}
