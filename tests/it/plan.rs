//! `plan` on the bundled sample-store: the offline Gmail plan maps the
//! special folders into `[Gmail]/…`, prints an ETA, and its JSON parses;
//! a Maildir plan writes nothing and names exactly the mailboxes that
//! `migrate` then creates, with and without folder mapping; messages over
//! the size limit are listed by their size after CRLF conversion.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

fn run_plan(args: &[&str]) -> (i32, String, String) {
    let o = Run::new("plan").args(args).run();
    (o.code, o.stdout, o.stderr)
}

fn plan_json(args: &[&str]) -> Value {
    Run::new("plan").args(args).arg("--json").json()
}

/// (account, source folder) → the plan's folder entry.
fn plan_folders(plan: &Value) -> BTreeMap<(String, String), Value> {
    let mut m = BTreeMap::new();
    for a in plan["accounts"].as_array().expect("accounts") {
        let id = a["account"].as_str().expect("account").to_string();
        for f in a["folders"].as_array().expect("folders") {
            let src = f["source"].as_str().expect("source").to_string();
            m.insert((id.clone(), src), f.clone());
        }
    }
    m
}

/// Checks where the plan sends folders: (account, source folder, target,
/// how the target was chosen; "" when not checked).
fn assert_planned(plan: &Value, want: &[(&str, &str, &str, &str)]) {
    let f = plan_folders(plan);
    for (account, src, target, how) in want {
        let got = f
            .get(&(account.to_string(), src.to_string()))
            .unwrap_or_else(|| panic!("{account} {src} not planned"));
        assert_eq!(got["target"], *target, "{account} {src}");
        if !how.is_empty() {
            assert_eq!(got["how"], *how, "{account} {src}");
        }
    }
}

/// True when the plan has an entry for (account, source folder).
fn planned(plan: &Value, account: &str, src: &str) -> bool {
    plan_folders(plan).contains_key(&(account.to_string(), src.to_string()))
}

#[test]
fn offline_gmail_plan_maps_special_folders_and_gives_an_eta() {
    let store = sample();
    let store = store.to_str().expect("utf-8 path");
    let (code, out, err) = run_plan(&[
        store,
        "--to",
        "imaps://imap.gmail.com",
        "--offline",
        "--preset",
        "gmail",
        "--bytes-per-day",
        "500MB",
    ]);
    assert_eq!(code, 0, "{err}");
    let sent = out
        .lines()
        .find(|l| l.trim_start().starts_with("Sent Items "))
        .unwrap_or_else(|| panic!("no Sent Items row:\n{out}"));
    assert!(sent.contains("→  [Gmail]/Sent Mail"), "{sent}");
    assert!(sent.contains("special"), "{sent}");
    assert!(
        out.lines().any(|l| l
            .trim_start()
            .starts_with("ETA: at 500 MB/day this account")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("ETA: at 500 MB/day the largest account")),
        "{out}"
    );
    assert!(out.contains("Size limit: 35,651,584 B"), "{out}");
    assert!(out.contains("Gmail empties Trash and Spam"), "{out}");

    let plan = plan_json(&[
        store,
        "--to",
        "imaps://imap.gmail.com",
        "--offline",
        "--preset",
        "gmail",
        "--rate",
        "2",
    ]);
    assert_eq!(plan["mode"], "offline");
    assert_eq!(plan["preset"], "gmail");
    assert_eq!(plan["append_limit"]["bytes"], 35_651_584);
    // Gmail's 500 MB/day applies even when only a rate is given.
    assert_eq!(plan["bytes_per_day"]["bytes"], 500_000_000);
    let alice = "alice@example.com";
    assert_planned(
        &plan,
        &[
            (alice, "Sent Items", "[Gmail]/Sent Mail", "special"),
            (alice, "Deleted Items", "[Gmail]/Trash", "special"),
            (alice, "Junk E-mail", "[Gmail]/Spam", "special"),
            (alice, "Drafts", "[Gmail]/Drafts", "special"),
            (alice, "INBOX", "INBOX", ""),
            (
                alice,
                "INBOX/Projects/2024",
                "INBOX/Projects/2024",
                "default",
            ),
        ],
    );
    assert!(!planned(&plan, alice, "Calendar"));

    // Counts agree with scan (and with the sample-store's documented numbers).
    let exp = sample_expected();
    assert_eq!(plan["totals"]["items"], exp["totals"]["mail_items"]);
    assert_eq!(plan["totals"]["accounts"], exp["totals"]["accounts"]);
    assert_eq!(plan["totals"]["over_limit"], 0);
    let eta = plan["totals"]["eta"]["text"].as_str().expect("eta text");
    assert!(eta.contains("at 2 msg/s the whole run needs"), "{eta}");
    for a in plan["accounts"].as_array().expect("accounts") {
        assert!(a["eta"]["text"].as_str().is_some(), "{}", a["account"]);
    }
}

#[test]
fn the_preset_is_guessed_from_the_host_and_online_logs_in() {
    let store = sample();
    let store = store.to_str().expect("utf-8 path");
    let plan = plan_json(&[store, "--to", "imaps://outlook.office365.com", "--offline"]);
    assert_eq!(plan["preset"], "office365");
    assert!(plan["warnings"][0]
        .as_str()
        .is_some_and(|w| w.contains("guessed")));
    assert_planned(
        &plan,
        &[
            ("bob@example.com", "Junk E-mail", "Junk Email", ""),
            ("bob@example.com", "Deleted Items", "Deleted Items", ""),
        ],
    );
    assert_eq!(plan["append_limit"]["bytes"], 36_700_160);
    assert!(plan["bytes_per_day"].is_null());

    // Without --offline the plan logs in: a server that cannot be reached
    // is a clear fatal error (the online plan itself is tested against
    // Dovecot in tests/imap_dovecot.rs).
    let (code, _, err) = run_plan(&[
        store,
        "--to",
        "imaps://imap.invalid",
        "--connect-timeout",
        "2",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach the target"), "{err}");
    let (code, _, err) = run_plan(&[store, "--to", "ftp://x"]);
    assert_eq!(code, 1);
    assert!(err.contains("unsupported target"), "{err}");
}

fn migrate_report(store: &Path, out: &Path, extra: &[&str]) -> Value {
    let o = Run::migrate_to_maildir(store, out)
        .report(&out.with_extension("report.json"))
        .args(extra)
        .run();
    // The sample store has an unreadable-on-purpose item: 0 or 3.
    assert!(matches!(o.code, 0 | 3), "migrate {extra:?}: {o}");
    o.report
}

/// Plans a Maildir target, checks nothing was written, migrates with the
/// same options and compares the mailboxes. Returns the plan.
fn plan_then_migrate(tmp: &Path, name: &str, extra: &[&str]) -> Value {
    let out = tmp.join(name);
    let target = format!("maildir:{}", out.display());
    let store = sample();
    let mut args = vec![store.to_str().expect("utf-8"), "--to", target.as_str()];
    args.extend_from_slice(extra);
    let plan = plan_json(&args);
    assert!(!out.exists(), "plan wrote {}", out.display());
    let planned = plan_folders(&plan);

    let report = migrate_report(&store, &out, extra);
    let mut migrated = BTreeMap::new();
    for a in report["accounts"].as_array().expect("accounts") {
        let id = a["account"].as_str().expect("account").to_string();
        for f in a["folders"].as_array().expect("folders") {
            let src = f["folder"].as_str().expect("folder").to_string();
            migrated.insert((id.clone(), src), f["mailbox"].clone());
        }
    }
    assert_eq!(
        planned.keys().collect::<Vec<_>>(),
        migrated.keys().collect::<Vec<_>>(),
        "{name}: folder sets"
    );
    for (k, f) in &planned {
        assert_eq!(f["target"], migrated[k], "{name}: {k:?}");
        let mailbox = f["target"].as_str().expect("target");
        let dir = if mailbox == "INBOX" {
            out.join(&k.0)
        } else {
            out.join(&k.0).join(mailbox)
        };
        assert!(
            dir.join("cur").is_dir(),
            "{name}: {} missing",
            dir.display()
        );
    }
    plan
}

#[test]
fn maildir_plan_matches_what_migrate_creates() {
    let tmp = tempfile::tempdir().expect("tmp");
    // Default: the layout as it has always been.
    let plain = plan_then_migrate(tmp.path(), "plain", &[]);
    let (alice, bob, carol) = ("alice@example.com", "bob@example.com", "carol@example.com");
    assert_planned(
        &plain,
        &[
            (alice, "Sent Items", ".Sent Items", ""),
            (carol, "ivan.ivanov", ".ivan\\2eivanov", ""),
        ],
    );
    assert!(plain["append_limit"].is_null());

    // Dovecot's names for the special folders, the rest under Kerio/.
    let dovecot = plan_then_migrate(
        tmp.path(),
        "dovecot",
        &["--preset", "dovecot", "--prefix", "Kerio/"],
    );
    assert_planned(
        &dovecot,
        &[
            (alice, "Sent Items", ".Sent", "special"),
            (alice, "Deleted Items", ".Trash", "special"),
            (alice, "Junk E-mail", ".Junk", "special"),
            (alice, "INBOX", "INBOX", "default"),
            (alice, "INBOX/Projects", ".INBOX.Projects", "default"),
            (
                bob,
                "Crédit Agricole",
                ".Kerio.Cr&AOk-dit Agricole",
                "prefix",
            ),
            (carol, "ivan.ivanov", ".Kerio.ivan\\2eivanov", "prefix"),
        ],
    );

    // A mapping file: a rename, a rule, an exclude.
    let mapping = tmp.path().join("mapping.toml");
    fs::write(
        &mapping,
        r#"
exclude = ["Junk E-mail"]
[rename]
"Sent Items" = "Old/Sent"
[[rule]]
match = '^Fraudes\+Chaussures(.*)$'
replace = 'Fraud${1}'
"#,
    )
    .expect("write mapping");
    let mapped = plan_then_migrate(
        tmp.path(),
        "mapped",
        &["--mapping", mapping.to_str().expect("utf-8")],
    );
    assert_planned(
        &mapped,
        &[
            (bob, "Sent Items", ".Old.Sent", "rename"),
            (bob, "Fraudes+Chaussures/Archives", ".Fraud.Archives", ""),
        ],
    );
    assert_eq!(
        plan_folders(&mapped)[&(bob.to_string(), "Fraudes+Chaussures".to_string())]["how"],
        "rule"
    );
    assert!(!planned(&mapped, bob, "Junk E-mail"));
    let bob = mapped["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["account"] == "bob@example.com")
        .expect("bob");
    assert!(bob["not_migrated"]
        .as_array()
        .expect("not_migrated")
        .iter()
        .any(|n| n["folder"] == "Junk E-mail"
            && n["reason"]
                .as_str()
                .is_some_and(|r| r.contains("not selected"))));
}

#[test]
fn merges_are_reported() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = StoreBuilder::new(&tmp.path().join("kerio"));
    let msg = |n: u32| format!("From: a@b\r\nSubject: {n}\r\nMessage-ID: <{n}@x>\r\n\r\nbody\r\n");
    b.item("eve@example.net", "INBOX", "00000001", msg(1).as_bytes());
    b.item(
        "eve@example.net",
        "Sent Items",
        "00000001",
        msg(2).as_bytes(),
    );
    b.item("eve@example.net", "Sent", "00000001", msg(3).as_bytes());
    b.item("eve@example.net", "Archive", "00000001", msg(4).as_bytes());
    b.item("eve@example.net", "archive", "00000001", msg(5).as_bytes());
    let store = b.install.to_str().expect("utf-8").to_string();
    let (code, out, err) = run_plan(&[&store, "--to", "imaps://imap.gmail.com", "--offline"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            r#"merge: 2 source folders go into "[Gmail]/Sent Mail": "Sent", "Sent Items""#
        ),
        "{out}"
    );
    assert!(
        out.contains(r#"case clash: "Archive", "archive" differ only in case"#),
        "{out}"
    );
    // Dovecot folds no case: only the merge.
    let plan = plan_json(&[
        &store,
        "--to",
        "imaps://mail.example.net",
        "--offline",
        "--preset",
        "dovecot",
    ]);
    let issues = plan["accounts"][0]["issues"].as_array().expect("issues");
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0]["kind"], "merge");
}

#[test]
fn messages_over_the_limit_are_measured_as_sent() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = StoreBuilder::new(&tmp.path().join("kerio"));
    let head = "From: a@b\nSubject: big\nMessage-ID: <big@x>\n\n";
    // Under Gmail's limit on disk, over it once its bare LFs become CRLF.
    let line = format!("{}\n", "x".repeat(63));
    let mut grows = String::from(head);
    while grows.len() < 35_300_000 {
        grows.push_str(&line);
    }
    assert!((grows.len() as u64) < 35_651_584);
    b.item("eve@example.net", "INBOX", "00000001", grows.as_bytes());
    // Small, and clearly under.
    b.item(
        "eve@example.net",
        "INBOX",
        "00000002",
        b"From: a@b\r\n\r\nhi\r\n",
    );
    let store = b.install.to_str().expect("utf-8").to_string();
    let plan = plan_json(&[&store, "--to", "imaps://imap.gmail.com", "--offline"]);
    let a = &plan["accounts"][0];
    assert_eq!(a["over_limit"], 1);
    let over = &a["folders"][0]["over_limit"];
    assert_eq!(over[0]["item"], "00000001");
    assert!(over[0]["bytes"].as_u64().expect("bytes") > 35_651_584);
    // A Maildir has no limit.
    let plan = plan_json(&[
        &store,
        "--to",
        &format!("maildir:{}", tmp.path().join("m").display()),
    ]);
    assert_eq!(plan["totals"]["over_limit"], 0);
}

#[test]
fn bad_mapping_files_are_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = sample();
    let store = store.to_str().expect("utf-8");
    let bad = tmp.path().join("bad.toml");
    fs::write(&bad, "prefix = 'Kerio/'\n[rename\n").expect("write");
    let (code, _, err) = run_plan(&[
        store,
        "--to",
        "imaps://imap.gmail.com",
        "--offline",
        "--mapping",
        bad.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("bad.toml") && err.contains("line 2"), "{err}");
    let (code, _, err) = run_plan(&[
        store,
        "--to",
        "imaps://imap.gmail.com",
        "--offline",
        "--mapping",
        "/nonexistent/m.toml",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/m.toml"), "{err}");
    let (code, _, err) = run_plan(&[store, "--to", "maildir:/x", "--preset", "yahoo"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("gmail, office365 or dovecot"), "{err}");
}

#[test]
fn the_example_mapping_file_plans() {
    let store = sample();
    let example = root().join("docs/mapping-example.toml");
    let plan = plan_json(&[
        store.to_str().expect("utf-8"),
        "--to",
        "imaps://imap.gmail.com",
        "--offline",
        "--mapping",
        example.to_str().expect("utf-8"),
    ]);
    // [special_targets] beats the preset offline; the rename beats Trash.
    let alice = "alice@example.com";
    assert_planned(
        &plan,
        &[
            (alice, "Sent Items", "[Google Mail]/Sent Mail", ""),
            (alice, "Deleted Items", "Kerio/Deleted Items", ""),
            (alice, "Tom & Jerry", "Kerio/Tom & Jerry", ""),
            (alice, "Say \"Hello\"", "Kerio/Say _Hello_", ""),
        ],
    );
    assert!(!planned(&plan, alice, "Junk E-mail"));
}
