//! The threads and sockets of `deliver`: one worker thread per append
//! connection, the channels between them and the dispatcher, and the pump
//! that carries bytes between a socket and the core's append pipe. All
//! decisions are the core's ([`super::core::lane`],
//! [`super::core::dispatch`]); this module connects, reads, writes,
//! sleeps, recreates the mailbox, checks the server and sends reports.
//!
//! Invariants a maintainer must keep: a worker connects only once it has
//! work (a session may open them ahead, [`warm`]: on a first run for the
//! account, or when it creates a mailbox); the claims lock is held for each core call that changes what is
//! in flight (never across I/O, except inside the check's `known`); a
//! worker whose account stopped fails everything it holds and everything
//! still in the job channel, so every unit handed out gets its reports.

use super::caps::Capabilities;
use super::client::ImapSession;
use super::conn::write_all;
use super::connect::Shared;
use super::core::append::{drive, AppendPipe, Fault, Feed, Lost, PipeStats, Transport, Window};
use super::core::claims::Claims;
use super::core::decide::Policy;
use super::core::dispatch::{multiappend, Dispatcher, HandOut, Link};
use super::core::lane::{self, Built, Checked, Lane};
use super::core::matching::Want;
use super::core::stored::compared_by_content;
use super::core::window::Controller;
use super::core::wire::{build_tail, Cmd, CmdOutcome, Piece, TAIL_KEYS};
use super::core::{Report, Unit};
use super::error::{io_msg, is_timeout, ImapError, RespCode};
use super::reconcile::{find_settled, SETTLE};
use super::target::{Halt, Target};
use crate::dest::{Outgoing, SessionEvent};
use crate::model::{ContentHash, LinkStats};
use crossbeam_channel::{select, Receiver, Sender, TryRecvError};
use imap_next::imap_types::mailbox::Mailbox;
use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use std::time::Instant;

/// Why the account stopped during a `deliver` call, shared by the
/// dispatcher and the workers (the first reason stays): this call's own
/// stop (no connection, the journal), or the target account's, which
/// every session of the login sees (over quota, see [`super::target`]).
#[derive(Debug)]
pub(super) struct AccountStop {
    call: Halt,
    target: Arc<Target>,
}

impl AccountStop {
    /// The stop of one `deliver` call to a mailbox of `target`.
    pub fn new(target: Arc<Target>) -> AccountStop {
        AccountStop {
            call: Halt::default(),
            target,
        }
    }

    /// Why it stopped, if it did.
    pub fn why(&self) -> Option<String> {
        self.call.why().or_else(|| self.target.full.why())
    }

    /// Stops this call.
    pub fn stop(&self, why: String) {
        self.call.stop(why);
    }

    /// Stops every session of the target account (it is full).
    fn stop_target(&self, why: String) {
        self.target.full.stop(why.clone());
        self.call.stop(why);
    }

    /// The cheap check, for every command handed to a pipe.
    fn is_set(&self) -> bool {
        self.call.is_set() || self.target.full.is_set()
    }

    /// The reason, once the call is over.
    pub fn into_reason(self) -> Option<String> {
        self.why()
    }
}

/// What the workers of one `deliver` call share.
pub(super) struct WorkCtx<'a> {
    pub shared: &'a Shared,
    /// The mailbox (Unicode name).
    pub mailbox: &'a str,
    /// The mailbox as it goes on the wire.
    pub mbox: Mailbox<'static>,
    /// The control connection's capabilities.
    pub caps: &'a Capabilities,
    /// UIDVALIDITY at the start of the call.
    pub uid_validity: Option<u32>,
    pub stop: &'a AccountStop,
    /// This run's copies in the mailbox.
    pub claims: &'a Mutex<Claims>,
    /// The account-wide number of the first connection in `conns` (the
    /// account's other sessions number theirs after it).
    pub slot_base: usize,
    /// UIDNEXT at the start of the call: each connection follows its last
    /// APPEND with a read-back of the sizes from there on (`None`: no
    /// tail; see [`build_tail`]).
    pub tail_from: Option<NonZeroU32>,
    /// What the connections' tails read.
    pub read_back: &'a Mutex<ReadBack>,
}

/// What the connections' read-back tails found, by UID: the stored sizes
/// and the hashes of the bodies read (see [`Tail`]).
#[derive(Debug, Default)]
pub(super) struct ReadBack {
    pub sizes: HashMap<u32, u64>,
    pub bodies: HashMap<u32, ContentHash>,
}

/// The bodies a tail reads, at most (the messages with 8-bit header bytes
/// of a folder; beyond, they are read back on the control connection).
const TAIL_BODIES: usize = 200;

impl WorkCtx<'_> {
    fn claims(&self) -> MutexGuard<'_, Claims> {
        self.claims.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The window controller of connection `slot`: it starts where the
    /// slot's window was at the end of the last call (the link is the same).
    fn controller(&self, slot: usize) -> Controller {
        let (mut start, cap) =
            lane::window_limits(&self.shared.opts, multiappend(&self.shared.opts, self.caps));
        if let Some(l) = self
            .shared
            .link
            .links()
            .iter()
            .find(|l| l.connection == slot)
        {
            start.commands = start.commands.max(l.window_commands as usize);
            start.bytes = start.bytes.max(l.window_bytes as usize);
        }
        Controller::new(start, cap)
    }

    fn policy(&self) -> Policy {
        Policy {
            retries: self.shared.opts.retries,
            backoff_max: self.shared.opts.backoff_max,
            uid_validity: self.uid_validity,
        }
    }
}

/// Append connections being opened ahead of the first `deliver` (see
/// [`warm`]), by slot.
pub(super) type Warming = Vec<Option<std::thread::JoinHandle<Result<ImapSession, ImapError>>>>;

/// Starts opening the `n` append connections of a session in the
/// background, so that their logins overlap the control connection's
/// round trips (its login and LISTs, creating and examining the first
/// mailbox) instead of following them. Only where work is all but certain
/// (an account the journal knows nothing of, a mailbox the session is
/// creating): a rerun with nothing to do opens none.
pub(super) fn warm(shared: &std::sync::Arc<Shared>, n: usize) -> Warming {
    (0..n)
        .map(|_| {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("imap-warm".into())
                .spawn(move || shared.connect())
                .ok()
        })
        .collect()
}

/// The warmed connections that are ready, into their empty slots (one that
/// failed is left to the worker, which connects when it has work).
pub(super) fn take_warm(conns: &mut [Option<ImapSession>], warming: &mut Warming) {
    for (slot, w) in warming.iter_mut().enumerate() {
        let Some(handle) = w.take() else { continue };
        match handle.join() {
            Ok(Ok(c)) => match conns.get_mut(slot) {
                Some(free @ None) => *free = Some(c),
                _ => drop(c),
            },
            Ok(Err(e)) => tracing::debug!("an append connection opened ahead failed: {e}"),
            Err(_) => tracing::warn!("opening an append connection ahead panicked"),
        }
    }
}

/// Runs one `deliver` call: a worker per connection slot in `conns`, the
/// dispatcher on this thread, until every message has its outcome;
/// `handed_out` runs on this thread once every message is on a connection.
pub(super) fn deliver(
    ctx: &WorkCtx<'_>,
    conns: &mut [Option<ImapSession>],
    mut d: Dispatcher<'_>,
    messages: &mut dyn Iterator<Item = Outgoing>,
    events: &mut dyn FnMut(SessionEvent) -> bool,
    handed_out: &mut dyn FnMut(),
) {
    std::thread::scope(|s| {
        let (job_tx, job_rx) = crossbeam_channel::bounded::<Unit>(conns.len() * 2);
        let (rep_tx, rep_rx) = crossbeam_channel::unbounded::<Report>();
        for (slot, conn) in conns.iter_mut().enumerate() {
            let (rx, tx) = (job_rx.clone(), rep_tx.clone());
            s.spawn(move || worker(ctx, ctx.slot_base + slot, conn, rx, tx));
        }
        drop(job_rx);
        drop(rep_tx);
        let mut link = ChannelLink {
            jobs: job_tx,
            reports: &rep_rx,
            ctx,
        };
        d.run(messages, events, &mut link);
        drop(link);
        // Every message is on a connection: the caller may use the time
        // (the answers wait in the channel meanwhile).
        handed_out();
        for r in rep_rx.iter() {
            d.report(r, events);
        }
        d.finish(events);
    });
}

/// The dispatcher's [`Link`]: the job and report channels.
struct ChannelLink<'a, 'b> {
    jobs: Sender<Unit>,
    reports: &'a Receiver<Report>,
    ctx: &'a WorkCtx<'b>,
}

impl Link for ChannelLink<'_, '_> {
    fn hand_out(&mut self, unit: Unit) -> HandOut {
        loop {
            select! {
                send(self.jobs, unit) -> r => return match r {
                    Ok(()) => HandOut::Taken,
                    Err(e) => HandOut::Closed(e.into_inner()),
                },
                recv(self.reports) -> r => match r {
                    Ok(r) => return HandOut::Report(r, unit),
                    Err(_) => continue,
                },
            }
        }
    }

    fn try_report(&mut self) -> Option<Report> {
        self.reports.try_recv().ok()
    }

    fn wait_report(&mut self, d: Duration) -> Option<Report> {
        self.reports.recv_timeout(d).ok()
    }

    fn stopped(&self) -> Option<String> {
        self.ctx.stop.why()
    }

    fn stop_account(&mut self, why: String) {
        self.ctx.stop.stop(why);
    }

    fn cancelled(&self) -> bool {
        self.ctx.shared.cancel.load(Ordering::Relaxed)
    }
}

/// One worker: its lane, its end of the channels.
struct Worker<'a, 'b> {
    ctx: &'a WorkCtx<'b>,
    jobs: Receiver<Unit>,
    tx: Sender<Report>,
    lane: Lane,
    jobs_done: bool,
    /// This connection's slot, its window and when its commands went out.
    slot: usize,
    ctl: Controller,
    link: LinkClock,
    tail: Tail,
}

/// A connection's read-back tail ([`build_tail`]): sent right after its
/// last APPEND, in the same flight. What it read is only used once all its
/// commands were answered OK in the mailbox's UIDVALIDITY; a UID it does
/// not cover is read back by the session as before.
///
/// The bodies of the messages compared by content (8-bit header bytes, no
/// NUL: as the session picks them) are asked for by the UID each should
/// get if the connection's messages take UIDNEXT, UIDNEXT + 1, … in the
/// order sent (one connection to a mailbox nobody else writes to). A
/// wrong guess costs only the round trip the session then makes: a body
/// is kept under the UID the server gave with it.
#[derive(Default)]
struct Tail {
    /// An APPEND went out in this call: a tail is owed.
    appended: bool,
    /// Messages sent in this call, and the expected UIDs of those
    /// compared by content.
    sent_msgs: u32,
    bodies_at: Vec<u32>,
    /// Built: its commands not yet handed to the pipe, and how many.
    queued: Option<VecDeque<Cmd>>,
    commands: usize,
    /// Its commands answered OK, and whether one was not.
    ok: usize,
    failed: bool,
    uid_validity: Option<u32>,
    found: ReadBack,
}

impl Tail {
    /// Started on this connection and not finished well: the connection
    /// may still have the mailbox selected.
    fn unfinished(&self) -> bool {
        self.queued.is_some() && (self.failed || self.ok < self.commands)
    }

    /// Counts the messages of a command sent, noting the expected UIDs of
    /// those compared by content.
    fn sending(&mut self, from: Option<NonZeroU32>, msgs: &[&[u8]]) {
        for data in msgs {
            if let Some(from) = from {
                if compared_by_content(data) && self.bodies_at.len() < TAIL_BODIES {
                    self.bodies_at
                        .push(from.get().saturating_add(self.sent_msgs));
                }
            }
            self.sent_msgs = self.sent_msgs.saturating_add(1);
        }
    }

    /// Forgets a tail sent on a connection that died (a new one sends
    /// its own when the lane is done).
    fn reset(&mut self) {
        *self = Tail {
            appended: self.appended,
            sent_msgs: self.sent_msgs,
            ..Tail::default()
        };
    }
}

/// The clock of the window: each command's bytes, and when its last byte
/// was written.
struct LinkClock {
    base: Instant,
    sent: HashMap<u64, (Option<Instant>, usize)>,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// One append connection.
fn worker(
    ctx: &WorkCtx<'_>,
    slot: usize,
    conn: &mut Option<ImapSession>,
    jobs: Receiver<Unit>,
    tx: Sender<Report>,
) {
    let mut w = Worker {
        ctx,
        jobs,
        tx,
        lane: Lane::new(ctx.mailbox, ctx.policy()),
        jobs_done: false,
        slot,
        ctl: ctx.controller(slot),
        link: LinkClock {
            base: Instant::now(),
            sent: HashMap::new(),
        },
        tail: Tail::default(),
    };
    let mut stats = PipeStats::default();
    loop {
        if let Some(why) = ctx.stop.why() {
            return w.abandon(&why);
        }
        if w.jobs_done && w.lane.is_empty() {
            break;
        }
        if w.lane.queue_is_empty() && !w.jobs_done && conn.is_none() {
            // Connect lazily: wait for work first.
            match w.jobs.recv() {
                Ok(u) => w.lane.push(u),
                Err(_) => {
                    w.jobs_done = true;
                    continue;
                }
            }
        }
        if let Some(p) = w.lane.take_pause() {
            ctx.shared.sleep(p);
        }
        let Some(sess) = w.connected(conn) else {
            continue;
        };
        if w.lane.take_recreate() {
            // The mailbox vanished ([TRYCREATE]): create it again (the full
            // name as one component: its parents exist or are implied).
            if let Err(e) = sess.create(ctx.mailbox) {
                tracing::warn!("recreating {:?}: {e} ([{:?}])", ctx.mailbox, ctx.mailbox);
            }
        }
        let caps = sess.capabilities().clone();
        let window = w.ctl.window();
        let mut feed = Feeder { w: &mut w, caps };
        let io_timeout = ctx.shared.cfg.io_timeout;
        if let Err(broken) = pump(sess, io_timeout, window, &mut feed, &mut stats) {
            *conn = None;
            w.tail.reset();
            w.ctl.lost();
            w.link.sent.clear();
            w.publish();
            w.reconnect(conn, broken);
        }
    }
    w.hand_in_tail(conn);
    tracing::debug!("worker for {:?} done: {stats:?}", ctx.mailbox);
    let s = w.ctl.stats();
    tracing::info!(
        "{:?}, connection {slot}: window reached {} commands / {} bytes in flight; APPEND round trip {:.1} ms smoothed, {:.1} ms min",
        ctx.mailbox,
        s.peak.0,
        s.peak.1,
        s.srtt_us as f64 / 1000.0,
        s.min_rtt_us as f64 / 1000.0
    );
}

impl Worker<'_, '_> {
    /// The window and RTT now, for the metrics and the report.
    fn publish(&self) {
        let s = self.ctl.stats();
        self.ctx.shared.link.set_link(LinkStats {
            connection: self.slot,
            window_commands: s.now.0 as u64,
            peak_window_commands: s.peak.0 as u64,
            window_bytes: s.now.1 as u64,
            peak_window_bytes: s.peak.1 as u64,
            srtt_us: s.srtt_us,
            min_rtt_us: s.min_rtt_us,
        });
    }

    /// What the tail read, to the call's read-back (only from a tail that
    /// was answered OK throughout, in the call's UIDVALIDITY); a tail
    /// that did not finish leaves its connection in doubt: it is closed.
    fn hand_in_tail(&mut self, conn: &mut Option<ImapSession>) {
        let tail = std::mem::take(&mut self.tail);
        if tail.unfinished() {
            tracing::debug!("{:?}: read-back tail not answered OK", self.ctx.mailbox);
            *conn = None;
            return;
        }
        if tail.queued.is_none() || tail.uid_validity != self.ctx.uid_validity {
            return;
        }
        let mut rb = self.ctx.read_back.lock().unwrap_or_else(|p| p.into_inner());
        rb.sizes.extend(tail.found.sizes);
        rb.bodies.extend(tail.found.bodies);
    }

    /// The next command of the tail, once the lane has sent everything
    /// (built on the first call).
    fn tail_cmd(&mut self, caps: &Capabilities) -> Option<Cmd> {
        let ctx = self.ctx;
        let from = ctx.tail_from?;
        if !self.jobs_done || !self.tail.appended || !caps.uidplus {
            return None;
        }
        if self.tail.queued.is_none() {
            match build_tail(caps, &ctx.mbox, from, &self.tail.bodies_at) {
                Ok(cmds) => {
                    self.tail.commands = cmds.len();
                    self.tail.queued = Some(cmds.into());
                }
                Err(e) => {
                    tracing::debug!("{:?}: no read-back tail: {e}", ctx.mailbox);
                    return None;
                }
            }
        }
        self.tail.queued.as_mut()?.pop_front()
    }

    /// Sends the lane's reports and stops the account if it says so.
    fn carry_out(&mut self) {
        for r in self.lane.take_reports() {
            let _ = self.tx.send(r);
        }
        let retried = self.lane.take_retried();
        if retried > 0 {
            self.ctx.shared.link.retried(retried);
        }
        if let Some(why) = self.lane.take_stop() {
            // Over quota: the account is full for every session.
            self.ctx.stop.stop_target(why);
        }
    }

    /// The connection, (re)connected when needed; `None` when that failed
    /// (the account stops).
    fn connected<'c>(&self, conn: &'c mut Option<ImapSession>) -> Option<&'c mut ImapSession> {
        if conn.as_ref().is_none_or(|c| c.is_broken()) {
            *conn = None;
            match self.ctx.shared.connect() {
                Ok(c) => *conn = Some(c),
                Err(e) => {
                    self.ctx
                        .stop
                        .stop(format!("cannot connect to the target: {e}"));
                    return None;
                }
            }
        }
        conn.as_mut()
    }

    /// The next job from the dispatcher (waiting for one when `block`).
    fn pull(&mut self, block: bool) -> Option<Unit> {
        if self.jobs_done {
            return None;
        }
        let got = if block {
            self.jobs.recv().map_err(|_| TryRecvError::Disconnected)
        } else {
            self.jobs.try_recv()
        };
        match got {
            Ok(u) => Some(u),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.jobs_done = true;
                None
            }
        }
    }

    /// The connection died: the lane decides; what it wants checked is
    /// looked for on a new connection, which the worker keeps (see
    /// [`super::reconcile`]: this run's UIDs are excluded, its copies
    /// without a UID counted, and what is still in flight elsewhere makes
    /// a byte-identical match unknown).
    fn reconnect(&mut self, conn: &mut Option<ImapSession>, broken: Broken) {
        let Broken { error, lost } = broken;
        tracing::warn!("{error}; reconnecting");
        let why = error.to_string();
        let ctx = self.ctx;
        let mut check = |wants: &[Want]| match ctx.shared.connect() {
            Ok(mut c) => {
                let floor = ctx.claims().check_floor(wants);
                // What this run knows is read after the server, so that a
                // copy seen there is either claimed by now or still
                // counted in flight.
                let known = |uv: Option<u32>| ctx.claims().known(uv);
                let sleep = |d| ctx.shared.sleep(d);
                let found = find_settled(&mut c, ctx.mailbox, wants, floor, &known, SETTLE, &sleep);
                *conn = Some(c);
                Checked::Read(found.map_err(|e| e.to_string()))
            }
            Err(e) => Checked::Unreachable(e.to_string()),
        };
        self.lane.recover(&lost, &why, ctx.claims, &mut check);
        self.carry_out();
    }

    /// The account stopped: everything held, and every job still coming,
    /// fails "not sent".
    fn abandon(&mut self, why: &str) {
        let ctx = self.ctx;
        self.lane.abandon(why, &mut ctx.claims());
        self.carry_out();
        let reason = format!("not sent: {why}");
        for u in self.jobs.iter() {
            for r in Report::fail_all(u.msgs, &reason) {
                let _ = self.tx.send(r);
            }
        }
    }
}

/// A worker feeding a pump on a connection with these capabilities.
struct Feeder<'w, 'a, 'b> {
    w: &'w mut Worker<'a, 'b>,
    caps: Capabilities,
}

impl Feed for Feeder<'_, '_, '_> {
    fn next(&mut self, block: bool) -> Option<Cmd> {
        let ctx = self.w.ctx;
        loop {
            if ctx.stop.is_set() || !self.w.lane.may_send() {
                return None;
            }
            if self.w.lane.queue_is_empty() {
                match self.w.pull(block) {
                    Some(unit) => self.w.lane.push(unit),
                    None => return self.w.tail_cmd(&self.caps),
                }
            }
            let built = self
                .w
                .lane
                .next_command(&self.caps, &ctx.mbox, &mut ctx.claims());
            self.w.carry_out();
            match built {
                Built::Cmd(cmd) => {
                    self.w.link.sent.insert(cmd.key, (None, cmd.bytes));
                    self.w.tail.appended = true;
                    if let Some(unit) = self.w.lane.unit(cmd.key) {
                        let msgs: Vec<&[u8]> = unit.msgs.iter().map(|m| &m.data[..]).collect();
                        self.w.tail.sending(ctx.tail_from, &msgs);
                    }
                    return Some(cmd);
                }
                Built::Refused => continue,
                Built::Empty => return None,
            }
        }
    }

    fn written(&mut self, key: u64) {
        if let Some(e) = self.w.link.sent.get_mut(&key) {
            e.0 = Some(Instant::now());
            self.w.ctl.sent(e.1);
        }
    }

    fn window(&mut self) -> Option<Window> {
        Some(self.w.ctl.window())
    }

    fn may_have_more(&self) -> bool {
        !self.w.jobs_done && !self.w.ctx.stop.is_set() && self.w.lane.may_send()
    }

    fn fetched(&mut self, uid: u32, size: Option<u64>, body: Option<&[u8]>) {
        let found = &mut self.w.tail.found;
        if let Some(size) = size {
            found.sizes.insert(uid, size);
        }
        if let Some(body) = body {
            found.bodies.insert(uid, ContentHash::of(body));
        }
    }

    fn uid_validity(&mut self, v: u32) {
        self.w.tail.uid_validity = Some(v);
    }

    fn done(&mut self, key: u64, outcome: CmdOutcome) {
        if TAIL_KEYS.contains(&key) {
            match outcome {
                CmdOutcome::Ok { .. } => self.w.tail.ok += 1,
                _ => self.w.tail.failed = true,
            }
            return;
        }
        let throttled = matches!(
            &outcome,
            CmdOutcome::No {
                code: Some(RespCode::Limit | RespCode::Throttled | RespCode::Unavailable),
                ..
            }
        );
        if let Some((Some(at), bytes)) = self.w.link.sent.remove(&key) {
            let now = Instant::now();
            let (t, rtt) = (micros(now - self.w.link.base), micros(now - at));
            self.w.ctl.answered(t, rtt, bytes, throttled);
            self.w.publish();
        }
        let ctx = self.w.ctx;
        self.w.lane.answered(key, outcome, &mut ctx.claims());
        self.w.carry_out();
    }
}

/// A connection that died, with what the pipe knew.
struct Broken {
    /// The connection error (the session is marked broken).
    error: ImapError,
    lost: Lost,
}

/// Sends commands from `feed` and hands it each tagged answer, keeping the
/// window full. Returns when `feed` has nothing more and nothing is in
/// flight, or with [`Broken`] when the connection died.
#[allow(clippy::result_large_err)] // Broken is the normal way out of a dead connection
fn pump(
    sess: &mut ImapSession,
    io_timeout: Duration,
    window: Window,
    feed: &mut dyn Feed,
    stats: &mut PipeStats,
) -> Result<(), Broken> {
    if let Err(error) = sess.check() {
        return Err(Broken {
            error,
            lost: Lost::default(),
        });
    }
    let mut pipe = AppendPipe::new(window);
    let mut socket = Socket {
        sess,
        io_timeout,
        silent: Duration::ZERO,
        brief: false,
        gather: Vec::new(),
    };
    let r = drive(&mut pipe, &mut socket, feed);
    drop(socket);
    stats.add(pipe.stats());
    r.map_err(|lost| Broken {
        error: sess.mark_broken(lost.why.clone()),
        lost,
    })
}

/// The socket of a session as the pipe's transport.
struct Socket<'a> {
    sess: &'a mut ImapSession,
    /// The connection's read timeout, restored after brief reads.
    io_timeout: Duration,
    /// How long brief reads have waited in a row without a byte.
    silent: Duration,
    /// The socket's read timeout is a brief one now.
    brief: bool,
    /// Where the small pieces of a command are gathered before a write
    /// (kept: the same warm buffer for every command).
    gather: Vec<u8>,
}

/// Pieces smaller than this are gathered into writes of up to this size;
/// larger ones are written as they are (never copied).
const GATHER: usize = 256 * 1024;

impl Socket<'_> {
    fn read_fault(e: &std::io::Error) -> Fault {
        Fault::Read {
            detail: io_msg(e),
            timed_out: is_timeout(e),
        }
    }

    /// Sets the socket's read timeout to `wait` (`None`: the connection's
    /// own) when it is not that already.
    fn timeout(&mut self, wait: Option<Duration>) -> Result<(), Fault> {
        if wait.is_none() && !self.brief {
            return Ok(());
        }
        let t = wait.unwrap_or(self.io_timeout);
        self.brief = wait.is_some();
        self.sess
            .stream()
            .set_read_timeout(Some(t))
            .map_err(|e| Self::read_fault(&e))
    }
}

impl Drop for Socket<'_> {
    fn drop(&mut self) {
        let _ = self.timeout(None);
    }
}

impl Transport for Socket<'_> {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Fault> {
        write_all(self.sess.stream(), bytes).map_err(|e| Fault::Write {
            detail: io_msg(&e),
            timed_out: is_timeout(&e),
        })
    }

    fn write_pieces(&mut self, chunk: &[Piece]) -> Result<(), Fault> {
        let mut gather = std::mem::take(&mut self.gather);
        gather.clear();
        let stream = self.sess.stream();
        let mut write = || -> std::io::Result<()> {
            for p in chunk {
                if !gather.is_empty() && gather.len() + p.len() > GATHER {
                    stream.write_all(&gather)?;
                    gather.clear();
                }
                if p.len() >= GATHER {
                    stream.write_all(p)?;
                } else {
                    gather.extend_from_slice(p);
                }
            }
            if !gather.is_empty() {
                stream.write_all(&gather)?;
            }
            stream.flush()
        };
        let r = write();
        gather.clear();
        self.gather = gather;
        r.map_err(|e| Fault::Write {
            detail: io_msg(&e),
            timed_out: is_timeout(&e),
        })
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Fault> {
        self.timeout(None)?;
        self.silent = Duration::ZERO;
        self.sess
            .stream()
            .read(buf)
            .map_err(|e| Self::read_fault(&e))
    }

    fn read_briefly(&mut self, buf: &mut [u8], wait: Duration) -> Result<Option<usize>, Fault> {
        if self.silent >= self.io_timeout {
            // As long a silence as a plain read would have waited for.
            return Err(Fault::Read {
                detail: format!("no answer for {} s", self.io_timeout.as_secs()),
                timed_out: true,
            });
        }
        self.timeout(Some(wait))?;
        match self.sess.stream().read(buf) {
            Ok(n) => {
                self.silent = Duration::ZERO;
                Ok(Some(n))
            }
            Err(e) if is_timeout(&e) => {
                self.silent += wait;
                Ok(None)
            }
            Err(e) => Err(Self::read_fault(&e)),
        }
    }
}
