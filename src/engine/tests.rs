//! The engine end to end on a small store in a temp dir, a real SQLite
//! journal, and the scripted destination of [`super::fake`]: counts,
//! buckets, reasons and journal rows for each way a run can go.

use super::fake::{FakeDest, Outcome, Script};
use super::{migrate, MigrateOptions};
use crate::dest::{DestRef, Reconciled};
use crate::journal::{ItemRow, Journal};
use crate::progress::{Progress, ProgressMode};
use crate::report::{FolderReport, Report, UidRange};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

const ANN: &str = "ann@example.com";

/// `00000001`, the id of the `n`th item.
fn id(n: u32) -> String {
    format!("{n:08x}")
}

fn message(n: u32) -> Vec<u8> {
    format!("From: a@example.com\nSubject: {n}\nMessage-ID: <{n}@example.com>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\nbody {n}\n").into_bytes()
}

/// Bytes the destination gets for `message(n)`.
fn prepared_len(n: u32) -> u64 {
    crate::message::prepare(message(n)).bytes.len() as u64
}

/// A store with one account, `ann@example.com`, and a journal beside it.
struct Env {
    tmp: tempfile::TempDir,
}

#[derive(Debug, PartialEq, Eq)]
struct Row {
    folder: String,
    item: String,
    state: String,
    src_mtime: Option<i64>,
    uid: Option<u32>,
}

impl Env {
    fn new() -> Env {
        Env {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn folder_dir(&self, folder: &str) -> PathBuf {
        self.tmp
            .path()
            .join("store/mail/example.com/ann")
            .join(folder)
    }

    fn file(&self, folder: &str, id: &str) -> PathBuf {
        self.folder_dir(folder)
            .join("#msgs")
            .join(format!("{id}.eml"))
    }

    fn write(&self, folder: &str, id: &str, bytes: &[u8]) -> PathBuf {
        let p = self.file(folder, id);
        std::fs::create_dir_all(p.parent().expect("#msgs")).expect("mkdir");
        std::fs::write(&p, bytes).expect("write item");
        p
    }

    /// Items 1..=n of `folder`.
    fn items(&self, folder: &str, n: u32) {
        for i in 1..=n {
            self.write(folder, &id(i), &message(i));
        }
    }

    fn journal_path(&self) -> PathBuf {
        self.tmp.path().join("state/j.sqlite")
    }

    fn journal(&self) -> Journal {
        Journal::open(&self.journal_path(), "fake:", "test").expect("journal")
    }

    /// Runs SQL on the journal behind the engine's back.
    fn sql(&self, sql: &str) {
        let c = rusqlite::Connection::open(self.journal_path()).expect("journal");
        c.execute_batch(sql).expect("sql");
    }

    fn run(&self, dest: &FakeDest, opts: &MigrateOptions) -> Report {
        self.run_with(&self.journal(), dest, opts)
    }

    fn run_with(&self, journal: &Journal, dest: &FakeDest, opts: &MigrateOptions) -> Report {
        self.run_on(journal, dest, opts, &AtomicBool::new(false))
    }

    fn run_on(
        &self,
        journal: &Journal,
        dest: &FakeDest,
        opts: &MigrateOptions,
        cancel: &AtomicBool,
    ) -> Report {
        let store = crate::source::open(self.tmp.path()).expect("store");
        let progress = Progress::new("test", Some(0), ProgressMode::Quiet);
        migrate(store.as_ref(), dest, journal, opts, &progress, cancel)
    }

    fn rows(&self) -> Vec<Row> {
        let c = rusqlite::Connection::open(self.journal_path()).expect("journal");
        let mut stmt = c
            .prepare(
                "SELECT folder, item, state, src_mtime, uid FROM items
                 ORDER BY folder, item, state, uid",
            )
            .expect("select");
        let rows = stmt
            .query_map([], |r| {
                Ok(Row {
                    folder: r.get(0)?,
                    item: r.get(1)?,
                    state: r.get(2)?,
                    src_mtime: r.get(3)?,
                    uid: r.get(4)?,
                })
            })
            .expect("rows");
        rows.collect::<Result<_, _>>().expect("rows")
    }

    fn mtime(&self, folder: &str, id: &str) -> i64 {
        let m = std::fs::metadata(self.file(folder, id)).expect("stat");
        filetime::FileTime::from_last_modification_time(&m).unix_seconds()
    }
}

fn row(folder: &str, n: u32, state: &str, uid: Option<u32>, mtime: Option<i64>) -> Row {
    Row {
        folder: folder.into(),
        item: id(n),
        state: state.into(),
        src_mtime: mtime,
        uid,
    }
}

fn folder<'r>(r: &'r Report, name: &str) -> &'r FolderReport {
    let mut found = r.accounts.iter().flat_map(|a| &a.folders);
    found
        .find(|f| f.folder == name)
        .unwrap_or_else(|| panic!("no folder {name} in {r:?}"))
}

/// (item, reason) of the skipped or failed notes.
fn notes(n: &[crate::report::ItemNote]) -> Vec<(String, String)> {
    n.iter()
        .map(|n| (n.item.clone(), n.reason.clone()))
        .collect()
}

/// The folder's `n` items are each in exactly one bucket: the counts add
/// up, and no item is listed twice among the skipped and failed.
fn one_bucket_each(f: &FolderReport, n: u64) {
    assert_eq!(f.counts.expected, n, "{}", f.folder);
    assert!(f.counts.balanced(), "{}: {:?}", f.folder, f.counts);
    let listed: Vec<&str> = f
        .skipped
        .iter()
        .chain(&f.failed)
        .map(|n| n.item.as_str())
        .collect();
    let distinct: HashSet<&str> = listed.iter().copied().collect();
    assert_eq!(listed.len(), distinct.len(), "{}: {listed:?}", f.folder);
}

/// The run stopped with a fatal error that says `what`.
fn fatal_says(r: &Report, what: &str) {
    assert!(
        r.fatal.as_deref().is_some_and(|f| f.contains(what)),
        "{:?}",
        r.fatal
    );
    assert_eq!(r.exit_code, 1);
}

fn all_with(n: &[crate::report::ItemNote], reason: &str) -> bool {
    n.iter().all(|n| n.reason == reason)
}

#[test]
fn each_destination_outcome_lands_in_its_bucket_and_only_arrivals_are_journaled() {
    let env = Env::new();
    env.items("INBOX", 5);
    env.write("INBOX", &id(6), b"");
    let dest = FakeDest::new(Script {
        outcomes: [
            (id(2), Outcome::Present),
            (id(3), Outcome::Fail("550 rejected")),
            (id(4), Outcome::Skip("NUL bytes (--nul skip)")),
        ]
        .into(),
        ..Script::default()
    });
    let r = env.run(&dest, &MigrateOptions::default());
    let f = folder(&r, "INBOX");
    one_bucket_each(f, 6);
    let c = &f.counts;
    assert_eq!(
        (c.migrated, c.already_present, c.skipped, c.failed),
        (2, 1, 2, 1)
    );
    assert_eq!(c.bytes_migrated, prepared_len(1) + prepared_len(5));
    assert_eq!(notes(&f.failed), vec![(id(3), "550 rejected".into())]);
    assert_eq!(
        notes(&f.skipped),
        vec![
            (id(4), "NUL bytes (--nul skip)".into()),
            (id(6), "empty file (0 bytes): nothing to migrate".into())
        ]
    );
    assert_eq!(f.anomalies.get("empty file"), Some(&1));
    // Counted for every message handed to the session.
    assert_eq!(f.date_sources, [("file mtime".to_string(), 5)].into());
    // UIDs 1, 2 (present: not in the range) and 3.
    let uids = UidRange {
        uid_validity: Some(7),
        first: 1,
        last: 3,
    };
    assert_eq!(f.target_uids, Some(uids));
    let stored: Vec<String> = dest.log().stored.iter().map(|s| s.1.clone()).collect();
    assert_eq!(stored, vec![id(1), id(5)]);
    let m = |n| Some(env.mtime("INBOX", &id(n)));
    assert_eq!(
        env.rows(),
        vec![
            row("INBOX", 1, "done", Some(1), m(1)),
            row("INBOX", 2, "done", Some(2), m(2)),
            row("INBOX", 5, "done", Some(3), m(5)),
        ]
    );
    assert_eq!((r.exit_code, r.fatal.as_deref()), (3, None));
}

#[test]
fn a_journal_that_fails_at_a_folders_start_sends_nothing_and_stops_the_run() {
    let env = Env::new();
    env.items("Archive", 2);
    env.items("INBOX", 3);
    let dest = FakeDest::new(Script::default());
    let journal = env.journal();
    env.sql("ALTER TABLE items RENAME TO items_gone");
    let r = env.run_with(&journal, &dest, &MigrateOptions::default());
    fatal_says(&r, "no such table: items");
    let first = folder(&r, "Archive");
    one_bucket_each(first, 2);
    assert_eq!(first.counts.skipped, 2);
    assert!(all_with(&first.skipped, "not attempted: journal error"));
    let second = folder(&r, "INBOX");
    one_bucket_each(second, 3);
    assert_eq!(second.counts.skipped, 3);
    assert!(all_with(&second.skipped, "not attempted: run stopped"));
    assert!(dest.log().taken.is_empty());
    assert!(r.totals.balanced());
}

#[test]
fn a_pending_group_the_journal_cannot_record_is_not_sent_and_the_run_stops() {
    let env = Env::new();
    env.items("INBOX", 3);
    env.items("Sent", 1);
    let dest = FakeDest::new(Script {
        announce: true,
        ..Script::default()
    });
    let journal = env.journal();
    env.sql(
        "CREATE TRIGGER no_pending BEFORE INSERT ON items WHEN NEW.state = 'pending'
         BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    );
    let r = env.run_with(&journal, &dest, &MigrateOptions::default());
    fatal_says(&r, "disk full");
    let inbox = folder(&r, "INBOX");
    one_bucket_each(inbox, 3);
    assert_eq!(
        notes(&inbox.failed),
        vec![(id(1), "journal unavailable: not sent".into())]
    );
    assert_eq!(
        notes(&inbox.skipped),
        vec![
            (id(2), "not attempted: run stopped".into()),
            (id(3), "not attempted: run stopped".into())
        ]
    );
    let sent = folder(&r, "Sent");
    one_bucket_each(sent, 1);
    assert!(all_with(&sent.skipped, "not attempted: run stopped"));
    let log = dest.log();
    assert_eq!(log.announced, vec![(vec![id(1)], false)]);
    assert!(log.stored.is_empty());
    assert!(env.rows().is_empty(), "{:?}", env.rows());
}

#[test]
fn an_announced_message_whose_fate_is_unknown_stays_pending_with_what_a_rerun_matches_on() {
    let env = Env::new();
    env.items("INBOX", 2);
    let dest = FakeDest::new(Script {
        announce: true,
        outcomes: [(id(1), Outcome::Silent)].into(),
        ..Script::default()
    });
    let r = env.run(&dest, &MigrateOptions::default());
    let f = folder(&r, "INBOX");
    one_bucket_each(f, 2);
    assert_eq!(f.counts.migrated, 1);
    assert_eq!(
        notes(&f.failed),
        vec![(
            id(1),
            "no outcome reported by the target (not attempted: run stopped)".into()
        )]
    );
    assert_eq!(
        dest.log().announced,
        vec![(vec![id(1)], true), (vec![id(2)], true)]
    );
    let prepared = crate::message::prepare(message(1));
    let mtime = env.mtime("INBOX", &id(1));
    let size = message(1).len() as u64;
    let pending = env.journal().pending_items(ANN, "INBOX").expect("pending");
    assert_eq!(
        pending,
        vec![crate::journal::PendingItem {
            item: id(1),
            hash: prepared.hash,
            mailbox: "INBOX".into(),
            marker: Some(format!("marker-{}", id(1))),
            size: Some(prepared.bytes.len() as u64),
            internal_date: Some(mtime),
            message_id: prepared.message_id,
            src_size: Some(size),
            src_mtime: Some(mtime),
            flags: Some(crate::model::MailFlags::default()),
        }]
    );
    // Its announcement became a done row once it arrived.
    let states: Vec<(String, String)> = env.rows().into_iter().map(|r| (r.item, r.state)).collect();
    assert_eq!(
        states,
        vec![(id(1), "pending".into()), (id(2), "done".into())]
    );
}

#[test]
fn a_destination_error_mid_stream_fails_the_rest_with_the_reason() {
    let env = Env::new();
    env.items("INBOX", 5);
    env.items("Sent", 1);
    let dest = FakeDest::new(Script {
        outcomes: [(id(2), Outcome::Silent)].into(),
        fail_after: Some((2, "connection reset by peer")),
        ..Script::default()
    });
    let r = env.run(&dest, &MigrateOptions::default());
    let inbox = folder(&r, "INBOX");
    one_bucket_each(inbox, 5);
    assert_eq!(inbox.counts.migrated, 1);
    let lost = "target error: connection reset by peer";
    assert_eq!(
        notes(&inbox.failed),
        vec![
            (id(3), lost.into()),
            (id(4), lost.into()),
            (id(5), lost.into()),
            (
                id(2),
                "no outcome reported by the target (target error: connection reset by peer)".into()
            ),
        ]
    );
    // The error ends the folder, not the account.
    let sent = folder(&r, "Sent");
    one_bucket_each(sent, 1);
    assert_eq!(sent.counts.migrated, 1);
    let m = |f, n| Some(env.mtime(f, &id(n)));
    assert_eq!(
        env.rows(),
        vec![
            row("INBOX", 1, "done", Some(1), m("INBOX", 1)),
            row("Sent", 1, "done", Some(2), m("Sent", 1)),
        ]
    );
    assert_eq!((r.exit_code, r.fatal.as_deref()), (3, None));
}

#[test]
fn a_session_that_stops_taking_leaves_the_unread_rest_failed() {
    let env = Env::new();
    env.items("INBOX", 6);
    let dest = FakeDest::new(Script {
        stop_after: Some(1),
        ..Script::default()
    });
    let opts = MigrateOptions {
        chunk: 1,
        queue: 1,
        ..MigrateOptions::default()
    };
    let r = env.run(&dest, &opts);
    let f = folder(&r, "INBOX");
    one_bucket_each(f, 6);
    assert_eq!(f.counts.migrated, 1);
    // Read but not taken (the queue and the chunk being read): skipped.
    // How many the producer had read when the session stopped depends on
    // the threads' timing (none yet, up to the queue plus a chunk, plus
    // the one being prepared): the bound, not the number, is asserted.
    assert!(all_with(&f.skipped, "not attempted: run stopped"));
    assert!(f.counts.skipped <= 3, "{:?}", f.counts);
    // Never read: the producer stopped at the next chunk.
    assert!(all_with(
        &f.failed,
        "not attempted: the target stopped taking messages"
    ));
    assert!(f.counts.failed >= 2, "{:?}", f.counts);
    assert_eq!(dest.log().taken, vec![id(1)]);
    assert_eq!(r.exit_code, 3);
}

#[test]
fn ctrl_c_mid_folder_sends_nothing_more_and_says_run_stopped() {
    let env = Env::new();
    env.items("INBOX", 6);
    env.items("Sent", 1);
    let cancel = Arc::new(AtomicBool::new(false));
    let dest = FakeDest::new(Script {
        cancel_after: Some((2, cancel.clone())),
        ..Script::default()
    });
    // Small chunks: some items are never read, and they too were stopped.
    let opts = MigrateOptions {
        chunk: 1,
        queue: 1,
        ..MigrateOptions::default()
    };
    let r = env.run_on(&env.journal(), &dest, &opts, &cancel);
    let inbox = folder(&r, "INBOX");
    one_bucket_each(inbox, 6);
    assert_eq!((inbox.counts.migrated, inbox.counts.skipped), (2, 4));
    assert!(all_with(&inbox.skipped, "not attempted: run stopped"));
    let sent = folder(&r, "Sent");
    one_bucket_each(sent, 1);
    assert!(all_with(&sent.skipped, "not attempted: run stopped"));
    assert_eq!(dest.log().taken, vec![id(1), id(2)]);
    assert!(r.interrupted);
    assert_eq!(r.exit_code, 4);
    let done: Vec<String> = env.rows().into_iter().map(|r| r.item).collect();
    assert_eq!(done, vec![id(1), id(2)]);
}

#[test]
fn a_rerun_skips_by_size_and_mtime_then_by_content_hash() {
    let env = Env::new();
    env.items("INBOX", 3);
    let first = env.run(&FakeDest::default(), &MigrateOptions::default());
    assert_eq!(folder(&first, "INBOX").counts.migrated, 3);

    // Same files: present by size and mtime, nothing read or sent.
    let dest = FakeDest::default();
    let r = env.run(&dest, &MigrateOptions::default());
    let f = folder(&r, "INBOX");
    one_bucket_each(f, 3);
    assert_eq!(f.counts.already_present, 3);
    assert!(dest.log().taken.is_empty());
    assert_eq!(r.exit_code, 0);

    // Item 1 touched (same content): present by hash, its row refreshed
    // with the new mtime and the UID it had. Item 2 changed: sent again.
    let touched = filetime::FileTime::from_unix_time(1_500_000_000, 0);
    filetime::set_file_mtime(env.file("INBOX", &id(1)), touched).expect("touch");
    env.write("INBOX", &id(2), &message(20));
    let dest = FakeDest::default();
    let r = env.run(&dest, &MigrateOptions::default());
    let f = folder(&r, "INBOX");
    one_bucket_each(f, 3);
    assert_eq!((f.counts.migrated, f.counts.already_present), (1, 2));
    assert_eq!(dest.log().taken, vec![id(2)]);
    let mut rows = env.rows();
    rows.retain(|r| r.item != id(2));
    assert_eq!(
        rows,
        vec![
            row("INBOX", 1, "done", Some(1), Some(1_500_000_000)),
            row(
                "INBOX",
                3,
                "done",
                Some(3),
                Some(env.mtime("INBOX", &id(3)))
            ),
        ]
    );
    let item2 = env.rows().into_iter().filter(|r| r.item == id(2)).count();
    assert_eq!(item2, 2, "the old content's row and the new one's");
}

#[test]
fn pending_items_are_settled_present_absent_or_in_doubt() {
    let env = Env::new();
    env.items("INBOX", 5);
    let journal = env.journal();
    let pending = |n: u32, mailbox: &str| {
        let size = std::fs::metadata(env.file("INBOX", &id(n)))
            .expect("stat")
            .len();
        ItemRow {
            account: ANN.into(),
            folder: "INBOX".into(),
            item: id(n),
            hash: crate::message::prepare(message(n)).hash,
            src_size: Some(size),
            src_mtime: Some(env.mtime("INBOX", &id(n))),
            mailbox: mailbox.into(),
            marker: Some("m".into()),
            ..ItemRow::default()
        }
    };
    let rows = [
        pending(1, "INBOX"),
        pending(2, "INBOX"),
        pending(3, "INBOX"),
        pending(4, "Old"),
    ];
    journal.record_pending(&rows).expect("pending");
    // Another folder's copy in INBOX: passed on, never matched.
    let other = ItemRow {
        folder: "Drafts".into(),
        item: id(9),
        marker: None,
        ..pending(1, "INBOX")
    };
    journal.record_done(&[other]).expect("done");
    let dest = FakeDest::new(Script {
        reconcile: [
            (id(1), Reconciled::Present(DestRef::imap(Some(7), Some(40)))),
            (id(2), Reconciled::Absent),
            (id(3), Reconciled::Unknown("server busy".into())),
            (id(4), Reconciled::Unknown("mailbox gone".into())),
        ]
        .into(),
        ..Script::default()
    });
    let r = env.run_with(&journal, &dest, &MigrateOptions::default());
    let f = folder(&r, "INBOX");
    one_bucket_each(f, 5);
    assert!(f.notes.contains(&"4 message(s) were in flight when a previous run stopped: 1 found on the target, 1 not there (sent again), 2 in doubt (not sent again)".to_string()), "{:?}", f.notes);
    let c = &f.counts;
    assert_eq!((c.already_present, c.migrated, c.failed), (1, 2, 2));
    let doubt = |why: &str| {
        format!("arrival in doubt: a previous run sent it and the target cannot tell whether it arrived ({why}); not sent again (rerun to check again)")
    };
    assert_eq!(
        notes(&f.failed),
        vec![
            (id(3), doubt("server busy")),
            (id(4), doubt("mailbox gone (in \"Old\", where it was sent)")),
        ]
    );
    let log = dest.log();
    assert_eq!(
        log.reconciled,
        vec![
            ("INBOX".into(), vec![id(1), id(2), id(3)], 1),
            ("Old".into(), vec![id(4)], 0),
        ]
    );
    assert_eq!(log.taken, vec![id(2), id(5)]);
    let m = |n| Some(env.mtime("INBOX", &id(n)));
    assert_eq!(
        env.rows()
            .into_iter()
            .filter(|r| r.folder == "INBOX")
            .collect::<Vec<_>>(),
        vec![
            row("INBOX", 1, "done", Some(40), m(1)),
            row("INBOX", 2, "done", Some(1), m(2)),
            row("INBOX", 3, "pending", None, m(3)),
            row("INBOX", 4, "pending", None, m(4)),
            row("INBOX", 5, "done", Some(2), m(5)),
        ]
    );
}

#[test]
fn an_account_without_a_session_or_a_mailbox_still_counts_every_item() {
    let cases: [(Script, &str, bool); 3] = [
        (
            Script {
                open_error: Some(Some("login refused")),
                ..Script::default()
            },
            "target account not opened: login refused",
            true,
        ),
        (
            Script {
                open_error: Some(None),
                ..Script::default()
            },
            "not mapped: no place for it",
            false,
        ),
        (
            Script {
                mailbox_error: Some("permission denied"),
                ..Script::default()
            },
            "target mailbox not available: permission denied",
            true,
        ),
    ];
    for (script, reason, failed) in cases {
        let env = Env::new();
        env.items("INBOX", 2);
        let dest = FakeDest::new(script);
        let r = env.run(&dest, &MigrateOptions::default());
        let f = folder(&r, "INBOX");
        one_bucket_each(f, 2);
        let (listed, code) = if failed {
            (&f.failed, 3)
        } else {
            (&f.skipped, 0)
        };
        assert_eq!(listed.len(), 2, "{reason}");
        assert!(all_with(listed, reason), "{reason}: {listed:?}");
        assert_eq!(r.exit_code, code, "{reason}");
        assert!(dest.log().taken.is_empty());
    }
    let env = Env::new();
    env.items("INBOX", 1);
    let r = env.run(
        &FakeDest::new(Script {
            open_error: Some(Some("login refused")),
            ..Script::default()
        }),
        &MigrateOptions::default(),
    );
    let a = &r.accounts[0];
    assert_eq!(
        (a.error.as_deref(), a.target_account.as_deref()),
        (Some("cannot open the target account: login refused"), None)
    );
}

#[test]
fn a_barrier_that_fails_keeps_the_batch_out_of_the_journal() {
    let env = Env::new();
    env.items("INBOX", 3);
    let dest = FakeDest::new(Script {
        barrier_error: true,
        ..Script::default()
    });
    let r = env.run(&dest, &MigrateOptions::default());
    let f = folder(&r, "INBOX");
    one_bucket_each(f, 3);
    assert_eq!(f.counts.migrated, 3);
    assert_eq!(
        f.notes.last().map(String::as_str),
        Some("could not sync the target before journaling: syncfs: read-only file system")
    );
    assert!(env.rows().is_empty());
    assert_eq!(r.exit_code, 0);
}

#[test]
fn a_journal_that_fails_to_commit_a_batch_stops_the_feed() {
    let env = Env::new();
    env.items("INBOX", 4);
    let journal = env.journal();
    env.sql(
        "CREATE TRIGGER no_done BEFORE INSERT ON items WHEN NEW.state = 'done'
         BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    );
    let dest = FakeDest::default();
    let opts = MigrateOptions {
        journal_batch: 1,
        ..MigrateOptions::default()
    };
    let r = env.run_with(&journal, &dest, &opts);
    fatal_says(&r, "disk full");
    let f = folder(&r, "INBOX");
    one_bucket_each(f, 4);
    // It arrived, so it counts; the rest is not handed over.
    assert_eq!((f.counts.migrated, f.counts.skipped), (1, 3));
    assert!(all_with(&f.skipped, "not attempted: run stopped"));
    assert_eq!(dest.log().taken, vec![id(1)]);
    assert!(env.rows().is_empty());
}

#[test]
fn skip_deleted_follows_the_index_flags() {
    let env = Env::new();
    env.items("INBOX", 2);
    std::fs::write(
        env.folder_dir("INBOX").join("index.fld"),
        format!("U{} F8 CIPM.Note\nU{} F1 CIPM.Note\n", id(1), id(2)),
    )
    .expect("index");
    let dest = FakeDest::default();
    let opts = MigrateOptions {
        skip_deleted: true,
        ..MigrateOptions::default()
    };
    let r = env.run(&dest, &opts);
    let f = folder(&r, "INBOX");
    one_bucket_each(f, 2);
    assert_eq!(
        notes(&f.skipped),
        vec![(
            id(1),
            "flagged deleted (0x8) in index.fld; --skip-deleted".into()
        )]
    );
    assert_eq!(dest.log().taken, vec![id(2)]);
    // Without the option it is migrated (without \Deleted).
    let env = Env::new();
    env.items("INBOX", 1);
    std::fs::write(
        env.folder_dir("INBOX").join("index.fld"),
        format!("U{} F8 CIPM.Note\n", id(1)),
    )
    .expect("index");
    let r = env.run(&FakeDest::default(), &MigrateOptions::default());
    assert_eq!(folder(&r, "INBOX").counts.migrated, 1);
}

/// A message found on the target by reconciling (a run stopped while it
/// was in flight) is journaled with the flags it was sent with, so the
/// `--sync` of that run sets what changed at the source since, instead of
/// taking the source's flags for the target's.
#[test]
fn a_reconciled_copy_is_journaled_with_the_flags_it_was_sent_with() {
    use crate::model::MailFlags;
    let env = Env::new();
    env.items("INBOX", 1);
    let journal = env.journal();
    let size = std::fs::metadata(env.file("INBOX", &id(1)))
        .expect("stat")
        .len();
    let sent = MailFlags {
        seen: true,
        ..MailFlags::default()
    };
    let row = ItemRow {
        account: ANN.into(),
        folder: "INBOX".into(),
        item: id(1),
        hash: crate::message::prepare(message(1)).hash,
        src_size: Some(size),
        src_mtime: Some(env.mtime("INBOX", &id(1))),
        mailbox: "INBOX".into(),
        marker: Some("m".into()),
        flags: Some(sent),
        ..ItemRow::default()
    };
    journal.record_pending(&[row]).expect("pending");
    let dest = FakeDest::new(Script {
        reconcile: [(id(1), Reconciled::Present(DestRef::imap(Some(7), Some(40))))].into(),
        ..Script::default()
    });
    let opts = MigrateOptions {
        sync: true,
        ..MigrateOptions::default()
    };
    let r = env.run_with(&journal, &dest, &opts);
    let f = folder(&r, "INBOX");
    assert_eq!(f.counts.already_present, 1);
    let s = f.sync.expect("sync counts");
    assert_eq!((s.flags_set, s.flags_baselined), (1, 0), "{s:?}");
    // Unread in the store now (no index.fld): \Seen comes off.
    assert_eq!(
        dest.log().flag_changes,
        vec![("INBOX".into(), Some(40), sent, MailFlags::default())]
    );
}

/// Every `deliver` that took its last message was told the folder its
/// session migrates next (the next of the walk on one session; on several,
/// the next one that same session then took), and the last one none.
fn told_next_is_what_each_session_did_next(dest: &FakeDest, folders: usize) {
    let log = dest.log();
    let told = &log.told_next;
    assert_eq!(told.len(), folders, "{told:?}");
    let sessions: HashSet<usize> = told.iter().map(|t| t.0).collect();
    for s in sessions {
        let mine: Vec<_> = told.iter().filter(|t| t.0 == s).collect();
        for (i, t) in mine.iter().enumerate() {
            let then = mine.get(i + 1).map(|n| n.1.clone());
            assert_eq!(t.2, then, "session {s}: {told:?}");
        }
    }
}

#[test]
fn each_folder_tells_its_session_which_folder_comes_next() {
    let env = Env::new();
    for f in ["A", "B", "C", "D", "E"] {
        env.items(f, 3);
    }
    // One session: the walk's next mail folder each time.
    let dest = FakeDest::new(Script::default());
    let r = env.run(&dest, &MigrateOptions::default());
    assert_eq!(r.exit_code, 0);
    // INBOX has no item here but is a folder of the walk too.
    let delivered = dest.log().told_next.len();
    told_next_is_what_each_session_did_next(&dest, delivered);
    assert!(delivered >= 5, "{:?}", dest.log().told_next);
    // Three sessions: a folder group is taken from the queue only when the
    // session asks, so each one's next is what it then migrated.
    let env = Env::new();
    for f in ["A", "B", "C", "D", "E", "F", "G"] {
        env.items(f, 3);
    }
    let dest = FakeDest::new(Script {
        sessions: 3,
        ..Script::default()
    });
    let opts = MigrateOptions {
        parallel_folders: 3,
        ..MigrateOptions::default()
    };
    let r = env.run(&dest, &opts);
    assert_eq!(r.exit_code, 0);
    assert_eq!(r.totals.migrated, 21);
    told_next_is_what_each_session_did_next(&dest, 7);
    let sessions: HashSet<usize> = dest.log().told_next.iter().map(|t| t.0).collect();
    assert!(sessions.len() > 1, "{:?}", dest.log().told_next);
}
