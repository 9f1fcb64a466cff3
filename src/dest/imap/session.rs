//! The [`DestSession`] of the IMAP target: one control connection (LIST,
//! CREATE, STATUS, EXAMINE, reconciliation, verify) and up to
//! `connections` append connections, which [`super::worker`] drives for
//! each `deliver` call with the decisions of [`super::core`].
//!
//! This module owns what lives longer than one `deliver` call: the
//! connections, the folder mapping built from the server's LIST, the
//! mailboxes prepared (UIDVALIDITY, PERMANENTFLAGS), the folders created
//! under another name, what this run knows of its copies in each mailbox
//! ([`Claims`], shared by the `deliver` calls of two folders that map to
//! one mailbox), and whether the account stopped (this session, or any
//! session of the target login when the account is full).
//!
//! Invariants a maintainer must keep: once the account stopped, nothing
//! more is prepared or delivered; a `deliver` into a mailbox whose
//! UIDVALIDITY changed since it was prepared is refused (its markers would
//! point nowhere); a check of pending items never matches a copy the
//! journal gives to another item.

use super::adopt;
use super::caps::Capabilities;
use super::client::{wire_mailbox, ImapSession, MailboxStatus};
use super::connect::Shared;
use super::core::adopt::Unjournaled;
use super::core::claims::{Claims, JournalCopies};
use super::core::dispatch::{Dispatcher, PermFlags, Setup, SystemClock};
use super::core::marker::pending_want;
use super::core::matching::{Found, Want};
use super::core::names;
use super::core::stored::{compared_by_content, Sent};
use super::error::ImapError;
use super::folders::ServerFolders;
use super::reconcile::{find_settled, SETTLE};
use super::stored;
use super::verify::verify_in_selected;
use super::worker::{self, AccountStop, WorkCtx};
use crate::dest::{
    DeliveryResult, DestError, DestInfo, DestRef, DestSession, MailboxPlan, MailboxSpec, Outgoing,
    Planner, Presence, Reconciled, SessionEvent,
};
use crate::mapping::MapSource;
use crate::model::{ContentHash, DoneCopy, PendingItem};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

mod changes;
mod moves;
mod prepare;

/// Where a source folder goes on this server (see `place`).
struct Placement {
    components: Vec<String>,
    delimiter: Option<char>,
    how: Option<MapSource>,
    notes: Vec<String>,
}

/// What `prepare_mailbox` learnt about a mailbox.
struct MailboxState {
    uid_validity: Option<u32>,
    perm: PermFlags,
}

/// The session of one source account.
pub(super) struct ImapAccountSession {
    shared: Arc<Shared>,
    source: String,
    prefix: Option<String>,
    control: Option<ImapSession>,
    caps: Capabilities,
    /// The namespace and mailboxes the server showed at the start.
    folders: ServerFolders,
    conns: Vec<Option<ImapSession>>,
    mailboxes: HashMap<String, MailboxState>,
    /// Why the account stopped (over quota, journal unavailable, no
    /// connection).
    stopped: Option<String>,
    /// Built from the server's LIST on first use.
    mapper: Option<crate::mapping::Mapper>,
    /// Source folders created under another name because the server
    /// refused the mapped one: source path → (mailbox, why).
    renamed: HashMap<String, (String, String)>,
    /// Where the journal has the account's messages (source folder,
    /// mailbox), read once for a folder whose name may be refused (see
    /// [`DestSession::journaled_mailboxes`]): a refused name's substitute
    /// is chosen again where its messages are.
    hinted: Option<Vec<(String, String)>>,
    /// What this run put (or may have put) into each mailbox, over all
    /// its `deliver` calls (two source folders can share a mailbox).
    claims: HashMap<String, Arc<Mutex<Claims>>>,
    /// What the journal accounts for in each mailbox (see
    /// [`DestSession::journal_copies`]): the rest of what the server holds
    /// there is compared with each message before it is appended.
    journaled: HashMap<String, Vec<DoneCopy>>,
    /// The STATUS `prepare_mailbox` read in the flight of its EXAMINE, for
    /// the `deliver` that follows; any other use of the control connection
    /// in between forgets it (see `with_control`).
    prefetched: HashMap<String, MailboxStatus>,
    /// INBOX's UIDVALIDITY, read once per session (see `identity`).
    inbox_uid_validity: Option<u32>,
    /// The number of this session's first append connection among the
    /// account's (see `share_connections`): windows and metrics by slot.
    slot_base: usize,
    /// Append connections opened ahead (see `worker::warm`), once.
    warming: worker::Warming,
    warmed: bool,
    /// Where the driver says which folder comes next (see
    /// [`DestSession::lookahead`]).
    lookahead: Option<crate::dest::Lookahead>,
    /// Mailboxes prepared ahead, by source folder (see `prepare_ahead`).
    ahead: HashMap<String, String>,
    /// What the folder's check for gone copies learnt of its mailbox (see
    /// [`changes::Probed`]), for its `deliver`.
    probed: HashMap<String, changes::Probed>,
}

impl ImapAccountSession {
    /// Opens the control connection and learns the server's folders;
    /// with `work` (this session is number `index` of at most `of` of the
    /// account, and expected to deliver) its share of append connections
    /// starts opening at the same time.
    pub(super) fn open(
        shared: Arc<Shared>,
        source: String,
        prefix: Option<String>,
        work: Option<(usize, usize)>,
    ) -> Result<ImapAccountSession, ImapError> {
        let warming = match work {
            Some((index, of)) => {
                let (n, _) = connection_share(shared.opts.connections, index, of);
                worker::warm(&shared, n)
            }
            None => Vec::new(),
        };
        let (mut control, folders) = match Self::open_control(&shared) {
            Ok(x) => x,
            Err((e, learning)) if learning || e.is_temporary_auth() => {
                // One transient failure at the start (a temporary login
                // refusal; the first flight refused, cut or unanswered)
                // would fail every folder of the account: one more try, on
                // a new connection (the account's other sessions may have
                // learnt the folders meanwhile). Connecting itself was
                // retried already.
                tracing::warn!("{e}; opening the session again");
                Self::open_control(&shared).map_err(|(e, _)| e)?
            }
            Err((e, _)) => return Err(e),
        };
        let caps = control.capabilities().clone();
        // Its LIST is the one creating mailboxes needs.
        control.know_mailboxes(folders.target_folders().existing);
        let inbox = folders.inbox_uid_validity;
        let n = shared.opts.connections.max(1);
        Ok(ImapAccountSession {
            shared,
            source,
            prefix,
            control: Some(control),
            caps,
            folders,
            conns: (0..n).map(|_| None).collect(),
            mailboxes: HashMap::new(),
            stopped: None,
            mapper: None,
            renamed: HashMap::new(),
            hinted: None,
            claims: HashMap::new(),
            journaled: HashMap::new(),
            prefetched: HashMap::new(),
            inbox_uid_validity: inbox,
            slot_base: 0,
            warmed: !warming.is_empty(),
            warming,
            lookahead: None,
            ahead: HashMap::new(),
            probed: HashMap::new(),
        })
    }

    /// The control connection, logged in, and what it learnt of the
    /// server's folders (or the answer another session of the account got).
    /// An error says whether it came from learning (logged in already).
    #[allow(clippy::result_large_err)] // once per session, on the way out
    fn open_control(shared: &Shared) -> Result<(ImapSession, ServerFolders), (ImapError, bool)> {
        let mut control = shared.connect().map_err(|e| (e, false))?;
        let folders = shared
            .learned
            .get(&mut control, shared.cfg.io_timeout)
            .map_err(|e| (e, true))?;
        Ok((control, folders))
    }

    /// Why nothing more is prepared or delivered: this session stopped,
    /// or another session of the target login found the account full.
    fn stopped(&self) -> Option<String> {
        self.stopped
            .clone()
            .or_else(|| self.shared.target.full.why())
    }

    /// An IMAP error as the account's destination error, with its context.
    fn err(&self, e: ImapError) -> DestError {
        let text = format!("{} → {}: {e}", self.source, self.shared.creds.describe());
        super::dest_error(&e, text)
    }

    /// A refusal of ours (not the server's), with the account's context.
    fn refused(&self, why: impl std::fmt::Display) -> DestError {
        DestError::Protocol(format!(
            "{} → {}: {why}",
            self.source,
            self.shared.creds.describe()
        ))
    }

    /// Runs `f` on the control connection, reconnecting once when the
    /// connection was lost. A STATUS prefetched for `deliver` is forgotten:
    /// `f` may change what it described.
    fn with_control<T>(
        &mut self,
        f: impl FnMut(&mut ImapSession) -> Result<T, ImapError>,
    ) -> Result<T, ImapError> {
        self.prefetched.clear();
        self.with_control_keep(f)
    }

    /// [`Self::with_control`] for what changes nothing on the server (the
    /// cached delimiter, STATUS of INBOX): a prefetched STATUS stays.
    pub(super) fn with_control_keep<T>(
        &mut self,
        mut f: impl FnMut(&mut ImapSession) -> Result<T, ImapError>,
    ) -> Result<T, ImapError> {
        for attempt in 0..2 {
            if self.control.as_ref().is_none_or(|c| c.is_broken()) {
                match self.shared.connect() {
                    Ok(c) => self.control = Some(c),
                    Err(e) => {
                        if e.is_stall() {
                            self.stopped.get_or_insert_with(|| e.stall_reason());
                        }
                        return Err(e);
                    }
                }
            }
            let Some(ctl) = self.control.as_mut() else {
                continue;
            };
            match f(ctl) {
                // No answer within --io-timeout: the server is taken as
                // unresponsive and the account's remaining folders fail
                // fast with the reason, instead of each folder paying a
                // timeout and a reconnection again.
                Err(e) if e.is_stall() => {
                    self.control = None;
                    self.stopped.get_or_insert_with(|| e.stall_reason());
                    return Err(e);
                }
                Err(e) if e.is_connection() && attempt == 0 => {
                    tracing::warn!("{e}; reconnecting the control connection");
                    self.control = None;
                }
                r => return r,
            }
        }
        Err(ImapError::Invalid("control connection unavailable".into()))
    }

    /// The folder mapping for this account, built once from what LIST
    /// says about the server: its delimiter, its SPECIAL-USE mailboxes
    /// (whatever their localised names) and the names that exist.
    fn mapper(&mut self) -> Result<crate::mapping::Mapper, ImapError> {
        if let Some(m) = &self.mapper {
            return Ok(m.clone());
        }
        use crate::mapping::Mapper;
        let folders = self.folders.target_folders();
        let m = Mapper::new(&self.shared.opts.mapping, &folders);
        for w in m.warnings() {
            tracing::warn!("{}: folder mapping: {w}", self.source);
        }
        self.mapper = Some(m.clone());
        Ok(m)
    }

    /// Where a source folder goes: the mapping's components (public
    /// folders go below the public prefix as they are: Kerio's
    /// special-folder names mean nothing in a shared tree), with the
    /// server's hierarchy delimiter replaced, how they were chosen, and
    /// the notes for the report.
    fn place(&mut self, spec: &MailboxSpec) -> Result<Placement, ImapError> {
        let delimiter = self.with_control_keep(|c| c.delimiter())?;
        let (components, how, mut notes) = if let Some(p) = &self.prefix {
            // Public folders too live inside the personal namespace.
            let mut v = self.folders.prefix_components();
            v.push(p.clone());
            v.extend(spec.components.iter().cloned());
            (v, Some(MapSource::Prefix), Vec::new())
        } else {
            let m = self.mapper()?.map_components(&spec.components);
            (m.components, Some(m.how), m.notes)
        };
        // The mapper already keeps the delimiter out of names; this is the
        // last guard before the wire.
        let (components, more) = sanitize(components, delimiter);
        notes.extend(more);
        Ok(Placement {
            components,
            delimiter,
            how,
            notes,
        })
    }
}

impl ImapAccountSession {
    /// The copies in `mailbox` that neither the journal nor this run gives
    /// to an item, and how many journal rows there are for it. The
    /// journal's copies without a UID (servers without UIDPLUS) take one
    /// copy of their content each.
    fn unjournaled(
        &mut self,
        mailbox: &str,
        uv: Option<u32>,
        claims: &Mutex<Claims>,
    ) -> Result<(Unjournaled, usize), DestError> {
        let journal = self.journaled.get(mailbox).cloned().unwrap_or_default();
        let claims = claims.lock().unwrap_or_else(|p| p.into_inner());
        let journal_uids = adopt::excluded(&journal, &claims, uv);
        let this_run: Vec<(Option<u32>, u32)> = claims
            .uids
            .iter()
            .map(|u| (claims.uid_validity, *u))
            .collect();
        drop(claims);
        let exclude = |uv_now: Option<u32>, uid: u32| {
            if uv_now == uv {
                journal_uids.contains(&uid)
            } else {
                // Another UIDVALIDITY than STATUS showed: only this run's.
                this_run.contains(&(uv_now, uid))
            }
        };
        let probed = self.probed.remove(mailbox);
        if probed.is_some_and(|p| p.nothing_else(uv, &journal_uids, &exclude)) {
            return Ok((Unjournaled::new(Vec::new()), journal.len()));
        }
        let known: Vec<u32> = journal_uids.iter().copied().collect();
        let (uv_read, mut copies) = self
            .with_control_keep(|c| adopt::read_unjournaled(c, mailbox, (uv, &known), &exclude))
            .map_err(|e| {
                self.refused(format!(
                    "cannot compare with the messages already in {mailbox:?} (nothing appended, since they may include these): {e}"
                ))
            })?;
        for c in journal
            .iter()
            .filter(|c| c.uid.is_none() && c.uid_validity == uv_read)
        {
            if let Some(i) = copies.iter().position(|s| s.hash == c.hash.0) {
                copies.remove(i);
            }
        }
        Ok((Unjournaled::new(copies), journal.len()))
    }
}

/// Session `index` of `of`: how many of the account's `connections` it
/// appends on (at least one; the first sessions take the remainder) and the
/// slot number of its first.
fn connection_share(connections: usize, index: usize, of: usize) -> (usize, usize) {
    let (c, of) = (connections.max(1), of.max(1));
    let (each, extra) = (c / of, c % of);
    let n = (each + usize::from(index < extra)).max(1);
    (n, index * each + index.min(extra))
}

/// Components with the hierarchy delimiter replaced, and what was replaced
/// (for the report).
fn sanitize(comps: Vec<String>, delim: Option<char>) -> (Vec<String>, Vec<String>) {
    let mut notes = Vec::new();
    let Some(d) = delim else {
        return (comps, notes);
    };
    let out = comps
        .into_iter()
        .map(|c| {
            if c.contains(d) {
                let r = c.replace(d, "_");
                notes.push(format!(
                    "folder name component {c:?} contains the server's hierarchy delimiter {d:?}: created as {r:?}"
                ));
                r
            } else {
                c
            }
        })
        .collect();
    (out, notes)
}

impl Planner for ImapAccountSession {
    fn target_account(&self) -> String {
        format!(
            "{} on {}",
            self.shared.creds.describe(),
            self.shared.cfg.server()
        )
    }

    fn finish(self: Box<Self>) -> Result<(), DestError> {
        let mut this = *self;
        this.shared.learned.forget();
        worker::take_warm(&mut this.conns, &mut this.warming);
        // Every connection logs out at once: one round trip, not one each
        // (the answers change nothing; errors are ignored).
        let all: Vec<ImapSession> = this
            .conns
            .into_iter()
            .flatten()
            .chain(this.control)
            .collect();
        std::thread::scope(|s| {
            for c in all {
                s.spawn(move || {
                    let _ = c.logout();
                });
            }
        });
        Ok(())
    }

    fn plan_mailbox(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        Ok(self.explain_mailbox(spec)?.name)
    }

    fn reserve_mailbox(&mut self, spec: &MailboxSpec) {
        if self.renamed.contains_key(&spec.source_path) {
            return;
        }
        if let Ok(p) = self.place(spec) {
            let name = p
                .components
                .join(&p.delimiter.map(String::from).unwrap_or_default());
            self.shared.target.reserve(&name, &spec.source_path);
        }
    }

    fn explain_mailbox(&mut self, spec: &MailboxSpec) -> Result<MailboxPlan, DestError> {
        let p = self.place(spec).map_err(|e| self.err(e))?;
        let (how, mut notes) = (p.how, p.notes);
        let mut name = p
            .components
            .join(&p.delimiter.map(String::from).unwrap_or_default());
        let mut warnings = Vec::new();
        if let Some((created, why)) = self.renamed.get(&spec.source_path) {
            name = created.clone();
            notes.push(why.clone());
        } else {
            // Where the mapping puts it: no other folder's substitute.
            self.shared.target.reserve(&name, &spec.source_path);
            let fixed = self.folders.fixed_components(&p.components);
            let product = self.folders.product;
            // The substitute's name as migrate will create it: numbered
            // when another folder has it (see `Target::substitute`).
            let target = &self.shared.target;
            let mut named =
                |alt: &[String]| target.predict_substitute(&spec.source_path, alt, p.delimiter);
            if let Some(w) = names::predict(&p.components, fixed, false, product, &mut named) {
                notes.push(w.clone());
                warnings.push(w);
            }
        }
        Ok(MailboxPlan {
            name,
            how,
            notes,
            warnings,
        })
    }

    fn info(&self) -> DestInfo {
        DestInfo {
            append_limit: self.caps.append_limit(),
            capabilities: self.caps.raw.clone(),
            notes: self.folders.notes(),
            links: self.shared.link.links(),
        }
    }
}

impl DestSession for ImapAccountSession {
    fn share_connections(&mut self, index: usize, of: usize) {
        let (n, base) = connection_share(self.shared.opts.connections, index, of);
        self.conns.truncate(n);
        self.conns.resize_with(n, || None);
        self.slot_base = base;
    }

    fn prepare_mailbox(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        self.prepare(spec)
    }

    fn mailbox_for_moves(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        self.listed_or_prepared(spec)
    }

    fn lookahead(&mut self, slot: Option<crate::dest::Lookahead>) {
        self.lookahead = slot;
    }

    fn deliver(
        &mut self,
        mailbox: &str,
        messages: &mut dyn Iterator<Item = Outgoing>,
        events: &mut dyn FnMut(SessionEvent) -> bool,
    ) -> Result<(), DestError> {
        if let Some(why) = self.stopped() {
            return Err(DestError::Stopped(why));
        }
        let Some(state) = self.mailboxes.get(mailbox) else {
            return Err(DestError::Mailbox {
                mailbox: mailbox.to_string(),
                reason: "not prepared".into(),
            });
        };
        let (perm, uid_validity) = (state.perm, state.uid_validity);
        let status = match self.prefetched.remove(mailbox) {
            Some(st) => st,
            None => self
                .with_control(|c| c.status(mailbox))
                .map_err(|e| self.err(e))?,
        };
        self.prefetched.clear();
        if status.uid_validity.is_some() && status.uid_validity != uid_validity {
            return Err(self.refused(format!(
                "UIDVALIDITY of {mailbox:?} changed during the run ({uid_validity:?} → {:?})",
                status.uid_validity
            )));
        }
        let mbox = wire_mailbox(mailbox).map_err(|e| self.err(e))?;
        let caps = self.caps.clone();
        let uv_now = status.uid_validity.or(uid_validity);
        let claims = self.claims.entry(mailbox.to_string()).or_default().clone();
        claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .begin(uv_now, status.uid_next);
        let unjournaled = if status.messages > 0 {
            Some(self.unjournaled(mailbox, uv_now, &claims)?)
        } else {
            None
        };
        worker::take_warm(&mut self.conns, &mut self.warming);
        // The workers open what is not open yet: nothing to open ahead any
        // more (a mailbox prepared ahead would open spares).
        self.warmed = true;
        let stop = AccountStop::new(self.shared.target.clone());
        // What the workers use is the call's own (the connections are
        // taken out meanwhile), so that the session itself can prepare the
        // next folder's mailbox once every message is on a connection.
        let shared = self.shared.clone();
        let n = self.conns.len();
        let mut conns = std::mem::replace(&mut self.conns, (0..n).map(|_| None).collect());
        let slot_base = self.slot_base;
        let ahead = self.lookahead.clone();
        let source = self.source.clone();
        let mut handed_out = || {
            let next = ahead
                .as_ref()
                .and_then(|a| a.lock().unwrap_or_else(|p| p.into_inner()).take());
            if let Some(spec) = next {
                self.prepare_ahead(&spec, mailbox);
            }
        };
        // Each connection reads the stored sizes back right behind its
        // last APPEND (worker::Tail), from the UIDNEXT seen now.
        let read_back = std::sync::Mutex::new(worker::ReadBack::default());
        let tail_from = uv_now
            .and(status.uid_next)
            .and_then(std::num::NonZeroU32::new);
        let ctx = WorkCtx {
            shared: &shared,
            mailbox,
            mbox,
            caps: &caps,
            uid_validity: uv_now,
            stop: &stop,
            claims: &claims,
            slot_base,
            tail_from,
            read_back: &read_back,
        };
        let setup = Setup {
            caps: &caps,
            opts: &shared.opts,
            perm,
            uid_validity: uv_now,
            uid_next: status.uid_next.unwrap_or(1),
            user: shared.creds.user(),
            budget: &shared.budget,
            budget_waits: shared.link.budget_waits(),
        };
        let d = Dispatcher::new(setup, &SystemClock);
        // What was appended with a UID, to compare with what the server
        // stored (super::stored).
        let mut sent: Vec<Sent> = Vec::new();
        // Messages with 8-bit header bytes (and no NUL, so the bytes sent
        // are the prepared ones) are also compared by content.
        let mut eight_bit: HashMap<String, ContentHash> = HashMap::new();
        {
            let mut record = |ev: SessionEvent| {
                if let SessionEvent::Done(d) = &ev {
                    if let DeliveryResult::Delivered(DestRef { uid: Some(u), .. }) = &d.result {
                        sent.push((d.item_id.clone(), *u, d.size));
                    }
                }
                events(ev)
            };
            let mut messages = messages.inspect(|o| {
                let b = &o.message.bytes;
                if compared_by_content(b) {
                    eight_bit.insert(o.item_id.clone(), o.message.hash);
                }
            });
            match unjournaled {
                Some((mut index, journaled)) if !index.is_empty() => {
                    let record: &mut dyn FnMut(SessionEvent) -> bool = &mut record;
                    let record = std::cell::RefCell::new(record);
                    let mut adopting = adopt::Adopting {
                        inner: &mut messages,
                        index: &mut index,
                        events: &record,
                        uid_validity: uv_now,
                        claims: &claims,
                        now: chrono::Utc::now().timestamp(),
                        held: Vec::new(),
                    };
                    let mut ev = |e: SessionEvent| (*record.borrow_mut())(e);
                    worker::deliver(&ctx, &mut conns, d, &mut adopting, &mut ev, &mut handed_out);
                    let note = adopt::note(mailbox, journaled, &index);
                    tracing::info!("{source}: {note}");
                    (*record.borrow_mut())(SessionEvent::Note(note));
                }
                _ => worker::deliver(
                    &ctx,
                    &mut conns,
                    d,
                    &mut messages,
                    &mut record,
                    &mut handed_out,
                ),
            }
        }
        self.conns = conns;
        let product = self.folders.product;
        // What the connections' tails read needs no round trip; the rest
        // (a UID no tail covered, a message whose 8-bit header is compared
        // by content) is read back on the control connection.
        let rb = read_back.into_inner().unwrap_or_else(|p| p.into_inner());
        let (local, rest): (Vec<Sent>, Vec<Sent>) = sent.into_iter().partition(|s| {
            rb.sizes.contains_key(&s.1)
                && (!eight_bit.contains_key(&s.0) || rb.bodies.contains_key(&s.1))
        });
        let mut alt = stored::from_tails(&local, &rb, &eight_bit, product);
        // Keeps the STATUS of a mailbox prepared ahead: reading this one
        // back changes nothing there.
        match self.with_control_keep(|c| stored::check(c, mailbox, &rest, &eight_bit, product)) {
            Ok(more) => alt.extend(more),
            Err(e) => tracing::warn!(
                "{}: {mailbox}: cannot read the stored sizes back: {e}",
                self.source
            ),
        }
        for a in alt {
            events(SessionEvent::Altered {
                item_id: a.item,
                reason: a.reason,
                stored: a.stored,
            });
        }
        if let Some(why) = stop.into_reason() {
            self.stopped = Some(why.clone());
            return Err(DestError::Stopped(why));
        }
        Ok(())
    }

    fn identity(&mut self, mailbox: &str) -> Option<(String, Option<u32>)> {
        // The login and its INBOX's UIDVALIDITY (a creation time on
        // Dovecot) identify the store; the mailbox's UIDVALIDITY says its
        // UIDs still mean what the journal recorded.
        let uv = self.mailboxes.get(mailbox)?.uid_validity?;
        Some((self.store_identity()?, Some(uv)))
    }

    fn uid_validity_of(&mut self, mailbox: &str) -> Option<u32> {
        self.with_control_keep(|c| c.status(mailbox))
            .ok()?
            .uid_validity
    }

    fn store_identity(&mut self) -> Option<String> {
        let inbox = match self.inbox_uid_validity {
            Some(v) => v,
            None => {
                let v = self
                    .with_control_keep(|c| c.status("INBOX"))
                    .ok()?
                    .uid_validity?;
                self.inbox_uid_validity = Some(v);
                v
            }
        };
        let login = self.shared.creds.user();
        Some(format!("imap login={login} inbox-uidvalidity={inbox}"))
    }

    fn journaled_mailboxes(
        &mut self,
        spec: &MailboxSpec,
        lookup: &mut dyn FnMut() -> Vec<(String, String)>,
    ) {
        // Only a name with a character some server refuses may get a
        // substitute: the journal is not read for the others.
        if self.hinted.is_none() && names::substitute(&spec.components, 0, false).is_some() {
            self.hinted = Some(lookup());
        }
    }

    fn journal_copies(&mut self, mailbox: &str, known: &[DoneCopy]) {
        self.probed.remove(mailbox);
        self.journaled.insert(mailbox.to_string(), known.to_vec());
    }

    fn durability_barrier(&self) -> Box<dyn Fn() -> std::io::Result<()> + Send + Sync> {
        // The server's tagged OK is the commit.
        Box::new(|| Ok(()))
    }

    fn reconcile(
        &mut self,
        mailbox: &str,
        pending: &[PendingItem],
        known: &[DoneCopy],
    ) -> Result<Vec<Reconciled>, DestError> {
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let wants: Vec<Want> = pending.iter().map(pending_want).collect();
        let journal = JournalCopies(known);
        let floor = journal.check_floor(&wants);
        let known = |uv: Option<u32>| journal.known(uv);
        let shared = self.shared.clone();
        let sleep = |d| shared.sleep(d);
        let result =
            self.with_control(|c| find_settled(c, mailbox, &wants, floor, &known, SETTLE, &sleep));
        let (uv, found) = match result {
            Ok(v) => v,
            Err(e) if !e.is_connection() => {
                // A mailbox that no longer exists holds nothing of them.
                let list = self.with_control(|c| c.list_all());
                match list {
                    Ok(l) if !l.iter().any(|m| m.name == mailbox) => {
                        return Ok(vec![Reconciled::Absent; pending.len()])
                    }
                    _ => return Err(self.err(e)),
                }
            }
            Err(e) => return Err(self.err(e)),
        };
        Ok(found
            .into_iter()
            .map(|f| match f {
                Found::Present(uid) => Reconciled::Present(DestRef::imap(uv, Some(uid))),
                Found::Absent => Reconciled::Absent,
                Found::Unknown(why) => Reconciled::Unknown(why),
            })
            .collect())
    }

    fn stored_altered(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, u64)],
    ) -> Result<Vec<(usize, String)>, DestError> {
        let product = self.folders.product;
        let result = self.with_control(|c| {
            let ex = c.examine(mailbox)?;
            let r = stored::sizes_differ(c, ex.uid_validity, refs, product);
            let _ = c.unselect();
            r
        });
        result.map_err(|e| self.err(e))
    }

    fn set_flags(
        &mut self,
        mailbox: &str,
        changes: &[crate::dest::FlagChange],
    ) -> Result<Vec<bool>, DestError> {
        self.flags_now(mailbox, changes)
    }

    fn sync_changes(
        &mut self,
        mailbox: &str,
        flags: &[crate::dest::FlagChange],
        remove: &[(DestRef, Option<u64>)],
    ) -> crate::dest::SyncAnswers {
        self.changes_now(mailbox, flags, remove)
    }

    fn move_message(
        &mut self,
        from: &str,
        r: &DestRef,
        size: Option<u64>,
        to: &str,
    ) -> Result<Option<DestRef>, DestError> {
        self.move_one(from, r, size, to)
    }

    fn move_messages(
        &mut self,
        from: &str,
        moves: &[(DestRef, Option<u64>)],
        to: &str,
    ) -> Result<Vec<Option<DestRef>>, DestError> {
        self.move_set(from, moves, to)
    }

    fn move_out(&mut self, from: &str, moves: &[crate::dest::MoveOut]) -> Vec<Option<DestRef>> {
        self.move_out_now(from, moves)
    }

    fn move_out_many(
        &mut self,
        all: &[(String, Vec<crate::dest::MoveOut>)],
    ) -> Vec<Vec<Option<DestRef>>> {
        self.move_out_many(all)
    }

    fn rename_mailbox(
        &mut self,
        from: &str,
        spec: &MailboxSpec,
    ) -> Result<crate::dest::MailboxRename, DestError> {
        use crate::dest::MailboxRename;
        if from.eq_ignore_ascii_case("INBOX") {
            return Ok(MailboxRename::NotSupported);
        }
        let to = self.plan_mailbox(spec)?;
        let result = self.with_control(|c| {
            let names: Vec<String> = c.list_all()?.into_iter().map(|m| m.name).collect();
            if names.contains(&to) {
                return Ok(MailboxRename::Exists(to.clone()));
            }
            if !names.iter().any(|n| n == from) {
                return Ok(MailboxRename::Missing);
            }
            c.rename(from, &to)?;
            // Servers that do not carry subscriptions with RENAME.
            let _ = c.subscribe(&to);
            Ok(MailboxRename::Renamed(to.clone()))
        });
        self.mailboxes.remove(from);
        result.map_err(|e| self.err(e))
    }

    fn gone_copies(&mut self, mailbox: &str, refs: &[DestRef]) -> Result<Vec<bool>, DestError> {
        self.gone_now(mailbox, refs)
    }

    fn altered_copies(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, u64)],
    ) -> Result<Vec<Option<crate::dest::AlteredCopy>>, DestError> {
        self.altered_now(mailbox, refs)
    }

    fn stored_flags(
        &mut self,
        mailbox: &str,
        refs: &[DestRef],
    ) -> Result<Vec<Option<crate::model::MailFlags>>, DestError> {
        if refs.is_empty() {
            return Ok(Vec::new());
        }
        let result = self.with_control(|c| {
            let uv = c.examine(mailbox)?.uid_validity;
            let uids: Vec<u32> = refs
                .iter()
                .filter(|r| r.uid_validity == uv)
                .filter_map(|r| r.uid)
                .collect();
            let found: HashMap<u32, crate::model::MailFlags> =
                c.uid_flags(&uids)?.into_iter().collect();
            let _ = c.unselect();
            Ok(refs
                .iter()
                .map(|r| {
                    r.uid
                        .filter(|_| r.uid_validity == uv)
                        .and_then(|u| found.get(&u).copied())
                })
                .collect())
        });
        result.map_err(|e| self.err(e))
    }

    fn remove(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, Option<u64>)],
    ) -> Result<Vec<bool>, DestError> {
        self.remove_now(mailbox, refs)
    }

    fn extras(
        &mut self,
        mailbox: &str,
        journaled: &[DoneCopy],
    ) -> Result<Vec<crate::dest::Extra>, DestError> {
        let result = self.with_control(|c| {
            let ex = match c.examine(mailbox) {
                Ok(ex) => ex,
                Err(e) if !e.is_connection() => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            let found = super::verify::extras_in_selected(c, ex.uid_validity, journaled);
            let _ = c.unselect();
            found
        });
        result.map_err(|e| self.err(e))
    }

    fn find_by_content(
        &mut self,
        mailbox: &str,
        sought: &[crate::dest::Sought],
        taken: &std::collections::HashSet<u32>,
        bytes: &mut dyn FnMut(usize) -> Option<Vec<u8>>,
    ) -> Result<crate::dest::ContentFound, DestError> {
        let result = self.with_control(|c| {
            match c.examine(mailbox) {
                Ok(_) => {}
                // No such mailbox: nothing is there.
                Err(e) if !e.is_connection() => {
                    return Ok(crate::dest::ContentFound {
                        found: vec![None; sought.len()],
                        ..Default::default()
                    })
                }
                Err(e) => return Err(e),
            };
            let found = super::inventory::find_in_selected(c, sought, taken, bytes);
            let _ = c.unselect();
            found
        });
        result.map_err(|e| self.err(e))
    }

    fn verify(
        &mut self,
        mailbox: &str,
        refs: &[(DestRef, ContentHash)],
        deep: bool,
    ) -> Result<Vec<Presence>, DestError> {
        let result = self.with_control(|c| {
            let ex = match c.examine(mailbox) {
                Ok(ex) => ex,
                // No such mailbox: nothing of it is there.
                Err(e) if !e.is_connection() => return Ok(vec![Presence::Missing; refs.len()]),
                Err(e) => return Err(e),
            };
            let checked = verify_in_selected(c, ex.uid_validity, refs, deep);
            let _ = c.unselect();
            checked
        });
        result.map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sessions_share_the_accounts_connections() {
        // 4 connections on 3 sessions: 2 + 1 + 1, numbered 0-1, 2, 3.
        let shares: Vec<_> = (0..3).map(|i| super::connection_share(4, i, 3)).collect();
        assert_eq!(shares, [(2, 0), (1, 2), (1, 3)]);
        assert_eq!(super::connection_share(4, 0, 1), (4, 0));
        // Never none (the engine asks for at most one session a connection).
        assert_eq!(super::connection_share(1, 1, 2), (1, 1));
    }
}
