//! The append pipe of one connection, sans I/O: fed with commands
//! ([`Cmd`], from [`super::wire`]) and with the server's bytes, it says
//! what to write and reports each command's tagged answer. The caller
//! carries the bytes and tells it when the connection failed.
//!
//! imap-next's `Client` (with nothing enqueued) is only the response
//! parser: its own send queue waits forever when a server answers a
//! synchronising literal with a tagged NO instead of `+` (Dovecot does for
//! `[TRYCREATE]` and `[LIMIT]`); here a tagged answer to the command
//! waiting for `+` simply ends that command.
//!
//! Invariants a maintainer must keep:
//! - a command whose literals are all `{n+}` is one write; a synchronising
//!   literal splits it into chunks, each written after the server's `+`,
//!   and nothing else is written meanwhile;
//! - at most `window.commands` commands and about `window.bytes` bytes
//!   await their tagged answer (a single larger command still goes);
//! - a command counts as written only once the caller confirmed its last
//!   chunk ([`AppendPipe::written`]);
//! - a BAD to a command that carried a `{n+}` literal poisons the
//!   connection: the server may have refused the line before reading the
//!   literal and now reads message lines as commands (Dovecot does);
//! - BYE, EOF, an I/O error or an unparsable answer end the connection
//!   ([`Lost`]): commands written completely have an unknown fate, the
//!   others certainly did not arrive; a timeout is flagged, as the server
//!   may still be working on what it was sent.
//!
//! [`drive`] is the loop every connection runs over the pipe: a
//! [`Transport`] carries the bytes (a socket, or a scripted server in the
//! tests) and a [`Feed`] gives the commands and takes the answers.

use super::wire::{self, outcome, Cmd, CmdOutcome};
use imap_next::imap_types::{
    core::Tag,
    fetch::MessageDataItem,
    response::{Code, Data, Status, StatusBody},
};
use imap_next::{
    client::{Client as NextClient, Event as NextEvent, Options as NextOptions},
    Interrupt, Io, State,
};
use std::collections::VecDeque;
use std::time::Duration;

/// Limits of what one connection has in flight.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Commands awaiting their tagged answer.
    pub commands: usize,
    /// Bytes of those commands (a single larger command still goes).
    pub bytes: usize,
}

/// The connection ended with commands in flight.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Lost {
    /// What happened (`EOF from server`, `server sent BYE: …`).
    pub why: String,
    /// Command keys written completely: may or may not be stored.
    pub unknown: Vec<u64>,
    /// Command keys not written completely: certainly not stored.
    pub not_stored: Vec<u64>,
    /// A read or write timed out: the server may be slow rather than gone,
    /// and may still store the `unknown` commands later.
    pub timed_out: bool,
}

/// A failure of the caller's I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The server closed the connection.
    Eof,
    /// Reading failed (`detail` as the I/O error says it).
    Read { detail: String, timed_out: bool },
    /// Writing failed.
    Write { detail: String, timed_out: bool },
}

/// What the pipe has for its caller.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// Bytes wait to be written: take them with [`AppendPipe::output`].
    Write,
    /// The tagged answer to the command with this key.
    Done { key: u64, outcome: CmdOutcome },
    /// The connection is over; the pipe is finished.
    Lost(Lost),
    /// Read from the server and [`AppendPipe::feed`] what came.
    NeedInput,
    /// An untagged FETCH with a UID and its RFC822.SIZE or its body (the
    /// answers to a read-back tail, [`super::wire::build_tail`]).
    Fetched {
        uid: u32,
        size: Option<u64>,
        body: Option<Vec<u8>>,
    },
    /// An untagged `OK [UIDVALIDITY n]` (the tail's EXAMINE).
    UidValidity(u32),
}

/// Counters of one pipe (for debug logs and tests).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PipeStats {
    /// Writes handed out.
    pub writes: usize,
    /// Most commands awaiting an answer at once.
    pub max_in_flight: usize,
    /// Untagged responses seen.
    pub untagged: usize,
}

impl PipeStats {
    /// Adds another pipe's counters.
    pub fn add(&mut self, o: &PipeStats) {
        self.writes += o.writes;
        self.max_in_flight = self.max_in_flight.max(o.max_in_flight);
        self.untagged += o.untagged;
    }
}

/// A command awaiting its tagged answer.
struct Entry {
    tag: Tag<'static>,
    key: u64,
    bytes: usize,
    non_sync: bool,
    /// Every chunk was written (confirmed by the caller).
    written: bool,
}

/// Bytes to write, and the command they complete (its last chunk).
struct Chunk {
    bytes: wire::Chunk,
    completes: Option<Tag<'static>>,
}

/// The append pipe (see the module header).
pub(crate) struct AppendPipe {
    reader: NextClient,
    window: Window,
    awaiting: VecDeque<Entry>,
    /// The command waiting for `+`, with the chunks still to send.
    writing: Option<(Tag<'static>, VecDeque<wire::Chunk>)>,
    in_bytes: usize,
    /// Bytes the caller has not taken yet.
    out: Option<Chunk>,
    /// Taken, not yet confirmed written: the tag they complete, if any.
    unconfirmed: Option<Option<Tag<'static>>>,
    /// A BAD to a `{n+}` command: the loss to report next.
    poisoned: Option<String>,
    finished: bool,
    stats: PipeStats,
}

impl AppendPipe {
    /// A pipe for a connection whose greeting was read long ago.
    pub fn new(window: Window) -> AppendPipe {
        let mut opts = NextOptions::default();
        opts.discard_greeting = true;
        AppendPipe {
            reader: NextClient::new(opts),
            window: Window {
                commands: window.commands.max(1),
                bytes: window.bytes.max(1),
            },
            awaiting: VecDeque::new(),
            writing: None,
            in_bytes: 0,
            out: None,
            unconfirmed: None,
            poisoned: None,
            finished: false,
            stats: PipeStats::default(),
        }
    }

    /// True when a command may be sent now: no write is outstanding,
    /// nothing waits for `+`, the window has room, and the connection is
    /// not being given up.
    pub fn has_room(&self) -> bool {
        !self.finished
            && self.poisoned.is_none()
            && self.out.is_none()
            && self.unconfirmed.is_none()
            && self.writing.is_none()
            && self.awaiting.len() < self.window.commands
            && (self.awaiting.is_empty() || self.in_bytes < self.window.bytes)
    }

    /// True when no command awaits its answer and no loss is due: there is
    /// nothing to read for.
    pub fn is_idle(&self) -> bool {
        self.awaiting.is_empty() && self.poisoned.is_none()
    }

    /// Takes a command (call only when [`Self::has_room`]): its first
    /// chunk is the next [`Self::output`].
    pub fn send(&mut self, cmd: Cmd) {
        let mut chunks: VecDeque<wire::Chunk> = cmd.chunks.into();
        let first = chunks.pop_front().unwrap_or_default();
        self.awaiting.push_back(Entry {
            tag: cmd.tag.clone(),
            key: cmd.key,
            bytes: cmd.bytes,
            non_sync: cmd.non_sync,
            written: false,
        });
        self.in_bytes += cmd.bytes;
        self.stats.max_in_flight = self.stats.max_in_flight.max(self.awaiting.len());
        let completes = if chunks.is_empty() {
            Some(cmd.tag)
        } else {
            self.writing = Some((cmd.tag, chunks));
            None
        };
        self.out = Some(Chunk {
            bytes: first,
            completes,
        });
    }

    /// The bytes to write now. Write them in full, then call
    /// [`Self::written`]; if writing fails, call [`Self::fault`].
    pub fn output(&mut self) -> Option<wire::Chunk> {
        let chunk = self.out.take()?;
        self.stats.writes += 1;
        self.unconfirmed = Some(chunk.completes);
        Some(chunk.bytes)
    }

    /// The last [`Self::output`] was written in full: the key of the
    /// command it completed, if any.
    pub fn written(&mut self) -> Option<u64> {
        let Some(Some(tag)) = self.unconfirmed.take() else {
            return None;
        };
        let e = self.awaiting.iter_mut().find(|e| e.tag == tag)?;
        e.written = true;
        Some(e.key)
    }

    /// Changes the window of a running pipe: what is in flight stays (a
    /// smaller window only holds back the next commands).
    pub fn set_window(&mut self, window: Window) {
        self.window = Window {
            commands: window.commands.max(1),
            bytes: window.bytes.max(1),
        };
    }

    /// Bytes read from the server.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.reader.enqueue_input(bytes);
    }

    /// The caller's I/O failed: the connection is over.
    pub fn fault(&mut self, fault: Fault) -> Lost {
        let (why, timed_out) = match fault {
            Fault::Eof => ("EOF from server".to_string(), false),
            Fault::Read { detail, timed_out } => (format!("read: {detail}"), timed_out),
            Fault::Write { detail, timed_out } => (format!("write: {detail}"), timed_out),
        };
        self.give_up(why, timed_out)
    }

    /// The counters so far.
    pub fn stats(&self) -> &PipeStats {
        &self.stats
    }

    /// What happened next: bytes to write first, then what the server's
    /// bytes say, one event at a time.
    pub fn poll(&mut self) -> Event {
        if self.out.is_some() || self.unconfirmed.is_some() {
            return Event::Write;
        }
        if let Some(why) = self.poisoned.take() {
            return Event::Lost(self.give_up(why, false));
        }
        loop {
            match self.reader.next() {
                Ok(NextEvent::ContinuationRequestReceived { .. }) => {
                    // A `+` nobody asked for is ignored.
                    if self.continue_literal() {
                        return Event::Write;
                    }
                }
                Ok(NextEvent::StatusReceived {
                    status: Status::Tagged(t),
                }) => {
                    if let Some(done) = self.answered(&t.tag, outcome(&t.body), &t.body.text) {
                        return done;
                    }
                }
                Ok(NextEvent::StatusReceived {
                    status: Status::Bye(b),
                }) => {
                    let why = format!("server sent BYE: {}", b.text);
                    return Event::Lost(self.give_up(why, false));
                }
                Ok(NextEvent::DataReceived {
                    data: Data::Fetch { items, .. },
                }) => {
                    self.stats.untagged += 1;
                    if let Some((uid, size, body)) = uid_size(items.as_ref()) {
                        return Event::Fetched { uid, size, body };
                    }
                }
                Ok(NextEvent::StatusReceived {
                    status:
                        Status::Untagged(StatusBody {
                            code: Some(Code::UidValidity(v)),
                            ..
                        }),
                }) => {
                    self.stats.untagged += 1;
                    return Event::UidValidity(v.get());
                }
                Ok(_) => self.stats.untagged += 1,
                Err(Interrupt::Io(Io::NeedMoreInput)) => return Event::NeedInput,
                Err(Interrupt::Io(Io::Output(_))) => {} // nothing is ever enqueued
                Err(Interrupt::Error(e)) => {
                    let why = format!("unparsable server response: {e:?}");
                    return Event::Lost(self.give_up(why, false));
                }
            }
        }
    }

    /// After a `+`: the next chunk of the command waiting for it. False
    /// when no command waits.
    fn continue_literal(&mut self) -> bool {
        let Some((tag, mut chunks)) = self.writing.take() else {
            return false;
        };
        let bytes = chunks.pop_front().unwrap_or_default();
        let completes = if chunks.is_empty() {
            Some(tag)
        } else {
            self.writing = Some((tag, chunks));
            None
        };
        self.out = Some(Chunk { bytes, completes });
        true
    }

    /// A tagged answer: the event for its command (`None` for a tag that
    /// is not in flight).
    fn answered(
        &mut self,
        tag: &Tag<'_>,
        o: CmdOutcome,
        text: &impl std::fmt::Display,
    ) -> Option<Event> {
        let pos = self.awaiting.iter().position(|e| e.tag == *tag)?;
        let entry = self.awaiting.remove(pos)?;
        self.in_bytes = self.in_bytes.saturating_sub(entry.bytes);
        if self.writing.as_ref().is_some_and(|(t, _)| t == tag) {
            // A tagged answer instead of `+`: the literal was refused and
            // the command is over.
            self.writing = None;
        }
        if matches!(o, CmdOutcome::Bad { .. }) && entry.non_sync {
            self.poisoned = Some(format!(
                "BAD to an APPEND with a non-synchronising literal ({text}): the connection may be out of step"
            ));
        }
        Some(Event::Done {
            key: entry.key,
            outcome: o,
        })
    }

    /// Ends the pipe: every command in flight is either written (fate
    /// unknown) or not (not stored).
    fn give_up(&mut self, why: String, timed_out: bool) -> Lost {
        self.finished = true;
        self.writing = None;
        self.out = None;
        self.unconfirmed = None;
        let (mut unknown, mut not_stored) = (Vec::new(), Vec::new());
        for e in self.awaiting.drain(..) {
            if e.written {
                unknown.push(e.key);
            } else {
                not_stored.push(e.key);
            }
        }
        Lost {
            why,
            unknown,
            not_stored,
            timed_out,
        }
    }
}

/// The UID of an untagged FETCH with its RFC822.SIZE and whole body
/// (`BODY[]`), when it has a UID and one of them.
#[allow(clippy::type_complexity)]
fn uid_size(items: &[MessageDataItem<'_>]) -> Option<(u32, Option<u64>, Option<Vec<u8>>)> {
    let (mut uid, mut size, mut body) = (None, None, None);
    for item in items {
        match item {
            MessageDataItem::Uid(u) => uid = Some(u.get()),
            MessageDataItem::Rfc822Size(n) => size = Some(u64::from(*n)),
            MessageDataItem::BodyExt {
                section: None,
                data,
                ..
            } => body = data.0.as_ref().map(|b| b.as_ref().to_vec()),
            _ => {}
        }
    }
    (size.is_some() || body.is_some()).then_some((uid?, size, body))
}

/// What carries a pipe's bytes.
pub(crate) trait Transport {
    /// Writes all of `bytes` at once (a [`Fault::Write`] if it cannot).
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Fault>;
    /// Writes all of `chunk`'s pieces, in order, as one write (the
    /// default copies them into one buffer for [`Self::write_all`]).
    fn write_pieces(&mut self, chunk: &[wire::Piece]) -> Result<(), Fault> {
        self.write_all(&wire::flat(chunk))
    }
    /// Reads what the server sent: `Ok(0)` at EOF, a [`Fault::Read`] if
    /// reading fails or times out.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Fault>;
    /// As [`Self::read`], but gives up after about `wait` with `Ok(None)`
    /// when nothing came, so that the caller can look for more commands
    /// to send (a transport that cannot wait briefly just reads). Silence
    /// adding up to the transport's own timeout is a [`Fault::Read`].
    fn read_briefly(&mut self, buf: &mut [u8], _wait: Duration) -> Result<Option<usize>, Fault> {
        self.read(buf).map(Some)
    }
}

/// What a pipe's commands come from and its answers go to.
pub(crate) trait Feed {
    /// The next command to send (waiting for work when `block`: nothing is
    /// in flight), or `None` for "nothing now".
    fn next(&mut self, block: bool) -> Option<Cmd>;
    /// The tagged answer to command `key`.
    fn done(&mut self, key: u64, outcome: CmdOutcome);
    /// The last byte of command `key` was written.
    fn written(&mut self, _key: u64) {}
    /// The window to use from now on (`None`: keep it).
    fn window(&mut self) -> Option<Window> {
        None
    }
    /// `next(false)` gave nothing now, but more may come soon (the
    /// dispatcher is still handing out work): [`drive`] then waits for the
    /// server only briefly before asking again, instead of until an answer
    /// comes (which left the first command of a connection alone in
    /// flight for a whole round trip).
    fn may_have_more(&self) -> bool {
        false
    }
    /// An untagged FETCH said `uid` is stored with `size` bytes and / or
    /// gave its body.
    fn fetched(&mut self, _uid: u32, _size: Option<u64>, _body: Option<&[u8]>) {}
    /// An untagged `OK [UIDVALIDITY v]` came (an EXAMINE's).
    fn uid_validity(&mut self, _v: u32) {}
}

/// The first and the longest brief wait for the server while the window
/// has room and the feed may have more (see [`Feed::may_have_more`]).
const BRIEF_FIRST: Duration = Duration::from_millis(1);
const BRIEF_MAX: Duration = Duration::from_millis(16);

/// Sends commands from `feed` over `io` and hands `feed` each tagged
/// answer, keeping the window full. Returns when `feed` has nothing more
/// and nothing is in flight, or with [`Lost`] when the connection died.
pub(crate) fn drive(
    pipe: &mut AppendPipe,
    io: &mut dyn Transport,
    feed: &mut dyn Feed,
) -> Result<(), Lost> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut wait = BRIEF_FIRST;
    loop {
        if let Some(w) = feed.window() {
            pipe.set_window(w);
        }
        while pipe.has_room() {
            let Some(cmd) = feed.next(pipe.is_idle()) else {
                break;
            };
            pipe.send(cmd);
            write_out(pipe, io, feed)?;
            wait = BRIEF_FIRST;
        }
        if pipe.is_idle() {
            return Ok(());
        }
        match pipe.poll() {
            Event::Write => write_out(pipe, io, feed)?,
            Event::Done { key, outcome } => feed.done(key, outcome),
            Event::Fetched { uid, size, body } => feed.fetched(uid, size, body.as_deref()),
            Event::UidValidity(v) => feed.uid_validity(v),
            Event::Lost(lost) => return Err(lost),
            Event::NeedInput => {
                let got = if pipe.has_room() && feed.may_have_more() {
                    match io.read_briefly(&mut buf, wait) {
                        Ok(None) => {
                            wait = (wait * 2).min(BRIEF_MAX);
                            continue;
                        }
                        Ok(Some(n)) => Ok(n),
                        Err(fault) => Err(fault),
                    }
                } else {
                    io.read(&mut buf)
                };
                match got {
                    Ok(0) => return Err(pipe.fault(Fault::Eof)),
                    Ok(n) => pipe.feed(&buf[..n]),
                    Err(fault) => return Err(pipe.fault(fault)),
                }
            }
        }
    }
}

/// Writes what the pipe has to write, each piece with one `write_all`.
fn write_out(
    pipe: &mut AppendPipe,
    io: &mut dyn Transport,
    feed: &mut dyn Feed,
) -> Result<(), Lost> {
    while let Some(bytes) = pipe.output() {
        if let Err(fault) = io.write_pieces(&bytes) {
            return Err(pipe.fault(fault));
        }
        if let Some(key) = pipe.written() {
            feed.written(key);
        }
    }
    Ok(())
}
