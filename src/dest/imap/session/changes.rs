//! `sync`'s flag changes and removals on the IMAP target, split from
//! [`super`] (which owns the session): a folder's changes in two flights
//! ([`ImapAccountSession::changes_now`]), or command by command when a
//! flight cannot say it; and the ownership proof ([`still_ours`]) every
//! removal and move asks first: the journaled UIDVALIDITY, UID and the size
//! the target holds; which journaled copies are gone
//! ([`ImapAccountSession::gone_now`], whose answer [`Probed`] keeps for the
//! folder's look for unjournaled messages); and which are held with another
//! size than sent, with their Message-ID ([`ImapAccountSession::altered_now`]).

use super::ImapAccountSession;
use crate::dest::imap::client::ImapSession;
use crate::dest::imap::core::identity::message_id;
use crate::dest::imap::error::ImapError;
use crate::dest::{AlteredCopy, DestError, Removal};
use crate::model::DestRef;
use std::collections::{HashMap, HashSet};

/// `UID STORE` groups: the system flags, added (`true`) or removed, and
/// the UIDs that get that change.
type FlagGroup = (crate::model::MailFlags, bool, Vec<u32>);

impl ImapAccountSession {
    /// [`DestSession::altered_copies`](crate::dest::DestSession::altered_copies):
    /// EXAMINE, `UID FETCH (RFC822.SIZE)` of the copies under the
    /// mailbox's UIDVALIDITY, and the bodies of those of another size than
    /// sent, for their Message-ID.
    pub(super) fn altered_now(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, u64)],
    ) -> Result<Vec<Option<AlteredCopy>>, DestError> {
        if refs.iter().all(|(r, _)| r.uid.is_none()) {
            return Ok(vec![None; refs.len()]);
        }
        let result = self.with_control_keep(|c| {
            let r = altered_in(c, mailbox, refs);
            let _ = c.unselect();
            r
        });
        result.map_err(|e| self.err(e))
    }

    /// [`DestSession::gone_copies`](crate::dest::DestSession::gone_copies):
    /// EXAMINE and `UID SEARCH NOT UID <the copies>` in one flight; when
    /// EXISTS less the UIDs found that way still counts every copy, none
    /// is gone (the usual answer, with no line per message). Else every
    /// UID is listed (`UID FETCH 1:*`) and a copy is gone when the mailbox
    /// has its UIDVALIDITY and not its UID.
    pub(super) fn gone_now(
        &mut self,
        mailbox: &str,
        refs: &[DestRef],
    ) -> Result<Vec<bool>, DestError> {
        let mut uids: Vec<u32> = refs.iter().filter_map(|r| r.uid).collect();
        uids.sort_unstable();
        uids.dedup();
        if uids.is_empty() {
            return Ok(vec![false; refs.len()]);
        }
        let result = self.with_control_keep(|c| {
            let r = gone_in(c, mailbox, &uids);
            let _ = c.unselect();
            r
        });
        let (uv, listed, besides) = result.map_err(|e| self.err(e))?;
        self.probed.insert(
            mailbox.to_string(),
            Probed {
                uid_validity: uv,
                asked: uids.iter().copied().collect(),
                besides,
            },
        );
        Ok(refs
            .iter()
            .map(|r| match (&listed, r.uid, r.uid_validity) {
                (Some(on), Some(u), Some(v)) => Some(v) == uv && !on.contains(&u),
                _ => false,
            })
            .collect())
    }

    /// [`DestSession::set_flags`](crate::dest::DestSession::set_flags), command by command.
    pub(super) fn flags_now(
        &mut self,
        mailbox: &str,
        changes: &[crate::dest::FlagChange],
    ) -> Result<Vec<bool>, DestError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let result = self.with_control(|c| {
            let uv = c.select(mailbox)?.uid_validity;
            let (groups, answers) = flag_groups(uv, changes);
            for (flags, add, uids) in &groups {
                c.uid_store_flags(uids, *add, *flags)?;
            }
            // Leave read-write mode without CLOSE (which would expunge
            // what someone else marked \Deleted): EXAMINE, then unselect.
            let _ = c.examine(mailbox);
            let _ = c.unselect();
            Ok(answers)
        });
        result.map_err(|e| self.err(e))
    }

    /// [`DestSession::sync_changes`](crate::dest::DestSession::sync_changes): SELECT with the
    /// sizes of the copies to remove, then every STORE, the removal and
    /// leaving the mailbox, in two flights.
    pub(super) fn changes_now(
        &mut self,
        mailbox: &str,
        flags: &[crate::dest::FlagChange],
        remove: &[(DestRef, Option<u64>)],
    ) -> crate::dest::SyncAnswers {
        use crate::dest::SyncAnswers;
        if flags.is_empty() && remove.is_empty() {
            return SyncAnswers {
                flags: Ok(Vec::new()),
                removed: Ok(Vec::new()),
            };
        }
        // Without UID EXPUNGE, EXPUNGE would take every message anyone
        // marked \Deleted: nothing is removed.
        let uidplus = self.caps.uidplus;
        let removals = if uidplus { remove } else { &[] };
        let uids: Vec<u32> = removals.iter().filter_map(|(r, _)| r.uid).collect();
        // SELECT with the sizes of the copies to remove, then every STORE,
        // the removal and leaving the mailbox: two round trips.
        // STORE and UID EXPUNGE change neither UIDVALIDITY nor UIDNEXT (and
        // MESSAGES only falls): the STATUS prefetched for `deliver` stays.
        let result = self.with_control_keep(|c| {
            let (uv, sizes) = c.select_sizes(mailbox, &uids)?;
            let (groups, flag_answers) = flag_groups(uv, flags);
            let owned = owned(uv, removals, &sizes);
            let doomed: Vec<u32> = removals
                .iter()
                .zip(&owned)
                .filter(|(_, ok)| **ok)
                .filter_map(|((r, _), _)| r.uid)
                .collect();
            let still_there = c.change_and_leave(mailbox, &groups, &doomed)?;
            let answers: Vec<Removal> = removals
                .iter()
                .zip(owned)
                .map(|((r, _), ok)| match (ok, r.uid) {
                    // Expunged, and not found there after.
                    (true, Some(u)) if still_there.contains(&u) => Removal::Kept,
                    (true, _) => Removal::Removed,
                    // Same UIDVALIDITY, and the UID is not in the mailbox.
                    (false, Some(u))
                        if r.uid_validity.is_some()
                            && r.uid_validity == uv
                            && !sizes.contains_key(&u) =>
                    {
                        Removal::AlreadyGone
                    }
                    _ => Removal::Kept,
                })
                .collect();
            Ok((flag_answers, answers))
        });
        let no_uidplus = || {
            DestError::Unsupported(
                "the server has no UIDPLUS (UID EXPUNGE): nothing removed".into(),
            )
        };
        match result {
            Ok((f, r)) => SyncAnswers {
                flags: Ok(f),
                removed: if remove.is_empty() || uidplus {
                    Ok(r)
                } else {
                    Err(no_uidplus())
                },
            },
            Err(ImapError::Invalid(why)) => {
                // The flights could not say it: command by command.
                tracing::debug!("{}: {mailbox}: sync changes one by one: {why}", self.source);
                SyncAnswers {
                    flags: if flags.is_empty() {
                        Ok(Vec::new())
                    } else {
                        self.flags_now(mailbox, flags)
                    },
                    removed: if remove.is_empty() {
                        Ok(Vec::new())
                    } else {
                        self.remove_now(mailbox, remove).map(Removal::from_answers)
                    },
                }
            }
            Err(e) => {
                let why = e.to_string();
                SyncAnswers {
                    flags: Err(self.err(e)),
                    removed: Err(DestError::Connection(why)),
                }
            }
        }
    }

    /// [`DestSession::remove`](crate::dest::DestSession::remove), command by command.
    pub(super) fn remove_now(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, Option<u64>)],
    ) -> Result<Vec<bool>, DestError> {
        if refs.is_empty() {
            return Ok(Vec::new());
        }
        let result = self.with_control(|c| {
            if !c.capabilities().uidplus {
                // Without UID EXPUNGE, EXPUNGE would take every message
                // anyone marked \Deleted: nothing is removed.
                return Ok(None);
            }
            let uv = c.select(mailbox)?.uid_validity;
            let answers = still_ours(c, uv, refs)?;
            let doomed: Vec<u32> = refs
                .iter()
                .zip(&answers)
                .filter(|(_, ok)| **ok)
                .filter_map(|((r, _), _)| r.uid)
                .collect();
            let done = c.uid_delete(&doomed);
            let _ = c.examine(mailbox);
            let _ = c.unselect();
            done.map(|()| Some(answers))
        });
        match result.map_err(|e| self.err(e))? {
            Some(a) => Ok(a),
            None => Err(DestError::Unsupported(
                "the server has no UIDPLUS (UID EXPUNGE): nothing removed".into(),
            )),
        }
    }
}

/// What `sync`'s check for gone journaled copies of a folder
/// ([`DestSession::gone_copies`]) learnt of its mailbox: the UIDVALIDITY,
/// the UIDs asked about, and the UIDs it held besides. The folder's
/// `deliver` looks for unjournaled copies (its own earlier uploads with no
/// journal row) among what no row accounts for: when the UIDs asked about
/// are all the journal's, that is among `besides`, so with none of those
/// left once the journal's and this run's are taken out it asks nothing
/// again (the same EXAMINE and UID SEARCH, one round trip a folder). A
/// message arriving in between is someone else's, never an upload of ours:
/// the session is the only one writing the mailbox. Set by the check,
/// taken by the next `deliver`, dropped when the journal's copies of the
/// mailbox are given again (the next folder).
pub(super) struct Probed {
    uid_validity: Option<u32>,
    asked: HashSet<u32>,
    besides: Vec<u32>,
}

impl Probed {
    /// True when the mailbox (UIDVALIDITY `uv`, as `deliver` found it)
    /// holds nothing the journal's UIDs (`journal_uids`) and `exclude`
    /// (those and this run's) do not account for: every UID asked about
    /// is the journal's, and every UID held besides is excluded.
    pub(super) fn nothing_else(
        &self,
        uv: Option<u32>,
        journal_uids: &HashSet<u32>,
        exclude: &dyn Fn(Option<u32>, u32) -> bool,
    ) -> bool {
        uv.is_some()
            && self.uid_validity == uv
            && self.asked.iter().all(|u| journal_uids.contains(u))
            && self.besides.iter().all(|u| exclude(uv, *u))
    }
}

/// Which of `refs` (journaled copies, each with the size the target holds)
/// the selected mailbox (UIDVALIDITY `uv`) still holds: the very copy this
/// tool put there, same UIDVALIDITY and UID, and the size the journal has
/// for it where it has one. The proof `sync` asks before moving or
/// removing anything.
pub(super) fn still_ours(
    c: &mut ImapSession,
    uv: Option<u32>,
    refs: &[(DestRef, Option<u64>)],
) -> Result<Vec<bool>, ImapError> {
    let uids: Vec<u32> = refs.iter().filter_map(|(r, _)| r.uid).collect();
    let stored: HashMap<u32, u64> = c
        .uid_sizes_dates(&uids)?
        .into_iter()
        .map(|(u, s, _)| (u, s))
        .collect();
    Ok(owned(uv, refs, &stored))
}

/// [`still_ours`] from the sizes (`stored`, by UID) read in the mailbox of
/// UIDVALIDITY `uv`.
pub(super) fn owned(
    uv: Option<u32>,
    refs: &[(DestRef, Option<u64>)],
    stored: &HashMap<u32, u64>,
) -> Vec<bool> {
    refs.iter()
        .map(|(r, size)| {
            r.uid_validity.is_some()
                && r.uid_validity == uv
                && r.uid
                    .and_then(|u| stored.get(&u))
                    .is_some_and(|s| size.is_none_or(|want| *s == want))
        })
        .collect()
}

/// [`ImapAccountSession::altered_now`] in the connection `c`.
fn altered_in(
    c: &mut ImapSession,
    mailbox: &str,
    refs: &[(DestRef, u64)],
) -> Result<Vec<Option<AlteredCopy>>, ImapError> {
    let uv = c.examine(mailbox)?.uid_validity;
    let ours = |r: &DestRef| {
        r.uid
            .filter(|_| r.uid_validity.is_some() && r.uid_validity == uv)
    };
    let uids: Vec<u32> = refs.iter().filter_map(|(r, _)| ours(r)).collect();
    let held: HashMap<u32, u64> = c
        .uid_sizes_dates(&uids)?
        .into_iter()
        .map(|(u, s, _)| (u, s))
        .collect();
    let other: Vec<u32> = refs
        .iter()
        .filter_map(|(r, sent)| ours(r).filter(|u| held.get(u).is_some_and(|s| s != sent)))
        .collect();
    let mut ids: HashMap<u32, Option<String>> = HashMap::new();
    if !other.is_empty() {
        c.uid_bodies_each(&other, &mut |uid, body| {
            ids.insert(uid, message_id(body));
        })?;
    }
    Ok(refs
        .iter()
        .map(|(r, _)| {
            let uid = ours(r)?;
            let message_id = ids.get(&uid)?.clone();
            Some(AlteredCopy {
                size: *held.get(&uid)?,
                message_id,
            })
        })
        .collect())
}

/// What [`gone_in`] learns: the mailbox's UIDVALIDITY, unless EXISTS
/// proves all the UIDs asked about are there every UID it holds, and the
/// UIDs it holds besides those asked about.
type GoneProbe = (Option<u32>, Option<HashSet<u32>>, Vec<u32>);

/// [`GoneProbe`] of `mailbox` for `uids`.
fn gone_in(c: &mut ImapSession, mailbox: &str, uids: &[u32]) -> Result<GoneProbe, ImapError> {
    let counted = match c.examine_counted(mailbox, uids) {
        Ok(counted) => counted,
        Err(ImapError::Invalid(why)) => {
            tracing::debug!("{mailbox}: journaled copies listed, not counted: {why}");
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(k) = counted {
        let there = k
            .exists
            .map(|n| (n as usize).saturating_sub(k.unknown.len()));
        if there.is_some_and(|n| n >= uids.len()) {
            return Ok((k.uid_validity, None, k.unknown));
        }
    }
    // Some may be gone: every UID the mailbox holds, with the UIDVALIDITY
    // of this opening (the probe's flight may have left it).
    let uv = c.examine(mailbox)?.uid_validity;
    let on: HashSet<u32> = c.uid_sizes_from(1)?.into_iter().map(|(u, _)| u).collect();
    let asked: HashSet<u32> = uids.iter().copied().collect();
    let besides = on.difference(&asked).copied().collect();
    Ok((uv, Some(on), besides))
}

/// The flag changes of a mailbox (UIDVALIDITY `uv`) as `UID STORE` groups
/// (the same delta for many messages: one group), and one answer per
/// change: `false` for a copy of another UIDVALIDITY or without UID.
fn flag_groups(
    uv: Option<u32>,
    changes: &[crate::dest::FlagChange],
) -> (Vec<FlagGroup>, Vec<bool>) {
    let mut groups: Vec<FlagGroup> = Vec::new();
    let mut answers = Vec::with_capacity(changes.len());
    for ch in changes {
        let ok = ch.target.uid.is_some() && ch.target.uid_validity == uv;
        answers.push(ok);
        let Some(uid) = ch.target.uid.filter(|_| ok) else {
            continue;
        };
        let (add, remove) = ch.delta();
        for (flags, is_add) in [(add, true), (remove, false)] {
            if flags == crate::model::MailFlags::default() {
                continue;
            }
            match groups.iter_mut().find(|g| g.0 == flags && g.1 == is_add) {
                Some(g) => g.2.push(uid),
                None => groups.push((flags, is_add, vec![uid])),
            }
        }
    }
    (groups, answers)
}
