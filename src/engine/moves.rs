//! `migrate --sync`: messages moved between folders in Kerio. An item gone
//! from folder A whose content (hash) turns up as a new item in folder B
//! of the same account is moved on the target (IMAP `UID MOVE`, or COPY,
//! `\Deleted` and `UID EXPUNGE` of that UID only), not uploaded again; its
//! journal row moves with it, so A does not count it as deleted and B finds
//! it present. One that turns up in A itself under a new id (moved out and
//! back between two syncs, or renumbered) keeps its copy: only its row is
//! re-keyed. Only files whose size matches a gone row are read for their
//! hash, before the folders are migrated.

use super::Run;
use crate::dest::{DestSession, MailboxSpec, MoveOut, Sought};
use crate::journal::{DoneItem, ItemRow, JournalError};
use crate::message::ContentHash;
use crate::source::{Folder, FolderKind, Item};
use std::collections::{HashMap, HashSet};

/// A journaled copy whose source item is gone.
struct Gone {
    folder: String,
    item: String,
    row: DoneItem,
}

/// Gone copies by their content hash (several: a store may hold the same
/// message twice, in two folders, and both be moved).
type GoneByHash = HashMap<ContentHash, Vec<Gone>>;
/// Each folder's items the journal has no row for (the new ones: few).
type Unjournaled<'f> = HashMap<&'f str, HashSet<&'f str>>;

/// Finds and carries out the account's moves; returns what arrived
/// per destination folder (source path). The journaled folders in
/// `vanished` (gone from the store, not renamed) count as gone entirely.
/// A gone copy journaled without its stored size that the server holds
/// with another size is proven by UID and Message-ID first
/// ([`super::proof`]); what that says goes to `notes`.
pub(super) fn carry(
    run: &Run<'_>,
    account: &str,
    session: &mut dyn DestSession,
    folders: &[Folder],
    vanished: &[String],
    notes: &mut Vec<String>,
) -> Result<HashMap<String, Arrived>, JournalError> {
    let selected: Vec<&Folder> = folders
        .iter()
        .filter(|f| f.kind() == FolderKind::Mail && run.opts.selection.folder(&f.path))
        .collect();
    let (mut gone, fresh) = gone_and_fresh(run, account, &selected)?;
    for folder in vanished {
        for (id, rows) in run.journal.done_items(account, folder)? {
            if let Some(row) = rows.last() {
                let g = Gone {
                    folder: folder.clone(),
                    item: id.clone(),
                    row: row.clone(),
                };
                gone.entry(row.hash).or_default().push(g);
            }
        }
    }
    let mut arrived: HashMap<String, Arrived> = HashMap::new();
    if gone.is_empty() {
        return Ok(arrived);
    }
    // Moves earlier runs sent and did not journal (see found_done).
    let moving = run.journal.moving(account)?;
    let recorded = |g: &Gone| moving.contains_key(&(g.folder.clone(), g.item.clone(), g.row.hash));
    let sizes: HashSet<u64> = gone
        .values()
        .flatten()
        .filter_map(|g| g.row.src_size)
        .collect();
    // First every move found (only new files whose size matches a gone
    // copy are read), then carried out per pair of mailboxes in one
    // command, then journaled in one transaction.
    let mut planned: Vec<Planned> = Vec::new();
    'folders: for f in &selected {
        let mut mailbox: Option<String> = None;
        for item in &f.items {
            if gone.is_empty() {
                break 'folders;
            }
            if !item.is_mail()
                || !fresh
                    .get(f.path.as_str())
                    .is_some_and(|k| k.contains(item.id.as_str()))
            {
                continue;
            }
            let Ok(stat) = item.stat() else { continue };
            if !sizes.contains(&stat.size) {
                continue;
            }
            let Ok(data) = item.read() else { continue };
            let prepared = crate::message::prepare(data.bytes);
            let hash = prepared.hash;
            // A copy gone from this folder first: the item came back
            // under a new id (moved out and back, or renumbered, between
            // two syncs), its copy is where it must be and only its row
            // is re-keyed (uploading it again left two copies without
            // --propagate-deletes); else one gone from another folder.
            let Some(at) = gone.get(&hash).and_then(|list| {
                list.iter()
                    .position(|g| g.folder == f.path)
                    .or_else(|| (!list.is_empty()).then_some(0))
            }) else {
                continue;
            };
            let Some(to) = folder_mailbox(session, f, &mut mailbox) else {
                break;
            };
            let Some(list) = gone.get_mut(&hash) else {
                continue;
            };
            let g = list.swap_remove(at);
            if list.is_empty() {
                gone.remove(&hash);
            }
            planned.push(Planned {
                folder: f.path.clone(),
                item: item.id.clone(),
                source: item,
                sought: Sought {
                    size: prepared.bytes.len() as u64,
                    message_id: crate::message::header_value(&prepared.bytes, "Message-ID"),
                },
                hash,
                src_size: stat.size,
                src_mtime: stat.mtime,
                to,
                gone: g,
            });
        }
    }
    // Per source mailbox, every move out of it in one visit.
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut targets: Vec<Option<crate::model::DestRef>> = vec![None; planned.len()];
    for (n, p) in planned.iter().enumerate() {
        if p.gone.row.mailbox == p.to {
            // The folders share a mailbox: the copy is where it must be
            // (unless an earlier run moved it out: found_done looks).
            if !recorded(&p.gone) {
                targets[n] = Some(p.gone.row.target.clone());
            }
            continue;
        }
        match groups.iter_mut().find(|(m, _)| *m == p.gone.row.mailbox) {
            Some((_, v)) => v.push(n),
            None => groups.push((p.gone.row.mailbox.clone(), vec![n])),
        }
    }
    // Every group's ownership proof first, then all the moves in one call
    // (IMAP chains the source mailboxes: one round trip each).
    let mut all: Vec<(String, Vec<MoveOut>)> = Vec::new();
    for (from, members) in &groups {
        let wanted: HashSet<usize> = members.iter().copied().collect();
        let here: Vec<super::proof::Journaled<'_>> = planned
            .iter_mut()
            .enumerate()
            .filter(|(n, _)| wanted.contains(n))
            .map(|(_, p)| {
                let Gone { folder, item, row } = &mut p.gone;
                super::proof::Journaled { folder, item, row }
            })
            .collect();
        let proven = super::proof::prove_altered(run.journal, account, session, from, here, notes)?;
        if proven > 0 {
            notes.push(super::reason::proven_altered(proven));
        }
        let reqs: Vec<MoveOut> = members
            .iter()
            .map(|&n| {
                let p = &planned[n];
                MoveOut {
                    copy: p.gone.row.target.clone(),
                    size: p.gone.row.size_on_target(),
                    to: p.to.clone(),
                }
            })
            .collect();
        all.push((from.clone(), reqs));
    }
    // Recorded before they are sent: a run killed before they are
    // journaled leaves the next one where to look (see found_done).
    let intents: Vec<(&str, &str, ContentHash, &str)> = groups
        .iter()
        .flat_map(|(_, members)| members.iter())
        .map(|&n| {
            let p = &planned[n];
            (
                p.gone.folder.as_str(),
                p.gone.item.as_str(),
                p.gone.row.hash,
                p.to.as_str(),
            )
        })
        .collect();
    run.journal.record_moving(account, &intents)?;
    // Not moved (an error, or not that copy any more): the item is
    // uploaded by its folder's pass as a new one.
    let answers = session.move_out_many(&all);
    for ((_, members), list) in groups.iter().zip(answers) {
        for (&n, t) in members.iter().zip(list) {
            targets[n] = t;
        }
    }
    found_done(
        run,
        account,
        session,
        &planned,
        &moving,
        &mut targets,
        notes,
    )?;
    let mut rows: Vec<ItemRow> = Vec::new();
    let mut forget: HashMap<String, Vec<(String, ContentHash)>> = HashMap::new();
    for (p, target) in planned.into_iter().zip(targets) {
        let Some(target) = target else { continue };
        // Kept where it was (not moved back from where a killed run took
        // it): back under a new id.
        let kept = p.gone.folder == p.folder && target == p.gone.row.target;
        rows.push(ItemRow {
            account: account.to_string(),
            folder: p.folder.clone(),
            item: p.item,
            hash: p.hash,
            src_size: Some(p.src_size),
            src_mtime: p.src_mtime,
            mailbox: p.to,
            target_id: target.id,
            uid_validity: target.uid_validity,
            uid: target.uid,
            size: p.gone.row.size,
            stored_size: p.gone.row.stored_size,
            flags: p.gone.row.flags,
            message_id: p.gone.row.message_id.clone(),
            ..ItemRow::default()
        });
        let a = arrived.entry(p.folder.clone()).or_default();
        if kept {
            a.came_back += 1;
        } else {
            a.moved_in += 1;
        }
        forget
            .entry(p.gone.folder)
            .or_default()
            .push((p.gone.item, p.gone.row.hash));
    }
    // The new rows and the old folders' rows they replace in one
    // transaction: a crash leaves the old rows (the moves are found again)
    // or the new ones, never a moved copy counted in both folders.
    let forget: Vec<(String, Vec<(String, ContentHash)>)> = forget.into_iter().collect();
    run.journal.record_moves(account, &rows, &forget)?;
    if run.opts.propagate_deletes {
        // Folders whose listing can be trusted to say an item is gone
        // (as the folder pass's removals: read whole, not empty).
        let whole: HashSet<&str> = selected
            .iter()
            .filter(|f| !f.items.is_empty() && f.problems.is_empty())
            .map(|f| f.path.as_str())
            .collect();
        let left: Vec<&Gone> = gone
            .values()
            .flatten()
            .filter(|g| whole.contains(g.folder.as_str()) && recorded(g))
            .collect();
        removed_where_recorded(run, account, session, &left, &moving, notes)?;
    }
    Ok(arrived)
}

/// `--propagate-deletes`: items deleted in Kerio whose copy an earlier
/// run was moving (recorded, not journaled: killed in between). The copy
/// gone from its journaled mailbox and found, by the size the server holds
/// for it and its Message-ID, among the messages no journal row holds in
/// the mailbox the record names, is removed from there and its row
/// forgotten; before, it stayed there while the folder's pass found its
/// journaled copy "already gone" (helper-60). A copy not found, or
/// recognised only by bytes (which a deleted item no longer has), is left
/// to the folder's pass as before.
fn removed_where_recorded(
    run: &Run<'_>,
    account: &str,
    session: &mut dyn DestSession,
    left: &[&Gone],
    moving: &crate::journal::Moving,
    notes: &mut Vec<String>,
) -> Result<(), JournalError> {
    if left.is_empty() {
        return Ok(());
    }
    let mut gone: Vec<&Gone> = Vec::new();
    for (from, members) in grouped(
        left.iter()
            .enumerate()
            .map(|(n, g)| (g.row.mailbox.as_str(), n)),
    ) {
        let refs: Vec<crate::model::DestRef> = members
            .iter()
            .map(|&n| left[n].row.target.clone())
            .collect();
        let Ok(answers) = session.gone_copies(from, &refs) else {
            continue;
        };
        gone.extend(
            members
                .iter()
                .zip(answers)
                .filter(|(_, is_gone)| *is_gone)
                .map(|(&n, _)| left[n]),
        );
    }
    let mut wanted: Vec<(&str, usize)> = Vec::new();
    for (n, g) in gone.iter().enumerate() {
        let key = (g.folder.clone(), g.item.clone(), g.row.hash);
        for m in moving.get(&key).into_iter().flatten() {
            wanted.push((m.as_str(), n));
        }
    }
    let mut done: HashSet<usize> = HashSet::new();
    for (mailbox, members) in grouped(wanted.into_iter()) {
        let members: Vec<usize> = members.into_iter().filter(|n| !done.contains(n)).collect();
        let Some(uid_validity) = session.uid_validity_of(mailbox) else {
            continue;
        };
        let taken: HashSet<u32> = run
            .journal
            .done_in_mailbox(account, mailbox)?
            .into_iter()
            .filter_map(|c| c.uid)
            .collect();
        let sought: Vec<Sought> = members
            .iter()
            .map(|&n| Sought {
                size: gone[n].row.size_on_target().unwrap_or(0),
                message_id: gone[n].row.message_id.clone(),
            })
            .collect();
        let Ok(answer) = session.find_by_content(mailbox, &sought, &taken, &mut |_| None) else {
            continue;
        };
        if session.uid_validity_of(mailbox) != Some(uid_validity) {
            continue;
        }
        let altered: HashSet<usize> = answer.altered.iter().map(|(i, _)| *i).collect();
        let found: Vec<(usize, u32)> = answer
            .found
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !altered.contains(i))
            .filter_map(|(i, uid)| uid.map(|u| (members[i], u)))
            .filter(|(n, _)| gone[*n].row.message_id.is_some())
            .collect();
        if found.is_empty() {
            continue;
        }
        let refs: Vec<(crate::model::DestRef, Option<u64>)> = found
            .iter()
            .map(|&(n, uid)| {
                let copy = crate::model::DestRef::imap(Some(uid_validity), Some(uid));
                (copy, gone[n].row.size_on_target())
            })
            .collect();
        let Ok(removed) = session.remove(mailbox, &refs) else {
            continue;
        };
        let mut k = 0u64;
        for (&(n, _), ok) in found.iter().zip(removed) {
            if !ok {
                continue;
            }
            let g = gone[n];
            run.journal
                .forget_done(account, &g.folder, &[(g.item.clone(), g.row.hash)])?;
            done.insert(n);
            k += 1;
        }
        if k > 0 {
            notes.push(format!(
                "{k} messages deleted at the source that an earlier run had moved into {mailbox} and not journaled were removed from there (--propagate-deletes)"
            ));
        }
    }
    Ok(())
}

/// What the moves brought into one folder.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Arrived {
    /// Copies moved here from another folder's mailbox.
    pub moved_in: u64,
    /// Items back in this folder under a new id: their copies kept, their
    /// rows re-keyed.
    pub came_back: u64,
}

/// A move found: the new item in `folder` and the gone copy it is.
struct Planned<'f> {
    folder: String,
    item: String,
    /// The new item, and what finds its copy by content.
    source: &'f Item,
    sought: Sought,
    hash: ContentHash,
    src_size: u64,
    src_mtime: Option<i64>,
    /// The mailbox of `folder`.
    to: String,
    gone: Gone,
}

/// Moves not made now whose copy an earlier run moved and did not journal
/// (killed between the server's answer and the journal's commit): the
/// journaled copy is provably gone from its mailbox and a copy of the same
/// content, no journal row's (nor one of this run's moves), is in the
/// destination mailbox, or in a mailbox an earlier run recorded it was
/// moving it to (`moving`: the item moved again in Kerio since). Found in
/// the destination, it is taken as moved (`targets` filled); found where
/// the earlier run took it, it is moved on from there. So the source
/// folder does not count its copy gone from the target, the destination
/// folder neither uploads it nor adopts it as found, and no copy is left
/// behind unaccounted for. Asked only when some move was not made: one
/// gone check per source mailbox, one look by content per mailbox. A
/// target that cannot tell leaves them to the folders' passes, as before.
fn found_done(
    run: &Run<'_>,
    account: &str,
    session: &mut dyn DestSession,
    planned: &[Planned<'_>],
    moving: &crate::journal::Moving,
    targets: &mut [Option<crate::model::DestRef>],
    notes: &mut Vec<String>,
) -> Result<(), JournalError> {
    // Moves not made, and copies back in their own mailbox in Kerio that
    // an earlier run was moving out.
    let missed: Vec<usize> = (0..planned.len())
        .filter(|&n| targets[n].is_none())
        .collect();
    if missed.is_empty() {
        return Ok(());
    }
    // Which of the missed copies are gone from their journaled mailbox.
    let mut gone: Vec<usize> = Vec::new();
    for (from, members) in grouped(
        missed
            .iter()
            .map(|&n| (planned[n].gone.row.mailbox.as_str(), n)),
    ) {
        let refs: Vec<crate::model::DestRef> = members
            .iter()
            .map(|&n| planned[n].gone.row.target.clone())
            .collect();
        let Ok(answers) = session.gone_copies(from, &refs) else {
            continue;
        };
        for (&n, is_gone) in members.iter().zip(answers) {
            let p = &planned[n];
            if is_gone {
                gone.push(n);
            } else if p.gone.row.mailbox == p.to {
                // Never moved out after all: where it must be.
                targets[n] = Some(p.gone.row.target.clone());
            }
        }
    }
    // Where to look: the destination first, then where earlier runs were
    // moving the copy.
    let mut wanted: Vec<(&str, usize)> = Vec::new();
    for &n in &gone {
        let p = &planned[n];
        wanted.push((p.to.as_str(), n));
        let key = (p.gone.folder.clone(), p.gone.item.clone(), p.gone.row.hash);
        for m in moving.get(&key).into_iter().flatten() {
            if *m != p.to {
                wanted.push((m.as_str(), n));
            }
        }
    }
    let mut found: std::collections::BTreeMap<usize, (&str, u32, u32)> = Default::default();
    for (mailbox, members) in grouped(wanted.into_iter()) {
        let members: Vec<usize> = members
            .into_iter()
            .filter(|n| !found.contains_key(n))
            .collect();
        if members.is_empty() {
            continue;
        }
        let Some(uid_validity) = session.uid_validity_of(mailbox) else {
            continue;
        };
        let mut taken: HashSet<u32> = run
            .journal
            .done_in_mailbox(account, mailbox)?
            .into_iter()
            .filter_map(|c| c.uid)
            .collect();
        taken.extend(
            planned
                .iter()
                .zip(targets.iter())
                .filter(|(p, _)| p.to == mailbox)
                .filter_map(|(_, t)| t.as_ref().and_then(|t| t.uid)),
        );
        taken.extend(found.values().filter(|f| f.0 == mailbox).map(|f| f.2));
        // The copy looked for is the journaled one, moved: the size it has
        // on the server, which is not the source's when the server stored
        // it altered (NULs, 8-bit headers).
        let sought: Vec<Sought> = members
            .iter()
            .map(|&n| {
                let p = &planned[n];
                Sought {
                    size: p.gone.row.size_on_target().unwrap_or(p.sought.size),
                    message_id: p.sought.message_id.clone(),
                }
            })
            .collect();
        let answer = session.find_by_content(mailbox, &sought, &taken, &mut |i| {
            let raw = planned[members[i]].source.read().ok()?;
            Some(crate::message::prepare(raw.bytes).bytes)
        });
        let Ok(answer) = answer else { continue };
        if session.uid_validity_of(mailbox) != Some(uid_validity) {
            continue;
        }
        // A copy recognised with other bytes is taken only where the
        // journal says the server stored this one altered.
        let altered: HashSet<usize> = answer.altered.iter().map(|(i, _)| *i).collect();
        for (i, uid) in answer.found.into_iter().enumerate() {
            let row = &planned[members[i]].gone.row;
            let stored_altered = row.stored_size.is_some_and(|s| Some(s) != row.size);
            if let (Some(uid), true) = (uid, !altered.contains(&i) || stored_altered) {
                found.insert(members[i], (mailbox, uid_validity, uid));
            }
        }
    }
    // In the destination: moved. Elsewhere: moved on from there.
    let mut here: HashMap<&str, u64> = HashMap::new();
    let mut on: Vec<(&str, usize, MoveOut)> = Vec::new();
    for (&n, &(mailbox, uid_validity, uid)) in &found {
        let p = &planned[n];
        let copy = crate::model::DestRef::imap(Some(uid_validity), Some(uid));
        if mailbox == p.to {
            targets[n] = Some(copy);
            *here.entry(mailbox).or_default() += 1;
        } else {
            let size = p.gone.row.size_on_target();
            on.push((
                mailbox,
                n,
                MoveOut {
                    copy,
                    size,
                    to: p.to.clone(),
                },
            ));
        }
    }
    for (to, k) in here {
        notes.push(format!(
            "{k} moves into {to} an earlier run made but did not journal were found done: journaled now"
        ));
    }
    if on.is_empty() {
        return Ok(());
    }
    let again_of = grouped(on.iter().map(|(from, n, _)| (*from, *n)));
    let mut outs: HashMap<usize, MoveOut> = on.into_iter().map(|(_, n, m)| (n, m)).collect();
    let again: Vec<(String, Vec<MoveOut>)> = again_of
        .iter()
        .map(|(from, ns)| {
            let moves = ns.iter().filter_map(|n| outs.remove(n)).collect();
            (from.to_string(), moves)
        })
        .collect();
    let answers = session.move_out_many(&again);
    for ((from, members), list) in again_of.iter().zip(answers) {
        let mut k = 0u64;
        for (&n, t) in members.iter().zip(list) {
            if t.is_some() {
                k += 1;
            }
            targets[n] = t;
        }
        if k > 0 {
            notes.push(format!(
                "{k} messages an earlier run moved into {from} and did not journal (their items moved again in Kerio since) were moved on from there"
            ));
        }
    }
    Ok(())
}

/// `(key, value)` pairs grouped by key, in the order keys first come.
fn grouped<'k>(pairs: impl Iterator<Item = (&'k str, usize)>) -> Vec<(&'k str, Vec<usize>)> {
    let mut out: Vec<(&'k str, Vec<usize>)> = Vec::new();
    for (k, n) in pairs {
        match out.iter_mut().find(|(m, _)| *m == k) {
            Some((_, v)) => v.push(n),
            None => out.push((k, vec![n])),
        }
    }
    out
}

/// The destination mailbox of folder `f`, named (or created) once
/// (`None` when it cannot be: its items then go by the folder's own pass).
fn folder_mailbox(
    session: &mut dyn DestSession,
    f: &Folder,
    mailbox: &mut Option<String>,
) -> Option<String> {
    if let Some(m) = mailbox {
        return Some(m.clone());
    }
    let spec = MailboxSpec {
        source_path: f.path.clone(),
        components: f.components.clone(),
    };
    let m = session.mailbox_for_moves(&spec).ok()?;
    Some(mailbox.insert(m).clone())
}

/// The journaled copies whose source item is gone from its folder (by
/// content hash), and every folder's items the journal has no row for.
fn gone_and_fresh<'f>(
    run: &Run<'_>,
    account: &str,
    selected: &[&'f Folder],
) -> Result<(GoneByHash, Unjournaled<'f>), JournalError> {
    let mut gone: GoneByHash = HashMap::new();
    let mut fresh: Unjournaled<'f> = HashMap::new();
    for f in selected {
        // The journal's key merged with the folder's sorted ids; full rows
        // only for the items gone from the folder (few).
        let mut ids: Vec<&'f str> = f.items.iter().map(|i| i.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let diff = run.journal.compare_ids(account, &f.path, &ids)?;
        if !diff.missing.is_empty() {
            let missing: Vec<&str> = diff.missing.iter().map(String::as_str).collect();
            for (id, rows) in run.journal.done_items_of(account, &f.path, &missing)? {
                if let Some(row) = rows.last() {
                    gone.entry(row.hash).or_default().push(Gone {
                        folder: f.path.clone(),
                        item: id,
                        row: row.clone(),
                    });
                }
            }
        }
        let new: HashSet<&'f str> = diff.unjournaled.iter().map(|&n| ids[n]).collect();
        fresh.insert(f.path.as_str(), new);
    }
    Ok((gone, fresh))
}
