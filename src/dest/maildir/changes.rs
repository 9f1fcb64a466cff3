//! What `sync` and `verify` do with copies already written: our file found
//! by the base of its name (item id and content hash, whatever the flags
//! say), renamed for new flags, moved to another folder, removed, or found
//! gone; folders renamed with their children; presence checked, by bytes
//! when deep.

use super::names::renamed_info;
use super::{io_err, MaildirSession};
use crate::dest::{DestError, DestRef, FlagChange, MailboxRename, Presence};
use crate::message::ContentHash;
use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

impl MaildirSession {
    /// The files of `mailbox` (`cur/` and `new/`) by the base of their
    /// name (before `,` or `:`): our names are deterministic, so a base
    /// names the copy we wrote whatever its flags.
    pub(super) fn files_by_base(
        &self,
        mailbox: &str,
    ) -> Result<HashMap<String, PathBuf>, DestError> {
        let dir = self.mailbox_dir(mailbox);
        let mut files: HashMap<String, PathBuf> = HashMap::new();
        for sub in ["cur", "new"] {
            let p = dir.join(sub);
            let rd = match fs::read_dir(&p) {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&p, e)),
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let base = name.split([',', ':']).next().unwrap_or(&name).to_string();
                files.insert(base, e.path());
            }
        }
        Ok(files)
    }

    /// `sync`: moves our copy `r` from mailbox `from` to `to` (a message
    /// moved between folders in Kerio): the same file name, info part
    /// included, into the same `cur/` or `new/` of `to`. Its new reference,
    /// or `None` when `from` holds no such file of ours or `to` already has
    /// that name (then the item is uploaded as a new one).
    pub(super) fn move_file(
        &self,
        from: &str,
        r: &DestRef,
        to: &str,
    ) -> Result<Option<DestRef>, DestError> {
        let id = r.id.as_deref().unwrap_or("");
        let base = id.split([',', ':']).next().unwrap_or(id);
        if !base.ends_with(".kerio-migrate") {
            return Ok(None);
        }
        let files = self.files_by_base(from)?;
        let Some(path) = files.get(base) else {
            return Ok(None);
        };
        let (Some(name), Some(sub)) = (path.file_name(), path.parent().and_then(|p| p.file_name()))
        else {
            return Ok(None);
        };
        let dest = self.mailbox_dir(to).join(sub).join(name);
        if fs::symlink_metadata(&dest).is_ok() {
            return Ok(None);
        }
        fs::rename(path, &dest).map_err(|e| io_err(path, e))?;
        Ok(Some(DestRef {
            id: Some(name.to_string_lossy().into_owned()),
            ..DestRef::default()
        }))
    }

    /// `sync`: renames the Maildir++ folder `from` to `to`, and its
    /// children (`from.X` to `to.X`, names being directory names).
    pub(super) fn rename_dirs(&self, from: &str, to: &str) -> Result<MailboxRename, DestError> {
        let (old, new) = (self.account_dir.join(from), self.account_dir.join(to));
        if fs::symlink_metadata(&new).is_ok() {
            return Ok(MailboxRename::Exists(to.to_string()));
        }
        if !old.is_dir() {
            return Ok(MailboxRename::Missing);
        }
        let child = format!("{from}.");
        let rd = fs::read_dir(&self.account_dir).map_err(|e| io_err(&self.account_dir, e))?;
        let children: Vec<String> = rd
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(String::from))
            .filter(|n| n.starts_with(&child))
            .collect();
        fs::rename(&old, &new).map_err(|e| io_err(&old, e))?;
        for c in children {
            let dest = self.account_dir.join(format!("{to}{}", &c[from.len()..]));
            let src = self.account_dir.join(&c);
            fs::rename(&src, &dest).map_err(|e| io_err(&src, e))?;
        }
        Ok(MailboxRename::Renamed(to.to_string()))
    }

    /// `sync --propagate-deletes`: removes our copies `refs` from
    /// `mailbox`; one answer each (false: not ours, not there, or not
    /// removable).
    pub(super) fn remove_files(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, Option<u64>)],
    ) -> Result<Vec<bool>, DestError> {
        let files = self.files_by_base(mailbox)?;
        let mut answers = Vec::with_capacity(refs.len());
        for (r, _) in refs {
            // Our names are deterministic (item id and content hash in
            // the base): a file with that base is the copy we wrote.
            let id = r.id.as_deref().unwrap_or("");
            let base = id.split([',', ':']).next().unwrap_or(id);
            let ours = base.ends_with(".kerio-migrate");
            match files.get(base).filter(|_| ours) {
                // One file that cannot be removed is not removed (its row
                // stays); the others still are.
                Some(path) => match fs::remove_file(path) {
                    Ok(()) => answers.push(true),
                    Err(e) => {
                        tracing::warn!("{}: not removed: {e}", path.display());
                        answers.push(false);
                    }
                },
                None => answers.push(false),
            }
        }
        Ok(answers)
    }

    /// `sync`: new flags as a rename of the `:2,` info (into `cur/`); one
    /// answer each (false: no file of ours).
    pub(super) fn rename_for_flags(
        &mut self,
        mailbox: &str,
        changes: &[FlagChange],
    ) -> Result<Vec<bool>, DestError> {
        let dir = self.mailbox_dir(mailbox);
        let files = self.files_by_base(mailbox)?;
        let mut answers = Vec::with_capacity(changes.len());
        for ch in changes {
            let id = ch.target.id.as_deref().unwrap_or("");
            let base = id.split([',', ':']).next().unwrap_or(id);
            let Some(path) = files.get(base) else {
                answers.push(false);
                continue;
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let to = renamed_info(&name, ch);
            let dest = dir.join("cur").join(&to);
            if to != name || path.parent() != dest.parent() {
                fs::rename(path, &dest).map_err(|e| io_err(path, e))?;
            }
            answers.push(true);
        }
        Ok(answers)
    }

    /// `sync`: which of our copies `refs` have no file in `mailbox` any
    /// more (someone removed them); a name that is not ours is never
    /// called gone.
    pub(super) fn gone_files(
        &self,
        mailbox: &str,
        refs: &[DestRef],
    ) -> Result<Vec<bool>, DestError> {
        let files = self.files_by_base(mailbox)?;
        Ok(refs
            .iter()
            .map(|r| {
                let id = r.id.as_deref().unwrap_or("");
                let base = id.split([',', ':']).next().unwrap_or(id);
                base.ends_with(".kerio-migrate") && !files.contains_key(base)
            })
            .collect())
    }

    /// `verify`: is each copy there, and with its bytes when `deep`.
    pub(super) fn check_files(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, ContentHash)],
        deep: bool,
    ) -> Result<Vec<Presence>, DestError> {
        // Base name -> current file (flags in the name may have changed since).
        let files = self.files_by_base(mailbox)?;
        Ok(refs
            .iter()
            .map(|(r, hash)| {
                let id = r.id.as_deref().unwrap_or("");
                let base = id.split([',', ':']).next().unwrap_or(id);
                match files.get(base) {
                    None => Presence::Missing,
                    Some(_) if !deep => Presence::Present,
                    Some(path) => match fs::read(path) {
                        Ok(b) if ContentHash::of(&b) == *hash => Presence::Present,
                        _ => Presence::Differs,
                    },
                }
            })
            .collect())
    }
}
