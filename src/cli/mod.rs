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
#[allow(clippy::large_enum_variant)] // parsed once
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
    /// Target: `maildir:DIR`, `imaps://HOST[:PORT]` (implicit TLS) or
    /// `imap://HOST[:PORT]` (STARTTLS required).
    #[arg(long, value_name = "TARGET")]
    pub to: String,
    /// Journal file (default: `kerio-migrate-journal.sqlite` in the Maildir
    /// root, or in the current directory for IMAP).
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
    /// IMAP target options.
    #[command(flatten)]
    pub imap: ImapArgs,
    /// Selection.
    #[command(flatten)]
    pub select: SelectArgs,
}

/// TLS modes of `--tls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsArg {
    /// Plain IMAP, no encryption (only when asked for; meant for loopback tests).
    None,
    /// Plain connect, then STARTTLS (required).
    Starttls,
    /// TLS from the first byte.
    Implicit,
}

/// `--nul` policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NulArg {
    /// Remove NUL bytes and send the rest (reported per folder).
    Strip,
    /// Do not send such messages (reported as skipped).
    Skip,
}

/// Password mechanisms of `--auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthArg {
    /// AUTHENTICATE PLAIN when offered, else LOGIN.
    Auto,
    /// IMAP LOGIN.
    Login,
    /// AUTHENTICATE PLAIN.
    Plain,
}

/// Options of the IMAP target (`--to imap[s]://…`). Secrets are never
/// accepted as arguments: only the name of a variable or a file.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "IMAP target")]
pub struct ImapArgs {
    /// Override the TLS mode of the URL (`none` is refused unless given here).
    #[arg(long, value_enum, value_name = "MODE")]
    pub tls: Option<TlsArg>,
    /// Trust this CA (PEM) for the server certificate, besides the system ones.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Do not verify the server certificate or host name (dangerous).
    #[arg(long)]
    pub insecure: bool,
    /// TCP connect timeout, in seconds.
    #[arg(long, default_value_t = 15, value_name = "SECS")]
    pub connect_timeout: u64,
    /// Read/write timeout of every network call, in seconds.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub io_timeout: u64,
    /// Login on the target for the one account given with --account.
    #[arg(long, value_name = "LOGIN")]
    pub user: Option<String>,
    /// Read the --user password from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "password_file")]
    pub password_env: Option<String>,
    /// Read the --user password from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Account mapping: CSV `source,target_user,secret` (secret: env:VAR,
    /// file:PATH, or empty for the admin login / a prompt), as written by
    /// `kerio-migrate users --format accounts-csv`.
    #[arg(long = "accounts", value_name = "FILE.csv", conflicts_with = "user")]
    pub accounts_file: Option<PathBuf>,
    /// Admin / master login: SASL PLAIN as this user on behalf of each
    /// account (Dovecot master users, Cyrus, Zimbra); no user passwords needed.
    #[arg(long, value_name = "LOGIN")]
    pub admin_user: Option<String>,
    /// Read the admin password from this environment variable.
    #[arg(
        long,
        value_name = "VAR",
        requires = "admin_user",
        conflicts_with = "admin_password_file"
    )]
    pub admin_password_env: Option<String>,
    /// Read the admin password from the first line of this file.
    #[arg(long, value_name = "FILE", requires = "admin_user")]
    pub admin_password_file: Option<PathBuf>,
    /// XOAUTH2: a shell command that prints an access token (it gets the
    /// login in $KERIO_MIGRATE_USER and as `{user}`, which is replaced by
    /// the shell-quoted login: do not quote it again); rerun when the token
    /// expires or is refused.
    #[arg(long, value_name = "CMD", conflicts_with = "oauth2_token_file")]
    pub oauth2_token_cmd: Option<String>,
    /// XOAUTH2: a file holding the access token (reread when the token is
    /// 45 minutes old or refused, so an outside refresher can keep it current).
    #[arg(long, value_name = "FILE")]
    pub oauth2_token_file: Option<PathBuf>,
    /// How passwords are sent.
    #[arg(long, value_enum, default_value = "auto")]
    pub auth: AuthArg,
    /// Migrate `#public@domain` folders into this login (else they need a
    /// row in --accounts, or are skipped as not mapped).
    #[arg(long, value_name = "LOGIN")]
    pub public_to: Option<String>,
    /// Folder under which public folders are created.
    #[arg(long, default_value = "Public", value_name = "NAME")]
    pub public_prefix: String,
    /// Append connections per account.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub connections: usize,
    /// APPEND commands in flight per connection.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub window: usize,
    /// Messages per MULTIAPPEND command (1 disables MULTIAPPEND).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub batch: usize,
    /// NUL bytes when the server has no BINARY.
    #[arg(long, value_enum, default_value = "strip")]
    pub nul: NulArg,
    /// Bytes uploaded per target account in any 24 hours (e.g. 500M for
    /// Gmail); when used up the account waits.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    pub max_bytes_per_day: Option<u64>,
    /// Reconnections and resends before a message is reported failed.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub retries: u32,
}

/// `500M`, `2G`, `1048576`.
fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown unit in {s:?} (K, M, G, T)")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a byte count"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
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

/// Writes `text` to stdout, ignoring a closed or failing stdout (the
/// report is also in the journal and `--report`).
pub(crate) fn print_report(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Parses arguments, runs the command, and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Commands that only print behave like other Unix tools when their
    // output is cut short (`kerio-migrate scan … | head`): they exit quietly
    // instead of panicking in println!. Commands that write to a target
    // keep SIGPIPE ignored: a closed stderr or stdout must never kill a run
    // half-way; they print their report without panicking instead.
    if matches!(
        cli.command,
        Command::Scan(_) | Command::Plan(_) | Command::Users(_) | Command::Verify(_)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes("500M"), Ok(500 << 20));
        assert_eq!(parse_bytes("2g"), Ok(2 << 30));
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert!(parse_bytes("5X").is_err());
        assert!(parse_bytes("M").is_err());
    }

    #[test]
    fn imap_log_targets() {
        assert!(is_imap_library("io_imap::client"));
        assert!(is_imap_library("imap_next"));
        assert!(!is_imap_library("kerio_migrate::dest::imap"));
    }
}
