//! Which server this is (from its greeting), the mailbox names servers are
//! known to refuse, and the documented substitution a refused name gets.
//!
//! Known refusals (seen on the wire, `../shared/testbed/interop`):
//! - Cyrus IMAP refuses `"` and `\` in a name (`NO Invalid mailbox name`),
//!   and every other printable ASCII character outside its `GOODCHARS`
//!   (letters, digits, space and `#$'+,-.:=@^_`~`): `!`, `%`, `*`, `(`, …;
//! - Dovecot and Courier with Maildir++ storage refuse `.` inside a level
//!   ("Character not allowed");
//! - Courier refuses characters outside the Basic Multilingual Plane
//!   (emoji) in modified UTF-7 (`NO Error in IMAP command received by
//!   server.`); it accepts them as UTF-8 after `ENABLE UTF8=ACCEPT`.
//!
//! The substitution: each such character becomes `_`. It is applied only
//! after the server refused the name as it was, and the report says so.
//! Names are untrusted: nothing here does more than compare characters.

/// A server product, as its greeting names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Product {
    Cyrus,
    Courier,
    Dovecot,
}

impl Product {
    /// From the greeting text (`* OK [CAPABILITY …] localhost Cyrus IMAP
    /// 3.6.1 server ready`); `None` for a server that does not say.
    pub fn from_greeting(greeting: &str) -> Option<Product> {
        let g = greeting.to_ascii_lowercase();
        if g.contains("cyrus") {
            Some(Product::Cyrus)
        } else if g.contains("courier") {
            Some(Product::Courier)
        } else if g.contains("dovecot") {
            Some(Product::Dovecot)
        } else {
            None
        }
    }

    /// The product's name, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Product::Cyrus => "Cyrus IMAP",
            Product::Courier => "Courier-IMAP",
            Product::Dovecot => "Dovecot",
        }
    }

    /// Whether this product refuses `c` in a name (`utf8`: names go out as
    /// UTF-8 after ENABLE UTF8=ACCEPT).
    fn refuses(self, c: char, utf8: bool) -> bool {
        match self {
            Product::Cyrus => cyrus_refuses(c),
            Product::Courier => !utf8 && u32::from(c) > 0xffff,
            Product::Dovecot => false,
        }
    }
}

/// The substitution, in words (for reports and the README).
pub(crate) const SUBSTITUTION: &str =
    "'\"', '\\', '.', the other ASCII punctuation Cyrus refuses (!%*()[]{}|;<>?), characters outside the BMP and a leading '~' (Dovecot) replaced by '_'";

/// The printable ASCII characters Cyrus IMAP 3 takes in a name
/// (`GOODCHARS` of its mboxname policy; `&` starts modified UTF-7, which
/// the encoder writes as `&-` for a literal one).
const CYRUS_GOOD: &str =
    " #$'+,-.0123456789:=@ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz~&";

fn cyrus_refuses(c: char) -> bool {
    (' '..='~').contains(&c) && !CYRUS_GOOD.contains(c)
}

/// A character some server refuses, with who refuses it.
fn refused_by(c: char, utf8: bool) -> Option<&'static str> {
    match c {
        '"' | '\\' => Some("Cyrus IMAP refuses '\"' and '\\'"),
        c if cyrus_refuses(c) => {
            Some("Cyrus IMAP takes only letters, digits, space and #$'+,-.:=@^_`~ in names")
        }
        '.' => Some("Maildir++ storage (Dovecot, Courier) refuses '.' inside a level"),
        c if !utf8 && u32::from(c) > 0xffff => {
            Some("Courier-IMAP refuses characters outside the BMP (emoji) in modified UTF-7")
        }
        _ => None,
    }
}

/// The components with every character some server refuses replaced by
/// `_`, leaving the first `fixed` (the server's own namespace) alone;
/// `None` when nothing would change.
pub(crate) fn substitute(components: &[String], fixed: usize, utf8: bool) -> Option<Vec<String>> {
    let out: Vec<String> = components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < fixed {
                c.clone()
            } else {
                c.chars()
                    .enumerate()
                    .map(|(k, ch)| {
                        // Dovecot refuses a name that begins with `~`
                        // (a home directory to its file system).
                        if refused_by(ch, utf8).is_some() || (k == 0 && ch == '~') {
                            '_'
                        } else {
                            ch
                        }
                    })
                    .collect()
            }
        })
        .collect();
    (out != components).then_some(out)
}

/// What `plan` says about a name before anything is created: `None` when
/// no known server refuses it. With the product known, whether this server
/// refuses it ("is refused by Cyrus IMAP") or not at all; otherwise that
/// it may be refused, and the name it would then get: `named` gives the
/// substitute's name as `migrate` will create it (numbered when another
/// folder has it), and is called only when a warning is given.
pub(crate) fn predict(
    components: &[String],
    fixed: usize,
    utf8: bool,
    product: Option<Product>,
    named: &mut dyn FnMut(&[String]) -> String,
) -> Option<String> {
    let alt = substitute(components, fixed, utf8)?;
    let chars: Vec<char> = components
        .iter()
        .skip(fixed)
        .flat_map(|c| c.chars())
        .collect();
    let tilde = components.iter().skip(fixed).any(|c| c.starts_with('~'));
    let mut joined = || named(&alt);
    match product {
        Some(p) if chars.iter().any(|&c| p.refuses(c, utf8)) => Some(format!(
            "{} refuses this name: it will be created as {:?}",
            p.name(),
            joined()
        )),
        Some(Product::Dovecot) if tilde => Some(format!(
            "Dovecot refuses a name that begins with '~': it will be created as {:?}",
            joined()
        )),
        // Dovecot refuses '.' only with Maildir++ storage.
        Some(Product::Dovecot) if chars.contains(&'.') => Some(format!(
            "may be refused (Dovecot with Maildir++ storage refuses '.' inside a level); if it is, it is created as {:?}",
            joined()
        )),
        Some(_) => None,
        None => {
            // '.' alone is no reason to warn about a server we do not know
            // (most take it); the others are refused by a known server.
            let mut why: Vec<&str> = chars
                .iter()
                .filter(|&&c| c != '.')
                .filter_map(|&c| refused_by(c, utf8))
                .collect();
            if tilde {
                why.push("Dovecot refuses a name that begins with '~'");
            }
            why.sort_unstable();
            why.dedup();
            (!why.is_empty()).then(|| {
                format!(
                    "may be refused by the server ({}); if it is, it is created as {:?}",
                    why.join("; "),
                    joined()
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn products_from_their_greetings() {
        let cyrus = "* OK [CAPABILITY IMAP4rev1 LITERAL+ ID ENABLE AUTH=PLAIN] localhost Cyrus IMAP 3.6.1-Debian-3.6.1-4+deb12u5 server ready\r\n";
        assert_eq!(Product::from_greeting(cyrus), Some(Product::Cyrus));
        let courier = "* OK [CAPABILITY IMAP4rev1 UIDPLUS CHILDREN NAMESPACE] Courier-IMAP ready. Copyright 1998-2019 Double Precision, Inc.\r\n";
        assert_eq!(Product::from_greeting(courier), Some(Product::Courier));
        assert_eq!(
            Product::from_greeting("* OK [CAPABILITY IMAP4rev1] Dovecot (Debian) ready."),
            Some(Product::Dovecot)
        );
        assert_eq!(Product::from_greeting("* OK IMAP ready"), None);
    }

    #[test]
    fn a_leading_tilde_becomes_an_underscore() {
        assert_eq!(
            substitute(&v(&["~tilde", "a~b"]), 0, false),
            Some(v(&["_tilde", "a~b"]))
        );
        assert_eq!(substitute(&v(&["a~b"]), 0, false), None);
    }

    #[test]
    fn refused_characters_become_underscores_outside_the_namespace() {
        assert_eq!(
            substitute(&v(&["INBOX", "Say \"Hello\""]), 1, false),
            Some(v(&["INBOX", "Say _Hello_"]))
        );
        assert_eq!(
            substitute(&v(&["Back\\slash", "a.b"]), 0, false),
            Some(v(&["Back_slash", "a_b"]))
        );
        assert_eq!(
            substitute(&v(&["INBOX", "Party 🎉"]), 1, false),
            Some(v(&["INBOX", "Party _"]))
        );
        // As UTF-8, emoji go through.
        assert_eq!(substitute(&v(&["INBOX", "Party 🎉"]), 1, true), None);
        assert_eq!(
            substitute(&v(&["INBOX", "Tom & Jerry", "Ä"]), 1, false),
            None
        );
        assert_eq!(
            substitute(&v(&["INBOX", "Bad&Jjo!-Name"]), 1, false),
            Some(v(&["INBOX", "Bad&Jjo_-Name"]))
        );
        assert_eq!(
            substitute(&v(&["a/b (1)"]), 0, false),
            Some(v(&["a_b _1_"]))
        );
    }

    #[test]
    fn plan_predicts_per_product_or_says_may() {
        let say = v(&["INBOX", "Say \"Hello\""]);
        let p = predict(&say, 1, false, Some(Product::Cyrus), &mut by('.')).expect("cyrus");
        assert!(p.starts_with("Cyrus IMAP refuses this name"), "{p}");
        assert!(p.contains("\"INBOX.Say _Hello_\""), "{p}");
        assert_eq!(
            predict(&say, 1, false, Some(Product::Courier), &mut by('.')),
            None
        );
        let party = v(&["INBOX", "Party 🎉"]);
        assert!(
            predict(&party, 1, false, Some(Product::Courier), &mut by('.'))
                .is_some_and(|p| p.contains("Courier-IMAP refuses this name"))
        );
        assert_eq!(
            predict(&party, 1, true, Some(Product::Courier), &mut by('.')),
            None
        );
        let unknown = predict(&say, 1, false, None, &mut by('/')).expect("unknown");
        assert!(unknown.starts_with("may be refused"), "{unknown}");
        assert_eq!(
            predict(&v(&["INBOX", "Plain"]), 1, false, None, &mut by('/')),
            None
        );
        let dotted = v(&["ivan.ivanov"]);
        assert_eq!(predict(&dotted, 0, false, None, &mut by('/')), None);
        assert_eq!(
            predict(&dotted, 0, false, Some(Product::Cyrus), &mut by('/')),
            None
        );
        assert!(
            predict(&dotted, 0, false, Some(Product::Dovecot), &mut by('/'))
                .is_some_and(|p| p.contains("Maildir++") && p.contains("\"ivan_ivanov\""))
        );
        // A leading '~' (Dovecot: "Begins with ~") is predicted too.
        let tilde = v(&["~tilde"]);
        assert!(
            predict(&tilde, 0, false, Some(Product::Dovecot), &mut by('/'))
                .is_some_and(|p| p.contains("begins with '~'") && p.contains("\"_tilde\""))
        );
        assert!(predict(&tilde, 0, false, None, &mut by('/'))
            .is_some_and(|p| p.starts_with("may be refused") && p.contains("'~'")));
        // The name printed is the one the caller says migrate will use.
        let p = predict(&say, 1, false, Some(Product::Cyrus), &mut |_| "X_2".into());
        assert!(p.is_some_and(|p| p.contains("\"X_2\"")));
    }

    fn by(d: char) -> impl FnMut(&[String]) -> String {
        move |c| c.join(&d.to_string())
    }
}
