//! Errors of the IMAP target, typed, with the server and what was being
//! done. They become [`crate::dest::DestError`] at the module boundary.

use std::io;

/// A response code the migration acts on (RFC 5530, UIDPLUS, vendors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RespCode {
    /// `[TRYCREATE]`: the mailbox does not exist.
    TryCreate,
    /// `[TOOBIG]`: the message is too large.
    TooBig,
    /// `[LIMIT]`: a server limit (Dovecot: APPENDLIMIT) was hit.
    Limit,
    /// `[OVERQUOTA]`: the account is full.
    OverQuota,
    /// `[THROTTLED]` (Gmail, Microsoft 365): slow down.
    Throttled,
    /// `[UNAVAILABLE]`: temporary failure.
    Unavailable,
    /// `[ALREADYEXISTS]`.
    AlreadyExists,
    /// `[NONEXISTENT]`.
    NonExistent,
    /// Another code, as sent.
    Other(String),
}

impl std::fmt::Display for RespCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            RespCode::TryCreate => "TRYCREATE",
            RespCode::TooBig => "TOOBIG",
            RespCode::Limit => "LIMIT",
            RespCode::OverQuota => "OVERQUOTA",
            RespCode::Throttled => "THROTTLED",
            RespCode::Unavailable => "UNAVAILABLE",
            RespCode::AlreadyExists => "ALREADYEXISTS",
            RespCode::NonExistent => "NONEXISTENT",
            RespCode::Other(s) => s,
        };
        f.write_str(s)
    }
}

/// NO or BAD, shown as the server sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Tagged NO.
    No,
    /// Tagged BAD.
    Bad,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::No => "NO",
            Refusal::Bad => "BAD",
        })
    }
}

/// Errors of the IMAP client layer.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// DNS failed.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// Host name.
        host: String,
        #[source]
        source: io::Error,
    },
    /// TCP connect failed or timed out.
    #[error("TCP connect to {addr} failed: {source}")]
    Connect {
        /// Address tried last.
        addr: String,
        #[source]
        source: io::Error,
    },
    /// The TLS settings are unusable (CA file unreadable, …).
    #[error("TLS configuration: {0}")]
    TlsConfig(String),
    /// The TLS handshake failed for a reason reconnecting does not cure
    /// (certificate, protocol); resets and EOFs are [`ImapError::Connection`].
    #[error("TLS handshake with {server} failed: {detail}{}", if *certificate { " (trust a private CA with --tls-ca FILE; --insecure disables verification)" } else { "" })]
    TlsHandshake {
        /// `host:port`.
        server: String,
        /// What OpenSSL said.
        detail: String,
        /// The certificate did not verify (the only case the hint is for).
        certificate: bool,
    },
    /// STARTTLS required but not offered.
    #[error(
        "{0} does not offer STARTTLS (refusing to continue in clear text; --tls none allows it)"
    )]
    StartTlsUnavailable(String),
    /// Bytes followed the STARTTLS answer in clear text.
    #[error("{0} sent data after the STARTTLS response (possible injection); aborting")]
    StartTlsInjection(String),
    /// Login refused.
    #[error("{server}: authentication as {user} failed: {detail}")]
    Auth {
        /// `host:port`.
        server: String,
        /// The login (never a secret).
        user: String,
        /// The server's answer.
        detail: String,
    },
    /// A command got NO or BAD.
    #[error("{server}: {cmd} {what}: {kind} {}{text}", code.as_ref().map(|c| format!("[{c}] ")).unwrap_or_default())]
    Command {
        /// `host:port`.
        server: String,
        /// The command (`CREATE`, `STATUS`, …).
        cmd: &'static str,
        /// Its argument (mailbox), for context.
        what: String,
        /// NO or BAD.
        kind: Refusal,
        /// The response code, when the library kept it.
        code: Option<RespCode>,
        /// The server's text.
        text: String,
    },
    /// The connection is unusable (EOF, BYE, I/O error, timeout, garbage):
    /// reconnect.
    #[error("{server}: connection lost: {detail}")]
    Connection {
        /// `host:port`.
        server: String,
        /// What happened.
        detail: String,
    },
    /// Something we refuse to send (name with NUL, flat namespace, …).
    #[error("{0}")]
    Invalid(String),
    /// The OAuth2 token could not be obtained.
    #[error("OAuth2 token: {0}")]
    Token(String),
}

impl ImapError {
    /// True for a login refusal that is not a verdict on the credential
    /// (a temporary failure, see [`definite_refusal`]): another attempt may
    /// succeed.
    pub fn is_temporary_auth(&self) -> bool {
        matches!(self, ImapError::Auth { detail, .. } if !definite_refusal(detail))
    }

    /// True when reconnecting may help.
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            ImapError::Connection { .. } | ImapError::Connect { .. } | ImapError::Resolve { .. }
        )
    }

    /// True when the server stopped answering: a read or write that got
    /// no answer within `--io-timeout`, or a connect that timed out. Such
    /// a server is taken as unresponsive, not reconnected to again and
    /// again (see `Session::with_control_keep`, `Shared::connect`).
    pub fn is_stall(&self) -> bool {
        match self {
            ImapError::Connection { detail, .. } => detail.contains("timed out"),
            ImapError::Connect { source, .. } => is_timeout(source),
            _ => false,
        }
    }

    /// Why an account stops once its server stopped answering.
    pub(crate) fn stall_reason(&self) -> String {
        format!(
            "the target stopped answering ({self}); the folders left to this session are not tried"
        )
    }
}

/// True for an expired socket timeout (`SO_RCVTIMEO` / `SO_SNDTIMEO` show
/// up as EAGAIN on Linux).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// An I/O error as text; `SO_RCVTIMEO` expiry shows up as EAGAIN on Linux.
pub(crate) fn io_msg(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => format!("timed out ({e})"),
        _ => e.to_string(),
    }
}

/// False for an authentication failure that is not a verdict on the
/// credential: a temporary one (Dovecot's `NO [UNAVAILABLE] Temporary
/// authentication failure`, a server saying to try again), a BYE, or no
/// tagged answer at all. io-imap drops the response code, so the text is
/// what there is to go by.
pub(super) fn definite_refusal(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    ![
        "temporar",
        "unavailable",
        "try again",
        "bye",
        "did not return",
        "server error",
    ]
    .iter()
    .any(|w| d.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_as_the_server_sent_them() {
        let e = ImapError::Command {
            server: "127.0.0.1:143".into(),
            cmd: "CREATE",
            what: "\"Archiv\"".into(),
            kind: Refusal::No,
            code: None,
            text: "Permission denied".into(),
        };
        assert_eq!(
            e.to_string(),
            "127.0.0.1:143: CREATE \"Archiv\": NO Permission denied"
        );
    }
}
