//! The migration report: per account and folder, how many items were
//! expected, migrated now, already present, skipped (why) and failed (why),
//! with the exit code that follows from it. Rendered as text for the
//! terminal, as JSON for `--report FILE.json`, and as one self-contained
//! page for `--report-html FILE` ([`html`]).
//!
//! Invariant, checked by tests: for every folder
//! `expected = migrated + already_present + skipped + failed`.

use crate::text::{display_width, human_bytes, pad};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

pub mod html;
pub mod merge;

/// One effective setting of a run, and where it came from: shown by
/// `plan` and in the HTML report. Secrets never are settings (only the
/// name of the variable, file or command that holds them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The option as on the command line (`--to`, `--connections`; `store`
    /// for the positional).
    pub name: String,
    /// Its value, as given (repeated values joined with `, `).
    pub value: String,
    /// `command line`, `run file`, `default` or `environment`.
    pub origin: String,
}

/// Exit codes (documented in the README).
pub mod exit {
    /// Every selected item is on the target.
    pub const OK: i32 = 0;
    /// A fatal error stopped the run (store, target or journal unusable).
    pub const FATAL: i32 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: i32 = 2;
    /// The run finished, but some items failed; see the report.
    pub const ITEMS_FAILED: i32 = 3;
    /// Interrupted (Ctrl-C / SIGTERM); rerun the same command to resume.
    pub const INTERRUPTED: i32 = 4;
}

/// Item counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Items found in the source.
    pub expected: u64,
    /// Stored by this run.
    pub migrated: u64,
    /// Already on the target (journal, or found there).
    pub already_present: u64,
    /// Not migrated by policy or choice.
    pub skipped: u64,
    /// Not migrated because something went wrong.
    pub failed: u64,
    /// Bytes stored by this run.
    pub bytes_migrated: u64,
}

impl Counts {
    /// Adds another count into this one.
    pub fn add(&mut self, o: &Counts) {
        self.expected += o.expected;
        self.migrated += o.migrated;
        self.already_present += o.already_present;
        self.skipped += o.skipped;
        self.failed += o.failed;
        self.bytes_migrated += o.bytes_migrated;
    }
    /// True when the parts add up to `expected`.
    pub fn balanced(&self) -> bool {
        self.expected == self.migrated + self.already_present + self.skipped + self.failed
    }
}

/// One item that was skipped or failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemNote {
    /// Item id.
    pub item: String,
    pub reason: String,
    /// The item's file in the source, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// A folder's part of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FolderReport {
    /// Source folder path.
    pub folder: String,
    /// Target mailbox, once prepared.
    pub mailbox: Option<String>,
    /// The folder mapping changed the name (special folder, rename, rule,
    /// prefix, or a name the target refused): the text report shows it.
    #[serde(skip)]
    pub renamed: bool,
    pub counts: Counts,
    /// Skipped items.
    pub skipped: Vec<ItemNote>,
    /// Failed items.
    pub failed: Vec<ItemNote>,
    /// Migrated items the target stored other than they were sent (a
    /// stored size that differs), with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub altered: Vec<ItemNote>,
    /// Where internal dates came from, with counts.
    pub date_sources: BTreeMap<String, u64>,
    /// Anomalies seen in the items, with counts.
    pub anomalies: BTreeMap<String, u64>,
    /// Folder-level notes (stale index records, name problems, …).
    pub notes: Vec<String>,
    /// What of the folder could not be read at the source (its item
    /// listing, its index): its counts may miss items. Exit code 3.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// IMAP: the mailbox's UIDVALIDITY and the lowest and highest UID the
    /// messages of this run got (each message's UID is in the journal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_uids: Option<UidRange>,
    /// `migrate --sync`: what changed at the source since the last run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncCounts>,
}

/// What `migrate --sync` found changed in one folder (and `--settle`'s
/// count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncCounts {
    /// Messages whose flags were changed on the target.
    pub flags_set: u64,
    /// Flag changes not made: the message is not on the target any more
    /// (or the mailbox's UIDVALIDITY changed).
    pub flags_not_found: u64,
    /// Journal rows whose flags were not known (written before journal
    /// schema 3): recorded as the source has them now, the target left as
    /// it is.
    pub flags_baselined: u64,
    /// Messages the journal placed on the target whose source item is gone
    /// (deleted at the source since the last run): reported only.
    pub deleted_at_source: u64,
    /// `--propagate-deletes`: of those, removed from the target now (only
    /// the copies this tool put there).
    pub deleted_on_target: u64,
    /// `--propagate-deletes`: of those, already gone from the target (the
    /// same UIDVALIDITY, no such UID any more): their journal rows are
    /// forgotten, nothing is removed.
    #[serde(default)]
    pub gone_from_target: u64,
    /// Messages moved here on the target from the mailbox of the folder
    /// they were in at the last run (moved in Kerio), not uploaded again.
    pub moved_in: u64,
    /// Items gone from this folder whose content came back into it under a
    /// new id (moved out and back, or renumbered, in Kerio): their copies
    /// kept, their journal rows re-keyed, nothing uploaded.
    #[serde(default)]
    pub came_back: u64,
    /// Items modified within the `--settle` window: left for the next run
    /// (also listed as skipped).
    pub settling: u64,
    /// Items still at the source whose journaled copy is gone from the
    /// target (same UIDVALIDITY, no such UID; Maildir: no such file of
    /// ours): their rows are forgotten and they are sent again.
    #[serde(default)]
    pub sent_again: u64,
}

/// UIDs given by the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UidRange {
    /// UIDVALIDITY.
    pub uid_validity: Option<u32>,
    /// Lowest UID.
    pub first: u32,
    /// Highest UID.
    pub last: u32,
}

impl FolderReport {
    /// Widens the UID range with a message's UID.
    pub fn saw_uid(&mut self, uid_validity: Option<u32>, uid: u32) {
        let r = self.target_uids.get_or_insert(UidRange {
            uid_validity,
            first: uid,
            last: uid,
        });
        r.first = r.first.min(uid);
        r.last = r.last.max(uid);
    }

    /// Records a skipped item.
    pub fn skip(&mut self, item: &str, reason: impl Into<String>) {
        self.counts.skipped += 1;
        self.skipped.push(ItemNote {
            item: item.to_string(),
            reason: reason.into(),
            path: None,
        });
    }
    /// Records a failed item.
    pub fn fail(&mut self, item: &str, reason: impl Into<String>) {
        self.counts.failed += 1;
        self.failed.push(ItemNote {
            item: item.to_string(),
            reason: reason.into(),
            path: None,
        });
    }

    /// Fills in the source file of every skipped, failed and altered item
    /// from the folder the items came from.
    pub fn attach_paths(&mut self, folder: &crate::source::Folder) {
        if self.skipped.is_empty() && self.failed.is_empty() && self.altered.is_empty() {
            return;
        }
        let paths: HashMap<&str, &std::path::Path> = folder
            .items
            .iter()
            .map(|i| (i.id.as_str(), i.path()))
            .collect();
        for n in self
            .skipped
            .iter_mut()
            .chain(self.failed.iter_mut())
            .chain(self.altered.iter_mut())
        {
            if n.path.is_none() {
                n.path = paths.get(n.item.as_str()).map(|p| p.display().to_string());
            }
        }
    }
}

/// A folder not migrated as mail, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedFolder {
    /// Source folder path.
    pub folder: String,
    pub kind: String,
    /// Items in it.
    pub items: u64,
    pub reason: String,
}

impl SkippedFolder {
    /// A groupware folder of the walk (left to the exporters).
    pub fn groupware(folder: &crate::source::Folder) -> SkippedFolder {
        let d = &folder.decision;
        SkippedFolder {
            folder: folder.path.clone(),
            kind: d.kind.to_string(),
            items: folder.items.len() as u64,
            reason: format!("not mail (from {}); use the exporters", d.source),
        }
    }

    /// A mail folder of the walk left out by `--folder` / `--exclude-folder`.
    pub fn unselected(folder: &crate::source::Folder) -> SkippedFolder {
        SkippedFolder {
            folder: folder.path.clone(),
            kind: folder.decision.kind.to_string(),
            items: folder.items.len() as u64,
            reason: "not selected (--folder / --exclude-folder)".into(),
        }
    }
}

/// An account's part of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountReport {
    /// Source account id.
    pub account: String,
    /// Where it went.
    pub target_account: Option<String>,
    /// Mail folders.
    pub folders: Vec<FolderReport>,
    /// Folders not migrated as mail.
    pub skipped_folders: Vec<SkippedFolder>,
    /// Sum over folders.
    pub totals: Counts,
    /// An error that stopped the account.
    pub error: Option<String>,
    /// What the source says of the account (an orphan mailbox, the
    /// archive it holds).
    pub notes: Vec<String>,
    /// Directories and folder files of the account that could not be read
    /// (what they hold is not migrated: the exit code says so).
    pub problems: Vec<String>,
    /// System directories and files skipped, by name.
    pub skipped_system: crate::source::SkipLog,
    /// IMAP: each append connection's window reached and round trip.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<crate::model::LinkStats>,
}

/// One kind of server rejection, over the whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The reason as reported (with the server's words).
    pub reason: String,
    /// How many items got it.
    pub count: u64,
    /// What to do about it, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The prefix of a failed item's reason when the server refused it.
const REFUSED: &str = "the server refused the message: ";

/// What the summary counts every over-quota failure under, whichever way
/// the item met it: its APPEND was refused (`[OVERQUOTA]`, or a refusal
/// whose words say quota), or it was not sent because another APPEND of
/// the login met the quota first.
pub const OVER_QUOTA: &str = "the target account is over quota";

/// The kind a failed item's reason is counted under in the summary: the
/// server's words for a refusal, [`OVER_QUOTA`] for every over-quota
/// failure; `None` for the others.
fn rejection_kind(reason: &str) -> Option<&str> {
    let plain = reason.strip_prefix("not sent: ").unwrap_or(reason);
    let said = plain.strip_prefix(REFUSED);
    let lower = plain.to_ascii_lowercase();
    if plain.starts_with(OVER_QUOTA)
        || (said.is_some() && (lower.contains("[overquota]") || lower.contains("quota")))
    {
        return Some(OVER_QUOTA);
    }
    // A message never sent was not refused by the server.
    if plain.len() != reason.len() {
        return None;
    }
    said
}

/// A hint for what a server's refusal says.
fn rejection_hint(reason: &str) -> Option<&'static str> {
    let r = reason.to_ascii_lowercase();
    if r.contains("invalid header") {
        Some("the server (Cyrus: a header line without a colon, or 8-bit bytes with `reject8bit: 1`) does not take the header as it is; repair the message in the store, or accept it is left out")
    } else if r.contains("[toobig]") || r.contains("[limit]") || r.contains("too large") {
        Some("the message is larger than the server accepts; raise the server's limit, or accept it is left out")
    } else if r.contains("[overquota]") || r.contains("quota") || reason == OVER_QUOTA {
        Some("the account is full on the server; raise its quota and rerun")
    } else if r.contains("nul") {
        Some("the server takes no NUL bytes: --nul strip removes them")
    } else {
        None
    }
}

/// The whole report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Tool version.
    pub version: String,
    /// Start time (RFC 3339).
    pub started: String,
    /// End time (RFC 3339).
    pub finished: String,
    /// Store path.
    pub store: String,
    /// Target identity.
    pub target: String,
    /// Journal path.
    pub journal: String,
    /// `--shard K/N`, when the run was one shard of several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// What the source says of itself (an archive not migrated, mailboxes
    /// the user directory does not know).
    pub notes: Vec<String>,
    pub accounts: Vec<AccountReport>,
    /// Sum over accounts.
    pub totals: Counts,
    /// The server's rejections, once per kind with their count.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejections: Vec<Rejection>,
    /// Items the target stored other than they were sent.
    #[serde(skip_serializing_if = "is_zero")]
    pub altered: u64,
    /// True when the run was interrupted.
    pub interrupted: bool,
    /// A fatal error.
    pub fatal: Option<String>,
    /// Exit code that follows from the report.
    pub exit_code: i32,
}

impl Report {
    /// Recomputes totals and the exit code.
    pub fn finalize(&mut self) {
        let mut total = Counts::default();
        for a in &mut self.accounts {
            let mut t = Counts::default();
            for f in &a.folders {
                t.add(&f.counts);
            }
            a.totals = t;
            total.add(&a.totals);
        }
        self.totals = total;
        let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
        let mut altered = 0;
        for f in self.accounts.iter().flat_map(|a| &a.folders) {
            altered += f.altered.len() as u64;
            for n in &f.failed {
                if let Some(said) = rejection_kind(&n.reason) {
                    *kinds.entry(said).or_default() += 1;
                }
            }
        }
        self.altered = altered;
        let mut rejections: Vec<Rejection> = kinds
            .into_iter()
            .map(|(said, count)| Rejection {
                reason: said.to_string(),
                count,
                hint: rejection_hint(said).map(str::to_string),
            })
            .collect();
        rejections.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
        self.rejections = rejections;
        self.exit_code = if self.fatal.is_some() {
            exit::FATAL
        } else if self.interrupted {
            exit::INTERRUPTED
        } else if self.totals.failed > 0
            || self
                .accounts
                .iter()
                .any(|a| a.error.is_some() || !a.problems.is_empty())
            || self.unreadable_folders() > 0
        {
            exit::ITEMS_FAILED
        } else {
            exit::OK
        };
    }

    /// Folders some part of which could not be read at the source.
    pub fn unreadable_folders(&self) -> usize {
        self.accounts
            .iter()
            .flat_map(|a| &a.folders)
            .filter(|f| !f.problems.is_empty())
            .count()
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The text form, for the terminal.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "kerio-migrate {} report", self.version);
        let _ = writeln!(s, "  store:   {}", self.store);
        let _ = writeln!(s, "  target:  {}", self.target);
        let _ = writeln!(s, "  journal: {}", self.journal);
        for a in &self.accounts {
            let _ = writeln!(
                s,
                "\n{} -> {}",
                a.account,
                a.target_account.as_deref().unwrap_or("(not opened)")
            );
            if let Some(e) = &a.error {
                let _ = writeln!(s, "  ERROR: {e}");
            }
            for n in &a.notes {
                let _ = writeln!(s, "  note: {n}");
            }
            for p in &a.problems {
                let _ = writeln!(s, "  PROBLEM: {p}");
            }
            let label = |f: &FolderReport| match &f.mailbox {
                Some(m) if f.renamed => format!("{} → {m}", f.folder),
                _ => f.folder.clone(),
            };
            let w = a
                .folders
                .iter()
                .map(|f| display_width(&label(f)))
                .max()
                .unwrap_or(6)
                .clamp(6, 60);
            let _ = writeln!(
                s,
                "  {}  {:>8} {:>8} {:>8} {:>8} {:>7}",
                pad("folder", w),
                "expected",
                "migrated",
                "present",
                "skipped",
                "failed"
            );
            for f in &a.folders {
                let c = &f.counts;
                // Not "0": what could not be read is not known to be empty.
                let expected = match f.problems.is_empty() {
                    true => c.expected.to_string(),
                    false => format!("{}?", c.expected),
                };
                let _ = writeln!(
                    s,
                    "  {}  {:>8} {:>8} {:>8} {:>8} {:>7}",
                    pad(&label(f), w),
                    expected,
                    c.migrated,
                    c.already_present,
                    c.skipped,
                    c.failed
                );
            }
            let t = &a.totals;
            let _ = writeln!(
                s,
                "  {}  {:>8} {:>8} {:>8} {:>8} {:>7}",
                pad("total", w),
                t.expected,
                t.migrated,
                t.already_present,
                t.skipped,
                t.failed
            );
            for f in &a.folders {
                for p in &f.problems {
                    let _ = writeln!(
                        s,
                        "  PROBLEM {}: could not be read: {p} (its items are not counted)",
                        f.folder
                    );
                }
                for n in &f.skipped {
                    let _ = writeln!(s, "  skipped {}/{}: {}", f.folder, n.item, n.reason);
                }
                for n in &f.failed {
                    let _ = writeln!(s, "  FAILED  {}/{}: {}", f.folder, n.item, n.reason);
                }
                for n in &f.altered {
                    let _ = writeln!(s, "  ALTERED {}/{}: {}", f.folder, n.item, n.reason);
                }
                for n in &f.notes {
                    let _ = writeln!(s, "  note    {}: {}", f.folder, n);
                }
            }
            for f in &a.skipped_folders {
                let _ = writeln!(
                    s,
                    "  not migrated: {} ({}, {} item{}): {}",
                    f.folder,
                    f.kind,
                    f.items,
                    if f.items == 1 { "" } else { "s" },
                    f.reason
                );
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(s);
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        if !self.rejections.is_empty() {
            let _ = writeln!(s, "\nRefused by the server (each item is listed above):");
            for r in &self.rejections {
                let _ = writeln!(s, "  {} × {}", r.count, r.reason);
                if let Some(h) = &r.hint {
                    let _ = writeln!(s, "      hint: {h}");
                }
            }
        }
        if self.altered > 0 {
            let _ = writeln!(
                s,
                "\n{} message(s) stored altered by the server (listed above as ALTERED, with the server's setting that avoids it)",
                self.altered
            );
        }
        let t = &self.totals;
        let _ = writeln!(
            s,
            "\nTOTAL: {} expected, {} migrated now ({}), {} already present, {} skipped, {} failed",
            t.expected,
            t.migrated,
            human_bytes(t.bytes_migrated),
            t.already_present,
            t.skipped,
            t.failed
        );
        let unreadable = self.unreadable_folders();
        if unreadable > 0 {
            let _ = writeln!(
                s,
                "FAILED: {unreadable} folder(s) could not be read at the source (PROBLEM lines above); their counts may miss items"
            );
        }
        if self.interrupted {
            let _ = writeln!(s, "INTERRUPTED: rerun the same command to resume.");
        }
        if let Some(e) = &self.fatal {
            let _ = writeln!(s, "FATAL: {e}");
        }
        let _ = writeln!(s, "exit code {}", self.exit_code);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_counts() {
        let mut r = Report::default();
        let mut a = AccountReport::default();
        let mut f = FolderReport::default();
        f.counts.expected = 3;
        f.counts.migrated = 2;
        f.skip("x", "empty file");
        a.folders.push(f);
        r.accounts.push(a);
        r.finalize();
        assert!(r.totals.balanced());
        assert_eq!(r.exit_code, exit::OK);
        r.accounts[0].folders[0].counts.expected += 1;
        r.accounts[0].folders[0].fail("y", "rejected");
        r.finalize();
        assert_eq!(r.exit_code, exit::ITEMS_FAILED);
        r.interrupted = true;
        r.finalize();
        assert_eq!(r.exit_code, exit::INTERRUPTED);
        r.fatal = Some("boom".into());
        r.finalize();
        assert_eq!(r.exit_code, exit::FATAL);
        assert!(r.to_text().contains("FAILED  /y: rejected"));
    }

    #[test]
    fn server_rejections_are_summed_per_kind_with_a_hint() {
        let mut r = Report::default();
        let mut a = AccountReport::default();
        let mut f = FolderReport::default();
        f.counts.expected = 4;
        f.fail(
            "1",
            "the server refused the message: NO Message contains invalid header",
        );
        f.fail(
            "2",
            "the server refused the message: NO Message contains invalid header",
        );
        f.fail(
            "3",
            "the server refused the message: NO [TOOBIG] Message too large",
        );
        f.fail("4", "not sent: journal unavailable");
        f.altered.push(ItemNote {
            item: "5".into(),
            reason: "stored altered by the server (Cyrus IMAP)".into(),
            path: None,
        });
        a.folders.push(f);
        r.accounts.push(a);
        r.finalize();
        assert_eq!(r.rejections.len(), 2);
        assert_eq!(r.rejections[0].count, 2);
        assert_eq!(r.rejections[0].reason, "NO Message contains invalid header");
        assert!(r.rejections[0]
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("colon")));
        assert_eq!(r.altered, 1);
        let t = r.to_text();
        assert!(
            t.contains("  2 × NO Message contains invalid header"),
            "{t}"
        );
        assert!(
            t.contains("1 message(s) stored altered by the server"),
            "{t}"
        );
    }

    #[test]
    fn every_over_quota_failure_is_counted_under_one_reason() {
        let mut r = Report::default();
        let mut a = AccountReport::default();
        let mut f = FolderReport::default();
        f.counts.expected = 4;
        let why = "the target account is over quota (NO [OVERQUOTA] Quota exceeded); stopped this account";
        f.fail("1", why);
        f.fail("2", format!("not sent: {why}"));
        f.fail("3", "the server refused the message: NO Quota exceeded");
        f.fail("4", "not sent: journal unavailable");
        a.folders.push(f);
        r.accounts.push(a);
        r.finalize();
        assert_eq!(r.rejections.len(), 1, "{:?}", r.rejections);
        assert_eq!(r.rejections[0].reason, OVER_QUOTA);
        assert_eq!(r.rejections[0].count, 3);
        assert!(r.rejections[0]
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("quota")));
    }

    #[test]
    fn a_folder_that_could_not_be_read_fails_the_run_and_says_so() {
        let mut r = Report::default();
        let mut a = AccountReport::default();
        let f = FolderReport {
            folder: "Factures".into(),
            problems: vec!["Factures/#msgs: Permission denied (os error 13)".into()],
            ..FolderReport::default()
        };
        a.folders.push(f);
        r.accounts.push(a);
        r.finalize();
        assert_eq!(r.exit_code, exit::ITEMS_FAILED);
        let t = r.to_text();
        assert!(
            t.contains("PROBLEM Factures: could not be read: Factures/#msgs: Permission denied"),
            "{t}"
        );
        assert!(t.contains("1 folder(s) could not be read"), "{t}");
        assert!(
            t.lines()
                .any(|l| l.trim_start().starts_with("Factures") && l.contains("0?")),
            "not shown as empty: {t}"
        );
        assert!(r.to_json().contains("\"problems\""));
    }
}
