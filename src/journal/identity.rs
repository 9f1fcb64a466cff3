//! The store identity a run records per account (the login and the
//! server's own identity: the URL is only a hint) and taking over the rows
//! another URL of the same store wrote. Split from [`super`], which owns
//! the schema and the other writes.

use super::{now_text, Journal, JournalError};
use rusqlite::params;

impl Journal {
    /// Records what identifies the store `account` reaches under this
    /// run's target (e.g. the login and the server's identity): the URL is
    /// only a hint, see [`Journal::take_over`].
    pub fn record_identity(&self, account: &str, identity: &str) -> Result<(), JournalError> {
        let mut recorded = self.identities.lock().unwrap_or_else(|p| p.into_inner());
        if recorded.get(account).is_some_and(|i| i == identity) {
            return Ok(());
        }
        let conn = self.conn();
        conn.execute(
            "INSERT INTO identities (target, account, identity, seen) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (target, account) DO UPDATE SET identity = ?3, seen = ?4",
            params![self.target, account, identity, now_text()],
        )
        .map_err(|e| self.err(e))?;
        recorded.insert(account.to_string(), identity.to_string());
        Ok(())
    }

    /// The rows of one source folder written under another target whose
    /// recorded identity for `account` is `identity`, and all of whose
    /// copies were recorded under UIDVALIDITY `uid_validity` of the mailbox
    /// (the same store reached under another URL: `localhost` for
    /// `127.0.0.1`, a proxy), are moved to this run's target. Returns the
    /// targets taken over from, with how many rows.
    pub fn take_over(
        &self,
        account: &str,
        folder: &str,
        identity: &str,
        uid_validity: Option<u32>,
    ) -> Result<Vec<(String, usize)>, JournalError> {
        // From the few identities, each target's rows of the folder by a
        // seek of the primary key.
        const OTHERS: &str = "SELECT d.target FROM identities d
             WHERE d.account = ?1 AND d.target != ?3 AND d.identity = ?4
               AND EXISTS (SELECT 1 FROM items i
                 WHERE i.target = d.target AND i.account = ?1 AND i.folder = ?2)
             ORDER BY d.target";
        let mut conn = self.conn();
        let others = |c: &rusqlite::Connection| -> rusqlite::Result<Vec<String>> {
            let mut stmt = c.prepare_cached(OTHERS)?;
            let rows = stmt.query_map(params![account, folder, self.target, identity], |r| {
                r.get::<_, String>(0)
            })?;
            rows.collect()
        };
        // The usual answer (no other target wrote the folder) without a
        // transaction; else found again inside the one that moves the rows.
        if others(&conn).map_err(|e| self.err(e))?.is_empty() {
            return Ok(Vec::new());
        }
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let others = others(&tx).map_err(|e| self.err(e))?;
        let mut moved = Vec::new();
        for other in others {
            // Every copy under the mailbox's current UIDVALIDITY, or the
            // UIDs may mean other messages: not taken over.
            let foreign: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM items WHERE target = ?1 AND account = ?2 AND folder = ?3
                       AND state = 'done' AND (uidvalidity IS NULL OR uidvalidity IS NOT ?4)",
                    params![other, account, folder, uid_validity],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            if foreign > 0 || uid_validity.is_none() {
                continue;
            }
            let n = tx
                .execute(
                    "UPDATE OR IGNORE items SET target = ?1
                     WHERE target = ?2 AND account = ?3 AND folder = ?4",
                    params![self.target, other, account, folder],
                )
                .map_err(|e| self.err(e))?;
            // Moves recorded and not journaled go with their rows.
            tx.execute(
                "UPDATE OR IGNORE moving SET target = ?1
                 WHERE target = ?2 AND account = ?3 AND folder = ?4",
                params![self.target, other, account, folder],
            )
            .map_err(|e| self.err(e))?;
            if n > 0 {
                moved.push((other, n));
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(moved)
    }
}
