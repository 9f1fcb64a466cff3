//! `plan`: the dry run of a migration. Per account: where each mail folder
//! goes on the target and how that was decided, items and bytes per
//! folder, the messages over the target's size limit, merges and case
//! clashes, and how long the upload takes at a given message rate or daily
//! byte budget ("at 500 MB/day this account needs 3 days").
//!
//! Names come either from a target session ([`Naming::Online`]: the
//! session's [`Planner::explain_mailbox`], what `migrate` will use,
//! after a login for IMAP) or from a [`Mapper`] built from a preset
//! ([`Naming::Offline`]: no login). Nothing is written anywhere.
//!
//! Sizes are the item files' sizes, read with `stat` only; items close to
//! the size limit (within 10 %) are read and prepared so that the size
//! compared with the limit is the exact size that would be sent (after
//! CRLF conversion).

use crate::dest::{DestError, MailboxSpec, Planner};
use crate::mapping::{check, IssueKind, MapSource, MappedFolder, Mapper, MappingIssue};
use crate::model::Account;
use crate::report::SkippedFolder;
use crate::select::Selection;
use crate::source::{Folder, FolderKind, Source, SourceError};
use crate::text::{display_width, group_digits, human_bytes, pad};
use serde::Serialize;
use std::fmt::Write as _;

/// A size limit and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limit {
    /// Largest message accepted, in bytes.
    pub bytes: u64,
    /// Where the number comes from ("the server's APPENDLIMIT").
    pub source: String,
}

/// A daily byte budget per account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// Bytes per day.
    pub bytes: u64,
    /// As shown to the admin (`500 MB`).
    pub label: String,
    /// Where it comes from.
    pub source: String,
}

/// Options of a plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Accounts and folders to plan.
    pub selection: Selection,
    /// Leave out items flagged deleted (0x8), as `migrate --skip-deleted`.
    pub skip_deleted: bool,
    /// The size limit when the target does not tell (a preset's known one).
    pub append_limit: Option<Limit>,
    /// Messages per second over the whole run (`migrate --max-rate`).
    pub rate: Option<f64>,
    /// Bytes per day and account.
    pub bytes_per_day: Option<Budget>,
    /// The target treats names differing only in case as one mailbox.
    pub case_insensitive: bool,
}

/// How target names are found.
pub enum Naming<'a> {
    /// From a mapper, without logging in.
    Offline(&'a Mapper),
    /// From a session per account, opened by this function (a login for
    /// IMAP; for Maildir [`crate::dest::Destination::planner`], which
    /// which creates nothing).
    Online(&'a mut OpenSession<'a>),
}

/// Opens the target session of an account.
pub type OpenSession<'a> = dyn FnMut(&Account) -> Result<Box<dyn Planner>, DestError> + 'a;

/// Names for one account.
pub enum Namer<'a> {
    /// An open session.
    Session(&'a mut dyn Planner),
    Mapper(&'a Mapper),
    /// No names (the target account could not be opened): sizes only.
    Unavailable,
}

/// A message over the size limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OversizeItem {
    /// Item id in its folder.
    pub item: String,
    /// Its size as it would be sent.
    pub bytes: u64,
}

/// One mail folder.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FolderPlan {
    /// Source path.
    pub source: String,
    /// Target mailbox (`None` when the target could not say).
    pub target: Option<String>,
    /// How the name was chosen.
    pub how: Option<MapSource>,
    /// What the mapping changed or wants known.
    pub notes: Vec<String>,
    /// Mail items.
    pub items: u64,
    pub bytes: u64,
    /// Items over the size limit.
    pub over_limit: Vec<OversizeItem>,
}

/// How long an upload takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Eta {
    /// Seconds at the message rate (`None` without one).
    pub rate_seconds: Option<f64>,
    /// Days of the daily budget used (fractional; `None` without one).
    pub budget_days: Option<f64>,
    /// The sentence shown.
    pub text: String,
}

/// One account.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountPlan {
    /// Source account id.
    pub account: String,
    /// The account on the target, when a session said.
    pub target_account: Option<String>,
    /// The size limit that applies.
    pub append_limit: Option<Limit>,
    /// What the target said of itself (namespace, special mailboxes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_notes: Vec<String>,
    /// Mail folders to migrate.
    pub folders: Vec<FolderPlan>,
    /// Folders not migrated (not mail, not selected).
    pub not_migrated: Vec<SkippedFolder>,
    /// Merges and case clashes.
    pub issues: Vec<MappingIssue>,
    /// Mail items.
    pub items: u64,
    pub bytes: u64,
    /// Items over the size limit.
    pub over_limit: u64,
    /// How long the upload takes.
    pub eta: Option<Eta>,
    /// What went wrong (unreadable account, no session).
    pub error: Option<String>,
}

/// Sums.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlanTotals {
    pub accounts: u64,
    /// Mail folders.
    pub folders: u64,
    /// Mail items.
    pub items: u64,
    pub bytes: u64,
    /// Items over the size limit.
    pub over_limit: u64,
    /// Merges and case clashes.
    pub issues: u64,
    /// The whole run: the message rate is for the whole run, the daily
    /// budget per account (accounts run in parallel).
    pub eta: Option<Eta>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// The mail root.
    pub store: String,
    /// The target as given.
    pub target: String,
    /// `offline` or `online`.
    pub mode: String,
    /// The preset, when one applies.
    pub preset: Option<String>,
    /// The default size limit (a session's own limit wins per account).
    pub append_limit: Option<Limit>,
    /// Messages per second, when given.
    pub rate: Option<f64>,
    /// The daily budget, when known.
    pub bytes_per_day: Option<Budget>,
    pub accounts: Vec<AccountPlan>,
    /// Sums.
    pub totals: PlanTotals,
    /// Configuration warnings.
    pub warnings: Vec<String>,
    /// `--shard K/N`: this shard's accounts and bytes, and every shard's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::select::ShardSummary>,
    /// The effective settings and where each came from (run file, command
    /// line, default).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<crate::report::Setting>,
}

/// Plans every selected account of a store.
pub fn plan(
    source: &dyn Source,
    naming: Naming<'_>,
    opts: &PlanOptions,
) -> Result<Vec<AccountPlan>, SourceError> {
    let accounts = source.accounts()?.accounts;
    let mut out = Vec::new();
    let mut naming = naming;
    for account in accounts.iter().filter(|a| opts.selection.account(&a.id())) {
        let ap = match &mut naming {
            Naming::Offline(m) => plan_account(source, account, Namer::Mapper(m), opts),
            Naming::Online(open) => match open(account) {
                Ok(mut session) => {
                    let mut ap =
                        plan_account(source, account, Namer::Session(session.as_mut()), opts);
                    if let Err(e) = session.finish() {
                        ap.error
                            .get_or_insert(format!("closing the target account: {e}"));
                    }
                    ap
                }
                Err(e) => {
                    let mut ap = plan_account(source, account, Namer::Unavailable, opts);
                    ap.error = Some(format!("cannot open the target account: {e}"));
                    ap
                }
            },
        };
        out.push(ap);
    }
    Ok(out)
}

/// Plans one account of `source`.
pub fn plan_account(
    source: &dyn Source,
    account: &Account,
    namer: Namer<'_>,
    opts: &PlanOptions,
) -> AccountPlan {
    let mut ap = AccountPlan {
        account: account.id(),
        ..AccountPlan::default()
    };
    let mut namer = namer;
    if let Namer::Session(s) = &mut namer {
        ap.target_account = Some(s.target_account());
        ap.target_notes = s.info().notes;
        ap.append_limit = s.info().append_limit.map(|b| Limit {
            bytes: b,
            source: "the server's APPENDLIMIT".into(),
        });
    }
    if ap.append_limit.is_none() {
        ap.append_limit = opts.append_limit.clone();
    }
    let walk = match source.walk(account) {
        Ok(w) => w,
        Err(e) => {
            ap.error = Some(e.to_string());
            return ap;
        }
    };
    let limit = ap.append_limit.as_ref().map(|l| l.bytes);
    let mut mapped: Vec<MappedFolder> = Vec::new();
    let mut refusals: Vec<MappingIssue> = Vec::new();
    let folders: Vec<Folder> = walk.collect();
    if let Namer::Session(s) = &mut namer {
        // As migrate does: every mail folder's own name first, so that the
        // substitute predicted for a refused name is the one migrate gives
        // (numbered when it is another folder's).
        for f in folders.iter().filter(|f| f.kind() == FolderKind::Mail) {
            s.reserve_mailbox(&MailboxSpec {
                source_path: f.path.clone(),
                components: f.components.clone(),
            });
        }
    }
    for folder in folders {
        if folder.kind() != FolderKind::Mail {
            ap.not_migrated.push(SkippedFolder::groupware(&folder));
            continue;
        }
        if !opts.selection.folder(&folder.path) {
            ap.not_migrated.push(SkippedFolder::unselected(&folder));
            continue;
        }
        let mut fp = survey_folder(&folder, opts.skip_deleted, limit);
        let warnings = name_folder(&mut fp, &folder, &mut namer);
        for w in warnings {
            refusals.push(MappingIssue {
                kind: IssueKind::MayBeRefused,
                target: fp.target.clone().unwrap_or_default(),
                sources: vec![fp.source.clone()],
                message: w,
            });
        }
        if let Some(t) = &fp.target {
            mapped.push(MappedFolder {
                source: fp.source.clone(),
                target: t.clone(),
                how: fp.how,
                notes: Vec::new(),
            });
        }
        ap.items += fp.items;
        ap.bytes += fp.bytes;
        ap.over_limit += fp.over_limit.len() as u64;
        ap.folders.push(fp);
    }
    ap.issues = check(&mapped, opts.case_insensitive)
        .into_iter()
        .filter(|i| i.kind != IssueKind::Note)
        .collect();
    ap.issues.extend(refusals);
    ap.eta = eta(
        ap.items,
        ap.bytes,
        opts.rate,
        opts.bytes_per_day.as_ref(),
        "this account",
    );
    ap
}

/// Names the folder; returns what may go wrong with the name.
fn name_folder(fp: &mut FolderPlan, folder: &Folder, namer: &mut Namer<'_>) -> Vec<String> {
    match namer {
        Namer::Mapper(m) => {
            let r = m.map_components(&folder.components);
            fp.target = Some(m.display(&r));
            fp.how = Some(r.how);
            fp.notes.extend(r.notes);
            Vec::new()
        }
        Namer::Session(s) => {
            let spec = MailboxSpec {
                source_path: folder.path.clone(),
                components: folder.components.clone(),
            };
            match s.explain_mailbox(&spec) {
                Ok(p) => {
                    fp.target = Some(p.name);
                    fp.how = p.how;
                    fp.notes.extend(p.notes);
                    p.warnings
                }
                Err(e) => {
                    fp.notes.push(format!("the target cannot name it: {e}"));
                    Vec::new()
                }
            }
        }
        Namer::Unavailable => Vec::new(),
    }
}

/// Items and sizes of one folder; items within 10 % of the limit are
/// prepared to learn their exact size on the wire.
fn survey_folder(folder: &Folder, skip_deleted: bool, limit: Option<u64>) -> FolderPlan {
    let mut fp = FolderPlan {
        source: folder.path.clone(),
        ..FolderPlan::default()
    };
    let mut not_mail = 0;
    for item in &folder.items {
        if !item.is_mail() {
            not_mail += 1;
            continue;
        }
        if skip_deleted && item.deleted() {
            continue;
        }
        let size = match item.stat() {
            Ok(s) => s.size,
            Err(e) => {
                fp.notes
                    .push(format!("{}: unreadable: {}", item.id, e.source));
                fp.items += 1;
                continue;
            }
        };
        let size = match limit {
            Some(l) if size.saturating_mul(10) >= l.saturating_mul(9) => match item.read() {
                Ok(data) => crate::message::prepare(data.bytes).bytes.len() as u64,
                Err(_) => size,
            },
            _ => size,
        };
        fp.items += 1;
        fp.bytes += size;
        if limit.is_some_and(|l| size > l) {
            fp.over_limit.push(OversizeItem {
                item: item.id.clone(),
                bytes: size,
            });
        }
    }
    if not_mail > 0 {
        fp.notes.push(format!(
            "{not_mail} item(s) are not mail (contacts, events, tasks, notes): not counted, the exporters take them"
        ));
    }
    fp
}

/// Human duration: `45 s`, `12 min`, `3 h 20 min`, `2 days 4 h`.
pub fn human_duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s.div_ceil(60))
    } else if s < 86_400 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else {
        format!("{} days {} h", s / 86_400, (s % 86_400) / 3600)
    }
}

fn rate_label(r: f64) -> String {
    if r.fract() == 0.0 {
        format!("{r:.0} msg/s")
    } else {
        format!("{r} msg/s")
    }
}

/// The upload time of `items` messages / `bytes` bytes, at a message rate
/// and/or a daily budget. `who` names the subject ("this account").
pub fn eta(
    items: u64,
    bytes: u64,
    rate: Option<f64>,
    budget: Option<&Budget>,
    who: &str,
) -> Option<Eta> {
    let rate = rate.filter(|r| r.is_finite() && *r > 0.0);
    let budget = budget.filter(|b| b.bytes > 0);
    if rate.is_none() && budget.is_none() {
        return None;
    }
    let rate_seconds = rate.map(|r| items as f64 / r);
    let budget_days = budget.map(|b| bytes as f64 / b.bytes as f64);
    let days_text = |d: f64| {
        if d <= 1.0 {
            let pct = d * 100.0;
            if pct < 0.1 {
                "fits in one day (under 0.1 % of the daily budget)".to_string()
            } else {
                format!("fits in one day ({pct:.1} % of the daily budget)")
            }
        } else {
            let n = d.ceil() as u64;
            format!("needs {n} days")
        }
    };
    let text = match (rate, budget) {
        (Some(r), None) => format!(
            "at {} {who} needs {}",
            rate_label(r),
            human_duration(rate_seconds.unwrap_or(0.0))
        ),
        (None, Some(b)) => format!(
            "at {}/day {who} {}",
            b.label,
            days_text(budget_days.unwrap_or(0.0))
        ),
        (Some(r), Some(b)) => {
            let secs = rate_seconds.unwrap_or(0.0);
            let days = budget_days.unwrap_or(0.0);
            if days > 1.0 && days.ceil() * 86_400.0 > secs {
                format!(
                    "at {}/day {who} {} (the daily budget, not the {} rate, sets the pace)",
                    b.label,
                    days_text(days),
                    rate_label(r)
                )
            } else {
                format!(
                    "at {} {who} needs {} ({:.1} % of {}/day)",
                    rate_label(r),
                    human_duration(secs),
                    days * 100.0,
                    b.label
                )
            }
        }
        (None, None) => return None,
    };
    Some(Eta {
        rate_seconds,
        budget_days,
        text,
    })
}

/// Sums the accounts; the whole run's ETA: all items at the (whole-run)
/// rate, and the largest account at the (per-account) budget.
pub fn totals(accounts: &[AccountPlan], rate: Option<f64>, budget: Option<&Budget>) -> PlanTotals {
    let mut t = PlanTotals::default();
    let mut largest = 0u64;
    for a in accounts {
        t.accounts += 1;
        t.folders += a.folders.len() as u64;
        t.items += a.items;
        t.bytes += a.bytes;
        t.over_limit += a.over_limit;
        t.issues += a.issues.len() as u64;
        largest = largest.max(a.bytes);
    }
    let by_rate = eta(t.items, t.bytes, rate, None, "the whole run");
    let by_budget = eta(
        t.items,
        largest,
        None,
        budget,
        "the largest account (accounts run in parallel)",
    );
    t.eta = match (by_rate, by_budget) {
        (Some(r), Some(b)) => Some(Eta {
            text: format!("{}; {}", r.text, b.text),
            rate_seconds: r.rate_seconds,
            budget_days: b.budget_days,
        }),
        (r, b) => r.or(b),
    };
    t
}

fn limit_text(l: &Limit) -> String {
    format!(
        "{} B ({}; {})",
        group_digits(l.bytes),
        human_bytes(l.bytes),
        l.source
    )
}

impl Plan {
    /// The text shown on the terminal.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Plan: {} → {} ({}{})",
            self.store,
            self.target,
            self.mode,
            self.preset
                .as_deref()
                .map(|p| format!(", preset {p}"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            s,
            "Size limit: {}",
            self.append_limit
                .as_ref()
                .map(limit_text)
                .unwrap_or_else(|| "none known".into())
        );
        let pace = match (&self.rate, &self.bytes_per_day) {
            (None, None) => "none given (--rate N or --bytes-per-day N for an ETA)".to_string(),
            (r, b) => {
                let mut v = Vec::new();
                if let Some(r) = r {
                    v.push(format!("{} for the whole run", rate_label(*r)));
                }
                if let Some(b) = b {
                    v.push(format!("{}/day per account ({})", b.label, b.source));
                }
                v.join(", ")
            }
        };
        let _ = writeln!(s, "Pace: {pace}");
        if let Some(sh) = &self.shard {
            let _ = writeln!(
                s,
                "Shard {}: {} of the store's {} accounts, {} of {} (shards: {})",
                sh.shard,
                sh.accounts.len(),
                sh.store_accounts,
                human_bytes(sh.bytes),
                human_bytes(sh.store_bytes),
                sh.loads
                    .iter()
                    .map(|b| human_bytes(*b))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for a in &sh.accounts {
                let _ = writeln!(s, "  {} {}", a.account, human_bytes(a.bytes));
            }
        }
        for w in &self.warnings {
            let _ = writeln!(s, "WARNING: {w}");
        }
        for a in &self.accounts {
            s.push_str(&a.to_text(self.append_limit.as_ref()));
        }
        let t = &self.totals;
        let _ = writeln!(
            s,
            "\nTOTAL: {} accounts, {} folders, {} mail items ({}), {} over the size limit, {} mapping issue(s)",
            t.accounts,
            t.folders,
            t.items,
            human_bytes(t.bytes),
            t.over_limit,
            t.issues
        );
        if let Some(e) = &t.eta {
            let _ = writeln!(s, "ETA: {}", e.text);
        }
        s
    }
}

impl AccountPlan {
    /// The text of one account.
    pub fn to_text(&self, default_limit: Option<&Limit>) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\n{}{}: {} mail items ({}) in {} folder(s)",
            self.account,
            self.target_account
                .as_deref()
                .map(|t| format!(" → {t}"))
                .unwrap_or_default(),
            self.items,
            human_bytes(self.bytes),
            self.folders.len()
        );
        if let Some(e) = &self.error {
            let _ = writeln!(s, "  ERROR: {e}");
        }
        for n in &self.target_notes {
            let _ = writeln!(s, "  target: {n}");
        }
        if self.append_limit.as_ref() != default_limit {
            if let Some(l) = &self.append_limit {
                let _ = writeln!(s, "  size limit: {}", limit_text(l));
            }
        }
        if !self.folders.is_empty() {
            let sw = self
                .folders
                .iter()
                .map(|f| display_width(&f.source))
                .max()
                .unwrap_or(6)
                .clamp(6, 36);
            let tw = self
                .folders
                .iter()
                .map(|f| f.target.as_deref().map(display_width).unwrap_or(1))
                .max()
                .unwrap_or(6)
                .clamp(6, 40);
            let _ = writeln!(
                s,
                "  {}    {}  {:<8} {:>6} {:>10}",
                pad("source", sw),
                pad("target", tw),
                "how",
                "items",
                "size"
            );
            for f in &self.folders {
                let _ = writeln!(
                    s,
                    "  {} →  {}  {:<8} {:>6} {:>10}",
                    pad(&f.source, sw),
                    pad(f.target.as_deref().unwrap_or("?"), tw),
                    f.how.map(MapSource::as_str).unwrap_or("-"),
                    f.items,
                    human_bytes(f.bytes)
                );
                for n in &f.notes {
                    let _ = writeln!(s, "      note: {n}");
                }
            }
        }
        if self.over_limit > 0 {
            let _ = writeln!(
                s,
                "  over the size limit: {} message(s), the target will refuse them:",
                self.over_limit
            );
            for f in &self.folders {
                for o in &f.over_limit {
                    let _ = writeln!(s, "    {}/{} ({})", f.source, o.item, human_bytes(o.bytes));
                }
            }
        }
        for i in &self.issues {
            let tag = match i.kind {
                IssueKind::Merge => "merge",
                IssueKind::CaseClash => "case clash",
                IssueKind::Note => "note",
                IssueKind::MayBeRefused => "name",
            };
            if i.kind == IssueKind::MayBeRefused {
                let _ = writeln!(s, "  {tag}: {}: {}", i.sources.join(", "), i.message);
                continue;
            }
            let _ = writeln!(s, "  {tag}: {}", i.message);
            if i.kind == IssueKind::Merge {
                let localized: Vec<&str> = i
                    .sources
                    .iter()
                    .filter(|src| {
                        self.folders.iter().any(|f| {
                            &f.source == *src && f.notes.iter().any(|n| n.contains("localized"))
                        })
                    })
                    .map(String::as_str)
                    .collect();
                let why = if localized.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({} named by another client in its language; --keep-localized-folders keeps {} apart)",
                        localized.join(", "),
                        if localized.len() == 1 { "it" } else { "them" }
                    )
                };
                let _ = writeln!(
                    s,
                    "    merged: {} -> {}{why}",
                    i.sources.join(" + "),
                    i.target
                );
            }
        }
        if !self.not_migrated.is_empty() {
            let v: Vec<String> = self
                .not_migrated
                .iter()
                .map(|f| format!("{} ({}, {} items)", f.folder, f.kind, f.items))
                .collect();
            let _ = writeln!(s, "  not migrated as mail: {}", v.join(", "));
        }
        if let Some(e) = &self.eta {
            let _ = writeln!(s, "  ETA: {}", e.text);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(n: u64) -> Budget {
        Budget {
            bytes: n,
            label: crate::text::decimal_bytes(n),
            source: "test".into(),
        }
    }

    #[test]
    fn etas() {
        let b = budget(500_000_000);
        let e = eta(10, 1_200_000_000, None, Some(&b), "this account").expect("eta");
        assert_eq!(e.text, "at 500 MB/day this account needs 3 days");
        let e = eta(10, 50_000_000, None, Some(&b), "this account").expect("eta");
        assert!(e.text.contains("fits in one day (10.0 %"), "{}", e.text);
        let e = eta(36_000, 0, Some(5.0), None, "this account").expect("eta");
        assert_eq!(e.text, "at 5 msg/s this account needs 2 h 0 min");
        // Both: the slower sets the pace.
        let e = eta(100, 1_200_000_000, Some(5.0), Some(&b), "x").expect("eta");
        assert!(
            e.text.contains("needs 3 days (the daily budget"),
            "{}",
            e.text
        );
        let e = eta(1_000_000, 1_000_000, Some(1.0), Some(&b), "x").expect("eta");
        assert!(
            e.text.starts_with("at 1 msg/s x needs 11 days"),
            "{}",
            e.text
        );
        assert!(eta(1, 1, None, None, "x").is_none());
        assert!(eta(1, 1, Some(0.0), None, "x").is_none());
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(5.0), "5 s");
        assert_eq!(human_duration(61.0), "2 min");
        assert_eq!(human_duration(3.5 * 3600.0), "3 h 30 min");
        assert_eq!(human_duration(86_400.0 * 2.5), "2 days 12 h");
    }

    #[test]
    fn run_totals() {
        let a = |items, bytes| AccountPlan {
            items,
            bytes,
            ..AccountPlan::default()
        };
        let accounts = [a(100, 2_400_000_000), a(50, 100_000_000)];
        let t = totals(&accounts, Some(10.0), Some(&budget(500_000_000)));
        assert_eq!(t.items, 150);
        let e = t.eta.expect("eta");
        assert!(
            e.text.contains("at 10 msg/s the whole run needs 15 s"),
            "{}",
            e.text
        );
        assert!(
            e.text
                .contains("the largest account (accounts run in parallel) needs 5 days"),
            "{}",
            e.text
        );
    }
}
