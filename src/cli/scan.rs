//! `kerio-migrate scan STORE [--json] [--unpack-dir DIR]`.

use super::args::SelectArgs;
use super::Cli;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

/// `scan` arguments.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The Kerio install directory, its `store/` directory, `store/mail`, or a backup `.zip`
    /// or backup directory (read in place unless --unpack-dir).
    pub store: PathBuf,
    /// Unpack a backup STORE here first and read it from there (reused when complete);
    /// without it a backup is read in place, needing no extra disk.
    #[arg(long, value_name = "DIR")]
    pub unpack_dir: Option<PathBuf>,
    /// Print the inventory as JSON on stdout instead of the text summary.
    #[arg(long)]
    pub json: bool,
    /// Selection.
    #[command(flatten)]
    pub select: SelectArgs,
    /// The archive and the recoverable items.
    #[command(flatten)]
    pub source: super::args::SourceArgs,
}

pub(super) fn run(cli: &Cli, a: &ScanArgs, cancel: &AtomicBool) -> anyhow::Result<i32> {
    let Some(at) = super::unpack::store_dir(cli, &a.store, a.unpack_dir.as_deref(), cancel)? else {
        return Ok(crate::report::exit::INTERRUPTED);
    };
    let rejected = at.rejected;
    let opened = a.source.open_at(&at, &a.select)?;
    let store = &opened.source;
    let progress = crate::progress::Progress::new("scan", None, super::progress_mode(cli));
    let inv = crate::scan::scan(store.as_ref(), &opened.selection, &progress)?;
    progress.finish();
    if a.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&inv).context("serialising the inventory")?
        )?;
    } else {
        super::print_report(&inv.to_text())?;
    }
    if rejected > 0 {
        return Ok(crate::report::exit::ITEMS_FAILED);
    }
    Ok(crate::report::exit::OK)
}
