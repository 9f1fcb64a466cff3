//! Reading a Kerio Connect store from disk, with Kerio stopped or gone.
//!
//! Layout (research/kerio-store.md §1): `<install>/store/mail/<domain>/
//! <user>/<folder>/…/#msgs/<hex>.eml`, one `#public` tree per domain, folder
//! directories named in modified UTF-7 and nested for subfolders. This module
//! finds the store root, the accounts and their folders ([`layout`]), the
//! items of a folder joined with their `index.fld` records ([`items`]),
//! decides each folder's kind ([`kind`]), and unpacks Kerio backup ZIPs into
//! a directory it can open, or reads them in place ([`backup`]; every file
//! is read through a [`StoreFs`](crate::source::fs::StoreFs)). [`Store`] is a
//! [`Source`](crate::source::Source): its walk turns all of that into the
//! shared [`Folder`](crate::source::Folder) and [`Item`](crate::source::Item)
//! shapes, with the folder notes every command shows. What it skips is
//! counted, what it cannot read is reported; nothing here stops on one bad
//! file.
//!
//! It also reads `users.cfg` / `mailserver.cfg` as a generic tree
//! ([`config`], which `export::users` maps for the `users` command) and
//! finds and walks the archive ([`archive`]). Outside `source`, only
//! `cli::unpack` (backups) and `export::users` (the configuration tree) use
//! this module's own types; everything else goes through the `Source` walk.

pub mod archive;
pub mod archive_dir;
pub mod backup;
pub mod config;
pub mod index;
pub mod items;
pub mod kind;
pub mod layout;
mod notes;
mod walk;

pub use crate::source::SkipLog;
/// The store reader's errors are the source's.
pub use crate::source::SourceError as StoreError;
pub use items::{FolderContents, ItemRef};
pub use kind::{FolderKind, KindDecision};
pub use layout::{Account, AccountTree, Folder, Store};
