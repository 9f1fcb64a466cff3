//! Credentials: a user's own password (LOGIN or AUTHENTICATE PLAIN), an
//! admin / master login (SASL PLAIN with an authorization identity, so no
//! user password is needed), or an OAuth2 bearer token (XOAUTH2) read from
//! a file or printed by a command that is rerun when the token expires or
//! is refused. Secrets live in [`SecretString`]s: their `Debug` prints
//! `[REDACTED]`, and nothing here logs them.

use super::error::ImapError;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which SASL mechanism carries a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthMech {
    /// AUTHENTICATE PLAIN when offered, else LOGIN.
    #[default]
    Auto,
    /// IMAP LOGIN.
    Login,
    /// AUTHENTICATE PLAIN.
    Plain,
}

/// Where an OAuth2 access token comes from.
#[derive(Clone, Debug)]
pub enum TokenSource {
    /// `sh -c CMD` prints the token on stdout. It sees the target login in
    /// `KERIO_MIGRATE_USER` and the source account in
    /// `KERIO_MIGRATE_SOURCE`; `{user}` in CMD is replaced by the login,
    /// shell-quoted (the login comes from disk or a CSV file and must not
    /// become shell code): write `{user}`, not `'{user}'`.
    Command(String),
    /// A file holding the token (reread when the cached token is old or
    /// refused, so an outside refresher can keep it current).
    File(PathBuf),
}

/// How one connection logs in.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// The user's own password.
    Password {
        /// Login name.
        user: String,
        password: SecretString,
        /// Mechanism.
        mech: AuthMech,
    },
    /// Admin / master user: AUTHENTICATE PLAIN with authzid = the user.
    Master {
        /// The user to act as.
        authzid: String,
        /// The admin login that owns the password.
        authcid: String,
        /// The admin password.
        password: SecretString,
    },
    /// AUTHENTICATE XOAUTH2.
    OAuth2 {
        /// Login name.
        user: String,
        /// The source account (for the token command's environment).
        source: String,
        /// Where the token comes from.
        token: TokenSource,
    },
}

impl Credentials {
    /// The account this logs in as (never a secret).
    pub fn user(&self) -> &str {
        match self {
            Credentials::Password { user, .. } | Credentials::OAuth2 { user, .. } => user,
            Credentials::Master { authzid, .. } => authzid,
        }
    }

    /// How the login is described in reports (`alice`, `alice (via admin)`).
    pub fn describe(&self) -> String {
        match self {
            Credentials::Password { user, .. } => user.clone(),
            Credentials::Master {
                authzid, authcid, ..
            } => format!("{authzid} (as {authcid})"),
            Credentials::OAuth2 { user, .. } => format!("{user} (XOAUTH2)"),
        }
    }
}

/// Tokens already fetched, per login, with their age: a token older than
/// [`TokenCache::MAX_AGE`] or refused by the server is fetched again.
#[derive(Debug, Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<String, (SecretString, Instant)>>,
}

impl TokenCache {
    /// Tokens are refetched after this long (access tokens of Google and
    /// Microsoft live an hour).
    pub const MAX_AGE: Duration = Duration::from_secs(45 * 60);

    /// The token for `user`, fetched when missing, old, or `refresh`.
    pub fn get(
        &self,
        user: &str,
        source: &str,
        from: &TokenSource,
        refresh: bool,
    ) -> Result<SecretString, ImapError> {
        let mut map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if !refresh {
            if let Some((t, at)) = map.get(user) {
                if at.elapsed() < Self::MAX_AGE {
                    return Ok(t.clone());
                }
            }
        }
        let token = fetch_token(user, source, from)?;
        map.insert(user.to_string(), (token.clone(), Instant::now()));
        Ok(token)
    }
}

fn fetch_token(user: &str, source: &str, from: &TokenSource) -> Result<SecretString, ImapError> {
    let raw = match from {
        TokenSource::File(p) => {
            // A token is a few KB at most; 64 KiB bounds a file named by
            // mistake (`/dev/zero`, a log).
            const MAX_TOKEN: u64 = 64 * 1024;
            let bytes = super::accounts::read_regular_bounded(p, MAX_TOKEN)
                .map_err(|e| ImapError::Token(format!("cannot read the token: {e}")))?;
            if bytes.len() as u64 > MAX_TOKEN {
                return Err(ImapError::Token(format!(
                    "{}: longer than {MAX_TOKEN} bytes: not a token file",
                    p.display()
                )));
            }
            String::from_utf8(bytes)
                .map_err(|_| ImapError::Token(format!("{}: the token is not UTF-8", p.display())))?
        }
        TokenSource::Command(cmd) => {
            let cmd = cmd.replace("{user}", &shell_quote(user));
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .env("KERIO_MIGRATE_USER", user)
                .env("KERIO_MIGRATE_SOURCE", source)
                .stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::inherit())
                .output()
                .map_err(|e| ImapError::Token(format!("cannot run the token command: {e}")))?;
            if !out.status.success() {
                return Err(ImapError::Token(format!(
                    "the token command failed for {user} ({})",
                    out.status
                )));
            }
            String::from_utf8(out.stdout)
                .map_err(|_| ImapError::Token("the token command printed non-UTF-8".into()))?
        }
    };
    let token = raw.trim();
    if token.is_empty() {
        return Err(ImapError::Token(format!("empty token for {user}")));
    }
    if token.contains(['\r', '\n', '\0', '\x01']) {
        return Err(ImapError::Token(format!(
            "the token for {user} is not one line"
        )));
    }
    Ok(SecretString::from(token.to_string()))
}

/// `s` as one single-quoted `sh` word: `'…'`, each `'` written `'\''`.
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Rejects secrets and logins that cannot be sent (NUL, CR, LF).
pub(crate) fn check_sendable(what: &str, s: &str) -> Result<(), ImapError> {
    if s.contains(['\0', '\r', '\n']) {
        return Err(ImapError::Invalid(format!(
            "{what} contains NUL, CR or LF and cannot be sent"
        )));
    }
    Ok(())
}

/// The password of [`Credentials`], for the login call.
pub(crate) fn expose(s: &SecretString) -> &str {
    s.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let c = [
            Credentials::Password {
                user: "bob".into(),
                password: SecretString::from("pw-123".to_string()),
                mech: AuthMech::Auto,
            },
            Credentials::Master {
                authzid: "alice".into(),
                authcid: "admin".into(),
                password: SecretString::from("hunter2-XYZ".to_string()),
            },
        ];
        let s = format!("{c:?} {c:#?}");
        assert!(!s.contains("pw-123") && !s.contains("hunter2"), "{s}");
        assert!(s.contains("REDACTED"));
    }

    #[test]
    fn a_hostile_login_is_not_shell_code() {
        let dir = tempfile::tempdir().expect("tmp");
        let pwned = dir.path().join("pwned");
        let p = pwned.display();
        // Closes a quote, runs a command, comments the rest out; and the
        // unquoted forms: command substitution, a second command.
        let logins = [
            format!("x'; touch {p}; echo '"),
            format!("x$(touch {p})"),
            format!("x`touch {p}`"),
            format!("x; touch {p} #"),
            format!("x\" ; touch {p} ; \""),
        ];
        let cache = TokenCache::default();
        for login in &logins {
            let t = cache
                .get(
                    login,
                    "src@y",
                    &TokenSource::Command("printf 'tok-%s' {user}".into()),
                    true,
                )
                .expect("token");
            assert_eq!(t.expose_secret(), format!("tok-{login}"), "one word, as is");
            assert!(!pwned.exists(), "{login:?} ran a command");
        }
        // The environment variable still carries the login.
        let t = cache
            .get(
                &logins[0],
                "s",
                &TokenSource::Command("printf 'tok-%s' \"$KERIO_MIGRATE_USER\"".into()),
                true,
            )
            .expect("token");
        assert_eq!(t.expose_secret(), format!("tok-{}", logins[0]));
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn token_from_command_and_file() {
        let cache = TokenCache::default();
        let t = cache
            .get(
                "u@x",
                "src@y",
                &TokenSource::Command(
                    "printf 'tok-%s-%s\\n' {user} \"$KERIO_MIGRATE_SOURCE\"".into(),
                ),
                false,
            )
            .expect("token");
        assert_eq!(t.expose_secret(), "tok-u@x-src@y");
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("t");
        std::fs::write(&f, "abc\n").expect("write");
        let t = cache
            .get("v", "s", &TokenSource::File(f.clone()), false)
            .expect("file");
        assert_eq!(t.expose_secret(), "abc");
        std::fs::write(&f, "def\n").expect("write");
        // Cached until refreshed.
        let t = cache
            .get("v", "s", &TokenSource::File(f.clone()), false)
            .expect("file");
        assert_eq!(t.expose_secret(), "abc");
        let t = cache
            .get("v", "s", &TokenSource::File(f), true)
            .expect("file");
        assert_eq!(t.expose_secret(), "def");
        assert!(cache
            .get("w", "s", &TokenSource::Command("exit 3".into()), false)
            .is_err());
    }
}
