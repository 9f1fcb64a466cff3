//! The resume journal: a SQLite file that records every item that reached
//! the target (account, source folder, item id, content hash, target
//! mailbox and id/UID, time) and every run. A rerun skips what the journal
//! says is there, so interrupting and rerunning never duplicates anything.
//!
//! The journal holds no secrets: no passwords, tokens or message bodies.
//! Rows are keyed by (target, account, folder, item, hash): a file whose
//! content changed under the same id is a new item. Items about to be sent
//! over a link that can fail mid-flight are first recorded as `pending` with
//! a target-specific marker, so the next run can reconcile them.
//!
//! One run at a time: [`Journal::open_exclusive`] holds an exclusive
//! `flock` on `<journal>.lock` for the whole run, so a second run on the
//! same journal stops at once instead of sending everything again.

use crate::model::{ContentHash, DestRef, MailFlags};
pub use crate::model::{DoneCopy, PendingItem};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, ToSql};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Journal errors, with the journal's path.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLite failed.
    #[error("journal {path}: {source}")]
    Sqlite {
        /// The journal file.
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// Its directory could not be created.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another run holds the journal's lock.
    #[error("another kerio-migrate run is using {}: wait for it to end (or stop it), then rerun", .path.display())]
    Busy {
        /// The journal file.
        path: PathBuf,
    },
    /// Written by another version of the tool.
    #[error("journal {path}: schema version {found}, this version of kerio-migrate writes {SCHEMA_VERSION}")]
    Schema {
        /// The journal file.
        path: PathBuf,
        /// The version found.
        found: String,
    },
}

/// 2 added `identities`; a version-1 journal is taken over as it is (its
/// rows keep the URL they were written under until an identity proves
/// another URL reaches the same store).
const SCHEMA_VERSION: i64 = 4;

/// Indexes of earlier builds that nothing reads any more, dropped on open:
/// each cost every recorded row one more B-tree insert. The rows and
/// their meaning are unchanged (the schema version stays), so an older
/// build still reads the journal (and creates its index again).
/// `items_by_folder (account, folder, target)` served `take_over`, which
/// now starts from `identities` and seeks the primary key.
const DROPPED_INDEXES: &str = "DROP INDEX IF EXISTS items_by_folder;";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT,
    target TEXT NOT NULL,
    command TEXT NOT NULL,
    exit_code INTEGER,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS items (
    target TEXT NOT NULL,
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    item TEXT NOT NULL,
    hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('done', 'pending')),
    src_size INTEGER,
    src_mtime INTEGER,
    mailbox TEXT NOT NULL,
    target_id TEXT,
    uidvalidity INTEGER,
    uid INTEGER,
    size INTEGER,
    internal_date INTEGER,
    message_id TEXT,
    marker TEXT,
    run INTEGER,
    at TEXT NOT NULL,
    flags INTEGER,
    stored_size INTEGER,
    PRIMARY KEY (target, account, folder, item, hash)
);
-- What a mailbox holds (done_in_mailbox, per folder of every sync and
-- rerun): without it each scans the account's rows for every folder.
-- Which other targets wrote a folder (take_over) is found from each
-- target's recorded store identity and the primary key: no index.
CREATE INDEX IF NOT EXISTS items_by_mailbox ON items (target, account, mailbox, state);
-- The few pending rows, found without reading a folder's done rows.
CREATE INDEX IF NOT EXISTS items_pending ON items (target, account, folder) WHERE state = 'pending';
-- --max-bytes-per-day across runs (journal::sent): bytes handed to the
-- target per account and hour (unix seconds / 3600), with the pending rows.
CREATE TABLE IF NOT EXISTS sent_bytes (
    target TEXT NOT NULL,
    account TEXT NOT NULL,
    hour INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (target, account, hour)
);
-- sync's moves sent to the target and not journaled yet (journal::moving):
-- the moved copy's row and the mailbox it is being moved to, written
-- before the moves are sent, removed with the row once the move is
-- journaled (or the row is gone). A run killed in between leaves them for
-- the next to look in. Added in schema 4 without a version change: a
-- journal without it gets it, an older version leaves it alone.
CREATE TABLE IF NOT EXISTS moving (
    target TEXT NOT NULL,
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    item TEXT NOT NULL,
    hash TEXT NOT NULL,
    mailbox TEXT NOT NULL,
    PRIMARY KEY (target, account, folder, item, hash, mailbox)
);
CREATE TABLE IF NOT EXISTS identities (
    target TEXT NOT NULL,
    account TEXT NOT NULL,
    identity TEXT NOT NULL,
    seen TEXT NOT NULL,
    PRIMARY KEY (target, account)
);
CREATE TABLE IF NOT EXISTS dav_items (
    target TEXT NOT NULL,
    collection TEXT NOT NULL,
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uid TEXT NOT NULL,
    href TEXT NOT NULL,
    etag TEXT,
    hash TEXT NOT NULL,
    created INTEGER NOT NULL,
    run INTEGER,
    at TEXT NOT NULL,
    PRIMARY KEY (target, collection, uid)
);
";

/// Why [`migrate_schema`] refused a journal.
enum SchemaError {
    Sqlite(rusqlite::Error),
    /// A schema this build does not know (a newer kerio-migrate wrote it).
    Newer(String),
}

impl From<rusqlite::Error> for SchemaError {
    fn from(e: rusqlite::Error) -> Self {
        SchemaError::Sqlite(e)
    }
}

/// Brings the journal to [`SCHEMA_VERSION`] in one immediate transaction:
/// the version is read before anything is created, so a journal of an
/// unknown (newer) schema is refused untouched, and an upgrade that fails
/// half-way (disk full, a kill) leaves the journal as it was.
fn migrate_schema(conn: &mut Connection) -> Result<(), SchemaError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let has_meta = tx
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")?
        .exists([])?;
    let version: Option<String> = if has_meta {
        tx.query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
            r.get(0)
        })
        .optional()?
    } else {
        None
    };
    match version.as_deref() {
        None => {
            tx.execute_batch(SCHEMA)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?1)",
                params![SCHEMA_VERSION.to_string()],
            )?;
        }
        Some(v) if v == SCHEMA_VERSION.to_string() => tx.execute_batch(SCHEMA)?,
        Some("1" | "2" | "3") => {
            // Version 1 lacked `identities` (created by SCHEMA), versions 1
            // and 2 the `flags` column, versions 1 to 3 `stored_size` (both
            // added here, NULL: not known); nothing else changed, so their
            // rows are kept as they are.
            tx.execute_batch(SCHEMA)?;
            for (column, ty) in [("flags", "INTEGER"), ("stored_size", "INTEGER")] {
                let has = tx
                    .prepare("SELECT 1 FROM pragma_table_info('items') WHERE name = ?1")?
                    .exists([column])?;
                if !has {
                    tx.execute_batch(&format!("ALTER TABLE items ADD COLUMN {column} {ty}"))?;
                }
            }
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'schema'",
                params![SCHEMA_VERSION.to_string()],
            )?;
            // Its rows have no stored size even where the server changed
            // the bytes: `--sync` proves those otherwise (engine::proof).
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('rows_before_schema_4', '1')",
                [],
            )?;
        }
        Some(found) => return Err(SchemaError::Newer(found.to_string())),
    }
    tx.execute_batch(DROPPED_INDEXES)?;
    tx.commit()?;
    Ok(())
}

/// What the journal knows about one item that is on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoneItem {
    /// Content hash.
    pub hash: ContentHash,
    /// Source file size when it was sent.
    pub src_size: Option<u64>,
    /// Source file mtime when it was sent.
    pub src_mtime: Option<i64>,
    /// Target mailbox.
    pub mailbox: String,
    /// Where it is on the target.
    pub target: DestRef,
    /// Bytes sent (what the target should store), when recorded.
    pub size: Option<u64>,
    /// The size the target reported for the copy when it differed from
    /// the bytes sent (a server that rewrites what it stores; schema 4).
    pub stored_size: Option<u64>,
    /// The flags the target was last given (None: a journal written before
    /// schema 3), or the flags a copy found there has.
    pub flags: Option<MailFlags>,
    /// The Message-ID sent (without `<>`), when it had one.
    pub message_id: Option<String>,
}

impl DoneItem {
    /// The size the target holds for this copy: what it reported when that
    /// differed from the bytes sent, else the bytes sent.
    pub fn size_on_target(&self) -> Option<u64> {
        self.stored_size.or(self.size)
    }
}

/// A row to record.
#[derive(Debug, Clone, Default)]
pub struct ItemRow {
    /// Account id (`alice@example.com`).
    pub account: String,
    /// Source folder path.
    pub folder: String,
    /// Item id.
    pub item: String,
    /// Content hash.
    pub hash: ContentHash,
    /// Source file size.
    pub src_size: Option<u64>,
    /// Source file mtime.
    pub src_mtime: Option<i64>,
    /// Target mailbox.
    pub mailbox: String,
    /// Target id (Maildir name, UID string).
    pub target_id: Option<String>,
    /// UIDVALIDITY.
    pub uid_validity: Option<u32>,
    pub uid: Option<u32>,
    /// Bytes sent.
    pub size: Option<u64>,
    /// Internal date (Unix seconds).
    pub internal_date: Option<i64>,
    /// Message-ID.
    pub message_id: Option<String>,
    /// Reconciliation marker (pending rows).
    pub marker: Option<String>,
    /// The flags sent (schema 3).
    pub flags: Option<MailFlags>,
    /// The size the target stored, when it differs from `size` (schema 4).
    pub stored_size: Option<u64>,
}

/// Flags as the journal's integer: `\Seen` 1, `\Answered` 2, `\Flagged` 4,
/// `\Draft` 8.
pub fn flags_to_int(f: MailFlags) -> i64 {
    i64::from(f.seen)
        | i64::from(f.answered) << 1
        | i64::from(f.flagged) << 2
        | i64::from(f.draft) << 3
}

/// The inverse of [`flags_to_int`].
pub fn flags_from_int(v: i64) -> MailFlags {
    MailFlags {
        seen: v & 1 != 0,
        answered: v & 2 != 0,
        flagged: v & 4 != 0,
        draft: v & 8 != 0,
    }
}

/// A CardDAV / CalDAV resource that is on the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DavRow {
    /// Collection URL.
    pub collection: String,
    /// Account id.
    pub account: String,
    /// Source folder path.
    pub folder: String,
    /// UID of the vCard / calendar object.
    pub uid: String,
    /// Resource URL.
    pub href: String,
    /// ETag returned by the server.
    pub etag: Option<String>,
    /// BLAKE3 of what was sent (hex).
    pub hash: String,
    /// True when this run created it (false: found there, 412).
    pub created: bool,
}

/// The 64 hex digits of `h` (as [`ContentHash::to_hex`]) in `buf`.
fn hash_hex<'b>(h: &ContentHash, buf: &'b mut [u8; 64]) -> &'b str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in buf.chunks_exact_mut(2).zip(h.0) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 15)];
    }
    // Only ASCII digits were written.
    std::str::from_utf8(buf).unwrap_or_default()
}

/// Hashes are stored as 64 hex digits; anything else in the column is a
/// corrupt journal (an error, never a hash that matches nothing).
impl ToSql for ContentHash {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_hex()))
    }
}

impl FromSql for ContentHash {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        let ValueRef::Text(b) = v else {
            return Err(FromSqlError::InvalidType);
        };
        // Decoded from the bytes (a rerun reads every row's hash): only 64
        // hex digits, either case, are a hash.
        let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
        let mut out = [0u8; 32];
        let ok = b.len() == 64
            && out.iter_mut().zip(b.chunks_exact(2)).all(|(o, p)| {
                match (digit(p[0]), digit(p[1])) {
                    (Some(hi), Some(lo)) => {
                        *o = hi << 4 | lo;
                        true
                    }
                    _ => false,
                }
            });
        if ok {
            return Ok(ContentHash(out));
        }
        let s = String::from_utf8_lossy(b);
        Err(FromSqlError::Other(
            format!("not a content hash: {:?}", s.get(..70).unwrap_or(&s)).into(),
        ))
    }
}

pub struct Journal {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// The identities recorded by this run, per account (each folder
    /// records its account's: written once unless it changes).
    identities: Mutex<std::collections::HashMap<String, String>>,
    target: String,
    run: i64,
    /// Held for the whole run by [`Journal::open_exclusive`].
    _lock: Option<RunLock>,
    /// The journal was upgraded from a schema before 4 (see
    /// [`Journal::has_rows_before_schema_4`]).
    before_4: bool,
}

/// An exclusive claim on a journal for one run: `flock(LOCK_EX)` on
/// `<journal>.lock`, released when dropped (and by the kernel when the
/// process dies, even by SIGKILL).
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    /// Takes the lock of the journal at `path` without waiting; fails with
    /// [`JournalError::Busy`] when another process holds it.
    pub fn acquire(path: &Path) -> Result<RunLock, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        create_parent(path)?;
        // Named after the journal's real path: a second run given a
        // symlink to it (or a path through another symlinked directory)
        // takes the same lock, not one of its own (helper-60: two syncs at
        // once through a symlink uploaded a new item twice).
        let mut name = real_path(path).into_os_string();
        name.push(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&name)
            .map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: flock on a descriptor we own, valid for the call.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc != 0 {
                let e = std::io::Error::last_os_error();
                return Err(if e.kind() == std::io::ErrorKind::WouldBlock {
                    JournalError::Busy {
                        path: path.to_path_buf(),
                    }
                } else {
                    io(e)
                });
            }
        }
        Ok(RunLock { _file: file })
    }
}

/// `path` with every symlink resolved: of the file when it exists, else
/// of a dangling symlink's target or of its directory (a journal not
/// created yet); `path` itself when neither can be resolved.
fn real_path(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let target = match std::fs::read_link(path) {
        Ok(t) => dir.join(t),
        Err(_) => path.to_path_buf(),
    };
    let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
        return path.to_path_buf();
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    match std::fs::canonicalize(parent) {
        Ok(p) => p.join(name),
        Err(_) => path.to_path_buf(),
    }
}

fn create_parent(path: &Path) -> Result<(), JournalError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|source| JournalError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
    }
    Ok(())
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Journal {
    /// Opens (creating) the journal at `path` for `target`, and starts a run.
    pub fn open(path: &Path, target: &str, command: &str) -> Result<Journal, JournalError> {
        Self::open_with(path, target, command, None)
    }

    /// [`Journal::open`] for a run that sends: first takes the journal's
    /// [`RunLock`] (held until the journal is dropped), so two runs never
    /// work from the same journal at once.
    pub fn open_exclusive(
        path: &Path,
        target: &str,
        command: &str,
    ) -> Result<Journal, JournalError> {
        let lock = RunLock::acquire(path)?;
        Self::open_with(path, target, command, Some(lock))
    }

    fn open_with(
        path: &Path,
        target: &str,
        command: &str,
        lock: Option<RunLock>,
    ) -> Result<Journal, JournalError> {
        let err = |source| JournalError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        create_parent(path)?;
        let mut conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        // FULL: in WAL mode NORMAL may lose the last commits on power loss,
        // and a pending row must be on disk before its message is sent.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        // 16 MiB of page cache (the default is 2 MB): a 200k-row journal
        // is read folder by folder on every rerun.
        conn.pragma_update(None, "cache_size", -16384)
            .map_err(err)?;
        migrate_schema(&mut conn).map_err(|e| match e {
            SchemaError::Sqlite(source) => err(source),
            SchemaError::Newer(found) => JournalError::Schema {
                path: path.to_path_buf(),
                found,
            },
        })?;
        conn.execute(
            "INSERT INTO runs (started, target, command) VALUES (?1, ?2, ?3)",
            params![now_text(), target, command],
        )
        .map_err(err)?;
        let run = conn.last_insert_rowid();
        let before_4 = conn
            .query_row(
                "SELECT 1 FROM meta WHERE key = 'rows_before_schema_4'",
                [],
                |_| Ok(()),
            )
            .optional()
            .map_err(err)?
            .is_some();
        Ok(Journal {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            identities: Mutex::new(std::collections::HashMap::new()),
            target: target.to_string(),
            run,
            _lock: lock,
            before_4,
        })
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the journal was upgraded from schema 1 to 3: some rows
    /// have no stored size although the server changed the bytes (from
    /// schema 4 on, no stored size means the server kept the size sent).
    /// Upgrades by builds before this marker are not known.
    pub fn has_rows_before_schema_4(&self) -> bool {
        self.before_4
    }

    /// This run's id.
    pub fn run_id(&self) -> i64 {
        self.run
    }

    fn err(&self, source: rusqlite::Error) -> JournalError {
        JournalError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent
        // (transactions roll back), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, rows: &[ItemRow], state: &str) -> Result<(), JournalError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        self.insert_rows(&tx, rows, state)?;
        if state == "pending" {
            // Recorded before they are sent: what a later run must count
            // against the day's budget (in the same transaction: never
            // sent without being counted).
            self.count_sent(&tx, rows)?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// `INSERT OR REPLACE` of `rows` in `state`, inside `tx`. The values
    /// every row of a batch shares (target, state, run, time) are bound
    /// once, the account, folder and mailbox only when they change (a
    /// binding stays until replaced), the hash's hex from a stack buffer:
    /// the statement runs per row, its bindings are not rebuilt per row.
    fn insert_rows(
        &self,
        tx: &rusqlite::Transaction<'_>,
        rows: &[ItemRow],
        state: &str,
    ) -> Result<(), JournalError> {
        let mut stmt = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO items (target, account, folder, item, hash, state,
                    src_size, src_mtime, mailbox, target_id, uidvalidity, uid, size,
                    internal_date, message_id, marker, run, at, flags, stored_size)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                    ?16, ?17, ?18, ?19, ?20)",
            )
            .map_err(|e| self.err(e))?;
        let at = now_text();
        let bind = |stmt: &mut rusqlite::CachedStatement<'_>, i: usize, v: &dyn ToSql| {
            stmt.raw_bind_parameter(i, v).map_err(|e| self.err(e))
        };
        bind(&mut stmt, 1, &self.target)?;
        bind(&mut stmt, 6, &state)?;
        bind(&mut stmt, 17, &self.run)?;
        bind(&mut stmt, 18, &at)?;
        let mut last: Option<&ItemRow> = None;
        for r in rows {
            if last.is_none_or(|l| l.account != r.account) {
                bind(&mut stmt, 2, &r.account)?;
            }
            if last.is_none_or(|l| l.folder != r.folder) {
                bind(&mut stmt, 3, &r.folder)?;
            }
            if last.is_none_or(|l| l.mailbox != r.mailbox) {
                bind(&mut stmt, 9, &r.mailbox)?;
            }
            last = Some(r);
            let mut hex = [0u8; 64];
            bind(&mut stmt, 4, &r.item)?;
            bind(&mut stmt, 5, &hash_hex(&r.hash, &mut hex))?;
            bind(&mut stmt, 7, &r.src_size.map(|v| v as i64))?;
            bind(&mut stmt, 8, &r.src_mtime)?;
            bind(&mut stmt, 10, &r.target_id)?;
            bind(&mut stmt, 11, &r.uid_validity)?;
            bind(&mut stmt, 12, &r.uid)?;
            bind(&mut stmt, 13, &r.size.map(|v| v as i64))?;
            bind(&mut stmt, 14, &r.internal_date)?;
            bind(&mut stmt, 15, &r.message_id)?;
            bind(&mut stmt, 16, &r.marker)?;
            bind(&mut stmt, 19, &r.flags.map(flags_to_int))?;
            bind(&mut stmt, 20, &r.stored_size.map(|v| v as i64))?;
            stmt.raw_execute().map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Records items as done (replacing pending rows of the same key).
    pub fn record_done(&self, rows: &[ItemRow]) -> Result<(), JournalError> {
        self.write(rows, "done")
    }

    /// Records items as pending, durably, before they are sent.
    pub fn record_pending(&self, rows: &[ItemRow]) -> Result<(), JournalError> {
        self.write(rows, "pending")
    }

    /// [`Self::record_done`] of `done`, then [`Self::record_pending`] of
    /// `pending`, in one transaction: what arrived and the next group to
    /// send, durable together with one commit.
    pub fn record_done_and_pending(
        &self,
        done: &[ItemRow],
        pending: &[ItemRow],
    ) -> Result<(), JournalError> {
        if done.is_empty() {
            return self.write(pending, "pending");
        }
        if pending.is_empty() {
            return self.write(done, "done");
        }
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        self.insert_rows(&tx, done, "done")?;
        self.insert_rows(&tx, pending, "pending")?;
        self.count_sent(&tx, pending)?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// Refreshes the source size and mtime of done rows (an item found done
    /// by its content after its file changed size or time), keeping
    /// everything else: mailbox, target id, UIDVALIDITY, UID, size,
    /// internal date, Message-ID.
    pub fn refresh_source(&self, rows: &[ItemRow]) -> Result<(), JournalError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE items SET src_size = ?6, src_mtime = ?7
                     WHERE target = ?1 AND account = ?2 AND folder = ?3 AND item = ?4
                     AND hash = ?5 AND state = 'done'",
                )
                .map_err(|e| self.err(e))?;
            for r in rows {
                stmt.execute(params![
                    self.target,
                    r.account,
                    r.folder,
                    r.item,
                    r.hash,
                    r.src_size.map(|v| v as i64),
                    r.src_mtime,
                ])
                .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Records the flags the target now has for done rows (`sync`), each
    /// row by item and content hash.
    pub fn record_flags(
        &self,
        account: &str,
        folder: &str,
        rows: &[(String, ContentHash, MailFlags)],
    ) -> Result<(), JournalError> {
        let ints: Vec<i64> = rows.iter().map(|r| flags_to_int(r.2)).collect();
        let set: Vec<(&str, &dyn ToSql, &dyn ToSql)> = rows
            .iter()
            .zip(&ints)
            .map(|(r, f)| (r.0.as_str(), &r.1 as &dyn ToSql, f as &dyn ToSql))
            .collect();
        self.update_each(
            "UPDATE items SET flags = ?6
             WHERE target = ?1 AND account = ?2 AND folder = ?3 AND item = ?4
             AND hash = ?5 AND state = 'done'",
            account,
            folder,
            &set,
        )
    }

    /// Records the size the target stored for done rows whose stored copy
    /// is not the bytes sent (`(item, UID, size)`): the ownership proof of
    /// `sync`'s moves and removals compares against it.
    pub fn record_stored_size(
        &self,
        account: &str,
        folder: &str,
        rows: &[(String, u32, u64)],
    ) -> Result<(), JournalError> {
        let sizes: Vec<i64> = rows.iter().map(|r| r.2 as i64).collect();
        let set: Vec<(&str, &dyn ToSql, &dyn ToSql)> = rows
            .iter()
            .zip(&sizes)
            .map(|(r, n)| (r.0.as_str(), &r.1 as &dyn ToSql, n as &dyn ToSql))
            .collect();
        self.update_each(
            "UPDATE items SET stored_size = ?6
             WHERE target = ?1 AND account = ?2 AND folder = ?3 AND item = ?4
             AND uid = ?5 AND state = 'done'",
            account,
            folder,
            &set,
        )
    }

    /// Runs the UPDATE `sql` once per `(item, key, value)` of `rows` (as
    /// ?4, ?5, ?6; ?1 to ?3 are this target, `account` and `folder`), in
    /// one transaction.
    fn update_each(
        &self,
        sql: &str,
        account: &str,
        folder: &str,
        rows: &[(&str, &dyn ToSql, &dyn ToSql)],
    ) -> Result<(), JournalError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        {
            let mut stmt = tx.prepare_cached(sql).map_err(|e| self.err(e))?;
            for (item, key, value) in rows {
                stmt.execute(params![self.target, account, folder, item, key, value])
                    .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Forgets done rows whose message `sync --propagate-deletes` removed
    /// from the target.
    pub fn forget_done(
        &self,
        account: &str,
        folder: &str,
        items: &[(String, ContentHash)],
    ) -> Result<(), JournalError> {
        self.forget("done", account, folder, items)
    }

    /// Forgets pending rows that turned out not to have arrived.
    pub fn clear_pending(
        &self,
        account: &str,
        folder: &str,
        items: &[(String, ContentHash)],
    ) -> Result<(), JournalError> {
        self.forget("pending", account, folder, items)
    }

    /// Deletes the rows in `state` (`done` or `pending`) of these items, in
    /// one transaction.
    fn forget(
        &self,
        state: &str,
        account: &str,
        folder: &str,
        items: &[(String, ContentHash)],
    ) -> Result<(), JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        self.delete_rows(&tx, state, account, folder, items)?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// Deletes the rows in `state` of these items, inside `tx`.
    fn delete_rows(
        &self,
        tx: &rusqlite::Transaction<'_>,
        state: &str,
        account: &str,
        folder: &str,
        items: &[(String, ContentHash)],
    ) -> Result<(), JournalError> {
        let mut stmt = tx
            .prepare_cached(
                "DELETE FROM items WHERE target = ?1 AND account = ?2 AND folder = ?3
                 AND item = ?4 AND hash = ?5 AND state = ?6",
            )
            .map_err(|e| self.err(e))?;
        for (item, hash) in items {
            stmt.execute(params![self.target, account, folder, item, hash, state])
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// `sync`'s moves: the moved copies' new done rows and the old folders'
    /// rows they replace (`(folder, [(item, hash)])`), in one transaction,
    /// so a crash leaves either the old rows or the new ones, never both.
    pub fn record_moves(
        &self,
        account: &str,
        rows: &[ItemRow],
        forget: &[(String, Vec<(String, ContentHash)>)],
    ) -> Result<(), JournalError> {
        if rows.is_empty() && forget.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        self.insert_rows(&tx, rows, "done")?;
        for (folder, items) in forget {
            self.delete_rows(&tx, "done", account, folder, items)?;
            self.moved_now(&tx, account, folder, items)?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Number of done rows for this target (all accounts).
    pub fn done_count(&self) -> Result<u64, JournalError> {
        let conn = self.conn();
        conn.query_row(
            "SELECT COUNT(*) FROM items WHERE target = ?1 AND state = 'done'",
            params![self.target],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n as u64)
        .map_err(|e| self.err(e))
    }

    /// True when the resource of `uid` in `collection` is recorded.
    pub fn dav_done(&self, collection: &str, uid: &str) -> Result<bool, JournalError> {
        let conn = self.conn();
        conn.query_row(
            "SELECT COUNT(*) FROM dav_items WHERE target = ?1 AND collection = ?2 AND uid = ?3",
            params![self.target, collection, uid],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(|e| self.err(e))
    }

    /// Records a resource that is on the server.
    pub fn record_dav(&self, row: &DavRow) -> Result<(), JournalError> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR REPLACE INTO dav_items (target, collection, account, folder, uid, href,
                etag, hash, created, run, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                self.target,
                row.collection,
                row.account,
                row.folder,
                row.uid,
                row.href,
                row.etag,
                row.hash,
                row.created,
                self.run,
                now_text()
            ],
        )
        .map(|_| ())
        .map_err(|e| self.err(e))
    }

    /// Resources recorded for `collection`, in the order they were recorded.
    pub fn dav_items(&self, collection: &str) -> Result<Vec<DavRow>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT collection, account, folder, uid, href, etag, hash, created
                 FROM dav_items WHERE target = ?1 AND collection = ?2 ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![self.target, collection], |r| {
                Ok(DavRow {
                    collection: r.get(0)?,
                    account: r.get(1)?,
                    folder: r.get(2)?,
                    uid: r.get(3)?,
                    href: r.get(4)?,
                    etag: r.get(5)?,
                    hash: r.get(6)?,
                    created: r.get(7)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Closes the run with its exit code and JSON summary.
    pub fn finish_run(&self, exit_code: i32, summary: &str) -> Result<(), JournalError> {
        let conn = self.conn();
        conn.execute(
            "UPDATE runs SET finished = ?1, exit_code = ?2, summary = ?3 WHERE id = ?4",
            params![now_text(), exit_code, summary, self.run],
        )
        .map(|_| ())
        .map_err(|e| self.err(e))
    }
}

mod identity;
mod moving;
mod query;
pub use moving::Moving;
pub use query::IdDiff;
mod sent;
#[cfg(test)]
mod tests;
