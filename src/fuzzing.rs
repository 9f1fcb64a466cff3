//! One entry point per fuzz target of `fuzz/` (cargo fuzz, nightly): each
//! feeds untrusted bytes to a parser as the tool would meet them and checks
//! the invariants that must hold whatever the bytes. The regression tests
//! (`tests/it/fuzz_regressions.rs`) run every input the fuzzer ever crashed
//! on through the same function, on stable. Not part of the tool's API.

use crate::dest::imap::fuzzing::append_responses;
use crate::export::ical::{parse_all as parse_ics, Merger};
use crate::export::users::{Directory, Format, MapOptions};
use crate::export::{vcard, wrapper, FolderExport, SourceRef};
use crate::source::kerio::backup;
use crate::source::kerio::config::{self, CfgTree};
use crate::source::kerio::index::{Index, Status};
use crate::{message, mutf7};
use std::io::Write;
use std::path::Path;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// The targets, by name (the file names in `fuzz/fuzz_targets/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("mutf7", mutf7_names),
    ("index_fld", index_fld),
    ("status_fld", status_fld),
    ("message", message_prepare),
    ("wrapper", groupware_wrapper),
    ("vcard", vcard_input),
    ("ical", ical_input),
    ("users_cfg", users_cfg),
    ("backup_zip", backup_zip),
    ("imap_append", imap_append),
];

/// Modified UTF-7 names from disk and servers: decoding never panics, and
/// what decodes encodes back to itself.
pub fn mutf7_names(data: &[u8]) {
    let _ = mutf7::decode_lenient(data);
    if let Ok(name) = mutf7::decode_bytes(data) {
        let wire = mutf7::encode(&name);
        assert_eq!(mutf7::decode(&wire).ok().as_deref(), Some(name.as_str()));
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let wire = mutf7::encode(s);
        assert_eq!(mutf7::decode(&wire).ok().as_deref(), Some(s));
    }
}

/// `index.fld` / `index.bad`.
pub fn index_fld(data: &[u8]) {
    let _ = Index::parse(data);
}

/// `status.fld` (type line, ACL lines, anything else).
pub fn status_fld(data: &[u8]) {
    let _ = Status::parse(data);
}

/// Message preparation: the prepared bytes end in CRLF and hold no bare CR
/// or LF; the header scan never panics; what `scan` inspects is what
/// preparing finds.
pub fn message_prepare(data: &[u8]) {
    let _ = message::header_value(data, "Message-ID");
    let _ = message::header_value(data, "Date");
    let _ = message::starts_with_header(data);
    let p = message::prepare(data.to_vec());
    let i = message::inspect(data, true);
    assert_eq!(i.anomalies, p.anomalies, "inspect's anomalies");
    assert_eq!(i.header.message_id, p.message_id, "inspect's Message-ID");
    assert_eq!(i.header.date_header, p.date_header, "inspect's Date");
    assert_eq!(
        i.header.received_dates, p.received_dates,
        "inspect's Received"
    );
    let out = &p.bytes;
    if !out.is_empty() {
        assert!(out.ends_with(b"\r\n"), "no final CRLF");
    }
    for (i, b) in out.iter().enumerate() {
        match b {
            b'\n' => assert!(i > 0 && out[i - 1] == b'\r', "bare LF at {i}"),
            b'\r' => assert!(out.get(i + 1) == Some(&b'\n'), "bare CR at {i}"),
            _ => {}
        }
    }
}

/// Kerio's `.eml` wrapper around a groupware item.
pub fn groupware_wrapper(data: &[u8]) {
    let _ = wrapper::unwrap(data);
    let _ = wrapper::decode_unlabelled(data);
}

/// vCard input of the contacts export, written back as 3.0 and 4.0.
pub fn vcard_input(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (cards, _) = vcard::parse_all(&text);
    for c in &cards {
        let _ = vcard::write_card(c, vcard::Version::V3);
        let _ = vcard::write_card(c, vcard::Version::V4);
    }
}

/// iCalendar input of the calendar export, merged as a folder's items are
/// (the same item twice: the duplicate path too).
pub fn ical_input(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = parse_ics(&text);
    let src = SourceRef {
        account: "a@example.com".into(),
        folder: "Calendar".into(),
        item: "00000001".into(),
        path: "Calendar/#msgs/00000001.eml".into(),
    };
    let mut fr = FolderExport::default();
    let mut m = Merger::new("Calendar");
    m.add_item(&src, &text, &mut fr);
    m.add_item(&src, &text, &mut fr);
    let _ = m.finish(&mut fr);
}

/// `users.cfg` / `mailserver.cfg`: the tree, the directory, its lists.
pub fn users_cfg(data: &[u8]) {
    let xml = config::decode_unlabelled(data);
    let Ok(tree) = CfgTree::parse(&xml, Path::new("users.cfg")) else {
        return;
    };
    let _ = config::primary_domain(&tree);
    let _ = config::archive_dirs(&tree);
    let _ = config::store_dir(&tree);
    let dir = Directory::map(&tree, Some(&tree), MapOptions::default());
    for f in [
        Format::Csv,
        Format::AccountsCsv,
        Format::AliasesCsv,
        Format::GroupsCsv,
    ] {
        let _ = dir.render(f);
    }
}

/// A backup ZIP's file name, entry names (no `..`, `.` or empty part) and
/// the store layout detected in the archive.
pub fn backup_zip(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = backup::parse_backup_name(s);
        for sep in [false, true] {
            if let Ok(parts) = backup::entry_components(s, sep) {
                for p in &parts {
                    assert!(p != ".." && p != "." && !p.is_empty(), "{p:?} of {s:?}");
                }
            }
        }
    }
    let Ok(mut f) = tempfile_zip() else { return };
    if f.1.write_all(data).is_err() {
        return;
    }
    let _ = backup::fuzz_layout(&f.0);
    let _ = std::fs::remove_file(&f.0);
}

/// A scratch file for one ZIP (per process and thread).
fn tempfile_zip() -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    let p = std::env::temp_dir().join(format!(
        "kerio-migrate-fuzz-{}-{:?}.zip",
        std::process::id(),
        std::thread::current().id()
    ));
    let f = std::fs::File::create(&p)?;
    Ok((p, f))
}

/// What a hostile IMAP server sends on the append path.
pub fn imap_append(data: &[u8]) {
    let _ = append_responses(data);
}
