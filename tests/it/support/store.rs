//! Kerio stores built in temp dirs: `INSTALL/store/mail/<domain>/<user>/
//! <folder>/#msgs/<id>.eml` plus `index.fld` lines, the layout the reader
//! expects (research/kerio-store.md §1).

use std::fs;
use std::path::{Path, PathBuf};

/// A Kerio store being built in an install directory.
pub struct StoreBuilder {
    /// The install directory (what `scan`, `migrate`, … are given).
    pub install: PathBuf,
}

/// The file stem Kerio gives item `n`: eight lower-case hex digits.
pub fn item_id(n: usize) -> String {
    format!("{n:08x}")
}

impl StoreBuilder {
    pub fn new(install: &Path) -> StoreBuilder {
        fs::create_dir_all(install.join("store/mail")).expect("mkdir");
        StoreBuilder {
            install: install.to_path_buf(),
        }
    }

    /// Directory of an account (`user@domain`, `#public@domain`).
    pub fn account_dir(&self, account: &str) -> PathBuf {
        let (user, domain) = account.split_once('@').expect("user@domain");
        self.install.join("store/mail").join(domain).join(user)
    }

    /// Directory of a folder; `folder` is the on-disk (mUTF-7) relative
    /// path, components joined with `/`.
    pub fn folder_dir(&self, account: &str, folder: &str) -> PathBuf {
        self.account_dir(account).join(folder)
    }

    /// Creates the account with an empty INBOX (what makes a user
    /// directory look like a mailbox even when it holds only groupware).
    pub fn inbox(&self, account: &str) -> &StoreBuilder {
        fs::create_dir_all(self.folder_dir(account, "INBOX").join("#msgs")).expect("inbox");
        self
    }

    /// Writes `#msgs/<id>.eml` and returns its path.
    pub fn item(&self, account: &str, folder: &str, id: &str, bytes: &[u8]) -> PathBuf {
        let d = self.folder_dir(account, folder).join("#msgs");
        fs::create_dir_all(&d).expect("mkdir");
        let p = d.join(format!("{id}.eml"));
        fs::write(&p, bytes).expect("write item");
        p
    }

    /// Writes `index.fld` lines.
    pub fn index(&self, account: &str, folder: &str, lines: &[String]) {
        let d = self.folder_dir(account, folder);
        fs::create_dir_all(&d).expect("mkdir");
        fs::write(d.join("index.fld"), lines.join("\n") + "\n").expect("write index");
    }

    /// Writes items `1..=n` of a folder, item `i` (from 0) with the bytes
    /// `message(i)`; returns their ids and sizes (for [`index_line`]s).
    pub fn messages(
        &self,
        account: &str,
        folder: &str,
        n: usize,
        message: impl Fn(usize) -> String,
    ) -> Vec<(String, usize)> {
        (0..n)
            .map(|i| {
                let (id, body) = (item_id(i + 1), message(i));
                self.item(account, folder, &id, body.as_bytes());
                (id, body.len())
            })
            .collect()
    }
}

/// A modern `index.fld` line of a mail item: `U<id> F<flags> S<size>
/// D<created> T<received> M<modified> CIPM.Note`, times in seconds (written
/// in hex, as Kerio does).
/// The index line of the file of item `id` in folder directory `dir`
/// (its size read from the file), with index flags `flags`.
pub fn line_with(dir: &std::path::Path, id: &str, flags: u32) -> String {
    let size = std::fs::metadata(dir.join(format!("#msgs/{id}.eml")))
        .expect("item")
        .len() as usize;
    index_line(id, flags, size, 0x5a4a0000, 0x5a4a0000, 0x5a4a0000)
}

/// [`line_with`] without flags.
pub fn line_of(dir: &std::path::Path, id: &str) -> String {
    line_with(dir, id, 0)
}

pub fn index_line(
    id: &str,
    flags: u32,
    size: usize,
    created: i64,
    received: i64,
    modified: i64,
) -> String {
    format!("U{id} F{flags:x} S{size} D{created:x} T{received:x} M{modified:x} CIPM.Note")
}
