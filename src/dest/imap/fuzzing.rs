//! Entry points for `fuzz/` (cargo fuzz) and for the regression tests of
//! what it found: the IMAP response handling of the append path fed with
//! the bytes a hostile server may send (literals of absurd size,
//! unbalanced parentheses, endless continuation requests, tags nobody
//! sent), without letting the IMAP crates' types out of this module.
//!
//! The invariant checked on every input: each command ends exactly once,
//! either with its tagged answer or in the connection's loss (written:
//! fate unknown; not written: certainly not stored), and the loop ends.

use super::caps::Capabilities;
use super::core::append::{drive, AppendPipe, Fault, Feed, Transport, Window};
use super::core::wire::{build_append, command_tag, CmdOutcome, WireMsg};
use imap_next::imap_types::mailbox::Mailbox;
use std::collections::BTreeMap;

/// What happened to the commands of one fuzz input.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AppendFate {
    /// Commands answered OK / NO / BAD.
    pub answered: usize,
    /// Commands whose fate the loss left unknown.
    pub unknown: usize,
    /// Commands the loss says were certainly not stored.
    pub not_stored: usize,
    /// Why the connection ended, if it did.
    pub lost: Option<String>,
}

/// Server bytes, handed out in pieces whose sizes come from the input.
struct Script<'a> {
    data: &'a [u8],
    at: usize,
    reads: usize,
}

impl Transport for Script<'_> {
    fn write_all(&mut self, _bytes: &[u8]) -> Result<(), Fault> {
        Ok(())
    }
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Fault> {
        self.reads += 1;
        if self.reads > 1_000_000 {
            // A pipe that keeps asking for input it already has loops.
            panic!("append pipe read more than a million times");
        }
        let rest = &self.data[self.at..];
        if rest.is_empty() {
            return Ok(0);
        }
        let n = rest.len().min(buf.len()).min(1 + (self.reads * 7) % 61);
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

struct Commands {
    caps: Capabilities,
    mbox: Mailbox<'static>,
    next: u64,
    count: u64,
    ends: BTreeMap<u64, usize>,
}

impl Feed for Commands {
    fn next(&mut self, _block: bool) -> Option<super::core::wire::Cmd> {
        if self.next >= self.count {
            return None;
        }
        let key = self.next;
        // NUL goes only as literal8, which needs BINARY.
        let body: &[u8] = if key.is_multiple_of(2) || !self.caps.binary {
            b"Subject: a\r\n\r\nbody\r\n"
        } else {
            b"Subject: b\r\n\r\nNUL \0 here\r\n"
        };
        let (body, c) = (
            std::sync::Arc::new(body.to_vec()),
            std::sync::Arc::new(b"Subject: c\r\n\r\nc\r\n".to_vec()),
        );
        let msgs = [
            WireMsg {
                data: &body,
                flags: Vec::new(),
                date: None,
            },
            WireMsg {
                data: &c,
                flags: Vec::new(),
                date: None,
            },
        ];
        let n = if self.caps.multiappend { 2 } else { 1 };
        let tag = command_tag(key).ok()?;
        let cmd = build_append(&self.caps, &self.mbox, tag, key, &msgs[..n]).ok()?;
        self.next += 1;
        Some(cmd)
    }
    fn done(&mut self, key: u64, outcome: CmdOutcome) {
        let _ = outcome;
        *self.ends.entry(key).or_default() += 1;
    }
}

/// Runs the append pipe of one connection over `data` as the server's
/// bytes. The first byte chooses the server's capabilities (LITERAL+,
/// MULTIAPPEND, BINARY) and the window; the rest is what the server says.
/// Panics when a command ends twice or never, the invariant the fuzzer
/// guards.
pub fn append_responses(data: &[u8]) -> AppendFate {
    let (head, rest) = data.split_first().map_or((0, data), |(h, r)| (*h, r));
    let mut names = vec!["IMAP4rev1"];
    if head & 1 != 0 {
        names.push("LITERAL+");
    }
    if head & 2 != 0 {
        names.push("MULTIAPPEND");
    }
    if head & 4 != 0 {
        names.push("BINARY");
    }
    let caps = Capabilities::from_names(names);
    let window = Window {
        commands: 1 + usize::from(head >> 5),
        bytes: if head & 8 != 0 { 64 } else { 1 << 20 },
    };
    let mut feed = Commands {
        caps,
        mbox: Mailbox::Inbox,
        next: 0,
        count: 1 + u64::from((head >> 3) & 3),
        ends: BTreeMap::new(),
    };
    let mut pipe = AppendPipe::new(window);
    let mut io = Script {
        data: rest,
        at: 0,
        reads: 0,
    };
    let result = drive(&mut pipe, &mut io, &mut feed);
    let mut fate = AppendFate {
        answered: feed.ends.values().sum(),
        ..AppendFate::default()
    };
    let mut ends = feed.ends;
    if let Err(lost) = result {
        fate.unknown = lost.unknown.len();
        fate.not_stored = lost.not_stored.len();
        for k in lost.unknown.iter().chain(&lost.not_stored) {
            *ends.entry(*k).or_default() += 1;
        }
        fate.lost = Some(lost.why);
    }
    for key in 0..feed.next {
        let n = ends.get(&key).copied().unwrap_or(0);
        assert!(n == 1, "command {key} ended {n} times: {fate:?}");
    }
    assert!(
        ends.keys().all(|k| *k < feed.next),
        "an end for a command never sent: {ends:?}"
    );
    fate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_ends_once_whatever_the_server_says() {
        // LITERAL+ MULTIAPPEND, 2 commands: both answered.
        let f = append_responses(b"\x0bA0 OK done\r\nA1 NO [TRYCREATE] no\r\n");
        assert_eq!((f.answered, f.unknown, f.not_stored), (2, 0, 0), "{f:?}");
        // Synchronising literals, the server never says `+`: EOF.
        let f = append_responses(b"\x00* OK still here\r\n");
        assert_eq!(f.answered, 0);
        assert_eq!(f.unknown + f.not_stored, 1);
        assert!(f.lost.is_some());
        // Endless continuation, absurd literal, unbalanced parentheses.
        for junk in [
            &b"\x01+ go\r\n+ go\r\n+ go\r\n+ go\r\n+ go\r\n"[..],
            b"\x01* 1 FETCH (BODY[] {18446744073709551615}\r\n",
            b"\x03* LIST (((((((( \"/\" x\r\nA0 OK\r\n",
            b"\x01A9 OK not ours\r\nA0 BAD what\r\n",
        ] {
            let f = append_responses(junk);
            assert!(
                f.answered + f.unknown + f.not_stored >= 1,
                "{junk:?}: {f:?}"
            );
        }
    }
}
