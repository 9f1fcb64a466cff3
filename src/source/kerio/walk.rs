//! The Kerio store as a [`Source`]: the layout's accounts and folder tree,
//! each folder's `#msgs` listing joined with `index.fld` and its kind
//! decided (parents first, a parent's kind is evidence for its children),
//! turned into the shared [`Folder`] / [`Item`] shapes. The `index.fld`
//! flag bits become [`MailFlags`](crate::model::MailFlags) and a deleted
//! bit here, and nowhere else. With the store's options the walk also
//! yields `#deleted` as a folder and the archive as folders of the account
//! `--archive-to` names (or of a new account): same shapes, paths that no
//! user folder can have (`#deleted`, `#archive/…`).

use super::archive::{compressed_folder, ArchiveTree, Entry};
use super::index::{flag_bits, mail_flags, IndexRecord};
use super::items::{read_head, FolderContents};
use super::kind::{item_kind_in_mail_folder, mail_by_place, resets_created_date};
use super::layout::{self, walk_account_with, AccountTree, Store};
use super::notes::folder_notes;
use crate::model::Account;
use crate::source::fs::{FsHandle, Kind, SharedFs, StoreFs};
use crate::source::{
    AccountList, AccountWalk, Acl, Archive, Beside, Folder, FolderKind, IndexSummary, Item,
    ItemMeta, KindDecision, KindSource, Origin, Source, SourceError,
};
use rayon::prelude::*;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How much of an item is read to tell a groupware item in a mail folder
/// from mail, when its index class does not say.
const KIND_HEAD: u64 = 16 * 1024;

impl Source for Store {
    fn root(&self) -> &Path {
        &self.mail_root
    }

    fn user_directory(&self) -> Option<PathBuf> {
        self.users_cfg()
    }

    fn accounts(&self) -> Result<AccountList, SourceError> {
        let (accounts, skipped) = Store::accounts(self)?;
        Ok(AccountList { accounts, skipped })
    }

    fn walk(&self, account: &Account) -> Result<AccountWalk<'_>, SourceError> {
        let archive = self.archive_for(account);
        let own = if self.is_archive_account(account) {
            AccountTree::default()
        } else {
            walk_account_with(
                self.fs.as_ref(),
                account,
                self.options.recoverable_to.as_deref(),
                self.options.follow_symlinks,
            )?
        };
        let mut skipped = own.skipped.clone();
        let mut problems = own.problems.clone();
        let mut notes = self.account_notes(account);
        if let Some(a) = &archive {
            skipped.merge(&a.skipped);
            problems.extend(a.problems.iter().cloned());
            notes.extend(a.notes.iter().map(|n| format!("archive: {n}")));
            notes.push(format!(
                "holds the archive ({} period(s) in {}) as folders under {:?}",
                a.periods.len(),
                self.archive
                    .roots
                    .iter()
                    .map(|(r, _)| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                self.options
                    .archive_to
                    .as_ref()
                    .map(|t| t.folder.join("/"))
                    .unwrap_or_default()
            ));
        }
        let folders = Folders {
            fs: Arc::clone(&self.fs),
            tree: own,
            next: 0,
            ahead: VecDeque::new(),
            kinds: Vec::new(),
            public: account.public,
        };
        let archived = ArchiveFolders {
            fs: Arc::clone(&self.fs),
            entries: archive.map(|a| a.entries).unwrap_or_default().into_iter(),
        };
        let listed = match (&self.known_users, account.public) {
            (Ok(u), false) if !self.is_archive_account(account) => {
                Some(u.contains(&account.id().to_lowercase()))
            }
            _ => None,
        };
        Ok(AccountWalk::new(skipped, problems, folders.chain(archived))
            .with_notes(notes)
            .listed(listed))
    }

    fn archive(&self) -> Option<Archive<'_>> {
        let loc = &self.archive;
        let placed_in = self
            .options
            .archive_to
            .as_ref()
            .filter(|_| !loc.roots.is_empty())
            .map(|t| t.account.clone());
        let tree = ArchiveTree::walk(
            self.fs.as_ref(),
            &loc.roots,
            self.options.archive_to.as_ref(),
        );
        let mut problems = loc.problems.clone();
        problems.extend(tree.problems.iter().cloned());
        problems.extend(tree.notes.iter().cloned());
        let walk = placed_in.is_none().then(|| {
            AccountWalk::new(
                tree.skipped.clone(),
                Vec::new(),
                ArchiveFolders {
                    fs: Arc::clone(&self.fs),
                    entries: tree.entries.clone().into_iter(),
                },
            )
        });
        Some(Archive {
            roots: loc.roots.clone(),
            looked_at: loc.looked_at.clone(),
            problems,
            periods: tree.periods,
            placed_in,
            walk,
        })
    }

    fn beside(&self) -> Vec<Beside> {
        let Some(store) = &self.store_dir else {
            return Vec::new();
        };
        let fs = self.fs.as_ref();
        let Ok(rd) = fs.read_dir(store) else {
            return Vec::new();
        };
        rd.into_iter()
            .filter(|e| e.path != self.mail_root && !self.archive.is_root(fs, &e.path))
            .map(|e| {
                let (files, bytes) = count_files(fs, &e.path, e.kind);
                let p = e.path;
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().to_lowercase())
                    .unwrap_or_default();
                Beside {
                    what: beside_what(&name).to_string(),
                    path: p,
                    files,
                    bytes,
                }
            })
            .collect()
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for b in self.beside() {
            let name = b
                .path
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase());
            if name.as_deref() == Some("queue") && b.files > 0 {
                notes.push(format!(
                    "{} holds {} file(s): messages Kerio had not delivered when it stopped are not migrated",
                    b.path.display(),
                    b.files
                ));
            }
        }
        let loc = &self.archive;
        if !loc.roots.is_empty() && self.options.archive_to.is_none() {
            let periods = ArchiveTree::walk(self.fs.as_ref(), &loc.roots, None).periods;
            let compressed = periods.iter().filter(|p| p.compressed.is_some()).count();
            notes.push(format!(
                "archive in {} ({} period(s){}): not migrated; --archive-to ACCOUNT[/FOLDER] migrates it",
                loc.roots
                    .iter()
                    .map(|(r, _)| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                periods.len(),
                if compressed > 0 {
                    format!(", {compressed} compressed")
                } else {
                    String::new()
                }
            ));
        }
        notes.extend(loc.problems.iter().map(|p| format!("archive: {p}")));
        if let Ok(list) = Store::accounts(self) {
            let orphans: Vec<String> = list
                .0
                .iter()
                .filter(|a| self.is_orphan(a))
                .map(Account::id)
                .collect();
            if !orphans.is_empty() {
                notes.push(format!(
                    "{} mailbox(es) have no users.cfg entry (deleted users' folders kept in the store?): {}",
                    orphans.len(),
                    orphans.join(", ")
                ));
            }
        }
        if self.options.recoverable_to.is_none() {
            // Said per account in the skip log ("#deleted"); nothing here.
        }
        notes
    }
}

impl Store {
    /// The account `--archive-to` created (it holds only the archive).
    fn is_archive_account(&self, account: &Account) -> bool {
        self.options
            .archive_to
            .as_ref()
            .is_some_and(|t| t.account.eq_ignore_ascii_case(&account.id()))
            && self
                .archive
                .roots
                .first()
                .is_some_and(|(r, _)| *r == account.dir)
    }

    /// The archive's folders when `account` is the one `--archive-to` names.
    fn archive_for(&self, account: &Account) -> Option<ArchiveTree> {
        let to = self.options.archive_to.as_ref()?;
        if self.archive.roots.is_empty() || !to.account.eq_ignore_ascii_case(&account.id()) {
            return None;
        }
        Some(ArchiveTree::walk(
            self.fs.as_ref(),
            &self.archive.roots,
            Some(to),
        ))
    }

    /// A user's mailbox that `users.cfg` does not list (a deleted user's
    /// folder kept in the store). Public trees and the archive's account
    /// are never orphans; without a readable `users.cfg` nothing is.
    pub fn is_orphan(&self, account: &Account) -> bool {
        !account.public
            && !self.is_archive_account(account)
            && self
                .known_users
                .as_ref()
                .is_ok_and(|u| !u.contains(&account.id().to_lowercase()))
    }

    /// What every report says of one account.
    fn account_notes(&self, account: &Account) -> Vec<String> {
        let mut notes = Vec::new();
        if self.is_orphan(account) {
            notes.push(format!(
                "orphan mailbox: users.cfg has no user {} (a deleted user's folder kept in the store?); decide where it goes (a row in --accounts) or leave it out (--exclude-account)",
                account.id()
            ));
        }
        if self.is_archive_account(account) {
            notes.push("not in the store: made for the archive (--archive-to)".into());
        }
        notes
    }
}

/// Files below `path` (itself when a file) and their bytes; links are not
/// followed.
fn count_files(fs: &dyn StoreFs, path: &Path, kind: Kind) -> (u64, u64) {
    match kind {
        Kind::File => (1, fs.stat(path).map(|m| m.len).unwrap_or(0)),
        Kind::Dir => fs
            .read_dir(path)
            .map(|v| {
                v.into_iter().fold((0, 0), |(n, b), e| {
                    let (n2, b2) = count_files(fs, &e.path, e.kind);
                    (n + n2, b + b2)
                })
            })
            .unwrap_or((0, 0)),
        Kind::Symlink | Kind::Special(_) => (0, 0),
    }
}

/// What an entry of Kerio's store directory is (research §1.2).
fn beside_what(name: &str) -> &'static str {
    match name {
        "logs" => "Kerio's logs: not mail",
        "queue" => "the delivery queue: not read (mail not yet delivered)",
        "backup" => "backups: not read here (`unpack` reads them)",
        "spamassassin" => "spam-filter data: not mail",
        "tmp" => "temporary files: not mail",
        "lists" => "mailing lists: not read",
        "archive" => "the archive's place, but not a directory: not read",
        _ => "not part of the mail store: not read",
    }
}

/// The archive's folders, loaded one at a time.
struct ArchiveFolders {
    fs: SharedFs,
    entries: std::vec::IntoIter<Entry>,
}

impl Iterator for ArchiveFolders {
    type Item = Folder;

    fn next(&mut self) -> Option<Folder> {
        Some(match self.entries.next()? {
            Entry::Folder(f) => {
                let contents = FolderContents::load(self.fs.as_ref(), &f);
                let decision = mail_by_place(contents.decide_kind(self.fs.as_ref(), &f, None));
                shared_folder(&self.fs, &f, contents, decision, true)
            }
            Entry::Compressed {
                path,
                components,
                file,
                format,
            } => compressed_folder(&path, &components, &file, format),
        })
    }
}

/// Folders whose listing and index the walk reads at once, ahead of the
/// one yielded (on the rayon pool: the listing, `index.fld`'s parse and the
/// join are a no-op rerun's main cost before any session opens).
fn read_ahead() -> usize {
    rayon::current_num_threads().clamp(2, 16)
}

/// The folders of one account's tree, loaded a few at a time
/// ([`read_ahead`]), yielded one at a time in the tree's order.
struct Folders {
    fs: SharedFs,
    tree: AccountTree,
    next: usize,
    /// The loaded contents of folders `next..next + ahead.len()`.
    ahead: VecDeque<FolderContents>,
    kinds: Vec<FolderKind>,
    /// A `#public` tree (Kerio re-dates items only in users' folders).
    public: bool,
}

impl Iterator for Folders {
    type Item = Folder;

    fn next(&mut self) -> Option<Folder> {
        if self.ahead.is_empty() {
            let all = &self.tree.folders;
            let batch = all.get(self.next..(self.next + read_ahead()).min(all.len()))?;
            let fs = self.fs.as_ref();
            let loaded: Vec<FolderContents> = batch
                .par_iter()
                .map(|f| FolderContents::load(fs, f))
                .collect();
            self.ahead = loaded.into();
        }
        let contents = self.ahead.pop_front()?;
        let (folder, contents, decision) =
            self.tree
                .classify_loaded(self.fs.as_ref(), self.next, contents, &mut self.kinds)?;
        self.next += 1;
        Some(shared_folder(
            &self.fs,
            folder,
            contents,
            decision,
            self.public,
        ))
    }
}

/// The facts of one `index.fld` record.
fn item_meta(r: &IndexRecord, index: &Arc<Path>, created_is_move_time: bool) -> ItemMeta {
    ItemMeta {
        flags: mail_flags(r.flags()),
        deleted: r.flags() & flag_bits::DELETED != 0,
        unknown_flags: r.unknown_flag_bits() != 0,
        received: r.received,
        created: r.created,
        class: r.class.clone(),
        created_is_move_time,
        index: Arc::clone(index),
    }
}

/// A layout folder with its loaded contents, in the shared shape. In a
/// mail folder each item's kind is decided on its own (index class, then
/// content); elsewhere items have their folder's kind.
fn shared_folder(
    fs: &SharedFs,
    folder: &layout::Folder,
    c: FolderContents,
    decision: KindDecision,
    public: bool,
) -> Folder {
    let index_file: Option<Arc<Path>> = c.index_file.as_deref().map(Arc::from);
    let mail_folder = decision.kind == FolderKind::Mail;
    let move_time = !public && resets_created_date(&folder.path);
    let items: Vec<Item> = c
        .items
        .par_iter()
        .map(|it| {
            let rec = c.record(it);
            let path = c.path(it);
            let (kind, kind_source) = if it.refused.is_some() {
                (decision.kind, KindSource::Folder)
            } else if mail_folder {
                item_kind_in_mail_folder(rec.and_then(|r| r.class.as_deref()), || {
                    read_head(fs.as_ref(), &path, KIND_HEAD).ok()
                })
            } else {
                (decision.kind, KindSource::Folder)
            };
            Item {
                id: it.id.clone(),
                origin: match &it.refused {
                    Some(why) => Origin::Unreadable {
                        path,
                        why: why.clone(),
                    },
                    None if fs.is_disk() => Origin::File(path),
                    None => Origin::Entry {
                        path,
                        fs: FsHandle(Arc::clone(fs)),
                    },
                },
                meta: rec
                    .zip(index_file.as_ref())
                    .map(|(r, f)| item_meta(r, f, move_time)),
                kind,
                kind_source,
            }
        })
        .collect();
    let mut shared = Folder {
        path: folder.path.clone(),
        components: folder.components.clone(),
        dir: folder.dir.clone(),
        decision,
        name_problem: folder.name_problem.clone(),
        has_status: folder.has_status,
        acl: folder
            .status
            .iter()
            .flat_map(|s| s.acl.iter())
            .map(|e| Acl {
                who: e.who.clone(),
                rights: e.rights.clone(),
            })
            .collect(),
        files: folder.files.clone(),
        index: c.index.as_ref().map(|idx| IndexSummary {
            file: c.index_file.clone().unwrap_or_default(),
            fallback: c.index_from_bad,
            empty_file: c.index_empty_file,
            records: idx.len() as u64,
            garbage_lines: idx.stats.garbage,
            garbage_samples: idx.stats.garbage_samples.clone(),
        }),
        items,
        unindexed: c.unindexed,
        stale: c.stale.clone(),
        duplicate_ids: c.duplicate_ids,
        ignored_files: c.skipped.files.clone(),
        problems: c.problems.clone(),
        notes: Vec::new(),
    };
    shared.notes = folder_notes(folder, &c, &shared);
    shared
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// One account with an indexed INBOX (a stale record, an unindexed
    /// file, a non-item file, garbage) and a contacts folder with a
    /// subfolder that inherits its kind.
    fn store() -> (tempfile::TempDir, Store) {
        let t = tempfile::tempdir().expect("tempdir");
        let acct = t.path().join("store/mail/example.com/alice");
        let inbox = acct.join("INBOX");
        fs::create_dir_all(inbox.join("#msgs")).expect("mkdir");
        fs::create_dir_all(acct.join("Contacts/Family")).expect("mkdir");
        fs::create_dir_all(acct.join("#deleted")).expect("mkdir");
        fs::write(acct.join("filter.siv"), "").expect("write");
        for (n, body) in [
            ("00000001.eml", "Subject: a\r\n\r\nx"),
            ("00000002.eml", "Subject: b\r\n\r\nyy"),
            ("00000003.eml", "Subject: c\r\n\r\nzzz"),
        ] {
            fs::write(inbox.join("#msgs").join(n), body).expect("write");
        }
        fs::write(inbox.join("#msgs/thumbs.db"), "").expect("write");
        fs::write(
            inbox.join("index.fld"),
            "U00000001 F13 S1 D5f000000 T5f000100 M1 CIPM.Note\n\
             U00000002 F88 S1 D6 CIPM.Note\n\
             U00000009 F0 CIPM.Note\n\
             garbage\n",
        )
        .expect("write");
        let s = Store::open(t.path()).expect("open");
        (t, s)
    }

    #[test]
    fn one_walk_yields_accounts_folders_items() {
        let (_t, s) = store();
        let src: &dyn Source = &s;
        let list = src.accounts().expect("accounts");
        let ids: Vec<String> = list.accounts.iter().map(Account::id).collect();
        assert_eq!(ids, vec!["alice@example.com"]);
        let walk = src.walk(&list.accounts[0]).expect("walk");
        assert_eq!(walk.skipped.dirs.get("#deleted"), Some(&1));
        assert_eq!(walk.skipped.files.get("filter.siv"), Some(&1));
        let folders: Vec<Folder> = walk.collect();
        let shape: Vec<(&str, FolderKind)> = folders
            .iter()
            .map(|f| (f.path.as_str(), f.kind()))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("Contacts", FolderKind::Contacts),
                ("Contacts/Family", FolderKind::Contacts),
                ("INBOX", FolderKind::Mail),
            ]
        );
        assert_eq!(
            folders[1].decision.source,
            crate::source::KindSource::Parent
        );

        let inbox = &folders[2];
        let ids: Vec<&str> = inbox.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, vec!["00000001", "00000002", "00000003"]);
        let [a, b, c] = &inbox.items[..] else {
            panic!("three items")
        };
        // F13 = seen | answered | draft; F88 = deleted + an unknown bit.
        let f = a.flags();
        assert!(f.seen && f.answered && !f.flagged && f.draft);
        assert!(!a.deleted());
        assert_eq!(a.received(), Some(0x5f00_0100));
        assert_eq!(a.created(), Some(0x5f00_0000));
        assert_eq!(a.class(), Some("IPM.Note"));
        assert!(b.deleted());
        assert_eq!(b.flags(), crate::model::MailFlags::default());
        assert!(b.meta.as_ref().is_some_and(|m| m.unknown_flags));
        assert!(c.meta.is_none(), "not in index.fld");
        let index_file = inbox.dir.join("index.fld");
        assert_eq!(
            a.meta.as_ref().map(|m| m.index.to_path_buf()),
            Some(index_file.clone())
        );
        assert_eq!(a.path(), inbox.dir.join("#msgs/00000001.eml"));
        assert_eq!(c.read().expect("read").bytes, b"Subject: c\r\n\r\nzzz");
        assert_eq!(c.stat().expect("stat").size, 17);

        let idx = inbox.index.as_ref().expect("index");
        assert_eq!((idx.records, idx.garbage_lines), (3, 1));
        assert_eq!(idx.file, index_file);
        assert_eq!(inbox.stale, vec!["00000009".to_string()]);
        assert_eq!(inbox.unindexed, 1);
        assert_eq!(inbox.ignored_files.get("thumbs.db"), Some(&1));
        assert_eq!(
            inbox.notes,
            vec![
                "index.fld: 1 unparsable line(s) skipped".to_string(),
                "index.fld lists 1 item(s) with no file (stale): 00000009".into(),
                "1 file(s) not in index.fld: migrated unflagged, dated by file time".into(),
                "ignored 1 non-item file(s) named \"thumbs.db\" in #msgs".into(),
            ]
        );
        assert_eq!(
            folders[0].notes,
            vec!["no index.fld: flags unknown, dates from file times".to_string()]
        );
    }

    /// Writes `files` (path below the account, bytes) into a one-account
    /// store and returns its folders.
    fn walk_of(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Vec<Folder>) {
        let t = tempfile::tempdir().expect("tempdir");
        let acct = t.path().join("store/mail/example.com/alice");
        fs::create_dir_all(acct.join("INBOX/#msgs")).expect("mkdir");
        for (rel, data) in files {
            let p = acct.join(rel);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(p, data).expect("write");
        }
        let s = Store::open(t.path()).expect("open");
        let account = Store::accounts(&s).expect("accounts").0.remove(0);
        let folders = Source::walk(&s, &account).expect("walk").collect();
        (t, folders)
    }

    fn folder<'a>(folders: &'a [Folder], path: &str) -> &'a Folder {
        folders
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no folder {path}"))
    }

    #[test]
    fn groupware_items_in_a_mail_folder_are_decided_one_by_one() {
        let card = b"Subject: Jane Roe\r\nContent-Type: text/x-vcard\r\n\r\nBEGIN:VCARD\r\nFN:Jane Roe\r\nEND:VCARD\r\n";
        let (_t, folders) = walk_of(&[
            ("Deleted Items/#msgs/00000001.eml", b"From: a@b\r\nSubject: mail\r\n\r\nx"),
            ("Deleted Items/#msgs/00000002.eml", b"Subject: meeting\r\n\r\nBEGIN:VCALENDAR"),
            ("Deleted Items/#msgs/00000003.eml", card),
            (
                "Deleted Items/index.fld",
                b"U00000001 F1 D5f000000 T0 CIPM.Note\nU00000002 F1 D5f000000 T0 CIPM.Appointment\n",
            ),
        ]);
        let d = folder(&folders, "Deleted Items");
        assert_eq!(d.kind(), FolderKind::Mail);
        let kinds: Vec<(FolderKind, KindSource)> =
            d.items.iter().map(|i| (i.kind, i.kind_source)).collect();
        assert_eq!(
            kinds,
            vec![
                (FolderKind::Mail, KindSource::MessageClass),
                (FolderKind::Calendar, KindSource::MessageClass),
                (FolderKind::Contacts, KindSource::Content),
            ]
        );
        assert_eq!(
            d.not_mail().into_iter().collect::<Vec<_>>(),
            vec![(FolderKind::Contacts, 1), (FolderKind::Calendar, 1)]
        );
        assert!(d.notes.iter().any(|n| n
            == "2 item(s) in this mail folder are not mail (1 contacts, 1 calendar): not migrated as mail, exported by `contacts` / `calendar`"));
        // Kerio re-dates D in Deleted Items: the item says so.
        assert!(d.items[0]
            .meta
            .as_ref()
            .is_some_and(|m| m.created_is_move_time));
    }

    #[test]
    fn index_bad_is_read_only_without_index_fld_and_an_empty_index_is_no_metadata() {
        let (_t, folders) = walk_of(&[
            ("Only bad/#msgs/00000001.eml", b"Subject: a\r\n\r\nx"),
            (
                "Only bad/index.bad",
                b"U00000001 F5 D5f000000 T5f000001 CIPM.Note\n\xff\xfe junk\n",
            ),
            ("Both/#msgs/00000001.eml", b"Subject: a\r\n\r\nx"),
            (
                "Both/index.fld",
                b"U00000001 F1 D5f000000 T5f000001 CIPM.Note\n",
            ),
            (
                "Both/index.bad",
                b"U00000001 F4 D5f000000 T5f000001 CIPM.Note\n",
            ),
            ("Empty/#msgs/00000001.eml", b"Subject: a\r\n\r\nx"),
            ("Empty/#msgs/00000002.eml", b"Subject: b\r\n\r\ny"),
            ("Empty/index.fld", b""),
            ("Empty/index.bad", b"U00000001 F4 CIPM.Note\n"),
            ("Empty/notes.txt", b"left here by someone"),
            (
                "Empty/status.fld",
                b"Aalice@example.com lrswipkxtea\nT0 V1\nAanyone lr\n",
            ),
        ]);
        let bad = folder(&folders, "Only bad");
        let idx = bad.index.as_ref().expect("index from index.bad");
        assert!(idx.fallback && idx.file.ends_with("index.bad"));
        assert_eq!((idx.records, idx.garbage_lines), (1, 1));
        let f = bad.items[0].flags();
        assert!(f.seen && f.flagged);
        assert!(bad.notes.contains(
            &"no index.fld: flags and dates read from index.bad (left by an interrupted reindex)"
                .to_string()
        ));
        assert!(bad
            .notes
            .contains(&"index.bad: 1 unparsable line(s) skipped".to_string()));

        let both = folder(&folders, "Both");
        let idx = both.index.as_ref().expect("index");
        assert!(!idx.fallback && idx.file.ends_with("index.fld"));
        assert!(!both.items[0].flags().flagged, "index.fld wins");
        assert!(both
            .notes
            .iter()
            .any(|n| n.starts_with("index.bad is there too")));

        let empty = folder(&folders, "Empty");
        let idx = empty.index.as_ref().expect("index");
        assert!(idx.empty_file && !idx.fallback && idx.records == 0);
        assert!(empty.items.iter().all(|i| i.meta.is_none()));
        assert_eq!(empty.unindexed, 2);
        assert_eq!(
            empty.notes,
            vec![
                "index.fld is empty (0 bytes) beside 2 item(s): no metadata, flags unknown, dates from file times".to_string(),
                "index.bad is there too: not read (index.fld is used when present)".into(),
                "ignored 1 file(s) in the folder directory that are not Kerio metadata: \"notes.txt\"".into(),
            ]
        );
        let files: Vec<&str> = empty.files.keys().map(String::as_str).collect();
        assert_eq!(
            files,
            vec!["index.bad", "index.fld", "notes.txt", "status.fld"]
        );
        let acl: Vec<(&str, &str)> = empty
            .acl
            .iter()
            .map(|a| (a.who.as_str(), a.rights.as_str()))
            .collect();
        assert_eq!(
            acl,
            vec![("alice@example.com", "lrswipkxtea"), ("anyone", "lr")]
        );
        assert_eq!(empty.kind(), FolderKind::Mail, "T0 on the second line");
    }

    #[test]
    fn an_unreadable_account_is_an_error() {
        let (_t, s) = store();
        let mut gone = Store::accounts(&s).expect("accounts").0.remove(0);
        gone.dir = gone.dir.join("missing");
        assert!(matches!(
            Source::walk(&s, &gone),
            Err(SourceError::Io { .. })
        ));
    }
}
