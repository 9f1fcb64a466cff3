//! Where Kerio's archive is ([`locate`]): `--archive-dir` when given (and
//! nothing else); else the directory `mailserver.cfg` names (its absolute
//! path is the old server's, so a path below the old `StoreDir` is looked
//! for below this store), `store/archive` (Kerio Connect 7 and later) and
//! `store/mail/archive` (Kerio MailServer 6). What is configured or present
//! but unusable (a file where a directory should be, a path not copied
//! here) is a problem line, never silent. Reading the archive is
//! [`super::archive`]'s.

use super::config::{self, CfgTree};
use crate::source::fs::{Kind, StoreFs};
use std::path::{Path, PathBuf};

/// Where the archive is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// Its directories, each with how it was found.
    pub roots: Vec<(PathBuf, String)>,
    /// Where it was looked for.
    pub looked_at: Vec<String>,
    /// What was configured or present and could not be used.
    pub problems: Vec<String>,
}

impl Location {
    /// True when `dir` is one of the roots (links resolved through `fs`).
    pub fn is_root(&self, fs: &dyn StoreFs, dir: &Path) -> bool {
        let d = fs.canonical(dir);
        self.roots.iter().any(|(r, _)| fs.canonical(r) == d)
    }

    fn add(&mut self, fs: &dyn StoreFs, dir: PathBuf, how: String) {
        if !self.is_root(fs, &dir) {
            self.roots.push((dir, how));
        }
    }
}

/// Path components of a path written on any system (`C:\Kerio\store`,
/// `/opt/kerio/store`), without the drive, lower-cased for comparing.
fn comps_any(p: &str) -> Vec<String> {
    p.split(['/', '\\'])
        .filter(|c| !c.is_empty() && !c.ends_with(':'))
        .map(str::to_string)
        .collect()
}

/// Finds the archive of a store (see the module documentation).
pub fn locate(
    fs: &dyn StoreFs,
    mail_root: &Path,
    store_dir: Option<&Path>,
    install_dir: Option<&Path>,
    archive_dir: Option<&Path>,
) -> Location {
    let mut loc = Location::default();
    if let Some(d) = archive_dir {
        loc.looked_at
            .push(format!("{} (--archive-dir)", d.display()));
        match fs.stat(d) {
            Ok(m) if m.kind == Kind::Dir => loc.add(fs, d.to_path_buf(), "--archive-dir".into()),
            Ok(_) => loc.problems.push(format!(
                "--archive-dir {}: not a directory (a compressed archive? unpack it first)",
                d.display()
            )),
            Err(e) => loc
                .problems
                .push(format!("--archive-dir {}: {e}", d.display())),
        }
        return loc;
    }
    if let Some(cfg) = install_dir.map(|d| d.join("mailserver.cfg")) {
        if fs.is_file(&cfg) {
            from_config(fs, &cfg, store_dir, &mut loc);
        }
    }
    let defaults = [
        (
            store_dir.map(|s| s.join("archive")),
            "store/archive (Kerio Connect 7 and later)",
        ),
        (
            Some(mail_root.join("archive")),
            "store/mail/archive (Kerio MailServer 6)",
        ),
    ];
    for (dir, how) in defaults {
        let Some(dir) = dir else { continue };
        loc.looked_at.push(dir.display().to_string());
        match fs.stat(&dir) {
            Ok(m) if m.kind == Kind::Dir => loc.add(fs, dir, how.into()),
            Ok(_) => loc.problems.push(format!(
                "{}: the archive's place holds a file, not a directory: not read",
                dir.display()
            )),
            Err(_) => {}
        }
    }
    loc
}

/// The directories `mailserver.cfg` names for the archive.
fn from_config(fs: &dyn StoreFs, cfg: &Path, store_dir: Option<&Path>, loc: &mut Location) {
    let tree = match CfgTree::load_in(fs, cfg) {
        Ok(t) => t,
        Err(e) => {
            loc.problems
                .push(format!("{e}: the archive directory it may set is unknown"));
            return;
        }
    };
    let old_store = config::store_dir(&tree).map(|s| comps_any(&s));
    for (where_, value) in config::archive_dirs(&tree) {
        let here = Path::new(&value);
        let rebased = old_store.as_ref().zip(store_dir).and_then(|(old, new)| {
            let v = comps_any(&value);
            let lower = |c: &[String]| c.iter().map(|x| x.to_lowercase()).collect::<Vec<_>>();
            let rest = v.get(old.len()..)?;
            (lower(&v[..old.len().min(v.len())]) == lower(old))
                .then(|| rest.iter().fold(new.to_path_buf(), |p, c| p.join(c)))
        });
        let candidates: Vec<PathBuf> = [Some(here.to_path_buf()), rebased]
            .into_iter()
            .flatten()
            .collect();
        loc.looked_at.push(format!(
            "{value} (mailserver.cfg, {where_}{})",
            match candidates.get(1) {
                Some(r) => format!("; here {}", r.display()),
                None => String::new(),
            }
        ));
        let mut found = false;
        for c in &candidates {
            match fs.stat(c) {
                Ok(m) if m.kind == Kind::Dir => {
                    loc.add(fs, c.clone(), format!("mailserver.cfg ({where_}: {value})"));
                    found = true;
                    break;
                }
                Ok(_) => {
                    loc.problems.push(format!(
                        "{}: mailserver.cfg's archive directory is a file, not a directory: not read",
                        c.display()
                    ));
                    found = true;
                    break;
                }
                Err(_) => {}
            }
        }
        if !found {
            loc.problems.push(format!(
                "mailserver.cfg ({where_}) puts the archive in {value:?}, which is not here: copy it and give --archive-dir"
            ));
        }
    }
}
