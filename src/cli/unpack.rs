//! `kerio-migrate unpack ARCHIVE_OR_DIR... --out DIR`, and where `scan`,
//! `migrate`, `plan` and `verify` read STORE from ([`store_dir`]): a store
//! directory, a backup read in place, or a backup unpacked first with
//! `--unpack-dir`.

use super::Cli;
use crate::report::exit;
use crate::source::fs::{DiskFs, SharedFs};
use crate::source::kerio::backup::{self, ArchiveFs, BackupError, UnpackOptions, UnpackReport};
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
            say!("kerio-migrate: {e}");
            return Ok(exit::INTERRUPTED);
        }
        Err(e) => return Err(e),
    };
    super::print_outcome(&report.to_text());
    let rejected = report.rejected_count();
    if rejected > 0 {
        out!(
            "{rejected} entries were not unpacked (listed above); the rest is in {}; next: \
             kerio-migrate scan {}",
            a.out.display(),
            a.out.display()
        )?;
        return Ok(exit::ITEMS_FAILED);
    }
    out!(
        "Done: {} is an install directory; next: kerio-migrate scan {}",
        a.out.display(),
        a.out.display()
    )?;
    Ok(exit::OK)
}

fn is_zip(p: &Path) -> bool {
    p.is_file()
        && p.extension()
            .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("zip"))
}

/// Where a command reads the store: a directory on disk (given, or an
/// unpack), or a backup set read in place.
pub(super) struct StoreAt {
    /// What it is read through.
    pub fs: SharedFs,
    /// The install or store directory, as `fs` names it.
    pub path: PathBuf,
    /// Archive entries refused (not unpacked, or not read in place).
    pub rejected: u64,
}

impl StoreAt {
    fn disk(path: &Path, rejected: u64) -> StoreAt {
        StoreAt {
            fs: DiskFs::shared(),
            path: path.to_path_buf(),
            rejected,
        }
    }
}

/// A backup given as STORE (a `.zip`, or a directory of Kerio backups
/// that is not itself a store) is read in place: the set is chosen as
/// `unpack` chooses it, its central directories read, nothing written.
fn in_place(cli: &Cli, store: &Path) -> anyhow::Result<StoreAt> {
    let fs = ArchiveFs::open(&[store.to_path_buf()])?;
    if !cli.quiet {
        say!(
            "kerio-migrate: reading {} in place ({} archive(s): {}); nothing is unpacked",
            store.display(),
            fs.archives().len(),
            fs.archives()
                .iter()
                .map(|a| a.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        for n in &fs.notes {
            say!("kerio-migrate: {}", crate::text::for_terminal(n));
        }
    }
    let rejected = fs.rejected().len() as u64;
    for r in fs.rejected() {
        say!(
            "kerio-migrate: {}: entry {:?} not read: {}",
            r.archive.display(),
            crate::text::for_terminal(&r.entry),
            crate::text::for_terminal(&r.reason)
        );
    }
    if rejected > 0 {
        say!(
            "kerio-migrate: warning: {rejected} archive entries were refused (see above); what \
             they hold is not migrated"
        );
    }
    let path = fs.root().to_path_buf();
    Ok(StoreAt {
        fs: std::sync::Arc::new(fs),
        path,
        rejected,
    })
}

/// The store for `scan`, `migrate`, `plan` and `verify`. STORE itself when
/// it is a store directory. A backup `.zip` or a backup directory is read
/// in place, or with `unpack_dir` unpacked there first (a complete
/// earlier unpack is reused) and read from there; `None` when Ctrl-C
/// stopped the unpack (exit [`exit::INTERRUPTED`]). What happens is told
/// on stderr, so `scan --json` stays clean.
pub(super) fn store_dir(
    cli: &Cli,
    store: &Path,
    unpack_dir: Option<&Path>,
    cancel: &AtomicBool,
) -> anyhow::Result<Option<StoreAt>> {
    let zip = is_zip(store);
    let Some(dir) = unpack_dir else {
        if zip {
            return in_place(cli, store).map(Some);
        }
        let is_store = crate::source::kerio::Store::open(store).is_ok();
        if !is_store && store.is_dir() && backup::select_archives(&[store.to_path_buf()]).is_ok() {
            return in_place(cli, store).map(Some);
        }
        return Ok(Some(StoreAt::disk(store, 0)));
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
            say!("kerio-migrate: {e}");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let rejected = report.rejected_count();
    if report.all_reused() && rejected == 0 {
        if !cli.quiet {
            say!(
                "kerio-migrate: using the complete unpack of {} in {}",
                store.display(),
                dir.display()
            );
        }
    } else {
        let text = report.to_text();
        say!(
            "{}",
            crate::text::for_terminal(&text).trim_end_matches('\n')
        );
    }
    if rejected > 0 {
        say!(
            "kerio-migrate: warning: {rejected} archive entries were not unpacked (see above); \
             what they hold is missing from {}",
            dir.display()
        );
    }
    Ok(Some(StoreAt::disk(dir, rejected)))
}
