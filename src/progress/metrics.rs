//! `--metrics-listen ADDR`: the run's counters in the Prometheus text
//! format (version 0.0.4) over plain HTTP, served by one small thread on a
//! std `TcpListener`. Per account: messages expected, messages by outcome
//! (the report's buckets), of the failed those in doubt, bytes migrated, retries, budget
//! waits, each IMAP connection's window and RTT; for the run: elapsed seconds,
//! the rate, an ETA, whether it has finished and its exit code. No
//! authentication and no TLS: bind to loopback or protect the port.

use crate::model::LinkStats;
use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What became of one item, as the report counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored by this run, with its bytes.
    Migrated(u64),
    /// Already on the target.
    Present,
    /// Not migrated by policy or choice.
    Skipped,
    /// Not migrated because something went wrong.
    Failed,
}

/// One account's counters.
#[derive(Debug, Default)]
pub struct AccountMetrics {
    expected: AtomicU64,
    migrated: AtomicU64,
    migrated_bytes: AtomicU64,
    present: AtomicU64,
    skipped: AtomicU64,
    failed: AtomicU64,
    in_doubt: AtomicU64,
    retries: AtomicU64,
    budget_waits: AtomicU64,
    links: Mutex<Vec<LinkStats>>,
}

impl AccountMetrics {
    /// `n` more items expected.
    pub fn expect(&self, n: u64) {
        self.expected.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` items with this outcome (`Migrated` carries the bytes of all `n`).
    pub fn record(&self, outcome: Outcome, n: u64) {
        let c = match outcome {
            Outcome::Migrated(bytes) => {
                self.migrated_bytes.fetch_add(bytes, Ordering::Relaxed);
                &self.migrated
            }
            Outcome::Present => &self.present,
            Outcome::Skipped => &self.skipped,
            Outcome::Failed => &self.failed,
        };
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` failed items whose arrival is in doubt (a part of the failed).
    pub fn in_doubt(&self, n: u64) {
        self.in_doubt.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` messages put back to be sent again.
    pub fn retried(&self, n: u64) {
        self.retries.fetch_add(n, Ordering::Relaxed);
    }

    /// The counter of waits for `--max-bytes-per-day`.
    pub fn budget_waits(&self) -> &AtomicU64 {
        &self.budget_waits
    }

    /// An append connection's window and RTT now (the slot's last value
    /// stays; peaks and the minimum RTT are kept over the run).
    pub fn set_link(&self, s: LinkStats) {
        let mut l = self.links.lock().unwrap_or_else(|p| p.into_inner());
        match l.iter_mut().find(|o| o.connection == s.connection) {
            Some(o) => {
                let min = match (o.min_rtt_us, s.min_rtt_us) {
                    (0, m) | (m, 0) => m,
                    (a, b) => a.min(b),
                };
                *o = LinkStats {
                    peak_window_commands: o.peak_window_commands.max(s.peak_window_commands),
                    peak_window_bytes: o.peak_window_bytes.max(s.peak_window_bytes),
                    min_rtt_us: min,
                    ..s
                };
            }
            None => l.push(s),
        }
    }

    /// Every append connection's window and RTT, by slot.
    pub fn links(&self) -> Vec<LinkStats> {
        let mut l = self.links.lock().unwrap_or_else(|p| p.into_inner()).clone();
        l.sort_by_key(|s| s.connection);
        l
    }

    fn done(&self) -> u64 {
        [&self.migrated, &self.present, &self.skipped, &self.failed]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

/// The run's counters, shared by the engine's threads and the server.
#[derive(Debug)]
pub struct Metrics {
    accounts: Mutex<BTreeMap<String, Arc<AccountMetrics>>>,
    started: Instant,
    labels: Vec<(String, String)>,
    finished: AtomicBool,
    exit_code: AtomicI64,
    /// Items done at the last scrapes, for the recent rate.
    recent: Mutex<VecDeque<(Instant, u64)>>,
}

/// How far back the recent rate looks.
const RECENT: Duration = Duration::from_secs(30);

/// A label value as the text format wants it.
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

impl Metrics {
    /// Counters for a run whose `info` metric carries `labels` (version,
    /// shard, target).
    pub fn new(labels: Vec<(String, String)>) -> Metrics {
        Metrics {
            accounts: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
            labels,
            finished: AtomicBool::new(false),
            exit_code: AtomicI64::new(-1),
            recent: Mutex::new(VecDeque::new()),
        }
    }

    /// The counters of `account` (created at 0 on first use).
    pub fn account(&self, account: &str) -> Arc<AccountMetrics> {
        let mut m = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(account.to_string()).or_default().clone()
    }

    /// The run has ended with `code` (served until the process exits).
    pub fn finish(&self, code: i32) {
        self.exit_code.store(code.into(), Ordering::Relaxed);
        self.finished.store(true, Ordering::Relaxed);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let accounts: Vec<(String, Arc<AccountMetrics>)> = self
            .accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut s = String::new();
        let info: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let _ = writeln!(
            s,
            "# HELP kerio_migrate_info The run: version, shard, target."
        );
        let _ = writeln!(s, "# TYPE kerio_migrate_info gauge");
        let _ = writeln!(s, "kerio_migrate_info{{{}}} 1", info.join(","));
        let per = |s: &mut String,
                   name: &str,
                   kind: &str,
                   help: &str,
                   f: &dyn Fn(&AccountMetrics) -> u64| {
            let _ = writeln!(s, "# HELP {name} {help}");
            let _ = writeln!(s, "# TYPE {name} {kind}");
            for (a, m) in &accounts {
                let _ = writeln!(s, "{name}{{account=\"{}\"}} {}", escape(a), f(m));
            }
        };
        per(
            &mut s,
            "kerio_migrate_messages_expected",
            "gauge",
            "Items found in the source for the account (grows as folders are read).",
            &|m| m.expected.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            s,
            "# HELP kerio_migrate_messages_total Items finished, by outcome (the report's buckets)."
        );
        let _ = writeln!(s, "# TYPE kerio_migrate_messages_total counter");
        for (a, m) in &accounts {
            for (outcome, c) in [
                ("migrated", &m.migrated),
                ("already_present", &m.present),
                ("skipped", &m.skipped),
                ("failed", &m.failed),
            ] {
                let _ = writeln!(
                    s,
                    "kerio_migrate_messages_total{{account=\"{}\",outcome=\"{outcome}\"}} {}",
                    escape(a),
                    c.load(Ordering::Relaxed)
                );
            }
        }
        per(
            &mut s,
            "kerio_migrate_messages_in_doubt_total",
            "counter",
            "Failed items whose arrival is in doubt: sent, fate unknown, checked by the next run (part of outcome=\"failed\").",
            &|m| m.in_doubt.load(Ordering::Relaxed),
        );
        per(
            &mut s,
            "kerio_migrate_bytes_migrated_total",
            "counter",
            "Bytes stored by this run.",
            &|m| m.migrated_bytes.load(Ordering::Relaxed),
        );
        per(
            &mut s,
            "kerio_migrate_retries_total",
            "counter",
            "Messages put back to be sent again (a lost connection, a pause, a split batch).",
            &|m| m.retries.load(Ordering::Relaxed),
        );
        per(
            &mut s,
            "kerio_migrate_budget_waits_total",
            "counter",
            "Waits for --max-bytes-per-day to free up.",
            &|m| m.budget_waits.load(Ordering::Relaxed),
        );
        render_links(&mut s, &accounts);
        let (expected, done) = accounts.iter().fold((0, 0), |(e, d), (_, m)| {
            (e + m.expected.load(Ordering::Relaxed), d + m.done())
        });
        let secs = self.started.elapsed().as_secs_f64();
        let avg = done as f64 / secs.max(0.001);
        let rate = self.recent_rate(done).unwrap_or(avg);
        let finished = self.finished.load(Ordering::Relaxed);
        let gauges = [
            (
                "kerio_migrate_elapsed_seconds",
                "Seconds since the run started.",
                format!("{secs:.3}"),
            ),
            (
                "kerio_migrate_items_per_second",
                "Items finished per second, on average.",
                format!("{avg:.3}"),
            ),
            (
                "kerio_migrate_recent_items_per_second",
                "Items finished per second over the last 30 seconds of scrapes (the average before).",
                format!("{rate:.3}"),
            ),
            (
                "kerio_migrate_eta_seconds",
                "Seconds left at the recent rate for the items found so far (NaN: unknown).",
                if finished || expected <= done {
                    "0".to_string()
                } else if rate > 0.0 {
                    format!("{:.0}", (expected - done) as f64 / rate)
                } else {
                    "NaN".to_string()
                },
            ),
            (
                "kerio_migrate_finished",
                "1 once the run has ended.",
                u8::from(finished).to_string(),
            ),
            (
                "kerio_migrate_exit_code",
                "The run's exit code once finished, else -1.",
                self.exit_code.load(Ordering::Relaxed).to_string(),
            ),
        ];
        for (name, help, v) in gauges {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        s
    }
}

impl Metrics {
    /// Items per second since the oldest scrape of the last [`RECENT`]
    /// (`None` until one is at least a second old).
    fn recent_rate(&self, done: u64) -> Option<f64> {
        let now = Instant::now();
        let mut q = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        while q.len() > 1 && q.get(1).is_some_and(|(t, _)| now - *t >= RECENT) {
            q.pop_front();
        }
        q.push_back((now, done));
        let (t0, d0) = *q.front()?;
        let secs = (now - t0).as_secs_f64();
        (secs >= 1.0).then(|| done.saturating_sub(d0) as f64 / secs)
    }
}

/// The window and RTT of each append connection, by account.
fn render_links(s: &mut String, accounts: &[(String, Arc<AccountMetrics>)]) {
    use std::fmt::Write as _;
    type Series = (&'static str, &'static str, fn(&LinkStats) -> String);
    let series: [Series; 4] = [
        (
            "kerio_migrate_window_commands",
            "APPEND commands allowed in flight on the connection now (the adaptive window).",
            |l| l.window_commands.to_string(),
        ),
        (
            "kerio_migrate_window_bytes",
            "Bytes allowed in flight on the connection now.",
            |l| l.window_bytes.to_string(),
        ),
        (
            "kerio_migrate_rtt_seconds",
            "Smoothed round trip of the connection's APPENDs (last byte written to tagged answer).",
            |l| format!("{:.6}", l.srtt_us as f64 / 1e6),
        ),
        (
            "kerio_migrate_min_rtt_seconds",
            "Smallest round trip of the connection's APPENDs.",
            |l| format!("{:.6}", l.min_rtt_us as f64 / 1e6),
        ),
    ];
    for (name, help, f) in series {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (a, m) in accounts {
            for l in m.links() {
                let _ = writeln!(
                    s,
                    "{name}{{account=\"{}\",connection=\"{}\"}} {}",
                    escape(a),
                    l.connection,
                    f(&l)
                );
            }
        }
    }
}

/// Why the metrics address cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Binding failed.
    #[error("--metrics-listen {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The serving thread; stopped when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// The address bound (the port chosen when 0 was given).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A request head larger than this is refused.
const MAX_REQUEST: usize = 8192;

/// Serves `metrics` on `addr` (`GET /metrics`; `/` too) until the server is
/// dropped. One connection at a time, each with a 2-second deadline.
pub fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> Result<Server, MetricsError> {
    let bind = |source| MetricsError::Bind { addr, source };
    let listener = TcpListener::bind(addr).map_err(bind)?;
    listener.set_nonblocking(true).map_err(bind)?;
    let bound = listener.local_addr().map_err(bind)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let _ = answer(conn, &metrics);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(25));
                    }
                    Err(e) => {
                        tracing::debug!("metrics: accept: {e}");
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        })
        .map_err(bind)?;
    Ok(Server {
        addr: bound,
        stop,
        thread: Some(thread),
    })
}

fn answer(mut conn: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    conn.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_REQUEST {
            return respond(
                &mut conn,
                "431 Request Header Fields Too Large",
                "text/plain",
                "too large\n",
            );
        }
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics" | "/") => respond(
            &mut conn,
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            &metrics.render(),
        ),
        ("GET", _) => respond(&mut conn, "404 Not Found", "text/plain", "try /metrics\n"),
        _ => respond(
            &mut conn,
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n",
        ),
    }
}

fn respond(conn: &mut TcpStream, status: &str, kind: &str, body: &str) -> std::io::Result<()> {
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    conn.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut c = TcpStream::connect(addr).expect("connect");
        c.write_all(request.as_bytes()).expect("write");
        let mut out = String::new();
        c.read_to_string(&mut out).expect("read");
        out
    }

    #[test]
    fn counters_in_the_text_format_over_http() {
        let m = Arc::new(Metrics::new(vec![("shard".into(), "1/2".into())]));
        let a = m.account("a\"b@x");
        a.expect(5);
        a.record(Outcome::Migrated(300), 2);
        a.record(Outcome::Failed, 1);
        a.in_doubt(1);
        let server = serve("127.0.0.1:0".parse().expect("addr"), m.clone()).expect("serve");
        let out = get(server.addr(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.contains("text/plain; version=0.0.4"));
        for line in [
            "kerio_migrate_info{shard=\"1/2\"} 1",
            "kerio_migrate_messages_expected{account=\"a\\\"b@x\"} 5",
            "kerio_migrate_messages_total{account=\"a\\\"b@x\",outcome=\"migrated\"} 2",
            "kerio_migrate_messages_total{account=\"a\\\"b@x\",outcome=\"failed\"} 1",
            "kerio_migrate_bytes_migrated_total{account=\"a\\\"b@x\"} 300",
            "kerio_migrate_messages_in_doubt_total{account=\"a\\\"b@x\"} 1",
            "kerio_migrate_finished 0",
            "kerio_migrate_exit_code -1",
        ] {
            assert!(out.contains(line), "{line}\n{out}");
        }
        m.finish(3);
        let out = get(server.addr(), "GET / HTTP/1.0\r\n\r\n");
        assert!(
            out.contains("kerio_migrate_finished 1") && out.contains("kerio_migrate_exit_code 3")
        );
        assert!(out.contains("kerio_migrate_eta_seconds 0"));
        assert!(get(server.addr(), "GET /x HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(server.addr(), "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        let addr = server.addr();
        drop(server);
        assert!(TcpStream::connect(addr).is_err(), "stopped");
    }
}
