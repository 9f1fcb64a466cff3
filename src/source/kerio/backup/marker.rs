//! The resume marker: [`MARKER_FILE`] in the output directory records the
//! archives (path, size, mtime) that were completely unpacked, so that a
//! rerun skips them. It is replaced atomically (written beside, synced,
//! renamed); an unreadable marker is an error, never "nothing unpacked".

use super::layout::Layout;
use super::{io_err, BackupError, MARKER_FILE};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::time::SystemTime;

/// The marker file's content: the archives completely unpacked.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Marker {
    pub(super) version: u32,
    pub(super) archives: Vec<MarkerEntry>,
}

/// Identity of an archive file: path, size, modification time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Fingerprint {
    pub(super) path: String,
    size: u64,
    mtime_secs: i64,
    mtime_nanos: u32,
}

/// One completely unpacked archive, with what its report needs on a rerun.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct MarkerEntry {
    #[serde(flatten)]
    pub(super) id: Fingerprint,
    pub(super) layout: Layout,
    pub(super) entries: u64,
    pub(super) files: u64,
    pub(super) bytes: u64,
    /// Entry name and reason, so that a rerun can list them again.
    pub(super) rejected: Vec<(String, String)>,
    pub(super) finished: String,
}

pub(super) fn fingerprint(path: &Path) -> Result<Fingerprint, BackupError> {
    let meta = fs::metadata(path).map_err(io_err(path))?;
    let canon = fs::canonicalize(path).map_err(io_err(path))?;
    let (secs, nanos) = match meta.modified() {
        Ok(t) => match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
            Err(e) => (-(e.duration().as_secs() as i64), 0),
        },
        Err(_) => (0, 0),
    };
    Ok(Fingerprint {
        path: canon.to_string_lossy().into_owned(),
        size: meta.len(),
        mtime_secs: secs,
        mtime_nanos: nanos,
    })
}

pub(super) fn read_marker(out: &Path) -> Result<Option<Marker>, BackupError> {
    let p = out.join(MARKER_FILE);
    match fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| BackupError::Marker {
                path: p,
                detail: e.to_string(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BackupError::Io { path: p, source: e }),
    }
}

pub(super) fn write_marker(out: &Path, m: &Marker) -> Result<(), BackupError> {
    let p = out.join(MARKER_FILE);
    let tmp = out.join(format!("{MARKER_FILE}.tmp"));
    let json = serde_json::to_vec_pretty(m).map_err(|e| BackupError::Marker {
        path: p.clone(),
        detail: e.to_string(),
    })?;
    let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(&json).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    drop(f);
    fs::rename(&tmp, &p).map_err(io_err(&p))
}
