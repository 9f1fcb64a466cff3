//! The Kerio store as a [`Source`]: the layout's accounts and folder tree,
//! each folder's `#msgs` listing joined with `index.fld` and its kind
//! decided (parents first, a parent's kind is evidence for its children),
//! turned into the shared [`Folder`] / [`Item`] shapes. The `index.fld`
//! flag bits become [`MailFlags`](crate::model::MailFlags) and a deleted
//! bit here, and nowhere else.

use super::index::{flag_bits, mail_flags, IndexRecord};
use super::items::FolderContents;
use super::layout::{self, walk_account, AccountTree, Store};
use super::notes::folder_notes;
use crate::model::Account;
use crate::source::{
    AccountList, AccountWalk, Folder, FolderKind, IndexSummary, Item, ItemMeta, KindDecision,
    Origin, Source, SourceError,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
        let tree = walk_account(account)?;
        Ok(AccountWalk::new(
            tree.skipped.clone(),
            tree.problems.clone(),
            Folders {
                tree,
                next: 0,
                kinds: Vec::new(),
            },
        ))
    }
}

/// The folders of one account's tree, loaded one at a time.
struct Folders {
    tree: AccountTree,
    next: usize,
    kinds: Vec<FolderKind>,
}

impl Iterator for Folders {
    type Item = Folder;

    fn next(&mut self) -> Option<Folder> {
        let (folder, contents, decision) = self.tree.classify(self.next, &mut self.kinds)?;
        self.next += 1;
        Some(shared_folder(folder, contents, decision))
    }
}

/// The facts of one `index.fld` record.
fn item_meta(r: &IndexRecord, index: &Arc<Path>) -> ItemMeta {
    ItemMeta {
        flags: mail_flags(r.flags()),
        deleted: r.flags() & flag_bits::DELETED != 0,
        unknown_flags: r.unknown_flag_bits() != 0,
        received: r.received,
        created: r.created,
        class: r.class.clone(),
        index: Arc::clone(index),
    }
}

/// A layout folder with its loaded contents, in the shared shape.
fn shared_folder(folder: &layout::Folder, c: FolderContents, decision: KindDecision) -> Folder {
    let notes = folder_notes(folder, &c, &decision);
    let index_file: Option<Arc<Path>> = c.index_file.as_deref().map(Arc::from);
    let items = c
        .items
        .iter()
        .map(|it| Item {
            id: it.id.clone(),
            origin: Origin::File(c.path(it)),
            meta: c
                .record(it)
                .zip(index_file.as_ref())
                .map(|(r, f)| item_meta(r, f)),
        })
        .collect();
    let index = c.index.as_ref().map(|idx| IndexSummary {
        file: c.index_file.clone().unwrap_or_default(),
        records: idx.len() as u64,
        garbage_lines: idx.stats.garbage,
        garbage_samples: idx.stats.garbage_samples.clone(),
    });
    Folder {
        path: folder.path.clone(),
        components: folder.components.clone(),
        dir: folder.dir.clone(),
        decision,
        name_problem: folder.name_problem.clone(),
        has_status: folder.has_status,
        index,
        items,
        unindexed: c.unindexed,
        stale: c.stale,
        duplicate_ids: c.duplicate_ids,
        ignored_files: c.skipped.files,
        problems: c.problems,
        notes,
    }
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
