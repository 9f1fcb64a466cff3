//! The scenarios' world besides the server ([`super::server`], re-exported
//! here): a connection slot worked as `worker::worker` works one, the
//! dispatcher's link to it, and a clock that only moves when something
//! waits. All in one thread.

pub(super) use super::server::*;
use crate::dest::imap::caps::Capabilities;
use crate::dest::imap::core::append::{drive, AppendPipe, Feed, Window};
use crate::dest::imap::core::budget::ByteBudget;
use crate::dest::imap::core::claims::Claims;
use crate::dest::imap::core::decide::Policy;
use crate::dest::imap::core::dispatch::{Clock, Dispatcher, HandOut, Link, PermFlags, Setup};
use crate::dest::imap::core::lane::{self, Built, Checked, Lane};
use crate::dest::imap::core::matching::{fold_hash, Want};
use crate::dest::imap::core::wire::{Cmd, CmdOutcome};
use crate::dest::imap::core::{Msg, Report, Unit};
use crate::dest::imap::ImapOptions;
use crate::dest::{DeliveryResult, MailFlags, Outgoing, SessionEvent};
use chrono::{DateTime, TimeZone, Utc};
use imap_next::imap_types::mailbox::Mailbox;
use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

// ------------------------------------------------------------ connections

/// Time that moves only when something waits.
pub(super) struct FakeClock {
    pub(super) base: Instant,
    pub(super) wall: DateTime<Utc>,
    pub(super) elapsed: Cell<Duration>,
}

impl FakeClock {
    pub(super) fn new() -> Rc<FakeClock> {
        Rc::new(FakeClock {
            base: Instant::now(),
            wall: Utc
                .with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
                .single()
                .expect("date"),
            elapsed: Cell::new(Duration::ZERO),
        })
    }

    pub(super) fn advance(&self, d: Duration) {
        self.elapsed.set(self.elapsed.get() + d);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.base + self.elapsed.get()
    }
    fn wall(&self) -> DateTime<Utc> {
        self.wall + chrono::Duration::from_std(self.elapsed.get()).unwrap_or_default()
    }
}

/// One connection slot: a lane over the scripted server, worked as
/// `worker::worker` works one over a socket.
pub(super) struct Conns {
    pub(super) server: Shared,
    pub(super) lane: Lane,
    pub(super) claims: Rc<Mutex<Claims>>,
    pub(super) caps: Capabilities,
    pub(super) mbox: Mailbox<'static>,
    pub(super) window: Window,
    pub(super) jobs: VecDeque<Unit>,
    pub(super) reports: VecDeque<Report>,
    pub(super) stop: Option<String>,
    pub(super) conn: Option<Wire>,
    pub(super) clock: Rc<FakeClock>,
    pub(super) pauses: Vec<Duration>,
    pub(super) recreates: usize,
}

/// The lane feeding a pipe, as `worker::Feeder` does.
pub(super) struct LaneFeed<'a> {
    pub(super) lane: &'a mut Lane,
    pub(super) claims: &'a Mutex<Claims>,
    pub(super) caps: &'a Capabilities,
    pub(super) mbox: &'a Mailbox<'static>,
    pub(super) jobs: &'a mut VecDeque<Unit>,
    pub(super) reports: &'a mut VecDeque<Report>,
    pub(super) stop: &'a mut Option<String>,
}

impl LaneFeed<'_> {
    pub(super) fn carry_out(&mut self) {
        self.reports.extend(self.lane.take_reports());
        if let Some(why) = self.lane.take_stop() {
            self.stop.get_or_insert(why);
        }
    }
}

impl Feed for LaneFeed<'_> {
    fn next(&mut self, _block: bool) -> Option<Cmd> {
        loop {
            if self.stop.is_some() || !self.lane.may_send() {
                return None;
            }
            if self.lane.queue_is_empty() {
                self.lane.push(self.jobs.pop_front()?);
            }
            let built = {
                let mut c = self.claims.lock().expect("claims");
                self.lane.next_command(self.caps, self.mbox, &mut c)
            };
            self.carry_out();
            match built {
                Built::Cmd(cmd) => return Some(cmd),
                Built::Refused => continue,
                Built::Empty => return None,
            }
        }
    }

    fn done(&mut self, key: u64, outcome: CmdOutcome) {
        let mut c = self.claims.lock().expect("claims");
        self.lane.answered(key, outcome, &mut c);
        drop(c);
        self.carry_out();
    }
}

pub(super) fn policy(retries: u32) -> Policy {
    Policy {
        retries,
        backoff_max: Duration::from_secs(60),
        uid_validity: Some(UV),
    }
}

pub(super) fn mailbox() -> Mailbox<'static> {
    Mailbox::try_from("INBOX".to_string()).expect("mailbox")
}

impl Conns {
    pub(super) fn new(server: &Shared, caps: &str, window: Window, clock: &Rc<FakeClock>) -> Conns {
        let claims = Rc::new(Mutex::new(Claims::default()));
        claims.lock().expect("claims").begin(Some(UV), Some(1));
        Conns {
            server: server.clone(),
            lane: Lane::new("INBOX", policy(5)),
            claims,
            caps: Capabilities::from_names(caps.split(' ')),
            mbox: mailbox(),
            window,
            jobs: VecDeque::new(),
            reports: VecDeque::new(),
            stop: None,
            conn: None,
            clock: clock.clone(),
            pauses: Vec::new(),
            recreates: 0,
        }
    }

    /// A slot of single APPENDs with `window` commands in flight, holding
    /// messages `0..n` (Message-ID `<i@x>`) as jobs.
    pub(super) fn singles(server: &Shared, caps: &str, window: usize, n: u64) -> Conns {
        let o = ImapOptions {
            window,
            ..ImapOptions::default()
        };
        let mut c = Conns::new(server, caps, lane::window(&o, false), &FakeClock::new());
        for i in 0..n {
            let m = msg(i, &format!("Message-ID: <{i}@x>\r\n\r\n{i}\r\n"));
            c.jobs.push_back(Unit::new(vec![m]));
        }
        c
    }

    /// The reasons of the failures reported so far, in order.
    pub(super) fn failures(&self) -> Vec<String> {
        let reason = |r: &Report| match r {
            Report::Done {
                result: DeliveryResult::Failed { reason },
                ..
            } => Some(reason.clone()),
            _ => None,
        };
        self.reports.iter().filter_map(reason).collect()
    }

    /// Works until every job has its reports (or the account stopped).
    pub(super) fn run(&mut self) {
        loop {
            if let Some(why) = self.stop.clone() {
                return self.abandon(&why);
            }
            if self.jobs.is_empty() && self.lane.is_empty() {
                return;
            }
            if let Some(p) = self.lane.take_pause() {
                self.pauses.push(p);
                self.clock.advance(p);
            }
            if self.conn.is_none() {
                self.conn = Server::connect(&self.server);
                if self.conn.is_none() {
                    let why = "cannot connect to the target: refused".to_string();
                    self.stop.get_or_insert(why);
                    continue;
                }
            }
            if self.lane.take_recreate() {
                self.recreates += 1;
            }
            self.pump();
        }
    }

    /// The lane feeding a pipe, with the jobs and reports of this slot.
    pub(super) fn feed(&mut self) -> LaneFeed<'_> {
        LaneFeed {
            lane: &mut self.lane,
            claims: &self.claims,
            caps: &self.caps,
            mbox: &self.mbox,
            jobs: &mut self.jobs,
            reports: &mut self.reports,
            stop: &mut self.stop,
        }
    }

    /// One pipe over the current connection, and what follows its loss.
    pub(super) fn pump(&mut self) {
        let mut pipe = AppendPipe::new(self.window);
        let Some(mut wire) = self.conn.take() else {
            return;
        };
        let result = drive(&mut pipe, &mut wire, &mut self.feed());
        self.conn = Some(wire);
        if let Err(lost) = result {
            self.conn = None;
            let why = format!("fake: connection lost: {}", lost.why);
            let (server, claims, conn) = (&self.server, &self.claims, &mut self.conn);
            let mut check = |wants: &[Want]| match Server::connect(server) {
                None => Checked::Unreachable("refused".into()),
                Some(w) => {
                    let floor = claims.lock().expect("claims").check_floor(wants);
                    let known = || claims.lock().expect("claims").known(Some(UV));
                    let found = server.borrow_mut().check(wants, floor, &known);
                    *conn = Some(w);
                    Checked::Read(Ok((Some(UV), found)))
                }
            };
            self.lane.recover(&lost, &why, claims, &mut check);
            self.reports.extend(self.lane.take_reports());
            if let Some(why) = self.lane.take_stop() {
                self.stop.get_or_insert(why);
            }
        }
    }

    pub(super) fn abandon(&mut self, why: &str) {
        self.lane
            .abandon(why, &mut self.claims.lock().expect("claims"));
        self.reports.extend(self.lane.take_reports());
        let reason = format!("not sent: {why}");
        for u in std::mem::take(&mut self.jobs) {
            self.reports.extend(Report::fail_all(u.msgs, &reason));
        }
    }
}

// ---------------------------------------------------------------- dispatch

/// The dispatcher's link to one connection slot. `lazy`: units are worked
/// only when the dispatcher waits (or at the end), as if the connection
/// answered late.
pub(super) struct World {
    pub(super) conns: Conns,
    pub(super) lazy: bool,
    /// Ctrl-C at this fake time.
    pub(super) cancel_at: Option<Duration>,
}

impl Link for World {
    fn hand_out(&mut self, unit: Unit) -> HandOut {
        self.conns.jobs.push_back(unit);
        if !self.lazy {
            self.conns.run();
        }
        HandOut::Taken
    }
    fn try_report(&mut self) -> Option<Report> {
        self.conns.reports.pop_front()
    }
    fn wait_report(&mut self, d: Duration) -> Option<Report> {
        self.conns.run();
        let r = self.conns.reports.pop_front();
        if r.is_none() {
            self.conns.clock.advance(d);
        }
        r
    }
    fn stopped(&self) -> Option<String> {
        self.conns.stop.clone()
    }
    fn stop_account(&mut self, why: String) {
        self.conns.stop.get_or_insert(why);
    }
    fn cancelled(&self) -> bool {
        let now = self.conns.clock.elapsed.get();
        self.cancel_at.is_some_and(|t| now >= t)
    }
}

/// A `deliver` call: what the driver's `events` saw.
#[derive(Default)]
pub(super) struct Run {
    /// Item id → result, in the order they came.
    pub(super) done: Vec<(String, DeliveryResult)>,
    pub(super) notes: Vec<String>,
    /// Each Pending announcement: item ids and marker.
    pub(super) pending: Vec<(Vec<String>, String)>,
    /// Messages left in the stream.
    pub(super) untaken: usize,
}

impl Run {
    pub(super) fn count(&self, f: impl Fn(&DeliveryResult) -> bool) -> usize {
        self.done.iter().filter(|(_, r)| f(r)).count()
    }
    pub(super) fn delivered(&self) -> usize {
        self.count(|r| matches!(r, DeliveryResult::Delivered(_)))
    }
    pub(super) fn failed(&self) -> Vec<(&str, &str)> {
        self.done
            .iter()
            .filter_map(|(id, r)| match r {
                DeliveryResult::Failed { reason } => Some((id.as_str(), reason.as_str())),
                _ => None,
            })
            .collect()
    }
    pub(super) fn each_once(&self, ids: &[Outgoing]) {
        for o in ids.iter().take(ids.len() - self.untaken) {
            let n = self.done.iter().filter(|(id, _)| *id == o.item_id).count();
            assert_eq!(n, 1, "{} has one outcome: {:?}", o.item_id, self.done);
        }
    }
}

/// Runs the dispatcher over `world` as `session::deliver` does; `durable`
/// answers each Pending announcement.
pub(super) fn deliver(
    world: &mut World,
    opts: &ImapOptions,
    budget: &ByteBudget,
    messages: Vec<Outgoing>,
    durable: &mut dyn FnMut(usize) -> bool,
) -> Run {
    let clock = world.conns.clock.clone();
    let caps = world.conns.caps.clone();
    let waits = std::sync::atomic::AtomicU64::new(0);
    let setup = Setup {
        caps: &caps,
        opts,
        perm: PermFlags::from(None),
        uid_validity: Some(UV),
        uid_next: world.conns.server.borrow().uid_next,
        user: "ann",
        budget,
        budget_waits: &waits,
    };
    let mut d = Dispatcher::new(setup, &*clock);
    let mut run = Run::default();
    let mut events = |e: SessionEvent| match e {
        SessionEvent::Pending { items, marker } => {
            let ids = items.into_iter().map(|(id, _)| id).collect();
            run.pending.push((ids, marker));
            durable(run.pending.len() - 1)
        }
        SessionEvent::Done(dl) => {
            run.done.push((dl.item_id, dl.result));
            true
        }
        SessionEvent::Note(n) => {
            run.notes.push(n);
            true
        }
        SessionEvent::Altered {
            item_id, reason, ..
        } => {
            run.notes.push(format!("altered {item_id}: {reason}"));
            true
        }
    };
    let mut stream = messages.into_iter();
    d.run(&mut stream, &mut events, world);
    world.conns.run();
    while let Some(r) = world.conns.reports.pop_front() {
        d.report(r, &mut events);
    }
    d.finish(&mut events);
    run.untaken = stream.count();
    run
}

/// Message `i`: Message-ID `<i@x>`, `extra` bytes of body.
pub(super) fn message(i: usize, extra: usize) -> Outgoing {
    let raw = format!(
        "From: a@x\nSubject: {i}\nMessage-ID: <{i}@x>\n\nbody {i}\n{}",
        "x".repeat(extra)
    );
    outgoing(
        i,
        raw.as_bytes(),
        Utc.timestamp_opt(1_514_800_000, 0).single(),
    )
}

pub(super) fn outgoing(i: usize, raw: &[u8], date: Option<DateTime<Utc>>) -> Outgoing {
    Outgoing {
        item_id: format!("{:08x}", i + 1),
        message: crate::message::prepare(raw.to_vec()),
        flags: MailFlags::default(),
        internal_date: date.unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
    }
}

pub(super) const N: usize = 12;

pub(super) fn twelve() -> Vec<Outgoing> {
    (0..N).map(|i| message(i, 100 * i)).collect()
}

pub(super) fn opts(batch: usize, window: usize) -> ImapOptions {
    ImapOptions {
        batch,
        window,
        ..ImapOptions::default()
    }
}

pub(super) fn world(server: &Shared, caps: &str, o: &ImapOptions) -> World {
    let multi = o.multiappend && caps.contains("MULTIAPPEND") && o.batch > 1;
    let window = lane::window(o, multi);
    World {
        conns: Conns::new(server, caps, window, &FakeClock::new()),
        lazy: false,
        cancel_at: None,
    }
}

pub(super) fn always(_: usize) -> bool {
    true
}

// ---------------------------------------------------------------- helpers

/// A message ready for the wire (`key`, CRLF `data`).
pub(super) fn msg(key: u64, data: &str) -> Msg {
    let data = data.as_bytes().to_vec();
    let mid = data
        .windows(13)
        .position(|w| w == b"Message-ID: <")
        .map(|at| {
            let rest = &data[at + 13..];
            let end = rest.iter().position(|b| *b == b'>').unwrap_or(0);
            String::from_utf8_lossy(&rest[..end]).into_owned()
        });
    Msg {
        key,
        hash: fold_hash(&data),
        decoded: super::super::identity::may_be_reencoded(&data)
            .then(|| super::super::identity::decoded_hash(&data)),
        data: std::sync::Arc::new(data),
        flags: Vec::new(),
        date: None,
        sent_date: None,
        message_id: mid,
        lower: 1,
        attempts: 0,
    }
}

/// The same messages again (Outgoing is not Clone).
pub(super) fn again(msgs: &[Outgoing]) -> Vec<Outgoing> {
    msgs.iter()
        .map(|o| Outgoing {
            item_id: o.item_id.clone(),
            message: crate::message::prepare(o.message.bytes.clone()),
            flags: o.flags,
            internal_date: o.internal_date,
        })
        .collect()
}

/// A pending item of a previous run, announced with a marker from UID 1.
pub(super) fn pending(item: &str, m: &crate::message::Prepared) -> crate::model::PendingItem {
    crate::model::PendingItem {
        item: item.into(),
        hash: m.hash,
        mailbox: "INBOX".into(),
        marker: Some(format!(r#"{{"alt":{{}},"imap":1,"un":1,"uv":{UV}}}"#)),
        size: Some(m.bytes.len() as u64),
        internal_date: None,
        message_id: m.message_id.clone(),
        src_size: None,
        src_mtime: None,
        flags: None,
    }
}

/// `messages` through the dispatcher to `server` (no byte budget, every
/// Pending durable): the world afterwards and what `events` saw.
pub(super) fn deliver_all(
    server: &Shared,
    caps: &str,
    o: &ImapOptions,
    messages: Vec<Outgoing>,
) -> (World, Run) {
    let mut w = world(server, caps, o);
    let run = deliver(&mut w, o, &ByteBudget::new(None), messages, &mut always);
    (w, run)
}
