//! The adaptive append window over a long link: a few thousand small
//! messages to the test Dovecot through bench/delay-proxy.py (40 ms RTT),
//! single APPENDs on one connection. Every message is stored exactly once
//! (the server's count), the report's round trip is the proxy's, the window
//! grew beyond its start, and `--metrics-listen` serves the window, the
//! RTT, the retries, the budget waits and the ETA while the run goes on.

use crate::metrics::scrape;
use crate::support::dovecot::Dovecot;
use crate::support::imap::Imap;
use crate::support::proxy::Proxy;
use crate::support::store::{index_line, StoreBuilder};
use crate::support::*;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

const N: usize = 3000;
const RTT_MS: u64 = 40;
/// `--window`: the start (small enough that the reader fills it within a
/// round trip on a loaded machine: the window only grows from full rounds).
const START: u64 = 16;

/// The delay proxy, killed when dropped.
fn proxy(target: u16) -> (Proxy, u16) {
    crate::support::proxy::start("delay-proxy.py", target, RTT_MS, None)
}

fn series<'a>(m: &'a BTreeMap<String, f64>, name: &str) -> Vec<(&'a String, f64)> {
    m.iter()
        .filter(|(k, _)| k.starts_with(&format!("{name}{{")))
        .map(|(k, v)| (k, *v))
        .collect()
}

#[test]
fn the_window_grows_over_a_long_link_and_every_message_is_stored_once() {
    let dc = Dovecot::start(&[("USERS", "carol"), ("MAIL_FORMAT", "mdbox")]);
    let (_proxy, port) = proxy(dc.imap_port);
    let tmp = tempfile::tempdir().expect("tmp");
    let store = StoreBuilder::new(&tmp.path().join("kerio"));
    let account = "carol@w.test";
    let items = store.messages(account, "INBOX", N, |i| {
        format!(
            "From: x@w.test\nSubject: {i}\nMessage-ID: <{i}@w.test>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\n{}\n",
            "body ".repeat(20 + i % 50)
        )
    });
    let index: Vec<String> = items
        .iter()
        .map(|(id, size)| index_line(id, 0, *size, 0x5a4a0000, 0x5a4a0000, 0x5a4a0000))
        .collect();
    store.index(account, "INBOX", &index);
    let report = tmp.path().join("r.json");
    let metrics = free_port();
    let mut child = Run::migrate(&store.install, &format!("imap://127.0.0.1:{port}"))
        .args(["--tls", "none", "--batch", "1", "--connections", "1"])
        .args(["--window", &START.to_string()])
        .arg("--metrics-listen")
        .arg(format!("127.0.0.1:{metrics}"))
        .state(&tmp.path().join("j.sqlite"))
        .report(&report)
        .login(account, "carol", "secret")
        .spawn(Stdio::null());
    // Scrape while it runs: the last scrape with a connection's window.
    let (mut seen, mut eta_seen) = (None, false);
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        assert!(started.elapsed() < Duration::from_secs(600), "run hangs");
        if let Some(m) = scrape(metrics) {
            let eta = m.get("kerio_migrate_eta_seconds").copied();
            eta_seen |= eta.is_some_and(|e| e.is_finite() && e >= 0.0);
            if !series(&m, "kerio_migrate_window_commands").is_empty() {
                seen = Some(m);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = child.wait().expect("wait");
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        std::fs::read_to_string(&report).unwrap_or_default()
    );
    // Exactly once, by the server's count.
    let mut c = Imap::login(dc.imap_port, "carol", "secret");
    assert_eq!(c.count("INBOX"), N as u32);
    let r = json(&report);
    assert_eq!(r["totals"]["migrated"], N as u64);
    let conns = r["accounts"][0]["connections"]
        .as_array()
        .expect("connections")
        .clone();
    assert_eq!(conns.len(), 1, "{conns:?}");
    let srtt = conns[0]["srtt_us"].as_u64().expect("srtt");
    let min = conns[0]["min_rtt_us"].as_u64().expect("min");
    assert!(
        min >= (RTT_MS - 5) * 1000,
        "min RTT {min} µs through a {RTT_MS} ms proxy"
    );
    assert!(srtt >= min, "{conns:?}");
    let peak = conns[0]["peak_window_commands"].as_u64().expect("peak");
    assert!(peak > START, "the window grew beyond {START}: {conns:?}");
    // The metrics, during the run.
    let m = seen.expect("a scrape with the window");
    let id = format!("{{account=\"{account}\",connection=\"0\"}}");
    let at = |name: &str| {
        *m.get(&format!("{name}{id}"))
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert!(at("kerio_migrate_window_commands") >= START as f64);
    assert!(at("kerio_migrate_window_bytes") > 0.0);
    assert!(at("kerio_migrate_rtt_seconds") >= (RTT_MS - 5) as f64 / 1000.0);
    assert!(at("kerio_migrate_min_rtt_seconds") >= (RTT_MS - 5) as f64 / 1000.0);
    let acc = format!("{{account=\"{account}\"}}");
    assert_eq!(
        m.get(&format!("kerio_migrate_retries_total{acc}")),
        Some(&0.0)
    );
    assert_eq!(
        m.get(&format!("kerio_migrate_budget_waits_total{acc}")),
        Some(&0.0)
    );
    assert!(eta_seen, "a finite ETA during the run");
}
