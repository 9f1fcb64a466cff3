//! `sync` moves on the IMAP target, split from [`super`] (which owns the
//! session): one message ([`ImapAccountSession::move_one`]: MOVE, or COPY
//! and `UID EXPUNGE`, or without UIDPLUS the copy found by its size), or a
//! set between two mailboxes in one `UID MOVE` with its COPYUID
//! ([`ImapAccountSession::move_set`]). Only copies the journal placed
//! (same UIDVALIDITY, UID and size) are moved.

use super::ImapAccountSession;
use crate::dest::imap::client::ImapSession;
use crate::dest::imap::error::ImapError;
use crate::dest::{DestError, MoveOut};
use crate::model::DestRef;
use std::collections::HashMap;

impl ImapAccountSession {
    /// [`DestSession::move_message`](crate::dest::DestSession::move_message).
    pub(super) fn move_one(
        &mut self,
        from: &str,
        r: &DestRef,
        size: Option<u64>,
        to: &str,
    ) -> Result<Option<DestRef>, DestError> {
        let Some(uid) = r.uid else {
            return Ok(None);
        };
        let result = self.with_control(|c| {
            // Without UIDPLUS only MOVE removes exactly that UID (a plain
            // EXPUNGE would take others' `\Deleted` messages too), and the
            // copy is found by its size among the UIDs that arrived.
            let caps = c.capabilities();
            let uidplus = caps.uidplus;
            let has_move = caps.raw.iter().any(|c| c.eq_ignore_ascii_case("MOVE"));
            let before = match (uidplus, has_move) {
                (true, _) => None,
                (false, true) => match c.status(to)?.uid_next {
                    Some(n) => Some(n),
                    None => return Ok(None),
                },
                (false, false) => return Ok(None),
            };
            let uv = c.select(from)?.uid_validity;
            let ours = r.uid_validity.is_some() && r.uid_validity == uv && {
                let stored = c.uid_sizes_dates(&[uid])?;
                stored
                    .first()
                    .is_some_and(|(u, s, _)| *u == uid && size.is_none_or(|want| *s == want))
            };
            let moved = if ours { c.uid_move(uid, to)? } else { None };
            let _ = c.examine(from);
            let _ = c.unselect();
            match before {
                Some(from_uid) if ours => find_moved(c, to, from_uid, size).map(Some),
                _ => Ok(moved.map(|(uv, u)| DestRef::imap(Some(uv), Some(u)))),
            }
        });
        result.map_err(|e| self.err(e))
    }

    /// [`DestSession::move_messages`](crate::dest::DestSession::move_messages):
    /// one `UID MOVE` of the set where the server has MOVE and UIDPLUS.
    pub(super) fn move_set(
        &mut self,
        from: &str,
        moves: &[(DestRef, Option<u64>)],
        to: &str,
    ) -> Result<Vec<Option<DestRef>>, DestError> {
        let (uidplus, has_move) = match self.with_control(|c| {
            let caps = c.capabilities();
            Ok((
                caps.uidplus,
                caps.raw.iter().any(|c| c.eq_ignore_ascii_case("MOVE")),
            ))
        }) {
            Ok(v) => v,
            Err(e) => return Err(self.err(e)),
        };
        if !(uidplus && has_move) || moves.len() < 2 {
            // One by one: the COPY fallback and the no-UIDPLUS search by
            // size are per message.
            return Ok(crate::dest::move_each(self, from, moves, to));
        }
        let result = self.with_control(|c| {
            let uv = c.select(from)?.uid_validity;
            let ours: Vec<u32> = super::changes::still_ours(c, uv, moves)?
                .into_iter()
                .zip(moves)
                .filter(|(ok, _)| *ok)
                .filter_map(|(_, (r, _))| r.uid)
                .collect();
            let (dest_uv, moved) = if ours.is_empty() {
                (None, Vec::new())
            } else {
                c.uid_move_many(&ours, to)?
            };
            // EXAMINE first: without UNSELECT, leaving is CLOSE, which
            // would expunge what others marked \Deleted in a selected box.
            let _ = c.examine(from);
            let _ = c.unselect();
            let moved: HashMap<u32, Option<u32>> = moved.into_iter().collect();
            Ok(moves
                .iter()
                .map(|(r, _)| {
                    let u = r.uid?;
                    let dst = moved.get(&u)?;
                    // Moved: where it went, its UID when COPYUID said it
                    // (without, the copy is journaled with no UID rather
                    // than uploaded a second time).
                    Some(DestRef::imap(dest_uv, *dst))
                })
                .collect())
        });
        result.map_err(|e| self.err(e))
    }

    /// [`DestSession::move_out`](crate::dest::DestSession::move_out): on a
    /// server with MOVE and UIDPLUS, SELECT `from` with the sizes of the
    /// copies (the ownership proof), then every `UID MOVE` and leaving the
    /// mailbox: two round trips for all the moves out of `from`.
    pub(super) fn move_out_now(&mut self, from: &str, moves: &[MoveOut]) -> Vec<Option<DestRef>> {
        let has_move = self.caps.raw.iter().any(|c| c.eq_ignore_ascii_case("MOVE"));
        if !(self.caps.uidplus && has_move) {
            return crate::dest::move_per_destination(self, from, moves);
        }
        let refs: Vec<(DestRef, Option<u64>)> =
            moves.iter().map(|m| (m.copy.clone(), m.size)).collect();
        let uids: Vec<u32> = refs.iter().filter_map(|(r, _)| r.uid).collect();
        let result = self.with_control(|c| {
            let (uv, sizes) = c.select_sizes(from, &uids)?;
            let groups = move_groups(moves, &super::changes::owned(uv, &refs, &sizes));
            let moved = c.move_and_leave(from, &groups)?;
            Ok(moved_refs(moves, &groups, moved))
        });
        match result {
            Ok(v) => v,
            Err(ImapError::Invalid(why)) => {
                tracing::debug!(
                    "{}: {from}: moves one mailbox at a time: {why}",
                    self.source
                );
                crate::dest::move_per_destination(self, from, moves)
            }
            Err(e) => {
                tracing::warn!("{}: {from}: moves not carried: {e}", self.source);
                vec![None; moves.len()]
            }
        }
    }

    /// [`DestSession::move_out_many`](crate::dest::DestSession::move_out_many):
    /// the moves out of several mailboxes as one chain on a server with
    /// MOVE, UIDPLUS and UNSELECT: SELECT of the first mailbox with the
    /// sizes of its copies, then per mailbox one flight of its MOVEs, its
    /// UNSELECT and the next one's SELECT with sizes (one round trip per
    /// mailbox instead of two: over a WAN a sync moving messages out of
    /// every folder waited ~2 round trips per folder for it). Elsewhere,
    /// and when a flight cannot say it, mailbox by mailbox.
    pub(super) fn move_out_many(
        &mut self,
        all: &[(String, Vec<MoveOut>)],
    ) -> Vec<Vec<Option<DestRef>>> {
        let caps = self.caps.clone();
        let has_move = caps.raw.iter().any(|c| c.eq_ignore_ascii_case("MOVE"));
        if !(caps.uidplus && has_move && caps.unselect) || all.len() < 2 {
            return all
                .iter()
                .map(|(from, m)| self.move_out_now(from, m))
                .collect();
        }
        let refs: Vec<Vec<(DestRef, Option<u64>)>> = all
            .iter()
            .map(|(_, m)| m.iter().map(|x| (x.copy.clone(), x.size)).collect())
            .collect();
        let uids: Vec<Vec<u32>> = refs
            .iter()
            .map(|r| r.iter().filter_map(|(d, _)| d.uid).collect())
            .collect();
        let mut out: Vec<Vec<Option<DestRef>>> =
            all.iter().map(|(_, m)| vec![None; m.len()]).collect();
        let first = self.with_control(|c| c.select_sizes(&all[0].0, &uids[0]));
        let mut sized = match first {
            Ok(s) => Ok(s),
            Err(ImapError::Command { .. }) => Err(()),
            Err(e) => return self.moves_fall_back(all, 0, out, e),
        };
        for (k, (from, moves)) in all.iter().enumerate() {
            // A mailbox whose SELECT was refused moves nothing.
            let groups = match &sized {
                Ok((uv, sizes)) => move_groups(moves, &super::changes::owned(*uv, &refs[k], sizes)),
                Err(()) => Vec::new(),
            };
            let step = self.with_control(|c| match all.get(k + 1) {
                Some((next, _)) => c
                    .move_then_select(from, &groups, (next, &uids[k + 1]))
                    .map(|(m, s)| (m, Some(s))),
                None if groups.is_empty() => c.unselect().map(|()| (Vec::new(), None)),
                None => c.move_and_leave(from, &groups).map(|m| (m, None)),
            });
            match step {
                Ok((moved, next)) => {
                    out[k] = moved_refs(moves, &groups, moved);
                    sized = match next {
                        Some(Ok(s)) => Ok(s),
                        Some(Err(ImapError::Command { .. })) | None => Err(()),
                        Some(Err(e)) => return self.moves_fall_back(all, k + 1, out, e),
                    };
                }
                Err(e) => return self.moves_fall_back(all, k, out, e),
            }
        }
        out
    }

    /// The chain of [`Self::move_out_many`] stopped at mailbox `k` with
    /// `e`: a flight it could not say is carried on mailbox by mailbox
    /// (each SELECT proves again which copies are still there); any other
    /// error leaves the rest not moved (their folders' passes send them,
    /// each first looked for among what the mailbox holds).
    fn moves_fall_back(
        &mut self,
        all: &[(String, Vec<MoveOut>)],
        k: usize,
        mut out: Vec<Vec<Option<DestRef>>>,
        e: ImapError,
    ) -> Vec<Vec<Option<DestRef>>> {
        match e {
            ImapError::Invalid(why) => {
                tracing::debug!("{}: moves mailbox by mailbox: {why}", self.source);
                for (n, (from, m)) in all.iter().enumerate().skip(k) {
                    out[n] = self.move_out_now(from, m);
                }
            }
            e => tracing::warn!("{}: moves not carried: {e}", self.source),
        }
        out
    }
}

/// The copy a `UID MOVE` without COPYUID put into `to`: the one message of
/// that size among the UIDs from `from_uid` (UIDNEXT before the move). When
/// there is not exactly one, the reference has no UID: the journal then
/// takes one copy of that content in `to` (as for any server without
/// UIDPLUS), so the folder's pass does not upload it again.
fn find_moved(
    c: &mut ImapSession,
    to: &str,
    from_uid: u32,
    size: Option<u64>,
) -> Result<DestRef, ImapError> {
    let uv = c.examine(to)?.uid_validity;
    let arrived = c.uid_sizes_from(from_uid);
    let _ = c.unselect();
    let found: Vec<u32> = arrived?
        .into_iter()
        .filter(|(_, s)| size.is_none_or(|want| *s == want))
        .map(|(u, _)| u)
        .collect();
    let uid = match found.as_slice() {
        [one] => Some(*one),
        _ => None,
    };
    Ok(DestRef::imap(uv, uid))
}

/// The moves whose copy is `owned` grouped by destination: the UIDs to
/// move into each mailbox.
fn move_groups(moves: &[MoveOut], owned: &[bool]) -> Vec<(String, Vec<u32>)> {
    let mut groups: Vec<(String, Vec<u32>)> = Vec::new();
    for (m, ok) in moves.iter().zip(owned) {
        let Some(uid) = m.copy.uid.filter(|_| *ok) else {
            continue;
        };
        match groups.iter_mut().find(|(t, _)| *t == m.to) {
            Some((_, v)) => v.push(uid),
            None => groups.push((m.to.clone(), vec![uid])),
        }
    }
    groups
}

/// Where each move's copy went, from the answers of its group's `UID MOVE`
/// (`None`: not moved).
fn moved_refs(
    moves: &[MoveOut],
    groups: &[(String, Vec<u32>)],
    moved: Vec<Result<crate::dest::imap::client::MovedUids, ImapError>>,
) -> Vec<Option<DestRef>> {
    let mut found: HashMap<(&str, u32), DestRef> = HashMap::new();
    for ((to, _), r) in groups.iter().zip(moved) {
        let Ok((dest_uv, pairs)) = r else { continue };
        for (src, dst) in pairs {
            found.insert((to.as_str(), src), DestRef::imap(dest_uv, dst));
        }
    }
    moves
        .iter()
        .map(|m| found.get(&(m.to.as_str(), m.copy.uid?)).cloned())
        .collect()
}
