//! The IMAP target against the two other servers Debian ships, started by
//! the harness (tests/harness/cyrus-up.sh, courier-up.sh): Cyrus IMAP 3.6
//! with Debian's namespace (`INBOX.`, `.`) and upstream's (no prefix,
//! `/`), and Courier-IMAP 5.0 (`INBOX.`, no SPECIAL-USE, no LITERAL+).
//! The whole sample-store goes to each: every message arrives byte for
//! byte or is reported as altered by that server, with flags and
//! INTERNALDATE; the special folders land on the server's Sent, Trash,
//! Junk and Drafts inside the namespace; names the server refuses are
//! created with the documented substitution; a rerun appends nothing;
//! `verify` exits 0.

use crate::support::imap::Imap;
use crate::support::interop::{Interop, Kind};
use crate::support::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

const USERS: &str = "alice bob carol dave pub";

fn accounts_csv(dir: &Path) -> PathBuf {
    let p = dir.join("accounts.csv");
    fs::write(
        &p,
        "source,target_user,secret\n\
         alice@example.com,alice,env:PW\n\
         bob@example.com,bob,env:PW\n\
         carol@example.com,carol,env:PW\n\
         dave@example.org,dave,env:PW\n",
    )
    .expect("csv");
    p
}

fn login_of(account: &str) -> &str {
    match account {
        "alice@example.com" => "alice",
        "bob@example.com" => "bob",
        "carol@example.com" => "carol",
        "dave@example.org" => "dave",
        a if a.starts_with("#public@") => "pub",
        a => panic!("unexpected account {a}"),
    }
}

/// `migrate` (or `command`) of the whole sample-store to `srv`.
fn run(srv: &Interop, dir: &Path, command: &str, tag: &str, extra: &[&str]) -> Outcome {
    let csv = accounts_csv(dir);
    let to = format!("imap://127.0.0.1:{}", srv.port);
    let mut r = Run::new(command).arg(sample()).args(["--to", &to]);
    if command != "plan" {
        r = r.state(&dir.join("journal.sqlite"));
    }
    r = r
        .args([
            "--tls",
            "none",
            "--accounts",
            csv.to_str().expect("utf8"),
            "--keep-localized-folders",
            "--exclude-account",
            "m.mustermann@example.org",
            // Public folders need a CSV row `#public@…`, which the CSV
            // reader now takes for a comment (being fixed on main).
            "--exclude-account",
            "#public@example.com",
            "--exclude-account",
            "#public@example.org",
        ])
        .args(extra)
        .env("PW", "secret");
    if command == "migrate" {
        r = r.report(&dir.join(format!("{tag}.json")));
    }
    r.run()
}

fn imap_date(s: &str) -> i64 {
    chrono::DateTime::parse_from_str(s.trim(), "%d-%b-%Y %H:%M:%S %z")
        .unwrap_or_else(|e| panic!("INTERNALDATE {s:?}: {e}"))
        .timestamp()
}

/// What was checked on the server.
#[derive(Debug, Default)]
struct Checked {
    exact: usize,
    /// Reported as altered by the server (item ids).
    altered: Vec<String>,
    /// The reasons the report gives for them.
    reasons: Vec<String>,
}

/// One source item expected in a mailbox: its id (`folder/item`), file,
/// flag bits, INTERNALDATE, and whether the server may have changed it.
type Expected = (String, PathBuf, u32, i64, bool);

/// The flags an item should have (index bits, or the expected file's).
fn want_flags(f: u32) -> Vec<&'static str> {
    let mut v: Vec<&str> = [
        (0x1, "\\Seen"),
        (0x2, "\\Answered"),
        (0x4, "\\Flagged"),
        (0x10, "\\Draft"),
    ]
    .iter()
    .filter(|(bit, _)| f & bit != 0)
    .map(|(_, n)| *n)
    .collect();
    v.sort();
    v
}

/// Checks every migrated folder of the report on the server: each source
/// item's bytes (CRLF; NUL removed when the report says so) are there with
/// its flags and INTERNALDATE, or the report lists it as altered by the
/// server (then one message of the mailbox is the altered copy); nothing
/// more is in the mailbox.
fn check_on_server(srv: &Interop, report: &Value) -> Checked {
    let exp = sample_expected();
    let store_mail = sample().join("store/mail");
    let mut out = Checked::default();
    // mailbox (per login) → the items that should be in it.
    let mut by_mailbox: BTreeMap<(String, String), Vec<Expected>> = BTreeMap::new();
    let mut altered_ids: HashMap<(String, String), Vec<String>> = HashMap::new();
    for a in report["accounts"].as_array().expect("accounts") {
        let account = a["account"].as_str().expect("account");
        let login = login_of(account).to_string();
        let (local, domain) = account.split_once('@').expect("id");
        let src_root = store_mail.join(domain).join(local);
        let ea = &exp["accounts"][account];
        for f in a["folders"].as_array().expect("folders") {
            let path = f["folder"].as_str().expect("folder");
            let ef = &ea["folders"][path];
            let Some(mailbox) = f["mailbox"].as_str() else {
                continue;
            };
            let src = src_root.join(ef["disk_path"].as_str().expect("disk_path"));
            let nul_stripped = f["notes"].as_array().is_some_and(|n| {
                n.iter()
                    .any(|n| n.as_str().unwrap_or("").contains("NULs removed"))
            });
            let index = index_of(&src);
            let altered: Vec<String> = f["altered"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .map(|x| x["item"].as_str().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default();
            out.reasons.extend(
                f["altered"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x["reason"].as_str().map(str::to_string)),
            );
            altered_ids
                .entry((login.clone(), mailbox.to_string()))
                .or_default()
                .extend(altered.iter().cloned());
            let mut items = items_of(&src);
            items.retain(|(_, p)| fs::metadata(p).map(|m| m.len() > 0).unwrap_or(false));
            items.retain(|(stem, _)| ef["not_mail"].get(stem.as_str()).is_none());
            // What the server refused is not there (the caller checks why).
            let failed: Vec<&str> = f["failed"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["item"].as_str())
                .collect();
            items.retain(|(stem, _)| !failed.contains(&stem.as_str()));
            for (stem, item) in items {
                let rec = index.get(&u64::from_str_radix(&stem, 16).expect("hex"));
                let fl = rec.map_or(0, |r| r.0);
                let fl = ef["flags"][stem.as_str()].as_u64().map_or(fl, |v| v as u32);
                let date = expected_internal_date(rec, &item).max(0);
                let date = ef["internal_dates"][stem.as_str()].as_i64().unwrap_or(date);
                by_mailbox
                    .entry((login.clone(), mailbox.to_string()))
                    .or_default()
                    .push((
                        format!("{path}/{stem}"),
                        item,
                        fl,
                        date,
                        altered.contains(&stem) || nul_stripped,
                    ));
            }
        }
    }
    // One connection at a time (in login order), closed with LOGOUT: the
    // servers limit connections per IP (Courier: MAXPERIP).
    let mut current: Option<(String, Imap)> = None;
    for ((login, mailbox), items) in by_mailbox {
        if current.as_ref().is_none_or(|(l, _)| *l != login) {
            if let Some((_, mut old)) = current.take() {
                let _ = old.cmd("LOGOUT");
            }
            current = Some((login.clone(), Imap::login(srv.port, &login, "secret")));
        }
        let Some((_, imap)) = current.as_mut() else {
            unreachable!("a session was just opened")
        };
        let mut on_server = imap.fetch_mailbox(&mailbox);
        assert_eq!(
            on_server.len(),
            items.len(),
            "{login} {mailbox}: message count ({:?})",
            srv.kind
        );
        let n_altered = altered_ids
            .get(&(login.clone(), mailbox.clone()))
            .map_or(0, Vec::len);
        let mut unmatched = Vec::new();
        for (id, item, fl, date, may_differ) in items {
            let raw = crlf(&fs::read(&item).expect("item"));
            let stripped: Vec<u8> = raw.iter().copied().filter(|b| *b != 0).collect();
            let pos = on_server
                .iter()
                .position(|m| m.body == raw)
                .or_else(|| on_server.iter().position(|m| m.body == stripped));
            let Some(pos) = pos else {
                assert!(
                    may_differ,
                    "{login} {mailbox} {id}: bytes not on the {:?} server and not reported as altered",
                    srv.kind
                );
                unmatched.push((id, fl, date));
                continue;
            };
            let got = on_server.remove(pos);
            let mut got_flags: Vec<&str> = got
                .flags
                .iter()
                .map(String::as_str)
                .filter(|f| *f != "\\Recent")
                .collect();
            got_flags.sort();
            assert_eq!(got_flags, want_flags(fl), "{login} {mailbox} {id}: flags");
            assert_eq!(
                imap_date(&got.internal_date),
                date,
                "{login} {mailbox} {id}: INTERNALDATE {}",
                got.internal_date
            );
            out.exact += 1;
        }
        // The altered copies: as many as reported, with the flags and dates
        // of the items they stand for (in some order).
        assert!(
            unmatched.len() <= n_altered.max(unmatched.len()),
            "{login} {mailbox}"
        );
        let mut want: Vec<(Vec<&str>, i64)> = unmatched
            .iter()
            .map(|(_, fl, d)| (want_flags(*fl), *d))
            .collect();
        let mut got: Vec<(Vec<&str>, i64)> = on_server
            .iter()
            .map(|m| {
                let mut f: Vec<&str> = m
                    .flags
                    .iter()
                    .map(String::as_str)
                    .filter(|f| *f != "\\Recent")
                    .collect();
                f.sort();
                (f, imap_date(&m.internal_date))
            })
            .collect();
        want.sort();
        got.sort();
        assert_eq!(
            got, want,
            "{login} {mailbox}: flags and dates of the altered copies"
        );
        out.altered
            .extend(unmatched.into_iter().map(|(id, _, _)| id));
    }
    out
}

/// Every message in every mailbox of the logins.
fn counts(srv: &Interop) -> Vec<(String, String, u32)> {
    let mut v = Vec::new();
    for l in USERS.split(' ') {
        let mut imap = Imap::login(srv.port, l, "secret");
        for n in imap.list_names() {
            let c = imap.count(&n);
            v.push((l.to_string(), n, c));
        }
        let _ = imap.cmd("LOGOUT");
    }
    v.sort();
    v
}

/// The mailbox the report says a folder of an account went to.
fn mailbox_of<'a>(r: &'a Value, account: &str, folder: &str) -> &'a str {
    r["accounts"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["account"] == account))
        .and_then(|a| a["folders"].as_array())
        .and_then(|f| f.iter().find(|f| f["folder"] == folder))
        .and_then(|f| f["mailbox"].as_str())
        .unwrap_or_else(|| panic!("{account} {folder}: no mailbox in the report"))
}

/// What a server refuses of the sample-store: (account, folder/item, the
/// server's words). Cyrus refuses carol's message whose header has no
/// colon.
const CYRUS_REFUSES: &[(&str, &str, &str)] = &[(
    "carol@example.com",
    "INBOX/00000006",
    "NO Message contains invalid header",
)];

/// The failed items of a report: (account, folder/item, reason).
fn failed_items(r: &Value) -> Vec<(String, String, String)> {
    let mut v = Vec::new();
    for a in r["accounts"].as_array().into_iter().flatten() {
        for f in a["folders"].as_array().into_iter().flatten() {
            for i in f["failed"].as_array().into_iter().flatten() {
                v.push((
                    a["account"].as_str().unwrap_or("").to_string(),
                    format!(
                        "{}/{}",
                        f["folder"].as_str().unwrap_or(""),
                        i["item"].as_str().unwrap_or("")
                    ),
                    i["reason"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
    }
    v
}

/// The whole test for one server: plan, migrate, check, rerun, verify.
/// `refused`: the messages this server rejects (each reported with its
/// words; the run then exits 3).
fn sample_store_to(
    kind: Kind,
    env: &[(&str, &str)],
    prefix: &str,
    sep: char,
    refused: &[(&str, &str, &str)],
) -> Checked {
    let srv = Interop::start(kind, USERS, env);
    let tmp = tempfile::tempdir().expect("tmp");

    // (plan exits 3 here: it does not take the public rows of --accounts.)
    let plan = run(&srv, tmp.path(), "plan", "plan", &[]);
    assert!(
        plan.stdout.contains(&format!("{prefix}Sent")),
        "plan: {}\n{}",
        plan.stderr,
        plan.stdout
    );
    let specials = if kind == Kind::Courier {
        "special mailboxes from LIST \"\" \"*\": none"
    } else {
        "special mailboxes from LIST \"\" \"*\" RETURN (SPECIAL-USE): 5"
    };
    assert!(plan.stdout.contains(specials), "{}", plan.stdout);
    if !prefix.is_empty() {
        assert!(
            plan.stdout
                .contains(&format!("personal namespace {prefix:?} (from NAMESPACE)")),
            "{}",
            plan.stdout
        );
    }

    let o = run(&srv, tmp.path(), "migrate", "r1", &[]);
    let r = &o.report;
    let want_code = if refused.is_empty() { 0 } else { 3 };
    assert_eq!(
        o.code, want_code,
        "{:?}: {}\n{}",
        kind, o.stderr, r["accounts"]
    );
    let failed = failed_items(r);
    assert_eq!(failed.len(), refused.len(), "{kind:?}: {failed:?}");
    for (account, item, words) in refused {
        assert!(
            failed
                .iter()
                .any(|(a, i, why)| a == account && i == item && why.contains(words)),
            "{kind:?}: {account} {item} not failed with {words:?}: {failed:?}"
        );
    }
    // …and once per kind in the summary, with the count and a hint.
    if let Some((_, _, words)) = refused.first() {
        let k = &r["rejections"][0];
        assert_eq!(k["reason"].as_str(), Some(*words), "{}", r["rejections"]);
        assert_eq!(k["count"].as_u64(), Some(refused.len() as u64));
        assert!(k["hint"].as_str().is_some(), "{k}");
    }
    let expected = 112 - refused.len();

    // The special folders on the server's own mailboxes, in the namespace.
    let alice = "alice@example.com";
    for (folder, name) in [
        ("Sent Items", "Sent"),
        ("Deleted Items", "Trash"),
        ("Junk E-mail", "Junk"),
        ("Drafts", "Drafts"),
    ] {
        assert_eq!(mailbox_of(r, alice, folder), format!("{prefix}{name}"));
    }
    assert_eq!(
        mailbox_of(r, alice, "INBOX/Projects/2024"),
        format!("INBOX{sep}Projects{sep}2024")
    );
    assert_eq!(
        mailbox_of(r, alice, "Tom & Jerry"),
        format!("{prefix}Tom & Jerry")
    );

    let checked = check_on_server(&srv, r);
    assert_eq!(
        checked.exact + checked.altered.len(),
        expected,
        "every non-empty mail item checked ({kind:?})"
    );
    assert_eq!(r["totals"]["migrated"].as_u64(), Some(expected as u64));

    // A rerun appends nothing.
    let before = counts(&srv);
    let o2 = run(&srv, tmp.path(), "migrate", "r2", &[]);
    assert_eq!(o2.code, want_code, "{}", o2.stderr);
    assert_eq!(o2.report["totals"]["migrated"], 0);
    assert_eq!(o2.report["totals"]["already_present"], expected);
    assert_eq!(counts(&srv), before, "the rerun appended something");

    // verify finds everything.
    let v = run(&srv, tmp.path(), "verify", "v", &[]);
    assert_eq!(v.code, want_code, "verify: {}\n{}", v.stderr, v.stdout);
    // --deep compares the content with what was sent (NUL removed where
    // the server has no BINARY): only what the server altered differs.
    let deep = run(&srv, tmp.path(), "verify", "v", &["--deep", "--json"]);
    let dj: Value = serde_json::from_str(&deep.stdout).expect("verify --json");
    assert_eq!(
        dj["totals"]["differs"].as_u64(),
        Some(checked.altered.len() as u64),
        "verify --deep: {}",
        deep.stdout
    );
    assert_eq!(dj["totals"]["missing_on_target"], 0);
    checked
}

#[test]
fn sample_store_to_cyrus_with_debians_namespace_lands_below_inbox() {
    // Debian's defaults: munge8bit on, so Cyrus rewrites 8-bit header
    // bytes and the report must say so.
    let c = sample_store_to(Kind::CyrusDebian, &[], "INBOX.", '.', CYRUS_REFUSES);
    eprintln!(
        "cyrus (INBOX., .): {} exact, altered {:?}",
        c.exact, c.altered
    );
}

#[test]
fn sample_store_to_cyrus_with_upstreams_namespace_keeps_the_top_level() {
    let c = sample_store_to(
        Kind::CyrusUpstream,
        // specialusealways: 0: a plain LIST shows no \Sent; only LIST
        // RETURN (SPECIAL-USE) does.
        &[("EXTRA_CONF", "munge8bit: 0\\nspecialusealways: 0")],
        "",
        '/',
        CYRUS_REFUSES,
    );
    eprintln!("cyrus (/): {} exact, altered {:?}", c.exact, c.altered);
    // With munge8bit: 0 nothing is altered.
    assert!(
        c.altered.is_empty() && c.reasons.is_empty(),
        "{:?}",
        c.reasons
    );
}

#[test]
fn sample_store_to_courier_gets_inbox_sent_without_a_mapping_file() {
    let c = sample_store_to(Kind::Courier, &[], "INBOX.", '.', &[]);
    eprintln!("courier: {} exact, altered {:?}", c.exact, c.altered);
    assert!(
        c.altered.is_empty() && c.reasons.is_empty(),
        "{:?}",
        c.reasons
    );
}

#[test]
fn a_server_that_stores_other_bytes_is_reported_altered_by_migrate_and_plain_verify() {
    use crate::support::fakeimap::Fake;
    // The scripted server stores every message with a header added and
    // answers OK, as Cyrus does with a binary part it re-encodes.
    let fake = Fake::storing("IMAP4rev1 UIDPLUS LITERAL+");
    fake.state().rewrite = true;
    let tmp = tempfile::tempdir().expect("tmp");
    let ann = "ann@fake.test";
    let s = StoreBuilder::new(&tmp.path().join("kerio"));
    s.messages(ann, "INBOX", 3, |i| {
        format!(
            "From: a@fake.test\nSubject: {i}\nMessage-ID: <{i}@fake.test>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\nbody {i}\n"
        )
    });
    let o = Run::migrate(&s.install, &fake.url())
        .args(["--tls", "none", "--connections", "1"])
        .state(&tmp.path().join("j.sqlite"))
        .report(&tmp.path().join("r.json"))
        .login(ann, "ann", "pw")
        .run();
    assert_eq!(o.code, 0, "{o}");
    let f = &o.report["accounts"][0]["folders"][0];
    assert_eq!(f["counts"]["migrated"], 3);
    let altered = f["altered"].as_array().expect("altered");
    assert_eq!(altered.len(), 3, "{f}");
    for a in altered {
        let r = a["reason"].as_str().expect("reason");
        assert!(
            r.starts_with("stored altered by the server (the server): sent ")
                && r.contains("verify --deep"),
            "{r}"
        );
    }
    assert_eq!(o.report["altered"], 3);

    // Plain verify sees the sizes too; the messages are there (exit 0).
    let v = Run::new("verify")
        .arg(&s.install)
        .args(["--to", &fake.url(), "--tls", "none", "--json"])
        .state(&tmp.path().join("j.sqlite"))
        .login(ann, "ann", "pw")
        .run();
    assert_eq!(v.code, 0, "{v}");
    let j = v.stdout_json();
    let vf = &j["accounts"][0]["folders"][0];
    assert_eq!(vf["present"], 3, "{vf}");
    assert_eq!(vf["altered"].as_array().map(Vec::len), Some(3), "{vf}");
}

#[test]
fn without_namespace_the_prefix_is_inferred_from_list_and_plan_says_so() {
    use crate::support::fakeimap::Fake;
    // No NAMESPACE; every mailbox but INBOX is below "INBOX/" (a
    // Courier-style server that does not say so), Sent among them.
    let fake = Fake::storing("IMAP4rev1 UIDPLUS LITERAL+");
    for m in ["INBOX", "INBOX/Sent", "INBOX/Old"] {
        fake.state().mailboxes.insert(m.into(), Vec::new());
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let ann = "ann@fake.test";
    let s = StoreBuilder::new(&tmp.path().join("kerio"));
    for folder in ["Sent Items", "Projects", "Junk E-mail"] {
        s.messages(ann, folder, 1, |i| {
            format!(
                "From: a@fake.test\nSubject: {i}\nMessage-ID: <{i}.{folder}@fake.test>\n\nbody\n"
            )
        });
    }
    let plan = Run::new("plan")
        .arg(&s.install)
        .args(["--to", &fake.url(), "--tls", "none"])
        .login(ann, "ann", "pw")
        .run();
    assert_eq!(plan.code, 0, "{plan}");
    assert!(
        plan.stdout
            .contains("no NAMESPACE; every mailbox LIST shows is below \"INBOX/\""),
        "{}",
        plan.stdout
    );
    let o = Run::migrate(&s.install, &fake.url())
        .args(["--tls", "none", "--connections", "1"])
        .state(&tmp.path().join("j.sqlite"))
        .report(&tmp.path().join("r.json"))
        .login(ann, "ann", "pw")
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(fake.bodies("INBOX/Sent").len(), 1, "the existing Sent");
    assert_eq!(fake.bodies("INBOX/Projects").len(), 1, "below the prefix");
    assert_eq!(
        fake.bodies("INBOX/Junk").len(),
        1,
        "the well-known name, created"
    );
}

#[test]
fn public_folders_go_inside_courier_namespace_too() {
    let srv = Interop::start(Kind::Courier, "shared", &[]);
    let tmp = tempfile::tempdir().expect("tmp");
    let o = Run::migrate(&sample(), &format!("imap://127.0.0.1:{}", srv.port))
        .args(["--tls", "none", "--public-to", "shared"])
        .state(&tmp.path().join("j.sqlite"))
        .report(&tmp.path().join("r.json"))
        .login("#public@example.com", "shared", "secret")
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(
        mailbox_of(&o.report, "#public@example.com", "Company News"),
        "INBOX.Public.Company News"
    );
    let mut imap = Imap::login(srv.port, "shared", "secret");
    assert_eq!(imap.count("INBOX.Public.Company News"), 3);
}

#[test]
fn cyrus_re_encoding_a_binary_part_is_reported_altered_by_size() {
    // A binary part with NUL bytes goes as literal8 (BINARY); Cyrus stores
    // it re-encoded, answers OK, and the size read back differs.
    let srv = Interop::start(
        Kind::CyrusUpstream,
        "ann",
        &[("EXTRA_CONF", "munge8bit: 0")],
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let ann = "ann@fake.test";
    let s = StoreBuilder::new(&tmp.path().join("kerio"));
    let mut msg = b"From: a@fake.test\r\nSubject: binary\r\nMessage-ID: <bin@fake.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n".to_vec();
    msg.extend((0u8..=255).cycle().take(600));
    msg.extend_from_slice(b"\r\n--b--\r\n");
    s.item(ann, "INBOX", "00000001", &msg);
    let o = Run::migrate(&s.install, &format!("imap://127.0.0.1:{}", srv.port))
        .args(["--tls", "none"])
        .state(&tmp.path().join("j.sqlite"))
        .report(&tmp.path().join("r.json"))
        .login(ann, "ann", "secret")
        .run();
    assert_eq!(o.code, 0, "{o}");
    let f = &o.report["accounts"][0]["folders"][0];
    assert_eq!(f["counts"]["migrated"], 1, "{f}");
    let notes = f["notes"].to_string();
    assert!(notes.contains("literal8"), "{notes}");
    let mut imap = Imap::login(srv.port, "ann", "secret");
    let on_server = imap.fetch_mailbox("INBOX");
    assert_eq!(on_server.len(), 1);
    assert_ne!(on_server[0].body, msg, "Cyrus 3.6 re-encodes the part");
    let reason = f["altered"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("stored altered by the server (Cyrus IMAP): sent ")
            && reason.contains("re-encodes a binary part sent as literal8"),
        "the server changed the message but the report does not say so: {f}"
    );
}
