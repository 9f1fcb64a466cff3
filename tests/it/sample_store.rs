//! The bundled sample-store: `scan` gives the counts its README states
//! (`sample-store/expected-counts.json`), `migrate` to Maildir delivers every
//! mail item with its exact bytes (after CRLF), flags and internal date, a
//! second run adds nothing, and a run killed with SIGKILL then rerun ends
//! with every message exactly once.

use crate::support::run::wait_while_running;
use crate::support::store::{index_line, item_id};
use crate::support::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

const FOLDER_KEYS: &[&str] = &[
    "items",
    "bytes",
    "index_records",
    "unindexed",
    "stale",
    "garbage_lines",
    "deleted_flagged",
    "empty",
    "nul",
    "no_header",
    "no_date",
    "no_message_id",
];

#[test]
fn scan_gives_the_documented_counts() {
    let got = Run::new("scan").arg("--json").arg(sample()).json();
    let exp = sample_expected();

    let got_accounts: BTreeMap<&str, &Value> = got["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| (a["account"].as_str().expect("id"), a))
        .collect();
    let exp_accounts = exp["accounts"].as_object().expect("accounts");
    assert_eq!(
        got_accounts.keys().copied().collect::<Vec<_>>(),
        exp_accounts.keys().map(String::as_str).collect::<Vec<_>>()
    );
    for (id, ea) in exp_accounts {
        let ga = got_accounts[id.as_str()];
        let got_folders: BTreeMap<&str, &Value> = ga["folders"]
            .as_array()
            .expect("folders")
            .iter()
            .map(|f| (f["path"].as_str().expect("path"), f))
            .collect();
        let exp_folders = ea["folders"].as_object().expect("folders");
        assert_eq!(
            got_folders.keys().copied().collect::<Vec<_>>(),
            {
                let mut v: Vec<&str> = exp_folders.keys().map(String::as_str).collect();
                v.sort();
                v
            },
            "{id}: folder set"
        );
        for (path, ef) in exp_folders {
            let gf = got_folders[path.as_str()];
            assert_eq!(gf["kind"], ef["kind"], "{id} {path}: kind");
            for k in FOLDER_KEYS {
                assert_eq!(gf[*k], ef[*k], "{id} {path}: {k}");
            }
            assert_eq!(
                gf["has_index"], ef["has_index_fld"],
                "{id} {path}: has_index"
            );
            assert_eq!(
                gf["has_status"], ef["has_status_fld"],
                "{id} {path}: has_status"
            );
            assert_eq!(
                gf["name_problem"].is_null(),
                ef["valid_mutf7"].as_bool().expect("valid_mutf7"),
                "{id} {path}: name problem"
            );
            let ignored: u64 = gf["ignored_files"]
                .as_object()
                .expect("ignored")
                .values()
                .filter_map(Value::as_u64)
                .sum();
            assert_eq!(
                Some(ignored),
                ef["ignored_files_in_msgs"].as_u64(),
                "{id} {path}: ignored files"
            );
        }
        let sum = |v: &Value| -> u64 {
            v.as_object()
                .expect("map")
                .values()
                .filter_map(Value::as_u64)
                .sum()
        };
        assert_eq!(
            Some(sum(&ga["skipped"]["dirs"])),
            ea["skipped_system_dirs"].as_u64(),
            "{id}: system dirs"
        );
        assert_eq!(
            Some(sum(&ga["skipped"]["files"])),
            ea["skipped_files"].as_u64(),
            "{id}: per-user files"
        );
    }
    let (gt, et) = (&got["totals"], &exp["totals"]);
    for (g, e) in [
        ("domains", "domains"),
        ("accounts", "accounts"),
        ("folders", "folders"),
        ("mail_items", "mail_items"),
        ("mail_bytes", "mail_bytes"),
        ("other_items", "non_mail_items"),
        ("skipped_system_dirs", "skipped_system_dirs"),
        ("skipped_files", "skipped_files"),
    ] {
        assert_eq!(gt[g], et[e], "totals: {g}");
    }
}

/// The Maildir++ directory of a folder, from its on-disk (mUTF-7) path.
fn maildir_folder(account_dir: &Path, disk_path: &str, valid_mutf7: bool) -> PathBuf {
    if disk_path == "INBOX" {
        return account_dir.to_path_buf();
    }
    let mut name = String::new();
    for comp in disk_path.split('/') {
        // A valid name is already what the target needs; an invalid one is
        // kept verbatim, so its '&' must be escaped as "&-" to show as is.
        let comp = if valid_mutf7 || !comp.contains('&') {
            comp.to_string()
        } else {
            comp.replace('&', "&-")
        };
        name.push('.');
        for (i, c) in comp.chars().enumerate() {
            match c {
                '.' => name.push_str("\\2e"),
                '\\' => name.push_str("\\5c"),
                '/' => name.push_str("\\2f"),
                '~' if i == 0 => name.push_str("\\7e"),
                c => name.push(c),
            }
        }
    }
    account_dir.join(name)
}

fn migrate(store: &Path, out: &Path, report: &Path, extra: &[&str]) -> (i32, Value) {
    let o = Run::migrate_to_maildir(store, out)
        .report(report)
        .args(extra)
        .run();
    (o.code, o.report)
}

#[test]
fn migrate_to_maildir_delivers_bytes_flags_and_dates_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("maildir");
    let (code, r) = migrate(&sample(), &out, &tmp.path().join("r1.json"), &[]);
    assert_eq!(code, 0, "{}", r["accounts"]);
    let exp = sample_expected();
    let store_mail = sample().join("store/mail");
    let mut checked = 0;
    let report_folders: HashMap<(String, String), Value> = r["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .flat_map(|a| {
            let id = a["account"].as_str().expect("id").to_string();
            a["folders"]
                .as_array()
                .expect("folders")
                .iter()
                .map(move |f| {
                    (
                        (id.clone(), f["folder"].as_str().expect("f").to_string()),
                        f.clone(),
                    )
                })
        })
        .collect();
    for (account, ea) in exp["accounts"].as_object().expect("accounts") {
        let (local, domain) = account.split_once('@').expect("id");
        let account_src = store_mail.join(domain).join(local);
        let account_dst = out.join(account);
        for (path, ef) in ea["folders"].as_object().expect("folders") {
            let disk = ef["disk_path"].as_str().expect("disk_path");
            let valid = ef["valid_mutf7"].as_bool().expect("valid");
            let dst = maildir_folder(&account_dst, disk, valid);
            if ef["kind"] != "mail" {
                assert!(
                    disk == "INBOX" || !dst.exists(),
                    "{account} {path}: non-mail folder must not be migrated ({})",
                    dst.display()
                );
                continue;
            }
            let fr = &report_folders[&(account.clone(), path.clone())];
            let c = &fr["counts"];
            assert_eq!(c["expected"], ef["items"], "{account} {path}");
            assert_eq!(c["failed"], 0, "{account} {path}: {}", fr["failed"]);
            let src = account_src.join(disk);
            let index = index_of(&src);
            let on_disk = maildir_messages(&dst);
            let mut seen = 0;
            for (stem, item) in items_of(&src) {
                if ef["not_mail"].get(stem.as_str()).is_some() {
                    continue; // a groupware item: the exporters take it
                }
                let orig = fs::read(&item).expect("read item");
                let hits: Vec<&PathBuf> = on_disk
                    .iter()
                    .filter(|(b, _)| b.contains(&format!(".M{stem}K")))
                    .map(|(_, p)| p)
                    .collect();
                if orig.is_empty() {
                    assert!(
                        hits.is_empty(),
                        "{account} {path} {stem}: empty file migrated"
                    );
                    let skipped = fr["skipped"].as_array().expect("skipped");
                    assert!(
                        skipped.iter().any(|n| n["item"] == stem.as_str()
                            && n["reason"].as_str().is_some_and(|r| r.contains("empty"))),
                        "{account} {path} {stem}: empty file not reported"
                    );
                    continue;
                }
                assert_eq!(hits.len(), 1, "{account} {path} {stem}: copies on target");
                let target = hits[0];
                assert!(
                    fs::read(target).expect("read") == crlf(&orig),
                    "{account} {path} {stem}: bytes"
                );
                let rec = index.get(&u64::from_str_radix(&stem, 16).expect("hex stem"));
                let f = rec.map_or(0, |r| r.0);
                let f = ef["flags"][stem.as_str()].as_u64().map_or(f, |v| v as u32);
                let name = target
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned();
                let info = name.rsplit_once(":2,").map(|(_, i)| i).expect("info");
                let mut want = String::new();
                for (bit, ch) in [(0x10, 'D'), (0x4, 'F'), (0x2, 'R'), (0x1, 'S')] {
                    if f & bit != 0 {
                        want.push(ch);
                    }
                }
                assert_eq!(info, want, "{account} {path} {stem}: flags from F{f:x}");
                let want_date = ef["internal_dates"][stem.as_str()]
                    .as_i64()
                    .unwrap_or_else(|| expected_internal_date(rec, &item));
                assert_eq!(
                    mtime(target),
                    want_date,
                    "{account} {path} {stem}: internal date"
                );
                seen += 1;
                checked += 1;
            }
            assert_eq!(
                on_disk.len(),
                seen,
                "{account} {path}: extra files on target"
            );
        }
    }
    assert_eq!(checked, 120, "every non-empty mail item checked");

    // The second run adds nothing.
    let before = count_files(&out);
    let (code, r2) = migrate(&sample(), &out, &tmp.path().join("r2.json"), &[]);
    assert_eq!(code, 0);
    assert_eq!(r2["totals"]["migrated"], 0);
    assert_eq!(r2["totals"]["already_present"], r["totals"]["migrated"]);
    assert_eq!(count_files(&out), before);
}

#[test]
fn skip_deleted_leaves_out_flag_0x8() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("maildir");
    let (code, r) = migrate(
        &sample(),
        &out,
        &tmp.path().join("r.json"),
        &["--skip-deleted", "--account", "alice@example.com"],
    );
    assert_eq!(code, 0);
    let skipped: Vec<String> = r["accounts"][0]["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .flat_map(|f| {
            let folder = f["folder"].as_str().expect("folder").to_string();
            f["skipped"]
                .as_array()
                .expect("skipped")
                .iter()
                .filter(|n| n["reason"].as_str().is_some_and(|r| r.contains("deleted")))
                .map(move |n| format!("{folder}/{}", n["item"].as_str().expect("item")))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        skipped,
        vec![
            "Deleted Items/00000002",
            "Deleted Items/00000003",
            "INBOX/00000009"
        ]
    );
    assert!(maildir_messages(&out.join("alice@example.com"))
        .keys()
        .all(|b| !b.contains(".M00000009K")));
}

fn count_files(dir: &Path) -> usize {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| {
            e.file_type().is_file() && e.path().parent().is_some_and(|p| p.ends_with("cur"))
        })
        .count()
}

#[test]
fn sigkill_mid_run_then_rerun_gives_every_message_exactly_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = StoreBuilder::new(&tmp.path().join("kerio"));
    let accounts = ["ann@kill.test", "ben@kill.test"];
    let folders = ["INBOX", "Sent Items", "Archiv&AOk-"];
    let per_folder = 500;
    let mut total = 0;
    for a in accounts {
        for f in folders {
            let items = store.messages(a, f, per_folder, |i| {
                format!(
                    "From: x@kill.test\nTo: {a}\nSubject: message {i} in {f}\nMessage-ID: <{i}.{f}@{a}>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\n{}\n",
                    "lorem ipsum dolor sit amet ".repeat(40)
                )
            });
            let index: Vec<String> = items
                .iter()
                .enumerate()
                .map(|(i, (id, size))| {
                    index_line(id, 1, *size, 0x5a4a0000, 0x5a4a0000 + i as i64, 0x5a4a0000)
                })
                .collect();
            store.index(a, f, &index);
            total += items.len();
        }
    }
    let out = tmp.path().join("maildir");
    let mut child = Run::migrate_to_maildir(&store.install, &out)
        .args(["--max-rate", "600"])
        .spawn(std::process::Stdio::inherit());
    wait_while_running(&mut child, Duration::from_secs(60), "400 messages", || {
        out.exists() && count_files(&out) >= 400
    });
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let partial = count_files(&out);
    assert!(partial < total, "killed mid-run: {partial} of {total}");
    eprintln!("killed after {partial} of {total} messages");

    let (code, r) = migrate(&store.install, &out, &tmp.path().join("r.json"), &[]);
    assert_eq!(code, 0, "{}", r["totals"]);
    let t = &r["totals"];
    assert_eq!(t["expected"], total as u64);
    assert_eq!(t["failed"], 0);
    assert_eq!(
        t["migrated"].as_u64().expect("n") + t["already_present"].as_u64().expect("n"),
        total as u64
    );
    // Whatever the killed run wrote is recognised, journaled or not.
    assert_eq!(t["already_present"].as_u64(), Some(partial as u64));
    for a in accounts {
        for (f, dir) in [
            ("INBOX", "".to_string()),
            ("Sent Items", ".Sent Items".into()),
            ("Archiv&AOk-", ".Archiv&AOk-".into()),
        ] {
            let msgs = maildir_messages(&out.join(a).join(&dir));
            assert_eq!(msgs.len(), per_folder, "{a} {f}: each message exactly once");
            for i in 0..per_folder {
                let needle = format!(".M{}K", item_id(i + 1));
                assert_eq!(
                    msgs.keys().filter(|b| b.contains(&needle)).count(),
                    1,
                    "{a} {f} {i}"
                );
            }
        }
    }
    // Nothing of ours is left half-written.
    assert_eq!(
        walkdir::WalkDir::new(&out)
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file()
                && e.path()
                    .parent()
                    .is_some_and(|p| p.file_name().is_some_and(|n| n == "tmp")))
            .count(),
        0
    );
}
