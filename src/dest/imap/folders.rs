//! What a session learns of the server's folders before it maps any:
//! the personal namespace (NAMESPACE where offered, else inferred from
//! LIST), the mailboxes with their SPECIAL-USE (`LIST "" "*" RETURN
//! (SPECIAL-USE)` where offered: Cyrus with `specialusealways: 0` shows
//! the flags only then), and whether names go out as UTF-8 (`ENABLE
//! UTF8=ACCEPT`). The decisions are [`super::core::layout`]'s; this module
//! only sends the commands on the control connection. The sessions of
//! one account opened together ask once ([`Learned`]): the first to log
//! in sends the flight, the others take its answer.

use super::client::ImapSession;
use super::client::RawAnswer;
use super::core::layout::{parse_list, parse_namespace, Layout, ListRow};
use super::core::names::Product;
use super::error::ImapError;
use crate::mapping::TargetFolders;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The server's folders as the session saw them at the start.
#[derive(Debug, Clone)]
pub(super) struct ServerFolders {
    pub layout: Layout,
    pub rows: Vec<ListRow>,
    /// How the mailboxes were listed (for `plan`).
    pub listed_with: &'static str,
    /// The product, as the greeting names it.
    pub product: Option<Product>,
    /// The hierarchy delimiter (`LIST "" ""`), for a connection that did
    /// not ask itself.
    pub delimiter: Option<char>,
    /// INBOX's UIDVALIDITY (`None`: the server did not say).
    pub inbox_uid_validity: Option<u32>,
}

impl ServerFolders {
    /// Asks the server (on the control connection).
    pub fn learn(c: &mut ImapSession) -> Result<ServerFolders, ImapError> {
        let caps = c.capabilities().clone();
        // The delimiter, NAMESPACE and the mailboxes in one flight: one
        // round trip instead of three.
        const DELIMITER: &str = "LIST \"\" \"\"";
        const EXTENDED: &str = "LIST \"\" \"*\" RETURN (SPECIAL-USE)";
        let mut cmds = vec![("KD1", DELIMITER)];
        if caps.namespace {
            cmds.push(("KN1", "NAMESPACE"));
        }
        let extended = caps.special_use || caps.list_extended;
        if extended {
            cmds.push(("KL1", EXTENDED));
        }
        // INBOX's UIDVALIDITY (the store identity of every session) in the
        // same flight: the sessions that take this answer need not ask, and
        // INBOX is first opened by this one connection, not by every session
        // at once (Courier, whose INBOX has no UIDVALIDITY before its first
        // opening, gave two sessions opening it together two of them).
        cmds.push(("KS1", "STATUS INBOX (UIDVALIDITY)"));
        let mut answers = c.raw_flight(&cmds)?.into_iter();
        let (text, status) = next_answer(&mut answers);
        status?;
        let delimiter = parse_list(text.as_bytes(), false)
            .first()
            .and_then(|r| r.delimiter);
        c.know_delimiter(delimiter);
        let personal = if caps.namespace {
            match next_answer(&mut answers) {
                (text, Ok(())) => parse_namespace(text.as_bytes(), false),
                (_, Err(e)) => {
                    tracing::warn!("NAMESPACE: {e}; inferring the prefix from LIST");
                    None
                }
            }
        } else {
            None
        };
        let mut listed_with = "LIST \"\" \"*\"";
        let mut rows = None;
        if extended {
            match next_answer(&mut answers) {
                (text, Ok(())) => {
                    rows = Some(parse_list(text.as_bytes(), false));
                    listed_with = EXTENDED;
                }
                (_, Err(e)) => tracing::warn!("LIST RETURN (SPECIAL-USE): {e}; using a plain LIST"),
            }
        }
        let inbox_uid_validity = match next_answer(&mut answers) {
            (text, Ok(())) => uid_validity_in(&text),
            (_, Err(_)) => None,
        };
        let rows = match rows {
            Some(r) => r,
            None => c
                .list_all()?
                .into_iter()
                .map(|m| ListRow {
                    name: m.name,
                    delimiter: m.delimiter,
                    attributes: m.attributes,
                })
                .collect(),
        };
        let layout = Layout::decide(personal, delimiter, &rows);
        Ok(ServerFolders {
            layout,
            rows,
            listed_with,
            product: Product::from_greeting(c.greeting()),
            delimiter,
            inbox_uid_validity,
        })
    }

    /// What the folder mapping needs to know of the target.
    pub fn target_folders(&self) -> TargetFolders {
        let special_use = self
            .rows
            .iter()
            .filter_map(|r| r.special_use().map(|u| (u, r.name.clone())))
            .collect();
        let namespace = (!self.layout.prefix.is_empty()).then(|| self.layout.prefix.clone());
        TargetFolders {
            delimiter: self.layout.delimiter,
            special_use,
            existing: self
                .rows
                .iter()
                .filter(|r| !r.is_noselect())
                .map(|r| r.name.clone())
                .collect(),
            // Names go out in modified UTF-7 (see super::client::wire_mailbox).
            utf8: false,
            namespace,
            well_known_fallback: true,
        }
    }

    /// The namespace prefix as components (`INBOX.` → `["INBOX"]`).
    pub fn prefix_components(&self) -> Vec<String> {
        let t = self.target_folders();
        t.namespace
            .as_deref()
            .map(|n| t.split(n))
            .unwrap_or_default()
    }

    /// How many leading components of `comps` are the namespace prefix
    /// (the server's own, never substituted).
    pub fn fixed_components(&self, comps: &[String]) -> usize {
        let p = self.prefix_components();
        if comps.starts_with(&p) {
            p.len()
        } else {
            0
        }
    }

    /// Lines for `plan`: where folders go and how that was found.
    pub fn notes(&self) -> Vec<String> {
        let mut v = vec![
            self.layout.describe(),
            format!(
                "special mailboxes from {}{}",
                self.listed_with,
                match self
                    .rows
                    .iter()
                    .filter(|r| r.special_use().is_some())
                    .count()
                {
                    0 => ": none; Sent, Trash, Junk and Drafts go to their well-known names"
                        .to_string(),
                    n => format!(": {n}"),
                }
            ),
        ];
        if let Some(p) = self.product {
            v.insert(0, format!("the greeting names the server: {}", p.name()));
        }
        v
    }
}

/// The UIDVALIDITY of a `* STATUS … (UIDVALIDITY n)` answer.
fn uid_validity_in(text: &str) -> Option<u32> {
    let line = text.lines().find(|l| l.starts_with("* STATUS "))?;
    let upper = line.to_ascii_uppercase();
    let at = upper.rfind("UIDVALIDITY ")? + "UIDVALIDITY ".len();
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|v| *v > 0)
}

/// The next answer of a flight ([`ImapSession::raw_flight`] gives one a
/// command).
fn next_answer(answers: &mut impl Iterator<Item = RawAnswer>) -> RawAnswer {
    answers
        .next()
        .unwrap_or_else(|| (String::new(), Err(ImapError::Invalid("no answer".into()))))
}

/// How long a session waits for the answer another session of the account
/// is reading before it asks itself, and how long that answer serves
/// sessions that open later (a session opened much later asks again: the
/// run has created mailboxes since).
const SHARED_FOR: Duration = Duration::from_secs(30);

/// What the sessions of one account opened together learnt of the server
/// (see [`Learned::get`]); forgotten when one of them finishes.
#[derive(Default)]
pub(super) struct Learned {
    state: Mutex<LearnState>,
    answered: Condvar,
}

#[derive(Default)]
enum LearnState {
    #[default]
    Unknown,
    /// A session is asking.
    Asking,
    Known(ServerFolders, Instant),
}

impl Learned {
    /// The server's folders for a session whose control connection is
    /// `c`: the answer another session of the account got a moment ago
    /// (one flight for all of them, and one snapshot, so every session
    /// maps every folder the same way), or asked on `c` when there is none
    /// (or the session asking takes longer than `wait`).
    pub fn get(&self, c: &mut ImapSession, wait: Duration) -> Result<ServerFolders, ImapError> {
        let deadline = Instant::now() + wait.min(SHARED_FOR);
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match &*st {
                LearnState::Known(f, at) if at.elapsed() < SHARED_FOR => {
                    let f = f.clone();
                    drop(st);
                    c.know_delimiter(f.delimiter);
                    return Ok(f);
                }
                LearnState::Asking if Instant::now() < deadline => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    st = match self.answered.wait_timeout(st, left) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    };
                }
                _ => break,
            }
        }
        let mine = !matches!(*st, LearnState::Asking);
        if mine {
            *st = LearnState::Asking;
        }
        drop(st);
        let got = ServerFolders::learn(c);
        if mine {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            *st = match &got {
                Ok(f) => LearnState::Known(f.clone(), Instant::now()),
                Err(_) => LearnState::Unknown,
            };
            self.answered.notify_all();
        }
        got
    }

    /// A session of the account finished: the next one asks again.
    pub fn forget(&self) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*st, LearnState::Known(..)) {
            *st = LearnState::Unknown;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dest::imap::core::layout::PrefixSource as Source;
    use crate::mapping::{MapSource, Mapper, MappingConfig};

    /// From the server's bytes to where folders go, as a session does.
    fn folders(namespace: &[u8], list: &[u8], delimiter: char) -> ServerFolders {
        let rows = parse_list(list, false);
        ServerFolders {
            layout: Layout::decide(parse_namespace(namespace, false), Some(delimiter), &rows),
            rows,
            listed_with: "LIST",
            product: None,
            delimiter: Some(delimiter),
            inbox_uid_validity: None,
        }
    }

    fn target(f: &ServerFolders, path: &str) -> (String, MapSource) {
        let m = Mapper::new(&MappingConfig::default(), &f.target_folders());
        let r = m.map(path);
        (m.display(&r), r.how)
    }

    #[test]
    fn courier_bytes_put_every_folder_below_inbox_and_create_sent_there() {
        let f = folders(
            b"* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\"))\r\nKN1 OK NAMESPACE completed.\r\n",
            b"* LIST (\\Unmarked \\HasNoChildren) \".\" \"INBOX\"\r\nKL1 OK LIST completed\r\n",
            '.',
        );
        assert_eq!(f.layout.source, Source::Namespace);
        assert_eq!(f.prefix_components(), vec!["INBOX".to_string()]);
        assert_eq!(
            target(&f, "Sent Items"),
            ("INBOX.Sent".into(), MapSource::Special)
        );
        assert_eq!(target(&f, "Deleted Items").0, "INBOX.Trash");
        assert_eq!(target(&f, "Archiv/2019").0, "INBOX.Archiv.2019");
        assert_eq!(target(&f, "INBOX/Projects").0, "INBOX.Projects");
        assert_eq!(
            f.fixed_components(&["INBOX".into(), "Say \"Hi\"".into()]),
            1
        );
        assert!(f.notes()[1].contains("none"), "{:?}", f.notes());
    }

    #[test]
    fn cyrus_bytes_with_lower_case_special_use_find_the_servers_mailboxes() {
        let f = folders(
            b"* NAMESPACE ((\"INBOX.\" \".\")) ((\"user.\" \".\")) ((\"\" \".\"))\r\nKN1 OK Completed\r\n",
            b"* LIST (\\HasChildren) \".\" INBOX\r\n\
* LIST (\\HasNoChildren \\sent) \".\" INBOX.Gesendet\r\n\
* LIST (\\HasNoChildren \\trash) \".\" INBOX.Papierkorb\r\n\
KL1 OK Completed (0.000 secs 4 calls)\r\n",
            '.',
        );
        assert_eq!(target(&f, "Sent Items").0, "INBOX.Gesendet");
        assert_eq!(target(&f, "Deleted Items").0, "INBOX.Papierkorb");
        // No \Junk: the well-known name in the namespace.
        assert_eq!(target(&f, "Junk E-mail").0, "INBOX.Junk");
    }

    #[test]
    fn dovecot_bytes_keep_the_top_level() {
        let f = folders(
            b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nKN1 OK Namespace completed.\r\n",
            b"* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n* LIST (\\HasNoChildren) \"/\" INBOX\r\nKL1 OK List completed.\r\n",
            '/',
        );
        assert!(f.prefix_components().is_empty());
        assert_eq!(target(&f, "Sent Items").0, "Sent");
        assert_eq!(target(&f, "Archiv/2019").0, "Archiv/2019");
    }

    #[test]
    fn inbox_uid_validity_from_the_status_answer() {
        let t = "* STATUS INBOX (UIDVALIDITY 1700000123)\r\n";
        assert_eq!(uid_validity_in(t), Some(1700000123));
        let quoted = "* STATUS \"INBOX\" (uidvalidity 7)\r\n";
        assert_eq!(uid_validity_in(quoted), Some(7));
        assert_eq!(uid_validity_in("* STATUS INBOX ()\r\n"), None);
        assert_eq!(uid_validity_in("* STATUS INBOX (UIDVALIDITY 0)\r\n"), None);
        assert_eq!(uid_validity_in(""), None);
    }
}
