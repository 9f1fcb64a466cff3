//! `kerio-migrate verify STORE --to TARGET`.

use super::args::{selection, DestinationArgs, SelectArgs};
use super::Cli;
use crate::dest::Purpose;
use crate::journal::Journal;
use crate::verify::{verify, VerifyOptions};
use anyhow::{bail, Context};
use clap::Args;
use std::path::PathBuf;

/// `verify` arguments.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The Kerio install directory, its `store/` directory, `store/mail`, or a backup `.zip`
    /// or backup directory (read in place).
    pub store: PathBuf,
    /// Read options from this run file (TOML: keys are the long option names, `store` the
    /// store; see docs/run-example.toml). Options on the command line win.
    #[arg(long, value_name = "run.toml")]
    pub config: Option<PathBuf>,
    /// Journal file (as given to `migrate --state`).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Also compare each message's content with what was sent (reads everything back).
    #[arg(long)]
    pub deep: bool,
    /// Check a target filled by any tool against the store by content (size and
    /// Message-ID, bytes where ambiguous), without a journal.
    #[arg(long, conflicts_with_all = ["state", "deep"])]
    pub no_journal: bool,
    /// Items flagged 0x8 were left out on purpose (`migrate --skip-deleted`).
    #[arg(long)]
    pub skip_deleted: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write the verification as JSON to this file.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Also write every missing or different message (source file, folder, Subject,
    /// Message-ID, Date) as CSV to this file; formula-like cells are neutralised.
    #[arg(long, value_name = "FILE.csv")]
    pub csv: Option<PathBuf>,
    /// Also write the verification as one self-contained HTML page to this file.
    #[arg(long, value_name = "FILE.html")]
    pub report_html: Option<PathBuf>,
    /// The destination.
    #[command(flatten)]
    pub dest: DestinationArgs,
    /// Selection.
    #[command(flatten)]
    pub select: SelectArgs,
    /// The archive and the recoverable items.
    #[command(flatten)]
    pub source: super::args::SourceArgs,
}

/// Runs `verify`.
pub fn run(cli: &Cli, a: &VerifyArgs) -> anyhow::Result<i32> {
    let never = std::sync::atomic::AtomicBool::new(false);
    let Some(at) = super::unpack::store_dir(cli, &a.store, None, &never)? else {
        return Ok(crate::report::exit::INTERRUPTED);
    };
    let opened = a.source.open_at(&at, &a.select)?;
    let store = &opened.source;
    let mapping = a.dest.mapping.config()?;
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let target = super::dest::open(
        &a.dest,
        &mapping,
        &a.select,
        false,
        Purpose::Verify,
        &cancel,
    )?;
    let opts = VerifyOptions {
        selection: selection(&opened.selection, &mapping),
        deep: a.deep,
        skip_deleted: a.skip_deleted,
    };
    let v = if a.no_journal {
        crate::verify::nojournal::verify_no_journal(store.as_ref(), target.as_ref(), &opts)
    } else {
        let state = a.state.clone().unwrap_or_else(|| {
            super::args::shard_journal(target.default_journal(), a.select.shard)
        });
        if !state.is_file() {
            bail!(
                "{}: no journal here; give the one migrate used with --state, or use --no-journal",
                state.display()
            );
        }
        let journal =
            Journal::open(&state, &target.id(), "verify").context("opening the journal")?;
        verify(store.as_ref(), target.as_ref(), &journal, &opts)
    };
    if let Some(path) = &a.report_html {
        let when = chrono::Utc::now().to_rfc3339();
        let page = crate::verify::html::render(&v, &cli.settings, &when);
        super::output::write_file(path, page.as_bytes())
            .with_context(|| format!("writing the HTML report to {}", path.display()))?;
    }
    if let Some(path) = &a.report {
        super::output::write_file(path, serde_json::to_string_pretty(&v)?.as_bytes())
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    if let Some(path) = &a.csv {
        super::output::write_file(path, v.to_csv().as_bytes())
            .with_context(|| format!("writing the CSV to {}", path.display()))?;
    }
    if a.json {
        out!("{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        super::print_report(&v.to_text())?;
    }
    Ok(v.exit_code)
}
