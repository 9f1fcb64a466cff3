//! A message the server stores other than it was sent (Dovecot re-encodes
//! a `binary` part with NUL bytes it receives as a BINARY literal, so its
//! RFC822.SIZE is not the size sent): `migrate` journals the size the
//! server reports, so that `sync` still proves the copy its own, moves it
//! when it moved in Kerio and removes it with `--propagate-deletes`,
//! never uploading it a second time. And `verify`, after a run without
//! `--sync`, names a moved message that is on the target twice.

use crate::support::store::{item_id, line_of, StoreBuilder};
use crate::support::*;
use crate::sync::{backdate, mailbox_state, run, store, ACCOUNT};
use std::fs;
use std::path::Path;

/// A message with a `binary` part holding NUL bytes (Message-ID number `i`).
fn binary_message(i: usize) -> Vec<u8> {
    let mut m = format!(
        "From: x@gen.test\nTo: {ACCOUNT}\nSubject: binary {i}\nMessage-ID: <{i}.sync@gen.test>\n\
         Date: Mon, 1 Jan 2018 11:{i:02}:00 +0000\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\
         Content-Transfer-Encoding: binary\nContent-Type: text/plain; charset=utf-16le\n\n"
    )
    .into_bytes();
    for c in format!("message {i}\n").bytes() {
        m.extend([c, 0]);
    }
    m.extend(b"\n--b--\n");
    m
}

/// Bob's INBOX: plain messages 0 and 1, binary messages 40 and 41 (items
/// 3 and 4); an empty-but-indexed Projects folder with plain message 20.
fn store_with_binary(dir: &Path) -> StoreBuilder {
    let st = store(dir, 2, |_| 0);
    for (id, n) in [("00000003", 40), ("00000004", 41)] {
        backdate(&st.item(ACCOUNT, "INBOX", id, &binary_message(n)));
    }
    inbox_index(&st, &[1, 2, 3, 4]);
    let own = crate::sync::message(20, "already in Projects");
    backdate(&st.item(ACCOUNT, "Projects", "00000001", own.as_bytes()));
    projects_index(&st, &["00000001"]);
    st
}

fn inbox_index(st: &StoreBuilder, items: &[usize]) {
    let dir = st.folder_dir(ACCOUNT, "INBOX");
    let lines: Vec<String> = items.iter().map(|i| line_of(&dir, &item_id(*i))).collect();
    st.index(ACCOUNT, "INBOX", &lines);
}

fn projects_index(st: &StoreBuilder, ids: &[&str]) {
    let dir = st.folder_dir(ACCOUNT, "Projects");
    let lines: Vec<String> = ids.iter().map(|id| line_of(&dir, id)).collect();
    st.index(ACCOUNT, "Projects", &lines);
}

/// In Kerio: binary message 40 (INBOX item 3) moves to Projects (item 2
/// there), binary message 41 (item 4) is deleted.
fn move_40_delete_41(st: &StoreBuilder) {
    let inbox = st.folder_dir(ACCOUNT, "INBOX");
    let bytes = fs::read(inbox.join("#msgs/00000003.eml")).expect("item");
    fs::remove_file(inbox.join("#msgs/00000003.eml")).expect("rm");
    fs::remove_file(inbox.join("#msgs/00000004.eml")).expect("rm");
    inbox_index(st, &[1, 2]);
    backdate(&st.item(ACCOUNT, "Projects", "00000002", &bytes));
    projects_index(st, &["00000001", "00000002"]);
}

fn numbers(dc: &crate::support::dovecot::Dovecot, mailbox: &str) -> Vec<usize> {
    mailbox_state(dc, mailbox)
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

#[test]
fn a_message_the_server_stores_altered_is_still_moved_and_removed_by_sync() {
    let dc = crate::sync::dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store_with_binary(tmp.path());
    let o = run("migrate", &st.install, &to, tmp.path())
        .report(&tmp.path().join("bulk.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    // The premise: the server really stores the binary ones altered.
    let inbox = crate::sync_moves::folder_report(&o.report, "INBOX");
    let altered = inbox["altered"].as_array().map_or(0, |a| a.len());
    assert_eq!(altered, 2, "Dovecot no longer alters them? {inbox}");
    let stored: Vec<(String, Option<i64>, Option<i64>)> = query(
        &tmp.path().join("journal.sqlite"),
        "SELECT item, size, stored_size FROM items WHERE item IN ('00000003', '00000004') ORDER BY item",
    );
    assert_eq!(stored.len(), 2, "{stored:?}");
    for (item, sent, on_server) in &stored {
        assert!(
            on_server.is_some() && on_server != sent,
            "{item}: the server's size is journaled: {stored:?}"
        );
    }

    move_40_delete_41(&st);
    let o = run("migrate", &st.install, &to, tmp.path())
        .args(["--sync", "--propagate-deletes"])
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let projects = crate::sync_moves::folder_report(&o.report, "Projects");
    assert_eq!(projects["sync"]["moved_in"], 1, "{projects}");
    assert_eq!(
        projects["counts"]["migrated"], 0,
        "moved, not uploaded: {projects}"
    );
    let inbox = crate::sync_moves::folder_report(&o.report, "INBOX");
    assert_eq!(inbox["sync"]["deleted_on_target"], 1, "{inbox}");
    assert_eq!(inbox["sync"]["deleted_at_source"], 0, "{inbox}");
    // Exactly the source's state: 40 once, in Projects; 41 gone.
    assert_eq!(numbers(&dc, "INBOX"), vec![0, 1]);
    assert_eq!(numbers(&dc, "Projects"), vec![20, 40]);
    let o = run("verify", &st.install, &to, tmp.path())
        .arg("--json")
        .run();
    assert_eq!(o.code, 0, "{}", o.stdout);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("verify --json");
    assert_eq!(v["totals"]["extra"], 0, "{}", o.stdout);
    assert_eq!(v["totals"]["gone_at_source"], 0, "{}", o.stdout);
    // The moved copy keeps the stored size: a second move would prove it too.
    let moved: Vec<(Option<i64>,)> = query(
        &tmp.path().join("journal.sqlite"),
        "SELECT stored_size FROM items WHERE folder = 'Projects' AND item = '00000002'",
    );
    assert!(moved.len() == 1 && moved[0].0.is_some(), "{moved:?}");
}

#[test]
fn verify_names_a_message_moved_in_kerio_and_migrated_again_without_sync() {
    let dc = crate::sync::dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store_with_binary(tmp.path());
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    move_40_delete_41(&st);
    // A plain rerun: 40 arrives again in Projects, its INBOX copy stays.
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(numbers(&dc, "INBOX"), vec![0, 1, 40, 41]);
    assert_eq!(numbers(&dc, "Projects"), vec![20, 40]);

    let o = run("verify", &st.install, &to, tmp.path())
        .arg("--json")
        .run();
    assert_eq!(o.code, 3, "a message twice on the target: {}", o.stdout);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("verify --json");
    let t = &v["totals"];
    assert_eq!(
        (&t["extra"], &t["duplicates"]),
        (&1.into(), &1.into()),
        "{}",
        o.stdout
    );
    assert_eq!(t["gone_at_source"], 2, "{}", o.stdout);
    let inbox = &v["accounts"][0]["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .find(|f| f["folder"] == "INBOX")
        .expect("INBOX")["gone_at_source"];
    let gone: Vec<(String, Option<String>)> = inbox
        .as_array()
        .expect("gone copies")
        .iter()
        .map(|g| {
            (
                g["item"].as_str().unwrap_or_default().to_string(),
                g["duplicate_of"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        gone,
        vec![
            (
                "00000003".to_string(),
                Some("Projects/00000002".to_string())
            ),
            ("00000004".to_string(), None)
        ]
    );
    // The text names both.
    let o = run("verify", &st.install, &to, tmp.path()).run();
    assert!(
        o.stdout.contains("INBOX/00000003 (INBOX UID")
            && o.stdout.contains("duplicate of Projects/00000002"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .contains("deleted at the source, still on the target"),
        "{}",
        o.stdout
    );
}

/// The same message in two folders from the start, one of them deleted in
/// Kerio since: its copy is gone at the source, not a duplicate (its twin
/// was journaled in the same run), and verify passes.
#[test]
fn a_deleted_message_with_an_old_twin_is_gone_not_a_duplicate() {
    let dc = crate::sync::dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store(tmp.path(), 2, |_| 0);
    let inbox = st.folder_dir(ACCOUNT, "INBOX");
    let twin = fs::read(inbox.join("#msgs/00000002.eml")).expect("item");
    backdate(&st.item(ACCOUNT, "Archive", "00000001", &twin));
    let archive = st.folder_dir(ACCOUNT, "Archive");
    st.index(ACCOUNT, "Archive", &[line_of(&archive, "00000001")]);
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    fs::remove_file(inbox.join("#msgs/00000002.eml")).expect("rm");
    inbox_index(&st, &[1]);
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    let o = run("verify", &st.install, &to, tmp.path())
        .arg("--json")
        .run();
    assert_eq!(o.code, 0, "{}", o.stdout);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("verify --json");
    let t = &v["totals"];
    assert_eq!(
        (&t["extra"], &t["gone_at_source"]),
        (&0.into(), &1.into()),
        "{}",
        o.stdout
    );
}

/// The binary store migrated to a fresh Dovecot, then its journal made
/// one written by schema 3 after `edit` (SQL, which must change at least
/// `min_rows` rows); message 40 then moved to Projects and 41 deleted in
/// Kerio, and `migrate --sync --propagate-deletes` run. The server, the
/// directory (journal, store) and the sync's outcome.
fn synced_as_schema_3(
    edit: &str,
    min_rows: usize,
) -> (
    crate::support::dovecot::Dovecot,
    tempfile::TempDir,
    StoreBuilder,
    Outcome,
) {
    let dc = crate::sync::dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store_with_binary(tmp.path());
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    let c = rusqlite::Connection::open(tmp.path().join("journal.sqlite")).expect("journal");
    let n = c.execute(edit, []).expect("as before schema 4");
    assert!(n >= min_rows, "{n} rows");
    // The next run upgrades it (its columns are there already) and knows
    // it has rows without a stored size where the server changed the bytes.
    let n = c
        .execute("UPDATE meta SET value = '3' WHERE key = 'schema'", [])
        .expect("schema 3");
    assert_eq!(n, 1);
    drop(c);
    move_40_delete_41(&st);
    let o = run("migrate", &st.install, &to, tmp.path())
        .args(["--sync", "--propagate-deletes"])
        .report(&tmp.path().join("sync.json"))
        .run();
    (dc, tmp, st, o)
}

/// The same with a journal written before schema 4, which has no stored
/// size: the copies the server holds altered fail the proof by size, so
/// they are proven by UID and Message-ID before they are moved or
/// removed, and the size they hold is journaled then.
#[test]
fn without_a_journaled_stored_size_the_altered_copy_is_proven_by_its_message_id() {
    let (dc, tmp, st, o) = synced_as_schema_3("UPDATE items SET stored_size = NULL", 4);
    let journal = tmp.path().join("journal.sqlite");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(numbers(&dc, "INBOX"), vec![0, 1], "{}", o.report);
    assert_eq!(numbers(&dc, "Projects"), vec![20, 40], "{}", o.report);
    let projects = crate::sync_moves::folder_report(&o.report, "Projects");
    assert_eq!(projects["sync"]["moved_in"], 1, "{projects}");
    assert_eq!(projects["counts"]["migrated"], 0, "{projects}");
    let inbox = crate::sync_moves::folder_report(&o.report, "INBOX");
    assert_eq!(inbox["sync"]["deleted_on_target"], 1, "{inbox}");
    let notes = o.report.to_string();
    assert!(
        notes.contains("were proven this tool's copies by their UID and Message-ID"),
        "{notes}"
    );
    let moved: Vec<(Option<i64>, Option<i64>)> = query(
        &journal,
        "SELECT size, stored_size FROM items WHERE folder = 'Projects' AND item = '00000002'",
    );
    assert!(
        moved.len() == 1 && moved[0].1.is_some() && moved[0].1 != moved[0].0,
        "the stored size is journaled now: {moved:?}"
    );
    let o = run("verify", &st.install, &to, tmp.path())
        .arg("--json")
        .run();
    assert_eq!(o.code, 0, "{}", o.stdout);
}

/// A copy the server holds with another size whose Message-ID is not the
/// journaled one (a row that does not describe that copy: here its
/// Message-ID is changed in the journal) is not proven, so not removed.
#[test]
fn a_copy_with_another_message_id_is_not_proven_and_not_removed() {
    // Row of binary message 41 (item 4): no stored size, and the
    // Message-ID of another message.
    let (dc, _tmp, _st, o) = synced_as_schema_3(
        "UPDATE items SET stored_size = NULL, message_id = '99.other@gen.test' WHERE item = '00000004'",
        1,
    );
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(numbers(&dc, "INBOX"), vec![0, 1, 41], "{}", o.report);
    let inbox = crate::sync_moves::folder_report(&o.report, "INBOX");
    assert_eq!(inbox["sync"]["deleted_on_target"], 0, "{inbox}");
}
