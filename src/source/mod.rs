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
//! the kind rules, `users.cfg` / `mailserver.cfg`, the archive, backups.
//! What is kept outside the accounts is walked the same way when asked
//! ([`SourceOptions`]: the archive as an account's folders, `#deleted` as
//! a folder, with path keys no user folder can have), and inventoried
//! otherwise ([`Source::archive`], [`Source::beside`], [`Source::notes`]).
//! Every file is read through a [`fs::StoreFs`]: the disk, or a backup
//! set read in place (items of [`Origin::Entry`]); nothing outside this
//! module parses a source's files.
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

pub mod fs;
pub mod item;
pub mod kerio;
pub mod kind;
pub mod walk;

pub use item::{DirStat, Item, ItemData, ItemError, ItemMeta, Origin, Stat};
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

    /// Mail the source keeps outside its accounts (Kerio: the archive):
    /// where it is, how it was found, and its folders when they are not
    /// already walked as an account's ([`SourceOptions::archive_to`]).
    /// `None` when the source has no such place.
    fn archive(&self) -> Option<Archive<'_>> {
        None
    }

    /// What lies beside the mail in the store directory (logs, the queue,
    /// backups, spam-filter data, anything else), counted, never read as
    /// mail: so that every file below the store root is accounted for.
    fn beside(&self) -> Vec<Beside> {
        Vec::new()
    }

    /// What a report says about the source as a whole, one line each (an
    /// archive not migrated, accounts the user directory does not know):
    /// the same text for every command.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// An entry of the store directory that is not mail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Beside {
    /// The file or directory.
    pub path: PathBuf,
    /// What it is and why it is not read.
    pub what: String,
    /// Files in it (1 for a file).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Mail kept outside the accounts (Kerio: the archive).
pub struct Archive<'s> {
    /// Its directories, with how each was found (`store/archive`,
    /// `mailserver.cfg`, `--archive-dir`).
    pub roots: Vec<(PathBuf, String)>,
    /// Where it was looked for.
    pub looked_at: Vec<String>,
    /// Where it was looked for and not found, and what could not be used.
    pub problems: Vec<String>,
    /// Its periods: name, directory or file, and the compression format
    /// when it is a compressed period that cannot be read.
    pub periods: Vec<ArchivePeriod>,
    /// The account whose walk holds its folders ([`SourceOptions::archive_to`]).
    pub placed_in: Option<String>,
    /// Its folders, when not placed in an account.
    pub walk: Option<AccountWalk<'s>>,
}

/// One archive period (a day, week or month of archived mail, or the
/// time between two restarts).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArchivePeriod {
    /// Its name (`2012-12-21`).
    pub name: String,
    /// Its directory, or its file when compressed.
    pub path: PathBuf,
    /// The compression format of a compressed period (`gzip`, `zip`),
    /// which is not read.
    pub compressed: Option<String>,
}

/// Opens the source at `path`: a Kerio install directory, its `store/`, or
/// `store/mail`.
pub fn open(path: &Path) -> Result<Box<dyn Source>, SourceError> {
    open_with(path, &SourceOptions::default())
}

/// Opens the source at `path` with `options` (the extra places it walks).
pub fn open_with(path: &Path, options: &SourceOptions) -> Result<Box<dyn Source>, SourceError> {
    Ok(Box::new(kerio::Store::open_with(path, options)?))
}

/// [`open_with`], reading through `fs` (a backup set read in place, whose
/// install directory `fs` calls `path`).
pub fn open_in(
    fs: fs::SharedFs,
    path: &Path,
    options: &SourceOptions,
) -> Result<Box<dyn Source>, SourceError> {
    Ok(Box::new(kerio::Store::open_in(fs, path, options)?))
}

/// What a source walks beyond its accounts' own folders. The default walks
/// nothing more (the archive is only inventoried, the recoverable items
/// only counted as skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceOptions {
    /// Where the archive is, when not where the source would look.
    pub archive_dir: Option<PathBuf>,
    /// Walk the archive as folders of an account.
    pub archive_to: Option<ArchiveTo>,
    /// Walk each account's recoverable items (Kerio's `#deleted`) as one
    /// more folder, with this mailbox name (`Recovered`).
    pub recoverable_to: Option<String>,
    /// Follow folder directories that are symbolic links (each directory
    /// is walked once, by device and inode, so a link loop ends); by
    /// default they are reported and not walked.
    pub follow_symlinks: bool,
}

/// Where the archive goes: an account and a folder in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveTo {
    /// The account (`user@domain`), one of the store's or a new one.
    pub account: String,
    /// The folder the periods go under (`Archive`), as components.
    pub folder: Vec<String>,
    /// One folder per period, or the archive's own tree below it.
    pub layout: ArchiveLayout,
}

/// How archive folders are named below [`ArchiveTo::folder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchiveLayout {
    /// One folder per archive period (`Archive/2012-12-21`): every folder
    /// found in a period goes there.
    #[default]
    Period,
    /// The archive's own folder tree (`Archive/2012-12-21/INBOX`).
    Tree,
}

impl ArchiveTo {
    /// Parses `ACCOUNT[/FOLDER]` (`archive@example.com`,
    /// `alice@example.com/Old mail/Archive`); the folder defaults to
    /// `Archive`.
    pub fn parse(s: &str, layout: ArchiveLayout) -> Result<ArchiveTo, String> {
        let (account, folder) = s.split_once('/').unwrap_or((s, "Archive"));
        let account = account.trim();
        let (local, domain) = account
            .split_once('@')
            .ok_or_else(|| format!("{s:?}: the account must be user@domain"))?;
        if local.is_empty() || domain.is_empty() || local.starts_with('#') {
            return Err(format!("{s:?}: the account must be user@domain"));
        }
        let folder: Vec<String> = folder
            .split('/')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        if folder.is_empty() {
            return Err(format!("{s:?}: empty folder name"));
        }
        Ok(ArchiveTo {
            account: account.to_lowercase(),
            folder,
            layout,
        })
    }
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
