//! `scan`: the inventory of a store, per domain, account and folder: kind
//! (and why), items, bytes, date range, and every anomaly the migration
//! would meet (unindexed files, stale index records, garbage index lines,
//! deleted-flagged items, no Date, no Message-ID, unreadable, NUL, empty,
//! no header, bare line ends, skipped system directories). Reads every
//! item, in parallel, one folder at a time.

use crate::message::{self, DateInputs};
use crate::progress::Progress;
use crate::report::ItemNote;
use crate::select::Selection;
use crate::source::{Folder, FolderKind, Item, SkipLog, Source, SourceError};
use crate::text::{display_width, human_bytes, pad};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Per-folder inventory.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FolderInventory {
    /// Decoded folder path.
    pub path: String,
    pub kind: String,
    /// Where the kind came from.
    pub kind_source: String,
    /// Sources that disagreed ("index message class says contacts").
    pub kind_disagreements: Vec<String>,
    /// A status.fld type code we do not know.
    pub unrecognised_type_code: Option<u32>,
    /// Name problem (invalid modified UTF-7: kept verbatim when UTF-8, else
    /// each byte that is not UTF-8 is `%XX`).
    pub name_problem: Option<String>,
    /// The folder's directory.
    pub dir: String,
    /// index.fld present (the live index; see `index_source`).
    pub has_index: bool,
    /// The file flags and dates were read from: `index.fld`, `index.bad`
    /// (no `index.fld`: left by an interrupted reindex), or none.
    pub index_source: Option<String>,
    /// The index file has 0 bytes: no metadata.
    pub index_empty: bool,
    /// status.fld present.
    pub has_status: bool,
    /// Who had which rights on the folder (`status.fld` `A` lines).
    pub acl: Vec<crate::source::Acl>,
    /// Files in the folder directory (metadata and anything else), by name.
    pub files: BTreeMap<String, u64>,
    /// Items of this mail folder that are not mail, by kind (they go to the
    /// exporters, not to the mail target).
    pub not_mail: BTreeMap<String, u64>,
    /// Item files.
    pub items: u64,
    /// Bytes of the item files.
    pub bytes: u64,
    /// Earliest internal date (RFC 3339).
    pub first_date: Option<String>,
    /// Latest internal date (RFC 3339).
    pub last_date: Option<String>,
    pub index_records: u64,
    /// Files without an index record.
    pub unindexed: u64,
    /// Index records without a file.
    pub stale: u64,
    /// Their ids (first 20).
    pub stale_ids: Vec<String>,
    /// Unparsable index lines.
    pub garbage_lines: u64,
    /// Samples of those (line number: text).
    pub garbage_samples: Vec<String>,
    /// Files sharing an index id.
    pub duplicate_ids: u64,
    /// Items with flag 0x8.
    pub deleted_flagged: u64,
    /// Items with flag bits we do not know.
    pub unknown_flag_bits: u64,
    /// Items with no parsable Date header.
    pub no_date: u64,
    /// Items whose Date header is present but unparsable.
    pub bad_date: u64,
    /// Items with no Message-ID.
    pub no_message_id: u64,
    /// Unreadable items.
    pub unreadable: u64,
    /// Items with NUL bytes.
    pub nul: u64,
    /// Empty files.
    pub empty: u64,
    /// Files that do not start with a header.
    pub no_header: u64,
    /// Items with bare LF line ends.
    pub bare_lf: u64,
    /// Items with bare CR line ends.
    pub bare_cr: u64,
    /// Items with raw 8-bit header bytes.
    pub eight_bit_header: u64,
    /// Where internal dates would come from.
    pub date_sources: BTreeMap<String, u64>,
    /// Non-item files in #msgs.
    pub ignored_files: BTreeMap<String, u64>,
    /// Items that could not be read, with reasons.
    pub problems: Vec<ItemNote>,
}

impl FolderInventory {
    /// Short anomaly summary for the text table.
    pub fn anomaly_summary(&self) -> String {
        let not_mail: u64 = self.not_mail.values().sum();
        let pairs = [
            (not_mail, "not-mail"),
            (self.unindexed, "unindexed"),
            (self.stale, "stale"),
            (self.garbage_lines, "garbage-lines"),
            (self.deleted_flagged, "deleted-flag"),
            (self.no_date, "no-Date"),
            (self.no_message_id, "no-Message-ID"),
            (self.unreadable, "unreadable"),
            (self.nul, "NUL"),
            (self.empty, "empty"),
            (self.no_header, "no-header"),
            (self.bare_lf, "bare-LF"),
            (self.bare_cr, "bare-CR"),
            (self.eight_bit_header, "8bit-header"),
        ];
        let mut v: Vec<String> = pairs
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, name)| format!("{n} {name}"))
            .collect();
        let ignored: u64 = self.ignored_files.values().sum();
        if ignored > 0 {
            v.push(format!("{ignored} ignored non-item file(s)"));
        }
        if !self.has_index && self.items > 0 {
            v.push(match self.index_source.as_deref() {
                Some(f) => format!("no index.fld (read {f})"),
                None => "no index.fld".into(),
            });
        } else if self.index_empty && self.items > 0 {
            v.push("empty index.fld".into());
        }
        if self.name_problem.is_some() {
            v.push("bad name".into());
        }
        if !self.kind_disagreements.is_empty() {
            v.push("kind disputed".into());
        }
        v.join(", ")
    }
}

/// Per-account inventory.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountInventory {
    /// Account id.
    pub account: String,
    pub domain: String,
    /// Public folders.
    pub public: bool,
    pub folders: Vec<FolderInventory>,
    /// Skipped system directories and files.
    pub skipped: SkipLog,
    /// Directories that could not be read.
    pub problems: Vec<String>,
    pub mail_items: u64,
    pub mail_bytes: u64,
    /// Items that are not mail: in contacts/calendar/tasks/notes/journal
    /// folders, and groupware items found in mail folders.
    pub other_items: u64,
    /// The account's directory.
    pub dir: String,
    /// What the source says of the account as a whole.
    pub notes: Vec<String>,
    /// Whether users.cfg lists the account (`None`: public folders, or no
    /// readable users.cfg). `false` is an orphan mailbox: a deleted user's
    /// folder kept in the store.
    pub in_users_cfg: Option<bool>,
}

/// One archive period.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PeriodInventory {
    /// Its name (`2012-12-21`).
    pub name: String,
    /// Its directory, or its file when compressed.
    pub path: String,
    /// The compression format, when it is a compressed period (not read).
    pub compressed: Option<String>,
    /// Folders found in it.
    pub folders: u64,
    /// Items.
    pub items: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Items that could not be read.
    pub unreadable: u64,
}

/// The archive: where it is and what it holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ArchiveInventory {
    /// Its directories and how each was found.
    pub roots: Vec<(String, String)>,
    /// Where it was looked for.
    pub looked_at: Vec<String>,
    /// What was configured or present and could not be used or read.
    pub problems: Vec<String>,
    /// The account whose folders it is walked as (`--archive-to`); its
    /// folders are then in that account's inventory.
    pub placed_in: Option<String>,
    /// Its periods.
    pub periods: Vec<PeriodInventory>,
    /// Its folders (when not placed in an account).
    pub folders: Vec<FolderInventory>,
    /// System directories and stray files skipped.
    pub skipped: SkipLog,
}

/// The whole inventory.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    pub mail_root: String,
    /// users.cfg, when found.
    pub users_cfg: Option<String>,
    pub accounts: Vec<AccountInventory>,
    /// Skipped at store level.
    pub skipped: SkipLog,
    /// What the source says of itself (the archive, orphan mailboxes).
    pub notes: Vec<String>,
    /// The archive, when the source has one (found or not).
    pub archive: Option<ArchiveInventory>,
    /// What lies beside the mail in the store directory, not read.
    pub beside: Vec<crate::source::Beside>,
    pub totals: Totals,
}

/// Store totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub domains: u64,
    /// Accounts (users and public trees).
    pub accounts: u64,
    pub folders: u64,
    pub mail_items: u64,
    pub mail_bytes: u64,
    pub other_items: u64,
    pub items_by_kind: BTreeMap<String, u64>,
    /// Skipped system directories.
    pub skipped_system_dirs: u64,
    /// Skipped files at account level (per-user files such as filter.siv).
    pub skipped_files: u64,
    /// Non-item files found inside `#msgs` and ignored.
    pub ignored_files_in_msgs: u64,
    /// Anomalies summed over folders.
    pub anomalies: BTreeMap<String, u64>,
    /// User mailboxes users.cfg does not list.
    pub orphan_accounts: u64,
    /// Archive periods.
    pub archive_periods: u64,
    /// Items in the archive (not in the mail totals unless placed in an
    /// account with `--archive-to`).
    pub archive_items: u64,
    /// Their bytes.
    pub archive_bytes: u64,
}

#[derive(Default)]
struct ItemFacts {
    bytes: u64,
    date: Option<i64>,
    date_source: Option<&'static str>,
    deleted: bool,
    unknown_bits: bool,
    unreadable: Option<ItemNote>,
    a: message::Anomalies,
}

/// Each account's mail bytes, `(id, bytes)` in the source's account order:
/// the sizes of its mail items as the walk lists them (one `stat` per item,
/// nothing read), whatever the selection. What `--shard` splits: it
/// depends on the store (and the source options) alone, so every machine
/// computes the same figures. An account that cannot be walked is an
/// error (a passing failure on one machine would give it another split);
/// an item that cannot be stat'ed adds 0 (its size is unknown everywhere).
pub fn account_weights(source: &dyn Source) -> Result<Vec<(String, u64)>, SourceError> {
    let list = source.accounts()?;
    list.accounts
        .par_iter()
        .map(|account| {
            let bytes = source
                .walk(account)?
                .map(|folder| {
                    folder
                        .items
                        .par_iter()
                        .filter(|i| i.is_mail())
                        .map(|i| i.stat().map(|s| s.size).unwrap_or(0))
                        .sum::<u64>()
                })
                .sum();
            Ok((account.id(), bytes))
        })
        .collect()
}

/// Scans the store.
pub fn scan(
    source: &dyn Source,
    selection: &Selection,
    progress: &Progress,
) -> Result<Inventory, SourceError> {
    let list = source.accounts()?;
    let mut inv = Inventory {
        mail_root: source.root().display().to_string(),
        users_cfg: source.user_directory().map(|p| p.display().to_string()),
        skipped: list.skipped,
        ..Inventory::default()
    };
    inv.notes = source.notes();
    inv.beside = source.beside();
    let now = chrono::Utc::now().timestamp();
    let mut steps = Steps {
        source,
        accounts: list
            .accounts
            .iter()
            .filter(|a| selection.account(&a.id()))
            .collect::<Vec<_>>()
            .into_iter(),
        walk: None,
    };
    // The next folder is walked (listed, its index read) while the items
    // of this one are read.
    let mut next = steps.next();
    while let Some(step) = next {
        let folder = match step {
            Step::Account(ai) => {
                inv.accounts.push(ai);
                next = steps.next();
                continue;
            }
            Step::Folder(f) => f,
        };
        let selected = selection.folder(&folder.path);
        let (n, scanned) = rayon::join(
            || steps.next(),
            || {
                selected.then(|| {
                    progress.add_total(folder.items.len() as u64);
                    scan_folder(&folder, progress, now)
                })
            },
        );
        next = n;
        if let (Some((fi, mail)), Some(ai)) = (scanned, inv.accounts.last_mut()) {
            ai.mail_items += mail.0;
            ai.mail_bytes += mail.1;
            ai.other_items += fi.items - mail.0;
            ai.folders.push(fi);
        }
    }
    inv.archive = source
        .archive()
        .map(|a| scan_archive(a, selection, progress, now));
    inv.totals = totals(&inv);
    Ok(inv)
}

/// What [`scan`] meets, in order: each selected account (its inventory
/// without folders yet), then its folders.
enum Step {
    Account(AccountInventory),
    Folder(Folder),
}

/// The walk of the selected accounts as [`Step`]s.
struct Steps<'s, 'a> {
    source: &'s dyn Source,
    accounts: std::vec::IntoIter<&'a crate::model::Account>,
    walk: Option<crate::source::AccountWalk<'s>>,
}

impl Iterator for Steps<'_, '_> {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        if let Some(folder) = self.walk.as_mut().and_then(Iterator::next) {
            return Some(Step::Folder(folder));
        }
        self.walk = None;
        let account = self.accounts.next()?;
        let mut ai = AccountInventory {
            account: account.id(),
            domain: account.domain.clone(),
            public: account.public,
            ..AccountInventory::default()
        };
        match self.source.walk(account) {
            Ok(walk) => {
                ai.skipped = walk.skipped.clone();
                ai.problems = walk.problems.clone();
                ai.notes = walk.notes.clone();
                ai.in_users_cfg = walk.listed;
                ai.dir = crate::mutf7::escape_non_utf8(account.dir.as_os_str().as_encoded_bytes());
                self.walk = Some(walk);
            }
            Err(e) => ai.problems.push(e.to_string()),
        }
        Some(Step::Account(ai))
    }
}

/// The archive's inventory: its periods, and its folders scanned like any
/// other (unless they are an account's).
fn scan_archive(
    a: crate::source::Archive<'_>,
    selection: &Selection,
    progress: &Progress,
    now: i64,
) -> ArchiveInventory {
    let mut ai = ArchiveInventory {
        roots: a
            .roots
            .iter()
            .map(|(d, how)| (d.display().to_string(), how.clone()))
            .collect(),
        looked_at: a.looked_at,
        problems: a.problems,
        placed_in: a.placed_in,
        periods: a
            .periods
            .iter()
            .map(|p| PeriodInventory {
                name: p.name.clone(),
                path: p.path.display().to_string(),
                compressed: p.compressed.clone(),
                ..PeriodInventory::default()
            })
            .collect(),
        ..ArchiveInventory::default()
    };
    let Some(walk) = a.walk else {
        return ai;
    };
    ai.skipped = walk.skipped.clone();
    ai.problems.extend(walk.problems.iter().cloned());
    for folder in walk {
        if !selection.folder(&folder.path) {
            continue;
        }
        progress.add_total(folder.items.len() as u64);
        let (fi, _) = scan_folder(&folder, progress, now);
        let first_item = folder.items.first().map(|i| i.path().to_path_buf());
        if let Some(p) = a
            .periods
            .iter()
            .zip(ai.periods.iter_mut())
            .find_map(|(src, inv)| {
                (folder.dir.starts_with(&src.path)
                    || first_item.as_deref() == Some(src.path.as_path()))
                .then_some(inv)
            })
        {
            p.folders += 1;
            p.items += fi.items;
            p.bytes += fi.bytes;
            p.unreadable += fi.unreadable;
        }
        ai.folders.push(fi);
    }
    ai
}

/// The inventory of one folder: what the walk found, then every item read
/// (in parallel) for its facts; and its mail items and their bytes.
fn scan_folder(folder: &Folder, progress: &Progress, now: i64) -> (FolderInventory, (u64, u64)) {
    let d = &folder.decision;
    let mut fi = FolderInventory {
        path: folder.path.clone(),
        kind: d.kind.to_string(),
        kind_source: d.source.to_string(),
        kind_disagreements: d
            .disagreements
            .iter()
            .map(|(s, k)| format!("{s} says {k}"))
            .collect(),
        unrecognised_type_code: d.unrecognised_type_code,
        name_problem: folder.name_problem.clone(),
        dir: crate::mutf7::escape_non_utf8(folder.dir.as_os_str().as_encoded_bytes()),
        has_index: folder.index.as_ref().is_some_and(|i| !i.fallback),
        index_source: folder.index.as_ref().map(|i| {
            i.file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        }),
        index_empty: folder.index.as_ref().is_some_and(|i| i.empty_file),
        has_status: folder.has_status,
        acl: folder.acl.clone(),
        files: folder.files.clone(),
        not_mail: folder
            .not_mail()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        items: folder.items.len() as u64,
        unindexed: folder.unindexed,
        stale: folder.stale.len() as u64,
        stale_ids: folder.stale.iter().take(20).cloned().collect(),
        duplicate_ids: folder.duplicate_ids,
        ignored_files: folder.ignored_files.clone(),
        ..FolderInventory::default()
    };
    if let Some(idx) = &folder.index {
        fi.index_records = idx.records;
        fi.garbage_lines = idx.garbage_lines;
        fi.garbage_samples = idx
            .garbage_samples
            .iter()
            .map(|(n, t)| format!("line {n}: {t}"))
            .collect();
    }
    for p in &folder.problems {
        fi.problems.push(ItemNote {
            item: String::new(),
            reason: p.clone(),
            path: None,
        });
    }
    let facts: Vec<ItemFacts> = folder
        .items
        .par_iter()
        .map(|it| {
            let f = item_facts(it, now);
            progress.inc(1, f.bytes);
            f
        })
        .collect();
    let mail = facts
        .iter()
        .zip(&folder.items)
        .filter(|(_, it)| it.is_mail())
        .fold((0, 0), |(n, b), (f, _)| (n + 1, b + f.bytes));
    let mail = if folder.kind() == FolderKind::Mail {
        mail
    } else {
        (0, 0)
    };
    add_facts(&mut fi, facts);
    (fi, mail)
}

/// Reads one item and finds what preparing it for a migration would
/// find ([`message::inspect`]: no hash, no copy of the body; `Received:`
/// fields parsed only when their dates can decide the internal date).
fn item_facts(it: &Item, now: i64) -> ItemFacts {
    let mut f = ItemFacts {
        deleted: it.deleted(),
        unknown_bits: it.meta.as_ref().is_some_and(|m| m.unknown_flags),
        ..ItemFacts::default()
    };
    match it.read() {
        Err(e) => {
            f.unreadable = Some(ItemNote {
                item: it.id.clone(),
                reason: e.source.to_string(),
                path: None,
            })
        }
        Ok(data) => {
            f.bytes = data.bytes.len() as u64;
            let mut inputs = DateInputs {
                index_received: it.received(),
                index_created: it.created(),
                mtime: data.mtime,
                created_is_move_time: it.meta.as_ref().is_some_and(|m| m.created_is_move_time),
                ..DateInputs::default()
            };
            let received = message::received_needed(&inputs, now);
            let p = message::inspect(&data.bytes, received);
            f.a = p.anomalies;
            if !p.anomalies.empty {
                inputs.received_header = p.header.received_header;
                inputs.date_header = p.header.date_header;
                inputs.received_newest = p
                    .header
                    .newest_received(now, it.created().map(|d| d + 86_400));
                let (d, src) = message::internal_date(&inputs, now);
                f.date = Some(d.timestamp());
                f.date_source = Some(src.as_str());
            }
        }
    }
    f
}

/// Sums the items' facts into the folder's inventory.
fn add_facts(fi: &mut FolderInventory, facts: Vec<ItemFacts>) {
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for f in facts {
        fi.bytes += f.bytes;
        fi.deleted_flagged += u64::from(f.deleted);
        fi.unknown_flag_bits += u64::from(f.unknown_bits);
        if let Some(n) = f.unreadable {
            fi.unreadable += 1;
            fi.problems.push(n);
            continue;
        }
        let a = f.a;
        if a.empty {
            fi.empty += 1;
            continue;
        }
        fi.no_date += u64::from(a.no_date);
        fi.bad_date += u64::from(a.bad_date);
        fi.no_message_id += u64::from(a.no_message_id);
        fi.nul += u64::from(a.nul);
        fi.no_header += u64::from(a.no_header);
        fi.bare_lf += u64::from(a.bare_lf);
        fi.bare_cr += u64::from(a.bare_cr);
        fi.eight_bit_header += u64::from(a.eight_bit_header);
        if let Some(d) = f.date {
            lo = lo.min(d);
            hi = hi.max(d);
        }
        if let Some(s) = f.date_source {
            *fi.date_sources.entry(s.to_string()).or_default() += 1;
        }
    }
    if lo <= hi {
        fi.first_date = chrono::DateTime::from_timestamp(lo, 0).map(|d| d.to_rfc3339());
        fi.last_date = chrono::DateTime::from_timestamp(hi, 0).map(|d| d.to_rfc3339());
    }
}

fn totals(inv: &Inventory) -> Totals {
    let mut t = Totals {
        skipped_system_dirs: inv.skipped.dir_count(),
        skipped_files: inv.skipped.file_count(),
        ..Totals::default()
    };
    let mut domains = std::collections::BTreeSet::new();
    for a in &inv.accounts {
        domains.insert(a.domain.clone());
        t.accounts += 1;
        t.mail_items += a.mail_items;
        t.mail_bytes += a.mail_bytes;
        t.other_items += a.other_items;
        t.skipped_system_dirs += a.skipped.dir_count();
        t.skipped_files += a.skipped.file_count();
        for f in &a.folders {
            t.folders += 1;
            t.ignored_files_in_msgs += f.ignored_files.values().sum::<u64>();
            let not_mail: u64 = f.not_mail.values().sum();
            *t.items_by_kind.entry(f.kind.clone()).or_default() += f.items - not_mail;
            for (k, n) in &f.not_mail {
                *t.items_by_kind.entry(k.clone()).or_default() += n;
            }
            let pairs = [
                ("unindexed", f.unindexed),
                ("stale", f.stale),
                ("garbage_lines", f.garbage_lines),
                ("deleted_flagged", f.deleted_flagged),
                ("no_date", f.no_date),
                ("no_message_id", f.no_message_id),
                ("unreadable", f.unreadable),
                ("nul", f.nul),
                ("empty", f.empty),
                ("no_header", f.no_header),
                ("bare_lf", f.bare_lf),
                ("bare_cr", f.bare_cr),
                ("eight_bit_header", f.eight_bit_header),
                ("bad_folder_name", u64::from(f.name_problem.is_some())),
            ];
            for (k, v) in pairs {
                if v > 0 {
                    *t.anomalies.entry(k.to_string()).or_default() += v;
                }
            }
        }
    }
    t.domains = domains.len() as u64;
    t.orphan_accounts = inv
        .accounts
        .iter()
        .filter(|a| a.in_users_cfg == Some(false))
        .count() as u64;
    if let Some(a) = &inv.archive {
        t.archive_periods = a.periods.len() as u64;
        t.archive_items = a.folders.iter().map(|f| f.items).sum();
        t.archive_bytes = a.folders.iter().map(|f| f.bytes).sum();
    }
    t
}

/// The archive's part of the text summary.
fn archive_text(s: &mut String, a: &ArchiveInventory) {
    if a.roots.is_empty() {
        let _ = writeln!(
            s,
            "\narchive: none found (looked at: {})",
            a.looked_at.join("; ")
        );
    }
    for (dir, how) in &a.roots {
        let _ = writeln!(s, "\narchive: {dir} (from {how})");
    }
    if let Some(acc) = &a.placed_in {
        let _ = writeln!(s, "  migrated as folders of {acc} (--archive-to)");
    }
    for p in &a.periods {
        match &p.compressed {
            Some(f) => {
                let _ = writeln!(
                    s,
                    "  period {}: COMPRESSED ({f}), not read: {}",
                    p.name, p.path
                );
            }
            None if a.placed_in.is_some() => {
                let _ = writeln!(s, "  period {}", p.name);
            }
            None => {
                let _ = writeln!(
                    s,
                    "  period {}: {} folder(s), {} items ({}){}",
                    p.name,
                    p.folders,
                    p.items,
                    human_bytes(p.bytes),
                    if p.unreadable > 0 {
                        format!(", {} unreadable", p.unreadable)
                    } else {
                        String::new()
                    }
                );
            }
        }
    }
    for p in &a.problems {
        let _ = writeln!(s, "  PROBLEM: {p}");
    }
}

impl Inventory {
    /// The plain-text summary printed on stdout.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Kerio store: {}", self.mail_root);
        let _ = writeln!(
            s,
            "users.cfg:   {}",
            self.users_cfg.as_deref().unwrap_or("(not found)")
        );
        let mut domain = None;
        for a in &self.accounts {
            if domain != Some(&a.domain) {
                let _ = writeln!(
                    s,
                    "\n== domain {} ==",
                    if a.domain.is_empty() {
                        "(store-wide)"
                    } else {
                        &a.domain
                    }
                );
                domain = Some(&a.domain);
            }
            let _ = writeln!(
                s,
                "\n{}: {} mail items ({}), {} other items, {} folders{}",
                a.account,
                a.mail_items,
                human_bytes(a.mail_bytes),
                a.other_items,
                a.folders.len(),
                if a.in_users_cfg == Some(false) {
                    " (ORPHAN: not in users.cfg)"
                } else {
                    ""
                }
            );
            for n in &a.notes {
                let _ = writeln!(s, "  note: {n}");
            }
            let w = a
                .folders
                .iter()
                .map(|f| display_width(&f.path))
                .max()
                .unwrap_or(6)
                .clamp(6, 40);
            let _ = writeln!(
                s,
                "  {}  {:<8} {:>6} {:>10}  {:<23}  anomalies",
                pad("folder", w),
                "kind",
                "items",
                "size",
                "dates"
            );
            for f in &a.folders {
                let dates = match (&f.first_date, &f.last_date) {
                    (Some(a), Some(b)) => {
                        format!("{}..{}", &a[..10.min(a.len())], &b[..10.min(b.len())])
                    }
                    _ => "-".into(),
                };
                let _ = writeln!(
                    s,
                    "  {}  {:<8} {:>6} {:>10}  {:<23}  {}",
                    pad(&f.path, w),
                    f.kind,
                    f.items,
                    human_bytes(f.bytes),
                    dates,
                    f.anomaly_summary()
                );
            }
            if a.skipped.dir_count() + a.skipped.file_count() > 0 {
                let dirs: Vec<String> = a
                    .skipped
                    .dirs
                    .iter()
                    .map(|(k, v)| format!("{k} x{v}"))
                    .collect();
                let files: Vec<String> = a
                    .skipped
                    .files
                    .iter()
                    .map(|(k, v)| format!("{k} x{v}"))
                    .collect();
                let _ = writeln!(s, "  skipped dirs: {}", dirs.join(", "));
                if !files.is_empty() {
                    let _ = writeln!(s, "  skipped files: {}", files.join(", "));
                }
            }
            for p in &a.problems {
                let _ = writeln!(s, "  PROBLEM: {p}");
            }
        }
        if let Some(a) = &self.archive {
            archive_text(&mut s, a);
        }
        for b in &self.beside {
            let _ = writeln!(
                s,
                "\nbeside the mail: {} ({} files, {}): {}",
                b.path.display(),
                b.files,
                human_bytes(b.bytes),
                b.what
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "\nnote: {n}");
        }
        let t = &self.totals;
        let _ = writeln!(
            s,
            "\nTOTAL: {} domains, {} accounts, {} folders, {} mail items ({}), {} other items, {} system dirs and {} files skipped",
            t.domains,
            t.accounts,
            t.folders,
            t.mail_items,
            human_bytes(t.mail_bytes),
            t.other_items,
            t.skipped_system_dirs,
            t.skipped_files
        );
        let kinds: Vec<String> = t
            .items_by_kind
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(s, "items by kind: {}", kinds.join(", "));
        if t.orphan_accounts > 0 {
            let _ = writeln!(
                s,
                "orphan mailboxes (not in users.cfg): {}",
                t.orphan_accounts
            );
        }
        if t.archive_periods > 0 {
            let _ = writeln!(
                s,
                "archive: {} period(s), {} items ({})",
                t.archive_periods,
                t.archive_items,
                human_bytes(t.archive_bytes)
            );
        }
        if !t.anomalies.is_empty() {
            let an: Vec<String> = t
                .anomalies
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(s, "anomalies: {}", an.join(", "));
        }
        s
    }
}
