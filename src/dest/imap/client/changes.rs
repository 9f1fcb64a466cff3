//! The commands that change messages on the server, split from
//! [`super`] (which owns the connection and the read-only commands):
//! `UID STORE` of the system flags, `UID MOVE` (or COPY, `\Deleted` and
//! `UID EXPUNGE` of those UIDs only), reading flags back, and leaving the
//! selected mailbox. Used by `migrate --sync` and `--propagate-deletes`.

use super::{uid_set, unicode_mailbox, ImapSession, STORE_CHUNK};
use crate::dest::imap::error::ImapError;
use imap_next::imap_types::{
    fetch::{MessageDataItem, MessageDataItemName},
    flag::{Flag, FlagFetch, StoreType},
};
use io_imap::client::ImapClient;
use io_imap::rfc3501::{copy::ImapMessageCopyOptions, store::ImapMessageStoreOptions};

/// What `UID MOVE` of a set gave: the destination's UIDVALIDITY (from
/// COPYUID) and each source UID with its copy's UID where the server said.
pub type MovedUids = (Option<u32>, Vec<(u32, Option<u32>)>);

impl ImapSession {
    /// `UID STORE uids +FLAGS (…)` (`add`) or `-FLAGS` of the
    /// system flags of `flags` (never `\Deleted`), in the selected
    /// mailbox, in chunks of a few hundred UIDs.
    pub fn uid_store_flags(
        &mut self,
        uids: &[u32],
        add: bool,
        flags: crate::model::MailFlags,
    ) -> Result<(), ImapError> {
        let mut list: Vec<Flag<'static>> = Vec::new();
        for (on, f) in [
            (flags.seen, Flag::Seen),
            (flags.answered, Flag::Answered),
            (flags.flagged, Flag::Flagged),
            (flags.draft, Flag::Draft),
        ] {
            if on {
                list.push(f);
            }
        }
        if list.is_empty() {
            return Ok(());
        }
        for chunk in uids.chunks(STORE_CHUNK) {
            let Some(set) = uid_set(chunk)? else {
                continue;
            };
            let kind = if add {
                StoreType::Add
            } else {
                StoreType::Remove
            };
            let flags = list.clone();
            self.io(
                |c| c.store(set, kind, flags, ImapMessageStoreOptions { uid: true }),
                "UID STORE",
                "flags",
            )?;
        }
        Ok(())
    }

    /// Moves UID `uid` of the selected mailbox to `to`: `UID MOVE` (RFC
    /// 6851) where offered, else `UID COPY`, `\\Deleted` and `UID
    /// EXPUNGE` of that UID only. The copy's (UIDVALIDITY, UID) from
    /// COPYUID, `None` when the server did not say (nothing is removed
    /// then on the COPY path, and always without UIDPLUS). The COPY path
    /// needs UIDPLUS (UID EXPUNGE): the caller checks it first.
    pub fn uid_move(&mut self, uid: u32, to: &str) -> Result<Option<(u32, u32)>, ImapError> {
        let Some(set) = uid_set(&[uid])? else {
            return Ok(None);
        };
        let mb = unicode_mailbox(to)?;
        let has_move = self.caps.raw.iter().any(|c| c.eq_ignore_ascii_case("MOVE"));
        let copied = if has_move {
            self.io(
                |c| {
                    c.r#move(
                        set,
                        mb,
                        io_imap::rfc6851::r#move::ImapMessageMoveOptions { uid: true },
                    )
                },
                "UID MOVE",
                to,
            )?
        } else {
            self.io(
                |c| c.copy(set, mb, ImapMessageCopyOptions { uid: true }),
                "UID COPY",
                to,
            )?
        };
        // A COPYUID from a server that does not offer UIDPLUS is not relied on.
        let new = copied
            .filter(|_| self.caps.uidplus)
            .and_then(|(uv, _, dst)| dst.first().map(|u| (uv, *u)));
        if !has_move && new.is_some() {
            self.uid_delete(&[uid])?;
        }
        Ok(new)
    }

    /// `UID MOVE` (RFC 6851) of `uids` of the selected mailbox to `to`,
    /// in chunks of a few hundred: each UID with its copy's UID from
    /// COPYUID (`None` when the server did not say which), and the
    /// UIDVALIDITY of `to` it gave. Only for a server with MOVE and
    /// UIDPLUS (the caller checks): every UID sent is moved.
    pub fn uid_move_many(&mut self, uids: &[u32], to: &str) -> Result<MovedUids, ImapError> {
        let mut out = Vec::with_capacity(uids.len());
        let mut validity = None;
        for chunk in uids.chunks(STORE_CHUNK) {
            let Some(set) = uid_set(chunk)? else {
                continue;
            };
            let mb = unicode_mailbox(to)?;
            let copied = self.io(
                |c| {
                    c.r#move(
                        set,
                        mb,
                        io_imap::rfc6851::r#move::ImapMessageMoveOptions { uid: true },
                    )
                },
                "UID MOVE",
                to,
            )?;
            // COPYUID pairs the source and destination UIDs in order.
            let pairs: std::collections::HashMap<u32, u32> = match copied {
                Some((uv, src, dst)) if src.len() == dst.len() => {
                    validity = Some(uv);
                    src.into_iter().zip(dst).collect()
                }
                _ => Default::default(),
            };
            out.extend(chunk.iter().map(|u| (*u, pairs.get(u).copied())));
        }
        Ok((validity, out))
    }

    /// `UID FETCH uids (UID FLAGS)` in the examined mailbox: the four
    /// system flags of each message found.
    pub fn uid_flags(
        &mut self,
        uids: &[u32],
    ) -> Result<Vec<(u32, crate::model::MailFlags)>, ImapError> {
        let mut out = Vec::new();
        for chunk in uids.chunks(200) {
            let Some(set) = uid_set(chunk)? else {
                continue;
            };
            let items = vec![MessageDataItemName::Uid, MessageDataItemName::Flags];
            let res = self.uid_fetch(set, items, "FLAGS")?;
            for (_seq, items) in res {
                let (mut uid, mut flags) = (None, crate::model::MailFlags::default());
                for it in items.into_iter() {
                    match it {
                        MessageDataItem::Uid(u) => uid = Some(u.get()),
                        MessageDataItem::Flags(list) => {
                            for f in list {
                                match f {
                                    FlagFetch::Flag(Flag::Seen) => flags.seen = true,
                                    FlagFetch::Flag(Flag::Answered) => flags.answered = true,
                                    FlagFetch::Flag(Flag::Flagged) => flags.flagged = true,
                                    FlagFetch::Flag(Flag::Draft) => flags.draft = true,
                                    _ => {}
                                }
                            }
                        }
                        _ => {}
                    }
                }
                if let Some(u) = uid {
                    out.push((u, flags));
                }
            }
        }
        Ok(out)
    }

    /// `UID STORE uids +FLAGS (\\Deleted)` then `UID EXPUNGE uids` (RFC
    /// 4315) in the selected mailbox: removes exactly these UIDs, never
    /// another message someone marked `\\Deleted`. The caller checks
    /// UIDPLUS first.
    pub fn uid_delete(&mut self, uids: &[u32]) -> Result<(), ImapError> {
        for chunk in uids.chunks(STORE_CHUNK) {
            let Some(set) = uid_set(chunk)? else {
                continue;
            };
            let again = set.clone();
            self.io(
                |c| {
                    c.store(
                        set,
                        StoreType::Add,
                        vec![Flag::Deleted],
                        ImapMessageStoreOptions { uid: true },
                    )
                },
                "UID STORE",
                "\\Deleted",
            )?;
            self.io(|c| c.uid_expunge(again), "UID EXPUNGE", "")?;
        }
        Ok(())
    }

    /// Leaves the examined mailbox (UNSELECT, or CLOSE, which expunges
    /// nothing on a read-only mailbox).
    pub fn unselect(&mut self) -> Result<(), ImapError> {
        if !self.selected {
            return Ok(());
        }
        if self.caps.unselect {
            self.io(|c| c.unselect(), "UNSELECT", "")?;
        } else {
            self.io(|c| c.close(), "CLOSE", "")?;
        }
        self.selected = false;
        Ok(())
    }
}
