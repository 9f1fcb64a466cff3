//! Selection of accounts and folders: `--account`, `--exclude-account`,
//! `--folder`, `--exclude-folder`. Patterns are globs where `*` matches any
//! run of characters (including `/`) and `?` one character; matching is
//! case-sensitive for folders and case-insensitive for accounts (domains
//! and Kerio login names are case-insensitive). Also `--shard K/N`: a
//! stable split of the accounts into N parts balanced by bytes
//! ([`Shard`], [`split`]), computed from the store alone so that every
//! machine finds the same split without talking to the others.

use std::collections::BTreeSet;

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: Vec<char>,
    ignore_case: bool,
}

impl Glob {
    /// Compiles `pattern`.
    pub fn new(pattern: &str, ignore_case: bool) -> Glob {
        let pattern = if ignore_case {
            pattern.to_lowercase()
        } else {
            pattern.to_string()
        };
        Glob {
            pattern: pattern.chars().collect(),
            ignore_case,
        }
    }

    /// True when `text` matches entirely.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = if self.ignore_case {
            text.to_lowercase().chars().collect()
        } else {
            text.chars().collect()
        };
        // Iterative wildcard matching with single-star backtracking: linear
        // in practice, no recursion on hostile patterns.
        let (p, t) = (&self.pattern, &text);
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
                pi += 1;
                ti += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some((pi, ti));
                pi += 1;
            } else if let Some((sp, st)) = star {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            } else {
                return false;
            }
        }
        while pi < p.len() && p[pi] == '*' {
            pi += 1;
        }
        pi == p.len()
    }
}

/// What to migrate.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Accounts to include (all when empty).
    pub accounts: Vec<Glob>,
    /// Accounts to exclude.
    pub exclude_accounts: Vec<Glob>,
    /// Folders to include (all when empty).
    pub folders: Vec<Glob>,
    /// Folders to exclude.
    pub exclude_folders: Vec<Glob>,
    /// The accounts of this run's shard (`--shard K/N`), by id; `None`:
    /// every account.
    pub shard: Option<BTreeSet<String>>,
}

impl Selection {
    /// Builds a selection from command-line strings.
    pub fn new(
        accounts: &[String],
        exclude_accounts: &[String],
        folders: &[String],
        exclude_folders: &[String],
    ) -> Selection {
        let acc = |v: &[String]| v.iter().map(|p| Glob::new(p, true)).collect();
        let fol = |v: &[String]| v.iter().map(|p| Glob::new(p, false)).collect();
        Selection {
            accounts: acc(accounts),
            exclude_accounts: acc(exclude_accounts),
            folders: fol(folders),
            exclude_folders: fol(exclude_folders),
            shard: None,
        }
    }

    /// Adds folder globs (a mapping file's `include` / `exclude`).
    pub fn add_folders(&mut self, include: &[String], exclude: &[String]) {
        self.folders
            .extend(include.iter().map(|p| Glob::new(p, false)));
        self.exclude_folders
            .extend(exclude.iter().map(|p| Glob::new(p, false)));
    }

    /// Is this account selected?
    pub fn account(&self, id: &str) -> bool {
        self.shard.as_ref().is_none_or(|s| s.contains(id))
            && (self.accounts.is_empty() || self.accounts.iter().any(|g| g.matches(id)))
            && !self.exclude_accounts.iter().any(|g| g.matches(id))
    }

    /// Is this folder selected?
    pub fn folder(&self, path: &str) -> bool {
        (self.folders.is_empty() || self.folders.iter().any(|g| g.matches(path)))
            && !self.exclude_folders.iter().any(|g| g.matches(path))
    }
}

/// The most shards `--shard` accepts.
pub const MAX_SHARDS: u32 = 10_000;

/// One part of a split: `--shard K/N`, `1 <= K <= N <= MAX_SHARDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// K, from 1.
    pub index: u32,
    /// N.
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("{s:?} is not K/N (shard K of N, e.g. 1/3)");
        let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || n > MAX_SHARDS {
            return Err(format!("N = {n} is out of range: give 1 to {MAX_SHARDS}"));
        }
        if k == 0 || k > n {
            return Err(format!("K = {k} is out of range: give 1 to {n} (K/N)"));
        }
        Ok(Shard { index: k, count: n })
    }
}

/// Splits accounts `(id, bytes)` into `n` shards balanced by bytes: the
/// largest first onto the lightest shard (the lower number on equal
/// loads), accounts of equal size in id order. Returns each account's shard
/// number (from 1), in the order given. The result depends only on the
/// ids and their sizes, not on their order.
pub fn split(accounts: &[(String, u64)], n: u32) -> Vec<u32> {
    let n = n.max(1) as usize;
    let mut order: Vec<usize> = (0..accounts.len()).collect();
    order.sort_by(|&a, &b| {
        let (ia, ba) = &accounts[a];
        let (ib, bb) = &accounts[b];
        bb.cmp(ba).then_with(|| ia.cmp(ib))
    });
    let mut loads = vec![(0u64, 0usize); n];
    let mut out = vec![0u32; accounts.len()];
    for i in order {
        let lightest = (0..n)
            .min_by_key(|&s| (loads[s].0, loads[s].1, s))
            .unwrap_or(0);
        loads[lightest].0 = loads[lightest].0.saturating_add(accounts[i].1);
        loads[lightest].1 += 1;
        out[i] = lightest as u32 + 1;
    }
    out
}

/// The ids of shard `shard`'s accounts.
pub fn shard_accounts(accounts: &[(String, u64)], shard: Shard) -> BTreeSet<String> {
    split(accounts, shard.count)
        .into_iter()
        .zip(accounts)
        .filter(|(s, _)| *s == shard.index)
        .map(|(_, (id, _))| id.clone())
        .collect()
}

/// Bytes per shard (index 0 is shard 1).
pub fn shard_loads(accounts: &[(String, u64)], n: u32) -> Vec<u64> {
    let mut loads = vec![0u64; n.max(1) as usize];
    for (s, (_, b)) in split(accounts, n).into_iter().zip(accounts) {
        loads[(s - 1) as usize] += b;
    }
    loads
}

/// What `--shard K/N` takes: `plan` prints it, the report keeps the name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShardSummary {
    /// `K/N`.
    pub shard: String,
    /// This shard's accounts and their mail bytes, largest first.
    pub accounts: Vec<ShardAccount>,
    /// Their bytes.
    pub bytes: u64,
    /// Accounts in the store (all shards).
    pub store_accounts: usize,
    /// Mail bytes in the store (all shards).
    pub store_bytes: u64,
    /// Every shard's bytes, shard 1 first.
    pub loads: Vec<u64>,
}

/// One account of a shard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShardAccount {
    /// `user@domain`.
    pub account: String,
    /// Its mail bytes.
    pub bytes: u64,
}

impl ShardSummary {
    /// Shard `shard` of `weights` (`(id, bytes)` of every account).
    pub fn new(weights: &[(String, u64)], shard: Shard) -> ShardSummary {
        let mut accounts: Vec<ShardAccount> = split(weights, shard.count)
            .into_iter()
            .zip(weights)
            .filter(|(s, _)| *s == shard.index)
            .map(|(_, (id, b))| ShardAccount {
                account: id.clone(),
                bytes: *b,
            })
            .collect();
        accounts.sort_by(|a, b| {
            b.bytes
                .cmp(&a.bytes)
                .then_with(|| a.account.cmp(&b.account))
        });
        ShardSummary {
            shard: shard.to_string(),
            bytes: accounts.iter().map(|a| a.bytes).sum(),
            accounts,
            store_accounts: weights.len(),
            store_bytes: weights.iter().map(|(_, b)| b).sum(),
            loads: shard_loads(weights, shard.count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = |p: &str, t: &str| Glob::new(p, false).matches(t);
        assert!(g("INBOX", "INBOX"));
        assert!(!g("INBOX", "INBOX/Sub"));
        assert!(g("INBOX/*", "INBOX/Sub/Deeper"));
        assert!(g("*", ""));
        assert!(g("a*b*c", "aXXbYYc"));
        assert!(!g("a*b*c", "aXXbYY"));
        assert!(g("?é*", "xé"));
        assert!(Glob::new("*@EXAMPLE.com", true).matches("alice@example.COM"));
    }

    #[test]
    fn selection() {
        let s = Selection::new(
            &["*@example.com".into()],
            &["bob@example.com".into()],
            &[],
            &["Junk*".into()],
        );
        assert!(s.account("alice@example.com"));
        assert!(!s.account("bob@example.com"));
        assert!(!s.account("dave@example.org"));
        assert!(s.folder("INBOX"));
        assert!(!s.folder("Junk E-mail"));
    }

    #[test]
    fn shard_parsing() {
        let ok = |s: &str| s.parse::<Shard>().unwrap();
        assert_eq!(ok("1/1"), Shard { index: 1, count: 1 });
        assert_eq!(ok(" 3/3 "), Shard { index: 3, count: 3 });
        assert_eq!(ok("2/3").to_string(), "2/3");
        for bad in [
            "0/3", "4/3", "1/0", "1/10001", "a/3", "3", "1/3/5", "-1/3", "",
        ] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    fn store(sizes: &[u64]) -> Vec<(String, u64)> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, b)| (format!("u{i:02}@example.com"), *b))
            .collect()
    }

    #[test]
    fn split_is_stable_and_complete() {
        let a = store(&[900, 10, 500, 500, 70, 0, 0, 333, 1, 250, 250, 12_000]);
        for n in 1..=7 {
            let s = split(&a, n);
            // Every account in exactly one shard, numbered 1..=n.
            assert!(s.iter().all(|&k| (1..=n).contains(&k)));
            let union: usize = (1..=n)
                .map(|k| shard_accounts(&a, Shard { index: k, count: n }).len())
                .sum();
            assert_eq!(union, a.len());
            // The same split whatever the order the accounts come in.
            let mut rev = a.clone();
            rev.reverse();
            let mut sr = split(&rev, n);
            sr.reverse();
            assert_eq!(s, sr, "n = {n}");
            // And on every call.
            assert_eq!(s, split(&a, n));
        }
        // Equal sizes: ties go by id, deterministically.
        let ties = store(&[5, 5, 5, 5]);
        assert_eq!(split(&ties, 2), vec![1, 2, 1, 2]);
        // Nothing to split.
        assert!(split(&[], 3).is_empty());
    }

    #[test]
    fn split_is_balanced() {
        // Greedy largest-first: no shard exceeds the ideal share by more
        // than the largest account (the LPT bound, in the form that holds
        // for any input).
        let sizes: Vec<u64> = (0..62u64).map(|i| (i * 7919 % 1000 + 1) * 1013).collect();
        let a = store(&sizes);
        let total: u64 = sizes.iter().sum();
        let largest = *sizes.iter().max().unwrap();
        for n in [2, 3, 4, 8] {
            let loads = shard_loads(&a, n);
            assert_eq!(loads.iter().sum::<u64>(), total);
            let (lo, hi) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
            assert!(hi - lo <= largest, "n = {n}: {loads:?}");
            assert!(*hi <= total / n as u64 + largest, "n = {n}: {loads:?}");
            // With many accounts of similar size the shards are within 2 %.
            assert!((hi - lo) * 50 <= *hi, "n = {n}: {loads:?}");
        }
        // One huge account: it fills a shard by itself, the rest share.
        let a = store(&[1_000_000, 10, 10, 10, 10]);
        assert_eq!(split(&a, 2), vec![1, 2, 2, 2, 2]);
    }

    #[test]
    fn shard_limits_selection() {
        let mut s = Selection::new(&[], &["b@x".into()], &[], &[]);
        s.shard = Some(["a@x".to_string(), "b@x".to_string()].into());
        assert!(s.account("a@x"));
        assert!(!s.account("b@x"));
        assert!(!s.account("c@x"));
    }
}
