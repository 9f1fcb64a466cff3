//! Progress on stderr: live bars on a terminal (the run, plus one per
//! account being migrated: items, bytes, rate, ETA), a plain line every few
//! seconds otherwise (logs, CI) and one line per finished account, the same
//! lines as JSON objects with `--log-format json`, nothing with `--quiet`.
//! The same counts, by outcome, feed `--metrics-listen` ([`metrics`]).

pub mod metrics;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars on a terminal, plain lines otherwise.
    Auto,
    /// Plain periodic lines.
    Plain,
    /// Periodic lines as JSON objects.
    Json,
    Quiet,
}

/// Counters shared by a bar and its lines.
#[derive(Default)]
struct Counts {
    total: AtomicU64,
    items: AtomicU64,
    bytes: AtomicU64,
}

impl Counts {
    fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.items.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// A progress reporter, shared between threads.
pub struct Progress {
    multi: Option<MultiProgress>,
    bar: Option<ProgressBar>,
    lines: Option<ProgressMode>,
    label: String,
    counts: Counts,
    started: Instant,
    last_line: Mutex<Instant>,
    interval: Duration,
    metrics: Option<std::sync::Arc<metrics::Metrics>>,
}

/// A line on stderr; a closed stderr must not stop a migration (the
/// report and the journal hold everything), so errors are ignored.
fn err_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut e = std::io::stderr().lock();
    let _ = e.write_fmt(args).and_then(|()| e.write_all(b"\n"));
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn rate_eta(done: u64, total: u64, secs: f64) -> (f64, Option<f64>) {
    let rate = done as f64 / secs.max(0.001);
    let eta = (rate > 0.0 && total > done).then(|| (total - done) as f64 / rate);
    (rate, eta)
}

impl Progress {
    /// A reporter for `label` with an optional total item count.
    pub fn new(label: &str, total: Option<u64>, mode: ProgressMode) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let (multi, bar) = if mode == ProgressMode::Auto && terminal {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4));
            let pb = multi.add(ProgressBar::new(total.unwrap_or(0)));
            pb.set_style(style(
                "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} items {msg} ({per_sec}, ETA {eta})",
            ));
            pb.set_prefix(label.to_string());
            (Some(multi), Some(pb))
        } else {
            (None, None)
        };
        let lines = match mode {
            ProgressMode::Quiet => None,
            ProgressMode::Auto if terminal => None,
            ProgressMode::Auto | ProgressMode::Plain => Some(ProgressMode::Plain),
            ProgressMode::Json => Some(ProgressMode::Json),
        };
        let now = Instant::now();
        let p = Progress {
            multi,
            bar,
            lines,
            label: label.to_string(),
            counts: Counts::default(),
            started: now,
            last_line: Mutex::new(now),
            interval: Duration::from_secs(10),
            metrics: None,
        };
        p.counts.total.store(total.unwrap_or(0), Ordering::Relaxed);
        p
    }

    /// The same reporter, also counting into `m` (per account, by outcome).
    pub fn with_metrics(mut self, m: std::sync::Arc<metrics::Metrics>) -> Progress {
        self.metrics = Some(m);
        self
    }

    /// Adds to the expected total.
    pub fn add_total(&self, n: u64) {
        let t = self.counts.total.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(b) = &self.bar {
            b.set_length(t);
        }
    }

    /// Counts finished items and bytes.
    pub fn inc(&self, items: u64, bytes: u64) {
        self.counts.items.fetch_add(items, Ordering::Relaxed);
        let b = self.counts.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if let Some(bar) = &self.bar {
            bar.inc(items);
            bar.set_message(crate::text::human_bytes(b));
        } else if self.lines.is_some() {
            let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() >= self.interval {
                *last = Instant::now();
                drop(last);
                self.line(&self.label, &self.counts, self.started, "running");
            }
        }
    }

    fn line(&self, label: &str, c: &Counts, started: Instant, state: &str) {
        let (done, total, bytes) = c.snapshot();
        let secs = started.elapsed().as_secs_f64();
        let (rate, eta) = rate_eta(done, total, secs);
        match self.lines {
            Some(ProgressMode::Json) => err_line(format_args!(
                "{}",
                serde_json::json!({
                    "progress": label, "state": state, "items": done, "total": total,
                    "bytes": bytes, "items_per_s": (rate * 10.0).round() / 10.0,
                    "elapsed_s": (secs * 10.0).round() / 10.0,
                    "eta_s": eta.map(|e| e.round()),
                })
            )),
            Some(_) => err_line(format_args!(
                "{label}: {state} {done}/{total} items, {} in {secs:.0} s ({rate:.0} items/s{})",
                crate::text::human_bytes(bytes),
                eta.map(|e| format!(", ETA {e:.0} s")).unwrap_or_default()
            )),
            None => {}
        }
    }

    /// A reporter for one account, counted into this one as well: a bar of
    /// its own on a terminal, a line when it finishes otherwise.
    pub fn account(&self, label: &str) -> AccountProgress<'_> {
        // An account named from a directory may hold control characters.
        let label = crate::text::escape_controls(label);
        let label = label.as_ref();
        let bar = self.multi.as_ref().map(|m| {
            let pb = m.add(ProgressBar::new(0));
            pb.set_style(style(
                "  {prefix:<32!} {bar:20} {pos}/{len} {msg} ({per_sec}, ETA {eta})",
            ));
            pb.set_prefix(label.to_string());
            pb
        });
        AccountProgress {
            parent: self,
            metrics: self.metrics.as_ref().map(|m| m.account(label)),
            bar,
            label: label.to_string(),
            counts: Counts::default(),
            started: Instant::now(),
        }
    }

    /// Finishes the display.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        } else {
            self.line(&self.label, &self.counts, self.started, "finished");
        }
    }

    /// Prints a line without tearing the bars.
    pub fn println(&self, msg: &str) {
        let msg = crate::text::for_terminal(msg);
        let msg = msg.as_ref();
        match &self.multi {
            Some(m) => {
                let _ = m.println(msg);
            }
            None => err_line(format_args!("{msg}")),
        }
    }
}

/// Progress of one account (see [`Progress::account`]).
pub struct AccountProgress<'a> {
    parent: &'a Progress,
    metrics: Option<std::sync::Arc<metrics::AccountMetrics>>,
    bar: Option<ProgressBar>,
    label: String,
    counts: Counts,
    started: Instant,
}

impl AccountProgress<'_> {
    /// Adds to the account's (and the run's) expected total.
    pub fn add_total(&self, n: u64) {
        let t = self.counts.total.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(b) = &self.bar {
            b.set_length(t);
        }
        if let Some(m) = &self.metrics {
            m.expect(n);
        }
        self.parent.add_total(n);
    }

    /// `n` failed items whose arrival is in doubt (counted as failed too,
    /// with [`AccountProgress::record`]).
    pub fn in_doubt(&self, n: u64) {
        if let Some(m) = &self.metrics {
            m.in_doubt(n);
        }
    }

    /// `n` items finished with `outcome` (`Migrated` carries their bytes).
    pub fn record(&self, outcome: metrics::Outcome, n: u64) {
        if let Some(m) = &self.metrics {
            m.record(outcome, n);
        }
        let bytes = match outcome {
            metrics::Outcome::Migrated(b) => b,
            _ => 0,
        };
        self.inc(n, bytes);
    }

    /// Counts finished items and bytes.
    pub fn inc(&self, items: u64, bytes: u64) {
        self.counts.items.fetch_add(items, Ordering::Relaxed);
        let b = self.counts.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if let Some(bar) = &self.bar {
            bar.inc(items);
            bar.set_message(crate::text::human_bytes(b));
        }
        self.parent.inc(items, bytes);
    }
}

impl Drop for AccountProgress<'_> {
    fn drop(&mut self) {
        match &self.bar {
            Some(b) => b.finish_and_clear(),
            None => self
                .parent
                .line(&self.label, &self.counts, self.started, "finished"),
        }
    }
}

impl crate::model::ProgressSink for Progress {
    fn add_total(&self, n: u64) {
        Progress::add_total(self, n)
    }
    fn inc(&self, items: u64, bytes: u64) {
        Progress::inc(self, items, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_count_into_the_run() {
        let p = Progress::new("t", Some(0), ProgressMode::Quiet);
        {
            let a = p.account("a@x");
            a.add_total(3);
            a.inc(2, 100);
            let b = p.account("b@x");
            b.add_total(1);
            b.inc(1, 5);
            assert_eq!(a.counts.snapshot(), (2, 3, 100));
        }
        assert_eq!(p.counts.snapshot(), (3, 4, 105));
    }

    #[test]
    fn eta() {
        let (r, e) = rate_eta(10, 30, 5.0);
        assert!((r - 2.0).abs() < 1e-9);
        assert_eq!(e, Some(10.0));
        assert_eq!(rate_eta(30, 30, 5.0).1, None);
    }
}
