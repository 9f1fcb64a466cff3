//! The account-wide check: looks at all mapped folders of one account
//! together. Two source folders landing in one mailbox is a merge (allowed,
//! reported); two names that differ only in case on a target that ignores
//! case are one mailbox there (reported); whatever the mapper had to change
//! in a single name is passed on from its notes.

use super::{MapSource, Mapper};
use serde::Serialize;
use std::collections::BTreeMap;

/// One source folder and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappedFolder {
    /// The source path (`/`-separated, decoded).
    pub source: String,
    /// The target mailbox as one name (levels joined by the target's
    /// delimiter; for the Maildir target, the directory name).
    pub target: String,
    /// How it was chosen, when the target says.
    pub how: Option<MapSource>,
    /// What the mapper changed or wants known.
    pub notes: Vec<String>,
}

/// What kind of issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueKind {
    /// Several source folders go into one mailbox.
    Merge,
    /// Names that differ only in case: one mailbox on this target.
    CaseClash,
    /// The mapper changed a name (sanitised, reserved, delimiter) or has a
    /// warning about it.
    Note,
    /// The target may refuse the name (it is then created with a
    /// documented substitution).
    MayBeRefused,
}

/// A finding of the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingIssue {
    /// What kind.
    pub kind: IssueKind,
    /// The target mailbox concerned.
    pub target: String,
    /// The source folders concerned.
    pub sources: Vec<String>,
    /// One sentence for the admin.
    pub message: String,
}

/// Checks the mapped folders of one account. `case_insensitive`: the target
/// treats names differing only in case as one mailbox (INBOX is always
/// compared without case).
pub fn check(folders: &[MappedFolder], case_insensitive: bool) -> Vec<MappingIssue> {
    let mut issues = Vec::new();
    // Exact merges, in first-seen order.
    let mut by_target: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for f in folders {
        let e = by_target.entry(f.target.as_str()).or_default();
        if e.is_empty() {
            order.push(f.target.as_str());
        }
        e.push(f.source.as_str());
    }
    for t in &order {
        let sources = &by_target[t];
        if sources.len() > 1 {
            issues.push(MappingIssue {
                kind: IssueKind::Merge,
                target: t.to_string(),
                sources: sources.iter().map(|s| s.to_string()).collect(),
                message: format!(
                    "{} source folders go into {t:?}: {}",
                    sources.len(),
                    quoted(sources)
                ),
            });
        }
    }
    // Case clashes between distinct target names.
    let fold = |t: &str| {
        if case_insensitive || t.eq_ignore_ascii_case("INBOX") {
            t.to_lowercase()
        } else {
            t.to_string()
        }
    };
    let mut by_fold: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut fold_order: Vec<String> = Vec::new();
    for t in &order {
        let k = fold(t);
        let e = by_fold.entry(k.clone()).or_default();
        if e.is_empty() {
            fold_order.push(k);
        }
        e.push(t);
    }
    for k in &fold_order {
        let names = &by_fold[k];
        if names.len() > 1 {
            let sources: Vec<String> = names
                .iter()
                .flat_map(|n| by_target[n].iter().map(|s| s.to_string()))
                .collect();
            issues.push(MappingIssue {
                kind: IssueKind::CaseClash,
                target: names[0].to_string(),
                sources,
                message: format!(
                    "{} differ only in case: the target ignores case, so they are one mailbox (merged)",
                    quoted(names)
                ),
            });
        }
    }
    for f in folders {
        for n in &f.notes {
            issues.push(MappingIssue {
                kind: IssueKind::Note,
                target: f.target.clone(),
                sources: vec![f.source.clone()],
                message: n.clone(),
            });
        }
    }
    issues
}

fn quoted(v: &[&str]) -> String {
    v.iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Mapper {
    /// Maps every folder of an account and checks the result.
    pub fn map_account<'a>(
        &self,
        sources: impl IntoIterator<Item = &'a str>,
    ) -> (Vec<MappedFolder>, Vec<MappingIssue>) {
        let folders: Vec<MappedFolder> = sources
            .into_iter()
            .map(|s| {
                let m = self.map(s);
                MappedFolder {
                    source: s.to_string(),
                    target: self.display(&m),
                    how: Some(m.how),
                    notes: m.notes,
                }
            })
            .collect();
        let issues = check(&folders, self.case_insensitive());
        (folders, issues)
    }
}
