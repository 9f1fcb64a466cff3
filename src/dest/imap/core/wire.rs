//! The bytes of the append path: APPEND / MULTIAPPEND commands as
//! imap-codec encodes them, and the tagged answers as the pipe reports
//! them ([`CmdOutcome`]).
//!
//! For MULTIAPPEND the `TAG APPEND <mailbox>` prefix of every message after
//! the first is cut and the rest concatenated, so quoting, flags, dates and
//! `{n+}` / `{n}` / `~{n+}` stay the library's. Invariants: a command is
//! split into chunks exactly at its synchronising literals (each later
//! chunk waits for `+`); NUL only ever goes out as literal8 (BINARY); the
//! mailbox is modified UTF-7, printable ASCII, so it never becomes a
//! literal and [`append_prefix_len`] can find its end.

use crate::dest::imap::caps::Capabilities;
use crate::dest::imap::error::{ImapError, RespCode};
use imap_next::imap_types::{
    command::{Command, CommandBody},
    core::{Literal, LiteralMode, Tag},
    datetime::DateTime as ImapDateTime,
    extensions::binary::{Literal8, LiteralOrLiteral8},
    flag::Flag,
    mailbox::Mailbox,
    response::{Code, StatusBody, StatusKind},
};
use io_imap::codec::{
    encode::{Encoder, Fragment},
    CommandCodec,
};
use std::borrow::Cow;
use std::sync::Arc;

/// Part of a command's bytes: its own (the command line, literal
/// announcements, the final CRLF) or a message's, shared with the unit
/// that keeps them for a resend (a message in flight is held once, not
/// copied into its command).
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    Own(Vec<u8>),
    Shared(Arc<Vec<u8>>),
}

impl std::ops::Deref for Piece {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Piece::Own(v) => v,
            Piece::Shared(v) => v,
        }
    }
}

/// The bytes written in one go (up to a synchronising literal's `+`).
pub(crate) type Chunk = Vec<Piece>;

/// `chunk`'s bytes in one buffer (a transport that cannot write pieces,
/// and tests).
pub(crate) fn flat(chunk: &[Piece]) -> Vec<u8> {
    let mut v = Vec::with_capacity(chunk.iter().map(|p| p.len()).sum());
    for p in chunk {
        v.extend_from_slice(p);
    }
    v
}

/// One message as it goes on the wire.
pub(crate) struct WireMsg<'a> {
    /// The message bytes (a literal, or literal8 with NUL).
    pub data: &'a Arc<Vec<u8>>,
    /// Flags to set.
    pub flags: Vec<Flag<'static>>,
    /// INTERNALDATE to set.
    pub date: Option<ImapDateTime>,
}

/// An encoded command.
#[derive(Debug)]
pub(crate) struct Cmd {
    /// `A<key>`.
    pub tag: Tag<'static>,
    /// `chunks[i]` (but the last) ends with a synchronising literal
    /// announcement: the next chunk waits for `+`.
    pub chunks: Vec<Chunk>,
    /// At least one `{n+}` / `~{n+}` literal.
    pub non_sync: bool,
    /// The command key, which its outcome carries.
    pub key: u64,
    /// Bytes of message data.
    pub bytes: usize,
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
    /// BAD: refused as malformed; nothing stored either.
    Bad {
        code: Option<RespCode>,
        text: String,
    },
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
    // Each chunk: the command's own bytes (`own`, then closed into a
    // piece) and the messages' bytes, shared.
    let mut chunks: Vec<Chunk> = vec![Vec::new()];
    let mut own: Vec<u8> = Vec::new();
    let mut non_sync = false;
    let mut bytes = 0;
    let tag_len = tag.as_ref().len();
    for (index, msg) in msgs.iter().enumerate() {
        // The codec copies a literal into what it returns: it is given a
        // one-byte stand-in of the same kind and mode, the length in its
        // announcement is set to the real one, and the message goes into
        // the command as a shared piece (not copied at all).
        let message = stand_in(caps, msg.data)?;
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
        let head = &with_length(head, msg.data.len())?;
        if index == 0 {
            own.extend_from_slice(head);
        } else {
            let cut = append_prefix_len(head, tag_len)?;
            own.extend_from_slice(&head[cut..]);
        }
        let cur = chunks.len() - 1;
        chunks[cur].push(Piece::Own(std::mem::take(&mut own)));
        if *mode == LiteralMode::Sync {
            chunks.push(Vec::new());
        } else {
            non_sync = true;
        }
        debug_assert_eq!(data.len(), 1, "the stand-in");
        let cur = chunks.len() - 1;
        chunks[cur].push(Piece::Shared(Arc::clone(msg.data)));
        bytes += msg.data.len();
    }
    let cur = chunks.len() - 1;
    chunks[cur].push(Piece::Own(b"\r\n".to_vec()));
    Ok(Cmd {
        tag,
        chunks,
        non_sync,
        key,
        bytes,
    })
}

/// A one-byte stand-in of the literal `data` goes as: `{n+}` where the
/// capabilities allow it, `{n}` otherwise; literal8 for data a literal
/// cannot carry (NUL, the only byte a literal may not hold), when the
/// server has BINARY. `data` itself is only searched for NUL.
fn stand_in(caps: &Capabilities, data: &[u8]) -> Result<LiteralOrLiteral8<'static>, ImapError> {
    const ONE: &[u8] = b"x";
    let mode = if caps.non_sync_ok(data.len()) {
        LiteralMode::NonSync
    } else {
        LiteralMode::Sync
    };
    let literal8 = LiteralOrLiteral8::Literal8(Literal8 {
        data: Cow::Borrowed(ONE),
        mode,
    });
    match memchr::memchr(0, data) {
        None => Ok(match Literal::try_from(ONE) {
            Ok(mut lit) => {
                lit.set_mode(mode);
                LiteralOrLiteral8::Literal(lit)
            }
            Err(_) => literal8,
        }),
        Some(_) if caps.binary => Ok(literal8),
        Some(at) => Err(ImapError::Invalid(format!(
            "message cannot be sent as a literal: NUL byte at index {at}"
        ))),
    }
}

/// `head` (a line ending in the announcement `{1}` / `{1+}` of the
/// stand-in) announcing `len` bytes instead.
fn with_length(head: &[u8], len: usize) -> Result<Vec<u8>, ImapError> {
    let open = head.iter().rposition(|&b| b == b'{');
    let Some(open) = open.filter(|&o| head.get(o + 1) == Some(&b'1')) else {
        return Err(ImapError::Invalid(
            "unexpected APPEND encoding: no literal announcement".into(),
        ));
    };
    let mut out = Vec::with_capacity(head.len() + 20);
    out.extend_from_slice(&head[..=open]);
    out.extend_from_slice(len.to_string().as_bytes());
    out.extend_from_slice(&head[open + 2..]);
    Ok(out)
}

/// The keys of a connection's read-back tail ([`build_tail`]): above
/// every APPEND key a lane gives (EXAMINE, sizes, bodies, UNSELECT).
pub(crate) const TAIL_KEYS: [u64; 4] = [u64::MAX - 3, u64::MAX - 2, u64::MAX - 1, u64::MAX];

/// The read-back that follows a connection's last APPEND in the same
/// flight: `EXAMINE mbox`, `UID FETCH from:* (UID RFC822.SIZE)`, with
/// `bodies` `UID FETCH bodies (UID BODY.PEEK[])`, and UNSELECT (CLOSE
/// without it: the mailbox is read-only, nothing is expunged), keyed
/// [`TAIL_KEYS`]. A connection runs its commands in order, so the sizes
/// cover every APPEND it sent before: the stored sizes need no round trip
/// of their own after the folder's last answer. `bodies` are the UIDs the
/// messages compared by content are expected to get (a UID is the
/// server's: what it returns is that UID's body, whichever message got it).
pub(crate) fn build_tail(
    caps: &Capabilities,
    mbox: &Mailbox<'static>,
    from: std::num::NonZeroU32,
    bodies: &[u32],
) -> Result<Vec<Cmd>, ImapError> {
    use imap_next::imap_types::fetch::{MacroOrMessageDataItemNames, MessageDataItemName};
    use imap_next::imap_types::sequence::SequenceSet;
    let fetch = CommandBody::fetch(
        SequenceSet::from(from..),
        MacroOrMessageDataItemNames::MessageDataItemNames(vec![
            MessageDataItemName::Uid,
            MessageDataItemName::Rfc822Size,
        ]),
        true,
    )
    .map_err(|e| ImapError::Invalid(format!("{e:?}")))?;
    let leave = if caps.unselect {
        CommandBody::Unselect
    } else {
        CommandBody::Close
    };
    let examine =
        CommandBody::examine(mbox.clone()).map_err(|e| ImapError::Invalid(format!("{e:?}")))?;
    let [k_examine, k_sizes, k_bodies, k_leave] = TAIL_KEYS;
    let mut cmds = vec![(k_examine, examine), (k_sizes, fetch)];
    let list: Vec<std::num::NonZeroU32> = bodies
        .iter()
        .filter_map(|u| std::num::NonZeroU32::new(*u))
        .collect();
    if !list.is_empty() {
        let set = SequenceSet::try_from(list).map_err(|e| ImapError::Invalid(e.to_string()))?;
        let body = CommandBody::fetch(
            set,
            MacroOrMessageDataItemNames::MessageDataItemNames(vec![
                MessageDataItemName::Uid,
                MessageDataItemName::Rfc822Size,
                MessageDataItemName::BodyExt {
                    section: None,
                    partial: None,
                    peek: true,
                },
            ]),
            true,
        )
        .map_err(|e| ImapError::Invalid(format!("{e:?}")))?;
        cmds.push((k_bodies, body));
    }
    cmds.push((k_leave, leave));
    cmds.into_iter()
        .map(|(key, body)| {
            let tag = command_tag(key)?;
            let cmd = Command {
                tag: tag.clone(),
                body,
            };
            let frags: Vec<Fragment> = CommandCodec::new().encode(&cmd).collect();
            let [Fragment::Line { data }] = &frags[..] else {
                return Err(ImapError::Invalid(format!(
                    "unexpected read-back encoding: {} fragments",
                    frags.len()
                )));
            };
            Ok(Cmd {
                tag,
                chunks: vec![vec![Piece::Own(data.clone())]],
                non_sync: false,
                key,
                bytes: 0,
            })
        })
        .collect()
}

/// The tag of the command with this key (`A<key>`).
pub(crate) fn command_tag(key: u64) -> Result<Tag<'static>, ImapError> {
    Tag::try_from(format!("A{key}")).map_err(|e| ImapError::Invalid(format!("tag: {e}")))
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

/// The outcome a tagged answer gives its command.
pub(crate) fn outcome(body: &StatusBody<'_>) -> CmdOutcome {
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

#[cfg(test)]
mod tests {
    use super::*;
    use imap_next::imap_types::response::{CodeOther, Status};
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
    fn a_large_literal_is_announced_with_its_length_and_copied_once() {
        let mb = Mailbox::try_from("INBOX".to_string()).expect("mailbox");
        let data = Arc::new(vec![b'x'; 10_000]);
        let msgs = [WireMsg {
            data: &data,
            flags: vec![],
            date: None,
        }];
        // LITERAL- allows {n+} only up to 4096 bytes: a sync literal.
        let cmd = build_append(
            &caps(&["LITERAL-"]),
            &mb,
            command_tag(9).expect("tag"),
            9,
            &msgs,
        )
        .expect("build");
        assert_eq!(cmd.chunks.len(), 2);
        assert_eq!(flat(&cmd.chunks[0]), b"A9 APPEND INBOX {10000}\r\n");
        assert_eq!(flat(&cmd.chunks[1]).len(), 10_002);
        assert_eq!(&flat(&cmd.chunks[1])[..10_000], &data[..]);
        // The message is shared with the caller's buffer, not copied.
        let Piece::Shared(shared) = &cmd.chunks[1][0] else {
            panic!("the message is a shared piece: {:?}", cmd.chunks[1][0]);
        };
        assert!(Arc::ptr_eq(shared, &data));
        assert!(!cmd.non_sync);
        let cmd = build_append(
            &caps(&["LITERAL+"]),
            &mb,
            command_tag(9).expect("tag"),
            9,
            &msgs,
        )
        .expect("build");
        assert_eq!(cmd.chunks.len(), 1);
        assert!(flat(&cmd.chunks[0]).starts_with(b"A9 APPEND INBOX {10000+}\r\nxxx"));
        assert!(cmd.non_sync);
    }

    #[test]
    fn multiappend_bytes() {
        let mb = Mailbox::try_from("Say \"Hi\"".to_string()).expect("mailbox");
        let tag = Tag::try_from("M1").expect("tag");
        let date = ImapDateTime::try_from(
            chrono::DateTime::parse_from_rfc3339("2003-07-01T10:52:37+02:00").expect("date"),
        )
        .expect("imap date");
        let a = Arc::new(b"Subject: a\r\n\r\nx\r\n".to_vec());
        let b = Arc::new(b"Subject: b\r\n\r\n\0y\r\n".to_vec());
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
        let s = String::from_utf8_lossy(&flat(&cmd.chunks[0])).into_owned();
        assert_eq!(
            s,
            "M1 APPEND \"Say \\\"Hi\\\"\" (\\Seen) \"01-Jul-2003 10:52:37 +0200\" {17+}\r\nSubject: a\r\n\r\nx\r\n ~{18+}\r\nSubject: b\r\n\r\n\0y\r\n\r\n"
        );
        // Without LITERAL+: one chunk per literal, each waits for `+`.
        let cmd = build_append(&caps(&["BINARY"]), &mb, tag.clone(), 7, &msgs).expect("build");
        assert_eq!(cmd.chunks.len(), 3);
        assert!(String::from_utf8_lossy(&flat(&cmd.chunks[0])).ends_with("{17}\r\n"));
        assert!(String::from_utf8_lossy(&flat(&cmd.chunks[1])).ends_with(" ~{18}\r\n"));
        assert!(!cmd.non_sync);
        // NUL without BINARY is refused (the caller strips or skips first).
        assert!(build_append(&caps(&["LITERAL+"]), &mb, tag, 7, &msgs).is_err());
    }
}
