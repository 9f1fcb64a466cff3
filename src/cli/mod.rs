//! The command line: argument definitions (clap) and one function per
//! command. This is the edge where library errors become `anyhow` errors
//! and outcomes become exit codes (see [`crate::report::exit`]).

/// A line for a person on stderr. A failing stderr (`2>file` on a full
/// disk, `2>/dev/full`, a closed pipe) is ignored: `eprintln!` would panic
/// there and turn a run into exit 101 with nothing said; the report and
/// the journal hold what the line would have told.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, $($arg)*);
    }};
}

/// A line of a command's output on stdout (JSON a script reads, a next
/// step): a write that fails is the command's error (exit 2 with the
/// reason), never a panic in `println!`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut o = std::io::stdout().lock();
        writeln!(o, $($arg)*)
            .and_then(|()| o.flush())
            .map_err(|e| anyhow::anyhow!("writing to stdout: {e}"))
    }};
}

mod args;
pub mod calendar;
mod config;
pub mod contacts;
mod dest;
mod generate;
pub mod migrate;
pub(crate) mod output;
pub mod plan;
pub mod report;
pub mod scan;
mod unpack;
pub mod users;
pub mod verify;

pub use args::{AuthArg, ImapArgs, MappingArgs, NulArg, SelectArgs, TlsArg};
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Move a Kerio Connect store (read offline from disk) to IMAP or Maildir.
#[derive(Debug, Parser)]
#[command(name = "kerio-migrate", version, about, long_about = None)]
pub struct Cli {
    /// More logging (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// No progress display.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
    /// Threads that read and prepare items (default: number of CPUs; 1 to 256).
    #[arg(long, global = true, value_parser = args::count::<usize, 1, 256>)]
    pub threads: Option<usize>,
    #[command(subcommand)]
    pub command: Command,
    /// The effective settings and where each came from (run file, command
    /// line, default), for `plan` and the HTML report.
    #[arg(skip)]
    pub settings: Vec<crate::report::Setting>,
    /// The `--config` run file, when one was read.
    #[arg(skip)]
    pub run_file: Option<std::path::PathBuf>,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Commands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
pub enum Command {
    /// Inventory a store: accounts, folders, kinds, items, sizes, dates, anomalies.
    Scan(scan::ScanArgs),
    /// Migrate mail items to a target.
    Migrate(migrate::MigrateArgs),
    /// Dry run: folder mapping, sizes, messages over the size limit, and an ETA.
    Plan(plan::PlanArgs),
    /// Export contacts to vCard files and/or upload them over CardDAV.
    Contacts(contacts::ContactsArgs),
    /// Export calendars, tasks, notes and journal to iCalendar / text and/or CalDAV.
    Calendar(calendar::CalendarArgs),
    /// List users, aliases and groups from users.cfg (CSV, JSON, --dump).
    Users(users::UsersArgs),
    /// Check the target against the store and the journal: what is really there.
    Verify(verify::VerifyArgs),
    /// Work with reports: `report merge` combines the reports of a run's shards.
    Report(report::ReportArgs),
    /// Unpack Kerio backup ZIPs (full, volumes, differential) into an install directory.
    Unpack(unpack::UnpackArgs),
    /// Write the man pages or a shell completion script (for packagers).
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // The IMAP libraries log commands (passwords, tokens in debug builds)
    // and message bodies at TRACE: never let those through, whatever the
    // level asked for.
    let cap = tracing_subscriber::filter::filter_fn(|m| {
        !(*m.level() == tracing::Level::TRACE && is_imap_library(m.target()))
    });
    let registry = tracing_subscriber::registry().with(filter).with(cap);
    let _ = match cli.log_format {
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_target(false),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr)
                    .with_target(false),
            )
            .try_init(),
    };
}

/// The log targets of the IMAP libraries, capped at DEBUG.
pub fn is_imap_library(target: &str) -> bool {
    [
        "io_imap",
        "imap_next",
        "imap_codec",
        "imap_types",
        "io_sasl",
    ]
    .iter()
    .any(|t| target == *t || target.starts_with(&format!("{t}::")))
}

/// What a command leaves behind when a second interrupt ends it at once
/// (its report, saying it is incomplete); run before the process exits.
type HardStop = Box<dyn Fn() + Send>;

static HARD_STOP: std::sync::Mutex<Vec<HardStop>> = std::sync::Mutex::new(Vec::new());

/// Registers `f` to run when a second interrupt ends the process at once,
/// so that every stop path leaves a report.
pub(crate) fn on_hard_stop(f: impl Fn() + Send + 'static) {
    if let Ok(mut v) = HARD_STOP.lock() {
        v.push(Box::new(f));
    }
}

/// Forgets what [`on_hard_stop`] registered (the command wrote its own
/// report).
pub(crate) fn clear_hard_stop() {
    if let Ok(mut v) = HARD_STOP.lock() {
        v.clear();
    }
}

/// Set by Ctrl-C / SIGTERM: stop taking new work, finish what is in flight.
fn install_interrupt() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let _ = ctrlc::set_handler(move || {
        if f.swap(true, Ordering::SeqCst) {
            say!("kerio-migrate: second interrupt, exiting now");
            if let Ok(v) = HARD_STOP.try_lock() {
                for h in v.iter() {
                    h();
                }
            }
            std::process::exit(crate::report::exit::INTERRUPTED);
        }
        say!("kerio-migrate: interrupted; finishing messages in flight (Ctrl-C again to quit now)");
    });
    flag
}

pub(crate) fn progress_mode(cli: &Cli) -> crate::progress::ProgressMode {
    use crate::progress::ProgressMode;
    if cli.quiet {
        ProgressMode::Quiet
    } else if cli.log_format == LogFormat::Json {
        // Machine-readable stderr: progress lines as JSON objects.
        ProgressMode::Json
    } else {
        ProgressMode::Auto
    }
}

/// Writes `text` (a report, a table: text for a person) to stdout with
/// control characters other than newlines escaped (a folder named
/// `ESC[2J` does not clear the screen); a stdout that fails is an error
/// (see [`print_outcome`] for commands whose report is in the journal).
pub(crate) fn print_report(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let text = crate::text::for_terminal(text);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::anyhow!("writing the report to stdout: {e}"))
}

/// Prints the report of a command that changed something (a migration, an
/// upload): its outcome is in the journal and its exit code, so a stdout
/// that fails is said on stderr, not made the command's failure.
pub(crate) fn print_outcome(text: &str) {
    if let Err(e) = print_report(text) {
        say!("kerio-migrate: {e}; the run's report is in the journal (and --report, if given)");
    }
}

/// Parses arguments, runs the command, and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = config::parse();
    // Commands that only print behave like other Unix tools when their
    // output is cut short (`kerio-migrate scan … | head`): they exit quietly
    // instead of panicking in println!. Commands that write to a target
    // keep SIGPIPE ignored: a closed stderr or stdout must never kill a run
    // half-way; they print their report without panicking instead.
    if matches!(
        cli.command,
        Command::Scan(_)
            | Command::Plan(_)
            | Command::Users(_)
            | Command::Verify(_)
            | Command::Report(_)
    ) {
        #[cfg(unix)]
        // SAFETY: restoring the default disposition of SIGPIPE at startup,
        // before any thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    init_logging(&cli);
    if let Some(n) = cli.threads {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global();
    }
    let cancel = install_interrupt();
    let result = match &cli.command {
        Command::Scan(a) => scan::run(&cli, a, &cancel),
        Command::Migrate(a) => migrate::run(&cli, a, &cancel),
        Command::Plan(a) => plan::run(&cli, a),
        Command::Contacts(a) => contacts::run(&cli, a),
        Command::Calendar(a) => calendar::run(&cli, a),
        Command::Users(a) => users::run(&cli, a),
        Command::Verify(a) => verify::run(&cli, a),
        Command::Report(a) => report::run(&cli, a),
        Command::Unpack(a) => unpack::run(&cli, a, &cancel),
        Command::Generate(a) => generate::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            say!(
                "kerio-migrate: error: {}",
                crate::text::for_terminal(&chain_text(&e))
            );
            ExitCode::from(crate::report::exit::FATAL as u8)
        }
    }
}

/// An error and its causes, `: `-joined like `{e:#}`, but a cause whose
/// text the line already holds is left out: our errors name their source
/// in their own text ("journal J: database or disk is full"), and rusqlite's
/// error repeats its own source, so `{e:#}` said the same thing three times.
/// A cause that restates the one before it (SQLite's "Error code 13:
/// database or disk is full" below "database or disk is full") is left out
/// too.
fn chain_text(e: &anyhow::Error) -> String {
    let mut line = String::new();
    let mut previous = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let restates = !previous.is_empty() && text.contains(previous.as_str());
        if line.is_empty() {
            line.clone_from(&text);
        } else if !text.is_empty() && !line.contains(text.as_str()) && !restates {
            line.push_str(": ");
            line.push_str(&text);
        }
        previous = text;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_chain_says_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("journal j.sqlite: {0}")]
        struct Outer(#[source] Inner);
        #[derive(Debug, thiserror::Error)]
        #[error("database or disk is full")]
        struct Inner(#[source] Code);
        #[derive(Debug, thiserror::Error)]
        #[error("Error code 13: database or disk is full")]
        struct Code;
        let e = anyhow::Error::new(Outer(Inner(Code))).context("opening the journal");
        assert_eq!(
            chain_text(&e),
            "opening the journal: journal j.sqlite: database or disk is full"
        );
        let e = anyhow::anyhow!("no such file").context("reading users.cfg");
        assert_eq!(chain_text(&e), "reading users.cfg: no such file");
    }

    #[test]
    fn imap_log_targets() {
        assert!(is_imap_library("io_imap::client"));
        assert!(is_imap_library("imap_next"));
        assert!(!is_imap_library("kerio_migrate::dest::imap"));
    }
}
