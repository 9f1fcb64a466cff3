//! A rerun with a journal, into a mailbox where someone else put a copy of
//! a message that is new at the source (another tool, a second migration
//! with its own journal): the copy is found among the messages the journal
//! does not account for (asked of the server with `UID SEARCH NOT UID`),
//! reported, and not uploaded a second time; the journal records the
//! flags that copy has (IMAP and Maildir), so the next sync gives it the
//! source's.

use crate::support::imap::Imap;
use crate::support::store::line_of;
use crate::sync::{backdate, flags, mailbox_state, message, migrated, run, Migrated, ACCOUNT};

#[test]
fn a_copy_someone_else_put_there_is_adopted_not_uploaded_again() {
    let Migrated { dc, tmp, to, st } = migrated(3, |_| 0);
    // Someone else appends message 3 (as it will be sent: CRLF) and an
    // unrelated message 77, before message 3 reaches Kerio's store.
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    for m in [message(3, "message 3"), message(77, "not from the store")] {
        let m = m.replace('\n', "\r\n");
        let (_, s) = c.cmd(&format!("APPEND INBOX {{{}+}}\r\n{m}", m.len()));
        assert!(s.starts_with("OK"), "APPEND: {s}");
    }
    drop(c);
    let new = message(3, "message 3");
    backdate(&st.item(ACCOUNT, "INBOX", "00000004", new.as_bytes()));
    let dir = st.folder_dir(ACCOUNT, "INBOX");
    let lines: Vec<String> = (1..=4)
        .map(|i| line_of(&dir, &crate::support::store::item_id(i)))
        .collect();
    st.index(ACCOUNT, "INBOX", &lines);

    let o = run("migrate", &st.install, &to, tmp.path())
        .report(&tmp.path().join("rerun.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let inbox = crate::sync_moves::folder_report(&o.report, "INBOX");
    assert_eq!(inbox["counts"]["migrated"], 0, "{inbox}");
    assert_eq!(inbox["counts"]["already_present"], 4, "{inbox}");
    let notes = inbox["notes"].to_string();
    assert!(
        notes.contains(
            "2 message(s) in \\\"INBOX\\\" on the server that the journal does not account for"
        ) && notes.contains("1 found (not sent); the other 1 match no item of this folder"),
        "{notes}"
    );
    let on_server: Vec<usize> = mailbox_state(&dc, "INBOX")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(on_server, vec![0, 1, 2, 3, 77]);
}

/// A mailbox deleted and created again on the server (a new UIDVALIDITY)
/// between runs, with one of the messages put back by someone: the
/// journal's rows of the old mailbox prove nothing, so a rerun sends the
/// folder again, except the message already there, and ends exact.
#[test]
fn a_mailbox_recreated_on_the_server_is_filled_again_without_duplicates() {
    let dc = crate::sync::dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = crate::sync::store(tmp.path(), 1, |_| 0);
    let items = st.messages(ACCOUNT, "Projects", 3, |i| message(10 + i, "in Projects"));
    let dir = st.folder_dir(ACCOUNT, "Projects");
    let lines: Vec<String> = items.iter().map(|(id, _)| line_of(&dir, id)).collect();
    st.index(ACCOUNT, "Projects", &lines);
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    for cmd in ["DELETE Projects", "CREATE Projects"] {
        let (_, s) = c.cmd(cmd);
        assert!(s.starts_with("OK"), "{cmd}: {s}");
    }
    let back = message(11, "in Projects").replace('\n', "\r\n");
    let (_, s) = c.cmd(&format!("APPEND Projects {{{}+}}\r\n{back}", back.len()));
    assert!(s.starts_with("OK"), "APPEND: {s}");
    drop(c);
    let o = run("migrate", &st.install, &to, tmp.path())
        .report(&tmp.path().join("rerun.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let p = crate::sync_moves::folder_report(&o.report, "Projects");
    assert_eq!(p["counts"]["migrated"], 2, "{p}");
    assert_eq!(p["counts"]["already_present"], 1, "{p}");
    assert!(
        p["notes"].to_string().contains("another UIDVALIDITY"),
        "{p}"
    );
    let numbers: Vec<usize> = mailbox_state(&dc, "Projects")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(numbers, vec![10, 11, 12]);
    let o = run("verify", &st.install, &to, tmp.path())
        .arg("--json")
        .run();
    assert_eq!(o.code, 0, "{}", o.stdout);
}

/// Two items share a Message-ID: A' (A with a header line added, first in
/// the folder) and A. The server holds a copy of A (byte for byte), and the
/// journal is gone. A's copy is A's (found by its bytes), not A''s (which
/// only matches by Message-ID): A' is uploaded, A is not uploaded again.
#[test]
fn a_copy_goes_to_the_message_with_its_bytes_before_one_with_its_message_id() {
    let dc = crate::sync::dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = crate::support::store::StoreBuilder::new(&tmp.path().join("kerio"));
    let a = message(5, "the original");
    let edited = a.replacen("Subject:", "X-Edited: yes\nSubject:", 1);
    backdate(&st.item(ACCOUNT, "INBOX", "00000001", edited.as_bytes()));
    backdate(&st.item(ACCOUNT, "INBOX", "00000002", a.as_bytes()));
    let dir = st.folder_dir(ACCOUNT, "INBOX");
    st.index(
        ACCOUNT,
        "INBOX",
        &[line_of(&dir, "00000001"), line_of(&dir, "00000002")],
    );
    // A's copy on the server, dated as the tool dates it (index T field).
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    let wire = a.replace('\n', "\r\n");
    let (_, s) = c.cmd(&format!(
        "APPEND INBOX \"01-Jan-2018 09:31:44 +0000\" {{{}+}}\r\n{wire}",
        wire.len()
    ));
    assert!(s.starts_with("OK"), "APPEND: {s}");
    drop(c);
    let o = run("migrate", &st.install, &to, tmp.path())
        .report(&tmp.path().join("r.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let inbox = crate::sync_moves::folder_report(&o.report, "INBOX");
    assert_eq!(
        (
            &inbox["counts"]["migrated"],
            &inbox["counts"]["already_present"]
        ),
        (&1.into(), &1.into()),
        "{inbox}"
    );
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    let bodies: Vec<String> = c
        .fetch_all("INBOX")
        .into_iter()
        .map(|m| String::from_utf8_lossy(&m.body).replace("\r\n", "\n"))
        .collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(
        bodies.contains(&a) && bodies.contains(&edited),
        "{bodies:?}"
    );
    let o = run("verify", &st.install, &to, tmp.path())
        .args(["--deep", "--json"])
        .run();
    assert_eq!(o.code, 0, "{}", o.stdout);
}

/// Copies someone else put on the server, with flags of their own: the
/// first run adopts them, and the journal records the flags they have
/// there (not the source's), so the next sync sets what differs. Message
/// 0 is read in Kerio and unread on the target; message 1 is flagged in
/// Kerio and read and flagged on the target.
#[test]
fn adopted_copies_get_the_source_flags_on_the_next_sync() {
    let dc = crate::sync::dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = crate::sync::store(tmp.path(), 2, |i| [0x1, 0x4][i]);
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    for (i, f) in [(0, "()"), (1, "(\\Seen \\Flagged)")] {
        let m = message(i, &format!("message {i}")).replace('\n', "\r\n");
        let (_, s) = c.cmd(&format!("APPEND INBOX {f} {{{}+}}\r\n{m}", m.len()));
        assert!(s.starts_with("OK"), "APPEND: {s}");
    }
    drop(c);
    let o = run("migrate", &st.install, &to, tmp.path())
        .report(&tmp.path().join("first.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let inbox = crate::sync_moves::folder_report(&o.report, "INBOX");
    assert_eq!(inbox["counts"]["migrated"], 0, "{inbox}");
    assert_eq!(inbox["counts"]["already_present"], 2, "{inbox}");
    assert_eq!(
        mailbox_state(&dc, "INBOX"),
        vec![(0, flags(&[])), (1, flags(&["\\Flagged", "\\Seen"]))],
        "adopting sets no flags"
    );
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(
        mailbox_state(&dc, "INBOX"),
        vec![(0, flags(&["\\Seen"])), (1, flags(&["\\Flagged"]))],
        "{}",
        o.report
    );
    let inbox = crate::sync_moves::folder_report(&o.report, "INBOX");
    assert_eq!(inbox["counts"]["migrated"], 0, "{inbox}");
}

/// The same into Maildir: the journal is lost and a reader changed the
/// flags of our files since (their `:2,` info). The rerun finds the files
/// by their names and journals the flags the names have, so the next sync
/// renames them back to the source's.
#[test]
fn maildir_files_found_again_get_the_source_flags_on_the_next_sync() {
    use crate::support::Run;
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("md");
    let st = crate::sync::store(tmp.path(), 2, |i| [0x1, 0x0][i]);
    let o = Run::migrate_to_maildir(&st.install, &out).run();
    assert_eq!(o.code, 0, "{o}");
    let inbox = out.join(ACCOUNT);
    let state = || crate::sync::maildir_folder_state(&inbox);
    assert_eq!(state(), vec![(0, "S".into()), (1, "".into())]);
    std::fs::remove_file(out.join("kerio-migrate-journal.sqlite")).expect("journal");
    for path in crate::support::maildir_messages(&inbox).into_values() {
        let name = path.to_string_lossy().into_owned();
        let to = match name.strip_suffix(":2,S") {
            Some(stem) => format!("{stem}:2,"),
            None => format!("{name}FS"),
        };
        std::fs::rename(&path, &to).expect("rename");
    }
    let read = state();
    assert_eq!(read, vec![(0, "".into()), (1, "FS".into())]);
    let o = Run::migrate_to_maildir(&st.install, &out)
        .report(&tmp.path().join("rerun.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let f = crate::sync_moves::folder_report(&o.report, "INBOX");
    assert_eq!(f["counts"]["already_present"], 2, "{f}");
    assert_eq!(state(), read, "finding a file changes nothing");
    let o = Run::migrate_to_maildir(&st.install, &out)
        .arg("--sync")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let f = crate::sync_moves::folder_report(&o.report, "INBOX");
    assert_eq!(f["sync"]["flags_set"], 2, "{f}");
    assert_eq!(state(), vec![(0, "S".into()), (1, "".into())]);
}
