//! Settling, at a folder's start, what an interrupted run left pending:
//! items announced to the journal and sent, whose fate nobody recorded.
//!
//! Each pending item is checked in the mailbox it was sent to (the mapping
//! may have changed since), against the journal's other items there:
//! found → journaled as done (the work list then finds it present), certainly
//! absent → forgotten (and sent again), cannot tell → left pending and
//! returned as in doubt, so it is neither sent again nor counted as there.
//!
//! Invariants a maintainer must keep:
//! - a byte-identical pending item is never matched to a copy the journal
//!   gives to another item (`known` is passed to the session);
//! - an answer of the wrong length, or an error, means "cannot tell" for
//!   every item of that mailbox, never "absent";
//! - any journal error is returned at once: the folder sends nothing.

use super::reason;
use super::worklist::InDoubt;
use crate::dest::{DestRef, DestSession, Reconciled};
use crate::journal::{ItemRow, Journal, JournalError, PendingItem};

/// What reconciliation found.
#[derive(Debug, Default)]
pub(super) struct Reconciliation {
    /// Items not to send in this run, with why.
    pub in_doubt: InDoubt,
    /// The folder note, when anything was pending.
    pub note: Option<String>,
}

/// Where a folder's pending items are looked for.
#[derive(Debug, Clone, Copy)]
pub(super) struct PendingPlace<'a> {
    pub account: &'a str,
    pub folder: &'a str,
    /// The mailbox the folder maps to now.
    pub mailbox: &'a str,
}

/// Settles the folder's pending items.
pub(super) fn reconcile(
    journal: &Journal,
    session: &mut dyn DestSession,
    place: PendingPlace<'_>,
) -> Result<Reconciliation, JournalError> {
    let pending = journal.pending_items(place.account, place.folder)?;
    let mut out = Reconciliation::default();
    if pending.is_empty() {
        return Ok(out);
    }
    let total = pending.len();
    let (mut found, mut sent_again) = (0, 0);
    for (mailbox, items) in by_mailbox(pending) {
        // Other items already in that mailbox: a byte-identical pending
        // item must not be matched to their copies.
        let known = journal.done_in_mailbox(place.account, &mailbox)?;
        let answers = answers(session.reconcile(&mailbox, &items, &known), items.len());
        let mut done_rows = Vec::new();
        let mut absent = Vec::new();
        for (p, a) in items.into_iter().zip(answers) {
            match a {
                Reconciled::Present(r) => done_rows.push(done_row(place, p, r)),
                Reconciled::Absent => absent.push((p.item, p.hash)),
                Reconciled::Unknown(why) => {
                    let why = if mailbox == place.mailbox {
                        why
                    } else {
                        reason::elsewhere(&why, &mailbox)
                    };
                    out.in_doubt.insert(p.item, why);
                }
            }
        }
        found += done_rows.len();
        sent_again += absent.len();
        journal.record_done(&done_rows)?;
        journal.clear_pending(place.account, place.folder, &absent)?;
    }
    out.note = Some(reason::reconciled(
        total,
        found,
        sent_again,
        out.in_doubt.len(),
    ));
    Ok(out)
}

/// Pending items grouped by the mailbox they were sent to, in the order
/// each mailbox first appears.
fn by_mailbox(pending: Vec<PendingItem>) -> Vec<(String, Vec<PendingItem>)> {
    let mut groups: Vec<(String, Vec<PendingItem>)> = Vec::new();
    for p in pending {
        match groups.iter_mut().find(|(m, _)| *m == p.mailbox) {
            Some((_, v)) => v.push(p),
            None => groups.push((p.mailbox.clone(), vec![p])),
        }
    }
    groups
}

/// One answer per item: the session's, or "cannot tell" for all of them.
fn answers<E: std::fmt::Display>(got: Result<Vec<Reconciled>, E>, items: usize) -> Vec<Reconciled> {
    match got {
        Ok(a) if a.len() == items => a,
        Ok(a) => vec![Reconciled::Unknown(reason::wrong_answer_count(a.len(), items)); items],
        Err(e) => vec![Reconciled::Unknown(reason::check_failed(e)); items],
    }
}

/// The done row of a pending item found on the destination.
fn done_row(place: PendingPlace<'_>, p: PendingItem, r: DestRef) -> ItemRow {
    ItemRow {
        account: place.account.to_string(),
        folder: place.folder.to_string(),
        target_id: r.id,
        uid_validity: r.uid_validity,
        uid: r.uid,
        size: p.size,
        internal_date: p.internal_date,
        src_size: p.src_size,
        src_mtime: p.src_mtime,
        marker: None,
        item: p.item,
        hash: p.hash,
        mailbox: p.mailbox,
        message_id: p.message_id,
        // The flags it was sent with: what the copy found has, so that
        // `sync` sets what changed at the source since.
        flags: p.flags,
        stored_size: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_number_of_answers_or_an_error_is_cannot_tell_for_all() {
        let two = answers::<String>(Ok(vec![Reconciled::Absent]), 2);
        assert_eq!(
            two,
            vec![Reconciled::Unknown("the target answered 1 times for 2 items".into()); 2]
        );
        let err = answers::<&str>(Err("EOF"), 1);
        assert_eq!(
            err,
            vec![Reconciled::Unknown("the check failed: EOF".into())]
        );
        let ok = answers::<&str>(Ok(vec![Reconciled::Absent]), 1);
        assert_eq!(ok, vec![Reconciled::Absent]);
    }

    #[test]
    fn groups_keep_first_appearance_order() {
        let p = |item: &str, mailbox: &str| PendingItem {
            item: item.into(),
            hash: crate::model::ContentHash::of(item.as_bytes()),
            mailbox: mailbox.into(),
            marker: None,
            size: None,
            internal_date: None,
            message_id: None,
            src_size: None,
            src_mtime: None,
            flags: None,
        };
        let g = by_mailbox(vec![p("1", "B"), p("2", "A"), p("3", "B")]);
        let got: Vec<(&str, Vec<&str>)> = g
            .iter()
            .map(|(m, v)| (m.as_str(), v.iter().map(|p| p.item.as_str()).collect()))
            .collect();
        assert_eq!(got, vec![("B", vec!["1", "3"]), ("A", vec!["2"])]);
    }
}
