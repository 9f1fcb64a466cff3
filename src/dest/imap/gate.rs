//! One login attempt per credential until the server has taken it: the
//! sessions and connections of a run (every account's, several per
//! account) log in at the same time, and a wrong password sent by each of
//! them would count as that many failures on the server, which locks an
//! account (or the admin login) after a few. So the first connection of a
//! credential logs in alone; the others wait for its outcome. Taken: they
//! all log in, at once, for the rest of the run. Refused: none of them
//! tries; each fails with the same typed error, naming the refusal.
//!
//! A credential is what is sent, not the account it is for: a password
//! with its login, an admin login with its password (one for every account
//! it acts for), an OAuth2 login. Once an admin login was taken, each
//! account it acts for is let in the same way on its own: one refused
//! (a user missing on the server, one the admin may not act for) is tried
//! once, by one of its connections, and the other accounts go on.

use super::auth::{expose, Credentials};
use super::error::{definite_refusal, ImapError};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

/// What the run knows of one credential, or of one account logging in
/// with it.
#[derive(Debug, Clone)]
enum Known {
    /// One connection is logging in with it now.
    Trying,
    /// The server took it once.
    Taken,
    /// The server refused its first attempt: (login, the server's words).
    Refused { user: String, detail: String },
}

/// The outcomes of the run's logins, by credential and by credential and
/// account (see the module).
#[derive(Debug, Default)]
pub(crate) struct LoginGate {
    known: Mutex<HashMap<String, Known>>,
    changed: Condvar,
}

/// Why a connection may or may not log in.
pub(crate) enum Pass<'g> {
    /// Log in; the ticket carries the outcome to the others.
    First(Ticket<'g>),
    /// The server took this credential for this account before: log in.
    Taken,
}

/// The first attempt of an account with a credential (and maybe of the
/// credential): [`Ticket::taken`] or [`Ticket::outcome`] tell the waiting
/// connections; dropped without either (the connection failed before the
/// server answered), the next waiting connection tries instead.
pub(crate) struct Ticket<'g> {
    gate: &'g LoginGate,
    /// The credential's key, when this is its first attempt.
    credential: Option<String>,
    /// The credential's key for this account.
    account: String,
    settled: bool,
}

impl LoginGate {
    /// Waits until this connection may log in with `creds`, or fails with
    /// the refusal of the first attempt (`server`: for the error).
    pub fn enter(&self, creds: &Credentials, server: &str) -> Result<Pass<'_>, ImapError> {
        let ck = key(creds);
        let ak = format!("{ck}\0as\0{}", creds.user());
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let first = match (known.get(&ck), known.get(&ak)) {
                (Some(Known::Refused { user, detail }), _)
                | (_, Some(Known::Refused { user, detail })) => {
                    return Err(ImapError::Auth {
                        server: server.to_string(),
                        user: creds.user().to_string(),
                        detail: refused_before(creds, user, detail),
                    })
                }
                (_, Some(Known::Taken)) => return Ok(Pass::Taken),
                (None, None) => true,
                (Some(Known::Taken), None) => false,
                (Some(Known::Trying), None) | (_, Some(Known::Trying)) => {
                    known = self.changed.wait(known).unwrap_or_else(|p| p.into_inner());
                    continue;
                }
            };
            known.insert(ak.clone(), Known::Trying);
            if first {
                known.insert(ck.clone(), Known::Trying);
            }
            return Ok(Pass::First(Ticket {
                gate: self,
                credential: first.then_some(ck),
                account: ak,
                settled: false,
            }));
        }
    }

    fn settle(&self, keys: [Option<&String>; 2], outcome: Option<Known>) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        for key in keys.into_iter().flatten() {
            match &outcome {
                Some(k) => known.insert(key.clone(), k.clone()),
                None => known.remove(key),
            };
        }
        drop(known);
        self.changed.notify_all();
    }
}

impl Ticket<'_> {
    fn keys(&self) -> [Option<&String>; 2] {
        [self.credential.as_ref(), Some(&self.account)]
    }

    /// The server took the credential.
    pub fn taken(mut self) {
        self.settled = true;
        self.gate.settle(self.keys(), Some(Known::Taken));
    }

    /// The server refused it (an [`ImapError::Auth`] that is a verdict,
    /// see [`definite_refusal`]); any other error says nothing about the
    /// credential.
    pub fn outcome(mut self, e: &ImapError) {
        if let ImapError::Auth { user, detail, .. } = e {
            if !definite_refusal(detail) {
                // A temporary failure says nothing about the credential:
                // the next waiting connection tries (dropping the ticket).
                return;
            }
            self.settled = true;
            if authorization_only(detail) {
                // The admin login was taken, the account it acts for was
                // not (Dovecot: `NO [AUTHORIZATIONFAILED]` for a user it
                // does not have): that account fails alone.
                if let Some(ck) = &self.credential {
                    self.gate.settle([Some(ck), None], Some(Known::Taken));
                }
                let known = Known::Refused {
                    user: user.clone(),
                    detail: detail.clone(),
                };
                self.gate.settle([None, Some(&self.account)], Some(known));
                return;
            }
            let known = Known::Refused {
                user: user.clone(),
                detail: detail.clone(),
            };
            self.gate.settle(self.keys(), Some(known));
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.gate.settle(self.keys(), None);
        }
    }
}

/// An admin login's failure that is about the account it acts for, not
/// about the login (authentication passed, authorization did not). io-imap
/// drops the response code; Dovecot's text says "Authorization failed".
fn authorization_only(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    (d.contains("authorizationfailed") || d.contains("authorization failed"))
        && !d.contains("authenticationfailed")
        && !d.contains("authentication failed")
}

/// The reason an attempt that was not made gives.
fn refused_before(creds: &Credentials, first: &str, detail: &str) -> String {
    let what = match creds {
        Credentials::Master { authcid, .. } => format!("the admin login {authcid}"),
        Credentials::Password { user, .. } => format!("the password of {user}"),
        Credentials::OAuth2 { user, .. } => format!("the OAuth2 token of {user}"),
    };
    let again = "not tried again in this run, so that the server does not lock the login";
    if first == creds.user() {
        format!("{detail} ({what} was refused once; {again})")
    } else {
        format!("{what} was refused when logging in as {first}: {detail} ({again}; if only {first} is missing on the server, leave it out with --exclude-account and rerun)")
    }
}

/// What identifies a credential; a password only as its hash.
fn key(creds: &Credentials) -> String {
    let hash = |s: &str| blake3::hash(s.as_bytes()).to_hex().to_string();
    match creds {
        Credentials::Password { user, password, .. } => {
            format!("password\0{user}\0{}", hash(expose(password)))
        }
        Credentials::Master {
            authcid, password, ..
        } => format!("master\0{authcid}\0{}", hash(expose(password))),
        Credentials::OAuth2 { user, .. } => format!("oauth2\0{user}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn master(authzid: &str, pw: &str) -> Credentials {
        Credentials::Master {
            authzid: authzid.into(),
            authcid: "admin".into(),
            password: SecretString::from(pw.to_string()),
        }
    }

    fn refused(user: &str) -> ImapError {
        ImapError::Auth {
            server: "s:143".into(),
            user: user.into(),
            detail: "NO [AUTHENTICATIONFAILED] Invalid credentials".into(),
        }
    }

    #[test]
    fn a_temporary_failure_is_not_a_refusal_of_the_credential() {
        for d in [
            "IMAP AUTHENTICATE PLAIN failed: NO Temporary authentication failure. [host:2026-12-03]",
            "IMAP AUTHENTICATE PLAIN failed: BYE server shutting down",
            "IMAP AUTHENTICATE PLAIN failed: server did not return a tagged response",
            "NO [UNAVAILABLE] Try again later",
        ] {
            assert!(!definite_refusal(d), "{d}");
        }
        assert!(definite_refusal(
            "IMAP AUTHENTICATE PLAIN failed: NO [AUTHENTICATIONFAILED] Authentication failed."
        ));
        // The first attempt failed for a while: the next connection tries,
        // and the credential is taken.
        let gate = LoginGate::default();
        let creds = master("ann", "pw");
        let Ok(Pass::First(t)) = gate.enter(&creds, "s:143") else {
            panic!("first");
        };
        t.outcome(&ImapError::Auth {
            server: "s:143".into(),
            user: "ann".into(),
            detail: "NO Temporary authentication failure.".into(),
        });
        assert!(matches!(gate.enter(&creds, "s:143"), Ok(Pass::First(_))));
    }

    #[test]
    fn an_account_the_admin_may_not_act_for_fails_alone() {
        let gate = LoginGate::default();
        let (ann, bob) = (master("ann", "pw"), master("bob", "pw"));
        let Ok(Pass::First(t)) = gate.enter(&ann, "s:143") else {
            panic!("first");
        };
        t.outcome(&ImapError::Auth {
            server: "s:143".into(),
            user: "ann".into(),
            detail: "IMAP AUTHENTICATE PLAIN failed: NO Authorization failed".into(),
        });
        // The admin login itself was taken: another account logs in.
        assert!(matches!(gate.enter(&bob, "s:143"), Ok(Pass::First(_))));
        // The refused account is not tried again.
        assert!(matches!(
            gate.enter(&ann, "s:143"),
            Err(ImapError::Auth { .. })
        ));
    }

    /// `n` threads log in with `creds(i)` through the gate; the server
    /// answers each attempt with `answer`. Returns (attempts, failures).
    fn race(
        n: usize,
        creds: impl Fn(usize) -> Credentials + Sync,
        answer: impl Fn(&Credentials) -> Result<(), ImapError> + Sync,
    ) -> (usize, Vec<String>) {
        let gate = LoginGate::default();
        let attempts = AtomicUsize::new(0);
        let failures = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for i in 0..n {
                let (gate, attempts, failures) = (&gate, &attempts, &failures);
                let (creds, answer) = (&creds, &answer);
                s.spawn(move || {
                    let c = creds(i);
                    let r = gate.enter(&c, "s:143").and_then(|pass| {
                        attempts.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        let r = answer(&c);
                        match (pass, &r) {
                            (Pass::First(t), Ok(())) => t.taken(),
                            (Pass::First(t), Err(e)) => t.outcome(e),
                            (Pass::Taken, _) => {}
                        }
                        r
                    });
                    if let Err(e) = r {
                        failures.lock().expect("lock").push(e.to_string());
                    }
                });
            }
        });
        let f = failures.into_inner().expect("lock");
        (attempts.into_inner(), f)
    }

    #[test]
    fn a_refused_credential_is_tried_once() {
        let (attempts, failures) = race(
            8,
            |i| master(&format!("u{i}"), "wrong"),
            |c| Err(refused(c.user())),
        );
        assert_eq!(attempts, 1);
        assert_eq!(failures.len(), 8, "every one fails: {failures:?}");
        assert!(
            failures.iter().all(|f| f.contains("AUTHENTICATIONFAILED")),
            "{failures:?}"
        );
        let not_tried = failures.iter().filter(|f| f.contains("not tried again"));
        assert_eq!(not_tried.count(), 7, "{failures:?}");
    }

    #[test]
    fn a_taken_credential_lets_every_connection_in_and_others_are_apart() {
        // Two passwords of one login: each is tried once and apart.
        let pw = |i: usize| Credentials::Password {
            user: "ann".into(),
            password: SecretString::from(
                if i.is_multiple_of(2) { "good" } else { "bad" }.to_string(),
            ),
            mech: Default::default(),
        };
        let answer = |c: &Credentials| match c {
            Credentials::Password { password, .. } if expose(password) == "good" => Ok(()),
            c => Err(refused(c.user())),
        };
        let (attempts, failures) = race(6, pw, answer);
        assert_eq!(attempts, 3 + 1, "the good one 3 times, the bad one once");
        assert_eq!(failures.len(), 3, "{failures:?}");
    }

    #[test]
    fn a_connection_error_lets_the_next_one_try() {
        let gate = LoginGate::default();
        let c = master("a", "pw");
        match gate.enter(&c, "s") {
            Ok(Pass::First(t)) => t.outcome(&ImapError::Invalid("reset".into())),
            _ => panic!("first"),
        }
        match gate.enter(&c, "s") {
            Ok(Pass::First(t)) => t.taken(),
            _ => panic!("tries again"),
        }
        assert!(matches!(gate.enter(&c, "s"), Ok(Pass::Taken)));
        // Another password of the admin login is another credential.
        assert!(matches!(
            gate.enter(&master("b", "x"), "s"),
            Ok(Pass::First(_))
        ));
    }

    #[test]
    fn once_the_admin_login_was_taken_an_account_it_cannot_open_fails_alone() {
        let gate = LoginGate::default();
        match gate.enter(&master("a", "pw"), "s") {
            Ok(Pass::First(t)) => t.taken(),
            _ => panic!("first"),
        }
        // b is missing on the server: its first connection is refused ...
        match gate.enter(&master("b", "pw"), "s") {
            Ok(Pass::First(t)) => t.outcome(&refused("b")),
            _ => panic!("b tries once"),
        }
        // ... its others are not sent, a's go on, c tries on its own.
        assert!(gate.enter(&master("b", "pw"), "s").is_err());
        assert!(matches!(
            gate.enter(&master("a", "pw"), "s"),
            Ok(Pass::Taken)
        ));
        assert!(matches!(
            gate.enter(&master("c", "pw"), "s"),
            Ok(Pass::First(_))
        ));
    }
}
