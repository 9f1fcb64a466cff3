//! Kerio's `.eml` wrapper around a groupware item (research
//! kerio-store.md §2): a few headers (Subject, Date, Content-Type,
//! Content-Transfer-Encoding) and then a vCard or an iCalendar object,
//! possibly quoted-printable or base64, possibly one part of a multipart.
//! Notes and text journal entries are plain text bodies.
//!
//! This is the only place in the exporters that uses mail-parser. The
//! transfer encoding and the charset are decoded here; a body without a
//! declared charset that is not valid UTF-8 is read as Windows-1252 (what
//! Outlook wrote), never with replacement characters.

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{MessageParser, MessagePart, MimeHeaders, PartType};

/// Why an item could not be unwrapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WrapperError {
    /// Neither headers nor a vCard / iCalendar object.
    #[error("not a MIME message and no vCard or iCalendar object")]
    NotMime,
}

/// What an item carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// vCard text (one or more cards).
    VCard(String),
    /// iCalendar text (one or more objects).
    Calendar(String),
    /// A note or text journal entry.
    Text {
        /// The Subject header, decoded.
        subject: Option<String>,
        /// The text body.
        body: String,
    },
    /// An empty file or an empty body.
    Empty,
}

/// An unwrapped item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped {
    pub payload: Payload,
    /// The Date header (RFC 3339), when parsable.
    pub date: Option<String>,
    /// The wrapper's content type of the part used (`text/x-vcard`).
    pub content_type: Option<String>,
}

const VCARD_TYPES: [&str; 3] = ["text/vcard", "text/x-vcard", "text/directory"];
const CALENDAR_TYPES: [&str; 4] = [
    "text/calendar",
    "text/x-vcalendar",
    "application/ics",
    "application/calendar",
];

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Classifies a decoded text: vCard, iCalendar, or neither.
fn classify(ct: Option<&str>, text: &str) -> Option<Payload> {
    let ct = ct.map(str::to_ascii_lowercase);
    let is_card = contains_ci(text, "BEGIN:VCARD");
    let is_cal = contains_ci(text, "BEGIN:VCALENDAR")
        || contains_ci(text, "BEGIN:VEVENT")
        || contains_ci(text, "BEGIN:VTODO")
        || contains_ci(text, "BEGIN:VJOURNAL");
    match ct.as_deref() {
        Some(t) if VCARD_TYPES.contains(&t) && is_card => Some(Payload::VCard(text.to_string())),
        Some(t) if CALENDAR_TYPES.contains(&t) && is_cal => {
            Some(Payload::Calendar(text.to_string()))
        }
        _ if is_card && starts_with_begin(text, "VCARD") => Some(Payload::VCard(text.to_string())),
        _ if is_cal && starts_with_begin(text, "") => Some(Payload::Calendar(text.to_string())),
        Some(t) if VCARD_TYPES.contains(&t) || CALENDAR_TYPES.contains(&t) => {
            // Declared as groupware but without an object: let the
            // parser report what it finds.
            if VCARD_TYPES.contains(&t) {
                Some(Payload::VCard(text.to_string()))
            } else {
                Some(Payload::Calendar(text.to_string()))
            }
        }
        _ => None,
    }
}

/// True when the first non-blank line is `BEGIN:<what>` (any `BEGIN:` when
/// `what` is empty), ignoring a BOM.
fn starts_with_begin(text: &str, what: &str) -> bool {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let Some(first) = t.lines().next() else {
        return false;
    };
    let first = first.trim_end().as_bytes();
    // Bytes, not str slices: the sixth byte may be inside a character.
    first.len() >= 6
        && first[..6].eq_ignore_ascii_case(b"BEGIN:")
        && (what.is_empty()
            || first[6..]
                .trim_ascii()
                .eq_ignore_ascii_case(what.as_bytes()))
}

/// Decodes bytes declared in no charset: UTF-8 when valid, else
/// Windows-1252.
pub fn decode_unlabelled(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => match charset_decoder(b"windows-1252") {
            Some(dec) => dec(bytes),
            None => String::from_utf8_lossy(bytes).into_owned(),
        },
    }
}

/// The decoded text of a part, with the Windows-1252 fallback when no
/// charset is declared and the bytes are not UTF-8.
fn part_text(raw: &[u8], part: &MessagePart<'_>) -> String {
    let declared = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .map(|c| c.to_string());
    let text = match &part.body {
        PartType::Text(t) | PartType::Html(t) => t.to_string(),
        PartType::Binary(b) | PartType::InlineBinary(b) => decode_unlabelled(b),
        PartType::Message(m) => decode_unlabelled(m.raw_message()),
        PartType::Multipart(_) => String::new(),
    };
    let unlabelled = declared
        .as_deref()
        .is_none_or(|c| c.eq_ignore_ascii_case("us-ascii"));
    if unlabelled && text.contains('\u{fffd}') {
        let start = part.raw_body_offset() as usize;
        let end = (part.raw_end_offset() as usize).min(raw.len());
        if start < end {
            let body = &raw[start..end];
            let cte = part
                .content_transfer_encoding()
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            let bytes = match cte.as_str() {
                "base64" => base64_decode(body),
                "quoted-printable" => quoted_printable_decode(body),
                _ => Some(body.to_vec()),
            };
            if let Some(b) = bytes {
                if std::str::from_utf8(&b).is_err() {
                    return decode_unlabelled(&b);
                }
            }
        }
    }
    text
}

fn content_type_string(part: &MessagePart<'_>) -> Option<String> {
    part.content_type().map(|ct| match &ct.c_subtype {
        Some(st) => format!("{}/{}", ct.c_type, st).to_ascii_lowercase(),
        None => ct.c_type.to_ascii_lowercase(),
    })
}

/// Unwraps an item's bytes.
pub fn unwrap(raw: &[u8]) -> Result<Unwrapped, WrapperError> {
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Unwrapped {
            payload: Payload::Empty,
            date: None,
            content_type: None,
        });
    }
    // A bare object without a wrapper (seen in hand-restored stores).
    let head = &raw[..raw.len().min(64)];
    let head_text = String::from_utf8_lossy(head);
    if starts_with_begin(&head_text, "") {
        let text = decode_unlabelled(raw);
        let payload = classify(None, &text).ok_or(WrapperError::NotMime)?;
        return Ok(Unwrapped {
            payload,
            date: None,
            content_type: None,
        });
    }
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or(WrapperError::NotMime)?;
    let date = msg.date().map(|d| d.to_rfc3339());
    let subject = msg.subject().map(str::to_string);
    // First the parts declared as vCard / iCalendar, then any text part
    // that holds an object.
    let mut fallback: Option<(String, Option<String>)> = None;
    let mut first_text: Option<String> = None;
    for pass in 0..2 {
        for part in &msg.parts {
            if matches!(part.body, PartType::Multipart(_)) {
                continue;
            }
            let ct = content_type_string(part);
            let declared = ct
                .as_deref()
                .is_some_and(|t| VCARD_TYPES.contains(&t) || CALENDAR_TYPES.contains(&t));
            if pass == 0 && !declared {
                continue;
            }
            let text = part_text(raw, part);
            if declared && text.trim().is_empty() {
                return Ok(Unwrapped {
                    payload: Payload::Empty,
                    date,
                    content_type: ct,
                });
            }
            if let Some(p) = classify(ct.as_deref(), &text) {
                return Ok(Unwrapped {
                    payload: p,
                    date,
                    content_type: ct,
                });
            }
            if pass == 1 {
                let is_text = ct.as_deref().is_none_or(|t| t.starts_with("text/"));
                if is_text && first_text.is_none() && ct.as_deref() != Some("text/html") {
                    first_text = Some(text.clone());
                }
                if fallback.is_none() && is_text {
                    fallback = Some((text, ct));
                }
            }
        }
    }
    let body = first_text.or(fallback.map(|(t, _)| t)).unwrap_or_default();
    if body.trim().is_empty() && subject.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return Ok(Unwrapped {
            payload: Payload::Empty,
            date,
            content_type: None,
        });
    }
    Ok(Unwrapped {
        payload: Payload::Text { subject, body },
        date,
        content_type: Some("text/plain".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Jürgen Müller\r\nEND:VCARD\r\n";

    #[test]
    fn plain_8bit() {
        let raw = format!(
            "Subject: x\r\nContent-Type: text/x-vcard; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{CARD}"
        );
        let u = unwrap(raw.as_bytes()).expect("unwrap");
        assert_eq!(u.payload, Payload::VCard(CARD.into()));
        assert_eq!(u.content_type.as_deref(), Some("text/x-vcard"));
    }

    #[test]
    fn quoted_printable_latin1() {
        let raw = b"Subject: x\r\nContent-Type: text/x-vcard; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:J=FCrgen M=FCller mit einem sehr langen Namen der umbrochen werden mu=\r\nss\r\nEND:VCARD\r\n";
        let u = unwrap(raw).expect("unwrap");
        let Payload::VCard(t) = u.payload else {
            panic!("not a vcard")
        };
        assert!(t.contains(
            "FN:Jürgen Müller mit einem sehr langen Namen der umbrochen werden muss\r\n"
        ));
    }

    #[test]
    fn base64_in_multipart() {
        let b64 = "QkVHSU46VkNBTEVOREFSDQpWRVJTSU9OOjIuMA0KQkVHSU46VkVWRU5UDQpVSUQ6ZTENClNVTU1BUlk6VGVybWluIMOcYmVyc2ljaHQNCkVORDpWRVZFTlQNCkVORDpWQ0FMRU5EQVINCg==";
        let raw = format!(
            "Subject: x\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: text/calendar; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
        );
        let u = unwrap(raw.as_bytes()).expect("unwrap");
        let Payload::Calendar(t) = u.payload else {
            panic!("not a calendar: {:?}", u.payload)
        };
        assert!(t.contains("SUMMARY:Termin Übersicht"));
    }

    #[test]
    fn unlabelled_windows_1252() {
        let mut raw =
            b"Subject: x\r\nContent-Type: text/x-vcard\r\n\r\nBEGIN:VCARD\r\nFN:J".to_vec();
        raw.push(0xfc);
        raw.extend_from_slice(b"rgen\r\nEND:VCARD\r\n");
        let u = unwrap(&raw).expect("unwrap");
        let Payload::VCard(t) = u.payload else {
            panic!("not a vcard")
        };
        assert!(t.contains("FN:Jürgen"), "{t}");
    }

    #[test]
    fn bare_object_and_notes_and_empty() {
        let u = unwrap(CARD.as_bytes()).expect("bare");
        assert!(matches!(u.payload, Payload::VCard(_)));
        let u = unwrap(b"Subject: Ideas\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nIdeas\r\n\r\n- Kundenbefragung f=C3=BCr Q4\r\n").expect("note");
        assert_eq!(
            u.payload,
            Payload::Text {
                subject: Some("Ideas".into()),
                body: "Ideas\r\n\r\n- Kundenbefragung für Q4\r\n".into()
            }
        );
        assert_eq!(unwrap(b"").expect("empty").payload, Payload::Empty);
        assert_eq!(unwrap(b"\r\n \n").expect("blank").payload, Payload::Empty);
    }
}
