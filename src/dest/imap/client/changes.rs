//! The commands that change messages on the server, split from
//! [`super`] (which owns the connection and the read-only commands):
//! `UID STORE` of the system flags, `UID MOVE` (or COPY, `\Deleted` and
//! `UID EXPUNGE` of those UIDs only), reading flags back, and leaving the
//! selected mailbox. Used by `migrate --sync` and `--propagate-deletes`.
//! A folder's flag changes and removals go in two flights
//! ([`ImapSession::select_sizes`], [`ImapSession::change_and_leave`]).

use super::batch::Answer;
use super::{uid_set, unicode_mailbox, wire_mailbox, ImapSession, STORE_CHUNK};
use crate::dest::imap::error::ImapError;
use crate::model::MailFlags;
use imap_next::imap_types::{
    command::CommandBody,
    core::Vec1,
    fetch::{MacroOrMessageDataItemNames, MessageDataItem, MessageDataItemName},
    flag::{Flag, StoreResponse, StoreType},
    response::{Code, Data},
    search::SearchKey,
};
use io_imap::client::ImapClient;
use io_imap::rfc3501::{copy::ImapMessageCopyOptions, store::ImapMessageStoreOptions};
use std::collections::HashMap;

/// Flag changes of one folder: the flags, added (`true`) or removed, and
/// the UIDs that get that change.
pub type FlagGroups = [(MailFlags, bool, Vec<u32>)];

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
        let list = system_flags(flags);
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
                        MessageDataItem::Flags(list) => flags = super::fetched_flags(&list),
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

    /// SELECT `name` and `UID FETCH uids (UID RFC822.SIZE)`, in one flight;
    /// the mailbox stays selected, read-write. Its UIDVALIDITY and the
    /// size of each UID it has.
    pub(crate) fn select_sizes(
        &mut self,
        name: &str,
        uids: &[u32],
    ) -> Result<(Option<u32>, HashMap<u32, u64>), ImapError> {
        self.unselect()?;
        let cmds = select_sizes_cmds(name, uids)?;
        let answers = self.flight(cmds)?;
        self.sizes_selected(name, &answers)
    }

    /// The answers of [`select_sizes_cmds`]: the UIDVALIDITY and sizes;
    /// the mailbox is selected when its SELECT was answered OK.
    fn sizes_selected(
        &mut self,
        name: &str,
        answers: &[Answer],
    ) -> Result<(Option<u32>, HashMap<u32, u64>), ImapError> {
        let Some((select, fetches)) = answers.split_first() else {
            return Err(ImapError::Invalid(format!("SELECT {name}: no answer")));
        };
        self.refused(select, "SELECT", name)?;
        self.selected = true;
        for a in fetches {
            self.refused(a, "UID FETCH", "RFC822.SIZE")?;
        }
        let uv = select.codes.iter().find_map(|c| match c {
            Code::UidValidity(n) => Some(n.get()),
            _ => None,
        });
        let mut sizes = HashMap::new();
        for d in answers.iter().flat_map(|a| a.data.iter()) {
            let Data::Fetch { items, .. } = d else {
                continue;
            };
            let (mut uid, mut size) = (None, None);
            for it in items.as_ref() {
                match it {
                    MessageDataItem::Uid(u) => uid = Some(u.get()),
                    MessageDataItem::Rfc822Size(n) => size = Some(u64::from(*n)),
                    _ => {}
                }
            }
            if let (Some(u), Some(n)) = (uid, size) {
                sizes.insert(u, n);
            }
        }
        Ok((uv, sizes))
    }

    /// In the selected mailbox `name`: `UID STORE … +FLAGS.SILENT` /
    /// `-FLAGS.SILENT` of each group's system flags and `UID STORE doomed
    /// +FLAGS.SILENT (\\Deleted)` in one flight; then, when there are
    /// doomed UIDs, `UID EXPUNGE doomed` (the caller checks UIDPLUS) once
    /// every STORE is answered, and `UID SEARCH UID doomed` once the
    /// expunges are: a server may run pipelined UID commands at once
    /// (Dovecot ran an EXPUNGE before the STORE ahead of it had marked its
    /// UIDs, and answered OK). The mailbox is then left without expunging
    /// anything else: UNSELECT, or EXAMINE then CLOSE. Returns the doomed
    /// UIDs still there (not removed).
    pub(crate) fn change_and_leave(
        &mut self,
        name: &str,
        groups: &FlagGroups,
        doomed: &[u32],
    ) -> Result<Vec<u32>, ImapError> {
        let mut cmds: Vec<(CommandBody<'static>, &'static str)> = Vec::new();
        let store = |set, kind, flags| {
            CommandBody::store(set, kind, StoreResponse::Silent, flags, true).map_err(invalid)
        };
        for (flags, add, uids) in groups {
            let list = system_flags(*flags);
            if list.is_empty() {
                continue;
            }
            let kind = if *add {
                StoreType::Add
            } else {
                StoreType::Remove
            };
            for chunk in uids.chunks(STORE_CHUNK) {
                if let Some(set) = uid_set(chunk)? {
                    cmds.push((store(set, kind, list.clone())?, "UID STORE"));
                }
            }
        }
        let mut expunge: Vec<(CommandBody<'static>, &'static str)> = Vec::new();
        for chunk in doomed.chunks(STORE_CHUNK) {
            if let Some(set) = uid_set(chunk)? {
                cmds.push((
                    store(set.clone(), StoreType::Add, vec![Flag::Deleted])?,
                    "UID STORE",
                ));
                expunge.push((CommandBody::ExpungeUid { sequence_set: set }, "UID EXPUNGE"));
            }
        }
        if expunge.is_empty() {
            // Flags only: leaving waits for the STOREs (it changes the
            // selected state), so it goes in their flight.
            return self.flight_and_leave(name, cmds).map(|_| Vec::new());
        }
        self.flight_checked(cmds)?;
        self.flight_checked(expunge)?;
        let mut search = Vec::new();
        for chunk in doomed.chunks(STORE_CHUNK) {
            if let Some(set) = uid_set(chunk)? {
                let key = SearchKey::Uid(set);
                search.push((
                    CommandBody::search(None, Vec1::from(key), true),
                    "UID SEARCH",
                ));
            }
        }
        let answers = self.flight_and_leave(name, search)?;
        let mut left: Vec<u32> = answers
            .iter()
            .flat_map(|a| a.data.iter())
            .filter_map(|d| match d {
                Data::Search(uids, ..) => Some(uids.iter().map(|u| u.get())),
                _ => None,
            })
            .flatten()
            .filter(|u| doomed.contains(u))
            .collect();
        left.sort_unstable();
        left.dedup();
        Ok(left)
    }

    /// Sends `cmds` in one flight; the first refusal is the error.
    fn flight_checked(
        &mut self,
        cmds: Vec<(CommandBody<'static>, &'static str)>,
    ) -> Result<Vec<Answer>, ImapError> {
        let (bodies, names): (Vec<_>, Vec<_>) = cmds.into_iter().unzip();
        let answers = self.flight(bodies)?;
        for (a, n) in answers.iter().zip(&names) {
            self.refused(a, n, "")?;
        }
        Ok(answers)
    }

    /// [`Self::flight_checked`] of `cmds` followed, in the same flight, by
    /// leaving the selected mailbox `name` (UNSELECT, or EXAMINE then
    /// CLOSE, which expunges nothing of a read-only mailbox).
    fn flight_and_leave(
        &mut self,
        name: &str,
        mut cmds: Vec<(CommandBody<'static>, &'static str)>,
    ) -> Result<Vec<Answer>, ImapError> {
        let n = cmds.len();
        if self.caps.unselect {
            cmds.push((CommandBody::Unselect, "UNSELECT"));
        } else {
            cmds.push((
                CommandBody::examine(wire_mailbox(name)?).map_err(invalid)?,
                "EXAMINE",
            ));
            cmds.push((CommandBody::Close, "CLOSE"));
        }
        let (bodies, names): (Vec<_>, Vec<_>) = cmds.into_iter().unzip();
        let mut answers = self.flight(bodies)?;
        let left = answers[n..]
            .iter()
            .zip(&names[n..])
            .try_for_each(|(a, c)| self.refused(a, c, name));
        self.selected = left.is_err();
        for (a, c) in answers.iter().zip(&names).take(n) {
            self.refused(a, c, "")?;
        }
        left?;
        answers.truncate(n);
        Ok(answers)
    }

    /// In the selected mailbox `name`, in one flight: `UID MOVE` of each
    /// group's UIDs to its mailbox (RFC 6851; the caller checks MOVE and
    /// UIDPLUS), then leaving it (UNSELECT, or EXAMINE then CLOSE). Per
    /// group: the destination's UIDVALIDITY and each moved UID's new UID,
    /// from the COPYUID the server sends before its EXPUNGEs; an error for a
    /// group whose MOVE was refused (nothing of it moved).
    pub(crate) fn move_and_leave(
        &mut self,
        name: &str,
        groups: &[(String, Vec<u32>)],
    ) -> Result<Vec<Result<MovedUids, ImapError>>, ImapError> {
        let (cmds, owner) = self.move_cmds(name, groups)?;
        let answers = self.flight(cmds)?;
        self.moved(name, groups, &owner, &answers)
    }

    /// [`Self::move_and_leave`] of the selected mailbox `name` and, in the
    /// same flight behind it, [`Self::select_sizes`] of `next` (the next
    /// mailbox with copies to move): a chain of mailboxes costs one round
    /// trip each, not two. The MOVEs go out while `name` is selected (its
    /// UIDVALIDITY and sizes were read in that selection), and `name` is
    /// left before `next` is selected: if that SELECT is refused, nothing
    /// is selected and no later command of the chain can act on `name`.
    /// Needs UNSELECT (the caller checks). When `name` is not selected (its
    /// SELECT was refused), `groups` must be empty: only `next` is asked.
    #[allow(clippy::type_complexity)]
    pub(crate) fn move_then_select(
        &mut self,
        name: &str,
        groups: &[(String, Vec<u32>)],
        next: (&str, &[u32]),
    ) -> Result<
        (
            Vec<Result<MovedUids, ImapError>>,
            Result<(Option<u32>, HashMap<u32, u64>), ImapError>,
        ),
        ImapError,
    > {
        if !self.caps.unselect {
            return Err(ImapError::Invalid("a chain of moves needs UNSELECT".into()));
        }
        let (mut cmds, owner) = self.move_cmds(name, groups)?;
        let mine = cmds.len();
        cmds.extend(select_sizes_cmds(next.0, next.1)?);
        let answers = self.flight(cmds)?;
        let (here, there) = answers.split_at(mine.min(answers.len()));
        let moved = if mine == 0 {
            Ok(Vec::new())
        } else {
            self.moved(name, groups, &owner, here)
        };
        let sized = self.sizes_selected(next.0, there);
        Ok((moved?, sized))
    }

    /// The commands of [`Self::move_and_leave`] (none when `name` is not
    /// selected and nothing is to move), and the group of each MOVE.
    fn move_cmds(
        &self,
        name: &str,
        groups: &[(String, Vec<u32>)],
    ) -> Result<(Vec<CommandBody<'static>>, Vec<usize>), ImapError> {
        let mut cmds: Vec<CommandBody<'static>> = Vec::new();
        let mut owner: Vec<usize> = Vec::new();
        for (g, (to, uids)) in groups.iter().enumerate() {
            for chunk in uids.chunks(STORE_CHUNK) {
                if let Some(set) = uid_set(chunk)? {
                    cmds.push(CommandBody::Move {
                        sequence_set: set,
                        mailbox: wire_mailbox(to)?,
                        uid: true,
                    });
                    owner.push(g);
                }
            }
        }
        if cmds.is_empty() && !self.selected {
            return Ok((cmds, owner));
        }
        if self.caps.unselect {
            cmds.push(CommandBody::Unselect);
        } else {
            cmds.push(CommandBody::examine(wire_mailbox(name)?).map_err(invalid)?);
            cmds.push(CommandBody::Close);
        }
        Ok((cmds, owner))
    }

    /// The answers of [`Self::move_cmds`] (`answers` has exactly theirs).
    fn moved(
        &mut self,
        name: &str,
        groups: &[(String, Vec<u32>)],
        owner: &[usize],
        answers: &[Answer],
    ) -> Result<Vec<Result<MovedUids, ImapError>>, ImapError> {
        let moves = owner.len();
        if answers.len() <= moves {
            return Err(ImapError::Invalid(format!(
                "UID MOVE out of {name}: {} answers for {} commands",
                answers.len(),
                moves + 1
            )));
        }
        let left = answers[moves..]
            .iter()
            .try_for_each(|a| self.refused(a, "UNSELECT", name));
        self.selected = left.is_err();
        // A server may send a later MOVE's COPYUID before an earlier one's
        // tagged OK (Dovecot does): each COPYUID is read by its source UIDs,
        // which are unique in the mailbox, whichever answer carries it.
        let mut copied: HashMap<u32, (u32, u32)> = HashMap::new();
        for c in answers.iter().flat_map(|a| a.codes.iter()) {
            if let Code::CopyUid {
                uid_validity,
                source,
                destination,
            } = c
            {
                let (src, dst) = (expand(source), expand(destination));
                if src.len() == dst.len() {
                    for (a, b) in src.into_iter().zip(dst) {
                        copied.insert(a, (uid_validity.get(), b));
                    }
                }
            }
        }
        let mut out: Vec<Result<MovedUids, ImapError>> =
            groups.iter().map(|_| Ok((None, Vec::new()))).collect();
        for (a, &g) in answers.iter().zip(owner) {
            if let Err(e) = self.refused(a, "UID MOVE", &groups[g].0) {
                out[g] = Err(e);
            }
        }
        for (r, (_, uids)) in out.iter_mut().zip(groups) {
            let Ok((uv, pairs)) = r else { continue };
            for u in uids {
                let to = copied.get(u);
                if let Some((v, _)) = to {
                    uv.get_or_insert(*v);
                }
                // Moved; its new UID where a COPYUID said.
                pairs.push((*u, to.filter(|(v, _)| Some(*v) == *uv).map(|(_, d)| *d)));
            }
        }
        left?;
        Ok(out)
    }

    /// The error of a refused command of a flight (or of one with no
    /// tagged answer).
    pub(super) fn refused(
        &self,
        a: &Answer,
        cmd: &'static str,
        what: &str,
    ) -> Result<(), ImapError> {
        match &a.ok {
            Some(Ok(())) => Ok(()),
            Some(Err((kind, text))) => Err(ImapError::Command {
                server: self.server.clone(),
                cmd,
                what: what.to_string(),
                kind: *kind,
                code: None,
                text: text.clone(),
            }),
            None => Err(ImapError::Invalid(format!(
                "{cmd} {what}: no tagged answer"
            ))),
        }
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

/// SELECT `name` and `UID FETCH uids (UID RFC822.SIZE)` (200 UIDs a
/// command).
fn select_sizes_cmds(name: &str, uids: &[u32]) -> Result<Vec<CommandBody<'static>>, ImapError> {
    let mut cmds = vec![CommandBody::select(wire_mailbox(name)?).map_err(invalid)?];
    for chunk in uids.chunks(STORE_CHUNK) {
        if let Some(set) = uid_set(chunk)? {
            let items = MacroOrMessageDataItemNames::MessageDataItemNames(vec![
                MessageDataItemName::Uid,
                MessageDataItemName::Rfc822Size,
            ]);
            cmds.push(CommandBody::fetch(set, items, true).map_err(invalid)?);
        }
    }
    Ok(cmds)
}

/// The system flags of `flags` as IMAP flags (never `\\Deleted`).
fn system_flags(flags: MailFlags) -> Vec<Flag<'static>> {
    [
        (flags.seen, Flag::Seen),
        (flags.answered, Flag::Answered),
        (flags.flagged, Flag::Flagged),
        (flags.draft, Flag::Draft),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, f)| f)
    .collect()
}

fn invalid(e: impl std::fmt::Debug) -> ImapError {
    ImapError::Invalid(format!("{e:?}"))
}

/// The UIDs of a COPYUID set, in its order.
fn expand(set: &imap_next::imap_types::extensions::uidplus::UidSet) -> Vec<u32> {
    use imap_next::imap_types::extensions::uidplus::UidElement;
    let mut out = Vec::new();
    for e in set.0.as_ref() {
        match e {
            UidElement::Single(u) => out.push(u.get()),
            UidElement::Range(a, b) => {
                let (a, b) = (a.get().min(b.get()), a.get().max(b.get()));
                // A range longer than any UID MOVE sent is not believed.
                if b - a > STORE_CHUNK as u32 {
                    return Vec::new();
                }
                out.extend(a..=b);
            }
        }
    }
    out
}
