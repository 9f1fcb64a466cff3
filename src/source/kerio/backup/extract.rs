//! One entry to disk. Its metadata is checked first (nothing is read or
//! written for a refused entry: symbolic links, special files, encrypted
//! entries, unsafe names); the data is streamed (`std::io::copy`, constant
//! memory) into a temporary file that is renamed into place, so that an
//! interrupted unpack never leaves a truncated file under the real name;
//! no directory of the output is entered through a symbolic link.
//!
//! A problem with the entry rejects it (the run goes on); a problem with
//! the output (disk full, permissions) is fatal.

use super::archive::Archive;
use super::entries::{backslash_is_separator, entry_components};
use super::layout::Layout;
use super::times::{entry_mtime, TimeSource};
use super::{BackupError, MARKER_FILE};
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use zip::result::ZipError;

/// Temporary name an entry is written under before it is renamed into
/// place.
const TMP_NAME: &str = ".kerio-migrate-unpack.tmp";

/// Mail, even a mailbox of plain text, compresses to a tenth or so; an
/// entry that expands more than this many times is what a zip bomb does,
/// and is reported.
pub const MAX_RATIO: u64 = 200;

/// Entries smaller than this are not judged by their ratio (a small file
/// of spaces compresses a thousand times and harms no one).
const RATIO_MIN_BYTES: u64 = 1024 * 1024;

/// A writer that remembers whether the write side failed, so that an
/// error from `io::copy` can be told apart: a bad entry (read side) is
/// rejected, a failing disk (write side) stops the run.
struct Tracked<W> {
    inner: W,
    failed: bool,
}

impl<W: Write> Write for Tracked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).inspect_err(|_| self.failed = true)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|_| self.failed = true)
    }
}

/// Makes sure `rel` (relative to `out`) is a directory reached without
/// going through a symbolic link, creating what is missing. `ok` caches
/// directories already checked.
fn ensure_dir(out: &Path, rel: &[String], ok: &mut HashSet<PathBuf>) -> Result<(), String> {
    let mut p = out.to_path_buf();
    for c in rel {
        p.push(c);
        if ok.contains(&p) {
            continue;
        }
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "{} in the output directory is a symbolic link; refusing to write through it",
                    p.display()
                ))
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "{} is a file; the entry needs a directory there",
                    p.display()
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&p).map_err(|e| format!("creating {}: {e}", p.display()))?;
            }
            Err(e) => return Err(format!("{}: {e}", p.display())),
        }
        ok.insert(p.clone());
    }
    Ok(())
}

/// What one entry became.
pub(super) enum EntryOutcome {
    /// A file of this many bytes, with where its time came from.
    File(u64, Option<TimeSource>),
    /// A directory (made, or only leading to the store).
    Dir,
}

/// Why an entry was not unpacked; `Fatal` stops the run.
pub(super) enum EntryError {
    Reject(String),
    Fatal(BackupError),
}

/// An entry's failure, with the entry name as stored.
pub(super) type Failure = (String, EntryError);

fn reject(name: &str, reason: impl Into<String>) -> Failure {
    (name.to_string(), EntryError::Reject(reason.into()))
}

fn is_corrupt_kind(k: io::ErrorKind) -> bool {
    matches!(
        k,
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof
    )
}

/// Unpacks the entries of one archive into `out`.
pub(super) struct Extractor<'a> {
    out: &'a Path,
    archive_path: &'a Path,
    layout: &'a Layout,
    dirs_ok: HashSet<PathBuf>,
    /// Directory times, set last: writing files into them changes them.
    dir_times: Vec<(PathBuf, filetime::FileTime)>,
    /// A read error that a retry might fix (not corrupt data).
    pub(super) retry: bool,
    /// No name has a `/` but some have a `\`: see [`backslash_is_separator`].
    backslashes: bool,
    /// The files written so far, by where they went: the entry name.
    written: std::collections::HashMap<PathBuf, String>,
    /// What looked wrong in entries that were unpacked.
    pub(super) warnings: Vec<String>,
}

/// An entry's name and what its metadata says.
pub(super) struct EntryMeta {
    pub(super) name: String,
    pub(super) is_dir: bool,
    pub(super) comps: Vec<String>,
}

impl<'a> Extractor<'a> {
    pub(super) fn new(
        out: &'a Path,
        archive_path: &'a Path,
        layout: &'a Layout,
        backslashes: bool,
    ) -> Extractor<'a> {
        Extractor {
            out,
            archive_path,
            layout,
            dirs_ok: HashSet::new(),
            dir_times: Vec::new(),
            retry: false,
            backslashes,
            written: std::collections::HashMap::new(),
            warnings: Vec::new(),
        }
    }

    /// Unpacks entry `i`.
    pub(super) fn entry(&mut self, a: &mut Archive, i: usize) -> Result<EntryOutcome, Failure> {
        let EntryMeta {
            name,
            is_dir,
            comps,
        } = self.meta(a, i)?;
        let Some(rel) = self.layout.place(&comps, is_dir) else {
            return Ok(EntryOutcome::Dir);
        };
        if let [only] = rel.as_slice() {
            if only.starts_with(MARKER_FILE) {
                return Err(reject(&name, "reserved name (the unpack marker)"));
            }
        }
        let target = self.out.join(rel.iter().collect::<PathBuf>());
        if !target.starts_with(self.out) {
            // Cannot happen with plain components; kept as a last guard.
            return Err(reject(&name, "would leave the output directory"));
        }
        let mut zf = match a.by_index(i) {
            Ok(z) => z,
            Err(e) => {
                if matches!(&e, ZipError::Io(io) if !is_corrupt_kind(io.kind())) {
                    self.retry = true;
                }
                return Err(reject(&name, format!("cannot read the entry: {e}")));
            }
        };
        let time = entry_mtime(&zf);
        if is_dir {
            ensure_dir(self.out, &rel, &mut self.dirs_ok).map_err(|r| reject(&name, r))?;
            if let Some((t, _)) = time {
                self.dir_times.push((target, t));
            }
            return Ok(EntryOutcome::Dir);
        }
        let Some((_, parent)) = rel.split_last() else {
            return Err(reject(&name, "empty name"));
        };
        ensure_dir(self.out, parent, &mut self.dirs_ok).map_err(|r| reject(&name, r))?;
        if fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
            return Err(reject(
                &name,
                format!("{} is a directory; the entry is a file", target.display()),
            ));
        } // a file or symlink there is replaced by the rename, not followed
        let compressed = zf.compressed_size();
        let bytes = self.write_file(&name, &mut zf, &target, time.as_ref().map(|(t, _)| *t))?;
        if bytes >= RATIO_MIN_BYTES && bytes / compressed.max(1) > MAX_RATIO {
            self.warnings.push(format!(
                "{name:?} expanded from {} to {} ({}:1, more than the {MAX_RATIO}:1 mail reaches): a zip bomb? \
                 migrate refuses messages above --max-message-size",
                crate::text::human_bytes(compressed),
                crate::text::human_bytes(bytes),
                bytes / compressed.max(1)
            ));
        }
        if let Some(first) = self.written.insert(target.clone(), name.clone()) {
            self.warnings.push(format!(
                "{name:?} is stored twice in the archive (also as {first:?}): the later entry replaced the earlier one at {}",
                target.display()
            ));
        }
        Ok(EntryOutcome::File(bytes, time.map(|(_, s)| s)))
    }

    /// Sets the directory times recorded while unpacking.
    pub(super) fn finish(&self) {
        for (d, t) in self.dir_times.iter().rev() {
            let _ = filetime::set_file_mtime(d, *t);
        }
    }

    /// Reads entry `i`'s metadata and refuses what must not be unpacked.
    fn meta(&self, a: &mut Archive, i: usize) -> Result<EntryMeta, Failure> {
        entry_meta(a, i, self.backslashes)
    }

    /// Streams an entry's data to `target` through a temporary file, with
    /// its modification time. Returns the bytes written.
    fn write_file(
        &mut self,
        name: &str,
        data: &mut impl io::Read,
        target: &Path,
        time: Option<filetime::FileTime>,
    ) -> Result<u64, Failure> {
        let dir = target.parent().unwrap_or(self.out);
        let tmp = dir.join(TMP_NAME);
        let fatal = |path: &Path, source: io::Error| {
            (
                name.to_string(),
                EntryError::Fatal(BackupError::Write {
                    archive: self.archive_path.to_path_buf(),
                    entry: name.to_string(),
                    path: path.to_path_buf(),
                    source,
                }),
            )
        };
        let _ = fs::remove_file(&tmp); // a leftover of an interrupted run, or nothing
        let file = File::create(&tmp).map_err(|e| fatal(&tmp, e))?;
        let mut w = Tracked {
            inner: BufWriter::with_capacity(256 * 1024, file),
            failed: false,
        };
        let bytes = match io::copy(data, &mut w) {
            Ok(n) => n,
            Err(e) => {
                let write_side = w.failed;
                drop(w);
                let _ = fs::remove_file(&tmp);
                if write_side {
                    return Err(fatal(target, e));
                }
                if !is_corrupt_kind(e.kind()) {
                    self.retry = true;
                }
                return Err(reject(name, format!("corrupt or unreadable data: {e}")));
            }
        };
        let file = w
            .inner
            .into_inner()
            .map_err(|e| fatal(target, e.into_error()))?;
        if let Some(t) = time {
            filetime::set_file_handle_times(&file, None, Some(t)).map_err(|e| fatal(&tmp, e))?;
        }
        drop(file);
        fs::rename(&tmp, target).map_err(|e| fatal(target, e))?;
        Ok(bytes)
    }
}

/// Reads entry `i`'s metadata and refuses what must not be unpacked (or
/// read in place): symbolic links, special files, encrypted entries, names
/// [`entry_components`] refuses.
pub(super) fn entry_meta(
    a: &mut Archive,
    i: usize,
    backslashes: bool,
) -> Result<EntryMeta, Failure> {
    let e = a.by_index_data(i).map_err(|e| {
        reject(
            &format!("#{i}"),
            format!("unreadable central directory record: {e}"),
        )
    })?;
    let name = match e.name() {
        Ok(n) => n.into_owned(),
        Err(err) => {
            let lossy = String::from_utf8_lossy(e.name_raw()).into_owned();
            return Err(reject(&lossy, format!("undecodable name: {err}")));
        }
    };
    let mode = e.unix_mode().map(|m| m & 0o170000);
    if e.is_symlink() || mode == Some(0o120000) {
        return Err(reject(&name, "symbolic link (not unpacked)"));
    }
    let sep = backslash_is_separator(e.system(), backslashes);
    let is_dir = name.ends_with('/') || (sep && name.ends_with('\\')) || mode == Some(0o040000);
    if let Some(m) = mode.filter(|m| *m != 0 && *m != 0o100000 && *m != 0o040000) {
        return Err(reject(
            &name,
            format!("special file (mode {m:o}), not unpacked"),
        ));
    }
    if !is_dir && e.encrypted() {
        return Err(reject(
            &name,
            "encrypted (password-protected) entry: not supported",
        ));
    }
    let comps = entry_components(&name, sep).map_err(|r| reject(&name, r))?;
    Ok(EntryMeta {
        name,
        is_dir,
        comps,
    })
}
