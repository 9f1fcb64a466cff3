//! What the IMAP sessions of a run share (the scripted fake server of
//! `support::fakeimap`): a refused login is tried once per credential,
//! not once per session or account.

use crate::support::fakeimap::Fake;
use crate::support::*;
use std::path::Path;

const CAPS: &str = "IMAP4rev1 UIDPLUS LITERAL+";
const ACCOUNTS: [&str; 3] = ["ann@fake.test", "bea@fake.test", "cy@fake.test"];
const FOLDERS: [&str; 3] = ["INBOX", "Work", "Travel"];

/// Every account of [`ACCOUNTS`] with three messages in each of [`FOLDERS`].
fn store(dir: &Path) -> StoreBuilder {
    let s = StoreBuilder::new(&dir.join("kerio"));
    for a in ACCOUNTS {
        for f in FOLDERS {
            s.messages(a, f, 3, |i| {
                format!("From: x@fake.test\nSubject: {f} {i}\nMessage-ID: <{i}.{f}.{a}>\n\n{a} {f} {i}\n")
            });
        }
    }
    s
}

/// The login commands the server saw.
fn logins(fake: &Fake) -> Vec<String> {
    let g = fake.state();
    g.lines
        .iter()
        .filter(|l| {
            let cmd = l.split(' ').nth(1).unwrap_or("").to_ascii_uppercase();
            cmd == "LOGIN" || cmd == "AUTHENTICATE"
        })
        .cloned()
        .collect()
}

#[test]
fn a_refused_admin_password_is_tried_once_for_every_account_and_session() {
    let fake = Fake::storing(CAPS);
    fake.state().reject_auth = 1000;
    let tmp = tempfile::tempdir().expect("tmp");
    let s = store(tmp.path());
    let o = Run::migrate(&s.install, &fake.url())
        .args(["--tls", "none", "--admin-user", "admin"])
        .args(["--admin-password-env", "ADMIN_PW"])
        .env("ADMIN_PW", "wrong")
        .args(["--parallel-accounts", "3", "--parallel-folders", "3"])
        .args(["--connections", "3", "--retries", "0"])
        .state(&tmp.path().join("j.sqlite"))
        .report(&tmp.path().join("r.json"))
        .run();
    assert_eq!(o.code, 3, "an account could not be opened: {o}");
    let seen = logins(&fake);
    assert_eq!(
        seen.len(),
        1,
        "one attempt with the one credential: {seen:?}"
    );
    let accounts = o.report["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), ACCOUNTS.len(), "{}", o.report);
    for a in accounts {
        let e = a["error"].as_str().unwrap_or_default();
        assert!(
            e.contains("Invalid credentials"),
            "the server's words, for {a}"
        );
        assert_eq!(a["totals"]["failed"], 9, "{a}");
        assert_eq!(a["totals"]["migrated"], 0, "{a}");
        let notes = a["notes"].to_string();
        assert!(
            !notes.contains("fewer sessions"),
            "reported once, as the error: {notes}"
        );
    }
    assert_eq!(fake.bodies("INBOX").len(), 0);
}

#[test]
fn each_refused_password_is_tried_once_whatever_the_sessions() {
    let fake = Fake::storing(CAPS);
    fake.state().reject_auth = 1000;
    let tmp = tempfile::tempdir().expect("tmp");
    let s = store(tmp.path());
    let csv = tmp.path().join("a.csv");
    // ann and bea share one login and password; cy has its own.
    std::fs::write(
        &csv,
        "source,target_user,secret\nann@fake.test,team,env:PW1\nbea@fake.test,team,env:PW1\ncy@fake.test,cy,env:PW2\n",
    )
    .expect("csv");
    let o = Run::migrate(&s.install, &fake.url())
        .args(["--tls", "none", "--accounts"])
        .arg(&csv)
        .env("PW1", "wrong1")
        .env("PW2", "wrong2")
        .args(["--parallel-accounts", "3", "--parallel-folders", "3"])
        .args(["--connections", "3"])
        .state(&tmp.path().join("j.sqlite"))
        .report(&tmp.path().join("r.json"))
        .run();
    assert_eq!(o.code, 3, "{o}");
    let seen = logins(&fake);
    assert_eq!(seen.len(), 2, "once per distinct credential: {seen:?}");
    for a in o.report["accounts"].as_array().expect("accounts") {
        assert_eq!(a["totals"]["failed"], 9, "{a}");
        assert!(
            a["error"]
                .as_str()
                .is_some_and(|e| e.contains("Invalid credentials")),
            "{a}"
        );
    }
}
