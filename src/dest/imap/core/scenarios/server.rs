//! The scripted IMAP server of the scenarios: a mailbox that parses what
//! the client writes (APPEND / MULTIAPPEND with sync and non-sync
//! literals) and answers as its script says, like
//! `tests/common/fakeimap.rs` does over TCP; and the check a worker makes
//! after a lost connection, read from that mailbox.

use crate::dest::imap::core::append::{Fault, Transport};
use crate::dest::imap::core::matching::{wants_decoded, Found, Known, Search, Seen, Want};
use std::cell::RefCell;
use std::rc::Rc;

/// The scripted server's UIDVALIDITY.
pub(super) const UV: u32 = 42;

/// "Now" for the plausibility of dates (2033, after every date used).
pub(super) const NOW: i64 = 2_000_000_000;

/// What the server does with one APPEND command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Act {
    /// Store and answer OK (with APPENDUID under UIDPLUS).
    Store,
    /// Answer `NO <text>` (instead of `+` for a synchronising first
    /// literal); store nothing.
    No(&'static str),
    /// `* BYE` and close, storing nothing.
    Bye,
    /// Store, then close without answering.
    StoreThenDrop,
    /// Close before storing.
    DropBeforeStore,
    /// Store, then answer nothing more: the client's reads time out.
    StoreThenHang,
}

/// One APPEND command as the server read it.
#[derive(Clone, Debug, Default)]
pub(super) struct Append {
    pub(super) conn: usize,
    pub(super) lines: Vec<String>,
    pub(super) bodies: Vec<Vec<u8>>,
}

pub(super) type Script = Box<dyn FnMut(usize, &Append) -> Act>;

/// The mailbox and its script, shared by every connection.
pub(super) struct Server {
    pub(super) uidplus: bool,
    /// Store every message with a header added (no content ever matches).
    pub(super) rewrite: bool,
    pub(super) untagged_before_plus: Vec<&'static str>,
    /// (UID, body), ascending.
    pub(super) store: Vec<(u32, Vec<u8>)>,
    pub(super) uid_next: u32,
    pub(super) appends: Vec<Append>,
    pub(super) connections: usize,
    /// Refuse this many more connections.
    pub(super) refuse: usize,
    /// Message-ID searches made by checks.
    pub(super) searches: usize,
    pub(super) script: Script,
}

pub(super) type Shared = Rc<RefCell<Server>>;

pub(super) fn server(uidplus: bool, script: impl FnMut(usize, &Append) -> Act + 'static) -> Shared {
    Rc::new(RefCell::new(Server {
        uidplus,
        rewrite: false,
        untagged_before_plus: Vec::new(),
        store: Vec::new(),
        uid_next: 1,
        appends: Vec::new(),
        connections: 0,
        refuse: 0,
        searches: 0,
        script: Box::new(script),
    }))
}

/// Every APPEND stored but the `n`th (0-based), which gets `act`.
pub(super) fn only_nth(n: usize, act: Act) -> impl FnMut(usize, &Append) -> Act {
    move |i, _| if i == n { act.clone() } else { Act::Store }
}

impl Server {
    pub(super) fn connect(this: &Shared) -> Option<Wire> {
        let mut s = this.borrow_mut();
        if s.refuse > 0 {
            s.refuse -= 1;
            return None;
        }
        s.connections += 1;
        Some(Wire {
            server: this.clone(),
            conn: s.connections,
            input: Vec::new(),
            out: Vec::new(),
            cur: None,
            literal: None,
            end: End::Open,
        })
    }

    pub(super) fn store(&mut self, bodies: &[Vec<u8>]) -> (u32, u32) {
        let first = self.uid_next;
        for b in bodies {
            let mut body = b.clone();
            if self.rewrite {
                body.splice(0..0, b"X-Fake-Rewritten: yes\r\n".iter().copied());
            }
            self.store.push((self.uid_next, body));
            self.uid_next += 1;
        }
        (first, self.uid_next - 1)
    }

    /// The check after a lost connection, as `reconcile::find_on_server`
    /// reads and decides: copies by content from the lowest UID on, and
    /// Message-ID hits for wants found nowhere by content.
    pub(super) fn check(
        &mut self,
        wants: &[Want],
        floor: Option<u32>,
        known: &dyn Fn() -> Known,
    ) -> Vec<Found> {
        let search = Search::new(wants, Some(UV), floor);
        let mut seen = Seen::default();
        let decoded = wants_decoded(wants);
        for (uid, body) in self.store.iter().filter(|(u, _)| *u >= search.from) {
            seen.add_copy(*uid, body, decoded);
        }
        seen.sort();
        for (i, w) in wants.iter().enumerate() {
            let Some(mid) = w.message_id.as_deref() else {
                continue;
            };
            if seen.has_copy(w) {
                continue;
            }
            if let Some(hits) = seen.print_hits(w, search.lowers[i]) {
                for u in &hits {
                    if let Some((_, b)) = self.store.iter().find(|(x, _)| x == u) {
                        seen.facts.insert(*u, (b.len() as u64, None));
                    }
                }
                seen.hits.insert(i, hits);
                continue;
            }
            self.searches += 1;
            let needle = format!("message-id: <{mid}>").to_ascii_lowercase();
            let hits: Vec<u32> = self
                .store
                .iter()
                .filter(|(u, b)| {
                    *u >= search.lowers[i]
                        && String::from_utf8_lossy(b)
                            .to_ascii_lowercase()
                            .contains(&needle)
                })
                .map(|(u, b)| {
                    seen.facts.insert(*u, (b.len() as u64, None));
                    *u
                })
                .collect();
            seen.hits.insert(i, hits);
        }
        search.decide(wants, &seen, &known(), NOW)
    }

    /// The Message-ID numbers stored (`<N@x>`), in UID order.
    pub(super) fn stored(&self) -> Vec<usize> {
        self.store
            .iter()
            .map(|(_, b)| {
                let t = String::from_utf8_lossy(b).into_owned();
                let from = t.find("Message-ID: <").expect("Message-ID") + 13;
                t[from..]
                    .split('@')
                    .next()
                    .expect("n")
                    .parse()
                    .expect("number")
            })
            .collect()
    }

    pub(super) fn count(&self, needle: &str) -> usize {
        let has = |b: &Vec<u8>| String::from_utf8_lossy(b).contains(needle);
        self.store.iter().filter(|(_, b)| has(b)).count()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum End {
    Open,
    /// Closed: reads drain what was said, then EOF.
    Closed,
    /// Says nothing more: reads time out.
    Hung,
}

/// One connection: the server's side of the bytes.
pub(super) struct Wire {
    pub(super) server: Shared,
    pub(super) conn: usize,
    pub(super) input: Vec<u8>,
    pub(super) out: Vec<u8>,
    /// The APPEND being read, with its tag.
    pub(super) cur: Option<(String, Append)>,
    /// Bytes of literal still to read.
    pub(super) literal: Option<usize>,
    pub(super) end: End,
}

impl Wire {
    pub(super) fn say(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// Reads what the client wrote, as far as it goes.
    pub(super) fn absorb(&mut self) {
        while self.end == End::Open {
            if let Some(n) = self.literal {
                if self.input.len() < n {
                    return;
                }
                let body: Vec<u8> = self.input.drain(..n).collect();
                if let Some((_, a)) = self.cur.as_mut() {
                    a.bodies.push(body);
                }
                self.literal = None;
                continue;
            }
            let Some(at) = self.input.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let line = String::from_utf8_lossy(&self.input[..at]).into_owned();
            self.input.drain(..at + 2);
            let (tag, a) = self.cur.get_or_insert_with(|| {
                let tag = line.split(' ').next().unwrap_or("").to_string();
                let conn = self.conn;
                (
                    tag,
                    Append {
                        conn,
                        ..Append::default()
                    },
                )
            });
            a.lines.push(line.clone());
            let tag = tag.clone();
            self.after_line(&tag, &line);
        }
    }

    /// A line of the APPEND ended: a literal follows, or the command is
    /// complete.
    pub(super) fn after_line(&mut self, tag: &str, line: &str) {
        let Some((n, non_sync)) = literal_at_end(line) else {
            return self.complete();
        };
        if !non_sync {
            let first = self.cur.as_ref().is_some_and(|(_, a)| a.bodies.is_empty());
            if first {
                let mut s = self.server.borrow_mut();
                let probe = self.cur.clone().map(|(_, a)| a).unwrap_or_default();
                let i = s.appends.len();
                if let Act::No(text) = (s.script)(i, &probe) {
                    s.appends.push(probe);
                    drop(s);
                    self.cur = None;
                    return self.say(&format!("{tag} NO {text}"));
                }
            }
            let pre = self.server.borrow().untagged_before_plus.clone();
            for u in pre {
                self.say(u);
            }
            self.say("+ go ahead");
        }
        self.literal = Some(n);
    }

    pub(super) fn complete(&mut self) {
        let Some((tag, a)) = self.cur.take() else {
            return;
        };
        let mut s = self.server.borrow_mut();
        let i = s.appends.len();
        let act = (s.script)(i, &a);
        s.appends.push(a.clone());
        let stored = matches!(act, Act::Store | Act::StoreThenDrop | Act::StoreThenHang)
            .then(|| s.store(&a.bodies));
        let uidplus = s.uidplus;
        drop(s);
        match act {
            Act::Store => {
                let (lo, hi) = stored.unwrap_or_default();
                let set = if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}:{hi}")
                };
                match uidplus {
                    true => self.say(&format!("{tag} OK [APPENDUID {UV} {set}] stored")),
                    false => self.say(&format!("{tag} OK stored")),
                }
            }
            Act::No(text) => self.say(&format!("{tag} NO {text}")),
            Act::Bye => {
                self.say("* BYE server shutting down");
                self.end = End::Closed;
            }
            Act::StoreThenDrop | Act::DropBeforeStore => self.end = End::Closed,
            Act::StoreThenHang => self.end = End::Hung,
        }
    }
}

/// `{n}`, `{n+}`, `~{n+}` at the end of a line: (size, non-sync).
pub(super) fn literal_at_end(line: &str) -> Option<(usize, bool)> {
    let l = line.strip_suffix('}')?;
    let inner = &l[l.rfind('{')? + 1..];
    match inner.strip_suffix('+') {
        Some(n) => Some((n.parse().ok()?, true)),
        None => Some((inner.parse().ok()?, false)),
    }
}

impl Transport for Wire {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Fault> {
        // After a close the bytes go nowhere, as into a socket's buffer.
        self.input.extend_from_slice(bytes);
        self.absorb();
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Fault> {
        if !self.out.is_empty() {
            let n = self.out.len().min(buf.len());
            buf[..n].copy_from_slice(&self.out[..n]);
            self.out.drain(..n);
            return Ok(n);
        }
        match self.end {
            End::Closed => Ok(0),
            End::Hung => Err(Fault::Read {
                detail: "timed out (Resource temporarily unavailable (os error 11))".into(),
                timed_out: true,
            }),
            End::Open => panic!("the client waits for an answer the server does not owe"),
        }
    }
}

impl Server {
    /// A connection even while logins are refused (the first one).
    pub(super) fn connect_anyway(this: &Shared) -> Option<Wire> {
        let refuse = std::mem::take(&mut this.borrow_mut().refuse);
        let w = Server::connect(this);
        this.borrow_mut().refuse = refuse;
        w
    }
}
