//! From the command line to a destination: parses `--to` with the one
//! parser ([`DestUrl`]), gathers the settings (reading secrets from the
//! variables and files named, prompting when allowed), and opens it through
//! the registry ([`crate::dest::open`]).

use super::args::{AuthArg, DestinationArgs, ImapArgs, NulArg, SelectArgs, TlsArg};
use crate::dest::imap::{
    self, AccountLogin, AuthMech, ImapOptions, Logins, NulPolicy, SecretRef, TlsMode, TokenSource,
};
use crate::dest::{DestConfig, DestUrl, Destination, ImapSettings, MaildirSettings, Purpose};
use crate::mapping::MappingConfig;
use anyhow::{bail, Context};
use secrecy::SecretString;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// Opens the destination of `--to` for `purpose`, with the folder mapping
/// `config` (built from `d.mapping`); `fsync` is `migrate --fsync`.
pub(super) fn open(
    d: &DestinationArgs,
    config: &MappingConfig,
    select: &SelectArgs,
    fsync: bool,
    purpose: Purpose,
    cancel: &Arc<AtomicBool>,
) -> anyhow::Result<Box<dyn Destination>> {
    let url = DestUrl::parse(&d.to)?;
    let imap = match &url {
        DestUrl::Imap { host, .. } => Some(imap_settings(host, &d.imap, select)?),
        DestUrl::Maildir { .. } => None,
    };
    let cfg = DestConfig {
        mapping: config.clone(),
        mapping_given: d.mapping.is_set(),
        maildir: MaildirSettings {
            dot_char: d.maildir_dot_char,
            fsync_each: fsync,
        },
        imap,
        cancel: cancel.clone(),
    };
    crate::dest::open(&url, cfg, purpose).with_context(|| match url {
        DestUrl::Imap { .. } => format!("cannot reach the target {}", d.to),
        DestUrl::Maildir { .. } => format!("cannot open the target {}", d.to),
    })
}

fn imap_settings(host: &str, i: &ImapArgs, select: &SelectArgs) -> anyhow::Result<ImapSettings> {
    let tls = i.tls.map(|t| match t {
        TlsArg::None => TlsMode::None,
        TlsArg::Starttls => TlsMode::StartTls,
        TlsArg::Implicit => TlsMode::Implicit,
    });
    if tls == Some(TlsMode::None) {
        say!("kerio-migrate: warning: --tls none: logins and mail go to {host} unencrypted");
    }
    if i.insecure {
        say!(
            "kerio-migrate: warning: --insecure: the certificate of {host} is not checked; anyone on the path can read the mail and the passwords"
        );
    }
    let options = ImapOptions {
        connections: i.connections.max(1),
        window: i.window.max(1),
        window_max: i.window_max.max(i.window),
        window_bytes_max: usize::try_from(i.window_bytes_max).unwrap_or(usize::MAX),
        multiappend: i.batch > 1,
        batch: i.batch.max(1),
        nul: match i.nul {
            NulArg::Strip => NulPolicy::Strip,
            NulArg::Skip => NulPolicy::Skip,
        },
        max_bytes_per_day: i.max_bytes_per_day,
        retries: i.retries,
        backoff_max: Duration::from_secs(i.backoff_max.max(1)),
        tag_messages: i.tag_messages,
        ..ImapOptions::default()
    };
    Ok(ImapSettings {
        tls,
        tls_ca: i.tls_ca.clone(),
        insecure: i.insecure,
        connect_timeout: Duration::from_secs(i.connect_timeout.max(1)),
        io_timeout: Duration::from_secs(i.io_timeout.max(1)),
        options,
        logins: logins(i, select)?,
    })
}

fn resolve(r: &SecretRef, what: &str) -> anyhow::Result<Option<SecretString>> {
    r.resolve().with_context(|| format!("reading {what}"))
}

fn prompt(what: &str) -> anyhow::Result<SecretString> {
    let pw = rpassword::prompt_password(format!("{what}: ")).with_context(|| {
        format!("cannot prompt for {what} (no terminal): use an env: or file: secret")
    })?;
    if pw.is_empty() {
        bail!("empty password for {what}");
    }
    Ok(SecretString::from(pw))
}

fn logins(i: &ImapArgs, select: &SelectArgs) -> anyhow::Result<Logins> {
    let mut l = Logins {
        mech: match i.auth {
            AuthArg::Auto => AuthMech::Auto,
            AuthArg::Login => AuthMech::Login,
            AuthArg::Plain => AuthMech::Plain,
        },
        public_to: i.public_to.clone(),
        public_prefix: i.public_prefix.clone(),
        ..Logins::default()
    };
    l.oauth2 = match (&i.oauth2_token_cmd, &i.oauth2_token_file) {
        (Some(c), _) => Some(TokenSource::Command(c.clone())),
        (None, Some(f)) => Some(TokenSource::File(f.clone())),
        (None, None) => None,
    };
    if let Some(admin) = &i.admin_user {
        let r = match (&i.admin_password_env, &i.admin_password_file) {
            (Some(v), _) => SecretRef::Env(v.clone()),
            (None, Some(f)) => SecretRef::File(f.clone()),
            (None, None) => SecretRef::None,
        };
        let pw = match resolve(&r, "the admin password")? {
            Some(p) => p,
            None => prompt(&format!("Password of the admin login {admin}"))?,
        };
        l.admin = Some((admin.clone(), pw));
    }
    let needs_secret = l.admin.is_none() && l.oauth2.is_none();
    if let Some(user) = &i.user {
        let [source] = &select.accounts[..] else {
            bail!("--user needs exactly one --account SRC (the source account it logs in for)");
        };
        if source.contains(['*', '?']) {
            bail!("--user needs one --account without wildcards");
        }
        let r = match (&i.password_env, &i.password_file) {
            (Some(v), _) => SecretRef::Env(v.clone()),
            (None, Some(f)) => SecretRef::File(f.clone()),
            (None, None) => SecretRef::None,
        };
        let mut secret = resolve(&r, "the --user password")?;
        if secret.is_none() && needs_secret {
            secret = Some(prompt(&format!("Password of {user} on the target"))?);
        }
        l.accounts.insert(
            source.to_lowercase(),
            AccountLogin {
                target_user: user.clone(),
                secret,
                secret_error: None,
            },
        );
    } else if i.password_env.is_some() || i.password_file.is_some() {
        bail!("--password-env / --password-file go with --user");
    }
    if let Some(path) = &i.accounts_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for row in imap::parse_accounts_csv(path, &text)? {
            let mut secret_error = None;
            let mut secret = match row.secret.resolve() {
                Ok(s) => s,
                Err(e) => {
                    // That account fails alone, with the reason.
                    tracing::warn!("{}: {e}", row.source);
                    secret_error = Some(e.to_string());
                    None
                }
            };
            if secret.is_none() && needs_secret && row.secret == SecretRef::None {
                secret = prompt(&format!(
                    "Password of {} on the target (for {})",
                    row.target_user, row.source
                ))
                .map_err(|e| tracing::warn!("{e:#}"))
                .ok();
            }
            l.accounts.insert(
                row.source.to_lowercase(),
                AccountLogin {
                    target_user: row.target_user,
                    secret,
                    secret_error,
                },
            );
        }
    }
    Ok(l)
}
