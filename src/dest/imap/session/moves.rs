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
    /// the moves out of several mailboxes as chains on a server with MOVE,
    /// UIDPLUS and UNSELECT ([`chain`]: one round trip per mailbox instead
    /// of two). A long list is cut into up to `--connections` lanes, each a
    /// chain on a connection of its own at the same time (the control
    /// connection and lanes opened for it, logged out after): the moves are
    /// the one step of a sync that waits for nothing else, and the server
    /// does each lane's MOVEs on its own process. A lane cut short (a flight
    /// it could not say, a lost connection, a lane that could not connect)
    /// is carried on mailbox by mailbox on the control connection, each
    /// SELECT proving again which copies are still there (a copy a lost
    /// flight moved is not there any more: its folder's pass finds it where
    /// it went). Elsewhere, mailbox by mailbox.
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
        let parts = lanes(all, self.shared.opts.connections);
        let shared = self.shared.clone();
        let mut ends: Vec<Chained> = Vec::with_capacity(parts.len());
        std::thread::scope(|s| {
            let others: Vec<_> = parts[1..]
                .iter()
                .map(|r| {
                    let (lane, shared) = (&all[r.clone()], &shared);
                    let h = s.spawn(move || match shared.connect() {
                        Ok(mut c) => {
                            let end = chain(&mut c, lane);
                            if end.stop.is_none() {
                                let _ = c.logout();
                            }
                            end
                        }
                        Err(e) => Chained::stopped_at(lane, 0, e),
                    });
                    (lane, h)
                })
                .collect();
            let lane = &all[parts[0].clone()];
            let first = self.with_control(|c| Ok(chain(c, lane)));
            ends.push(first.unwrap_or_else(|e| Chained::stopped_at(lane, 0, e)));
            for (lane, h) in others {
                let panicked = || ImapError::Invalid("a lane of moves panicked".into());
                ends.push(
                    h.join()
                        .unwrap_or_else(|_| Chained::stopped_at(lane, 0, panicked())),
                );
            }
        });
        let mut out: Vec<Vec<Option<DestRef>>> = Vec::with_capacity(all.len());
        for (r, Chained { mut moved, stop }) in parts.into_iter().zip(ends) {
            if let Some((k, e)) = stop {
                self.lane_fall_back(&all[r], k, &mut moved, e);
            }
            out.extend(moved);
        }
        out
    }

    /// A lane of [`Self::move_out_many`] stopped at its mailbox `k` with
    /// `e`: the rest of it mailbox by mailbox on the control connection,
    /// until that connection cannot be had either (or the server stalled:
    /// the account stops); what is left is not moved (its folders' passes
    /// send it, each first looked for among what the mailbox holds).
    fn lane_fall_back(
        &mut self,
        lane: &[(String, Vec<MoveOut>)],
        k: usize,
        moved: &mut [Vec<Option<DestRef>>],
        e: ImapError,
    ) {
        if e.is_stall() {
            self.stopped.get_or_insert_with(|| e.stall_reason());
        }
        if self.stopped.is_some() {
            tracing::warn!("{}: moves not carried: {e}", self.source);
            return;
        }
        match &e {
            // A flight it could not say: the same moves, one by one.
            ImapError::Invalid(why) => {
                tracing::debug!("{}: moves mailbox by mailbox: {why}", self.source)
            }
            // A lane that lost its connection or could not log in (a
            // server's per-user connection limit): said, since the server
            // logs refused logins.
            e => tracing::warn!(
                "{}: a lane of moves stopped ({e}); its {} mailboxes left carried on one by one",
                self.source,
                lane.len() - k
            ),
        }
        for (n, (from, m)) in lane.iter().enumerate().skip(k) {
            moved[n] = self.move_out_now(from, m);
            if self.stopped.is_some() || self.control.as_ref().is_none_or(|c| c.is_broken()) {
                tracing::warn!(
                    "{}: moves out of {} more mailboxes not carried: no connection",
                    self.source,
                    lane.len() - n - 1
                );
                break;
            }
        }
    }
}

/// Mailboxes a lane of moves takes at least: a short list goes as one
/// chain (a lane's login costs about what one mailbox of the chain does).
const LANE_MIN: usize = 8;

/// [`ImapAccountSession::move_out_many`]'s lanes: consecutive runs of
/// `all`, at most `connections` (and one per [`LANE_MIN`] mailboxes),
/// balanced by what the server does for each (a SELECT per mailbox, a MOVE
/// per message).
fn lanes(all: &[(String, Vec<MoveOut>)], connections: usize) -> Vec<std::ops::Range<usize>> {
    let n = (all.len() / LANE_MIN).clamp(1, connections.max(1));
    let weight = |m: &Vec<MoveOut>| 1 + m.len();
    let total: usize = all.iter().map(|(_, m)| weight(m)).sum();
    let mut parts = Vec::with_capacity(n);
    let (mut start, mut acc) = (0, 0);
    for (i, (_, m)) in all.iter().enumerate() {
        acc += weight(m);
        // Cut where this lane reached its share of the total.
        if parts.len() + 1 < n && acc * n >= total * (parts.len() + 1) && i + 1 < all.len() {
            parts.push(start..i + 1);
            start = i + 1;
        }
    }
    parts.push(start..all.len());
    parts
}

/// What a [`chain`] carried: per mailbox where each move's copy went (as
/// far as it got), and the mailbox it stopped at with why.
struct Chained {
    moved: Vec<Vec<Option<DestRef>>>,
    stop: Option<(usize, ImapError)>,
}

impl Chained {
    /// Nothing of `lane` moved yet (one answer per move).
    fn nothing(lane: &[(String, Vec<MoveOut>)]) -> Chained {
        Chained {
            moved: lane.iter().map(|(_, m)| vec![None; m.len()]).collect(),
            stop: None,
        }
    }

    /// Nothing of `lane` moved, stopped at its mailbox `k` with `e`.
    fn stopped_at(lane: &[(String, Vec<MoveOut>)], k: usize, e: ImapError) -> Chained {
        Chained {
            stop: Some((k, e)),
            ..Chained::nothing(lane)
        }
    }
}

/// The moves out of `lane`'s mailboxes as one chain on `c`: SELECT of the
/// first mailbox with the sizes of its copies, then per mailbox one flight
/// of its MOVEs (of the copies those sizes proved ours), its UNSELECT and
/// the next one's SELECT with sizes. A refused SELECT moves nothing out of
/// that mailbox (nothing is selected: the next flight's MOVEs could not act
/// on another one); a flight that fails stops the chain there.
fn chain(c: &mut ImapSession, lane: &[(String, Vec<MoveOut>)]) -> Chained {
    let refs: Vec<Vec<(DestRef, Option<u64>)>> = lane
        .iter()
        .map(|(_, m)| m.iter().map(|x| (x.copy.clone(), x.size)).collect())
        .collect();
    let uids: Vec<Vec<u32>> = refs
        .iter()
        .map(|r| r.iter().filter_map(|(d, _)| d.uid).collect())
        .collect();
    let mut done = Chained::nothing(lane);
    let Some((first, _)) = lane.first() else {
        return done;
    };
    let mut sized = match c.select_sizes(first, &uids[0]) {
        Ok(s) => Ok(s),
        Err(ImapError::Command { .. }) => Err(()),
        Err(e) => {
            done.stop = Some((0, e));
            return done;
        }
    };
    for (k, (from, moves)) in lane.iter().enumerate() {
        let groups = match &sized {
            Ok((uv, sizes)) => move_groups(moves, &super::changes::owned(*uv, &refs[k], sizes)),
            Err(()) => Vec::new(),
        };
        let step = match lane.get(k + 1) {
            Some((next, _)) => c
                .move_then_select(from, &groups, (next, &uids[k + 1]))
                .map(|(m, s)| (m, Some(s))),
            None if groups.is_empty() => c.unselect().map(|()| (Vec::new(), None)),
            None => c.move_and_leave(from, &groups).map(|m| (m, None)),
        };
        match step {
            Ok((moved, next)) => {
                done.moved[k] = moved_refs(moves, &groups, moved);
                sized = match next {
                    Some(Ok(s)) => Ok(s),
                    Some(Err(ImapError::Command { .. })) | None => Err(()),
                    Some(Err(e)) => {
                        done.stop = Some((k + 1, e));
                        return done;
                    }
                };
            }
            Err(e) => {
                done.stop = Some((k, e));
                return done;
            }
        }
    }
    done
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

#[cfg(test)]
mod tests {
    use super::*;

    fn list(sizes: &[usize]) -> Vec<(String, Vec<MoveOut>)> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let m = MoveOut {
                    copy: DestRef::imap(Some(1), Some(i as u32 + 1)),
                    size: Some(10),
                    to: "B".into(),
                };
                (format!("M{i}"), vec![m; *n])
            })
            .collect()
    }

    #[test]
    fn lanes_cut_a_long_list_into_consecutive_runs_of_similar_weight() {
        // Under LANE_MIN mailboxes a lane each, one chain.
        assert_eq!(lanes(&list(&[1; 7]), 4), vec![0..7]);
        assert_eq!(lanes(&list(&[1; 16]), 4), vec![0..8, 8..16]);
        assert_eq!(lanes(&list(&[1; 16]), 1), vec![0..16]);
        assert_eq!(lanes(&list(&[1; 16]), 0), vec![0..16]);
        assert_eq!(lanes(&list(&[3; 143]), 4).len(), 4);
        // One heavy mailbox: its lane holds fewer of the others.
        let mut sizes = vec![1; 32];
        sizes[0] = 40;
        let parts = lanes(&list(&sizes), 4);
        assert_eq!(parts.len(), 4);
        assert!(parts[0].len() < 4, "{parts:?}");
        // Every mailbox once, in order.
        for n in [8, 9, 31, 32, 33, 100, 143] {
            let parts = lanes(&list(&vec![2; n]), 4);
            let flat: Vec<usize> = parts.iter().flat_map(|r| r.clone()).collect();
            assert_eq!(flat, (0..n).collect::<Vec<_>>(), "{n}: {parts:?}");
            assert!(parts.iter().all(|r| !r.is_empty()), "{n}: {parts:?}");
        }
    }
}
