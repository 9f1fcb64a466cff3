//! The unpack of a set of archives, in two passes: every archive is opened
//! and its layout detected before anything is written (so a missing volume
//! or a split archive stops the run early), then the archives not recorded
//! as complete in the marker are unpacked in order. An archive is recorded
//! as complete only once all its entries were handled; one that is
//! unpacked again loses its record first, so an interruption redoes it.

use super::archive::{archive_uses_backslashes, entry_list, open_archive};
use super::extract::{EntryError, EntryOutcome, Extractor};
use super::layout::Layout;
use super::marker::{fingerprint, read_marker, write_marker, Fingerprint, Marker, MarkerEntry};
use super::names::{file_name_of, parse_backup_name, BackupName};
use super::report::{ArchiveReport, Rejected, UnpackReport};
use super::times::TimeSources;
use super::{io_err, BackupError};
use crate::source::kerio::Store;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Options of [`unpack`].
#[derive(Debug, Clone, Copy, Default)]
pub struct UnpackOptions<'a> {
    /// Set to stop between entries (Ctrl-C).
    pub cancel: Option<&'a AtomicBool>,
}

/// What pass 1 decided for one archive.
struct ArchivePlan {
    path: PathBuf,
    fp: Fingerprint,
    layout: Layout,
    inherited: bool,
    /// Completely unpacked before, and nothing before it is redone.
    skip: bool,
    name: Option<BackupName>,
    backslashes: bool,
}

/// Unpacks `archives` (in that order: see
/// [`select_archives`](super::select_archives)) into `out`, which becomes a
/// Kerio install directory (`users.cfg`, `mailserver.cfg`,
/// `store/mail/…`). Archives recorded as completely unpacked in `out`'s
/// marker are skipped (unless an archive before them is unpacked again).
///
/// Every archive is opened and its layout detected before anything is
/// written, so a missing volume or a split archive stops the run early.
/// Rejected entries are in the report; errors are what stops the run.
pub fn unpack(
    archives: &[PathBuf],
    out: &Path,
    progress: &dyn crate::model::ProgressSink,
    opts: UnpackOptions<'_>,
) -> Result<UnpackReport, BackupError> {
    if archives.is_empty() {
        return Err(BackupError::NoArchives);
    }
    let mut marker = open_marker(out)?;
    let mut report = UnpackReport {
        out: out.to_path_buf(),
        archives: Vec::new(),
        notes: Vec::new(),
    };
    let (plans, total_entries) = plan_archives(archives, &marker)?;
    if let Some(note) = strangers_note(out, &plans, &marker) {
        report.notes.push(note);
    }
    fs::create_dir_all(out).map_err(io_err(out))?;
    // Archives unpacked again lose their "complete" record first, so an
    // interrupted run redoes them. Written before anything else, so that
    // an interrupted first run is recognised as an unpack directory (and
    // resumed) next time.
    marker
        .archives
        .retain(|m| !plans.iter().any(|p| !p.skip && p.fp.path == m.id.path));
    write_marker(out, &marker)?;
    progress.add_total(total_entries);
    for plan in plans {
        let ar = if plan.skip {
            reused(plan, &marker)
        } else {
            unpack_archive(plan, out, &mut marker, progress, opts)?
        };
        report.archives.push(ar);
    }
    if let Err(e) = Store::open(out) {
        report
            .notes
            .push(format!("WARNING: the result is not a usable store: {e}"));
    }
    Ok(report)
}

/// The marker of `out`, or a new one when `out` is new or empty; any other
/// directory is refused.
fn open_marker(out: &Path) -> Result<Marker, BackupError> {
    if let Some(m) = read_marker(out)? {
        return Ok(m);
    }
    if out.exists() {
        let mut rd = fs::read_dir(out).map_err(io_err(out))?;
        if rd.next().is_some() {
            return Err(BackupError::OutNotEmpty(out.to_path_buf()));
        }
    }
    Ok(Marker {
        version: 1,
        archives: Vec::new(),
    })
}

/// Pass 1: opens every archive, detects its layout (or inherits the one
/// before it), and decides what to skip. Returns the plans and the number
/// of entries to unpack.
fn plan_archives(
    archives: &[PathBuf],
    marker: &Marker,
) -> Result<(Vec<ArchivePlan>, u64), BackupError> {
    let mut plans = Vec::new();
    let mut prev: Option<Layout> = marker.archives.last().map(|m| m.layout.clone());
    let mut redo = false;
    let mut total_entries = 0u64;
    for path in archives {
        let fp = fingerprint(path)?;
        let a = open_archive(path)?;
        let backslashes = archive_uses_backslashes(&a);
        let (names, top) = entry_list(&a, backslashes);
        let (layout, inherited) = detect_layout(path, &names, top, prev.as_ref())?;
        prev = Some(layout.clone());
        let skip = !redo && marker.archives.iter().any(|m| m.id == fp);
        if !skip {
            redo = true;
            total_entries += a.len() as u64;
        }
        plans.push(ArchivePlan {
            path: path.clone(),
            fp,
            layout,
            inherited,
            skip,
            name: parse_backup_name(&file_name_of(path)),
            backslashes,
        });
    }
    Ok((plans, total_entries))
}

/// The layout of one archive of a set: detected, else inherited from the
/// archive before it (a differential may hold no whole mail tree), with
/// whether it was inherited.
pub(super) fn detect_layout(
    path: &Path,
    names: &[(Vec<String>, bool)],
    top: Vec<String>,
    prev: Option<&Layout>,
) -> Result<(Layout, bool), BackupError> {
    match (Layout::detect(names, prev), prev) {
        (Some(l), _) => Ok((l, false)),
        (None, Some(p)) => {
            let mut l = p.clone();
            // The cfg files, if this archive has some, still go to the root.
            if let Some(c) = Layout::detect_cfg_only(names) {
                l.cfg_prefix = Some(c);
            }
            Ok((l, true))
        }
        (None, None) => Err(BackupError::NoMailTree {
            archive: path.to_path_buf(),
            top_level: top,
        }),
    }
}

/// A note when `out` also holds what other archives than these left.
fn strangers_note(out: &Path, plans: &[ArchivePlan], marker: &Marker) -> Option<String> {
    let strangers: Vec<String> = marker
        .archives
        .iter()
        .filter(|m| !plans.iter().any(|p| p.fp.path == m.id.path))
        .map(|m| m.id.path.clone())
        .collect();
    (!strangers.is_empty()).then(|| {
        format!(
            "note: {} also holds what was unpacked earlier from other archives ({}); files they \
             left that these archives do not replace are still there",
            out.display(),
            strangers.join(", ")
        )
    })
}

fn new_report(plan: &ArchivePlan) -> ArchiveReport {
    ArchiveReport {
        path: plan.path.clone(),
        kind: plan.name.as_ref().map(|n| n.kind),
        volume: plan.name.as_ref().map_or(0, |n| n.volume),
        layout: plan.layout.clone(),
        layout_inherited: plan.inherited,
        already_unpacked: plan.skip,
        entries: 0,
        files: 0,
        dirs: 0,
        bytes: 0,
        rejected: Vec::new(),
        times: TimeSources::default(),
        warnings: Vec::new(),
        complete: true,
    }
}

/// The report of an archive skipped as already unpacked: its counts and
/// rejected entries as the marker recorded them.
fn reused(plan: ArchivePlan, marker: &Marker) -> ArchiveReport {
    let mut ar = new_report(&plan);
    if let Some(m) = marker.archives.iter().find(|m| m.id == plan.fp) {
        ar.entries = m.entries;
        ar.files = m.files;
        ar.bytes = m.bytes;
        ar.rejected = m
            .rejected
            .iter()
            .map(|(entry, reason)| Rejected {
                archive: plan.path.clone(),
                entry: entry.clone(),
                reason: reason.clone(),
            })
            .collect();
    }
    ar
}

/// Pass 2 for one archive: every entry, then the directory times, then
/// the marker record when nothing needs a retry.
fn unpack_archive(
    plan: ArchivePlan,
    out: &Path,
    marker: &mut Marker,
    progress: &dyn crate::model::ProgressSink,
    opts: UnpackOptions<'_>,
) -> Result<ArchiveReport, BackupError> {
    let mut ar = new_report(&plan);
    let path = &plan.path;
    let mut a = open_archive(path)?;
    ar.entries = a.len() as u64;
    match super::archive::duplicate_names(path, a.len()) {
        Ok(dups) => ar.warnings.extend(dups.into_iter().map(|(name, n)| {
            format!("{name:?} is stored {n} times in the archive: only its last copy was unpacked, the others are not in the output")
        })),
        Err(e) => ar
            .warnings
            .push(format!("the central directory could not be checked for names stored twice: {e}")),
    }
    let mut x = Extractor::new(out, path, &plan.layout, plan.backslashes);
    for i in 0..a.len() {
        if opts.cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
            return Err(BackupError::Interrupted(path.clone()));
        }
        match x.entry(&mut a, i) {
            Ok(EntryOutcome::File(n, t)) => {
                ar.files += 1;
                ar.bytes += n;
                ar.times.count(t);
                progress.inc(1, n);
            }
            Ok(EntryOutcome::Dir) => {
                ar.dirs += 1;
                progress.inc(1, 0);
            }
            Err((entry, EntryError::Reject(reason))) => {
                tracing::debug!(archive = %path.display(), entry = %entry, "rejected: {reason}");
                ar.rejected.push(Rejected {
                    archive: path.clone(),
                    entry,
                    reason,
                });
                progress.inc(1, 0);
            }
            Err((_, EntryError::Fatal(e))) => return Err(e),
        }
    }
    x.finish();
    ar.warnings.append(&mut x.warnings);
    ar.complete = !x.retry;
    if ar.complete {
        marker.archives.retain(|m| m.id.path != plan.fp.path);
        marker.archives.push(MarkerEntry {
            id: plan.fp.clone(),
            layout: plan.layout.clone(),
            entries: ar.entries,
            files: ar.files,
            bytes: ar.bytes,
            rejected: ar
                .rejected
                .iter()
                .map(|r| (r.entry.clone(), r.reason.clone()))
                .collect(),
            finished: chrono::Utc::now().to_rfc3339(),
        });
        write_marker(out, marker)?;
    }
    Ok(ar)
}
