//! What `--max-bytes-per-day` must remember across runs: the bytes handed
//! to each account of a target, per hour, counted with the pending rows
//! (before they are sent). A run started within 24 hours of another counts
//! them first, so stopping and starting again never spends a day's budget
//! twice (Gmail suspends IMAP for a day past ~500 MB of uploads).
//!
//! Conservative by design: an hour's bytes are taken as sent at the end of
//! that hour, a message sent again after a failure counts again, and an
//! item found already on the target is never pending, so never counted.

use super::{ItemRow, Journal, JournalError};
use rusqlite::params;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Journal {
    /// Adds the sizes of `rows` (about to be sent) to their accounts' hour.
    pub(super) fn count_sent(
        &self,
        tx: &rusqlite::Transaction<'_>,
        rows: &[ItemRow],
    ) -> Result<(), JournalError> {
        let hour = (unix_now() / HOUR) as i64;
        let mut per_account: Vec<(&str, u64)> = Vec::new();
        for r in rows {
            let n = r.size.unwrap_or(0);
            match per_account.iter_mut().find(|(a, _)| *a == r.account) {
                Some((_, b)) => *b = b.saturating_add(n),
                None => per_account.push((&r.account, n)),
            }
        }
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO sent_bytes (target, account, hour, bytes) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (target, account, hour) DO UPDATE SET bytes = bytes + excluded.bytes",
            )
            .map_err(|e| self.err(e))?;
        for (account, bytes) in per_account {
            if bytes == 0 {
                continue;
            }
            let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
            stmt.execute(params![self.target, account, hour, bytes])
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// What earlier runs (and this one) handed to `account` of this target
    /// in the last 24 hours: (the end of each hour, capped at now; bytes),
    /// oldest first. Hours older than two days are forgotten here.
    pub fn sent_last_day(&self, account: &str) -> Result<Vec<(SystemTime, u64)>, JournalError> {
        let now = unix_now();
        let conn = self.conn();
        conn.execute(
            "DELETE FROM sent_bytes WHERE target = ?1 AND hour < ?2",
            params![self.target, ((now.saturating_sub(2 * DAY)) / HOUR) as i64],
        )
        .map_err(|e| self.err(e))?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT hour, bytes FROM sent_bytes
                 WHERE target = ?1 AND account = ?2 AND hour >= ?3 ORDER BY hour",
            )
            .map_err(|e| self.err(e))?;
        // An hour that ended more than a day ago is free again.
        let first = (now.saturating_sub(DAY) / HOUR) as i64;
        let rows = stmt
            .query_map(params![self.target, account, first], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (hour, bytes) = row.map_err(|e| self.err(e))?;
            let end = (u64::try_from(hour).unwrap_or(0) + 1) * HOUR;
            let at = UNIX_EPOCH + Duration::from_secs(end.min(now));
            out.push((at, u64::try_from(bytes).unwrap_or(0)));
        }
        Ok(out)
    }
}
