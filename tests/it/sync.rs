//! Cutover against a private Dovecot: `verify` names every missing or
//! different message (source file, folder, Subject, Message-ID, Date) on
//! stdout, in `--report` and in `--csv` with formula cells neutralised;
//! `migrate --sync` carries flag changes, adds new items, only reports
//! deletions, and leaves a file still being written (`--settle`) for the
//! next run; a SIGKILL during a sync and a rerun end exact.

use crate::support::dovecot::Dovecot;
use crate::support::imap::Imap;
use crate::support::store::{index_line, line_of, line_with, StoreBuilder};
use crate::support::*;
use std::fs;
use std::path::Path;

pub(crate) const ACCOUNT: &str = "bob@example.com";

pub(crate) fn dovecot() -> Dovecot {
    Dovecot::start(&[("USERS", "bob"), ("MAIL_FORMAT", "mdbox")])
}

fn login() -> Vec<&'static str> {
    vec![
        "--tls",
        "none",
        "--account",
        ACCOUNT,
        "--user",
        "bob",
        "--password-env",
        "PW",
    ]
}

pub(crate) fn message(i: usize, subject: &str) -> String {
    format!(
        "From: x@gen.test\nTo: {ACCOUNT}\nSubject: {subject}\nMessage-ID: <{i}.sync@gen.test>\nDate: Mon, 1 Jan 2018 10:{i:02}:00 +0000\n\nbody {i}\n"
    )
}

/// Bob's INBOX with `n` messages (item `i` with `flags(i)`), mtimes in the
/// past so that nothing is settling.
pub(crate) fn store(dir: &Path, n: usize, flags: impl Fn(usize) -> u32) -> StoreBuilder {
    let store = StoreBuilder::new(&dir.join("kerio"));
    let items = store.messages(ACCOUNT, "INBOX", n, |i| message(i, &format!("message {i}")));
    let lines: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, (id, size))| {
            index_line(
                id,
                flags(i),
                *size,
                0x5a4a0000,
                0x5a4a0000 + i as i64,
                0x5a4a0000,
            )
        })
        .collect();
    store.index(ACCOUNT, "INBOX", &lines);
    store
}

/// A private Dovecot, a temporary directory, the target URL and Bob's
/// INBOX store of `n` messages (item `i` with index flags `flags(i)`),
/// already migrated once.
pub(crate) struct Migrated {
    pub dc: Dovecot,
    pub tmp: tempfile::TempDir,
    pub to: String,
    pub st: StoreBuilder,
}

pub(crate) fn migrated(n: usize, flags: impl Fn(usize) -> u32) -> Migrated {
    let dc = dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store(tmp.path(), n, flags);
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    Migrated { dc, tmp, to, st }
}

/// Sets the file's mtime an hour back: written before the `--settle`
/// window.
pub(crate) fn backdate(path: &Path) {
    let t = filetime::FileTime::from_unix_time(chrono::Utc::now().timestamp() - 3600, 0);
    filetime::set_file_mtime(path, t).expect("mtime");
}

/// Sets the file's mtime a day ahead: a restore or a wrong clock, not a
/// file being written.
fn postdate(path: &Path) {
    let t = filetime::FileTime::from_unix_time(chrono::Utc::now().timestamp() + 86_400, 0);
    filetime::set_file_mtime(path, t).expect("mtime");
}

pub(crate) fn run(command: &str, store: &Path, to: &str, dir: &Path) -> Run {
    Run::new(command)
        .arg(store)
        .args(["--to", to])
        .state(&dir.join("journal.sqlite"))
        .args(login())
        .env("PW", "secret")
}

#[test]
fn verify_names_every_missing_message_on_stdout_in_the_report_and_the_csv() {
    let Migrated { dc, tmp, to, st } = migrated(4, |_| 0);

    // The server loses the first message; a new one reaches the store
    // after the run, with a Subject a spreadsheet would run.
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    let first = c.fetch_all("INBOX").first().expect("a message").uid;
    let (_, s) = c.cmd("SELECT INBOX");
    assert!(s.starts_with("OK"), "{s}");
    let (_, s) = c.cmd(&format!("UID STORE {first} +FLAGS (\\Deleted)"));
    assert!(s.starts_with("OK"), "{s}");
    let (_, s) = c.cmd("EXPUNGE");
    assert!(s.starts_with("OK"), "{s}");
    let late = message(9, "=HYPERLINK(\"http://evil\")");
    let late_path = st.item(ACCOUNT, "INBOX", "00000009", late.as_bytes());

    let report = tmp.path().join("verify.json");
    let csv = tmp.path().join("verify.csv");
    let o = run("verify", &st.install, &to, tmp.path())
        .arg("--report")
        .arg(&report)
        .arg("--csv")
        .arg(&csv)
        .run();
    assert_eq!(o.code, 3, "{o}");
    let first_path = st.folder_dir(ACCOUNT, "INBOX").join("#msgs/00000001.eml");
    for (path, id) in [
        (&first_path, "<0.sync@gen.test>"),
        (&late_path, "<9.sync@gen.test>"),
    ] {
        let p = path.display().to_string();
        assert!(o.stdout.contains(&p), "{p} not named:\n{}", o.stdout);
        assert!(o.stdout.contains(id), "{id} not named:\n{}", o.stdout);
    }
    assert!(
        o.stdout.contains("Date: Mon, 1 Jan 2018 10:00:00 +0000"),
        "{}",
        o.stdout
    );

    let v = json(&report);
    assert_eq!(v["totals"]["missing_on_target"], 1, "{v}");
    assert_eq!(v["totals"]["not_migrated"], 1, "{v}");
    let named = v["accounts"][0]["folders"][0]["named"]
        .as_array()
        .expect("named");
    assert_eq!(named.len(), 2, "{v}");
    assert_eq!(named[0]["problem"], "missing_on_target");
    assert_eq!(named[0]["path"], first_path.display().to_string());
    assert_eq!(named[0]["subject"], "message 0");
    assert_eq!(named[0]["message_id"], "<0.sync@gen.test>");
    assert_eq!(named[1]["problem"], "not_migrated");
    assert_eq!(named[1]["subject"], "=HYPERLINK(\"http://evil\")");

    let text = fs::read_to_string(&csv).expect("csv");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("account,folder,mailbox,problem,item,path,subject"));
    assert!(
        lines[1].contains("missing on target") && lines[1].contains("message 0"),
        "{text}"
    );
    assert!(
        lines[2].contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "formula not neutralised: {text}"
    );
}

/// The INBOX on the server: (Message-ID number, system flags sorted) per
/// message, sorted.
pub(crate) fn server_state(dc: &Dovecot) -> Vec<(usize, Vec<String>)> {
    mailbox_state(dc, "INBOX")
}

pub(crate) fn mailbox_state(dc: &Dovecot, mailbox: &str) -> Vec<(usize, Vec<String>)> {
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    let mut v: Vec<(usize, Vec<String>)> = c
        .fetch_all(mailbox)
        .into_iter()
        .map(|m| {
            let text = String::from_utf8_lossy(&m.body);
            let n = text
                .split("Message-ID: <")
                .nth(1)
                .and_then(|r| r.split('.').next())
                .and_then(|n| n.parse().ok())
                .expect("a generated Message-ID");
            let mut flags: Vec<String> = m
                .flags
                .into_iter()
                .filter(|f| {
                    ["\\Seen", "\\Answered", "\\Flagged", "\\Draft", "\\Deleted"]
                        .contains(&f.as_str())
                })
                .collect();
            flags.sort();
            (n, flags)
        })
        .collect();
    v.sort();
    v
}

pub(crate) fn flags(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn inbox_report(report: &serde_json::Value) -> &serde_json::Value {
    &report["accounts"][0]["folders"][0]
}

#[test]
fn sync_carries_flag_changes_and_new_items_and_only_reports_deletions() {
    let dc = dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    // seen, none, flagged, none, answered+seen, draft
    let initial = [0x1, 0x0, 0x4, 0x0, 0x3, 0x10];
    let st = store(tmp.path(), 6, |i| initial[i]);
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(
        server_state(&dc),
        vec![
            (0, flags(&["\\Seen"])),
            (1, flags(&[])),
            (2, flags(&["\\Flagged"])),
            (3, flags(&[])),
            (4, flags(&["\\Answered", "\\Seen"])),
            (5, flags(&["\\Draft"])),
        ]
    );

    // In Kerio: 0 marked unread, 1 read and flagged, 5 no longer a draft
    // but answered; 4 deleted; a new message 6 (read).
    let dir = st.folder_dir(ACCOUNT, "INBOX");
    fs::remove_file(dir.join("#msgs/00000005.eml")).expect("rm");
    let new = message(6, "message 6");
    backdate(&st.item(ACCOUNT, "INBOX", "00000007", new.as_bytes()));
    let changed = [0x0, 0x5, 0x4, 0x0, 0, 0x2];
    let mut lines: Vec<String> = (0..6)
        .filter(|i| *i != 4)
        .map(|i| {
            let id = crate::support::store::item_id(i + 1);
            let size = fs::metadata(dir.join(format!("#msgs/{id}.eml")))
                .expect("item")
                .len();
            index_line(
                &id,
                changed[i],
                size as usize,
                0x5a4a0000,
                0x5a4a0000 + i as i64,
                0x5a4a0000,
            )
        })
        .collect();
    lines.push(index_line(
        "00000007",
        0x1,
        new.len(),
        0x5a4a0000,
        0x5a4a0010,
        0x5a4a0000,
    ));
    st.index(ACCOUNT, "INBOX", &lines);

    // verify sees the flags the target still has to get, by name.
    let o = run("verify", &st.install, &to, tmp.path())
        .arg("--json")
        .run();
    let v = o.stdout_json();
    assert_eq!(v["totals"]["flags_differ"], 3, "{v}");
    let named = v["accounts"][0]["folders"][0]["named"]
        .as_array()
        .expect("named")
        .clone();
    let differ: Vec<&str> = named
        .iter()
        .filter(|n| n["problem"] == "flags_differ")
        .filter_map(|n| n["message_id"].as_str())
        .collect();
    assert_eq!(
        differ,
        [
            "<0.sync@gen.test>",
            "<1.sync@gen.test>",
            "<5.sync@gen.test>"
        ]
    );

    let report = tmp.path().join("sync.json");
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    let f = inbox_report(&o.report);
    assert_eq!(f["counts"]["migrated"], 1, "{f}");
    assert_eq!(f["sync"]["flags_set"], 3, "{f}");
    assert_eq!(f["sync"]["deleted_at_source"], 1, "{f}");
    assert!(
        o.stdout.contains(
            "1 messages deleted at the source since the last run are still on the target"
        ),
        "{}",
        o.stdout
    );
    // Exactly the source's flags; the deleted message is still there,
    // untouched; nothing twice, nothing \Deleted.
    assert_eq!(
        server_state(&dc),
        vec![
            (0, flags(&[])),
            (1, flags(&["\\Flagged", "\\Seen"])),
            (2, flags(&["\\Flagged"])),
            (3, flags(&[])),
            (4, flags(&["\\Answered", "\\Seen"])),
            (5, flags(&["\\Answered"])),
            (6, flags(&["\\Seen"])),
        ]
    );

    let o = run("verify", &st.install, &to, tmp.path())
        .arg("--json")
        .run();
    let v = o.stdout_json();
    assert_eq!(v["totals"]["flags_differ"], 0, "{v}");
    assert_eq!(o.code, 0, "{v}");

    // A second sync has nothing to do.
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    let f = inbox_report(&o.report);
    assert_eq!(f["counts"]["migrated"], 0, "{f}");
    assert_eq!(f["sync"]["flags_set"], 0, "{f}");
    assert_eq!(server_state(&dc).len(), 7);
}

#[test]
fn a_file_being_written_is_left_for_the_next_sync() {
    let Migrated { dc, tmp, to, st } = migrated(3, |_| 0);
    // Kerio is writing message 3 right now (its file is fresh); 4 arrived
    // an hour ago.
    let dir = st.folder_dir(ACCOUNT, "INBOX");
    let fresh = message(3, "message 3");
    let fresh_path = st.item(ACCOUNT, "INBOX", "00000004", fresh.as_bytes());
    let old = message(4, "message 4");
    backdate(&st.item(ACCOUNT, "INBOX", "00000005", old.as_bytes()));
    // 5 is dated a day ahead: not being written, so not settling.
    let ahead = message(5, "message 5");
    postdate(&st.item(ACCOUNT, "INBOX", "00000006", ahead.as_bytes()));
    let mut lines: Vec<String> = (0..3)
        .map(|i| {
            let id = crate::support::store::item_id(i + 1);
            let size = fs::metadata(dir.join(format!("#msgs/{id}.eml")))
                .expect("item")
                .len();
            index_line(&id, 0, size as usize, 0x5a4a0000, 0x5a4a0000, 0x5a4a0000)
        })
        .collect();
    lines.push(index_line(
        "00000004",
        0,
        fresh.len(),
        0x5a4a0000,
        0x5a4a0000,
        0x5a4a0000,
    ));
    lines.push(index_line(
        "00000005",
        0,
        old.len(),
        0x5a4a0000,
        0x5a4a0000,
        0x5a4a0000,
    ));
    lines.push(index_line(
        "00000006",
        0,
        ahead.len(),
        0x5a4a0000,
        0x5a4a0000,
        0x5a4a0000,
    ));
    st.index(ACCOUNT, "INBOX", &lines);

    let report = tmp.path().join("sync.json");
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "settling is no failure: {o}");
    let f = inbox_report(&o.report);
    assert_eq!(f["counts"]["migrated"], 2, "{f}");
    assert_eq!(f["sync"]["settling"], 1, "{f}");
    assert!(o.stdout.contains("settling"), "{}", o.stdout);
    let ids: Vec<usize> = server_state(&dc).into_iter().map(|(n, _)| n).collect();
    assert_eq!(ids, vec![0, 1, 2, 4, 5]);

    // Once written (a minute later), the next sync takes it.
    backdate(&fresh_path);
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    let f = inbox_report(&o.report);
    assert_eq!(f["counts"]["migrated"], 1, "{f}");
    assert_eq!(f["sync"]["settling"], 0, "{f}");
    let ids: Vec<usize> = server_state(&dc).into_iter().map(|(n, _)| n).collect();
    assert_eq!(ids, vec![0, 1, 2, 3, 4, 5], "each message once");
}

#[test]
fn propagate_deletes_removes_only_what_the_tool_put_there() {
    propagate_deletes_on(dovecot());
}

/// Without UNSELECT the mailbox is left by EXAMINE then CLOSE (a CLOSE of
/// the selected mailbox would expunge the foreign `\Deleted` message).
#[test]
fn without_unselect_sync_changes_leave_foreign_deleted_messages_alone() {
    propagate_deletes_on(crate::sync_moves::dovecot_without(&["UNSELECT"]));
}

/// Migrates 4 messages, adds a foreign `\Deleted` one, then in Kerio
/// message 0 is read and message 1 deleted; a sync with
/// `--propagate-deletes` (one flight for both) carries exactly that.
fn propagate_deletes_on(dc: Dovecot) {
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store(tmp.path(), 4, |_| 0);
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    // Someone else's message in the same mailbox, marked \Deleted by its
    // owner but not expunged: UID EXPUNGE of our UIDs must not take it.
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    let theirs = message(50, "not ours");
    let theirs = theirs.replace('\n', "\r\n");
    let (_, s) = c.cmd(&format!(
        "APPEND INBOX (\\Deleted) {{{}+}}\r\n{theirs}",
        theirs.len()
    ));
    assert!(s.starts_with("OK"), "{s}");
    drop(c);
    // Kerio: message 1 (item 2) deleted.
    let dir = st.folder_dir(ACCOUNT, "INBOX");
    fs::remove_file(dir.join("#msgs/00000002.eml")).expect("rm");
    let lines: Vec<String> = [(1, 0x1), (3, 0), (4, 0)]
        .iter()
        .map(|(n, seen)| line_with(&dir, &crate::support::store::item_id(*n), *seen))
        .collect();
    st.index(ACCOUNT, "INBOX", &lines);

    let report = tmp.path().join("sync.json");
    let o = run("migrate", &st.install, &to, tmp.path())
        .args(["--sync", "--propagate-deletes"])
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    let f = inbox_report(&o.report);
    assert_eq!(f["sync"]["deleted_on_target"], 1, "{f}");
    assert_eq!(f["sync"]["deleted_at_source"], 0, "{f}");
    assert_eq!(f["sync"]["flags_set"], 1, "{f}");
    assert_eq!(
        server_state(&dc),
        vec![
            (0, flags(&["\\Seen"])),
            (2, flags(&[])),
            (3, flags(&[])),
            (50, flags(&["\\Deleted"])),
        ]
    );
    // Its journal row is gone: a rerun removes nothing more.
    let o = run("migrate", &st.install, &to, tmp.path())
        .args(["--sync", "--propagate-deletes"])
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(inbox_report(&o.report)["sync"]["deleted_on_target"], 0);
    assert_eq!(server_state(&dc).len(), 4);
    // Without --sync it is refused.
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--propagate-deletes")
        .run();
    assert_eq!(o.code, 2, "{o}");
}

/// Bob's INBOX in a Maildir target: (Message-ID number, `:2,` info) per
/// file, sorted.
fn maildir_state(out: &Path) -> Vec<(usize, String)> {
    maildir_folder_state(&out.join(ACCOUNT))
}

/// A Maildir folder: (Message-ID number, info letters) per message, sorted.
pub(crate) fn maildir_folder_state(dir: &Path) -> Vec<(usize, String)> {
    let mut v: Vec<(usize, String)> = maildir_messages(dir)
        .into_values()
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = fs::read_to_string(&path).expect("message");
            let n = text
                .split("Message-ID: <")
                .nth(1)
                .and_then(|r| r.split('.').next())
                .and_then(|n| n.parse().ok())
                .expect("a generated Message-ID");
            let info = name.split(":2,").nth(1).unwrap_or("").to_string();
            (n, info)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn sync_to_maildir_renames_the_info_and_propagates_deletes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("md");
    let st = store(tmp.path(), 3, |i| [0x1, 0x0, 0x4][i]);
    let o = Run::migrate_to_maildir(&st.install, &out).run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(
        maildir_state(&out),
        vec![(0, "S".into()), (1, "".into()), (2, "F".into())]
    );
    let dir = st.folder_dir(ACCOUNT, "INBOX");
    fs::remove_file(dir.join("#msgs/00000003.eml")).expect("rm");
    let lines: Vec<String> = [(0usize, 0x2u32), (1, 0x11)]
        .iter()
        .map(|(i, f)| {
            let id = crate::support::store::item_id(i + 1);
            let size = fs::metadata(dir.join(format!("#msgs/{id}.eml")))
                .expect("item")
                .len();
            index_line(&id, *f, size as usize, 0x5a4a0000, 0x5a4a0000, 0x5a4a0000)
        })
        .collect();
    st.index(ACCOUNT, "INBOX", &lines);
    let o = Run::migrate_to_maildir(&st.install, &out)
        .args(["--sync", "--propagate-deletes"])
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let f = inbox_report(&o.report);
    assert_eq!(f["sync"]["flags_set"], 2, "{f}");
    assert_eq!(f["sync"]["deleted_on_target"], 1, "{f}");
    assert_eq!(maildir_state(&out), vec![(0, "R".into()), (1, "DS".into())]);
}

#[test]
fn sigkill_during_sync_then_a_rerun_ends_exact() {
    let dc = dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let n = 200;
    let st = store(tmp.path(), n, |_| 0);
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    // Every message read in Kerio, and as many new ones arrived.
    let dir = st.folder_dir(ACCOUNT, "INBOX");
    let mut lines = Vec::new();
    for i in 0..2 * n {
        let id = crate::support::store::item_id(i + 1);
        if i >= n {
            backdate(&st.item(
                ACCOUNT,
                "INBOX",
                &id,
                message(i, &format!("message {i}")).as_bytes(),
            ));
        }
        let size = fs::metadata(dir.join(format!("#msgs/{id}.eml")))
            .expect("item")
            .len();
        lines.push(index_line(
            &id,
            0x1,
            size as usize,
            0x5a4a0000,
            0x5a4a0000,
            0x5a4a0000,
        ));
    }
    st.index(ACCOUNT, "INBOX", &lines);

    let mut child = run("migrate", &st.install, &to, tmp.path())
        .args(["--sync", "--max-rate", "100", "--batch", "5"])
        .spawn(std::process::Stdio::null());
    let mut probe = Imap::login(dc.imap_port, "bob", "secret");
    crate::support::run::wait_while_running(
        &mut child,
        std::time::Duration::from_secs(60),
        "new messages arriving",
        || probe.count("INBOX") as usize >= n + 40,
    );
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .run();
    assert_eq!(o.code, 0, "{o}");
    let state = server_state(&dc);
    let want: Vec<(usize, Vec<String>)> = (0..2 * n).map(|i| (i, flags(&["\\Seen"]))).collect();
    assert_eq!(state, want, "every message once, with the source's flags");
}

/// A message deleted in Kerio whose copy someone already removed from the
/// target: `--propagate-deletes` forgets its row (reported as already
/// gone), removes nothing, and a rerun no longer counts it as "still on
/// the target".
#[test]
fn a_copy_already_gone_from_the_target_is_forgotten_not_reported_as_still_there() {
    let Migrated { dc, tmp, to, st } = migrated(3, |_| 0);
    // On the server, someone expunges message 1 (UID 2); in Kerio it is
    // deleted too.
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    for cmd in [
        "SELECT INBOX",
        "UID STORE 2 +FLAGS.SILENT (\\Deleted)",
        "EXPUNGE",
    ] {
        let (_, s) = c.cmd(cmd);
        assert!(s.starts_with("OK"), "{cmd}: {s}");
    }
    drop(c);
    let dir = st.folder_dir(ACCOUNT, "INBOX");
    fs::remove_file(dir.join("#msgs/00000002.eml")).expect("rm");
    let lines: Vec<String> = [1, 3]
        .iter()
        .map(|n| line_of(&dir, &crate::support::store::item_id(*n)))
        .collect();
    st.index(ACCOUNT, "INBOX", &lines);
    let report = tmp.path().join("sync.json");
    let o = run("migrate", &st.install, &to, tmp.path())
        .args(["--sync", "--propagate-deletes"])
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    let f = inbox_report(&o.report);
    assert_eq!(f["sync"]["gone_from_target"], 1, "{f}");
    assert_eq!(f["sync"]["deleted_on_target"], 0, "{f}");
    assert_eq!(f["sync"]["deleted_at_source"], 0, "{f}");
    assert_eq!(server_state(&dc), vec![(0, flags(&[])), (2, flags(&[]))]);
    let rows: Vec<(String,)> = query(
        &tmp.path().join("journal.sqlite"),
        "SELECT item FROM items WHERE item = '00000002'",
    );
    assert!(rows.is_empty(), "{rows:?}");
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(inbox_report(&o.report)["sync"]["deleted_at_source"], 0);
}

/// A store copied without its file times (every mtime new) whose flags
/// changed: the items are found present by their content, and their flag
/// changes are carried in the same sync, not the next one.
#[test]
fn flags_of_items_whose_files_changed_time_are_carried_in_the_same_sync() {
    let Migrated { dc, tmp, to, st } = migrated(3, |_| 0);
    // In Kerio: messages 0 and 2 read; then the store is copied and every
    // file gets a new mtime (still outside the --settle window).
    let dir = st.folder_dir(ACCOUNT, "INBOX");
    let lines: Vec<String> = (0..3usize)
        .map(|i| {
            let id = crate::support::store::item_id(i + 1);
            let path = dir.join(format!("#msgs/{id}.eml"));
            let t = filetime::FileTime::from_unix_time(chrono::Utc::now().timestamp() - 7200, 0);
            filetime::set_file_mtime(&path, t).expect("mtime");
            let size = fs::metadata(&path).expect("item").len();
            let seen = if i == 1 { 0 } else { 0x1 };
            index_line(
                &id,
                seen,
                size as usize,
                0x5a4a0000,
                0x5a4a0000 + i as i64,
                0x5a4a0000,
            )
        })
        .collect();
    st.index(ACCOUNT, "INBOX", &lines);
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let f = inbox_report(&o.report);
    assert_eq!(f["counts"]["migrated"], 0, "{f}");
    assert_eq!(f["counts"]["already_present"], 3, "{f}");
    assert_eq!(f["sync"]["flags_set"], 2, "{f}");
    assert_eq!(
        server_state(&dc),
        vec![
            (0, flags(&["\\Seen"])),
            (1, flags(&[])),
            (2, flags(&["\\Seen"]))
        ]
    );
}

/// More removals in one folder than one `UID STORE`/`UID EXPUNGE` chunk
/// (500 UIDs): every one is gone from the server, and only those whose
/// UIDs are really gone are forgotten (a server may run a pipelined
/// EXPUNGE before the STORE ahead of it is done).
#[test]
fn removals_of_many_chunks_are_all_expunged_and_checked() {
    let n = 1500;
    let dc = dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = StoreBuilder::new(&tmp.path().join("kerio"));
    let pad = "x".repeat(3000);
    let items = st.messages(ACCOUNT, "INBOX", n, |i| {
        format!("{}{pad}\n", message(i, &format!("message {i}")))
    });
    let lines: Vec<String> = items
        .iter()
        .map(|(id, size)| index_line(id, 0, *size, 0x5a4a0000, 0x5a4a0000, 0x5a4a0000))
        .collect();
    st.index(ACCOUNT, "INBOX", &lines);
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    // Kerio: every message but the first 100 deleted.
    let dir = st.folder_dir(ACCOUNT, "INBOX");
    for (id, _) in items.iter().skip(100) {
        fs::remove_file(dir.join(format!("#msgs/{id}.eml"))).expect("rm");
    }
    st.index(ACCOUNT, "INBOX", &lines[..100]);
    let o = run("migrate", &st.install, &to, tmp.path())
        .args(["--sync", "--propagate-deletes"])
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let f = inbox_report(&o.report);
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    let left = c.count("INBOX");
    assert_eq!(
        (left, f["sync"]["deleted_on_target"].as_u64()),
        (100, Some(n as u64 - 100)),
        "{f}"
    );
    let rows: Vec<(String,)> = query(
        &tmp.path().join("journal.sqlite"),
        "SELECT item FROM items WHERE state = 'done'",
    );
    assert_eq!(rows.len(), 100);
}

/// A message whose file Kerio rewrote with other content under the same
/// item id (edited in place): the sync sends the new version and counts
/// the earlier one as deleted at the source (it stays on the target, said
/// in the report); a later `--propagate-deletes` sync removes the earlier
/// copy only, and the next sync has nothing to do.
#[test]
fn an_item_rewritten_with_other_content_replaces_its_earlier_copy_with_propagate_deletes() {
    let m = migrated(3, |_| 0);
    let (tmp, to, st) = (m.tmp.path(), &m.to, &m.st);
    let dir = st.folder_dir(ACCOUNT, "INBOX");
    let edited = st.item(
        ACCOUNT,
        "INBOX",
        "00000002",
        message(1, "edited").as_bytes(),
    );
    backdate(&edited);
    let lines: Vec<String> = ["00000001", "00000002", "00000003"]
        .iter()
        .map(|id| line_of(&dir, id))
        .collect();
    st.index(ACCOUNT, "INBOX", &lines);
    let report = tmp.join("sync.json");
    let subjects = || -> Vec<String> {
        let mut c = Imap::login(m.dc.imap_port, "bob", "secret");
        let mut v: Vec<String> = c
            .fetch_all("INBOX")
            .iter()
            .filter_map(|f| {
                String::from_utf8_lossy(&f.body)
                    .lines()
                    .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
            })
            .collect();
        v.sort();
        v
    };
    // One sync (exit 0): its INBOX report and its stdout.
    let sync = |options: &[&str]| -> (serde_json::Value, String) {
        let o = run("migrate", &st.install, to, tmp)
            .args(options)
            .report(&report)
            .run();
        assert_eq!(o.code, 0, "{o}");
        (inbox_report(&o.report).clone(), o.stdout)
    };
    // Without --propagate-deletes: the new version sent, the earlier kept
    // and counted.
    let (f, stdout) = sync(&["--sync"]);
    assert_eq!(f["counts"]["migrated"], 1, "{f}");
    assert_eq!(f["sync"]["deleted_at_source"], 1, "{f}");
    assert!(
        stdout.contains("changed at the source since they were sent"),
        "{stdout}"
    );
    assert_eq!(
        subjects(),
        ["edited", "message 0", "message 1", "message 2"]
    );
    // With it: the earlier copy removed, the new one kept; then nothing
    // left to do.
    for removed in [1, 0] {
        let (f, _) = sync(&["--sync", "--propagate-deletes"]);
        assert_eq!(f["counts"]["migrated"], 0, "{f}");
        assert_eq!(f["sync"]["deleted_on_target"], removed, "{f}");
        assert_eq!(f["sync"]["deleted_at_source"], 0, "{f}");
        assert_eq!(subjects(), ["edited", "message 0", "message 2"]);
    }
}

#[test]
fn a_new_item_already_on_the_target_without_a_row_is_found_by_sync_not_sent_twice() {
    // The sync's check for gone copies also answers the look for messages
    // no row accounts for before new items are appended (no second EXAMINE
    // when there are none): one that is there must still be found.
    let Migrated { dc, tmp, to, st } = migrated(3, |_| 0);
    // Message 3, new in Kerio, is on the server already, as this tool
    // would have sent it (an upload whose journal row was lost).
    let body = message(3, "message 3").replace('\n', "\r\n");
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    let (_, s) = c.cmd(&format!("APPEND INBOX {{{}+}}\r\n{body}", body.len()));
    assert!(s.starts_with("OK"), "APPEND: {s}");
    drop(c);
    let dir = st.folder_dir(ACCOUNT, "INBOX");
    // Item `n` of the INBOX with message `i`'s bytes, then a sync.
    let add_and_sync = |n: usize, i: usize| {
        let id = crate::support::store::item_id(n);
        backdate(&st.item(
            ACCOUNT,
            "INBOX",
            &id,
            message(i, &format!("message {i}")).as_bytes(),
        ));
        let lines: Vec<String> = (1..=n)
            .map(|k| line_of(&dir, &crate::support::store::item_id(k)))
            .collect();
        st.index(ACCOUNT, "INBOX", &lines);
        let o = run("migrate", &st.install, &to, tmp.path())
            .arg("--sync")
            .report(&tmp.path().join("sync.json"))
            .run();
        assert_eq!(o.code, 0, "{o}");
        o
    };
    let o = add_and_sync(4, 3);
    let f = inbox_report(&o.report);
    assert_eq!(f["counts"]["migrated"], 0, "found, not sent: {f}");
    assert_eq!(
        server_state(&dc),
        vec![(0, vec![]), (1, vec![]), (2, vec![]), (3, vec![])],
        "each message once"
    );
    // Without it there, the new item is sent (the shortcut still appends).
    let o = add_and_sync(5, 4);
    assert_eq!(inbox_report(&o.report)["counts"]["migrated"], 1, "{o}");
    assert_eq!(server_state(&dc).len(), 5);
}
