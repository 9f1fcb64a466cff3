//! Targets: where prepared messages go. The driver ([`crate::engine`])
//! only sees the [`Destination`] / [`DestSession`] interface defined here; the
//! Maildir target ([`maildir`]) and the IMAP target implement it, and no
//! type of an IMAP library leaves the IMAP target module.
//!
//! Contract: a session receives the messages of one mailbox as a stream and
//! reports exactly one [`Delivery`] per message it received (delivered,
//! found already present, or failed with a reason). Before it sends
//! anything whose arrival it could not later prove, it announces it with
//! [`SessionEvent::Pending`], which the driver makes durable in the journal
//! before returning `true`. When the callback returns `false` (the journal
//! failed) the session sends nothing of that group: each of its messages
//! fails ("journal unavailable: not sent") and the account stops.

pub mod imap;
pub mod maildir;
mod open;
pub mod url;

pub use open::{open, DestConfig, ImapSettings, MaildirSettings, Purpose};
pub use url::{DestUrl, UrlError};

use crate::message::{ContentHash, Prepared};
pub use crate::model::{Account, DestRef, MailFlags};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A message on its way to a target.
#[derive(Debug)]
pub struct Outgoing {
    /// The item id within its source folder.
    pub item_id: String,
    /// The prepared bytes and facts.
    pub message: Prepared,
    /// Flags to set.
    pub flags: MailFlags,
    /// INTERNALDATE / file mtime to set.
    pub internal_date: DateTime<Utc>,
}

/// The fate of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// Stored now.
    Delivered(DestRef),
    /// Found on the target already (a previous, unjournaled run).
    AlreadyPresent(DestRef),
    /// Not sent, by policy (e.g. `--nul skip`); counted as skipped.
    Skipped { reason: String },
    /// Not stored.
    Failed {
        /// Why, as the server or file system said it.
        reason: String,
    },
}

/// One message's outcome.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub item_id: String,
    /// The content hash of what was sent.
    pub hash: ContentHash,
    /// Bytes sent (what went on the wire: NUL removed under `--nul
    /// strip`).
    pub size: u64,
    /// Internal date used.
    pub internal_date: DateTime<Utc>,
    /// Message-ID, for the journal.
    pub message_id: Option<String>,
    /// What happened.
    pub result: DeliveryResult,
    /// The system flags the copy has on the target, when the target said
    /// and they need not be the ones sent: a copy found there
    /// ([`DeliveryResult::AlreadyPresent`]) keeps the flags it had, and
    /// the journal must record those, or `sync` would never correct them.
    /// `None`: the flags sent.
    pub target_flags: Option<MailFlags>,
}

/// A copy the target holds with another size than was sent
/// ([`DestSession::altered_copies`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlteredCopy {
    /// The size the target holds.
    pub size: u64,
    /// Its Message-ID header (without `<>`).
    pub message_id: Option<String>,
}

/// What a session reports while it delivers.
#[derive(Debug)]
pub enum SessionEvent {
    /// These items are about to be sent; `marker` says how a later run can
    /// find them on the target (e.g. the UIDNEXT seen before sending). The
    /// callback returns `true` once this is durable, `false` when it could
    /// not be recorded: then none of them may be sent.
    Pending {
        /// (item id, content hash) pairs.
        items: Vec<(String, ContentHash)>,
        /// Target-specific reconciliation hint.
        marker: String,
    },
    /// A final outcome.
    Done(Delivery),
    /// A line for the folder's report (policies applied, names changed).
    Note(String),
    /// A delivered message the target stores other than it was sent (its
    /// stored size differs): it counts as migrated, and the report lists
    /// it with the reason (the server's name, the setting that avoids it).
    Altered {
        /// The item id.
        item_id: String,
        /// What differs and why.
        reason: String,
        /// Its UID and the size the target reports for it, when that is
        /// not the size sent: journaled, so that `sync` still recognises
        /// the copy as its own.
        stored: Option<(u32, u64)>,
    },
}

/// What [`DestSession::sync_changes`] did: one answer per flag change and
/// per removal, as [`DestSession::set_flags`] and [`DestSession::remove`]
/// give them.
#[derive(Debug)]
pub struct SyncAnswers {
    pub flags: Result<Vec<bool>, DestError>,
    pub removed: Result<Vec<Removal>, DestError>,
}

/// What became of one copy `sync --propagate-deletes` asked to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Removed now.
    Removed,
    /// Not there any more (the mailbox has the same UIDVALIDITY and no such
    /// UID: someone removed it already): nothing to remove.
    AlreadyGone,
    /// Not removed: not provably the copy this tool put there (another
    /// UIDVALIDITY, another size), or the target could not say.
    Kept,
}

impl Removal {
    /// [`DestSession::remove`]'s answers: `true` removed, else kept.
    pub fn from_answers(answers: Vec<bool>) -> Vec<Removal> {
        answers
            .into_iter()
            .map(|ok| if ok { Removal::Removed } else { Removal::Kept })
            .collect()
    }
}

/// Filled by the driver with the folder that comes next on a session, once
/// the current `deliver` took its last message (see
/// [`DestSession::lookahead`]).
pub type Lookahead = std::sync::Arc<std::sync::Mutex<Option<MailboxSpec>>>;

/// A source folder as a target mailbox request.
#[derive(Debug, Clone)]
pub struct MailboxSpec {
    /// The source path (`INBOX/Projects`).
    pub source_path: String,
    /// Its decoded components.
    pub components: Vec<String>,
}

/// Errors that stop a session or a mailbox (not a single message). The
/// variant is what a caller decides on: the engine skips a
/// [`DestError::NotMapped`] account's items and fails the others'; a
/// [`DestError::Connection`] may work on a later attempt.
#[derive(Debug, thiserror::Error)]
pub enum DestError {
    /// File system error with the path.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A mailbox cannot be used on this destination.
    #[error("mailbox {mailbox:?}: {reason}")]
    Mailbox {
        /// The mailbox (or the source folder path when it has no name yet).
        mailbox: String,
        reason: String,
    },
    /// The account has no place on this destination (e.g. `#public` folders
    /// without a mapping): its items are skipped, not failed.
    #[error("not mapped: {0}")]
    NotMapped(String),
    /// No credentials for the account, or the login was refused.
    #[error("{0}")]
    Credentials(String),
    /// The connection failed or was lost; a later attempt may work.
    #[error("{0}")]
    Connection(String),
    /// The destination cannot be reached at all (address, TLS, greeting).
    #[error("{0}")]
    Unreachable(String),
    /// The account stopped taking messages (over quota, journal
    /// unavailable, no connection left): why.
    #[error("{0}")]
    Stopped(String),
    /// The destination refused a command or answered something unusable.
    #[error("{0}")]
    Protocol(String),
    /// This destination cannot do what was asked.
    #[error("{0}")]
    Unsupported(String),
}

/// A destination for mail.
pub trait Destination: Send + Sync {
    /// A stable identity of the destination, used to key the journal
    /// (`maildir:/abs/dir`, `imaps://host:993`). Holds no secret.
    fn id(&self) -> String;
    /// Opens a session for one source account.
    fn open(&self, account: &Account) -> Result<Box<dyn DestSession>, DestError>;
    /// [`Destination::open`] for a session the engine expects to deliver
    /// (`work`: it is session `index` of at most `of` of the account, see
    /// [`DestSession::share_connections`]; the engine says so for an
    /// account with nothing journaled). A destination whose connections
    /// take round trips to open may start opening its share at once, so
    /// that their logins overlap the session's own. The default opens.
    fn open_expecting(
        &self,
        account: &Account,
        work: Option<(usize, usize)>,
    ) -> Result<Box<dyn DestSession>, DestError> {
        let _ = work;
        self.open(account)
    }
    /// `--max-bytes-per-day`: what earlier runs sent to `account` (from
    /// the journal: how long ago, bytes), counted before this run sends,
    /// so a rerun within a day does not start from a full budget. Returns
    /// the bytes counted; `None` when the destination has no daily budget
    /// (the default).
    fn spent_earlier(&self, account: &Account, sent: &[(std::time::Duration, u64)]) -> Option<u64> {
        let _ = (account, sent);
        None
    }
    /// `--metrics-listen`: where sessions opened from now on publish what
    /// only the destination knows (IMAP: windows, RTT, retries, budget waits).
    fn attach_metrics(&self, _metrics: &std::sync::Arc<crate::progress::metrics::Metrics>) {}
    /// A planner for `plan`: names and limits only, nothing created. The
    /// default is a session ([`Destination::open`]; a login, for IMAP).
    fn planner(&self, account: &Account) -> Result<Box<dyn Planner>, DestError> {
        let session: Box<dyn Planner> = self.open(account)?;
        Ok(session)
    }
    /// `--parallel-folders`: how many sessions of one account may migrate
    /// folders at the same time when `wanted` are asked for (each session
    /// then takes its share of the account's connections, see
    /// [`DestSession::share_connections`]). The default is 1: one session,
    /// the folders one after another.
    fn folder_sessions(&self, wanted: usize) -> usize {
        let _ = wanted;
        1
    }
    /// Where the journal goes when `--state` is not given.
    fn default_journal(&self) -> std::path::PathBuf {
        std::path::PathBuf::from(JOURNAL_FILE)
    }
}

/// The journal's file name when `--state` is not given (beside a Maildir
/// root, or in the current directory).
pub const JOURNAL_FILE: &str = "kerio-migrate-journal.sqlite";

/// Names and limits without creating anything: what `plan` asks of a
/// destination, and what every session can answer too.
pub trait Planner: Send {
    /// The account on the target (`alice@example.com`, or a Maildir path).
    fn target_account(&self) -> String;
    /// The name a source folder would get, without creating anything (for
    /// `plan`).
    fn plan_mailbox(&mut self, spec: &MailboxSpec) -> Result<String, DestError>;
    /// Before any folder is named or created: `spec`'s folder goes where
    /// the mapping puts it, so that no other folder's substitute for a
    /// refused name takes that name (`plan` and `migrate` reserve every
    /// mail folder of the account first, in the walk's order). The default
    /// plans the name; errors are the folder's own later.
    fn reserve_mailbox(&mut self, spec: &MailboxSpec) {
        let _ = self.plan_mailbox(spec);
    }
    /// [`Planner::plan_mailbox`] and how the name was chosen (for
    /// `plan`). The default knows only the name.
    fn explain_mailbox(&mut self, spec: &MailboxSpec) -> Result<MailboxPlan, DestError> {
        Ok(MailboxPlan {
            name: self.plan_mailbox(spec)?,
            how: None,
            notes: Vec::new(),
            warnings: Vec::new(),
        })
    }
    /// What the target told us about itself (capabilities, limits), for
    /// `plan` and the report.
    fn info(&self) -> DestInfo {
        DestInfo::default()
    }
    /// Ends the session (logout, final sync).
    fn finish(self: Box<Self>) -> Result<(), DestError>;
}

/// A session for one account.
pub trait DestSession: Planner {
    /// This session is number `index` of `of` sessions of one account that
    /// migrate folders at the same time ([`Destination::folder_sessions`]):
    /// it keeps to its share of the account's connections. Called before
    /// the first `deliver`. The default has nothing to share.
    fn share_connections(&mut self, index: usize, of: usize) {
        let _ = (index, of);
    }
    /// Makes sure the mailbox exists; returns its name on the target.
    fn prepare_mailbox(&mut self, spec: &MailboxSpec) -> Result<String, DestError>;
    /// [`Self::prepare_mailbox`] for a mailbox `sync` moves messages into
    /// before any folder is migrated: nothing is delivered into it yet, so
    /// one the target has need not be examined. IMAP names a mailbox the
    /// server listed without a round trip (the planning of a sync's moves
    /// waited one per destination folder: over a WAN, seconds) and
    /// prepares the others; the default prepares it.
    fn mailbox_for_moves(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        self.prepare_mailbox(spec)
    }
    /// For the `deliver` calls that follow (`None`: no more): the driver
    /// fills `slot` with the folder this session takes next as soon as the
    /// current `deliver` took its last message, so that the session may
    /// prepare that mailbox while its last messages are in flight (the
    /// IMAP target saves a round trip a folder). The next
    /// [`Self::prepare_mailbox`] is still called, with the same spec. The
    /// default ignores it.
    fn lookahead(&mut self, slot: Option<Lookahead>) {
        let _ = slot;
    }
    /// Delivers a stream of messages into a prepared mailbox, reporting one
    /// [`SessionEvent::Done`] per message taken from the stream. `events`
    /// returns whether a [`SessionEvent::Pending`] is durable (its answer
    /// to the other events means nothing).
    fn deliver(
        &mut self,
        mailbox: &str,
        messages: &mut dyn Iterator<Item = Outgoing>,
        events: &mut dyn FnMut(SessionEvent) -> bool,
    ) -> Result<(), DestError>;
    /// A function that makes everything delivered so far durable; the
    /// driver calls it before it journals deliveries as done.
    fn durability_barrier(&self) -> Box<dyn Fn() -> std::io::Result<()> + Send + Sync>;
    /// Items a previous run announced as [`SessionEvent::Pending`] for
    /// `mailbox` (the mailbox they were sent to, which may not be where the
    /// mapping puts their folder now; it was interrupted before their
    /// outcome was known): finds which of them are on the target. `known`
    /// are the journal's done rows for that mailbox (every source folder of
    /// the account): their copies belong to other items, so a byte-identical
    /// pending item must never be matched to one of them. One answer per
    /// pending item, in order. An error means "cannot tell" for all of them.
    /// For [`Reconciled::Unknown`] and errors the driver leaves the items
    /// pending and does not send them in this run.
    fn reconcile(
        &mut self,
        mailbox: &str,
        pending: &[crate::model::PendingItem],
        known: &[crate::model::DoneCopy],
    ) -> Result<Vec<Reconciled>, DestError> {
        let _ = (mailbox, known);
        Ok(vec![Reconciled::Absent; pending.len()])
    }
    /// What identifies the store this session writes `mailbox` into, for
    /// the journal: the store (login and server) and the mailbox's
    /// UIDVALIDITY. The journal's rows written under another URL with that
    /// identity and UIDVALIDITY are taken over (the URL is only a hint);
    /// `None` (the default): unknown, and what the target holds is compared
    /// before appending instead (see [`DestSession::journal_copies`]).
    fn identity(&mut self, mailbox: &str) -> Option<(String, Option<u32>)> {
        let _ = mailbox;
        None
    }

    /// The store part of [`Self::identity`] (login and server), without a
    /// mailbox; `None` (the default): unknown.
    fn store_identity(&mut self) -> Option<String> {
        None
    }

    /// The UIDVALIDITY `mailbox` has now, when the target can say (IMAP
    /// STATUS); `None` for no such mailbox or a target without one.
    fn uid_validity_of(&mut self, mailbox: &str) -> Option<u32> {
        let _ = mailbox;
        None
    }

    /// Before the mailbox of `spec` is prepared: `lookup` gives where the
    /// journal has the account's messages (source folder, mailbox; done or
    /// pending). A target that names a folder's mailbox itself (IMAP: the
    /// substitute for a name the server refused) asks, where it might, and
    /// chooses the one the folder's messages are in again, and none that
    /// another folder's are in. The default does not ask.
    fn journaled_mailboxes(
        &mut self,
        spec: &MailboxSpec,
        lookup: &mut dyn FnMut() -> Vec<(String, String)>,
    ) {
        let _ = (spec, lookup);
    }

    /// What the journal knows is in `mailbox` (its done rows there, every
    /// source folder of the account), told before a folder's messages are
    /// delivered into it. A target that can look (IMAP) compares each
    /// message with the copies on the target that none of these rows
    /// accounts for before it appends it, and reports the ones it finds as
    /// [`DeliveryResult::AlreadyPresent`]: an empty, lost or copied
    /// journal, or the same server under another URL, is no proof of an
    /// empty mailbox. The default trusts the journal.
    fn journal_copies(&mut self, mailbox: &str, known: &[crate::model::DoneCopy]) {
        let _ = (mailbox, known);
    }

    /// The messages in `mailbox` that none of `journaled` (the journal's
    /// done rows there, every source folder of the account) accounts for,
    /// for `verify`: each with its UID, and as a duplicate when it holds
    /// the content of one of the rows (by its bytes, or decoded where the
    /// server re-encodes). Targets that cannot look answer an error.
    fn extras(
        &mut self,
        mailbox: &str,
        journaled: &[crate::model::DoneCopy],
    ) -> Result<Vec<Extra>, DestError> {
        let _ = (mailbox, journaled);
        Err(DestError::Unsupported(
            "this target cannot list extra messages".into(),
        ))
    }

    /// Checks that messages the journal says arrived are on the target, one
    /// answer per reference, in order. `deep` also compares content with
    /// the journaled hash where the target can. Targets that cannot look
    /// answer with an error.
    fn verify(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, ContentHash)],
        deep: bool,
    ) -> Result<Vec<Presence>, DestError> {
        let _ = (mailbox, refs, deep);
        Err(DestError::Unsupported("this target cannot verify".into()))
    }
    /// `sync`: adds and removes system flags (`\Seen`, `\Answered`,
    /// `\Flagged`, `\Draft`; never `\Deleted`) of messages the journal
    /// placed in `mailbox`, leaving every other flag as it is. One answer
    /// per change, in order: `true` when set, `false` when the message is
    /// not there any more (or the mailbox's UIDVALIDITY changed). Targets
    /// that cannot answer an error.
    fn set_flags(&mut self, mailbox: &str, changes: &[FlagChange]) -> Result<Vec<bool>, DestError> {
        let _ = (mailbox, changes);
        Err(DestError::Unsupported(
            "this target cannot change flags".into(),
        ))
    }

    /// `sync`: moves the message the journal placed at `r` in `from` to
    /// mailbox `to` (a message moved between folders in Kerio), only when
    /// the target still holds that very copy. Where it is now, or `None`
    /// when it was not moved (then it is uploaded as a new message). The
    /// default moves nothing.
    fn move_message(
        &mut self,
        from: &str,
        r: &DestRef,
        size: Option<u64>,
        to: &str,
    ) -> Result<Option<DestRef>, DestError> {
        let _ = (from, r, size, to);
        Ok(None)
    }

    /// `sync`: [`DestSession::move_message`] for many messages of one
    /// mailbox `from` going to one mailbox `to` (each with the size sent,
    /// where known): one answer per message, in order. Targets that can
    /// move a set in one command do (IMAP `UID MOVE` of a UID set); the
    /// default moves them one by one, an error counting as not moved.
    fn move_messages(
        &mut self,
        from: &str,
        moves: &[(DestRef, Option<u64>)],
        to: &str,
    ) -> Result<Vec<Option<DestRef>>, DestError> {
        Ok(move_each(self, from, moves, to))
    }

    /// `sync`: every move out of mailbox `from` (to any mailboxes), one
    /// answer per move, in order. IMAP visits `from` once for all of them;
    /// the default calls [`Self::move_messages`] per destination (an error
    /// counting as not moved).
    fn move_out(&mut self, from: &str, moves: &[MoveOut]) -> Vec<Option<DestRef>> {
        move_per_destination(self, from, moves)
    }

    /// `sync`: [`Self::move_out`] of several source mailboxes, one answer
    /// list per mailbox, in order. IMAP chains them (one round trip per
    /// mailbox), a long list in lanes on several connections at once; the
    /// default calls [`Self::move_out`] for each.
    fn move_out_many(&mut self, all: &[(String, Vec<MoveOut>)]) -> Vec<Vec<Option<DestRef>>> {
        all.iter()
            .map(|(from, moves)| self.move_out(from, moves))
            .collect()
    }

    /// `sync`: renames mailbox `from` (a folder renamed in Kerio) to where
    /// `spec` goes now, its children with it. The default renames nothing.
    fn rename_mailbox(
        &mut self,
        from: &str,
        spec: &MailboxSpec,
    ) -> Result<MailboxRename, DestError> {
        let _ = (from, spec);
        Ok(MailboxRename::NotSupported)
    }

    /// `sync`: which of `refs` (copies the journal placed in `mailbox`) are
    /// provably gone from the target, one answer per reference: IMAP, the
    /// mailbox has the journaled UIDVALIDITY and no message of that UID
    /// (UIDs are never given again); Maildir, no file of ours with that
    /// name. `false` where that cannot be told. The default tells nothing.
    fn gone_copies(&mut self, mailbox: &str, refs: &[DestRef]) -> Result<Vec<bool>, DestError> {
        let _ = mailbox;
        Ok(vec![false; refs.len()])
    }

    /// Of `refs` (copies the journal placed in `mailbox`, each with the
    /// size sent), those the target holds with another size, one answer
    /// per reference: the size held and the copy's Message-ID (IMAP: under
    /// the journaled UIDVALIDITY only, each such copy read once). `None`:
    /// not there, the size sent, or the target cannot tell (the default).
    /// For `sync`'s proof of rows journaled without their stored size.
    fn altered_copies(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, u64)],
    ) -> Result<Vec<Option<AlteredCopy>>, DestError> {
        let _ = mailbox;
        Ok(vec![None; refs.len()])
    }

    /// The system flags the target has for messages the journal placed in
    /// `mailbox`, one answer per reference (`None`: not found, or the
    /// target cannot tell), for `verify`. The default tells nothing.
    fn stored_flags(
        &mut self,
        mailbox: &str,
        refs: &[DestRef],
    ) -> Result<Vec<Option<MailFlags>>, DestError> {
        let _ = mailbox;
        Ok(vec![None; refs.len()])
    }

    /// `sync --propagate-deletes`: removes messages the journal placed in
    /// `mailbox` (each by its reference and the size sent), and only when
    /// the target still holds that very copy (IMAP: the journaled
    /// UIDVALIDITY and UID, the stored size). One answer per reference:
    /// `true` when removed. Targets that cannot answer an error.
    fn remove(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, Option<u64>)],
    ) -> Result<Vec<bool>, DestError> {
        let _ = (mailbox, refs);
        Err(DestError::Unsupported(
            "this target cannot remove messages".into(),
        ))
    }

    /// `sync`: one folder's flag changes ([`Self::set_flags`]) and removals
    /// ([`Self::remove`]) together, so a target can do both in one visit
    /// of the mailbox (IMAP: two flights). The default calls the two.
    fn sync_changes(
        &mut self,
        mailbox: &str,
        flags: &[FlagChange],
        remove: &[(DestRef, Option<u64>)],
    ) -> SyncAnswers {
        let flags = if flags.is_empty() {
            Ok(Vec::new())
        } else {
            self.set_flags(mailbox, flags)
        };
        let removed = if remove.is_empty() {
            Ok(Vec::new())
        } else {
            self.remove(mailbox, remove).map(Removal::from_answers)
        };
        SyncAnswers { flags, removed }
    }

    /// `verify --no-journal`: finds `sought` in `mailbox` by content,
    /// whatever tool put them there (see [`ContentFound`]); copies in
    /// `taken` (matched for another folder that goes to this mailbox) are
    /// never given. `bytes(i)` gives the prepared bytes of sought message
    /// `i` again, asked only where size and Message-ID do not decide. A
    /// missing mailbox holds nothing. Targets that cannot look answer an
    /// error.
    fn find_by_content(
        &mut self,
        mailbox: &str,
        sought: &[Sought],
        taken: &std::collections::HashSet<u32>,
        bytes: &mut dyn FnMut(usize) -> Option<Vec<u8>>,
    ) -> Result<ContentFound, DestError> {
        let _ = (mailbox, sought, taken, bytes);
        Err(DestError::Unsupported(
            "this target cannot be verified without a journal".into(),
        ))
    }

    /// Of messages found present (by their reference and the size sent),
    /// those the target stores with another size: (index into `refs`,
    /// why). Targets that cannot tell say nothing.
    fn stored_altered(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, u64)],
    ) -> Result<Vec<(usize, String)>, DestError> {
        let _ = (mailbox, refs);
        Ok(Vec::new())
    }
}

/// What became of a mailbox rename `sync` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxRename {
    /// Renamed to this mailbox.
    Renamed(String),
    /// Not renamed: the new name's mailbox exists already.
    Exists(String),
    /// Not renamed: the old mailbox is not there.
    Missing,
    /// Not renamed: the target cannot rename (or not this mailbox: INBOX).
    NotSupported,
}

/// A flag change `sync` asks for: the message the journal placed (its
/// reference), the system flags the journal says it has, and the source's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagChange {
    pub target: DestRef,
    pub from: MailFlags,
    pub to: MailFlags,
}

impl FlagChange {
    /// The flags to add and the flags to remove.
    pub fn delta(&self) -> (MailFlags, MailFlags) {
        let (f, t) = (self.from, self.to);
        (
            MailFlags {
                seen: t.seen && !f.seen,
                answered: t.answered && !f.answered,
                flagged: t.flagged && !f.flagged,
                draft: t.draft && !f.draft,
            },
            MailFlags {
                seen: f.seen && !t.seen,
                answered: f.answered && !t.answered,
                flagged: f.flagged && !t.flagged,
                draft: f.draft && !t.draft,
            },
        )
    }
}

/// A message on the target that no journal row accounts for (see
/// [`DestSession::extras`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extra {
    /// Its UID.
    pub uid: Option<u32>,
    /// The journal row (index into the rows given) whose content it holds:
    /// the same source item twice on the target.
    pub duplicate_of: Option<usize>,
}

/// A source message `verify --no-journal` looks for: what finds it
/// without reading a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sought {
    /// Size of the prepared bytes.
    pub size: u64,
    /// Message-ID (without `<>`).
    pub message_id: Option<String>,
}

/// What [`DestSession::find_by_content`] found in a mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentFound {
    /// Per sought message, in order: the UID of its copy (`None`: not
    /// there).
    pub found: Vec<Option<u32>>,
    /// Found, but stored with other bytes: (index, how it was recognised).
    pub altered: Vec<(usize, String)>,
    /// Every message in the mailbox (UIDs, ascending), to tell the extras.
    pub on_target: Vec<u32>,
}

/// What [`DestSession::reconcile`] found for one pending item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciled {
    /// On the target: journal it as done, never send it again.
    Present(DestRef),
    /// Certainly not on the target: send it again.
    Absent,
    /// Cannot tell (why): leave it pending, do not send it in this run.
    Unknown(String),
}

/// A source folder's planned mailbox on the target, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailboxPlan {
    /// The mailbox name, as [`Planner::plan_mailbox`] gives it.
    pub name: String,
    /// How the folder mapping chose it, when the target knows.
    pub how: Option<crate::mapping::MapSource>,
    /// What the mapping changed or wants known.
    pub notes: Vec<String>,
    /// What may go wrong with this name on the target (the server may
    /// refuse it): `plan` counts these as issues.
    pub warnings: Vec<String>,
}

/// Whether a journaled message is on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    /// There (and, when checked, with the same content).
    Present,
    /// Not there.
    Missing,
    /// There, but the content differs from what was sent.
    Differs,
}

/// Facts about a target account.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DestInfo {
    /// Largest message the target accepts (IMAP APPENDLIMIT), if known.
    pub append_limit: Option<u64>,
    /// Capabilities or features, for the report.
    pub capabilities: Vec<String>,
    /// What `plan` should say about the target account (its namespace,
    /// where the special mailboxes come from).
    pub notes: Vec<String>,
    /// IMAP: each append connection's window and round trip so far.
    pub links: Vec<crate::model::LinkStats>,
}

/// [`DestSession::move_message`] for each of `moves` in turn, an error
/// counting as not moved (the item is then uploaded by its folder's pass).
/// One move asked of [`DestSession::move_out`]: the journaled copy, the
/// size the target holds for it (where known) and the mailbox it goes to.
#[derive(Debug, Clone)]
pub struct MoveOut {
    pub copy: DestRef,
    pub size: Option<u64>,
    pub to: String,
}

/// [`DestSession::move_out`] as one [`DestSession::move_messages`] per
/// destination mailbox.
pub(crate) fn move_per_destination<S: DestSession + ?Sized>(
    session: &mut S,
    from: &str,
    moves: &[MoveOut],
) -> Vec<Option<DestRef>> {
    let mut out: Vec<Option<DestRef>> = vec![None; moves.len()];
    let mut by_to: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, m) in moves.iter().enumerate() {
        match by_to.iter_mut().find(|(t, _)| *t == m.to) {
            Some((_, v)) => v.push(i),
            None => by_to.push((m.to.as_str(), vec![i])),
        }
    }
    for (to, members) in by_to {
        let refs: Vec<(DestRef, Option<u64>)> = members
            .iter()
            .map(|&i| (moves[i].copy.clone(), moves[i].size))
            .collect();
        if let Ok(answers) = session.move_messages(from, &refs, to) {
            for (&i, a) in members.iter().zip(answers) {
                out[i] = a;
            }
        }
    }
    out
}

pub(crate) fn move_each<S: DestSession + ?Sized>(
    session: &mut S,
    from: &str,
    moves: &[(DestRef, Option<u64>)],
    to: &str,
) -> Vec<Option<DestRef>> {
    moves
        .iter()
        .map(|(r, size)| session.move_message(from, r, *size, to).ok().flatten())
        .collect()
}
