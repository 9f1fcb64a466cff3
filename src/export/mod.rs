//! Exporters for what is not mail: contacts to vCard, calendars and tasks
//! to iCalendar, notes and journal entries to text, optional upload over
//! CardDAV / CalDAV, and the user directory (`users.cfg`) to lists.
//!
//! This module owns:
//! - [`wrapper`]: decoding Kerio's `.eml` wrapper around a groupware item
//!   (transfer encoding, charset, multipart) into the vCard / iCalendar
//!   text, or the text of a note;
//! - [`vcard`]: parsing, normalising, de-duplicating and writing vCards;
//! - [`ical`]: merging a folder's items into one VCALENDAR (time zones once,
//!   Windows zone names mapped to IANA with the table of [`tzwin`],
//!   exceptions kept with their master);
//! - [`notes`]: notes and journal entries as text files;
//! - [`dav`]: the CardDAV / CalDAV client and the upload with the journal;
//! - [`users`]: `users.cfg` / `mailserver.cfg` as a generic tree, mapped to
//!   users, aliases and groups, and the CSV / JSON formats;
//! - the drivers [`export_contacts`] (`contacts.rs`) and [`export_calendars`]
//!   (`calendars.rs`) that walk the [`Source`] (the same walk as `scan` and
//!   `migrate`), and the [`ExportReport`] they fill (`report.rs`).
//!
//! One bad item never stops an export: it is counted and reported with its
//! source file and the reason, and the exit code says so.

mod calendars;
mod common;
mod contacts;
pub mod dav;
pub mod ical;
pub mod notes;
mod report;
pub mod tzwin;
pub mod users;
pub mod vcard;
pub mod wrapper;

pub use common::derived_uid;

use crate::model::Account;
use crate::progress::Progress;
use crate::select::Selection;
use crate::source::{Folder, FolderKind, Item, Source};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use calendars::{export_calendars, CalendarOptions};
pub use contacts::{export_contacts, ContactsOptions};
pub use report::*;

/// A file or directory name that is safe on Linux, macOS and Windows for
/// any folder or account name: no `/` or `\`, no control characters, none
/// of `:*?"<>|`, no leading dot or space, no trailing dot or space, not a
/// reserved Windows device name, at most 120 bytes. Never empty.
pub fn safe_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = s
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    s = trimmed.to_string();
    if s.len() > 120 {
        crate::text::cut_bytes(&mut s, 120);
        s = s.trim_end_matches(['.', ' ']).to_string();
    }
    if s.is_empty() {
        s = "_".into();
    }
    let stem = s.split('.').next().unwrap_or("").to_ascii_uppercase();
    const RESERVED: [&str; 22] = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
        "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    if RESERVED.contains(&stem.as_str()) {
        s.insert(0, '_');
    }
    s
}

/// The file stem of a folder: its components made safe, joined with `__`.
pub fn folder_stem(folder: &Folder) -> String {
    let parts: Vec<String> = if folder.components.is_empty() {
        vec![safe_name(&folder.path)]
    } else {
        folder.components.iter().map(|c| safe_name(c)).collect()
    };
    parts.join("__")
}

/// The collection name of a folder on a DAV server: its stem, and for the
/// groupware items of a mail folder the kind too (`Deleted Items__contacts`,
/// `Deleted Items__calendar`): one folder gives an address book and a
/// calendar there, which cannot share a collection.
fn dav_stem(f: &Folder, stem: &str, kind: &str) -> String {
    if f.kind() == FolderKind::Mail {
        format!("{stem}__{kind}")
    } else {
        stem.to_string()
    }
}

/// Hands out names unique in one directory (case-insensitively, for
/// macOS and Windows), adding ` (2)`, ` (3)`, … when needed.
#[derive(Debug, Default)]
pub struct UniqueNames {
    used: HashSet<String>,
}

impl UniqueNames {
    /// A unique `stem.ext` (or `stem` when `ext` is empty).
    pub fn take(&mut self, stem: &str, ext: &str) -> String {
        let dot = if ext.is_empty() { "" } else { "." };
        let mut n = 1;
        loop {
            let name = if n == 1 {
                format!("{stem}{dot}{ext}")
            } else {
                format!("{stem} ({n}){dot}{ext}")
            };
            if self.used.insert(name.to_lowercase()) {
                return name;
            }
            n += 1;
        }
    }
}

/// The selected accounts of a source.
pub fn selected_accounts(
    source: &dyn Source,
    sel: &Selection,
) -> Result<Vec<Account>, ExportError> {
    Ok(source
        .accounts()?
        .accounts
        .into_iter()
        .filter(|a| sel.account(&a.id()))
        .collect())
}

/// The folders of `account` whose kind is in `kinds` and that the
/// selection takes, parents before children; and the mail folders that
/// hold items of those kinds (a contact or a meeting in `Deleted Items`),
/// with only those items. Kinds are decided by the walk (folders with the
/// parent's kind as evidence, items of mail folders one by one), as for
/// `scan` and `migrate`.
pub fn groupware_folders(
    source: &dyn Source,
    account: &Account,
    sel: &Selection,
    kinds: &[FolderKind],
) -> Result<Vec<Folder>, ExportError> {
    Ok(source
        .walk(account)?
        .filter(|f| sel.folder(&f.path))
        .filter_map(|mut f| {
            if kinds.contains(&f.kind()) {
                return Some(f);
            }
            if f.kind() != FolderKind::Mail {
                return None;
            }
            f.items.retain(|i| kinds.contains(&i.kind));
            (!f.items.is_empty()).then_some(f)
        })
        .collect())
}

/// The kind an export names a folder by: its own, or for a mail folder
/// the kind of the groupware items taken from it (`contacts in a mail
/// folder`).
fn export_kind(f: &Folder) -> String {
    if f.kind() != FolderKind::Mail {
        return f.kind().to_string();
    }
    let mut kinds: Vec<&str> = f.items.iter().map(|i| i.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    format!("{} in a mail folder", kinds.join(" + "))
}

/// Reads an item and unwraps it; errors become an [`ItemProblem`] of `src`.
pub fn load_item(item: &Item, src: &SourceRef) -> Result<wrapper::Unwrapped, ItemProblem> {
    let data = item
        .read()
        .map_err(|e| ItemProblem::new(src, format!("cannot read: {}", e.source)))?;
    wrapper::unwrap(&data.bytes).map_err(|e| ItemProblem::new(src, e.to_string()))
}

fn write_file(path: &Path, data: &[u8]) -> Result<(), ExportError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ExportError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    // Write beside, then rename: a crash never leaves half a file under
    // the final name.
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, data).map_err(|source| ExportError::Write {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// A new report and the selected accounts; `None` when the accounts could
/// not be listed (the report then says why and is final).
fn begin(
    what: &str,
    source: &dyn Source,
    out: Option<&Path>,
    dav: Option<&dav::Uploader>,
    selection: &Selection,
) -> (ExportReport, Option<Vec<Account>>) {
    let mut report = ExportReport::new(what, source, out, dav.map(|d| d.display_url()));
    match selected_accounts(source, selection) {
        Ok(a) => (report, Some(a)),
        Err(e) => {
            report.fatal = Some(e.to_string());
            report.finalize();
            (report, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        assert_eq!(safe_name("a/b\\c"), "a_b_c");
        assert_eq!(safe_name(".hidden"), "hidden");
        assert_eq!(safe_name("..."), "_");
        assert_eq!(safe_name(""), "_");
        assert_eq!(safe_name("x\u{1}y\n"), "x_y_");
        assert_eq!(safe_name("CON"), "_CON");
        assert_eq!(safe_name("nul.txt"), "_nul.txt");
        assert_eq!(safe_name("Kontakte ü"), "Kontakte ü");
        assert_eq!(safe_name("trailing. "), "trailing");
        assert_eq!(safe_name("#public@example.com"), "#public@example.com");
        let long = "é".repeat(100);
        let s = safe_name(&long);
        assert!(s.len() <= 120 && s.chars().all(|c| c == 'é'));
    }

    #[test]
    fn unique_names() {
        let mut u = UniqueNames::default();
        assert_eq!(u.take("Contacts", "vcf"), "Contacts.vcf");
        assert_eq!(u.take("contacts", "vcf"), "contacts (2).vcf");
        assert_eq!(u.take("Contacts", ""), "Contacts");
        assert_eq!(u.take("Contacts", ""), "Contacts (2)");
    }
}
