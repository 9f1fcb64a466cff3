//! Folder names: the IMAP modified UTF-7 codec (RFC 3501 §5.1.3) that Kerio
//! uses for the directory names of its folders, written here because the
//! published crates panic on malformed input (see research/crates.md §4).
//!
//! Decoding is strict: any deviation from the canonical encoding (a `&`
//! section with bad base64, non-zero padding bits, an unpaired surrogate, an
//! unterminated section, a printable ASCII character inside base64, raw
//! non-ASCII bytes) is an error, so a name is either decoded exactly or kept
//! verbatim by the caller and reported. Nothing here panics on any input.

use std::fmt;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Why a directory name is not valid modified UTF-7.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Utf7Error {
    /// A byte outside printable ASCII appeared outside a base64 section.
    RawNonAscii {
        /// Byte offset in the name.
        offset: usize,
    },
    /// `&` was never closed by `-`.
    Unterminated {
        /// Byte offset in the name.
        offset: usize,
    },
    /// A byte that is not in the modified base64 alphabet.
    BadBase64 {
        /// Byte offset in the name.
        offset: usize,
    },
    /// Leftover bits that are not zero, or a section that is not a whole
    /// number of UTF-16 units.
    BadPadding {
        /// Byte offset in the name.
        offset: usize,
    },
    /// A surrogate half without its partner.
    BadSurrogate {
        /// Byte offset in the name.
        offset: usize,
    },
    /// A section that encodes printable ASCII, which must be written directly
    /// (or an empty `&-`-less section such as `&-` misuse).
    NotCanonical {
        /// Byte offset in the name.
        offset: usize,
    },
}

impl fmt::Display for Utf7Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Utf7Error::RawNonAscii { offset } => {
                write!(f, "raw non-ASCII byte at offset {offset}")
            }
            Utf7Error::Unterminated { offset } => {
                write!(
                    f,
                    "base64 section opened at offset {offset} is not closed by '-'"
                )
            }
            Utf7Error::BadBase64 { offset } => {
                write!(f, "invalid modified-base64 character at offset {offset}")
            }
            Utf7Error::BadPadding { offset } => {
                write!(f, "base64 section ending at offset {offset} has stray bits")
            }
            Utf7Error::BadSurrogate { offset } => {
                write!(f, "unpaired UTF-16 surrogate in section at offset {offset}")
            }
            Utf7Error::NotCanonical { offset } => write!(
                f,
                "section at offset {offset} encodes printable ASCII (not canonical)"
            ),
        }
    }
}

impl std::error::Error for Utf7Error {}

fn is_direct(c: char) -> bool {
    // Printable US-ASCII except '&' represent themselves.
    ('\x20'..='\x7e').contains(&c) && c != '&'
}

/// Encodes a Unicode name into modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        out.push('&');
        let mut bits: u32 = 0;
        let mut nbits = 0;
        for unit in pending.iter() {
            bits = (bits << 16) | u32::from(*unit);
            nbits += 16;
            while nbits >= 6 {
                nbits -= 6;
                out.push(B64[((bits >> nbits) & 0x3f) as usize] as char);
            }
        }
        if nbits > 0 {
            out.push(B64[((bits << (6 - nbits)) & 0x3f) as usize] as char);
        }
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if is_direct(c) {
            flush(&mut pending, &mut out);
            out.push(c);
        } else if c == '&' {
            flush(&mut pending, &mut out);
            out.push_str("&-");
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

fn b64_value(b: u8) -> Option<u32> {
    match b {
        b'A'..=b'Z' => Some(u32::from(b - b'A')),
        b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
        b'+' => Some(62),
        b',' => Some(63),
        _ => None,
    }
}

/// Decodes a modified UTF-7 name given as raw bytes (a directory name on
/// disk may hold any bytes).
pub fn decode_bytes(raw: &[u8]) -> Result<String, Utf7Error> {
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'&' {
            let start = i;
            i += 1;
            let Some(rel_end) = raw[i..].iter().position(|&c| c == b'-') else {
                return Err(Utf7Error::Unterminated { offset: start });
            };
            let section = &raw[i..i + rel_end];
            let end = i + rel_end;
            i = end + 1;
            if section.is_empty() {
                out.push('&');
                continue;
            }
            decode_section(section, start, end, &mut out)?;
        } else if (0x20..=0x7e).contains(&b) {
            out.push(b as char);
            i += 1;
        } else {
            return Err(Utf7Error::RawNonAscii { offset: i });
        }
    }
    Ok(out)
}

fn decode_section(
    section: &[u8],
    start: usize,
    end: usize,
    out: &mut String,
) -> Result<(), Utf7Error> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut units: Vec<u16> = Vec::with_capacity(section.len() * 6 / 16);
    for (k, &c) in section.iter().enumerate() {
        let v = b64_value(c).ok_or(Utf7Error::BadBase64 {
            offset: start + 1 + k,
        })?;
        bits = ((bits << 6) | v) & 0x3f_ffff;
        nbits += 6;
        if nbits >= 16 {
            nbits -= 16;
            units.push(((bits >> nbits) & 0xffff) as u16);
        }
    }
    // At most 5 leftover bits (RFC 2152: partial sextet), and they must be 0.
    if nbits >= 6 || (bits & ((1 << nbits) - 1)) != 0 {
        return Err(Utf7Error::BadPadding { offset: end });
    }
    if units.is_empty() {
        return Err(Utf7Error::BadPadding { offset: end });
    }
    let mut decoded = String::new();
    for r in char::decode_utf16(units.iter().copied()) {
        match r {
            Ok(c) => {
                if is_direct(c) || c == '&' {
                    return Err(Utf7Error::NotCanonical { offset: start });
                }
                decoded.push(c);
            }
            Err(_) => return Err(Utf7Error::BadSurrogate { offset: start }),
        }
    }
    out.push_str(&decoded);
    Ok(())
}

/// Decodes a modified UTF-7 name.
pub fn decode(name: &str) -> Result<String, Utf7Error> {
    decode_bytes(name.as_bytes())
}

/// A directory name decoded for display and mapping, never failing: a name
/// that is not valid mUTF-7 is kept verbatim when it is UTF-8, else with
/// each byte that is not UTF-8 written `%XX` ([`escape_non_utf8`]), and
/// the reason is returned alongside.
pub fn decode_lenient(raw: &[u8]) -> (String, Option<Utf7Error>) {
    match decode_bytes(raw) {
        Ok(s) => (s, None),
        Err(e) => (escape_non_utf8(raw), Some(e)),
    }
}

/// `raw` as text: its UTF-8 parts as they are, every byte that is not part
/// of valid UTF-8 as `%XX` (upper-case hex): `Caf\xe9` → `Caf%E9`. No byte
/// is lost or replaced by U+FFFD, so two non-UTF-8 names that differ on
/// disk stay different; a folder literally named `Caf%E9` beside `Caf\xe9`
/// would give the same name (a `%` in valid names is kept as it is, not
/// escaped, so that ordinary names never change).
pub fn escape_non_utf8(raw: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(raw.len() + 4);
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vectors() {
        // From real Kerio listings (research/kerio-store.md §1.6) and RFC 3501.
        let cases = [
            ("Cr&AOk-dit Agricole", "Crédit Agricole"),
            ("T&AOk-l&AOk-collecte", "Télécollecte"),
            ("Fraudes+Chaussures", "Fraudes+Chaussures"),
            ("R&-D", "R&D"),
            ("~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語"),
            ("Entw&APw-rfe", "Entwürfe"),
            ("&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-", "Отправленные"),
            ("&2D3eAA-", "😀"),
            ("Gel&APY-schte Elemente", "Gelöschte Elemente"),
            ("", ""),
        ];
        for (enc, dec) in cases {
            assert_eq!(decode(enc).as_deref(), Ok(dec), "decode {enc}");
            assert_eq!(encode(dec), enc, "encode {dec}");
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_percent_escaped() {
        let (name, err) = decode_lenient(b"Caf\xe9 \xff\xfe&AOk-");
        assert_eq!(name, "Caf%E9 %FF%FE&AOk-");
        assert!(err.is_some());
        assert_ne!(decode_lenient(b"\xe9").0, decode_lenient(b"\xe8").0);
        assert_eq!(escape_non_utf8("Crédit".as_bytes()), "Crédit");
    }

    #[test]
    fn malformed_is_an_error_not_a_panic() {
        for bad in [
            "&Jjo!-", "&AOk", "&A-", "&AOl-", "&2D0-", "&AGE-", "a\u{e9}b", "&&-", "&-&",
        ] {
            assert!(decode(bad).is_err(), "{bad:?} should not decode");
        }
        let (kept, err) = decode_lenient(b"&Jjo!-");
        assert_eq!(kept, "&Jjo!-");
        assert!(err.is_some());
        let (kept, err) = decode_lenient(b"caf\xe9");
        assert_eq!(kept, "caf%E9");
        assert!(matches!(err, Some(Utf7Error::RawNonAscii { offset: 3 })));
    }

    #[test]
    fn del_and_controls_are_encoded() {
        assert_eq!(encode("a\u{7f}b"), "a&AH8-b");
        assert_eq!(decode("a&AH8-b").as_deref(), Ok("a\u{7f}b"));
        assert_eq!(encode("tab\there"), "tab&AAk-here");
    }

    proptest! {
        #[test]
        fn round_trip(s in "\\PC*") {
            let e = encode(&s);
            prop_assert!(e.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            prop_assert_eq!(decode(&e), Ok(s));
        }

        #[test]
        fn round_trip_any_chars(s in proptest::collection::vec(any::<char>(), 0..40)) {
            let s: String = s.into_iter().collect();
            prop_assert_eq!(decode(&encode(&s)), Ok(s));
        }

        #[test]
        fn decode_never_panics(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_bytes(&b);
            let (kept, _) = decode_lenient(&b);
            prop_assert!(!kept.is_empty() || b.is_empty());
        }

        #[test]
        fn valid_names_survive_a_reencode(b in "[ -~]{0,30}") {
            // Adjacent sections ("&AOk-&AOk-") are accepted but re-encode as
            // one, so compare decoded values, not bytes.
            if let Ok(d) = decode(&b) {
                prop_assert_eq!(decode(&encode(&d)), Ok(d));
            }
        }
    }
}
