//! The IMAP target against a scripted fake server (tests/common/fakeimap.rs)
//! for what Dovecot will not do on demand. Each test checks what ended on
//! the server (every message exactly once, or the refused one missing) and
//! what the report says.

use crate::support::fakeimap::{Action, Fake, Script};
use crate::support::*;
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

fn script(
    f: impl FnMut(usize, &crate::support::fakeimap::AppendCmd) -> Action + Send + 'static,
) -> Script {
    Box::new(f)
}

/// Stores every APPEND but the `n`th (0-based), which gets `action`.
fn only_nth(n: usize, action: Action) -> Script {
    script(move |i, _| {
        if i == n {
            action.clone()
        } else {
            Action::Store
        }
    })
}

fn is_big(c: &crate::support::fakeimap::AppendCmd) -> bool {
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

/// Runs migrate on an arbitrary store against the fake.
fn run_store(
    fake: &Fake,
    store: &StoreBuilder,
    dir: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> (i32, Value, String) {
    let report = dir.join("r.json");
    let out = Command::new(bin_path())
        .args(["--quiet"])
        .args(args.iter().take_while(|a| **a == "-vvv"))
        .arg("migrate")
        .arg(&store.install)
        .arg("--to")
        .arg(format!("imap://127.0.0.1:{}", fake.port))
        .args(["--tls", "none"])
        .args(if args.contains(&"--connections") {
            &[][..]
        } else {
            &["--connections", "1"][..]
        })
        .args(if args.contains(&"--io-timeout") {
            &[][..]
        } else {
            &["--io-timeout", "10"][..]
        })
        .arg("--state")
        .arg(dir.join("j.sqlite"))
        .arg("--report")
        .arg(&report)
        .args(args.iter().skip_while(|a| **a == "-vvv"))
        .envs(envs.iter().copied())
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

#[test]
fn secrets_stay_out_of_trace_logs() {
    let fake = Fake::start("IMAP4rev1 UIDPLUS LITERAL+", script(|_, _| Action::Store));
    let tmp = tempfile::tempdir().expect("tmp");
    let st = store(tmp.path());
    let pw = "S3cr3t-XyZ-987";
    for auth in ["login", "plain"] {
        let (code, _, err) = run_store(
            &fake,
            &st,
            &tmp.path().join(auth),
            &[
                "-vvv",
                "--account",
                "ann@fake.test",
                "--user",
                "ann",
                "--password-env",
                "PW",
                "--auth",
                auth,
            ],
            &[("PW", pw), ("RUST_LOG", "trace")],
        );
        assert_eq!(code, 0, "{err}");
        // -vvv took effect (the IMAP libraries' TRACE output, which carries
        // commands, is capped at DEBUG by init_logging).
        assert!(err.contains("DEBUG"), "verbose logging is on: {err}");
        // The password, and the SASL PLAIN initial response (base64 of
        // "\0ann\0S3cr3t-XyZ-987"), never appear.
        assert!(!err.contains(pw), "password in the log ({auth})");
        assert!(
            !err.contains("AGFubgBTM2NyM3QtWHlaLTk4Nw"),
            "PLAIN response in the log"
        );
        assert!(
            !err.contains("83, 51, 99, 114, 51, 116"),
            "password bytes in the log"
        );
    }
}

#[test]
fn xoauth2_token_from_a_command_is_refreshed_when_refused() {
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+ AUTH=XOAUTH2",
        script(|_, _| Action::Store),
    );
    fake.state.lock().expect("lock").reject_auth = 1;
    let tmp = tempfile::tempdir().expect("tmp");
    let st = store(tmp.path());
    let counter = tmp.path().join("n");
    let cmd = format!(
        "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}; echo tok$n-{{user}}",
        c = counter.display()
    );
    let (code, r, err) = run_store(
        &fake,
        &st,
        tmp.path(),
        &[
            "--account",
            "ann@fake.test",
            "--user",
            "ann@gmail.test",
            "--oauth2-token-cmd",
            &cmd,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(stored(&fake), all());
    let g = fake.state.lock().expect("lock");
    let auths: Vec<&String> = g
        .lines
        .iter()
        .filter(|l| l.contains("AUTHENTICATE XOAUTH2"))
        .collect();
    assert!(auths.len() >= 2, "{auths:?}");
    use std::io::Write as _;
    let decode = |l: &str| {
        let b64 = l.rsplit(' ').next().expect("ir");
        let out = Command::new("base64")
            .arg("-d")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().expect("stdin").write_all(b64.as_bytes())?;
                c.wait_with_output()
            })
            .expect("base64");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(
        decode(auths[0]),
        "user=ann@gmail.test\x01auth=Bearer tok1-ann@gmail.test\x01\x01"
    );
    assert_eq!(
        decode(auths[1]),
        "user=ann@gmail.test\x01auth=Bearer tok2-ann@gmail.test\x01\x01"
    );
    // The token command is not in the journal's copy of the command line.
    let j = std::fs::read(tmp.path().join("j.sqlite")).expect("journal");
    assert!(
        !String::from_utf8_lossy(&j).contains("echo tok"),
        "token command in the journal"
    );
}

#[test]
fn nul_bytes_and_impossible_dates_follow_the_policy() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = StoreBuilder::new(&tmp.path().join("kerio"));
    let a = "ann@fake.test";
    s.item(
        a,
        "INBOX",
        "00000001",
        b"From: a@b\nMessage-ID: <0@fake.test>\n\nnul\0here\n",
    );
    let old = s.item(
        a,
        "INBOX",
        "00000002",
        b"From: a@b\nMessage-ID: <1@fake.test>\nDate: Fri, 1 Jan 1960 00:00:00 +0000\n\nold\n",
    );
    let future = s.item(
        a,
        "INBOX",
        "00000003",
        b"From: a@b\nMessage-ID: <2@fake.test>\nDate: Fri, 1 Jan 2100 00:00:00 +0000\n\nfuture\n",
    );
    filetime::set_file_mtime(&old, filetime::FileTime::from_unix_time(-315_619_200, 0))
        .expect("mtime");
    filetime::set_file_mtime(
        &future,
        filetime::FileTime::from_unix_time(4_102_444_800, 0),
    )
    .expect("mtime");
    let args = ["--account", a, "--user", "ann", "--password-env", "PW"];
    // Default --nul strip: sent without the NUL, reported.
    let fake = Fake::start("IMAP4rev1 UIDPLUS LITERAL+", script(|_, _| Action::Store));
    let (code, r, err) = run_store(&fake, &s, &tmp.path().join("strip"), &args, &[("PW", "pw")]);
    assert_eq!(code, 0, "{err}\n{r}");
    let bodies = fake.bodies("INBOX");
    assert_eq!(bodies.len(), 3);
    assert!(
        bodies.iter().any(|b| b.ends_with(b"\r\nnulhere\r\n")),
        "NUL stripped"
    );
    let notes = r["accounts"][0]["folders"][0]["notes"].to_string();
    assert!(
        notes.contains("NUL") && notes.contains("--nul strip"),
        "{notes}"
    );
    assert!(
        notes.contains("before 1970") && notes.contains("00000002"),
        "{notes}"
    );
    assert!(
        notes.contains("in the future") && notes.contains("00000003"),
        "{notes}"
    );
    let g = fake.state.lock().expect("lock");
    let lines = g.lines.join("\n");
    assert!(lines.contains("\"01-Jan-1970 00:00:00 +0000\""), "{lines}");
    assert!(!lines.contains("2100"), "no future date sent");
    drop(g);
    // --nul skip: not sent, counted as skipped.
    let fake = Fake::start("IMAP4rev1 UIDPLUS LITERAL+", script(|_, _| Action::Store));
    let mut skip_args = args.to_vec();
    skip_args.extend(["--nul", "skip"]);
    let (code, r, err) = run_store(
        &fake,
        &s,
        &tmp.path().join("skip"),
        &skip_args,
        &[("PW", "pw")],
    );
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(fake.bodies("INBOX").len(), 2);
    assert_eq!(r["totals"]["skipped"], 1);
    assert!(r.to_string().contains("--nul skip"));
}

#[test]
fn public_folders_without_a_mapping_are_skipped_not_failed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = StoreBuilder::new(&tmp.path().join("kerio"));
    s.item(
        "#public@fake.test",
        "News",
        "00000001",
        b"From: a@b\nMessage-ID: <p@fake.test>\n\nnews\n",
    );
    s.item(
        "ann@fake.test",
        "INBOX",
        "00000001",
        b"From: a@b\nMessage-ID: <a@fake.test>\n\nhi\n",
    );
    let fake = Fake::start("IMAP4rev1 UIDPLUS LITERAL+", script(|_, _| Action::Store));
    let (code, r, err) = run_store(
        &fake,
        &s,
        &tmp.path().join("a"),
        &["--admin-user", "admin", "--admin-password-env", "PW"],
        &[("PW", "pw")],
    );
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(r["totals"]["migrated"], 1);
    assert_eq!(r["totals"]["skipped"], 1);
    assert!(r.to_string().contains("not mapped"));
    assert!(!fake
        .state
        .lock()
        .expect("lock")
        .mailboxes
        .contains_key("Public/News"));
    // With --public-to they go below Public/.
    let (code, r, err) = run_store(
        &fake,
        &s,
        &tmp.path().join("b"),
        &[
            "--admin-user",
            "admin",
            "--admin-password-env",
            "PW",
            "--public-to",
            "shared",
        ],
        &[("PW", "pw")],
    );
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(fake.bodies("Public/News").len(), 1);
}

#[test]
fn daily_byte_budget_waits_and_ctrl_c_stops_cleanly() {
    use std::io::BufRead as _;
    let fake = Fake::start("IMAP4rev1 UIDPLUS LITERAL+", script(|_, _| Action::Store));
    let tmp = tempfile::tempdir().expect("tmp");
    let st = store(tmp.path());
    let report = tmp.path().join("r.json");
    let mut child = Command::new(bin_path())
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
            "--batch",
            "1",
            "--max-bytes-per-day",
            "2K",
        ])
        .arg("--state")
        .arg(tmp.path().join("j.sqlite"))
        .arg("--report")
        .arg(&report)
        .env("PW", "pw")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(stderr).lines();
    let mut seen = String::new();
    for l in lines.by_ref() {
        let l = l.expect("line");
        seen.push_str(&l);
        seen.push('\n');
        if l.contains("--max-bytes-per-day used up; waiting until") {
            break;
        }
    }
    assert!(seen.contains("waiting until"), "{seen}");
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(4), "interrupted: {seen}");
    let r = json(&report);
    let t = &r["totals"];
    let sent = stored(&fake).len() as u64;
    assert!(
        sent > 0 && sent < N as u64,
        "some sent within 2 KiB: {sent}"
    );
    assert_eq!(t["migrated"].as_u64(), Some(sent));
    assert!(r.to_string().contains("daily byte budget"), "{r}");
    // Within the budget.
    let bytes: usize = fake.bodies("INBOX").iter().map(Vec::len).sum();
    assert!(bytes <= 2048, "{bytes}");
}

#[test]
fn an_account_without_credentials_fails_alone() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = StoreBuilder::new(&tmp.path().join("kerio"));
    s.item(
        "ann@fake.test",
        "INBOX",
        "00000001",
        b"From: a@b\nMessage-ID: <a@fake.test>\n\nhi\n",
    );
    s.item(
        "bea@fake.test",
        "INBOX",
        "00000001",
        b"From: a@b\nMessage-ID: <b@fake.test>\n\nhi\n",
    );
    let csv = tmp.path().join("a.csv");
    std::fs::write(
        &csv,
        "source,target_user,secret\nann@fake.test,ann,env:PW\nbea@fake.test,bea,\n",
    )
    .expect("csv");
    let fake = Fake::start("IMAP4rev1 UIDPLUS LITERAL+", script(|_, _| Action::Store));
    let (code, r, err) = run_store(
        &fake,
        &s,
        &tmp.path().join("run"),
        &["--accounts", csv.to_str().expect("utf8")],
        &[("PW", "pw")],
    );
    assert_eq!(code, 3, "{err}\n{r}");
    assert_eq!(fake.bodies("INBOX").len(), 1, "ann's message arrived");
    let bea = &r["accounts"][1];
    assert_eq!(bea["account"], "bea@fake.test");
    assert!(
        bea["error"]
            .as_str()
            .is_some_and(|e| e.contains("no credentials")),
        "{bea}"
    );
    assert_eq!(bea["totals"]["failed"], 1);
}

/// Runs migrate on the standard store, killing it after `deadline`.
fn run_with_deadline(
    fake: &Fake,
    dir: &Path,
    extra: &[&str],
    deadline: Duration,
) -> (Option<i32>, Value, Duration) {
    let st = store(dir);
    let report = dir.join("r.json");
    let _ = std::fs::remove_file(&report);
    let mut child = Command::new(bin_path())
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
        .args(["--password-env", "PW", "--connections", "1"])
        .arg("--state")
        .arg(dir.join("j.sqlite"))
        .arg("--report")
        .arg(&report)
        .args(extra)
        .env("PW", "pw")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let t = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s.code();
        }
        if t.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let r = if report.exists() {
        json(&report)
    } else {
        Value::Null
    };
    (code, r, t.elapsed())
}

#[test]
fn an_account_stopped_while_waiting_for_the_byte_budget_ends_the_wait() {
    // The second message makes the account over quota while the third
    // waits for the daily budget: the wait must end with the account.
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+",
        only_nth(1, Action::No("[OVERQUOTA] Quota exceeded".into())),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, r, took) = run_with_deadline(
        &fake,
        tmp.path(),
        &["--batch", "1", "--window", "1", "--max-bytes-per-day", "1K"],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(3), "ended by itself after {took:?}: {r}");
    assert_eq!(stored(&fake), vec![0]);
    let f = &r["accounts"][0]["folders"][0];
    assert_eq!(f["counts"]["migrated"], 1);
    assert_eq!(f["counts"]["failed"], (N - 1) as u64, "{f}");
    assert!(f["failed"].to_string().contains("over quota"), "{f}");
}

/// `n` distinct messages in ann's INBOX (Message-ID `<i@fake.test>`, item
/// id `i+1` in hex).
fn numbered_store(dir: &Path, n: usize) -> StoreBuilder {
    let s = StoreBuilder::new(&dir.join("kerio"));
    for i in 0..n {
        let body = format!(
            "From: a@fake.test\nSubject: {i}\nMessage-ID: <{i}@fake.test>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\nbody {i}\n"
        );
        s.item(
            "ann@fake.test",
            "INBOX",
            &format!("{:08x}", i + 1),
            body.as_bytes(),
        );
    }
    s
}

fn ann_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "--account",
        "ann@fake.test",
        "--user",
        "ann",
        "--password-env",
        "PW",
    ];
    v.extend_from_slice(extra);
    v
}

/// Item ids (as Message-ID numbers) with a row of any state in the journal
/// table `table`.
fn journaled(journal: &Path, table: &str) -> Vec<usize> {
    let c = rusqlite::Connection::open(journal).expect("journal");
    let mut st = c
        .prepare(&format!("SELECT item FROM {table}"))
        .expect("query");
    let mut v: Vec<usize> = st
        .query_map([], |r| r.get::<_, String>(0))
        .expect("rows")
        .map(|i| usize::from_str_radix(&i.expect("item"), 16).expect("hex") - 1)
        .collect();
    v.sort();
    v
}

#[test]
fn a_group_the_journal_cannot_record_as_pending_is_not_sent() {
    let tmp = tempfile::tempdir().expect("tmp");
    let n = 40;
    let s = numbered_store(tmp.path(), n);
    let journal = tmp.path().join("j.sqlite");
    // When the first APPEND arrives, the journal's items table vanishes:
    // every later write of the run fails.
    let j = journal.clone();
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+ MULTIAPPEND",
        script(move |i, _| {
            if i == 0 {
                let c = rusqlite::Connection::open(&j).expect("journal");
                c.busy_timeout(Duration::from_secs(10)).expect("timeout");
                c.execute_batch("ALTER TABLE items RENAME TO items_gone")
                    .expect("rename");
            }
            Action::Store
        }),
    );
    let (code, r, err) = run_store(
        &fake,
        &s,
        tmp.path(),
        &ann_args(&["--batch", "2"]),
        &[("PW", "pw")],
    );
    assert_eq!(code, 1, "journal failure is fatal: {err}\n{r}");
    assert!(r["fatal"].to_string().contains("items"), "{}", r["fatal"]);
    let t = &r["totals"];
    assert_eq!(t["expected"], n as u64);
    let sum: u64 = ["migrated", "already_present", "skipped", "failed"]
        .iter()
        .map(|k| t[*k].as_u64().expect("count"))
        .sum();
    assert_eq!(sum, n as u64, "{t}");
    let on_server = stored(&fake);
    let recorded = journaled(&journal, "items_gone");
    assert!(
        on_server.len() < n,
        "the run stopped sending: {on_server:?}"
    );
    for m in &on_server {
        assert!(
            recorded.contains(m),
            "message {m} was sent without a pending row (journal: {recorded:?})"
        );
    }
    // With the journal back, a rerun completes without a duplicate.
    let c = rusqlite::Connection::open(&journal).expect("journal");
    c.execute_batch("ALTER TABLE items_gone RENAME TO items")
        .expect("rename back");
    drop(c);
    let (code, r, err) = run_store(
        &fake,
        &s,
        tmp.path(),
        &ann_args(&["--batch", "2"]),
        &[("PW", "pw")],
    );
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(stored(&fake), (0..n).collect::<Vec<_>>(), "each once");
}

/// uid, target_id, uidvalidity, size, mailbox, message_id, src_mtime.
type JournalTargetFields = (
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
    Option<i64>,
);

#[test]
fn a_message_found_done_by_its_content_keeps_its_uid_in_the_journal() {
    let fake = Fake::start("IMAP4rev1 UIDPLUS LITERAL+", script(|_, _| Action::Store));
    let tmp = tempfile::tempdir().expect("tmp");
    let n = 5;
    let s = numbered_store(tmp.path(), n);
    let (code, r, err) = run_store(&fake, &s, tmp.path(), &ann_args(&[]), &[("PW", "pw")]);
    assert_eq!(code, 0, "{err}\n{r}");
    let journal = tmp.path().join("j.sqlite");
    let rows = |sql: &str| -> Vec<JournalTargetFields> {
        let c = rusqlite::Connection::open(&journal).expect("journal");
        let mut st = c.prepare(sql).expect("query");
        st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect()
    };
    let q = "SELECT uid, target_id, uidvalidity, size, mailbox, message_id, src_mtime FROM items ORDER BY item";
    let before = rows(q);
    assert!(before.iter().all(|r| r.0.is_some()), "{before:?}");
    // The files get another mtime: the next run reads and hashes them and
    // finds them done by content.
    for i in 0..n {
        let p = s
            .folder_dir("ann@fake.test", "INBOX")
            .join(format!("#msgs/{:08x}.eml", i + 1));
        filetime::set_file_mtime(&p, filetime::FileTime::from_unix_time(1_600_000_000, 0))
            .expect("mtime");
    }
    let (code, r, err) = run_store(&fake, &s, tmp.path(), &ann_args(&[]), &[("PW", "pw")]);
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(r["totals"]["already_present"], n as u64);
    assert_eq!(stored(&fake), (0..n).collect::<Vec<_>>());
    let after = rows(q);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (&a.0, &a.1, &a.2, &a.3, &a.4, &a.5),
            (&b.0, &b.1, &b.2, &b.3, &b.4, &b.5),
            "target fields kept"
        );
        assert_eq!(a.6, Some(1_600_000_000), "source mtime refreshed");
    }
}

const TWIN: &str = "From: a@fake.test\nSubject: twin\nMessage-ID: <twin@fake.test>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\nsame body\n";
const OTHER: &str = "From: a@fake.test\nSubject: other\nMessage-ID: <other@fake.test>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\nother body\n";

/// Two byte-identical messages (items 1 and 2) and another one (item 3).
fn twin_store(dir: &Path) -> StoreBuilder {
    let s = StoreBuilder::new(&dir.join("kerio"));
    s.item("ann@fake.test", "INBOX", "00000001", TWIN.as_bytes());
    s.item("ann@fake.test", "INBOX", "00000002", TWIN.as_bytes());
    s.item("ann@fake.test", "INBOX", "00000003", OTHER.as_bytes());
    s
}

fn count_bodies(fake: &Fake, mailbox: &str, needle: &str) -> usize {
    fake.bodies(mailbox)
        .iter()
        .filter(|b| String::from_utf8_lossy(b).contains(needle))
        .count()
}

/// (item, state, uid) of every journal row.
fn journal_rows(journal: &Path) -> Vec<(String, String, Option<i64>)> {
    let c = rusqlite::Connection::open(journal).expect("journal");
    let mut st = c
        .prepare("SELECT item, state, uid FROM items ORDER BY item")
        .expect("query");
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect()
}

#[test]
fn a_pending_twin_is_not_matched_to_its_done_siblings_copy_on_rerun() {
    // Twin 2 is lost with the connection, and no login works for the rest
    // of the run: it stays pending. Twin 1 is done at UID 1.
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+",
        only_nth(1, Action::DropBeforeStoreRefuseLogins(1000)),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let s = twin_store(tmp.path());
    let args = ann_args(&["--batch", "1", "--retries", "0"]);
    let (code, r, err) = run_store(&fake, &s, tmp.path(), &args, &[("PW", "pw")]);
    assert_eq!(code, 3, "{err}\n{r}");
    assert_eq!(count_bodies(&fake, "INBOX", "same body"), 1);
    fake.state.lock().expect("lock").reject_auth = 0;
    let (code, r, err) = run_store(&fake, &s, tmp.path(), &args, &[("PW", "pw")]);
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(
        count_bodies(&fake, "INBOX", "same body"),
        2,
        "twin 2 was sent again, not matched to twin 1's copy"
    );
    assert_eq!(count_bodies(&fake, "INBOX", "other body"), 1);
    let rows = journal_rows(&tmp.path().join("j.sqlite"));
    assert!(rows.iter().all(|r| r.1 == "done"), "{rows:?}");
    let mut uids: Vec<i64> = rows.iter().filter_map(|r| r.2).collect();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 3, "three items, three UIDs: {rows:?}");
}

#[test]
fn without_uidplus_a_pending_twin_is_decided_by_counting_copies() {
    let fake = Fake::start(
        "IMAP4rev1 LITERAL+",
        only_nth(1, Action::DropBeforeStoreRefuseLogins(1000)),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let s = twin_store(tmp.path());
    let args = ann_args(&["--batch", "1", "--retries", "0"]);
    let (code, _, err) = run_store(&fake, &s, tmp.path(), &args, &[("PW", "pw")]);
    assert_eq!(code, 3, "{err}");
    fake.state.lock().expect("lock").reject_auth = 0;
    // Twin 1 is done without a UID; the one copy on the server is its own.
    let (code, r, err) = run_store(&fake, &s, tmp.path(), &args, &[("PW", "pw")]);
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(count_bodies(&fake, "INBOX", "same body"), 2);
    assert_eq!(count_bodies(&fake, "INBOX", "other body"), 1);
}

#[test]
fn without_uidplus_a_twin_lost_in_flight_is_not_matched_to_its_siblings_copy() {
    // Twin 2 is lost with the connection; twin 1 arrived earlier in the
    // same run without a UID (no UIDPLUS). The check after reconnecting
    // must not take twin 1's copy for twin 2.
    let fake = Fake::start("IMAP4rev1 LITERAL+", only_nth(1, Action::DropBeforeStore));
    let tmp = tempfile::tempdir().expect("tmp");
    let s = twin_store(tmp.path());
    let (code, r, err) = run_store(
        &fake,
        &s,
        tmp.path(),
        &ann_args(&["--batch", "1"]),
        &[("PW", "pw")],
    );
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(count_bodies(&fake, "INBOX", "same body"), 2, "both twins");
    assert_eq!(count_bodies(&fake, "INBOX", "other body"), 1);
    assert_eq!(r["totals"]["migrated"], 3);
}

#[test]
fn a_pending_item_is_checked_in_the_mailbox_it_was_sent_to_after_a_mapping_change() {
    // It arrived in "Projects", the answer was lost, and no login worked
    // for the rest of the run; the rerun maps the folder to Kerio/Projects.
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+",
        only_nth(0, Action::StoreThenDropRefuseLogins(1000)),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let s = StoreBuilder::new(&tmp.path().join("kerio"));
    s.item("ann@fake.test", "Projects", "00000001", OTHER.as_bytes());
    let (code, _, err) = run_store(
        &fake,
        &s,
        tmp.path(),
        &ann_args(&["--batch", "1", "--retries", "0"]),
        &[("PW", "pw")],
    );
    assert_eq!(code, 3, "{err}");
    fake.state.lock().expect("lock").reject_auth = 0;
    let (code, r, err) = run_store(
        &fake,
        &s,
        tmp.path(),
        &ann_args(&["--batch", "1", "--prefix", "Kerio/"]),
        &[("PW", "pw")],
    );
    assert_eq!(code, 0, "{err}\n{r}");
    let g = fake.state.lock().expect("lock");
    let copies: Vec<(String, usize)> = g
        .mailboxes
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), v.len()))
        .collect();
    assert_eq!(copies, vec![("Projects".to_string(), 1)], "one copy");
    drop(g);
    assert_eq!(r["totals"]["already_present"], 1);
    let c = rusqlite::Connection::open(tmp.path().join("j.sqlite")).expect("journal");
    let (state, mailbox, uid, src_size): (String, String, Option<i64>, Option<i64>) = c
        .query_row("SELECT state, mailbox, uid, src_size FROM items", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .expect("row");
    assert_eq!((state.as_str(), mailbox.as_str()), ("done", "Projects"));
    assert!(uid.is_some() && src_size.is_some());
}

#[test]
fn an_append_that_times_out_is_not_sent_again_in_the_run() {
    // The server stores the message after the client gave up waiting.
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+",
        only_nth(0, Action::DelayThenStore(3000)),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let s = StoreBuilder::new(&tmp.path().join("kerio"));
    s.item("ann@fake.test", "INBOX", "00000001", OTHER.as_bytes());
    let args = ann_args(&["--batch", "1", "--io-timeout", "1"]);
    let (code, r, err) = run_store(&fake, &s, tmp.path(), &args, &[("PW", "pw")]);
    assert_eq!(code, 3, "{err}\n{r}");
    let f = &r["accounts"][0]["folders"][0];
    let reason = f["failed"][0]["reason"].as_str().expect("reason");
    assert!(
        reason.contains("arrival in doubt") && reason.contains("next run"),
        "{reason}"
    );
    // The slow server finishes.
    let t = Instant::now();
    while fake.bodies("INBOX").is_empty() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(fake.bodies("INBOX").len(), 1, "sent once");
    // The next run finds it.
    let (code, r, err) = run_store(&fake, &s, tmp.path(), &args, &[("PW", "pw")]);
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(r["totals"]["already_present"], 1);
    assert_eq!(fake.bodies("INBOX").len(), 1, "still once");
}

#[test]
fn a_server_that_rewrites_messages_is_searched_by_message_id() {
    // Every message is stored with a header added, so no content hash ever
    // matches; message 1 arrived but its answer was lost.
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+",
        only_nth(1, Action::StoreThenDrop),
    );
    fake.state.lock().expect("lock").rewrite = true;
    let tmp = tempfile::tempdir().expect("tmp");
    let s = numbered_store(tmp.path(), 4);
    let (code, r, err) = run_store(
        &fake,
        &s,
        tmp.path(),
        &ann_args(&["--batch", "1"]),
        &[("PW", "pw")],
    );
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(stored(&fake), vec![0, 1, 2, 3], "each once");
    assert!(fake.bodies("INBOX")[0].starts_with(b"X-Fake-Rewritten"));
    let g = fake.state.lock().expect("lock");
    assert!(
        g.lines.iter().any(|l| l.contains("UID SEARCH")),
        "searched by Message-ID"
    );
}

#[test]
fn a_pending_message_with_several_message_id_matches_is_left_in_doubt() {
    // A rewriting server; message 0 arrived, its answer was lost and no
    // login worked for the rest of the run. Before the rerun another
    // message with the same Message-ID appears in the mailbox: which one
    // is ours cannot be told, so it is neither sent again nor called done.
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+",
        only_nth(0, Action::StoreThenDropRefuseLogins(1000)),
    );
    fake.state.lock().expect("lock").rewrite = true;
    let tmp = tempfile::tempdir().expect("tmp");
    let s = numbered_store(tmp.path(), 1);
    let args = ann_args(&["--batch", "1", "--retries", "0"]);
    let (code, _, err) = run_store(&fake, &s, tmp.path(), &args, &[("PW", "pw")]);
    assert_eq!(code, 3, "{err}");
    {
        let mut g = fake.state.lock().expect("lock");
        g.reject_auth = 0;
        let (first, copy) = g.mailboxes["INBOX"][0].clone();
        let uid = g.uid_next;
        g.uid_next += 1;
        let date = g.dates[&first].clone();
        g.dates.insert(uid, date);
        let mut other = b"X-Other: forwarded\r\n".to_vec();
        other.extend(copy);
        g.mailboxes
            .get_mut("INBOX")
            .expect("inbox")
            .push((uid, other));
    }
    let (code, r, err) = run_store(&fake, &s, tmp.path(), &args, &[("PW", "pw")]);
    assert_eq!(code, 3, "{err}\n{r}");
    let f = &r["accounts"][0]["folders"][0];
    let reason = f["failed"][0]["reason"].as_str().expect("reason");
    assert!(
        reason.contains("arrival in doubt") && reason.contains("not sent again"),
        "{reason}"
    );
    assert!(
        f["notes"].to_string().contains("1 in doubt"),
        "{}",
        f["notes"]
    );
    assert_eq!(fake.bodies("INBOX").len(), 2, "nothing sent");
    let rows = journal_rows(&tmp.path().join("j.sqlite"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "pending", "left for a later check");
}

#[test]
fn a_twin_still_in_flight_on_another_connection_leaves_the_lost_one_in_doubt() {
    // Two connections, one command each at a time. The first twin to reach
    // the server is stored at once but answered late; the other one's
    // connection drops before it is stored. When that connection checks,
    // the only copy belongs to the twin still waiting for its answer.
    let (mut first_conn, mut dropped) = (None, false);
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+",
        script(move |_, c| {
            let twin = c
                .bodies
                .iter()
                .any(|b| String::from_utf8_lossy(b).contains("same body"));
            match first_conn {
                None if twin => {
                    first_conn = Some(c.conn);
                    Action::StoreThenDelayAnswer(2500)
                }
                Some(f) if twin && c.conn != f && !dropped => {
                    dropped = true;
                    Action::DropBeforeStore
                }
                _ => Action::Store,
            }
        }),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let s = twin_store(tmp.path());
    let args = ann_args(&["--batch", "1", "--window", "1", "--connections", "2"]);
    let (code, r, err) = run_store(&fake, &s, tmp.path(), &args, &[("PW", "pw")]);
    {
        let g = fake.state.lock().expect("lock");
        let twins: Vec<usize> = g
            .appends
            .iter()
            .filter(|a| String::from_utf8_lossy(&a.bodies[0]).contains("same body"))
            .map(|a| a.conn)
            .collect();
        assert!(
            twins.len() >= 2 && twins[0] != twins[1],
            "the twins went out on two connections: {twins:?}"
        );
    }
    assert_eq!(code, 3, "{err}\n{r}");
    let f = &r["accounts"][0]["folders"][0];
    assert_eq!(f["counts"]["failed"], 1, "{f}");
    let reason = f["failed"][0]["reason"].as_str().expect("reason");
    assert!(reason.contains("arrival in doubt"), "{reason}");
    assert_eq!(
        count_bodies(&fake, "INBOX", "same body"),
        1,
        "the lost twin was not sent again in the run"
    );
    // The next run settles it: the copy is the other twin's (UID known).
    let (code, r, err) = run_store(&fake, &s, tmp.path(), &args, &[("PW", "pw")]);
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(count_bodies(&fake, "INBOX", "same body"), 2);
    assert_eq!(count_bodies(&fake, "INBOX", "other body"), 1);
    let rows = journal_rows(&tmp.path().join("j.sqlite"));
    let mut uids: Vec<i64> = rows.iter().filter_map(|r| r.2).collect();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 3, "no UID given twice: {rows:?}");
}
