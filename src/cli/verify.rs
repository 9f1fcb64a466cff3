//! `kerio-migrate verify STORE --to TARGET`.

use super::{Cli, SelectArgs};
use crate::dest::maildir::{MaildirDest, MaildirOptions};
use crate::dest::Destination;
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
    pub mapping: super::plan::MappingArgs,
    /// How to log in to an IMAP target.
    #[command(flatten)]
    pub imap: super::ImapArgs,
    /// Selection.
    #[command(flatten)]
    pub select: SelectArgs,
}

/// Runs `verify`.
pub fn run(_cli: &Cli, a: &VerifyArgs) -> anyhow::Result<i32> {
    let store = crate::source::open(&a.store)?;
    let mapping = a.mapping.config()?;
    let (target, default_state): (Box<dyn Destination>, PathBuf) = if let Some(dir) =
        a.to.strip_prefix("maildir:")
    {
        let path = std::path::Path::new(dir);
        if !path.is_dir() {
            bail!("{dir}: no such Maildir root");
        }
        let t = MaildirDest::new(
            path,
            MaildirOptions {
                dot_char: a.maildir_dot_char,
                fsync_each: false,
                mapper: a.mapping.maildir_mapper(&mapping),
            },
        )?;
        let state = t.root().join(super::migrate::JOURNAL_FILE);
        (Box::new(t), state)
    } else if a.to.starts_with("imap://") || a.to.starts_with("imaps://") {
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let t = super::migrate::imap_target(&a.to, &a.imap, &a.select, mapping.clone(), &cancel)?;
        (Box::new(t), PathBuf::from(super::migrate::JOURNAL_FILE))
    } else {
        bail!("unsupported target {:?}", a.to);
    };
    let state = a.state.clone().unwrap_or(default_state);
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
            selection: super::plan::selection(&a.select, &mapping),
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
