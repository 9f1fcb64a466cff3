//! `migrate --sync`: what changed at the source since the journaled state,
//! for the items the journal says are on the target. Flags changed in
//! Kerio are set on the target (only the four system flags, never
//! `\Deleted`; the delta only, so what someone changed on the target in
//! the other flags stays); items deleted at the source are counted and
//! reported, and removed only with `--propagate-deletes` (then only the
//! copies this tool put there: the journaled UIDVALIDITY, UID and size
//! still match). New items go through the normal migration, and so do
//! items still at the source whose journaled copy someone removed from the
//! target ([`SyncJob::resend_gone`]: provably gone, their rows forgotten).

use super::ledger::Ledger;
use super::reason;
use super::worklist::DoneRows;
use crate::dest::{DestRef, DestSession, FlagChange, Removal};
use crate::journal::{DoneItem, Journal, JournalError};
use crate::message::ContentHash;
use crate::model::MailFlags;
use crate::source::{Folder, Item};
use std::collections::HashSet;

/// One folder's sync pass.
pub(super) struct SyncJob<'a> {
    pub journal: &'a Journal,
    pub account: &'a str,
    pub folder: &'a Folder,
    pub mailbox: &'a str,
    pub propagate_deletes: bool,
    /// `--skip-deleted`: items flagged deleted are not sent, so not sent
    /// again either.
    pub skip_deleted: bool,
}

impl SyncJob<'_> {
    /// Before the work list: the journaled copies (in this mailbox) of
    /// items still at the source that the target says are gone (someone
    /// deleted them there: same UIDVALIDITY and no such UID, or no such
    /// file of ours) have their rows forgotten, in the journal and in
    /// `done`, so the items are migrated again in this run (each first
    /// looked for among what the mailbox holds). An item with another
    /// copy still there keeps it and is not sent.
    pub fn resend_gone(
        &self,
        session: &mut dyn DestSession,
        done: &mut DoneRows,
        ledger: &mut Ledger<'_>,
    ) -> Result<(), JournalError> {
        let live: HashSet<&str> = self
            .folder
            .items
            .iter()
            .filter(|i| i.is_mail() && !(self.skip_deleted && i.deleted()))
            .map(|i| i.id.as_str())
            .collect();
        let mut rows: Vec<(String, ContentHash)> = Vec::new();
        let mut refs: Vec<DestRef> = Vec::new();
        for (id, copies) in done.iter() {
            if !live.contains(id.as_str()) {
                continue;
            }
            for d in copies.iter().filter(|d| d.mailbox == self.mailbox) {
                rows.push((id.clone(), d.hash));
                refs.push(d.target.clone());
            }
        }
        if refs.is_empty() {
            return Ok(());
        }
        let answers = match session.gone_copies(self.mailbox, &refs) {
            Ok(a) => a,
            Err(e) => {
                ledger.note(format!(
                    "not checked whether journaled messages are still on the target: {}",
                    reason::dest_error(e)
                ));
                return Ok(());
            }
        };
        let gone: Vec<(String, ContentHash)> = rows
            .into_iter()
            .zip(answers.into_iter().chain(std::iter::repeat(false)))
            .filter_map(|(row, gone)| gone.then_some(row))
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        self.journal
            .forget_done(self.account, &self.folder.path, &gone)?;
        let mut items: HashSet<&str> = HashSet::new();
        for (id, hash) in &gone {
            if let Some(copies) = done.get_mut(id) {
                copies.retain(|d| !(d.hash == *hash && d.mailbox == self.mailbox));
                if copies.is_empty() {
                    done.remove(id);
                    items.insert(id.as_str());
                }
            }
        }
        let n = items.len() as u64;
        if n > 0 {
            ledger.sync_counts().sent_again += n;
            ledger.note(format!(
                "{n} messages still at the source were gone from the target (deleted there since the last run): sent again"
            ));
        }
        Ok(())
    }

    /// Compares `present` (items the journal has, same file) with their
    /// journaled flags, sets the changes on the target, records them, and
    /// counts the journaled items the source no longer has.
    pub fn run(
        &self,
        session: &mut dyn DestSession,
        done: &DoneRows,
        present: &[&Item],
        ledger: &mut Ledger<'_>,
    ) -> Result<(), JournalError> {
        let Compared {
            changes,
            rows,
            baseline,
        } = compare(done, present);
        self.journal
            .record_flags(self.account, &self.folder.path, &baseline)?;
        ledger.sync_counts().flags_baselined += baseline.len() as u64;
        let ids: HashSet<&str> = self.folder.items.iter().map(|i| i.id.as_str()).collect();
        let gone_ids: Vec<&String> = done.keys().filter(|k| !ids.contains(k.as_str())).collect();
        let mut gone = gone_ids.len() as u64;
        let removals = if self.propagate_deletes && gone > 0 {
            self.removals(session, done, &gone_ids, ledger)?
        } else {
            Removals::default()
        };
        // Flag changes and removals in one visit of the mailbox.
        let answers = session.sync_changes(self.mailbox, &changes, &removals.refs);
        self.record_flag_answers(answers.flags, changes.len(), rows, ledger)?;
        if !removals.refs.is_empty() {
            gone -= self.forget_removed(removals, answers.removed, ledger)?;
        }
        let c = *ledger.sync_counts();
        if c.flags_set > 0 {
            ledger.note(format!(
                "{} messages got the flags they have now at the source",
                c.flags_set
            ));
        }
        if c.flags_not_found > 0 {
            ledger.note(format!(
                "{} messages whose flags changed at the source are not on the target any more",
                c.flags_not_found
            ));
        }
        if gone > 0 {
            ledger.sync_counts().deleted_at_source = gone;
            ledger.note(format!(
                "{gone} messages deleted at the source since the last run are still on the target"
            ));
        }
        Ok(())
    }

    /// The flag pass for items found present by their content during the
    /// stream (their file's size or mtime changed: a store copied without
    /// its times), so their changes are carried in this run, not the next.
    pub fn late_flags(
        &self,
        session: &mut dyn DestSession,
        done: &DoneRows,
        items: &[&Item],
        ledger: &mut Ledger<'_>,
    ) -> Result<(), JournalError> {
        let Compared {
            changes,
            rows,
            baseline,
        } = compare(done, items);
        self.journal
            .record_flags(self.account, &self.folder.path, &baseline)?;
        ledger.sync_counts().flags_baselined += baseline.len() as u64;
        if changes.is_empty() {
            return Ok(());
        }
        let before = ledger.sync_counts().flags_set;
        let answers = session.sync_changes(self.mailbox, &changes, &[]);
        self.record_flag_answers(answers.flags, changes.len(), rows, ledger)?;
        let n = ledger.sync_counts().flags_set - before;
        if n > 0 {
            ledger.note(format!(
                "{n} messages found by their content (their file changed) got the flags they have now at the source"
            ));
        }
        Ok(())
    }

    /// Of `rewritten` (items the journal had, read again after the stream
    /// because their file changed, whose content it did not know), the
    /// earlier versions' rows of those whose new version arrived (is
    /// journaled now): the file holds other content under the same item id
    /// (edited in place, or the id given again).
    pub fn rewritten_earlier(
        &self,
        done: &DoneRows,
        rewritten: &[&str],
    ) -> Result<DoneRows, JournalError> {
        let mut earlier = DoneRows::new();
        if rewritten.is_empty() {
            return Ok(earlier);
        }
        let now = self
            .journal
            .done_items_of(self.account, &self.folder.path, rewritten)?;
        for (id, rows) in now {
            let Some(before) = done.get(&id) else {
                continue;
            };
            let had = |h: &ContentHash| before.iter().any(|b| b.hash == *h);
            if !rows.iter().any(|r| !had(&r.hash)) {
                continue;
            }
            let old: Vec<DoneItem> = rows.into_iter().filter(|r| had(&r.hash)).collect();
            if !old.is_empty() {
                earlier.insert(id, old);
            }
        }
        Ok(earlier)
    }

    /// Earlier versions of items changed at the source (`earlier`: their
    /// rows, the current version journaled beside them) are counted as
    /// deleted at the source, and removed with `--propagate-deletes` (the
    /// copies this tool placed only, as for deleted items).
    pub fn superseded(
        &self,
        session: &mut dyn DestSession,
        earlier: DoneRows,
        ledger: &mut Ledger<'_>,
    ) -> Result<(), JournalError> {
        if earlier.is_empty() {
            return Ok(());
        }
        let total = earlier.len() as u64;
        ledger.note(format!(
            "{total} messages changed at the source since they were sent (same item, other content): the new version is on the target"
        ));
        let mut kept = total;
        if self.propagate_deletes {
            let ids: Vec<&String> = earlier.keys().collect();
            let removals = self.removals(session, &earlier, &ids, ledger)?;
            if !removals.refs.is_empty() {
                let answers = session.sync_changes(self.mailbox, &[], &removals.refs);
                kept -= self.forget_removed(removals, answers.removed, ledger)?;
            }
        }
        if kept > 0 {
            ledger.sync_counts().deleted_at_source += kept;
            ledger.note(format!(
                "{kept} earlier versions of messages changed at the source are still on the target"
            ));
        }
        Ok(())
    }

    /// Journals the flags the target now has and counts the changes.
    fn record_flag_answers(
        &self,
        answers: Result<Vec<bool>, crate::dest::DestError>,
        asked: usize,
        rows: Vec<(String, ContentHash, MailFlags)>,
        ledger: &mut Ledger<'_>,
    ) -> Result<(), JournalError> {
        match answers {
            Ok(answers) => {
                let (set, gone): (Vec<_>, Vec<_>) = rows
                    .into_iter()
                    .zip(answers.iter().copied().chain(std::iter::repeat(false)))
                    .partition(|(_, ok)| *ok);
                let set: Vec<_> = set.into_iter().map(|(r, _)| r).collect();
                self.journal
                    .record_flags(self.account, &self.folder.path, &set)?;
                let c = ledger.sync_counts();
                c.flags_set += set.len() as u64;
                c.flags_not_found += gone.len() as u64;
            }
            Err(e) if asked > 0 => ledger.note(format!(
                "flags of {asked} messages not changed: {}",
                reason::dest_error(e)
            )),
            Err(_) => {}
        }
        Ok(())
    }

    /// `--propagate-deletes`: the gone items' copies to remove from the
    /// target. None when the folder has no items at all at the source (an
    /// unreadable directory must not empty a mailbox) or its listing had
    /// problems (it may have missed items that are still there).
    /// Rows without a stored size whose copy the target holds with another
    /// size are proven by UID and Message-ID first ([`super::proof`]).
    fn removals(
        &self,
        session: &mut dyn DestSession,
        done: &DoneRows,
        gone: &[&String],
        ledger: &mut Ledger<'_>,
    ) -> Result<Removals, JournalError> {
        if self.folder.items.is_empty() {
            ledger.note(
                "the folder has no items at the source: nothing removed from the target (--propagate-deletes)".into(),
            );
            return Ok(Removals::default());
        }
        if !self.folder.problems.is_empty() {
            ledger.note(format!(
                "the folder could not be read completely ({}): nothing removed from the target (--propagate-deletes)",
                crate::text::sample(&self.folder.problems)
            ));
            return Ok(Removals::default());
        }
        let mut copies: Vec<(String, DoneItem)> = Vec::new();
        for id in gone {
            for d in done.get(*id).into_iter().flatten() {
                copies.push(((*id).clone(), d.clone()));
            }
        }
        let here: Vec<super::proof::Journaled<'_>> = copies
            .iter_mut()
            .filter(|(_, d)| d.mailbox == self.mailbox)
            .map(|(item, row)| super::proof::Journaled {
                folder: &self.folder.path,
                item,
                row,
            })
            .collect();
        let mut notes = Vec::new();
        let proven = super::proof::prove_altered(
            self.journal,
            self.account,
            session,
            self.mailbox,
            here,
            &mut notes,
        )?;
        for n in notes {
            ledger.note(n);
        }
        if proven > 0 {
            ledger.note(reason::proven_altered(proven));
        }
        let mut r = Removals::default();
        for (id, d) in copies {
            r.rows.push((id, d.hash));
            r.refs.push((d.target.clone(), d.size_on_target()));
        }
        Ok(r)
    }

    /// Forgets the rows of the copies the target removed; how many items
    /// were removed.
    fn forget_removed(
        &self,
        removals: Removals,
        answers: Result<Vec<Removal>, crate::dest::DestError>,
        ledger: &mut Ledger<'_>,
    ) -> Result<u64, JournalError> {
        let answers = match answers {
            Ok(a) => a,
            Err(e) => {
                ledger.note(format!(
                    "messages deleted at the source not removed: {}",
                    reason::dest_error(e)
                ));
                return Ok(0);
            }
        };
        // Rows of copies removed now, or already gone from the target, are
        // forgotten; each item counts once, as removed if any of its
        // copies was.
        let mut forget: Vec<(String, ContentHash)> = Vec::new();
        let mut removed: HashSet<String> = HashSet::new();
        let mut already: HashSet<String> = HashSet::new();
        let answers = answers.into_iter().chain(std::iter::repeat(Removal::Kept));
        for (row, answer) in removals.rows.into_iter().zip(answers) {
            match answer {
                Removal::Removed => {
                    removed.insert(row.0.clone());
                }
                Removal::AlreadyGone => {
                    already.insert(row.0.clone());
                }
                Removal::Kept => continue,
            }
            forget.push(row);
        }
        self.journal
            .forget_done(self.account, &self.folder.path, &forget)?;
        let n = removed.len() as u64;
        let gone = already.difference(&removed).count() as u64;
        if n > 0 {
            ledger.sync_counts().deleted_on_target += n;
            ledger.note(format!(
                "{n} messages deleted at the source since the last run were removed from the target"
            ));
        }
        if gone > 0 {
            ledger.sync_counts().gone_from_target += gone;
            ledger.note(format!(
                "{gone} messages gone from this folder at the source since the last run were already gone from the target (deleted or moved there by something else): forgotten"
            ));
        }
        Ok(n + gone)
    }
}

/// The copies `--propagate-deletes` asks the target to remove: each row
/// (item, hash) with its copy (where, the size the target holds).
#[derive(Default)]
struct Removals {
    rows: Vec<(String, ContentHash)>,
    refs: Vec<(crate::model::DestRef, Option<u64>)>,
}

/// Flag changes of items the journal has (the last row of each): to set on
/// the target, the rows to journal with them, and rows without journaled
/// flags (baselined as the source has them now).
struct Compared {
    changes: Vec<FlagChange>,
    rows: Vec<(String, ContentHash, MailFlags)>,
    baseline: Vec<(String, ContentHash, MailFlags)>,
}

fn compare(done: &DoneRows, items: &[&Item]) -> Compared {
    let mut c = Compared {
        changes: Vec::new(),
        rows: Vec::new(),
        baseline: Vec::new(),
    };
    for item in items {
        let Some(d) = done.get(&item.id).and_then(|v| v.last()) else {
            continue;
        };
        let want = item.flags();
        match d.flags {
            None => c.baseline.push((item.id.clone(), d.hash, want)),
            Some(had) if had != want => {
                c.changes.push(FlagChange {
                    target: d.target.clone(),
                    from: had,
                    to: want,
                });
                c.rows.push((item.id.clone(), d.hash, want));
            }
            Some(_) => {}
        }
    }
    c
}
