//! `migrate --sync` and folders renamed in Kerio: renamed on the target
//! (IMAP RENAME with the sub-folders; Maildir++ directories with their
//! `.A.B` children), the journal following, nothing uploaded again and
//! nothing counted deleted; a new name whose mailbox exists already is not
//! renamed, its messages moved there and the report saying so.

use crate::support::dovecot::Dovecot;
use crate::support::imap::Imap;
use crate::support::run::Outcome;
use crate::support::store::{index_line, StoreBuilder};
use crate::support::*;
use crate::sync::{flags, mailbox_state, maildir_folder_state, message, run, store, ACCOUNT};
use crate::sync_moves::folder_report;
use std::fs;
use std::path::Path;

/// One message (`n`) in a folder of Bob's.
fn folder_with(st: &StoreBuilder, folder: &str, n: usize) {
    let m = message(n, &format!("message {n} in {folder}"));
    st.item(ACCOUNT, folder, "00000001", m.as_bytes());
    st.index(
        ACCOUNT,
        folder,
        &[index_line(
            "00000001",
            0,
            m.len(),
            0x5a4a0000,
            0x5a4a0000,
            0x5a4a0000,
        )],
    );
}

/// A private Dovecot and [`store_with_tree`] migrated into it over
/// `127.0.0.1`: the server, the work directory, the URL and the store.
fn tree_migrated() -> (Dovecot, tempfile::TempDir, String, StoreBuilder) {
    let dc = crate::sync::dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store_with_tree(tmp.path());
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    (dc, tmp, to, st)
}

/// INBOX (0, 1, 2), Projects (20) and Projects/Sub (30).
fn store_with_tree(dir: &Path) -> StoreBuilder {
    let st = store(dir, 3, |_| 0);
    folder_with(&st, "Projects", 20);
    folder_with(&st, "Projects/Sub", 30);
    st
}

/// Renames folder `from` (its directory, sub-folders inside) in Kerio.
fn rename_in_kerio(st: &StoreBuilder, from: &str, to: &str) {
    fs::rename(st.folder_dir(ACCOUNT, from), st.folder_dir(ACCOUNT, to)).expect("rename");
}

/// `want` is among the account's notes in the JSON report and in the
/// text report.
fn assert_note(o: &Outcome, want: &str) {
    let notes = &o.report["accounts"][0]["notes"];
    let found = notes
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n.as_str().is_some_and(|n| n.contains(want)));
    assert!(found, "{want:?} not in {notes}");
    assert!(
        o.stdout.contains(want),
        "{want:?} not in the text report:\n{}",
        o.stdout
    );
}

/// Nothing uploaded, nothing deleted at the source anywhere.
fn assert_nothing_uploaded(report: &serde_json::Value) {
    assert_eq!(report["totals"]["migrated"], 0, "{report}");
    for f in report["accounts"][0]["folders"]
        .as_array()
        .expect("folders")
    {
        assert_eq!(f["sync"]["deleted_at_source"], 0, "{f}");
    }
}

#[test]
fn a_folder_renamed_in_kerio_is_renamed_on_the_server_with_its_sub_folders() {
    let (dc, tmp, to, st) = tree_migrated();
    rename_in_kerio(&st, "Projects", "Clients");

    let report = tmp.path().join("sync.json");
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_note(&o, "folder renamed: Projects -> Clients (2 messages");
    assert_nothing_uploaded(&o.report);
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    let names = c.list_names();
    assert!(
        !names.iter().any(|n| n.starts_with("Projects")),
        "{names:?}"
    );
    assert_eq!(mailbox_state(&dc, "Clients"), vec![(20, flags(&[]))]);
    assert_eq!(mailbox_state(&dc, "Clients/Sub"), vec![(30, flags(&[]))]);
    assert_eq!(mailbox_state(&dc, "INBOX").len(), 3);
    // verify agrees, and a rerun changes nothing.
    let o = run("verify", &st.install, &to, tmp.path())
        .arg("--json")
        .run();
    assert_eq!(o.code, 0, "{}", o.stdout);
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&report)
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_nothing_uploaded(&o.report);
    assert_eq!(mailbox_state(&dc, "Clients").len(), 1);
    assert_eq!(mailbox_state(&dc, "Clients/Sub").len(), 1);
}

#[test]
fn a_folder_renamed_in_kerio_is_a_renamed_maildir_with_its_children() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("md");
    let st = store_with_tree(tmp.path());
    let o = Run::migrate_to_maildir(&st.install, &out).run();
    assert_eq!(o.code, 0, "{o}");
    rename_in_kerio(&st, "Projects", "Clients");
    let o = Run::migrate_to_maildir(&st.install, &out)
        .arg("--sync")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_note(&o, "folder renamed: Projects -> Clients (2 messages");
    assert_nothing_uploaded(&o.report);
    let acc = out.join(ACCOUNT);
    assert!(!acc.join(".Projects").exists() && !acc.join(".Projects.Sub").exists());
    assert_eq!(
        maildir_folder_state(&acc.join(".Clients")),
        vec![(20, "".into())]
    );
    assert_eq!(
        maildir_folder_state(&acc.join(".Clients.Sub")),
        vec![(30, "".into())]
    );
    let o = Run::migrate_to_maildir(&st.install, &out)
        .arg("--sync")
        .report(&tmp.path().join("sync2.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_nothing_uploaded(&o.report);
}

#[test]
fn a_folder_renamed_onto_an_existing_mailbox_is_not_renamed_its_messages_move() {
    let dc: Dovecot = crate::sync::dovecot();
    let tmp = tempfile::tempdir().expect("tmp");
    let to = format!("imap://127.0.0.1:{}", dc.imap_port);
    let st = store(tmp.path(), 3, |_| 0);
    folder_with(&st, "Projects", 20);
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{o}");
    // Bob's own "Done" on the server, with someone else's message.
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    let (_, st_create) = c.cmd("CREATE Done");
    assert!(st_create.starts_with("OK"), "{st_create}");
    let body = message(99, "someone else's").replace('\n', "\r\n");
    let (_, ok) = c.cmd(&format!("APPEND Done {{{}+}}\r\n{body}", body.len()));
    assert!(ok.starts_with("OK"), "{ok}");
    rename_in_kerio(&st, "Projects", "Done");

    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_note(
        &o,
        "folder renamed in Kerio: Projects -> Done, but mailbox \"Done\" exists",
    );
    assert_eq!(folder_report(&o.report, "Done")["sync"]["moved_in"], 1);
    assert_nothing_uploaded(&o.report);
    assert_eq!(
        mailbox_state(&dc, "Done"),
        vec![(20, flags(&[])), (99, flags(&[]))]
    );
    assert_eq!(mailbox_state(&dc, "Projects"), vec![]);
}

/// The same server under another URL (`localhost` for `127.0.0.1`): the
/// journal's rows are keyed by URL, so the first sync under the new one
/// takes over the rows of every folder the store had (the renamed one
/// too) before it looks for renames and moves: the rename is carried,
/// nothing is uploaded again, no folder appears twice.
#[test]
fn a_rename_is_carried_by_the_first_sync_under_another_url_of_the_server() {
    let (dc, tmp, _, st) = tree_migrated();
    rename_in_kerio(&st, "Projects", "Clients");

    let other = format!("imap://localhost:{}", dc.imap_port);
    let o = run("migrate", &st.install, &other, tmp.path())
        .arg("--sync")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_note(&o, "folder renamed: Projects -> Clients (2 messages");
    assert_note(&o, "taken over");
    assert_nothing_uploaded(&o.report);
    let mut c = Imap::login(dc.imap_port, "bob", "secret");
    let names = c.list_names();
    assert!(
        !names.iter().any(|n| n.starts_with("Projects")),
        "{names:?}"
    );
    assert_eq!(mailbox_state(&dc, "Clients"), vec![(20, flags(&[]))]);
    assert_eq!(mailbox_state(&dc, "Clients/Sub"), vec![(30, flags(&[]))]);
    assert_eq!(mailbox_state(&dc, "INBOX").len(), 3);
    let o = run("verify", &st.install, &other, tmp.path())
        .arg("--json")
        .run();
    assert_eq!(o.code, 0, "{}", o.stdout);
}

/// `verify` under another URL of the same server than the migration's
/// takes the journal's rows over as `migrate` does (they are keyed by
/// URL): everything is found present, nothing reported missing.
#[test]
fn verify_under_another_url_of_the_server_takes_the_rows_over() {
    let (dc, tmp, to, st) = tree_migrated();
    let other = format!("imap://localhost:{}", dc.imap_port);
    let o = run("verify", &st.install, &other, tmp.path())
        .arg("--json")
        .run();
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert!(o.stdout.contains("taken over"), "{}", o.stdout);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(v["totals"]["missing_on_target"], 0, "{}", o.stdout);
    assert_eq!(v["totals"]["not_migrated"], 0, "{}", o.stdout);
    assert_eq!(v["totals"]["present"], 5, "{}", o.stdout);
    // The rows verify took are taken back by the next run under the URL
    // of the migration (the identity of the URL they went to is recorded
    // with them): a rename since is carried, nothing uploaded again.
    // Before, that sync found the journal empty and uploaded everything
    // moved or renamed beside its old copy (helper-60: 137 duplicates).
    rename_in_kerio(&st, "Projects", "Clients");
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_note(&o, "folder renamed: Projects -> Clients (2 messages");
    assert_nothing_uploaded(&o.report);
    assert_eq!(mailbox_state(&dc, "Clients"), vec![(20, flags(&[]))]);
    assert_eq!(mailbox_state(&dc, "INBOX").len(), 3);
}

/// A folder deleted in Kerio: `--sync --propagate-deletes` leaves its
/// messages on the target (it removes messages, not folders) and says so
/// with the count and the mailbox.
#[test]
fn a_folder_deleted_in_kerio_is_named_with_what_it_left_on_the_target() {
    let (dc, tmp, to, st) = tree_migrated();
    fs::remove_dir_all(st.folder_dir(ACCOUNT, "Projects/Sub")).expect("rm");
    let o = run("migrate", &st.install, &to, tmp.path())
        .arg("--sync")
        .arg("--propagate-deletes")
        .report(&tmp.path().join("sync.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_note(
        &o,
        "folder \"Projects/Sub\" is gone from the store (deleted in Kerio",
    );
    assert_note(
        &o,
        "1 message(s) this tool put in \"Projects/Sub\" are still",
    );
    assert_nothing_uploaded(&o.report);
    assert_eq!(mailbox_state(&dc, "Projects/Sub"), vec![(30, flags(&[]))]);
    assert_eq!(mailbox_state(&dc, "Projects"), vec![(20, flags(&[]))]);
}
