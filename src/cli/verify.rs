//! `kerio-migrate verify STORE --to TARGET`.

use super::args::{selection, ImapArgs, MappingArgs, SelectArgs};
use super::dest::DestArgs;
use super::Cli;
use crate::dest::{MaildirSettings, Purpose};
use crate::journal::Journal;
use crate::verify::{verify, VerifyOptions};
use anyhow::{bail, Context};
use clap::Args;
use std::path::PathBuf;

/// `verify` arguments.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The Kerio install directory, its `store/` directory, or `store/mail`.
    pub store: PathBuf,
    /// The target that was migrated to (as given to `migrate --to`).
    #[arg(long, value_name = "TARGET")]
    pub to: String,
    /// Journal file (as given to `migrate --state`).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Also compare each message's content with what was sent (reads everything back).
    #[arg(long)]
    pub deep: bool,
    /// Items flagged 0x8 were left out on purpose (`migrate --skip-deleted`).
    #[arg(long)]
    pub skip_deleted: bool,
    /// Maildir: as given to `migrate --maildir-dot-char`.
    #[arg(long, value_name = "CHAR")]
    pub maildir_dot_char: Option<char>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Folder mapping (as given to `migrate`; used for folders the journal has no row of).
    #[command(flatten)]
    pub mapping: MappingArgs,
    /// How to log in to an IMAP target.
    #[command(flatten)]
    pub imap: ImapArgs,
    /// Selection.
    #[command(flatten)]
    pub select: SelectArgs,
    /// The archive and the recoverable items.
    #[command(flatten)]
    pub source: super::args::SourceArgs,
}

/// Runs `verify`.
pub fn run(_cli: &Cli, a: &VerifyArgs) -> anyhow::Result<i32> {
    let store = a.source.open(&a.store, &a.select.selection())?;
    let mapping = a.mapping.config()?;
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let target = super::dest::open(
        DestArgs {
            to: &a.to,
            mapping: &a.mapping,
            config: &mapping,
            imap: &a.imap,
            select: &a.select,
            maildir: MaildirSettings {
                dot_char: a.maildir_dot_char,
                fsync_each: false,
            },
        },
        Purpose::Verify,
        &cancel,
    )?;
    let state = a.state.clone().unwrap_or_else(|| target.default_journal());
    if !state.is_file() {
        bail!(
            "{}: no journal here; give the one migrate used with --state",
            state.display()
        );
    }
    let journal = Journal::open(&state, &target.id(), "verify").context("opening the journal")?;
    let v = verify(
        store.as_ref(),
        target.as_ref(),
        &journal,
        &VerifyOptions {
            selection: selection(&a.select, &mapping),
            deep: a.deep,
            skip_deleted: a.skip_deleted,
        },
    );
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", v.to_text());
    }
    Ok(v.exit_code)
}
