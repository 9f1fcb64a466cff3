//! Selection of accounts and folders: `--account`, `--exclude-account`,
//! `--folder`, `--exclude-folder`. Patterns are globs where `*` matches any
//! run of characters (including `/`) and `?` one character; matching is
//! case-sensitive for folders and case-insensitive for accounts (domains
//! and Kerio login names are case-insensitive).

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
        (self.accounts.is_empty() || self.accounts.iter().any(|g| g.matches(id)))
            && !self.exclude_accounts.iter().any(|g| g.matches(id))
    }

    /// Is this folder selected?
    pub fn folder(&self, path: &str) -> bool {
        (self.folders.is_empty() || self.folders.iter().any(|g| g.matches(path)))
            && !self.exclude_folders.iter().any(|g| g.matches(path))
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
}
