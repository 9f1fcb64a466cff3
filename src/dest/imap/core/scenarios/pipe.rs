//! The append pipe alone, fed scripted server bytes: every write and read
//! is logged (`C:` / `S:`), so each test shows the conversation the pipe
//! has, including the "NO [TOOBIG] in the middle of a batch",
//! "connection dropped after the third APPEND of a MULTIAPPEND" and
//! "timeout with 3 commands in flight".

use crate::dest::imap::caps::Capabilities;
use crate::dest::imap::core::append::{drive, AppendPipe, Fault, Feed, Lost, Transport, Window};
use crate::dest::imap::core::wire::{
    build_append, build_tail, command_tag, Cmd, CmdOutcome, WireMsg, TAIL_KEYS,
};
use crate::dest::imap::error::RespCode;
use imap_next::imap_types::mailbox::Mailbox;
use std::collections::VecDeque;

/// A transport that plays scripted server bytes and logs the
/// conversation (`C:` written, `S:` read), one entry per call.
#[derive(Default)]
struct Scripted {
    pub reads: VecDeque<Result<Vec<u8>, Fault>>,
    pub log: Vec<String>,
    /// Writes fail from this one on (0-based).
    pub fail_write_at: Option<usize>,
    writes: usize,
}

impl Scripted {
    pub fn new(reads: &[&str]) -> Scripted {
        Scripted {
            reads: reads.iter().map(|r| Ok(r.as_bytes().to_vec())).collect(),
            ..Scripted::default()
        }
    }
}

impl Transport for Scripted {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Fault> {
        let n = self.writes;
        self.writes += 1;
        if self.fail_write_at.is_some_and(|at| n >= at) {
            return Err(Fault::Write {
                detail: "Broken pipe (os error 32)".into(),
                timed_out: false,
            });
        }
        self.log
            .push(format!("C: {}", String::from_utf8_lossy(bytes).trim_end()));
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Fault> {
        let next = self.reads.pop_front();
        let bytes = match next {
            Some(Ok(b)) => b,
            Some(Err(f)) => return Err(f),
            None => panic!(
                "the client waits for more than the script says: {:?}",
                self.log
            ),
        };
        assert!(bytes.len() <= buf.len(), "a read fits the buffer");
        buf[..bytes.len()].copy_from_slice(&bytes);
        self.log
            .push(format!("S: {}", String::from_utf8_lossy(&bytes).trim_end()));
        Ok(bytes.len())
    }
}

/// Commands to send, and the answers they got.
#[derive(Default)]
struct Queue {
    pub cmds: VecDeque<Cmd>,
    pub done: Vec<(u64, CmdOutcome)>,
    /// (UID, RFC822.SIZE, body) of the untagged FETCHes, and UIDVALIDITY.
    pub fetched: Vec<(u32, Option<u64>, Option<Vec<u8>>)>,
    pub uid_validity: Option<u32>,
}

impl Feed for Queue {
    fn next(&mut self, _block: bool) -> Option<Cmd> {
        self.cmds.pop_front()
    }
    fn done(&mut self, key: u64, outcome: CmdOutcome) {
        self.done.push((key, outcome));
    }
    fn fetched(&mut self, uid: u32, size: Option<u64>, body: Option<&[u8]>) {
        self.fetched.push((uid, size, body.map(<[u8]>::to_vec)));
    }
    fn uid_validity(&mut self, v: u32) {
        self.uid_validity = Some(v);
    }
}

fn caps(names: &str) -> Capabilities {
    Capabilities::from_names(names.split(' '))
}

/// APPEND (MULTIAPPEND for several bodies) to INBOX as command `key`.
fn append(key: u64, caps: &Capabilities, bodies: &[&[u8]]) -> Cmd {
    let mbox = Mailbox::try_from("INBOX".to_string()).expect("mailbox");
    let bodies: Vec<std::sync::Arc<Vec<u8>>> = bodies
        .iter()
        .map(|b| std::sync::Arc::new(b.to_vec()))
        .collect();
    let msgs: Vec<WireMsg<'_>> = bodies
        .iter()
        .map(|b| WireMsg {
            data: b,
            flags: vec![],
            date: None,
        })
        .collect();
    build_append(caps, &mbox, command_tag(key).expect("tag"), key, &msgs).expect("build")
}

fn window(commands: usize) -> Window {
    Window {
        commands,
        bytes: 1 << 20,
    }
}

fn queue(cmds: Vec<Cmd>) -> Queue {
    Queue {
        cmds: cmds.into(),
        ..Queue::default()
    }
}

fn ok() -> CmdOutcome {
    CmdOutcome::Ok { appenduid: None }
}

#[test]
fn non_sync_commands_go_in_one_write_each_and_fill_the_window() {
    let c = caps("IMAP4rev1 LITERAL+");
    let mut q = queue((0..3).map(|k| append(k, &c, &[b"m\r\n"])).collect());
    let mut io = Scripted::new(&["A0 OK a\r\nA1 OK b\r\n", "A2 OK c\r\n"]);
    let mut pipe = AppendPipe::new(window(2));
    assert_eq!(drive(&mut pipe, &mut io, &mut q), Ok(()));
    assert_eq!(
        io.log,
        [
            "C: A0 APPEND INBOX {3+}\r\nm",
            "C: A1 APPEND INBOX {3+}\r\nm",
            "S: A0 OK a\r\nA1 OK b",
            // A0's answer frees room: A2 goes before A1's answer is read.
            "C: A2 APPEND INBOX {3+}\r\nm",
            "S: A2 OK c",
        ]
    );
    assert_eq!(q.done, [(0, ok()), (1, ok()), (2, ok())]);
    assert_eq!(pipe.stats().max_in_flight, 2);
}

#[test]
fn the_read_back_tail_goes_in_the_flight_of_the_last_appends_and_reports_the_sizes() {
    let c = caps("IMAP4rev1 LITERAL+ UIDPLUS UNSELECT");
    let mbox = Mailbox::try_from("INBOX".to_string()).expect("mailbox");
    let from = std::num::NonZeroU32::new(7).expect("uid");
    let mut cmds = vec![append(0, &c, &[b"m\r\n"]), append(1, &c, &[b"mm\r\n"])];
    cmds.extend(build_tail(&c, &mbox, from, &[8]).expect("tail"));
    let mut q = queue(cmds);
    let [examine, fetch, bodies, unselect] = TAIL_KEYS;
    let mut io = Scripted::new(&[&format!(
        "A0 OK [APPENDUID 5 7] a\r\nA1 OK [APPENDUID 5 8] b\r\n\
         * 8 EXISTS\r\n* OK [UIDVALIDITY 5] v\r\nA{examine} OK [READ-ONLY] e\r\n\
         * 1 FETCH (UID 7 RFC822.SIZE 3)\r\n* 2 FETCH (RFC822.SIZE 9 UID 8)\r\n\
         * 2 FETCH (FLAGS (\\Seen))\r\nA{fetch} OK f\r\n\
         * 2 FETCH (UID 8 RFC822.SIZE 4 BODY[] {{4}}\r\nmm\r\n)\r\nA{bodies} OK b\r\n\
         A{unselect} OK u\r\n"
    )]);
    let mut pipe = AppendPipe::new(window(8));
    assert_eq!(drive(&mut pipe, &mut io, &mut q), Ok(()));
    // Every command went before the first answer was read: one flight.
    assert_eq!(
        io.log[..6],
        [
            "C: A0 APPEND INBOX {3+}\r\nm".to_string(),
            "C: A1 APPEND INBOX {4+}\r\nmm".into(),
            format!("C: A{examine} EXAMINE INBOX"),
            format!("C: A{fetch} UID FETCH 7:* (UID RFC822.SIZE)"),
            format!("C: A{bodies} UID FETCH 8 (UID RFC822.SIZE BODY.PEEK[])"),
            format!("C: A{unselect} UNSELECT"),
        ]
    );
    assert_eq!(
        q.fetched,
        [
            (7, Some(3), None),
            (8, Some(9), None),
            (8, Some(4), Some(b"mm\r\n".to_vec()))
        ],
        "a FETCH without a size or body is not one"
    );
    assert_eq!(q.uid_validity, Some(5));
    let keys: Vec<u64> = q.done.iter().map(|d| d.0).collect();
    assert_eq!(keys, [0, 1, examine, fetch, bodies, unselect]);
    // Without UNSELECT the mailbox (read-only) is left with CLOSE; no
    // bodies, no command for them.
    let c = caps("IMAP4rev1 UIDPLUS");
    let tail = build_tail(&c, &mbox, from, &[]).expect("tail");
    assert_eq!(tail.len(), 3);
    let chunks: Vec<Vec<u8>> = tail[2]
        .chunks
        .iter()
        .map(|c| super::super::wire::flat(c))
        .collect();
    assert_eq!(chunks, [format!("A{unselect} CLOSE\r\n").into_bytes()]);
}

#[test]
fn without_literal_plus_each_literal_waits_for_plus_and_commands_still_pipeline() {
    // Mirrors imap_fake::without_literal_plus_sync_literals_still_pipeline_and_all_arrive.
    let c = caps("IMAP4rev1");
    let mut q = queue(vec![append(0, &c, &[b"a\r\n"]), append(1, &c, &[b"b\r\n"])]);
    let mut io = Scripted::new(&["+ go\r\n", "+ go\r\n", "A0 OK x\r\nA1 OK y\r\n"]);
    let mut pipe = AppendPipe::new(window(4));
    assert_eq!(drive(&mut pipe, &mut io, &mut q), Ok(()));
    assert_eq!(
        io.log,
        [
            "C: A0 APPEND INBOX {3}",
            "S: + go",
            "C: a",
            // Written completely, A0 no longer blocks the next command.
            "C: A1 APPEND INBOX {3}",
            "S: + go",
            "C: b",
            "S: A0 OK x\r\nA1 OK y",
        ]
    );
    assert_eq!(q.done.len(), 2);
}

#[test]
fn a_tagged_no_instead_of_plus_ends_the_command_unwritten() {
    let c = caps("IMAP4rev1");
    let mut q = queue(vec![append(0, &c, &[b"a\r\n"]), append(1, &c, &[b"b\r\n"])]);
    let mut io = Scripted::new(&[
        "A0 NO [TRYCREATE] no mailbox\r\n",
        "+ go\r\n",
        "A1 OK done\r\n",
    ]);
    let mut pipe = AppendPipe::new(window(4));
    assert_eq!(drive(&mut pipe, &mut io, &mut q), Ok(()));
    assert_eq!(
        io.log[..3],
        [
            "C: A0 APPEND INBOX {3}",
            "S: A0 NO [TRYCREATE] no mailbox",
            "C: A1 APPEND INBOX {3}"
        ]
    );
    assert!(
        !io.log.iter().any(|l| l == "C: a"),
        "A0's literal never went"
    );
    assert_eq!(
        q.done[0],
        (
            0,
            CmdOutcome::No {
                code: Some(RespCode::TryCreate),
                text: "no mailbox".into()
            }
        )
    );
}

#[test]
fn no_toobig_in_the_middle_of_a_batch_answers_that_command_only() {
    // The "NO [TOOBIG] in the middle of a batch", on the wire.
    let c = caps("IMAP4rev1 LITERAL+ UIDPLUS");
    let mut q = queue((0..3).map(|k| append(k, &c, &[b"m\r\n"])).collect());
    let mut io = Scripted::new(&[
        "A0 OK [APPENDUID 42 7] a\r\nA1 NO [TOOBIG] Message too large\r\nA2 OK [APPENDUID 42 8] c\r\n",
    ]);
    let mut pipe = AppendPipe::new(window(3));
    assert_eq!(drive(&mut pipe, &mut io, &mut q), Ok(()));
    assert_eq!(
        q.done,
        [
            (
                0,
                CmdOutcome::Ok {
                    appenduid: Some((42, vec![7]))
                }
            ),
            (
                1,
                CmdOutcome::No {
                    code: Some(RespCode::TooBig),
                    text: "Message too large".into()
                }
            ),
            (
                2,
                CmdOutcome::Ok {
                    appenduid: Some((42, vec![8]))
                }
            ),
        ]
    );
}

#[test]
fn untagged_data_and_a_stray_plus_are_tolerated() {
    // Mirrors imap_fake::untagged_data_before_continuation_is_tolerated.
    let c = caps("IMAP4rev1 MULTIAPPEND");
    let mut q = queue(vec![append(0, &c, &[b"a\r\n", b"b\r\n"])]);
    let mut io = Scripted::new(&[
        "* 3 EXISTS\r\n* 1 RECENT\r\n* OK [ALERT] hello\r\n+ go\r\n",
        "* 4 EXISTS\r\n+ go\r\n",
        "+ nobody asked\r\nA9 OK not ours\r\nA0 OK [APPENDUID 42 1:2] done\r\n",
    ]);
    let mut pipe = AppendPipe::new(window(1));
    assert_eq!(drive(&mut pipe, &mut io, &mut q), Ok(()));
    assert_eq!(
        io.log[..5],
        [
            "C: A0 APPEND INBOX {3}",
            "S: * 3 EXISTS\r\n* 1 RECENT\r\n* OK [ALERT] hello\r\n+ go",
            "C: a\r\n {3}",
            "S: * 4 EXISTS\r\n+ go",
            "C: b",
        ]
    );
    assert_eq!(
        q.done,
        [(
            0,
            CmdOutcome::Ok {
                appenduid: Some((42, vec![1, 2]))
            }
        )]
    );
    assert_eq!(pipe.stats().untagged, 4);
}

#[test]
fn bad_to_a_non_sync_command_poisons_the_connection() {
    let c = caps("IMAP4rev1 LITERAL+");
    let mut q = queue((0..3).map(|k| append(k, &c, &[b"m\r\n"])).collect());
    let mut io = Scripted::new(&["A0 BAD Invalid flag\r\n"]);
    let mut pipe = AppendPipe::new(window(2));
    let lost = drive(&mut pipe, &mut io, &mut q).expect_err("poisoned");
    assert_eq!(q.done.len(), 1, "A0 gets its answer first");
    assert_eq!(
        lost,
        Lost {
            why: "BAD to an APPEND with a non-synchronising literal (Invalid flag): the connection may be out of step".into(),
            unknown: vec![1],
            not_stored: vec![],
            timed_out: false,
        }
    );
    assert_eq!(q.cmds.len(), 1, "nothing more was sent");
}

#[test]
fn bye_ends_the_connection_written_commands_are_of_unknown_fate() {
    // Mirrors imap_fake::bye_mid_run_reconnects_and_sends_the_rest_once
    // (the pipe's part: BYE is a loss, not an answer).
    let c = caps("IMAP4rev1 LITERAL+");
    let mut q = queue(vec![append(0, &c, &[b"m\r\n"]), append(1, &c, &[b"n\r\n"])]);
    let mut io = Scripted::new(&["A0 OK done\r\n* BYE server shutting down\r\n"]);
    let mut pipe = AppendPipe::new(window(2));
    let lost = drive(&mut pipe, &mut io, &mut q).expect_err("BYE");
    assert_eq!(lost.why, "server sent BYE: server shutting down");
    assert_eq!((lost.unknown, lost.not_stored), (vec![1], vec![]));
}

#[test]
fn connection_dropped_after_the_third_append_of_a_multiappend() {
    // The scenario with synchronising literals: the connection
    // drops after the third message of a five-message MULTIAPPEND was
    // written. The command never ended, so nothing of it is stored.
    let c = caps("IMAP4rev1 MULTIAPPEND");
    let bodies: [&[u8]; 5] = [b"1\r\n", b"2\r\n", b"3\r\n", b"4\r\n", b"5\r\n"];
    let mut q = queue(vec![append(0, &c, &bodies)]);
    // "" is EOF.
    let mut io = Scripted::new(&["+ go\r\n", "+ go\r\n", "+ go\r\n", ""]);
    let mut pipe = AppendPipe::new(window(1));
    let lost = drive(&mut pipe, &mut io, &mut q).expect_err("EOF");
    assert_eq!(io.log.iter().filter(|l| l.starts_with("C:")).count(), 4);
    assert_eq!(
        lost,
        Lost {
            why: "EOF from server".into(),
            unknown: vec![],
            not_stored: vec![0],
            timed_out: false,
        }
    );
    // With LITERAL+ the whole command is one write: once written, its
    // fate is unknown (the server may have stored all five).
    let c = caps("IMAP4rev1 MULTIAPPEND LITERAL+");
    let mut q = queue(vec![append(0, &c, &bodies)]);
    let mut io = Scripted::new(&[]);
    io.reads.push_back(Ok(Vec::new()));
    let mut pipe = AppendPipe::new(window(1));
    let lost = drive(&mut pipe, &mut io, &mut q).expect_err("EOF");
    assert_eq!((lost.unknown, lost.not_stored), (vec![0], vec![]));
}

#[test]
fn timeout_with_three_commands_in_flight() {
    // The scenario: three commands await their answers when a
    // read times out; a fourth waits for `+` (LITERAL-: over 4096 bytes
    // is synchronising) and was not written completely.
    let c = caps("IMAP4rev1 LITERAL-");
    let big = vec![b'x'; 5000];
    let mut cmds: Vec<Cmd> = (0..3).map(|k| append(k, &c, &[b"m\r\n"])).collect();
    cmds.push(append(3, &c, &[&big]));
    let mut q = queue(cmds);
    let mut io = Scripted::new(&[]);
    io.reads.push_back(Err(Fault::Read {
        detail: "timed out (os error 11)".into(),
        timed_out: true,
    }));
    let mut pipe = AppendPipe::new(window(8));
    let lost = drive(&mut pipe, &mut io, &mut q).expect_err("timed out");
    assert_eq!(
        lost,
        Lost {
            why: "read: timed out (os error 11)".into(),
            unknown: vec![0, 1, 2],
            not_stored: vec![3],
            timed_out: true,
        }
    );
}

#[test]
fn a_failed_write_leaves_that_command_not_stored() {
    let c = caps("IMAP4rev1 LITERAL+");
    let mut q = queue(vec![append(0, &c, &[b"m\r\n"]), append(1, &c, &[b"n\r\n"])]);
    let mut io = Scripted {
        fail_write_at: Some(1),
        ..Scripted::default()
    };
    let mut pipe = AppendPipe::new(window(2));
    let lost = drive(&mut pipe, &mut io, &mut q).expect_err("write failed");
    assert_eq!(lost.why, "write: Broken pipe (os error 32)");
    assert_eq!((lost.unknown, lost.not_stored), (vec![0], vec![1]));
}

#[test]
fn garbage_from_the_server_ends_the_connection() {
    let c = caps("IMAP4rev1 LITERAL+");
    let mut q = queue(vec![append(0, &c, &[b"m\r\n"])]);
    let mut io = Scripted::new(&["\x00\x01 what\r\n"]);
    let mut pipe = AppendPipe::new(window(1));
    let lost = drive(&mut pipe, &mut io, &mut q).expect_err("unparsable");
    assert!(
        lost.why.starts_with("unparsable server response"),
        "{}",
        lost.why
    );
    assert_eq!(lost.unknown, vec![0]);
}

#[test]
fn the_byte_window_holds_back_the_next_command() {
    let c = caps("IMAP4rev1 LITERAL+");
    let body = vec![b'y'; 100];
    let mut q = queue((0..3).map(|k| append(k, &c, &[&body])).collect());
    let mut io = Scripted::new(&["A0 OK a\r\n", "A1 OK b\r\n", "A2 OK c\r\n"]);
    let mut pipe = AppendPipe::new(Window {
        commands: 10,
        bytes: 150,
    });
    assert_eq!(drive(&mut pipe, &mut io, &mut q), Ok(()));
    // 100 bytes in flight are under 150: a second goes; 200 are not.
    assert_eq!(pipe.stats().max_in_flight, 2);
    let order: Vec<&str> = io.log.iter().map(|l| &l[..5]).collect();
    assert_eq!(
        order,
        ["C: A0", "C: A1", "S: A0", "C: A2", "S: A1", "S: A2"]
    );
}

/// A feed that has its commands only one at a time: each `next(false)`
/// after a command was taken gives nothing once (the dispatcher has not
/// handed the next one out yet), the one after gives it.
struct Trickle {
    cmds: VecDeque<Cmd>,
    held: bool,
    done: Vec<u64>,
}

impl Feed for Trickle {
    fn next(&mut self, block: bool) -> Option<Cmd> {
        if !block && !self.held {
            self.held = true;
            return None;
        }
        self.held = false;
        self.cmds.pop_front()
    }
    fn done(&mut self, key: u64, _outcome: CmdOutcome) {
        self.done.push(key);
    }
    fn may_have_more(&self) -> bool {
        !self.cmds.is_empty()
    }
}

/// [`Scripted`], whose brief reads find nothing `quiet` times first.
struct Patient {
    inner: Scripted,
    quiet: usize,
}

impl Transport for Patient {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Fault> {
        self.inner.write_all(bytes)
    }
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Fault> {
        self.inner.read(buf)
    }
    fn read_briefly(
        &mut self,
        buf: &mut [u8],
        _wait: std::time::Duration,
    ) -> Result<Option<usize>, Fault> {
        if self.quiet > 0 {
            self.quiet -= 1;
            self.inner.log.push("S: (nothing yet)".into());
            return Ok(None);
        }
        self.inner.read(buf).map(Some)
    }
}

#[test]
fn a_command_handed_out_while_the_first_is_in_flight_goes_before_its_answer() {
    // The first APPEND of a connection used to wait alone for its answer
    // (a round trip on a long link) when the dispatcher had not handed out
    // the second one yet at the moment the first was written.
    let c = caps("IMAP4rev1 LITERAL+");
    let mut feed = Trickle {
        cmds: (0..2).map(|k| append(k, &c, &[b"m\r\n"])).collect(),
        held: false,
        done: Vec::new(),
    };
    let mut io = Patient {
        inner: Scripted::new(&["A0 OK a\r\nA1 OK b\r\n"]),
        quiet: 1,
    };
    let mut pipe = AppendPipe::new(window(4));
    assert_eq!(drive(&mut pipe, &mut io, &mut feed), Ok(()));
    assert_eq!(
        io.inner.log,
        [
            "C: A0 APPEND INBOX {3+}\r\nm",
            "S: (nothing yet)",
            "C: A1 APPEND INBOX {3+}\r\nm",
            "S: A0 OK a\r\nA1 OK b",
        ]
    );
    assert_eq!(feed.done, [0, 1]);
    assert_eq!(pipe.stats().max_in_flight, 2);
}
