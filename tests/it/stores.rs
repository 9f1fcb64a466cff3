//! Shapes of real Kerio stores (issue 10) on the bundled sample-store and on
//! small hostile stores: every file below the store root is accounted for
//! by `scan`; the archive is inventoried and migrated one folder per period,
//! exactly once; groupware items of mail folders go to the exporters, not
//! to the mail target; `index.bad`, empty `index.fld`, ACL lines, localized
//! duplicate folders, orphan mailboxes, alias domains, built-in accounts,
//! generated public contacts, `#deleted` and Windows zone names each end
//! where they should.

use crate::support::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

fn sample() -> PathBuf {
    root().join("sample-store")
}

fn expected() -> Value {
    json(&sample().join("expected-counts.json"))
}

/// Runs the binary; (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().arg("--quiet").args(args).output().expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scan_json(store: &Path, extra: &[&str]) -> Value {
    let s = store.to_str().expect("utf-8");
    let mut args = vec!["scan", "--json", s];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "scan: {err}");
    serde_json::from_str(&out).expect("scan json")
}

/// Migrates to a Maildir; (exit code, report JSON, report text).
fn migrate(store: &Path, out: &Path, extra: &[&str]) -> (i32, Value, String) {
    let report = out.with_extension(format!("{}.json", extra.len()));
    let o = bin()
        .args(["--quiet", "migrate"])
        .arg(store)
        .arg("--to")
        .arg(format!("maildir:{}", out.display()))
        .arg("--report")
        .arg(&report)
        .args(extra)
        .output()
        .expect("run migrate");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let code = o.status.code().unwrap_or(-1);
    let r = if report.is_file() {
        json(&report)
    } else {
        Value::Null
    };
    (code, r, format!("{text}{err}"))
}

fn folder_report<'a>(r: &'a Value, account: &str, folder: &str) -> &'a Value {
    r["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["account"] == account)
        .and_then(|a| {
            a["folders"]
                .as_array()
                .expect("folders")
                .iter()
                .find(|f| f["folder"] == folder)
        })
        .unwrap_or_else(|| panic!("no folder {account} {folder} in {}", r["accounts"]))
}

fn scan_folder<'a>(inv: &'a Value, account: &str, folder: &str) -> &'a Value {
    inv["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["account"] == account)
        .and_then(|a| {
            a["folders"]
                .as_array()
                .expect("folders")
                .iter()
                .find(|f| f["path"] == folder)
        })
        .unwrap_or_else(|| panic!("no folder {account} {folder}"))
}

/// Messages of a Maildir folder with their bytes.
fn messages(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    maildir_messages(dir)
        .into_values()
        .map(|p| {
            let b = fs::read(&p).expect("read");
            (p, b)
        })
        .collect()
}

fn counts(map: &Value) -> BTreeMap<String, u64> {
    map.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn scan_accounts_for_every_file_below_the_store_root() {
    let store = sample().join("store");
    let inv = scan_json(&sample(), &[]);
    // Every folder (accounts' and the archive's) by its directory.
    let mut folders: HashMap<PathBuf, &Value> = HashMap::new();
    let mut account_of: HashMap<PathBuf, &Value> = HashMap::new();
    let accounts = inv["accounts"].as_array().expect("accounts");
    for a in accounts {
        account_of.insert(PathBuf::from(a["dir"].as_str().expect("dir")), a);
        for f in a["folders"].as_array().expect("folders") {
            folders.insert(PathBuf::from(f["dir"].as_str().expect("dir")), f);
        }
    }
    let archive = &inv["archive"];
    for f in archive["folders"].as_array().expect("archive folders") {
        let path = f["path"].as_str().expect("path");
        if path.ends_with(".tar.gz") {
            // A compressed period: one unreadable item, its file.
            assert_eq!(f["unreadable"], 1, "{path}");
            continue;
        }
        folders.insert(PathBuf::from(f["dir"].as_str().expect("dir")), f);
    }
    let roots: Vec<PathBuf> = archive["roots"]
        .as_array()
        .expect("roots")
        .iter()
        .map(|r| PathBuf::from(r[0].as_str().expect("root")))
        .collect();
    assert_eq!(roots, vec![store.join("mail/archive")]);
    let compressed: Vec<PathBuf> = archive["periods"]
        .as_array()
        .expect("periods")
        .iter()
        .filter(|p| p["compressed"].is_string())
        .map(|p| PathBuf::from(p["path"].as_str().expect("path")))
        .collect();
    let mail_root = PathBuf::from(inv["mail_root"].as_str().expect("mail root"));
    let beside: Vec<PathBuf> = inv["beside"]
        .as_array()
        .expect("beside")
        .iter()
        .map(|b| PathBuf::from(b["path"].as_str().expect("path")))
        .collect();
    let mut beside_files: HashMap<PathBuf, u64> = HashMap::new();

    // What the walk finds, per folder and account, to compare with scan.
    let mut items: HashMap<PathBuf, u64> = HashMap::new();
    let mut ignored: HashMap<PathBuf, BTreeMap<String, u64>> = HashMap::new();
    let mut files: HashMap<PathBuf, BTreeMap<String, u64>> = HashMap::new();
    let mut account_files: HashMap<PathBuf, BTreeMap<String, u64>> = HashMap::new();
    let mut unaccounted = Vec::new();
    let mut total = 0;
    for e in walkdir::WalkDir::new(&store) {
        let e = e.expect("walk");
        if !e.file_type().is_file() {
            continue;
        }
        total += 1;
        let p = e.path().to_path_buf();
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        if compressed.contains(&p) {
            continue; // a compressed archive period, reported unreadable
        }
        if let Some(b) = beside.iter().find(|b| p.starts_with(b)) {
            *beside_files.entry(b.clone()).or_default() += 1;
            continue; // beside the mail (logs, queue, ...), counted, not read
        }
        // The innermost folder holding the file.
        let folder = p
            .ancestors()
            .skip(1)
            .find(|a| folders.contains_key(*a))
            .map(Path::to_path_buf);
        let account = p
            .ancestors()
            .skip(1)
            .find(|a| account_of.contains_key(*a))
            .map(Path::to_path_buf);
        if let Some(fd) = folder {
            let rel = p.strip_prefix(&fd).expect("under");
            let first = rel
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .unwrap_or_default();
            if first == "#msgs" {
                if name.to_ascii_lowercase().ends_with(".eml") {
                    *items.entry(fd).or_default() += 1;
                } else {
                    *ignored.entry(fd).or_default().entry(name).or_default() += 1;
                }
            } else if rel.components().count() == 1 {
                *files.entry(fd).or_default().entry(name).or_default() += 1;
            } else {
                // Inside a system directory of the folder (#assoc): skipped
                // by name in its account's (or the archive's) skip log.
                let skipped = match &account {
                    Some(a) => &account_of[a]["skipped"]["dirs"],
                    None => &archive["skipped"]["dirs"],
                };
                if skipped.get(&first).is_none() {
                    unaccounted.push(p.clone());
                }
            }
            continue;
        }
        if let Some(ad) = account {
            let rel = p.strip_prefix(&ad).expect("under");
            if rel.components().count() == 1 {
                *account_files
                    .entry(ad)
                    .or_default()
                    .entry(name)
                    .or_default() += 1;
            } else {
                let first = rel
                    .components()
                    .next()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .unwrap_or_default();
                if account_of[&ad]["skipped"]["dirs"].get(&first).is_none() {
                    unaccounted.push(p.clone());
                }
            }
            continue;
        }
        if p.parent().and_then(Path::parent) == Some(mail_root.as_path())
            && inv["skipped"]["files"].get(&name).is_some()
        {
            continue; // a file at domain level, skipped by name
        }
        if roots.iter().any(|r| p.starts_with(r))
            && archive["skipped"]["files"].get(&name).is_some()
        {
            continue; // a stray file in the archive, named in its notes
        }
        unaccounted.push(p);
    }
    assert!(
        unaccounted.is_empty(),
        "files scan does not account for: {unaccounted:#?}"
    );
    assert!(total > 300, "{total} files walked");
    for (dir, f) in &folders {
        let n = items.get(dir).copied().unwrap_or(0);
        assert_eq!(Some(n), f["items"].as_u64(), "{}: items", dir.display());
        assert_eq!(
            ignored.get(dir).cloned().unwrap_or_default(),
            counts(&f["ignored_files"]),
            "{}: ignored files in #msgs",
            dir.display()
        );
        assert_eq!(
            files.get(dir).cloned().unwrap_or_default(),
            counts(&f["files"]),
            "{}: files of the folder directory",
            dir.display()
        );
    }
    for b in inv["beside"].as_array().expect("beside") {
        let p = PathBuf::from(b["path"].as_str().expect("path"));
        assert_eq!(
            Some(beside_files.get(&p).copied().unwrap_or(0)),
            b["files"].as_u64(),
            "{}",
            p.display()
        );
    }
    for (dir, a) in &account_of {
        assert_eq!(
            account_files.get(dir).cloned().unwrap_or_default(),
            counts(&a["skipped"]["files"]),
            "{}: per-user files",
            dir.display()
        );
    }
}

#[test]
fn the_archive_is_inventoried_and_migrated_one_folder_per_period_exactly_once() {
    let exp = expected();
    let ea = &exp["archive"];
    let inv = scan_json(&sample(), &[]);
    let a = &inv["archive"];
    assert!(
        a["roots"][0][1]
            .as_str()
            .is_some_and(|h| h.starts_with("mailserver.cfg (table \"Archive\"")),
        "{}",
        a["roots"]
    );
    let periods: BTreeMap<String, &Value> = a["periods"]
        .as_array()
        .expect("periods")
        .iter()
        .map(|p| (p["name"].as_str().expect("name").to_string(), p))
        .collect();
    let ep = ea["periods"].as_object().expect("periods");
    assert_eq!(
        periods.keys().collect::<Vec<_>>(),
        ep.keys().collect::<Vec<_>>()
    );
    for (name, e) in ep {
        let g = periods[name];
        assert_eq!(g["compressed"], e["compressed"], "{name}");
        assert_eq!(g["folders"], e["folders"], "{name}");
        assert_eq!(g["items"], e["items"], "{name}");
        if e["compressed"].is_null() {
            assert_eq!(g["bytes"], e["bytes"], "{name}");
        } else {
            assert_eq!(g["unreadable"], 1, "{name}");
        }
    }
    assert!(inv["notes"].as_array().expect("notes").iter().any(|n| n
        .as_str()
        .is_some_and(|n| n.contains("not migrated; --archive-to"))));

    // Into a store account, beside its own folders.
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("md");
    let args = [
        "--account",
        "alice@example.com",
        "--archive-to",
        "alice@example.com",
    ];
    let (code, r, text) = migrate(&sample(), &out, &args);
    assert_eq!(code, 3, "the compressed period fails the run: {text}");
    let alice = out.join("alice@example.com");
    for (key, f) in ea["folders"].as_object().expect("folders") {
        let fr = folder_report(&r, "alice@example.com", key);
        assert_eq!(fr["counts"]["migrated"], f["items"], "{key}");
        assert_eq!(
            fr["mailbox"].as_str(),
            Some(format!(".{}", f["mailbox"].as_str().expect("mb").replace('/', ".")).as_str()),
            "{key}"
        );
        let src = sample()
            .join("store/mail")
            .join(f["disk_path"].as_str().expect("disk"));
        let on_target = messages(&alice.join(format!(
            ".Archive.{}",
            f["period"].as_str().expect("period")
        )));
        for e in fs::read_dir(src.join("#msgs")).expect("msgs").flatten() {
            let stem = e
                .path()
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            let want = crlf(&fs::read(e.path()).expect("read"));
            let hit: Vec<&PathBuf> = on_target
                .iter()
                .filter(|(_, b)| *b == want)
                .map(|(p, _)| p)
                .collect();
            assert_eq!(
                hit.len(),
                1,
                "{key} {stem}: exactly once in its period's folder"
            );
            assert_eq!(
                Some(mtime(hit[0])),
                f["internal_dates"][stem.as_str()].as_i64(),
                "{key} {stem}: internal date"
            );
        }
    }
    // 2013-01 holds both of its folders (INBOX and Sent Items).
    assert_eq!(maildir_messages(&alice.join(".Archive.2013-01")).len(), 3);
    let bad = folder_report(&r, "alice@example.com", "#archive/2012-11.tar.gz");
    assert_eq!(bad["counts"]["failed"], 1);
    let why = bad["failed"][0]["reason"].as_str().expect("reason");
    assert!(why.contains("compressed archive period (gzip)"), "{why}");
    assert!(
        bad["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("archive/2012-11.tar.gz")),
        "the path is reported: {}",
        bad["notes"]
    );
    // The user's own folders are still there and untouched by the archive.
    assert_eq!(
        folder_report(&r, "alice@example.com", "INBOX")["counts"]["migrated"],
        15
    );

    // A rerun adds nothing.
    let (code, r2, _) = migrate(&sample(), &out, &args);
    assert_eq!(code, 3);
    assert_eq!(r2["totals"]["migrated"], 0);
    assert_eq!(r2["totals"]["already_present"], r["totals"]["migrated"]);

    // Into a new account, keeping the archive's own tree.
    let out2 = tmp.path().join("md2");
    let (code, r, text) = migrate(
        &sample(),
        &out2,
        &[
            "--account",
            "archive@example.com",
            "--archive-to",
            "archive@example.com/Old/Archive",
            "--archive-folders",
            "tree",
        ],
    );
    assert_eq!(code, 3, "{text}");
    assert_eq!(r["accounts"].as_array().expect("accounts").len(), 1);
    let arch = out2.join("archive@example.com");
    assert_eq!(
        maildir_messages(&arch.join(".Old.Archive.2013-01.INBOX")).len(),
        2
    );
    assert_eq!(
        maildir_messages(&arch.join(".Old.Archive.2013-01.Sent Items")).len(),
        1
    );
    assert_eq!(
        maildir_messages(&arch.join(".Old.Archive.2012-12-21")).len(),
        3
    );
    assert!(text.contains("made for the archive"), "{text}");

    // Asked for an archive that is not there: a clear error, nothing done.
    let tmp2 = tempfile::tempdir().expect("tmp");
    let b = StoreBuilder::new(&tmp2.path().join("kerio"));
    b.item(
        "ann@x.test",
        "INBOX",
        "00000001",
        b"Subject: a\r\n\r\nx\r\n",
    );
    let (code, _, text) = migrate(
        &b.install,
        &tmp2.path().join("md"),
        &["--archive-to", "ann@x.test"],
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("no archive found"), "{text}");
    assert!(!tmp2.path().join("md").join("ann@x.test").exists());
}

#[test]
fn groupware_in_a_mail_folder_goes_to_the_exporters_not_to_the_mail_target() {
    let exp = expected();
    let ef = &exp["accounts"]["alice@example.com"]["folders"]["Deleted Items"];
    let not_mail = ef["not_mail"].as_object().expect("not_mail");
    assert_eq!(not_mail.len(), 3);
    let inv = scan_json(&sample(), &["--account", "alice@example.com"]);
    let f = scan_folder(&inv, "alice@example.com", "Deleted Items");
    assert_eq!(
        counts(&f["not_mail"]),
        [("calendar", 1), ("contacts", 1), ("tasks", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    );

    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("md");
    let (code, r, text) = migrate(&sample(), &out, &["--account", "alice@example.com"]);
    assert_eq!(code, 0, "{text}");
    let fr = folder_report(&r, "alice@example.com", "Deleted Items");
    let c = &fr["counts"];
    assert_eq!(c["expected"], 7);
    assert_eq!(c["migrated"], 4);
    assert_eq!(c["skipped"], 3);
    for (stem, kind) in not_mail {
        let kind = kind.as_str().expect("kind");
        let note = fr["skipped"]
            .as_array()
            .expect("skipped")
            .iter()
            .find(|n| n["item"] == stem.as_str())
            .unwrap_or_else(|| panic!("{stem} not skipped"));
        let why = note["reason"].as_str().expect("reason");
        assert!(
            why.starts_with(&format!("not mail: a {kind} item")),
            "{why}"
        );
        let file = if kind == "contacts" { ".vcf" } else { ".ics" };
        assert!(why.contains(file), "{why}");
    }
    let on_target = messages(&out.join("alice@example.com/.Deleted Items"));
    assert_eq!(on_target.len(), 4);
    assert!(
        on_target
            .iter()
            .all(|(_, b)| !b.windows(11).any(|w| w == b"BEGIN:VCARD")
                && !b.windows(15).any(|w| w == b"BEGIN:VCALENDAR")),
        "no groupware sent as mail"
    );

    // The exporters take them.
    let x = tmp.path().join("x");
    let s = sample();
    let s = s.to_str().expect("utf-8");
    let xs = x.to_str().expect("utf-8");
    let (code, _, err) = run(&["contacts", s, "--out", xs, "--account", "alice@example.com"]);
    assert_eq!(code, 0, "{err}");
    let vcf = fs::read_to_string(x.join("alice@example.com/Deleted Items.vcf")).expect("vcf");
    assert_eq!(vcf.matches("BEGIN:VCARD").count(), 1);
    assert!(vcf.contains("FN:Otto Alt"), "{vcf}");
    let (code, _, err) = run(&["calendar", s, "--out", xs, "--account", "alice@example.com"]);
    assert_eq!(code, 0, "{err}");
    let ics = fs::read_to_string(x.join("alice@example.com/Deleted Items.ics")).expect("ics");
    assert!(ics.contains("SUMMARY:Budget review"), "{ics}");
    assert!(
        ics.contains("BEGIN:VTODO") && ics.contains("SUMMARY:Order toner"),
        "{ics}"
    );
}

#[test]
fn deleted_items_with_t0_are_dated_by_their_newest_received() {
    let exp = expected();
    let ef = &exp["accounts"]["alice@example.com"]["folders"]["Deleted Items"];
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("md");
    let (code, r, text) = migrate(&sample(), &out, &["--account", "alice@example.com"]);
    assert_eq!(code, 0, "{text}");
    let fr = folder_report(&r, "alice@example.com", "Deleted Items");
    assert_eq!(
        fr["date_sources"]["Received header (index D is a move time)"], 1,
        "{}",
        fr["date_sources"]
    );
    let src = sample().join("store/mail/example.com/alice/Deleted Items/#msgs/00000007.eml");
    let want = crlf(&fs::read(&src).expect("read"));
    let got = messages(&out.join("alice@example.com/.Deleted Items"))
        .into_iter()
        .find(|(_, b)| *b == want)
        .expect("on target");
    let d = index_of(src.parent().and_then(Path::parent).expect("folder"))[&7].2;
    let t = mtime(&got.0);
    assert_eq!(Some(t), ef["internal_dates"]["00000007"].as_i64());
    assert!(
        t < d - 30 * 86_400,
        "the Received date, not D (40 days later)"
    );
}

#[test]
fn index_bad_empty_index_and_acl_lines() {
    let exp = expected();
    let inv = scan_json(&sample(), &[]);
    let factures = scan_folder(&inv, "bob@example.com", "Factures");
    assert_eq!(factures["has_index"], false);
    assert_eq!(factures["index_source"], "index.bad");
    assert_eq!(factures["index_records"], 2);
    assert_eq!(factures["unindexed"], 0);
    let y2019 = scan_folder(&inv, "carol@example.com", "INBOX/2019");
    assert_eq!(y2019["index_empty"], true);
    assert_eq!(y2019["unindexed"], 3);
    let projects = scan_folder(&inv, "alice@example.com", "INBOX/Projects");
    let acl: Vec<(String, String)> = projects["acl"]
        .as_array()
        .expect("acl")
        .iter()
        .map(|a| {
            (
                a["who"].as_str().expect("who").to_string(),
                a["rights"].as_str().expect("rights").to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = exp["accounts"]["alice@example.com"]["folders"]
        ["INBOX/Projects"]["acl"]
        .as_array()
        .expect("acl")
        .iter()
        .map(|a| {
            (
                a[0].as_str().expect("w").into(),
                a[1].as_str().expect("r").into(),
            )
        })
        .collect();
    assert_eq!(acl, want);
    assert!(acl.contains(&("bob@example.com".into(), "lrsw".into())));
    // ACL lines before the T line do not hide the type.
    let news = scan_folder(&inv, "#public@example.com", "Company News");
    assert_eq!(news["kind"], "mail");
    assert_eq!(news["kind_source"], "status.fld type");
    assert_eq!(news["acl"][0]["who"], "#staff");

    // Flags come from index.bad.
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("md");
    let (code, r, text) = migrate(&sample(), &out, &["--account", "bob@example.com"]);
    assert_eq!(code, 0, "{text}");
    let fr = folder_report(&r, "bob@example.com", "Factures");
    assert!(fr["notes"].as_array().expect("notes").iter().any(|n| n
        .as_str()
        .is_some_and(|n| n.contains("read from index.bad"))));
    let names: Vec<String> = maildir_messages(&out.join("bob@example.com/.Factures"))
        .into_values()
        .map(|p| p.file_name().expect("n").to_string_lossy().into_owned())
        .collect();
    let mut flags: Vec<&str> = names
        .iter()
        .map(|n| n.rsplit_once(":2,").expect("info").1)
        .collect();
    flags.sort_unstable();
    assert_eq!(flags, vec!["", "FS"], "F5 = Seen + Flagged from index.bad");
}

#[test]
fn localized_duplicates_merge_with_a_mapping_and_stay_apart_when_asked() {
    let s = sample();
    let store = s.to_str().expect("utf-8");
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("md");
    let to = format!("maildir:{}", out.display());
    let (code, plan, err) = run(&[
        "plan",
        store,
        "--to",
        "imaps://mail.example.net",
        "--offline",
        "--preset",
        "dovecot",
        "--account",
        "dave@example.org",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        plan.contains("merged: Gesendete Objekte + Sent Items -> Sent ("),
        "{plan}"
    );
    let (code, plan, err) = run(&[
        "plan",
        store,
        "--to",
        &to,
        "--preset",
        "dovecot",
        "--account",
        "dave@example.org",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        plan.contains("merged: Gesendete Objekte + Sent Items -> .Sent"),
        "{plan}"
    );
    let (code, _, text) = migrate(
        &sample(),
        &out,
        &["--preset", "dovecot", "--account", "dave@example.org"],
    );
    assert_eq!(code, 0, "{text}");
    let dave = out.join("dave@example.org");
    assert_eq!(maildir_messages(&dave.join(".Sent")).len(), 2 + 2);
    assert!(!dave.join(".Gesendete Objekte").exists());

    let out2 = tmp.path().join("md2");
    let (code, _, text) = migrate(
        &sample(),
        &out2,
        &[
            "--preset",
            "dovecot",
            "--account",
            "dave@example.org",
            "--keep-localized-folders",
        ],
    );
    assert_eq!(code, 0, "{text}");
    let dave = out2.join("dave@example.org");
    assert_eq!(maildir_messages(&dave.join(".Sent")).len(), 2);
    assert_eq!(maildir_messages(&dave.join(".Gesendete Objekte")).len(), 2);
}

#[test]
fn orphans_builtin_accounts_alias_domains_and_d3s_of_any_length() {
    let inv = scan_json(&sample(), &[]);
    let orphan = inv["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["account"] == "m.mustermann@example.org")
        .expect("orphan scanned");
    assert_eq!(orphan["in_users_cfg"], false);
    assert_eq!(inv["totals"]["orphan_accounts"], 1);
    for a in inv["accounts"].as_array().expect("accounts") {
        if a["account"] != "m.mustermann@example.org" && a["public"] == false {
            assert_eq!(a["in_users_cfg"], true, "{}", a["account"]);
        }
    }

    let s = sample();
    let store = s.to_str().expect("utf-8");
    let (code, csv, err) = run(&["users", store, "--format", "accounts-csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(!csv.contains("Admin@"), "built-in left out: {csv}");
    assert!(
        err.contains("left out 1 built-in account(s): Admin@example.com"),
        "{err}"
    );
    let orphan_row = csv
        .lines()
        .find(|l| l.contains("m.mustermann"))
        .expect("orphan listed");
    assert!(
        orphan_row.starts_with("# m.mustermann@example.org,"),
        "{orphan_row}"
    );
    // As written, the commented row maps no account.
    let rows =
        kerio_migrate::dest::imap::parse_accounts_csv(Path::new("a.csv"), &csv).expect("parse");
    assert!(rows
        .iter()
        .all(|r| !r.source.eq_ignore_ascii_case("m.mustermann@example.org")));
    assert!(rows.iter().any(|r| r.source == "alice@example.com"));
    let (_, csv, _) = run(&[
        "users",
        store,
        "--format",
        "google-csv",
        "--include-builtin",
    ]);
    assert!(csv.contains("Admin@example.com"), "{csv}");

    let (code, aliases, err) = run(&["users", store, "--format", "aliases-csv"]);
    assert_eq!(code, 0, "{err}");
    for a in [
        "alice@example.net",
        "a.anderson@example.net",
        "robert.bernard@example.net",
    ] {
        assert!(
            aliases
                .lines()
                .any(|l| l.starts_with(&format!("{a},")) && l.contains(",alias-domain-address,")),
            "{a}: {aliases}"
        );
    }
    assert!(
        !aliases.contains("@example.net,dave@"),
        "example.org has no alias domain"
    );

    // The 96-digit D3S decrypts; the fake 48-digit ones say why not (exit 3).
    let (code, js, err) = run(&[
        "users",
        store,
        "--format",
        "json",
        "--show-passwords",
        "--decrypt-passwords",
    ]);
    assert_eq!(code, 3, "{err}");
    let j: Value = serde_json::from_str(&js).expect("json");
    let admin = j["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["name"] == "Admin")
        .expect("admin");
    assert_eq!(admin["builtin"], true);
    assert_eq!(admin["password_plain"], "A".repeat(32));
    assert!(
        err.contains("alice@example.com: password cannot decrypt"),
        "{err}"
    );

    // migrate says so for an orphan.
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, r, text) = migrate(
        &sample(),
        &tmp.path().join("md"),
        &["--account", "m.mustermann@example.org"],
    );
    assert_eq!(code, 0, "{text}");
    assert!(r["accounts"][0]["notes"][0].as_str().is_some_and(
        |n| n.starts_with("orphan mailbox: users.cfg has no user m.mustermann@example.org")
    ));
    assert!(text.contains("orphan mailbox"), "{text}");
}

#[test]
fn generated_public_contacts_are_left_out_unless_asked() {
    let exp = expected();
    let gen = exp["accounts"]["#public@example.com"]["folders"]["Contacts"]["generated_contacts"]
        .as_array()
        .expect("generated")
        .len();
    assert_eq!(gen, 3);
    let s = sample();
    let store = s.to_str().expect("utf-8");
    let tmp = tempfile::tempdir().expect("tmp");
    let export = |dir: &str, extra: &[&str]| -> (String, Value) {
        let out = tmp.path().join(dir);
        let report = tmp.path().join(format!("{dir}.json"));
        let mut args = vec![
            "contacts",
            store,
            "--account",
            "#public@example.com",
            "--out",
            out.to_str().expect("utf-8"),
            "--report",
            report.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        (
            fs::read_to_string(out.join("#public@example.com/Contacts.vcf")).expect("vcf"),
            json(&report),
        )
    };
    let (vcf, r) = export("a", &[]);
    assert!(!vcf.contains("FN:Alice Anderson"), "{vcf}");
    assert!(vcf.contains("FN:Example Corp Reception"), "{vcf}");
    let f = &r["accounts"][0]["folders"][0];
    assert_eq!(f["generated"].as_array().expect("generated").len(), gen);
    assert!(f["generated"][0]["reason"]
        .as_str()
        .is_some_and(|w| w.contains("generated by Kerio for the user alice@example.com")));
    assert_eq!(f["exported"], 3);
    let (vcf, r) = export("b", &["--include-generated-contacts"]);
    assert!(vcf.contains("FN:Alice Anderson"), "{vcf}");
    assert_eq!(r["accounts"][0]["folders"][0]["exported"], 6);
}

#[test]
fn recoverable_items_are_skipped_by_default_and_go_to_recovered_when_asked() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, r, text) = migrate(
        &sample(),
        &tmp.path().join("a"),
        &["--account", "alice@example.com"],
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(r["accounts"][0]["skipped_system"]["dirs"]["#deleted"], 1);
    assert!(!tmp.path().join("a/alice@example.com/.Recovered").exists());
    let (code, r, text) = migrate(
        &sample(),
        &tmp.path().join("b"),
        &["--account", "alice@example.com", "--include-recoverable"],
    );
    assert_eq!(code, 0, "{text}");
    let fr = folder_report(&r, "alice@example.com", "#deleted");
    assert_eq!(fr["counts"]["migrated"], 2);
    assert!(
        text.contains("#deleted → "),
        "the report shows where it went: {text}"
    );
    let src = sample().join("store/mail/example.com/alice/#deleted/#msgs");
    let on_target = messages(&tmp.path().join("b/alice@example.com/.Recovered"));
    assert_eq!(on_target.len(), 2);
    for e in fs::read_dir(src).expect("msgs").flatten() {
        let want = crlf(&fs::read(e.path()).expect("read"));
        assert!(
            on_target.iter().any(|(_, b)| *b == want),
            "{}",
            e.path().display()
        );
    }
}

#[test]
fn outlook_connector_time_zones_become_iana_and_x_kerio_stays() {
    let s = sample();
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("x");
    let (code, text, err) = run(&[
        "calendar",
        s.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--account",
        "alice@example.com",
        "--folder",
        "Calendar",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("\"Amsterdam, Belgrade, Berlin, Brussels, Budapest, Madrid, Paris, Prague, Stockholm\" written as IANA \"Europe/Berlin\""),
        "{text}"
    );
    let ics = fs::read_to_string(out.join("alice@example.com/Calendar.ics")).expect("ics");
    let unfolded = ics.replace("\r\n ", "");
    assert!(!unfolded.contains("Amsterdam"), "{ics}");
    assert!(
        unfolded.contains("DTSTART;TZID=Europe/Berlin:20240610T090000"),
        "{ics}"
    );
    assert!(unfolded.contains("X-KERIO-ITEM-ID:0000001F"), "{ics}");
    assert!(
        unfolded.contains("X-KERIO-ORIGINAL-PRODID:Microsoft Outlook 16.0"),
        "{ics}"
    );
}

/// Stores nobody should have, but someone will.
#[test]
fn hostile_stores_are_reported_not_fatal() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = StoreBuilder::new(&tmp.path().join("kerio"));
    let acct = "o'brien+x.y_z@odd.test";
    b.item(
        acct,
        "INBOX",
        "00000001",
        b"From: a@b\r\nSubject: a\r\n\r\nx\r\n",
    );
    // index.bad full of garbage, no index.fld.
    b.item(
        acct,
        "Junk",
        "00000001",
        b"From: a@b\r\nSubject: j\r\n\r\nx\r\n",
    );
    let mut junk = vec![0xffu8, 0x00, b'\n'];
    junk.extend(std::iter::repeat_n(b"U\xff\xfe F zz\n".as_slice(), 20_000).flatten());
    fs::write(b.folder_dir(acct, "Junk").join("index.bad"), &junk).expect("write");
    // A 10 MB status.fld.
    let mut status = b"T0\n".to_vec();
    while status.len() < 10 * 1024 * 1024 {
        status.extend_from_slice(b"Asomeone@odd.test lrswipkxtea\n");
    }
    fs::write(b.folder_dir(acct, "INBOX").join("status.fld"), &status).expect("write");
    // store/archive is a file; a users.cfg that does not know the account.
    fs::write(
        b.install.join("store/archive"),
        b"PK\x03\x04 not a directory",
    )
    .expect("write");
    fs::write(
        b.install.join("users.cfg"),
        "<config><list name=\"User\"><listitem><variable name=\"Name\">ann</variable><variable name=\"Domain\">odd.test</variable></listitem></list></config>",
    )
    .expect("write");
    fs::create_dir_all(b.install.join("store/logs")).expect("mkdir");
    fs::write(b.install.join("store/logs/mail.log"), b"log line\n").expect("write");
    fs::create_dir_all(b.install.join("store/queue/07")).expect("mkdir");
    fs::write(
        b.install.join("store/queue/07/q1.eml"),
        b"Subject: q\r\n\r\n",
    )
    .expect("write");
    let start = std::time::Instant::now();
    let inv = scan_json(&b.install, &[]);
    let beside: Vec<(String, u64)> = inv["beside"]
        .as_array()
        .expect("beside")
        .iter()
        .map(|x| {
            let p = x["path"].as_str().expect("path");
            (
                p.rsplit('/').next().expect("name").to_string(),
                x["files"].as_u64().expect("n"),
            )
        })
        .collect();
    assert_eq!(
        beside,
        vec![
            ("archive".into(), 1),
            ("logs".into(), 1),
            ("queue".into(), 1)
        ]
    );
    assert!(inv["notes"]
        .to_string()
        .contains("not delivered when it stopped are not migrated"));
    assert!(
        start.elapsed().as_secs() < 30,
        "a 10 MB status.fld is read in part"
    );
    let a = &inv["accounts"][0];
    assert_eq!(a["account"], acct);
    assert_eq!(a["in_users_cfg"], false);
    let junk_f = scan_folder(&inv, acct, "Junk");
    assert_eq!(junk_f["index_source"], "index.bad");
    assert_eq!(junk_f["index_records"], 0);
    assert_eq!(junk_f["garbage_lines"], 20_001);
    let inbox = scan_folder(&inv, acct, "INBOX");
    assert_eq!(
        inbox["acl"].as_array().expect("acl").len(),
        1,
        "one who, one entry"
    );
    assert!(inv["archive"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .any(|p| p
            .as_str()
            .is_some_and(|p| p.contains("holds a file, not a directory"))));
    let (code, csv, _) = run(&[
        "users",
        b.install.to_str().expect("utf-8"),
        "--format",
        "accounts-csv",
    ]);
    assert_eq!(code, 0);
    assert!(csv.contains(&format!("# {acct},{acct},")), "{csv}");

    // migrate: everything that can be read arrives; the report says what not.
    let out = tmp.path().join("md");
    let (code, r, text) = migrate(&b.install, &out, &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(r["totals"]["migrated"], 2);
    let notes = folder_report(&r, acct, "INBOX")["notes"].to_string();
    assert!(notes.contains("status.fld is 10"), "{notes}");
    let notes = folder_report(&r, acct, "Junk")["notes"].to_string();
    assert!(
        notes.contains("index.bad: 20001 unparsable line(s) skipped"),
        "{notes}"
    );
    assert!(
        r["notes"]
            .to_string()
            .contains("holds a file, not a directory"),
        "{}",
        r["notes"]
    );

    // --archive-dir pointing at a file: scan reports it, migrate refuses.
    let file = b.install.join("store/archive");
    let inv = scan_json(
        &b.install,
        &["--archive-dir", file.to_str().expect("utf-8")],
    );
    assert!(inv["archive"]["problems"][0]
        .as_str()
        .is_some_and(|p| p.contains("not a directory")));
    let (code, _, text) = migrate(
        &b.install,
        &tmp.path().join("md2"),
        &[
            "--archive-dir",
            file.to_str().expect("utf-8"),
            "--archive-to",
            "ann@odd.test",
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("no archive found") && text.contains("not a directory"),
        "{text}"
    );
}
