//! Faults found by trying to break it (issue 13): hostile stores and
//! hostile input built in temp dirs, each ending where it should — a FIFO
//! named like a message, folder symlink loops, a directory named like a
//! message, terminal escapes in folder names, a deep or truncated
//! `users.cfg`, spreadsheet formulas in user fields, secrets without an
//! end, absurd option values, zip bombs and duplicate ZIP entries, and
//! folder names that are not UTF-8.

use crate::support::run::{wait_at_most, wait_while_running};
use crate::support::*;
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const ACCT: &str = "ann@hostile.test";

fn message(i: usize) -> String {
    format!(
        "From: a@hostile.test\r\nSubject: {i}\r\nMessage-ID: <{i}@hostile.test>\r\nDate: Mon, 1 Jan 2018 10:00:00 +0000\r\n\r\nbody {i}\r\n"
    )
}

/// Runs `run` to its end, or fails the test after `limit` (a hang is the
/// fault some of these tests are about).
fn run_within(run: &Run, limit: Duration) -> Outcome {
    let mut child = run
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let status = match wait_at_most(&mut child, limit) {
        Some(s) => s,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}: hung");
        }
    };
    Outcome {
        code: status.code().unwrap_or(-1),
        stdout: t_out.join().expect("stdout"),
        stderr: t_err.join().expect("stderr"),
        report: Value::Null,
    }
}

fn scan_json(store: &Path, extra: &[&str]) -> Value {
    let o = run_within(
        &Run::new("scan").arg("--json").arg(store).args(extra),
        Duration::from_secs(60),
    );
    assert_eq!(o.code, 0, "{o}");
    o.stdout_json()
}

fn folder<'a>(inv: &'a Value, path: &str) -> &'a Value {
    inv["accounts"][0]["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no folder {path}: {}", inv["accounts"][0]["folders"]))
}

#[cfg(unix)]
fn mkfifo(p: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).expect("path");
    // SAFETY: mkfifo(3) with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_directory_named_like_a_message_is_reported_and_never_opened() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = StoreBuilder::new(&tmp.path().join("kerio"));
    b.messages(ACCT, "INBOX", 3, message);
    let msgs = b.folder_dir(ACCT, "INBOX").join("#msgs");
    mkfifo(&msgs.join("0000fff5.eml"));
    fs::create_dir_all(msgs.join("0000fff4.eml")).expect("mkdir");
    // A link to the FIFO is not opened either.
    std::os::unix::fs::symlink(msgs.join("0000fff5.eml"), msgs.join("0000fff6.eml"))
        .expect("symlink");

    // FIFOs named like a folder's metadata are not opened either.
    b.messages(ACCT, "Piped", 1, message);
    mkfifo(&b.folder_dir(ACCT, "Piped").join("index.fld"));
    mkfifo(&b.folder_dir(ACCT, "Piped").join("status.fld"));

    let inv = scan_json(&b.install, &[]);
    let piped = inv["accounts"][0].to_string();
    assert!(
        piped.contains("Piped/index.fld: a FIFO (named pipe), not a regular file")
            && piped.contains("Piped/status.fld: a FIFO (named pipe), not a regular file"),
        "{piped}"
    );
    let f = folder(&inv, "INBOX");
    assert_eq!(f["items"], 5, "{f}");
    assert_eq!(f["unreadable"], 2, "{f}");
    let problems = f["problems"].to_string();
    assert!(
        problems.contains("a FIFO (named pipe), not a regular file"),
        "{problems}"
    );
    assert!(problems.contains("a symbolic link to a FIFO"), "{problems}");
    assert!(
        problems.contains("0000fff4.eml: a directory named like a message"),
        "{problems}"
    );

    let out = tmp.path().join("maildir");
    let report = tmp.path().join("r.json");
    let o = run_within(
        &Run::migrate_to_maildir(&b.install, &out).report(&report),
        Duration::from_secs(60),
    );
    assert_eq!(o.code, 3, "failed items: {o}");
    let r = json(&report);
    assert_eq!(r["totals"]["migrated"], 4, "{r}");
    assert_eq!(r["totals"]["failed"], 2, "{r}");
    assert!(
        o.stdout.contains("INBOX/0000fff5: unreadable: a FIFO"),
        "{o}"
    );
    assert_eq!(maildir_messages(&out.join(ACCT)).len(), 3);
}

#[cfg(unix)]
#[test]
fn folder_symlinks_are_not_followed_unless_asked_and_loops_end() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = StoreBuilder::new(&tmp.path().join("kerio"));
    b.messages(ACCT, "INBOX", 2, message);
    b.messages(ACCT, "INBOX/Sub", 1, message);
    // A loop, and a link to a folder kept outside the store.
    std::os::unix::fs::symlink("..", b.folder_dir(ACCT, "INBOX/LoopFolder")).expect("symlink");
    let elsewhere = tmp.path().join("elsewhere/Projects");
    fs::create_dir_all(elsewhere.join("#msgs")).expect("mkdir");
    fs::write(elsewhere.join("#msgs/00000001.eml"), message(9)).expect("write");
    std::os::unix::fs::symlink(&elsewhere, b.folder_dir(ACCT, "Projects")).expect("symlink");

    let inv = scan_json(&b.install, &[]);
    assert_eq!(inv["totals"]["folders"], 2, "{}", inv["totals"]);
    assert_eq!(inv["totals"]["mail_items"], 3);
    let problems = inv["accounts"][0]["problems"].to_string();
    assert!(
        problems.contains("LoopFolder: a symbolic link to a directory; not followed"),
        "{problems}"
    );
    assert!(problems.contains("Projects: a symbolic link"), "{problems}");

    let inv = scan_json(&b.install, &["--follow-symlinks"]);
    let paths: Vec<&str> = inv["accounts"][0]["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    assert_eq!(paths, vec!["INBOX", "INBOX/Sub", "Projects"]);
    assert_eq!(inv["totals"]["mail_items"], 4);
    let problems = inv["accounts"][0]["problems"].to_string();
    assert!(
        problems.contains("LoopFolder: leads to a directory already walked"),
        "{problems}"
    );

    let out = tmp.path().join("maildir");
    let o = run_within(
        &Run::migrate_to_maildir(&b.install, &out).arg("--follow-symlinks"),
        Duration::from_secs(60),
    );
    // The loop is a problem of the account's: reported, and in the exit code.
    assert_eq!(o.code, 3, "{o}");
    assert!(
        o.stdout
            .contains("LoopFolder: leads to a directory already walked"),
        "{o}"
    );
    let total: usize = ["", ".INBOX.Sub", ".Projects"]
        .iter()
        .map(|f| maildir_messages(&out.join(ACCT).join(f)).len())
        .sum();
    assert_eq!(total, 4);
}

/// A server that holds the first APPEND for a minute: the first SIGTERM
/// waits for the message in flight, the second ends the run at once — and
/// still leaves a report saying it is incomplete.
#[test]
fn a_second_sigterm_still_leaves_a_report() {
    use crate::support::fakeimap::{only_nth, Action, Fake};
    let tmp = tempfile::tempdir().expect("tmp");
    let b = StoreBuilder::new(&tmp.path().join("kerio"));
    b.messages(ACCT, "INBOX", 3, message);
    let fake = Fake::start(
        "IMAP4rev1 UIDPLUS LITERAL+",
        only_nth(1, Action::DelayThenStore(60_000)),
    );
    let report = tmp.path().join("r.json");
    let html = tmp.path().join("r.html");
    let mut child = Run::migrate(&b.install, &fake.url())
        .args(["--tls", "none", "--connections", "1", "--io-timeout", "120"])
        .arg("--report-html")
        .arg(&html)
        .state(&tmp.path().join("j.sqlite"))
        .report(&report)
        .login(ACCT, "ann", "pw")
        .spawn(Stdio::piped());
    // The held APPEND (the second) has arrived: a message is in flight.
    wait_while_running(
        &mut child,
        Duration::from_secs(30),
        "the held APPEND",
        || fake.state().appends.len() >= 2,
    );
    for _ in 0..2 {
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let status = wait_at_most(&mut child, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("still running 15 s after the second SIGTERM"));
    assert_eq!(status.code(), Some(4));
    let r = json(&report);
    assert_eq!(r["interrupted"], true, "{r}");
    assert_eq!(r["complete"], false, "{r}");
    let page = fs::read_to_string(&html).expect("the HTML report");
    assert!(
        page.contains("Incomplete: stopped at once by a second interrupt"),
        "{page}"
    );
}

fn users_cfg(dir: &Path, body: &str) -> std::path::PathBuf {
    fs::create_dir_all(dir).expect("mkdir");
    let p = dir.join("users.cfg");
    fs::write(&p, body).expect("write");
    p
}

#[test]
fn a_truncated_or_absurdly_deep_users_cfg_fails_clearly() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cut = r#"<config><list name="User"><listitem><variable name="Name">ann</variable><variable name="Dom"#;
    let p = users_cfg(&tmp.path().join("cut"), cut);
    let o = Run::new("users").arg(&p).run();
    assert_eq!(o.code, 3, "{o}");
    assert!(
        o.stderr.contains(&format!(
            "users.cfg ends inside <list name=User> at byte {}",
            cut.len()
        )),
        "{o}"
    );
    assert!(!o.stdout.contains("ann"), "no half directory: {o}");

    let d = 100_000;
    let deep = format!(
        "<config>{}{}</config>",
        "<list name=\"User\">".repeat(d),
        "</list>".repeat(d)
    );
    let p = users_cfg(&tmp.path().join("deep"), &deep);
    let start = std::time::Instant::now();
    let o = run_within(&Run::new("users").arg(&p), Duration::from_secs(30));
    assert_eq!(o.code, 3, "{o}");
    assert!(o.stderr.contains("nest deeper than 32 levels"), "{o}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn formulas_in_user_fields_are_neutralised_in_spreadsheet_csvs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = users_cfg(
        tmp.path(),
        r#"<config><list name="User"><listitem>
<variable name="Name">=cmd</variable><variable name="Domain">x.test</variable>
<variable name="FullName">=HYPERLINK("http://evil.test","click")</variable>
<variable name="Description">@SUM(1+1)*cmd|' /C calc'!A0</variable>
</listitem><listitem>
<variable name="Name">bob</variable><variable name="Domain">x.test</variable>
<variable name="FullName">-2+3</variable><variable name="Description">	tab</variable>
</listitem></list>
<list name="Group"><listitem><variable name="Name">=staff</variable><variable name="Domain">x.test</variable>
<variable name="Description">=HYPERLINK("http://evil.test")</variable><variable name="MailAddress">+team</variable></listitem></list>
<list name="Alias"><listitem><variable name="Name">-info</variable><variable name="Domain">x.test</variable>
<variable name="DeliverTo">bob@x.test</variable><variable name="Description">@SUM(1)</variable></listitem></list></config>"#,
    );
    let o = Run::new("users").arg(&p).args(["--format", "csv"]).run();
    assert_eq!(o.code, 0, "{o}");
    let cells: Vec<&str> = o
        .stdout
        .lines()
        .skip(1)
        .flat_map(|l| l.split(','))
        .collect();
    for c in &cells {
        let c = c.trim_start_matches('"');
        assert!(
            !c.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{c:?} in {}",
            o.stdout
        );
    }
    assert!(o.stdout.contains("'=cmd@x.test"), "{}", o.stdout);
    assert!(
        o.stdout.contains("\"'=HYPERLINK(\"\"http://evil.test\"\""),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("'-2+3"), "{}", o.stdout);
    assert!(o.stdout.contains("'\ttab"), "{}", o.stdout);
    // The lists for people (aliases, groups) too.
    for format in ["aliases-csv", "groups-csv"] {
        let o = Run::new("users").arg(&p).args(["--format", format]).run();
        assert_eq!(o.code, 0, "{format}: {o}");
        assert!(o.stdout.lines().count() > 1, "{format}: rows expected: {o}");
        for c in o.stdout.lines().skip(1).flat_map(|l| l.split(',')) {
            let c = c.trim_start_matches('"');
            assert!(
                !c.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{format}: {c:?} in {}",
                o.stdout
            );
        }
    }

    let o = Run::new("users")
        .arg(&p)
        .args(["--format", "accounts-csv"])
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert!(
        o.stdout.contains("'=cmd@x.test,'=cmd@x.test,"),
        "{}",
        o.stdout
    );
    // --accounts reads it back as it was: the login is the real name.
    use crate::support::fakeimap::Fake;
    let b = StoreBuilder::new(&tmp.path().join("kerio"));
    b.messages("=cmd@x.test", "INBOX", 1, message);
    let csv = tmp.path().join("accounts.csv");
    let rows: Vec<String> = o
        .stdout
        .lines()
        .filter(|l| !l.starts_with("bob"))
        .map(|l| {
            if l.starts_with("'=cmd") {
                format!("{l}env:PW")
            } else {
                l.to_string()
            }
        })
        .collect();
    fs::write(&csv, rows.join("\n")).expect("write");
    let fake = Fake::storing("IMAP4rev1 UIDPLUS LITERAL+");
    let o = Run::migrate(&b.install, &fake.url())
        .args(["--tls", "none", "--accounts"])
        .arg(&csv)
        .env("PW", "pw")
        .state(&tmp.path().join("j.sqlite"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    // AUTHENTICATE PLAIN "\0=cmd@x.test\0pw" (not "'=cmd@x.test").
    let lines = fake.state().lines.join("\n");
    assert!(
        lines.contains("AUTHENTICATE PLAIN AD1jbWRAeC50ZXN0AHB3"),
        "{lines}"
    );
}

#[test]
fn secrets_are_read_from_bounded_regular_files_and_say_why_not() {
    use crate::support::fakeimap::Fake;
    let tmp = tempfile::tempdir().expect("tmp");
    let b = StoreBuilder::new(&tmp.path().join("kerio"));
    b.messages(ACCT, "INBOX", 1, message);
    b.messages("bob@hostile.test", "INBOX", 1, message);
    let fake = Fake::storing("IMAP4rev1 UIDPLUS LITERAL+");
    // --password-file /dev/zero: refused at once, saying why.
    let start = std::time::Instant::now();
    let o = run_within(
        &Run::migrate(&b.install, &fake.url())
            .args(["--tls", "none", "--account", ACCT, "--user", "ann"])
            .args(["--password-file", "/dev/zero"])
            .state(&tmp.path().join("j.sqlite")),
        Duration::from_secs(30),
    );
    assert_ne!(o.code, 0, "{o}");
    assert!(
        o.stderr
            .contains("/dev/zero: a character device is not a regular file"),
        "{o}"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    // A CSV secret naming a missing file, and one naming /dev/zero: each
    // account fails alone with its reason.
    let csv = tmp.path().join("accounts.csv");
    fs::write(
        &csv,
        format!("source,target_user,secret\n{ACCT},ann,file:/nonexistent/pw\nbob@hostile.test,bob,file:/dev/zero\n"),
    )
    .expect("write");
    let report = tmp.path().join("r.json");
    let o = run_within(
        &Run::migrate(&b.install, &fake.url())
            .args(["--tls", "none", "--accounts"])
            .arg(&csv)
            .state(&tmp.path().join("j2.sqlite"))
            .report(&report),
        Duration::from_secs(60),
    );
    assert_eq!(o.code, 3, "{o}");
    let r = json(&report).to_string();
    assert!(
        r.contains("/nonexistent/pw: the file does not exist"),
        "{r}"
    );
    assert!(!r.contains("no credentials for ann"), "{r}");
    assert!(
        r.contains("/dev/zero: a character device is not a regular file"),
        "{r}"
    );
}

#[test]
fn absurd_counts_are_usage_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = StoreBuilder::new(&tmp.path().join("kerio"));
    b.messages(ACCT, "INBOX", 1, message);
    let to = format!("maildir:{}", tmp.path().join("out").display());
    for (flag, value, says) in [
        ("--connections", "20000", "give 1 to 64"),
        ("--connections", "0", "give 1 to 64"),
        ("--window", "0", "give 1 to 1024"),
        ("--window", "99999999", "give 1 to 1024"),
        ("--batch", "0", "give 1 to 1000"),
        ("--retries", "1000", "give 0 to 100"),
        ("--io-timeout", "0", "give 1 to 86400"),
        ("--connect-timeout", "0", "give 1 to 3600"),
        ("--parallel-accounts", "0", "give 1 to 64"),
        ("--parallel-accounts", "100000", "give 1 to 64"),
        ("--max-rate", "0", "above 0"),
        ("--max-rate", "inf", "above 0"),
        ("--max-message-size", "0", "not a positive size"),
        ("--threads", "0", "give 1 to 256"),
        ("--threads", "100000", "give 1 to 256"),
        ("--connections", "four", "not a whole number"),
    ] {
        let o = run_within(
            &Run::migrate(&b.install, &to).args([flag, value]),
            Duration::from_secs(30),
        );
        assert_eq!(o.code, 2, "{flag} {value}: {o}");
        assert!(
            o.stderr.contains(&format!("'{flag}")) && o.stderr.contains(says),
            "{flag} {value}: {o}"
        );
    }
    assert!(!tmp.path().join("out").exists(), "nothing was started");
}

/// A ZIP backup of one account: `entries` (name, bytes) below
/// `store/mail/hostile.test/ann/INBOX/#msgs/`, deflated; names listed in
/// `rename` (from, to: same length) are rewritten afterwards in the local
/// and central headers, which is how two entries get one name (the ZIP
/// writer refuses to).
fn backup_zip(path: &Path, entries: &[(&str, Vec<u8>)], rename: &[(&str, &str)]) {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(fs::File::create(path).expect("create"));
    let o = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(format!("store/mail/hostile.test/ann/INBOX/#msgs/{name}"), o)
            .expect("start");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish");
    let mut bytes = fs::read(path).expect("read");
    for (from, to) in rename {
        assert_eq!(from.len(), to.len());
        let mut i = 0;
        while let Some(p) = bytes[i..]
            .windows(from.len())
            .position(|x| x == from.as_bytes())
        {
            bytes[i + p..i + p + to.len()].copy_from_slice(to.as_bytes());
            i += p + to.len();
        }
    }
    fs::write(path, bytes).expect("write");
}

#[test]
fn a_zip_bomb_and_a_name_stored_twice_are_reported_and_big_messages_capped() {
    let tmp = tempfile::tempdir().expect("tmp");
    let z = tmp.path().join("F20240301T020000Z.zip");
    let mut bomb = message(1).into_bytes();
    bomb.extend(std::iter::repeat_n(b'\n', 8 << 20));
    backup_zip(
        &z,
        &[
            ("00000001.eml", bomb),
            ("00000002.eml", message(2).into_bytes()),
            ("0000000X.eml", message(3).into_bytes()),
        ],
        &[("0000000X.eml", "00000002.eml")],
    );
    let out = tmp.path().join("out");
    let o = Run::new("unpack").arg(&z).arg("--out").arg(&out).run();
    assert_eq!(o.code, 0, "{o}");
    assert!(
        o.stdout.contains(
            "WARNING: \"store/mail/hostile.test/ann/INBOX/#msgs/00000001.eml\" expanded from"
        ) && o.stdout.contains("more than the 200:1 mail reaches"),
        "{o}"
    );
    assert!(
        o.stdout.contains("#msgs/00000002.eml\" is stored 2 times in the archive: only its last copy was unpacked"),
        "{o}"
    );
    let kept = fs::read_to_string(out.join("store/mail/hostile.test/ann/INBOX/#msgs/00000002.eml"))
        .expect("read");
    assert!(kept.contains("Subject: 3"), "the last copy: {kept}");
    // The 8 MiB message is refused above --max-message-size, the rest goes.
    let md = tmp.path().join("maildir");
    let report = tmp.path().join("r.json");
    let o = Run::migrate_to_maildir(&out, &md)
        .args(["--max-message-size", "4MiB"])
        .report(&report)
        .run();
    assert_eq!(o.code, 3, "{o}");
    assert_eq!(o.report["totals"]["failed"], 1, "{o}");
    assert_eq!(o.report["totals"]["migrated"], 1, "{o}");
    assert!(
        o.stdout.contains("INBOX/00000001: too large: 8.0 MiB")
            && o.stdout.contains("more than --max-message-size 4.0 MiB"),
        "{o}"
    );
}

#[cfg(unix)]
#[test]
fn control_characters_in_names_are_escaped_for_people_and_bytes_that_are_not_utf8_kept() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().expect("tmp");
    let b = StoreBuilder::new(&tmp.path().join("kerio"));
    b.messages(ACCT, "INBOX", 1, message);
    let evil = "Evil\x1b[2J\x1b[31mRed\x07\u{9b}";
    b.messages(ACCT, evil, 1, message);
    let latin1 = b
        .account_dir(ACCT)
        .join(std::ffi::OsStr::from_bytes(b"Caf\xe9"));
    fs::create_dir_all(latin1.join("#msgs")).expect("mkdir");
    fs::write(latin1.join("#msgs/00000001.eml"), message(7)).expect("write");

    let raw = |s: &str| s.contains(['\x1b', '\x07', '\u{9b}']);
    let o = run_within(&Run::new("scan").arg(&b.install), Duration::from_secs(60));
    assert_eq!(o.code, 0, "{o}");
    assert!(!raw(&o.stdout) && !raw(&o.stderr), "{o}");
    assert!(
        o.stdout.contains("Evil\\x1b[2J\\x1b[31mRed\\x07\\u{9b}"),
        "{o}"
    );
    // JSON keeps the exact name; the name that is not UTF-8 keeps its byte.
    let inv = scan_json(&b.install, &[]);
    let paths: Vec<&str> = inv["accounts"][0]["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    assert!(paths.contains(&evil), "{paths:?}");
    assert!(paths.contains(&"Caf%E9"), "{paths:?}");
    let cafe = folder(&inv, "Caf%E9");
    let problem = cafe["name_problem"].as_str().expect("problem");
    assert!(
        problem.contains("not UTF-8") && problem.contains("%XX"),
        "{problem}"
    );
    assert!(!problem.contains("kept verbatim"), "{problem}");
    assert!(!inv.to_string().contains('\u{fffd}'));

    let out = tmp.path().join("maildir");
    let o = run_within(
        &Run::migrate_to_maildir(&b.install, &out),
        Duration::from_secs(60),
    );
    assert_eq!(o.code, 0, "{o}");
    assert!(!raw(&o.stdout) && !raw(&o.stderr), "{o}");
    assert_eq!(maildir_messages(&out.join(ACCT).join(".Caf%E9")).len(), 1);
}
