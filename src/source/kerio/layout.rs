//! Store layout: where the mail root is, which accounts exist, and the
//! folder tree of each account, with the system directories and per-user
//! files that are skipped counted in a [`SkipLog`].

use super::index::Status;
use super::StoreError;
pub use crate::model::Account;
use crate::mutf7 as names;
use crate::source::fs::{DirEntry, DiskFs, Kind, SharedFs, StoreFs};
use crate::source::{SkipLog, SourceOptions};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// An opened store.
#[derive(Debug, Clone)]
pub struct Store {
    /// `store/mail`.
    pub mail_root: PathBuf,
    /// The `store` directory, when known.
    pub store_dir: Option<PathBuf>,
    /// The install directory (holds `users.cfg`), when known.
    pub install_dir: Option<PathBuf>,
    /// What is walked beyond the accounts' own folders.
    pub options: SourceOptions,
    /// Where the archive is (found when the store is opened).
    pub archive: super::archive_dir::Location,
    /// The users `users.cfg` lists (`name@domain`, lower case), when it
    /// could be read; why not otherwise.
    pub known_users: Result<BTreeSet<String>, String>,
    /// What the store is read through: the disk, or a backup set read in
    /// place.
    pub fs: SharedFs,
}

/// A folder of an account.
#[derive(Debug, Clone, Serialize)]
pub struct Folder {
    /// Decoded path, components joined with `/` (e.g. `INBOX/Projekte/Ü`).
    pub path: String,
    /// Decoded components.
    pub components: Vec<String>,
    /// The folder directory.
    pub dir: PathBuf,
    /// Index of the parent folder in [`AccountTree::folders`].
    pub parent: Option<usize>,
    /// Why a component's name is not valid modified UTF-7 (the name is kept
    /// verbatim when it is UTF-8, else each byte that is not UTF-8 is `%XX`).
    pub name_problem: Option<String>,
    /// `status.fld`, when present and readable.
    #[serde(skip)]
    pub status: Option<Status>,
    /// Whether `status.fld` exists.
    pub has_status: bool,
    /// Files directly in the folder directory (`index.fld`, `status.fld`,
    /// `search.fld`, …, and anything else), by name.
    pub files: BTreeMap<String, u64>,
    /// A mail folder by where it is, whatever its metadata says (Kerio's
    /// `#deleted` recovery store, archive folders): why.
    pub mail_by_place: Option<&'static str>,
}

/// The folders of one account and what was skipped while walking it.
#[derive(Debug, Clone, Default)]
pub struct AccountTree {
    /// Folders, parents before children, siblings in name order.
    pub folders: Vec<Folder>,
    /// Skipped directories and files.
    pub skipped: SkipLog,
    /// Directories that could not be read.
    pub problems: Vec<String>,
}

/// Directory names that are never folders, with the reason to skip them.
pub fn is_system_dir(name: &[u8]) -> bool {
    name.first() == Some(&b'#') || name.starts_with(b"__keriomapi__")
}

fn dir_entries(fs: &dyn StoreFs, path: &Path) -> Result<Vec<DirEntry>, StoreError> {
    fs.read_dir(path).map_err(|e| StoreError::io(path, e))
}

fn os_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        name.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        name.to_string_lossy().as_bytes().to_vec()
    }
}

fn is_dir(fs: &dyn StoreFs, e: &DirEntry) -> bool {
    // Follow symlinks: a restored store may link folders elsewhere.
    match e.kind {
        Kind::Dir => true,
        Kind::Symlink => fs.is_dir(&e.path),
        Kind::File | Kind::Special(_) => false,
    }
}

fn looks_like_mail_root(fs: &dyn StoreFs, p: &Path) -> bool {
    // A mail root holds domain directories, which hold user directories
    // with an INBOX or any folder with #msgs.
    let Ok(domains) = fs.read_dir(p) else {
        return false;
    };
    for d in domains {
        let Ok(users) = fs.read_dir(&d.path) else {
            continue;
        };
        for u in users {
            let up = &u.path;
            if fs.is_dir(&up.join("INBOX")) || fs.is_dir(&up.join("#msgs")) {
                return true;
            }
            if let Ok(folders) = fs.read_dir(up) {
                if folders.iter().any(|f| fs.is_dir(&f.path.join("#msgs"))) {
                    return true;
                }
            }
        }
    }
    false
}

impl AccountTree {
    /// Every folder, parents first, with its contents loaded and its kind
    /// decided (a subfolder's evidence includes its parent's kind). One
    /// folder's listing is held at a time.
    pub fn classified<'a>(&'a self, fs: &'a dyn StoreFs) -> Classified<'a> {
        Classified {
            fs,
            tree: self,
            next: 0,
            kinds: Vec::with_capacity(self.folders.len()),
        }
    }
}

/// Iterator of [`AccountTree::classified`].
pub struct Classified<'a> {
    fs: &'a dyn StoreFs,
    tree: &'a AccountTree,
    next: usize,
    kinds: Vec<super::FolderKind>,
}

impl<'a> Iterator for Classified<'a> {
    type Item = (&'a Folder, super::FolderContents, super::KindDecision);

    fn next(&mut self) -> Option<Self::Item> {
        let step = self.tree.classify(self.fs, self.next, &mut self.kinds)?;
        self.next += 1;
        Some(step)
    }
}

impl AccountTree {
    /// Folder `i` with its contents loaded and its kind decided; `kinds`
    /// holds the kinds of the folders before it (parents come first) and
    /// gets this one's.
    pub(crate) fn classify(
        &self,
        fs: &dyn StoreFs,
        i: usize,
        kinds: &mut Vec<super::FolderKind>,
    ) -> Option<(&Folder, super::FolderContents, super::KindDecision)> {
        let folder = self.folders.get(i)?;
        let contents = super::FolderContents::load(fs, folder);
        self.classify_loaded(fs, i, contents, kinds)
    }

    /// [`AccountTree::classify`] with folder `i`'s contents already loaded
    /// (by [`super::FolderContents::load`]; the walk loads a few folders at
    /// once, their kinds are still decided in order).
    pub(crate) fn classify_loaded(
        &self,
        fs: &dyn StoreFs,
        i: usize,
        contents: super::FolderContents,
        kinds: &mut Vec<super::FolderKind>,
    ) -> Option<(&Folder, super::FolderContents, super::KindDecision)> {
        let folder = self.folders.get(i)?;
        let parent = folder.parent.and_then(|p| kinds.get(p).copied());
        let decision = contents.decide_kind(fs, folder, parent);
        let decision = match folder.mail_by_place {
            Some(_) => super::kind::mail_by_place(decision),
            None => decision,
        };
        kinds.push(decision.kind);
        Some((folder, contents, decision))
    }
}

/// Where a store's directories are.
struct Places {
    mail_root: PathBuf,
    store_dir: Option<PathBuf>,
    install_dir: Option<PathBuf>,
}

impl Store {
    /// Opens a store given the Kerio install directory, its `store/`
    /// directory, or `store/mail`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, &SourceOptions::default())
    }

    /// [`Store::open`] with options: the archive is looked for (and, with
    /// [`SourceOptions::archive_to`], walked as an account's folders),
    /// `#deleted` walked as a folder with [`SourceOptions::recoverable_to`],
    /// and `users.cfg` read to tell which accounts it knows.
    pub fn open_with(path: &Path, options: &SourceOptions) -> Result<Store, StoreError> {
        Store::open_in(DiskFs::shared(), path, options)
    }

    /// [`Store::open_with`], reading everything through `fs` (a backup
    /// set read in place: `path` is then the path `fs` gives the install
    /// directory).
    pub fn open_in(
        fs: SharedFs,
        path: &Path,
        options: &SourceOptions,
    ) -> Result<Store, StoreError> {
        let p = Store::places(fs.as_ref(), path)?;
        let archive = super::archive_dir::locate(
            fs.as_ref(),
            &p.mail_root,
            p.store_dir.as_deref(),
            p.install_dir.as_deref(),
            options.archive_dir.as_deref(),
        );
        let known_users = super::config::known_users(fs.as_ref(), p.install_dir.as_deref());
        Ok(Store {
            mail_root: p.mail_root,
            store_dir: p.store_dir,
            install_dir: p.install_dir,
            options: options.clone(),
            archive,
            known_users,
            fs,
        })
    }

    fn places(fs: &dyn StoreFs, path: &Path) -> Result<Places, StoreError> {
        if !fs.is_dir(path) {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                reason: "not a directory".into(),
            });
        }
        let cfg_dir = |p: &Path| {
            (fs.is_file(&p.join("users.cfg")) || fs.is_file(&p.join("mailserver.cfg")))
                .then(|| p.to_path_buf())
        };
        if fs.is_dir(&path.join("store").join("mail")) {
            return Ok(Places {
                mail_root: path.join("store").join("mail"),
                store_dir: Some(path.join("store")),
                install_dir: Some(path.to_path_buf()),
            });
        }
        if fs.is_dir(&path.join("mail")) && looks_like_mail_root(fs, &path.join("mail")) {
            return Ok(Places {
                mail_root: path.join("mail"),
                store_dir: Some(path.to_path_buf()),
                install_dir: path.parent().and_then(cfg_dir),
            });
        }
        if looks_like_mail_root(fs, path) {
            let store_dir = path.parent().map(Path::to_path_buf);
            let install_dir = store_dir
                .as_deref()
                .and_then(Path::parent)
                .and_then(cfg_dir);
            return Ok(Places {
                mail_root: path.to_path_buf(),
                store_dir,
                install_dir,
            });
        }
        Err(StoreError::NotAStore {
            path: path.to_path_buf(),
            reason:
                "expected store/mail/<domain>/<user>/INBOX, mail/<domain>/… or <domain>/<user>/…"
                    .into(),
        })
    }

    /// `users.cfg` of the install directory, when present.
    pub fn users_cfg(&self) -> Option<PathBuf> {
        self.install_dir
            .as_ref()
            .map(|d| d.join("users.cfg"))
            .filter(|p| self.fs.is_file(p))
    }

    /// Every account: users and `#public` trees of every domain, sorted.
    /// Non-directory entries at domain level are counted in the skip log.
    pub fn accounts(&self) -> Result<(Vec<Account>, SkipLog), StoreError> {
        let mut accounts = Vec::new();
        let mut skipped = SkipLog::default();
        let fs = self.fs.as_ref();
        for d in dir_entries(fs, &self.mail_root)? {
            let dname = d.name.to_string_lossy().into_owned();
            if !is_dir(fs, &d) {
                skipped.add_file(&dname);
                continue;
            }
            if self.archive.is_root(fs, &d.path) {
                // Kerio MailServer 6's archive (store/mail/archive): not a
                // domain; the archive inventory accounts for it.
                continue;
            }
            if dname == "#public" {
                // Store-wide public folders (location unverified, research §1.7).
                accounts.push(Account {
                    domain: String::new(),
                    local: dname,
                    dir: d.path.clone(),
                    public: true,
                });
                continue;
            }
            if dname.starts_with('#') {
                skipped.add_dir(&dname);
                continue;
            }
            for u in dir_entries(fs, &d.path)? {
                let uname = u.name.to_string_lossy().into_owned();
                if !is_dir(fs, &u) {
                    skipped.add_file(&uname);
                    continue;
                }
                let public = uname == "#public";
                if !public && is_system_dir(uname.as_bytes()) {
                    skipped.add_dir(&uname);
                    continue;
                }
                accounts.push(Account {
                    domain: dname.clone(),
                    local: uname,
                    dir: u.path,
                    public,
                });
            }
        }
        if let Some(a) = self.archive_account(&accounts) {
            accounts.push(a);
        }
        accounts.sort();
        Ok((accounts, skipped))
    }

    /// The account `--archive-to` names when the store has none by that
    /// id: a new account holding only the archive's folders (its `dir` is
    /// the archive's first directory).
    pub(super) fn archive_account(&self, accounts: &[Account]) -> Option<Account> {
        let to = self.options.archive_to.as_ref()?;
        let root = self.archive.roots.first()?;
        if accounts
            .iter()
            .any(|a| a.id().eq_ignore_ascii_case(&to.account))
        {
            return None;
        }
        let (local, domain) = to.account.split_once('@')?;
        Some(Account {
            domain: domain.to_string(),
            local: local.to_string(),
            dir: root.0.clone(),
            public: false,
        })
    }
}

/// Walks an account's folder tree. Unreadable subdirectories are reported
/// in [`AccountTree::problems`] and skipped; only an unreadable account
/// directory is an error.
pub fn walk_account(account: &Account) -> Result<AccountTree, StoreError> {
    walk_account_with(&DiskFs, account, None, false)
}

/// How folder directories that are symbolic links are treated: never
/// followed unless asked; when followed, a directory already walked (by
/// device and inode) is not walked again, so a link loop
/// (`INBOX/Loop -> ..`) ends at once.
struct Links<'f> {
    fs: &'f dyn StoreFs,
    follow: bool,
    seen: std::collections::HashSet<(u64, u64)>,
}

impl<'f> Links<'f> {
    fn new(fs: &'f dyn StoreFs, follow: bool, account_dir: &Path) -> Links<'f> {
        let mut seen = std::collections::HashSet::new();
        if let Some(k) = fs.dev_ino(account_dir) {
            seen.insert(k);
        }
        Links { fs, follow, seen }
    }

    /// Whether entry `e` is a folder directory to walk; a link that is not
    /// followed, or a directory met before, is reported in `problems`.
    fn is_folder_dir(&mut self, e: &DirEntry, problems: &mut Vec<String>) -> bool {
        let link = e.kind == Kind::Symlink;
        if !is_dir(self.fs, e) {
            return false;
        }
        if link && !self.follow {
            problems.push(format!(
                "{}: a symbolic link to a directory; not followed (--follow-symlinks follows folder links)",
                e.path.display()
            ));
            return false;
        }
        match self.fs.dev_ino(&e.path) {
            Some(k) if !self.seen.insert(k) => {
                problems.push(format!(
                    "{}: leads to a directory already walked (a symbolic link loop or a second link); not walked again",
                    e.path.display()
                ));
                false
            }
            _ => true,
        }
    }
}

/// [`walk_account`]; with `recoverable_to`, the account's `#deleted`
/// (Kerio's deleted-items recovery store) is a mail folder whose path is
/// `#deleted` and whose mailbox is that name, instead of being skipped.
/// Folder directories that are symbolic links are reported and skipped
/// unless `follow_symlinks`.
pub fn walk_account_with(
    fs: &dyn StoreFs,
    account: &Account,
    recoverable_to: Option<&str>,
    follow_symlinks: bool,
) -> Result<AccountTree, StoreError> {
    let mut tree = AccountTree::default();
    let top = dir_entries(fs, &account.dir)?;
    let mut links = Links::new(fs, follow_symlinks, &account.dir);
    let mut deleted = None;
    for e in top {
        let raw = os_bytes(&e.name);
        let name = String::from_utf8_lossy(&raw).into_owned();
        if !is_dir(fs, &e) {
            // filter.siv, folder.map, settings.usr, stats.usr, sub.fld
            // (research §1.3) and anything else: not folders, counted by name.
            tree.skipped.add_file(&name);
            continue;
        }
        let walked = raw == b"#deleted" && recoverable_to.is_some();
        if is_system_dir(&raw) && !walked {
            tree.skipped.add_dir(&name);
            continue;
        }
        if !links.is_folder_dir(&e, &mut tree.problems) {
            continue;
        }
        if walked {
            deleted = Some(e.path);
            continue;
        }
        walk_folder(&mut tree, &mut links, e.path, &raw, None, Names::default());
    }
    if let (Some(dir), Some(to)) = (deleted, recoverable_to) {
        // Last, so that the user's own folders come first.
        let names = Names {
            root: Some(("#deleted".into(), to.to_string())),
            ..Names::default()
        };
        let i = tree.folders.len();
        walk_folder(&mut tree, &mut links, dir, b"#deleted", None, names);
        for f in &mut tree.folders[i..] {
            f.mail_by_place = Some("Kerio's deleted-items recovery store (#deleted)");
        }
    }
    Ok(tree)
}

/// A folder's names so far: its path (the journal's key, as `scan` prints
/// it) and its mailbox components; `root` names the first level
/// differently in each (`#deleted` → `Recovered`).
#[derive(Debug, Clone, Default)]
struct Names {
    path: Vec<String>,
    mailbox: Vec<String>,
    root: Option<(String, String)>,
}

fn walk_folder(
    tree: &mut AccountTree,
    links: &mut Links,
    dir: PathBuf,
    raw_name: &[u8],
    parent: Option<usize>,
    mut names: Names,
) {
    let (decoded, problem) = names::decode_lenient(raw_name);
    let parent_problem = parent.and_then(|p| tree.folders[p].name_problem.clone());
    let name_problem = problem
        .map(|e| {
            if std::str::from_utf8(raw_name).is_ok() {
                format!(
                    "directory name {decoded:?} is not valid modified UTF-7 ({e}); kept verbatim"
                )
            } else {
                format!(
                    "directory name {decoded:?} is not valid modified UTF-7 ({e}) and not UTF-8: \
                     each byte that is not UTF-8 is written %XX in the folder and mailbox name"
                )
            }
        })
        .or(parent_problem);
    match names.root.take() {
        Some((path, mailbox)) => {
            names.path.push(path);
            names.mailbox.push(mailbox);
        }
        None => {
            names.path.push(decoded.clone());
            names.mailbox.push(decoded);
        }
    }
    let fs = links.fs;
    let status_path = dir.join("status.fld");
    let has_status = fs.is_file(&status_path);
    let status = match Status::load_in(fs, &status_path) {
        Ok(s) => s,
        Err(e) => {
            tree.problems
                .push(format!("{}: {e}", status_path.display()));
            None
        }
    };
    let me = tree.folders.len();
    tree.folders.push(Folder {
        path: names.path.join("/"),
        components: names.mailbox.clone(),
        dir: dir.clone(),
        parent,
        name_problem,
        status,
        has_status,
        files: BTreeMap::new(),
        mail_by_place: None,
    });
    let entries = match dir_entries(fs, &dir) {
        Ok(v) => v,
        Err(e) => {
            tree.problems.push(e.to_string());
            return;
        }
    };
    for e in entries {
        if !is_dir(fs, &e) {
            // index.fld, status.fld, search.fld … are per-folder metadata;
            // every file is counted by name, the notes say which are odd.
            let name = String::from_utf8_lossy(&os_bytes(&e.name)).into_owned();
            *tree.folders[me].files.entry(name).or_default() += 1;
            continue;
        }
        let raw = os_bytes(&e.name);
        if raw == b"#msgs" {
            continue;
        }
        if is_system_dir(&raw) {
            tree.skipped.add_dir(&String::from_utf8_lossy(&raw));
            continue;
        }
        if !links.is_folder_dir(&e, &mut tree.problems) {
            continue;
        }
        walk_folder(tree, links, e.path, &raw, Some(me), names.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk(root: &Path, rel: &str) {
        std::fs::create_dir_all(root.join(rel)).expect("mkdir");
    }

    #[test]
    fn finds_root_from_any_level_and_walks() {
        let t = tempfile::tempdir().expect("tempdir");
        let inst = t.path();
        std::fs::write(inst.join("users.cfg"), "<config/>").expect("write");
        mk(inst, "store/mail/example.com/alice/INBOX/#msgs");
        mk(inst, "store/mail/example.com/alice/INBOX/#assoc");
        mk(inst, "store/mail/example.com/alice/Cr&AOk-dit/Sub/#msgs");
        mk(inst, "store/mail/example.com/alice/Bad&Jjo!-/#msgs");
        mk(inst, "store/mail/example.com/alice/#deleted/#msgs");
        mk(inst, "store/mail/example.com/alice/__keriomapi__STORE/x");
        mk(inst, "store/mail/example.com/#public/Shared/#msgs");
        std::fs::write(inst.join("store/mail/example.com/alice/filter.siv"), "").expect("write");

        for p in [
            inst.to_path_buf(),
            inst.join("store"),
            inst.join("store/mail"),
        ] {
            let s = Store::open(&p).expect("open");
            assert_eq!(s.mail_root, inst.join("store/mail"));
            assert_eq!(s.users_cfg(), Some(inst.join("users.cfg")));
        }
        let s = Store::open(inst).expect("open");
        let (accts, _) = s.accounts().expect("accounts");
        let ids: Vec<_> = accts.iter().map(Account::id).collect();
        assert_eq!(ids, vec!["#public@example.com", "alice@example.com"]);
        assert!(accts[0].public);

        let tree = walk_account(&accts[1]).expect("walk");
        let paths: Vec<_> = tree.folders.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, vec!["Bad&Jjo!-", "Crédit", "Crédit/Sub", "INBOX"]);
        assert!(tree.folders[0].name_problem.is_some());
        assert_eq!(tree.folders[2].parent, Some(1));
        assert_eq!(tree.skipped.dirs.get("#deleted"), Some(&1));
        assert_eq!(tree.skipped.dirs.get("#assoc"), Some(&1));
        assert_eq!(tree.skipped.dirs.get("__keriomapi__STORE"), Some(&1));
        assert_eq!(tree.skipped.files.get("filter.siv"), Some(&1));
    }

    #[test]
    fn not_a_store() {
        let t = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            Store::open(t.path()),
            Err(StoreError::NotAStore { .. })
        ));
        assert!(matches!(
            Store::open(&t.path().join("missing")),
            Err(StoreError::NotAStore { .. })
        ));
    }
}
