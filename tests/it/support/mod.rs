//! Helpers shared by the integration tests: locating the shared corpus,
//! building small Kerio stores in temp dirs, running the binary, and
//! reading Maildir trees back.
#![allow(dead_code)]

pub mod dovecot;
pub mod export;
pub mod fakeimap;
pub mod imap;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared corpus: `$KERIO_CORPUS`, else `../shared/corpus`. Prints a
/// clear SKIPPED line and returns `None` when it is absent.
pub fn corpus_dir(test: &str) -> Option<PathBuf> {
    let p = std::env::var_os("KERIO_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/corpus"));
    if p.join("MANIFEST.tsv").is_file() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED {test}: corpus not found at {} (set KERIO_CORPUS)",
            p.display()
        );
        None
    }
}

/// The built binary.
pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("kerio-migrate").expect("binary built")
}

/// Path of the built binary (for std::process::Command).
pub fn bin_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("kerio-migrate")
}

/// A Kerio store being built in a directory (`DIR/store/mail/...`).
pub struct StoreBuilder {
    /// The install directory.
    pub install: PathBuf,
}

impl StoreBuilder {
    pub fn new(install: &Path) -> StoreBuilder {
        fs::create_dir_all(install.join("store/mail")).expect("mkdir");
        StoreBuilder {
            install: install.to_path_buf(),
        }
    }

    /// Directory of a folder; `folder` is the on-disk (mUTF-7) relative path.
    pub fn folder_dir(&self, account: &str, folder: &str) -> PathBuf {
        let (user, domain) = account.split_once('@').expect("user@domain");
        self.install
            .join("store/mail")
            .join(domain)
            .join(user)
            .join(folder)
    }

    /// Writes `#msgs/<id>.eml`.
    pub fn item(&self, account: &str, folder: &str, id: &str, bytes: &[u8]) -> PathBuf {
        let d = self.folder_dir(account, folder).join("#msgs");
        fs::create_dir_all(&d).expect("mkdir");
        let p = d.join(format!("{id}.eml"));
        fs::write(&p, bytes).expect("write item");
        p
    }

    /// Writes `index.fld` lines.
    pub fn index(&self, account: &str, folder: &str, lines: &[String]) {
        let d = self.folder_dir(account, folder);
        fs::create_dir_all(&d).expect("mkdir");
        fs::write(d.join("index.fld"), lines.join("\n") + "\n").expect("write index");
    }
}

/// Files in a Maildir folder's `cur/` and `new/`, by base name (before
/// `,S=` / `:2,`), with their full names.
pub fn maildir_messages(folder_dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut m = BTreeMap::new();
    for sub in ["cur", "new"] {
        let Ok(rd) = fs::read_dir(folder_dir.join(sub)) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let base = name.split([',', ':']).next().unwrap_or(&name).to_string();
            assert!(
                m.insert(base.clone(), e.path()).is_none(),
                "duplicate message {base} in {}",
                folder_dir.display()
            );
        }
    }
    m
}

/// Independent LF/CR → CRLF normalisation (not the library's), for checks.
pub fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 16);
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\r' if raw.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
            }
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `index.fld` read independently of the library: id → (F, T, D).
pub fn index_of(folder: &Path) -> std::collections::HashMap<u64, (u32, i64, i64)> {
    let mut m = std::collections::HashMap::new();
    let Ok(data) = fs::read(folder.join("index.fld")) else {
        return m;
    };
    for line in data.split(|b| *b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let toks: Vec<&str> = line.split_whitespace().collect();
        let Some(id) = toks.first().and_then(|t| t.strip_prefix('U')) else {
            continue;
        };
        let Ok(id) = u64::from_str_radix(id, 16) else {
            continue;
        };
        let hex = |p: char| {
            toks.iter()
                .find_map(|t| {
                    t.strip_prefix(p)
                        .and_then(|v| i64::from_str_radix(v, 16).ok())
                })
                .unwrap_or(0)
        };
        m.insert(id, (hex('F') as u32, hex('T'), hex('D')));
    }
    m
}

/// A file's modification time (Unix seconds).
pub fn mtime(p: &Path) -> i64 {
    fs::metadata(p)
        .and_then(|m| m.modified())
        .map(|t| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        })
        .expect("mtime")
}

/// Reads a JSON file.
pub fn json(path: &Path) -> serde_json::Value {
    let s = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
