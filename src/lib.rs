//! kerio-migrate: move a Kerio Connect mail store, read offline from disk,
//! to another system.
//!
//! ```text
//! source ──▶ items ──▶ prepared messages ──▶ folder mapping ──▶ destination
//! (store,    (bytes,   (CRLF, internal      (namespace,        (IMAP APPEND,
//!  backup)    flags,    date, identity)      special folders)   Maildir)
//!             dates)                 ──▶ journal (what arrived) ──▶ report, verify
//! ```
//!
//! The map, the layers and who may import whom are in `docs/architecture.md`
//! (checked by `tests/it/architecture.rs`). In short, bottom to top:
//!
//! - [`model`], [`text`], [`mutf7`], [`message`]: the shared vocabulary,
//!   text for people, the modified UTF-7 codec, message preparation.
//! - [`source`]: the one walk every command shares (accounts → folders with
//!   their kind → items with flags and dates); [`source::kerio`] is
//!   everything Kerio-specific, backups included.
//! - [`mapping`], [`journal`], [`select`], [`pace`], [`progress`]: folder
//!   mapping, the SQLite resume journal, selection, `--max-rate`, progress.
//! - [`dest`]: destinations behind `Destination` / `DestSession` / `Planner`,
//!   opened by one registry from one `--to` parser: [`dest::maildir`],
//!   [`dest::imap`] (a sans-I/O protocol core and the threads that carry its
//!   bytes). [`report`]: the migration report and exit codes.
//! - [`engine`] (the migration driver), [`plan`], [`verify`], [`scan`],
//!   [`export`] (vCard, iCalendar, notes, DAV, the user directory).
//! - [`cli`]: the command line, the only user of `anyhow`.

pub mod cli;
pub mod dest;
pub mod engine;
pub mod export;
#[doc(hidden)]
pub mod fuzzing;
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
