//! What the vCard and iCalendar writers share: stable UIDs for objects that
//! have none, and property names cleaned to what RFC 5545 / 6350 allow.

use super::SourceRef;

/// A stable UID for an object without one, derived from its source.
pub fn derived_uid(src: &SourceRef, index: usize) -> String {
    let h = blake3::hash(
        format!("{}\0{}\0{}\0{}", src.account, src.folder, src.item, index).as_bytes(),
    );
    let hex: String = h.as_bytes()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("kerio-migrate-{hex}")
}

/// A property, parameter or component name as RFC 5545 allows it
/// (letters, digits, `-`); anything else becomes `-`. Garbage input can
/// give calcard names with line breaks, which would break the file.
pub fn clean_name(n: &str) -> Option<String> {
    if n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !n.is_empty() {
        return None;
    }
    let c: String = n
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    Some(if c.is_empty() { "X-EMPTY".into() } else { c })
}
