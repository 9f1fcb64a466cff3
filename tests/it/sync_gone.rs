//! A copy this tool put on the target and someone removed there, while the
//! item is still in Kerio: `verify` calls it missing, and `migrate --sync`
//! now sends it again (the mailbox has the journaled UIDVALIDITY and not the
//! UID, or the Maildir has no file of ours of that name), counted as
//! `sent_again` with a note; a sync after that sends nothing.

use crate::support::imap::Imap;
use crate::support::Run;
use crate::sync::{backdate, flags, maildir_folder_state, run, server_state, Migrated, ACCOUNT};

/// Bob's INBOX of `n` messages (item `i` with index flags `flags(i)`),
/// every file written an hour ago (a message sent again is read like a
/// new one, and a file of the last minute would be left settling),
/// migrated once into a private Dovecot.
fn migrated(n: usize, flags: impl Fn(usize) -> u32) -> Migrated {
    let dc = crate::sync::dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = old_store(tmp.path(), n, flags);
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    Migrated { dc, tmp, to, st }
}

fn old_store(
    dir: &std::path::Path,
    n: usize,
    flags: impl Fn(usize) -> u32,
) -> crate::support::store::StoreBuilder {
    let st = crate::sync::store(dir, n, flags);
    let msgs = st.folder_dir(ACCOUNT, "INBOX").join("#msgs");
    for e in std::fs::read_dir(msgs).expect("#msgs").flatten() {
        backdate(&e.path());
    }
    st
}

#[test]
fn a_copy_deleted_on_the_target_is_sent_again_by_sync() {
    let Migrated { dc, tmp, to, st } = migrated(3, |i| [0x0, 0x1, 0x0][i]);
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
    assert_eq!(server_state(&dc), vec![(0, flags(&[])), (2, flags(&[]))]);
    let o = run("verify", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 3, "{o}");

    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(
        server_state(&dc),
        vec![(0, flags(&[])), (1, flags(&["\\Seen"])), (2, flags(&[]))]
    );
    let f = crate::sync_moves::folder_report(&o.report, "INBOX");
    assert_eq!(f["sync"]["sent_again"], 1, "{f}");
    assert_eq!(f["counts"]["migrated"], 1, "{f}");
    assert_eq!(f["counts"]["already_present"], 2, "{f}");
    assert!(
        f["notes"]
            .to_string()
            .contains("1 messages still at the source were gone from the target"),
        "{f}"
    );
    let o = run("verify", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");

    // Nothing is gone now: the next sync sends nothing.
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&tmp.path().join("again.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let f = crate::sync_moves::folder_report(&o.report, "INBOX");
    assert_eq!(f["sync"]["sent_again"], 0, "{f}");
    assert_eq!(f["counts"]["migrated"], 0, "{f}");
    assert_eq!(server_state(&dc).len(), 3);
}

/// A plain rerun (no `--sync`) only adds new items: it does not look.
#[test]
fn a_rerun_without_sync_leaves_a_copy_deleted_on_the_target_alone() {
    let Migrated { dc, tmp, to, st } = migrated(2, |_| 0);
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    for cmd in [
        "SELECT INBOX",
        "UID STORE 1 +FLAGS.SILENT (\\Deleted)",
        "EXPUNGE",
    ] {
        let (_, s) = c.cmd(cmd);
        assert!(s.starts_with("OK"), "{cmd}: {s}");
    }
    drop(c);
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(server_state(&dc), vec![(1, flags(&[]))]);
}

#[test]
fn a_maildir_file_deleted_on_the_target_is_written_again_by_sync() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("md");
    let st = old_store(tmp.path(), 3, |i| [0x0, 0x1, 0x0][i]);
    let o = Run::migrate_to_maildir(&st.install, &out).run();
    assert_eq!(o.code, 0, "{o}");
    let inbox = out.join(ACCOUNT);
    let files = crate::support::maildir_messages(&inbox);
    let second = files
        .values()
        .find(|p| p.to_string_lossy().ends_with(":2,S"))
        .expect("the read message");
    std::fs::remove_file(second).expect("rm");
    let o = Run::migrate_to_maildir(&st.install, &out)
        .arg("--sync")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(
        maildir_folder_state(&inbox),
        vec![(0, "".into()), (1, "S".into()), (2, "".into())]
    );
    let f = crate::sync_moves::folder_report(&o.report, "INBOX");
    assert_eq!(f["sync"]["sent_again"], 1, "{f}");
    assert_eq!(f["counts"]["migrated"], 1, "{f}");
}
