//! Reading a Kerio Connect store from disk, with Kerio stopped or gone.
//!
//! Layout (research/kerio-store.md §1): `<install>/store/mail/<domain>/
//! <user>/<folder>/…/#msgs/<hex>.eml`, one `#public` tree per domain, folder
//! directories named in modified UTF-7 and nested for subfolders. This module
//! finds the store root, the accounts and their folders ([`layout`]), the
//! items of a folder joined with their `index.fld` records ([`items`]),
//! decides each folder's kind ([`kind`]), and unpacks Kerio backup ZIPs into
//! a directory it can open ([`backup`]). What it skips is counted, what it
//! cannot read is reported; nothing here stops on one bad file.

pub mod backup;
pub mod index;
pub mod items;
pub mod kind;
pub mod layout;

pub use items::{FolderContents, ItemRef};
pub use kind::{FolderKind, KindDecision};
pub use layout::{Account, AccountTree, Folder, SkipLog, Store};

use std::path::PathBuf;

/// Errors of the store reader. Only [`StoreError::NotAStore`] is fatal for a
/// run; the others are attached to the folder or item they concern.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The path given is not a Kerio install, store or mail directory.
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
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}
