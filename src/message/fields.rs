//! The header fields the header parser needs, cut out of a normalised
//! header as mail-parser's header loop delimits the fields, so that the
//! parser walks only those (walking every field byte by byte was a sixth
//! of `scan`'s instructions).
//!
//! mail-parser's loop, reproduced: at a field's start it skips white space
//! (an LF there ends the header); the name runs to the first `:` after a
//! non-space byte, its key being its non-space bytes lower-cased (a line
//! end before that makes the line no field at all); a field it does not
//! parse ends after the first LF not followed by a space or a tab. The
//! fields it parses end there too, unless the field's parser reads on (an
//! obsolete time zone after a date is read with the two bytes after it):
//! [`Kept::ends`] says where each kept field must end for the cut to be
//! exact, and the caller parses the whole header when one does not.

/// The kept fields, one after the other, each with its final line end.
#[derive(Debug, Default)]
pub(super) struct Kept {
    /// The fields' bytes and, after them, an empty line.
    pub bytes: Vec<u8>,
    /// Where each field ends in `bytes`.
    pub ends: Vec<usize>,
    /// Where the last field of the whole header (kept or not) ended in
    /// the input (0: none).
    pub last_end: usize,
}

/// mail-parser's longest header-name key (longer ones are `Other`).
const MAX_KEY: usize = 34;

/// The fields of normalised `bytes` called Date, Resent-Date, Message-ID
/// (and Received, with `received`), as mail-parser's loop delimits them.
/// `None` when the bytes end inside a field (not normalised data): the
/// caller parses them whole.
pub(super) fn kept(bytes: &[u8], received: bool) -> Option<Kept> {
    let n = bytes.len();
    let mut k = Kept::default();
    let mut i = 0;
    loop {
        while i < n && matches!(bytes[i], b' ' | b'\t' | b'\r' | 0x0c) {
            i += 1;
        }
        if i >= n || bytes[i] == b'\n' {
            break;
        }
        let start = i;
        let mut key = [0u8; MAX_KEY];
        let mut len = 0usize;
        let mut named = false;
        loop {
            let c = *bytes.get(i)?;
            i += 1;
            match c {
                b':' if len > 0 => {
                    named = true;
                    break;
                }
                b':' => {}
                b'\n' => break,
                c if c.is_ascii_whitespace() => {}
                c => {
                    if let Some(slot) = key.get_mut(len) {
                        *slot = c.to_ascii_lowercase();
                    }
                    len += 1;
                }
            }
        }
        if !named {
            continue;
        }
        // The value: to the first LF not followed by a space or a tab.
        loop {
            i += memchr::memchr(b'\n', &bytes[i..])? + 1;
            if !matches!(bytes.get(i), Some(b' ' | b'\t')) {
                break;
            }
        }
        k.last_end = i;
        let wanted = match key.get(..len) {
            Some(b"date" | b"resent-date" | b"message-id") => true,
            Some(b"received") => received,
            _ => false,
        };
        if wanted {
            k.bytes.extend_from_slice(&bytes[start..i]);
            k.ends.push(k.bytes.len());
        }
    }
    k.bytes.extend_from_slice(b"\r\n");
    Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_fields_the_parser_needs_as_its_loop_cuts_them() {
        let h = b"From someone\r\nSubject: x\r\n y\r\nDATE : Tue,\r\n\t1 Jul 2003\r\n\
Message-ID: <a@b>\r\nReceived: from a\r\nX: z\r\n\r\nDate: body\r\n";
        let k = kept(h, false).expect("normalised");
        assert_eq!(
            k.bytes,
            b"DATE : Tue,\r\n\t1 Jul 2003\r\nMessage-ID: <a@b>\r\n\r\n".to_vec()
        );
        assert_eq!(k.ends, vec![26, 45]);
        assert_eq!(k.last_end, h.len() - 14);
        let k = kept(h, true).expect("normalised");
        assert!(k.bytes.ends_with(b"Received: from a\r\n\r\n"));
        // A line without a colon is no field; a name split by white space
        // is still its key; a field cut off by the end is left to the parser.
        let k = kept(b"junk\r\nMess age-ID: <c@d>\r\n", false).expect("normalised");
        assert_eq!(k.bytes, b"Mess age-ID: <c@d>\r\n\r\n".to_vec());
        assert!(kept(b"Date: x", false).is_none());
    }
}
