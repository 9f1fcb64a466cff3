//! Files the commands write for the user (`--report`, `--report-html`,
//! `--csv`, exports to one file): written whole or not at all. A report
//! written in place on a full disk was left empty or cut in the middle,
//! over the previous run's complete one; here the bytes go to a temporary
//! file beside the destination, which replaces it only once written.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path`: a regular file (or a name not there yet) is
/// replaced at once by a complete file, keeping its permissions; anything
/// else (`/dev/stdout`, a FIFO, a symlink the user put there) is written in
/// place, as `std::fs::write` would, so that its kind is kept.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let existing = match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => return std::fs::write(path, bytes),
        Ok(m) => Some(m.permissions()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let tmp = temporary(path);
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        if let Some(p) = existing {
            f.set_permissions(p)?;
        }
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// `DIR/.NAME.PID.tmp` beside `path` (same file system: the rename is
/// atomic).
fn temporary(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = format!(".{name}.{}.tmp", std::process::id());
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(tmp),
        _ => PathBuf::from(tmp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("r.json");
        write_file(&p, b"first").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        write_file(&p, b"second, longer").expect("write");
        assert_eq!(std::fs::read(&p).expect("read"), b"second, longer");
        let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let left: Vec<_> = std::fs::read_dir(d.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("r.json")]);
    }

    #[test]
    fn a_symlink_is_written_through_not_replaced() {
        let d = tempfile::tempdir().expect("tmp");
        let real = d.path().join("real.json");
        std::fs::write(&real, b"old").expect("write");
        let link = d.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        write_file(&link, b"new").expect("write");
        assert!(std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).expect("read"), b"new");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("r.json");
        std::fs::write(&p, b"complete").expect("write");
        // The temporary cannot be created: a directory holds its name.
        std::fs::create_dir(temporary(&p)).expect("mkdir");
        assert!(write_file(&p, b"new").is_err());
        assert_eq!(std::fs::read(&p).expect("read"), b"complete");
    }
}
