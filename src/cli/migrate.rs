//! `kerio-migrate migrate STORE --to TARGET [--unpack-dir DIR]`.

use super::args::{DestinationArgs, SelectArgs};
use super::Cli;
use crate::dest::Purpose;
use crate::engine::{migrate, MigrateOptions};
use crate::journal::Journal;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// The command line for the journal, with the values of
/// [`super::config::REDACTED`] options left out.
fn command_line(args: impl Iterator<Item = String>) -> String {
    // The journal records the command line. Secrets are never accepted as
    // arguments; the token command is redacted anyway.
    let mut out = Vec::new();
    let mut redact_next = false;
    for a in args {
        if redact_next {
            out.push("<redacted>".to_string());
            redact_next = false;
            continue;
        }
        if let Some(opt) = super::config::REDACTED
            .iter()
            .find(|o| a.starts_with(&format!("--{o}=")))
        {
            out.push(format!("--{opt}=<redacted>"));
            continue;
        }
        redact_next = a
            .strip_prefix("--")
            .is_some_and(|o| super::config::REDACTED.contains(&o));
        out.push(a);
    }
    out.join(" ")
}

/// `--settle` with `--sync` when not given: a minute.
const DEFAULT_SETTLE: u64 = 60;

/// `migrate` arguments.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The Kerio install directory, its `store/` directory, `store/mail`, or a backup `.zip`
    /// or backup directory (read in place unless --unpack-dir).
    pub store: PathBuf,
    /// Read options from this run file (TOML: keys are the long option names, `store` the
    /// store; see docs/run-example.toml). Options on the command line win.
    #[arg(long, value_name = "run.toml")]
    pub config: Option<PathBuf>,
    /// Unpack a backup STORE here first and read it from there (reused when complete);
    /// without it a backup is read in place, needing no extra disk.
    #[arg(long, value_name = "DIR")]
    pub unpack_dir: Option<PathBuf>,
    /// Journal file (default: `kerio-migrate-journal.sqlite` in the Maildir
    /// root, or in the current directory for IMAP).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Also write the report as one self-contained HTML page (counts with bars, every
    /// failure with its source file, the run's settings, timings) to this file.
    #[arg(long, value_name = "FILE.html")]
    pub report_html: Option<PathBuf>,
    /// Do not migrate items flagged 0x8 (probably deleted, not expunged) in index.fld.
    #[arg(long)]
    pub skip_deleted: bool,
    /// Delta sync (cutover): besides new items, set flags changed in Kerio since the journaled
    /// state on the target (\Seen \Answered \Flagged \Draft, never \Deleted) and report
    /// messages deleted at the source (they stay on the target).
    #[arg(long)]
    pub sync: bool,
    /// With --sync: remove from the target the messages deleted at the source, only those this
    /// tool put there (journaled UIDVALIDITY, UID and size still match; IMAP needs UIDPLUS).
    #[arg(long, requires = "sync")]
    pub propagate_deletes: bool,
    /// Leave items whose file was modified less than SECONDS ago for the next run (counted as
    /// settling): Kerio may still be writing them. Default 60 with --sync, else 0.
    #[arg(long, value_name = "SECONDS", value_parser = super::args::count::<u64, 0, 86400>)]
    pub settle: Option<u64>,
    /// Accounts migrated at the same time (1 to 64).
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = super::args::count::<usize, 1, 64>)]
    pub parallel_accounts: usize,
    /// IMAP: folders of one account migrated at the same time, each on its own session (one
    /// control connection more per session; the --connections of the account are shared
    /// among them, so at most --connections sessions). Folders that go to one mailbox run on
    /// one session, one after another. 1 for Gmail, whatever is asked. Maildir: folders of one
    /// account written at the same time, one thread each (1 to 64).
    #[arg(long, default_value_t = crate::engine::DEFAULT_PARALLEL_FOLDERS, value_name = "N",
          value_parser = super::args::count::<usize, 1, 64>)]
    pub parallel_folders: usize,
    /// Send at most this many messages per second (whole run; above 0, at most 100000).
    #[arg(long, value_name = "N", value_parser = super::args::positive_rate)]
    pub max_rate: Option<f64>,
    /// Items larger than this are not read and fail with their size (default 256MiB:
    /// above Gmail's 35 MB, below any machine's memory; each message is held in memory
    /// once while it is sent).
    #[arg(long, value_name = "BYTES", default_value = "256MiB", value_parser = super::args::positive_size)]
    pub max_message_size: u64,
    /// Serve live counters in the Prometheus text format on this address (`127.0.0.1:9464`;
    /// port 0 picks one and logs it): messages by outcome and bytes per account, rate, ETA.
    /// Plain HTTP without authentication: bind to loopback or protect the port.
    #[arg(long, value_name = "ADDR:PORT", value_parser = metrics_addr)]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Keep serving --metrics-listen this many seconds after the run, so that the last
    /// scrape sees the final counts (0 to 3600).
    #[arg(long, default_value_t = 0, value_name = "SECS", requires = "metrics_listen",
          value_parser = super::args::count::<u64, 0, 3600>)]
    pub metrics_linger: u64,
    /// Maildir: fsync every file (the default syncs the file system once per journal batch).
    #[arg(long)]
    pub fsync: bool,
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

/// `--metrics-listen`: an IP address and a port (no host names: what is
/// bound must be what was meant).
fn metrics_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    s.trim().parse().map_err(|_| {
        format!("{s:?} is not IP:PORT (e.g. 127.0.0.1:9464, [::1]:9464; 0.0.0.0:9464 for every interface)")
    })
}

pub(super) fn run(cli: &Cli, a: &MigrateArgs, cancel: &Arc<AtomicBool>) -> anyhow::Result<i32> {
    let mapping = a.dest.mapping.config()?;
    let Some(at) = super::unpack::store_dir(cli, &a.store, a.unpack_dir.as_deref(), cancel)? else {
        return Ok(crate::report::exit::INTERRUPTED);
    };
    let rejected = at.rejected;
    let opened = a.source.open_at(&at, &a.select)?;
    let store = &opened.source;
    let target = super::dest::open(
        &a.dest,
        &mapping,
        &a.select,
        a.fsync,
        Purpose::Migrate,
        cancel,
    )?;
    let state = a
        .state
        .clone()
        .unwrap_or_else(|| super::args::shard_journal(target.default_journal(), a.select.shard));
    let journal = Journal::open_exclusive(&state, &target.id(), &command_line(std::env::args()))?;
    let opts = MigrateOptions {
        selection: super::args::selection(&opened.selection, &mapping),
        skip_deleted: a.skip_deleted,
        sync: a.sync,
        propagate_deletes: a.propagate_deletes,
        settle: a.settle.unwrap_or(if a.sync { DEFAULT_SETTLE } else { 0 }),
        parallel_accounts: a.parallel_accounts.max(1),
        parallel_folders: a.parallel_folders.max(1),
        max_rate: a.max_rate,
        max_message_size: a.max_message_size,
        ..MigrateOptions::default()
    };
    if let Some(path) = a.report.clone() {
        let journal_path = state.display().to_string();
        super::on_hard_stop(move || {
            let stub = serde_json::json!({
                "complete": false,
                "interrupted": true,
                "exit_code": crate::report::exit::INTERRUPTED,
                "reason": "stopped at once by a second interrupt: the counts are in the journal; run the same command again to resume",
                "journal": journal_path,
            });
            let _ = super::output::write_file(&path, format!("{stub:#}\n").as_bytes());
            say!(
                "kerio-migrate: wrote an incomplete report to {}",
                path.display()
            );
        });
    }
    if let Some(path) = a.report_html.clone() {
        let journal_path = crate::report::html::escape(&state.display().to_string());
        super::on_hard_stop(move || {
            let page = format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <title>kerio-migrate: incomplete run</title></head><body>\
                 <h1>Incomplete: stopped at once by a second interrupt</h1>\
                 <p>The counts are in the journal ({journal_path}); run the same command \
                 again to resume, and this page is written in full.</p></body></html>\n"
            );
            let _ = super::output::write_file(&path, page.as_bytes());
        });
    }
    let mut progress =
        crate::progress::Progress::new("migrate", Some(0), super::progress_mode(cli));
    let mut metrics = None;
    if let Some(addr) = a.metrics_listen {
        use crate::progress::metrics;
        let mut labels = vec![
            ("version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            ("target".to_string(), target.id()),
        ];
        if let Some(s) = a.select.shard {
            labels.push(("shard".to_string(), s.to_string()));
        }
        let m = std::sync::Arc::new(metrics::Metrics::new(labels));
        let server = metrics::serve(addr, m.clone())?;
        tracing::info!("metrics on http://{}/metrics", server.addr());
        if addr.port() == 0 {
            say!("kerio-migrate: metrics on http://{}/metrics", server.addr());
        }
        progress = progress.with_metrics(m.clone());
        target.attach_metrics(&m);
        metrics = Some((m, server));
    }
    let mut report = migrate(
        store.as_ref(),
        target.as_ref(),
        &journal,
        &opts,
        &progress,
        cancel,
    );
    progress.finish();
    super::clear_hard_stop();
    report.shard = a.select.shard.map(|s| s.to_string());
    let mut json = report.to_json();
    // The run's end goes into the journal first: when that fails (a full
    // disk), the report files and the text say so and the exit code is
    // FATAL, as the process's is.
    let recorded = journal.finish_run(report.exit_code, &json);
    if let Err(e) = &recorded {
        report.fatal = Some(format!("recording the end of the run: {e}"));
        report.finalize();
        json = report.to_json();
    }
    if let Some(path) = &a.report {
        super::output::write_file(path, json.as_bytes())
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    if let Some(path) = &a.report_html {
        let page = crate::report::html::render(&report, &cli.settings);
        super::output::write_file(path, page.as_bytes())
            .with_context(|| format!("writing the HTML report to {}", path.display()))?;
    }
    super::print_outcome(&report.to_text());
    recorded?;
    if let Some((m, server)) = metrics {
        m.finish(report.exit_code);
        let end = std::time::Instant::now() + std::time::Duration::from_secs(a.metrics_linger);
        while std::time::Instant::now() < end && !cancel.load(std::sync::atomic::Ordering::Relaxed)
        {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        drop(server);
    }
    if rejected > 0 && report.exit_code == crate::report::exit::OK {
        // Entries of the backup were not unpacked: not everything is there.
        return Ok(crate::report::exit::ITEMS_FAILED);
    }
    Ok(report.exit_code)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_journal_never_gets_a_token_command() {
        let args = [
            "kerio-migrate",
            "migrate",
            "--oauth2-token-cmd",
            "get-token --key s3cret",
            "--oauth2-token-cmd=other s3cret",
            "--connections",
            "4",
        ];
        let line = super::command_line(args.iter().map(|a| a.to_string()));
        assert!(!line.contains("s3cret"), "{line}");
        assert_eq!(
            line,
            "kerio-migrate migrate --oauth2-token-cmd <redacted> --oauth2-token-cmd=<redacted> --connections 4"
        );
    }
}
