//! Message preparation: the one place that turns an item's raw bytes into
//! what a target receives, and the only module that touches mail-parser.
//!
//! The bytes are never re-serialised: line ends are normalised to CRLF
//! (bare LF and bare CR alike) with a final CRLF, every other byte is kept,
//! and a BLAKE3 hash of the result identifies the content in the journal.
//! Headers only are parsed, for Message-ID, Date and the newest Received
//! date. What looks wrong is recorded as [`Anomalies`], never fixed silently.

pub use crate::model::ContentHash;
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use mail_parser::MessageParser;
use serde::Serialize;

/// What preparation noticed about a message. None of these stop it from
/// being migrated except `empty` (see the policy in the README).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Anomalies {
    /// The file has no bytes at all.
    pub empty: bool,
    /// Lines ended with a bare LF (converted to CRLF).
    pub bare_lf: bool,
    /// Lines ended with a bare CR (converted to CRLF).
    pub bare_cr: bool,
    /// The last line had no line end (CRLF added).
    pub final_crlf_added: bool,
    /// The message contains NUL bytes.
    pub nul: bool,
    /// The file does not start with a header field.
    pub no_header: bool,
    /// No parsable Date header (missing or unparsable).
    pub no_date: bool,
    /// A Date header is present but could not be parsed.
    pub bad_date: bool,
    /// No Message-ID header.
    pub no_message_id: bool,
    /// The header contains raw 8-bit bytes.
    pub eight_bit_header: bool,
}

impl Anomalies {
    /// Names of the anomalies present, for reports.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let pairs = [
            (self.empty, "empty file"),
            (self.bare_lf, "bare LF line ends"),
            (self.bare_cr, "bare CR line ends"),
            (self.final_crlf_added, "no final line end"),
            (self.nul, "NUL bytes"),
            (self.no_header, "no header"),
            (self.no_date, "no Date"),
            (self.bad_date, "unparsable Date"),
            (self.no_message_id, "no Message-ID"),
            (self.eight_bit_header, "8-bit header"),
        ];
        for (on, name) in pairs {
            if on {
                v.push(name);
            }
        }
        v
    }
}

/// A message ready for a target.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// CRLF-normalised bytes with a final CRLF (empty stays empty).
    pub bytes: Vec<u8>,
    /// Hash of `bytes`.
    pub hash: ContentHash,
    /// Size of the file as read.
    pub source_len: u64,
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    pub date_header: Option<DateTime<FixedOffset>>,
    /// The date of the topmost (newest) Received header.
    pub received_header: Option<DateTime<FixedOffset>>,
    /// The dates of every Received header (Unix seconds, in header order,
    /// at most [`RECEIVED_DATES`]).
    pub received_dates: Vec<i64>,
    /// What looked wrong.
    pub anomalies: Anomalies,
}

/// Received dates kept per message (a mail with hundreds of hops is a loop
/// or an attack; the first ones are the newest).
pub const RECEIVED_DATES: usize = 64;

impl Prepared {
    /// The newest plausible Received date (Unix seconds) not after
    /// `not_after`: the delivery to the store, when the index only knows
    /// when the item was moved.
    pub fn newest_received(&self, now: i64, not_after: Option<i64>) -> Option<i64> {
        newest_plausible(&self.received_dates, now, not_after)
    }
}

/// Line-end statistics of a normalisation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineEnds {
    /// Bare LF seen.
    pub bare_lf: bool,
    /// Bare CR seen.
    pub bare_cr: bool,
    /// A final CRLF was appended.
    pub final_added: bool,
}

/// Normalises every line end to CRLF and makes the data end with CRLF.
/// Empty input stays empty. Returns the input unchanged (no copy) when it
/// already conforms.
pub fn normalize_crlf(mut raw: Vec<u8>) -> (Vec<u8>, LineEnds) {
    // First pass: how many bytes the normalised message needs beyond the
    // source (one per bare CR or LF, two for a final CRLF).
    let (ends, extra) = line_ends(&raw);
    if extra == 0 {
        return (raw, ends);
    }
    let n = raw.len();
    // Second pass, in place from the end: the message is never held twice
    // (a 3 GiB message needs 3 GiB and the bytes added, not 6 GiB).
    raw.resize(n + extra, 0);
    let mut w = n + extra;
    if ends.final_added {
        raw[w - 2..w].copy_from_slice(b"\r\n");
        w -= 2;
    }
    let mut r = n;
    while r > 0 {
        // Copy the run after the last line end before `r` in one go.
        let start = memchr::memrchr2(b'\r', b'\n', &raw[..r]).map_or(0, |p| p + 1);
        let len = r - start;
        raw.copy_within(start..r, w - len);
        w -= len;
        r = start;
        if r == 0 {
            break;
        }
        // raw[r - 1] is a line end: CRLF, bare LF or bare CR, each CRLF.
        if raw[r - 1] == b'\n' && r >= 2 && raw[r - 2] == b'\r' {
            r -= 2;
        } else {
            r -= 1;
        }
        raw[w - 2..w].copy_from_slice(b"\r\n");
        w -= 2;
    }
    debug_assert_eq!(w, 0);
    (raw, ends)
}

/// What [`normalize_crlf`] finds in `raw` without changing it: its line
/// ends, and how many bytes normalising adds (0: it already conforms).
pub fn line_ends(raw: &[u8]) -> (LineEnds, usize) {
    let mut ends = LineEnds::default();
    let Some(&last) = raw.last() else {
        return (ends, 0);
    };
    let mut extra = 0usize;
    let mut i = 0;
    while let Some(p) = memchr::memchr2(b'\r', b'\n', &raw[i..]) {
        i += p;
        if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') {
            i += 2;
            continue;
        }
        if raw[i] == b'\r' {
            ends.bare_cr = true;
        } else {
            ends.bare_lf = true;
        }
        extra += 1;
        i += 1;
    }
    if !matches!(last, b'\r' | b'\n') {
        ends.final_added = true;
        extra += 2;
    }
    (ends, extra)
}

/// The header block: everything before the first empty line (or all of
/// `data` when there is none).
pub fn header_block(data: &[u8]) -> &[u8] {
    let mut i = 0;
    while i < data.len() {
        let line_end = memchr::memchr(b'\n', &data[i..]).map_or(data.len(), |p| i + p + 1);
        let line = &data[i..line_end];
        if line == b"\n" || line == b"\r\n" {
            return &data[..i];
        }
        i = line_end;
    }
    data
}

fn is_field_name_byte(b: u8) -> bool {
    // RFC 5322 ftext: printable ASCII except ':'.
    (33..=126).contains(&b) && b != b':'
}

/// True when `data` starts with an RFC 5322 header field (`name:`), or an
/// mbox `From ` line followed by one.
pub fn starts_with_header(data: &[u8]) -> bool {
    let mut d = data;
    if d.starts_with(b"From ") {
        let end = d
            .iter()
            .position(|&c| c == b'\n')
            .map_or(d.len(), |p| p + 1);
        d = &d[end..];
    }
    let name_len = d.iter().take_while(|&&b| is_field_name_byte(b)).count();
    // Obsolete syntax allows white space before the colon (RFC 5322 §4.5).
    name_len > 0 && d[name_len..].iter().find(|&&b| b != b' ' && b != b'\t') == Some(&b':')
}

/// The unfolded value of the first header field called `name` (ASCII,
/// case-insensitive) in the header block of `data`, lossily decoded.
pub fn header_value(data: &[u8], name: &str) -> Option<String> {
    let header = header_block(data);
    let mut lines = header.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let field = line[..colon].trim_ascii_end();
        if !field.eq_ignore_ascii_case(name.as_bytes()) {
            continue;
        }
        let mut value = line[colon + 1..].to_vec();
        while let Some(next) = lines.peek() {
            if next.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                let next = next.strip_suffix(b"\r").unwrap_or(next);
                value.push(b' ');
                value.extend_from_slice(next.trim_ascii_start());
                lines.next();
            } else {
                break;
            }
        }
        return Some(String::from_utf8_lossy(value.trim_ascii()).into_owned());
    }
    None
}

fn to_chrono(d: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    if !d.is_valid() {
        return None;
    }
    let secs = (i32::from(d.tz_hour) * 3600 + i32::from(d.tz_minute) * 60)
        * if d.tz_before_gmt { -1 } else { 1 };
    FixedOffset::east_opt(secs)?
        .timestamp_opt(d.to_timestamp(), 0)
        .single()
}

/// Prepares raw item bytes for a target.
pub fn prepare(raw: Vec<u8>) -> Prepared {
    let source_len = raw.len() as u64;
    let mut anomalies = Anomalies {
        empty: raw.is_empty(),
        nul: memchr::memchr(0, &raw).is_some(),
        ..Anomalies::default()
    };
    let (bytes, ends) = normalize_crlf(raw);
    anomalies.bare_lf = ends.bare_lf;
    anomalies.bare_cr = ends.bare_cr;
    anomalies.final_crlf_added = ends.final_added;
    let hash = ContentHash::of(&bytes);
    let header = if anomalies.empty {
        HeaderFacts::default()
    } else {
        header_facts(&bytes, &mut anomalies)
    };
    Prepared {
        bytes,
        hash,
        source_len,
        message_id: header.message_id,
        date_header: header.date_header,
        received_header: header.received_header,
        received_dates: header.received_dates,
        anomalies,
    }
}

/// What a message's header says (the fields of [`Prepared`] that come
/// from it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderFacts {
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    pub date_header: Option<DateTime<FixedOffset>>,
    /// The date of the topmost (newest) Received header.
    pub received_header: Option<DateTime<FixedOffset>>,
    /// The dates of every Received header (at most [`RECEIVED_DATES`]).
    pub received_dates: Vec<i64>,
}

impl HeaderFacts {
    /// As [`Prepared::newest_received`].
    pub fn newest_received(&self, now: i64, not_after: Option<i64>) -> Option<i64> {
        newest_plausible(&self.received_dates, now, not_after)
    }
}

fn newest_plausible(dates: &[i64], now: i64, not_after: Option<i64>) -> Option<i64> {
    dates
        .iter()
        .copied()
        .filter(|t| plausible(*t, now) && not_after.is_none_or(|n| *t <= n))
        .max()
}

/// What [`prepare`] finds about a message, without preparing it: the same
/// anomalies and header facts, with no hash and, when the line ends
/// already conform, no copy (the header is parsed in place). What `scan`
/// needs. (The header alone is not enough: mail-parser may read past the
/// empty line, e.g. after an mbox `From ` line.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub anomalies: Anomalies,
    pub header: HeaderFacts,
}

/// Inspects raw item bytes (see [`Inspected`]).
pub fn inspect(raw: Vec<u8>) -> Inspected {
    let (ends, extra) = line_ends(&raw);
    let mut anomalies = Anomalies {
        empty: raw.is_empty(),
        nul: memchr::memchr(0, &raw).is_some(),
        bare_lf: ends.bare_lf,
        bare_cr: ends.bare_cr,
        final_crlf_added: ends.final_added,
        ..Anomalies::default()
    };
    let header = if anomalies.empty {
        HeaderFacts::default()
    } else if extra == 0 {
        header_facts(&raw, &mut anomalies)
    } else {
        header_facts(&normalize_crlf(raw).0, &mut anomalies)
    };
    Inspected { anomalies, header }
}

/// The header facts of CRLF-normalised `bytes`, and the anomalies found
/// in its header.
fn header_facts(bytes: &[u8], a: &mut Anomalies) -> HeaderFacts {
    let header = header_block(bytes);
    a.eight_bit_header = header.iter().any(|&b| b >= 0x80);
    a.no_header = !starts_with_header(bytes);
    let has_date_field = header_value(bytes, "date").is_some();
    let mut h = HeaderFacts::default();
    // Text that merely contains a colon on its first line is not a
    // header; do not trust what the parser would make of it.
    if !a.no_header {
        if let Some(msg) = MessageParser::default().parse_headers(bytes) {
            h.message_id = msg
                .message_id()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            h.date_header = msg.date().and_then(to_chrono);
            h.received_header = msg
                .received_all()
                .next()
                .and_then(|r| r.date.as_ref())
                .and_then(to_chrono);
            h.received_dates = msg
                .received_all()
                .take(RECEIVED_DATES)
                .filter_map(|r| r.date.as_ref().and_then(to_chrono))
                .map(|d| d.timestamp())
                .collect();
        }
    }
    a.no_message_id = h.message_id.is_none();
    a.no_date = h.date_header.is_none();
    a.bad_date = h.date_header.is_none() && has_date_field && !a.no_header;
    h
}

/// Where an item's internal (received) date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DateSource {
    /// `index.fld` `T`.
    IndexReceived,
    /// `index.fld` `D`.
    IndexCreated,
    /// The item file's modification time.
    FileMtime,
    /// The newest `Received:` header.
    ReceivedHeader,
    /// The newest plausible `Received:` header, preferred over index `D`
    /// because `D` is when the item was moved into its folder (Kerio's
    /// INBOX and Deleted Items) and `T` is missing.
    ReceivedOverMoveTime,
    /// The `Date:` header.
    DateHeader,
    /// Nothing plausible: the file's modification time, used anyway.
    Fallback,
}

impl DateSource {
    /// Short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DateSource::IndexReceived => "index T",
            DateSource::IndexCreated => "index D",
            DateSource::FileMtime => "file mtime",
            DateSource::ReceivedHeader => "Received header",
            DateSource::ReceivedOverMoveTime => "Received header (index D is a move time)",
            DateSource::DateHeader => "Date header",
            DateSource::Fallback => "fallback (implausible mtime)",
        }
    }
}

/// Inputs of the internal-date decision for one item.
#[derive(Debug, Clone, Copy, Default)]
pub struct DateInputs {
    /// `index.fld` `T` (seconds).
    pub index_received: Option<i64>,
    /// `index.fld` `D` (seconds).
    pub index_created: Option<i64>,
    /// The file's mtime (seconds).
    pub mtime: Option<i64>,
    /// Parsed Received date.
    pub received_header: Option<DateTime<FixedOffset>>,
    /// Parsed Date header.
    pub date_header: Option<DateTime<FixedOffset>>,
    /// `index_created` is when the item was moved into its folder, not
    /// when it arrived (Kerio's INBOX and Deleted Items).
    pub created_is_move_time: bool,
    /// The newest plausible Received date not after `index_created`
    /// ([`Prepared::newest_received`]), used when `created_is_move_time`.
    pub received_newest: Option<i64>,
}

/// Earliest date accepted as plausible for a mail item: 1980-01-01.
pub const PLAUSIBLE_FROM: i64 = 315_532_800;

/// True when `t` (Unix seconds) is after 1980 and not more than a day
/// ahead of `now`.
pub fn plausible(t: i64, now: i64) -> bool {
    (PLAUSIBLE_FROM..=now + 86_400).contains(&t)
}

/// The internal date chain: index `T` → (when `D` is a move time: the
/// newest plausible `Received:`) → index `D` → file mtime → `Received:` →
/// `Date:`, each only when plausible; when nothing is, the mtime (or the
/// epoch) with [`DateSource::Fallback`].
pub fn internal_date(inp: &DateInputs, now: i64) -> (DateTime<Utc>, DateSource) {
    let over_move_time = if inp.created_is_move_time {
        inp.received_newest
    } else {
        None
    };
    let candidates = [
        (inp.index_received, DateSource::IndexReceived),
        (over_move_time, DateSource::ReceivedOverMoveTime),
        (inp.index_created, DateSource::IndexCreated),
        (inp.mtime, DateSource::FileMtime),
        (
            inp.received_header.map(|d| d.timestamp()),
            DateSource::ReceivedHeader,
        ),
        (
            inp.date_header.map(|d| d.timestamp()),
            DateSource::DateHeader,
        ),
    ];
    for (t, src) in candidates {
        if let Some(t) = t.filter(|t| plausible(*t, now)) {
            if let Some(dt) = Utc.timestamp_opt(t, 0).single() {
                return (dt, src);
            }
        }
    }
    let t = inp.mtime.unwrap_or(0);
    let dt = Utc
        .timestamp_opt(t, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    (dt, DateSource::Fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_normalisation() {
        let cases: [(&[u8], &[u8], LineEnds); 7] = [
            (b"a\r\nb\r\n", b"a\r\nb\r\n", LineEnds::default()),
            (
                b"a\nb\n",
                b"a\r\nb\r\n",
                LineEnds {
                    bare_lf: true,
                    ..Default::default()
                },
            ),
            (
                b"a\rb\r",
                b"a\r\nb\r\n",
                LineEnds {
                    bare_cr: true,
                    ..Default::default()
                },
            ),
            (
                b"a\r\nb\nc\rd",
                b"a\r\nb\r\nc\r\nd\r\n",
                LineEnds {
                    bare_lf: true,
                    bare_cr: true,
                    final_added: true,
                },
            ),
            (
                b"no end",
                b"no end\r\n",
                LineEnds {
                    final_added: true,
                    ..Default::default()
                },
            ),
            (
                b"\r\r\n\n",
                b"\r\n\r\n\r\n",
                LineEnds {
                    bare_cr: true,
                    bare_lf: true,
                    ..Default::default()
                },
            ),
            (b"", b"", LineEnds::default()),
        ];
        for (input, want, ends) in cases {
            let (got, e) = normalize_crlf(input.to_vec());
            assert_eq!(got, want, "input {input:?}");
            assert_eq!(e, ends, "input {input:?}");
        }
    }

    #[test]
    fn crlf_keeps_all_other_bytes() {
        let input: Vec<u8> = (0u8..=255).filter(|b| *b != b'\r' && *b != b'\n').collect();
        let (got, _) = normalize_crlf(input.clone());
        assert_eq!(&got[..input.len()], &input[..]);
    }

    /// The plain forward normalisation the in-place one must equal.
    fn crlf_reference(raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
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

    proptest::proptest! {
        #[test]
        fn in_place_crlf_equals_the_reference(v in proptest::collection::vec(proptest::sample::select(vec![b'a', b'\r', b'\n', b'x']), 0..200)) {
            let (got, _) = normalize_crlf(v.clone());
            proptest::prop_assert_eq!(got, crlf_reference(&v));
        }

        #[test]
        fn crlf_is_idempotent_and_strips_to_same_text(v in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let (once, _) = normalize_crlf(v.clone());
            let (twice, e) = normalize_crlf(once.clone());
            proptest::prop_assert_eq!(&once, &twice);
            proptest::prop_assert_eq!(e, LineEnds::default());
            // Removing all CR and LF gives the same bytes as the input without them.
            let strip = |x: &[u8]| x.iter().copied().filter(|b| *b != b'\r' && *b != b'\n').collect::<Vec<_>>();
            proptest::prop_assert_eq!(strip(&once), strip(&v));
            if !once.is_empty() {
                proptest::prop_assert!(once.ends_with(b"\r\n"));
                // Every CR is followed by LF and every LF preceded by CR.
                for (i, b) in once.iter().enumerate() {
                    if *b == b'\r' { proptest::prop_assert_eq!(once.get(i + 1), Some(&b'\n')); }
                    if *b == b'\n' { proptest::prop_assert!(i > 0 && once[i - 1] == b'\r'); }
                }
            }
        }
    }

    #[test]
    fn header_facts() {
        let raw = b"Received: from a by b; Tue, 1 Jul 2003 10:52:40 +0200\nDate: Tue, 1 Jul 2003 10:52:37 +0200\nMessage-ID: <abc@example.com>\nSubject: hi\n\nbody\n".to_vec();
        let p = prepare(raw);
        assert!(p.anomalies.bare_lf);
        assert_eq!(p.message_id.as_deref(), Some("abc@example.com"));
        assert_eq!(
            p.date_header.map(|d| d.to_rfc3339()).as_deref(),
            Some("2003-07-01T10:52:37+02:00")
        );
        assert_eq!(
            p.received_header.map(|d| d.timestamp()),
            Some(1_057_049_560)
        );
        assert!(!p.anomalies.no_date && !p.anomalies.no_message_id && !p.anomalies.no_header);
        assert_eq!(p.hash, ContentHash::of(&p.bytes));
        assert_eq!(ContentHash::from_hex(&p.hash.to_hex()), Some(p.hash));
        assert_eq!(ContentHash::from_hex("zz"), None);
    }

    #[test]
    fn anomalies_detected() {
        let p = prepare(b"Subject: x\r\nDate: not a date\r\n\r\nbody".to_vec());
        assert!(p.anomalies.no_date && p.anomalies.bad_date && p.anomalies.no_message_id);
        assert!(p.anomalies.final_crlf_added);

        let p = prepare(b"just some text: with a colon\r\nmore\r\n".to_vec());
        assert!(p.anomalies.no_header);
        assert!(!p.anomalies.bad_date);

        let p = prepare(b"Subject: caf\xe9\r\nX: \x00\r\n\r\n".to_vec());
        assert!(p.anomalies.eight_bit_header && p.anomalies.nul);

        let p = prepare(Vec::new());
        assert!(p.anomalies.empty);
        assert_eq!(p.anomalies.names(), vec!["empty file"]);

        let p = prepare(b"From someone Mon Jan  1 00:00:00 2001\nSubject: x\n\n".to_vec());
        assert!(!p.anomalies.no_header);
    }

    /// What `prepare` found, as `inspect` reports it.
    fn inspected_by_prepare(raw: &[u8]) -> Inspected {
        let p = prepare(raw.to_vec());
        Inspected {
            anomalies: p.anomalies,
            header: HeaderFacts {
                message_id: p.message_id,
                date_header: p.date_header,
                received_header: p.received_header,
                received_dates: p.received_dates,
            },
        }
    }

    #[test]
    fn inspect_finds_what_prepare_finds() {
        let cases: [&[u8]; 13] = [
            // mail-parser reads past the empty line after a `From ` line.
            b"From \rDate: Tue, 1 Jul 2003 10:52:37 +0200x\r\rMessage-ID: <a@b>",
            b"",
            b"\r\n",
            b"Message-ID: <a@b>\r",
            b"Message-ID: <a@b>\rDate: Tue, 1 Jul 2003 10:52:37 +0200\r\rMessage-ID: <c@d>\r",
            b"Subject: x\n\r\nDate: Tue, 1 Jul 2003 10:52:37 +0200\n",
            b"Date: Tue, 1 Jul 2003 10:52:37\r\n +0200\r\n\r\nDate: x\r\n",
            b"Subject: no blank line, no end",
            b"From someone Mon Jan  1 00:00:00 2001\n\nMessage-ID: <a@b>\n",
            b"text: with a colon\nmore\x00\n",
            b"Received: from a by b; Tue, 1 Jul 2003 10:52:40 +0200\r\nX: caf\xe9\r\r\nbody",
            b"\nMessage-ID: <a@b>\n",
            b"Subject: x\r\n\r\nbody\rmore\nend",
        ];
        for raw in cases {
            assert_eq!(
                inspect(raw.to_vec()),
                inspected_by_prepare(raw),
                "input {raw:?}"
            );
        }
        let i = inspect(b"Message-ID: <a@b>\rDate: Tue, 1 Jul 2003 10:52:37 +0200\r\rx".to_vec());
        assert_eq!(i.header.message_id.as_deref(), Some("a@b"));
        assert!(i.anomalies.bare_cr && i.anomalies.final_crlf_added && !i.anomalies.no_date);
    }

    proptest::proptest! {
        #[test]
        fn inspect_equals_prepare(parts in proptest::collection::vec(proptest::sample::select(vec![
            &b"\r"[..], b"\n", b"\r\n", b" ", b"\t", b":", b"x", b"\x00", b"\xe9", b"From ",
            b"Message-ID: <a@b>", b"Date: Tue, 1 Jul 2003 10:52:37 +0200", b"Date: junk",
            b"Received: from a by b; Tue, 1 Jul 2003 10:52:40 +0200",
        ]), 0..24)) {
            let raw = parts.concat();
            proptest::prop_assert_eq!(inspect(raw.clone()), inspected_by_prepare(&raw));
        }
    }

    #[test]
    fn header_value_unfolds() {
        let raw = b"Content-Type: text/calendar;\r\n\tmethod=PUBLISH\r\nFrom: x\r\n\r\nContent-Type: no\r\n";
        assert_eq!(
            header_value(raw, "CONTENT-TYPE").as_deref(),
            Some("text/calendar; method=PUBLISH")
        );
        assert_eq!(header_value(raw, "to"), None);
        assert_eq!(
            header_value(b"Subject : spaced\n\n", "subject").as_deref(),
            Some("spaced")
        );
    }

    #[test]
    fn date_chain() {
        let now = 1_800_000_000;
        let hdr =
            FixedOffset::east_opt(3600).and_then(|z| z.timestamp_opt(1_000_000_000, 0).single());
        let base = DateInputs {
            index_received: Some(1_100_000_000),
            index_created: Some(1_200_000_000),
            mtime: Some(1_300_000_000),
            received_header: hdr.map(|d| d + chrono::Duration::seconds(5)),
            date_header: hdr,
            created_is_move_time: false,
            received_newest: Some(1_150_000_000),
        };
        let src = |i: &DateInputs| internal_date(i, now);
        assert_eq!(
            src(&base),
            (
                Utc.timestamp_opt(1_100_000_000, 0).unwrap(),
                DateSource::IndexReceived
            )
        );
        let i = DateInputs {
            index_received: None,
            ..base
        };
        assert_eq!(src(&i).1, DateSource::IndexCreated);
        let i = DateInputs {
            index_received: None,
            index_created: None,
            ..base
        };
        assert_eq!(src(&i).1, DateSource::FileMtime);
        let i = DateInputs {
            index_received: None,
            index_created: None,
            mtime: Some(now + 10 * 86_400),
            ..base
        };
        assert_eq!(
            src(&i),
            (
                Utc.timestamp_opt(1_000_000_005, 0).unwrap(),
                DateSource::ReceivedHeader
            )
        );
        let i = DateInputs {
            received_header: None,
            ..i
        };
        assert_eq!(src(&i).1, DateSource::DateHeader);
        let i = DateInputs {
            date_header: None,
            ..i
        };
        assert_eq!(
            src(&i),
            (
                Utc.timestamp_opt(now + 10 * 86_400, 0).unwrap(),
                DateSource::Fallback
            )
        );
        // Implausible index values (before 1980) fall through.
        let i = DateInputs {
            index_received: Some(12),
            ..base
        };
        assert_eq!(src(&i).1, DateSource::IndexCreated);
        // D is a move time (INBOX, Deleted Items): without T, the newest
        // plausible Received comes before it.
        let moved = DateInputs {
            index_received: None,
            created_is_move_time: true,
            ..base
        };
        assert_eq!(
            src(&moved),
            (
                Utc.timestamp_opt(1_150_000_000, 0).unwrap(),
                DateSource::ReceivedOverMoveTime
            )
        );
        let i = DateInputs {
            received_newest: None,
            ..moved
        };
        assert_eq!(src(&i).1, DateSource::IndexCreated);
        // T still wins.
        let i = DateInputs {
            index_received: Some(1_100_000_000),
            ..moved
        };
        assert_eq!(src(&i).1, DateSource::IndexReceived);
    }

    #[test]
    fn newest_plausible_received() {
        let p = prepare(
            b"Received: from a by b; Tue, 1 Jan 2030 00:00:00 +0000\r\n\
Received: from c by d; Mon, 2 Jan 2012 10:00:00 +0000\r\n\
Received: from e by f; Sun, 1 Jan 2012 10:00:00 +0000\r\n\
Received: from g by h; Thu, 1 Jan 1970 00:00:00 +0000\r\n\
Subject: x\r\n\r\nbody\r\n"
                .to_vec(),
        );
        assert_eq!(p.received_dates.len(), 4);
        let now = 1_700_000_000;
        // 2030 is in the future, 1970 before 1980: the newest plausible is 2 Jan 2012.
        assert_eq!(p.newest_received(now, None), Some(1_325_498_400));
        // Not after D (1 Jan 2012 12:00): the one before.
        assert_eq!(
            p.newest_received(now, Some(1_325_419_200)),
            Some(1_325_412_000)
        );
        assert_eq!(p.newest_received(now, Some(0)), None);
    }
}
