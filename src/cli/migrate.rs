//! `kerio-migrate migrate STORE --to TARGET [--unpack-dir DIR]`.

use super::{Cli, MigrateArgs};
use crate::journal::Journal;
use crate::migrate::{migrate, MigrateOptions};
use crate::target::maildir::{MaildirOptions, MaildirTarget};
use crate::target::Target;
use anyhow::{bail, Context};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

/// Journal file name used beside a target when `--state` is not given.
pub const JOURNAL_FILE: &str = "kerio-migrate-journal.sqlite";

fn command_line() -> String {
    // The journal records the command line; secrets are never accepted as
    // arguments, so this holds none.
    std::env::args().collect::<Vec<_>>().join(" ")
}

pub(super) fn run(cli: &Cli, a: &MigrateArgs, cancel: &AtomicBool) -> anyhow::Result<i32> {
    let mapping = a.mapping.config()?;
    let Some((dir, rejected)) =
        super::unpack::store_dir(cli, &a.store, a.unpack_dir.as_deref(), cancel)?
    else {
        return Ok(crate::report::exit::INTERRUPTED);
    };
    let store = crate::store::Store::open(&dir)?;
    let (target, default_state): (Box<dyn Target>, PathBuf) =
        if let Some(dir) = a.to.strip_prefix("maildir:") {
            if dir.is_empty() {
                bail!("--to maildir:DIR needs a directory");
            }
            let t = MaildirTarget::new(
                std::path::Path::new(dir),
                MaildirOptions {
                    dot_char: a.maildir_dot_char,
                    fsync_each: a.fsync,
                    mapper: a.mapping.maildir_mapper(&mapping),
                },
            )?;
            let state = t.root().join(JOURNAL_FILE);
            (Box::new(t), state)
        } else {
            bail!("unsupported target {:?}: use maildir:DIR", a.to);
        };
    let state = a.state.clone().unwrap_or(default_state);
    let journal = Journal::open(&state, &target.id(), &command_line())?;
    let opts = MigrateOptions {
        selection: super::plan::selection(&a.select, &mapping),
        skip_deleted: a.skip_deleted,
        parallel_accounts: a.parallel_accounts.max(1),
        max_rate: a.max_rate,
        ..MigrateOptions::default()
    };
    let progress = crate::progress::Progress::new("migrate", Some(0), super::progress_mode(cli));
    let report = migrate(&store, target.as_ref(), &journal, &opts, &progress, cancel);
    progress.finish();
    let json = report.to_json();
    if let Some(path) = &a.report {
        std::fs::write(path, &json)
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    print!("{}", report.to_text());
    journal.finish_run(report.exit_code, &json)?;
    if rejected > 0 && report.exit_code == crate::report::exit::OK {
        // Entries of the backup were not unpacked: not everything is there.
        return Ok(crate::report::exit::ITEMS_FAILED);
    }
    Ok(report.exit_code)
}
