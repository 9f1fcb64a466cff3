//! One IMAP connection: connect (TCP, TLS or STARTTLS), authenticate,
//! and the control commands (CAPABILITY, LIST, CREATE, SUBSCRIBE, STATUS,
//! EXAMINE, UID SEARCH, UID FETCH) through io-imap 0.7.1 over our own
//! stream. The pipelined APPEND ([`super::worker`] over
//! [`super::core::append`]) runs over the same stream; the commands that
//! change messages (STORE, MOVE, EXPUNGE) are in [`changes`].
//!
//! io-imap traps worked around here (see the module header in `mod.rs`):
//! its `starttls()` cannot follow `greeting()` and ignores NO, so STARTTLS
//! is sent raw; its errors drop response codes, so mailbox creation is
//! decided from LIST; LIST RETURN (SPECIAL-USE) cannot be expressed, so it
//! is sent raw and parsed with imap-codec.

use super::auth::{check_sendable, expose, AuthMech, Credentials, TokenCache};
use super::caps::Capabilities;
use super::conn::{tcp_connect, tls_handshake, Conn, ConnectConfig, TlsMode};
use super::error::{io_msg, ImapError, Refusal};
use super::gate::{LoginGate, Pass};
use super::spare::{Opened, Spare};
use crate::mutf7 as names;
use imap_next::imap_types::{
    core::{AString, NString8, Vec1},
    fetch::{MacroOrMessageDataItemNames, MessageDataItem, MessageDataItemName, Section},
    flag::FlagPerm,
    mailbox::{ListMailbox, Mailbox},
    search::SearchKey,
    sequence::SequenceSet,
    status::{StatusDataItem, StatusDataItemName},
};
use io_imap::client::{ImapClient, ImapClientError, ImapClientStd, ImapStream};
use io_imap::codec::fragmentizer::Fragmentizer;
use io_imap::rfc3501::{
    examine::ImapMailboxExamineOptions, fetch::ImapMessageFetchOptions, login::ImapLoginOptions,
    search::ImapMessageSearchOptions, select::ImapMailboxSelectOptions,
};
use io_imap::sasl::{auth_plain::ImapAuthPlainOptions, auth_xoauth2::ImapAuthXoauth2Options};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::num::NonZeroU32;

mod batch;
pub(crate) use batch::{RawAnswer, FLIGHT_BYTES};
mod changes;
pub(crate) use changes::MovedUids;
mod mailboxes;
mod probe;

/// A mailbox as LIST shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxInfo {
    /// Unicode name (decoded from modified UTF-7).
    pub name: String,
    /// Hierarchy delimiter.
    pub delimiter: Option<char>,
    /// `\HasNoChildren`, `\Noselect`, `\Sent`, …
    pub attributes: Vec<String>,
}

impl MailboxInfo {
    /// True for `\Noselect` / `\NonExistent`.
    pub fn is_noselect(&self) -> bool {
        self.attributes.iter().any(|a| {
            a.eq_ignore_ascii_case("\\Noselect") || a.eq_ignore_ascii_case("\\NonExistent")
        })
    }
}

/// (UID, RFC822.SIZE, INTERNALDATE as Unix seconds).
pub(crate) type SizeDate = (u32, u64, Option<i64>);

/// STATUS of a mailbox.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailboxStatus {
    pub messages: u32,
    /// UIDNEXT.
    pub uid_next: Option<u32>,
    /// UIDVALIDITY.
    pub uid_validity: Option<u32>,
}

/// What EXAMINE told.
#[derive(Clone, Debug, Default)]
pub struct ExamineInfo {
    /// UIDVALIDITY.
    pub uid_validity: Option<u32>,
    /// PERMANENTFLAGS (`None`: not sent, which means all flags).
    pub permanent_flags: Option<Vec<String>>,
    /// FLAGS: the flags the mailbox knows.
    pub flags: Option<Vec<String>>,
}

impl ExamineInfo {
    /// The flags a message appended here keeps. EXAMINE opens the mailbox
    /// read-only, so servers (Dovecot, Gmail) answer `PERMANENTFLAGS ()`:
    /// then FLAGS says what the mailbox supports. No list at all means
    /// every flag (RFC 3501 §7.1).
    pub fn storable_flags(&self) -> Option<&Vec<String>> {
        match &self.permanent_flags {
            Some(p) if !p.is_empty() => Some(p),
            _ => self.flags.as_ref().or(self.permanent_flags.as_ref()),
        }
    }
}

/// A connected, authenticated IMAP session.
pub struct ImapSession {
    pub(crate) client: ImapClientStd,
    pub(crate) caps: Capabilities,
    pub(crate) server: String,
    broken: Option<String>,
    delimiter: Option<Option<char>>,
    /// The selectable mailboxes [`Self::ensure_mailbox`] knows exist: from
    /// its first LIST, and what it created since (so preparing a folder
    /// does not LIST the whole account again; [`Self::forget_mailboxes`]
    /// when a mailbox that should exist could not be opened).
    existing: Option<HashSet<String>>,
    /// Mailboxes created and not yet subscribed: the SUBSCRIBE goes out in
    /// the next flight ([`Self::examine_status`]) or
    /// [`Self::subscribe_pending`].
    to_subscribe: Vec<String>,
    selected: bool,
    /// The greeting line as the server sent it (empty when it was not
    /// kept).
    greeting: String,
}

impl std::fmt::Debug for ImapSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapSession")
            .field("server", &self.server)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// Maps an io-imap error. Its per-command errors all have the same
/// `No(String) / Bad(String) / …` shape (the response code is dropped).
fn map_client_err(server: &str, cmd: &'static str, what: &str, e: ImapClientError) -> ImapError {
    use ImapClientError as E;
    let conn = |detail: String| ImapError::Connection {
        server: server.to_string(),
        detail: format!("{cmd}: {detail}"),
    };
    let refused = |kind: Refusal, text: String| ImapError::Command {
        server: server.to_string(),
        cmd,
        what: what.to_string(),
        kind,
        code: None,
        text,
    };
    macro_rules! cls {
        ($inner:expr, $T:ident) => {{
            #[allow(unreachable_patterns)]
            match $inner {
                $T::No(t) => refused(Refusal::No, t),
                $T::Bad(t) => refused(Refusal::Bad, t),
                other => conn(other.to_string()),
            }
        }};
    }
    use io_imap::rfc3501::{
        capability::ImapCapabilityGetError, close::ImapMailboxCloseError,
        create::ImapMailboxCreateError, examine::ImapMailboxExamineError,
        fetch::ImapMessageFetchError, list::ImapMailboxListError, search::ImapMessageSearchError,
        status::ImapMailboxStatusError, subscribe::ImapMailboxSubscribeError,
    };
    use io_imap::rfc3691::unselect::ImapMailboxUnselectError;
    let auth = |detail: String| ImapError::Auth {
        server: server.to_string(),
        user: what.to_string(),
        detail,
    };
    match e {
        E::Io(io) => conn(io_msg(&io)),
        E::Login(x) => auth(x.to_string()),
        E::AuthPlain(x) => auth(x.to_string()),
        E::AuthXOAuth2(x) => auth(x.to_string()),
        E::MailboxCreate(x) => cls!(x, ImapMailboxCreateError),
        E::MailboxStatus(x) => cls!(x, ImapMailboxStatusError),
        E::MailboxExamine(x) => cls!(x, ImapMailboxExamineError),
        E::MailboxList(x) => cls!(x, ImapMailboxListError),
        E::MailboxSubscribe(x) => cls!(x, ImapMailboxSubscribeError),
        E::MailboxClose(x) => cls!(x, ImapMailboxCloseError),
        E::MailboxUnselect(x) => cls!(x, ImapMailboxUnselectError),
        E::MessageFetch(x) => cls!(x, ImapMessageFetchError),
        E::MessageSearch(x) => cls!(x, ImapMessageSearchError),
        E::Capability(x) => cls!(x, ImapCapabilityGetError),
        E::InvalidLoginCredentials(_) => {
            ImapError::Invalid("the login or password contains NUL, CR or LF".into())
        }
        other => conn(other.to_string()),
    }
}

/// Unicode name → `Mailbox` in modified UTF-7, for the raw and pipeline
/// paths (io-imap encodes by itself and gets the Unicode name). The
/// encoding is printable ASCII only, so imap-codec writes an atom or a
/// quoted string: no CR, LF or NUL can reach the wire.
pub(crate) fn wire_mailbox(name: &str) -> Result<Mailbox<'static>, ImapError> {
    if name.contains('\0') {
        return Err(ImapError::Invalid(format!(
            "mailbox name {name:?} contains NUL"
        )));
    }
    Mailbox::try_from(names::encode(name))
        .map_err(|e| ImapError::Invalid(format!("mailbox name {name:?}: {e}")))
}

fn unicode_mailbox(name: &str) -> Result<Mailbox<'static>, ImapError> {
    if name.contains('\0') {
        return Err(ImapError::Invalid(format!(
            "mailbox name {name:?} contains NUL"
        )));
    }
    Mailbox::try_from(name.to_string())
        .map_err(|e| ImapError::Invalid(format!("mailbox name {name:?}: {e}")))
}

fn mailbox_str(mb: &Mailbox<'_>) -> String {
    match mb {
        Mailbox::Inbox => "INBOX".into(),
        Mailbox::Other(o) => String::from_utf8_lossy(o.inner().as_ref()).into_owned(),
    }
}

/// Opens TCP (+ TLS), reads the greeting, and runs STARTTLS when asked.
/// Returns the client and the capabilities valid after TLS.
/// The largest single response read (one message's FETCH with its body):
/// io-imap's own limit, 100 MiB, is below `--max-message-size`'s default
/// (256 MiB), so a message between the two migrated but could never be
/// read back (adoption on a rerun without the journal, `verify --deep`,
/// the stored-size check). 1 GiB leaves room for a server's re-encoding;
/// the buffer grows only as large as what is read.
const RESPONSE_MAX: u32 = 1 << 30;

pub(super) fn open_transport(cfg: &ConnectConfig) -> Result<Opened, ImapError> {
    let server = cfg.server();
    let tcp = tcp_connect(cfg)?;
    let conn = match cfg.tls {
        TlsMode::Implicit => Conn::Tls(Box::new(tls_handshake(cfg, tcp)?)),
        TlsMode::StartTls | TlsMode::None => Conn::Plain(tcp),
    };
    let mut client = ImapClientStd::new(conn);
    client.fragmentizer = Fragmentizer::new(RESPONSE_MAX);
    let greeting = client
        .greeting()
        .map_err(|e| map_client_err(&server, "greeting", "", e))?;
    // The greeting's text names the product (hints in reports); io-imap
    // keeps only its capabilities, the fragmentizer still holds its bytes.
    let text = String::from_utf8_lossy(client.fragmentizer.message_bytes()).into_owned();
    let greeting_text = if text.starts_with("* OK") || text.starts_with("* PREAUTH") {
        text.trim_end().to_string()
    } else {
        String::new()
    };
    let mut caps = Capabilities::from_names(greeting.capability.iter().map(|c| c.to_string()));
    if cfg.tls == TlsMode::StartTls {
        if !caps.starttls {
            return Err(ImapError::StartTlsUnavailable(server));
        }
        // io-imap's starttls() reads the greeting itself and ignores NO/BAD:
        // send it raw and check the answer.
        let resp = client
            .raw(b"K0 STARTTLS\r\n")
            .map_err(|e| map_client_err(&server, "STARTTLS", "", e))?;
        let tagged = resp
            .lines()
            .find(|l| l.starts_with("K0 "))
            .unwrap_or_default();
        if !tagged.starts_with("K0 OK") {
            return Err(ImapError::Command {
                server,
                cmd: "STARTTLS",
                what: String::new(),
                kind: Refusal::No,
                code: None,
                text: tagged.to_string(),
            });
        }
        // Bytes already buffered after the OK came in clear text before the
        // handshake (CVE-2011-0411 style injection): refuse.
        if client.fragmentizer.progress().is_some()
            || !client.fragmentizer.message_bytes().is_empty()
        {
            return Err(ImapError::StartTlsInjection(server));
        }
        client.fragmentizer = Fragmentizer::new(RESPONSE_MAX);
        let conn: &mut Conn = client
            .stream
            .as_any_mut()
            .downcast_mut()
            .ok_or_else(|| ImapError::Invalid("unexpected stream type".into()))?;
        let Conn::Plain(tcp) = std::mem::replace(conn, Conn::Closed) else {
            return Err(ImapError::Invalid("STARTTLS on a TLS stream".into()));
        };
        *conn = Conn::Tls(Box::new(tls_handshake(cfg, tcp)?));
        // Capabilities from before TLS are void (RFC 3501 §6.2.1).
        let list = client
            .capability()
            .map_err(|e| map_client_err(&server, "CAPABILITY", "", e))?;
        caps = Capabilities::from_names(list.iter().map(|c| c.to_string()));
    }
    Ok((client, caps, greeting.pre_authenticated, greeting_text))
}

/// Connects and reads the greeting only (TLS check before a run); the
/// connection is kept in `spare` for the run's first login.
pub(crate) fn probe(cfg: &ConnectConfig, spare: &Spare) -> Result<Capabilities, ImapError> {
    let opened = open_transport(cfg)?;
    let caps = opened.1.clone();
    spare.keep(opened);
    Ok(caps)
}

impl ImapSession {
    /// TCP (+ TLS), greeting, STARTTLS, authentication, CAPABILITY.
    /// Connects and logs in; the login waits at `gate` while another
    /// connection tries the same credential first (the transport is
    /// opened meanwhile), and is not sent once the credential was refused.
    /// The probe's connection (`spare`) is taken when it is still usable;
    /// a login on it that fails with a connection error is tried once on a
    /// new connection (the server closed it in between).
    pub fn connect(
        cfg: &ConnectConfig,
        creds: &Credentials,
        tokens: &TokenCache,
        gate: &LoginGate,
        spare: &Spare,
    ) -> Result<ImapSession, ImapError> {
        if let Some(opened) = spare.take() {
            // A login on it gets --connect-timeout for its answer, not
            // --io-timeout: a connection that went dead while kept (a
            // firewall that forgot it) costs that much before a new one.
            let short = Some(cfg.connect_timeout.min(cfg.io_timeout));
            if opened.0.stream.set_read_timeout(short).is_ok() {
                match Self::log_in(cfg, creds, tokens, gate, opened) {
                    Ok(mut s) => {
                        s.client
                            .stream
                            .set_read_timeout(Some(cfg.io_timeout))
                            .map_err(|e| s.mark_broken(io_msg(&e)))?;
                        return Ok(s);
                    }
                    Err(e) if e.is_connection() => {
                        tracing::debug!("the probe's connection: {e}; a new one");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Self::log_in(cfg, creds, tokens, gate, open_transport(cfg)?)
    }

    /// Logs in on an opened connection (see [`Self::connect`]).
    fn log_in(
        cfg: &ConnectConfig,
        creds: &Credentials,
        tokens: &TokenCache,
        gate: &LoginGate,
        opened: Opened,
    ) -> Result<ImapSession, ImapError> {
        let server = cfg.server();
        let (mut client, caps, pre_auth, greeting) = opened;
        // The capabilities the login's answer carried (Dovecot and Cyrus in
        // the tagged OK, Gmail untagged before it): they change at login
        // (RFC 3501 §6.2.3), and asking again costs a round trip.
        let mut observed = Vec::new();
        if !pre_auth {
            let pass = gate.enter(creds, &server)?;
            let r = match authenticate(&mut client, &server, &caps, creds, tokens, false) {
                Err(ImapError::Auth { .. }) if matches!(creds, Credentials::OAuth2 { .. }) => {
                    // The token may have expired early: fetch a new one once,
                    // on a new connection (the old one may be closed).
                    open_transport(cfg).and_then(|(mut c2, caps2, _, _)| {
                        let seen = authenticate(&mut c2, &server, &caps2, creds, tokens, true)?;
                        client = c2;
                        Ok(seen)
                    })
                }
                r => r,
            };
            observed = match (pass, r) {
                (Pass::First(t), Ok(seen)) => {
                    t.taken();
                    seen
                }
                (Pass::First(t), Err(e)) => {
                    t.outcome(&e);
                    return Err(e);
                }
                (Pass::Taken, r) => r?,
            };
        }
        let mut s = ImapSession {
            client,
            caps,
            server,
            broken: None,
            delimiter: None,
            existing: None,
            to_subscribe: Vec::new(),
            selected: false,
            greeting,
        };
        // A list without IMAP4rev1/IMAP4rev2 (RFC 3501 §7.2.1 requires it)
        // is not taken for the whole: ask.
        let complete = observed
            .iter()
            .any(|n| n.eq_ignore_ascii_case("IMAP4rev1") || n.eq_ignore_ascii_case("IMAP4rev2"));
        let list = if complete {
            observed
        } else {
            s.io(|c| c.capability(), "CAPABILITY", "")?
                .iter()
                .map(|c| c.to_string())
                .collect()
        };
        s.caps = Capabilities::from_names(list);
        Ok(s)
    }

    /// The server's greeting line.
    pub fn greeting(&self) -> &str {
        &self.greeting
    }

    /// The capabilities after login.
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// True after a connection-level failure: reconnect.
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    pub(crate) fn mark_broken(&mut self, detail: String) -> ImapError {
        self.broken = Some(detail.clone());
        ImapError::Connection {
            server: self.server.clone(),
            detail,
        }
    }

    pub(crate) fn check(&self) -> Result<(), ImapError> {
        match &self.broken {
            Some(why) => Err(ImapError::Connection {
                server: self.server.clone(),
                detail: format!("unusable after: {why}"),
            }),
            None => Ok(()),
        }
    }

    /// Runs an io-imap call; marks the session broken on connection errors.
    pub(super) fn io<T>(
        &mut self,
        f: impl FnOnce(&mut ImapClientStd) -> Result<T, ImapClientError>,
        cmd: &'static str,
        what: &str,
    ) -> Result<T, ImapError> {
        self.check()?;
        f(&mut self.client).map_err(|e| {
            let e = map_client_err(&self.server, cmd, what, e);
            if e.is_connection() {
                self.broken = Some(e.to_string());
            }
            e
        })
    }

    /// The raw stream (for the pipeline).
    pub(crate) fn stream(&mut self) -> &mut Box<dyn ImapStream> {
        &mut self.client.stream
    }

    // --- mailboxes ---------------------------------------------------------

    /// `LIST "" "*"` (names decoded to Unicode).
    pub fn list_all(&mut self) -> Result<Vec<MailboxInfo>, ImapError> {
        let reference = Mailbox::try_from("").map_err(|e| ImapError::Invalid(e.to_string()))?;
        let pattern = ListMailbox::try_from("*").map_err(|e| ImapError::Invalid(e.to_string()))?;
        let rows = self.io(|c| c.list(reference, pattern), "LIST", "*")?;
        Ok(rows
            .into_iter()
            .map(|(mb, d, items)| MailboxInfo {
                // io-imap already decoded the name from modified UTF-7.
                name: mailbox_str(&mb),
                delimiter: d.map(|d| d.inner()),
                attributes: items.iter().map(|a| a.to_string()).collect(),
            })
            .collect())
    }

    /// Remembers the hierarchy delimiter learnt elsewhere (a flight).
    pub(crate) fn know_delimiter(&mut self, d: Option<char>) {
        self.delimiter = Some(d);
    }

    /// The hierarchy delimiter (`LIST "" ""`), cached.
    pub fn delimiter(&mut self) -> Result<Option<char>, ImapError> {
        if let Some(d) = self.delimiter {
            return Ok(d);
        }
        let reference = Mailbox::try_from("").map_err(|e| ImapError::Invalid(e.to_string()))?;
        let pattern = ListMailbox::try_from("").map_err(|e| ImapError::Invalid(e.to_string()))?;
        let rows = self.io(|c| c.list(reference, pattern), "LIST", "\"\"")?;
        let d = rows.first().and_then(|(_, d, _)| d.map(|d| d.inner()));
        self.delimiter = Some(d);
        Ok(d)
    }

    /// CREATE (Unicode name).
    pub fn create(&mut self, name: &str) -> Result<(), ImapError> {
        let mb = unicode_mailbox(name)?;
        self.io(|c| c.create(mb), "CREATE", name)
    }

    /// RENAME (Unicode names; the server renames the children too).
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), ImapError> {
        let (a, b) = (unicode_mailbox(from)?, unicode_mailbox(to)?);
        // Names below `from` move too (or may have, if the answer was lost).
        self.existing = None;
        self.io(|c| c.rename(a, b), "RENAME", from)
    }

    /// SUBSCRIBE (Unicode name).
    pub fn subscribe(&mut self, name: &str) -> Result<(), ImapError> {
        let mb = unicode_mailbox(name)?;
        self.io(|c| c.subscribe(mb), "SUBSCRIBE", name)
    }

    /// STATUS (MESSAGES UIDNEXT UIDVALIDITY).
    pub fn status(&mut self, name: &str) -> Result<MailboxStatus, ImapError> {
        let mb = unicode_mailbox(name)?;
        const ITEMS: &[StatusDataItemName] = &[
            StatusDataItemName::Messages,
            StatusDataItemName::UidNext,
            StatusDataItemName::UidValidity,
        ];
        let items = self.io(|c| c.status(mb, Cow::Borrowed(ITEMS)), "STATUS", name)?;
        let mut st = MailboxStatus::default();
        for it in items {
            match it {
                StatusDataItem::Messages(n) => st.messages = n,
                StatusDataItem::UidNext(n) => st.uid_next = Some(n.get()),
                StatusDataItem::UidValidity(n) => st.uid_validity = Some(n.get()),
                _ => {}
            }
        }
        Ok(st)
    }

    /// EXAMINE (read-only; never SELECT: the migration changes nothing
    /// through a selected mailbox). Call [`Self::unselect`] afterwards.
    pub fn examine(&mut self, name: &str) -> Result<ExamineInfo, ImapError> {
        let mb = unicode_mailbox(name)?;
        let d = self.io(
            |c| c.examine(mb, ImapMailboxExamineOptions::default()),
            "EXAMINE",
            name,
        )?;
        self.selected = true;
        Ok(ExamineInfo {
            uid_validity: d.uid_validity.map(NonZeroU32::get),
            flags: d.flags.map(|v| v.iter().map(|f| f.to_string()).collect()),
            permanent_flags: d.permanent_flags.map(|v| {
                v.iter()
                    .map(|f| match f {
                        FlagPerm::Flag(f) => f.to_string(),
                        FlagPerm::Asterisk => "\\*".to_string(),
                    })
                    .collect()
            }),
        })
    }

    /// SELECT (read-write): only for `sync`'s flag changes, which store
    /// flags and never `\Deleted`. Leave it with [`Self::unselect`] (with
    /// nothing marked `\Deleted` by us, CLOSE expunges nothing of ours).
    pub fn select(&mut self, name: &str) -> Result<ExamineInfo, ImapError> {
        let mb = unicode_mailbox(name)?;
        let d = self.io(
            |c| c.select(mb, ImapMailboxSelectOptions::default()),
            "SELECT",
            name,
        )?;
        self.selected = true;
        Ok(ExamineInfo {
            uid_validity: d.uid_validity.map(NonZeroU32::get),
            flags: None,
            permanent_flags: None,
        })
    }

    /// `UID FETCH set (items)` in the examined mailbox.
    pub(super) fn uid_fetch(
        &mut self,
        set: SequenceSet,
        items: Vec<MessageDataItemName<'static>>,
        what: &'static str,
    ) -> Result<BTreeMap<NonZeroU32, Vec1<MessageDataItem<'static>>>, ImapError> {
        self.io(
            |c| {
                c.fetch(
                    set,
                    MacroOrMessageDataItemNames::MessageDataItemNames(items),
                    ImapMessageFetchOptions {
                        uid: true,
                        modifiers: vec![],
                    },
                )
            },
            "UID FETCH",
            what,
        )
    }

    /// `UID FETCH from:* (UID RFC822.SIZE)` in the examined mailbox: the
    /// messages with a UID ≥ `from`, with their sizes.
    pub fn uid_sizes_from(&mut self, from: u32) -> Result<Vec<(u32, u64)>, ImapError> {
        let from_nz =
            NonZeroU32::new(from.max(1)).ok_or_else(|| ImapError::Invalid("UID 0".into()))?;
        let set = SequenceSet::from(from_nz..);
        let items = vec![MessageDataItemName::Uid, MessageDataItemName::Rfc822Size];
        let res = self.uid_fetch(set, items, "RFC822.SIZE")?;
        let mut out = Vec::new();
        for (_seq, items) in res {
            let (mut uid, mut size) = (None, None);
            for it in items.into_iter() {
                match it {
                    MessageDataItem::Uid(u) => uid = Some(u.get()),
                    MessageDataItem::Rfc822Size(n) => size = Some(u64::from(n)),
                    _ => {}
                }
            }
            // `n:*` also returns the last message when n is beyond it.
            if let (Some(u), Some(s)) = (uid, size) {
                if u >= from {
                    out.push((u, s));
                }
            }
        }
        Ok(out)
    }

    /// `UID FETCH uids (UID BODY.PEEK[])` in the examined mailbox, 50 UIDs
    /// at a time: `f` sees each body, which is dropped after it (so memory
    /// holds one chunk, whatever the mailbox's size).
    pub fn uid_bodies_each(
        &mut self,
        uids: &[u32],
        f: &mut dyn FnMut(u32, &[u8]),
    ) -> Result<(), ImapError> {
        self.uid_contents_each(uids, false, f)
    }

    /// As [`Self::uid_bodies_each`] with `BINARY.PEEK[]` (RFC 3516): the
    /// content with the transfer encodings a server applied undone (Dovecot
    /// returns a binary part it stored as base64, and NUL as NUL). Only
    /// where the server offers BINARY.
    pub fn uid_binaries_each(
        &mut self,
        uids: &[u32],
        f: &mut dyn FnMut(u32, &[u8]),
    ) -> Result<(), ImapError> {
        self.uid_contents_each(uids, true, f)
    }

    /// `UID FETCH uids (UID BODY.PEEK[HEADER.FIELDS (field)])`, 50 at a
    /// time: each message's lines of that header field, as stored.
    pub fn uid_header_field(
        &mut self,
        uids: &[u32],
        field: &str,
    ) -> Result<Vec<(u32, Vec<u8>)>, ImapError> {
        let name = AString::try_from(field.to_string())
            .map_err(|e| ImapError::Invalid(format!("{field}: {e}")))?;
        let mut out = Vec::new();
        for chunk in uids.chunks(50) {
            let Some(set) = uid_set(chunk)? else {
                continue;
            };
            let items = vec![
                MessageDataItemName::Uid,
                MessageDataItemName::BodyExt {
                    section: Some(Section::HeaderFields(None, Vec1::from(name.clone()))),
                    partial: None,
                    peek: true,
                },
            ];
            for (_seq, items) in self.uid_fetch(set, items, "BODY.PEEK[HEADER.FIELDS]")? {
                let (mut uid, mut lines) = (None, None);
                for it in items.into_iter() {
                    match it {
                        MessageDataItem::Uid(u) => uid = Some(u.get()),
                        MessageDataItem::BodyExt { data, .. } => {
                            lines = Some(data.0.map(|s| s.as_ref().to_vec()).unwrap_or_default())
                        }
                        _ => {}
                    }
                }
                if let (Some(uid), Some(lines)) = (uid, lines) {
                    out.push((uid, lines));
                }
            }
        }
        Ok(out)
    }

    /// [`Self::uid_bodies_each`] for messages of known sizes (UID, RFC822.SIZE):
    /// as many to a FETCH as fit in 8 MiB (at most 1000, at least one), so
    /// a check of thousands of small messages over a long link takes a few
    /// round trips, not one per 50; memory holds one such chunk.
    pub fn uid_bodies_each_sized(
        &mut self,
        sized: &[(u32, u64)],
        f: &mut dyn FnMut(u32, &[u8]),
    ) -> Result<(), ImapError> {
        let chunks = size_chunks(sized, 8 << 20, 1000);
        let chunks: Vec<&[u32]> = chunks.iter().map(Vec::as_slice).collect();
        self.uid_contents_chunks(&chunks, false, f)
    }

    fn uid_contents_each(
        &mut self,
        uids: &[u32],
        binary: bool,
        f: &mut dyn FnMut(u32, &[u8]),
    ) -> Result<(), ImapError> {
        let chunks: Vec<&[u32]> = uids.chunks(50).collect();
        self.uid_contents_chunks(&chunks, binary, f)
    }

    fn uid_contents_chunks(
        &mut self,
        chunks: &[&[u32]],
        binary: bool,
        f: &mut dyn FnMut(u32, &[u8]),
    ) -> Result<(), ImapError> {
        for chunk in chunks.iter().copied() {
            let Some(set) = uid_set(chunk)? else {
                continue;
            };
            let content = if binary {
                MessageDataItemName::Binary {
                    section: Vec::new(),
                    partial: None,
                    peek: true,
                }
            } else {
                MessageDataItemName::BodyExt {
                    section: None::<Section<'static>>,
                    partial: None,
                    peek: true,
                }
            };
            let items = vec![MessageDataItemName::Uid, content];
            let what = if binary {
                "BINARY.PEEK[]"
            } else {
                "BODY.PEEK[]"
            };
            let res = self.uid_fetch(set, items, what)?;
            for (_seq, items) in res {
                let (mut uid, mut body) = (None, None);
                for it in items.into_iter() {
                    match it {
                        MessageDataItem::Uid(u) => uid = Some(u.get()),
                        MessageDataItem::BodyExt { data, .. } => {
                            body = data.0.map(|s| s.as_ref().to_vec())
                        }
                        MessageDataItem::Binary { value, .. } => {
                            body = match value {
                                NString8::NString(n) => n.0.map(|s| s.as_ref().to_vec()),
                                NString8::Literal8(l) => Some(l.data.to_vec()),
                            }
                        }
                        _ => {}
                    }
                }
                if let (Some(u), Some(b)) = (uid, body) {
                    f(u, &b);
                }
            }
        }
        Ok(())
    }

    /// `UID FETCH uids (UID RFC822.SIZE INTERNALDATE)` in the examined
    /// mailbox: (UID, size, internal date as Unix seconds). Every chunk of
    /// 200 UIDs in one flight ([`batch`]); one by one when the flight
    /// cannot say it.
    pub fn uid_sizes_dates(&mut self, uids: &[u32]) -> Result<Vec<SizeDate>, ImapError> {
        match self.uid_sizes_dates_pipelined(uids) {
            Err(ImapError::Invalid(why)) => {
                tracing::debug!("{}: UID FETCH one chunk at a time: {why}", self.server);
                self.uid_sizes_dates_serial(uids)
            }
            r => r,
        }
    }

    fn uid_sizes_dates_serial(&mut self, uids: &[u32]) -> Result<Vec<SizeDate>, ImapError> {
        let mut out = Vec::new();
        for chunk in uids.chunks(200) {
            let Some(set) = uid_set(chunk)? else {
                continue;
            };
            let items = vec![
                MessageDataItemName::Uid,
                MessageDataItemName::Rfc822Size,
                MessageDataItemName::InternalDate,
            ];
            let res = self.uid_fetch(set, items, "RFC822.SIZE INTERNALDATE")?;
            for (_seq, items) in res {
                let (mut uid, mut size, mut date) = (None, None, None);
                for it in items.into_iter() {
                    match it {
                        MessageDataItem::Uid(u) => uid = Some(u.get()),
                        MessageDataItem::Rfc822Size(n) => size = Some(u64::from(n)),
                        MessageDataItem::InternalDate(d) => date = Some(d.as_ref().timestamp()),
                        _ => {}
                    }
                }
                if let (Some(u), Some(s)) = (uid, size) {
                    out.push((u, s, date));
                }
            }
        }
        Ok(out)
    }

    /// `UID SEARCH UID from:* HEADER name value` in the examined mailbox
    /// (a substring match, case-insensitive, RFC 3501 §6.4.4).
    pub fn uid_search_header(
        &mut self,
        from: u32,
        name: &str,
        value: &str,
    ) -> Result<Vec<u32>, ImapError> {
        let from_nz =
            NonZeroU32::new(from.max(1)).ok_or_else(|| ImapError::Invalid("UID 0".into()))?;
        let set = SequenceSet::from(from_nz..);
        let astr = |s: &str| {
            AString::try_from(s.to_string()).map_err(|e| ImapError::Invalid(format!("{s:?}: {e}")))
        };
        let criteria = Vec1::try_from(vec![
            SearchKey::Uid(set),
            SearchKey::Header(astr(name)?, astr(value)?),
        ])
        .map_err(|e| ImapError::Invalid(format!("{e:?}")))?;
        let ids = self.io(
            |c| c.search(criteria, ImapMessageSearchOptions { uid: true }),
            "UID SEARCH",
            name,
        )?;
        Ok(ids.into_iter().map(NonZeroU32::get).collect())
    }

    /// `UID SEARCH UID from:* OR (HEADER name v1) (OR …)`: the UIDs from
    /// `from` on whose `name` header contains any of `values` (one round
    /// trip for all of them; which value matched is not told).
    pub fn uid_search_any_header(
        &mut self,
        from: u32,
        name: &str,
        values: &[String],
    ) -> Result<Vec<u32>, ImapError> {
        let from_nz =
            NonZeroU32::new(from.max(1)).ok_or_else(|| ImapError::Invalid("UID 0".into()))?;
        let astr = |s: &str| {
            AString::try_from(s.to_string()).map_err(|e| ImapError::Invalid(format!("{s:?}: {e}")))
        };
        let mut keys = Vec::with_capacity(values.len());
        for v in values {
            keys.push(SearchKey::Header(astr(name)?, astr(v)?));
        }
        // A balanced OR tree: its depth grows with the log of the count.
        while keys.len() > 1 {
            let mut next = Vec::with_capacity(keys.len().div_ceil(2));
            let mut it = keys.into_iter();
            while let Some(a) = it.next() {
                next.push(match it.next() {
                    Some(b) => SearchKey::Or(Box::new(a), Box::new(b)),
                    None => a,
                });
            }
            keys = next;
        }
        let Some(any) = keys.pop() else {
            return Ok(Vec::new());
        };
        let criteria = Vec1::try_from(vec![SearchKey::Uid(SequenceSet::from(from_nz..)), any])
            .map_err(|e| ImapError::Invalid(format!("{e:?}")))?;
        let ids = self.io(
            |c| c.search(criteria, ImapMessageSearchOptions { uid: true }),
            "UID SEARCH",
            name,
        )?;
        Ok(ids.into_iter().map(NonZeroU32::get).collect())
    }

    /// LOGOUT, then the connection is closed (errors ignored by callers: it
    /// ends either way).
    pub fn logout(mut self) -> Result<(), ImapError> {
        if self.broken.is_some() {
            return Ok(());
        }
        // Not waited for: every command before it has its answer, so the
        // server's BYE and OK could change nothing, and on a long link the
        // wait was the run's last round trip (one per session). The write
        // side is closed after it: the server reads LOGOUT, then the end.
        let stream = self.stream();
        stream
            .write_all(b"KZ1 LOGOUT\r\n")
            .and_then(|()| stream.flush())
            .map_err(|e| self.mark_broken(format!("LOGOUT: {}", io_msg(&e))))?;
        if let Some(conn) = self.stream().as_any_mut().downcast_mut::<Conn>() {
            conn.close_write();
        }
        Ok(())
    }
}

/// The four system flags we map, of a FETCH's FLAGS.
fn fetched_flags(list: &[imap_next::imap_types::flag::FlagFetch<'_>]) -> crate::model::MailFlags {
    use imap_next::imap_types::flag::{Flag, FlagFetch};
    let mut flags = crate::model::MailFlags::default();
    for f in list {
        match f {
            FlagFetch::Flag(Flag::Seen) => flags.seen = true,
            FlagFetch::Flag(Flag::Answered) => flags.answered = true,
            FlagFetch::Flag(Flag::Flagged) => flags.flagged = true,
            FlagFetch::Flag(Flag::Draft) => flags.draft = true,
            _ => {}
        }
    }
    flags
}

/// The tagged answer to `command` (sent with `tag`) in `text`: `Ok` for
/// OK, else the NO / BAD (no tagged line at all counts as BAD).
pub(crate) fn tagged_status(
    server: &str,
    tag: &str,
    command: &'static str,
    text: &str,
) -> Result<(), ImapError> {
    let prefix = format!("{tag} ");
    let tagged = text
        .lines()
        .rev()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_default()
        .trim_end();
    let answer = &tagged[prefix.len().min(tagged.len())..];
    let (word, rest) = answer.split_once(' ').unwrap_or((answer, ""));
    let kind = if word.eq_ignore_ascii_case("OK") {
        return Ok(());
    } else if word.eq_ignore_ascii_case("NO") {
        Refusal::No
    } else {
        Refusal::Bad
    };
    Err(ImapError::Command {
        server: server.to_string(),
        cmd: command.split(' ').next().unwrap_or(command),
        what: String::new(),
        kind,
        code: None,
        text: rest.to_string(),
    })
}

/// UIDs per `UID STORE` (keeps the command line short).
const STORE_CHUNK: usize = 500;

/// A UID set of the non-zero UIDs of `chunk` (`None` when there are none).
pub(super) fn uid_set(chunk: &[u32]) -> Result<Option<SequenceSet>, ImapError> {
    let list: Vec<NonZeroU32> = chunk.iter().filter_map(|u| NonZeroU32::new(*u)).collect();
    if list.is_empty() {
        return Ok(None);
    }
    SequenceSet::try_from(list)
        .map(Some)
        .map_err(|e| ImapError::Invalid(e.to_string()))
}

fn authenticate(
    client: &mut ImapClientStd,
    server: &str,
    caps: &Capabilities,
    creds: &Credentials,
    tokens: &TokenCache,
    refresh_token: bool,
) -> Result<Vec<String>, ImapError> {
    let user = creds.user().to_string();
    check_sendable("the login", &user)?;
    let map = |cmd: &'static str, e| map_client_err(server, cmd, &user, e);
    let observed = match creds {
        Credentials::Password {
            user: login,
            password,
            mech,
        } => {
            check_sendable("the password", expose(password))?;
            let plain = match mech {
                AuthMech::Plain => true,
                AuthMech::Login => false,
                AuthMech::Auto => caps.has_auth("PLAIN") || caps.login_disabled,
            };
            if plain {
                let opts = ImapAuthPlainOptions {
                    initial_request: caps.sasl_ir,
                    ..Default::default()
                };
                client
                    .auth_plain(None, login, expose(password), opts)
                    .map_err(|e| map("AUTHENTICATE PLAIN", e))?
            } else {
                if caps.login_disabled {
                    return Err(ImapError::Auth {
                        server: server.to_string(),
                        user,
                        detail: "the server advertises LOGINDISABLED (use --auth plain)".into(),
                    });
                }
                client
                    .login(login, expose(password), ImapLoginOptions::default())
                    .map_err(|e| map("LOGIN", e))?
            }
        }
        Credentials::Master {
            authzid,
            authcid,
            password,
        } => {
            check_sendable("the admin login", authcid)?;
            check_sendable("the admin password", expose(password))?;
            let opts = ImapAuthPlainOptions {
                initial_request: caps.sasl_ir,
                ..Default::default()
            };
            client
                .auth_plain(Some(authzid), authcid, expose(password), opts)
                .map_err(|e| map("AUTHENTICATE PLAIN", e))?
        }
        Credentials::OAuth2 {
            user: login,
            source,
            token,
        } => {
            let t = tokens.get(login, source, token, refresh_token)?;
            let opts = ImapAuthXoauth2Options {
                initial_request: caps.sasl_ir,
                ..Default::default()
            };
            client
                .auth_xoauth2(login, expose(&t), opts)
                .map_err(|e| map("AUTHENTICATE XOAUTH2", e))?
        }
    };
    Ok(observed.iter().map(|c| c.to_string()).collect())
}

/// UIDs in order, cut into chunks of at most `count` whose sizes add up to
/// at most `bytes` (a message bigger than that alone).
fn size_chunks(sized: &[(u32, u64)], bytes: u64, count: usize) -> Vec<Vec<u32>> {
    let mut chunks: Vec<Vec<u32>> = Vec::new();
    let mut used = 0u64;
    for &(uid, size) in sized {
        match chunks.last_mut() {
            Some(c) if c.len() < count && used.saturating_add(size) <= bytes => {
                c.push(uid);
                used = used.saturating_add(size);
            }
            _ => {
                chunks.push(vec![uid]);
                used = size;
            }
        }
    }
    chunks
}

#[cfg(test)]
mod size_chunk_tests {
    use super::size_chunks;

    #[test]
    fn chunks_hold_a_byte_and_a_count_bound_and_every_uid_once_in_order() {
        let sized = [(1, 4), (2, 4), (3, 4), (5, 20), (6, 1), (7, 1), (8, 1)];
        assert_eq!(
            size_chunks(&sized, 10, 2),
            vec![vec![1, 2], vec![3], vec![5], vec![6, 7], vec![8]]
        );
        assert_eq!(
            size_chunks(&sized, 100, 1000),
            vec![vec![1, 2, 3, 5, 6, 7, 8]]
        );
        assert!(size_chunks(&[], 10, 2).is_empty());
    }
}
