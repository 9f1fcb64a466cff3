//! What identifies a message however a server stored it, for the checks
//! that decide whether a message of unknown fate is on the server
//! ([`super::matching`]), for `verify --deep`, and for reconciling a
//! mailbox the journal knows nothing about.
//!
//! A server may store other bytes than it was sent, and answer OK:
//! Dovecot 2.3.19 re-encodes every part with `Content-Transfer-Encoding:
//! binary` that arrives in a BINARY literal (`~{n}`) as base64 (the CTE
//! header becomes `base64`, RFC822.SIZE grows), and serves each NUL of the
//! other parts as 0x80 in `BODY[]` (it keeps the NUL: `BINARY[]` returns
//! it). A hash of the bytes then finds nothing. Two identities survive:
//!
//! - [`decoded_hash`]: the MIME tree with every leaf body decoded from its
//!   transfer encoding (base64; others as they are), the header fields
//!   other than `Content-Transfer-Encoding` with their white space
//!   collapsed, NUL and 0x80 folded together, trailing line ends of a body
//!   ignored. The bytes sent and Dovecot's copy have the same one.
//! - [`header_fingerprint`]: Date, From, Subject and the first Received
//!   header, which servers do not rewrite, for a message without a
//!   Message-ID (a weaker identity: two messages can share it, so it only
//!   decides together with a count).
//!
//! Both are pure functions of bytes; nothing here parses more than the
//! header block and the multipart boundaries.

/// Deepest MIME nesting followed; below it a body counts as it is.
const MAX_DEPTH: usize = 32;

/// The hash of the decoded content of `bytes` (see the module header).
pub(crate) fn decoded_hash(bytes: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"kerio-migrate decoded v1\n");
    entity(bytes, &mut h, 0);
    *h.finalize().as_bytes()
}

/// Date, From, Subject and the first Received header, hashed (white space
/// collapsed, names case-insensitive); `None` when the message has none of
/// Date, From and Subject.
pub(crate) fn header_fingerprint(bytes: &[u8]) -> Option<[u8; 32]> {
    let (head, _) = split_header(bytes);
    let fields = fields(head);
    let first = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| collapse(v))
    };
    let (date, from, subject) = (first("Date"), first("From"), first("Subject"));
    if date.is_none() && from.is_none() && subject.is_none() {
        return None;
    }
    let mut h = blake3::Hasher::new();
    h.update(b"kerio-migrate fingerprint v1\n");
    for v in [date, from, subject, first("Received")] {
        match v {
            Some(v) => {
                h.update(&(v.len() as u64 + 1).to_le_bytes());
                h.update(&v);
            }
            None => {
                h.update(&0u64.to_le_bytes());
            }
        }
    }
    Some(*h.finalize().as_bytes())
}

/// The Message-ID of a stored message's header (without `<>`), as the
/// message module reads it for a source item: the first such field,
/// trimmed.
pub(crate) fn message_id(bytes: &[u8]) -> Option<String> {
    let (head, _) = split_header(bytes);
    fields(head)
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(b"Message-ID"))
        .map(|(_, v)| {
            let v = String::from_utf8_lossy(&collapse(&v)).into_owned();
            v.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
        .filter(|m| !m.is_empty())
}

/// A message's header block and body, for telling a copy a tool added
/// header fields to (mbsync's `X-TUID`, a provider's trace fields) from
/// another message.
pub(crate) fn header_and_body(bytes: &[u8]) -> (&[u8], &[u8]) {
    split_header(bytes)
}

/// The header `--tag-messages` adds to a message with no usable identity.
pub(crate) const TAG_HEADER: &str = "X-Kerio-Migrate-Id";

/// True when nothing identifies the message beyond its bytes: no
/// Message-ID and no [`header_fingerprint`].
pub(crate) fn lacks_identity(bytes: &[u8]) -> bool {
    message_id(bytes).is_none() && header_fingerprint(bytes).is_none()
}

/// `bytes` with the `X-Kerio-Migrate-Id` header first, naming the content
/// hash of the prepared bytes (stable over runs).
pub(crate) fn tagged(bytes: &[u8], hash: &[u8; 32]) -> Vec<u8> {
    let mut out = tag_line(hash).into_bytes();
    out.extend_from_slice(bytes);
    out
}

fn tag_line(hash: &[u8; 32]) -> String {
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("{TAG_HEADER}: <{hex}@kerio-migrate>\r\n")
}

/// `bytes` without the `X-Kerio-Migrate-Id` line this tool puts first,
/// when it is there.
pub(crate) fn untagged(bytes: &[u8]) -> Option<&[u8]> {
    let prefix = format!("{TAG_HEADER}: <");
    if !bytes.starts_with(prefix.as_bytes()) {
        return None;
    }
    let end = bytes.iter().position(|b| *b == b'\n')?;
    Some(&bytes[end + 1..])
}

/// True when a server may store other bytes for `bytes` whose decoded
/// content is the same: a part declared `Content-Transfer-Encoding:
/// binary`, or NUL bytes.
pub(crate) fn may_be_reencoded(bytes: &[u8]) -> bool {
    if memchr::memchr(0, bytes).is_some() {
        return true;
    }
    // Every `Content-Transfer-Encoding:` in any case, found by its colon
    // (no copy of the message; base64 has no colon at all).
    let key = b"content-transfer-encoding:";
    memchr::memchr_iter(b':', bytes).any(|colon| {
        let Some(start) = (colon + 1).checked_sub(key.len()) else {
            return false;
        };
        if !bytes[start..=colon].eq_ignore_ascii_case(key) {
            return false;
        }
        let rest = &bytes[colon + 1..];
        trim(&rest[..rest.len().min(40)])
            .get(..6)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"binary"))
    })
}

/// One MIME entity into the hash.
fn entity(bytes: &[u8], h: &mut blake3::Hasher, depth: usize) {
    let (head, body) = split_header(bytes);
    let mut cte: Option<Vec<u8>> = None;
    let mut boundary: Option<Vec<u8>> = None;
    for (name, value) in fields(head) {
        if name.eq_ignore_ascii_case(b"Content-Transfer-Encoding") {
            cte = Some(collapse(&value).to_ascii_lowercase());
            continue;
        }
        if name.eq_ignore_ascii_case(b"Content-Type") {
            boundary = multipart_boundary(&value);
        }
        let v = fold(&collapse(&value));
        h.update(b"H");
        h.update(&(name.len() as u64).to_le_bytes());
        h.update(&name.to_ascii_lowercase());
        h.update(&(v.len() as u64).to_le_bytes());
        h.update(&v);
    }
    match boundary.filter(|_| depth < MAX_DEPTH) {
        Some(b) => multipart(body, &b, h, depth),
        None => {
            let decoded = match cte.as_deref() {
                Some(b"base64") => base64_decode(body),
                _ => body.to_vec(),
            };
            leaf(&decoded, h);
        }
    }
}

/// A leaf body (or a preamble / epilogue) into the hash: NUL read as 0x80,
/// trailing line ends and blanks ignored.
fn leaf(body: &[u8], h: &mut blake3::Hasher) {
    let end = body
        .iter()
        .rposition(|b| !matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    let v = fold(&body[..end]);
    h.update(b"B");
    h.update(&(v.len() as u64).to_le_bytes());
    h.update(&v);
}

/// The parts of a multipart body between `--boundary` lines, each hashed
/// as an entity; preamble and epilogue as leaves.
fn multipart(body: &[u8], boundary: &[u8], h: &mut blake3::Hasher, depth: usize) {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    let mut pieces: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    let mut closed = false;
    let mut i = 0;
    while i < body.len() {
        let line_start = i == 0 || body[i - 1] == b'\n';
        if line_start && body[i..].starts_with(&delim) {
            let mut piece = &body[start..i];
            // The line end before a delimiter belongs to the delimiter.
            piece = piece.strip_suffix(b"\n").unwrap_or(piece);
            piece = piece.strip_suffix(b"\r").unwrap_or(piece);
            pieces.push(piece);
            let after = i + delim.len();
            closed = body[after..].starts_with(b"--");
            let eol = body[after..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(body.len(), |p| after + p + 1);
            start = eol;
            i = eol;
            if closed {
                break;
            }
            continue;
        }
        i += 1;
    }
    let rest = &body[start.min(body.len())..];
    h.update(b"M");
    h.update(&(pieces.len() as u64).to_le_bytes());
    for (n, p) in pieces.iter().enumerate() {
        if n == 0 {
            leaf(p, h); // preamble
        } else {
            entity(p, h, depth + 1);
        }
    }
    if closed {
        leaf(rest, h); // epilogue
    } else if !pieces.is_empty() {
        // Truncated: the last part runs to the end.
        entity(rest, h, depth + 1);
    } else {
        leaf(rest, h);
    }
}

/// Header block and body: split at the first empty line (CRLF or LF).
fn split_header(bytes: &[u8]) -> (&[u8], &[u8]) {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\r\n\r\n") {
            return (&bytes[..i + 2], &bytes[i + 4..]);
        }
        if bytes[i..].starts_with(b"\n\n") {
            return (&bytes[..i + 1], &bytes[i + 2..]);
        }
        if i == 0 && (bytes.starts_with(b"\r\n") || bytes.starts_with(b"\n")) {
            let n = if bytes.starts_with(b"\r\n") { 2 } else { 1 };
            return (&bytes[..0], &bytes[n..]);
        }
        i += 1;
    }
    (bytes, &bytes[bytes.len()..])
}

/// The header fields: (name, unfolded value).
fn fields(head: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if matches!(line[0], b' ' | b'\t') {
            if let Some((_, v)) = out.last_mut() {
                v.push(b' ');
                v.extend_from_slice(line);
            }
            continue;
        }
        match line.iter().position(|b| *b == b':') {
            Some(c) => out.push((trim(&line[..c]).to_vec(), line[c + 1..].to_vec())),
            None => out.push((Vec::new(), line.to_vec())),
        }
    }
    out
}

/// The boundary parameter of a `multipart/*` Content-Type value.
fn multipart_boundary(value: &[u8]) -> Option<Vec<u8>> {
    let v = collapse(value);
    let lower = v.to_ascii_lowercase();
    if !trim(&lower).starts_with(b"multipart/") {
        return None;
    }
    let at = find(&lower, b"boundary=")?;
    let rest = &v[at + b"boundary=".len()..];
    let b = if let Some(q) = rest.strip_prefix(b"\"") {
        &q[..q.iter().position(|b| *b == b'"').unwrap_or(q.len())]
    } else {
        let end = rest
            .iter()
            .position(|b| matches!(b, b';' | b' ' | b'\t'))
            .unwrap_or(rest.len());
        &rest[..end]
    };
    (!b.is_empty()).then(|| b.to_vec())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &v[start..end.max(start)]
}

/// White space runs as one space, trimmed.
fn collapse(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut space = false;
    for &b in trim(v) {
        if b.is_ascii_whitespace() {
            space = true;
        } else {
            if space {
                out.push(b' ');
                space = false;
            }
            out.push(b);
        }
    }
    out
}

/// NUL read as 0x80 (how Dovecot serves it in `BODY[]`).
fn fold(v: &[u8]) -> Vec<u8> {
    v.iter().map(|&b| if b == 0 { 0x80 } else { b }).collect()
}

/// Base64, leniently: characters outside the alphabet are skipped, `=`
/// ends the data.
fn base64_decode(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in v {
        let d = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(d);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sent as a BINARY literal: a multipart with a binary part holding NUL
    /// and 0x80, and what Dovecot 2.3.19 serves for it in `BODY[]`
    /// (measured: the part re-encoded as base64, its CTE header rewritten).
    const SENT_MULTI: &[u8] = b"From: a@x\r\nSubject: bin\r\nDate: Mon, 1 Jan 2018 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nhello\r\n--BB\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\nab\x00cd\x80\xff\x00\r\nmore\r\n--BB--\r\n";
    const STORED_MULTI: &[u8] = b"From: a@x\r\nSubject: bin\r\nDate: Mon, 1 Jan 2018 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nhello\r\n--BB\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nYWIAY2SA/wANCm1vcmU=\r\n--BB--\r\n";
    /// A single-part binary message and Dovecot's copy.
    const SENT_SINGLE: &[u8] = b"From: a@x\r\nSubject: sb\r\nContent-Transfer-Encoding: binary\r\nContent-Type: application/octet-stream\r\n\r\nab\x00cd\r\n";
    const STORED_SINGLE: &[u8] = b"From: a@x\r\nSubject: sb\r\nContent-Transfer-Encoding: base64\r\nContent-Type: application/octet-stream\r\n\r\nYWIAY2QNCg==";
    /// NUL in a text part: Dovecot serves it as 0x80.
    const SENT_TEXT: &[u8] = b"From: a@x\r\nSubject: nul\r\n\r\nab\x00cd\r\n";
    const STORED_TEXT: &[u8] = b"From: a@x\r\nSubject: nul\r\n\r\nab\x80cd\r\n";

    #[test]
    fn dovecots_copies_have_the_decoded_hash_of_what_was_sent() {
        assert_eq!(decoded_hash(SENT_MULTI), decoded_hash(STORED_MULTI));
        assert_eq!(decoded_hash(SENT_SINGLE), decoded_hash(STORED_SINGLE));
        assert_eq!(decoded_hash(SENT_TEXT), decoded_hash(STORED_TEXT));
    }

    #[test]
    fn a_tag_goes_first_and_comes_off_again() {
        let m = b"X-Only: 1\r\n\r\nbody\r\n";
        assert!(lacks_identity(m));
        assert!(!lacks_identity(SENT_TEXT), "From and Subject");
        let t = tagged(m, &[0xab; 32]);
        assert!(t.starts_with(b"X-Kerio-Migrate-Id: <abab"));
        assert_eq!(untagged(&t), Some(&m[..]));
        assert_eq!(untagged(m), None);
    }

    #[test]
    fn only_binary_parts_and_nul_may_be_reencoded() {
        assert!(may_be_reencoded(SENT_MULTI));
        assert!(may_be_reencoded(SENT_SINGLE));
        assert!(may_be_reencoded(SENT_TEXT));
        assert!(!may_be_reencoded(STORED_MULTI));
        assert!(!may_be_reencoded(b"Subject: binary\r\n\r\nx"));
        // Any case, at the very start, white space before the value.
        assert!(may_be_reencoded(
            b"CONTENT-transfer-Encoding: \t BiNaRy\r\n"
        ));
        assert!(!may_be_reencoded(b"Content-Transfer-Encoding: binar"));
        assert!(!may_be_reencoded(b"ontent-transfer-encoding: binary"));
    }

    /// The search before it went by its colon: a lower-case copy of the
    /// whole message, searched for the key.
    fn may_be_reencoded_by_copy(bytes: &[u8]) -> bool {
        if bytes.contains(&0) {
            return true;
        }
        let lower = bytes.to_ascii_lowercase();
        let key = b"content-transfer-encoding:";
        let mut from = 0;
        while let Some(at) = find(&lower[from..], key) {
            let rest = &lower[from + at + key.len()..];
            if trim(&rest[..rest.len().min(40)]).starts_with(b"binary") {
                return true;
            }
            from += at + key.len();
        }
        false
    }

    proptest::proptest! {
        #[test]
        fn finding_the_encoding_by_its_colon_decides_as_the_copy_did(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    &b"Content-Transfer-Encoding:"[..], b"content-TRANSFER-encoding:",
                    b" binary", b"BINARY", b"base64", b"\r\n", b":", b" ", b"\t",
                    b"Content-Type: text/plain", b"x", b"\0", b"binar", b"-encoding:",
                ]),
                0..12,
            )
        ) {
            let bytes: Vec<u8> = parts.concat();
            proptest::prop_assert_eq!(may_be_reencoded(&bytes), may_be_reencoded_by_copy(&bytes));
        }
    }

    #[test]
    fn other_content_has_another_decoded_hash() {
        let other = SENT_MULTI
            .to_vec()
            .into_iter()
            .map(|b| if b == b'm' { b'M' } else { b })
            .collect::<Vec<u8>>();
        assert_ne!(decoded_hash(SENT_MULTI), decoded_hash(&other));
        assert_ne!(decoded_hash(SENT_TEXT), decoded_hash(SENT_SINGLE));
        let subject = b"From: a@x\r\nSubject: other\r\n\r\nab\x00cd\r\n";
        assert_ne!(decoded_hash(SENT_TEXT), decoded_hash(subject));
        // Garbage does not panic.
        for junk in [
            &b""[..],
            b"\r\n",
            b"no header",
            b"Content-Type: multipart/x; boundary=\"\r\n\r\n--",
        ] {
            let _ = decoded_hash(junk);
            let _ = header_fingerprint(junk);
        }
    }

    #[test]
    fn the_fingerprint_reads_date_from_subject_and_the_first_received() {
        let a = b"Received: from a by b; Mon, 1 Jan 2018\r\n\tmore\r\nReceived: from c\r\nDate: Mon, 1 Jan 2018 10:00:00 +0000\r\nFrom: a@x\r\nSubject: s\r\n\r\nbody";
        let b = b"Received: from a by b; Mon, 1 Jan 2018 more\r\nDate:  Mon, 1 Jan 2018 10:00:00 +0000\r\nfrom: a@x\r\nSubject: s\r\nContent-Transfer-Encoding: base64\r\n\r\nother body";
        assert_eq!(header_fingerprint(a), header_fingerprint(b));
        let c = b"Date: Mon, 1 Jan 2018 10:00:00 +0000\r\nFrom: a@x\r\nSubject: t\r\n\r\nbody";
        assert_ne!(header_fingerprint(a), header_fingerprint(c));
        assert_eq!(header_fingerprint(b"X-Only: 1\r\n\r\nbody"), None);
    }

    #[test]
    fn message_ids_come_without_brackets() {
        assert_eq!(
            message_id(b"Subject: x\r\nMessage-ID:\r\n <a@b>\r\n\r\n").as_deref(),
            Some("a@b")
        );
        assert_eq!(message_id(b"Subject: x\r\n\r\nMessage-ID: <a@b>\r\n"), None);
    }
}
