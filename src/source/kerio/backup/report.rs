//! What an unpack did, per archive: layout, entries, files, bytes, where
//! times came from, and every entry not unpacked with the reason.

use super::layout::Layout;
use super::names::{file_name_of, BackupKind};
use super::times::TimeSources;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;

/// An entry that was not unpacked, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The archive holding the entry.
    pub archive: PathBuf,
    /// The entry name as stored (lossy if not UTF-8 / CP437).
    pub entry: String,
    /// Why it was not unpacked, for the admin.
    pub reason: String,
}

/// What happened to one archive.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveReport {
    /// The archive file, as given.
    pub path: PathBuf,
    /// Kind, from the name, when it is a Kerio backup name.
    pub kind: Option<BackupKind>,
    /// Volume number from the name (0 for `X.zip`).
    pub volume: u32,
    /// The layout used.
    pub layout: Layout,
    /// Whether the layout came from an earlier archive (no mail tree in this one).
    pub layout_inherited: bool,
    /// Already unpacked completely by an earlier run (same path, size, mtime): skipped.
    pub already_unpacked: bool,
    /// Entries in the archive.
    pub entries: u64,
    /// Files written.
    pub files: u64,
    /// Directory entries.
    pub dirs: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Entries not unpacked, with reasons (for a skipped archive: those
    /// recorded when it was unpacked).
    pub rejected: Vec<Rejected>,
    /// Where modification times came from.
    pub times: TimeSources,
    /// What was unpacked but looks wrong: entries expanding far beyond
    /// what mail compresses to (a zip bomb), names stored twice.
    pub warnings: Vec<String>,
    /// Whether the archive is recorded as completely unpacked (false when
    /// reading it failed in a way a retry may fix).
    pub complete: bool,
}

/// The outcome of [`unpack`](super::unpack()).
#[derive(Debug, Clone, Serialize)]
pub struct UnpackReport {
    /// The output directory (an install directory when all went well).
    pub out: PathBuf,
    /// Per archive, in order.
    pub archives: Vec<ArchiveReport>,
    /// What was decided, in words.
    pub notes: Vec<String>,
}

impl UnpackReport {
    /// Rejected entries, now and (for skipped archives) in the earlier run.
    pub fn rejected_count(&self) -> u64 {
        self.archives.iter().map(|a| a.rejected.len() as u64).sum()
    }

    /// True when every archive was skipped (an earlier complete unpack).
    pub fn all_reused(&self) -> bool {
        self.archives.iter().all(|a| a.already_unpacked)
    }

    /// Human-readable summary.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Unpacking into {}", self.out.display());
        for n in &self.notes {
            let _ = writeln!(s, "  {n}");
        }
        for a in &self.archives {
            a.write_text(&mut s);
        }
        let rejected: Vec<&Rejected> = self.archives.iter().flat_map(|a| &a.rejected).collect();
        if !rejected.is_empty() {
            let _ = writeln!(s, "Rejected entries ({}):", rejected.len());
            for r in rejected {
                let _ = writeln!(
                    s,
                    "  {}: {:?}: {}",
                    file_name_of(&r.archive),
                    r.entry,
                    r.reason
                );
            }
        }
        s
    }
}

impl ArchiveReport {
    /// The lines of one archive in [`UnpackReport::to_text`].
    fn write_text(&self, s: &mut String) {
        let what = match self.kind {
            Some(k) if self.volume > 0 => format!("{}, volume {}", k.describe(), self.volume),
            Some(k) => k.describe().to_string(),
            None => "archive".to_string(),
        };
        let _ = writeln!(s, "{} ({what})", self.path.display());
        let _ = writeln!(
            s,
            "  layout: {}{}",
            self.layout.describe(),
            if self.layout_inherited {
                " (no mail tree in this archive: layout of the archive before it)"
            } else {
                ""
            }
        );
        if self.already_unpacked {
            let _ = writeln!(
                s,
                "  already unpacked completely (same path, size and mtime): skipped{}",
                if !self.rejected.is_empty() {
                    format!("; {} entries were rejected then", self.rejected.len())
                } else {
                    String::new()
                }
            );
            return;
        }
        let _ = writeln!(
            s,
            "  {} entries: {} files ({}), {} directories, {} rejected",
            self.entries,
            self.files,
            crate::text::human_bytes(self.bytes),
            self.dirs,
            self.rejected.len()
        );
        let t = &self.times;
        let _ = writeln!(
            s,
            "  modification times: {} extended timestamp, {} NTFS, {} DOS (local time), {} none",
            t.extended, t.ntfs, t.dos, t.none
        );
        for w in &self.warnings {
            let _ = writeln!(s, "  WARNING: {w}");
        }
        if !self.complete {
            let _ = writeln!(
                s,
                "  NOT recorded as complete (read errors): it will be unpacked again next time"
            );
        }
    }
}
