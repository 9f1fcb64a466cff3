//! `kerio-migrate contacts STORE --out DIR [--to-dav URL]`, and the DAV
//! options shared with `calendar`.

use super::{Cli, SelectArgs};
use crate::export::dav::{DavConfig, Uploader};
use crate::export::{export_contacts, vcard, ContactsOptions, ExportReport};
use crate::journal::Journal;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// Journal file name used in `--out` when `--state` is not given.
pub const DAV_JOURNAL_FILE: &str = "kerio-migrate-journal.sqlite";

/// vCard versions on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VcardVersionArg {
    /// vCard 3.0 (RFC 2426): every importer takes it.
    #[value(name = "3.0")]
    V3,
    /// vCard 4.0 (RFC 6350).
    #[value(name = "4.0")]
    V4,
}

/// Upload options (CardDAV / CalDAV).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DavArgs {
    /// Upload to this CardDAV / CalDAV URL. `{account}` (alice@example.com),
    /// `{user}` (alice) and `{folder}` (Contacts__divers) are replaced.
    /// Without `{folder}` each folder is `<URL>/<folder>/`, and without
    /// `{account}` / `{user}` `<account>/` comes first.
    #[arg(long, value_name = "URL")]
    pub to_dav: Option<String>,
    /// User name for the DAV server (HTTP Basic).
    #[arg(long, value_name = "USER")]
    pub dav_user: Option<String>,
    /// Read the DAV password from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub dav_password_env: Option<String>,
    /// Read the DAV password from this file (first line).
    #[arg(long, value_name = "FILE")]
    pub dav_password_file: Option<PathBuf>,
    /// Trust only the CA certificates in this PEM file.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Do not verify the server's certificate (prints a warning).
    #[arg(long)]
    pub insecure: bool,
    /// Upload journal (default: `kerio-migrate-journal.sqlite` in --out, else
    /// in the current directory).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
}

/// `contacts` arguments.
#[derive(Debug, clap::Args)]
pub struct ContactsArgs {
    /// The Kerio install directory, its `store/` directory, or `store/mail`.
    pub store: PathBuf,
    /// Write `<account>/<folder>.vcf` and `<account>.vcf` here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// vCard version to write.
    #[arg(long, value_enum, default_value = "3.0")]
    pub vcard_version: VcardVersionArg,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Selection.
    #[command(flatten)]
    pub select: SelectArgs,
    /// The archive and the recoverable items.
    #[command(flatten)]
    pub source: super::args::SourceArgs,
    /// Also export the contacts Kerio generated for its users in #public/Contacts (they
    /// match users.cfg entries; left out by default, the new server builds its own directory).
    #[arg(long)]
    pub include_generated_contacts: bool,
    /// Upload.
    #[command(flatten)]
    pub dav: DavArgs,
}

/// The user directory beside the store (users.cfg and mailserver.cfg),
/// when there is one that reads.
fn directory(store: &dyn crate::source::Source) -> Option<crate::export::users::Directory> {
    use crate::export::users::{CfgTree, Directory, MapOptions};
    let path = store.user_directory()?;
    let users = match CfgTree::load(&path) {
        Ok(u) => u,
        Err(e) => {
            say!("kerio-migrate: warning: {e}: generated contacts cannot be told apart");
            return None;
        }
    };
    let ms = path
        .parent()
        .map(|d| d.join("mailserver.cfg"))
        .and_then(|p| CfgTree::load(&p).ok());
    Some(Directory::map(&users, ms.as_ref(), MapOptions::default()))
}

pub(super) fn command_line() -> String {
    // Secrets are never accepted as arguments, so this holds none.
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn read_password(a: &DavArgs) -> anyhow::Result<Option<String>> {
    let Some(user) = &a.dav_user else {
        if a.dav_password_env.is_some() || a.dav_password_file.is_some() {
            bail!("a DAV password was given without --dav-user");
        }
        return Ok(None);
    };
    if let Some(var) = &a.dav_password_env {
        let pw = std::env::var(var).with_context(|| {
            format!("--dav-password-env: environment variable {var} is not set")
        })?;
        return Ok(Some(pw));
    }
    if let Some(f) = &a.dav_password_file {
        let pw = crate::dest::imap::accounts::read_secret_file(f)
            .with_context(|| format!("--dav-password-file {}", f.display()))?;
        return Ok(Some(secrecy::ExposeSecret::expose_secret(&pw).to_string()));
    }
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        bail!(
            "no DAV password for {user}: use --dav-password-env VAR or --dav-password-file FILE \
             (no terminal to ask on)"
        );
    }
    let pw = rpassword::prompt_password(format!("DAV password for {user}: "))
        .context("reading the DAV password")?;
    Ok(Some(pw))
}

/// The uploader for `--to-dav`, with its journal, when asked.
pub(super) fn uploader(a: &DavArgs, out: Option<&Path>) -> anyhow::Result<Option<Uploader>> {
    let Some(url) = &a.to_dav else {
        return Ok(None);
    };
    if a.insecure {
        say!(
            "kerio-migrate: WARNING: --insecure: the DAV server's certificate is not verified; \
             anyone on the path can read the password and the data"
        );
    }
    let password = read_password(a)?;
    let cfg = DavConfig {
        url: url.clone(),
        user: a.dav_user.clone(),
        password,
        tls_ca: a.tls_ca.clone(),
        insecure: a.insecure,
        timeout: None,
    };
    let state = a.state.clone().unwrap_or_else(|| match out {
        Some(o) => o.join(DAV_JOURNAL_FILE),
        None => PathBuf::from(DAV_JOURNAL_FILE),
    });
    let journal = Journal::open_exclusive(&state, &format!("dav:{url}"), &command_line())?;
    Ok(Some(Uploader::new(&cfg, journal)?))
}

/// Prints the report, writes `--report`, closes the journal run.
pub(super) fn finish(
    report: &ExportReport,
    json_path: Option<&Path>,
    up: Option<&Uploader>,
) -> anyhow::Result<i32> {
    let json = report.to_json();
    if let Some(p) = json_path {
        super::output::write_file(p, json.as_bytes())
            .with_context(|| format!("writing the report to {}", p.display()))?;
    }
    if let Some(u) = up {
        u.journal().finish_run(report.exit_code, &json)?;
    }
    super::print_outcome(&report.to_text());
    Ok(report.exit_code)
}

pub(super) fn run(cli: &Cli, a: &ContactsArgs) -> anyhow::Result<i32> {
    if a.out.is_none() && a.dav.to_dav.is_none() {
        bail!("nothing to do: give --out DIR and/or --to-dav URL");
    }
    let opened = a.source.open(&a.store, &a.select)?;
    let store = &opened.source;
    let up = uploader(&a.dav, a.out.as_deref())?;
    let users = directory(store.as_ref());
    let progress = crate::progress::Progress::new("contacts", Some(0), super::progress_mode(cli));
    let opts = ContactsOptions {
        out: a.out.clone(),
        version: match a.vcard_version {
            VcardVersionArg::V3 => vcard::Version::V3,
            VcardVersionArg::V4 => vcard::Version::V4,
        },
        selection: opened.selection.clone(),
        dav: up.as_ref(),
        directory: users.as_ref(),
        include_generated: a.include_generated_contacts,
    };
    let report = export_contacts(store.as_ref(), &opts, &progress);
    progress.finish();
    finish(&report, a.report.as_deref(), up.as_ref())
}
