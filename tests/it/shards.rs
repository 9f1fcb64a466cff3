//! `--shard K/N` and `report merge`: three shards run as concurrent
//! processes against one private Dovecot put every account there exactly
//! once (counted on the server), their merged report has a single run's
//! totals, and merge refuses overlapping shards; `plan --shard` covers the
//! store once; bad K/N are usage errors.

use crate::support::dovecot::Dovecot;
use crate::support::imap::Imap;
use crate::support::run::wait_at_most;
use crate::support::store::{index_line, StoreBuilder};
use crate::support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Users of the generated store, with their message counts: sizes differ
/// so the split has something to balance.
const ACCOUNTS: &[(&str, usize)] = &[
    ("u1", 60),
    ("u2", 45),
    ("u3", 30),
    ("u4", 25),
    ("u5", 20),
    ("u6", 12),
    ("u7", 8),
];

fn users() -> String {
    ACCOUNTS
        .iter()
        .map(|(u, _)| *u)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One INBOX per account of [`ACCOUNTS`], messages with unique Message-IDs.
fn store(dir: &Path) -> StoreBuilder {
    let store = StoreBuilder::new(&dir.join("kerio"));
    for (u, n) in ACCOUNTS {
        let a = format!("{u}@shard.test");
        let items = store.messages(&a, "INBOX", *n, |i| {
            let mut body = format!(
                "From: x@gen.test\nTo: {a}\nSubject: m{i}\nMessage-ID: <{i}@{a}>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\n"
            );
            while body.len() < 400 + 53 * i {
                body.push_str("lorem ipsum dolor sit amet consectetur adipiscing\n");
            }
            body
        });
        let index: Vec<String> = items
            .iter()
            .map(|(id, size)| index_line(id, 0, *size, 0x5a4a0000, 0x5a4a0000, 0x5a4a0000))
            .collect();
        store.index(&a, "INBOX", &index);
    }
    store
}

fn to(dc: &Dovecot) -> String {
    format!("imap://127.0.0.1:{}", dc.imap_port)
}

/// `migrate` with the master login, `--tls none`, the journal
/// `dir/JOURNAL.sqlite` and the report `dir/TAG.json`.
fn migrate(store: &Path, dc: &Dovecot, dir: &Path, journal: &str, tag: &str) -> Run {
    Run::migrate(store, &to(dc))
        .args(["--tls", "none", "--admin-user", "admin"])
        .args(["--admin-password-env", "ADMIN_PW"])
        .env("ADMIN_PW", "secret")
        .state(&dir.join(format!("{journal}.sqlite")))
        .report(&dir.join(format!("{tag}.json")))
}

/// Messages in each user's INBOX, from the server.
fn counts(dc: &Dovecot) -> BTreeMap<String, u32> {
    ACCOUNTS
        .iter()
        .map(|(u, _)| {
            let mut c = Imap::login(dc.imap_port, u, "secret");
            (u.to_string(), c.count("INBOX"))
        })
        .collect()
}

fn account_ids(report: &Value) -> Vec<String> {
    report["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["account"].as_str().expect("id").to_string())
        .collect()
}

#[test]
fn three_concurrent_shards_deliver_every_account_once_and_merge_to_a_single_runs_totals() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = store(tmp.path());
    let dc = Dovecot::start(&[("USERS", &users()), ("MAIL_FORMAT", "mdbox")]);
    let started = Instant::now();
    let mut children: Vec<_> = (1..=3)
        .map(|k| {
            migrate(
                &store.install,
                &dc,
                tmp.path(),
                &format!("shard{k}"),
                &format!("shard{k}"),
            )
            .args(["--shard", &format!("{k}/3"), "--connections", "2"])
            .spawn(Stdio::from(
                fs::File::create(tmp.path().join(format!("shard{k}.err"))).expect("log"),
            ))
        })
        .collect();
    for (k, c) in children.iter_mut().enumerate() {
        let status = wait_at_most(c, Duration::from_secs(240)).expect("shard finished");
        let err = fs::read_to_string(tmp.path().join(format!("shard{}.err", k + 1)));
        assert!(status.success(), "shard {} exited {status}: {err:?}", k + 1);
    }
    eprintln!("3 shards, concurrent: {:?}", started.elapsed());
    // Every message on the server exactly once.
    let want: BTreeMap<String, u32> = ACCOUNTS
        .iter()
        .map(|(u, n)| (u.to_string(), *n as u32))
        .collect();
    assert_eq!(counts(&dc), want, "every account exactly once");
    // Each shard took some accounts, none took another's.
    let reports: Vec<Value> = (1..=3)
        .map(|k| json(&tmp.path().join(format!("shard{k}.json"))))
        .collect();
    let mut all: Vec<String> = Vec::new();
    for (k, r) in reports.iter().enumerate() {
        assert_eq!(r["shard"], format!("{}/3", k + 1));
        assert_eq!(r["exit_code"], 0);
        let ids = account_ids(r);
        assert!(!ids.is_empty(), "shard {} has accounts", k + 1);
        all.extend(ids);
    }
    all.sort();
    let mut expect: Vec<String> = ACCOUNTS
        .iter()
        .map(|(u, _)| format!("{u}@shard.test"))
        .collect();
    expect.sort();
    assert_eq!(all, expect);
    // The merged report is a single run's.
    let merged = tmp.path().join("merged.json");
    let o = Run::new("report")
        .arg("merge")
        .args((1..=3).map(|k| tmp.path().join(format!("shard{k}.json"))))
        .arg("--out")
        .arg(&merged)
        .run();
    assert_eq!(o.code, 0, "{o}");
    let merged = json(&merged);
    let single_dc = Dovecot::start(&[("USERS", &users()), ("MAIL_FORMAT", "mdbox")]);
    let t0 = Instant::now();
    let single = migrate(&store.install, &single_dc, tmp.path(), "single", "single").run();
    eprintln!("one run, all accounts: {:?}", t0.elapsed());
    assert_eq!(single.code, 0, "{single}");
    assert_eq!(merged["totals"], single.report["totals"]);
    assert_eq!(merged["exit_code"], 0);
    assert_eq!(account_ids(&merged), account_ids(&single.report));
    for (m, s) in merged["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .zip(single.report["accounts"].as_array().expect("accounts"))
    {
        assert_eq!(m["totals"], s["totals"], "{}", m["account"]);
    }

    // Merge refuses overlapping shards: shard 1 run again (its own
    // journal: nothing new to send) claims shard 1/3 a second time...
    let again = migrate(&store.install, &dc, tmp.path(), "shard1", "shard1-again")
        .args(["--shard", "1/3"])
        .run();
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(again.report["totals"]["migrated"], 0);
    let o = Run::new("report")
        .arg("merge")
        .arg(tmp.path().join("shard1.json"))
        .arg(tmp.path().join("shard1-again.json"))
        .run();
    assert_ne!(o.code, 0, "{o}");
    assert!(o.stderr.contains("shard 1/3 is in both"), "{o}");
    // ...and a run of one account without --shard claims an account of a shard.
    let first = account_ids(&reports[0])[0].clone();
    let one = migrate(&store.install, &dc, tmp.path(), "shard1", "one")
        .args(["--account", &first])
        .run();
    assert_eq!(one.code, 0, "{one}");
    let o = Run::new("report")
        .arg("merge")
        .args((1..=3).map(|k| tmp.path().join(format!("shard{k}.json"))))
        .arg(tmp.path().join("one.json"))
        .run();
    assert_ne!(o.code, 0, "{o}");
    assert!(
        o.stderr.contains(&format!("account {first} is in both")),
        "{o}"
    );
    // Reports of another target are not shards of this migration.
    let o = Run::new("report")
        .arg("merge")
        .arg(tmp.path().join("single.json"))
        .arg(tmp.path().join("one.json"))
        .run();
    assert_ne!(o.code, 0, "{o}");
    assert!(o.stderr.contains("target differs"), "{o}");
    assert_eq!(counts(&dc), want, "still every account exactly once");
    // Another split (N = 2) with new journals: accounts land on shards whose
    // journals never saw them; they are found on the server, nothing is sent
    // twice.
    for k in 1..=2 {
        let o = migrate(
            &store.install,
            &dc,
            tmp.path(),
            &format!("n2-{k}"),
            &format!("n2-{k}"),
        )
        .args(["--shard", &format!("{k}/2")])
        .run();
        assert_eq!(o.code, 0, "{o}");
        assert_eq!(o.report["totals"]["migrated"], 0, "{}", o.report["totals"]);
    }
    assert_eq!(
        counts(&dc),
        want,
        "resharded: still every account exactly once"
    );
}

#[test]
fn plan_shows_each_shard_and_the_shards_cover_the_store_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let target = format!("maildir:{}", tmp.path().join("md").display());
    let mut seen: Vec<String> = Vec::new();
    let mut loads = Vec::new();
    let mut total = None;
    for k in 1..=3 {
        let p = Run::new("plan")
            .arg(sample())
            .args(["--to", &target, "--json", "--shard", &format!("{k}/3")])
            .json();
        let sh = &p["shard"];
        assert_eq!(sh["shard"], format!("{k}/3"));
        let ids: Vec<String> = sh["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .map(|a| a["account"].as_str().expect("id").to_string())
            .collect();
        // The plan's accounts are the shard's.
        let mut planned: Vec<String> = p["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .map(|a| a["account"].as_str().expect("id").to_string())
            .collect();
        planned.sort();
        let mut mine = ids.clone();
        mine.sort();
        assert_eq!(planned, mine);
        seen.extend(ids);
        loads.push(sh["bytes"].as_u64().expect("bytes"));
        // Every shard computes the same split.
        let all: Vec<u64> = sh["loads"]
            .as_array()
            .expect("loads")
            .iter()
            .map(|b| b.as_u64().expect("n"))
            .collect();
        assert_eq!(*total.get_or_insert(all.clone()), all);
    }
    assert_eq!(total.expect("loads"), loads);
    seen.sort();
    let n = seen.len();
    seen.dedup();
    assert_eq!(seen.len(), n, "no account in two shards");
    let scan = Run::new("scan").arg(sample()).arg("--json").json();
    assert_eq!(
        n,
        scan["accounts"].as_array().expect("accounts").len(),
        "every account in a shard"
    );
    eprintln!("sample-store, 3 shards: {loads:?} bytes");
    for bad in ["0/3", "4/3", "1/0", "x", "1/100000"] {
        let o = Run::new("plan")
            .arg(sample())
            .args(["--to", &target, "--shard", bad])
            .run();
        assert_eq!(o.code, 2, "{bad}: {o}");
        assert!(o.stderr.contains("--shard"), "{o}");
    }
}

#[test]
fn shards_into_one_maildir_keep_their_own_default_journals_and_verify_by_shard() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("md");
    let mut migrated = 0;
    for k in 1..=3 {
        let o = Run::migrate_to_maildir(&sample(), &out)
            .args(["--shard", &format!("{k}/3")])
            .report(&tmp.path().join(format!("r{k}.json")))
            .run();
        assert_eq!(o.code, 0, "{o}");
        migrated += o.report["totals"]["migrated"].as_u64().expect("n");
        assert!(
            out.join(format!("kerio-migrate-journal-shard-{k}-of-3.sqlite"))
                .is_file(),
            "shard {k}'s journal"
        );
    }
    assert!(!out.join("kerio-migrate-journal.sqlite").exists());
    let single = Run::migrate_to_maildir(&sample(), &tmp.path().join("one"))
        .report(&tmp.path().join("one.json"))
        .run();
    assert_eq!(single.code, 0, "{single}");
    assert_eq!(Some(migrated), single.report["totals"]["migrated"].as_u64());
    for k in 1..=3 {
        let o = Run::new("verify")
            .arg(sample())
            .args(["--to", &format!("maildir:{}", out.display())])
            .args(["--shard", &format!("{k}/3")])
            .run();
        assert_eq!(o.code, 0, "verify shard {k}: {o}");
    }
    // Without --shard, verify looks for the unsharded journal and says so.
    let o = Run::new("verify")
        .arg(sample())
        .args(["--to", &format!("maildir:{}", out.display())])
        .run();
    assert_eq!(o.code, 1, "{o}");
    assert!(o.stderr.contains("no journal here"), "{o}");
}
