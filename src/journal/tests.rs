//! The journal against a real SQLite file: rows, reopening, schema
//! upgrades of older journals, the run lock, DAV rows.

use super::*;

fn h(s: &str) -> ContentHash {
    ContentHash::of(s.as_bytes())
}

fn row(item: &str, hash: &str) -> ItemRow {
    ItemRow {
        account: "alice@example.com".into(),
        folder: "INBOX".into(),
        item: item.into(),
        hash: h(hash),
        src_size: Some(10),
        src_mtime: Some(1000),
        mailbox: "INBOX".into(),
        ..ItemRow::default()
    }
}

#[test]
fn a_version_2_journal_gets_the_flags_column_and_keeps_its_rows() {
    let t = tempfile::tempdir().expect("tempdir");
    let p = t.path().join("j.sqlite");
    {
        let c = Connection::open(&p).expect("sqlite");
        let v2 = SCHEMA
            .replace("    flags INTEGER,\n", "")
            .replace("    stored_size INTEGER,\n", "");
        assert!(!v2.contains("flags") && !v2.contains("stored_size"));
        c.execute_batch(&v2).expect("v2 schema");
        c.execute("INSERT INTO meta (key, value) VALUES ('schema', '2')", [])
            .expect("meta");
        c.execute(
                "INSERT INTO items (target, account, folder, item, hash, state, mailbox, uidvalidity, uid, at)
                 VALUES ('t', 'a@x', 'INBOX', '1', ?1, 'done', 'INBOX', 7, 3, 'x')",
                params![h("aa")],
            )
            .expect("row");
    }
    let j = Journal::open(&p, "t", "test").expect("open v2");
    let done = j.done_items("a@x", "INBOX").expect("done");
    assert_eq!(done["1"][0].target.uid, Some(3));
    assert_eq!(done["1"][0].flags, None, "not known before schema 3");
    let seen = MailFlags {
        seen: true,
        draft: true,
        ..MailFlags::default()
    };
    j.record_flags("a@x", "INBOX", &[("1".into(), h("aa"), seen)])
        .expect("flags");
    drop(j);
    // Opened again: the current version, the flags kept.
    let j = Journal::open(&p, "t", "test").expect("open again");
    assert_eq!(
        j.done_items("a@x", "INBOX").expect("done")["1"][0].flags,
        Some(seen)
    );
    let v: String = j
        .conn()
        .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
            r.get(0)
        })
        .expect("schema");
    assert_eq!(v, SCHEMA_VERSION.to_string());
    assert_eq!(done["1"][0].stored_size, None, "not known before schema 4");
    assert!(j.has_rows_before_schema_4(), "upgraded from 2");
    let fresh = Journal::open(&t.path().join("new.sqlite"), "t", "test").expect("new");
    assert!(!fresh.has_rows_before_schema_4(), "written at schema 4");
    for bits in 0..16 {
        assert_eq!(flags_to_int(flags_from_int(bits)), bits);
    }
}

#[test]
fn a_journal_of_a_newer_schema_is_refused_untouched() {
    let t = tempfile::tempdir().expect("tempdir");
    let p = t.path().join("j.sqlite");
    {
        let c = Connection::open(&p).expect("sqlite");
        c.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO meta (key, value) VALUES ('schema', '99');",
        )
        .expect("v99");
    }
    match Journal::open(&p, "imap://x", "test") {
        Err(JournalError::Schema { found, .. }) => assert_eq!(found, "99"),
        other => panic!("expected a schema error, got {:?}", other.map(|_| ())),
    }
    let c = Connection::open(&p).expect("sqlite");
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut st| {
            st.query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .expect("tables");
    assert_eq!(
        tables,
        ["meta"],
        "nothing created in a journal this build cannot read"
    );
}

#[test]
fn a_version_1_journal_is_taken_over_with_its_rows() {
    let t = tempfile::tempdir().expect("tempdir");
    let p = t.path().join("j.sqlite");
    {
        // What the first release wrote: no `identities`, schema 1.
        let c = Connection::open(&p).expect("sqlite");
        let v1 = SCHEMA.replace(
            "CREATE TABLE IF NOT EXISTS identities (
    target TEXT NOT NULL,
    account TEXT NOT NULL,
    identity TEXT NOT NULL,
    seen TEXT NOT NULL,
    PRIMARY KEY (target, account)
);",
            "",
        );
        assert!(!v1.contains("identities"));
        c.execute_batch(&v1).expect("v1 schema");
        c.execute("INSERT INTO meta (key, value) VALUES ('schema', '1')", [])
            .expect("meta");
        c.execute(
                "INSERT INTO items (target, account, folder, item, hash, state, mailbox, uidvalidity, uid, at)
                 VALUES ('imap://127.0.0.1:143', 'alice@example.com', 'INBOX', '1', ?1, 'done', 'INBOX', 7, 3, 'x')",
                params![h("aa")],
            )
            .expect("row");
    }
    let j = Journal::open(&p, "imap://127.0.0.1:143", "test").expect("open v1");
    let done = j.done_items("alice@example.com", "INBOX").expect("done");
    assert_eq!(done["1"][0].target.uid, Some(3));
    let v: String = j
        .conn()
        .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
            r.get(0)
        })
        .expect("schema");
    assert_eq!(v, SCHEMA_VERSION.to_string());
    j.record_identity("alice@example.com", "imap alice inbox 5")
        .expect("identity");
    // A move the old URL's run recorded and did not journal.
    j.record_moving("alice@example.com", &[("INBOX", "1", h("aa"), "Projects")])
        .expect("moving");
    drop(j);
    // Another URL for the same store: its rows are taken over, once the
    // identity and the mailbox's UIDVALIDITY agree.
    let j = Journal::open(&p, "imap://localhost:143", "test").expect("open");
    let a = "alice@example.com";
    assert!(j.done_items(a, "INBOX").expect("done").is_empty());
    assert!(j
        .take_over(a, "INBOX", "imap other 5", Some(7))
        .expect("t")
        .is_empty());
    assert!(j
        .take_over(a, "INBOX", "imap alice inbox 5", Some(8))
        .expect("t")
        .is_empty());
    let moved = j
        .take_over(a, "INBOX", "imap alice inbox 5", Some(7))
        .expect("t");
    assert_eq!(moved, vec![("imap://127.0.0.1:143".to_string(), 1)]);
    assert_eq!(j.done_items(a, "INBOX").expect("done").len(), 1);
    // Its record of a move went with the rows.
    let m = j.moving(a).expect("moving");
    assert_eq!(
        m[&("INBOX".to_string(), "1".to_string(), h("aa"))],
        ["Projects"]
    );
}

#[test]
fn done_pending_and_reopen() {
    let t = tempfile::tempdir().expect("tempdir");
    let p = t.path().join("sub/j.sqlite");
    {
        let j = Journal::open(&p, "maildir:/x", "test").expect("open");
        j.record_pending(&[row("1", "aa"), row("2", "bb")])
            .expect("pending");
        j.record_done(&[row("1", "aa")]).expect("done");
        assert_eq!(
            j.pending_items("alice@example.com", "INBOX")
                .expect("p")
                .len(),
            1
        );
        j.clear_pending("alice@example.com", "INBOX", &[("2".into(), h("bb"))])
            .expect("clear");
        j.finish_run(0, "{}").expect("finish");
    }
    let j = Journal::open(&p, "maildir:/x", "test").expect("reopen");
    assert_eq!(j.run_id(), 2);
    let done = j.done_items("alice@example.com", "INBOX").expect("done");
    assert_eq!(done.len(), 1);
    assert_eq!(done["1"][0].hash, h("aa"));
    // By target mailbox, over the account's source folders.
    j.record_done(&[ItemRow {
        folder: "Old".into(),
        uid: Some(5),
        uid_validity: Some(9),
        ..row("7", "cc")
    }])
    .expect("done");
    let copies = j
        .done_in_mailbox("alice@example.com", "INBOX")
        .expect("copies");
    assert_eq!(copies.len(), 2);
    let cc = copies.iter().find(|c| c.hash == h("cc")).expect("cc");
    assert_eq!((cc.uid_validity, cc.uid), (Some(9), Some(5)));
    assert!(j
        .done_in_mailbox("alice@example.com", "Other")
        .expect("none")
        .is_empty());
    assert!(j
        .pending_items("alice@example.com", "INBOX")
        .expect("p")
        .is_empty());
    // Another target sees nothing.
    let other = Journal::open(&p, "imaps://h", "test").expect("open");
    assert!(other
        .done_items("alice@example.com", "INBOX")
        .expect("d")
        .is_empty());
    assert_eq!(j.done_count().expect("count"), 2);
}

#[test]
fn refreshing_the_source_keeps_the_target_fields() {
    let t = tempfile::tempdir().expect("tempdir");
    let j = Journal::open(&t.path().join("j.sqlite"), "imap://h", "test").expect("open");
    j.record_done(&[ItemRow {
        mailbox: "Archive".into(),
        target_id: Some("42/7".into()),
        uid_validity: Some(42),
        uid: Some(7),
        size: Some(99),
        message_id: Some("m@x".into()),
        ..row("1", "aa")
    }])
    .expect("done");
    j.refresh_source(&[ItemRow {
        src_size: Some(11),
        src_mtime: Some(2000),
        mailbox: "INBOX".into(),
        ..row("1", "aa")
    }])
    .expect("refresh");
    let d = &j.done_items("alice@example.com", "INBOX").expect("done")["1"][0];
    assert_eq!((d.src_size, d.src_mtime), (Some(11), Some(2000)));
    assert_eq!(d.mailbox, "Archive");
    assert_eq!(
        (d.target.id.as_deref(), d.target.uid_validity, d.target.uid),
        (Some("42/7"), Some(42), Some(7))
    );
}

#[test]
fn one_run_at_a_time() {
    let t = tempfile::tempdir().expect("tempdir");
    let p = t.path().join("sub/j.sqlite");
    let first = Journal::open_exclusive(&p, "maildir:/x", "one").expect("open");
    match Journal::open_exclusive(&p, "maildir:/x", "two") {
        Err(e @ JournalError::Busy { .. }) => {
            assert!(e.to_string().contains("another kerio-migrate run is using"))
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a second run got the journal"),
    }
    // Reading (verify) is not locked out.
    Journal::open(&p, "maildir:/x", "verify").expect("shared open");
    drop(first);
    Journal::open_exclusive(&p, "maildir:/x", "three").expect("released");
}

#[test]
fn commits_are_synced_to_disk() {
    // synchronous=FULL (2): a pending row survives a power loss, so a
    // message is never sent without a trace (NORMAL may lose it in WAL).
    let t = tempfile::tempdir().expect("tempdir");
    let j = Journal::open(&t.path().join("j.sqlite"), "maildir:/x", "test").expect("open");
    let mode: i64 = j
        .conn()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(mode, 2, "synchronous=FULL");
}

#[test]
fn dav_rows() {
    let t = tempfile::tempdir().expect("tempdir");
    let p = t.path().join("j.sqlite");
    let j = Journal::open(&p, "dav:http://h/", "test").expect("open");
    let row = DavRow {
        collection: "http://h/alice/contacts/".into(),
        account: "alice@example.com".into(),
        folder: "Contacts".into(),
        uid: "u1".into(),
        href: "http://h/alice/contacts/u1.vcf".into(),
        etag: Some("\"x\"".into()),
        hash: "aa".into(),
        created: true,
    };
    assert!(!j.dav_done(&row.collection, "u1").expect("q"));
    j.record_dav(&row).expect("record");
    assert!(j.dav_done(&row.collection, "u1").expect("q"));
    assert!(!j.dav_done("http://h/alice/other/", "u1").expect("q"));
    assert_eq!(j.dav_items(&row.collection).expect("rows"), vec![row]);
    let other = Journal::open(&p, "dav:http://other/", "test").expect("open");
    assert!(!other.dav_done("http://h/alice/contacts/", "u1").expect("q"));
}

#[test]
fn a_stored_size_is_kept_on_its_row_and_moves_replace_rows_in_one_step() {
    let t = tempfile::tempdir().expect("tempdir");
    let j = Journal::open(&t.path().join("j.sqlite"), "t", "test").expect("open");
    let r = |folder: &str, item: &str, uid: u32| ItemRow {
        account: "a@x".into(),
        folder: folder.into(),
        item: item.into(),
        hash: h(item),
        mailbox: folder.into(),
        uid_validity: Some(7),
        uid: Some(uid),
        size: Some(642),
        ..ItemRow::default()
    };
    j.record_done(&[r("INBOX", "1", 10), r("INBOX", "2", 11)])
        .expect("done");
    // Only the row with that UID gets the size the server stored.
    j.record_stored_size(
        "a@x",
        "INBOX",
        &[("1".into(), 99, 700), ("2".into(), 11, 657)],
    )
    .expect("stored size");
    let done = j.done_items("a@x", "INBOX").expect("done");
    assert_eq!(done["1"][0].size_on_target(), Some(642));
    assert_eq!(done["2"][0].stored_size, Some(657));
    assert_eq!(done["2"][0].size_on_target(), Some(657));
    // A move: the new row in Archive, the old one gone, together.
    let moved = ItemRow {
        stored_size: Some(657),
        ..r("Archive", "5", 3)
    };
    let forget = vec![("INBOX".to_string(), vec![("2".to_string(), h("2"))])];
    j.record_moves("a@x", &[moved], &forget).expect("moves");
    let inbox = j.done_items("a@x", "INBOX").expect("inbox");
    assert!(inbox.contains_key("1") && !inbox.contains_key("2"));
    let archive = j.done_items("a@x", "Archive").expect("archive");
    assert_eq!(archive["5"][0].size_on_target(), Some(657));
}

#[test]
fn a_version_4_journal_loses_the_folder_index_and_keeps_its_rows_and_take_over() {
    let t = tempfile::tempdir().expect("tempdir");
    let p = t.path().join("j.sqlite");
    let a = "alice@example.com";
    let old = "imap://127.0.0.1:143";
    {
        // What builds before this one wrote at schema 4: one more index.
        let c = Connection::open(&p).expect("sqlite");
        c.execute_batch(SCHEMA).expect("v4 schema");
        c.execute_batch(
            "CREATE INDEX IF NOT EXISTS items_by_folder ON items (account, folder, target);",
        )
        .expect("old index");
        c.execute("INSERT INTO meta (key, value) VALUES ('schema', '4')", [])
            .expect("meta");
        for (folder, item, state, mailbox) in [
            ("INBOX", "1", "done", "INBOX"),
            ("Work", "2", "done", "Work"),
            ("Work", "3", "done", "Archive/Work"),
            ("Drafts", "4", "pending", "Drafts"),
        ] {
            c.execute(
                "INSERT INTO items (target, account, folder, item, hash, state, mailbox,
                   uidvalidity, uid, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 7, ?4, 'x')",
                params![old, a, folder, item, h(item), state, mailbox],
            )
            .expect("row");
        }
        c.execute(
            "INSERT INTO identities (target, account, identity, seen) VALUES (?1, ?2, 'id 5', 'x')",
            params![old, a],
        )
        .expect("identity");
    }
    let j = Journal::open(&p, "imap://localhost:143", "test").expect("open v4");
    let indexes: Vec<String> = {
        let c = j.conn();
        let mut s = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items' AND sql IS NOT NULL ORDER BY name")
            .expect("indexes");
        let names = s.query_map([], |r| r.get(0)).expect("names");
        names.collect::<Result<_, _>>().expect("names")
    };
    assert_eq!(indexes, ["items_by_mailbox", "items_pending"]);
    // The other URL's folders with done rows, each with its first mailbox.
    assert_eq!(
        j.foreign_folders(a, "id 5").expect("foreign"),
        vec![
            ("INBOX".to_string(), "INBOX".to_string()),
            ("Work".to_string(), "Archive/Work".to_string()),
        ]
    );
    assert!(j.foreign_folders(a, "id 6").expect("foreign").is_empty());
    assert!(j
        .take_over(a, "Work", "id 6", Some(7))
        .expect("t")
        .is_empty());
    assert!(j
        .take_over(a, "Elsewhere", "id 5", Some(7))
        .expect("t")
        .is_empty());
    let moved = j.take_over(a, "Work", "id 5", Some(7)).expect("t");
    assert_eq!(moved, vec![(old.to_string(), 2)]);
    let done = j.done_items(a, "Work").expect("done");
    assert_eq!(done["3"][0].mailbox, "Archive/Work");
    assert_eq!(done["2"][0].target.uid, Some(2));
    // INBOX is still the old URL's, and the pending row is kept.
    assert!(j.done_items(a, "INBOX").expect("done").is_empty());
    drop(j);
    let j = Journal::open(&p, old, "test").expect("reopen");
    assert_eq!(j.done_items(a, "INBOX").expect("done").len(), 1);
    assert_eq!(j.pending_items(a, "Drafts").expect("pending").len(), 1);
}

#[test]
fn a_batch_of_rows_of_several_folders_and_mailboxes_keeps_each_rows_values() {
    // The insert binds what a row shares with the one before only once:
    // every row must still read back with its own values, None included.
    let t = tempfile::tempdir().expect("tempdir");
    let j = Journal::open(&t.path().join("j.sqlite"), "t", "test").expect("open");
    let mut rows = Vec::new();
    for (n, (account, folder, mailbox)) in [
        ("a@x", "INBOX", "INBOX"),
        ("a@x", "INBOX", "INBOX"),
        ("a@x", "Work", "INBOX"),
        ("a@x", "Work", "Work"),
        ("b@x", "Work", "Work"),
        ("a@x", "INBOX", "INBOX"),
    ]
    .into_iter()
    .enumerate()
    {
        let some = n % 2 == 0;
        rows.push(ItemRow {
            account: account.into(),
            folder: folder.into(),
            mailbox: mailbox.into(),
            item: format!("{n}"),
            hash: h(&format!("{n}")),
            src_size: some.then_some(n as u64),
            target_id: some.then(|| format!("id{n}")),
            uid: some.then_some(n as u32 + 10),
            message_id: some.then(|| format!("m{n}@x")),
            flags: some.then_some(MailFlags {
                seen: true,
                ..MailFlags::default()
            }),
            ..row("0", "0")
        });
    }
    j.record_done(&rows).expect("record");
    let mut read = 0;
    for (account, folder) in [("a@x", "INBOX"), ("a@x", "Work"), ("b@x", "Work")] {
        for (item, done) in j.done_items(account, folder).expect("done") {
            let r = &rows[item.parse::<usize>().expect("item")];
            let d = &done[0];
            assert_eq!((r.account.as_str(), r.folder.as_str()), (account, folder));
            assert_eq!(d.hash, r.hash);
            assert_eq!(d.mailbox, r.mailbox);
            assert_eq!(d.src_size, r.src_size);
            assert_eq!(d.src_mtime, Some(1000));
            assert_eq!(d.target.id, r.target_id);
            assert_eq!(d.target.uid, r.uid);
            assert_eq!(d.message_id, r.message_id);
            assert_eq!(d.flags, r.flags);
            assert_eq!(
                j.run_of(account, folder, &item, &r.hash).expect("run"),
                Some(j.run_id())
            );
            read += 1;
        }
    }
    assert_eq!(read, rows.len());
}

#[test]
fn a_hash_column_reads_only_as_64_hex_digits() {
    let t = tempfile::tempdir().expect("tempdir");
    let j = Journal::open(&t.path().join("j.sqlite"), "t", "test").expect("open");
    let hex = h("aa").to_hex();
    let plus = format!("+{}", &hex[1..]);
    let cases: [(&str, &dyn ToSql, bool); 6] = [
        ("lower", &hex, true),
        ("upper", &hex.to_uppercase(), true),
        ("short", &hex[1..].to_string(), false),
        ("sign", &plus, false),
        ("blob", &h("aa").0.to_vec(), false),
        ("nothex", &"g".repeat(64), false),
    ];
    for (folder, value, _) in &cases {
        j.conn()
            .execute(
                "INSERT INTO items (target, account, folder, item, hash, state, mailbox, at)
                 VALUES ('t', 'a@x', ?1, '1', ?2, 'done', 'INBOX', 'x')",
                params![folder, value],
            )
            .expect("row");
    }
    for (folder, _, good) in cases {
        let done = j.done_items("a@x", folder);
        match done {
            Ok(d) if good => assert_eq!(d["1"][0].hash, h("aa"), "{folder}"),
            Err(_) if !good => {}
            other => panic!("{folder}: {other:?}"),
        }
    }
}

#[test]
fn pending_rows_count_their_bytes_for_the_next_runs_budget() {
    let t = tempfile::tempdir().expect("tempdir");
    let p = t.path().join("j.sqlite");
    let sized = |account: &str, item: &str, size: u64| ItemRow {
        account: account.to_string(),
        size: Some(size),
        ..row(item, item)
    };
    {
        let j = Journal::open(&p, "imaps://imap.gmail.com:993", "test").expect("open");
        j.record_pending(&[sized("a@x", "1", 1000), sized("a@x", "2", 500)])
            .expect("pending");
        j.record_pending(&[sized("b@x", "3", 70)]).expect("pending");
        // Done rows are not sent again: not counted.
        j.record_done(&[sized("a@x", "1", 1000)]).expect("done");
        // An hour three days ago is forgotten.
        j.conn()
            .execute(
                "INSERT INTO sent_bytes (target, account, hour, bytes)
                 VALUES ('imaps://imap.gmail.com:993', 'a@x', 1, 99)",
                [],
            )
            .expect("old hour");
    }
    let j = Journal::open(&p, "imaps://imap.gmail.com:993", "test").expect("reopen");
    let a = j.sent_last_day("a@x").expect("sent");
    assert_eq!(a.iter().map(|(_, n)| n).sum::<u64>(), 1500);
    let now = std::time::SystemTime::now();
    assert!(a.iter().all(|(at, _)| *at <= now));
    assert_eq!(j.sent_last_day("b@x").expect("sent")[0].1, 70);
    let old: i64 = j
        .conn()
        .query_row("SELECT COUNT(*) FROM sent_bytes WHERE hour = 1", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(old, 0);
    // Another target of the same journal has its own count.
    drop(j);
    let other = Journal::open(&p, "imaps://outlook.office365.com:993", "test").expect("other");
    assert!(other.sent_last_day("a@x").expect("sent").is_empty());
}

#[test]
fn a_folders_ids_compared_with_the_journal_give_the_missing_and_the_unjournaled() {
    let t = tempfile::tempdir().expect("tempdir");
    let j = Journal::open(&t.path().join("j.sqlite"), "maildir:/x", "test").expect("open");
    // Done and pending rows, an item with two rows (two hashes), a row of
    // another folder, ids whose byte order differs from their numbers.
    j.record_done(&[row("b", "1"), row("d", "2"), row("d", "3"), row("f", "4")])
        .expect("done");
    j.record_pending(&[row("a10", "5"), row("é", "6")])
        .expect("pending");
    j.record_done(&[ItemRow {
        folder: "Other".into(),
        ..row("c", "7")
    }])
    .expect("other folder");
    let ids = ["a2", "b", "c", "f", "zz"];
    let diff = j
        .compare_ids("alice@example.com", "INBOX", &ids)
        .expect("compare");
    assert_eq!(diff.missing, vec!["a10", "d", "é"]);
    let unjournaled: Vec<&str> = diff.unjournaled.iter().map(|&n| ids[n]).collect();
    assert_eq!(unjournaled, vec!["a2", "c", "zz"]);
    // No ids now: every journaled one is missing; an empty journal: every
    // id is unjournaled.
    let all = j
        .compare_ids("alice@example.com", "INBOX", &[])
        .expect("none");
    assert_eq!(all.missing, vec!["a10", "b", "d", "f", "é"]);
    let none = j
        .compare_ids("alice@example.com", "Nowhere", &ids)
        .expect("empty");
    assert!(none.missing.is_empty());
    assert_eq!(none.unjournaled, vec![0, 1, 2, 3, 4]);
}

#[test]
fn an_identity_is_written_once_per_run_and_again_when_it_changes() {
    let t = tempfile::tempdir().expect("tempdir");
    let p = t.path().join("j.sqlite");
    let j = Journal::open(&p, "imap://h", "test").expect("open");
    let read = || -> String {
        let c = rusqlite::Connection::open(&p).expect("open");
        c.query_row(
            "SELECT identity FROM identities WHERE account = 'a@x'",
            [],
            |r| r.get(0),
        )
        .expect("identity row")
    };
    j.record_identity("a@x", "login=a uv=1").expect("record");
    assert_eq!(read(), "login=a uv=1");
    // The same again is not written: a row changed behind the journal's
    // back stays as it is.
    rusqlite::Connection::open(&p)
        .expect("open")
        .execute(
            "UPDATE identities SET identity = 'other' WHERE account = 'a@x'",
            [],
        )
        .expect("update");
    j.record_identity("a@x", "login=a uv=1").expect("record");
    assert_eq!(read(), "other");
    // Another identity is written.
    j.record_identity("a@x", "login=a uv=2").expect("record");
    assert_eq!(read(), "login=a uv=2");
}

#[test]
fn a_mailbox_of_one_folder_is_read_from_its_rows_and_a_shared_one_from_the_journal() {
    let t = tempfile::tempdir().expect("tempdir");
    let j = Journal::open(&t.path().join("j.sqlite"), "imap://x", "test").expect("open");
    let at = |item: &str, hash: &str, folder: &str, mailbox: &str, uid: u32| ItemRow {
        folder: folder.into(),
        mailbox: mailbox.into(),
        uid: Some(uid),
        uid_validity: Some(7),
        message_id: Some(format!("{item}@x")),
        ..row(item, hash)
    };
    // INBOX: two items, one of them with a copy in Archive too; a pending
    // row in INBOX (not a copy the mailbox is known to hold).
    j.record_done(&[
        at("1", "aa", "INBOX", "INBOX", 1),
        at("2", "bb", "INBOX", "INBOX", 2),
        at("2", "b2", "INBOX", "Archive", 9),
    ])
    .expect("done");
    j.record_pending(&[at("3", "cc", "INBOX", "INBOX", 0)])
        .expect("pending");
    let sorted = |mut v: Vec<DoneCopy>| {
        v.sort_by_key(|c| c.uid);
        v
    };
    let acct = "alice@example.com";
    let rows = j.done_items(acct, "INBOX").expect("rows");
    let from_rows = j.done_in_mailbox_of(acct, "INBOX", &rows).expect("of");
    let read = j.done_in_mailbox(acct, "INBOX").expect("read");
    assert_eq!(from_rows.len(), 2);
    assert_eq!(sorted(from_rows), sorted(read));
    let archive = j.done_in_mailbox_of(acct, "Archive", &rows).expect("of");
    assert_eq!(archive.len(), 1);
    assert_eq!(archive[0].uid, Some(9));
    assert_eq!(archive[0].message_id.as_deref(), Some("2@x"));
    // Another folder's copy in INBOX: the rows at hand do not say it, the
    // journal does.
    j.record_done(&[at("8", "dd", "Old", "INBOX", 5)])
        .expect("done");
    let shared = j.done_in_mailbox_of(acct, "INBOX", &rows).expect("of");
    assert_eq!(shared.len(), 3);
    assert!(shared.iter().any(|c| c.hash == h("dd") && c.uid == Some(5)));
    // Rows given that are not all of the mailbox's (fewer): the journal.
    let mut fewer = rows.clone();
    fewer.remove("1");
    let again = j.done_in_mailbox_of(acct, "INBOX", &fewer).expect("of");
    assert_eq!(
        sorted(again),
        sorted(j.done_in_mailbox(acct, "INBOX").expect("read"))
    );
}

#[test]
fn what_arrived_and_the_next_group_are_journaled_in_one_commit() {
    let t = tempfile::tempdir().expect("tempdir");
    let p = t.path().join("j.sqlite");
    let sized = |item: &str, size: u64| ItemRow {
        size: Some(size),
        ..row(item, item)
    };
    let a = "alice@example.com";
    let j = Journal::open(&p, "imaps://h:993", "test").expect("open");
    j.record_pending(&[sized("1", 100), sized("2", 200)])
        .expect("pending");
    let before = wal_commits(&p);
    j.record_done_and_pending(
        &[sized("1", 100), sized("2", 200)],
        &[sized("3", 30), sized("4", 40)],
    )
    .expect("done and pending");
    assert_eq!(wal_commits(&p), before + 1, "one commit");
    let done = j.done_items(a, "INBOX").expect("done");
    let mut ids: Vec<&String> = done.keys().collect();
    ids.sort();
    assert_eq!(ids, ["1", "2"]);
    let mut pending: Vec<String> = j
        .pending_items(a, "INBOX")
        .expect("pending")
        .into_iter()
        .map(|p| p.item)
        .collect();
    pending.sort();
    assert_eq!(pending, ["3", "4"]);
    // The pending rows count against the budget, the done ones once.
    let sent: u64 = j
        .sent_last_day(a)
        .expect("sent")
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(sent, 370);
    // Either list may be empty.
    j.record_done_and_pending(&[sized("3", 30)], &[])
        .expect("done only");
    j.record_done_and_pending(&[], &[sized("5", 5)])
        .expect("pending only");
    assert_eq!(j.done_items(a, "INBOX").expect("done").len(), 3);
    assert_eq!(j.pending_items(a, "INBOX").expect("pending").len(), 2);
}

/// Commit frames in the journal's write-ahead log (a frame's header holds
/// the database size after the commit on a commit's last frame, else 0).
fn wal_commits(db: &std::path::Path) -> usize {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let b = std::fs::read(&wal).expect("wal");
    let page = u32::from_be_bytes([b[8], b[9], b[10], b[11]]) as usize;
    b[32..]
        .chunks(24 + page)
        .filter(|f| f.len() == 24 + page && f[4..8] != [0, 0, 0, 0])
        .count()
}

#[test]
fn moves_recorded_before_they_are_sent_go_with_the_rows_they_move() {
    let t = tempfile::tempdir().expect("tempdir");
    let j = Journal::open(&t.path().join("j.sqlite"), "imaps://h:993", "test").expect("open");
    let a = "alice@example.com";
    j.record_done(&[row("1", "aa"), row("2", "bb"), row("3", "cc")])
        .expect("done");
    j.record_moving(
        a,
        &[
            ("INBOX", "1", h("aa"), "Projects"),
            ("INBOX", "1", h("aa"), "Clients"),
            ("INBOX", "2", h("bb"), "Projects"),
            ("INBOX", "3", h("cc"), "Projects"),
        ],
    )
    .expect("moving");
    // Recorded twice: kept once.
    j.record_moving(a, &[("INBOX", "2", h("bb"), "Projects")])
        .expect("again");
    let m = j.moving(a).expect("moving");
    let mut one = m[&("INBOX".to_string(), "1".to_string(), h("aa"))].clone();
    one.sort();
    assert_eq!(one, ["Clients", "Projects"]);
    assert_eq!(m.len(), 3);
    // Journaled as moved: its records go in the same transaction.
    j.record_moves(
        a,
        &[ItemRow {
            folder: "Projects".into(),
            mailbox: "Projects".into(),
            ..row("9", "aa")
        }],
        &[("INBOX".to_string(), vec![("1".to_string(), h("aa"))])],
    )
    .expect("moves");
    // A row forgotten otherwise (gone from the target): its record is
    // dropped when the moves are read.
    j.forget_done(a, "INBOX", &[("3".to_string(), h("cc"))])
        .expect("forget");
    let m = j.moving(a).expect("moving");
    let keys: Vec<&(String, String, ContentHash)> = m.keys().collect();
    assert_eq!(keys, [&("INBOX".to_string(), "2".to_string(), h("bb"))]);
    // Another account's or target's are not these.
    assert!(j.moving("bob@example.com").expect("bob").is_empty());
    let other =
        Journal::open(&t.path().join("j.sqlite"), "imaps://other:993", "test").expect("other");
    assert!(other.moving(a).expect("other target").is_empty());
}

#[test]
fn the_lock_is_named_after_the_journal_s_real_path() {
    let tmp = tempfile::tempdir().expect("tmp");
    let real_dir = tmp.path().join("real");
    std::fs::create_dir_all(&real_dir).expect("dir");
    let real_dir = std::fs::canonicalize(&real_dir).expect("canonical");
    let linked_dir = tmp.path().join("linked");
    std::os::unix::fs::symlink(&real_dir, &linked_dir).expect("dir symlink");
    // A journal not created yet, through a symlinked directory.
    assert_eq!(
        real_path(&linked_dir.join("j.sqlite")),
        real_dir.join("j.sqlite")
    );
    // A dangling symlink to a journal not created yet.
    let dangling = tmp.path().join("d.sqlite");
    std::os::unix::fs::symlink(real_dir.join("new.sqlite"), &dangling).expect("symlink");
    assert_eq!(real_path(&dangling), real_dir.join("new.sqlite"));
    // An existing journal through a symlink.
    std::fs::write(real_dir.join("j.sqlite"), b"").expect("file");
    let link = tmp.path().join("l.sqlite");
    std::os::unix::fs::symlink(real_dir.join("j.sqlite"), &link).expect("symlink");
    assert_eq!(real_path(&link), real_dir.join("j.sqlite"));
    // Two runs, one through the link: one lock.
    let first = RunLock::acquire(&real_dir.join("j.sqlite")).expect("first");
    assert!(matches!(
        RunLock::acquire(&link),
        Err(JournalError::Busy { .. })
    ));
    drop(first);
    assert!(RunLock::acquire(&link).is_ok());
}
