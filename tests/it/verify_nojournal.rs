//! `verify --no-journal` against a private Dovecot: a mailbox filled by
//! another tool (mbsync, from the real corpus) is checked against the store
//! by content, and exactly the messages it dropped are named; our own
//! migration with its journal deleted checks clean; two messages with the
//! same Message-ID and size are told apart by their bytes; messages on the
//! target that no source item accounts for are extra, not present.

use crate::support::dovecot::Dovecot;
use crate::support::imap::Imap;
use crate::support::store::{index_line, StoreBuilder};
use crate::support::*;
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::Path;

const ACCOUNT: &str = "bob@example.com";

fn login(account: &str, user: &str) -> Vec<String> {
    [
        "--tls",
        "none",
        "--account",
        account,
        "--user",
        user,
        "--password-env",
        "PW",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Bob's INBOX with the messages `bodies` (item `i` is `bodies[i]`).
fn store(dir: &Path, bodies: &[String]) -> StoreBuilder {
    let store = StoreBuilder::new(&dir.join("kerio"));
    let items = store.messages(ACCOUNT, "INBOX", bodies.len(), |i| bodies[i].clone());
    let lines: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, (id, size))| {
            index_line(id, 0, *size, 0x5a4a0000, 0x5a4a0000 + i as i64, 0x5a4a0000)
        })
        .collect();
    store.index(ACCOUNT, "INBOX", &lines);
    store
}

fn message(i: usize, body: &str) -> String {
    format!(
        "From: x@gen.test\nTo: {ACCOUNT}\nSubject: message {i}\nMessage-ID: <{i}.nj@gen.test>\nDate: Mon, 1 Jan 2018 10:{i:02}:00 +0000\n\n{body}\n"
    )
}

fn migrate(store: &Path, to: &str, journal: &Path) {
    let o = Run::migrate(store, to)
        .state(journal)
        .args(login(ACCOUNT, "bob"))
        .env("PW", "secret")
        .run();
    assert_eq!(o.code, 0, "{o}");
}

fn verify_no_journal(store: &Path, to: &str, account: &str, user: &str, csv: &Path) -> Outcome {
    Run::new("verify")
        .arg(store)
        .args(["--to", to, "--no-journal", "--json"])
        .arg("--csv")
        .arg(csv)
        .args(login(account, user))
        .env("PW", "secret")
        .run()
}

fn folder<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["accounts"][0]["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .find(|f| f["folder"] == name)
        .expect("folder")
}

/// Deletes (and expunges) the messages of `mailbox` whose bytes contain `needle`.
fn expunge_containing(c: &mut Imap, mailbox: &str, needle: &[u8]) -> usize {
    let uids: Vec<u32> = c
        .fetch_all(mailbox)
        .into_iter()
        .filter(|m| m.body.windows(needle.len()).any(|w| w == needle))
        .map(|m| m.uid)
        .collect();
    let (_, s) = c.cmd(&format!("SELECT {mailbox}"));
    assert!(s.starts_with("OK"), "{s}");
    for uid in &uids {
        let (_, s) = c.cmd(&format!("UID STORE {uid} +FLAGS (\\Deleted)"));
        assert!(s.starts_with("OK"), "{s}");
    }
    let (_, s) = c.cmd("EXPUNGE");
    assert!(s.starts_with("OK"), "{s}");
    uids.len()
}

#[test]
fn our_own_migration_without_its_journal_checks_clean() {
    let dc = Dovecot::start(&[("USERS", "bob"), ("MAIL_FORMAT", "mdbox")]);
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let bodies: Vec<String> = (0..6).map(|i| message(i, &format!("body {i}"))).collect();
    let st = store(tmp.path(), &bodies);
    let journal = tmp.path().join("journal.sqlite");
    migrate(&st.install, &to, &journal);
    fs::remove_file(&journal).expect("rm journal");
    let o = verify_no_journal(&st.install, &to, ACCOUNT, "bob", &tmp.path().join("v.csv"));
    assert_eq!(o.code, 0, "{o}");
    let v = o.stdout_json();
    assert_eq!(v["totals"]["source_items"], 6, "{v}");
    assert_eq!(v["totals"]["present"], 6, "{v}");
    assert_eq!(v["totals"]["extra"], 0, "{v}");
    assert!(!journal.exists(), "verify --no-journal wrote no journal");
}

#[test]
fn twins_by_message_id_and_size_are_told_apart_by_their_bytes() {
    let dc = Dovecot::start(&[("USERS", "bob"), ("MAIL_FORMAT", "mdbox")]);
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    // Same headers (one Message-ID), same size, other bodies.
    let bodies = vec![
        message(1, "AAAA twin"),
        message(1, "BBBB twin"),
        message(2, "other"),
    ];
    let st = store(tmp.path(), &bodies);
    migrate(&st.install, &to, &tmp.path().join("journal.sqlite"));
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    assert_eq!(expunge_containing(&mut c, "INBOX", b"AAAA twin"), 1);
    let csv = tmp.path().join("v.csv");
    let o = verify_no_journal(&st.install, &to, ACCOUNT, "bob", &csv);
    assert_eq!(o.code, 3, "{o}");
    let v = o.stdout_json();
    let f = folder(&v, "INBOX");
    assert_eq!(
        f["missing_on_target"],
        serde_json::json!(["00000001"]),
        "{v}"
    );
    assert_eq!(f["present"], 2, "{v}");
    assert_eq!(f["named"][0]["message_id"], "<1.nj@gen.test>", "{v}");
    let csv = fs::read_to_string(&csv).expect("csv");
    assert!(csv.contains("00000001.eml"), "{csv}");
}

#[test]
fn messages_no_source_item_accounts_for_are_extra_not_present() {
    let dc = Dovecot::start(&[("USERS", "bob"), ("MAIL_FORMAT", "mdbox")]);
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let bodies: Vec<String> = (0..4).map(|i| message(i, &format!("body {i}"))).collect();
    let full = store(&tmp.path().join("full"), &bodies);
    migrate(&full.install, &to, &tmp.path().join("journal.sqlite"));
    // A store with one message less (as if it arrived elsewhere).
    let st = store(&tmp.path().join("fewer"), &bodies[..3]);
    let o = verify_no_journal(&st.install, &to, ACCOUNT, "bob", &tmp.path().join("v.csv"));
    assert_eq!(o.code, 3, "{o}");
    let v = o.stdout_json();
    let f = folder(&v, "INBOX");
    assert_eq!(f["source_items"], 3, "{v}");
    assert_eq!(f["present"], 3, "{v}");
    assert_eq!(v["totals"]["extra"], 1, "{v}");
    assert_eq!(f["missing_on_target"], serde_json::json!([]), "{v}");
}

/// The Message-ID of a message's header (unfolded, without `<>`), read
/// here independently of the tool.
fn header_mid(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let head = text
        .split("\r\n\r\n")
        .next()?
        .split("\n\n")
        .next()?
        .to_string();
    let unfolded = head
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ")
        .replace("\n ", " ")
        .replace("\n\t", " ");
    unfolded.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("message-id").then(|| {
            value
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

#[test]
fn a_mailbox_filled_by_mbsync_is_checked_and_its_dropped_messages_named() {
    let Some(fixtures) = corpus_dir("verify_nojournal mbsync", "fixtures") else {
        return;
    };
    if std::process::Command::new("mbsync")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED verify_nojournal mbsync: mbsync not installed");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let w = tmp.path();
    let made = std::process::Command::new("python3")
        .arg(root().join("bench/make-store.py"))
        .arg(&fixtures)
        .arg(w.join("kerio"))
        .arg("1")
        .output()
        .expect("make-store.py");
    assert!(made.status.success(), "{made:?}");
    // Our own Maildir export, pushed by mbsync (as bench/run.sh does).
    let o = Run::migrate_to_maildir(&w.join("kerio"), &w.join("md")).run();
    assert_eq!(o.code, 0, "{o}");
    fs::create_dir_all(w.join("mbsrc")).expect("mkdir");
    fs::rename(
        w.join("md/bench@corpus.test/.Corpus-1"),
        w.join("mbsrc/Corpus-1"),
    )
    .expect("mv");
    let dc = Dovecot::start(&[("USERS", "bench"), ("MAIL_FORMAT", "mdbox")]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let rc = format!(
        "IMAPAccount a\nHost 127.0.0.1\nPort {}\nUser bench\nPass secret\nAuthMechs LOGIN PLAIN\nSSLType None\n\n\
         IMAPStore remote\nAccount a\n\nMaildirStore local\nPath {p}/mbsrc/\nInbox {p}/mbsrc/INBOX\nSubFolders Verbatim\n\n\
         Channel upload\nFar :remote:\nNear :local:\nPatterns \"Corpus-1\"\nCreate Far\nSync Push\nExpunge None\nSyncState {p}/\n",
        dc.imap_port,
        p = w.display()
    );
    fs::write(w.join("mbsyncrc"), rc).expect("rc");
    let mb = std::process::Command::new("mbsync")
        .arg("-c")
        .arg(w.join("mbsyncrc"))
        .arg("upload")
        .output()
        .expect("mbsync");
    assert!(mb.status.success(), "{mb:?}");

    // Independently: Message-IDs in the store and on the server.
    let mut c = Imap::login(dc.imap_port, "bench", "secret");
    let mut on_server: HashMap<Option<String>, usize> = HashMap::new();
    for m in c.fetch_all("Corpus-1") {
        *on_server.entry(header_mid(&m.body)).or_default() += 1;
    }
    let folder_dir = w.join("kerio/store/mail/corpus.test/bench/Corpus-1");
    let mut in_store: HashMap<Option<String>, usize> = HashMap::new();
    let mut absent: BTreeSet<String> = BTreeSet::new();
    let mut source = 0;
    for (id, path) in items_of(&folder_dir) {
        let bytes = fs::read(&path).expect("item");
        let mid = header_mid(&crlf(&bytes));
        if mid.is_some() && !on_server.contains_key(&mid) {
            absent.insert(id.clone());
        }
        *in_store.entry(mid).or_default() += 1;
        source += 1;
    }
    let server_total: usize = on_server.values().sum();
    assert!(
        server_total < source,
        "mbsync dropped nothing: the test proves nothing"
    );

    let csv = w.join("v.csv");
    let o = verify_no_journal(
        &w.join("kerio"),
        &format!("imap://127.0.0.1:{}", dc.imap_port),
        "bench@corpus.test",
        "bench",
        &csv,
    );
    assert_eq!(o.code, 3, "{o}");
    let v = o.stdout_json();
    let f = folder(&v, "Corpus-1");
    let missing: BTreeSet<String> = f["missing_on_target"]
        .as_array()
        .expect("missing")
        .iter()
        .map(|x| x.as_str().expect("id").to_string())
        .collect();
    assert_eq!(f["source_items"], source, "{v}");
    assert_eq!(missing.len(), source - server_total, "{v}");
    assert_eq!(v["totals"]["extra"], 0, "{v}");
    assert!(
        absent.is_subset(&missing),
        "absent {absent:?}, named {missing:?}"
    );
    // Every other one named shares its Message-ID (or its lack of one) with
    // fewer copies on the server than in the store.
    for n in f["named"].as_array().expect("named") {
        let mid = n["message_id"].as_str().map(|m| {
            m.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        });
        let (s, t) = (
            in_store.get(&mid).copied().unwrap_or(0),
            on_server.get(&mid).copied().unwrap_or(0),
        );
        assert!(t < s, "{n} named missing, but the server has {t} of {s}");
    }
    let csv = fs::read_to_string(&csv).expect("csv");
    assert_eq!(csv.lines().count(), missing.len() + 1, "{csv}");
}
