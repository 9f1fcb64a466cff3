//! Pacing: `--max-rate` (messages per second) shared by every account of a
//! run. Each message reserves the next free slot and waits for it, so the
//! rate holds across threads without bursts beyond one message.

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

    /// Waits for this message's slot.
    pub fn wait(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + interval;
            slot
        };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
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
            p.wait();
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
            p.wait();
        }
        assert!(t.elapsed() >= Duration::from_millis(40));
    }
}
