//! What the IMAP sessions of a run share (the scripted fake server of
//! `support::fakeimap`): a refused login is tried once per credential,
//! not once per session or account; the first `[OVERQUOTA]` stops every
//! session of that target account, not one session at a time; two
//! folders whose refused names get the same substitute end in two
//! mailboxes, the same ones on every run.

use crate::support::fakeimap::{login_of, script, Action, Fake};
use crate::support::*;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
fn an_account_the_admin_login_cannot_open_is_tried_once_and_fails_alone() {
    let fake = Fake::storing(CAPS);
    fake.state().refuse_logins = vec!["bea@fake.test".into()];
    let tmp = tempfile::tempdir().expect("tmp");
    let s = store(tmp.path());
    // One account at a time: ann's login shows the admin password good
    // before bea's is refused.
    let o = Run::migrate(&s.install, &fake.url())
        .args(["--tls", "none", "--admin-user", "admin"])
        .args(["--admin-password-env", "ADMIN_PW"])
        .env("ADMIN_PW", "right")
        .args(["--parallel-accounts", "1", "--parallel-folders", "3"])
        .args(["--connections", "3"])
        .state(&tmp.path().join("j.sqlite"))
        .report(&tmp.path().join("r.json"))
        .run();
    assert_eq!(o.code, 3, "{o}");
    let bea: Vec<String> = logins(&fake)
        .into_iter()
        .filter(|l| login_of(l) == "bea@fake.test")
        .collect();
    assert_eq!(bea.len(), 1, "bea's sessions tried once: {bea:?}");
    for a in o.report["accounts"].as_array().expect("accounts") {
        let t = &a["totals"];
        if a["account"] == "bea@fake.test" {
            assert_eq!(t["failed"], 9, "{a}");
            assert!(
                a["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("Invalid credentials")),
                "{a}"
            );
        } else {
            assert_eq!(t["migrated"], 9, "the others go on: {a}");
        }
    }
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

/// What the quota script saw: APPENDs decided, when the first
/// `[OVERQUOTA]` went out, and the APPENDs of the full account that came
/// later than `LATE` after it.
#[derive(Default)]
struct Quota {
    stored: usize,
    first_refusal: Option<Instant>,
    late: Vec<String>,
}

/// More than a command in flight when the first refusal went out could
/// take to arrive, with the fake's reader thread scheduled late on a loaded
/// machine (150 ms was once close). The slow APPENDs take 2 s, so a session
/// that did not stop sends its next one well after this.
const LATE: Duration = Duration::from_millis(500);

#[test]
fn the_first_overquota_stops_every_session_of_the_account_and_no_other() {
    const FULL_AT: usize = 8;
    let tmp = tempfile::tempdir().expect("tmp");
    let s = StoreBuilder::new(&tmp.path().join("kerio"));
    let folders = ["INBOX", "Work", "Travel", "Misc"];
    for f in folders {
        s.messages("ann@fake.test", f, 20, |i| {
            format!(
                "From: x@fake.test\nSubject: {f} {i}\nMessage-ID: <{i}.{f}@ann>\n\nann {f} {i}\n"
            )
        });
    }
    s.inbox("bea@fake.test");
    s.messages("bea@fake.test", "Projects", 6, |i| {
        format!("From: x@fake.test\nSubject: {i}\nMessage-ID: <{i}@bea>\n\nbea {i}\n")
    });
    let seen = Arc::new(Mutex::new(Quota::default()));
    let q = seen.clone();
    // ann's account is full after FULL_AT messages. INBOX's appends are
    // quick, the other folders' slow: when INBOX's session meets the
    // quota, the other sessions each wait for an APPEND that fitted.
    let fake = Fake::start(
        CAPS,
        script(move |_, cmd| {
            if !cmd.carries("ann ") {
                return Action::Store;
            }
            let mut q = q.lock().expect("lock");
            if let Some(t) = q.first_refusal {
                if t.elapsed() > LATE {
                    q.late.push(cmd.lines[0].clone());
                }
                return Action::No("[OVERQUOTA] Quota exceeded".into());
            }
            if q.stored >= FULL_AT {
                q.first_refusal = Some(Instant::now());
                return Action::No("[OVERQUOTA] Quota exceeded".into());
            }
            q.stored += 1;
            if cmd.lines[0].contains(" APPEND INBOX ")
                || cmd.lines[0].contains(" APPEND \"INBOX\" ")
            {
                Action::DelayThenStore(30)
            } else {
                Action::DelayThenStore(2000)
            }
        }),
    );
    let csv = tmp.path().join("a.csv");
    std::fs::write(
        &csv,
        "source,target_user,secret\nann@fake.test,ann,env:PW\nbea@fake.test,bea,env:PW\n",
    )
    .expect("csv");
    let o = Run::migrate(&s.install, &fake.url())
        .args(["--tls", "none", "--accounts"])
        .arg(&csv)
        .env("PW", "pw")
        .args(["--parallel-accounts", "2", "--parallel-folders", "4"])
        .args(["--connections", "4", "--batch", "1", "--window", "1"])
        .state(&tmp.path().join("j.sqlite"))
        .report(&tmp.path().join("r.json"))
        .run();
    assert_eq!(o.code, 3, "{o}");
    let q = seen.lock().expect("lock");
    assert!(q.first_refusal.is_some(), "the quota was reached: {o}");
    assert_eq!(
        q.late,
        Vec::<String>::new(),
        "nothing sent to the full account once it said so"
    );
    let ann = &o.report["accounts"][0];
    assert_eq!(ann["account"], "ann@fake.test");
    let t = &ann["totals"];
    assert_eq!(t["migrated"], FULL_AT as u64, "{t}");
    assert_eq!(t["failed"], (80 - FULL_AT) as u64, "{t}");
    for f in ann["folders"].as_array().expect("folders") {
        for item in f["failed"].as_array().expect("failed") {
            let why = item["reason"].as_str().unwrap_or_default();
            assert!(why.contains("over quota"), "{why}");
        }
    }
    let bea = &o.report["accounts"][1];
    assert_eq!(
        bea["totals"]["migrated"], 6,
        "another account goes on: {bea}"
    );
    assert_eq!(bea["totals"]["failed"], 0, "{bea}");
}

/// The Message-IDs stored in `mailbox`, sorted.
fn ids_in(fake: &Fake, mailbox: &str) -> Vec<String> {
    let mut v: Vec<String> = fake
        .bodies(mailbox)
        .iter()
        .filter_map(|b| {
            let t = String::from_utf8_lossy(b).into_owned();
            t.lines()
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .map(str::to_string)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn refused_names_with_one_substitute_go_to_two_mailboxes_and_stay_there() {
    // Both names are refused (`"` and `!`, as Cyrus does) and both become
    // `Say _Hi_`; on one session (one after the other) and on two (at
    // the same time).
    let folders = ["Say \"Hi\"", "Say !Hi!"];
    for sessions in ["1", "2"] {
        let tmp = tempfile::tempdir().expect("tmp");
        let s = StoreBuilder::new(&tmp.path().join("kerio"));
        let write = |n: usize| {
            for (k, f) in folders.iter().enumerate() {
                s.messages("ann@fake.test", f, n, |i| {
                    format!("From: x@fake.test\nSubject: {i}\nMessage-ID: <{i}.{k}@ann>\n\nfolder {k} message {i}\n")
                });
            }
        };
        write(3);
        let fake = Fake::storing(CAPS);
        fake.state().refuse_chars = "\"!".into();
        let migrate = Run::migrate(&s.install, &fake.url())
            .args(["--tls", "none"])
            .login("ann@fake.test", "ann", "pw")
            .args(["--parallel-folders", sessions, "--connections", "2"])
            .state(&tmp.path().join("j.sqlite"))
            .report(&tmp.path().join("r.json"));
        let o = migrate.run();
        assert_eq!(o.code, 0, "{sessions} sessions: {o}");
        let placed = |o: &Outcome| -> Vec<String> {
            let mut by_folder: Vec<(String, String)> = o.report["accounts"][0]["folders"]
                .as_array()
                .expect("folders")
                .iter()
                .map(|f| {
                    let folder = f["folder"].as_str().unwrap_or_default().to_string();
                    (
                        folder,
                        f["mailbox"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            by_folder.sort();
            by_folder.into_iter().map(|(_, m)| m).collect()
        };
        let first = placed(&o);
        let mut distinct = first.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            2,
            "{sessions} sessions: two mailboxes: {first:?}"
        );
        let want = |k: usize, n: usize| -> Vec<String> {
            let mut v: Vec<String> = (0..n).map(|i| format!("<{i}.{k}@ann>")).collect();
            v.sort();
            v
        };
        let holds = |first: &[String], n: usize| {
            // `placed` sorts by folder: `Say !Hi!` (1) before `Say "Hi"` (0).
            assert_eq!(
                ids_in(&fake, &first[1]),
                want(0, n),
                "{sessions}: {first:?}"
            );
            assert_eq!(
                ids_in(&fake, &first[0]),
                want(1, n),
                "{sessions}: {first:?}"
            );
        };
        holds(&first, 3);
        // A rerun with a new message in each folder, first of the folder
        // that got the numbered name alone (it is the first to choose now,
        // and the plain name is free on this run): each new message goes
        // where its folder's messages are.
        write(4);
        let folders_now: Vec<String> = o.report["accounts"][0]["folders"]
            .as_array()
            .expect("folders")
            .iter()
            .filter(|f| f["mailbox"].as_str().is_some_and(|m| m.ends_with("_2")))
            .filter_map(|f| f["folder"].as_str().map(str::to_string))
            .collect();
        assert_eq!(folders_now.len(), 1, "{first:?}");
        let o = migrate.clone().args(["--folder", &folders_now[0]]).run();
        assert_eq!(o.code, 0, "{sessions} sessions, rerun: {o}");
        assert_eq!(o.report["totals"]["migrated"], 1, "{o}");
        let f = &o.report["accounts"][0]["folders"][0];
        assert!(
            f["mailbox"].as_str().is_some_and(|m| m.ends_with("_2")),
            "{f}"
        );
        let o = migrate.run();
        assert_eq!(o.code, 0, "{sessions} sessions, rerun: {o}");
        assert_eq!(o.report["totals"]["migrated"], 1, "{o}");
        assert_eq!(placed(&o), first, "{sessions} sessions: the same mailboxes");
        holds(&first, 4);
    }
}

#[test]
fn a_substitute_never_takes_the_name_another_folder_maps_to() {
    // `A.B` is refused (the server will not take `.`) and its substitute
    // is `A_B`, the name the folder `A_B` maps to. On one session the
    // folders were migrated one after the other and `A.B` took `A_B`
    // first: both folders' messages in one mailbox, exit 0 (hostile test).
    for sessions in ["1", "2"] {
        let tmp = tempfile::tempdir().expect("tmp");
        let s = StoreBuilder::new(&tmp.path().join("kerio"));
        for (k, f) in ["A.B", "A_B"].iter().enumerate() {
            s.messages("ann@fake.test", f, 3, |i| {
                format!("From: x@fake.test\nSubject: {i}\nMessage-ID: <{i}.{k}@ann>\n\nfolder {k} message {i}\n")
            });
        }
        let fake = Fake::storing(CAPS);
        fake.state().refuse_chars = ".".into();
        let o = Run::migrate(&s.install, &fake.url())
            .args(["--tls", "none"])
            .login("ann@fake.test", "ann", "pw")
            .args(["--parallel-folders", sessions])
            .state(&tmp.path().join("j.sqlite"))
            .report(&tmp.path().join("r.json"))
            .run();
        assert_eq!(o.code, 0, "{sessions} sessions: {o}");
        let mailbox_of = |folder: &str| -> String {
            o.report["accounts"][0]["folders"]
                .as_array()
                .expect("folders")
                .iter()
                .find(|f| f["folder"] == folder)
                .and_then(|f| f["mailbox"].as_str())
                .unwrap_or_default()
                .to_string()
        };
        let (dotted, plain) = (mailbox_of("A.B"), mailbox_of("A_B"));
        assert_eq!(plain, "A_B", "{sessions} sessions: {o}");
        assert_ne!(dotted, plain, "{sessions} sessions: {o}");
        let want = |k: usize| -> Vec<String> { (0..3).map(|i| format!("<{i}.{k}@ann>")).collect() };
        assert_eq!(ids_in(&fake, &dotted), want(0), "{sessions} sessions");
        assert_eq!(ids_in(&fake, &plain), want(1), "{sessions} sessions");
    }
}
