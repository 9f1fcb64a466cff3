//! What an export tells: the report of `contacts` and `calendar` (per account,
//! folder and item: what was written, left out, changed or failed, and the
//! upload), its totals and its text for a person.

use super::dav;
use crate::source::{Folder, Item, Source, SourceError};
use serde::Serialize;
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
    pub(super) fn new(
        command: &str,
        source: &dyn Source,
        out: Option<&Path>,
        dav: Option<String>,
    ) -> Self {
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
