//! Message preparation: the one place that turns an item's raw bytes into
//! what a target receives, and the only module that touches mail-parser.
//!
//! The bytes are never re-serialised: line ends are normalised to CRLF
//! (bare LF and bare CR alike) with a final CRLF, every other byte is kept,
//! and a BLAKE3 hash of the result identifies the content in the journal.
//! Headers only are parsed, for Message-ID, Date and the newest Received
//! date. What looks wrong is recorded as [`Anomalies`], never fixed silently.

pub use crate::model::ContentHash;
use chrono::{DateTime, FixedOffset, TimeZone};
use mail_parser::{HeaderName, MessageParser};
use serde::Serialize;

mod date;
mod fields;
mod lines;
pub use date::{internal_date, plausible, received_needed, DateInputs, DateSource, PLAUSIBLE_FROM};
pub use lines::{byte_facts, line_ends, normalize_crlf, ByteFacts, LineEnds};

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
    prepare_for(raw, true)
}

/// [`prepare`], parsing the `Received:` fields only with `received`
/// (without, `received_header` and `received_dates` stay empty: for an
/// item whose internal date they cannot decide, see [`received_needed`]).
pub fn prepare_for(raw: Vec<u8>, received: bool) -> Prepared {
    let source_len = raw.len() as u64;
    let f = byte_facts(&raw);
    let mut anomalies = Anomalies::from_bytes(raw.is_empty(), &f);
    let bytes = lines::normalize_known(raw, f.ends, f.extra);
    let hash = ContentHash::of(&bytes);
    let header = if anomalies.empty {
        HeaderFacts::default()
    } else {
        header_facts_for(received, &bytes, &mut anomalies).0
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

impl Anomalies {
    /// The anomalies one pass over the bytes finds (the header's come
    /// later).
    fn from_bytes(empty: bool, f: &ByteFacts) -> Anomalies {
        Anomalies {
            empty,
            nul: f.nul,
            bare_lf: f.ends.bare_lf,
            bare_cr: f.ends.bare_cr,
            final_crlf_added: f.ends.final_added,
            ..Anomalies::default()
        }
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
/// anomalies and header facts, with no hash and no copy of the body. What
/// `scan` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub anomalies: Anomalies,
    pub header: HeaderFacts,
}

/// Inspects raw item bytes (see [`Inspected`]); without `received`, the
/// `Received:` fields are skipped, not parsed (`received_header` and
/// `received_dates` stay empty: see [`received_needed`]). When the line
/// ends conform the header is parsed in place; when not, only the header
/// and its empty line are normalised (a copy of a few KiB, not of the
/// message), unless the parser read into that empty line (it may read on
/// past a line end, see [`header_facts_of_head`]): then the whole message
/// is, as [`prepare`] does.
pub fn inspect(raw: &[u8], received: bool) -> Inspected {
    let f = byte_facts(raw);
    let mut anomalies = Anomalies::from_bytes(raw.is_empty(), &f);
    let header = if anomalies.empty {
        HeaderFacts::default()
    } else if f.extra == 0 {
        header_facts_for(received, raw, &mut anomalies).0
    } else {
        let (head, _) = normalize_crlf(raw[..lines::header_end(raw)].to_vec());
        match header_facts_of_head(received, &head, anomalies) {
            Some((h, a)) => {
                anomalies = a;
                h
            }
            None => {
                let bytes = lines::normalize_known(raw.to_vec(), f.ends, f.extra);
                header_facts_for(received, &bytes, &mut anomalies).0
            }
        }
    };
    Inspected { anomalies, header }
}

/// The parser of the header fields [`HeaderFacts`] holds (`Received:`
/// only with `received`); every other field is skipped to its end, not
/// decoded. It finds the same fields `MessageParser::default()` finds:
/// each field it skips ends where the default's parser of that field ends
/// it, at the first line end not followed by a space or a tab (the date
/// parser, which may read past a line end, is kept for `Resent-Date`
/// too). Asserted by the proptests `header_facts_as_the_default_parser_
/// finds_them` and `fields_parse_as_the_default_parser_parses_them`.
fn header_parser(received: bool) -> &'static MessageParser {
    use std::sync::OnceLock;
    static WITH: OnceLock<MessageParser> = OnceLock::new();
    static WITHOUT: OnceLock<MessageParser> = OnceLock::new();
    let fields = || {
        MessageParser::new()
            .header_date(HeaderName::Date)
            .header_date(HeaderName::ResentDate)
            .header_id(HeaderName::MessageId)
            .default_header_ignore()
    };
    if received {
        WITH.get_or_init(|| fields().header_received(HeaderName::Received))
    } else {
        WITHOUT.get_or_init(fields)
    }
}

/// The header facts `parser` finds in `head`, a normalised message's
/// header block and its empty line, when they are the whole message's:
/// when the parser ended every field before the empty line (line ends end
/// its fields, but an obsolete time zone after a date is read two bytes
/// on, whatever they are). `None` when a field ran into the empty line:
/// what it would have found next depends on the body.
fn header_facts_of_head(
    received: bool,
    head: &[u8],
    mut a: Anomalies,
) -> Option<(HeaderFacts, Anomalies)> {
    let (h, end) = header_facts_for(received, head, &mut a);
    (end <= header_block(head).len()).then_some((h, a))
}

/// The header facts of CRLF-normalised `bytes` (the fields
/// [`header_parser`] needs, cut out first by [`fields::kept`]; the whole
/// header when the cut is not exact), and where its last field ended (0
/// when it has none).
fn header_facts_for(received: bool, bytes: &[u8], a: &mut Anomalies) -> (HeaderFacts, usize) {
    header_facts_with(bytes, a, |b| {
        cut_facts(received, b).unwrap_or_else(|| whole_facts(header_parser(received), b))
    })
}

/// The header facts `find` finds in CRLF-normalised `bytes` (and where
/// the last field ended), and the anomalies of its header.
fn header_facts_with(
    bytes: &[u8],
    a: &mut Anomalies,
    find: impl FnOnce(&[u8]) -> (HeaderFacts, usize),
) -> (HeaderFacts, usize) {
    let header = header_block(bytes);
    a.eight_bit_header = !header.is_ascii();
    a.no_header = !starts_with_header(bytes);
    // Text that merely contains a colon on its first line is not a
    // header; do not trust what the parser would make of it.
    let found = if a.no_header {
        (HeaderFacts::default(), 0)
    } else {
        find(bytes)
    };
    let h = &found.0;
    a.no_message_id = h.message_id.is_none();
    a.no_date = h.date_header.is_none();
    a.bad_date = a.no_date && !a.no_header && has_field(header, b"date");
    found
}

/// The facts `parser` finds in all of `bytes`, and where its last field
/// ended.
fn whole_facts(parser: &MessageParser, bytes: &[u8]) -> (HeaderFacts, usize) {
    match parser.parse_headers(bytes) {
        Some(msg) => (
            facts_of(&msg),
            msg.headers().last().map_or(0, |f| f.offset_end as usize),
        ),
        None => (HeaderFacts::default(), 0),
    }
}

/// The facts of the fields [`fields::kept`] cuts out of `bytes`, when each
/// kept field parses to the end the cut gave it (so its parser read what
/// it reads in the whole header); `None` otherwise.
fn cut_facts(received: bool, bytes: &[u8]) -> Option<(HeaderFacts, usize)> {
    let k = fields::kept(bytes, received)?;
    match header_parser(received).parse_headers(&k.bytes) {
        None => k
            .ends
            .is_empty()
            .then(|| (HeaderFacts::default(), k.last_end)),
        Some(msg) => {
            let f = msg.headers();
            let exact = f.len() == k.ends.len()
                && f.iter()
                    .zip(&k.ends)
                    .all(|(f, e)| f.offset_end as usize == *e);
            exact.then(|| (facts_of(&msg), k.last_end))
        }
    }
}

/// What a parsed header says.
fn facts_of(msg: &mail_parser::Message<'_>) -> HeaderFacts {
    let mut h = HeaderFacts {
        message_id: msg
            .message_id()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        date_header: msg.date().and_then(to_chrono),
        ..HeaderFacts::default()
    };
    let mut received = msg.received_all();
    if let Some(first) = received.next() {
        h.received_header = first.date.as_ref().and_then(to_chrono);
        h.received_dates = std::iter::once(first)
            .chain(received)
            .take(RECEIVED_DATES)
            .filter_map(|r| r.date.as_ref().and_then(to_chrono))
            .map(|d| d.timestamp())
            .collect();
    }
    h
}

/// True when a line of `header` names the field `name` (ASCII,
/// case-insensitive): [`header_value`]`(.., name).is_some()` without
/// unfolding or copying the value.
fn has_field(header: &[u8], name: &[u8]) -> bool {
    header.split(|&b| b == b'\n').any(|line| {
        line.iter()
            .position(|&b| b == b':')
            .is_some_and(|colon| line[..colon].trim_ascii_end().eq_ignore_ascii_case(name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

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

    /// What `prepare` found, as `inspect` reports it with and without
    /// `Received:` fields.
    fn inspected_by_prepare(raw: &[u8]) -> (Inspected, Inspected) {
        let p = prepare(raw.to_vec());
        let with = Inspected {
            anomalies: p.anomalies,
            header: HeaderFacts {
                message_id: p.message_id,
                date_header: p.date_header,
                received_header: p.received_header,
                received_dates: p.received_dates,
            },
        };
        let mut without = with.clone();
        without.header.received_header = None;
        without.header.received_dates.clear();
        (with, without)
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
            let (with, without) = inspected_by_prepare(raw);
            assert_eq!(inspect(raw, true), with, "input {raw:?}");
            assert_eq!(inspect(raw, false), without, "input {raw:?}");
        }
        let i = inspect(
            b"Message-ID: <a@b>\rDate: Tue, 1 Jul 2003 10:52:37 +0200\r\rx",
            true,
        );
        assert_eq!(i.header.message_id.as_deref(), Some("a@b"));
        assert!(i.anomalies.bare_cr && i.anomalies.final_crlf_added && !i.anomalies.no_date);
    }

    /// Pieces of headers that make mail-parser's field parsers differ:
    /// encoded words, quotes, comments, obsolete zones (read two bytes on),
    /// folds, and fields of each parser.
    const PIECES: &[&[u8]] = &[
        b"\r",
        b"\n",
        b"\r\n",
        b"\r\n ",
        b"\n\t",
        b" ",
        b"\t",
        b":",
        b"x",
        b"\x00",
        b"\xe9",
        b"From ",
        b"\"",
        b"(",
        b")",
        b"\\",
        b"<",
        b">",
        b",",
        b";",
        b"=?",
        b"?=",
        b"?q?",
        b"?b?",
        b"=?utf-8?q?a_=E9?=",
        b"=?utf-8?b?QUJD?=",
        b"=?utf-8?b?QU",
        b"+0200",
        b" EST",
        b"x",
        b"Message-ID: <a@b>",
        b"Message-ID: ",
        b"Date: Tue, 1 Jul 2003 10:52:37 +0200",
        b"Date: junk",
        b"Date: 1 Jul 2003 10:52:37 ",
        b"Resent-Date: 2 Jul 2003 10:00:00 ",
        b"Received: from a by b; Tue, 1 Jul 2003 10:52:40 +0200",
        b"Received: from c (d) by e;",
        b"From: ",
        b"To: \"a b\" <c@d>",
        b"Subject: ",
        b"Content-Type: text/plain; a=\"",
        b"References: <",
        b"Keywords: ",
        b"X-Other: ",
    ];

    /// One header field (or the empty line, or body text) of pieces that
    /// make mail-parser's field parsers differ.
    fn field() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::sample::select;
        let names: &[&[u8]] = &[
            b"",
            b"From ",
            b"From: ",
            b"To: ",
            b"Subject: ",
            b"Content-Type: ",
            b"References: ",
            b"Keywords: ",
            b"X-Other: ",
            b"Date: ",
            b"Resent-Date: ",
            b"Message-ID: ",
            b"Received: ",
            b"Return-Path: ",
            b"Comments: ",
        ];
        let values: &[&[u8]] = &[
            b"x",
            b" ",
            b"\t",
            b"\"",
            b"(",
            b")",
            b"\\",
            b"<a@b>",
            b"<",
            b">",
            b",",
            b";",
            b":",
            b"=?utf-8?q?a_=E9?=",
            b"=?utf-8?b?QUJD?=",
            b"=?utf-8?b?QU",
            b"=?x?q?",
            b"?=",
            b"+",
            b"-",
            b"+0200",
            b"EST",
            b"Tue, 1 Jul 2003 10:52:37",
            b" 10:52:37 ",
            b"from a by b;",
            b"text/plain; a=\"b",
            b"\xe9",
            b"\x00",
            b"\r\n ",
            b"\n\t",
            b"\r",
        ];
        let ends: &[&[u8]] = &[
            b"\r\n",
            b"\n",
            b"\r",
            b"\r\n\r\n",
            b"\n\n",
            b"\r\n \r\n",
            b"",
        ];
        (
            select(names),
            proptest::collection::vec(select(values), 0..6),
            select(ends),
        )
            .prop_map(|(n, v, e)| [n, &v.concat(), e].concat())
    }

    /// Our header facts of normalised `bytes` (and the anomalies) are the
    /// ones the default parser finds on the whole message.
    fn facts_as_the_default_parser(
        bytes: &[u8],
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let (mut a, mut b) = (Anomalies::default(), Anomalies::default());
        let ours = header_facts_for(true, bytes, &mut a);
        let default =
            header_facts_with(bytes, &mut b, |b| whole_facts(&MessageParser::default(), b));
        proptest::prop_assert_eq!(ours, default);
        proptest::prop_assert_eq!(a, b);
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn inspect_equals_prepare(parts in proptest::collection::vec(proptest::sample::select(PIECES), 0..32)) {
            let raw = parts.concat();
            let (with, without) = inspected_by_prepare(&raw);
            proptest::prop_assert_eq!(inspect(&raw, true), with);
            proptest::prop_assert_eq!(inspect(&raw, false), without);
        }

        #[test]
        fn header_facts_as_the_default_parser_finds_them(parts in proptest::collection::vec(proptest::sample::select(PIECES), 0..32)) {
            let (bytes, _) = normalize_crlf(parts.concat());
            facts_as_the_default_parser(&bytes)?;
        }

        #[test]
        fn fields_parse_as_the_default_parser_parses_them(fields in proptest::collection::vec(field(), 0..10)) {
            let raw: Vec<u8> = fields.concat();
            let (with, without) = inspected_by_prepare(&raw);
            proptest::prop_assert_eq!(inspect(&raw, true), with);
            proptest::prop_assert_eq!(inspect(&raw, false), without);
            let (bytes, _) = normalize_crlf(raw);
            facts_as_the_default_parser(&bytes)?;
        }
    }

    #[test]
    fn a_date_read_on_into_the_empty_line_normalises_the_whole_message() {
        // The obsolete zone `x` is read with the two bytes after it (the
        // line end), so the date field runs on after the empty line.
        let raw = b"From \rDate: Tue, 1 Jul 2003 10:52:37 +0200x\r\rMessage-ID: <a@b>".to_vec();
        let (head, _) = normalize_crlf(raw[..lines::header_end(&raw)].to_vec());
        assert_eq!(
            head,
            b"From \r\nDate: Tue, 1 Jul 2003 10:52:37 +0200x\r\n\r\n"
        );
        assert_eq!(
            header_facts_of_head(true, &head, Anomalies::default()),
            None
        );
        let i = inspect(&raw, true);
        assert_eq!(i.header.message_id.as_deref(), Some("a@b"));
        // A well-formed header is found from its head alone.
        let raw = b"Date: Tue, 1 Jul 2003 10:52:37 +0200\n\nMessage-ID: <a@b>\n";
        let (head, _) = normalize_crlf(raw[..lines::header_end(raw)].to_vec());
        let (h, a) = header_facts_of_head(true, &head, Anomalies::default()).expect("clean");
        assert_eq!(h.message_id, None);
        assert!(a.no_message_id && !a.no_date);
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
