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
//! - the drivers [`export_contacts`] and [`export_calendars`] that walk the
//!   [`Source`] (the same walk as `scan` and `migrate`), and the
//!   [`ExportReport`] they fill.
//!
//! One bad item never stops an export: it is counted and reported with its
//! source file and the reason, and the exit code says so.

mod common;
pub mod dav;
pub mod ical;
pub mod notes;
pub mod tzwin;
pub mod users;
pub mod vcard;
pub mod wrapper;

pub use common::derived_uid;

use crate::model::Account;
use crate::progress::Progress;
use crate::select::Selection;
use crate::source::{Folder, FolderKind, Item, Source, SourceError};
use serde::Serialize;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Errors that stop an export (one bad item never does).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] SourceError),
    /// An output file or directory could not be written.
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The upload journal failed.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    /// The DAV server cannot be used at all (bad URL, authentication).
    #[error(transparent)]
    Dav(#[from] dav::DavError),
}

/// Where an object came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRef {
    /// Account id (`alice@example.com`).
    pub account: String,
    /// Folder path.
    pub folder: String,
    /// Item id (`0000001a`).
    pub item: String,
    /// The item file.
    pub path: PathBuf,
}

impl SourceRef {
    /// Where `item` of `folder` in `account` came from.
    pub fn of(account: &str, folder: &Folder, item: &Item) -> SourceRef {
        SourceRef {
            account: account.to_string(),
            folder: folder.path.clone(),
            item: item.id.clone(),
            path: item.path().to_path_buf(),
        }
    }

    /// `folder/item (path)`, for messages.
    pub fn describe(&self) -> String {
        format!("{}/{} ({})", self.folder, self.item, self.path.display())
    }
}

/// An item that could not be exported, completely or in part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemProblem {
    /// Item id.
    pub item: String,
    /// The item file.
    pub source: String,
    /// What went wrong.
    pub reason: String,
}

impl ItemProblem {
    /// A problem of `src`.
    pub fn new(src: &SourceRef, reason: impl Into<String>) -> ItemProblem {
        ItemProblem {
            item: src.item.clone(),
            source: src.path.display().to_string(),
            reason: reason.into(),
        }
    }
}

/// An object left out because another one has the same key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    /// The key (`UID:…`, `FN+EMAIL:…`, `UID+RECURRENCE-ID:…`).
    pub key: String,
    /// The source of the object kept.
    pub kept: String,
    /// The source of the object left out.
    pub dropped: String,
    /// True when both objects are identical.
    pub identical: bool,
}

/// Upload counts of one collection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DavCounts {
    /// Collection URL.
    pub collection: String,
    /// True when this run created the collection.
    pub collection_created: bool,
    /// Resources created by this run.
    pub created: u64,
    /// Resources that were already there (journal or 412).
    pub already_present: u64,
    /// Resources that could not be stored.
    pub failed: Vec<ItemProblem>,
    /// Objects that have no place on a DAV server (e.g. VFREEBUSY).
    pub not_uploadable: u64,
}

/// One folder's part of an export.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FolderExport {
    /// Folder path.
    pub folder: String,
    /// Folder kind.
    pub kind: String,
    /// Items (files) in the folder.
    pub items: u64,
    /// Objects (vCards, calendar components) found.
    pub objects: u64,
    /// Objects written (after de-duplication).
    pub exported: u64,
    /// Text notes written.
    pub text_notes: u64,
    /// Items with nothing to export (empty files).
    pub empty_items: u64,
    /// Objects left out as duplicates.
    pub duplicates: Vec<Duplicate>,
    /// Contacts Kerio generated for its users (in `#public/Contacts`,
    /// matching a users.cfg entry): the new server builds its own
    /// directory, so they are left out unless asked (then they are kept
    /// and still listed here).
    pub generated: Vec<ItemProblem>,
    /// The generated contacts were kept (`--include-generated-contacts`).
    pub generated_included: bool,
    /// Items that could not be exported.
    pub failed: Vec<ItemProblem>,
    /// Items exported in part (some content could not be read).
    pub partial: Vec<ItemProblem>,
    /// What was changed on the way (UID added, zone renamed, …), per item.
    pub changes: Vec<ItemProblem>,
    /// Folder-level notes (time zones mapped, conflicting definitions).
    pub notes: Vec<String>,
    /// The file written.
    pub file: Option<String>,
    /// The upload, when `--to-dav` was given.
    pub dav: Option<DavCounts>,
}

/// One account's part of an export.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountExport {
    /// Account id.
    pub account: String,
    /// Folders exported.
    pub folders: Vec<FolderExport>,
    /// The combined file (contacts).
    pub combined_file: Option<String>,
    /// Objects in the combined file.
    pub combined_objects: u64,
    /// Objects left out of the combined file as duplicates across folders.
    pub combined_duplicates: Vec<Duplicate>,
    /// An error that stopped the account.
    pub error: Option<String>,
}

/// Totals over all accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportTotals {
    /// Folders exported.
    pub folders: u64,
    /// Items read.
    pub items: u64,
    /// Objects found.
    pub objects: u64,
    /// Objects written.
    pub exported: u64,
    /// Text notes written.
    pub text_notes: u64,
    /// Duplicates left out (per folder).
    pub duplicates: u64,
    /// Items that failed.
    pub failed: u64,
    /// Items exported in part.
    pub partial: u64,
    /// Resources uploaded now.
    pub uploaded: u64,
    /// Resources already on the server.
    pub already_present: u64,
    /// Resources whose upload failed.
    pub upload_failed: u64,
}

/// The report of `contacts` or `calendar`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportReport {
    /// Tool version.
    pub version: String,
    /// `contacts` or `calendar`.
    pub command: String,
    /// Start time (RFC 3339).
    pub started: String,
    /// End time (RFC 3339).
    pub finished: String,
    /// Store path.
    pub store: String,
    /// Output directory.
    pub out: Option<String>,
    /// DAV URL (no credentials).
    pub dav: Option<String>,
    pub accounts: Vec<AccountExport>,
    pub totals: ExportTotals,
    /// A fatal error.
    pub fatal: Option<String>,
    /// The exit code that follows.
    pub exit_code: i32,
}

impl ExportReport {
    fn new(command: &str, source: &dyn Source, out: Option<&Path>, dav: Option<String>) -> Self {
        ExportReport {
            version: env!("CARGO_PKG_VERSION").to_string(),
            command: command.to_string(),
            started: chrono::Utc::now().to_rfc3339(),
            store: source.root().display().to_string(),
            out: out.map(|p| p.display().to_string()),
            dav,
            ..ExportReport::default()
        }
    }

    /// Recomputes the totals and the exit code.
    pub fn finalize(&mut self) {
        let mut t = ExportTotals::default();
        for a in &self.accounts {
            for f in &a.folders {
                t.folders += 1;
                t.items += f.items;
                t.objects += f.objects;
                t.exported += f.exported;
                t.text_notes += f.text_notes;
                t.duplicates += f.duplicates.len() as u64;
                t.failed += f.failed.len() as u64;
                t.partial += f.partial.len() as u64;
                if let Some(d) = &f.dav {
                    t.uploaded += d.created;
                    t.already_present += d.already_present;
                    t.upload_failed += d.failed.len() as u64;
                }
            }
        }
        self.totals = t;
        self.finished = chrono::Utc::now().to_rfc3339();
        use crate::report::exit;
        self.exit_code = if self.fatal.is_some() {
            exit::FATAL
        } else if self.totals.failed > 0
            || self.totals.partial > 0
            || self.totals.upload_failed > 0
            || self.accounts.iter().any(|a| a.error.is_some())
        {
            exit::ITEMS_FAILED
        } else {
            exit::OK
        };
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The text form, for the terminal.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "kerio-migrate {} {} export", self.version, self.command);
        let _ = writeln!(s, "  store: {}", self.store);
        if let Some(o) = &self.out {
            let _ = writeln!(s, "  out:   {o}");
        }
        if let Some(d) = &self.dav {
            let _ = writeln!(s, "  dav:   {d}");
        }
        for a in &self.accounts {
            let _ = writeln!(s, "\n{}", a.account);
            if let Some(e) = &a.error {
                let _ = writeln!(s, "  ERROR: {e}");
            }
            for f in &a.folders {
                let mut line = format!(
                    "  {} ({}): {} items, {} objects, {} exported",
                    f.folder, f.kind, f.items, f.objects, f.exported
                );
                if f.text_notes > 0 {
                    let _ = write!(line, ", {} text notes", f.text_notes);
                }
                if !f.duplicates.is_empty() {
                    let _ = write!(line, ", {} duplicates", f.duplicates.len());
                }
                if !f.generated.is_empty() {
                    let _ = write!(
                        line,
                        ", {} generated for users ({})",
                        f.generated.len(),
                        if f.generated_included {
                            "kept"
                        } else {
                            "left out"
                        }
                    );
                }
                if !f.failed.is_empty() {
                    let _ = write!(line, ", {} FAILED", f.failed.len());
                }
                if !f.partial.is_empty() {
                    let _ = write!(line, ", {} partial", f.partial.len());
                }
                let _ = writeln!(s, "{line}");
                if let Some(file) = &f.file {
                    let _ = writeln!(s, "    -> {file}");
                }
                if let Some(d) = &f.dav {
                    let _ = writeln!(
                        s,
                        "    -> {}{}: {} uploaded, {} already there, {} failed{}",
                        d.collection,
                        if d.collection_created {
                            " (created)"
                        } else {
                            ""
                        },
                        d.created,
                        d.already_present,
                        d.failed.len(),
                        if d.not_uploadable > 0 {
                            format!(", {} not uploadable", d.not_uploadable)
                        } else {
                            String::new()
                        }
                    );
                    for p in &d.failed {
                        let _ = writeln!(
                            s,
                            "    UPLOAD FAILED {} ({}): {}",
                            p.item, p.source, p.reason
                        );
                    }
                }
                for n in &f.notes {
                    let _ = writeln!(s, "    note: {n}");
                }
                for p in &f.failed {
                    let _ = writeln!(s, "    FAILED  {} ({}): {}", p.item, p.source, p.reason);
                }
                for p in &f.partial {
                    let _ = writeln!(s, "    PARTIAL {} ({}): {}", p.item, p.source, p.reason);
                }
                for g in &f.generated {
                    let _ = writeln!(s, "    generated {} ({}): {}", g.item, g.source, g.reason);
                }
                for d in &f.duplicates {
                    let _ = writeln!(
                        s,
                        "    duplicate {}: kept {}, left out {}{}",
                        d.key,
                        d.kept,
                        d.dropped,
                        if d.identical { " (identical)" } else { "" }
                    );
                }
            }
            if let Some(c) = &a.combined_file {
                let _ = writeln!(
                    s,
                    "  all folders: {} objects -> {c} ({} duplicates across folders)",
                    a.combined_objects,
                    a.combined_duplicates.len()
                );
            }
        }
        let t = &self.totals;
        let _ = writeln!(
            s,
            "\nTOTAL: {} folders, {} items, {} objects, {} exported, {} text notes, {} duplicates, {} failed, {} partial",
            t.folders, t.items, t.objects, t.exported, t.text_notes, t.duplicates, t.failed, t.partial
        );
        if self.dav.is_some() {
            let _ = writeln!(
                s,
                "UPLOAD: {} uploaded, {} already there, {} failed",
                t.uploaded, t.already_present, t.upload_failed
            );
        }
        if let Some(e) = &self.fatal {
            let _ = writeln!(s, "FATAL: {e}");
        }
        let _ = writeln!(s, "exit code {}", self.exit_code);
        s
    }
}

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

/// Options of the contacts export.
pub struct ContactsOptions<'a> {
    /// Output directory (`None`: upload only).
    pub out: Option<PathBuf>,
    /// vCard version to write.
    pub version: vcard::Version,
    pub selection: Selection,
    /// Upload target.
    pub dav: Option<&'a dav::Uploader>,
    /// The user directory, to tell the contacts Kerio generated for its
    /// users in `#public/Contacts` (`None`: no users.cfg, they cannot be
    /// told apart).
    pub directory: Option<&'a users::Directory>,
    /// Keep the generated contacts.
    pub include_generated: bool,
}

/// The user a contact of a public folder was generated for: one of the
/// card's addresses is a users.cfg address of a user of `domain` (any
/// domain for store-wide public folders) and its FN is that user's full
/// name (or the user has none).
fn generated_for(card: &vcard::Card, dir: &users::Directory, domain: &str) -> Option<String> {
    let emails = vcard::emails(card);
    let name = vcard::full_name(card).unwrap_or_default();
    dir.users
        .iter()
        .filter(|u| domain.is_empty() || u.domain.eq_ignore_ascii_case(domain))
        .find(|u| {
            u.addresses
                .iter()
                .chain(&u.alias_domain_addresses)
                .any(|a| emails.contains(&a.to_lowercase()))
                && (u.full_name.trim().is_empty()
                    || u.full_name.split_whitespace().collect::<Vec<_>>().join(" ") == name)
        })
        .map(|u| u.email.clone())
}

/// Exports every selected contacts folder: one `.vcf` per folder in
/// `OUT/<account>/<folder>.vcf`, one combined `OUT/<account>.vcf` per
/// account, and the upload when asked.
pub fn export_contacts(
    source: &dyn Source,
    opts: &ContactsOptions<'_>,
    progress: &Progress,
) -> ExportReport {
    let (mut report, accounts) = begin(
        "contacts",
        source,
        opts.out.as_deref(),
        opts.dav,
        &opts.selection,
    );
    let Some(accounts) = accounts else {
        return report;
    };
    let mut top_names = UniqueNames::default();
    for account in &accounts {
        let id = account.id();
        let mut ar = AccountExport {
            account: id.clone(),
            ..AccountExport::default()
        };
        let folders =
            match groupware_folders(source, account, &opts.selection, &[FolderKind::Contacts]) {
                Ok(f) => f,
                Err(e) => {
                    ar.error = Some(e.to_string());
                    report.accounts.push(ar);
                    continue;
                }
            };
        if folders.is_empty() {
            continue;
        }
        let account_stem = safe_name(&id);
        let account_dir_name = top_names.take(&account_stem, "");
        let combined_name = top_names.take(&account_stem, "vcf");
        let mut names = UniqueNames::default();
        let mut all_cards: Vec<vcard::Card> = Vec::new();
        for sf in &folders {
            progress.add_total(sf.items.len() as u64);
            let mut fr = FolderExport {
                folder: sf.path.clone(),
                kind: export_kind(sf),
                items: sf.items.len() as u64,
                ..FolderExport::default()
            };
            let mut cards = Vec::new();
            for item in &sf.items {
                let src = SourceRef::of(&id, sf, item);
                vcard::collect_item(item, &src, &mut cards, &mut fr);
                progress.inc(1, 0);
            }
            if account.public && sf.kind() == FolderKind::Contacts {
                match opts.directory {
                    Some(dir) => {
                        fr.generated_included = opts.include_generated;
                        cards.retain(|c| match generated_for(c, dir, &account.domain) {
                            Some(user) => {
                                fr.generated.push(ItemProblem::new(
                                    &c.source,
                                    format!(
                                        "generated by Kerio for the user {user}{}",
                                        if opts.include_generated {
                                            ": kept (--include-generated-contacts)"
                                        } else {
                                            ": left out (--include-generated-contacts keeps it)"
                                        }
                                    ),
                                ));
                                opts.include_generated
                            }
                            None => true,
                        });
                    }
                    None => fr.notes.push(
                        "no users.cfg: the contacts Kerio generates for its users cannot be told apart, all are exported".into(),
                    ),
                }
            }
            fr.objects = cards.len() as u64;
            let (cards, dups) = vcard::dedup(cards);
            fr.duplicates = dups;
            fr.exported = cards.len() as u64;
            let stem = folder_stem(sf);
            if let Some(out) = &opts.out {
                let name = names.take(&stem, "vcf");
                let path = out.join(&account_dir_name).join(name);
                let text = vcard::write_cards(&cards, opts.version);
                match write_file(&path, text.as_bytes()) {
                    Ok(()) => fr.file = Some(path.display().to_string()),
                    Err(e) => {
                        report.fatal = Some(e.to_string());
                    }
                }
            }
            if let Some(up) = opts.dav {
                fr.dav = Some(up.upload_cards(
                    &id,
                    sf,
                    &dav_stem(sf, &stem, "contacts"),
                    &cards,
                    opts.version,
                ));
            }
            all_cards.extend(cards);
            ar.folders.push(fr);
            if report.fatal.is_some() {
                break;
            }
        }
        let (all, dups) = vcard::dedup(all_cards);
        ar.combined_duplicates = dups;
        ar.combined_objects = all.len() as u64;
        if let (Some(out), None) = (&opts.out, &report.fatal) {
            let path = out.join(&combined_name);
            match write_file(&path, vcard::write_cards(&all, opts.version).as_bytes()) {
                Ok(()) => ar.combined_file = Some(path.display().to_string()),
                Err(e) => report.fatal = Some(e.to_string()),
            }
        }
        report.accounts.push(ar);
        if report.fatal.is_some() {
            break;
        }
    }
    report.finalize();
    report
}

/// Options of the calendar export.
pub struct CalendarOptions<'a> {
    /// Output directory (`None`: upload only).
    pub out: Option<PathBuf>,
    pub selection: Selection,
    /// Upload target.
    pub dav: Option<&'a dav::Uploader>,
}

/// Exports every selected calendar, tasks, notes and journal folder: one
/// `.ics` per folder with iCalendar content in `OUT/<account>/<folder>.ics`,
/// notes and text journal entries as `OUT/<account>/<folder>/<id>
/// <subject>.txt`, and the upload when asked.
pub fn export_calendars(
    source: &dyn Source,
    opts: &CalendarOptions<'_>,
    progress: &Progress,
) -> ExportReport {
    let (mut report, accounts) = begin(
        "calendar",
        source,
        opts.out.as_deref(),
        opts.dav,
        &opts.selection,
    );
    let Some(accounts) = accounts else {
        return report;
    };
    let kinds = [
        FolderKind::Calendar,
        FolderKind::Tasks,
        FolderKind::Notes,
        FolderKind::Journal,
    ];
    let mut top_names = UniqueNames::default();
    for account in &accounts {
        let id = account.id();
        let mut ar = AccountExport {
            account: id.clone(),
            ..AccountExport::default()
        };
        let folders = match groupware_folders(source, account, &opts.selection, &kinds) {
            Ok(f) => f,
            Err(e) => {
                ar.error = Some(e.to_string());
                report.accounts.push(ar);
                continue;
            }
        };
        if folders.is_empty() {
            continue;
        }
        let account_dir = opts
            .out
            .as_ref()
            .map(|o| o.join(top_names.take(&safe_name(&id), "")));
        let mut names = UniqueNames::default();
        for sf in &folders {
            progress.add_total(sf.items.len() as u64);
            let mut fr = FolderExport {
                folder: sf.path.clone(),
                kind: export_kind(sf),
                items: sf.items.len() as u64,
                ..FolderExport::default()
            };
            let mut merger = ical::Merger::new(&sf.path);
            let mut texts: Vec<notes::TextNote> = Vec::new();
            for item in &sf.items {
                let src = SourceRef::of(&id, sf, item);
                match load_item(item, &src) {
                    Err(p) => fr.failed.push(p),
                    Ok(u) => match u.payload {
                        wrapper::Payload::Calendar(text) => {
                            merger.add_item(&src, &text, &mut fr);
                        }
                        wrapper::Payload::VCard(_) => fr.failed.push(ItemProblem::new(
                            &src,
                            "a vCard in a calendar folder: export it with `contacts`",
                        )),
                        wrapper::Payload::Text { subject, body } => {
                            if matches!(item.kind, FolderKind::Notes | FolderKind::Journal) {
                                texts.push(notes::TextNote {
                                    source: src,
                                    subject,
                                    body,
                                    date: u.date,
                                });
                            } else {
                                fr.failed.push(ItemProblem::new(
                                    &src,
                                    "no iCalendar object in the item",
                                ));
                            }
                        }
                        wrapper::Payload::Empty => fr.empty_items += 1,
                    },
                }
                progress.inc(1, 0);
            }
            let merged = merger.finish(&mut fr);
            fr.objects += merged.objects_found;
            fr.exported += merged.objects_written;
            let stem = folder_stem(sf);
            if let Some(dir) = &account_dir {
                if merged.objects_written > 0 || merged.objects_found > 0 {
                    let path = dir.join(names.take(&stem, "ics"));
                    match write_file(&path, merged.text.as_bytes()) {
                        Ok(()) => fr.file = Some(path.display().to_string()),
                        Err(e) => report.fatal = Some(e.to_string()),
                    }
                }
                if !texts.is_empty() {
                    let tdir = dir.join(names.take(&stem, ""));
                    match notes::write_notes(&tdir, &texts) {
                        Ok(n) => fr.text_notes = n,
                        Err(e) => report.fatal = Some(e.to_string()),
                    }
                }
            } else {
                fr.text_notes = 0;
            }
            if !texts.is_empty() && account_dir.is_none() {
                fr.notes.push(format!(
                    "{} text notes not written (no --out; DAV has no place for them)",
                    texts.len()
                ));
            }
            if let Some(up) = opts.dav {
                if merged.objects_written > 0 {
                    fr.dav = Some(up.upload_calendar(
                        &id,
                        sf,
                        &dav_stem(sf, &stem, "calendar"),
                        &merged,
                    ));
                }
            }
            ar.folders.push(fr);
            if report.fatal.is_some() {
                break;
            }
        }
        report.accounts.push(ar);
        if report.fatal.is_some() {
            break;
        }
    }
    report.finalize();
    report
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
