//! `migrate --metrics-listen`: a paced run (`--max-rate`) scraped while it
//! runs; the counters move, never go back, and end equal to the report's,
//! account by account. A bad address is a usage error.

use crate::support::store::{index_line, StoreBuilder};
use crate::support::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `GET /metrics`, parsed into `(name{labels}, value)`; `None` when nothing
/// listens (yet, or any more).
pub(crate) fn scrape(port: u16) -> Option<BTreeMap<String, f64>> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    c.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    c.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    Some(
        body.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (k, v) = l.rsplit_once(' ').expect("name value");
                (k.to_string(), v.parse::<f64>().expect("number"))
            })
            .collect(),
    )
}

fn done(m: &BTreeMap<String, f64>) -> f64 {
    m.iter()
        .filter(|(k, _)| k.starts_with("kerio_migrate_messages_total{"))
        .map(|(_, v)| v)
        .sum()
}

#[test]
fn a_paced_run_is_scraped_while_it_runs_and_its_counters_end_equal_to_the_report() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = StoreBuilder::new(&tmp.path().join("kerio"));
    let accounts = [
        ("alice@m.test", 50),
        ("bob@m.test", 30),
        ("carol@m.test", 20),
    ];
    for (a, n) in accounts {
        let items = store.messages(a, "INBOX", n, |i| {
            format!(
                "From: x@m.test\nSubject: {i}\nMessage-ID: <{i}@{a}>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\n{}\n",
                "body ".repeat(10 + i)
            )
        });
        let mut index: Vec<String> = items
            .iter()
            .map(|(id, size)| index_line(id, 0, *size, 0x5a4a0000, 0x5a4a0000, 0x5a4a0000))
            .collect();
        // One empty file: a skipped item, so that two buckets move.
        store.item(a, "INBOX", "00000fff", b"");
        index.push(index_line(
            "00000fff", 0, 0, 0x5a4a0000, 0x5a4a0000, 0x5a4a0000,
        ));
        store.index(a, "INBOX", &index);
    }
    let port = free_port();
    let report = tmp.path().join("r.json");
    let out = tmp.path().join("md");
    let run = Run::migrate_to_maildir(&store.install, &out)
        .args(["--max-rate", "60", "--metrics-listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--metrics-linger", "20"])
        .report(&report);
    let started = Instant::now();
    let mut child = run.spawn(Stdio::null());
    let mut seen: Vec<f64> = Vec::new();
    let mut last = None;
    while started.elapsed() < Duration::from_secs(120) {
        if let Some(m) = scrape(port) {
            let d = done(&m);
            if let Some(prev) = seen.last() {
                assert!(d >= *prev, "a counter went back: {prev} then {d}");
            }
            seen.push(d);
            let finished = m.get("kerio_migrate_finished") == Some(&1.0);
            last = Some(m);
            if finished {
                break;
            }
        }
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the run ended before its metrics said finished"
        );
        std::thread::sleep(Duration::from_millis(150));
    }
    let last = last.expect("scraped");
    assert_eq!(last.get("kerio_migrate_finished"), Some(&1.0), "finished");
    assert_eq!(last.get("kerio_migrate_exit_code"), Some(&0.0));
    let mut distinct = seen.clone();
    distinct.dedup();
    eprintln!(
        "{} scrapes, {} distinct totals, finished after {:?}",
        seen.len(),
        distinct.len(),
        started.elapsed()
    );
    assert!(
        distinct.len() >= 4,
        "the counters moved during the run: {distinct:?}"
    );
    // Ctrl-C ends the linger at once.
    let pid = child.id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status();
    let status = crate::support::run::wait_at_most(&mut child, Duration::from_secs(30))
        .expect("ended after SIGINT");
    assert_eq!(status.code(), Some(0));
    // The final counts are the report's, account by account.
    let r = json(&report);
    for a in r["accounts"].as_array().expect("accounts") {
        let id = a["account"].as_str().expect("id");
        let t = &a["totals"];
        let metric = |name: &str, extra: &str| {
            *last
                .get(&format!("{name}{{account=\"{id}\"{extra}}}"))
                .unwrap_or_else(|| panic!("{name} {id}"))
        };
        assert_eq!(
            metric("kerio_migrate_messages_expected", ""),
            t["expected"].as_f64().expect("n")
        );
        for outcome in ["migrated", "already_present", "skipped", "failed"] {
            assert_eq!(
                metric(
                    "kerio_migrate_messages_total",
                    &format!(",outcome=\"{outcome}\"")
                ),
                t[outcome].as_f64().expect("n"),
                "{id} {outcome}"
            );
        }
        assert_eq!(
            metric("kerio_migrate_bytes_migrated_total", ""),
            t["bytes_migrated"].as_f64().expect("n")
        );
        // Maildir: nothing resent, no byte budget.
        assert_eq!(metric("kerio_migrate_retries_total", ""), 0.0);
        assert_eq!(metric("kerio_migrate_budget_waits_total", ""), 0.0);
    }
    assert_eq!(r["totals"]["migrated"], 100);
    assert_eq!(r["totals"]["skipped"], 3);
    assert_eq!(done(&last), r["totals"]["expected"].as_f64().expect("n"));
}

#[test]
fn metrics_listen_takes_an_ip_and_port_only() {
    let tmp = tempfile::tempdir().expect("tmp");
    for bad in ["localhost:9464", "9464", "127.0.0.1", "127.0.0.1:99999", ""] {
        let o = Run::migrate_to_maildir(&sample(), &tmp.path().join("md"))
            .args(["--metrics-listen", bad])
            .run();
        assert_eq!(o.code, 2, "{bad}: {o}");
        assert!(o.stderr.contains("--metrics-listen"), "{o}");
    }
    let o = Run::migrate_to_maildir(&sample(), &tmp.path().join("md"))
        .args(["--metrics-linger", "5"])
        .run();
    assert_eq!(o.code, 2, "--metrics-linger needs --metrics-listen: {o}");
}
