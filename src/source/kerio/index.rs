//! `index.fld` and `status.fld`: Kerio's per-folder metadata files.
//!
//! `#msgs` is the truth for which items exist; `index.fld` only adds flags,
//! dates and the MAPI class (research/kerio-store.md §1.4, §3). Neither file
//! has a published specification, so the parsers are tolerant: tokens are
//! keyed by their first letter, unknown letters are counted, lines that do
//! not start with `U<hex>` are counted as garbage with a sample kept for the
//! report, and nothing here fails on any input.

use crate::source::fs::StoreFs;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Flag bits of the index `F` field that have a known meaning.
pub mod flag_bits {
    /// `\Seen`.
    pub const SEEN: u32 = 0x1;
    /// `\Answered`.
    pub const ANSWERED: u32 = 0x2;
    /// `\Flagged`.
    pub const FLAGGED: u32 = 0x4;
    /// Probably "deleted, not expunged" (inferred, unverified).
    pub const DELETED: u32 = 0x8;
    /// `\Draft`.
    pub const DRAFT: u32 = 0x10;
    /// Every bit we interpret; the rest is masked.
    pub const KNOWN: u32 = SEEN | ANSWERED | FLAGGED | DELETED | DRAFT;
}

/// The mail flags of `index.fld` `F` bits (0x1, 0x2, 0x4, 0x10); 0x8 never
/// becomes `\Deleted`.
pub fn mail_flags(bits: u32) -> crate::model::MailFlags {
    use flag_bits as b;
    crate::model::MailFlags {
        seen: bits & b::SEEN != 0,
        answered: bits & b::ANSWERED != 0,
        flagged: bits & b::FLAGGED != 0,
        draft: bits & b::DRAFT != 0,
    }
}

/// One parsed `index.fld` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRecord {
    /// The `U` token as written (file stem of `#msgs/<id>.eml`).
    pub id: String,
    /// The `F` field, unmasked.
    pub flags_raw: u32,
    /// `S`: size in bytes as Kerio recorded it.
    pub size: Option<u64>,
    /// `D`: creation time (Unix seconds), absent when zero.
    pub created: Option<i64>,
    /// `T`: received time (Unix seconds), absent when zero or missing.
    pub received: Option<i64>,
    /// `M`: modification time (Unix seconds).
    pub modified: Option<i64>,
    /// `C`: MAPI message class, e.g. `IPM.Note`.
    pub class: Option<String>,
}

impl IndexRecord {
    /// Only the flag bits we understand.
    pub fn flags(&self) -> u32 {
        self.flags_raw & flag_bits::KNOWN
    }
    /// Bits set that we do not understand (masked out of `flags`).
    pub fn unknown_flag_bits(&self) -> u32 {
        self.flags_raw & !flag_bits::KNOWN
    }
}

/// What parsing one index file saw, for the inventory and the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexStats {
    /// Non-blank lines read.
    pub lines: u64,
    /// Lines that parsed into a record.
    pub records: u64,
    /// Lines that did not parse.
    pub garbage: u64,
    /// The first few garbage lines (line number, lossy text) for the report.
    pub garbage_samples: Vec<(u64, String)>,
    /// Records whose id appeared earlier in the same file (last one wins).
    pub duplicates: u64,
    /// Records with flag bits outside the known set.
    pub unknown_flag_bits: u64,
    /// Token letters we do not interpret, with how often they appeared.
    pub unknown_tokens: BTreeMap<char, u64>,
}

/// A parsed `index.fld`, keyed by normalised item id.
#[derive(Debug, Clone, Default)]
pub struct Index {
    records: HashMap<String, IndexRecord>,
    /// Parse statistics.
    pub stats: IndexStats,
}

const GARBAGE_SAMPLES: usize = 5;

/// Normalises a hex item id for joining file names with index records:
/// lower case, leading zeros removed (`0000001A` and `1a` are the same
/// item). Non-hex ids are only lower-cased.
pub fn normalize_id(id: &str) -> String {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        let trimmed = id.trim_start_matches('0');
        if trimmed.is_empty() {
            "0".to_string()
        } else {
            trimmed.to_ascii_lowercase()
        }
    } else {
        id.to_ascii_lowercase()
    }
}

fn hex_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 8 {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()
}

fn hex_time(s: &[u8]) -> Option<Option<i64>> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let v = i64::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()?;
    Some(if v == 0 { None } else { Some(v) })
}

fn looks_like_class(rest: &[u8]) -> bool {
    rest.starts_with(b"IPM")
        || rest.starts_with(b"REPORT")
        || rest.starts_with(b"ipm")
        || rest.contains(&b'.')
}

impl Index {
    /// Parses index text (any bytes).
    pub fn parse(data: &[u8]) -> Index {
        let mut index = Index::default();
        for (n, raw_line) in data.split(|&b| b == b'\n').enumerate() {
            let line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
            if line.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            index.stats.lines += 1;
            match parse_line(line, &mut index.stats.unknown_tokens) {
                Some(rec) => {
                    index.stats.records += 1;
                    if rec.unknown_flag_bits() != 0 {
                        index.stats.unknown_flag_bits += 1;
                    }
                    let key = normalize_id(&rec.id);
                    if index.records.insert(key, rec).is_some() {
                        index.stats.duplicates += 1;
                    }
                }
                None => {
                    index.stats.garbage += 1;
                    if index.stats.garbage_samples.len() < GARBAGE_SAMPLES {
                        let mut text = String::from_utf8_lossy(line).into_owned();
                        crate::text::cut_bytes(&mut text, 120);
                        index.stats.garbage_samples.push((n as u64 + 1, text));
                    }
                }
            }
        }
        index
    }

    /// Reads and parses `path`. A missing file is "no metadata" (`Ok(None)`).
    pub fn load(path: &Path) -> std::io::Result<Option<Index>> {
        Index::load_in(&crate::source::fs::DiskFs, path)
    }

    /// [`Index::load`] through `fs`.
    pub fn load_in(fs: &dyn StoreFs, path: &Path) -> std::io::Result<Option<Index>> {
        // Only a regular file is opened: a FIFO named index.fld is refused.
        match fs.read(path) {
            Ok((data, _)) => Ok(Some(Index::parse(&data))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The record for an item id (any case, any leading zeros).
    pub fn get(&self, id: &str) -> Option<&IndexRecord> {
        self.records.get(&normalize_id(id))
    }

    /// The record for an id already normalised ([`normalize_id`]).
    pub fn get_normalized(&self, key: &str) -> Option<&IndexRecord> {
        self.records.get(key)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when no record parsed.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// All records, keyed by normalised id.
    pub fn records(&self) -> impl Iterator<Item = (&String, &IndexRecord)> {
        self.records.iter()
    }
}

fn parse_line(line: &[u8], unknown: &mut BTreeMap<char, u64>) -> Option<IndexRecord> {
    let mut tokens = line
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|t| !t.is_empty());
    let first = tokens.next()?;
    if first.first() != Some(&b'U') {
        return None;
    }
    let id = &first[1..];
    if id.is_empty() || id.len() > 16 || !id.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut rec = IndexRecord {
        id: String::from_utf8_lossy(id).into_owned(),
        flags_raw: 0,
        size: None,
        created: None,
        received: None,
        modified: None,
        class: None,
    };
    let mut saw_flags = false;
    for tok in tokens {
        let (&letter, rest) = tok.split_first()?;
        match letter {
            b'F' if !saw_flags => {
                // A malformed flag field makes the whole line suspect.
                rec.flags_raw = hex_u32(rest)?;
                saw_flags = true;
            }
            b'S' if rec.size.is_none() => {
                rec.size = std::str::from_utf8(rest).ok().and_then(|s| s.parse().ok());
            }
            b'D' => rec.created = hex_time(rest)?,
            b'T' => rec.received = hex_time(rest)?,
            b'M' => rec.modified = hex_time(rest)?,
            b'C' if looks_like_class(rest) => {
                rec.class = Some(String::from_utf8_lossy(rest).into_owned());
            }
            other => {
                let c = if other.is_ascii_graphic() {
                    other as char
                } else {
                    '?'
                };
                *unknown.entry(c).or_default() += 1;
            }
        }
    }
    if !saw_flags {
        return None;
    }
    Some(rec)
}

/// The largest part of a `status.fld` that is read: a real one is one or
/// two short lines; anything bigger is damaged or not Kerio's, and only its
/// start is looked at (the rest is reported, not parsed).
pub const STATUS_READ_LIMIT: u64 = 1024 * 1024;

/// ACL entries kept per folder; the rest are counted.
pub const ACL_LIMIT: usize = 1000;

/// One access-control line of `status.fld`: `A<who> <rights>`, the rights
/// in IMAP ACL letters (RFC 4314: `lrswipkxtea`, and the older `cd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry {
    /// `user@domain`, `anyone`, a group (`#staff`), as written.
    pub who: String,
    /// The rights letters as written (empty when the line had none).
    pub rights: String,
}

/// The parts of `status.fld` we use (research §3.7). Every field is
/// optional; every line is read (the `T` line and ACL lines such as
/// `Auser@domain.tld lrsw`, before or after it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// `T`: folder type code (0 = mail, 2 = calendar are evidenced).
    pub type_code: Option<u32>,
    /// `V`: probably UIDVALIDITY.
    pub uid_validity: Option<u32>,
    /// `U`: probably the next free item id.
    pub uid_next: Option<u32>,
    /// ACL entries, in file order, at most [`ACL_LIMIT`].
    pub acl: Vec<AclEntry>,
    /// ACL entries beyond [`ACL_LIMIT`], not kept.
    pub acl_dropped: u64,
    /// Non-blank lines read.
    pub lines: u64,
    /// The file was larger than [`STATUS_READ_LIMIT`]: its size.
    pub truncated_from: Option<u64>,
}

/// Rights letters of IMAP ACLs (RFC 4314 and RFC 2086's `c`, `d`).
fn is_rights(tok: &[u8]) -> bool {
    !tok.is_empty() && tok.iter().all(|b| b"lrswipkxteacd".contains(b))
}

impl Status {
    /// Parses status text (any bytes); unknown tokens are ignored. Tokens
    /// are keyed by their first letter on every line; an `A<who>` token
    /// takes the next token as its rights when that is made of rights
    /// letters only.
    pub fn parse(data: &[u8]) -> Status {
        let mut st = Status::default();
        for line in data.split(|&b| b == b'\n') {
            let mut toks = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|t| !t.is_empty())
                .peekable();
            if toks.peek().is_none() {
                continue;
            }
            st.lines += 1;
            while let Some(tok) = toks.next() {
                let Some((&letter, rest)) = tok.split_first() else {
                    continue;
                };
                let text = std::str::from_utf8(rest).ok();
                match letter {
                    b'T' if st.type_code.is_none() => {
                        st.type_code = text.and_then(|t| t.parse().ok());
                    }
                    b'V' => st.uid_validity = text.and_then(|t| u32::from_str_radix(t, 16).ok()),
                    b'U' => st.uid_next = text.and_then(|t| u32::from_str_radix(t, 16).ok()),
                    b'A' if !rest.is_empty() => {
                        let rights = match toks.peek() {
                            Some(r) if is_rights(r) => {
                                let r = String::from_utf8_lossy(r).into_owned();
                                toks.next();
                                r
                            }
                            _ => String::new(),
                        };
                        let who = String::from_utf8_lossy(rest).into_owned();
                        // The 2005 capture ends its first line with the
                        // owner's `A` token and repeats it with rights on
                        // the next: one entry, the one with rights.
                        if let Some(e) = st.acl.iter_mut().find(|e| e.who == who) {
                            if e.rights.is_empty() {
                                e.rights = rights;
                            } else if !rights.is_empty() && e.rights != rights {
                                st.push_acl(who, rights);
                            }
                        } else {
                            st.push_acl(who, rights);
                        }
                    }
                    _ => {}
                }
            }
        }
        st
    }

    fn push_acl(&mut self, who: String, rights: String) {
        if self.acl.len() < ACL_LIMIT {
            self.acl.push(AclEntry { who, rights });
        } else {
            self.acl_dropped += 1;
        }
    }

    /// Reads `path` (at most [`STATUS_READ_LIMIT`] bytes); `Ok(None)` when
    /// missing.
    pub fn load(path: &Path) -> std::io::Result<Option<Status>> {
        Status::load_in(&crate::source::fs::DiskFs, path)
    }

    /// [`Status::load`] through `fs`.
    pub fn load_in(fs: &dyn StoreFs, path: &Path) -> std::io::Result<Option<Status>> {
        let (mut data, size) = match fs.read_head(path, STATUS_READ_LIMIT) {
            Ok(got) => got,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if size > STATUS_READ_LIMIT {
            // The last line read is cut: leave it out.
            let end = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            data.truncate(end);
        }
        let mut st = Status::parse(&data);
        if size > STATUS_READ_LIMIT {
            st.truncated_from = Some(size);
        }
        Ok(Some(st))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms61_line() {
        // Verbatim from research/kerio-store.md §3.1.
        let idx =
            Index::parse(b"U00000001 F80000001 S1133 D43032abf M4305f1b7 I0001 CIPM.Appointment\n");
        let r = idx.get("00000001").expect("record");
        assert_eq!(r.flags_raw, 0x8000_0001);
        assert_eq!(r.flags(), flag_bits::SEEN);
        assert_eq!(r.unknown_flag_bits(), 0x8000_0000);
        assert_eq!(r.size, Some(1133));
        assert_eq!(r.created, Some(0x43032abf));
        assert_eq!(r.received, None);
        assert_eq!(r.modified, Some(0x4305f1b7));
        assert_eq!(r.class.as_deref(), Some("IPM.Appointment"));
        assert_eq!(idx.stats.unknown_tokens.get(&'I'), Some(&1));
        assert_eq!(idx.stats.unknown_flag_bits, 1);
    }

    #[test]
    fn modern_line_with_t_and_crlf() {
        let data = b"U0000001a F13 S2345 D5f3a1b2c T5f3a1b00 M5f3a1b2d I0001 X0 CIPM.Note\r\n\
                     U0000001B F0 S10 D5f3a1b2c T0 M5f3a1b2d CIPM.Note\r\n";
        let idx = Index::parse(data);
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.stats.garbage, 0);
        let a = idx.get("0000001A").expect("upper-case file name joins");
        assert_eq!(a.flags(), 0x13);
        assert_eq!(a.received, Some(0x5f3a1b00));
        let b = idx.get("1b").expect("leading zeros");
        assert_eq!(b.received, None, "T0 means absent");
        assert_eq!(b.created, Some(0x5f3a1b2c));
    }

    #[test]
    fn garbage_is_counted_and_sampled() {
        let data = b"this is not an index line\n\n\x00\xff\xfe junk\nU00000002 F1 S5 D1 M1 CIPM.Note\nUzz F1\nU00000003 Fzz S1\nU00000004\n";
        let idx = Index::parse(data);
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.stats.lines, 6);
        assert_eq!(idx.stats.garbage, 5);
        assert_eq!(
            idx.stats.garbage_samples[0],
            (1, "this is not an index line".into())
        );
        assert_eq!(idx.stats.garbage_samples[1].0, 3);
    }

    #[test]
    fn unknown_tokens_and_duplicates() {
        let data = b"U1 F1 Q7 Z CIPM.Note\nU01 F2 CIPM.Note\n";
        let idx = Index::parse(data);
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.stats.duplicates, 1);
        assert_eq!(idx.get("1").map(IndexRecord::flags), Some(2));
        assert_eq!(idx.stats.unknown_tokens.get(&'Q'), Some(&1));
        assert_eq!(idx.stats.unknown_tokens.get(&'Z'), Some(&1));
    }

    #[test]
    fn class_token_needs_class_shape() {
        let idx = Index::parse(b"U1 F1 C00000001 CREPORT.IPM.Note.NDR\n");
        assert_eq!(
            idx.get("1").and_then(|r| r.class.as_deref()),
            Some("REPORT.IPM.Note.NDR")
        );
    }

    #[test]
    fn status_fields() {
        let st = Status::parse(
            b"T2 G64590354-03bc-46fa-9d94-b5c19be217d7 V430adb2c U0000000c C00000001 M6 D0 R0 N0 S7514 Auser@domain\nAuser@domain.tld lrsw\n",
        );
        assert_eq!(st.type_code, Some(2));
        assert_eq!(st.uid_validity, Some(0x430adb2c));
        assert_eq!(st.uid_next, Some(0xc));
        assert_eq!(Status::parse(b"T0\n").type_code, Some(0));
        assert_eq!(Status::parse(b"\xff\xfe").type_code, None);
        assert_eq!(Status::parse(b"").type_code, None);
        assert_eq!(
            st.acl,
            vec![
                AclEntry {
                    who: "user@domain".into(),
                    rights: String::new()
                },
                AclEntry {
                    who: "user@domain.tld".into(),
                    rights: "lrsw".into()
                }
            ]
        );
    }

    #[test]
    fn status_acl_lines_before_and_after_the_type_line() {
        let st = Status::parse(
            b"Aalice@example.com lrswipkxtea\r\nAanyone lr\r\nT0 V5 U7\r\n#staff lrs\r\nA#staff lrs\r\nAbob@example.com\r\n\r\n",
        );
        assert_eq!(st.type_code, Some(0));
        assert_eq!(st.lines, 6);
        let acl: Vec<(&str, &str)> = st
            .acl
            .iter()
            .map(|e| (e.who.as_str(), e.rights.as_str()))
            .collect();
        assert_eq!(
            acl,
            vec![
                ("alice@example.com", "lrswipkxtea"),
                ("anyone", "lr"),
                ("#staff", "lrs"),
                ("bob@example.com", ""),
            ]
        );
        // The owner's token on the T line and its rights on the next line
        // are one entry.
        let st = Status::parse(b"T2 S7 Aowner@x\nAowner@x lrsw\n");
        assert_eq!(st.acl.len(), 1);
        assert_eq!(st.acl[0].rights, "lrsw");
    }

    #[test]
    fn a_huge_status_file_is_read_in_part_and_its_acls_capped() {
        let t = tempfile::tempdir().expect("tempdir");
        let p = t.path().join("status.fld");
        let mut data = b"T0\n".to_vec();
        let mut i = 0;
        while data.len() < 3 * STATUS_READ_LIMIT as usize {
            data.extend_from_slice(format!("Auser{i}@example.com lrs\n").as_bytes());
            i += 1;
        }
        std::fs::write(&p, &data).expect("write");
        let st = Status::load(&p).expect("read").expect("present");
        assert_eq!(st.type_code, Some(0));
        assert_eq!(st.truncated_from, Some(data.len() as u64));
        assert_eq!(st.acl.len(), ACL_LIMIT);
        assert!(st.acl_dropped > 10_000, "{}", st.acl_dropped);
        assert_eq!(Status::load(&t.path().join("none")).expect("ok"), None);
    }

    #[test]
    fn normalize() {
        assert_eq!(normalize_id("0000001A"), "1a");
        assert_eq!(normalize_id("00000000"), "0");
        assert_eq!(normalize_id("not-hex"), "not-hex");
    }
}
