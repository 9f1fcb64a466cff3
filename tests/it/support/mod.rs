//! What the integration tests share: where things are (the crate, the
//! sample store, the shared corpus), running the binary ([`run`]),
//! building Kerio stores ([`store`]), reading results back (Maildir
//! trees, `index.fld`, JSON), the servers the tests start ([`dovecot`],
//! [`radicale`], the scripted [`fakeimap`]), the faults of the
//! exactly-once tests ([`faults`]: a cutting proxy, a Dovecot restart), an
//! IMAP reader written for the tests ([`imap`]), Cyrus and Courier
//! ([`interop`]) and the export fixtures ([`export`]).

pub mod dovecot;
pub mod export;
pub mod fakeimap;
pub mod faults;
pub mod imap;
pub mod interop;
pub mod proxy;
pub mod radicale;
pub mod recorder;
pub mod run;
pub mod store;

pub use run::{bin, report_or_null, Outcome, Run};
pub use store::StoreBuilder;

use std::collections::BTreeMap;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled sample store (`sample-store/`).
pub fn sample() -> PathBuf {
    root().join("sample-store")
}

/// `sample-store/expected-counts.json`: what the sample store holds.
pub fn sample_expected() -> serde_json::Value {
    json(&sample().join("expected-counts.json"))
}

/// `part` of the shared corpus (`$KERIO_CORPUS`, else `../shared/corpus`),
/// e.g. `fixtures` or `calendar-contacts`. The corpus is read in place and
/// never copied into the repository (its licences differ). Prints a clear
/// SKIPPED line for `test` and returns `None` when it is absent.
pub fn corpus_dir(test: &str, part: &str) -> Option<PathBuf> {
    let base = std::env::var_os("KERIO_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/corpus"));
    let p = base.join(part);
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED {test}: corpus not found at {} (set KERIO_CORPUS)",
            p.display()
        );
        None
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
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

/// The items of a Kerio folder directory: (file stem, path) of every
/// `#msgs/*.eml`, sorted.
pub fn items_of(folder: &Path) -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = fs::read_dir(folder.join("#msgs"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("eml")))
        .map(|p| {
            let stem = p.file_stem().expect("stem").to_string_lossy().into_owned();
            (stem, p)
        })
        .collect();
    v.sort();
    v
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

/// The internal date a message must get from its index record (id → (F,
/// T, D), see [`index_of`]) or, without a plausible one, from the item
/// file's mtime: T, then D, when after 1980.
pub fn expected_internal_date(rec: Option<&(u32, i64, i64)>, item: &Path) -> i64 {
    let plausible = |t: i64| t >= 315_532_800;
    match rec {
        Some((_, t, _)) if plausible(*t) => *t,
        Some((_, _, d)) if plausible(*d) => *d,
        _ => mtime(item),
    }
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

/// The first place where two JSON values differ (`.a.b[3]: x vs y`), or
/// `None` when they are equal.
pub fn json_diff(got: &serde_json::Value, want: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    fn walk(g: &Value, w: &Value, at: &str) -> Option<String> {
        match (g, w) {
            (Value::Object(a), Value::Object(b)) => {
                a.keys()
                    .chain(b.keys())
                    .find_map(|k| match (a.get(k), b.get(k)) {
                        (Some(x), Some(y)) => walk(x, y, &format!("{at}.{k}")),
                        (x, y) => Some(format!("{at}.{k}: {x:?} vs {y:?}")),
                    })
            }
            (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
                .iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| walk(x, y, &format!("{at}[{i}]"))),
            _ => (g != w).then(|| format!("{at}: {g} vs {w}")),
        }
    }
    walk(got, want, "")
}

/// The rows of `sql` on an SQLite file (a journal), as tuples.
pub fn query<T>(db: &Path, sql: &str) -> Vec<T>
where
    T: for<'a> TryFrom<&'a rusqlite::Row<'a>, Error = rusqlite::Error>,
{
    let c = rusqlite::Connection::open(db).expect("open journal");
    let mut st = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    st.query_map([], |r| T::try_from(r))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect()
}
