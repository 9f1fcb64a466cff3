//! `report merge`: one report from the JSON reports of a run's shards
//! (`migrate --shard K/N --report R.json`). Works on the JSON itself, so
//! every field of an account's report is kept as written. Refuses reports
//! of different stores or targets, an account claimed by two reports, two
//! reports of one shard, shards of different splits, a missing shard, and
//! the incomplete stub a second interrupt leaves.
//!
//! The merged report is a report of the same shape: accounts of every
//! shard (sorted by account), totals summed, `interrupted` when any shard
//! was, `fatal` naming the shards that had one, and the exit code that
//! follows ([`super::exit`]: fatal over interrupted over failed items over
//! OK). `merged_from` lists the inputs.

use super::exit;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Why reports cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// No report given.
    #[error("no report to merge")]
    Empty,
    /// Not a migrate report.
    #[error("{file}: not a migrate report ({why})")]
    NotAReport { file: String, why: String },
    /// The stub a second interrupt writes.
    #[error("{file}: an incomplete report (the run was stopped at once by a second interrupt): rerun that shard to resume, then merge its new report")]
    Incomplete { file: String },
    /// Reports of different stores or targets.
    #[error("{field} differs: {first_file} has {first:?}, {file} has {other:?}: these reports are not shards of one migration")]
    Differs {
        field: &'static str,
        first_file: String,
        first: String,
        file: String,
        other: String,
    },
    /// One account in two reports.
    #[error("account {account} is in both {first} and {second}: shards must not overlap (same --shard N and the same store and options on every shard)")]
    AccountTwice {
        account: String,
        first: String,
        second: String,
    },
    /// Two reports of one shard.
    #[error("shard {shard} is in both {first} and {second}")]
    ShardTwice {
        shard: String,
        first: String,
        second: String,
    },
    /// Shards of different splits.
    #[error("{first} is a shard of {n_first}, {file} of {n_other}: shards of different splits")]
    ShardCount {
        first: String,
        n_first: u64,
        file: String,
        n_other: u64,
    },
    /// A shard has no report.
    #[error("no report of shard(s) {missing} of {n}: give every shard's report")]
    Missing { missing: String, n: u64 },
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// `K/N` of a report's `shard` field.
fn shard_of(v: &Value) -> Option<(u64, u64)> {
    let s = v.get("shard")?.as_str()?;
    let (k, n) = s.split_once('/')?;
    Some((k.parse().ok()?, n.parse().ok()?))
}

/// Adds every number of `from` into `into` (the `Counts` fields).
fn add_counts(into: &mut Map<String, Value>, from: &Value) {
    let Some(from) = from.as_object() else {
        return;
    };
    for (k, v) in from {
        if let Some(n) = v.as_u64() {
            let sum = into
                .get(k)
                .and_then(Value::as_u64)
                .unwrap_or(0)
                .saturating_add(n);
            into.insert(k.clone(), Value::from(sum));
        }
    }
}

/// Where an exit code ranks: the merged code is the highest-ranked one.
fn rank(code: i64) -> u8 {
    match code as i32 {
        exit::OK => 0,
        exit::ITEMS_FAILED => 1,
        exit::INTERRUPTED => 2,
        _ => 3, // FATAL, and anything unknown
    }
}

/// Merges `reports` (`(file name, parsed JSON)`), in the order given.
pub fn merge(reports: &[(String, Value)]) -> Result<Value, MergeError> {
    let Some((first_file, first)) = reports.first() else {
        return Err(MergeError::Empty);
    };
    for (file, r) in reports {
        if !r.is_object() {
            return Err(MergeError::NotAReport {
                file: file.clone(),
                why: "not a JSON object".into(),
            });
        }
        if r.get("complete").and_then(Value::as_bool) == Some(false) {
            return Err(MergeError::Incomplete { file: file.clone() });
        }
        for key in ["store", "target"] {
            if text(r, key).is_none() {
                return Err(MergeError::NotAReport {
                    file: file.clone(),
                    why: format!("no {key:?}"),
                });
            }
        }
        if !r.get("accounts").is_some_and(Value::is_array) {
            return Err(MergeError::NotAReport {
                file: file.clone(),
                why: "no \"accounts\" list".into(),
            });
        }
    }
    for field in ["store", "target"] {
        let want = text(first, field).unwrap_or_default();
        for (file, r) in &reports[1..] {
            let got = text(r, field).unwrap_or_default();
            if got != want {
                return Err(MergeError::Differs {
                    field,
                    first_file: first_file.clone(),
                    first: want,
                    file: file.clone(),
                    other: got,
                });
            }
        }
    }
    // Shards: one split, each shard once, none missing.
    let mut shards: BTreeMap<u64, &str> = BTreeMap::new();
    let mut split: Option<(u64, &str)> = None;
    for (file, r) in reports {
        let Some((k, n)) = shard_of(r) else {
            continue;
        };
        match split {
            Some((n0, f0)) if n0 != n => {
                return Err(MergeError::ShardCount {
                    first: f0.to_string(),
                    n_first: n0,
                    file: file.clone(),
                    n_other: n,
                })
            }
            _ => split = Some((n, file)),
        }
        if let Some(prev) = shards.insert(k, file) {
            return Err(MergeError::ShardTwice {
                shard: format!("{k}/{n}"),
                first: prev.to_string(),
                second: file.clone(),
            });
        }
    }
    if let Some((n, _)) = split {
        let missing: Vec<String> = (1..=n)
            .filter(|k| !shards.contains_key(k))
            .map(|k| k.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(MergeError::Missing {
                missing: missing.join(", "),
                n,
            });
        }
    }
    // Accounts: each in one report only.
    let mut owner: BTreeMap<String, &str> = BTreeMap::new();
    let mut accounts: Vec<Value> = Vec::new();
    let mut totals = Map::new();
    let mut notes: Vec<Value> = Vec::new();
    let mut seen_notes = BTreeSet::new();
    let mut fatal = Vec::new();
    let mut interrupted = false;
    let mut code = exit::OK as i64;
    let mut merged_from = Vec::new();
    let (mut started, mut finished): (Option<String>, Option<String>) = (None, None);
    for (file, r) in reports {
        for a in r["accounts"].as_array().into_iter().flatten() {
            let id = text(a, "account").unwrap_or_default();
            if let Some(prev) = owner.insert(id.clone(), file) {
                return Err(MergeError::AccountTwice {
                    account: id,
                    first: prev.to_string(),
                    second: file.clone(),
                });
            }
            accounts.push(a.clone());
        }
        add_counts(&mut totals, &r["totals"]);
        for n in r["notes"].as_array().into_iter().flatten() {
            if seen_notes.insert(n.to_string()) {
                notes.push(n.clone());
            }
        }
        if let Some(f) = text(r, "fatal") {
            fatal.push(format!("{file}: {f}"));
        }
        interrupted |= r["interrupted"].as_bool().unwrap_or(false);
        let c = r["exit_code"].as_i64().unwrap_or(exit::FATAL as i64);
        if rank(c) > rank(code) {
            code = c;
        }
        if let Some(s) = text(r, "started") {
            if started.as_ref().is_none_or(|m| s < *m) {
                started = Some(s);
            }
        }
        if let Some(f) = text(r, "finished") {
            if finished.as_ref().is_none_or(|m| f > *m) {
                finished = Some(f);
            }
        }
        merged_from.push(serde_json::json!({
            "file": file,
            "shard": r.get("shard").cloned().unwrap_or(Value::Null),
            "journal": r.get("journal").cloned().unwrap_or(Value::Null),
            "exit_code": c,
            "totals": r.get("totals").cloned().unwrap_or(Value::Null),
        }));
    }
    accounts.sort_by_key(|a| text(a, "account").unwrap_or_default());
    let journals: Vec<String> = reports
        .iter()
        .filter_map(|(_, r)| text(r, "journal"))
        .collect();
    Ok(serde_json::json!({
        "version": first.get("version").cloned().unwrap_or(Value::Null),
        "started": started.unwrap_or_default(),
        "finished": finished.unwrap_or_default(),
        "store": first["store"],
        "target": first["target"],
        "journal": journals.join("; "),
        "notes": notes,
        "accounts": accounts,
        "totals": totals,
        "interrupted": interrupted,
        "fatal": if fatal.is_empty() { Value::Null } else { Value::from(fatal.join("; ")) },
        "exit_code": code,
        "merged_from": merged_from,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(shard: &str, accounts: &[(&str, u64)], code: i32) -> Value {
        let accs: Vec<Value> = accounts
            .iter()
            .map(|(a, n)| json!({"account": a, "totals": {"expected": n, "migrated": n}}))
            .collect();
        let total: u64 = accounts.iter().map(|(_, n)| n).sum();
        json!({
            "version": "1", "started": format!("2026-01-0{}T00:00:00+00:00", &shard[..1]),
            "finished": "2026-01-09T00:00:00+00:00",
            "store": "/s/store/mail", "target": "imap://h", "journal": format!("j{shard}"),
            "shard": shard, "notes": ["n"], "accounts": accs,
            "totals": {"expected": total, "migrated": total, "failed": 0, "bytes_migrated": total * 10},
            "interrupted": code == exit::INTERRUPTED, "fatal": null, "exit_code": code,
        })
    }

    fn named(r: Vec<Value>) -> Vec<(String, Value)> {
        r.into_iter()
            .enumerate()
            .map(|(i, v)| (format!("r{}.json", i + 1), v))
            .collect()
    }

    #[test]
    fn merges_totals_accounts_and_exit_codes() {
        let m = merge(&named(vec![
            report("2/2", &[("b@x", 3)], exit::OK),
            report("1/2", &[("a@x", 2), ("c@x", 5)], exit::ITEMS_FAILED),
        ]))
        .unwrap();
        assert_eq!(m["totals"]["expected"], 10);
        assert_eq!(m["totals"]["bytes_migrated"], 100);
        let ids: Vec<&str> = m["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["account"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a@x", "b@x", "c@x"]);
        assert_eq!(m["exit_code"], exit::ITEMS_FAILED);
        assert_eq!(m["started"], "2026-01-01T00:00:00+00:00");
        assert_eq!(m["notes"], json!(["n"]));
        let m = merge(&named(vec![
            report("1/2", &[("a@x", 1)], exit::INTERRUPTED),
            report("2/2", &[("b@x", 1)], exit::ITEMS_FAILED),
        ]))
        .unwrap();
        assert_eq!(m["exit_code"], exit::INTERRUPTED);
        assert_eq!(m["interrupted"], true);
    }

    #[test]
    fn refuses_what_is_not_one_split() {
        let err = |r: Vec<Value>| merge(&named(r)).unwrap_err().to_string();
        let e = err(vec![
            report("1/2", &[("a@x", 1)], 0),
            report("2/2", &[("a@x", 1)], 0),
        ]);
        assert!(
            e.contains("account a@x is in both r1.json and r2.json"),
            "{e}"
        );
        let mut other = report("2/2", &[("b@x", 1)], 0);
        other["target"] = json!("imap://elsewhere");
        let e = err(vec![report("1/2", &[("a@x", 1)], 0), other]);
        assert!(e.starts_with("target differs"), "{e}");
        let mut other = report("2/2", &[("b@x", 1)], 0);
        other["store"] = json!("/other");
        assert!(err(vec![report("1/2", &[], 0), other]).starts_with("store differs"));
        let e = err(vec![report("1/2", &[], 0), report("1/2", &[], 0)]);
        assert!(e.contains("shard 1/2 is in both"), "{e}");
        let e = err(vec![report("1/2", &[], 0), report("2/3", &[], 0)]);
        assert!(e.contains("different splits"), "{e}");
        let e = err(vec![report("1/3", &[], 0), report("3/3", &[], 0)]);
        assert!(e.contains("no report of shard(s) 2 of 3"), "{e}");
        let stub = json!({"complete": false, "interrupted": true, "exit_code": 4});
        assert!(err(vec![report("1/2", &[], 0), stub]).contains("incomplete report"));
        assert!(err(vec![json!([1])]).contains("not a migrate report"));
        assert!(matches!(merge(&[]), Err(MergeError::Empty)));
    }
}
