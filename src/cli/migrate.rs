//! `kerio-migrate migrate STORE --to TARGET [--unpack-dir DIR]`.

use super::{AuthArg, Cli, ImapArgs, MigrateArgs, NulArg, SelectArgs, TlsArg};
use crate::dest::imap::{
    self, AccountLogin, AuthMech, ConnectConfig, ImapDest, ImapOptions, Logins, NulPolicy,
    SecretRef, TlsMode, TokenSource,
};
use crate::dest::maildir::{MaildirDest, MaildirOptions};
use crate::dest::Destination;
use crate::journal::Journal;
use crate::migrate::{migrate, MigrateOptions};
use anyhow::{bail, Context};
use secrecy::SecretString;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// Journal file name used beside a target when `--state` is not given.
pub const JOURNAL_FILE: &str = "kerio-migrate-journal.sqlite";

/// Options whose value is left out of the journal's copy of the command
/// line (a token command may embed a key).
const REDACTED_OPTIONS: &[&str] = &["--oauth2-token-cmd"];

fn command_line() -> String {
    // The journal records the command line. Secrets are never accepted as
    // arguments; the token command is redacted anyway.
    let mut out = Vec::new();
    let mut redact_next = false;
    for a in std::env::args() {
        if redact_next {
            out.push("<redacted>".to_string());
            redact_next = false;
            continue;
        }
        if let Some(opt) = REDACTED_OPTIONS
            .iter()
            .find(|o| a.starts_with(&format!("{o}=")))
        {
            out.push(format!("{opt}=<redacted>"));
            continue;
        }
        redact_next = REDACTED_OPTIONS.contains(&a.as_str());
        out.push(a);
    }
    out.join(" ")
}

pub(super) fn run(cli: &Cli, a: &MigrateArgs, cancel: &Arc<AtomicBool>) -> anyhow::Result<i32> {
    let mapping = a.mapping.config()?;
    let Some((dir, rejected)) =
        super::unpack::store_dir(cli, &a.store, a.unpack_dir.as_deref(), cancel)?
    else {
        return Ok(crate::report::exit::INTERRUPTED);
    };
    let store = crate::source::kerio::Store::open(&dir)?;
    let (target, default_state): (Box<dyn Destination>, PathBuf) =
        if let Some(dir) = a.to.strip_prefix("maildir:") {
            if dir.is_empty() {
                bail!("--to maildir:DIR needs a directory");
            }
            let t = MaildirDest::new(
                std::path::Path::new(dir),
                MaildirOptions {
                    dot_char: a.maildir_dot_char,
                    fsync_each: a.fsync,
                    mapper: a.mapping.maildir_mapper(&mapping),
                },
            )?;
            let state = t.root().join(JOURNAL_FILE);
            (Box::new(t), state)
        } else if a.to.starts_with("imap://") || a.to.starts_with("imaps://") {
            let t = imap_target(&a.to, &a.imap, &a.select, mapping.clone(), cancel)?;
            (Box::new(t), PathBuf::from(JOURNAL_FILE))
        } else {
            bail!(
            "unsupported target {:?}: use maildir:DIR, imaps://HOST[:PORT] or imap://HOST[:PORT]",
            a.to
        );
        };
    let state = a.state.clone().unwrap_or(default_state);
    let journal = Journal::open_exclusive(&state, &target.id(), &command_line())?;
    let opts = MigrateOptions {
        selection: super::plan::selection(&a.select, &mapping),
        skip_deleted: a.skip_deleted,
        parallel_accounts: a.parallel_accounts.max(1),
        max_rate: a.max_rate,
        ..MigrateOptions::default()
    };
    let progress = crate::progress::Progress::new("migrate", Some(0), super::progress_mode(cli));
    let report = migrate(&store, target.as_ref(), &journal, &opts, &progress, cancel);
    progress.finish();
    let json = report.to_json();
    if let Some(path) = &a.report {
        std::fs::write(path, &json)
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    journal.finish_run(report.exit_code, &json)?;
    super::print_report(&report.to_text());
    if rejected > 0 && report.exit_code == crate::report::exit::OK {
        // Entries of the backup were not unpacked: not everything is there.
        return Ok(crate::report::exit::ITEMS_FAILED);
    }
    Ok(report.exit_code)
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
            },
        );
    } else if i.password_env.is_some() || i.password_file.is_some() {
        bail!("--password-env / --password-file go with --user");
    }
    if let Some(path) = &i.accounts_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for row in imap::parse_accounts_csv(path, &text)? {
            let mut secret = match row.secret.resolve() {
                Ok(s) => s,
                Err(e) => {
                    // That account fails alone, with the reason.
                    tracing::warn!("{}: {e}", row.source);
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
                },
            );
        }
    }
    Ok(l)
}

/// Builds the IMAP target of `--to imap[s]://…` (shared by migrate, plan
/// and verify) and checks once that it can be reached.
pub(super) fn imap_target(
    to: &str,
    i: &ImapArgs,
    select: &SelectArgs,
    mapping: crate::mapping::MappingConfig,
    cancel: &Arc<AtomicBool>,
) -> anyhow::Result<ImapDest> {
    let (host, port, default_tls) = imap::parse_target_url(to).map_err(anyhow::Error::msg)?;
    let tls = match i.tls {
        None => default_tls,
        Some(TlsArg::None) => TlsMode::None,
        Some(TlsArg::Starttls) => TlsMode::StartTls,
        Some(TlsArg::Implicit) => TlsMode::Implicit,
    };
    if tls == TlsMode::None {
        eprintln!("kerio-migrate: warning: --tls none: logins and mail go to {host} unencrypted");
    }
    if i.insecure {
        eprintln!(
            "kerio-migrate: warning: --insecure: the certificate of {host} is not checked; anyone on the path can read the mail and the passwords"
        );
    }
    let cfg = ConnectConfig {
        host,
        port,
        tls,
        tls_ca: i.tls_ca.clone(),
        insecure: i.insecure,
        connect_timeout: Duration::from_secs(i.connect_timeout.max(1)),
        io_timeout: Duration::from_secs(i.io_timeout.max(1)),
    };
    let opts = ImapOptions {
        connections: i.connections.max(1),
        window: i.window.max(1),
        multiappend: i.batch > 1,
        batch: i.batch.max(1),
        nul: match i.nul {
            NulArg::Strip => NulPolicy::Strip,
            NulArg::Skip => NulPolicy::Skip,
        },
        max_bytes_per_day: i.max_bytes_per_day,
        retries: i.retries,
        mapping,
        ..ImapOptions::default()
    };
    let logins = logins(i, select)?;
    let target = ImapDest::new(cfg, opts, logins, cancel.clone());
    // Address and certificate problems concern every account: fail the run
    // once, clearly, before anything starts (exit 1).
    target
        .probe()
        .with_context(|| format!("cannot reach the target {to}"))?;
    Ok(target)
}
