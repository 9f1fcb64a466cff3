//! Exactly once, under faults, against the real Dovecot of the harness:
//! SIGKILL at spread points of a run (some reruns killed again while they
//! reconcile), each followed by a rerun, with the journal kept or deleted
//! before the rerun; a proxy that cuts every connection after N bytes, N
//! swept; Dovecot restarted mid-run; the same server reached again under
//! another spelling (localhost, 127.0.0.1, a forwarding proxy: the journal
//! takes its rows over by the store's identity, or without one compares
//! with the server). After
//! each: every message on the server exactly once (content as `BINARY[]`,
//! flags, INTERNALDATE) and `verify --deep` exit 0. Every store holds a
//! message with NUL bytes, a `Content-Transfer-Encoding: binary` part and
//! no Message-ID (Dovecot stores that part re-encoded as base64), and two
//! byte-identical messages.
//!
//! Sizes (chosen to keep the file near a minute on two shared cores): 75
//! messages in two folders, 20 kill points per variant run four at a time,
//! six cut sizes from 12 KB to 64 KB run side by side (each run with
//! `--backoff-max 1`).

use crate::support::dovecot::Dovecot;
use crate::support::faults::{fetch_binary, restart_dovecot, Proxy, Stored};
use crate::support::imap::{mutf7_encode, Imap};
use crate::support::run::{wait_at_most, wait_while_running, Outcome};
use crate::support::store::index_line;
use crate::support::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const ACCOUNT: &str = "alice@once.test";
const KILL_POINTS: usize = 20;
const PARALLEL: usize = 4;

/// Messages with NUL bytes in a text part, a binary part with NUL and
/// 0x80, and no Message-ID.
fn hostile() -> Vec<u8> {
    let mut m = b"Received: from mx.once.test by kerio.once.test; Mon, 1 Jan 2018 09:59:58 +0000\r\nDate: Mon, 1 Jan 2018 10:00:00 +0000\r\nFrom: Hostile <h@once.test>\r\nTo: alice@once.test\r\nSubject: NUL, binary, no Message-ID\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=_b\"\r\n\r\n--=_b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\ntext with a NUL \x00 here\r\n--=_b\r\nContent-Type: application/octet-stream; name=blob.bin\r\nContent-Transfer-Encoding: binary\r\n\r\n".to_vec();
    for i in 0..600u32 {
        m.push((i * 7 % 256) as u8);
        if i % 97 == 0 {
            m.extend_from_slice(b"\x00\x80\xff");
        }
    }
    m.extend_from_slice(b"\r\n--=_b--\r\n");
    m
}

/// What must be on the server per mailbox: (content, flags, INTERNALDATE).
type Expected = Vec<(String, Vec<(Vec<u8>, Vec<String>, i64)>)>;

/// The store: INBOX (generated messages, the hostile one, two twins) and
/// Sent Items.
fn build_store(dir: &Path) -> (PathBuf, Expected, usize) {
    let store = StoreBuilder::new(&dir.join("kerio"));
    let mut expected: Expected = Vec::new();
    let mut total = 0;
    for (folder, mailbox, n) in [("INBOX", "INBOX", 42), ("Sent Items", "Sent", 30)] {
        let mut bodies: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let mut b = format!(
                    "From: x@gen.test\r\nTo: {ACCOUNT}\r\nSubject: message {i} in {folder}\r\nMessage-ID: <{i}.{}@once.test>\r\nDate: Mon, 1 Jan 2018 10:00:00 +0000\r\n\r\n",
                    folder.replace(' ', "_")
                );
                let line = "lorem ipsum dolor sit amet consectetur adipiscing elit\r\n";
                while b.len() < 700 + 211 * i {
                    b.push_str(line);
                }
                b.into_bytes()
            })
            .collect();
        if folder == "INBOX" {
            bodies.push(hostile());
            let twin = b"Date: Tue, 2 Jan 2018 10:00:00 +0000\r\nFrom: twin@once.test\r\nSubject: twin\r\n\r\nthe same mail twice\r\n".to_vec();
            bodies.push(twin.clone());
            bodies.push(twin);
        }
        let wire = mutf7_encode(folder);
        let mut index = Vec::new();
        let mut want = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            let id = crate::support::store::item_id(i + 1);
            store.item(ACCOUNT, &wire, &id, body);
            let flags = [0u32, 0x1, 0x3, 0x5, 0x11][i % 5];
            let t = 0x5a4a0000 + 3600 * i as i64;
            index.push(index_line(&id, flags, body.len(), t, t, t));
            let mut f: Vec<String> = [
                (0x1, "\\Seen"),
                (0x2, "\\Answered"),
                (0x4, "\\Flagged"),
                (0x10, "\\Draft"),
            ]
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, n)| n.to_string())
            .collect();
            f.sort();
            want.push((crlf(body), f, t));
        }
        store.index(ACCOUNT, &wire, &index);
        want.sort();
        total += want.len();
        expected.push((mailbox.to_string(), want));
    }
    (store.install, expected, total)
}

fn imap_date(s: &str) -> i64 {
    chrono::DateTime::parse_from_str(s.trim(), "%d-%b-%Y %H:%M:%S %z")
        .unwrap_or_else(|e| panic!("INTERNALDATE {s:?}: {e}"))
        .timestamp()
}

/// Every message exactly once: content, flags, INTERNALDATE; nothing more.
fn assert_exactly_once(port: u16, login: &str, expected: &Expected, what: &str) {
    let mut imap = Imap::login(port, login, "secret");
    for (mailbox, want) in expected {
        let mut got: Vec<(Vec<u8>, Vec<String>, i64)> = fetch_binary(&mut imap, mailbox)
            .into_iter()
            .map(|s| (s.content, s.flags, imap_date(&s.internal_date)))
            .collect();
        got.sort();
        if got != *want {
            let count = |v: &[(Vec<u8>, Vec<String>, i64)], x: &(Vec<u8>, Vec<String>, i64)| {
                v.iter().filter(|y| *y == x).count()
            };
            let extra = got
                .iter()
                .filter(|g| count(&got, g) > count(want, g))
                .count();
            let missing = want
                .iter()
                .filter(|w| count(want, w) > count(&got, w))
                .count();
            panic!(
                "{what}: {login} {mailbox}: {} on the server, {} expected ({extra} unexpected or duplicated, {missing} missing or altered)",
                got.len(),
                want.len()
            );
        }
    }
}

/// One target user on the shared Dovecot.
struct Target<'a> {
    dc: &'a Dovecot,
    store: &'a Path,
    dir: PathBuf,
    user: String,
}

impl Target<'_> {
    fn new<'a>(dc: &'a Dovecot, store: &'a Path, root: &Path, user: &str) -> Target<'a> {
        let dir = root.join(user);
        fs::create_dir_all(&dir).expect("dir");
        fs::write(
            dir.join("a.csv"),
            format!("source,target_user,secret\n{ACCOUNT},{user},env:PW\n"),
        )
        .expect("csv");
        Target {
            dc,
            store,
            dir,
            user: user.to_string(),
        }
    }

    fn journal(&self) -> PathBuf {
        self.dir.join("journal.sqlite")
    }

    fn to(&self) -> String {
        format!("imap://127.0.0.1:{}", self.dc.imap_port)
    }

    fn run(&self, to: &str, tag: &str, extra: &[&str]) -> Run {
        Run::migrate(self.store, to)
            .state(&self.journal())
            .report(&self.dir.join(format!("{tag}.json")))
            .env("PW", "secret")
            .args([
                "--tls",
                "none",
                "--accounts",
                self.dir.join("a.csv").to_str().expect("utf8"),
                "--batch",
                "5",
                "--connections",
                "3",
            ])
            .args(extra)
    }

    fn verify_deep(&self, to: &str) -> Value {
        let o = Run::new("verify")
            .arg(self.store)
            .args(["--to", to, "--json", "--deep", "--tls", "none"])
            .args(["--accounts", self.dir.join("a.csv").to_str().expect("utf8")])
            .state(&self.journal())
            .env("PW", "secret")
            .run();
        let v = o.stdout_json();
        assert_eq!(o.code, 0, "{}: verify --deep: {v}", self.user);
        v
    }

    /// Runs to the end (through `to`); the report.
    fn finish(&self, to: &str, tag: &str) -> Value {
        let o = self.run(to, tag, &[]).run();
        assert_eq!(o.code, 0, "{}: {tag}: {o}", self.user);
        o.report
    }
}

fn users(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn dovecot(users: &[String]) -> (Dovecot, Vec<(&'static str, String)>) {
    let env = vec![
        ("USERS", users.join(" ")),
        ("MAIL_FORMAT", "mdbox".to_string()),
    ];
    let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    (Dovecot::start(&e), env)
}

/// The messages handed to the server per second while a run is slowed
/// down for the kills.
const RATE: &str = "120";

#[test]
fn sigkill_at_spread_points_then_rerun_leaves_every_message_exactly_once() {
    let started = Instant::now();
    let mut all = users("k", KILL_POINTS);
    all.extend(users("j", KILL_POINTS));
    all.push("base".into());
    let (dc, _) = dovecot(&all);
    let tmp = tempfile::tempdir().expect("tmp");
    let (store, expected, total) = build_store(tmp.path());
    // A clean run measures how long a run lasts.
    let base = Target::new(&dc, &store, tmp.path(), "base");
    let t0 = Instant::now();
    let r = base.run(&base.to(), "base", &["--max-rate", RATE]).run();
    let span = t0.elapsed();
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(r.report["totals"]["migrated"], total as u64);
    assert_exactly_once(dc.imap_port, "base", &expected, "clean run");
    base.verify_deep(&base.to());

    // Point i of each variant kills at (i + 0.5) / 20 of the span; every
    // fourth rerun is killed again early, while it reconciles.
    let jobs: Vec<(String, usize, bool)> = (0..KILL_POINTS)
        .flat_map(|i| [(format!("k{i}"), i, false), (format!("j{i}"), i, true)])
        .collect();
    std::thread::scope(|s| {
        for chunk in jobs.chunks(jobs.len().div_ceil(PARALLEL)) {
            let (dc, store, expected, root) = (&dc, &store, &expected, tmp.path());
            s.spawn(move || {
                for (user, i, drop_journal) in chunk {
                    let t = Target::new(dc, store, root, user);
                    let at = span.mul_f64((*i as f64 + 0.5) / KILL_POINTS as f64);
                    let mut child = t
                        .run(&t.to(), "killed", &["--max-rate", RATE])
                        .spawn(Stdio::null());
                    std::thread::sleep(at);
                    let _ = child.kill();
                    let _ = child.wait();
                    if *drop_journal {
                        for ext in ["", "-wal", "-shm"] {
                            let _ = fs::remove_file(format!("{}{ext}", t.journal().display()));
                        }
                    }
                    if i % 4 == 3 {
                        let mut again = t.run(&t.to(), "rekilled", &[]).spawn(Stdio::null());
                        std::thread::sleep(Duration::from_millis(60 + 40 * (*i as u64 % 3)));
                        let _ = again.kill();
                        let _ = again.wait();
                    }
                    let r = t.finish(&t.to(), "rerun");
                    let what = format!(
                        "kill at {at:?} of {span:?}{}",
                        if *drop_journal {
                            ", journal deleted"
                        } else {
                            ""
                        }
                    );
                    assert_eq!(r["totals"]["failed"], 0, "{what}: {}", r["accounts"]);
                    assert_exactly_once(dc.imap_port, user, expected, &what);
                    t.verify_deep(&t.to());
                }
            });
        }
    });
    eprintln!(
        "{} kill points x 2 variants over a run of {span:?}: exactly once after each ({:?})",
        KILL_POINTS,
        started.elapsed()
    );
}

#[test]
fn a_proxy_cutting_every_connection_after_n_bytes_leaves_every_message_exactly_once() {
    const CUTS: [usize; 6] = [12_000, 18_000, 26_000, 36_000, 48_000, 64_000];
    let all = users("c", CUTS.len());
    let (dc, _) = dovecot(&all);
    let tmp = tempfile::tempdir().expect("tmp");
    let (store, expected, _) = build_store(tmp.path());
    std::thread::scope(|s| {
        for chunk in CUTS.iter().enumerate().collect::<Vec<_>>().chunks(1) {
            let (dc, store, expected, root) = (&dc, &store, &expected, tmp.path());
            let chunk = chunk.to_vec();
            s.spawn(move || {
                for (i, n) in chunk {
                    let user = format!("c{i}");
                    let t = Target::new(dc, store, root, &user);
                    let proxy = Proxy::start(dc.imap_port, Some(*n));
                    let to = format!("imap://127.0.0.1:{}", proxy.port);
                    let t0 = Instant::now();
                    let o = t.run(&to, "cut", &["--backoff-max", "1"]).run();
                    eprintln!(
                        "cut after {n}: exit {} in {:?}: {}",
                        o.code,
                        t0.elapsed(),
                        o.report["totals"]
                    );
                    if std::env::var_os("KM_DEBUG_CUTS").is_some() {
                        let a = o.report["accounts"].to_string();
                        eprintln!("{}", &a[..a.len().min(1500)]);
                    }
                    // Messages may fail (their connection kept being cut):
                    // a clean rerun sends what is certainly not there.
                    assert!(o.code == 0 || o.code == 3, "cut after {n}: {o}");
                    let cuts = proxy.cuts.load(std::sync::atomic::Ordering::SeqCst);
                    drop(proxy);
                    t.finish(&t.to(), "rerun");
                    let what = format!("every connection cut after {n} bytes ({cuts} cuts)");
                    assert!(cuts > 0, "{what}: the proxy never cut");
                    assert_exactly_once(dc.imap_port, &user, expected, &what);
                    t.verify_deep(&t.to());
                }
            });
        }
    });
}

#[test]
fn dovecot_restarted_mid_run_is_retried_and_leaves_every_message_exactly_once() {
    let all = users("r", 1);
    let (dc, env) = dovecot(&all);
    let tmp = tempfile::tempdir().expect("tmp");
    let (store, expected, total) = build_store(tmp.path());
    let t = Target::new(&dc, &store, tmp.path(), "r0");
    let mut child = t
        // Retries that outlast a slow restart (the default 5 back off 31 s).
        .run(
            &t.to(),
            "restarted",
            &["--max-rate", "40", "--retries", "10", "--backoff-max", "2"],
        )
        .spawn(Stdio::piped());
    let mut probe = Imap::login(dc.imap_port, "r0", "secret");
    wait_while_running(&mut child, Duration::from_secs(60), "20 messages", || {
        probe.count("INBOX") >= 20
    });
    drop(probe);
    let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    restart_dovecot(&dc, &e, Duration::from_secs(1));
    let status = wait_at_most(&mut child, Duration::from_secs(90)).expect("the run ends");
    let report = report_or_null(&t.dir.join("restarted.json"));
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    assert_eq!(status.code(), Some(0), "{stderr}\n{}", report["accounts"]);
    assert!(
        !stderr.contains("--tls-ca"),
        "a restart is not a certificate problem: {stderr}"
    );
    let tot = &report["totals"];
    assert_eq!(tot["failed"], 0, "{}", report["accounts"]);
    assert_eq!(
        tot["migrated"].as_u64().unwrap_or(0) + tot["already_present"].as_u64().unwrap_or(0),
        total as u64
    );
    assert_exactly_once(dc.imap_port, "r0", &expected, "Dovecot restarted mid-run");
    t.verify_deep(&t.to());
}

#[test]
fn the_same_server_under_another_spelling_gets_nothing_appended_again() {
    let all = users("s", 1);
    let (dc, _) = dovecot(&all);
    let tmp = tempfile::tempdir().expect("tmp");
    let (store, expected, total) = build_store(tmp.path());
    let t = Target::new(&dc, &store, tmp.path(), "s0");
    let r = t.finish(&t.to(), "first");
    assert_eq!(r["totals"]["migrated"], total as u64);
    // A journal without the identity (deleted rows of `identities`, as a
    // version-1 journal has none): not taken over, compared instead.
    let conn = rusqlite_open(&t.journal());
    conn.execute("DELETE FROM identities", []).expect("delete");
    drop(conn);
    let r = t.finish(&format!("imap://localhost:{}", dc.imap_port), "unclear");
    assert_eq!(r["totals"]["migrated"], 0, "{}", r["accounts"]);
    assert_eq!(r["totals"]["already_present"], total as u64);
    let notes = r["accounts"].to_string();
    assert!(notes.contains("already on the server"), "{notes}");
    assert_exactly_once(dc.imap_port, "s0", &expected, "identity unclear");
    let proxy = Proxy::start(dc.imap_port, None);
    for (n, to) in [
        format!("imap://127.0.0.1:{}", proxy.port),
        format!("imap://localhost:{}", proxy.port),
    ]
    .iter()
    .enumerate()
    {
        let r = t.finish(to, &format!("again{n}"));
        assert_eq!(r["totals"]["migrated"], 0, "{to}: {}", r["accounts"]);
        assert_eq!(r["totals"]["already_present"], total as u64, "{to}");
        // The journal knows the store, not the URL: its rows are taken
        // over, nothing is read back or sent.
        let notes = r["accounts"].to_string();
        assert!(notes.contains("taken over"), "{to}: {notes}");
        assert!(!notes.contains("journal empty"), "{to}: {notes}");
        assert_exactly_once(dc.imap_port, "s0", &expected, to);
        t.verify_deep(to);
    }
    // And the first URL again.
    let r = t.finish(&t.to(), "back");
    assert_eq!(r["totals"]["migrated"], 0, "{}", r["accounts"]);
    assert_exactly_once(dc.imap_port, "s0", &expected, "the first URL again");
}

/// A first run of user `{prefix}0`'s store through the proxy `proxy`
/// makes for the Dovecot's port, with `extra`: checks it migrated every
/// message exactly once, gives its output and the proxy.
fn first_run_through(
    prefix: &str,
    proxy: impl FnOnce(u16) -> Proxy,
    extra: &[&str],
) -> (Outcome, Proxy) {
    let all = users(prefix, 1);
    let (dc, _) = dovecot(&all);
    let tmp = tempfile::tempdir().expect("tmp");
    let (store, expected, total) = build_store(tmp.path());
    let t = Target::new(&dc, &store, tmp.path(), &all[0]);
    let proxy = proxy(dc.imap_port);
    let o = t
        .run(
            &format!("imap://127.0.0.1:{}", proxy.port),
            "through",
            extra,
        )
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.report["totals"]["migrated"], total as u64, "{o}");
    assert_exactly_once(dc.imap_port, &all[0], &expected, prefix);
    (o, proxy)
}

#[test]
fn the_probes_connection_cut_at_the_first_login_is_replaced_at_once() {
    let (o, proxy) = first_run_through("p", Proxy::cutting_the_first_login, &[]);
    assert_eq!(proxy.cuts.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The login went out again on a new connection without the backoff
    // of a lost connection (which says "reconnecting in").
    assert!(!o.stderr.contains("reconnecting"), "{o}");
}

#[test]
fn a_kept_connection_gone_silent_is_given_up_after_the_connect_timeout() {
    let started = Instant::now();
    let extra = ["--connect-timeout", "2", "--io-timeout", "60"];
    first_run_through("q", Proxy::holding_the_first_login, &extra);
    // The login on the probe's connection got no answer: given up after
    // --connect-timeout (2 s), not --io-timeout (60 s), and sent again on
    // a new connection. Not a speed measure: the bound only tells the two
    // timeouts apart.
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn verify_lists_extra_and_duplicate_messages_with_their_uids_and_exits_3() {
    let all = users("v", 1);
    let (dc, _) = dovecot(&all);
    let tmp = tempfile::tempdir().expect("tmp");
    let (store, expected, total) = build_store(tmp.path());
    let t = Target::new(&dc, &store, tmp.path(), "v0");
    t.finish(&t.to(), "first");
    let v = t.verify_deep(&t.to());
    assert_eq!(v["totals"]["extra"], 0, "{v}");
    assert_eq!(v["totals"]["present"], total as u64);
    // A second copy of a journaled message, and a message of nobody's.
    let mut imap = Imap::login(dc.imap_port, "v0", "secret");
    let dup = String::from_utf8(expected[1].1[0].0.clone()).expect("text");
    let foreign = "From: someone@else.test\r\nSubject: not from Kerio\r\n\r\nhello\r\n";
    for body in [dup.as_str(), foreign] {
        let (_, st) = imap.cmd(&format!("APPEND Sent {{{}+}}\r\n{body}", body.len()));
        assert!(st.starts_with("OK"), "{st}");
    }
    let o = Run::new("verify")
        .arg(&store)
        .args(["--to", &t.to(), "--tls", "none", "--accounts"])
        .arg(t.dir.join("a.csv"))
        .state(&t.journal())
        .env("PW", "secret")
        .run();
    assert_eq!(o.code, 3, "{o}");
    assert!(o.stdout.contains("extra on target"), "{o}");
    assert!(o.stdout.contains("duplicate of Sent Items/"), "{o}");
    assert!(o.stdout.contains("(not from this migration)"), "{o}");
    let v = Run::new("verify")
        .arg(&store)
        .args(["--to", &t.to(), "--tls", "none", "--json", "--accounts"])
        .arg(t.dir.join("a.csv"))
        .state(&t.journal())
        .env("PW", "secret")
        .run()
        .stdout_json();
    assert_eq!(v["totals"]["extra"], 2, "{v}");
    assert_eq!(v["totals"]["duplicates"], 1, "{v}");
    let sent = v["accounts"][0]["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .find(|f| f["folder"] == "Sent Items")
        .expect("Sent Items");
    let uids: Vec<u64> = sent["extra"]
        .as_array()
        .expect("extra")
        .iter()
        .filter_map(|x| x["uid"].as_u64())
        .collect();
    assert_eq!(uids, [31, 32], "{sent}");
}

fn rusqlite_open(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("open the journal")
}

#[test]
fn tag_messages_adds_the_header_only_when_asked_and_a_rerun_without_journal_finds_them() {
    let all = users("g", 2);
    let (dc, _) = dovecot(&all);
    let tmp = tempfile::tempdir().expect("tmp");
    let store = StoreBuilder::new(&tmp.path().join("kerio"));
    let bare = b"X-Only: 1\r\n\r\nno identity at all\r\n";
    store.item(ACCOUNT, "INBOX", "00000001", bare);
    store.item(ACCOUNT, "INBOX", "00000002", &hostile());
    let install = store.install.clone();
    for (user, tag) in [("g0", false), ("g1", true)] {
        let t = Target::new(&dc, &install, tmp.path(), user);
        let extra: &[&str] = if tag { &["--tag-messages"] } else { &[] };
        let o = t.run(&t.to(), "first", extra).run();
        assert_eq!(o.code, 0, "{o}");
        let mut imap = Imap::login(dc.imap_port, user, "secret");
        let got = fetch_binary(&mut imap, "INBOX");
        assert_eq!(got.len(), 2);
        let tagged: Vec<&Stored> = got
            .iter()
            .filter(|s| s.content.starts_with(b"X-Kerio-Migrate-Id: <"))
            .collect();
        // Only the message without any identity, and only when asked.
        assert_eq!(tagged.len(), usize::from(tag), "{user}");
        if let Some(s) = tagged.first() {
            assert!(s.content.ends_with(bare), "the message follows the tag");
        }
        t.verify_deep(&t.to());
        for ext in ["", "-wal", "-shm"] {
            let _ = fs::remove_file(format!("{}{ext}", t.journal().display()));
        }
        let o = t.run(&t.to(), "again", extra).run();
        assert_eq!(o.code, 0, "{o}");
        assert_eq!(
            o.report["totals"]["migrated"], 0,
            "{}",
            o.report["accounts"]
        );
        assert_eq!(fetch_binary(&mut imap, "INBOX").len(), 2, "{user}");
        t.verify_deep(&t.to());
    }
}
