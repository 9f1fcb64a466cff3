//! Progress on stderr: a live bar on a terminal, a plain line every few
//! seconds otherwise (logs, CI), nothing with `--quiet`. Counts items and
//! bytes and shows the rate and ETA.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar on a terminal, plain lines otherwise.
    Auto,
    /// Plain periodic lines.
    Plain,
    /// Nothing.
    Quiet,
}

/// A progress reporter, shared between threads.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    label: String,
    total: AtomicU64,
    items: AtomicU64,
    bytes: AtomicU64,
    started: Instant,
    last_line: Mutex<Instant>,
    interval: Duration,
}

impl Progress {
    /// A reporter for `label` with an optional total item count.
    pub fn new(label: &str, total: Option<u64>, mode: ProgressMode) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (mode == ProgressMode::Auto && terminal).then(|| {
            let pb = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr_with_hz(4));
            let style = ProgressStyle::with_template(
                "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} items {msg} ({per_sec}, ETA {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            pb.set_style(style);
            pb.set_prefix(label.to_string());
            pb
        });
        let now = Instant::now();
        Progress {
            plain: mode == ProgressMode::Plain || (mode == ProgressMode::Auto && !terminal),
            bar,
            label: label.to_string(),
            total: AtomicU64::new(total.unwrap_or(0)),
            items: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            started: now,
            last_line: Mutex::new(now),
            interval: Duration::from_secs(10),
        }
    }

    /// Adds to the expected total.
    pub fn add_total(&self, n: u64) {
        let t = self.total.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(b) = &self.bar {
            b.set_length(t);
        }
    }

    /// Counts finished items and bytes.
    pub fn inc(&self, items: u64, bytes: u64) {
        let done = self.items.fetch_add(items, Ordering::Relaxed) + items;
        let b = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if let Some(bar) = &self.bar {
            bar.inc(items);
            bar.set_message(crate::report::human_bytes(b));
        } else if self.plain {
            let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() >= self.interval {
                *last = Instant::now();
                drop(last);
                self.line(done, b);
            }
        }
    }

    fn line(&self, done: u64, bytes: u64) {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let total = self.total.load(Ordering::Relaxed);
        let rate = done as f64 / secs;
        let eta = if rate > 0.0 && total > done {
            format!(", ETA {:.0} s", (total - done) as f64 / rate)
        } else {
            String::new()
        };
        eprintln!(
            "{}: {done}/{total} items, {} ({rate:.0} items/s{eta})",
            self.label,
            crate::report::human_bytes(bytes)
        );
    }

    /// Finishes the display.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        } else if self.plain {
            self.line(
                self.items.load(Ordering::Relaxed),
                self.bytes.load(Ordering::Relaxed),
            );
        }
    }

    /// Prints a line without tearing the bar.
    pub fn println(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(msg),
            None => eprintln!("{msg}"),
        }
    }
}
