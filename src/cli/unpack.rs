//! `kerio-migrate unpack ARCHIVE_OR_DIR... --out DIR`, and the unpack step
//! that `scan` and `migrate` run when STORE is a backup `.zip`.

use super::Cli;
use crate::report::exit;
use crate::source::kerio::backup::{self, BackupError, UnpackOptions, UnpackReport};
use anyhow::bail;
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// `unpack` arguments.
#[derive(Debug, Args)]
pub struct UnpackArgs {
    /// Kerio backup archives (`F….zip`, its volumes `F….1.zip` …, then a
    /// `D….zip`), or a backup directory: its newest full backup and the
    /// newest differential after it are chosen.
    #[arg(required = true, value_name = "ARCHIVE_OR_DIR")]
    pub inputs: Vec<PathBuf>,
    /// Directory to unpack into; it becomes a Kerio install directory
    /// (`users.cfg`, `mailserver.cfg`, `store/mail/…`). New or empty, or an
    /// earlier unpack to resume (completed archives are skipped).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

fn unpack_inputs(
    cli: &Cli,
    inputs: &[PathBuf],
    out: &Path,
    cancel: &AtomicBool,
) -> anyhow::Result<UnpackReport> {
    let set = backup::select_archives(inputs)?;
    let progress = crate::progress::Progress::new("unpack", Some(0), super::progress_mode(cli));
    let result = backup::unpack(
        &set.archives,
        out,
        &progress,
        UnpackOptions {
            cancel: Some(cancel),
        },
    );
    progress.finish();
    let mut report = result?;
    let mut notes = set.notes;
    notes.append(&mut report.notes);
    report.notes = notes;
    Ok(report)
}

fn interrupted(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<BackupError>(),
        Some(BackupError::Interrupted(_))
    )
}

/// Runs `unpack`: exit 0, 3 when entries were rejected, 4 when
/// interrupted, 1 on a fatal error.
pub(super) fn run(cli: &Cli, a: &UnpackArgs, cancel: &AtomicBool) -> anyhow::Result<i32> {
    let report = match unpack_inputs(cli, &a.inputs, &a.out, cancel) {
        Ok(r) => r,
        Err(e) if interrupted(&e) => {
            eprintln!("kerio-migrate: {e}");
            return Ok(exit::INTERRUPTED);
        }
        Err(e) => return Err(e),
    };
    super::print_report(&report.to_text());
    let rejected = report.rejected_count();
    if rejected > 0 {
        println!(
            "{rejected} entries were not unpacked (listed above); the rest is in {}; next: \
             kerio-migrate scan {}",
            a.out.display(),
            a.out.display()
        );
        return Ok(exit::ITEMS_FAILED);
    }
    println!(
        "Done: {} is an install directory; next: kerio-migrate scan {}",
        a.out.display(),
        a.out.display()
    );
    Ok(exit::OK)
}

fn is_zip(p: &Path) -> bool {
    p.is_file()
        && p.extension()
            .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("zip"))
}

/// The store directory for `scan` and `migrate`. STORE itself, unless it
/// is a backup `.zip` (or, with `--unpack-dir`, a backup directory): then
/// it is unpacked into `unpack_dir` (a complete earlier unpack is reused)
/// and that directory is returned, with the number of rejected entries;
/// `None` when Ctrl-C stopped the unpack (exit [`exit::INTERRUPTED`]).
/// What happens is told on stderr, so `scan --json` stays clean.
pub(super) fn store_dir(
    cli: &Cli,
    store: &Path,
    unpack_dir: Option<&Path>,
    cancel: &AtomicBool,
) -> anyhow::Result<Option<(PathBuf, u64)>> {
    let zip = is_zip(store);
    let Some(dir) = unpack_dir else {
        if zip {
            bail!(
                "{} is a ZIP archive: add --unpack-dir DIR (a new or empty directory) to unpack \
                 it there first; later runs with the same --unpack-dir reuse it",
                store.display()
            );
        }
        return Ok(Some((store.to_path_buf(), 0)));
    };
    if !zip && crate::source::kerio::Store::open(store).is_ok() {
        bail!(
            "--unpack-dir is for a backup .zip (or a backup directory) as STORE; {} is already \
             a store directory: drop --unpack-dir",
            store.display()
        );
    }
    let report = match unpack_inputs(cli, &[store.to_path_buf()], dir, cancel) {
        Ok(r) => r,
        Err(e) if interrupted(&e) => {
            eprintln!("kerio-migrate: {e}");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let rejected = report.rejected_count();
    if report.all_reused() && rejected == 0 {
        if !cli.quiet {
            eprintln!(
                "kerio-migrate: using the complete unpack of {} in {}",
                store.display(),
                dir.display()
            );
        }
    } else {
        eprint!("{}", crate::text::for_terminal(&report.to_text()));
    }
    if rejected > 0 {
        eprintln!(
            "kerio-migrate: warning: {rejected} archive entries were not unpacked (see above); \
             what they hold is missing from {}",
            dir.display()
        );
    }
    Ok(Some((dir.to_path_buf(), rejected)))
}
