//! Opening one archive: a ZIP that cannot be read on its own (one part of a
//! split archive, a truncated file) is told apart and refused with a hint
//! on how to join it; the entry names are listed for layout detection.
//!
//! An archive is read through [`SharedFile`]: positioned reads (`pread`)
//! on one open file, so that an opened archive (its central directory
//! parsed once) can be cloned cheaply for each thread that reads entries
//! in place, all on one file descriptor.

use super::entries::{backslash_is_separator, entry_components};
use super::{io_err, BackupError};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use zip::result::ZipError;
use zip::ZipArchive;

/// An open archive.
pub type Archive = ZipArchive<SharedFile>;

/// Bytes a [`SharedFile`] reads ahead for small reads.
const SHARED_BUF: usize = 4 * 1024;

/// A reader over a file shared by its clones: each clone has its own
/// position and read-ahead buffer, reads with positioned reads and never
/// moves the file's own offset, so clones can read from several threads
/// at once. Reads of [`SHARED_BUF`] bytes or more go straight to the
/// caller's buffer.
#[derive(Debug)]
pub struct SharedFile {
    file: Arc<File>,
    len: u64,
    pos: u64,
    /// Read-ahead: `buf[..filled]` holds the file's bytes from `buf_at`.
    buf: Vec<u8>,
    buf_at: u64,
    filled: usize,
}

impl Clone for SharedFile {
    fn clone(&self) -> SharedFile {
        SharedFile {
            file: Arc::clone(&self.file),
            len: self.len,
            pos: self.pos,
            buf: Vec::new(),
            buf_at: 0,
            filled: 0,
        }
    }
}

impl SharedFile {
    /// Wraps `file` (its length is read once).
    pub fn new(file: File) -> io::Result<SharedFile> {
        let len = file.metadata()?.len();
        Ok(SharedFile {
            file: Arc::new(file),
            len,
            pos: 0,
            buf: Vec::new(),
            buf_at: 0,
            filled: 0,
        })
    }

    fn read_at(&self, out: &mut [u8], at: u64) -> io::Result<usize> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            loop {
                match self.file.read_at(out, at) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    r => return r,
                }
            }
        }
        #[cfg(windows)]
        {
            use std::os::windows::fs::FileExt;
            self.file.seek_read(out, at)
        }
    }
}

impl Read for SharedFile {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let end = self.buf_at + self.filled as u64;
        if self.pos < self.buf_at || self.pos >= end {
            if out.len() >= SHARED_BUF {
                let n = self.read_at(out, self.pos)?;
                self.pos += n as u64;
                return Ok(n);
            }
            if self.buf.len() < SHARED_BUF {
                self.buf.resize(SHARED_BUF, 0);
            }
            let mut buf = std::mem::take(&mut self.buf);
            let got = self.read_at(&mut buf, self.pos);
            self.buf = buf;
            self.buf_at = self.pos;
            self.filled = got?;
            if self.filled == 0 {
                return Ok(0);
            }
        }
        let off = (self.pos - self.buf_at) as usize;
        let n = out.len().min(self.filled - off);
        out[..n].copy_from_slice(&self.buf[off..off + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let bad = || io::Error::new(io::ErrorKind::InvalidInput, "seek before the file's start");
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.len.checked_add_signed(d).ok_or_else(bad)?,
            SeekFrom::Current(d) => self.pos.checked_add_signed(d).ok_or_else(bad)?,
        };
        Ok(self.pos)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.pos)
    }
}

fn sniff(path: &Path) -> String {
    let mut head = [0u8; 4];
    let n = File::open(path)
        .and_then(|mut f| {
            let mut got = 0;
            while got < head.len() {
                let r = f.read(&mut head[got..])?;
                if r == 0 {
                    break;
                }
                got += r;
            }
            Ok(got)
        })
        .unwrap_or(0);
    match &head[..n] {
        [] => "the file is empty".to_string(),
        [b'P', b'K', 7, 8] => {
            "it starts with the signature of the first part of a split archive".to_string()
        }
        [b'P', b'K', 3, 4] => "it starts like a ZIP, but its end (the central directory) is \
                               missing or belongs to other parts: a truncated file, or one part \
                               of a split archive"
            .to_string(),
        h => format!("it does not start like a ZIP (first bytes {h:02x?})"),
    }
}

/// Opens `path` as a standalone ZIP archive.
pub fn open_archive(path: &Path) -> Result<Archive, BackupError> {
    let f = File::open(path)
        .and_then(SharedFile::new)
        .map_err(io_err(path))?;
    match ZipArchive::new(f) {
        Ok(a) => Ok(a),
        Err(ZipError::Io(e)) if e.kind() != io::ErrorKind::UnexpectedEof => Err(BackupError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
        Err(e) => {
            let what = if e.to_string().to_ascii_lowercase().contains("multi-disk") {
                "it is one part of a split (multi-disk) archive".to_string()
            } else {
                sniff(path)
            };
            Err(BackupError::NotStandalone {
                path: path.to_path_buf(),
                detail: format!("{e}; {what}"),
            })
        }
    }
}

/// True when no entry name has a `/` but some have a `\`.
pub fn archive_uses_backslashes(a: &Archive) -> bool {
    let mut back = false;
    for n in a.file_names_raw() {
        if n.contains(&b'/') {
            return false;
        }
        back |= n.contains(&b'\\');
    }
    back
}

/// Entry names of an archive, split; entries whose names are refused are
/// left out here (they are reported when unpacking).
pub fn entry_list(a: &Archive, backslashes: bool) -> (Vec<(Vec<String>, bool)>, Vec<String>) {
    let mut v = Vec::with_capacity(a.len());
    let mut top: Vec<String> = Vec::new();
    for i in 0..a.len() {
        let Ok(e) = a.by_index_data(i) else { continue };
        let Ok(name) = e.name() else { continue };
        let sep = backslash_is_separator(e.system(), backslashes);
        let is_dir = name.ends_with('/') || (sep && name.ends_with('\\'));
        if let Ok(c) = entry_components(&name, sep) {
            let t = if c.len() > 1 || is_dir {
                format!("{}/", c[0])
            } else {
                c[0].clone()
            };
            if !top.contains(&t) && top.len() < 50 {
                top.push(t);
            }
            v.push((c, is_dir));
        }
    }
    top.sort();
    (v, top)
}

/// Names stored more than once in the archive's central directory, with
/// how often. The ZIP reader keeps one entry per name (the last), so a
/// name stored twice is otherwise invisible: the directory is read here
/// on its own, but only when its entry count says there are more records
/// than names (`names` is how many the reader kept).
pub fn duplicate_names(path: &Path, names: usize) -> io::Result<Vec<(String, u32)>> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let tail_len = len.min(64 * 1024 + 22);
    f.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    f.read_exact(&mut tail)?;
    let Some(eocd) = tail.windows(4).rposition(|w| w == b"PK\x05\x06") else {
        return Ok(Vec::new());
    };
    let e = &tail[eocd..];
    if e.len() < 22 {
        return Ok(Vec::new());
    }
    let u16_at = |b: &[u8], i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let u32_at =
        |b: &[u8], i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
    let u64_at = |b: &[u8], i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(a)
    };
    let (mut count, mut cd_size, mut cd_offset) = (u16_at(e, 10), u32_at(e, 12), u32_at(e, 16));
    let eocd_pos = len - tail_len + eocd as u64;
    if count == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
        // ZIP64: the locator sits just before the end record.
        if eocd < 20 || &tail[eocd - 20..eocd - 16] != b"PK\x06\x07" {
            return Ok(Vec::new());
        }
        let z64 = u64_at(&tail, eocd - 20 + 8);
        let mut rec = [0u8; 56];
        f.seek(SeekFrom::Start(z64))?;
        f.read_exact(&mut rec)?;
        if &rec[..4] != b"PK\x06\x06" {
            return Ok(Vec::new());
        }
        count = u64_at(&rec, 32);
        cd_size = u64_at(&rec, 40);
        cd_offset = u64_at(&rec, 48);
    }
    if count <= names as u64 {
        return Ok(Vec::new());
    }
    // Data before the archive (a self-extractor) shifts every offset.
    let start = match eocd_pos.checked_sub(cd_size) {
        Some(s) if s != cd_offset => s,
        _ => cd_offset,
    };
    f.seek(SeekFrom::Start(start))?;
    let mut r = BufReader::new(f).take(cd_size);
    let mut seen: std::collections::HashMap<Vec<u8>, u32> = std::collections::HashMap::new();
    let mut head = [0u8; 46];
    for _ in 0..count {
        if r.read_exact(&mut head).is_err() || &head[..4] != b"PK\x01\x02" {
            break;
        }
        let (n, x, c) = (u16_at(&head, 28), u16_at(&head, 30), u16_at(&head, 32));
        let mut name = vec![0u8; n as usize];
        r.read_exact(&mut name)?;
        io::copy(&mut (&mut r).take(x + c), &mut io::sink())?;
        *seen.entry(name).or_default() += 1;
    }
    let mut dups: Vec<(String, u32)> = seen
        .into_iter()
        .filter(|(_, k)| *k > 1)
        .map(|(n, k)| (String::from_utf8_lossy(&n).into_owned(), k))
        .collect();
    dups.sort();
    Ok(dups)
}
