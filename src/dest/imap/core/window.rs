//! The adaptive append window of one connection, sans I/O: fed with each
//! command's round trip (last byte written → tagged answer, timestamps in
//! microseconds passed in by the caller), it keeps a smoothed and a minimum
//! RTT (as TCP does) and grows the commands and bytes in flight like slow
//! start: the window doubles while the bytes answered per round trip keep
//! rising, stays once they stop, and halves when the server throttles
//! (`NO [LIMIT]`, `[THROTTLED]`, `[UNAVAILABLE]`) or the connection is
//! lost. It never leaves `[start.min(cap), cap]` except when halving.
//!
//! A round is one smoothed RTT (at least [`MIN_ROUND_US`]); the round
//! after a growth is not judged (its answers are for commands sent before
//! the window grew); a round in which the window was never full (the
//! dispatcher had nothing more to send) is not judged either.

use super::append::Window;

/// The shortest round judged (loopback RTTs are too short to compare).
pub(crate) const MIN_ROUND_US: u64 = 5_000;
/// A round must answer this much more than the best one to count as a rise.
const RISE: f64 = 1.15;
/// Rounds without a rise before growth stops.
const STALLS: u32 = 2;

/// What the window and the RTT were (for the report and the metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct WindowStats {
    /// The window now.
    pub now: (usize, usize),
    /// The largest window reached (commands, bytes).
    pub peak: (usize, usize),
    /// Smoothed RTT, µs (0: no sample yet).
    pub srtt_us: u64,
    /// Smallest RTT seen, µs (0: no sample yet).
    pub min_rtt_us: u64,
}

/// The controller of one connection's window (see the module header).
#[derive(Debug)]
pub(crate) struct Controller {
    cap: Window,
    cur: Window,
    peak: Window,
    srtt_us: Option<u64>,
    min_rtt_us: Option<u64>,
    growing: bool,
    stalls: u32,
    /// The best bytes-per-µs of a judged round.
    best: f64,
    round_start: Option<u64>,
    round_bytes: u64,
    /// The window was full at some point of the round.
    full: bool,
    /// The next round is not judged (the window just grew).
    skip: bool,
    in_flight: (usize, usize),
}

impl Controller {
    /// A controller starting at `start`, never growing past `cap`.
    pub fn new(start: Window, cap: Window) -> Controller {
        let cap = Window {
            commands: cap.commands.max(1),
            bytes: cap.bytes.max(1),
        };
        let cur = Window {
            commands: start.commands.clamp(1, cap.commands),
            bytes: start.bytes.clamp(1, cap.bytes),
        };
        Controller {
            cap,
            cur,
            peak: cur,
            srtt_us: None,
            min_rtt_us: None,
            growing: true,
            stalls: 0,
            best: 0.0,
            round_start: None,
            round_bytes: 0,
            full: false,
            skip: false,
            in_flight: (0, 0),
        }
    }

    /// The window to apply now.
    pub fn window(&self) -> Window {
        self.cur
    }

    /// A command of `bytes` was written in full.
    pub fn sent(&mut self, bytes: usize) {
        self.in_flight.0 += 1;
        self.in_flight.1 += bytes;
        self.note_full();
    }

    fn note_full(&mut self) {
        if self.in_flight.0 >= self.cur.commands || self.in_flight.1 >= self.cur.bytes {
            self.full = true;
        }
    }

    /// The answer to a command of `bytes` came at `now_us`, `rtt_us` after
    /// its last byte was written; `throttled` when the server said to slow
    /// down.
    pub fn answered(&mut self, now_us: u64, rtt_us: u64, bytes: usize, throttled: bool) {
        self.in_flight.0 = self.in_flight.0.saturating_sub(1);
        self.in_flight.1 = self.in_flight.1.saturating_sub(bytes);
        let srtt = match self.srtt_us {
            Some(s) => (s * 7 + rtt_us) / 8,
            None => rtt_us,
        };
        self.srtt_us = Some(srtt);
        self.min_rtt_us = Some(self.min_rtt_us.map_or(rtt_us, |m| m.min(rtt_us)));
        if throttled {
            self.back_off();
            return;
        }
        let start = *self.round_start.get_or_insert(now_us);
        self.round_bytes += bytes as u64;
        let elapsed = now_us.saturating_sub(start);
        if elapsed >= srtt.max(MIN_ROUND_US) {
            self.end_round(elapsed);
        }
    }

    /// The connection was lost: nothing is in flight any more, and the
    /// window halves.
    pub fn lost(&mut self) {
        self.in_flight = (0, 0);
        self.back_off();
    }

    /// The figures so far.
    pub fn stats(&self) -> WindowStats {
        WindowStats {
            now: (self.cur.commands, self.cur.bytes),
            peak: (self.peak.commands, self.peak.bytes),
            srtt_us: self.srtt_us.unwrap_or(0),
            min_rtt_us: self.min_rtt_us.unwrap_or(0),
        }
    }

    fn end_round(&mut self, elapsed: u64) {
        let rate = self.round_bytes as f64 / elapsed.max(1) as f64;
        let judged = self.growing && self.full && !self.skip;
        self.skip = false;
        self.round_start = None;
        self.round_bytes = 0;
        self.full = false;
        self.note_full();
        if !judged {
            return;
        }
        if rate > self.best * RISE {
            self.best = rate;
            self.stalls = 0;
            self.grow();
        } else {
            self.stalls += 1;
            if self.stalls >= STALLS {
                self.growing = false;
            }
        }
    }

    fn grow(&mut self) {
        let next = Window {
            commands: (self.cur.commands * 2).min(self.cap.commands),
            bytes: self.cur.bytes.saturating_mul(2).min(self.cap.bytes),
        };
        if next.commands == self.cur.commands && next.bytes == self.cur.bytes {
            self.growing = false;
            return;
        }
        self.cur = next;
        self.peak = Window {
            commands: self.peak.commands.max(next.commands),
            bytes: self.peak.bytes.max(next.bytes),
        };
        self.skip = true;
    }

    fn back_off(&mut self) {
        self.cur = Window {
            commands: (self.cur.commands / 2).max(1),
            bytes: (self.cur.bytes / 2).max(1),
        };
        self.growing = false;
        self.round_start = None;
        self.round_bytes = 0;
        self.full = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RTT: u64 = 40_000;

    fn w(commands: usize, bytes: usize) -> Window {
        Window { commands, bytes }
    }

    /// A link of `rtt` where the server answers `per_rtt` commands per RTT
    /// at most: each round sends the window's commands and answers up to
    /// `per_rtt` of them after one RTT. Returns the time reached.
    fn run(c: &mut Controller, rounds: u64, per_rtt: usize, t0: u64) -> u64 {
        let mut t = t0;
        for _ in 0..rounds {
            let n = c.window().commands.min(per_rtt);
            for _ in 0..c.window().commands {
                c.sent(1000);
            }
            for i in 0..n {
                c.answered(t + RTT + i as u64, RTT, 1000, false);
            }
            // What was not answered this round is answered late (the server queue).
            for i in n..c.window().commands.max(n) {
                c.answered(t + RTT + i as u64, RTT, 0, false);
            }
            t += RTT + 1;
        }
        t
    }

    #[test]
    fn grows_on_a_long_link_and_keeps_the_rtt() {
        let mut c = Controller::new(w(4, 1 << 20), w(1024, 64 << 20));
        run(&mut c, 20, usize::MAX, 0);
        let s = c.stats();
        assert_eq!(s.now.0, 1024, "{s:?}");
        assert_eq!(s.peak.0, 1024);
        assert_eq!(s.srtt_us, RTT);
        assert_eq!(s.min_rtt_us, RTT);
        assert!(s.now.1 <= 64 << 20);
    }

    #[test]
    fn stops_growing_when_the_server_is_the_limit() {
        let mut c = Controller::new(w(4, 1 << 20), w(4096, 1 << 30));
        run(&mut c, 40, 32, 0);
        let s = c.stats();
        assert!(s.now.0 >= 32 && s.now.0 <= 128, "{s:?}");
    }

    #[test]
    fn halves_when_throttled_or_lost() {
        let mut c = Controller::new(w(64, 1 << 20), w(1024, 64 << 20));
        c.sent(10);
        c.answered(1000, 500, 10, true);
        assert_eq!(c.window().commands, 32);
        c.lost();
        assert_eq!(c.window().commands, 16);
        assert_eq!(c.stats().peak.0, 64);
        // No growth after a back-off.
        run(&mut c, 10, usize::MAX, 10_000);
        assert_eq!(c.window().commands, 16);
    }

    #[test]
    fn no_growth_when_the_window_is_never_full() {
        let mut c = Controller::new(w(64, 1 << 20), w(1024, 64 << 20));
        let mut t = 0;
        for _ in 0..20 {
            c.sent(100);
            c.answered(t + RTT, RTT, 100, false);
            t += RTT + 1;
        }
        assert_eq!(c.window().commands, 64);
    }

    #[test]
    fn start_is_clamped_to_the_cap() {
        let c = Controller::new(w(64, 16 << 20), w(8, 1 << 20));
        assert_eq!(c.window().commands, 8);
        assert_eq!(c.window().bytes, 1 << 20);
    }
}
