//! The journal's reads: what is done per folder and per mailbox (whole
//! rows, or ids from the primary key alone), pending rows, the journaled
//! folders (a skip-scan), where an account's folders went (folder and
//! mailbox pairs), rows other targets of the same store wrote, and
//! the run that wrote a row; and `rename_folder`, which moves a folder's
//! rows. Split from [`super`], which owns the schema and the writes.

use super::{flags_from_int, DoneItem, Journal, JournalError};
use crate::model::{ContentHash, DestRef, DoneCopy, PendingItem};
use rusqlite::{params, OptionalExtension};
use std::collections::HashMap;

/// A folder's journaled ids against its ids now ([`Journal::compare_ids`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct IdDiff {
    /// Journaled ids the folder no longer has, in order.
    pub missing: Vec<String>,
    /// Positions (in the ids compared) of the ids the journal has no row
    /// for, in order.
    pub unjournaled: Vec<usize>,
}

/// The columns [`done_row`] reads, in its order.
const DONE_ROWS: &str =
    "SELECT item, hash, src_size, src_mtime, mailbox, target_id, uidvalidity, uid, size,
    flags, stored_size, message_id FROM items";

impl Journal {
    /// Items recorded as done for one source folder, by item id.
    pub fn done_items(
        &self,
        account: &str,
        folder: &str,
    ) -> Result<HashMap<String, Vec<DoneItem>>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "{DONE_ROWS} WHERE target = ?1 AND account = ?2 AND folder = ?3 AND state = 'done'"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![self.target, account, folder], done_row)
            .map_err(|e| self.err(e))?;
        let mut map: HashMap<String, Vec<DoneItem>> = HashMap::new();
        self.collect_done(rows, &mut map)?;
        Ok(map)
    }

    /// The item ids of one source folder the journal has rows for (done
    /// or pending) compared with `ids` (the folder's ids now, sorted and
    /// unique): the journaled ids not among them, and the positions in
    /// `ids` of those the journal has no row for. One pass over the
    /// primary key in its order, merged with `ids`: no row decoded, no id
    /// copied but the missing ones (a sync of 200k unchanged items builds
    /// no set of them).
    pub fn compare_ids(
        &self,
        account: &str,
        folder: &str,
        ids: &[&str],
    ) -> Result<IdDiff, JournalError> {
        debug_assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT item FROM items WHERE target = ?1 AND account = ?2 AND folder = ?3
                 ORDER BY item",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query(params![self.target, account, folder])
            .map_err(|e| self.err(e))?;
        let mut diff = IdDiff::default();
        let mut at = 0usize;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let value = row.get_ref(0).map_err(|e| self.err(e))?;
            let journaled = value.as_str().map_err(|e| {
                self.err(rusqlite::Error::FromSqlConversionFailure(
                    0,
                    value.data_type(),
                    Box::new(e),
                ))
            })?;
            // SQLite's BINARY order is the bytes' order, as `str`'s.
            while at < ids.len() && ids[at] < journaled {
                diff.unjournaled.push(at);
                at += 1;
            }
            if at < ids.len() && ids[at] == journaled {
                at += 1;
            } else {
                diff.missing.push(journaled.to_string());
            }
        }
        diff.unjournaled.extend(at..ids.len());
        Ok(diff)
    }

    /// Where the account has rows (done or pending): each (source
    /// folder, mailbox) once, sorted.
    pub fn account_mailboxes(&self, account: &str) -> Result<Vec<(String, String)>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT folder, mailbox FROM items WHERE target = ?1 AND account = ?2 ORDER BY folder, mailbox",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![self.target, account], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The done rows of these items of one source folder (as
    /// [`Journal::done_items`], for a few items).
    pub fn done_items_of(
        &self,
        account: &str,
        folder: &str,
        items: &[&str],
    ) -> Result<HashMap<String, Vec<DoneItem>>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "{DONE_ROWS} WHERE target = ?1 AND account = ?2 AND folder = ?3 AND item = ?4
                   AND state = 'done'"
            ))
            .map_err(|e| self.err(e))?;
        let mut map: HashMap<String, Vec<DoneItem>> = HashMap::new();
        for item in items {
            let rows = stmt
                .query_map(params![self.target, account, folder, item], done_row)
                .map_err(|e| self.err(e))?;
            self.collect_done(rows, &mut map)?;
        }
        Ok(map)
    }

    /// Adds done rows to `map`, by item id.
    fn collect_done(
        &self,
        rows: impl Iterator<Item = rusqlite::Result<(String, DoneItem)>>,
        map: &mut HashMap<String, Vec<DoneItem>>,
    ) -> Result<(), JournalError> {
        for row in rows {
            let (item, d) = row.map_err(|e| self.err(e))?;
            map.entry(item).or_default().push(d);
        }
        Ok(())
    }

    /// The run that wrote the done row of (item, hash) in a source folder.
    pub fn run_of(
        &self,
        account: &str,
        folder: &str,
        item: &str,
        hash: &ContentHash,
    ) -> Result<Option<i64>, JournalError> {
        let conn = self.conn();
        conn.query_row(
            "SELECT run FROM items WHERE target = ?1 AND account = ?2 AND folder = ?3
               AND item = ?4 AND hash = ?5 AND state = 'done'",
            params![self.target, account, folder, item, hash],
            |r| r.get::<_, Option<i64>>(0),
        )
        .optional()
        .map(Option::flatten)
        .map_err(|e| self.err(e))
    }

    /// True when `account` has an identity recorded under a target other
    /// than this journal's (rows another URL wrote may be taken over).
    pub fn has_other_targets(&self, account: &str) -> Result<bool, JournalError> {
        self.conn()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM identities WHERE account = ?1 AND target != ?2)",
                params![account, self.target],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// The source folders of `account` (with a mailbox of each) that other
    /// targets wrote with this store `identity`: what a run under a new URL
    /// of the same server may take over ([`Journal::take_over`]).
    pub fn foreign_folders(
        &self,
        account: &str,
        identity: &str,
    ) -> Result<Vec<(String, String)>, JournalError> {
        let conn = self.conn();
        let known: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM identities
                   WHERE account = ?1 AND identity = ?2 AND target != ?3)",
                params![account, identity, self.target],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        if !known {
            return Ok(Vec::new());
        }
        let mut stmt = conn
            .prepare_cached(
                // From the few identities (CROSS JOIN: that order), each
                // other target's rows of the account by an index seek.
                "SELECT i.folder, MIN(i.mailbox) FROM identities d CROSS JOIN items i
                   ON i.target = d.target AND i.account = d.account
                 WHERE d.account = ?1 AND d.target != ?2 AND d.identity = ?3
                   AND i.state = 'done'
                 GROUP BY i.folder ORDER BY i.folder",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![account, self.target, identity], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// True when this journal has no row of `account` under this target
    /// and no identity of it under another (a first run for the account:
    /// everything in it is to send).
    pub fn is_new_account(&self, account: &str) -> Result<bool, JournalError> {
        self.conn()
            .query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM items WHERE target = ?1 AND account = ?2)
                   AND NOT EXISTS (SELECT 1 FROM identities WHERE account = ?2 AND target != ?1)",
                params![self.target, account],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// The source folders of `account` with done rows.
    pub fn journaled_folders(&self, account: &str) -> Result<Vec<String>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                // A skip-scan over the primary key (target, account, folder,
                // …): one index seek per folder, not a read of every row.
                "WITH RECURSIVE f(folder) AS (
                    SELECT MIN(folder) FROM items WHERE target = ?1 AND account = ?2
                    UNION ALL
                    SELECT (SELECT MIN(folder) FROM items
                            WHERE target = ?1 AND account = ?2 AND folder > f.folder)
                    FROM f WHERE f.folder IS NOT NULL
                 )
                 SELECT folder FROM f WHERE folder IS NOT NULL AND EXISTS (
                    SELECT 1 FROM items i WHERE i.target = ?1 AND i.account = ?2
                      AND i.folder = f.folder AND i.state = 'done')
                 ORDER BY folder",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![self.target, account], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// A folder renamed at the source and its mailbox on the target: the
    /// rows of `from` and of its sub-folders (`from/…`) go to `to`, their
    /// mailbox prefix `from_mailbox` becomes `to_mailbox`. How many rows.
    pub fn rename_folder(
        &self,
        account: &str,
        (from, to): (&str, &str),
        (from_mailbox, to_mailbox): (&str, &str),
    ) -> Result<u64, JournalError> {
        let conn = self.conn();
        let n = conn
            .execute(
                "UPDATE items SET folder = ?4 || substr(folder, length(?3) + 1),
                   mailbox = CASE WHEN substr(mailbox, 1, length(?5)) = ?5
                                  THEN ?6 || substr(mailbox, length(?5) + 1) ELSE mailbox END
                 WHERE target = ?1 AND account = ?2
                   AND (folder = ?3 OR substr(folder, 1, length(?3) + 1) = ?3 || '/')",
                params![self.target, account, from, to, from_mailbox, to_mailbox],
            )
            .map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    /// Done rows of every source folder of `account` that went to target
    /// `mailbox`.
    pub fn done_in_mailbox(
        &self,
        account: &str,
        mailbox: &str,
    ) -> Result<Vec<DoneCopy>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT hash, uidvalidity, uid, message_id FROM items
                 WHERE target = ?1 AND account = ?2 AND mailbox = ?3 AND state = 'done'",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![self.target, account, mailbox], |r| {
                Ok(DoneCopy {
                    hash: r.get(0)?,
                    uid_validity: r.get(1)?,
                    uid: r.get(2)?,
                    message_id: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// [`Self::done_in_mailbox`] for the mailbox of a folder whose done rows
    /// are at hand (`folder_rows`, as [`Self::done_items`] read them):
    /// when the journal's count of the mailbox's done rows (from the index
    /// alone) equals those of `folder_rows` in it, the mailbox holds this
    /// folder's copies only (the usual case: one folder, one mailbox) and
    /// they are taken from `folder_rows`, not read a second time row by
    /// row; else (folders sharing a mailbox, moved rows) from the journal.
    pub fn done_in_mailbox_of(
        &self,
        account: &str,
        mailbox: &str,
        folder_rows: &HashMap<String, Vec<DoneItem>>,
    ) -> Result<Vec<DoneCopy>, JournalError> {
        let mine = || {
            folder_rows
                .values()
                .flatten()
                .filter(move |d| d.mailbox == mailbox)
        };
        let held: i64 = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM items
                     WHERE target = ?1 AND account = ?2 AND mailbox = ?3 AND state = 'done'",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_row(params![self.target, account, mailbox], |r| r.get(0))
                .map_err(|e| self.err(e))?
        };
        if usize::try_from(held).ok() != Some(mine().count()) {
            return self.done_in_mailbox(account, mailbox);
        }
        Ok(mine()
            .map(|d| DoneCopy {
                hash: d.hash,
                uid_validity: d.target.uid_validity,
                uid: d.target.uid,
                message_id: d.message_id.clone(),
            })
            .collect())
    }

    /// Pending items of one source folder.
    pub fn pending_items(
        &self,
        account: &str,
        folder: &str,
    ) -> Result<Vec<PendingItem>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT item, hash, mailbox, marker, size, internal_date, message_id, src_size,
                    src_mtime, flags FROM items
                 WHERE target = ?1 AND account = ?2 AND folder = ?3 AND state = 'pending'
                 ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![self.target, account, folder], |r| {
                Ok(PendingItem {
                    item: r.get(0)?,
                    hash: r.get(1)?,
                    mailbox: r.get(2)?,
                    marker: r.get(3)?,
                    size: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                    internal_date: r.get(5)?,
                    message_id: r.get(6)?,
                    src_size: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
                    src_mtime: r.get(8)?,
                    flags: r.get::<_, Option<i64>>(9)?.map(flags_from_int),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}

/// A done row of `done_items` / `done_items_of`: its item id and what the
/// journal knows of it.
fn done_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, DoneItem)> {
    Ok((
        r.get::<_, String>(0)?,
        DoneItem {
            hash: r.get(1)?,
            src_size: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
            src_mtime: r.get(3)?,
            mailbox: r.get(4)?,
            target: DestRef {
                id: r.get(5)?,
                uid_validity: r.get(6)?,
                uid: r.get(7)?,
            },
            size: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
            flags: r.get::<_, Option<i64>>(9)?.map(flags_from_int),
            stored_size: r.get::<_, Option<i64>>(10)?.map(|v| v as u64),
            message_id: r.get(11)?,
        },
    ))
}
