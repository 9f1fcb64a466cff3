//! Golden corpora, kept as mail-parser keeps its own: one input file per
//! case, `tests/golden/<area>/<case>.<ext>`, with the expected output
//! `<case>.json` beside it. One test per area runs every case and fails
//! with each case whose output differs from its JSON (naming the first
//! differing field), whose JSON is missing, or whose JSON has no input.
//!
//! After a deliberate change, or to add a case (drop the input file in),
//! rewrite the expected files and review the diff before committing:
//!
//! ```text
//! GOLDEN_UPDATE=1 cargo test --test it golden::
//! ```
//!
//! Areas:
//! - `message/*.eml`: `message::prepare` (CRLF normalisation, content hash,
//!   Message-ID, Date and Received dates, anomalies). The prepared bytes
//!   are written as lines without their CRLF, bytes that are not UTF-8 as
//!   `\xNN` and a backslash as `\\`.
//! - `index/*.fld`: `Index::parse` of `index.fld` (records by normalised
//!   id, flag bits, the parse statistics).
//! - `status/*.fld`: `Status::parse` of `status.fld`.
//!
//! The inputs are small files written for these tests (after the unit
//! tests and the cases `sample-store/README.md` lists); nothing here comes
//! from the shared corpus.

use crate::support::{json_diff, root};
use kerio_migrate::message::prepare;
use kerio_migrate::source::kerio::index::{mail_flags, Index, Status};
use serde_json::{json, Value};
use std::fs;
use std::path::PathBuf;

#[test]
fn message_preparation() {
    check_area("message", "eml", |raw| {
        let p = prepare(raw.to_vec());
        json!({
            "source_len": p.source_len,
            "len": p.bytes.len(),
            "hash": p.hash.to_hex(),
            "lines": lines(&p.bytes),
            "message_id": p.message_id,
            "date_header": p.date_header.map(|d| d.to_rfc3339()),
            "received_header": p.received_header.map(|d| d.to_rfc3339()),
            "anomalies": p.anomalies,
            "anomaly_names": p.anomalies.names(),
        })
    });
}

#[test]
fn index_fld() {
    check_area("index", "fld", |raw| {
        let idx = Index::parse(raw);
        let mut records: Vec<_> = idx.records().collect();
        records.sort_by(|a, b| a.0.cmp(b.0));
        let records: Vec<Value> = records
            .into_iter()
            .map(|(key, r)| {
                json!({
                    "key": key,
                    "id": r.id,
                    "flags_raw": format!("{:#x}", r.flags_raw),
                    "flags": format!("{:#x}", r.flags()),
                    "unknown_flag_bits": format!("{:#x}", r.unknown_flag_bits()),
                    "mail_flags": mail_flags(r.flags_raw),
                    "size": r.size,
                    "created": r.created,
                    "received": r.received,
                    "modified": r.modified,
                    "class": r.class,
                })
            })
            .collect();
        let s = &idx.stats;
        json!({
            "records": records,
            "stats": {
                "lines": s.lines,
                "records": s.records,
                "garbage": s.garbage,
                "garbage_samples": s.garbage_samples,
                "duplicates": s.duplicates,
                "unknown_flag_bits": s.unknown_flag_bits,
                "unknown_tokens": s.unknown_tokens,
            },
        })
    });
}

#[test]
fn status_fld() {
    check_area("status", "fld", |raw| {
        let st = Status::parse(raw);
        json!({
            "type_code": st.type_code,
            "uid_validity": st.uid_validity,
            "uid_next": st.uid_next,
        })
    });
}

/// True when `GOLDEN_UPDATE` is set (to anything but empty or `0`).
fn updating() -> bool {
    std::env::var_os("GOLDEN_UPDATE").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Runs `render` on every `tests/golden/<area>/*.<ext>` and compares with
/// (or, when updating, writes) the `.json` beside it.
fn check_area(area: &str, ext: &str, render: impl Fn(&[u8]) -> Value) {
    let dir = root().join("tests/golden").join(area);
    let files = |e: &str| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
            .map(|d| d.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == e))
            .collect();
        v.sort();
        v
    };
    let inputs = files(ext);
    assert!(!inputs.is_empty(), "no *.{ext} cases in {}", dir.display());
    let mut problems = Vec::new();
    for input in &inputs {
        let case = input.file_stem().expect("stem").to_string_lossy();
        let raw = fs::read(input).expect("read case");
        let got = render(&raw);
        let expected = input.with_extension("json");
        if updating() {
            let text = serde_json::to_string_pretty(&got).expect("json") + "\n";
            fs::write(&expected, text).expect("write expected JSON");
            continue;
        }
        match fs::read_to_string(&expected) {
            Err(_) => problems.push(format!(
                "{case}: no {case}.json (GOLDEN_UPDATE=1 writes it)"
            )),
            Ok(text) => {
                let want: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", expected.display()));
                if let Some(d) = json_diff(&got, &want) {
                    problems.push(format!("{case}: got vs expected at {d}"));
                }
            }
        }
    }
    for json_file in files("json") {
        if !json_file.with_extension(ext).is_file() {
            problems.push(format!(
                "{}: expected output without an input",
                json_file.display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{area}: {} problem(s) in {} cases (GOLDEN_UPDATE=1 rewrites the JSON):\n{}",
        problems.len(),
        inputs.len(),
        problems.join("\n")
    );
}

/// The lines of CRLF-normalised bytes, without their CRLF: UTF-8 as text,
/// other bytes as `\xNN`, a backslash as `\\` (so that the form is
/// unambiguous). A bare CR or LF (there should be none) shows as `\r` /
/// `\n`.
fn lines(bytes: &[u8]) -> Vec<String> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let body = bytes.strip_suffix(b"\r\n").unwrap_or(bytes);
    body.split(|b| *b == b'\n')
        .map(|l| escape(l.strip_suffix(b"\r").unwrap_or(l)))
        .collect()
}

fn escape(mut b: &[u8]) -> String {
    let mut out = String::new();
    while !b.is_empty() {
        let (valid, rest) = match std::str::from_utf8(b) {
            Ok(s) => (s, &b[b.len()..]),
            Err(e) => {
                let (v, r) = b.split_at(e.valid_up_to());
                (std::str::from_utf8(v).expect("valid prefix"), r)
            }
        };
        for c in valid.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        if let Some((&bad, r)) = rest.split_first() {
            out.push_str(&format!("\\x{bad:02x}"));
            b = r;
        } else {
            b = rest;
        }
    }
    out
}
