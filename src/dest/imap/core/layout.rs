//! The server's folder layout, read from its own words: the personal
//! namespace of `NAMESPACE` (RFC 2342), the rows of a raw `LIST` (with
//! `RETURN (SPECIAL-USE)`, RFC 6154, which io-imap cannot send), and,
//! without NAMESPACE, the prefix inferred from what LIST shows.
//!
//! Sans-I/O: the session sends the commands and hands the response text
//! here. Everything in it is untrusted: names are returned decoded (modified
//! UTF-7, or UTF-8 once `UTF8=ACCEPT` is enabled) and never interpreted
//! beyond comparison; a malformed response gives `None` / fewer rows, never
//! a panic.

use crate::mapping::SpecialUse;

/// One token of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    /// A quoted string or a literal.
    Str(Vec<u8>),
    /// An atom (`NIL`, `\Sent`, `LIST`, `*`, …).
    Atom(Vec<u8>),
    /// The end of a response line (CRLF outside a literal).
    Eol,
}

/// Splits response bytes into tokens (quoted strings with `\` escapes,
/// `{n}` literals, atoms, parentheses, line ends).
fn tokens(b: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' => i += 1,
            b'\r' => i += 1,
            b'\n' => {
                out.push(Tok::Eol);
                i += 1;
            }
            b'(' => {
                out.push(Tok::Open);
                i += 1;
            }
            b')' => {
                out.push(Tok::Close);
                i += 1;
            }
            b'"' => {
                let mut s = Vec::new();
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    s.push(b[i]);
                    i += 1;
                }
                i += 1;
                out.push(Tok::Str(s));
            }
            b'{' => {
                let end = b[i..].iter().position(|&c| c == b'}').map(|p| i + p);
                let n = end.and_then(|e| {
                    std::str::from_utf8(&b[i + 1..e])
                        .ok()
                        .map(|s| s.trim_end_matches('+'))
                        .and_then(|s| s.parse::<usize>().ok())
                });
                match (end, n) {
                    (Some(e), Some(n)) => {
                        // `}` CRLF, then n bytes.
                        let mut start = e + 1;
                        if b.get(start) == Some(&b'\r') {
                            start += 1;
                        }
                        if b.get(start) == Some(&b'\n') {
                            start += 1;
                        }
                        let stop = (start + n).min(b.len());
                        out.push(Tok::Str(b[start..stop].to_vec()));
                        i = stop;
                    }
                    _ => {
                        out.push(Tok::Atom(b"{".to_vec()));
                        i += 1;
                    }
                }
            }
            _ => {
                let start = i;
                while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\r' | b'\n' | b'(' | b')') {
                    i += 1;
                }
                out.push(Tok::Atom(b[start..i].to_vec()));
            }
        }
    }
    out
}

/// The responses of a text, one token list per line (untagged and tagged).
fn lines(b: &[u8]) -> Vec<Vec<Tok>> {
    tokens(b)
        .split(|t| *t == Tok::Eol)
        .filter(|l| !l.is_empty())
        .map(<[Tok]>::to_vec)
        .collect()
}

fn atom_is(t: Option<&Tok>, word: &str) -> bool {
    matches!(t, Some(Tok::Atom(a)) if a.eq_ignore_ascii_case(word.as_bytes()))
}

/// A name as the server sent it, decoded: UTF-8 once `UTF8=ACCEPT` is
/// enabled, else modified UTF-7 (kept verbatim when it is not valid).
pub(crate) fn decode_name(raw: &[u8], utf8: bool) -> String {
    if utf8 {
        String::from_utf8_lossy(raw).into_owned()
    } else {
        crate::mutf7::decode_lenient(raw).0
    }
}

/// The personal namespace: where the user's own folders live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Personal {
    /// The prefix as the server spells it (`INBOX.`, `""`).
    pub prefix: String,
    /// Its hierarchy delimiter.
    pub delimiter: Option<char>,
}

/// The first personal namespace of an untagged `* NAMESPACE` response
/// (RFC 2342 §5: `* NAMESPACE (("INBOX." ".")) NIL NIL`). `None` when the
/// response has none or is malformed; `NIL` personal namespaces give `None`
/// too (the server has no personal folders to speak of).
pub(crate) fn parse_namespace(resp: &[u8], utf8: bool) -> Option<Personal> {
    for l in lines(resp) {
        if !(atom_is(l.first(), "*") && atom_is(l.get(1), "NAMESPACE")) {
            continue;
        }
        // ( ( "prefix" "delim" [ext] ) ... )
        if l.get(2) != Some(&Tok::Open) || l.get(3) != Some(&Tok::Open) {
            return None;
        }
        let prefix = match l.get(4)? {
            Tok::Str(s) => decode_name(s, utf8),
            _ => return None,
        };
        let delimiter = match l.get(5)? {
            Tok::Str(s) => std::str::from_utf8(s).ok().and_then(|s| s.chars().next()),
            t if atom_is(Some(t), "NIL") => None,
            _ => return None,
        };
        return Some(Personal { prefix, delimiter });
    }
    None
}

/// One row of a LIST response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListRow {
    /// Decoded name.
    pub name: String,
    pub delimiter: Option<char>,
    /// Attributes as sent (`\HasNoChildren`, `\sent`, …).
    pub attributes: Vec<String>,
}

impl ListRow {
    /// The SPECIAL-USE of the row, whatever the case of its attribute
    /// (Cyrus sends `\sent`).
    pub fn special_use(&self) -> Option<SpecialUse> {
        self.attributes
            .iter()
            .find_map(|a| SpecialUse::from_attribute(a))
    }

    /// `\Noselect` / `\NonExistent`.
    pub fn is_noselect(&self) -> bool {
        self.attributes.iter().any(|a| {
            a.eq_ignore_ascii_case("\\Noselect") || a.eq_ignore_ascii_case("\\NonExistent")
        })
    }
}

/// The `* LIST` rows of a response (`RETURN (SPECIAL-USE)` or plain);
/// malformed rows are left out.
pub(crate) fn parse_list(resp: &[u8], utf8: bool) -> Vec<ListRow> {
    let mut out = Vec::new();
    for l in lines(resp) {
        if !(atom_is(l.first(), "*") && atom_is(l.get(1), "LIST")) {
            continue;
        }
        if l.get(2) != Some(&Tok::Open) {
            continue;
        }
        let Some(close) = l.iter().skip(3).position(|t| *t == Tok::Close) else {
            continue;
        };
        let close = close + 3;
        let attributes = l[3..close]
            .iter()
            .filter_map(|t| match t {
                Tok::Atom(a) => Some(String::from_utf8_lossy(a).into_owned()),
                _ => None,
            })
            .collect();
        let delimiter = match l.get(close + 1) {
            Some(Tok::Str(s)) => std::str::from_utf8(s).ok().and_then(|s| s.chars().next()),
            _ => None,
        };
        let name = match l.get(close + 2) {
            Some(Tok::Str(s)) | Some(Tok::Atom(s)) => decode_name(s, utf8),
            _ => continue,
        };
        out.push(ListRow {
            name,
            delimiter,
            attributes,
        });
    }
    out
}

/// How the personal prefix was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrefixSource {
    /// The server's NAMESPACE.
    Namespace,
    /// No NAMESPACE: every mailbox but INBOX is below `INBOX<delim>`.
    Inferred,
    /// No NAMESPACE and nothing to infer from: the top level.
    Assumed,
}

/// Where the user's folders go on this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The personal prefix, with its delimiter at the end (`INBOX.`), or
    /// empty.
    pub prefix: String,
    pub delimiter: Option<char>,
    pub source: PrefixSource,
}

impl Layout {
    /// From NAMESPACE when the server answered it, else inferred from the
    /// rows of `LIST "" "*"`: when mailboxes other than INBOX exist and every
    /// one of them is below `INBOX<delim>`, that is the prefix (Courier- and
    /// Cyrus-style servers without NAMESPACE).
    pub fn decide(personal: Option<Personal>, delimiter: Option<char>, list: &[ListRow]) -> Layout {
        if let Some(p) = personal {
            let delimiter = p.delimiter.or(delimiter);
            return Layout {
                prefix: p.prefix,
                delimiter,
                source: PrefixSource::Namespace,
            };
        }
        let others: Vec<&ListRow> = list
            .iter()
            .filter(|r| !r.name.eq_ignore_ascii_case("INBOX"))
            .collect();
        if let (Some(d), false) = (delimiter, others.is_empty()) {
            let p = format!("INBOX{d}");
            let below = |n: &str| {
                n.len() > p.len() && n.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(&p))
            };
            if others.iter().all(|r| below(&r.name)) {
                return Layout {
                    prefix: p,
                    delimiter,
                    source: PrefixSource::Inferred,
                };
            }
        }
        Layout {
            prefix: String::new(),
            delimiter,
            source: PrefixSource::Assumed,
        }
    }

    /// One sentence for `plan` and the report.
    pub fn describe(&self) -> String {
        let d = self
            .delimiter
            .map(|d| format!("{d:?}"))
            .unwrap_or_else(|| "none (flat)".into());
        match self.source {
            PrefixSource::Namespace if self.prefix.is_empty() => {
                format!("personal namespace at the top level (from NAMESPACE), separator {d}")
            }
            PrefixSource::Namespace => format!(
                "personal namespace {:?} (from NAMESPACE), separator {d}: folders go below it",
                self.prefix
            ),
            PrefixSource::Inferred => format!(
                "no NAMESPACE; every mailbox LIST shows is below {:?}, so folders go below it (inferred; --prefix overrides), separator {d}",
                self.prefix
            ),
            PrefixSource::Assumed => format!(
                "no NAMESPACE and nothing below INBOX to infer from: folders go to the top level (if the server refuses them there, try --prefix INBOX{}), separator {d}",
                self.delimiter.unwrap_or('.')
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_of_cyrus_courier_and_dovecot() {
        let cyrus = b"* NAMESPACE ((\"INBOX.\" \".\")) ((\"user.\" \".\")) ((\"\" \".\"))\r\nN1 OK Completed\r\n";
        assert_eq!(
            parse_namespace(cyrus, false),
            Some(Personal {
                prefix: "INBOX.".into(),
                delimiter: Some('.')
            })
        );
        let courier = b"* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\")(\"shared.\" \".\"))\r\nN1 OK NAMESPACE completed.\r\n";
        assert_eq!(
            parse_namespace(courier, false).map(|p| p.prefix),
            Some("INBOX.".into())
        );
        let dovecot = b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nN1 OK Namespace completed.\r\n";
        assert_eq!(
            parse_namespace(dovecot, false),
            Some(Personal {
                prefix: String::new(),
                delimiter: Some('/')
            })
        );
        // A literal prefix, an escaped quote, NIL personal, garbage.
        let lit = b"* NAMESPACE (({6}\r\nMail/a \"/\")) NIL NIL\r\nN1 OK\r\n";
        assert_eq!(
            parse_namespace(lit, false).map(|p| p.prefix),
            Some("Mail/a".into())
        );
        assert_eq!(
            parse_namespace(b"* NAMESPACE NIL NIL NIL\r\nN1 OK\r\n", false),
            None
        );
        assert_eq!(parse_namespace(b"* NAMESPACE ((\r\n", false), None);
        assert_eq!(parse_namespace(b"N1 BAD what\r\n", false), None);
        assert_eq!(
            parse_namespace(b"* NAMESPACE ((\"&AMQ-\" \".\")) NIL NIL\r\n", false)
                .map(|p| p.prefix),
            Some("Ä".into())
        );
    }

    #[test]
    fn list_rows_with_special_use_in_any_case() {
        let r = b"* LIST (\\HasNoChildren \\sent) \".\" INBOX.Sent\r\n\
* LIST (\\HasChildren) \".\" INBOX\r\n\
* LIST (\\Noselect \\HasChildren) \".\" \"INBOX.Say \\\"Hi\\\"\"\r\n\
* LIST (\\Trash) \"/\" {5}\r\nTr\"sh\r\n\
* LIST (\\Junk) NIL \"Party &2DzfiQ-\"\r\n\
* LIST garbage\r\n\
L1 OK Completed\r\n";
        let rows = parse_list(r, false);
        assert_eq!(rows.len(), 5, "{rows:?}");
        assert_eq!(rows[0].name, "INBOX.Sent");
        assert_eq!(rows[0].special_use(), Some(SpecialUse::Sent));
        assert_eq!(rows[0].delimiter, Some('.'));
        assert_eq!(rows[1].special_use(), None);
        assert_eq!(rows[2].name, "INBOX.Say \"Hi\"");
        assert!(rows[2].is_noselect());
        assert_eq!(rows[3].name, "Tr\"sh");
        assert_eq!(rows[3].special_use(), Some(SpecialUse::Trash));
        assert_eq!(rows[4].name, "Party 🎉");
        assert_eq!(rows[4].delimiter, None);
        // After ENABLE UTF8=ACCEPT the name is UTF-8 and '&' is itself.
        let u = parse_list("* LIST () \".\" \"INBOX.A&B 🎉\"\r\n".as_bytes(), true);
        assert_eq!(u[0].name, "INBOX.A&B 🎉");
    }

    fn row(name: &str) -> ListRow {
        ListRow {
            name: name.into(),
            delimiter: Some('.'),
            attributes: vec![],
        }
    }

    #[test]
    fn prefix_from_namespace_or_inferred_from_list() {
        let ns = Layout::decide(
            Some(Personal {
                prefix: "INBOX.".into(),
                delimiter: Some('.'),
            }),
            Some('.'),
            &[row("INBOX")],
        );
        assert_eq!(ns.prefix, "INBOX.");
        assert_eq!(ns.source, PrefixSource::Namespace);
        assert!(ns.describe().contains("from NAMESPACE"));

        let inferred = Layout::decide(
            None,
            Some('.'),
            &[row("INBOX"), row("INBOX.Sent"), row("inbox.Trash")],
        );
        assert_eq!(inferred.prefix, "INBOX.");
        assert_eq!(inferred.source, PrefixSource::Inferred);
        assert!(inferred.describe().contains("inferred"));

        let root = Layout::decide(None, Some('/'), &[row("INBOX"), row("Sent")]);
        assert_eq!(root.prefix, "");
        assert_eq!(root.source, PrefixSource::Assumed);
        let only_inbox = Layout::decide(None, Some('.'), &[row("INBOX")]);
        assert_eq!(only_inbox.source, PrefixSource::Assumed);
        assert!(only_inbox.describe().contains("--prefix INBOX."));
        // "INBOXER" is not below "INBOX.".
        let tricky = Layout::decide(None, Some('.'), &[row("INBOX"), row("INBOXER")]);
        assert_eq!(tricky.prefix, "");
    }
}
