//! Round trips per folder over a long link: a store of several folders to
//! the test Dovecot through bench/trace-proxy.py (the delay proxy that also
//! records every IMAP command and whether the client sent it with nothing
//! outstanding, i.e. after waiting a full round trip). The serial commands
//! of a control connection per folder must not regress (they were 11 per
//! folder before the control commands went out in flights: LIST, CREATE,
//! SUBSCRIBE, EXAMINE, UNSELECT, STATUS INBOX, STATUS, EXAMINE, 2 × UID
//! FETCH, UNSELECT); the folders run on one session each
//! (`--parallel-folders`, default 4), so their round trips overlap: four
//! control connections, each waiting for one folder's round trips only,
//! the APPENDs of every folder under way at the same time, and still no
//! more append connections than `--connections`. Every message is still
//! stored exactly once: on
//! the first run, on a rerun with the journal, and on a rerun without one
//! (every message found on the server and adopted, none appended; the
//! bodies read for that in one flight a folder, not 50 at a time).

use crate::support::dovecot::Dovecot;
use crate::support::imap::Imap;
use crate::support::proxy::{self, Proxy};
use crate::support::store::{index_line, item_id, line_with, StoreBuilder};
use crate::support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use std::time::{Duration, Instant};

const FOLDERS: usize = 4;
/// Messages per folder: more than one 200-UID size chunk.
const PER_FOLDER: usize = 450;
const RTT_MS: u64 = 25;
/// Serial commands of the control connection per folder, at most: the
/// flight that creates and prepares it (CREATE, SUBSCRIBE, EXAMINE,
/// UNSELECT, STATUS; CREATE went alone before). The stored sizes are read
/// back by each append connection right behind its last APPEND (EXAMINE,
/// UID FETCH, UNSELECT in the same flight): that was a second flight on
/// the control connection, one round trip after the folder's last answer.
const PER_FOLDER_MAX: usize = 1;
/// Serial commands of a control connection once per session, at most
/// (AUTHENTICATE, the flight of LIST "" "", NAMESPACE and LIST RETURN
/// (SPECIAL-USE), LOGOUT: the LIST of the mailboxes is not asked again; it
/// was 6 before those three went in one flight, and 4 while CAPABILITY was
/// asked after the login that had already answered with the list).
const ACCOUNT_MAX: usize = 3;
/// The default `--connections`: the append connections of the account,
/// shared by its sessions.
const CONNECTIONS: usize = 4;

fn trace_proxy(target: u16, trace: &Path) -> (Proxy, u16) {
    proxy::start("trace-proxy.py", target, RTT_MS, Some(trace))
}

/// One command as the proxy saw it.
#[derive(Debug)]
struct Traced {
    conn: u64,
    verb: String,
    arg: String,
    serial: bool,
    sent: f64,
    done: f64,
}

/// The trace (one JSON line per command), then emptied for the next run.
/// The proxy's own probe connection (no command) leaves no line.
fn take_trace(path: &Path) -> Vec<Traced> {
    // The last answers may still be on their way through the proxy.
    std::thread::sleep(Duration::from_millis(4 * RTT_MS + 200));
    let text = std::fs::read_to_string(path).unwrap_or_default();
    std::fs::write(path, b"").expect("empty the trace");
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("trace line");
            Traced {
                conn: v["conn"].as_u64().expect("conn"),
                verb: v["verb"].as_str().expect("verb").to_string(),
                arg: v["arg"].as_str().unwrap_or_default().to_string(),
                serial: v["serial"].as_bool().expect("serial"),
                sent: v["sent"].as_f64().expect("sent"),
                done: v["done"].as_f64().expect("done"),
            }
        })
        .collect()
}

/// The control connections' commands, one list per session: the
/// connections that sent NAMESPACE, CREATE, EXAMINE or STATUS and no
/// APPEND (an append connection EXAMINEs only to read the stored sizes
/// back behind its last APPEND).
fn controls(trace: &[Traced]) -> Vec<Vec<&Traced>> {
    const CONTROL: &[&str] = &["NAMESPACE", "CREATE", "EXAMINE", "STATUS"];
    let appending: BTreeSet<u64> = trace
        .iter()
        .filter(|t| t.verb == "APPEND")
        .map(|t| t.conn)
        .collect();
    let conns: BTreeSet<u64> = trace
        .iter()
        .filter(|t| CONTROL.contains(&t.verb.as_str()) && !appending.contains(&t.conn))
        .map(|t| t.conn)
        .collect();
    assert!(!conns.is_empty(), "no control connection");
    conns
        .iter()
        .map(|c| trace.iter().filter(|t| t.conn == *c).collect())
        .collect()
}

/// The commands of every control connection together.
fn control(trace: &[Traced]) -> Vec<&Traced> {
    controls(trace).into_iter().flatten().collect()
}

fn serial_summary(cmds: &[&Traced]) -> String {
    let mut m: BTreeMap<&str, usize> = BTreeMap::new();
    for c in cmds.iter().filter(|c| c.serial) {
        *m.entry(c.verb.as_str()).or_default() += 1;
    }
    format!("{m:?}")
}

/// Folders `{prefix}1..={n}` of `account`, `per` messages each
/// (`eight_bit`: every 50th from a raw 8-bit `From`).
fn folders(
    store: &StoreBuilder,
    account: &str,
    prefix: &str,
    (n, per): (usize, usize),
    eight_bit: bool,
) {
    for f in 1..=n {
        let folder = format!("{prefix}{f}");
        let items = store.messages(account, &folder, per, |i| {
            let from = if eight_bit && i % 50 == 7 {
                "Jürgen Müller"
            } else {
                "x"
            };
            format!(
                "From: {from} <x@l.test>\nSubject: {f}-{i}\nMessage-ID: <{prefix}{f}.{i}@l.test>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\n{}\n",
                "body ".repeat(10 + i % 40)
            )
        });
        let index: Vec<String> = items
            .iter()
            .map(|(id, size)| index_line(id, 0, *size, 0x5a4a0000, 0x5a4a0000, 0x5a4a0000))
            .collect();
        store.index(account, &folder, &index);
    }
}

/// The distinct subjects of the messages fetched.
fn subjects(got: &[crate::support::imap::Fetched]) -> BTreeSet<String> {
    got.iter()
        .filter_map(|m| {
            let b = String::from_utf8_lossy(&m.body).to_string();
            b.lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
        })
        .collect()
}

/// Every message of folders `{prefix}1..={n}` is on the server once.
fn each_once(port: u16, user: &str, prefix: &str, n: usize) {
    let mut c = Imap::login(port, user, "secret");
    for f in 1..=n {
        let got = c.fetch_all(&format!("{prefix}{f}"));
        let subjects = subjects(&got);
        assert_eq!(got.len(), PER_FOLDER, "{prefix}{f}: messages on the server");
        assert_eq!(subjects.len(), PER_FOLDER, "{prefix}{f}: distinct messages");
    }
}

/// A Dovecot behind the trace proxy, one user, and a store of FOLDERS
/// folders `{prefix}1..` of PER_FOLDER messages for `account`.
struct Link {
    dc: Dovecot,
    tmp: tempfile::TempDir,
    trace: std::path::PathBuf,
    _proxy: Proxy,
    url: String,
    store: StoreBuilder,
    account: &'static str,
    user: &'static str,
}

impl Link {
    fn new(user: &'static str, account: &'static str, prefix: &str, eight_bit: bool) -> Link {
        Link::sized(user, account, prefix, (FOLDERS, PER_FOLDER), eight_bit)
    }

    /// [`Link::new`] with `shape.0` folders of `shape.1` messages.
    fn sized(
        user: &'static str,
        account: &'static str,
        prefix: &str,
        shape: (usize, usize),
        eight_bit: bool,
    ) -> Link {
        let dc = Dovecot::start(&[("USERS", user), ("MAIL_FORMAT", "mdbox")]);
        let tmp = tempfile::tempdir().expect("tmp");
        let trace = tmp.path().join("trace.jsonl");
        let (proxy, port) = trace_proxy(dc.imap_port, &trace);
        let store = StoreBuilder::new(&tmp.path().join("kerio"));
        folders(&store, account, prefix, shape, eight_bit);
        Link {
            dc,
            trace,
            _proxy: proxy,
            url: format!("imap://127.0.0.1:{port}"),
            store,
            tmp,
            account,
            user,
        }
    }

    /// `migrate` through the proxy with `journal`, `extra` options; exit 0.
    fn run(&self, journal: &str, extra: &[&str]) -> Outcome {
        let out = Run::migrate(&self.store.install, &self.url)
            .args(["--tls", "none"])
            .args(extra)
            .state(&self.tmp.path().join(journal))
            .report(&self.tmp.path().join("r.json"))
            .login(self.account, self.user, "secret")
            .run();
        assert_eq!(out.code, 0, "{out}");
        out
    }
}

#[test]
fn control_round_trips_per_folder_stay_few_and_every_message_is_stored_once() {
    // Some with raw 8-bit header bytes: those are compared by content,
    // their bodies read back in the same flights.
    let link = Link::new("dave", "dave@l.test", "F", true);
    let (dc, trace) = (&link.dc, &link.trace);
    // Small batches: a folder takes several round trips even with the
    // whole start window in flight (16 MULTIAPPENDs), so that the folders'
    // APPENDs overlap in time (checked below).
    let run = |journal: &str| link.run(journal, &["--batch", "10"]);
    let server_holds_each_once = || each_once(dc.imap_port, "dave", "F", FOLDERS);

    // First run: every folder created and filled.
    let out = run("j.sqlite");
    assert_eq!(
        out.report["totals"]["migrated"],
        (FOLDERS * PER_FOLDER) as u64,
        "{out}"
    );
    // Every connection logged out: LOGOUT is not waited for (the run's last
    // round trip), but the server read it before the connection ended.
    let conns: BTreeSet<u64> = std::fs::read_to_string(trace)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()?["conn"].as_u64())
        .collect();
    // The probe's connection (opened before the run, to check the address)
    // is the first login's: the proxy numbers connections as it accepts
    // them, and every one of them carried commands (the probe's used to
    // sit idle: one more connection and a round trip before the login).
    let opened = conns.iter().max().copied().unwrap_or(0);
    assert_eq!(
        conns,
        (1..=opened).collect::<BTreeSet<u64>>(),
        "a connection carried no command"
    );
    let log = dc.base().join("log/dovecot.log");
    let ends = || -> Vec<String> {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("imap(dave)") && l.contains("Disconnected"))
            .map(str::to_string)
            .collect()
    };
    let t = Instant::now();
    while ends().len() < conns.len() && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let ends = ends();
    assert_eq!(ends.len(), conns.len(), "{ends:#?}");
    assert!(
        ends.iter().all(|l| l.contains("Disconnected: Logged out")),
        "a connection ended without its LOGOUT: {ends:#?}"
    );
    server_holds_each_once();
    // Created and subscribed (the SUBSCRIBE went out in a flight).
    let mut c = Imap::login(dc.imap_port, "dave", "secret");
    let (lines, st) = c.cmd("LSUB \"\" \"*\"");
    assert!(st.starts_with("OK"), "LSUB: {st}");
    let subscribed = String::from_utf8_lossy(&lines.concat()).to_string();
    for f in 1..=FOLDERS {
        assert!(
            subscribed.contains(&format!("F{f}")),
            "F{f} not subscribed: {subscribed}"
        );
    }
    let t = take_trace(trace);
    // Dovecot's login answer carries the capabilities: no connection asks.
    let asked: Vec<_> = t.iter().filter(|c| c.verb == "CAPABILITY").collect();
    assert!(asked.is_empty(), "CAPABILITY after login: {asked:?}");
    let ctl = control(&t);
    let serial = ctl.iter().filter(|c| c.serial).count();
    assert!(
        serial <= ACCOUNT_MAX * FOLDERS + PER_FOLDER_MAX * FOLDERS,
        "{serial} serial control commands for {FOLDERS} folders: {}",
        serial_summary(&ctl)
    );
    // The folders ran side by side: one session each, and a session waited
    // for one folder's round trips only (one after another they were
    // ACCOUNT_MAX + PER_FOLDER_MAX × FOLDERS on one connection).
    let sessions = controls(&t);
    assert_eq!(sessions.len(), FOLDERS, "sessions (control connections)");
    // The sessions opened together share one LIST flight (and one STATUS
    // of INBOX): the first to log in asks, the others take its answer.
    let asking: Vec<_> = t.iter().filter(|c| c.verb == "NAMESPACE").collect();
    assert_eq!(asking.len(), 1, "LIST flights: {asking:?}");
    let inbox = t
        .iter()
        .filter(|c| c.verb == "STATUS" && c.arg.starts_with("INBOX"));
    assert_eq!(inbox.count(), 1, "STATUS INBOX on more than one session");
    for s in &sessions {
        let waited = s.iter().filter(|c| c.serial).count();
        // One more allowed: a session still reads the stored sizes back on
        // its control connection when its connection's tail did not cover
        // every UID (seen once in about 8 runs under load; the cause is not
        // known yet). The total above holds every session to one flight.
        assert!(
            waited <= ACCOUNT_MAX + PER_FOLDER_MAX + 1,
            "{waited} serial commands on one control connection: {}",
            serial_summary(s)
        );
        // One LIST of the mailboxes per session (not one per folder).
        let lists = s
            .iter()
            .filter(|c| c.verb == "LIST" && c.arg == "\"\"")
            .count();
        assert!(lists <= 2, "{lists} LISTs: {}", serial_summary(s));
    }
    // Every folder's APPENDs were under way while every other's were: the
    // last folder to start sent its first APPEND before the first folder to
    // end had its last answer.
    let mut spans: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for c in t.iter().filter(|c| c.verb == "APPEND") {
        let e = spans.entry(c.arg.as_str()).or_insert((f64::MAX, 0.0));
        e.0 = e.0.min(c.sent);
        e.1 = e.1.max(c.done);
    }
    assert_eq!(spans.len(), FOLDERS, "{spans:?}");
    // (All but one: one session whose thread a loaded machine starts late
    // may begin after the first folder ended; one after another, only the
    // first folder has begun by then.)
    let first_end = spans.values().map(|s| s.1).fold(f64::MAX, f64::min);
    let begun = spans.values().filter(|s| s.0 < first_end).count();
    assert!(
        begun >= FOLDERS - 1,
        "folders appended one after another ({begun} begun before the first ended): {spans:?}"
    );
    // The sessions share the account's append connections.
    let appending: BTreeSet<u64> = t
        .iter()
        .filter(|c| c.verb == "APPEND")
        .map(|c| c.conn)
        .collect();
    assert!(
        appending.len() <= CONNECTIONS,
        "{} append connections: {appending:?}",
        appending.len()
    );
    // A first run for the account: the append connections log in at the
    // start, while the control connections do, not once a mailbox was
    // created (they waited for the answer to CREATE before, some 6 round
    // trips; now they wait for the first login of the credential only).
    // Each session opens its append connection with its control
    // connection, so the i-th append login (in time) precedes the i-th
    // session's first CREATE answer: a session whose thread a loaded
    // machine starts late moves both its times together (CI once started
    // the last session 80 ms after the first, whose CREATE was answered
    // before the last append login).
    let mut creates: Vec<f64> = sessions
        .iter()
        .filter_map(|s| {
            s.iter()
                .filter(|c| c.verb == "CREATE")
                .map(|c| c.done)
                .reduce(f64::min)
        })
        .collect();
    creates.sort_by(f64::total_cmp);
    assert_eq!(creates.len(), FOLDERS, "sessions that created: {creates:?}");
    let mut logins: Vec<(f64, u64)> = appending
        .iter()
        .map(|conn| {
            let at = t
                .iter()
                .filter(|c| c.conn == *conn && (c.verb == "AUTHENTICATE" || c.verb == "LOGIN"))
                .map(|c| c.sent)
                .fold(f64::MAX, f64::min);
            (at, *conn)
        })
        .collect();
    logins.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Each append connection is opened by a thread of its own: one of them
    // scheduled late on a loaded machine may miss its rank by a few ms (the
    // margin is about 3 round trips, 60-90 ms here). Waiting for CREATE, as
    // before, every rank misses.
    let late: Vec<_> = logins
        .iter()
        .enumerate()
        .filter(|(i, (login, _))| *login >= creates[(*i).min(creates.len() - 1)])
        .collect();
    assert!(
        late.len() <= 1,
        "append connections logged in after the answer to CREATE of their rank: {late:?}; logins {logins:?}, CREATEs {creates:?}"
    );
    let all: BTreeSet<u64> = t.iter().map(|c| c.conn).collect();
    assert!(
        all.len() <= CONNECTIONS + FOLDERS,
        "{} connections",
        all.len()
    );
    // Every size chunk of a folder went out in one flight: no UID FETCH
    // waited for another.
    let fetch_waits = ctl
        .iter()
        .filter(|c| c.serial && c.verb == "UID FETCH")
        .count();
    assert_eq!(fetch_waits, 0, "{}", serial_summary(&ctl));
    // A rerun with the journal: nothing to do, nothing appended.
    let out = run("j.sqlite");
    assert_eq!(out.report["totals"]["migrated"], 0, "{out}");
    server_holds_each_once();
    let t = take_trace(trace);
    assert!(t.iter().all(|c| c.verb != "APPEND"), "{t:?}");
    // No append connection either: they are opened ahead only for a
    // mailbox a session creates (a run with nothing to do logs in only its
    // control connections).
    let ctl_conns: BTreeSet<u64> = controls(&t).iter().map(|s| s[0].conn).collect();
    let logins: BTreeSet<u64> = t
        .iter()
        .filter(|c| c.verb == "AUTHENTICATE" || c.verb == "LOGIN")
        .map(|c| c.conn)
        .collect();
    assert_eq!(logins, ctl_conns, "append connections opened for nothing");

    // A rerun without a journal: every message found on the server
    // (adopted), none appended again.
    let out = run("fresh.sqlite");
    assert_eq!(out.report["totals"]["migrated"], 0, "{out}");
    assert_eq!(
        out.report["totals"]["already_present"],
        (FOLDERS * PER_FOLDER) as u64,
        "{out}"
    );
    server_holds_each_once();
    let t = take_trace(trace);
    assert!(t.iter().all(|c| c.verb != "APPEND"), "{t:?}");
    let ctl = control(&t);
    let fetch_waits = ctl
        .iter()
        .filter(|c| c.serial && c.verb == "UID FETCH")
        .count();
    // Per folder: the UIDs, then their sizes and dates (one flight), then
    // their bodies (one flight up to 16 MiB): 3, not one per 50 bodies.
    assert!(
        fetch_waits <= 3 * FOLDERS,
        "{fetch_waits} serial UID FETCH: {}",
        serial_summary(&ctl)
    );
}

/// One session, three folders: the next folder's mailbox is created and
/// examined while the folder before it still has APPENDs in flight (the
/// control connection is idle then), so the round trips between two
/// folders are the stored sizes read back only; every message still once.
#[test]
fn the_next_folder_is_prepared_while_the_last_appends_are_in_flight() {
    const N: usize = 4;
    let dc = Dovecot::start(&[("USERS", "erin"), ("MAIL_FORMAT", "mdbox")]);
    let tmp = tempfile::tempdir().expect("tmp");
    let trace = tmp.path().join("trace.jsonl");
    let (_proxy, port) = trace_proxy(dc.imap_port, &trace);
    let store = StoreBuilder::new(&tmp.path().join("kerio"));
    let account = "erin@l.test";
    folders(&store, account, "G", (N, PER_FOLDER), false);
    let out = Run::migrate(&store.install, &format!("imap://127.0.0.1:{port}"))
        .args(["--tls", "none", "--batch", "10", "--parallel-folders", "1"])
        .state(&tmp.path().join("j.sqlite"))
        .report(&tmp.path().join("r.json"))
        .login(account, "erin", "secret")
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        out.report["totals"]["migrated"],
        (N * PER_FOLDER) as u64,
        "{out}"
    );
    each_once(dc.imap_port, "erin", "G", N);
    let t = take_trace(&trace);
    let sessions = controls(&t);
    assert_eq!(sessions.len(), 1, "one session");
    let ctl = &sessions[0];
    // The margin is about one round trip and the server's last flight
    // (60-90 ms here): a session thread descheduled as long on a loaded
    // machine misses one transition; waiting for the answers, as before,
    // misses every one.
    let mut missed = Vec::new();
    for f in 1..N {
        let (this, next) = (format!("G{f}"), format!("G{}", f + 1));
        let last_answer = t
            .iter()
            .filter(|c| c.verb == "APPEND" && c.arg == this)
            .map(|c| c.done)
            .fold(0.0, f64::max);
        let created = ctl
            .iter()
            .find(|c| c.verb == "CREATE" && c.arg == next)
            .unwrap_or_else(|| panic!("no CREATE {next}: {}", serial_summary(ctl)));
        if created.sent >= last_answer {
            missed.push(format!(
                "{next} created at {}, after {this}'s last APPEND answer at {last_answer}",
                created.sent
            ));
        }
        // And its STATUS came in that flight: none is asked again when its
        // APPENDs start.
        let statuses = ctl
            .iter()
            .filter(|c| c.verb == "STATUS" && c.arg.starts_with(&next))
            .count();
        assert_eq!(statuses, 1, "STATUS {next}: {}", serial_summary(ctl));
    }
    assert!(missed.len() <= 1, "{missed:#?}");
}

/// Round trips a control connection waits for, per folder, in a sync where
/// every folder changed (flags, deletions, new items): the mailbox
/// prepared, the check for gone copies (whose answer also says no
/// unjournaled message needs reading before the new items are appended:
/// that EXAMINE and UID SEARCH were asked again, 7 before), SELECT with
/// the sizes of the copies to remove, the STOREs, the UID EXPUNGE, the
/// UID SEARCH that checks it and leaving.
const SYNC_PER_FOLDER_MAX: usize = 6;

/// `--sync --propagate-deletes` over the long link, every folder changed
/// at the source: 5 flags set, 3 items gone (one of them moved into the
/// next folder, the other two deleted), 5 new. Each folder's session waits
/// for few round trips: the two probes of a folder (which journaled copies
/// are gone from the target, then which messages no row accounts for
/// before appending) leave their mailbox in their own flight (before, each
/// waited one more round trip for its UNSELECT: 9 per folder, now 7); the
/// moves out of the folders go as one chain, one round trip per source
/// mailbox (each flight: its MOVE, UNSELECT, the next one's SELECT with
/// sizes; before, SELECT then MOVE: two). The server then holds every
/// message once, the moved one in its new folder, the deleted ones
/// removed, the flags set.
#[test]
fn a_sync_of_changed_folders_waits_few_round_trips_per_folder() {
    let link = Link::new("sara", "sara@l.test", "S", false);
    let (dc, trace, store, account) = (&link.dc, &link.trace, &link.store, link.account);
    let run = |extra: &[&str]| link.run("j.sqlite", extra);
    run(&[]);
    take_trace(trace);
    // Item 10 of each folder moves to the next folder (the last one's to
    // the first), 11 and 12 are deleted; 4 new items besides the moved one.
    const MOVED: usize = 10;
    const GONE: [usize; 3] = [MOVED, 11, 12];
    const NEW: usize = 5;
    let next = |f: usize| f % FOLDERS + 1;
    let moved: Vec<Vec<u8>> = (1..=FOLDERS)
        .map(|f| {
            let dir = store.folder_dir(account, &format!("S{f}"));
            std::fs::read(dir.join(format!("#msgs/{}.eml", item_id(MOVED)))).expect("item")
        })
        .collect();
    for f in 1..=FOLDERS {
        let dir = store.folder_dir(account, &format!("S{f}"));
        for i in GONE {
            std::fs::remove_file(dir.join(format!("#msgs/{}.eml", item_id(i)))).expect("rm");
        }
    }
    for f in 1..=FOLDERS {
        let folder = format!("S{}", next(f));
        store.item(account, &folder, &item_id(PER_FOLDER + 1), &moved[f - 1]);
        for i in 1..NEW {
            let body = format!(
                "From: x <x@l.test>\nSubject: new-{f}-{i}\nMessage-ID: <new{f}.{i}@l.test>\n\nnew {f} {i}\n"
            );
            store.item(
                account,
                &folder,
                &item_id(PER_FOLDER + 1 + i),
                body.as_bytes(),
            );
        }
    }
    for f in 1..=FOLDERS {
        let folder = format!("S{f}");
        let dir = store.folder_dir(account, &folder);
        let lines: Vec<String> = (1..=PER_FOLDER + NEW)
            .filter(|i| !GONE.contains(i))
            .map(|i| line_with(&dir, &item_id(i), if i <= 5 { 0x1 } else { 0 }))
            .collect();
        store.index(account, &folder, &lines);
    }
    let out = run(&["--sync", "--propagate-deletes", "--settle", "0"]);
    assert_eq!(
        out.report["totals"]["migrated"],
        (FOLDERS * (NEW - 1)) as u64,
        "{out}"
    );
    for fr in out.report["accounts"][0]["folders"]
        .as_array()
        .expect("folders")
    {
        assert_eq!(fr["sync"]["flags_set"], 5, "{fr}");
        assert_eq!(fr["sync"]["moved_in"], 1, "{fr}");
        assert_eq!(
            fr["sync"]["deleted_on_target"],
            GONE.len() as u64 - 1,
            "{fr}"
        );
    }
    let t = take_trace(trace);
    let sessions = controls(&t);
    assert_eq!(sessions.len(), FOLDERS, "sessions (control connections)");
    let ctl = control(&t);
    let serial = ctl.iter().filter(|c| c.serial).count();
    // Per session its account and folder round trips; on the first, the
    // moves: the chain (the destination mailboxes, which the server
    // listed, are named with no round trip; one each before).
    let most = FOLDERS * (ACCOUNT_MAX + SYNC_PER_FOLDER_MAX) + (FOLDERS + 1);
    assert!(
        serial <= most,
        "{serial} serial control commands (at most {most}): {}",
        serial_summary(&ctl)
    );
    for s in &sessions[1..] {
        let waited = s.iter().filter(|c| c.serial).count();
        assert!(
            waited <= ACCOUNT_MAX + SYNC_PER_FOLDER_MAX,
            "{waited} serial commands on one control connection: {}",
            serial_summary(s)
        );
    }
    // Nothing examined before the moves: the destination mailboxes are
    // named from the server's LIST.
    let first_move = ctl
        .iter()
        .position(|c| c.verb == "UID MOVE")
        .expect("a UID MOVE");
    let before: Vec<&str> = ctl[..first_move].iter().map(|c| c.verb.as_str()).collect();
    assert!(
        !before.contains(&"EXAMINE"),
        "commands before the moves: {before:?}"
    );
    // The chain: a SELECT waited for only where it starts; a MOVE per
    // source mailbox (each folder's pass also SELECTs once for its flags
    // and removals).
    let moves = ctl.iter().filter(|c| c.verb == "UID MOVE").count();
    assert_eq!(moves, FOLDERS, "UID MOVEs: {}", serial_summary(&ctl));
    let waits = ctl
        .iter()
        .filter(|c| c.serial && (c.verb == "SELECT" || c.verb == "UID MOVE"))
        .count();
    assert!(
        waits <= FOLDERS + FOLDERS + 1,
        "{waits} serial SELECT and UID MOVE: {}",
        serial_summary(&ctl)
    );
    // Every message once, the moved one in its new folder, the deleted
    // ones gone, the flags set.
    let mut c = Imap::login(dc.imap_port, "sara", "secret");
    for f in 1..=FOLDERS {
        let got = c.fetch_all(&format!("S{f}"));
        let subjects = subjects(&got);
        let want = PER_FOLDER - GONE.len() + NEW;
        assert_eq!(got.len(), want, "S{f}: messages on the server");
        assert_eq!(subjects.len(), want, "S{f}: distinct messages");
        for i in GONE {
            assert!(
                !subjects.contains(&format!("{f}-{}", i - 1)),
                "S{f}: item {i} still there"
            );
        }
        let from = (1..=FOLDERS)
            .find(|&g| next(g) == f)
            .expect("previous folder");
        assert!(
            subjects.contains(&format!("{from}-{}", MOVED - 1)),
            "S{f}: the message moved in from S{from} is missing"
        );
        let seen = got
            .iter()
            .filter(|m| m.flags.iter().any(|x| x == "\\Seen"))
            .count();
        assert_eq!(seen, 5, "S{f}: \\Seen messages");
    }
}

#[test]
fn moves_out_of_many_mailboxes_go_in_lanes_on_several_connections() {
    // 32 folders, one message of each moved to the next: 32 source
    // mailboxes, as 4 lanes (--connections) of 8 on connections of their
    // own; one chain would wait a round trip per mailbox.
    const N: usize = 32;
    const PER: usize = 6;
    const MOVED: usize = 3;
    let link = Link::sized("lena", "lena@l.test", "M", (N, PER), false);
    let (dc, trace, store, account) = (&link.dc, &link.trace, &link.store, link.account);
    let run = |extra: &[&str]| link.run("j.sqlite", extra);
    run(&[]);
    take_trace(trace);
    let next = |f: usize| f % N + 1;
    let moved: Vec<Vec<u8>> = (1..=N)
        .map(|f| {
            let dir = store.folder_dir(account, &format!("M{f}"));
            let p = dir.join(format!("#msgs/{}.eml", item_id(MOVED)));
            let bytes = std::fs::read(&p).expect("item");
            std::fs::remove_file(&p).expect("rm");
            bytes
        })
        .collect();
    for f in 1..=N {
        let folder = format!("M{}", next(f));
        store.item(account, &folder, &item_id(PER + 1), &moved[f - 1]);
    }
    for f in 1..=N {
        let folder = format!("M{f}");
        let dir = store.folder_dir(account, &folder);
        let lines: Vec<String> = (1..=PER + 1)
            .filter(|i| *i != MOVED)
            .map(|i| line_with(&dir, &item_id(i), 0))
            .collect();
        store.index(account, &folder, &lines);
    }
    let out = run(&["--sync", "--settle", "0"]);
    assert_eq!(out.report["totals"]["migrated"], 0, "{out}");
    let folders = out.report["accounts"][0]["folders"]
        .as_array()
        .expect("folders");
    assert_eq!(folders.len(), N, "{out}");
    for fr in folders {
        assert_eq!(fr["sync"]["moved_in"], 1, "{fr}");
    }
    let t = take_trace(trace);
    let mut lanes: BTreeMap<u64, Vec<&Traced>> = BTreeMap::new();
    for c in t.iter().filter(|c| c.verb == "UID MOVE") {
        lanes.entry(c.conn).or_default().push(c);
    }
    assert_eq!(lanes.len(), CONNECTIONS, "connections that sent UID MOVE");
    for (conn, moves) in &lanes {
        assert_eq!(
            moves.len(),
            N / CONNECTIONS,
            "UID MOVEs on connection {conn}"
        );
    }
    // The lanes ran at the same time: each began before any other ended.
    let span = |m: &Vec<&Traced>| {
        let first = m.iter().map(|c| c.sent).fold(f64::MAX, f64::min);
        let last = m.iter().map(|c| c.done).fold(0.0, f64::max);
        (first, last)
    };
    let spans: Vec<(f64, f64)> = lanes.values().map(span).collect();
    let first_end = spans.iter().map(|s| s.1).fold(f64::MAX, f64::min);
    for (k, (start, _)) in spans.iter().enumerate() {
        assert!(
            *start < first_end,
            "lane {k} began after another had ended: {spans:?}"
        );
    }
    // Every message once, the moved one in its new folder.
    let mut c = Imap::login(dc.imap_port, "lena", "secret");
    for f in 1..=N {
        let got = c.fetch_all(&format!("M{f}"));
        let subjects = subjects(&got);
        assert_eq!(got.len(), PER, "M{f}: messages on the server");
        assert_eq!(subjects.len(), PER, "M{f}: distinct messages");
        let from = (1..=N).find(|&g| next(g) == f).expect("previous folder");
        assert!(
            subjects.contains(&format!("{from}-{}", MOVED - 1)),
            "M{f}: the message moved in from M{from} is missing"
        );
        assert!(
            !subjects.contains(&format!("{f}-{}", MOVED - 1)),
            "M{f}: the message moved out is still there"
        );
    }
}
