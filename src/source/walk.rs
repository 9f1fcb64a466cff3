//! The shapes of the walk every command shares: an [`AccountList`], then
//! per account an [`AccountWalk`] that yields its [`Folder`]s one at a time,
//! parents before children, each with its kind decided and its
//! [`Item`]s listed.
//!
//! Invariants a source must keep:
//! - everything found is accounted for: an item, a folder, or a name in a
//!   [`SkipLog`] / [`Folder::ignored_files`] / a problem line; nothing is
//!   dropped silently;
//! - one folder's listing is held at a time (a walk never lists a whole
//!   account up front), so memory does not grow with the store;
//! - item ids are stable across runs (the journal keys on them), and items
//!   are in the same order on every walk;
//! - a folder's [`Folder::notes`] are the same text for every command.

use super::item::Item;
use super::kind::{FolderKind, KindDecision};
use crate::model::Account;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Names of what was skipped, with counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SkipLog {
    /// System directories (`#assoc`, `#deleted`, `__keriomapi__…`) by name.
    pub dirs: BTreeMap<String, u64>,
    /// Files that are not items (`filter.siv`, `thumbs.db` in `#msgs`) by name.
    pub files: BTreeMap<String, u64>,
}

impl SkipLog {
    /// Counts a skipped directory.
    pub fn add_dir(&mut self, name: &str) {
        *self.dirs.entry(name.to_string()).or_default() += 1;
    }
    /// Counts a skipped file.
    pub fn add_file(&mut self, name: &str) {
        *self.files.entry(name.to_string()).or_default() += 1;
    }
    /// Total skipped directories.
    pub fn dir_count(&self) -> u64 {
        self.dirs.values().sum()
    }
    /// Total skipped files.
    pub fn file_count(&self) -> u64 {
        self.files.values().sum()
    }
    /// Adds another log into this one.
    pub fn merge(&mut self, other: &SkipLog) {
        for (k, v) in &other.dirs {
            *self.dirs.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.files {
            *self.files.entry(k.clone()).or_default() += v;
        }
    }
}

/// The accounts of a source, sorted, and what was skipped beside them.
#[derive(Debug, Clone, Default)]
pub struct AccountList {
    /// Users and public trees, sorted.
    pub accounts: Vec<Account>,
    /// Entries at domain level that are not accounts.
    pub skipped: SkipLog,
}

/// One account's walk: what was skipped and could not be read while
/// finding its folders, and the folders themselves, loaded one at a time
/// as the iterator is advanced.
pub struct AccountWalk<'s> {
    /// System directories and per-user files skipped, by name.
    pub skipped: SkipLog,
    /// Directories and folder files that could not be read.
    pub problems: Vec<String>,
    /// What a report says about the account as a whole, one line each
    /// (the same text for every command): e.g. that the user directory
    /// does not know it.
    pub notes: Vec<String>,
    /// Whether the source's user directory lists the account (`None`: it
    /// cannot tell, or the account is not a user's, e.g. public folders).
    pub listed: Option<bool>,
    folders: Box<dyn Iterator<Item = Folder> + Send + 's>,
}

impl<'s> AccountWalk<'s> {
    /// A walk yielding `folders`.
    pub fn new(
        skipped: SkipLog,
        problems: Vec<String>,
        folders: impl Iterator<Item = Folder> + Send + 's,
    ) -> AccountWalk<'s> {
        AccountWalk {
            skipped,
            problems,
            notes: Vec::new(),
            listed: None,
            folders: Box::new(folders),
        }
    }

    /// The same walk with account notes.
    pub fn with_notes(mut self, notes: Vec<String>) -> AccountWalk<'s> {
        self.notes = notes;
        self
    }

    /// The same walk, saying whether the user directory lists the account.
    pub fn listed(mut self, listed: Option<bool>) -> AccountWalk<'s> {
        self.listed = listed;
        self
    }
}

impl Iterator for AccountWalk<'_> {
    type Item = Folder;

    fn next(&mut self) -> Option<Folder> {
        self.folders.next()
    }
}

/// What a folder's metadata index said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSummary {
    /// The file the metadata was read from (Kerio: `index.fld`, or
    /// `index.bad` when that is all there is).
    pub file: PathBuf,
    /// The file is a leftover copy (Kerio: `index.bad`), read because the
    /// live index is missing.
    pub fallback: bool,
    /// The file has 0 bytes: no metadata at all.
    pub empty_file: bool,
    /// Distinct item records.
    pub records: u64,
    /// Lines that did not parse.
    pub garbage_lines: u64,
    /// The first few of those: line number and text.
    pub garbage_samples: Vec<(u64, String)>,
}

/// Who had which rights on a folder (Kerio: the `A` lines of
/// `status.fld`), as the source wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Acl {
    /// `user@domain`, `anyone`, a group.
    pub who: String,
    /// IMAP ACL rights letters (`lrswipkxtea`); empty when none were given.
    pub rights: String,
}

/// One folder of an account, with its kind decided and its items listed.
#[derive(Debug, Clone)]
pub struct Folder {
    /// Decoded path, components joined with `/` (`INBOX/Projekte/Ü`), as
    /// `scan` prints it and the journal keys on it.
    pub path: String,
    /// Decoded components.
    pub components: Vec<String>,
    /// Where the folder is (its directory).
    pub dir: PathBuf,
    /// What it holds and how that was decided.
    pub decision: KindDecision,
    /// Why a component's name is not valid (the name is kept verbatim when it
    /// is UTF-8, else each byte that is not UTF-8 is `%XX`).
    pub name_problem: Option<String>,
    /// The folder's attribute file exists (Kerio: `status.fld`).
    pub has_status: bool,
    /// Access rights recorded for the folder (who, which rights).
    pub acl: Vec<Acl>,
    /// Files in the folder's directory beside the item directory (Kerio:
    /// `index.fld`, `status.fld`, `search.fld`, …, and anything else), by
    /// name.
    pub files: BTreeMap<String, u64>,
    /// The metadata index, when the folder has one.
    pub index: Option<IndexSummary>,
    /// Items in id order.
    pub items: Vec<Item>,
    /// Items without an index record (all of them without an index).
    pub unindexed: u64,
    /// Index records without an item (their ids, sorted).
    pub stale: Vec<String>,
    /// Items that share one index id with another item.
    pub duplicate_ids: u64,
    /// Files beside the items that are not items, by name.
    pub ignored_files: BTreeMap<String, u64>,
    /// What could not be read (the index, parts of the item listing).
    pub problems: Vec<String>,
    /// What a report says about the folder, one line each: name problems,
    /// missing or damaged metadata, stale and unindexed items, ignored
    /// files, problems, kind disagreements.
    pub notes: Vec<String>,
}

impl Folder {
    /// The kind decided.
    pub fn kind(&self) -> FolderKind {
        self.decision.kind
    }

    /// Items that are not mail in a mail folder (a contact or a meeting in
    /// `Deleted Items`), counted by kind. Empty for other folders.
    pub fn not_mail(&self) -> BTreeMap<FolderKind, u64> {
        let mut m = BTreeMap::new();
        if self.kind() == FolderKind::Mail {
            for it in self.items.iter().filter(|i| i.kind != FolderKind::Mail) {
                *m.entry(it.kind).or_default() += 1;
            }
        }
        m
    }

    /// The items of kind `kind` (in a groupware folder of that kind, all of
    /// them).
    pub fn items_of(&self, kind: FolderKind) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(move |i| i.kind == kind)
    }
}
