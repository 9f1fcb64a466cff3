//! Where `sync` was moving journaled copies when it stopped: each move is
//! recorded (the copy's row: folder, item, hash; the mailbox it goes to)
//! before the moves are sent, and removed in the transaction that
//! journals it. A run killed between the two leaves the record, so the
//! next one looks for the copy where it was going, not only where its item
//! is now (an item moved again in Kerio meanwhile), and never leaves that
//! copy behind unaccounted for.

use super::{Journal, JournalError};
use crate::model::ContentHash;
use rusqlite::params;
use std::collections::HashMap;

/// The mailboxes copies were being moved to, by their row (folder, item,
/// hash).
pub type Moving = HashMap<(String, String, ContentHash), Vec<String>>;

impl Journal {
    /// Records moves about to be sent: (folder, item, hash) of the copy's
    /// row, and its destination mailbox. Durable before they are sent.
    pub fn record_moving(
        &self,
        account: &str,
        moves: &[(&str, &str, ContentHash, &str)],
    ) -> Result<(), JournalError> {
        if moves.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO moving (target, account, folder, item, hash, mailbox)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(|e| self.err(e))?;
            for (folder, item, hash, mailbox) in moves {
                stmt.execute(params![self.target, account, folder, item, hash, mailbox])
                    .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// The account's moves recorded and not journaled, once the records of
    /// rows that are gone (forgotten since) are dropped.
    pub fn moving(&self, account: &str) -> Result<Moving, JournalError> {
        self.prune_moving(account)?;
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT folder, item, hash, mailbox FROM moving
                 WHERE target = ?1 AND account = ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![self.target, account], |r| {
                Ok((
                    (r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?),
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Moving::new();
        for row in rows {
            let (key, mailbox) = row.map_err(|e| self.err(e))?;
            out.entry(key).or_default().push(mailbox);
        }
        Ok(out)
    }

    /// Drops the account's records whose row is gone (forgotten since: the
    /// copy removed, found gone, or its row re-keyed). Also run at the end
    /// of an account's sync, so that a clean run leaves none of those.
    pub fn prune_moving(&self, account: &str) -> Result<(), JournalError> {
        let conn = self.conn();
        conn.execute(
            "DELETE FROM moving WHERE target = ?1 AND account = ?2 AND NOT EXISTS (
                 SELECT 1 FROM items i WHERE i.target = moving.target
                   AND i.account = moving.account AND i.folder = moving.folder
                   AND i.item = moving.item AND i.hash = moving.hash AND i.state = 'done')",
            params![self.target, account],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Drops the records of moves of these rows of `folder` (journaled now).
    pub(super) fn moved_now(
        &self,
        tx: &rusqlite::Transaction<'_>,
        account: &str,
        folder: &str,
        items: &[(String, ContentHash)],
    ) -> Result<(), JournalError> {
        let mut stmt = tx
            .prepare_cached(
                "DELETE FROM moving WHERE target = ?1 AND account = ?2 AND folder = ?3
                 AND item = ?4 AND hash = ?5",
            )
            .map_err(|e| self.err(e))?;
        for (item, hash) in items {
            stmt.execute(params![self.target, account, folder, item, hash])
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}
