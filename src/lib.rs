//! kerio-migrate: move a Kerio Connect mail store, read offline from disk,
//! to another system.
//!
//! # Architecture
//!
//! ```text
//! store (dir)  ──▶ items (bytes + index.fld flags/dates) ──▶ prepared messages
//!                                                              (CRLF, internal date, hash)
//!   ──▶ folder mapping ──▶ target (Maildir, IMAP) ──▶ journal (what arrived) ──▶ report
//! ```
//!
//! - [`source`]: the one walk every command shares (the `Source` trait:
//!   accounts → folders with their kind → items with flags and dates);
//!   `source::kerio` reads a Kerio store (layout, `index.fld` /
//!   `status.fld`, items, kinds) and unpacks its backup ZIPs (`backup`).
//! - [`message`]: prepares one item for a target (the only user of
//!   mail-parser): CRLF, hash, Message-ID, dates, anomalies, and the
//!   internal-date chain.
//! - [`target`]: the interface every destination implements, the
//!   Maildir target and the IMAP target (`target::imap`: TLS, logins,
//!   pipelined APPEND / MULTIAPPEND, reconciliation after a crash).
//! - [`mapping`]: which target mailbox each folder goes to (renames,
//!   special folders, regex rules, prefix, presets, per-target name
//!   sanitising) and the account-wide check (merges, case clashes).
//! - [`plan`]: the dry run: mapping, sizes, oversize messages, ETA.
//! - [`journal`]: the SQLite resume journal.
//! - [`engine`]: the migration driver: a pure work list, a producer that
//!   reads and prepares items in parallel, and a ledger that puts every
//!   item in one bucket of the [`report`] and keeps the journal.
//! - [`scan`]: the inventory.
//! - [`verify`]: checks the target against the store and the journal.
//! - [`export`]: what is not mail: contacts to vCard, calendars and tasks
//!   to iCalendar, notes to text, CardDAV / CalDAV upload, and the user
//!   directory (`users.cfg`) to CSV / JSON.
//! - [`select`]: account and folder selection.
//! - [`pace`]: the `--max-rate` limiter.
//! - [`progress`]: progress display.
//! - [`cli`]: the command line (the only place that uses `anyhow`).
#![deny(missing_docs)]

pub mod cli;
pub mod dest;
pub mod engine;
pub mod export;
pub mod journal;
pub mod mapping;
pub mod message;
pub mod model;
pub mod mutf7;
pub mod pace;
pub mod plan;
pub mod progress;
pub mod report;
pub mod scan;
pub mod select;
pub mod source;
pub mod text;
pub mod verify;
