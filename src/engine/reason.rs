//! The words of the report: every reason and note the engine writes for an
//! item, a folder or an account (the notes on what the source says of a
//! folder are in `account`). People read these and scripts grep them,
//! so a change here is a change of the tool's output (the report's JSON,
//! its text, the README's examples): keep them as they are unless that is
//! the point.

use std::fmt::Display;

/// Skipped: the run stopped (Ctrl-C, SIGTERM, a fatal error) before the
/// item was handed to the destination.
pub(super) const RUN_STOPPED: &str = "not attempted: run stopped";
/// Skipped: the journal failed at the folder's start, so nothing could be
/// sent safely.
pub(super) const JOURNAL_ERROR: &str = "not attempted: journal error";
/// Skipped: `--skip-deleted` and the index flags it 0x8.
pub(super) const FLAGGED_DELETED: &str = "flagged deleted (0x8) in index.fld; --skip-deleted";
/// Skipped: a 0-byte file.
pub(super) const EMPTY_FILE: &str = "empty file (0 bytes): nothing to migrate";
/// The anomaly counted for a 0-byte file.
pub(super) const EMPTY_FILE_ANOMALY: &str = "empty file";
/// Failed: the session ended without taking the item, while the run went
/// on.
pub(super) const DEST_STOPPED: &str = "not attempted: the target stopped taking messages";

/// Skipped: a groupware item in a mail folder (a contact or a meeting in
/// `Deleted Items`): the exporters take it, where is said.
pub(super) fn not_mail(item: &crate::source::Item) -> String {
    use crate::source::FolderKind as K;
    let (command, place) = match item.kind {
        K::Contacts => ("contacts", "into this folder's .vcf"),
        K::Notes => ("calendar", "into this folder's directory of notes"),
        _ => ("calendar", "into this folder's .ics"),
    };
    format!(
        "not mail: a {} item ({}); `kerio-migrate {command}` exports it {place}",
        item.kind, item.kind_source
    )
}

/// Failed: the file could not be read (or stat'ed).
pub(super) fn unreadable(e: impl Display) -> String {
    format!("unreadable: {e}")
}

/// Failed: larger than `--max-message-size`; not read.
pub(super) fn too_large(size: u64, max: u64) -> String {
    format!(
        "too large: {} ({size} bytes), more than --max-message-size {}; not read",
        crate::text::human_bytes(size),
        crate::text::human_bytes(max)
    )
}

/// How every "arrival in doubt" reason starts (the engine's and the
/// destinations'): such a failure is also counted as in doubt.
pub(super) const IN_DOUBT: &str = "arrival in doubt";

/// Failed: a previous run sent it and reconciliation could not tell.
pub(super) fn in_doubt(why: &str) -> String {
    format!("arrival in doubt: a previous run sent it and the target cannot tell whether it arrived ({why}); not sent again (rerun to check again)")
}

/// Failed: the session ended with an error before the item's turn.
pub(super) fn dest_error(e: impl Display) -> String {
    format!("target error: {e}")
}

/// Failed: the session took the item and never said what became of it;
/// `end` is why the stream ended ([`dest_error`] or [`RUN_STOPPED`]).
pub(super) fn no_outcome(end: &str) -> String {
    format!("no outcome reported by the target ({end})")
}

/// Skipped: the destination has no place for the account.
pub(super) fn not_mapped(why: &str) -> String {
    format!("not mapped: {why}")
}

/// Failed: the account's session could not be opened.
pub(super) fn not_opened(error: &str) -> String {
    format!("target account not opened: {error}")
}

/// Failed: the folder's mailbox could not be prepared.
pub(super) fn mailbox_unavailable(e: impl Display) -> String {
    format!("target mailbox not available: {e}")
}

/// The account's error when its session cannot be opened.
pub(super) fn cannot_open(e: impl Display) -> String {
    format!("cannot open the target account: {e}")
}

/// The account's error when its session does not close cleanly.
pub(super) fn cannot_close(e: impl Display) -> String {
    format!("closing the target account: {e}")
}

/// Folder note: the barrier failed, so a batch was not journaled as done.
pub(super) fn barrier_failed(e: impl Display) -> String {
    format!("could not sync the target before journaling: {e}")
}

/// Folder note: what the destination's folder mapping says.
pub(super) fn mapping_note(n: impl Display) -> String {
    format!("folder mapping: {n}")
}

/// Folder note: the outcome of reconciling a previous run's pending items.
pub(super) fn reconciled(total: usize, found: usize, sent_again: usize, in_doubt: usize) -> String {
    format!("{total} message(s) were in flight when a previous run stopped: {found} found on the target, {sent_again} not there (sent again), {in_doubt} in doubt (not sent again)")
}

/// Why reconciliation cannot tell: the session answered the wrong number
/// of times.
pub(super) fn wrong_answer_count(answers: usize, items: usize) -> String {
    format!("the target answered {answers} times for {items} items")
}

/// Why reconciliation cannot tell: the check itself failed.
pub(super) fn check_failed(e: impl Display) -> String {
    format!("the check failed: {e}")
}

/// An in-doubt reason, for an item sent to another mailbox than the one
/// its folder maps to now.
pub(super) fn elsewhere(why: &str, mailbox: &str) -> String {
    format!("{why} (in {mailbox:?}, where it was sent)")
}

/// Journaled copies recorded under another UIDVALIDITY of the mailbox.
pub(super) fn other_uid_validity(rows: usize, mailbox: &str, uv: u32) -> String {
    format!(
        "{rows} journaled messages were recorded under another UIDVALIDITY of {mailbox:?} (now {uv}: the mailbox was recreated or replaced on the server): sent again, each first looked for among what the mailbox holds"
    )
}

/// `--sync`: a journaled folder gone from the store, its copies left.
pub(super) fn folder_gone(folder: &str, messages: usize, mailbox: Option<&str>) -> String {
    format!(
        "folder {folder:?} is gone from the store (deleted in Kerio, or renamed where no journaled message shows the new name): {messages} message(s) this tool put in {:?} are still on the target; --propagate-deletes removes messages, not folders: delete the mailbox on the target if it should go",
        mailbox.unwrap_or(folder)
    )
}

/// Journal rows written under another URL for the same store, taken over.
pub(super) fn taken_over(rows: usize, from: &str) -> String {
    format!(
        "{rows} journal row(s) of this folder recorded under {from} taken over: the same login and server (the URL is only a hint), the mailbox's UIDVALIDITY unchanged"
    )
}

/// `--settle`: modified too recently to be sure Kerio finished writing it.
pub(super) const SETTLING: &str =
    "settling: modified within the --settle window (Kerio may still be writing it); left for the next run";

/// Copies journaled without a stored size (before journal schema 4) that
/// the server holds altered, proven ours by UID and Message-ID.
pub(super) fn proven_altered(copies: usize) -> String {
    format!(
        "{copies} messages journaled without the size the server stores (journal before schema 4), held with another size, were proven this tool's copies by their UID and Message-ID; their stored size is journaled now"
    )
}

/// `--sync`: items gone from a folder whose content came back into it
/// under a new id (see `moves::carry`).
pub(super) fn came_back(n: u64) -> String {
    format!(
        "{n} message(s) gone from this folder came back into it under a new id \
         (moved out and back, or renumbered, in Kerio since the last sync): journaled under \
         the new id, their copies on the target are theirs (not uploaded again while there)"
    )
}
