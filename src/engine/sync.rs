//! `migrate --sync`: what changed at the source since the journaled state,
//! for the items the journal says are on the target. Flags changed in
//! Kerio are set on the target (only the four system flags, never
//! `\Deleted`; the delta only, so what someone changed on the target in
//! the other flags stays); items deleted at the source are counted and
//! reported, never removed. New items go through the normal migration.

use super::ledger::Ledger;
use super::reason;
use super::worklist::DoneRows;
use crate::dest::{DestSession, FlagChange};
use crate::journal::{Journal, JournalError};
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
}

impl SyncJob<'_> {
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
        let mut changes: Vec<FlagChange> = Vec::new();
        let mut rows: Vec<(String, ContentHash, MailFlags)> = Vec::new();
        let mut baseline: Vec<(String, ContentHash, MailFlags)> = Vec::new();
        for item in present {
            let Some(d) = done.get(&item.id).and_then(|v| v.last()) else {
                continue;
            };
            let want = item.flags();
            match d.flags {
                None => baseline.push((item.id.clone(), d.hash, want)),
                Some(had) if had != want => {
                    changes.push(FlagChange {
                        target: d.target.clone(),
                        from: had,
                        to: want,
                    });
                    rows.push((item.id.clone(), d.hash, want));
                }
                Some(_) => {}
            }
        }
        self.journal
            .record_flags(self.account, &self.folder.path, &baseline)?;
        ledger.sync_counts().flags_baselined += baseline.len() as u64;
        if !changes.is_empty() {
            match session.set_flags(self.mailbox, &changes) {
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
                Err(e) => ledger.note(format!(
                    "flags of {} messages not changed: {}",
                    changes.len(),
                    reason::dest_error(e)
                )),
            }
        }
        let ids: HashSet<&str> = self.folder.items.iter().map(|i| i.id.as_str()).collect();
        let gone = done.keys().filter(|k| !ids.contains(k.as_str())).count() as u64;
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
}
