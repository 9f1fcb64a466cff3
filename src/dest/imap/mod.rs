//! The IMAP target: injects prepared messages into any IMAP server with
//! pipelined APPEND (MULTIAPPEND where offered), keeping their flags and
//! internal dates, so that an interrupted run can be rerun without
//! duplicates.
//!
//! # Layout
//! - [`conn`] — TCP with timeouts and TCP_NODELAY; TLS (native-tls),
//!   implicit or after STARTTLS; `--tls-ca`, `--insecure`.
//! - [`auth`] — credentials (password via LOGIN / AUTHENTICATE PLAIN, admin
//!   or master login via SASL PLAIN with an authorization identity,
//!   XOAUTH2 with a token from a file or a command).
//! - [`accounts`] — the `--accounts FILE.csv` mapping and secret references.
//! - `gate` — one login attempt per credential until the server took it:
//!   a refused password is not sent again by the run's other sessions.
//! - [`caps`] — capabilities.
//! - `client` — one connection and its control commands (io-imap 0.7.1).
//! - `core` — the sans-I/O protocol core (no socket, clock or thread): the
//!   append pipe (imap-codec encodings, imap-next 0.3.4 as the response
//!   parser), `decide` (retry, split, recreate, pause, fail, stop), the
//!   lost-connection decision, one connection's queue (`lane`), the
//!   dispatcher with an injected clock, claims, matching, the marker, the
//!   byte budget. Tested with scripted server bytes.
//! - `worker` — the threads and sockets of `deliver`: carries bytes between
//!   a socket and the core, sleeps, reconnects, checks the server.
//! - `folders` — what a session learns of the server's folders first:
//!   NAMESPACE, `LIST … RETURN (SPECIAL-USE)`, the product its greeting
//!   names (the decisions are `core::layout` and `core::names`).
//! - `stored` — reading back the stored sizes (and 8-bit headers) of what
//!   was appended, and for plain `verify` (the decision is `core::stored`).
//! - `reconcile` — reading the server for messages whose arrival is in
//!   doubt (the decision is `core::matching`).
//! - `adopt` — reading the messages of a mailbox no journal row accounts
//!   for (an empty, lost or copied journal, another URL), and looking for
//!   each message among them before it is appended (`core::adopt`).
//! - `verify` — checking journaled messages on the server.
//! - `target` — what the sessions of one target login share: the
//!   account is full; which source folder has which mailbox name (a
//!   refused name's substitute is one folder's alone).
//! - `session` — the [`DestSession`]: the
//!   control connection, the folder mapping, prepared mailboxes, claims.
//!
//! No io-imap, imap-next or imap-types type leaves this module. The
//! versions are pinned with `=` in Cargo.toml: the workarounds below depend
//! on their behaviour; rerun `cargo test imap` on every bump.
//!
//! # Library traps and what we do (verified against Dovecot 2.3)
//! 1. imap-next 0.3.4 waits forever when a server answers a synchronising
//!    literal with a tagged NO instead of `+`: we keep our own send queue
//!    and use imap-next only to parse responses.
//! 2. `APPEND … {n+}` answered with BAD (invalid flag) makes Dovecot read
//!    the literal's lines as commands: we only send the four system flags,
//!    and a BAD to a `{n+}` command drops the connection.
//! 3. io-imap's `starttls()` cannot follow `greeting()` and ignores NO:
//!    STARTTLS is sent raw; bytes after its OK are refused (injection).
//! 4. io-imap's errors drop response codes: mailbox creation is decided by
//!    LIST; the APPEND path reads codes itself.
//! 5. imap-codec knows one APPENDUID UID: MULTIAPPEND ranges are parsed here.
//! 6. NUL cannot go in a literal: literal8 with BINARY, else `--nul`
//!    (strip by default, or skip). Dovecot 2.3 keeps the NUL but serves it
//!    as 0x80 in `BODY[]`, so reconciliation hashes with NUL and 0x80
//!    folded together; and it re-encodes each `Content-Transfer-Encoding:
//!    binary` part that arrives in a literal8 as base64, so such messages
//!    are also matched by decoded content (`core::identity`).
//! 7. imap-types prints secrets in debug builds at TRACE: the CLI caps the
//!    `io_imap`, `imap_next`, `imap_codec` and `imap_types` log targets at
//!    DEBUG.
//! 8. Mailbox names go out in modified UTF-7 ([`crate::mutf7`]),
//!    which is printable ASCII: quoting is imap-codec's, and no folder name
//!    can produce a second command. io-imap encodes every name it sends,
//!    so `ENABLE UTF8=ACCEPT` is not used: after it a server takes
//!    modified UTF-7 literally (Courier creates `INBOX.Cr&AOk-dit`).
//! 9. NAMESPACE, `LIST … RETURN (SPECIAL-USE)` and ENABLE cannot be
//!    expressed with io-imap: they are sent raw (`client::raw_command`,
//!    constant commands only) and parsed by `core::layout`.
//!
//! # Policies
//! - Dates before 1970 are sent as 01-Jan-1970 00:00:00 +0000, dates in the
//!   future as now; both are counted in a folder note.
//! - Flags `\Seen \Answered \Flagged \Draft` as far as the mailbox's
//!   PERMANENTFLAGS allow (learnt with EXAMINE on the control connection;
//!   as EXAMINE is read-only, an empty PERMANENTFLAGS falls back to FLAGS);
//!   never `\Deleted`.
//! - Over APPENDLIMIT, `[TOOBIG]`, `[LIMIT]`, any NO without a retryable
//!   code: the message fails with the server's words, the run goes on.
//!   `[THROTTLED]` / `[UNAVAILABLE]`: pause (the server's "Suggested Backoff
//!   Time" or 1 s, 2 s, 4 s …) and send again. `[OVERQUOTA]`: waiting does
//!   not help, so the account stops with that reason (its other items are
//!   reported failed). BYE, EOF, a reset: reconnect with backoff, check what
//!   arrived (see below), send only what is certainly not there. A read or
//!   write timeout is different: the server may be slow rather than gone
//!   and still store what it was sent after any check, so what was sent on
//!   that connection is reported failed "arrival in doubt", is not sent
//!   again in this run and stays pending for the next run's check.
//! - `--max-bytes-per-day`: per target account, over any 24 hours of this
//!   process; when used up, what fits is sent and the account waits (the
//!   time is logged); Ctrl-C / SIGTERM or the account stopping (over
//!   quota, no connection) end the wait.
//! - `[OVERQUOTA]` on one session stops every session of that target
//!   login at once (`target`): they hand out nothing more, and what they
//!   have not sent fails with the over-quota reason, not with a refusal
//!   each; other logins go on.
//! - `#public@domain` accounts are migrated only when mapped (a CSV row or
//!   `--public-to`), below `--public-prefix`; otherwise they are skipped as
//!   "not mapped".
//! - Crash safety: each group of messages is announced as Pending with a
//!   marker `{"imap":1,"uv":UIDVALIDITY,"un":lowest UID}` before it is sent,
//!   and nothing of a group the journal could not record is sent. The next
//!   run's `reconcile` looks in the mailbox each item was sent to (not where
//!   the mapping puts its folder now), by content among the UIDs from the
//!   marker on (or everywhere if UIDVALIDITY changed). Byte-identical
//!   messages are never matched to a copy the journal gives to another
//!   item (their UIDs are excluded; copies without a UID, from servers
//!   without UIDPLUS, are counted); the check after a lost connection does
//!   the same with this run's UIDs and counts, and with messages still in
//!   flight on other connections. A server that rewrites what it stores is
//!   searched by Message-ID (`UID SEARCH HEADER`, size and INTERNALDATE
//!   plausible). What cannot be decided is reported failed "arrival in
//!   doubt", never sent again blindly, and left pending for the next run.
//!   A check that finds a message absent reads once more after 1.5 s (the
//!   server side of the dead connection may still be committing); binary
//!   parts the server re-encoded match by decoded content.
//! - An empty journal is no proof of an empty mailbox: a mailbox holding
//!   messages that no journal row (nor this run) accounts for is read
//!   before appending, and each message found there (bytes, decoded
//!   content, Message-ID, or the Date/From/Subject/Received fingerprint;
//!   size and date plausible) is reported already present, with a note.
//!   The journal knows the store by the login and INBOX's UIDVALIDITY, so
//!   rows written under another URL of the same server are taken over.

pub mod accounts;
mod adopt;
pub mod auth;
pub mod caps;
mod client;
pub mod conn;
mod connect;
mod core;
pub mod error;
mod folders;
#[doc(hidden)]
pub mod fuzzing;
mod gate;
mod inventory;
mod reconcile;
mod session;
mod spare;
mod stored;
mod target;
mod verify;
mod worker;

pub use self::core::append::Window;
pub use self::core::budget::ByteBudget;
pub use accounts::{parse_accounts_csv, AccountRow, AccountsError, SecretRef};
pub use auth::{AuthMech, Credentials, TokenCache, TokenSource};
pub use caps::Capabilities;
pub use conn::{ConnectConfig, TlsMode};
pub use error::{ImapError, RespCode};

use crate::dest::{DestError, DestSession, Destination};
use crate::model::Account;
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// What to do with NUL bytes when the server has no BINARY.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NulPolicy {
    /// Remove the NUL bytes and send the rest (reported per folder).
    #[default]
    Strip,
    /// Do not send the message (reported as skipped).
    Skip,
}

/// Behaviour of the IMAP target.
#[derive(Clone, Debug)]
pub struct ImapOptions {
    /// Append connections per account (shared by its sessions when
    /// folders are migrated in parallel, see `Destination::folder_sessions`).
    pub connections: usize,
    /// Single APPENDs in flight per connection.
    pub window: usize,
    /// Bytes in flight per connection at the start.
    pub window_bytes: usize,
    /// `--window-max`: the most commands in flight per connection once
    /// the window has grown.
    pub window_max: usize,
    /// `--window-bytes-max`: the most bytes in flight per connection.
    pub window_bytes_max: usize,
    /// Use MULTIAPPEND when the server offers it.
    pub multiappend: bool,
    /// Messages per MULTIAPPEND batch.
    pub batch: usize,
    /// Bytes per MULTIAPPEND batch.
    pub batch_bytes: usize,
    /// MULTIAPPEND commands in flight per connection.
    pub multi_in_flight: usize,
    /// NUL bytes without BINARY.
    pub nul: NulPolicy,
    /// `--max-bytes-per-day` (per target account).
    pub max_bytes_per_day: Option<u64>,
    /// Reconnections / resends before a message fails.
    pub retries: u32,
    /// Longest pause between attempts.
    pub backoff_max: Duration,
    /// `--tag-messages`: a message with no usable identity (no Message-ID,
    /// no Date/From/Subject) gets an `X-Kerio-Migrate-Id` header first.
    pub tag_messages: bool,
    /// Folder mapping (special folders, presets, rules, prefix).
    pub mapping: crate::mapping::MappingConfig,
}

impl Default for ImapOptions {
    fn default() -> Self {
        ImapOptions {
            connections: 4,
            window: 64,
            window_bytes: 16 << 20,
            window_max: 1024,
            window_bytes_max: 64 << 20,
            multiappend: true,
            batch: 50,
            batch_bytes: 8 << 20,
            multi_in_flight: 16,
            nul: NulPolicy::Strip,
            max_bytes_per_day: None,
            retries: 5,
            backoff_max: Duration::from_secs(60),
            tag_messages: false,
            mapping: crate::mapping::MappingConfig::default(),
        }
    }
}

/// The target login of one source account.
#[derive(Clone, Debug)]
pub struct AccountLogin {
    /// Login on the target.
    pub target_user: String,
    /// Its password (`None`: the admin login, or no credentials).
    pub secret: Option<SecretString>,
    /// Why the secret its row names could not be read (a file that is
    /// missing, too long, or not a regular file): the account fails with
    /// this reason.
    pub secret_error: Option<String>,
}

/// How source accounts log in on the target.
#[derive(Clone, Debug, Default)]
pub struct Logins {
    /// Explicit mappings, by lower-case source account.
    pub accounts: HashMap<String, AccountLogin>,
    /// Admin / master login (`--admin-user`): SASL PLAIN with authzid.
    pub admin: Option<(String, SecretString)>,
    /// XOAUTH2 token source (wins over passwords).
    pub oauth2: Option<TokenSource>,
    /// Password mechanism.
    pub mech: AuthMech,
    /// `--public-to`: the login that receives unmapped `#public` accounts.
    pub public_to: Option<String>,
    /// Folder prefix for public folders (`Public`).
    pub public_prefix: String,
}

impl Logins {
    /// The credentials of a source account, and its folder prefix.
    pub fn resolve(&self, account: &Account) -> Result<(Credentials, Option<String>), DestError> {
        let id = account.id();
        let row = self.accounts.get(&id.to_lowercase());
        let (user, prefix) = if account.public {
            let Some(user) = row
                .map(|r| r.target_user.clone())
                .or_else(|| self.public_to.clone())
            else {
                return Err(DestError::NotMapped(
                    "public folders are migrated only when mapped: add a row to --accounts or use --public-to LOGIN".into(),
                ));
            };
            let p = self.public_prefix.trim_matches('/').to_string();
            (user, (!p.is_empty()).then_some(p))
        } else {
            (
                row.map(|r| r.target_user.clone())
                    .unwrap_or_else(|| id.clone()),
                None,
            )
        };
        let creds = if let Some(t) = &self.oauth2 {
            Credentials::OAuth2 {
                user,
                source: id,
                token: t.clone(),
            }
        } else if let Some(pw) = row.and_then(|r| r.secret.clone()) {
            Credentials::Password {
                user,
                password: pw,
                mech: self.mech,
            }
        } else if let Some(e) = row.and_then(|r| r.secret_error.as_deref()) {
            return Err(DestError::Credentials(format!(
                "the secret of {id} (target login {user}) cannot be read: {e}"
            )));
        } else if let Some((admin, pw)) = &self.admin {
            Credentials::Master {
                authzid: user,
                authcid: admin.clone(),
                password: pw.clone(),
            }
        } else {
            return Err(DestError::Credentials(format!(
                "no credentials for {id} (target login {user}): give its secret in --accounts (env:VAR or file:PATH), or use --admin-user"
            )));
        };
        Ok((creds, prefix))
    }
}

/// An IMAP server as a migration target.
pub struct ImapDest {
    cfg: ConnectConfig,
    opts: ImapOptions,
    logins: Logins,
    tokens: Arc<TokenCache>,
    gate: Arc<gate::LoginGate>,
    cancel: Arc<AtomicBool>,
    budgets: std::sync::Mutex<HashMap<String, Arc<ByteBudget>>>,
    /// What the sessions of each target login share, by login (lower case).
    targets: std::sync::Mutex<HashMap<String, Arc<target::Target>>>,
    /// What each account's sessions learnt of the server's folders, by
    /// account and login (lower case).
    learned: std::sync::Mutex<HashMap<(String, String), Arc<folders::Learned>>>,
    metrics: std::sync::OnceLock<Arc<crate::progress::metrics::Metrics>>,
    /// The probe's connection, for the run's first login.
    spare: Arc<spare::Spare>,
}

impl ImapDest {
    /// A target; `cancel` (Ctrl-C) cuts waits short.
    pub fn new(
        cfg: ConnectConfig,
        opts: ImapOptions,
        logins: Logins,
        cancel: Arc<AtomicBool>,
    ) -> ImapDest {
        ImapDest {
            metrics: std::sync::OnceLock::new(),
            spare: Arc::default(),
            cfg,
            opts,
            logins,
            tokens: Arc::new(TokenCache::default()),
            gate: Arc::default(),
            cancel,
            budgets: std::sync::Mutex::new(HashMap::new()),
            targets: std::sync::Mutex::new(HashMap::new()),
            learned: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Connects without logging in (TCP, TLS, greeting, STARTTLS): checks
    /// the address and the certificate before a run. Returns the
    /// capabilities the server shows before login. The connection is kept
    /// for the run's first login (see [`spare::Spare`]).
    pub fn probe(&self) -> Result<Capabilities, ImapError> {
        client::probe(&self.cfg, &self.spare)
    }

    /// The `--max-bytes-per-day` budget of a target login (lower case),
    /// shared by every session and account that logs in as it.
    fn budget(&self, login: &str) -> Arc<ByteBudget> {
        let mut b = self.budgets.lock().unwrap_or_else(|p| p.into_inner());
        b.entry(login.to_string())
            .or_insert_with(|| Arc::new(ByteBudget::new(self.opts.max_bytes_per_day)))
            .clone()
    }
}

impl Destination for ImapDest {
    fn id(&self) -> String {
        let scheme = match self.cfg.tls {
            TlsMode::Implicit => "imaps",
            TlsMode::StartTls | TlsMode::None => "imap",
        };
        format!("{scheme}://{}", self.cfg.server())
    }

    fn folder_sessions(&self, wanted: usize) -> usize {
        // Gmail counts at most 15 connections per account, over every
        // client of the user: its folders go one after another.
        let host = self.cfg.host.to_ascii_lowercase();
        if ["gmail.com", "googlemail.com"]
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        {
            return 1;
        }
        // Every session needs one append connection of the account's.
        wanted.clamp(1, self.opts.connections.max(1))
    }

    fn attach_metrics(&self, metrics: &Arc<crate::progress::metrics::Metrics>) {
        let _ = self.metrics.set(metrics.clone());
    }

    fn open(&self, account: &Account) -> Result<Box<dyn DestSession>, DestError> {
        self.open_expecting(account, None)
    }

    fn spent_earlier(&self, account: &Account, sent: &[(std::time::Duration, u64)]) -> Option<u64> {
        self.opts.max_bytes_per_day?;
        // The budget is the target login's: accounts sharing a login add up.
        let (creds, _) = self.logins.resolve(account).ok()?;
        let budget = self.budget(&creds.user().to_lowercase());
        Some(budget.seed(sent, std::time::Instant::now()))
    }

    fn open_expecting(
        &self,
        account: &Account,
        work: Option<(usize, usize)>,
    ) -> Result<Box<dyn DestSession>, DestError> {
        let (creds, prefix) = self.logins.resolve(account)?;
        let budget = self.budget(&creds.user().to_lowercase());
        let target = {
            let mut t = self.targets.lock().unwrap_or_else(|p| p.into_inner());
            t.entry(creds.user().to_lowercase()).or_default().clone()
        };
        let learned = {
            let mut l = self.learned.lock().unwrap_or_else(|p| p.into_inner());
            l.entry((account.id(), creds.user().to_lowercase()))
                .or_default()
                .clone()
        };
        let describe = creds.describe();
        // The label progress gives the account, so both count in one place.
        let link = match self.metrics.get() {
            Some(m) => m.account(&crate::text::escape_controls(&account.id())),
            None => Arc::default(),
        };
        let shared = Arc::new(connect::Shared {
            link,
            cfg: self.cfg.clone(),
            opts: self.opts.clone(),
            creds,
            tokens: self.tokens.clone(),
            gate: self.gate.clone(),
            spare: self.spare.clone(),
            target,
            cancel: self.cancel.clone(),
            budget,
            learned,
        });
        let s = session::ImapAccountSession::open(shared, account.id(), prefix, work)
            .map_err(|e| dest_error(&e, format!("{} → {describe}: {e}", account.id())))?;
        Ok(Box::new(s))
    }
}

/// The destination error of an IMAP error, by what a caller can do about
/// it; `text` is what the report says (with the account's context).
pub(crate) fn dest_error(e: &ImapError, text: String) -> DestError {
    match e {
        ImapError::Resolve { .. } | ImapError::Connect { .. } | ImapError::Connection { .. } => {
            DestError::Connection(text)
        }
        ImapError::Auth { .. } | ImapError::Token(_) => DestError::Credentials(text),
        ImapError::TlsConfig(_)
        | ImapError::TlsHandshake { .. }
        | ImapError::StartTlsUnavailable(_)
        | ImapError::StartTlsInjection(_) => DestError::Unreachable(text),
        ImapError::Command { .. } | ImapError::Invalid(_) => DestError::Protocol(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(local: &str, public: bool) -> Account {
        Account {
            domain: "example.com".into(),
            local: local.into(),
            dir: "/x".into(),
            public,
        }
    }

    #[test]
    fn logins() {
        let mut l = Logins {
            public_prefix: "Public/".into(),
            ..Logins::default()
        };
        // No credentials at all: an account error, not a crash.
        assert!(matches!(
            l.resolve(&acct("alice", false)),
            Err(DestError::Credentials(_))
        ));
        assert!(matches!(
            l.resolve(&acct("#public", true)),
            Err(DestError::NotMapped(_))
        ));
        l.admin = Some(("admin".into(), SecretString::from("pw".to_string())));
        let (c, p) = l.resolve(&acct("alice", false)).expect("admin");
        assert!(
            matches!(&c, Credentials::Master { authzid, authcid, .. } if authzid == "alice@example.com" && authcid == "admin")
        );
        assert_eq!(p, None);
        l.accounts.insert(
            "bob@example.com".into(),
            AccountLogin {
                target_user: "bob".into(),
                secret: Some(SecretString::from("b".to_string())),
                secret_error: None,
            },
        );
        let (c, _) = l.resolve(&acct("Bob", false)).expect("row");
        assert!(matches!(&c, Credentials::Password { user, .. } if user == "bob"));
        l.public_to = Some("shared".into());
        let (c, p) = l.resolve(&acct("#public", true)).expect("public");
        assert_eq!(c.user(), "shared");
        assert_eq!(p.as_deref(), Some("Public"));
    }
}
