//! `migrate --sync --propagate-deletes` against the other real servers of
//! the harness (tests/harness/cyrus-up.sh, courier-up.sh), as
//! tests/it/sync.rs and sync_moves.rs do against Dovecot: after a bulk
//! migrate, Kerio's flag changes, two messages moved to another folder,
//! one deleted, one new and one still being written (`--settle 60`) are
//! carried to Cyrus IMAP 3.6 (Debian's namespace `INBOX.` and upstream's,
//! no prefix and `/`; MOVE, UIDPLUS, UNSELECT) and Courier-IMAP 5.0
//! (UIDPLUS, but neither MOVE nor UNSELECT: the documented fallbacks,
//! `UID COPY` + `\Deleted` + `UID EXPUNGE` and EXAMINE + CLOSE), the
//! commands sent recorded by a proxy. Checked on the server with our own
//! IMAP reads: the source's messages per mailbox by Message-ID, with
//! their flags, nothing twice, a foreign `\Deleted` message untouched; the
//! report's `sync` counts; a rerun that changes nothing; the settling file
//! in the next run; `verify` finding only the foreign message extra. And
//! a folder renamed in Kerio: `RENAME` on Cyrus and Courier, with its
//! sub-folder, nothing uploaded again.

use crate::support::imap::Imap;
use crate::support::interop::{Interop, Kind};
use crate::support::recorder::Recorder;
use crate::support::store::{index_line, item_id, StoreBuilder};
use crate::sync::{backdate, flags, message, run, store, ACCOUNT};
use crate::sync_moves::folder_report;
use serde_json::Value;
use std::fs;
use std::path::Path;

/// One mailbox on the server: (Message-ID number, system flags sorted)
/// per message, sorted (a message there twice shows twice).
fn state(port: u16, mailbox: &str) -> Vec<(usize, Vec<String>)> {
    let mut c = Imap::login(port, "bob", "secret");
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
                .unwrap_or_else(|| panic!("{mailbox}: not a generated message: {text}"));
            let mut f: Vec<String> = m
                .flags
                .into_iter()
                .filter(|f| {
                    ["\\Seen", "\\Answered", "\\Flagged", "\\Draft", "\\Deleted"]
                        .contains(&f.as_str())
                })
                .collect();
            f.sort();
            (n, f)
        })
        .collect();
    let _ = c.cmd("LOGOUT");
    v.sort();
    v
}

/// The server's CAPABILITY after login.
fn capabilities(port: u16) -> Vec<String> {
    let mut c = Imap::login(port, "bob", "secret");
    let (lines, st) = c.cmd("CAPABILITY");
    assert!(st.starts_with("OK"), "CAPABILITY: {st}");
    let _ = c.cmd("LOGOUT");
    lines
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .filter_map(|l| l.strip_prefix("* CAPABILITY ").map(str::to_string))
        .flat_map(|l| {
            l.split_whitespace()
                .map(str::to_ascii_uppercase)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Someone else's message in the INBOX, marked `\Deleted` by its owner but
/// not expunged: neither a move nor `--propagate-deletes` may take it.
/// A synchronising literal (Courier has no LITERAL+).
fn foreign_deleted_message(port: u16, inbox: &str) {
    let body = message(99, "someone else's, marked deleted").replace('\n', "\r\n");
    let mut c = Imap::login(port, "bob", "secret");
    let (_, st) = c.cmd(&format!(
        "APPEND {inbox} (\\Deleted) {{{}}}\r\n{body}",
        body.len()
    ));
    assert!(st.starts_with("OK"), "APPEND: {st}");
    let _ = c.cmd("LOGOUT");
}

fn size_of(dir: &Path, id: &str) -> usize {
    fs::metadata(dir.join(format!("#msgs/{id}.eml")))
        .expect("item")
        .len() as usize
}

/// Bob's INBOX (messages 0..=5: seen, none, flagged, none, none, none) and
/// Projects with message 20.
fn initial_store(dir: &Path) -> StoreBuilder {
    let initial = [0x1, 0x0, 0x4, 0x0, 0x0, 0x0];
    let st = store(dir, 6, |i| initial[i]);
    let own = message(20, "already in Projects");
    st.item(ACCOUNT, "Projects", "00000001", own.as_bytes());
    st.index(
        ACCOUNT,
        "Projects",
        &[index_line(
            "00000001",
            0,
            own.len(),
            0x5a4a0000,
            0x5a4a0000,
            0x5a4a0000,
        )],
    );
    st
}

/// In Kerio: 0 marked unread, 1 read and flagged, 2 no longer flagged;
/// 3 and 4 moved to Projects (new ids 2 and 3 there; 3 read on the way);
/// 5 deleted; 6 new (an hour old); 7 new and still being written (mtime
/// now). Returns the path of 7's file.
fn kerio_changes(st: &StoreBuilder) -> std::path::PathBuf {
    let inbox = st.folder_dir(ACCOUNT, "INBOX");
    let projects = st.folder_dir(ACCOUNT, "Projects");
    let moved: Vec<Vec<u8>> = [4usize, 5]
        .iter()
        .map(|n| fs::read(inbox.join(format!("#msgs/{}.eml", item_id(*n)))).expect("item"))
        .collect();
    for n in [4usize, 5, 6] {
        fs::remove_file(inbox.join(format!("#msgs/{}.eml", item_id(n)))).expect("rm");
    }
    let new = message(6, "message 6");
    backdate(&st.item(ACCOUNT, "INBOX", "00000007", new.as_bytes()));
    let fresh = message(7, "message 7");
    let fresh_path = st.item(ACCOUNT, "INBOX", "00000008", fresh.as_bytes());
    let mut lines: Vec<String> = [(1usize, 0x0u32), (2, 0x5), (3, 0x0)]
        .iter()
        .map(|(n, f)| {
            let id = item_id(*n);
            let size = size_of(&inbox, &id);
            let received = 0x5a4a0000 + *n as i64 - 1;
            index_line(&id, *f, size, 0x5a4a0000, received, 0x5a4a0000)
        })
        .collect();
    for (id, len) in [("00000007", new.len()), ("00000008", fresh.len())] {
        lines.push(index_line(id, 0x1, len, 0x5a4a0000, 0x5a4a0010, 0x5a4a0000));
    }
    st.index(ACCOUNT, "INBOX", &lines);
    let mut plines = vec![index_line(
        "00000001",
        0,
        size_of(&projects, "00000001"),
        0x5a4a0000,
        0x5a4a0000,
        0x5a4a0000,
    )];
    for (i, bytes) in moved.iter().enumerate() {
        let id = item_id(i + 2);
        backdate(&st.item(ACCOUNT, "Projects", &id, bytes));
        let f = if i == 0 { 0x1 } else { 0x0 };
        plines.push(index_line(
            &id,
            f,
            bytes.len(),
            0x5a4a0000,
            0x5a4a0000,
            0x5a4a0000,
        ));
    }
    st.index(ACCOUNT, "Projects", &plines);
    fresh_path
}

fn sync(st: &StoreBuilder, to: &str, dir: &Path, tag: &str) -> crate::support::Outcome {
    run("migrate", &st.install, to, dir)
        .args(["--sync", "--propagate-deletes", "--settle", "60"])
        .report(&dir.join(format!("{tag}.json")))
        .run()
}

/// The counts of one folder's report: (migrated, flags_set, moved_in,
/// deleted_on_target, deleted_at_source, settling).
fn counts(report: &Value, folder: &str) -> [u64; 6] {
    let f = folder_report(report, folder);
    let n = |v: &Value| v.as_u64().unwrap_or(u64::MAX);
    [
        n(&f["counts"]["migrated"]),
        n(&f["sync"]["flags_set"]),
        n(&f["sync"]["moved_in"]),
        n(&f["sync"]["deleted_on_target"]),
        n(&f["sync"]["deleted_at_source"]),
        n(&f["sync"]["settling"]),
    ]
}

/// The whole cutover against one server; `projects`: the mailbox Kerio's
/// Projects goes to (`INBOX.Projects` in the namespace `INBOX.` of
/// Debian's Cyrus and Courier, `Projects` on upstream's Cyrus). Returns
/// the commands the first sync sent.
fn sync_against(srv: &Interop, projects: &str) -> Vec<String> {
    let kind = srv.kind;
    let tmp = tempfile::tempdir().expect("tmp");
    let proxy = Recorder::start(srv.port);
    let to = format!("imap://127.0.0.1:{}", proxy.port);
    let inbox = "INBOX";
    let st = initial_store(tmp.path());
    let o = run("migrate", &st.install, &to, tmp.path())
        .report(&tmp.path().join("bulk.json"))
        .run();
    assert_eq!(o.code, 0, "{kind:?} bulk: {o}");
    assert_eq!(
        folder_report(&o.report, "Projects")["mailbox"],
        projects,
        "{kind:?}"
    );
    assert_eq!(
        state(srv.port, inbox),
        vec![
            (0, flags(&["\\Seen"])),
            (1, flags(&[])),
            (2, flags(&["\\Flagged"])),
            (3, flags(&[])),
            (4, flags(&[])),
            (5, flags(&[])),
        ],
        "{kind:?} after the bulk migrate"
    );
    assert_eq!(state(srv.port, projects), vec![(20, flags(&[]))]);
    foreign_deleted_message(srv.port, inbox);
    let fresh = kerio_changes(&st);

    proxy.clear();
    let o = sync(&st, &to, tmp.path(), "sync1");
    assert_eq!(o.code, 0, "{kind:?} sync: {o}");
    let wire = proxy.commands();
    // Before appending into the non-empty INBOX: EXAMINE + `UID SEARCH`.
    assert!(has(&wire, "UID SEARCH"), "{kind:?}: {wire:?}");
    // INBOX: 3 flag changes, 1 new, 1 removed, 1 settling; Projects: 2
    // moved in (one with \Seen to set), none uploaded.
    assert_eq!(counts(&o.report, "INBOX"), [1, 3, 0, 1, 0, 1], "{kind:?}");
    assert_eq!(
        counts(&o.report, "Projects"),
        [0, 1, 2, 0, 0, 0],
        "{kind:?}"
    );
    assert!(o.stdout.contains("settling"), "{}", o.stdout);
    let want_inbox = vec![
        (0, flags(&[])),
        (1, flags(&["\\Flagged", "\\Seen"])),
        (2, flags(&[])),
        (6, flags(&["\\Seen"])),
        (99, flags(&["\\Deleted"])),
    ];
    let want_projects = vec![(3, flags(&["\\Seen"])), (4, flags(&[])), (20, flags(&[]))];
    assert_eq!(state(srv.port, inbox), want_inbox, "{kind:?} INBOX");
    assert_eq!(
        state(srv.port, projects),
        want_projects,
        "{kind:?} Projects"
    );

    // A rerun changes nothing (7 is still being written).
    let o = sync(&st, &to, tmp.path(), "sync2");
    assert_eq!(o.code, 0, "{kind:?} rerun: {o}");
    assert_eq!(o.report["totals"]["migrated"], 0, "{kind:?}");
    assert_eq!(counts(&o.report, "INBOX"), [0, 0, 0, 0, 0, 1], "{kind:?}");
    assert_eq!(
        counts(&o.report, "Projects"),
        [0, 0, 0, 0, 0, 0],
        "{kind:?}"
    );
    assert_eq!(state(srv.port, inbox), want_inbox, "{kind:?} rerun");
    assert_eq!(state(srv.port, projects), want_projects, "{kind:?} rerun");

    // Once written, the next run takes it, once.
    backdate(&fresh);
    let o = sync(&st, &to, tmp.path(), "sync3");
    assert_eq!(o.code, 0, "{kind:?} settled: {o}");
    assert_eq!(counts(&o.report, "INBOX"), [1, 0, 0, 0, 0, 0], "{kind:?}");
    let mut want_inbox = want_inbox;
    want_inbox.insert(4, (7, flags(&["\\Seen"])));
    assert_eq!(state(srv.port, inbox), want_inbox, "{kind:?} settled");

    // verify: everything there with its flags; the foreign message is the
    // one extra (hence exit 3).
    let o = run("verify", &st.install, &to, tmp.path())
        .arg("--json")
        .run();
    let v: Value = serde_json::from_str(&o.stdout).expect("verify --json");
    let t = &v["totals"];
    assert_eq!(
        (
            &t["missing_on_target"],
            &t["differs"],
            &t["extra"],
            &t["flags_differ"],
            &t["not_migrated"]
        ),
        (&0.into(), &0.into(), &1.into(), &0.into(), &0.into()),
        "{kind:?} verify: {}",
        o.stdout
    );
    assert_eq!(o.code, 3, "{kind:?} verify: {}", o.stdout);
    wire
}

fn has(wire: &[String], command: &str) -> bool {
    wire.iter().any(|c| c == command)
}

/// Cyrus offers MOVE, UIDPLUS and UNSELECT: `UID MOVE`, `UID EXPUNGE`,
/// UNSELECT, never CLOSE or `UID COPY`.
fn sync_against_cyrus(kind: Kind, env: &[(&str, &str)], projects: &str) {
    let srv = Interop::start(kind, "bob", env);
    let caps = capabilities(srv.port);
    for c in ["MOVE", "UIDPLUS", "UNSELECT"] {
        assert!(caps.iter().any(|x| x == c), "{kind:?}: no {c}: {caps:?}");
    }
    let wire = sync_against(&srv, projects);
    for c in ["UID MOVE", "UID STORE", "UID EXPUNGE", "UNSELECT"] {
        assert!(has(&wire, c), "{kind:?}: no {c} sent: {wire:?}");
    }
    for c in ["UID COPY", "CLOSE", "EXPUNGE"] {
        assert!(!has(&wire, c), "{kind:?}: {c} sent: {wire:?}");
    }
}

#[test]
fn sync_against_cyrus_carries_flags_moves_deletes_and_settling_files() {
    sync_against_cyrus(Kind::CyrusDebian, &[], "INBOX.Projects");
}

/// Upstream's namespace: no prefix, separator `/`.
#[test]
fn sync_against_cyrus_with_upstreams_namespace_ends_the_same() {
    sync_against_cyrus(
        Kind::CyrusUpstream,
        &[("EXTRA_CONF", "munge8bit: 0")],
        "Projects",
    );
}

/// Courier offers UIDPLUS but neither MOVE nor UNSELECT: the moves go by
/// `UID COPY`, `\Deleted` and `UID EXPUNGE` of that UID, the mailbox is
/// left by EXAMINE + CLOSE; the outcome is the same, and the foreign
/// `\Deleted` message survives both.
#[test]
fn sync_against_courier_uses_copy_and_close_and_ends_the_same() {
    let srv = Interop::start(Kind::Courier, "bob", &[]);
    let caps = capabilities(srv.port);
    assert!(caps.iter().any(|x| x == "UIDPLUS"), "{caps:?}");
    for c in ["MOVE", "UNSELECT"] {
        assert!(
            !caps.iter().any(|x| x == c),
            "Courier now offers {c}: the fallback is not what this test covers: {caps:?}"
        );
    }
    let wire = sync_against(&srv, "INBOX.Projects");
    for c in ["UID COPY", "UID STORE", "UID EXPUNGE", "EXAMINE", "CLOSE"] {
        assert!(has(&wire, c), "Courier: no {c} sent: {wire:?}");
    }
    for c in ["UID MOVE", "UNSELECT", "EXPUNGE"] {
        assert!(!has(&wire, c), "Courier: {c} sent: {wire:?}");
    }
    // One `UID COPY` per moved message.
    let copies = wire.iter().filter(|c| *c == "UID COPY").count();
    assert_eq!(copies, 2, "{wire:?}");
}

/// A folder renamed in Kerio (Projects with Projects/Sub → Clients):
/// `RENAME` on the server, the sub-folder with it, nothing uploaded again.
fn rename_against(kind: Kind, env: &[(&str, &str)], prefix: &str, sep: char) {
    let srv = Interop::start(kind, "bob", env);
    let tmp = tempfile::tempdir().expect("tmp");
    let proxy = Recorder::start(srv.port);
    let to = format!("imap://127.0.0.1:{}", proxy.port);
    let st = store(tmp.path(), 2, |_| 0);
    for (folder, n) in [("Projects", 20usize), ("Projects/Sub", 30)] {
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
    let o = run("migrate", &st.install, &to, tmp.path()).run();
    assert_eq!(o.code, 0, "{kind:?} bulk: {o}");
    fs::rename(
        st.folder_dir(ACCOUNT, "Projects"),
        st.folder_dir(ACCOUNT, "Clients"),
    )
    .expect("rename");
    proxy.clear();
    let o = sync(&st, &to, tmp.path(), "rename");
    assert_eq!(o.code, 0, "{kind:?} sync: {o}");
    let wire = proxy.commands();
    assert!(has(&wire, "RENAME"), "{kind:?}: {wire:?}");
    assert_eq!(o.report["totals"]["migrated"], 0, "{kind:?}: {}", o.report);
    let (clients, sub) = (
        format!("{prefix}Clients"),
        format!("{prefix}Clients{sep}Sub"),
    );
    let mut c = Imap::login(srv.port, "bob", "secret");
    let names = c.list_names();
    let _ = c.cmd("LOGOUT");
    assert!(
        !names.iter().any(|n| n.contains("Projects")),
        "{kind:?}: {names:?}"
    );
    assert_eq!(
        state(srv.port, &clients),
        vec![(20, flags(&[]))],
        "{kind:?}"
    );
    assert_eq!(state(srv.port, &sub), vec![(30, flags(&[]))], "{kind:?}");
    let o = run("verify", &st.install, &to, tmp.path())
        .arg("--json")
        .run();
    assert_eq!(o.code, 0, "{kind:?} verify: {}", o.stdout);
    let o = sync(&st, &to, tmp.path(), "rename2");
    assert_eq!(o.code, 0, "{kind:?} rerun: {o}");
    assert_eq!(o.report["totals"]["migrated"], 0, "{kind:?}");
    assert_eq!(state(srv.port, &clients).len(), 1, "{kind:?}");
    assert_eq!(state(srv.port, &sub).len(), 1, "{kind:?}");
}

#[test]
fn a_folder_renamed_in_kerio_is_renamed_on_cyrus_with_its_sub_folder() {
    rename_against(Kind::CyrusDebian, &[], "INBOX.", '.');
}

#[test]
fn a_folder_renamed_in_kerio_is_renamed_on_courier_with_its_sub_folder() {
    rename_against(Kind::Courier, &[], "INBOX.", '.');
}
