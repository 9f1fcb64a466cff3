//! Opening one archive: a ZIP that cannot be read on its own (one part of a
//! split archive, a truncated file) is told apart and refused with a hint
//! on how to join it; the entry names are listed for layout detection.

use super::entries::{backslash_is_separator, entry_components};
use super::{io_err, BackupError};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use zip::result::ZipError;
use zip::ZipArchive;

/// An open archive.
pub type Archive = ZipArchive<BufReader<File>>;

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
    let f = File::open(path).map_err(io_err(path))?;
    match ZipArchive::new(BufReader::new(f)) {
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
