//! `kerio-migrate calendar STORE --out DIR [--to-dav URL]`: calendars,
//! tasks, notes and journal.

use super::contacts::{finish, uploader, DavArgs};
use super::{Cli, SelectArgs};
use crate::export::{export_calendars, CalendarOptions};
use anyhow::bail;
use std::path::PathBuf;

/// `calendar` arguments.
#[derive(Debug, clap::Args)]
pub struct CalendarArgs {
    /// The Kerio install directory, its `store/` directory, or `store/mail`.
    pub store: PathBuf,
    /// Write `<account>/<folder>.ics` (and notes as `<account>/<folder>/*.txt`) here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Selection.
    #[command(flatten)]
    pub select: SelectArgs,
    /// The archive and the recoverable items.
    #[command(flatten)]
    pub source: super::args::SourceArgs,
    /// Upload.
    #[command(flatten)]
    pub dav: DavArgs,
}

pub(super) fn run(cli: &Cli, a: &CalendarArgs) -> anyhow::Result<i32> {
    if a.out.is_none() && a.dav.to_dav.is_none() {
        bail!("nothing to do: give --out DIR and/or --to-dav URL");
    }
    let opened = a.source.open(&a.store, &a.select)?;
    let store = &opened.source;
    let up = uploader(&a.dav, a.out.as_deref())?;
    let progress = crate::progress::Progress::new("calendar", Some(0), super::progress_mode(cli));
    let opts = CalendarOptions {
        out: a.out.clone(),
        selection: opened.selection.clone(),
        dav: up.as_ref(),
    };
    let report = export_calendars(store.as_ref(), &opts, &progress);
    progress.finish();
    finish(&report, a.report.as_deref(), up.as_ref())
}
