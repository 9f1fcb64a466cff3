//! The [`DestSession`] of the IMAP target: one control connection
//! (LIST, CREATE, STATUS, EXAMINE, reconciliation) and up to
//! `connections` append connections, each driven by a worker thread that
//! pipelines APPEND / MULTIAPPEND commands (see [`super::pipeline`]).
//!
//! `deliver()` runs on the driver's thread: it takes messages from the
//! stream, checks them (APPENDLIMIT, NUL, byte budget, date, flags),
//! groups them, announces each group with [`SessionEvent::Pending`] (the
//! marker holds UIDVALIDITY and the lowest UID the group can get) and,
//! once the driver says it is durable, hands it to the workers (a group the
//! journal could not record is not sent: its messages fail and the account
//! stops); every outcome comes back to this thread, which alone calls
//! `events`.
//!
//! A worker whose connection dies reconnects with backoff, looks for the
//! messages whose fate is unknown (see [`super::reconcile`]; this run's
//! UIDs in the mailbox are excluded, its copies without a UID counted, and
//! a byte-identical message still in flight on another connection makes
//! the answer "unknown"), and sends again only what is certainly not there;
//! what it cannot decide is reported failed "arrival in doubt" and left
//! pending for the next run. After a timeout it does not check at all (the
//! server may still be storing): those messages are in doubt too.
//! `[THROTTLED]` / `[UNAVAILABLE]` pause the worker (honouring "Suggested
//! Backoff Time"), `[TRYCREATE]` recreates the mailbox, `[OVERQUOTA]` stops
//! the account, any other NO fails the message (a refused MULTIAPPEND batch
//! is first split to find the culprit).

use super::auth::{Credentials, TokenCache};
use super::caps::Capabilities;
use super::client::{wire_mailbox, ImapSession};
use super::conn::ConnectConfig;
use super::error::{ImapError, RespCode};
use super::pipeline::{build_append, pump, CmdOutcome, Lost, Next, PumpStats, Window, WireMsg};
use super::reconcile::{find_on_server, fold_hash, Found, Known, Tally, Want};
use super::{ImapOptions, NulPolicy};
use crate::dest::{
    Delivery, DeliveryResult, DestError, DestInfo, DestRef, DestSession, MailFlags, MailboxPlan,
    MailboxSpec, Outgoing, Presence, Reconciled, SessionEvent,
};
use crate::message::ContentHash;
use crate::model::{DoneCopy, PendingItem};
use crate::text::sample;
use chrono::{DateTime, FixedOffset, Utc};
use crossbeam_channel::{select, Receiver, Sender, TryRecvError};
use imap_next::imap_types::{datetime::DateTime as ImapDateTime, flag::Flag, mailbox::Mailbox};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What every connection of an account shares.
pub(super) struct Shared {
    pub cfg: ConnectConfig,
    pub opts: ImapOptions,
    pub creds: Credentials,
    pub tokens: Arc<TokenCache>,
    pub cancel: Arc<AtomicBool>,
    pub budget: Arc<ByteBudget>,
}

impl Shared {
    /// Connects, retrying connection-level failures with backoff.
    pub(super) fn connect(&self) -> Result<ImapSession, ImapError> {
        let mut attempt = 0;
        loop {
            match ImapSession::connect(&self.cfg, &self.creds, &self.tokens) {
                Ok(s) => return Ok(s),
                Err(e) if e.is_connection() && attempt < self.opts.retries => {
                    let wait = backoff(attempt, self.opts.backoff_max);
                    tracing::warn!("{e}; reconnecting in {wait:?}");
                    self.sleep(wait);
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sleeps, waking early on Ctrl-C.
    fn sleep(&self, d: Duration) {
        let end = Instant::now() + d;
        while Instant::now() < end && !self.cancel.load(Ordering::Relaxed) {
            std::thread::sleep((end - Instant::now()).min(Duration::from_millis(200)));
        }
    }
}

/// 1 s, 2 s, 4 s … up to `max`.
pub(super) fn backoff(attempt: u32, max: Duration) -> Duration {
    Duration::from_secs(1u64 << attempt.min(16)).min(max)
}

/// "Suggested Backoff Time: 5000 milliseconds" (Microsoft 365) in a NO text.
pub(super) fn suggested_backoff(text: &str) -> Option<Duration> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("suggested backoff time")?;
    let rest = &lower[at + "suggested backoff time".len()..];
    let digits: String = rest
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let n: u64 = digits.parse().ok()?;
    let after = rest
        .split_once(&digits)
        .map(|(_, a)| a.trim_start())
        .unwrap_or("");
    let ms = if after.starts_with("sec") || after.starts_with('s') && !after.starts_with("ms") {
        n.saturating_mul(1000)
    } else {
        n
    };
    Some(Duration::from_millis(ms.min(3_600_000)))
}

/// `--max-bytes-per-day`: bytes sent to one target account in any 24 hours
/// of this process. When the budget is spent, `deliver` waits until enough
/// of it frees up (logging when), so the count stays true; a rerun starts a
/// new count.
#[derive(Debug, Default)]
pub struct ByteBudget {
    limit: Option<u64>,
    sent: Mutex<VecDeque<(Instant, u64)>>,
}

impl ByteBudget {
    /// A budget of `limit` bytes per 24 hours (`None`: unlimited).
    pub fn new(limit: Option<u64>) -> ByteBudget {
        ByteBudget {
            limit,
            sent: Mutex::new(VecDeque::new()),
        }
    }

    const DAY: Duration = Duration::from_secs(86_400);

    /// How long to wait before `n` more bytes fit (`None`: never, `n` is
    /// larger than the whole budget); records them when they fit now.
    pub fn take(&self, n: u64) -> Result<Duration, u64> {
        let Some(limit) = self.limit else {
            return Ok(Duration::ZERO);
        };
        if n > limit {
            return Err(limit);
        }
        let mut q = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        while q
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= Self::DAY)
        {
            q.pop_front();
        }
        let mut used: u64 = q.iter().map(|(_, b)| b).sum();
        if used + n <= limit {
            q.push_back((now, n));
            return Ok(Duration::ZERO);
        }
        for (t, b) in q.iter() {
            used -= b;
            if used + n <= limit {
                return Ok((*t + Self::DAY).saturating_duration_since(now) + Duration::from_secs(1));
            }
        }
        Ok(Self::DAY)
    }
}

#[derive(Clone, Copy, Debug)]
struct PermFlags {
    seen: bool,
    answered: bool,
    flagged: bool,
    draft: bool,
}

impl PermFlags {
    fn from(list: Option<&Vec<String>>) -> PermFlags {
        match list {
            // No PERMANENTFLAGS: every flag may be set (RFC 3501 §7.1).
            None => PermFlags {
                seen: true,
                answered: true,
                flagged: true,
                draft: true,
            },
            Some(v) => {
                let has = |f: &str| v.iter().any(|x| x.eq_ignore_ascii_case(f));
                PermFlags {
                    seen: has("\\Seen"),
                    answered: has("\\Answered"),
                    flagged: has("\\Flagged"),
                    draft: has("\\Draft"),
                }
            }
        }
    }

    fn apply(&self, f: MailFlags) -> Vec<Flag<'static>> {
        let mut v = Vec::new();
        if f.seen && self.seen {
            v.push(Flag::Seen);
        }
        if f.answered && self.answered {
            v.push(Flag::Answered);
        }
        if f.flagged && self.flagged {
            v.push(Flag::Flagged);
        }
        if f.draft && self.draft {
            v.push(Flag::Draft);
        }
        v
    }

    fn dropped(&self, f: MailFlags) -> bool {
        (f.seen && !self.seen)
            || (f.answered && !self.answered)
            || (f.flagged && !self.flagged)
            || (f.draft && !self.draft)
    }
}

/// Target components, report notes, hierarchy delimiter.
type Components = (Vec<String>, Vec<String>, Option<char>);

/// Target components, how the mapping chose them, its notes.
type Mapped = (Vec<String>, Option<crate::mapping::MapSource>, Vec<String>);

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
    conns: Vec<Option<ImapSession>>,
    mailboxes: HashMap<String, MailboxState>,
    notes: HashMap<String, Vec<String>>,
    stopped: Option<String>,
    /// Built from the server's LIST on first use.
    mapper: Option<crate::mapping::Mapper>,
    /// Source folders created under another name because the server
    /// refused the mapped one: source path → (mailbox, why).
    renamed: HashMap<String, (String, String)>,
    /// What this run put (or may have put) into each mailbox, over all
    /// its `deliver` calls (two source folders can share a mailbox).
    claims: HashMap<String, Arc<Mutex<Claims>>>,
}

/// What this run knows about its own copies in one mailbox, for the
/// checks after a lost connection (see [`super::reconcile`]).
#[derive(Debug, Default)]
struct Claims {
    /// UIDVALIDITY these facts hold under.
    uid_validity: Option<u32>,
    /// UIDNEXT when this run first sent here: every copy of this run is at
    /// or above it.
    floor: Option<u32>,
    /// UIDs known to hold messages of this run.
    uids: HashSet<u32>,
    /// Delivered without a UID (no UIDPLUS): there, UID unknown.
    uidless: Tally,
    /// Written on a connection, answer not read yet.
    in_flight: Tally,
    /// Fate unknown (timed out, or the check could not tell): may be there.
    doubt: Tally,
}

impl Claims {
    /// What a check of this mailbox must count (taken after reading the
    /// server): `uv` is the UIDVALIDITY the server showed.
    fn known(&self, uv: Option<u32>) -> Known {
        let mut maybe = self.in_flight.clone();
        maybe.extend(&self.doubt);
        if uv == self.uid_validity {
            Known {
                exclude: self.uids.clone(),
                sure: self.uidless.clone(),
                maybe,
            }
        } else {
            // Recreated meanwhile: what arrived before may be gone.
            maybe.extend(&self.uidless);
            Known {
                maybe,
                ..Known::default()
            }
        }
    }
}

fn lock_claims(c: &Mutex<Claims>) -> std::sync::MutexGuard<'_, Claims> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

impl ImapAccountSession {
    pub(super) fn open(
        shared: Arc<Shared>,
        source: String,
        prefix: Option<String>,
    ) -> Result<ImapAccountSession, ImapError> {
        let control = shared.connect()?;
        let caps = control.capabilities().clone();
        let n = shared.opts.connections.max(1);
        Ok(ImapAccountSession {
            shared,
            source,
            prefix,
            control: Some(control),
            caps,
            conns: (0..n).map(|_| None).collect(),
            mailboxes: HashMap::new(),
            notes: HashMap::new(),
            stopped: None,
            mapper: None,
            renamed: HashMap::new(),
            claims: HashMap::new(),
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> DestError {
        DestError::Other(format!(
            "{} → {}: {e}",
            self.source,
            self.shared.creds.describe()
        ))
    }

    /// Runs `f` on the control connection, reconnecting once when the
    /// connection was lost.
    fn with_control<T>(
        &mut self,
        mut f: impl FnMut(&mut ImapSession) -> Result<T, ImapError>,
    ) -> Result<T, ImapError> {
        for attempt in 0..2 {
            if self.control.as_ref().is_none_or(|c| c.is_broken()) {
                self.control = Some(self.shared.connect()?);
            }
            let Some(ctl) = self.control.as_mut() else {
                continue;
            };
            match f(ctl) {
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
        use crate::mapping::{Mapper, SpecialUse, TargetFolders};
        let delimiter = self.with_control(|c| c.delimiter())?;
        let list = self.with_control(|c| c.list_all())?;
        let special_use = list
            .iter()
            .flat_map(|m| {
                m.attributes
                    .iter()
                    .filter_map(|a| SpecialUse::from_attribute(a))
                    .map(|u| (u, m.name.clone()))
            })
            .collect();
        let folders = TargetFolders {
            delimiter,
            special_use,
            existing: list.into_iter().map(|m| m.name).collect(),
            // Names always go out in modified UTF-7 (UTF8=ACCEPT is not enabled).
            utf8: false,
            namespace: None,
        };
        let m = Mapper::new(&self.shared.opts.mapping, &folders);
        for w in m.warnings() {
            tracing::warn!("{}: folder mapping: {w}", self.source);
        }
        self.mapper = Some(m.clone());
        Ok(m)
    }

    /// The target mailbox path of a source folder, as components, with how
    /// it was chosen and the mapping's notes. Public folders go below the
    /// public prefix as they are (Kerio's special-folder names mean nothing
    /// in a shared tree).
    fn target_components(&mut self, spec: &MailboxSpec) -> Result<Mapped, ImapError> {
        if let Some(p) = &self.prefix {
            let mut v = vec![p.clone()];
            v.extend(spec.components.iter().cloned());
            return Ok((v, Some(crate::mapping::MapSource::Prefix), Vec::new()));
        }
        let m = self.mapper()?.map_components(&spec.components);
        Ok((m.components, Some(m.how), m.notes))
    }

    /// Components with the hierarchy delimiter replaced, and what was
    /// replaced (for the report).
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

    fn components_for(&mut self, spec: &MailboxSpec) -> Result<Components, ImapError> {
        let delim = self.with_control(|c| c.delimiter())?;
        let (comps, _, mut notes) = self.target_components(spec)?;
        // The mapper already keeps the delimiter out of names; this is the
        // last guard before the wire.
        let (comps, more) = Self::sanitize(comps, delim);
        notes.extend(more);
        Ok((comps, notes, delim))
    }
}

impl DestSession for ImapAccountSession {
    fn target_account(&self) -> String {
        format!(
            "{} on {}",
            self.shared.creds.describe(),
            self.shared.cfg.server()
        )
    }

    fn plan_mailbox(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        Ok(self.explain_mailbox(spec)?.name)
    }

    fn explain_mailbox(&mut self, spec: &MailboxSpec) -> Result<MailboxPlan, DestError> {
        let delim = self
            .with_control(|c| c.delimiter())
            .map_err(|e| self.err(e))?;
        let (comps, how, mut notes) = self.target_components(spec).map_err(|e| self.err(e))?;
        let (comps, more) = Self::sanitize(comps, delim);
        notes.extend(more);
        let mut name = comps.join(&delim.map(String::from).unwrap_or_default());
        if let Some((created, why)) = self.renamed.get(&spec.source_path) {
            name = created.clone();
            notes.push(why.clone());
        }
        Ok(MailboxPlan { name, how, notes })
    }

    fn prepare_mailbox(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        if let Some(why) = &self.stopped {
            return Err(DestError::Other(why.clone()));
        }
        // The mapping's notes reach the report through explain_mailbox.
        let (comps, _, _) = self.components_for(spec).map_err(|e| self.err(e))?;
        let name = match self.with_control(|c| c.ensure_mailbox(&comps)) {
            Ok(n) => n,
            // Dovecot and Courier with Maildir++ storage refuse '.' in a
            // name ("Character not allowed"): rather than fail every
            // message of the folder, create it with '_' and say so.
            Err(e) if !e.is_connection() && comps.iter().any(|c| c.contains('.')) => {
                let alt: Vec<String> = comps.iter().map(|c| c.replace('.', "_")).collect();
                let n = match self.with_control(|c| c.ensure_mailbox(&alt)) {
                    Ok(n) => n,
                    Err(e2) => return Err(self.err(format!("{e}; as {alt:?} too: {e2}"))),
                };
                self.renamed.insert(
                    spec.source_path.clone(),
                    (
                        n.clone(),
                        format!("the server refused the name ({e}); created as {n:?}, '.' replaced by '_' (a mapping file can choose another name)"),
                    ),
                );
                n
            }
            Err(e) => return Err(self.err(e)),
        };
        let ex = self
            .with_control(|c| {
                let ex = c.examine(&name)?;
                c.unselect()?;
                Ok(ex)
            })
            .map_err(|e| self.err(e))?;
        let perm = PermFlags::from(ex.storable_flags());
        self.mailboxes.insert(
            name.clone(),
            MailboxState {
                uid_validity: ex.uid_validity,
                perm,
            },
        );
        Ok(name)
    }

    fn deliver(
        &mut self,
        mailbox: &str,
        messages: &mut dyn Iterator<Item = Outgoing>,
        events: &mut dyn FnMut(SessionEvent) -> bool,
    ) -> Result<(), DestError> {
        if let Some(why) = &self.stopped {
            return Err(DestError::Other(why.clone()));
        }
        for n in self.notes.remove(mailbox).unwrap_or_default() {
            events(SessionEvent::Note(n));
        }
        let Some(state) = self.mailboxes.get(mailbox) else {
            return Err(DestError::BadMailbox {
                mailbox: mailbox.to_string(),
                reason: "not prepared".into(),
            });
        };
        let (perm, uid_validity) = (state.perm, state.uid_validity);
        let status = self
            .with_control(|c| c.status(mailbox))
            .map_err(|e| self.err(e))?;
        if status.uid_validity.is_some() && status.uid_validity != uid_validity {
            return Err(self.err(format!(
                "UIDVALIDITY of {mailbox:?} changed during the run ({uid_validity:?} → {:?})",
                status.uid_validity
            )));
        }
        let mbox = wire_mailbox(mailbox).map_err(|e| self.err(e))?;
        let caps = self.caps.clone();
        let stop: Mutex<Option<String>> = Mutex::new(None);
        let stop_flag = AtomicBool::new(false);
        let uv_now = status.uid_validity.or(uid_validity);
        let claims = self.claims.entry(mailbox.to_string()).or_default().clone();
        {
            let mut c = lock_claims(&claims);
            if c.floor.is_none() || c.uid_validity != uv_now {
                *c = Claims {
                    uid_validity: uv_now,
                    floor: Some(status.uid_next.unwrap_or(1)),
                    ..Claims::default()
                };
            }
        }
        let ctx = WorkCtx {
            shared: &self.shared,
            mailbox,
            mbox,
            caps: &caps,
            uid_validity: status.uid_validity.or(uid_validity),
            stop: &stop,
            stop_flag: &stop_flag,
            claims: &claims,
        };
        let mut d = Dispatcher::new(&ctx, perm, status.uid_next.unwrap_or(1));
        std::thread::scope(|s| {
            let (job_tx, job_rx) = crossbeam_channel::bounded::<Unit>(self.conns.len() * 2);
            let (rep_tx, rep_rx) = crossbeam_channel::unbounded::<Report>();
            for conn in self.conns.iter_mut() {
                let (rx, tx, ctx) = (job_rx.clone(), rep_tx.clone(), &ctx);
                s.spawn(move || worker(ctx, conn, rx, tx));
            }
            drop(job_rx);
            drop(rep_tx);
            d.run(messages, events, &job_tx, &rep_rx);
            drop(job_tx);
            for r in rep_rx.iter() {
                d.report(r, events);
            }
            d.finish(events);
        });
        let why = stop.into_inner().unwrap_or_else(|p| p.into_inner());
        if let Some(why) = why {
            if stop_flag.load(Ordering::Relaxed) {
                self.stopped = Some(why.clone());
                return Err(DestError::Other(why));
            }
        }
        Ok(())
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
        let wants: Vec<Want> = pending
            .iter()
            .map(|p| {
                let m = p.marker.as_deref().and_then(Marker::parse);
                let alt = m.as_ref().and_then(|m| m.alt.get(&p.item).cloned());
                let hash = alt.as_ref().map_or(p.hash.0, |a| a.0);
                let size = alt.map(|a| a.1).or(p.size);
                // Without a marker, or under another UIDVALIDITY (the
                // mailbox was recreated), find_on_server looks everywhere.
                let (lower, uid_validity) = match &m {
                    Some(m) if m.uv.is_some() => (m.un, m.uv),
                    _ => (1, None),
                };
                Want {
                    hash,
                    size,
                    lower,
                    uid_validity,
                    message_id: p.message_id.clone(),
                    internal_date: p.internal_date,
                }
            })
            .collect();
        // (content hash, UIDVALIDITY, UID, Message-ID) of each done row.
        type Copy = ([u8; 32], Option<u32>, Option<u32>, Option<String>);
        let copies: Vec<Copy> = known
            .iter()
            .map(|k| (k.hash.0, k.uid_validity, k.uid, k.message_id.clone()))
            .collect();
        // The journal's rows: under the mailbox's UIDVALIDITY their UIDs
        // are taken and UID-less ones are there somewhere; under another
        // one (recreated) they may or may not be there.
        let journal_known = |uv: Option<u32>| {
            let mut k = Known::default();
            for (hash, v, uid, mid) in &copies {
                match (*v == uv, uid) {
                    (true, Some(u)) => {
                        k.exclude.insert(*u);
                    }
                    (true, None) => k.sure.add(*hash, mid.as_deref()),
                    (false, _) => k.maybe.add(*hash, mid.as_deref()),
                }
            }
            k
        };
        let mut uidless = Tally::default();
        for (hash, _, uid, mid) in &copies {
            if uid.is_none() {
                uidless.add(*hash, mid.as_deref());
            }
        }
        let floor = wants.iter().any(|w| uidless.touches(w)).then_some(1);
        let result =
            self.with_control(|c| find_on_server(c, mailbox, &wants, floor, &journal_known));
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
                Found::Present(uid) => Reconciled::Present(target_ref(uv, Some(uid))),
                Found::Absent => Reconciled::Absent,
                Found::Unknown(why) => Reconciled::Unknown(why),
            })
            .collect())
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

    fn info(&self) -> DestInfo {
        DestInfo {
            append_limit: self.caps.append_limit(),
            capabilities: self.caps.raw.clone(),
        }
    }

    fn finish(self: Box<Self>) -> Result<(), DestError> {
        let this = *self;
        for c in this.conns.into_iter().flatten() {
            let _ = c.logout();
        }
        if let Some(c) = this.control {
            let _ = c.logout();
        }
        Ok(())
    }
}

/// Checks `refs` in the mailbox the control connection has open: by UID
/// when the journal has one under the current UIDVALIDITY, else by content
/// (servers without UIDPLUS, or a mailbox recreated since). With `deep`,
/// every message found is fetched and its content compared (NUL and 0x80
/// folded together: Dovecot stores NUL as 0x80).
fn verify_in_selected(
    c: &mut ImapSession,
    uid_validity: Option<u32>,
    refs: &[(DestRef, ContentHash)],
    deep: bool,
) -> Result<Vec<Presence>, ImapError> {
    let on_server: HashMap<u32, u64> = c.uid_sizes_from(1)?.into_iter().collect();
    let mut out = vec![Presence::Missing; refs.len()];
    let mut by_uid: Vec<(usize, u32)> = Vec::new();
    let mut by_content: Vec<usize> = Vec::new();
    for (i, (r, _)) in refs.iter().enumerate() {
        match (r.uid, r.uid_validity) {
            (Some(uid), Some(v)) if Some(v) == uid_validity => {
                if on_server.contains_key(&uid) {
                    by_uid.push((i, uid));
                }
            }
            _ => by_content.push(i),
        }
    }
    if deep && !by_uid.is_empty() {
        let mut at: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, uid) in &by_uid {
            at.entry(*uid).or_default().push(*i);
        }
        let uids: Vec<u32> = at.keys().copied().collect();
        // Bodies are compared as they come and dropped.
        c.uid_bodies_each(&uids, &mut |uid, body| {
            for &i in at.get(&uid).into_iter().flatten() {
                out[i] = if same_content(body, &refs[i].1) {
                    Presence::Present
                } else {
                    Presence::Differs
                };
            }
        })?;
    } else {
        for (i, _) in by_uid {
            out[i] = Presence::Present;
        }
    }
    if !by_content.is_empty() {
        let mut uids: Vec<u32> = on_server.keys().copied().collect();
        uids.sort_unstable();
        // Only the hashes are kept (a body with 0x80 also as read with
        // 0x80 as NUL, see same_content).
        let mut hashes: Vec<(u32, ContentHash, Option<ContentHash>)> = Vec::new();
        c.uid_bodies_each(&uids, &mut |uid, body| {
            let unfolded = body.contains(&0x80).then(|| {
                let v: Vec<u8> = body
                    .iter()
                    .map(|&b| if b == 0x80 { 0 } else { b })
                    .collect();
                ContentHash::of(&v)
            });
            hashes.push((uid, ContentHash::of(body), unfolded));
        })?;
        hashes.sort_by_key(|(u, _, _)| *u);
        let mut taken: HashSet<u32> = HashSet::new();
        for i in by_content {
            let want = &refs[i].1;
            if let Some((uid, _, _)) = hashes
                .iter()
                .find(|(u, h, h2)| !taken.contains(u) && (h == want || h2.as_ref() == Some(want)))
            {
                taken.insert(*uid);
                out[i] = Presence::Present;
            }
        }
    }
    Ok(out)
}

/// True when `body` (as the server returns it) is what was sent with hash
/// `sent`. Dovecot returns every NUL byte as 0x80, so a body with 0x80 is
/// also tried with 0x80 read back as NUL.
fn same_content(body: &[u8], sent: &ContentHash) -> bool {
    if ContentHash::of(body) == *sent {
        return true;
    }
    body.contains(&0x80) && {
        let unfolded: Vec<u8> = body
            .iter()
            .map(|&b| if b == 0x80 { 0 } else { b })
            .collect();
        ContentHash::of(&unfolded) == *sent
    }
}

fn to_hex(h: &[u8; 32]) -> String {
    ContentHash(*h).to_hex()
}

fn target_ref(uv: Option<u32>, uid: Option<u32>) -> DestRef {
    DestRef {
        id: match (uv, uid) {
            (Some(v), Some(u)) => Some(format!("{v}/{u}")),
            _ => None,
        },
        uid_validity: uv,
        uid,
    }
}

/// The Pending marker: `{"uv":UIDVALIDITY,"un":lowest UID,"alt":{item:[hash,size]}}`;
/// `alt` lists the items whose bytes on the wire differ from the prepared
/// ones (NUL stripped, or NUL that Dovecot will store as 0x80).
#[derive(Debug, Default)]
struct Marker {
    uv: Option<u32>,
    un: u32,
    alt: HashMap<String, ([u8; 32], u64)>,
}

impl Marker {
    fn to_json(&self) -> String {
        let alt: serde_json::Map<String, serde_json::Value> = self
            .alt
            .iter()
            .map(|(k, (h, n))| (k.clone(), serde_json::json!([to_hex(h), n])))
            .collect();
        serde_json::json!({"imap": 1, "uv": self.uv, "un": self.un, "alt": alt}).to_string()
    }

    fn parse(s: &str) -> Option<Marker> {
        let v: serde_json::Value = serde_json::from_str(s).ok()?;
        v.get("imap")?;
        let uv = v.get("uv").and_then(|x| x.as_u64()).map(|x| x as u32);
        let un = v.get("un").and_then(|x| x.as_u64()).unwrap_or(1) as u32;
        let mut alt = HashMap::new();
        if let Some(m) = v.get("alt").and_then(|x| x.as_object()) {
            for (k, e) in m {
                let h = e
                    .get(0)
                    .and_then(|x| x.as_str())
                    .and_then(|x| ContentHash::from_hex(x).map(|h| h.0));
                let n = e.get(1).and_then(|x| x.as_u64());
                if let (Some(h), Some(n)) = (h, n) {
                    alt.insert(k.clone(), (h, n));
                }
            }
        }
        Some(Marker { uv, un, alt })
    }
}

/// What the workers of one `deliver` call share.
struct WorkCtx<'a> {
    shared: &'a Shared,
    mailbox: &'a str,
    mbox: Mailbox<'static>,
    caps: &'a Capabilities,
    uid_validity: Option<u32>,
    /// Why the account stopped (or, with `stop_flag` unset, why this
    /// mailbox stopped).
    stop: &'a Mutex<Option<String>>,
    stop_flag: &'a AtomicBool,
    /// This run's copies in the mailbox.
    claims: &'a Mutex<Claims>,
}

impl WorkCtx<'_> {
    fn stopped(&self) -> Option<String> {
        self.stop.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    fn stop_account(&self, why: String) {
        let mut s = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        s.get_or_insert(why);
        self.stop_flag.store(true, Ordering::Relaxed);
    }
    fn window(&self) -> Window {
        let o = &self.shared.opts;
        if self.multi() {
            Window {
                commands: o.multi_in_flight.max(1),
                bytes: o.window_bytes,
            }
        } else {
            Window {
                commands: o.window.max(1),
                bytes: o.window_bytes,
            }
        }
    }
    fn multi(&self) -> bool {
        self.shared.opts.multiappend && self.caps.multiappend && self.shared.opts.batch > 1
    }
}

/// One message ready for the wire.
struct Msg {
    mid: u64,
    data: Vec<u8>,
    flags: Vec<Flag<'static>>,
    date: Option<ImapDateTime>,
    /// `date` as Unix seconds.
    sent_date: Option<i64>,
    message_id: Option<String>,
    hash: [u8; 32],
    lower: u32,
    attempts: u32,
    last_error: Option<String>,
}

/// Messages sent as one command (MULTIAPPEND when more than one).
struct Unit {
    msgs: Vec<Msg>,
    throttled: u32,
    created: bool,
}

enum Report {
    Done { mid: u64, result: DeliveryResult },
    Note(String),
}

struct Meta {
    item_id: String,
    hash: ContentHash,
    size: u64,
    internal_date: DateTime<Utc>,
    message_id: Option<String>,
}

/// The `deliver` side: checks, groups, announces, dispatches, reports.
struct Dispatcher<'a, 'b> {
    ctx: &'a WorkCtx<'b>,
    perm: PermFlags,
    lower: u32,
    meta: HashMap<u64, Meta>,
    next_mid: u64,
    group: Vec<Msg>,
    group_bytes: usize,
    group_items: Vec<(String, ContentHash)>,
    group_alt: HashMap<String, ([u8; 32], u64)>,
    dates_before_1970: Vec<String>,
    dates_future: Vec<String>,
    nul_stripped: Vec<String>,
    nul_binary: Vec<String>,
    flags_dropped: u64,
}

impl<'a, 'b> Dispatcher<'a, 'b> {
    fn new(ctx: &'a WorkCtx<'b>, perm: PermFlags, uid_next: u32) -> Self {
        Dispatcher {
            ctx,
            perm,
            lower: uid_next.max(1),
            meta: HashMap::new(),
            next_mid: 0,
            group: Vec::new(),
            group_bytes: 0,
            group_items: Vec::new(),
            group_alt: HashMap::new(),
            dates_before_1970: Vec::new(),
            dates_future: Vec::new(),
            nul_stripped: Vec::new(),
            nul_binary: Vec::new(),
            flags_dropped: 0,
        }
    }

    fn done_now(
        &self,
        o: &Outgoing,
        result: DeliveryResult,
        events: &mut dyn FnMut(SessionEvent) -> bool,
    ) {
        events(SessionEvent::Done(Delivery {
            item_id: o.item_id.clone(),
            hash: o.message.hash,
            size: o.message.bytes.len() as u64,
            internal_date: o.internal_date,
            message_id: o.message.message_id.clone(),
            result,
        }));
    }

    fn report(&mut self, r: Report, events: &mut dyn FnMut(SessionEvent) -> bool) {
        match r {
            Report::Note(n) => {
                events(SessionEvent::Note(n));
            }
            Report::Done { mid, result } => {
                if let DeliveryResult::Delivered(DestRef { uid: Some(u), .. })
                | DeliveryResult::AlreadyPresent(DestRef { uid: Some(u), .. }) = &result
                {
                    self.lower = self.lower.max(u.saturating_add(1));
                }
                if let Some(m) = self.meta.remove(&mid) {
                    events(SessionEvent::Done(Delivery {
                        item_id: m.item_id,
                        hash: m.hash,
                        size: m.size,
                        internal_date: m.internal_date,
                        message_id: m.message_id,
                        result,
                    }));
                }
            }
        }
    }

    fn drain(&mut self, rep_rx: &Receiver<Report>, events: &mut dyn FnMut(SessionEvent) -> bool) {
        while let Ok(r) = rep_rx.try_recv() {
            self.report(r, events);
        }
    }

    /// Checks one message; `None` when it was settled here.
    fn prepare(
        &mut self,
        o: Outgoing,
        events: &mut dyn FnMut(SessionEvent) -> bool,
    ) -> Option<(Msg, Outgoing)> {
        let caps = self.ctx.caps;
        let opts = &self.ctx.shared.opts;
        let mut data = o.message.bytes.clone();
        if data.contains(&0) {
            if caps.binary {
                self.nul_binary.push(o.item_id.clone());
            } else {
                match opts.nul {
                    NulPolicy::Skip => {
                        self.done_now(
                            &o,
                            DeliveryResult::Skipped {
                                reason:
                                    "contains NUL bytes and the server has no BINARY (--nul skip)"
                                        .into(),
                            },
                            events,
                        );
                        return None;
                    }
                    NulPolicy::Strip => {
                        data.retain(|b| *b != 0);
                        self.nul_stripped.push(o.item_id.clone());
                    }
                }
            }
        }
        if let Some(limit) = caps.append_limit() {
            if data.len() as u64 > limit {
                let reason = format!(
                    "message is {} bytes, larger than the server's APPENDLIMIT of {limit} bytes",
                    data.len()
                );
                self.done_now(&o, DeliveryResult::Failed { reason }, events);
                return None;
            }
        }
        // INTERNALDATE: the server rejects dates before 1970 or in the future.
        let now = Utc::now();
        let mut date = o.internal_date;
        if date.timestamp() < 0 {
            date = DateTime::<Utc>::UNIX_EPOCH;
            self.dates_before_1970.push(o.item_id.clone());
        } else if date > now {
            date = now;
            self.dates_future.push(o.item_id.clone());
        }
        let fixed: DateTime<FixedOffset> = date.with_timezone(&FixedOffset::east_opt(0)?);
        let fixed = chrono::DurationRound::duration_trunc(fixed, chrono::Duration::seconds(1))
            .unwrap_or(fixed);
        let sent_date = Some(fixed.timestamp());
        let date = ImapDateTime::try_from(fixed).ok();
        if self.perm.dropped(o.flags) {
            self.flags_dropped += 1;
        }
        let flags = self.perm.apply(o.flags);
        let hash = fold_hash(&data);
        if hash != o.message.hash.0 || data.len() != o.message.bytes.len() {
            self.group_alt
                .insert(o.item_id.clone(), (hash, data.len() as u64));
        }
        let mid = self.next_mid;
        self.next_mid += 1;
        Some((
            Msg {
                mid,
                data,
                flags,
                date,
                sent_date,
                message_id: o.message.message_id.clone(),
                hash,
                lower: 0,
                attempts: 0,
                last_error: None,
            },
            o,
        ))
    }

    fn run(
        &mut self,
        messages: &mut dyn Iterator<Item = Outgoing>,
        events: &mut dyn FnMut(SessionEvent) -> bool,
        job_tx: &Sender<Unit>,
        rep_rx: &Receiver<Report>,
    ) {
        let opts = &self.ctx.shared.opts;
        let (group_max, group_bytes_max) = if self.ctx.multi() {
            (opts.batch.max(1), opts.batch_bytes.max(1))
        } else {
            (16, opts.window_bytes.max(1))
        };
        loop {
            self.drain(rep_rx, events);
            if self.ctx.stopped().is_some() {
                break;
            }
            let Some(o) = messages.next() else {
                break;
            };
            let Some((msg, o)) = self.prepare(o, events) else {
                continue;
            };
            // --max-bytes-per-day
            let size = msg.data.len() as u64;
            let mut interrupted = false;
            loop {
                match self.ctx.shared.budget.take(size) {
                    Ok(d) if d.is_zero() => break,
                    Ok(d) => {
                        // What already fits the budget goes out now rather
                        // than wait with this message.
                        self.flush(events, job_tx, rep_rx);
                        let until = chrono::Local::now()
                            + chrono::Duration::from_std(d).unwrap_or_default();
                        tracing::warn!(
                            "{}: --max-bytes-per-day used up; waiting until {} (Ctrl-C stops; rerun to resume)",
                            self.ctx.shared.creds.user(),
                            until.format("%Y-%m-%d %H:%M")
                        );
                        // Keep outcomes flowing while waiting; Ctrl-C or the
                        // account stopping (over quota, connection gone)
                        // ends the wait.
                        let end = Instant::now() + d;
                        while Instant::now() < end
                            && !self.ctx.shared.cancel.load(Ordering::Relaxed)
                            && self.ctx.stopped().is_none()
                        {
                            if let Ok(r) = rep_rx.recv_timeout(Duration::from_millis(200)) {
                                self.report(r, events);
                            }
                        }
                        if self.ctx.shared.cancel.load(Ordering::Relaxed) {
                            interrupted = true;
                            break;
                        }
                        if let Some(why) = self.ctx.stopped() {
                            self.done_now(
                                &o,
                                DeliveryResult::Failed {
                                    reason: format!("not sent: {why}"),
                                },
                                events,
                            );
                            interrupted = true;
                            break;
                        }
                    }
                    Err(limit) => {
                        let reason = format!(
                            "message is {size} bytes, more than --max-bytes-per-day ({limit})"
                        );
                        self.done_now(&o, DeliveryResult::Failed { reason }, events);
                        interrupted = true;
                        break;
                    }
                }
            }
            if interrupted {
                if self.ctx.shared.cancel.load(Ordering::Relaxed) {
                    self.done_now(
                        &o,
                        DeliveryResult::Skipped {
                            reason: "not sent: interrupted while waiting for the daily byte budget"
                                .into(),
                        },
                        events,
                    );
                    break;
                }
                continue;
            }
            self.group_bytes += msg.data.len();
            self.group_items.push((o.item_id.clone(), o.message.hash));
            self.meta.insert(
                msg.mid,
                Meta {
                    item_id: o.item_id,
                    hash: o.message.hash,
                    size: o.message.bytes.len() as u64,
                    internal_date: o.internal_date,
                    message_id: o.message.message_id,
                },
            );
            self.group.push(msg);
            if self.group.len() >= group_max || self.group_bytes >= group_bytes_max {
                self.flush(events, job_tx, rep_rx);
            }
        }
        if self.ctx.stopped().is_none() {
            self.flush(events, job_tx, rep_rx);
        } else {
            let why = self.ctx.stopped().unwrap_or_default();
            for m in std::mem::take(&mut self.group) {
                self.report(
                    Report::Done {
                        mid: m.mid,
                        result: DeliveryResult::Failed {
                            reason: format!("not sent: {why}"),
                        },
                    },
                    events,
                );
            }
        }
    }

    /// Announces the group, then hands it to the workers.
    fn flush(
        &mut self,
        events: &mut dyn FnMut(SessionEvent) -> bool,
        job_tx: &Sender<Unit>,
        rep_rx: &Receiver<Report>,
    ) {
        if self.group.is_empty() {
            return;
        }
        let marker = Marker {
            uv: self.ctx.uid_validity,
            un: self.lower,
            alt: std::mem::take(&mut self.group_alt),
        };
        let durable = events(SessionEvent::Pending {
            items: std::mem::take(&mut self.group_items),
            marker: marker.to_json(),
        });
        let mut msgs = std::mem::take(&mut self.group);
        self.group_bytes = 0;
        if !durable {
            // Unrecorded, a message that arrives could not be found by the
            // next run, which would send it again: send none of them, and
            // nothing more from this account.
            let why = "journal unavailable: not sent".to_string();
            for m in msgs {
                self.report(
                    Report::Done {
                        mid: m.mid,
                        result: DeliveryResult::Failed {
                            reason: why.clone(),
                        },
                    },
                    events,
                );
            }
            self.ctx.stop_account(why);
            return;
        }
        for m in &mut msgs {
            m.lower = self.lower;
        }
        let units: Vec<Unit> = if self.ctx.multi() {
            vec![Unit {
                msgs,
                throttled: 0,
                created: false,
            }]
        } else {
            msgs.into_iter()
                .map(|m| Unit {
                    msgs: vec![m],
                    throttled: 0,
                    created: false,
                })
                .collect()
        };
        for unit in units {
            let mut unit = Some(unit);
            while let Some(u) = unit.take() {
                select! {
                    send(job_tx, u) -> r => {
                        if let Err(e) = r {
                            // No worker left: they all stopped.
                            let why = self.ctx.stopped().unwrap_or_else(|| "no connection left".into());
                            for m in e.into_inner().msgs {
                                self.report(Report::Done { mid: m.mid, result: DeliveryResult::Failed { reason: format!("not sent: {why}") } }, events);
                            }
                        }
                    }
                    recv(rep_rx) -> r => {
                        if let Ok(r) = r { self.report(r, events); }
                        unit = Some(u);
                    }
                }
            }
        }
    }

    fn finish(&mut self, events: &mut dyn FnMut(SessionEvent) -> bool) {
        // Every message handed out has an outcome by now; anything else is
        // a bug, reported rather than lost.
        let mids: Vec<u64> = self.meta.keys().copied().collect();
        for mid in mids {
            self.report(
                Report::Done {
                    mid,
                    result: DeliveryResult::Failed {
                        reason: "no outcome from the IMAP worker".into(),
                    },
                },
                events,
            );
        }
        if !self.dates_before_1970.is_empty() {
            events(SessionEvent::Note(format!(
                "{} message(s) had an internal date before 1970, which IMAP cannot carry: sent as 01-Jan-1970 00:00:00 +0000 ({})",
                self.dates_before_1970.len(),
                sample(&self.dates_before_1970)
            )));
        }
        if !self.dates_future.is_empty() {
            events(SessionEvent::Note(format!(
                "{} message(s) had an internal date in the future: sent with the current time ({})",
                self.dates_future.len(),
                sample(&self.dates_future)
            )));
        }
        if !self.nul_stripped.is_empty() {
            events(SessionEvent::Note(format!(
                "{} message(s) contained NUL bytes, which the server (no BINARY) cannot take: NULs removed (--nul strip) ({})",
                self.nul_stripped.len(),
                sample(&self.nul_stripped)
            )));
        }
        if !self.nul_binary.is_empty() {
            events(SessionEvent::Note(format!(
                "{} message(s) contained NUL bytes: sent as literal8 (BINARY); Dovecot stores each NUL as 0x80 ({})",
                self.nul_binary.len(),
                sample(&self.nul_binary)
            )));
        }
        if self.flags_dropped > 0 {
            events(SessionEvent::Note(format!(
                "{} message(s) lost a flag the mailbox does not keep (PERMANENTFLAGS)",
                self.flags_dropped
            )));
        }
    }
}

/// The state of one worker, shared by its pump callbacks.
struct WorkerState {
    queue: VecDeque<Unit>,
    inflight: HashMap<u64, Unit>,
    next_key: u64,
    jobs_done: bool,
    pause: Option<Duration>,
    need_create: bool,
}

/// Counts the messages of `unit` as written on a connection (`on`), or as
/// no longer there (answered, or the connection is gone).
fn in_flight(ctx: &WorkCtx<'_>, unit: &Unit, on: bool) {
    let mut c = lock_claims(ctx.claims);
    for m in &unit.msgs {
        if on {
            c.in_flight.add(m.hash, m.message_id.as_deref());
        } else {
            c.in_flight.remove(m.hash, m.message_id.as_deref());
        }
    }
}

/// Counts the messages of `unit` as possibly on the server (fate unknown)
/// and reports them failed: they stay pending for the next run's check.
fn fail_in_doubt(ctx: &WorkCtx<'_>, tx: &Sender<Report>, unit: Unit, reason: &str) {
    {
        let mut c = lock_claims(ctx.claims);
        for m in &unit.msgs {
            c.doubt.add(m.hash, m.message_id.as_deref());
        }
    }
    fail_unit(tx, unit, reason);
}

fn fail_unit(tx: &Sender<Report>, unit: Unit, reason: &str) {
    for m in unit.msgs {
        let _ = tx.send(Report::Done {
            mid: m.mid,
            result: DeliveryResult::Failed {
                reason: reason.to_string(),
            },
        });
    }
}

/// One append connection.
fn worker(
    ctx: &WorkCtx<'_>,
    conn: &mut Option<ImapSession>,
    jobs: Receiver<Unit>,
    tx: Sender<Report>,
) {
    let st = RefCell::new(WorkerState {
        queue: VecDeque::new(),
        inflight: HashMap::new(),
        next_key: 0,
        jobs_done: false,
        pause: None,
        need_create: false,
    });
    let retries = ctx.shared.opts.retries;
    let mut stats = PumpStats::default();
    loop {
        if let Some(why) = ctx.stopped() {
            let mut s = st.borrow_mut();
            let mut units: Vec<Unit> = s.queue.drain(..).collect();
            let written: Vec<Unit> = s.inflight.drain().map(|(_, u)| u).collect();
            drop(s);
            for u in written {
                in_flight(ctx, &u, false);
                units.push(u);
            }
            for u in units.into_iter().chain(jobs.iter()) {
                fail_unit(&tx, u, &format!("not sent: {why}"));
            }
            return;
        }
        {
            let s = st.borrow();
            if s.jobs_done && s.queue.is_empty() && s.inflight.is_empty() {
                break;
            }
        }
        if st.borrow().queue.is_empty() && !st.borrow().jobs_done && conn.is_none() {
            // Connect lazily: wait for work first.
            match jobs.recv() {
                Ok(u) => st.borrow_mut().queue.push_back(u),
                Err(_) => {
                    st.borrow_mut().jobs_done = true;
                    continue;
                }
            }
        }
        let pause = st.borrow_mut().pause.take();
        if let Some(p) = pause {
            ctx.shared.sleep(p);
        }
        if conn.as_ref().is_none_or(|c| c.is_broken()) {
            *conn = None;
            match ctx.shared.connect() {
                Ok(c) => *conn = Some(c),
                Err(e) => {
                    ctx.stop_account(format!("cannot connect to the target: {e}"));
                    continue;
                }
            }
        }
        let Some(sess) = conn.as_mut() else {
            continue;
        };
        if std::mem::take(&mut st.borrow_mut().need_create) {
            let comps = vec![ctx.mailbox.to_string()];
            // The mailbox vanished ([TRYCREATE]): create it again (the full
            // name as one component: its parents exist or are implied).
            if let Err(e) = sess.create(ctx.mailbox) {
                tracing::warn!("recreating {:?}: {e} ({comps:?})", ctx.mailbox);
            }
        }
        let caps = sess.capabilities().clone();
        let mut next = |block: bool| -> Next {
            loop {
                if ctx.stop_flag.load(Ordering::Relaxed) {
                    return Next::Later;
                }
                let mut s = st.borrow_mut();
                if s.pause.is_some() || s.need_create {
                    return Next::Later;
                }
                let unit = match s.queue.pop_front() {
                    Some(u) => Some(u),
                    None if s.jobs_done => None,
                    None if block => match jobs.recv() {
                        Ok(u) => Some(u),
                        Err(_) => {
                            s.jobs_done = true;
                            None
                        }
                    },
                    None => match jobs.try_recv() {
                        Ok(u) => Some(u),
                        Err(TryRecvError::Empty) => None,
                        Err(TryRecvError::Disconnected) => {
                            s.jobs_done = true;
                            None
                        }
                    },
                };
                let Some(unit) = unit else {
                    return Next::Later;
                };
                let key = s.next_key;
                s.next_key += 1;
                drop(s);
                let tag = match sess_tag(ctx, key) {
                    Ok(t) => t,
                    Err(e) => {
                        fail_unit(&tx, unit, &e.to_string());
                        continue;
                    }
                };
                let wire: Vec<WireMsg<'_>> = unit
                    .msgs
                    .iter()
                    .map(|m| WireMsg {
                        data: &m.data,
                        flags: m.flags.clone(),
                        date: m.date.clone(),
                    })
                    .collect();
                match build_append(&caps, &ctx.mbox, tag, key, &wire) {
                    Ok(cmd) => {
                        drop(wire);
                        // Counted before the first byte goes out, so a check
                        // on another connection knows it may land.
                        in_flight(ctx, &unit, true);
                        st.borrow_mut().inflight.insert(key, unit);
                        return Next::Cmd(cmd);
                    }
                    Err(e) => {
                        drop(wire);
                        fail_unit(&tx, unit, &e.to_string());
                    }
                }
            }
        };
        let mut done = |key: u64, o: CmdOutcome| {
            let unit = st.borrow_mut().inflight.remove(&key);
            if let Some(unit) = unit {
                handle_outcome(ctx, &st, &tx, unit, o);
            }
        };
        match pump(sess, ctx.window(), &mut next, &mut done, &mut stats) {
            Ok(()) => {}
            Err(lost) => {
                let Lost {
                    error,
                    unknown,
                    not_stored,
                    timed_out,
                } = lost;
                tracing::warn!("{error}; reconnecting");
                *conn = None;
                let why = error.to_string();
                let mut s = st.borrow_mut();
                let mut retry: Vec<Unit> = Vec::new();
                let mut doubt: Vec<Unit> = Vec::new();
                for k in not_stored {
                    if let Some(u) = s.inflight.remove(&k) {
                        retry.push(u);
                    }
                }
                for k in unknown {
                    if let Some(u) = s.inflight.remove(&k) {
                        doubt.push(u);
                    }
                }
                drop(s);
                for u in retry.iter().chain(&doubt) {
                    in_flight(ctx, u, false);
                }
                if timed_out {
                    // A server that is only slow may still store what it
                    // was sent, after any check we could make now: never
                    // send it again in this run; the next run checks.
                    for u in doubt.drain(..) {
                        fail_in_doubt(
                            ctx,
                            &tx,
                            u,
                            &format!("arrival in doubt: no answer in time ({why}); left pending, the next run checks it (not sent again)"),
                        );
                    }
                }
                if !doubt.is_empty() {
                    match ctx.shared.connect() {
                        Ok(mut c) => {
                            let settled = settle_unknown(ctx, &mut c, &tx, doubt);
                            *conn = Some(c);
                            match settled {
                                Ok(missing) => retry.extend(missing),
                                Err((e, units)) => {
                                    // Cannot tell: never resend blindly.
                                    for u in units {
                                        fail_in_doubt(
                                            ctx,
                                            &tx,
                                            u,
                                            &format!("arrival in doubt: the connection was lost before the answer and the check failed ({e}); left pending, the next run checks it"),
                                        );
                                    }
                                }
                            }
                        }
                        Err(e) => {
                            for u in doubt {
                                fail_in_doubt(ctx, &tx, u, &format!("arrival in doubt: the connection was lost before the answer ({why}) and reconnecting failed ({e}); left pending, the next run checks it"));
                            }
                            ctx.stop_account(format!("cannot reconnect to the target: {e}"));
                        }
                    }
                }
                let mut s = st.borrow_mut();
                for mut u in retry.into_iter().rev() {
                    let mut keep = Vec::new();
                    for mut m in u.msgs.drain(..) {
                        m.attempts += 1;
                        m.last_error = Some(why.clone());
                        if m.attempts > retries {
                            let _ = tx.send(Report::Done {
                                mid: m.mid,
                                result: DeliveryResult::Failed {
                                    reason: format!(
                                        "connection lost {} times; last: {why}",
                                        m.attempts
                                    ),
                                },
                            });
                        } else {
                            keep.push(m);
                        }
                    }
                    if !keep.is_empty() {
                        u.msgs = keep;
                        s.queue.push_front(u);
                    }
                }
                let attempts = s
                    .queue
                    .iter()
                    .flat_map(|u| u.msgs.iter().map(|m| m.attempts))
                    .max()
                    .unwrap_or(0);
                if attempts > 0 {
                    s.pause = Some(backoff(
                        attempts.saturating_sub(1),
                        ctx.shared.opts.backoff_max,
                    ));
                }
            }
        }
    }
    tracing::debug!("worker for {:?} done: {stats:?}", ctx.mailbox);
}

fn sess_tag(
    _ctx: &WorkCtx<'_>,
    key: u64,
) -> Result<imap_next::imap_types::core::Tag<'static>, ImapError> {
    imap_next::imap_types::core::Tag::try_from(format!("A{key}"))
        .map_err(|e| ImapError::Invalid(format!("tag: {e}")))
}

/// Looks for the messages of `units` on the server (see
/// [`super::reconcile`]): reports those found as delivered and those it
/// cannot tell about as failed in doubt (left pending for the next run),
/// and returns the rest, certainly not there, to send again.
#[allow(clippy::result_large_err)] // the units go back to the caller
fn settle_unknown(
    ctx: &WorkCtx<'_>,
    sess: &mut ImapSession,
    tx: &Sender<Report>,
    units: Vec<Unit>,
) -> Result<Vec<Unit>, (ImapError, Vec<Unit>)> {
    let msgs: Vec<&Msg> = units.iter().flat_map(|u| u.msgs.iter()).collect();
    let wants: Vec<Want> = msgs
        .iter()
        .map(|m| Want {
            hash: m.hash,
            size: Some(m.data.len() as u64),
            lower: m.lower,
            uid_validity: ctx.uid_validity,
            message_id: m.message_id.clone(),
            internal_date: m.sent_date,
        })
        .collect();
    // Copies of this run without a UID are all at or above the run's floor:
    // count from there when they matter.
    let floor = {
        let c = lock_claims(ctx.claims);
        wants
            .iter()
            .any(|w| c.uidless.touches(w))
            .then(|| c.floor.unwrap_or(1))
    };
    // What this run knows is read after the server, so that a copy seen
    // there is either claimed by now or still counted in flight.
    let known = |uv: Option<u32>| lock_claims(ctx.claims).known(uv);
    let (uv, found) = match find_on_server(sess, ctx.mailbox, &wants, floor, &known) {
        Ok(x) => x,
        Err(e) => return Err((e, units)),
    };
    let found: HashMap<u64, Found> = msgs.iter().map(|m| m.mid).zip(found).collect();
    let mut missing = Vec::new();
    for mut u in units {
        let mut rest = Vec::new();
        for m in u.msgs.drain(..) {
            match found.get(&m.mid) {
                Some(Found::Present(uid)) => {
                    lock_claims(ctx.claims).uids.insert(*uid);
                    let _ = tx.send(Report::Done {
                        mid: m.mid,
                        result: DeliveryResult::Delivered(target_ref(uv, Some(*uid))),
                    });
                }
                Some(Found::Unknown(why)) => {
                    let reason = format!(
                        "arrival in doubt; left pending, the next run checks it (the connection was lost before the answer; {why})"
                    );
                    fail_in_doubt(
                        ctx,
                        tx,
                        Unit {
                            msgs: vec![m],
                            throttled: 0,
                            created: false,
                        },
                        &reason,
                    );
                }
                Some(Found::Absent) | None => rest.push(m),
            }
        }
        if !rest.is_empty() {
            u.msgs = rest;
            missing.push(u);
        }
    }
    Ok(missing)
}

fn handle_outcome(
    ctx: &WorkCtx<'_>,
    st: &RefCell<WorkerState>,
    tx: &Sender<Report>,
    mut unit: Unit,
    o: CmdOutcome,
) {
    let (kind, code, text) = match o {
        CmdOutcome::Ok { appenduid } => {
            let (uv, uids) = match appenduid {
                Some((v, u)) if u.len() == unit.msgs.len() => {
                    (Some(v), u.into_iter().map(Some).collect())
                }
                Some((v, _)) => (Some(v), vec![None; unit.msgs.len()]),
                None => (ctx.uid_validity, vec![None; unit.msgs.len()]),
            };
            // Out of flight and claimed under one lock: a check on another
            // connection sees the message as one or the other.
            let mut claims = lock_claims(ctx.claims);
            for (m, uid) in unit.msgs.into_iter().zip(uids) {
                claims.in_flight.remove(m.hash, m.message_id.as_deref());
                match uid {
                    Some(u) => {
                        claims.uids.insert(u);
                    }
                    // No UIDPLUS: there, but which UID is unknown.
                    None => claims.uidless.add(m.hash, m.message_id.as_deref()),
                }
                let _ = tx.send(Report::Done {
                    mid: m.mid,
                    result: DeliveryResult::Delivered(target_ref(uv, uid)),
                });
            }
            return;
        }
        CmdOutcome::No { code, text } => ("NO", code, text),
        CmdOutcome::Bad { code, text } => ("BAD", code, text),
    };
    // Refused: nothing of it was stored.
    in_flight(ctx, &unit, false);
    let said = match &code {
        Some(c) => format!("{kind} [{c}] {text}"),
        None => format!("{kind} {text}"),
    };
    let retries = ctx.shared.opts.retries;
    match code {
        Some(RespCode::TryCreate) if kind == "NO" && !unit.created => {
            unit.created = true;
            let mut s = st.borrow_mut();
            s.need_create = true;
            s.queue.push_front(unit);
        }
        Some(RespCode::Throttled) | Some(RespCode::Unavailable) if kind == "NO" => {
            unit.throttled += 1;
            if unit.throttled > retries.saturating_mul(2).max(2) {
                fail_unit(tx, unit, &format!("the server kept refusing: {said}"));
                return;
            }
            let wait = suggested_backoff(&text)
                .unwrap_or_else(|| backoff(unit.throttled - 1, ctx.shared.opts.backoff_max));
            tracing::warn!("{}: {said}; pausing {wait:?}", ctx.mailbox);
            let mut s = st.borrow_mut();
            s.pause = Some(s.pause.map_or(wait, |p| p.max(wait)));
            s.queue.push_front(unit);
        }
        Some(RespCode::OverQuota) => {
            let why = format!("the target account is over quota ({said}); stopped this account");
            fail_unit(tx, unit, &why);
            ctx.stop_account(why);
        }
        _ if unit.msgs.len() > 1 => {
            // A MULTIAPPEND batch is all-or-nothing: send its messages one by
            // one to find the one the server refuses.
            let _ = tx.send(Report::Note(format!(
                "a MULTIAPPEND batch of {} was refused ({said}); its messages were sent one by one",
                unit.msgs.len()
            )));
            let mut s = st.borrow_mut();
            for m in unit.msgs.into_iter().rev() {
                s.queue.push_front(Unit {
                    msgs: vec![m],
                    throttled: unit.throttled,
                    created: unit.created,
                });
            }
        }
        _ => fail_unit(tx, unit, &format!("the server refused the message: {said}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_hints() {
        assert_eq!(
            suggested_backoff("Request is throttled. Suggested Backoff Time: 5000 milliseconds"),
            Some(Duration::from_millis(5000))
        );
        assert_eq!(
            suggested_backoff("[THROTTLED] Suggested Backoff Time: 3 seconds"),
            Some(Duration::from_secs(3))
        );
        assert_eq!(suggested_backoff("slow down"), None);
        assert_eq!(backoff(0, Duration::from_secs(60)), Duration::from_secs(1));
        assert_eq!(
            backoff(10, Duration::from_secs(60)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn byte_budget() {
        let b = ByteBudget::new(Some(100));
        assert_eq!(b.take(60), Ok(Duration::ZERO));
        assert_eq!(b.take(40), Ok(Duration::ZERO));
        let w = b.take(1).expect("fits eventually");
        assert!(w > Duration::from_secs(86_000), "{w:?}");
        assert_eq!(b.take(101), Err(100));
        assert_eq!(ByteBudget::new(None).take(u64::MAX), Ok(Duration::ZERO));
    }

    #[test]
    fn markers_round_trip() {
        let mut m = Marker {
            uv: Some(7),
            un: 42,
            ..Marker::default()
        };
        m.alt.insert("00000001".into(), ([3; 32], 99));
        let p = Marker::parse(&m.to_json()).expect("parse");
        assert_eq!((p.uv, p.un), (Some(7), 42));
        assert_eq!(p.alt["00000001"], ([3; 32], 99));
        assert!(Marker::parse("maildir").is_none());
    }

    #[test]
    fn flags_follow_permanentflags() {
        let all = MailFlags {
            seen: true,
            answered: true,
            flagged: true,
            draft: true,
        };
        let p = PermFlags::from(Some(&vec!["\\Seen".into(), "\\Flagged".into()]));
        assert_eq!(p.apply(all), vec![Flag::Seen, Flag::Flagged]);
        assert!(p.dropped(all));
        let any = PermFlags::from(None);
        assert_eq!(any.apply(all).len(), 4);
    }
}
