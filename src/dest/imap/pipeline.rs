//! Pipelined APPEND and MULTIAPPEND on one connection.
//!
//! Command bytes come from imap-codec (one `APPEND` encoding per message;
//! for MULTIAPPEND the `TAG APPEND <mailbox>` prefix of every message after
//! the first is cut and the rest concatenated), so quoting, flags, dates,
//! `{n+}` / `{n}` / `~{n+}` are the library's. We keep the send queue
//! ourselves and use an imap-next `Client` with nothing enqueued only as the
//! response parser. That sidesteps imap-next 0.3.4 waiting forever when a
//! server answers a synchronising literal with a tagged NO instead of `+`
//! (Dovecot does for `[TRYCREATE]` and `[LIMIT]`): here a tagged answer to
//! the command waiting for `+` simply ends that command.
//!
//! Rules:
//! - a command whose literals are all `{n+}` is written with one
//!   `write_all`; a synchronising literal splits it into chunks, each sent
//!   after the server's `+`, and nothing else is written meanwhile;
//! - at most `window.commands` commands and about `window.bytes` bytes are
//!   awaiting their tagged answer;
//! - a BAD to a command that carried a `{n+}` literal poisons the
//!   connection: the server may have refused the line before reading the
//!   literal and now reads message lines as commands (Dovecot does);
//! - BYE, EOF, an I/O error or an unparsable answer end the connection:
//!   commands written completely have an unknown fate (reconcile before
//!   sending again), the others certainly did not arrive. A timeout is
//!   flagged: the server may still be working on what it was sent, so no
//!   check made now can tell.

use super::caps::Capabilities;
use super::client::ImapSession;
use super::conn::write_all;
use super::error::{io_msg, is_timeout, ImapError, RespCode};
use imap_next::imap_types::{
    command::{Command, CommandBody},
    core::{Literal, LiteralMode, Tag},
    datetime::DateTime as ImapDateTime,
    extensions::binary::{Literal8, LiteralOrLiteral8},
    flag::Flag,
    mailbox::Mailbox,
    response::{Code, Status, StatusBody, StatusKind},
};
use imap_next::{
    client::{Client as NextClient, Event as NextEvent, Options as NextOptions},
    Interrupt, Io, State,
};
use io_imap::codec::{
    encode::{Encoder, Fragment},
    CommandCodec,
};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::Read;

/// Limits of what one connection has in flight.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Commands awaiting their tagged answer.
    pub commands: usize,
    /// Bytes of those commands (a single larger command still goes).
    pub bytes: usize,
}

/// One message as it goes on the wire.
pub(crate) struct WireMsg<'a> {
    pub data: &'a [u8],
    pub flags: Vec<Flag<'static>>,
    pub date: Option<ImapDateTime>,
}

/// An encoded command.
pub(crate) struct Cmd {
    pub tag: Tag<'static>,
    /// `chunks[i]` (but the last) ends with a synchronising literal
    /// announcement: the next chunk waits for `+`.
    pub chunks: Vec<Vec<u8>>,
    /// At least one `{n+}` / `~{n+}` literal.
    pub non_sync: bool,
    /// The caller's id for the command.
    pub key: u64,
    /// Bytes of message data.
    pub bytes: usize,
}

/// What the source of commands says.
pub(crate) enum Next {
    /// Send this.
    Cmd(Cmd),
    /// Nothing now; when nothing is in flight either, the pump returns.
    Later,
}

/// The tagged answer to a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CmdOutcome {
    /// OK, with `[APPENDUID v uids]` when the server has UIDPLUS.
    Ok { appenduid: Option<(u32, Vec<u32>)> },
    /// NO: nothing of the command was stored (MULTIAPPEND is atomic).
    No {
        code: Option<RespCode>,
        text: String,
    },
    /// BAD.
    Bad {
        code: Option<RespCode>,
        text: String,
    },
}

/// The connection ended with commands in flight.
#[derive(Debug)]
pub(crate) struct Lost {
    pub error: ImapError,
    /// Written completely: may or may not be stored.
    pub unknown: Vec<u64>,
    /// Not written completely: certainly not stored.
    pub not_stored: Vec<u64>,
    /// A read or write timed out: the server may be slow rather than gone,
    /// and may still store the `unknown` commands later.
    pub timed_out: bool,
}

/// Builds `APPEND mailbox msg…` (MULTIAPPEND when `msgs.len() > 1`).
/// `{n+}` where the capabilities allow it, `~{…}` literal8 for data with
/// NUL (the caller only passes such data when the server has BINARY).
pub(crate) fn build_append(
    caps: &Capabilities,
    mbox: &Mailbox<'static>,
    tag: Tag<'static>,
    key: u64,
    msgs: &[WireMsg<'_>],
) -> Result<Cmd, ImapError> {
    let mut chunks: Vec<Vec<u8>> = vec![Vec::new()];
    let mut non_sync = false;
    let mut bytes = 0;
    let tag_len = tag.as_ref().len();
    for (index, msg) in msgs.iter().enumerate() {
        let mode = if caps.non_sync_ok(msg.data.len()) {
            LiteralMode::NonSync
        } else {
            LiteralMode::Sync
        };
        let message = match Literal::try_from(msg.data) {
            Ok(mut lit) => {
                lit.set_mode(mode);
                LiteralOrLiteral8::Literal(lit)
            }
            Err(_) if caps.binary => LiteralOrLiteral8::Literal8(Literal8 {
                data: Cow::Borrowed(msg.data),
                mode,
            }),
            Err(e) => {
                return Err(ImapError::Invalid(format!(
                    "message cannot be sent as a literal: {e}"
                )))
            }
        };
        let cmd = Command {
            tag: tag.clone(),
            body: CommandBody::Append {
                mailbox: mbox.clone(),
                flags: msg.flags.clone(),
                date: msg.date.clone(),
                message,
            },
        };
        let frags: Vec<Fragment> = CommandCodec::new().encode(&cmd).collect();
        // Line("TAG APPEND mbox (flags) "date" {n}\r\n"), Literal(data), Line("\r\n")
        let [Fragment::Line { data: head }, Fragment::Literal { data, mode }, Fragment::Line { .. }] =
            &frags[..]
        else {
            return Err(ImapError::Invalid(format!(
                "unexpected APPEND encoding: {} fragments",
                frags.len()
            )));
        };
        let cur = chunks.len() - 1;
        if index == 0 {
            chunks[cur].extend_from_slice(head);
        } else {
            let cut = append_prefix_len(head, tag_len)?;
            chunks[cur].extend_from_slice(&head[cut..]);
        }
        if *mode == LiteralMode::Sync {
            chunks.push(Vec::new());
        } else {
            non_sync = true;
        }
        let cur = chunks.len() - 1;
        chunks[cur].extend_from_slice(data);
        bytes += msg.data.len();
    }
    let cur = chunks.len() - 1;
    chunks[cur].extend_from_slice(b"\r\n");
    Ok(Cmd {
        tag,
        chunks,
        non_sync,
        key,
        bytes,
    })
}

/// Length of `TAG APPEND <mailbox>` in an encoded APPEND line. The mailbox
/// is an atom or a quoted string (modified UTF-7 is printable ASCII, so it
/// never becomes a literal).
fn append_prefix_len(head: &[u8], tag_len: usize) -> Result<usize, ImapError> {
    let start = tag_len + " APPEND ".len();
    let rest = head
        .get(start..)
        .ok_or_else(|| ImapError::Invalid("short APPEND line".into()))?;
    let len = if rest.first() == Some(&b'"') {
        let mut i = 1;
        loop {
            match rest.get(i) {
                Some(b'\\') => i += 2,
                Some(b'"') => break i + 1,
                Some(_) => i += 1,
                None => return Err(ImapError::Invalid("unterminated quoted mailbox".into())),
            }
        }
    } else {
        rest.iter()
            .position(|&b| b == b' ')
            .ok_or_else(|| ImapError::Invalid("bad APPEND line".into()))?
    };
    Ok(start + len)
}

/// `[APPENDUID v uid]` (imap-codec parses it) or `[APPENDUID v a:b,c]`
/// (MULTIAPPEND; imap-codec only knows one UID, so it lands in
/// `Code::Other`).
pub(crate) fn parse_appenduid(code: &Code<'_>) -> Option<(u32, Vec<u32>)> {
    match code {
        Code::AppendUid { uid_validity, uid } => Some((uid_validity.get(), vec![uid.get()])),
        Code::Other(o) => {
            let s = std::str::from_utf8(o.inner()).ok()?;
            let mut it = s.split(' ');
            if !it.next()?.eq_ignore_ascii_case("APPENDUID") {
                return None;
            }
            let v: u32 = it.next()?.parse().ok()?;
            let mut uids = Vec::new();
            for part in it.next()?.split(',') {
                match part.split_once(':') {
                    Some((a, b)) => {
                        let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                        if b.abs_diff(a) > 1_000_000 {
                            return None;
                        }
                        if a <= b {
                            uids.extend(a..=b)
                        } else {
                            uids.extend((b..=a).rev())
                        }
                    }
                    None => uids.push(part.parse().ok()?),
                }
            }
            Some((v, uids))
        }
        _ => None,
    }
}

/// The response codes we act on.
pub(crate) fn map_code(code: &Code<'_>) -> Option<RespCode> {
    Some(match code {
        Code::TryCreate => RespCode::TryCreate,
        Code::TooBig => RespCode::TooBig,
        Code::OverQuota => RespCode::OverQuota,
        Code::AppendUid { .. } | Code::UidNext(_) | Code::UidValidity(_) => return None,
        Code::Other(o) => {
            let s = String::from_utf8_lossy(o.inner()).to_string();
            let head = s.split(' ').next().unwrap_or("").to_ascii_uppercase();
            match head.as_str() {
                "LIMIT" => RespCode::Limit,
                "THROTTLED" => RespCode::Throttled,
                "UNAVAILABLE" => RespCode::Unavailable,
                "ALREADYEXISTS" => RespCode::AlreadyExists,
                "NONEXISTENT" => RespCode::NonExistent,
                "OVERQUOTA" => RespCode::OverQuota,
                "TOOBIG" => RespCode::TooBig,
                "APPENDUID" => return None,
                _ => RespCode::Other(s),
            }
        }
        other => RespCode::Other(format!("{other:?}")),
    })
}

fn outcome(body: &StatusBody<'_>) -> CmdOutcome {
    let code = body.code.as_ref();
    match body.kind {
        StatusKind::Ok => CmdOutcome::Ok {
            appenduid: code.and_then(parse_appenduid),
        },
        StatusKind::No => CmdOutcome::No {
            code: code.and_then(map_code),
            text: body.text.to_string(),
        },
        StatusKind::Bad => CmdOutcome::Bad {
            code: code.and_then(map_code),
            text: body.text.to_string(),
        },
    }
}

struct Entry {
    tag: Tag<'static>,
    key: u64,
    bytes: usize,
    non_sync: bool,
    sent: bool,
}

/// Counters of one pump run (for tests and debug logs).
#[derive(Clone, Debug, Default)]
pub(crate) struct PumpStats {
    pub writes: usize,
    pub max_in_flight: usize,
    pub untagged: usize,
}

/// Sends commands from `next` and reports each tagged answer to `done`,
/// keeping the window full. Returns when `next` has nothing more and
/// nothing is in flight, or with [`Lost`] when the connection died.
#[allow(clippy::result_large_err)] // Lost is the normal way out of a dead connection
pub(crate) fn pump(
    sess: &mut ImapSession,
    window: Window,
    next: &mut dyn FnMut(bool) -> Next,
    done: &mut dyn FnMut(u64, CmdOutcome),
    stats: &mut PumpStats,
) -> Result<(), Lost> {
    if let Err(error) = sess.check() {
        return Err(Lost {
            error,
            unknown: vec![],
            not_stored: vec![],
            timed_out: false,
        });
    }
    let mut opts = NextOptions::default();
    opts.discard_greeting = true; // the greeting was read long ago
    let mut reader = NextClient::new(opts);
    let mut awaiting: VecDeque<Entry> = VecDeque::new();
    // The command waiting for `+`, with the chunks still to send.
    let mut writing: Option<(Tag<'static>, VecDeque<Vec<u8>>)> = None;
    let mut in_bytes = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    let window = Window {
        commands: window.commands.max(1),
        bytes: window.bytes.max(1),
    };

    let lost = |sess: &mut ImapSession,
                why: String,
                timed_out: bool,
                awaiting: &mut VecDeque<Entry>|
     -> Lost {
        let error = sess.mark_broken(why);
        let (mut unknown, mut not_stored) = (Vec::new(), Vec::new());
        for e in awaiting.drain(..) {
            if e.sent {
                unknown.push(e.key);
            } else {
                not_stored.push(e.key);
            }
        }
        Lost {
            error,
            unknown,
            not_stored,
            timed_out,
        }
    };
    let write_failed = |e: std::io::Error| (format!("write: {}", io_msg(&e)), is_timeout(&e));

    loop {
        // Fill the window.
        while writing.is_none()
            && awaiting.len() < window.commands
            && (awaiting.is_empty() || in_bytes < window.bytes)
        {
            match next(awaiting.is_empty()) {
                Next::Later => break,
                Next::Cmd(cmd) => {
                    let mut chunks: VecDeque<Vec<u8>> = cmd.chunks.into();
                    let first = chunks.pop_front().unwrap_or_default();
                    awaiting.push_back(Entry {
                        tag: cmd.tag.clone(),
                        key: cmd.key,
                        bytes: cmd.bytes,
                        non_sync: cmd.non_sync,
                        sent: false,
                    });
                    in_bytes += cmd.bytes;
                    stats.writes += 1;
                    if let Err(e) = write_all(sess.stream(), &first) {
                        let (why, t) = write_failed(e);
                        return Err(lost(sess, why, t, &mut awaiting));
                    }
                    if chunks.is_empty() {
                        if let Some(e) = awaiting.back_mut() {
                            e.sent = true;
                        }
                    } else {
                        writing = Some((cmd.tag, chunks));
                    }
                }
            }
        }
        stats.max_in_flight = stats.max_in_flight.max(awaiting.len());
        if awaiting.is_empty() {
            return Ok(());
        }

        match reader.next() {
            Ok(NextEvent::ContinuationRequestReceived { .. }) => {
                let Some((tag, mut chunks)) = writing.take() else {
                    continue; // a `+` nobody asked for: ignore
                };
                let chunk = chunks.pop_front().unwrap_or_default();
                stats.writes += 1;
                if let Err(e) = write_all(sess.stream(), &chunk) {
                    let (why, t) = write_failed(e);
                    return Err(lost(sess, why, t, &mut awaiting));
                }
                if chunks.is_empty() {
                    if let Some(e) = awaiting.iter_mut().find(|e| e.tag == tag) {
                        e.sent = true;
                    }
                } else {
                    writing = Some((tag, chunks));
                }
            }
            Ok(NextEvent::StatusReceived {
                status: Status::Tagged(t),
            }) => {
                let Some(pos) = awaiting.iter().position(|e| e.tag == t.tag) else {
                    continue;
                };
                let Some(entry) = awaiting.remove(pos) else {
                    continue;
                };
                in_bytes = in_bytes.saturating_sub(entry.bytes);
                if writing.as_ref().is_some_and(|(tag, _)| *tag == t.tag) {
                    // A tagged answer instead of `+`: the literal was refused
                    // and the command is over.
                    writing = None;
                }
                let o = outcome(&t.body);
                let poison = matches!(o, CmdOutcome::Bad { .. }) && entry.non_sync;
                done(entry.key, o);
                if poison {
                    let why = format!(
                        "BAD to an APPEND with a non-synchronising literal ({}): the connection may be out of step",
                        t.body.text
                    );
                    return Err(lost(sess, why, false, &mut awaiting));
                }
            }
            Ok(NextEvent::StatusReceived {
                status: Status::Bye(b),
            }) => {
                let why = format!("server sent BYE: {}", b.text);
                return Err(lost(sess, why, false, &mut awaiting));
            }
            Ok(_) => stats.untagged += 1,
            Err(Interrupt::Io(Io::NeedMoreInput)) => match sess.stream().read(&mut buf) {
                Ok(0) => return Err(lost(sess, "EOF from server".into(), false, &mut awaiting)),
                Ok(n) => reader.enqueue_input(&buf[..n]),
                Err(e) => {
                    let why = format!("read: {}", io_msg(&e));
                    return Err(lost(sess, why, is_timeout(&e), &mut awaiting));
                }
            },
            Err(Interrupt::Io(Io::Output(_))) => {} // nothing is ever enqueued
            Err(Interrupt::Error(e)) => {
                let why = format!("unparsable server response: {e:?}");
                return Err(lost(sess, why, false, &mut awaiting));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imap_next::imap_types::response::CodeOther;
    use std::num::NonZeroU32;

    #[test]
    fn appenduid_ranges() {
        let c = Code::Other(CodeOther::unvalidated(&b"APPENDUID 1795626029 1:3,7"[..]));
        assert_eq!(parse_appenduid(&c), Some((1795626029, vec![1, 2, 3, 7])));
        let c = Code::AppendUid {
            uid_validity: NonZeroU32::new(9).expect("nz"),
            uid: NonZeroU32::new(5).expect("nz"),
        };
        assert_eq!(parse_appenduid(&c), Some((9, vec![5])));
    }

    #[test]
    fn codes_through_the_codec() {
        use imap_next::imap_types::response::Response;
        use io_imap::codec::{decode::Decoder, ResponseCodec};
        let codec = ResponseCodec::new();
        let cases: &[(&[u8], Option<RespCode>)] = &[
            (
                b"A1 NO [TRYCREATE] no such mailbox\r\n",
                Some(RespCode::TryCreate),
            ),
            (b"A1 NO [TOOBIG] too big\r\n", Some(RespCode::TooBig)),
            (
                b"A1 NO [LIMIT] Mail size is larger\r\n",
                Some(RespCode::Limit),
            ),
            (
                b"A1 NO [OVERQUOTA] Quota exceeded\r\n",
                Some(RespCode::OverQuota),
            ),
            (
                b"A1 NO [THROTTLED] slow down\r\n",
                Some(RespCode::Throttled),
            ),
            (
                b"A1 NO [UNAVAILABLE] try later\r\n",
                Some(RespCode::Unavailable),
            ),
            (b"A1 NO no code here\r\n", None),
        ];
        for (wire, want) in cases {
            let Ok((_, Response::Status(Status::Tagged(t)))) = codec.decode(wire) else {
                panic!("decode {}", String::from_utf8_lossy(wire));
            };
            assert_eq!(t.body.code.as_ref().and_then(map_code), *want);
        }
    }

    fn caps(names: &[&str]) -> Capabilities {
        Capabilities::from_names(names.iter().copied())
    }

    #[test]
    fn multiappend_bytes() {
        let mb = Mailbox::try_from("Say \"Hi\"".to_string()).expect("mailbox");
        let tag = Tag::try_from("M1").expect("tag");
        let date = ImapDateTime::try_from(
            chrono::DateTime::parse_from_rfc3339("2003-07-01T10:52:37+02:00").expect("date"),
        )
        .expect("imap date");
        let a = b"Subject: a\r\n\r\nx\r\n".to_vec();
        let b = b"Subject: b\r\n\r\n\0y\r\n".to_vec();
        let msgs = [
            WireMsg {
                data: &a,
                flags: vec![Flag::Seen],
                date: Some(date),
            },
            WireMsg {
                data: &b,
                flags: vec![],
                date: None,
            },
        ];
        let cmd = build_append(&caps(&["LITERAL+", "BINARY"]), &mb, tag.clone(), 7, &msgs)
            .expect("build");
        assert_eq!(cmd.chunks.len(), 1);
        assert!(cmd.non_sync);
        let s = String::from_utf8_lossy(&cmd.chunks[0]).into_owned();
        assert_eq!(
            s,
            "M1 APPEND \"Say \\\"Hi\\\"\" (\\Seen) \"01-Jul-2003 10:52:37 +0200\" {17+}\r\nSubject: a\r\n\r\nx\r\n ~{18+}\r\nSubject: b\r\n\r\n\0y\r\n\r\n"
        );
        // Without LITERAL+: one chunk per literal, each waits for `+`.
        let cmd = build_append(&caps(&["BINARY"]), &mb, tag.clone(), 7, &msgs).expect("build");
        assert_eq!(cmd.chunks.len(), 3);
        assert!(String::from_utf8_lossy(&cmd.chunks[0]).ends_with("{17}\r\n"));
        assert!(String::from_utf8_lossy(&cmd.chunks[1]).ends_with(" ~{18}\r\n"));
        assert!(!cmd.non_sync);
        // NUL without BINARY is refused (the caller strips or skips first).
        assert!(build_append(&caps(&["LITERAL+"]), &mb, tag, 7, &msgs).is_err());
    }
}
