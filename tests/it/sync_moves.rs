//! `migrate --sync` and messages moved between folders in Kerio: moved on
//! the target, never uploaded again, nothing foreign removed. `UID MOVE`;
//! on a server without MOVE, `UID COPY`, `\Deleted` and `UID EXPUNGE` of
//! that UID only; on a server without UIDPLUS (no COPYUID), `UID MOVE` and
//! the copy found by its size; in a Maildir, the file renamed.

use crate::support::dovecot::{as_served, Dovecot};
use crate::support::imap::Imap;
use crate::support::store::{index_line, line_of, StoreBuilder};
use crate::support::*;
use crate::sync::{
    backdate, flags, mailbox_state, maildir_folder_state, message, run, server_state, store,
    ACCOUNT,
};
use std::fs;
use std::path::Path;

/// Dovecot 2.3's capabilities after login, without those named.
pub(crate) fn dovecot_without(names: &[&str]) -> Dovecot {
    let all = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY \
        THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL \
        CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE \
        QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE \
        SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE";
    let caps: Vec<&str> = all.split(' ').filter(|c| !names.contains(c)).collect();
    let conf = format!(
        "protocol imap {{\n  imap_capability = {}\n}}",
        caps.join(" ")
    );
    Dovecot::start(&[
        ("USERS", "bob"),
        ("MAIL_FORMAT", "mdbox"),
        ("EXTRA_CONF", &conf),
    ])
}

/// Bob's INBOX (messages 0, 1, 2) and a Projects folder with message 20.
fn store_with_projects(dir: &Path) -> StoreBuilder {
    let st = store(dir, 3, |_| 0);
    let own = message(20, "already in Projects");
    st.item(ACCOUNT, "Projects", "00000001", own.as_bytes());
    st.index(ACCOUNT, "Projects", &[projects_line(own.len())]);
    st
}

fn projects_line(own_size: usize) -> String {
    index_line("00000001", 0, own_size, 0x5a4a0000, 0x5a4a0000, 0x5a4a0000)
}

/// In Kerio, message 1 (INBOX item 2) moves to Projects (a new id there)
/// and is read on the way (`\Seen`); its bytes.
fn move_message_1_to_projects(st: &StoreBuilder) -> Vec<u8> {
    let inbox = st.folder_dir(ACCOUNT, "INBOX");
    let bytes = fs::read(inbox.join("#msgs/00000002.eml")).expect("item");
    fs::remove_file(inbox.join("#msgs/00000002.eml")).expect("rm");
    let lines: Vec<String> = [0usize, 2]
        .iter()
        .map(|i| {
            let id = crate::support::store::item_id(i + 1);
            let size = fs::metadata(inbox.join(format!("#msgs/{id}.eml")))
                .expect("item")
                .len();
            index_line(&id, 0, size as usize, 0x5a4a0000, 0x5a4a0000, 0x5a4a0000)
        })
        .collect();
    st.index(ACCOUNT, "INBOX", &lines);
    backdate(&st.item(ACCOUNT, "Projects", "00000002", &bytes));
    let own_size = fs::metadata(
        st.folder_dir(ACCOUNT, "Projects")
            .join("#msgs/00000001.eml"),
    )
    .expect("item")
    .len() as usize;
    st.index(
        ACCOUNT,
        "Projects",
        &[
            projects_line(own_size),
            index_line(
                "00000002",
                0x1,
                bytes.len(),
                0x5a4a0000,
                0x5a4a0000,
                0x5a4a0000,
            ),
        ],
    );
    bytes
}

/// The report of one folder.
pub(crate) fn folder_report(report: &serde_json::Value, name: &str) -> serde_json::Value {
    report["accounts"][0]["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .find(|f| f["folder"] == name)
        .expect("folder")
        .clone()
}

/// The sync's report says one message moved in, none uploaded, none
/// deleted at the source.
fn assert_moved_once(report: &serde_json::Value) {
    let (inbox, projects) = (
        folder_report(report, "INBOX"),
        folder_report(report, "Projects"),
    );
    assert_eq!(projects["sync"]["moved_in"], 1, "{projects}");
    assert_eq!(
        projects["counts"]["migrated"], 0,
        "moved, not uploaded: {projects}"
    );
    assert_eq!(projects["sync"]["flags_set"], 1, "{projects}");
    assert_eq!(inbox["sync"]["deleted_at_source"], 0, "{inbox}");
}

/// Puts a message of someone else's, marked `\Deleted`, into the INBOX:
/// a move must not expunge it.
fn foreign_deleted_message(dc: &Dovecot) {
    let body = message(99, "someone else's, marked deleted").replace('\n', "\r\n");
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    let (_, st) = c.cmd(&format!(
        "APPEND INBOX (\\Deleted) {{{}+}}\r\n{body}",
        body.len()
    ));
    assert!(st.starts_with("OK"), "APPEND: {st}");
}

/// Migrates, moves message 1 in Kerio, syncs; checks the server (the
/// moved message's bytes and flags in Projects, gone from the INBOX,
/// the foreign `\Deleted` message still there), verify, and a rerun.
fn moved_on_the_server(dc: &Dovecot, tmp: &Path) {
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store_with_projects(tmp);
    let o = run("migrate", &st.install, &to, tmp).run();
    assert_eq!(o.code, 0, "{o}");
    foreign_deleted_message(dc);
    let bytes = move_message_1_to_projects(&st);

    let report = tmp.join("sync.json");
    let o = run("migrate", &st.install, &to, tmp)
        .arg("--sync")
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_moved_once(&o.report);
    assert_eq!(
        server_state(dc),
        vec![
            (0, flags(&[])),
            (2, flags(&[])),
            (99, flags(&["\\Deleted"]))
        ]
    );
    assert_eq!(
        mailbox_state(dc, "Projects"),
        vec![(1, flags(&["\\Seen"])), (20, flags(&[]))]
    );
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    let served: Vec<Vec<u8>> = c
        .fetch_all("Projects")
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert!(served.contains(&as_served(&bytes)), "the moved bytes");
    // verify agrees (the foreign message is the one extra), and a rerun
    // changes nothing.
    let o = run("verify", &st.install, &to, tmp).arg("--json").run();
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("verify --json");
    assert_eq!(o.code, 3, "{}", o.stdout);
    let t = &v["totals"];
    assert_eq!(
        (
            &t["missing_on_target"],
            &t["differs"],
            &t["extra"],
            &t["flags_differ"]
        ),
        (&0.into(), &0.into(), &1.into(), &0.into()),
        "{}",
        o.stdout
    );
    let o = run("migrate", &st.install, &to, tmp)
        .arg("--sync")
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.report["totals"]["migrated"], 0);
    assert_eq!(mailbox_state(dc, "Projects").len(), 2);
    assert_eq!(server_state(dc).len(), 3);
}

#[test]
fn a_message_moved_in_kerio_is_moved_on_the_target_not_uploaded_again() {
    let tmp = tempfile::tempdir().expect("tmp");
    moved_on_the_server(&crate::sync::dovecot(), tmp.path());
}

#[test]
fn without_move_the_copy_fallback_expunges_that_uid_only() {
    let tmp = tempfile::tempdir().expect("tmp");
    moved_on_the_server(&dovecot_without(&["MOVE"]), tmp.path());
}

#[test]
fn without_uidplus_the_moved_copy_is_found_by_its_size() {
    let tmp = tempfile::tempdir().expect("tmp");
    moved_on_the_server(&dovecot_without(&["UIDPLUS"]), tmp.path());
    // The journal knows the copy's UID in Projects: found, not guessed.
    let rows: Vec<(String, Option<i64>)> = query(
        &tmp.path().join("journal.sqlite"),
        "SELECT mailbox, uid FROM items WHERE folder = 'Projects' AND item = '00000002'",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "Projects");
    assert!(rows[0].1.is_some(), "{rows:?}");
}

#[test]
fn a_message_moved_in_kerio_is_a_renamed_file_in_the_maildir() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("md");
    let st = store_with_projects(tmp.path());
    let o = Run::migrate_to_maildir(&st.install, &out).run();
    assert_eq!(o.code, 0, "{o}");
    let (inbox, projects) = (out.join(ACCOUNT), out.join(ACCOUNT).join(".Projects"));
    let inode = |p: &Path| fs::metadata(p).expect("file").ino();
    let before: Vec<u64> = maildir_messages(&inbox)
        .values()
        .map(|p| inode(p))
        .collect();
    assert_eq!(before.len(), 3);
    move_message_1_to_projects(&st);

    let o = Run::migrate_to_maildir(&st.install, &out)
        .arg("--sync")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_moved_once(&o.report);
    assert_eq!(
        maildir_folder_state(&inbox),
        vec![(0, "".into()), (2, "".into())]
    );
    assert_eq!(
        maildir_folder_state(&projects),
        vec![(1, "S".into()), (20, "".into())]
    );
    // The same file, renamed (not a new one written).
    let inodes: Vec<u64> = maildir_messages(&projects)
        .values()
        .map(|p| inode(p))
        .collect();
    assert_eq!(
        inodes.iter().filter(|i| before.contains(i)).count(),
        1,
        "{inodes:?} {before:?}"
    );
    let o = Run::migrate_to_maildir(&st.install, &out)
        .arg("--sync")
        .report(&tmp.path().join("sync2.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.report["totals"]["migrated"], 0);
    assert_eq!(maildir_folder_state(&projects).len(), 2);
    assert_eq!(maildir_folder_state(&inbox).len(), 2);
}

/// Moves items `ids` (1-based positions) of INBOX into Projects under the
/// same ids, as Kerio does when a user moves several messages at once.
fn move_to_projects(st: &StoreBuilder, moved: &[usize], total: usize) {
    let (inbox, projects) = (
        st.folder_dir(ACCOUNT, "INBOX"),
        st.folder_dir(ACCOUNT, "Projects"),
    );
    let line = |dir: &Path, n: usize| line_of(dir, &crate::support::store::item_id(n));
    for &n in moved {
        let id = crate::support::store::item_id(n);
        let bytes = fs::read(inbox.join(format!("#msgs/{id}.eml"))).expect("item");
        fs::remove_file(inbox.join(format!("#msgs/{id}.eml"))).expect("rm");
        backdate(&st.item(ACCOUNT, "Projects", &id, &bytes));
    }
    let kept: Vec<String> = (1..=total)
        .filter(|n| !moved.contains(n))
        .map(|n| line(&inbox, n))
        .collect();
    st.index(ACCOUNT, "INBOX", &kept);
    let mut lines = vec![line(&projects, 1)];
    lines.extend(moved.iter().map(|&n| line(&projects, n)));
    st.index(ACCOUNT, "Projects", &lines);
}

#[test]
fn messages_moved_together_go_in_one_move_and_a_copy_gone_from_the_server_is_uploaded_once() {
    let dc = crate::sync::dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let tmp = tmp.path();
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store(tmp, 6, |_| 0);
    // Projects' own message is item 00000001 there, like INBOX's first:
    // different content, so no move is guessed from the id.
    let own = message(20, "already in Projects");
    st.item(ACCOUNT, "Projects", "00000001", own.as_bytes());
    st.index(ACCOUNT, "Projects", &[projects_line(own.len())]);
    let o = run("migrate", &st.install, &to, tmp).run();
    assert_eq!(o.code, 0, "{o}");
    // Someone removes message 4's copy from INBOX on the server: it cannot
    // be moved, so it must be uploaded (once), not lost.
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    c.cmd("SELECT INBOX");
    let (lines, st_) = c.cmd("UID SEARCH SUBJECT \"message 4\"");
    assert!(st_.starts_with("OK"), "{st_}");
    let uid = lines
        .iter()
        .map(|l| String::from_utf8_lossy(l).trim_end().to_string())
        .find_map(|l| l.strip_prefix("* SEARCH ").map(String::from))
        .expect("uid of message 4");
    assert!(uid.parse::<u32>().is_ok(), "one UID: {uid}");
    let (_, s) = c.cmd(&format!("UID STORE {uid} +FLAGS (\\Deleted)"));
    assert!(s.starts_with("OK"), "{s}");
    let (_, s) = c.cmd("EXPUNGE");
    assert!(s.starts_with("OK"), "{s}");
    drop(c);
    // Items 2..5 hold messages 1..4.
    move_to_projects(&st, &[2, 3, 4, 5], 6);

    let report = tmp.join("sync.json");
    let o = run("migrate", &st.install, &to, tmp)
        .arg("--sync")
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    let projects = folder_report(&o.report, "Projects");
    assert_eq!(projects["sync"]["moved_in"], 3, "{projects}");
    assert_eq!(projects["counts"]["migrated"], 1, "{projects}");
    let unflag =
        |v: Vec<(usize, Vec<String>)>| -> Vec<usize> { v.into_iter().map(|x| x.0).collect() };
    assert_eq!(unflag(server_state(&dc)), vec![0, 5]);
    assert_eq!(unflag(mailbox_state(&dc, "Projects")), vec![1, 2, 3, 4, 20]);
    // Every moved copy journaled with its UID in Projects (from COPYUID).
    let rows: Vec<(String, Option<i64>)> = query(
        &tmp.join("journal.sqlite"),
        "SELECT mailbox, uid FROM items WHERE folder = 'Projects' ORDER BY uid",
    );
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert!(
        rows.iter().all(|(m, u)| m == "Projects" && u.is_some()),
        "{rows:?}"
    );
    let mut uids: Vec<i64> = rows.iter().filter_map(|r| r.1).collect();
    uids.dedup();
    assert_eq!(uids.len(), 5, "distinct UIDs: {rows:?}");
    // Nothing left to do, nothing missing.
    let o = run("migrate", &st.install, &to, tmp)
        .arg("--sync")
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.report["totals"]["migrated"], 0, "{o}");
    let o = run("verify", &st.install, &to, tmp).arg("--json").run();
    assert_eq!(o.code, 0, "{}", o.stdout);
}

#[test]
fn two_copies_of_one_message_moved_from_two_folders_are_both_moved() {
    let dc = crate::sync::dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let tmp = tmp.path();
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store(tmp, 3, |_| 0);
    // Archive holds the very same bytes as INBOX's first message.
    let inbox = st.folder_dir(ACCOUNT, "INBOX");
    let same = fs::read(inbox.join("#msgs/00000001.eml")).expect("item");
    st.item(ACCOUNT, "Archive", "00000001", &same);
    st.index(
        ACCOUNT,
        "Archive",
        &[index_line(
            "00000001",
            0,
            same.len(),
            0x5a4a0000,
            0x5a4a0000,
            0x5a4a0000,
        )],
    );
    let own = message(20, "already in Projects");
    st.item(ACCOUNT, "Projects", "00000001", own.as_bytes());
    st.index(ACCOUNT, "Projects", &[projects_line(own.len())]);
    let o = run("migrate", &st.install, &to, tmp).run();
    assert_eq!(o.code, 0, "{o}");
    // Both copies moved into Projects (ids 2 and 3 there).
    for (from, id) in [("INBOX", "00000002"), ("Archive", "00000003")] {
        let dir = st.folder_dir(ACCOUNT, from);
        fs::remove_file(dir.join("#msgs/00000001.eml")).expect("rm");
        backdate(&st.item(ACCOUNT, "Projects", id, &same));
    }
    let line = line_of;
    st.index(
        ACCOUNT,
        "INBOX",
        &[line(&inbox, "00000002"), line(&inbox, "00000003")],
    );
    st.index(ACCOUNT, "Archive", &[]);
    let projects = st.folder_dir(ACCOUNT, "Projects");
    st.index(
        ACCOUNT,
        "Projects",
        &[
            projects_line(own.len()),
            line(&projects, "00000002"),
            line(&projects, "00000003"),
        ],
    );
    let o = run("migrate", &st.install, &to, tmp)
        .arg("--sync")
        .report(&tmp.join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let p = folder_report(&o.report, "Projects");
    assert_eq!(p["sync"]["moved_in"], 2, "{p}");
    assert_eq!(p["counts"]["migrated"], 0, "moved, not uploaded: {p}");
    for f in ["INBOX", "Archive"] {
        let r = folder_report(&o.report, f);
        assert_eq!(r["sync"]["deleted_at_source"], 0, "{r}");
    }
    let ids = |v: Vec<(usize, Vec<String>)>| -> Vec<usize> { v.into_iter().map(|x| x.0).collect() };
    assert_eq!(ids(mailbox_state(&dc, "Projects")), vec![0, 0, 20]);
    assert_eq!(ids(mailbox_state(&dc, "Archive")), Vec::<usize>::new());
    assert_eq!(ids(server_state(&dc)), vec![1, 2]);
}

/// Messages moved out of one folder into two others in one sync: all of
/// them moved (one visit of INBOX: SELECT with the sizes, then both `UID
/// MOVE`s), each journaled with its own UID in its new mailbox.
#[test]
fn moves_out_of_one_folder_into_two_are_all_moved() {
    let dc = crate::sync::dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let tmp = tmp.path();
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store(tmp, 5, |_| 0);
    let own = message(20, "already in Projects");
    st.item(ACCOUNT, "Projects", "00000001", own.as_bytes());
    st.index(ACCOUNT, "Projects", &[projects_line(own.len())]);
    let arch = message(30, "already in Archive");
    st.item(ACCOUNT, "Archive", "00000001", arch.as_bytes());
    let archive = st.folder_dir(ACCOUNT, "Archive");
    st.index(ACCOUNT, "Archive", &[line_of(&archive, "00000001")]);
    let o = run("migrate", &st.install, &to, tmp).run();
    assert_eq!(o.code, 0, "{o}");
    // Messages 1 and 2 (items 2, 3) to Projects, 3 and 4 (items 4, 5) to
    // Archive, under new ids there.
    let inbox = st.folder_dir(ACCOUNT, "INBOX");
    for (n, folder, id) in [
        (2, "Projects", "00000002"),
        (3, "Projects", "00000003"),
        (4, "Archive", "00000002"),
        (5, "Archive", "00000003"),
    ] {
        let old = inbox.join(format!("#msgs/{}.eml", crate::support::store::item_id(n)));
        let bytes = fs::read(&old).expect("item");
        fs::remove_file(&old).expect("rm");
        backdate(&st.item(ACCOUNT, folder, id, &bytes));
    }
    st.index(ACCOUNT, "INBOX", &[line_of(&inbox, "00000001")]);
    let projects = st.folder_dir(ACCOUNT, "Projects");
    let ids = ["00000001", "00000002", "00000003"];
    st.index(ACCOUNT, "Projects", &ids.map(|i| line_of(&projects, i)));
    st.index(ACCOUNT, "Archive", &ids.map(|i| line_of(&archive, i)));

    let o = run("migrate", &st.install, &to, tmp)
        .args(["--sync", "--propagate-deletes"])
        .report(&tmp.join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    for f in ["Projects", "Archive"] {
        let r = folder_report(&o.report, f);
        assert_eq!(r["sync"]["moved_in"], 2, "{r}");
        assert_eq!(r["counts"]["migrated"], 0, "moved, not uploaded: {r}");
    }
    let inbox_r = folder_report(&o.report, "INBOX");
    assert_eq!(inbox_r["sync"]["deleted_at_source"], 0, "{inbox_r}");
    assert_eq!(inbox_r["sync"]["deleted_on_target"], 0, "{inbox_r}");
    let numbers =
        |v: Vec<(usize, Vec<String>)>| -> Vec<usize> { v.into_iter().map(|x| x.0).collect() };
    assert_eq!(numbers(server_state(&dc)), vec![0]);
    assert_eq!(numbers(mailbox_state(&dc, "Projects")), vec![1, 2, 20]);
    assert_eq!(numbers(mailbox_state(&dc, "Archive")), vec![3, 4, 30]);
    let rows: Vec<(String, String, Option<i64>)> = query(
        &tmp.join("journal.sqlite"),
        "SELECT folder, mailbox, uid FROM items WHERE folder != 'INBOX' ORDER BY folder, uid",
    );
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(
        rows.iter().all(|(f, m, u)| f == m && u.is_some()),
        "{rows:?}"
    );
    let o = run("verify", &st.install, &to, tmp).arg("--json").run();
    assert_eq!(o.code, 0, "{}", o.stdout);
}

#[test]
fn a_message_moved_into_a_folder_new_in_kerio_creates_its_mailbox_and_is_moved() {
    // The destination mailbox is not on the server yet: the moves create
    // it (the mailboxes the server listed are only named), then move.
    let tmp = tempfile::tempdir().expect("tmp");
    let dc = crate::sync::dovecot();
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store(tmp.path(), 3, |_| 0);
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    move_message_1_to_clients(&st);
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let fr = folder_report(&o.report, "Clients");
    assert_eq!(fr["sync"]["moved_in"], 1, "{fr}");
    assert_eq!(fr["counts"]["migrated"], 0, "moved, not uploaded: {fr}");
    assert_eq!(mailbox_state(&dc, "Clients"), vec![(1, flags(&[]))]);
    assert_eq!(
        server_state(&dc),
        vec![(0, flags(&[])), (2, flags(&[]))],
        "moved out of the INBOX"
    );
}

#[test]
fn a_move_a_killed_sync_made_but_did_not_journal_is_found_done_not_counted_gone() {
    // The killed run's UID MOVE reached the server, its journal rows did
    // not: the copy is gone from the INBOX and in Projects. The next sync
    // takes it as moved (not gone from the target in the INBOX, not found
    // or uploaded in Projects).
    let (tmp, dc, to, st) = projects_migrated();
    move_message_1_to_projects(&st);
    killed_run_moved_message_1_to_projects(&dc);

    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .arg("--propagate-deletes")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_moved_once(&o.report);
    let inbox = folder_report(&o.report, "INBOX");
    assert_eq!(inbox["sync"]["gone_from_target"], 0, "{inbox}");
    assert!(
        o.report.to_string().contains("found done"),
        "the report says so: {}",
        o.report
    );
    assert_eq!(server_state(&dc), vec![(0, flags(&[])), (2, flags(&[]))]);
    assert_eq!(
        mailbox_state(&dc, "Projects"),
        vec![(1, flags(&["\\Seen"])), (20, flags(&[]))]
    );
    // Journaled where it is: a rerun finds nothing to do.
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .arg("--propagate-deletes")
        .report(&tmp.path().join("sync2.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.report["totals"]["migrated"], 0, "{}", o.report);
    assert_eq!(mailbox_state(&dc, "Projects").len(), 2);
}

#[test]
fn a_copy_a_killed_sync_moved_is_moved_on_when_its_item_moved_again_in_kerio() {
    // The killed run recorded its move INBOX -> Projects, the server made
    // it, the journal never heard; in Kerio the item then moved on to
    // Clients. The next sync finds the copy in Projects (where the record
    // says it went) and moves it to Clients: not uploaded again, no copy
    // left behind in Projects.
    moved_on_after_a_kill(false);
}

#[test]
fn a_copy_the_server_stored_altered_is_moved_on_too() {
    // As above, the message with a NUL byte: Dovecot stores it with other
    // bytes and another size (journaled as its stored size). It is looked
    // for in Projects by that size; by the source's it was not found, so
    // it stayed there while a second copy was uploaded into Clients
    // (helper-60).
    moved_on_after_a_kill(true);
}

fn moved_on_after_a_kill(nul: bool) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dc = crate::sync::dovecot();
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store_with_projects(tmp.path());
    if nul {
        let inbox = st.folder_dir(ACCOUNT, "INBOX");
        // A binary part with NULs: Dovecot stores it as base64.
        let text = message(1, "message 1").replace(
            "\n\n",
            "\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\n\
             Content-Transfer-Encoding: binary\nContent-Type: application/octet-stream\n\n\
             A\0B\0C\0\n--b1--\n",
        );
        st.item(ACCOUNT, "INBOX", "00000002", text.as_bytes());
        let lines: Vec<String> = ["00000001", "00000002", "00000003"]
            .iter()
            .map(|id| line_of(&inbox, id))
            .collect();
        st.index(ACCOUNT, "INBOX", &lines);
    }
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    if nul {
        assert!(
            o.stdout.contains("ALTERED"),
            "Dovecot stores it altered: {o}"
        );
    }
    killed_run_moved_message_1_to_projects(&dc);
    killed_run_recorded_its_move(tmp.path());
    // In Kerio: INBOX item 2 is now in Clients (through Projects).
    move_message_1_to_clients(&st);

    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .arg("--propagate-deletes")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let fr = folder_report(&o.report, "Clients");
    assert_eq!(fr["sync"]["moved_in"], 1, "{fr}");
    assert_eq!(fr["counts"]["migrated"], 0, "moved, not uploaded: {fr}");
    assert!(
        o.report.to_string().contains("moved on from there"),
        "the report says so: {}",
        o.report
    );
    assert_eq!(mailbox_state(&dc, "Clients"), vec![(1, flags(&[]))]);
    assert_eq!(
        mailbox_state(&dc, "Projects"),
        vec![(20, flags(&[]))],
        "nothing left behind"
    );
    assert_eq!(server_state(&dc), vec![(0, flags(&[])), (2, flags(&[]))]);
    // The record is gone with the move journaled: a rerun does nothing.
    assert_eq!(moving_records(tmp.path()), 0);
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .arg("--propagate-deletes")
        .report(&tmp.path().join("sync2.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.report["totals"]["migrated"], 0, "{}", o.report);
    assert_eq!(mailbox_state(&dc, "Clients").len(), 1);
    assert_eq!(mailbox_state(&dc, "Projects").len(), 1);
}

/// What a sync killed after its UID MOVE of message 1 (INBOX item 2) into
/// Projects left on the server: the move made, nothing journaled.
fn killed_run_moved_message_1_to_projects(dc: &Dovecot) {
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    let (_, s) = c.cmd("SELECT INBOX");
    assert!(s.starts_with("OK"), "SELECT: {s}");
    let (lines, s) = c.cmd("UID SEARCH HEADER Message-ID \"<1.sync@gen.test>\"");
    assert!(s.starts_with("OK"), "SEARCH: {s}");
    let uid = lines
        .iter()
        .map(|l| String::from_utf8_lossy(l).to_string())
        .find_map(|l| l.strip_prefix("* SEARCH ").map(|u| u.trim().to_string()))
        .expect("message 1 in the INBOX");
    let (_, s) = c.cmd(&format!("UID MOVE {uid} Projects"));
    assert!(s.starts_with("OK"), "MOVE: {s}");
}

/// Item 2 of the INBOX (message 1) taken out of it in Kerio: its bytes, and
/// the index lines of the items left (1 and 3), not written yet.
fn take_inbox_item_2(st: &StoreBuilder) -> (Vec<u8>, Vec<String>) {
    let inbox = st.folder_dir(ACCOUNT, "INBOX");
    let bytes = fs::read(inbox.join("#msgs/00000002.eml")).expect("item");
    fs::remove_file(inbox.join("#msgs/00000002.eml")).expect("rm");
    let left = ["00000001", "00000003"]
        .iter()
        .map(|id| line_of(&inbox, id))
        .collect();
    (bytes, left)
}

/// In Kerio, message 1 (INBOX item 2) moves to Clients, a folder new there
/// (its item 1).
fn move_message_1_to_clients(st: &StoreBuilder) {
    let (bytes, left) = take_inbox_item_2(st);
    st.index(ACCOUNT, "INBOX", &left);
    backdate(&st.item(ACCOUNT, "Clients", "00000001", &bytes));
    let clients = st.folder_dir(ACCOUNT, "Clients");
    st.index(ACCOUNT, "Clients", &[line_of(&clients, "00000001")]);
}

#[test]
fn a_copy_a_killed_sync_moved_comes_back_when_its_item_moved_back_in_kerio() {
    // As above, but in Kerio the item went back to the INBOX (a new id
    // there): the copy the killed run put in Projects is moved back, not
    // left there while a second one is uploaded into the INBOX.
    let (tmp, dc, to, st) = after_a_killed_move();
    message_1_back_in_the_inbox(&st, 0);

    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .arg("--propagate-deletes")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let fr = folder_report(&o.report, "INBOX");
    assert_eq!(
        fr["counts"]["migrated"], 0,
        "moved back, not uploaded: {fr}"
    );
    assert_eq!(fr["sync"]["gone_from_target"], 0, "{fr}");
    assert_eq!(fr["sync"]["moved_in"], 1, "{fr}");
    assert_eq!(
        mailbox_state(&dc, "Projects"),
        vec![(20, flags(&[]))],
        "nothing left behind"
    );
    assert_eq!(
        server_state(&dc),
        vec![(0, flags(&[])), (1, flags(&[])), (2, flags(&[]))]
    );
    assert_eq!(moving_records(tmp.path()), 0);
}

/// What a sync killed after its UID MOVE of message 1 into Projects had
/// recorded in the journal before sending it.
fn killed_run_recorded_its_move(dir: &Path) {
    let j = rusqlite::Connection::open(dir.join("journal.sqlite")).expect("journal");
    let n = j
        .execute(
            "INSERT INTO moving (target, account, folder, item, hash, mailbox)
             SELECT target, account, folder, item, hash, 'Projects' FROM items
             WHERE folder = 'INBOX' AND item = '00000002'",
            [],
        )
        .expect("the killed run's record");
    assert_eq!(n, 1);
}

/// The journal's records of moves not journaled.
fn moving_records(dir: &Path) -> i64 {
    let j = rusqlite::Connection::open(dir.join("journal.sqlite")).expect("journal");
    j.query_row("SELECT COUNT(*) FROM moving", [], |r| r.get(0))
        .expect("count")
}

#[test]
fn a_message_moved_out_and_back_between_two_syncs_keeps_its_one_copy() {
    // In Kerio message 1 left the INBOX and came back (a new id there,
    // now flagged) between two syncs: the sync sees item 2 gone and item
    // 4 new with the same content. Its copy is kept and its row re-keyed;
    // before, item 4 was uploaded beside it (two copies without
    // --propagate-deletes; deleted and uploaded again with it).
    let crate::sync::Migrated { dc, tmp, to, st } = crate::sync::migrated(3, |_| 0);
    message_1_back_in_the_inbox(&st, 0x4);

    let report = tmp.path().join("sync.json");
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    let fr = folder_report(&o.report, "INBOX");
    assert_eq!(fr["counts"]["migrated"], 0, "not uploaded again: {fr}");
    assert_eq!(fr["counts"]["already_present"], 3, "{fr}");
    assert_eq!(fr["sync"]["deleted_at_source"], 0, "{fr}");
    assert_eq!(fr["sync"]["came_back"], 1, "{fr}");
    assert_eq!(fr["sync"]["moved_in"], 0, "{fr}");
    let notes = fr["notes"].to_string();
    assert!(
        notes.contains("came back into it under a new id"),
        "{notes}"
    );
    assert_eq!(
        server_state(&dc),
        vec![(0, flags(&[])), (1, flags(&["\\Flagged"])), (2, flags(&[]))],
        "one copy each, the flag Kerio has now"
    );
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.report["totals"]["migrated"], 0, "{o}");
    assert_eq!(server_state(&dc).len(), 3);
}

/// In Kerio, message 1 (INBOX item 2) is back in the INBOX under a new id
/// (item 4) with the index flags `flags`, as after a move out and back.
fn message_1_back_in_the_inbox(st: &StoreBuilder, flags: u32) {
    let (bytes, mut lines) = take_inbox_item_2(st);
    backdate(&st.item(ACCOUNT, "INBOX", "00000004", &bytes));
    let (t, size) = (0x5a4a0000, bytes.len());
    lines.push(index_line("00000004", flags, size, t, t, t));
    st.index(ACCOUNT, "INBOX", &lines);
}

#[test]
fn a_message_deleted_in_kerio_that_a_killed_sync_moved_is_removed_where_it_went() {
    // The killed run recorded (and made) its move of message 1 into
    // Projects; in Kerio the item was then deleted. With
    // --propagate-deletes the copy is removed from Projects, where the
    // record says it went (before, it stayed there while the INBOX pass
    // found its journaled copy "already gone"); its row is forgotten and,
    // at the account's end, the record with it: a clean run leaves no
    // record behind (helper-60 counted 1-17 after clean runs).
    let (tmp, dc, to, st) = after_a_killed_move();
    let (_, left) = take_inbox_item_2(&st);
    st.index(ACCOUNT, "INBOX", &left);

    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .arg("--propagate-deletes")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert!(
        o.report
            .to_string()
            .contains("moved into Projects and not journaled were removed from there"),
        "{}",
        o.report
    );
    assert_eq!(mailbox_state(&dc, "Projects"), vec![(20, flags(&[]))]);
    assert_eq!(server_state(&dc), vec![(0, flags(&[])), (2, flags(&[]))]);
    assert_eq!(moving_records(tmp.path()), 0);
    let o = run("verify", &st.install, &to, tmp.path())
        .arg("--json")
        .run();
    assert_eq!(o.code, 0, "{}", o.stdout);
}

/// Bob's store with Projects, migrated to a new Dovecot: the directory, the
/// server, its URL and the store.
fn projects_migrated() -> (tempfile::TempDir, Dovecot, String, StoreBuilder) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dc = crate::sync::dovecot();
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store_with_projects(tmp.path());
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    (tmp, dc, to, st)
}

/// Bob's store with Projects, migrated, then a sync killed after its UID
/// MOVE of message 1 into Projects, which it had recorded: the directory,
/// the server, its URL and the store.
fn after_a_killed_move() -> (tempfile::TempDir, Dovecot, String, StoreBuilder) {
    let (tmp, dc, to, st) = projects_migrated();
    killed_run_moved_message_1_to_projects(&dc);
    killed_run_recorded_its_move(tmp.path());
    (tmp, dc, to, st)
}
