//! Where the parts of a Kerio install are inside one archive ([`Layout`])
//! and where each entry goes in the output directory. The layout inside
//! Kerio's ZIPs is not documented: it is inferred to mirror `store/…` plus
//! the cfg files, and detected from the entry names alone.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The cfg files of an install directory, placed in the output's root.
const CFG_FILES: &[&str] = &[
    "users.cfg",
    "mailserver.cfg",
    "users.cfg.bak",
    "mailserver.cfg.bak",
    "cluster.cfg",
];

/// Where the parts of a Kerio install are inside one archive, and how its
/// entries are placed in the output directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Components of the archive directory that holds `mail/` (the store
    /// directory); empty for the archive root.
    pub store_prefix: Vec<String>,
    /// The mail directory's name as spelt in the archive (`mail`, `Mail`).
    pub mail_dir: String,
    /// Components of the archive directory holding `users.cfg` /
    /// `mailserver.cfg`, when the archive has them.
    pub cfg_prefix: Option<Vec<String>>,
    /// Other directories that also looked like a mail tree (fewer entries);
    /// their entries are unpacked at their place under `store/`.
    pub other_mail_dirs: Vec<String>,
}

fn show_dir(comps: &[String]) -> String {
    if comps.is_empty() {
        "the archive root".to_string()
    } else {
        format!("\"{}/\"", comps.join("/"))
    }
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn is_cfg_name(c: &str) -> Option<&'static str> {
    CFG_FILES.iter().copied().find(|f| eq_ci(f, c))
}

impl Layout {
    /// Finds the mail tree and the cfg files among an archive's entry
    /// names (already split into components; directories marked).
    ///
    /// The mail directory is a component `mail` followed by at least
    /// `<domain>/<user>/<folder>/` before a `#msgs` directory or a folder's
    /// `index.fld` / `status.fld`. Each such entry votes for every `mail`
    /// component that fits; the directory with the most votes wins (on a
    /// tie: `prefer`, the layout of the archive before it in the set, then
    /// the deepest).
    pub fn detect(entries: &[(Vec<String>, bool)], prefer: Option<&Layout>) -> Option<Layout> {
        let votes = mail_dir_votes(entries);
        let best = votes.values().map(|(n, _)| *n).max()?;
        let (store_prefix, mail_dir) = votes
            .iter()
            .filter(|(_, (n, _))| *n == best)
            .max_by_key(|(p, _)| {
                let preferred = prefer.is_some_and(|l| &l.store_prefix == *p);
                (preferred, p.len())
            })
            .map(|(p, (_, m))| (p.clone(), m.clone()))?;
        let mut mail_path = store_prefix.clone();
        mail_path.push(mail_dir.clone());
        let other_mail_dirs = votes
            .iter()
            .filter(|(p, _)| **p != store_prefix)
            .filter(|(p, _)| {
                // Not a folder named `mail` inside the chosen tree.
                !(p.len() > mail_path.len() && p[..mail_path.len()] == mail_path[..])
            })
            .map(|(p, (_, m))| {
                let mut v = p.clone();
                v.push(m.clone());
                v.join("/") + "/"
            })
            .collect();
        let cfg_prefix = cfg_dir(entries, &store_prefix, &mail_path);
        Some(Layout {
            store_prefix,
            mail_dir,
            cfg_prefix,
            other_mail_dirs,
        })
    }

    /// Where an entry goes, relative to the output directory. `None` for a
    /// directory that only leads to the store or cfg directory (nothing is
    /// made for it).
    pub fn place(&self, comps: &[String], is_dir: bool) -> Option<Vec<String>> {
        let starts = |p: &[String]| comps.len() >= p.len() && comps[..p.len()] == p[..];
        if let (Some(cfg), false) = (&self.cfg_prefix, is_dir) {
            if comps.len() == cfg.len() + 1 && starts(cfg) {
                if let Some(name) = comps.last().and_then(|l| is_cfg_name(l)) {
                    return Some(vec![name.to_string()]);
                }
            }
        }
        let leads_to = |p: &[String]| comps.len() < p.len() && p[..comps.len()] == comps[..];
        if is_dir
            && (leads_to(&self.store_prefix) || self.cfg_prefix.as_deref().is_some_and(leads_to))
        {
            return None;
        }
        if starts(&self.store_prefix) {
            let rest = &comps[self.store_prefix.len()..];
            let mut out = vec!["store".to_string()];
            match rest.split_first() {
                Some((first, tail)) if eq_ci(first, &self.mail_dir) => {
                    out.push("mail".to_string());
                    out.extend(tail.iter().cloned());
                }
                _ => out.extend(rest.iter().cloned()),
            }
            return Some(out);
        }
        if let Some(cfg) = &self.cfg_prefix {
            if starts(cfg) && comps.len() > cfg.len() {
                return Some(comps[cfg.len()..].to_vec());
            }
        }
        Some(comps.to_vec())
    }

    /// One line: where the mail tree and the cfg files are.
    pub fn describe(&self) -> String {
        let mut mail = self.store_prefix.clone();
        mail.push(self.mail_dir.clone());
        let mut s = format!("mail tree at \"{}/\" → store/mail/", mail.join("/"));
        match &self.cfg_prefix {
            Some(c) => {
                let _ = write!(s, "; cfg files in {}", show_dir(c));
            }
            None => s.push_str("; no users.cfg / mailserver.cfg"),
        }
        if !self.other_mail_dirs.is_empty() {
            let _ = write!(
                s,
                "; also looked like mail trees (fewer entries, unpacked in place): {}",
                self.other_mail_dirs.join(", ")
            );
        }
        s
    }
}

impl Layout {
    /// The cfg directory of an archive that has no mail tree (a
    /// differential with only cfg changes): the shallowest directory
    /// holding a cfg file.
    pub(super) fn detect_cfg_only(entries: &[(Vec<String>, bool)]) -> Option<Vec<String>> {
        entries
            .iter()
            .filter(|(c, d)| !d && c.last().is_some_and(|l| is_cfg_name(l).is_some()))
            .map(|(c, _)| c[..c.len() - 1].to_vec())
            .min_by_key(|d| (d.len(), d.clone()))
    }
}

/// Votes for mail directories: every entry below a `#msgs` directory, or
/// a folder's `index.fld` / `status.fld`, votes for each `mail` component
/// with at least `<domain>/<user>/<folder>/` after it. Keyed by the
/// components before `mail`; the value is the votes and `mail` as spelt.
fn mail_dir_votes(entries: &[(Vec<String>, bool)]) -> BTreeMap<Vec<String>, (u64, String)> {
    let mut votes: BTreeMap<Vec<String>, (u64, String)> = BTreeMap::new();
    for (comps, is_dir) in entries {
        let marker = comps.iter().position(|c| eq_ci(c, "#msgs")).or_else(|| {
            let last = comps.last()?;
            (!is_dir && (eq_ci(last, "index.fld") || eq_ci(last, "status.fld")))
                .then(|| comps.len() - 1)
        });
        let Some(k) = marker else { continue };
        for j in 0..k.saturating_sub(3) {
            if eq_ci(&comps[j], "mail") {
                let e = votes
                    .entry(comps[..j].to_vec())
                    .or_insert((0, comps[j].clone()));
                e.0 += 1;
            }
        }
    }
    votes
}

/// The directory of the cfg files outside the mail tree: the directory
/// above the store (an install directory), then the store directory
/// itself, then the shallowest.
fn cfg_dir(
    entries: &[(Vec<String>, bool)],
    store_prefix: &[String],
    mail_path: &[String],
) -> Option<Vec<String>> {
    let mut cfg_dirs: Vec<Vec<String>> = entries
        .iter()
        .filter(|(c, d)| !d && c.last().is_some_and(|l| is_cfg_name(l).is_some()))
        .map(|(c, _)| c[..c.len() - 1].to_vec())
        .filter(|d| !(d.len() >= mail_path.len() && d[..mail_path.len()] == mail_path[..]))
        .collect();
    cfg_dirs.sort();
    cfg_dirs.dedup();
    let parent = store_prefix
        .split_last()
        .map(|(_, rest)| rest.to_vec())
        .unwrap_or_default();
    if !store_prefix.is_empty() && cfg_dirs.contains(&parent) {
        Some(parent)
    } else if cfg_dirs.iter().any(|d| d == store_prefix) {
        Some(store_prefix.to_vec())
    } else {
        cfg_dirs.into_iter().min_by_key(|d| (d.len(), d.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::entries::entry_components;
    use super::*;

    fn c(s: &str) -> Vec<String> {
        entry_components(s, false).expect("valid")
    }

    fn entries(names: &[&str]) -> Vec<(Vec<String>, bool)> {
        names.iter().map(|n| (c(n), n.ends_with('/'))).collect()
    }

    #[test]
    fn layouts() {
        let l = Layout::detect(
            &entries(&[
                "users.cfg",
                "mailserver.cfg",
                "store/",
                "store/mail/a.org/u/INBOX/#msgs/00000001.eml",
                "store/mail/a.org/u/INBOX/index.fld",
                "store/mail/a.org/#public/Shared/status.fld",
            ]),
            None,
        )
        .expect("layout");
        assert_eq!(l.store_prefix, vec!["store"]);
        assert_eq!(l.cfg_prefix, Some(vec![]));
        assert_eq!(
            l.place(&c("store/mail/a.org/u/INBOX/index.fld"), false),
            Some(c("store/mail/a.org/u/INBOX/index.fld"))
        );
        assert_eq!(l.place(&c("users.cfg"), false), Some(c("users.cfg")));
        assert_eq!(l.place(&c("store/logs/x"), false), Some(c("store/logs/x")));

        // mail/ at the root, cfg files beside it.
        let l = Layout::detect(
            &entries(&["Users.cfg", "Mail/a.org/u/INBOX/#msgs/1.eml", "lists/x"]),
            None,
        )
        .expect("layout");
        assert!(l.store_prefix.is_empty());
        assert_eq!(l.place(&c("Users.cfg"), false), Some(c("users.cfg")));
        assert_eq!(
            l.place(&c("Mail/a.org/u/INBOX/#msgs/1.eml"), false),
            Some(c("store/mail/a.org/u/INBOX/#msgs/1.eml"))
        );
        assert_eq!(l.place(&c("lists/x"), false), Some(c("store/lists/x")));

        // Deeper, with a user folder called `mail` with deep subfolders.
        let l = Layout::detect(
            &entries(&[
                "opt/kerio/mailserver/users.cfg",
                "opt/kerio/mailserver/store/mail/a.org/u/INBOX/#msgs/1.eml",
                "opt/kerio/mailserver/store/mail/a.org/u/mail/x/y/z/#msgs/1.eml",
            ]),
            None,
        )
        .expect("layout");
        assert_eq!(l.store_prefix, c("opt/kerio/mailserver/store"));
        assert_eq!(l.cfg_prefix, Some(c("opt/kerio/mailserver")));
        assert!(l.other_mail_dirs.is_empty(), "{:?}", l.other_mail_dirs);
        assert_eq!(l.place(&c("opt/kerio/"), true), None);
        assert_eq!(
            l.place(&c("opt/kerio/mailserver/users.cfg"), false),
            Some(c("users.cfg"))
        );
        assert_eq!(
            l.place(&c("opt/kerio/mailserver/license/k.key"), false),
            Some(c("license/k.key"))
        );

        assert_eq!(
            Layout::detect(&entries(&["a/b/c.txt", "users.cfg"]), None),
            None
        );
    }
}
