//! Pacing: `--max-rate` (messages per second) shared by every account of a
//! run. Each message reserves the next free slot and waits for it, so the
//! rate holds across threads without bursts beyond one message. The wait
//! is cut into short slices so that Ctrl-C / SIGTERM (or any other reason
//! to stop) ends it at once.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A shared message-rate limiter.
#[derive(Debug)]
pub struct Pacer {
    interval: Option<Duration>,
    next: Mutex<Instant>,
}

impl Pacer {
    /// A pacer for `per_second` messages per second (`None`: unlimited).
    pub fn new(per_second: Option<f64>) -> Pacer {
        let interval = per_second
            .filter(|r| *r > 0.0 && r.is_finite())
            .map(|r| Duration::from_secs_f64(1.0 / r));
        Pacer {
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    /// Longest sleep between two looks at `stop`.
    const SLICE: Duration = Duration::from_millis(100);

    /// Waits for this message's slot, or until `stop()` says to stop.
    /// Returns false when it stopped early.
    pub fn wait(&self, stop: &dyn Fn() -> bool) -> bool {
        let Some(interval) = self.interval else {
            return true;
        };
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + interval;
            slot
        };
        loop {
            if stop() {
                return false;
            }
            let now = Instant::now();
            if slot <= now {
                return true;
            }
            std::thread::sleep((slot - now).min(Self::SLICE));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_does_not_wait() {
        let p = Pacer::new(None);
        let t = Instant::now();
        for _ in 0..1000 {
            assert!(p.wait(&|| false));
        }
        assert!(t.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn slots_are_spaced() {
        // Checks the reservations, not wall-clock speed: 5 messages at 100/s
        // need at least 40 ms (the first slot is immediate).
        let p = Pacer::new(Some(100.0));
        let t = Instant::now();
        for _ in 0..5 {
            p.wait(&|| false);
        }
        assert!(t.elapsed() >= Duration::from_millis(40));
    }

    #[test]
    fn a_stop_ends_the_wait() {
        // One message per 20 s: the second would wait 20 s; a stop raised
        // after 200 ms ends it within a slice.
        let p = Pacer::new(Some(0.05));
        assert!(p.wait(&|| false), "the first slot is now");
        let stop = std::sync::atomic::AtomicBool::new(false);
        let t = Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(200));
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            assert!(!p.wait(&|| stop.load(std::sync::atomic::Ordering::Relaxed)));
        });
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
}
