//! Control commands sent in one flight: several independent commands
//! written at once on the control connection and their answers read
//! together, so a long link costs one round trip for all of them instead
//! of one each (EXAMINE + UNSELECT + STATUS when a mailbox is prepared;
//! EXAMINE + every `UID FETCH` chunk + UNSELECT when stored sizes are
//! read back).
//!
//! The commands are encoded by imap-codec with mailbox names in modified
//! UTF-7 ([`super::wire_mailbox`]: printable ASCII, so no literal and no
//! `+` to wait for) and sent through io-imap's raw passthrough, which
//! reads until every tag has its answer. The answers are decoded with
//! imap-codec; untagged data belongs to the oldest command still waiting
//! (servers answer pipelined commands in order, RFC 3501 §5.5). Only
//! answers without binary content go this way: the raw passthrough hands
//! back lossy UTF-8, so bodies are still read through io-imap.
//!
//! A command that needs a literal, or answers that cannot be decoded, are
//! an [`ImapError::Invalid`]: callers then fall back to the one-by-one
//! commands, which say the same thing in more round trips.

use super::{tagged_status, wire_mailbox, ExamineInfo, ImapSession, MailboxStatus, SizeDate};
use crate::dest::imap::error::{ImapError, Refusal};
use crate::model::MailFlags;
use imap_next::imap_types::IntoStatic;
use imap_next::imap_types::{
    command::{Command, CommandBody},
    core::Tag,
    fetch::{MacroOrMessageDataItemNames, MessageDataItem, MessageDataItemName},
    flag::FlagPerm,
    response::{Code, Data, Response, Status, StatusKind},
    sequence::SequenceSet,
    status::{StatusDataItem, StatusDataItemName},
};
use io_imap::client::ImapClient;
use io_imap::codec::fragmentizer::{FragmentInfo, Fragmentizer};
use io_imap::codec::{
    decode::Decoder, encode::Encoder, encode::Fragment, CommandCodec, ResponseCodec,
};
use io_imap::coroutine::{ImapCoroutine, ImapCoroutineState, ImapYield};
use io_imap::rfc3501::raw::ImapRawError;

/// The answer to one raw command of a flight
/// ([`ImapSession::raw_flight`]): its text and its status.
pub(crate) type RawAnswer = (String, Result<(), ImapError>);

/// The answer to one command of a flight.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    /// The tagged answer: `Ok(())`, or the NO / BAD with its text.
    pub ok: Option<Result<(), (Refusal, String)>>,
    /// Untagged data that arrived while this command was the oldest one
    /// waiting.
    pub data: Vec<Data<'static>>,
    /// Response codes of untagged OK / NO lines (PERMANENTFLAGS,
    /// UIDVALIDITY…).
    pub codes: Vec<Code<'static>>,
}

impl Answer {
    fn refused(&self, server: &str, cmd: &'static str, what: &str) -> Option<ImapError> {
        match &self.ok {
            Some(Ok(())) => None,
            Some(Err((kind, text))) => Some(ImapError::Command {
                server: server.to_string(),
                cmd,
                what: what.to_string(),
                kind: *kind,
                code: None,
                text: text.clone(),
            }),
            None => Some(ImapError::Invalid(format!(
                "{cmd} {what}: no tagged answer"
            ))),
        }
    }
}

const STATUS_ITEMS: &[StatusDataItemName] = &[
    StatusDataItemName::Messages,
    StatusDataItemName::UidNext,
    StatusDataItemName::UidValidity,
];

/// UIDs per pipelined `UID FETCH` of sizes (keeps each command line short).
const FETCH_CHUNK: usize = 200;
/// UIDs per `UID FETCH` of bodies (as [`ImapSession::uid_bodies_each`]).
const BODY_CHUNK: usize = 50;
/// Bodies in flight at once, at most (one command may exceed it).
pub(crate) const FLIGHT_BYTES: u64 = 16 << 20;
/// Body commands a flight, at most.
const FLIGHT_COMMANDS: usize = 20;

impl ImapSession {
    /// Sends `bodies` in one flight and returns one [`Answer`] each, in
    /// order. An error only when the flight as a whole failed (connection,
    /// a command that would need a literal, answers that do not decode).
    pub(crate) fn flight(
        &mut self,
        bodies: Vec<CommandBody<'static>>,
    ) -> Result<Vec<Answer>, ImapError> {
        let mut wire = Vec::new();
        let mut tags = Vec::new();
        for (i, body) in bodies.into_iter().enumerate() {
            let t = format!("KP{}", i + 1);
            let tag = Tag::try_from(t.clone()).map_err(|e| ImapError::Invalid(e.to_string()))?;
            for f in CommandCodec::new().encode(&Command { tag, body }) {
                match f {
                    Fragment::Line { data } => wire.extend_from_slice(&data),
                    Fragment::Literal { .. } => {
                        return Err(ImapError::Invalid(
                            "a pipelined command would need a literal".into(),
                        ))
                    }
                }
            }
            tags.push(t);
        }
        if tags.is_empty() {
            return Ok(Vec::new());
        }
        let flight = RawFlight::new(wire, &tags);
        let bytes = self.io(|c| c.run(flight), "raw", "pipelined commands")?;
        decode_answers(&bytes, &tags)
    }

    /// Sends raw command lines (`(tag, command)`, no literal) in one
    /// flight; each answer's text (its untagged lines and its tagged line,
    /// lossy UTF-8: for answers without binary content) and its status, in
    /// order. An error only when the flight as a whole failed. For what
    /// io-imap cannot express (NAMESPACE, `LIST … RETURN (SPECIAL-USE)`);
    /// the commands are constants of ours, never built from server data.
    pub(crate) fn raw_flight(
        &mut self,
        cmds: &[(&str, &'static str)],
    ) -> Result<Vec<RawAnswer>, ImapError> {
        let mut wire = Vec::new();
        for (tag, cmd) in cmds {
            wire.extend_from_slice(format!("{tag} {cmd}\r\n").as_bytes());
        }
        let tags: Vec<String> = cmds.iter().map(|(t, _)| t.to_string()).collect();
        let flight = RawFlight::new(wire, &tags);
        let bytes = self.io(|c| c.run(flight), "raw", "pipelined commands")?;
        let text = String::from_utf8_lossy(&bytes);
        let mut out = Vec::new();
        let mut rest: &str = &text;
        for (tag, cmd) in cmds {
            // Servers answer pipelined commands in order: this one's answer
            // ends with the first line that starts with its tag.
            let prefix = format!("{tag} ");
            let at = if rest.starts_with(&prefix) {
                Some(0)
            } else {
                rest.find(&format!("\n{prefix}")).map(|i| i + 1)
            };
            let end = at.map_or(rest.len(), |i| {
                rest[i..].find('\n').map_or(rest.len(), |j| i + j + 1)
            });
            let (mine, more) = rest.split_at(end);
            out.push((
                mine.to_string(),
                tagged_status(&self.server, tag, cmd, mine),
            ));
            rest = more;
        }
        Ok(out)
    }

    /// `UID FETCH (UID BODY.PEEK[])` of `uids` (with the sizes the server
    /// gave), 50 UIDs a command and several commands a flight, up to
    /// [`FLIGHT_BYTES`] of bodies (and at least one command) a flight, so
    /// memory holds one flight whatever the mailbox's size: `f` sees each
    /// body, which is dropped after its flight. One command at a time
    /// ([`ImapSession::uid_bodies_each`]) when a flight cannot say it.
    pub(crate) fn uid_bodies_sized_each(
        &mut self,
        uids: &[(u32, u64)],
        f: &mut dyn FnMut(u32, &[u8]),
    ) -> Result<(), ImapError> {
        let mut flights: Vec<Vec<&[(u32, u64)]>> = Vec::new();
        let mut bytes = 0u64;
        for chunk in uids.chunks(BODY_CHUNK) {
            let b: u64 = chunk.iter().map(|x| x.1).sum();
            match flights.last_mut() {
                Some(fl) if bytes + b <= FLIGHT_BYTES && fl.len() < FLIGHT_COMMANDS => {
                    fl.push(chunk);
                    bytes += b;
                }
                _ => {
                    flights.push(vec![chunk]);
                    bytes = b;
                }
            }
        }
        for (i, fl) in flights.iter().enumerate() {
            let mut cmds = Vec::new();
            for chunk in fl {
                let u: Vec<u32> = chunk.iter().map(|x| x.0).collect();
                let Some(set) = super::uid_set(&u)? else {
                    continue;
                };
                cmds.push(bodies_cmd(set)?);
            }
            let answers = match self.flight(cmds) {
                Err(ImapError::Invalid(why)) => {
                    tracing::debug!("{}: bodies one command at a time: {why}", self.server);
                    let rest: Vec<u32> = flights[i..]
                        .iter()
                        .flatten()
                        .flat_map(|c| c.iter().map(|x| x.0))
                        .collect();
                    return self.uid_bodies_each(&rest, f);
                }
                r => r?,
            };
            for a in &answers {
                if let Some(e) = a.refused(&self.server, "UID FETCH", "BODY.PEEK[]") {
                    return Err(e);
                }
            }
            each_body(&answers, f);
        }
        Ok(())
    }

    /// CREATE each of `creating` (parents first), SUBSCRIBE what was
    /// created, EXAMINE `name`, leave it again, and STATUS of `name` and of
    /// each of `more`, in one flight: what EXAMINE said, and the STATUS
    /// answers in the order asked (`None` for a STATUS the server refused).
    /// A refused CREATE shows as EXAMINE's error, unless the mailbox exists
    /// all the same (another session created it meanwhile).
    pub(crate) fn examine_status(
        &mut self,
        name: &str,
        creating: &[String],
        more: &[&str],
    ) -> Result<(ExamineInfo, Vec<Option<MailboxStatus>>), ImapError> {
        self.unselect()?;
        // The mailboxes just created, and those created first in this
        // flight, are subscribed in the same flight.
        let before = std::mem::take(&mut self.to_subscribe);
        let mut subs = before.clone();
        subs.extend(creating.iter().cloned());
        let mut cmds = Vec::new();
        for n in creating {
            cmds.push(
                CommandBody::create(wire_mailbox(n)?)
                    .map_err(|e| ImapError::Invalid(e.to_string()))?,
            );
        }
        for n in &subs {
            cmds.push(
                CommandBody::subscribe(wire_mailbox(n)?)
                    .map_err(|e| ImapError::Invalid(e.to_string()))?,
            );
        }
        cmds.push(
            CommandBody::examine(wire_mailbox(name)?)
                .map_err(|e| ImapError::Invalid(e.to_string()))?,
        );
        cmds.push(self.leave());
        for n in std::iter::once(name).chain(more.iter().copied()) {
            cmds.push(
                CommandBody::status(wire_mailbox(n)?, STATUS_ITEMS)
                    .map_err(|e| ImapError::Invalid(e.to_string()))?,
            );
        }
        let answers = match self.flight(cmds) {
            Ok(a) => a,
            Err(e) => {
                // Not sent (or not known to be): subscribe them later (what
                // was to be created here is looked for again by the caller).
                self.to_subscribe = before;
                return Err(e);
            }
        };
        let (created, answers) = answers.split_at(creating.len());
        let mut refused = Vec::new();
        let mut create_error = None;
        for (a, n) in created.iter().zip(creating) {
            match a.refused(&self.server, "CREATE", n) {
                None => self.known_mailbox(n),
                Some(e) => {
                    refused.push(n);
                    create_error.get_or_insert(e);
                }
            }
        }
        for (a, n) in answers.iter().zip(&subs) {
            if let Some(e) = a.refused(&self.server, "SUBSCRIBE", n) {
                if !refused.contains(&n) {
                    tracing::warn!("{}: SUBSCRIBE {n:?}: {e}", self.server);
                }
            }
        }
        let answers = &answers[subs.len()..];
        let examined = answers[0].refused(&self.server, "EXAMINE", name);
        if examined.is_none() && answers[1].refused(&self.server, "UNSELECT", "").is_some() {
            // The mailbox may still be selected: the next command leaves it
            // first.
            self.selected = true;
        }
        // A refused CREATE is the caller's to look into (another session
        // may have created the name meanwhile, or the server refuses it:
        // a substitute), whatever EXAMINE said after it (some servers
        // answer it for any name).
        if let Some(e) = create_error.or(examined) {
            return Err(e);
        }
        let ex = examine_info(&answers[0]);
        if let Some(e) = answers[1].refused(&self.server, "UNSELECT", "") {
            return Err(e);
        }
        let st = answers[2..]
            .iter()
            .map(|a| {
                a.ok.as_ref()
                    .and_then(|r| r.as_ref().ok())
                    .map(|_| status_of(a))
            })
            .collect();
        Ok((ex, st))
    }

    /// EXAMINE `name`, `UID FETCH uids (UID RFC822.SIZE INTERNALDATE)`
    /// (200 UIDs a command) and `UID FETCH bodies (UID BODY.PEEK[])` (50 a
    /// command; `f` sees each body), every command in one flight; the
    /// mailbox stays examined (call [`Self::unselect`]) unless `leave` is
    /// set, which adds the UNSELECT to the same flight. Returns (UID, size,
    /// internal date as Unix seconds) and the mailbox's UIDVALIDITY. The
    /// caller bounds the bytes of `bodies` (they are all in memory at once).
    pub(crate) fn examine_sizes_dates(
        &mut self,
        name: &str,
        uids: &[u32],
        bodies: &[u32],
        f: &mut dyn FnMut(u32, &[u8]),
        leave: bool,
    ) -> Result<(Option<u32>, Vec<SizeDate>), ImapError> {
        self.unselect()?;
        let mut cmds = vec![CommandBody::examine(wire_mailbox(name)?)
            .map_err(|e| ImapError::Invalid(e.to_string()))?];
        for chunk in uids.chunks(FETCH_CHUNK) {
            let Some(set) = super::uid_set(chunk)? else {
                continue;
            };
            cmds.push(sizes_dates(set)?);
        }
        for chunk in bodies.chunks(BODY_CHUNK) {
            let Some(set) = super::uid_set(chunk)? else {
                continue;
            };
            cmds.push(bodies_cmd(set)?);
        }
        let fetches = cmds.len() - 1;
        if leave {
            cmds.push(self.leave());
        }
        let answers = self.flight(cmds)?;
        let examined = answers[0].refused(&self.server, "EXAMINE", name);
        // The mailbox counts as selected until an UNSELECT said otherwise.
        self.selected = examined.is_none();
        if leave && examined.is_none() {
            if let Some(e) = answers[fetches + 1].refused(&self.server, "UNSELECT", "") {
                return Err(e);
            }
            self.selected = false;
        }
        if let Some(e) = examined {
            return Err(e);
        }
        let uv = examine_info(&answers[0]).uid_validity;
        let mut out = Vec::new();
        for a in &answers[1..=fetches] {
            if let Some(e) = a.refused(&self.server, "UID FETCH", "RFC822.SIZE INTERNALDATE") {
                return Err(e);
            }
        }
        each_body(&answers, f);
        // Untagged FETCH data may be attributed to any command of the
        // flight (a server may send it late): take it from all of them.
        for a in &answers {
            out.extend(a.data.iter().filter_map(size_date));
        }
        out.sort_unstable_by_key(|x| x.0);
        out.dedup_by_key(|x| x.0);
        Ok((uv, out))
    }

    /// `UID FETCH uids (UID RFC822.SIZE INTERNALDATE)` in the examined
    /// mailbox, every chunk of 200 in one flight.
    pub(crate) fn uid_sizes_dates_pipelined(
        &mut self,
        uids: &[u32],
    ) -> Result<Vec<SizeDate>, ImapError> {
        Ok(self
            .uid_facts_pipelined(uids)?
            .into_iter()
            .map(|(sd, _)| sd)
            .collect())
    }

    /// [`Self::uid_sizes_dates_pipelined`] with each message's system
    /// flags, read in the same commands (`None`: the server left FLAGS
    /// out).
    pub(crate) fn uid_facts_pipelined(
        &mut self,
        uids: &[u32],
    ) -> Result<Vec<(SizeDate, Option<MailFlags>)>, ImapError> {
        let mut cmds = Vec::new();
        for chunk in uids.chunks(FETCH_CHUNK) {
            let Some(set) = super::uid_set(chunk)? else {
                continue;
            };
            cmds.push(sizes_dates(set)?);
        }
        let answers = self.flight(cmds)?;
        for a in &answers {
            if let Some(e) = a.refused(&self.server, "UID FETCH", "RFC822.SIZE INTERNALDATE") {
                return Err(e);
            }
        }
        let mut out: Vec<_> = answers
            .iter()
            .flat_map(|a| {
                a.data
                    .iter()
                    .filter_map(|d| Some((size_date(d)?, flags_of(d))))
            })
            .collect();
        out.sort_unstable_by_key(|x| x.0 .0);
        out.dedup_by_key(|x| x.0 .0);
        Ok(out)
    }

    /// UNSELECT where offered, else CLOSE (which expunges nothing in a
    /// mailbox opened with EXAMINE).
    fn leave(&self) -> CommandBody<'static> {
        if self.caps.unselect {
            CommandBody::Unselect
        } else {
            CommandBody::Close
        }
    }
}

fn sizes_dates(set: SequenceSet) -> Result<CommandBody<'static>, ImapError> {
    CommandBody::fetch(
        set,
        MacroOrMessageDataItemNames::MessageDataItemNames(vec![
            MessageDataItemName::Uid,
            MessageDataItemName::Rfc822Size,
            MessageDataItemName::InternalDate,
            MessageDataItemName::Flags,
        ]),
        true,
    )
    .map_err(|e| ImapError::Invalid(format!("{e:?}")))
}

fn bodies_cmd(set: SequenceSet) -> Result<CommandBody<'static>, ImapError> {
    CommandBody::fetch(
        set,
        MacroOrMessageDataItemNames::MessageDataItemNames(vec![
            MessageDataItemName::Uid,
            MessageDataItemName::BodyExt {
                section: None,
                partial: None,
                peek: true,
            },
        ]),
        true,
    )
    .map_err(|e| ImapError::Invalid(format!("{e:?}")))
}

/// `f` for every (UID, body) the answers carry.
fn each_body(answers: &[Answer], f: &mut dyn FnMut(u32, &[u8])) {
    for d in answers.iter().flat_map(|a| a.data.iter()) {
        let Data::Fetch { items, .. } = d else {
            continue;
        };
        let (mut uid, mut body) = (None, None);
        for it in items.as_ref() {
            match it {
                MessageDataItem::Uid(u) => uid = Some(u.get()),
                MessageDataItem::BodyExt { data, .. } => body = data.0.as_ref(),
                _ => {}
            }
        }
        if let (Some(u), Some(b)) = (uid, body) {
            f(u, b.as_ref());
        }
    }
}

/// The system flags a FETCH answer carries, if it has FLAGS.
fn flags_of(d: &Data<'static>) -> Option<MailFlags> {
    let Data::Fetch { items, .. } = d else {
        return None;
    };
    items.as_ref().iter().find_map(|it| match it {
        MessageDataItem::Flags(list) => Some(super::fetched_flags(list)),
        _ => None,
    })
}

fn size_date(d: &Data<'static>) -> Option<SizeDate> {
    let Data::Fetch { items, .. } = d else {
        return None;
    };
    let (mut uid, mut size, mut date) = (None, None, None);
    for it in items.as_ref() {
        match it {
            MessageDataItem::Uid(u) => uid = Some(u.get()),
            MessageDataItem::Rfc822Size(n) => size = Some(u64::from(*n)),
            MessageDataItem::InternalDate(d) => date = Some(d.as_ref().timestamp()),
            _ => {}
        }
    }
    Some((uid?, size?, date))
}

/// io-imap's raw passthrough ([`io_imap::rfc3501::raw`]) that hands back
/// the answers' bytes as they came (its own gives lossy UTF-8, which a
/// body with 8-bit bytes would not survive): writes the flight, reads
/// until every tag has its tagged answer.
struct RawFlight {
    wire: Option<Vec<u8>>,
    pending: std::collections::BTreeSet<Vec<u8>>,
    reading: bool,
    decoding: bool,
    response: Vec<u8>,
}

impl RawFlight {
    fn new(wire: Vec<u8>, tags: &[String]) -> RawFlight {
        RawFlight {
            wire: Some(wire),
            pending: tags.iter().map(|t| t.as_bytes().to_vec()).collect(),
            reading: false,
            decoding: false,
            response: Vec::new(),
        }
    }
}

impl ImapCoroutine for RawFlight {
    type Yield = ImapYield;
    type Return = Result<Vec<u8>, ImapRawError>;

    fn resume(
        &mut self,
        fragmentizer: &mut Fragmentizer,
        mut arg: Option<&[u8]>,
    ) -> ImapCoroutineState<Self::Yield, Self::Return> {
        if let Some(w) = self.wire.take() {
            return ImapCoroutineState::Yielded(ImapYield::WantsWrite(w));
        }
        loop {
            if !self.decoding {
                match arg.take() {
                    Some([]) => return ImapCoroutineState::Complete(Err(ImapRawError::Eof)),
                    Some(data) => {
                        fragmentizer.enqueue_bytes(data);
                        self.decoding = true;
                    }
                    None if self.reading => {
                        // Resumed after our read request without bytes.
                        return ImapCoroutineState::Yielded(ImapYield::WantsRead);
                    }
                    None => {
                        // After the write: decode what is buffered first.
                        self.decoding = true;
                    }
                }
            }
            match fragmentizer.progress() {
                Some(FragmentInfo::Line { .. }) => {
                    if !fragmentizer.is_message_complete() {
                        continue;
                    }
                    self.response
                        .extend_from_slice(fragmentizer.message_bytes());
                    if let Some(tag) = fragmentizer.decode_tag() {
                        self.pending.remove(tag.as_ref().as_bytes());
                    }
                }
                Some(FragmentInfo::Literal { .. }) => {}
                None if self.pending.is_empty() => {
                    return ImapCoroutineState::Complete(Ok(std::mem::take(&mut self.response)));
                }
                None => {
                    self.decoding = false;
                    self.reading = true;
                    return ImapCoroutineState::Yielded(ImapYield::WantsRead);
                }
            }
        }
    }
}

/// What EXAMINE's untagged answers said.
fn examine_info(a: &Answer) -> ExamineInfo {
    let mut ex = ExamineInfo::default();
    for c in &a.codes {
        match c {
            Code::UidValidity(n) => ex.uid_validity = Some(n.get()),
            Code::PermanentFlags(v) => {
                ex.permanent_flags = Some(
                    v.iter()
                        .map(|f| match f {
                            FlagPerm::Flag(f) => f.to_string(),
                            FlagPerm::Asterisk => "\\*".to_string(),
                        })
                        .collect(),
                )
            }
            _ => {}
        }
    }
    for d in &a.data {
        if let Data::Flags(v) = d {
            ex.flags = Some(v.iter().map(|f| f.to_string()).collect());
        }
    }
    ex
}

fn status_of(a: &Answer) -> MailboxStatus {
    let mut st = MailboxStatus::default();
    for d in &a.data {
        if let Data::Status { items, .. } = d {
            for it in items.iter() {
                match it {
                    StatusDataItem::Messages(n) => st.messages = *n,
                    StatusDataItem::UidNext(n) => st.uid_next = Some(n.get()),
                    StatusDataItem::UidValidity(n) => st.uid_validity = Some(n.get()),
                    _ => {}
                }
            }
        }
    }
    st
}

/// The answers of a flight whose commands carry `tags`, from the bytes
/// the server sent (up to and including the last tagged answer).
fn decode_answers(mut bytes: &[u8], tags: &[String]) -> Result<Vec<Answer>, ImapError> {
    let codec = ResponseCodec::new();
    let mut answers: Vec<Answer> = tags.iter().map(|_| Answer::default()).collect();
    // The oldest command without its tagged answer.
    let mut oldest = 0;
    while !bytes.is_empty() {
        let (rest, resp) = codec.decode(bytes).map_err(|e| {
            ImapError::Invalid(format!(
                "cannot decode an answer to pipelined commands: {e:?}"
            ))
        })?;
        bytes = rest;
        let at = oldest.min(answers.len() - 1);
        match resp {
            Response::Data(d) => answers[at].data.push(d.into_static()),
            Response::Status(Status::Untagged(b)) => {
                if let Some(c) = b.code {
                    answers[at].codes.push(c.into_static());
                }
            }
            Response::Status(Status::Tagged(t)) => {
                let Some(i) = tags.iter().position(|x| x.as_str() == t.tag.as_ref()) else {
                    continue;
                };
                answers[i].ok = Some(match t.body.kind {
                    StatusKind::Ok => Ok(()),
                    StatusKind::No => Err((Refusal::No, t.body.text.to_string())),
                    StatusKind::Bad => Err((Refusal::Bad, t.body.text.to_string())),
                });
                while oldest < answers.len() && answers[oldest].ok.is_some() {
                    oldest += 1;
                }
            }
            Response::Status(Status::Bye(_)) | Response::CommandContinuationRequest(_) => {}
        }
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_go_to_their_commands_in_order() {
        let wire = b"* FLAGS (\\Answered \\Seen)\r\n\
* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n\
* 3 EXISTS\r\n\
* OK [UIDVALIDITY 1700000000] UIDs valid\r\n\
KP1 OK [READ-ONLY] Examine completed.\r\n\
* 1 FETCH (UID 7 RFC822.SIZE 120 INTERNALDATE \"01-Jan-2018 10:00:00 +0000\")\r\n\
KP2 OK Fetch completed.\r\n\
KP3 OK Unselect completed.\r\n\
* STATUS x (MESSAGES 3 UIDNEXT 9 UIDVALIDITY 1700000000)\r\n\
KP4 OK Status completed.\r\n\
KP5 NO Mailbox doesn't exist: y\r\n";
        let tags: Vec<String> = (1..=5).map(|i| format!("KP{i}")).collect();
        let a = decode_answers(wire, &tags).expect("decode");
        let ex = examine_info(&a[0]);
        assert_eq!(ex.uid_validity, Some(1700000000));
        assert_eq!(ex.permanent_flags, Some(vec![]));
        assert_eq!(
            ex.flags,
            Some(vec!["\\Answered".to_string(), "\\Seen".to_string()])
        );
        assert_eq!(
            a[1].data.iter().filter_map(size_date).collect::<Vec<_>>(),
            vec![(7, 120, Some(1514800800))]
        );
        assert_eq!(a[2].ok, Some(Ok(())));
        let st = status_of(&a[3]);
        assert_eq!(
            (st.messages, st.uid_next, st.uid_validity),
            (3, Some(9), Some(1700000000))
        );
        assert!(matches!(a[4].ok, Some(Err((Refusal::No, _)))));
        assert!(a[4].refused("s", "STATUS", "y").is_some());
    }

    #[test]
    fn answers_that_do_not_decode_are_an_error() {
        let tags = vec!["KP1".to_string()];
        assert!(decode_answers(b"* 1 FETCH (UID\r\nKP1 OK\r\n", &tags).is_err());
    }
}
