//! Arguments shared by several commands: account and folder selection,
//! folder mapping, and the IMAP destination's options. Secrets are never
//! accepted as arguments: only the name of a variable or a file.

use crate::mapping::{MappingConfig, Preset};
use crate::select::Selection;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

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
    /// Only shard K of N (`2/3`): the store's accounts split into N parts balanced by
    /// bytes (largest first onto the lightest part), computed from the store alone, so
    /// every machine given the same store and options takes its own accounts and no
    /// other's. --account / --exclude-account narrow the shard further.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::select::Shard>,
}

impl SelectArgs {
    /// The selection without the shard (which needs the store: see
    /// [`SourceArgs::open`]).
    pub(super) fn selection(&self) -> crate::select::Selection {
        crate::select::Selection::new(
            &self.accounts,
            &self.exclude_accounts,
            &self.folders,
            &self.exclude_folders,
        )
    }
}

/// Where mail goes and how: shared by `migrate`, `plan` and `verify`, so
/// they read a destination the same way.
#[derive(Debug, Clone, Args)]
pub struct DestinationArgs {
    /// Target: `maildir:DIR`, `imaps://HOST[:PORT]` (implicit TLS) or
    /// `imap://HOST[:PORT]` (STARTTLS required).
    #[arg(long, value_name = "TARGET")]
    pub to: String,
    /// Maildir: replace `.` in folder names with this character instead of
    /// Dovecot's listescape `\2e`.
    #[arg(long, value_name = "CHAR")]
    pub maildir_dot_char: Option<char>,
    /// Folder mapping.
    #[command(flatten)]
    pub mapping: MappingArgs,
    /// IMAP target options.
    #[command(flatten)]
    pub imap: ImapArgs,
}

/// What is read beyond the accounts' own folders: the archive and the
/// recoverable items. Shared by every command that walks the store, so
/// that `scan`, `plan`, `migrate`, `verify` and the exporters see the same.
#[derive(Debug, Clone, Args, Default)]
pub struct SourceArgs {
    /// The archive's directory, when it is not where Kerio keeps it (store/archive,
    /// store/mail/archive, or the path in mailserver.cfg).
    #[arg(long, value_name = "DIR")]
    pub archive_dir: Option<PathBuf>,
    /// Migrate the archive into this account (user@domain: one of the store's or a new
    /// one), under FOLDER (default `Archive`), one folder per archive period.
    #[arg(long, value_name = "ACCOUNT[/FOLDER]")]
    pub archive_to: Option<String>,
    /// How archive folders are named below --archive-to's folder: one per period
    /// (`Archive/2012-12-21`) or the archive's own tree (`Archive/2012-12-21/INBOX`).
    #[arg(long, value_enum, default_value = "period", value_name = "LAYOUT")]
    pub archive_folders: ArchiveFoldersArg,
    /// Also read each account's #deleted (Kerio's deleted-items recovery store, up to
    /// 365 days) into a folder `Recovered` (skipped by default).
    #[arg(long)]
    pub include_recoverable: bool,
    /// Follow folder directories that are symbolic links (each directory is walked
    /// once, by device and inode, so a link loop ends). By default such links are
    /// reported and not walked.
    #[arg(long)]
    pub follow_symlinks: bool,
}

/// `--archive-folders` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ArchiveFoldersArg {
    /// One folder per archive period.
    #[default]
    Period,
    /// The archive's own folder tree below each period.
    Tree,
}

impl SourceArgs {
    /// The source options these arguments ask for.
    pub fn options(&self) -> anyhow::Result<crate::source::SourceOptions> {
        use crate::source::{ArchiveLayout, ArchiveTo, SourceOptions};
        let layout = match self.archive_folders {
            ArchiveFoldersArg::Period => ArchiveLayout::Period,
            ArchiveFoldersArg::Tree => ArchiveLayout::Tree,
        };
        let archive_to = self
            .archive_to
            .as_deref()
            .map(|s| ArchiveTo::parse(s, layout))
            .transpose()
            .map_err(|e| anyhow::anyhow!("--archive-to {e}"))?;
        Ok(SourceOptions {
            archive_dir: self.archive_dir.clone(),
            archive_to,
            recoverable_to: self.include_recoverable.then(|| "Recovered".to_string()),
            follow_symlinks: self.follow_symlinks,
        })
    }

    /// Opens the store at `path` with these options, and the selection
    /// with `--shard`'s accounts; `--archive-to` without an archive, or
    /// naming an account the selection leaves out, is an error before
    /// anything starts.
    pub fn open(&self, path: &std::path::Path, select: &SelectArgs) -> anyhow::Result<Opened> {
        self.open_in(crate::source::fs::DiskFs::shared(), path, select)
    }

    /// [`SourceArgs::open`] of the store `at` (on disk, or a backup read
    /// in place).
    pub(super) fn open_at(
        &self,
        at: &super::unpack::StoreAt,
        select: &SelectArgs,
    ) -> anyhow::Result<Opened> {
        self.open_in(at.fs.clone(), &at.path, select)
    }

    fn open_in(
        &self,
        fs: crate::source::fs::SharedFs,
        path: &std::path::Path,
        select: &SelectArgs,
    ) -> anyhow::Result<Opened> {
        let selection = select.selection();
        let options = self.options()?;
        let source = crate::source::open_in(fs, path, &options)?;
        if let Some(to) = &options.archive_to {
            let archive = source.archive();
            let found = archive.as_ref().is_some_and(|a| !a.roots.is_empty());
            if !found {
                let (looked, problems) = archive
                    .map(|a| (a.looked_at.join("; "), a.problems.join("; ")))
                    .unwrap_or_default();
                anyhow::bail!(
                    "--archive-to {}: no archive found (looked at: {looked}){}",
                    to.account,
                    if problems.is_empty() {
                        String::new()
                    } else {
                        format!("; {problems}")
                    }
                );
            }
            if !selection.account(&to.account) {
                anyhow::bail!(
                    "--archive-to {}: that account is left out by --account / --exclude-account",
                    to.account
                );
            }
        }
        let mut opened = Opened {
            source,
            selection,
            shard: None,
        };
        if let Some(shard) = select.shard {
            let weights = crate::scan::account_weights(opened.source.as_ref())
                .context("weighing the accounts for --shard")?;
            let mine = crate::select::shard_accounts(&weights, shard);
            opened.shard = Some(crate::select::ShardSummary::new(&weights, shard));
            opened.selection.shard = Some(mine);
        }
        Ok(opened)
    }
}

/// A store opened for a command: the source, the selection (with
/// `--shard`'s accounts), and the shard's figures.
pub struct Opened {
    /// The store.
    pub source: Box<dyn crate::source::Source>,
    /// `--account`, `--exclude-account`, `--folder`, `--exclude-folder`
    /// and `--shard` (a mapping file's folders are added by [`selection`]).
    pub selection: Selection,
    /// `--shard`: which accounts and bytes are this shard's.
    pub shard: Option<crate::select::ShardSummary>,
}

/// Folder mapping options, shared by `plan` and `migrate`.
#[derive(Debug, Clone, Args, Default)]
pub struct MappingArgs {
    /// Target preset: gmail, office365, dovecot (special folder names, name rules, size limit).
    #[arg(long, value_name = "PRESET")]
    pub preset: Option<Preset>,
    /// Folder mapping file (TOML: renames, regex rules, prefix, include/exclude; see
    /// docs/mapping-example.toml).
    #[arg(long, value_name = "FILE.toml")]
    pub mapping: Option<PathBuf>,
    /// Put migrated folders below this path (`Kerio/`); INBOX and special folders stay put.
    #[arg(long, value_name = "PATH")]
    pub prefix: Option<String>,
    /// Keep folders other clients created under localized names (`Gesendete Objekte`,
    /// `Éléments envoyés`, `Корзина`) apart instead of merging them into the special folder.
    #[arg(long)]
    pub keep_localized_folders: bool,
}

impl MappingArgs {
    /// True when any mapping option was given.
    pub fn is_set(&self) -> bool {
        self.preset.is_some() || self.mapping.is_some() || self.prefix.is_some()
    }

    /// The configuration: the file, then `--preset` and `--prefix` over it.
    pub fn config(&self) -> anyhow::Result<MappingConfig> {
        let mut c = match &self.mapping {
            Some(p) => MappingConfig::load(p).context("reading the mapping file")?,
            None => MappingConfig::default(),
        };
        if let Some(p) = self.preset {
            c.preset = Some(p);
        }
        if let Some(p) = &self.prefix {
            c.prefix = Some(p.clone());
        }
        if self.keep_localized_folders {
            c.localized_special_folders = false;
        }
        c.validate().context("--prefix")?;
        Ok(c)
    }
}

/// The selection plus the mapping file's include/exclude.
pub(super) fn selection(selection: &Selection, config: &MappingConfig) -> Selection {
    let mut s = selection.clone();
    s.add_folders(&config.include, &config.exclude);
    s
}

/// The journal's default path for a shard: `NAME-shard-K-of-N.EXT` beside
/// `path`, so that shards sharing a directory never share a journal.
pub(super) fn shard_journal(
    path: std::path::PathBuf,
    shard: Option<crate::select::Shard>,
) -> std::path::PathBuf {
    let Some(s) = shard else {
        return path;
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kerio-migrate-journal".into());
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!("{stem}-shard-{}-of-{}{ext}", s.index, s.count))
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
    #[arg(long, default_value_t = 15, value_name = "SECS", value_parser = count::<u64, 1, 3600>)]
    pub connect_timeout: u64,
    /// Read/write timeout of every network call, in seconds.
    #[arg(long, default_value_t = 120, value_name = "SECS", value_parser = count::<u64, 1, 86400>)]
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
    /// Append connections per account (1 to 64).
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = count::<usize, 1, 64>)]
    pub connections: usize,
    /// APPEND commands in flight per connection (1 to 1024).
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = count::<usize, 1, 1024>)]
    pub window: usize,
    /// Most APPEND commands in flight per connection once the window has
    /// grown to fill a long link (1 to 8192; at least --window).
    #[arg(long, default_value_t = 1024, value_name = "N", value_parser = count::<usize, 1, 8192>)]
    pub window_max: usize,
    /// Most bytes in flight per connection (the memory bound of the window).
    #[arg(long, default_value = "64M", value_name = "BYTES", value_parser = positive_size)]
    pub window_bytes_max: u64,
    /// Messages per MULTIAPPEND command (1 disables MULTIAPPEND; at most 1000).
    #[arg(long, default_value_t = 50, value_name = "N", value_parser = count::<usize, 1, 1000>)]
    pub batch: usize,
    /// NUL bytes when the server has no BINARY.
    #[arg(long, value_enum, default_value = "strip")]
    pub nul: NulArg,
    /// Bytes uploaded per target account in any 24 hours (e.g. 500M for
    /// Gmail); when used up the account waits.
    #[arg(long, value_name = "BYTES", value_parser = positive_size)]
    pub max_bytes_per_day: Option<u64>,
    /// Reconnections and resends before a message is reported failed (0 to 100).
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = count::<u32, 0, 100>)]
    pub retries: u32,
    /// Add an `X-Kerio-Migrate-Id` header to messages with no usable
    /// identity (no Message-ID, no Date/From/Subject), so that a rerun
    /// without the journal can recognise them on the server. Off unless
    /// asked: it changes the message.
    #[arg(long)]
    pub tag_messages: bool,
    /// Longest pause between reconnections (the backoff doubles from 1 s).
    #[arg(long, default_value_t = 60, value_name = "SECONDS", value_parser = count::<u64, 1, 86400>)]
    pub backoff_max: u64,
}

/// A count on the command line between `MIN` and `MAX` (a usage error,
/// exit 2, otherwise): every count has a sane maximum, so that
/// `--connections 20000` is refused instead of exhausting the machine, and
/// 0 is refused where it would mean that nothing can happen.
pub fn count<T, const MIN: u64, const MAX: u64>(s: &str) -> Result<T, String>
where
    T: TryFrom<u64>,
{
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))?;
    if !(MIN..=MAX).contains(&n) {
        return Err(format!("{n} is out of range: give {MIN} to {MAX}"));
    }
    T::try_from(n).map_err(|_| format!("{n} is too large"))
}

/// A byte size (`500M`, `2GB`) that is not 0.
pub fn positive_size(s: &str) -> Result<u64, String> {
    match crate::text::parse_size(s)? {
        0 => Err("0 bytes would allow nothing: give a size above 0".into()),
        n => Ok(n),
    }
}

/// Messages per second: a positive number, at most 100,000.
pub fn positive_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 100_000.0 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a number of messages per second above 0 and at most 100000"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::Shard;
    use std::path::PathBuf;

    #[test]
    fn each_shard_has_its_own_default_journal() {
        let j = |p: &str, s: Option<Shard>| shard_journal(PathBuf::from(p), s);
        let s = Some(Shard { index: 2, count: 3 });
        assert_eq!(
            j("/md/kerio-migrate-journal.sqlite", s),
            PathBuf::from("/md/kerio-migrate-journal-shard-2-of-3.sqlite")
        );
        assert_eq!(j("journal", s), PathBuf::from("journal-shard-2-of-3"));
        assert_eq!(j("/md/j.sqlite", None), PathBuf::from("/md/j.sqlite"));
    }
}
