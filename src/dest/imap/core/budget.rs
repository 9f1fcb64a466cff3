//! `--max-bytes-per-day`: the bytes sent to one target account in any 24
//! hours, shared by every session of that account; what earlier runs sent
//! (the journal's count, `journal::sent`) is seeded in before a run sends.
//!
//! Invariants: a take that fits is recorded at once (so two sessions never
//! both spend the same room); the time always comes from the caller, so
//! the budget is tested with a fake clock.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `--max-bytes-per-day` of one target account. When the budget is spent,
/// `deliver` waits until enough of it frees up (logging when), so the
/// count stays true.
#[derive(Debug, Default)]
pub struct ByteBudget {
    limit: Option<u64>,
    /// What is counted: (when its room frees up, bytes), in that order.
    /// Kept as the expiry, not the send time: what an earlier run sent
    /// can be older than the monotonic clock (a machine booted an hour ago).
    sent: Mutex<VecDeque<(Instant, u64)>>,
}

impl ByteBudget {
    /// A budget of `limit` bytes per 24 hours (`None`: unlimited).
    pub fn new(limit: Option<u64>) -> ByteBudget {
        ByteBudget {
            limit,
            sent: Mutex::new(VecDeque::new()),
        }
    }

    const DAY: Duration = Duration::from_secs(86_400);

    /// Whether a limit is set.
    pub fn limited(&self) -> bool {
        self.limit.is_some()
    }

    /// Counts what earlier runs sent (`sent`: how long ago, bytes), as if
    /// this process had sent it then, so a rerun within a day does not
    /// start from a full budget. What is a day old or older is ignored.
    /// Returns the bytes counted.
    pub fn seed(&self, sent: &[(Duration, u64)], now: Instant) -> u64 {
        if self.limit.is_none() {
            return 0;
        }
        let mut q = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        let mut counted = 0u64;
        for &(age, n) in sent {
            if n == 0 || age >= Self::DAY {
                continue;
            }
            let frees = now + (Self::DAY - age);
            // Kept in time order: `take` frees room from the front.
            let at = q.partition_point(|(u, _)| *u <= frees);
            q.insert(at, (frees, n));
            counted = counted.saturating_add(n);
        }
        counted
    }

    /// How long after `now` `n` more bytes fit (zero: they fit now and are
    /// recorded); `Err(limit)` when `n` is larger than the whole budget.
    pub fn take(&self, n: u64, now: Instant) -> Result<Duration, u64> {
        let Some(limit) = self.limit else {
            return Ok(Duration::ZERO);
        };
        if n > limit {
            return Err(limit);
        }
        let mut q = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        while q.front().is_some_and(|(frees, _)| *frees <= now) {
            q.pop_front();
        }
        let mut used: u64 = q.iter().map(|(_, b)| *b).fold(0, u64::saturating_add);
        if used + n <= limit {
            q.push_back((now + Self::DAY, n));
            return Ok(Duration::ZERO);
        }
        for (frees, b) in q.iter() {
            used = used.saturating_sub(*b);
            if used + n <= limit {
                return Ok(frees.saturating_duration_since(now) + Duration::from_secs(1));
            }
        }
        Ok(Self::DAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_budget() {
        let t0 = Instant::now();
        let b = ByteBudget::new(Some(100));
        assert_eq!(b.take(60, t0), Ok(Duration::ZERO));
        assert_eq!(b.take(40, t0), Ok(Duration::ZERO));
        let w = b.take(1, t0).expect("fits eventually");
        assert_eq!(w, ByteBudget::DAY + Duration::from_secs(1));
        assert_eq!(b.take(101, t0), Err(100));
        assert_eq!(ByteBudget::new(None).take(u64::MAX, t0), Ok(Duration::ZERO));
    }

    #[test]
    fn room_frees_up_a_day_after_each_take() {
        let t0 = Instant::now();
        let hour = Duration::from_secs(3600);
        let b = ByteBudget::new(Some(100));
        assert_eq!(b.take(60, t0), Ok(Duration::ZERO));
        assert_eq!(b.take(40, t0 + hour), Ok(Duration::ZERO));
        // 50 more fit once the first 60 are a day old.
        let at = t0 + 2 * hour;
        assert_eq!(
            b.take(50, at),
            Ok(ByteBudget::DAY - 2 * hour + Duration::from_secs(1))
        );
        assert_eq!(b.take(50, t0 + ByteBudget::DAY), Ok(Duration::ZERO));
        // Now 40 + 50 are in the window: 10 fit, 11 wait for the 40.
        let later = t0 + ByteBudget::DAY;
        assert_eq!(b.take(10, later), Ok(Duration::ZERO));
        assert_eq!(b.take(1, later), Ok(hour + Duration::from_secs(1)));
    }

    #[test]
    fn what_an_earlier_run_sent_counts_until_it_is_a_day_old() {
        // A process started now on a machine booted a minute ago: the
        // ages reach before its monotonic clock.
        let now = Instant::now();
        let hour = Duration::from_secs(3600);
        let b = ByteBudget::new(Some(100));
        // 70 bytes 23 hours ago, 20 an hour ago; 50 two days ago is free.
        let counted = b.seed(&[(23 * hour, 70), (hour, 20), (48 * hour, 50)], now);
        assert_eq!(counted, 90);
        assert_eq!(b.take(10, now), Ok(Duration::ZERO));
        // 11 more fit once the 70 are a day old: in one hour (and a second).
        assert_eq!(b.take(11, now), Ok(hour + Duration::from_secs(1)));
        // Unlimited: nothing is counted.
        assert_eq!(ByteBudget::new(None).seed(&[(hour, 5)], now), 0);
    }
}
