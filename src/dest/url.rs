//! The one parser of destination addresses (`--to`): `maildir:DIR`,
//! `imaps://HOST[:PORT]` (implicit TLS, 993) and `imap://HOST[:PORT]`
//! (STARTTLS required, 143). A login or a password in the address is
//! refused: credentials never go on the command line.

use super::imap::TlsMode;
use std::fmt;
use std::path::PathBuf;

/// A parsed `--to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestUrl {
    /// A Maildir++ tree below this directory.
    Maildir {
        /// The root directory, as given.
        dir: PathBuf,
    },
    /// An IMAP server.
    Imap {
        /// Host name or address (IPv6 without brackets).
        host: String,
        port: u16,
        /// The TLS mode the scheme implies.
        tls: TlsMode,
    },
}

/// Why an address was refused (the message says what is understood).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported target {given:?}: {reason}")]
pub struct UrlError {
    /// What was given.
    pub given: String,
    /// Why it is refused.
    pub reason: String,
}

impl DestUrl {
    /// Parses a `--to` value.
    pub fn parse(s: &str) -> Result<DestUrl, UrlError> {
        let err = |reason: &str| UrlError {
            given: s.to_string(),
            reason: reason.to_string(),
        };
        if let Some(dir) = s.strip_prefix("maildir:") {
            if dir.is_empty() {
                return Err(err("maildir:DIR needs a directory"));
            }
            return Ok(DestUrl::Maildir { dir: dir.into() });
        }
        let (rest, port, tls) = if let Some(r) = s.strip_prefix("imaps://") {
            (r, 993, TlsMode::Implicit)
        } else if let Some(r) = s.strip_prefix("imap://") {
            (r, 143, TlsMode::StartTls)
        } else {
            return Err(err(
                "not a destination: use maildir:DIR, imaps://HOST[:PORT] or imap://HOST[:PORT]",
            ));
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('@') {
            return Err(err(
                "no login in the address: use --user / --accounts (and never a password on the command line)",
            ));
        }
        if rest.contains(['/', '?', '#']) {
            return Err(err("only imap[s]://HOST[:PORT] is understood"));
        }
        let (host, port) = if let Some(r) = rest.strip_prefix('[') {
            let (h, after) = r.split_once(']').ok_or_else(|| err("unclosed '['"))?;
            match after.strip_prefix(':') {
                Some(p) => (h, parse_port(p).ok_or_else(|| err("bad port"))?),
                None if after.is_empty() => (h, port),
                None => return Err(err("bad address")),
            }
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h, parse_port(p).ok_or_else(|| err("bad port"))?),
                None => (rest, port),
            }
        };
        if host.is_empty() {
            return Err(err("no host"));
        }
        Ok(DestUrl::Imap {
            host: host.to_string(),
            port,
            tls,
        })
    }

    /// The host of an IMAP address.
    pub fn host(&self) -> Option<&str> {
        match self {
            DestUrl::Imap { host, .. } => Some(host),
            DestUrl::Maildir { .. } => None,
        }
    }
}

fn parse_port(p: &str) -> Option<u16> {
    p.parse().ok().filter(|&n| n != 0)
}

impl fmt::Display for DestUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DestUrl::Maildir { dir } => write!(f, "maildir:{}", dir.display()),
            DestUrl::Imap { host, port, tls } => {
                let scheme = match tls {
                    TlsMode::Implicit => "imaps",
                    TlsMode::StartTls | TlsMode::None => "imap",
                };
                if host.contains(':') {
                    write!(f, "{scheme}://[{host}]:{port}")
                } else {
                    write!(f, "{scheme}://{host}:{port}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imap(host: &str, port: u16, tls: TlsMode) -> DestUrl {
        DestUrl::Imap {
            host: host.into(),
            port,
            tls,
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(
            DestUrl::parse("imaps://mail.example.com"),
            Ok(imap("mail.example.com", 993, TlsMode::Implicit))
        );
        assert_eq!(
            DestUrl::parse("imap://127.0.0.1:10143/"),
            Ok(imap("127.0.0.1", 10143, TlsMode::StartTls))
        );
        assert_eq!(
            DestUrl::parse("imaps://[::1]:1993"),
            Ok(imap("::1", 1993, TlsMode::Implicit))
        );
        assert_eq!(
            DestUrl::parse("maildir:/srv/mail"),
            Ok(DestUrl::Maildir {
                dir: "/srv/mail".into()
            })
        );
        for bad in [
            "imaps://u:pw@host",
            "imap://user@outlook.office365.com",
            "https://host",
            "imap://host:x",
            "imap://host:0",
            "imap://host:70000",
            "imap://host/INBOX",
            "imaps://",
            "imaps://[::1",
            "maildir:",
        ] {
            assert!(DestUrl::parse(bad).is_err(), "{bad} accepted");
        }
        let e = DestUrl::parse("imaps://u:pw@host").expect_err("login");
        assert!(e.to_string().contains("never a password"), "{e}");
    }

    #[test]
    fn display_round_trips() {
        for s in ["imaps://h:993", "imap://[::1]:143", "maildir:/x"] {
            let u = DestUrl::parse(s).expect("parse");
            assert_eq!(DestUrl::parse(&u.to_string()), Ok(u));
        }
    }
}
