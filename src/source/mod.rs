//! Sources: where the items to migrate come from, and the one walk every
//! command shares (`scan`, `plan`, `migrate`, `verify`, the exporters).
//!
//! A [`Source`] lists its accounts ([`Source::accounts`]) and walks one
//! account at a time ([`Source::walk`]): folders, parents before children,
//! each with its path, its kind and why ([`KindDecision`]), what was
//! skipped and what could not be read, its notes, and its [`Item`]s (id,
//! file, flags as [`MailFlags`](crate::model::MailFlags), the deleted bit,
//! index dates, MAPI class, and which index said so). Items are read on
//! demand with [`Item::read`].
//!
//! [`kerio`] is the only source today, and everything Kerio-specific lives
//! there: the store layout, `index.fld` / `status.fld` and their flag bits,
//! the kind rules, backups. Kerio archive folders and backup ZIPs read in
//! place are further sources (another `impl Source`, another [`Origin`]);
//! nothing outside this module parses a source's files.
//!
//! What a migration driver writes with it:
//!
//! ```text
//! for account in source.accounts()?.accounts {           // + selection
//!     let walk = source.walk(&account)?;                 // unreadable account: report it
//!     report.skipped_system = walk.skipped.clone();
//!     for folder in walk {                               // one folder in memory at a time
//!         if folder.kind() != FolderKind::Mail { SkippedFolder::groupware(&folder); continue }
//!         report.notes = folder.notes.clone();           // the same notes everywhere
//!         for item in &folder.items {
//!             item.deleted(); item.stat()?;              // skip decisions, no read
//!             let data = item.read()?;                   // bytes + mtime
//!             item.flags(); item.received(); item.created();
//!         }
//!     }
//! }
//! ```
//!
//! May import `model`, `text`, `mutf7` and `message` only.

pub mod item;
pub mod kerio;
pub mod kind;
pub mod walk;

pub use item::{Item, ItemData, ItemError, ItemMeta, Origin, Stat};
pub use kind::{FolderKind, KindDecision, KindSource};
pub use walk::{AccountList, AccountWalk, Acl, Folder, IndexSummary, SkipLog};

use crate::model::Account;
use std::path::{Path, PathBuf};

/// A store to migrate from, read offline. Every command walks it the same
/// way: [`Source::accounts`], then [`Source::walk`] for each account it
/// takes.
pub trait Source: Send + Sync {
    /// Where the accounts are read from, as reports show it (a Kerio
    /// store's `store/mail`).
    fn root(&self) -> &Path;

    /// The file that lists users, aliases and groups, when found (Kerio:
    /// `users.cfg` in the install directory).
    fn user_directory(&self) -> Option<PathBuf>;

    /// Every account, sorted, and what was skipped beside them.
    fn accounts(&self) -> Result<AccountList, SourceError>;

    /// One account's folders, loaded one at a time. Only an account that
    /// cannot be read at all is an error; anything less is a problem line
    /// or a note in the walk.
    fn walk(&self, account: &Account) -> Result<AccountWalk<'_>, SourceError>;
}

/// Opens the source at `path`: a Kerio install directory, its `store/`, or
/// `store/mail`.
pub fn open(path: &Path) -> Result<Box<dyn Source>, SourceError> {
    Ok(Box::new(kerio::Store::open(path)?))
}

/// Errors of a source. Only [`SourceError::NotAStore`] is fatal for a run;
/// the others are attached to the account they concern.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The path given is not a store.
    #[error("{path}: not a Kerio store ({reason})")]
    NotAStore {
        /// The path given.
        path: PathBuf,
        /// What was looked for.
        reason: String,
    },
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

impl SourceError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> SourceError {
        SourceError::Io {
            path: path.into(),
            source,
        }
    }
}
