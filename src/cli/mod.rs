//! The command line: argument definitions (clap) and one function per
//! command. This is the edge where library errors become `anyhow` errors
//! and outcomes become exit codes (see [`crate::report::exit`]).

pub mod calendar;
pub mod contacts;
mod migrate;
pub mod plan;
mod scan;
mod unpack;
pub mod users;
pub mod verify;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
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
    /// Threads that read and prepare items (default: number of CPUs).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
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
pub enum Command {
    /// Inventory a store: accounts, folders, kinds, items, sizes, dates, anomalies.
    Scan(ScanArgs),
    /// Migrate mail items to a target.
    Migrate(MigrateArgs),
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
    /// Unpack Kerio backup ZIPs (full, volumes, differential) into an install directory.
    Unpack(unpack::UnpackArgs),
}

/// Account and folder selection, shared by commands.
#[derive(Debug, Clone, Args, Default)]
pub struct SelectArgs {
    /// Only these accounts (`user@domain`, `#public@domain`; `*` and `?` globs). Repeatable.
    #[arg(long = "account", value_name = "SRC")]
    pub accounts: Vec<String>,
    /// Leave out these accounts (globs). Repeatable.
    #[arg(long = "exclude-account", value_name = "SRC")]
    pub exclude_accounts: Vec<String>,
    /// Only folders whose path matches (`INBOX`, `INBOX/*`). Repeatable.
    #[arg(long = "folder", value_name = "PATH")]
    pub folders: Vec<String>,
    /// Leave out folders whose path matches. Repeatable.
    #[arg(long = "exclude-folder", value_name = "PATH")]
    pub exclude_folders: Vec<String>,
}

impl SelectArgs {
    fn selection(&self) -> crate::select::Selection {
        crate::select::Selection::new(
            &self.accounts,
            &self.exclude_accounts,
            &self.folders,
            &self.exclude_folders,
        )
    }
}

/// `scan` arguments.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The Kerio install directory, its `store/` directory, `store/mail`, or a backup `.zip`.
    pub store: PathBuf,
    /// Unpack a backup `.zip` STORE here first (reused when complete).
    #[arg(long, value_name = "DIR")]
    pub unpack_dir: Option<PathBuf>,
    /// Print the inventory as JSON on stdout instead of the text summary.
    #[arg(long)]
    pub json: bool,
    /// Selection.
    #[command(flatten)]
    pub select: SelectArgs,
}

/// `migrate` arguments.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The Kerio install directory, its `store/` directory, `store/mail`, or a backup `.zip`.
    pub store: PathBuf,
    /// Unpack a backup `.zip` STORE here first (reused when complete).
    #[arg(long, value_name = "DIR")]
    pub unpack_dir: Option<PathBuf>,
    /// Target: `maildir:DIR`.
    #[arg(long, value_name = "TARGET")]
    pub to: String,
    /// Journal file (default: `kerio-migrate-journal.sqlite` in the Maildir root).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Do not migrate items flagged 0x8 (probably deleted, not expunged) in index.fld.
    #[arg(long)]
    pub skip_deleted: bool,
    /// Accounts migrated at the same time.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub parallel_accounts: usize,
    /// Send at most this many messages per second (whole run).
    #[arg(long, value_name = "N")]
    pub max_rate: Option<f64>,
    /// Maildir: replace `.` in folder names with this character instead of
    /// Dovecot's listescape `\2e`.
    #[arg(long, value_name = "CHAR")]
    pub maildir_dot_char: Option<char>,
    /// Maildir: fsync every file (the default syncs the file system once per journal batch).
    #[arg(long)]
    pub fsync: bool,
    /// Folder mapping.
    #[command(flatten)]
    pub mapping: plan::MappingArgs,
    /// Selection.
    #[command(flatten)]
    pub select: SelectArgs,
}

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match cli.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Set by Ctrl-C / SIGTERM: stop taking new work, finish what is in flight.
fn install_interrupt() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let _ = ctrlc::set_handler(move || {
        if f.swap(true, Ordering::SeqCst) {
            eprintln!("kerio-migrate: second interrupt, exiting now");
            std::process::exit(crate::report::exit::INTERRUPTED);
        }
        eprintln!(
            "kerio-migrate: interrupted; finishing messages in flight (Ctrl-C again to quit now)"
        );
    });
    flag
}

pub(crate) fn progress_mode(cli: &Cli) -> crate::progress::ProgressMode {
    if cli.quiet {
        crate::progress::ProgressMode::Quiet
    } else {
        crate::progress::ProgressMode::Auto
    }
}

/// Parses arguments, runs the command, and returns the process exit code.
pub fn main() -> ExitCode {
    // Behave like other Unix tools when the output is cut short
    // (`kerio-migrate scan … | head`): exit quietly instead of panicking
    // in println!.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE at startup,
    // before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
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
        Command::Unpack(a) => unpack::run(&cli, a, &cancel),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("kerio-migrate: error: {e:#}");
            ExitCode::from(crate::report::exit::FATAL as u8)
        }
    }
}
