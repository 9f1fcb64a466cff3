//! Kerio's configuration files, `users.cfg` and `mailserver.cfg`: the
//! "tinydb" XML (research kerio-store.md §4), read as a generic tree, and
//! the few facts the source needs from them (which users exist, where the
//! archive is). The mapping of users, groups and aliases for the `users`
//! command is `export::users`, on top of this tree.
//!
//! The element names are not published, so the file is read as a generic
//! tree: containers (`<list name>`, `<table name>`, any element with a
//! `name` attribute other than `variable`) hold records (`<listitem>`,
//! `<tablerow>`) of `<variable name>` values, and a table may hold
//! variables directly. [`CfgTree::dump`] lists every container and
//! variable name with counts, never values. Invariant: nothing here keeps
//! or prints a password.

use quick_xml::events::Event;
use quick_xml::Reader;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Errors reading a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The XML is malformed.
    #[error("{path}: XML error at byte {position}: {reason}")]
    Xml {
        /// The file.
        path: PathBuf,
        /// Byte offset.
        position: u64,
        /// Why.
        reason: String,
    },
    /// The file ends before the elements it opened are closed (a copy cut
    /// short): what it holds is not the whole directory.
    #[error("{path} ends inside {inside} at byte {position}: the file is cut short")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The innermost element still open (`<list name=User>`).
        inside: String,
        /// Where it ends.
        position: u64,
    },
    /// Elements nest deeper than any Kerio file does: not read further, so
    /// that a hostile file costs bounded memory and time.
    #[error("{path}: elements nest deeper than {max} levels at byte {position}: not a Kerio configuration file")]
    TooDeep {
        /// The file.
        path: PathBuf,
        /// The limit ([`MAX_DEPTH`]).
        max: usize,
        /// Where the limit was passed.
        position: u64,
    },
}

/// How deep elements may nest. Kerio's files nest four levels
/// (`config`/`list`/`listitem`/`variable`); a few more are allowed.
pub const MAX_DEPTH: usize = 32;

impl ConfigError {
    /// The file is damaged (cut short or not a Kerio file), as opposed to
    /// unreadable.
    pub fn is_damaged(&self) -> bool {
        matches!(
            self,
            ConfigError::Truncated { .. } | ConfigError::TooDeep { .. } | ConfigError::Xml { .. }
        )
    }
}

/// Text of a file that says nothing of its encoding: UTF-8 when it is,
/// else Windows-1252 (what Kerio on Windows writes).
pub fn decode_unlabelled(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    // Windows-1252: Latin-1 except 0x80..0x9F.
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9f => HIGH[usize::from(b - 0x80)],
            b => char::from(b),
        })
        .collect()
}

/// One record: variables in document order (a name may repeat).
pub type Record = Vec<(String, String)>;

/// A container (`<list name>`, `<table name>`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Container {
    /// Element name (`list`, `table`).
    pub element: String,
    /// Its path of names (`User`, or `User/Sub` when nested).
    pub name: String,
    /// Records (`listitem`, `tablerow`).
    pub records: Vec<Record>,
    /// Variables directly inside (tables).
    pub vars: Record,
}

/// A parsed configuration file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CfgTree {
    /// The file.
    pub path: String,
    /// Containers in document order.
    pub containers: Vec<Container>,
    /// Variables outside any container.
    pub top_vars: Record,
    /// Other element names met, with counts.
    pub other_elements: BTreeMap<String, u64>,
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

impl CfgTree {
    /// Reads a file (UTF-8, else Windows-1252).
    pub fn load(path: &Path) -> Result<CfgTree, ConfigError> {
        CfgTree::load_in(&crate::source::fs::DiskFs, path)
    }

    /// [`CfgTree::load`] through `fs` (a backup read in place).
    pub fn load_in(
        fs: &dyn crate::source::fs::StoreFs,
        path: &Path,
    ) -> Result<CfgTree, ConfigError> {
        // Only a regular file is opened (a FIFO named users.cfg is refused).
        let (bytes, _) = fs.read(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = decode_unlabelled(&bytes);
        CfgTree::parse(&text, path)
    }

    /// Parses XML text.
    pub fn parse(xml: &str, path: &Path) -> Result<CfgTree, ConfigError> {
        let mut tree = CfgTree {
            path: path.display().to_string(),
            ..CfgTree::default()
        };
        let input = xml.trim_start_matches('\u{feff}');
        let input_len = input.len() as u64;
        let mut reader = Reader::from_str(input);
        let mut stack: Vec<Open> = Vec::new();
        // What each open element is, for the message of a file cut short.
        let mut opened: Vec<(String, bool)> = Vec::new();
        let mut text = String::new();
        let xml_err = |reader: &Reader<&[u8]>, e: String| ConfigError::Xml {
            path: path.to_path_buf(),
            position: reader.buffer_position(),
            reason: e,
        };
        loop {
            let ev = match reader.read_event() {
                Ok(ev) => ev,
                // An element cut in the middle (`<variable name="Dom`).
                Err(_) if reader.buffer_position() >= input_len && !opened.is_empty() => {
                    return Err(ConfigError::Truncated {
                        path: path.to_path_buf(),
                        inside: innermost(&opened),
                        position: reader.buffer_position(),
                    });
                }
                Err(e) => return Err(xml_err(&reader, e.to_string())),
            };
            match ev {
                Event::Eof => {
                    if !opened.is_empty() {
                        return Err(ConfigError::Truncated {
                            path: path.to_path_buf(),
                            inside: innermost(&opened),
                            position: reader.buffer_position(),
                        });
                    }
                    break;
                }
                Event::Start(_) | Event::Empty(_) => {
                    let is_empty = matches!(ev, Event::Empty(_));
                    let (Event::Start(e) | Event::Empty(e)) = ev else {
                        continue;
                    };
                    if !is_empty && stack.len() >= MAX_DEPTH {
                        return Err(ConfigError::TooDeep {
                            path: path.to_path_buf(),
                            max: MAX_DEPTH,
                            position: reader.buffer_position(),
                        });
                    }
                    let elem = e.name().as_ref().to_string();
                    let name_attr = e
                        .try_get_attribute("name")
                        .map_err(|er| xml_err(&reader, er.to_string()))?
                        .map(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .map(|v| v.into_owned())
                        })
                        .transpose()
                        .map_err(|er| xml_err(&reader, er.to_string()))?;
                    let name_attr_shown = name_attr.clone();
                    let lower = elem.to_ascii_lowercase();
                    let open = if lower == "variable" {
                        text.clear();
                        Open::Variable(name_attr.unwrap_or_default())
                    } else if lower == "listitem" || lower == "tablerow" {
                        let ci = stack.iter().rev().find_map(|o| match o {
                            Open::Container(i) => Some(*i),
                            _ => None,
                        });
                        match ci {
                            Some(i) => {
                                tree.containers[i].records.push(Vec::new());
                                Open::Record(i)
                            }
                            None => {
                                *tree.other_elements.entry(elem.clone()).or_default() += 1;
                                Open::Other
                            }
                        }
                    } else if let Some(n) = name_attr {
                        let parent = stack.iter().rev().find_map(|o| match o {
                            Open::Container(i) => Some(*i),
                            _ => None,
                        });
                        let full = match parent {
                            Some(p) => format!("{}/{}", tree.containers[p].name, n),
                            None => n,
                        };
                        tree.containers.push(Container {
                            element: elem.clone(),
                            name: full,
                            ..Container::default()
                        });
                        Open::Container(tree.containers.len() - 1)
                    } else {
                        if stack.is_empty() && (lower == "config" || lower == "tinydb") {
                            // The root element.
                        } else if !stack.is_empty() {
                            *tree.other_elements.entry(elem.clone()).or_default() += 1;
                        }
                        Open::Other
                    };
                    if is_empty {
                        if let Open::Variable(n) = open {
                            push_var(&mut tree, &stack, n, String::new());
                        }
                    } else {
                        opened.push(match (&open, &name_attr_shown) {
                            (Open::Container(_), Some(n)) => (format!("<{elem} name={n}>"), true),
                            _ => (format!("<{elem}>"), false),
                        });
                        stack.push(open);
                    }
                }
                Event::Text(t) => {
                    if matches!(stack.last(), Some(Open::Variable(_))) {
                        text.push_str(&t.xml10_content());
                    }
                }
                Event::CData(t) => {
                    if matches!(stack.last(), Some(Open::Variable(_))) {
                        text.push_str(&t.xml10_content());
                    }
                }
                Event::GeneralRef(r) => {
                    if matches!(stack.last(), Some(Open::Variable(_))) {
                        let resolved = if r.is_char_ref() {
                            r.resolve_char_ref().ok().flatten()
                        } else {
                            named_entity(&r.xml10_content())
                        };
                        match resolved {
                            Some(c) => text.push(c),
                            None => {
                                text.push('&');
                                text.push_str(&r.xml10_content());
                                text.push(';');
                            }
                        }
                    }
                }
                Event::End(_) => {
                    opened.pop();
                    if let Some(Open::Variable(n)) = stack.pop() {
                        let value = std::mem::take(&mut text);
                        push_var(&mut tree, &stack, n, value);
                    }
                }
                _ => {}
            }
        }
        Ok(tree)
    }

    /// The containers named `name` (case-insensitive), records chained.
    pub fn records(&self, name: &str) -> impl Iterator<Item = &Record> {
        let name = name.to_ascii_lowercase();
        self.containers
            .iter()
            .filter(move |c| c.name.to_ascii_lowercase() == name)
            .flat_map(|c| c.records.iter())
    }

    /// Every container and variable name with counts (no values).
    pub fn dump(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{}", self.path);
        for c in &self.containers {
            let _ = writeln!(
                s,
                "  {} {:?}: {} records{}",
                c.element,
                c.name,
                c.records.len(),
                if c.vars.is_empty() {
                    String::new()
                } else {
                    format!(", {} variables", c.vars.len())
                }
            );
            let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
            for r in &c.records {
                let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
                for (n, _) in r {
                    *seen.entry(n.as_str()).or_default() += 1;
                }
                for (n, k) in seen {
                    let e = counts.entry(n).or_default();
                    e.0 += 1;
                    e.1 = e.1.max(k);
                }
            }
            for (n, _) in &c.vars {
                counts.entry(n.as_str()).or_default().0 += 1;
            }
            for (n, (in_records, most)) in counts {
                let _ = writeln!(
                    s,
                    "    {n}: in {in_records}{}{}",
                    if c.records.is_empty() {
                        " (direct)"
                    } else {
                        " records"
                    },
                    if most > 1 {
                        format!(", up to {most} times in one record")
                    } else {
                        String::new()
                    }
                );
            }
        }
        if !self.top_vars.is_empty() {
            let _ = writeln!(s, "  variables outside containers:");
            for (n, _) in &self.top_vars {
                let _ = writeln!(s, "    {n}");
            }
        }
        for (e, n) in &self.other_elements {
            let _ = writeln!(s, "  other element <{e}>: {n}");
        }
        s
    }
}

/// The innermost container still open (`<list name=User>`), else the
/// innermost element.
fn innermost(opened: &[(String, bool)]) -> String {
    opened
        .iter()
        .rev()
        .find(|(_, container)| *container)
        .or(opened.last())
        .map(|(d, _)| d.clone())
        .unwrap_or_default()
}

/// An open element while parsing.
enum Open {
    Container(usize),
    Record(usize),
    Variable(String),
    Other,
}

/// Stores a variable in the innermost record, else container, else top.
fn push_var(tree: &mut CfgTree, stack: &[Open], name: String, value: String) {
    for o in stack.iter().rev() {
        match o {
            Open::Record(i) => {
                if let Some(r) = tree.containers[*i].records.last_mut() {
                    r.push((name, value));
                    return;
                }
            }
            Open::Container(i) => {
                tree.containers[*i].vars.push((name, value));
                return;
            }
            _ => {}
        }
    }
    tree.top_vars.push((name, value));
}

fn var<'a>(r: &'a Record, name: &str) -> Option<&'a str> {
    r.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The primary domain of `mailserver.cfg` (the one whose `Primary` is 1,
/// or the only one).
pub fn primary_domain(ms: &CfgTree) -> Option<String> {
    let domains: Vec<&Record> = ms.records("Domain").collect();
    domains
        .iter()
        .find(|r| var(r, "Primary") == Some("1"))
        .or(if domains.len() == 1 {
            domains.first()
        } else {
            None
        })
        .and_then(|r| var(r, "Name"))
        .map(str::to_string)
}

/// The user names `users.cfg` lists, as lower-case `name@domain` (a record
/// without a `Domain` is in `default_domain`).
pub fn user_ids(users: &CfgTree, default_domain: Option<&str>) -> BTreeSet<String> {
    users
        .records("User")
        .filter_map(|r| {
            let name = var(r, "Name")?;
            let domain = var(r, "Domain").or(default_domain)?;
            Some(format!("{name}@{domain}").to_lowercase())
        })
        .collect()
}

/// Where `mailserver.cfg` says the archive is: every non-empty variable
/// that names a directory (`…Dir`, `…Path`, `…Folder`, `…Location`) in a
/// container whose name mentions archiving, or named like `ArchiveDir`
/// anywhere; with where it was found (`table "Archive", ArchiveDir`). The
/// variable's real name is not published, hence the search.
pub fn archive_dirs(ms: &CfgTree) -> Vec<(String, String)> {
    let dirish = |n: &str| {
        let n = n.to_ascii_lowercase();
        ["dir", "path", "folder", "location"]
            .iter()
            .any(|k| n.contains(k))
    };
    let mut out = Vec::new();
    for c in &ms.containers {
        let archive_container = c.name.to_ascii_lowercase().contains("archiv");
        let vars = c.vars.iter().chain(c.records.iter().flatten());
        for (n, v) in vars {
            let archive_var = n.to_ascii_lowercase().contains("archiv");
            if (archive_container || archive_var) && dirish(n) && !v.trim().is_empty() {
                out.push((
                    format!("{} {:?}, variable {n}", c.element, c.name),
                    v.trim().to_string(),
                ));
            }
        }
    }
    for (n, v) in &ms.top_vars {
        if n.to_ascii_lowercase().contains("archiv") && dirish(n) && !v.trim().is_empty() {
            out.push((format!("variable {n}"), v.trim().to_string()));
        }
    }
    out
}

/// The store directory `mailserver.cfg` names (`StoreDir`), when it does.
pub fn store_dir(ms: &CfgTree) -> Option<String> {
    ms.containers
        .iter()
        .flat_map(|c| c.vars.iter().chain(c.records.iter().flatten()))
        .chain(ms.top_vars.iter())
        .find(|(n, v)| n.eq_ignore_ascii_case("StoreDir") && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string())
}

/// The users `users.cfg` of `install_dir` lists (lower-case
/// `name@domain`; records without a domain are in `mailserver.cfg`'s
/// primary one), or why that cannot be told (no install directory, no
/// `users.cfg`, a file that does not parse).
pub fn known_users(
    fs: &dyn crate::source::fs::StoreFs,
    install_dir: Option<&Path>,
) -> Result<BTreeSet<String>, String> {
    let dir = install_dir.ok_or("no install directory (users.cfg) found")?;
    let users_cfg = dir.join("users.cfg");
    if !fs.is_file(&users_cfg) {
        return Err(format!("{}: not found", users_cfg.display()));
    }
    let users = CfgTree::load_in(fs, &users_cfg).map_err(|e| e.to_string())?;
    let primary = CfgTree::load_in(fs, &dir.join("mailserver.cfg"))
        .ok()
        .and_then(|ms| primary_domain(&ms));
    Ok(user_ids(&users, primary.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_fallback() {
        assert_eq!(decode_unlabelled("Köln".as_bytes()), "Köln");
        assert_eq!(decode_unlabelled(b"K\xf6ln \x80 \x93x\x94"), "Köln € “x”");
    }

    #[test]
    fn a_file_cut_short_says_where_and_inside_what() {
        for xml in [
            r#"<config><list name="User"><listitem><variable name="Name">ann</variable>"#,
            r#"<config><list name="User"><listitem><variable name="Name">ann</variable><variable name="Dom"#,
        ] {
            let e = CfgTree::parse(xml, Path::new("users.cfg")).expect_err("cut short");
            assert!(
                matches!(&e, ConfigError::Truncated { inside, position, .. }
                    if inside == "<list name=User>" && *position == xml.len() as u64),
                "{e}"
            );
            assert!(e.is_damaged());
            assert!(e
                .to_string()
                .starts_with("users.cfg ends inside <list name=User> at byte "));
        }
    }

    #[test]
    fn deep_nesting_stops_at_the_limit_in_linear_time() {
        let d = 100_000;
        let xml = format!(
            "<config>{}{}</config>",
            "<list name=\"U\">".repeat(d),
            "</list>".repeat(d)
        );
        let start = std::time::Instant::now();
        let e = CfgTree::parse(&xml, Path::new("users.cfg")).expect_err("too deep");
        assert!(
            matches!(e, ConfigError::TooDeep { max: MAX_DEPTH, .. }),
            "{e}"
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        // As deep as Kerio's own files is fine.
        let ok = format!(
            "<config>{}{}</config>",
            "<list name=\"U\">".repeat(MAX_DEPTH - 1),
            "</list>".repeat(MAX_DEPTH - 1)
        );
        assert!(CfgTree::parse(&ok, Path::new("users.cfg")).is_ok());
    }

    #[test]
    fn facts_for_the_source() {
        let ms = CfgTree::parse(
            r#"<config>
  <list name="Domain">
    <listitem><variable name="Name">example.com</variable><variable name="Primary">1</variable></listitem>
    <listitem><variable name="Name">example.org</variable><variable name="Primary">0</variable></listitem>
  </list>
  <table name="Store"><variable name="StoreDir">C:\Program Files\Kerio\MailServer\store</variable></table>
  <table name="Archiving">
    <variable name="Enabled">1</variable>
    <variable name="ArchiveDir">C:\Program Files\Kerio\MailServer\store\archive</variable>
    <variable name="Path"></variable>
  </table>
</config>"#,
            Path::new("mailserver.cfg"),
        )
        .expect("parse");
        assert_eq!(primary_domain(&ms).as_deref(), Some("example.com"));
        assert_eq!(
            store_dir(&ms).as_deref(),
            Some("C:\\Program Files\\Kerio\\MailServer\\store")
        );
        assert_eq!(
            archive_dirs(&ms),
            vec![(
                "table \"Archiving\", variable ArchiveDir".to_string(),
                "C:\\Program Files\\Kerio\\MailServer\\store\\archive".to_string()
            )]
        );
        let users = CfgTree::parse(
            r#"<config><list name="User">
  <listitem><variable name="Name">Alice</variable><variable name="Domain">example.com</variable></listitem>
  <listitem><variable name="Name">bob</variable></listitem>
  <listitem><variable name="Domain">x</variable></listitem>
</list></config>"#,
            Path::new("users.cfg"),
        )
        .expect("parse");
        let ids: Vec<String> = user_ids(&users, Some("example.org")).into_iter().collect();
        assert_eq!(ids, vec!["alice@example.com", "bob@example.org"]);
        assert_eq!(user_ids(&users, None).len(), 1);
    }
}
