//! `--max-bytes-per-day`: the bytes sent to one target account in any 24
//! hours of this process, shared by every session of that account.
//!
//! Invariants: a take that fits is recorded at once (so two sessions never
//! both spend the same room); the time always comes from the caller, so
//! the budget is tested with a fake clock; a rerun starts a new count.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `--max-bytes-per-day` of one target account. When the budget is spent,
/// `deliver` waits until enough of it frees up (logging when), so the
/// count stays true.
#[derive(Debug, Default)]
pub struct ByteBudget {
    limit: Option<u64>,
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
        while q
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= Self::DAY)
        {
            q.pop_front();
        }
        let mut used: u64 = q.iter().map(|(_, b)| b).sum();
        if used + n <= limit {
            q.push_back((now, n));
            return Ok(Duration::ZERO);
        }
        for (t, b) in q.iter() {
            used -= b;
            if used + n <= limit {
                return Ok((*t + Self::DAY).saturating_duration_since(now) + Duration::from_secs(1));
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
}
