#![allow(rustdoc::private_intra_doc_links)]
//! Kerio backup archives: unpacking them into a directory that
//! [`Store::open`](super::Store::open) accepts, or reading them in place
//! ([`ArchiveFs`], for [`Store::open_in`](super::Store::open_in)).
//!
//! Kerio writes backups as ZIP files in its backup directory (commonly
//! `store/backup`, research/kerio-store.md §5): `F<stamp>.zip` (full),
//! `D<stamp>.zip` (differential: files new or changed since the last full),
//! `C<stamp>.zip` (manual backup copy), with `<stamp>` = `YYYYMMDDThhmmssZ`,
//! and extra volumes `F<stamp>.1.zip`, `F<stamp>.2.zip`, … A restore is the
//! newest full, its volumes, then the newest differential after it, each
//! replacing the files of the ones before.
//!
//! One concern per file:
//!
//! - [`names`]: Kerio's backup file names (kind, stamp, volume).
//! - [`select`]: [`select_archives`] turns what the user gave (archives, or
//!   a backup directory) into that ordered list, and says what it chose.
//! - [`entries`]: entry names are untrusted input: any name that is
//!   absolute, has a drive letter, a `..` component or a NUL is refused, so
//!   nothing may be written outside the output directory. Backslashes are
//!   read as `/` in entries made on Windows; in entries made on Unix they
//!   are part of the name (Kerio on Linux keeps a folder `Back\slash` as
//!   one directory).
//! - [`archive`]: opening an archive, and telling a split or truncated one
//!   apart. Volumes are assumed to be standalone ZIPs (unverified on a real
//!   backup); a volume that is one part of a split (spanned) archive is
//!   refused with an error that says how to join it.
//! - [`layout`]: the layout inside Kerio's ZIPs is not documented; it is
//!   **inferred** to mirror `store/…` plus the cfg files. [`Layout::detect`]
//!   finds where `mail/<domain>/<user>/<folder>/…` sits in the archive and
//!   where `users.cfg` / `mailserver.cfg` are; entries are placed so that
//!   the output is an install directory: `OUT/users.cfg`,
//!   `OUT/mailserver.cfg`, `OUT/store/mail/…`.
//! - [`extract`]: one entry to disk: streamed (`std::io::copy`, constant
//!   memory), written under a temporary name and renamed, with its
//!   modification time ([`times`]: item mtimes are a date source for the
//!   migration); symbolic links, special files and encrypted entries are
//!   rejected with the entry name and the reason.
//! - [`marker`]: the resume marker ([`MARKER_FILE`] in the output directory)
//!   records the archives (path, size, mtime) that were completely
//!   unpacked; a rerun skips them. An archive that was interrupted is
//!   unpacked again, and so is every archive after it in the set, so that
//!   later archives still win.
//! - [`unpack`](mod@unpack): the two passes over the set (open and detect
//!   everything first, then write), and [`report`]: what happened.
//! - [`layered`]: reading a set in place (issue 12): the index path →
//!   (archive, entry, size, time) from the central directories, the latest
//!   archive winning per path, and a bounded pool of readers per archive;
//!   [`inplace`]: [`ArchiveFs`], the [`StoreFs`](crate::source::fs::StoreFs)
//!   over it that the store walk reads a backup through without unpacking.

mod archive;
mod entries;
mod extract;
mod inplace;
mod layered;
mod layout;
mod marker;
mod names;
mod report;
mod select;
mod times;
mod unpack;

pub use entries::{backslash_is_separator, entry_components};
pub use inplace::ArchiveFs;
pub use layered::{EntryRef, LayeredIndex};
pub use layout::Layout;
pub use names::{parse_backup_name, BackupKind, BackupName};
pub use report::{ArchiveReport, Rejected, UnpackReport};
pub use select::{select_archives, BackupSet};
pub use times::TimeSources;
pub use unpack::{unpack, UnpackOptions};

/// For `fuzz/` only: opens `path` as a backup ZIP, lists its entries and
/// detects the store's layout in it, as `unpack` does before extracting.
/// Returns the number of entries listed, or the error that stopped it.
#[doc(hidden)]
pub fn fuzz_layout(path: &std::path::Path) -> Result<usize, BackupError> {
    let a = archive::open_archive(path)?;
    let back = archive::archive_uses_backslashes(&a);
    let (entries, _top) = archive::entry_list(&a, back);
    if let Some(l) = Layout::detect(&entries, None) {
        for (c, d) in &entries {
            let _ = l.place(c, *d);
        }
        let _ = l.describe();
    }
    Ok(entries.len())
}

use std::io;
use std::path::PathBuf;

/// The marker file written in the output directory.
pub const MARKER_FILE: &str = ".kerio-migrate-unpack.json";

/// How to join a split archive, quoted in errors.
pub const JOIN_HINT: &str = "if it is one part of a split (spanned) ZIP, join the parts into one \
     archive first with Info-ZIP: `zip -s 0 in.zip --out joined.zip` (the other parts must be \
     named in.z01, in.z02, … beside in.zip), then unpack joined.zip";

/// Errors that stop an unpack. Problems with single entries are not
/// errors: they are [`Rejected`] entries in the report.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// No archive was given.
    #[error("no backup archive given")]
    NoArchives,
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// Writing an entry's data failed (disk full, permissions).
    #[error("{archive}: entry {entry:?}: writing {path}: {source}")]
    Write {
        /// The archive being unpacked.
        archive: PathBuf,
        /// The entry name as stored in the archive.
        entry: String,
        /// The file being written.
        path: PathBuf,
        /// What the system said (disk full, permission denied).
        #[source]
        source: io::Error,
    },
    /// The file is not a ZIP archive that can be read on its own.
    #[error("{path}: not a standalone ZIP archive ({detail}); {hint}", hint = JOIN_HINT)]
    NotStandalone {
        /// The file that cannot be read alone.
        path: PathBuf,
        /// What the ZIP reader said and what the file starts with.
        detail: String,
    },
    /// No Kerio mail tree in an archive, and none inherited from an earlier
    /// archive of the set.
    #[error(
        "{archive}: no Kerio mail tree (…/mail/<domain>/<user>/<folder>/#msgs/…) found in the \
         archive; its top-level entries are: {}",
        list_or_none(top_level)
    )]
    NoMailTree {
        /// The archive without a mail tree.
        archive: PathBuf,
        /// Top-level entry names (directories end with `/`).
        top_level: Vec<String>,
    },
    /// A backup directory holds no full backup.
    #[error(
        "{dir}: no full backup (F<YYYYMMDDThhmmssZ>.zip) or backup copy (C….zip) found; \
         files seen: {}",
        list_or_none(seen)
    )]
    NoFullBackup {
        /// The backup directory given.
        dir: PathBuf,
        /// ZIP files seen there.
        seen: Vec<String>,
    },
    /// The output directory is not empty and holds no marker: refusing to
    /// unpack into a directory that may hold other data.
    #[error(
        "{0}: not empty and not made by `kerio-migrate unpack` (no {MARKER_FILE}); \
         choose a new or empty directory"
    )]
    OutNotEmpty(PathBuf),
    /// The marker file exists but cannot be read.
    #[error("{path}: unreadable unpack marker ({detail}); delete it to unpack everything again")]
    Marker {
        /// The marker file.
        path: PathBuf,
        /// What the JSON reader said.
        detail: String,
    },
    /// Interrupted (Ctrl-C); the archive being unpacked will be unpacked
    /// again next time.
    #[error("interrupted while unpacking {0}; run the same command again to resume")]
    Interrupted(PathBuf),
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "(none)".to_string()
    } else {
        v.join(", ")
    }
}

fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> BackupError {
    let path = path.into();
    move |source| BackupError::Io { path, source }
}
