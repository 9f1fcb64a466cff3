//! Folder mapping: which target mailbox each Kerio folder goes to.
//!
//! A [`Mapper`] is built from a [`MappingConfig`] (TOML file, command-line
//! overrides, preset) and a [`TargetFolders`] (what the target told us at
//! LIST time: delimiter, SPECIAL-USE mailboxes, existing names; or, offline,
//! what the preset says). [`Mapper::map`] turns a source folder path
//! (`INBOX/Projects`, as `scan` prints it) into target path components, and
//! says how ([`MapSource`]) and what it had to change (notes). [`check()`]
//! looks at all folders of an account together (merges, case clashes).
//!
//! Invariants: the order of the rules (rename, special, rule, default) is
//! the documented one (docs/mapping.md, where the TOML file is described
//! too); only components the mapper made are sanitised, never the server's
//! own names; every change to a name leaves a note.

pub mod check;
pub mod config;
pub mod preset;

pub use check::{check, IssueKind, MappedFolder, MappingIssue};
pub use config::{MappingConfig, Rule, SanitizeConfig};
pub use preset::{NameRules, Preset, SubfolderPolicy};

use config::split_config_path;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Errors of the mapping configuration.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The mapping file could not be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("{}{message}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Toml {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A rule's regex does not compile.
    #[error("rule {pattern:?}: {source}")]
    BadRegex {
        pattern: String,
        #[source]
        source: Box<regex::Error>,
    },
    /// A value is not acceptable.
    #[error("{field}: {reason}")]
    BadValue { field: String, reason: String },
}

impl MappingError {
    fn in_file(self, path: &Path) -> MappingError {
        match self {
            MappingError::Toml { message, .. } => MappingError::Toml {
                path: Some(path.to_path_buf()),
                message,
            },
            MappingError::BadRegex { pattern, source } => MappingError::BadValue {
                field: format!("{}: rule", path.display()),
                reason: format!("{pattern:?}: {source}"),
            },
            MappingError::BadValue { field, reason } => MappingError::BadValue {
                field: format!("{}: {field}", path.display()),
                reason,
            },
            e => e,
        }
    }
}

/// The use of a special mailbox (RFC 6154).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SpecialUse {
    /// `\Sent`.
    Sent,
    /// `\Trash`.
    Trash,
    /// `\Junk`.
    Junk,
    /// `\Drafts`.
    Drafts,
    /// `\Archive`.
    Archive,
    /// `\All`.
    All,
    /// `\Flagged`.
    Flagged,
}

impl SpecialUse {
    /// Every use.
    pub const ALL: [SpecialUse; 7] = [
        SpecialUse::Sent,
        SpecialUse::Trash,
        SpecialUse::Junk,
        SpecialUse::Drafts,
        SpecialUse::Archive,
        SpecialUse::All,
        SpecialUse::Flagged,
    ];

    /// From a LIST attribute: `\Sent`, `\Trash`, `\Junk`, `\Drafts`,
    /// `\Archive`, `\All`, `\Flagged`, and the XLIST spellings `\Spam`,
    /// `\AllMail`, `\Starred` (case-insensitive; the backslash optional).
    pub fn from_attribute(attr: &str) -> Option<SpecialUse> {
        let a = attr.trim_start_matches('\\').to_ascii_lowercase();
        Some(match a.as_str() {
            "sent" => SpecialUse::Sent,
            "trash" => SpecialUse::Trash,
            "junk" | "spam" => SpecialUse::Junk,
            "drafts" => SpecialUse::Drafts,
            "archive" => SpecialUse::Archive,
            "all" | "allmail" => SpecialUse::All,
            "flagged" | "starred" => SpecialUse::Flagged,
            _ => return None,
        })
    }

    /// The LIST attribute (`\Sent`).
    pub fn attribute(self) -> &'static str {
        match self {
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Archive => "\\Archive",
            SpecialUse::All => "\\All",
            SpecialUse::Flagged => "\\Flagged",
        }
    }

    /// Kerio's names for the folder of this use (research/kerio-store.md
    /// §1.8: the defaults and what IMAP clients such as Apple Mail create).
    pub fn kerio_names(self) -> &'static [&'static str] {
        match self {
            SpecialUse::Sent => &["Sent Items", "Sent Messages", "Sent"],
            SpecialUse::Trash => &["Deleted Items", "Deleted Messages", "Trash"],
            SpecialUse::Junk => &["Junk E-mail", "Junk", "Spam"],
            SpecialUse::Drafts => &["Drafts"],
            SpecialUse::Archive | SpecialUse::All | SpecialUse::Flagged => &[],
        }
    }

    /// The names IMAP clients in other languages give their own folder of
    /// this use, created beside Kerio's English one ("Duplication of
    /// default folders", Kerio Connect user guide): German, French,
    /// Spanish, Italian, Dutch, Polish, Russian, Czech, Portuguese,
    /// Japanese, Chinese. Compared without case and accents
    /// ([`fold_name`]).
    pub fn localized_names(self) -> &'static [&'static str] {
        match self {
            SpecialUse::Sent => &[
                // de
                "Gesendete Objekte",
                "Gesendete Elemente",
                "Gesendete Nachrichten",
                "Gesendet",
                // fr
                "Éléments envoyés",
                "Messages envoyés",
                "Envoyés",
                "Envoyé",
                // es
                "Elementos enviados",
                "Mensajes enviados",
                "Enviados",
                "Enviado",
                // it
                "Posta inviata",
                "Elementi inviati",
                "Inviati",
                "Inviata",
                // nl
                "Verzonden items",
                "Verzonden berichten",
                "Verzonden",
                // pl
                "Elementy wysłane",
                "Wysłane",
                // ru
                "Отправленные",
                "Отправленные элементы",
                // cs
                "Odeslaná pošta",
                "Odeslané položky",
                "Odeslané",
                // pt
                "Itens enviados",
                "Mensagens enviadas",
                // ja
                "送信済みアイテム",
                "送信済みメール",
                "送信済み",
                // zh
                "已发送邮件",
                "已发送",
                "已傳送郵件",
                "已傳送",
                "寄件備份",
            ],
            SpecialUse::Trash => &[
                "Gelöschte Objekte",
                "Gelöschte Elemente",
                "Gelöschte Nachrichten",
                "Papierkorb",
                "Éléments supprimés",
                "Messages supprimés",
                "Corbeille",
                "Elementos eliminados",
                "Mensajes eliminados",
                "Papelera",
                "Eliminados",
                "Posta eliminata",
                "Elementi eliminati",
                "Cestino",
                "Verwijderde items",
                "Verwijderde berichten",
                "Prullenbak",
                "Verwijderd",
                "Elementy usunięte",
                "Kosz",
                "Usunięte",
                "Удаленные",
                "Удаленные элементы",
                "Корзина",
                "Odstraněná pošta",
                "Odstraněné položky",
                "Koš",
                "Itens excluídos",
                "Itens eliminados",
                "Lixeira",
                "Lixo",
                "Reciclagem",
                "削除済みアイテム",
                "削除済みメール",
                "ゴミ箱",
                "ごみ箱",
                "已删除邮件",
                "已删除",
                "已刪除郵件",
                "已刪除",
                "垃圾桶",
            ],
            SpecialUse::Junk => &[
                "Junk-E-Mail",
                "Unerwünscht",
                "Unerwünschte E-Mail",
                "Courrier indésirable",
                "Indésirables",
                "Pourriels",
                "Correo no deseado",
                "Correo basura",
                "Posta indesiderata",
                "Indesiderata",
                "Ongewenste e-mail",
                "Ongewenst",
                "Wiadomości-śmieci",
                "Niechciane",
                "Нежелательная почта",
                "Спам",
                "Nevyžádaná pošta",
                "Nevyžádaná",
                "Lixo eletrónico",
                "Lixo eletrônico",
                "Correio eletrónico de lixo",
                "迷惑メール",
                "垃圾邮件",
                "垃圾郵件",
            ],
            SpecialUse::Drafts => &[
                "Entwürfe",
                "Brouillons",
                "Borradores",
                "Bozze",
                "Concepten",
                "Wersje robocze",
                "Szkice",
                "Kopie robocze",
                "Черновики",
                "Koncepty",
                "Rozepsané",
                "Rascunhos",
                "下書き",
                "草稿",
                "草稿箱",
            ],
            SpecialUse::Archive | SpecialUse::All | SpecialUse::Flagged => &[],
        }
    }

    /// Well-known target names, tried among existing mailboxes when the
    /// server has no SPECIAL-USE (imapsync `--automap` does the same).
    fn well_known_targets(self) -> &'static [&'static str] {
        match self {
            SpecialUse::Sent => &["Sent", "Sent Items", "Sent Messages", "Sent Mail"],
            SpecialUse::Trash => &["Trash", "Deleted Items", "Deleted Messages", "Bin"],
            SpecialUse::Junk => &["Junk", "Spam", "Junk Email", "Junk E-mail", "Bulk Mail"],
            SpecialUse::Drafts => &["Drafts", "Draft"],
            SpecialUse::Archive => &["Archive", "Archives"],
            SpecialUse::All | SpecialUse::Flagged => &[],
        }
    }

    fn name(self) -> &'static str {
        match self {
            SpecialUse::Sent => "sent",
            SpecialUse::Trash => "trash",
            SpecialUse::Junk => "junk",
            SpecialUse::Drafts => "drafts",
            SpecialUse::Archive => "archive",
            SpecialUse::All => "all",
            SpecialUse::Flagged => "flagged",
        }
    }
}

impl fmt::Display for SpecialUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the target has, as LIST (and NAMESPACE, ENABLE) told us, or as a
/// preset assumes offline. Names are decoded Unicode, their levels joined
/// by `delimiter`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetFolders {
    /// The hierarchy delimiter; `None` for a flat namespace.
    pub delimiter: Option<char>,
    /// Mailboxes with a SPECIAL-USE (or XLIST) attribute.
    pub special_use: Vec<(SpecialUse, String)>,
    /// Every mailbox LIST returned.
    pub existing: Vec<String>,
    /// UTF8=ACCEPT is enabled (names go as UTF-8, not modified UTF-7).
    pub utf8: bool,
    /// The personal namespace prefix from NAMESPACE (`INBOX.` on Courier
    /// and Cyrus-style servers); mailboxes outside INBOX are created below
    /// it. `None` or empty: folders live at the root.
    pub namespace: Option<String>,
    /// The server was asked for its mailboxes (LIST, with SPECIAL-USE where
    /// offered): a special use it has no mailbox for goes to the
    /// well-known name (`Sent`, `Trash`, `Junk`, `Drafts`) inside the
    /// namespace, created if missing, rather than keeping the Kerio name.
    pub well_known_fallback: bool,
}

impl TargetFolders {
    /// What is assumed without logging in: the preset's delimiter and
    /// UTF-8 support (its special names are used by the mapper as the last
    /// fallback); `/` and nothing else without a preset.
    pub fn offline(preset: Option<Preset>) -> TargetFolders {
        TargetFolders {
            delimiter: Some(preset.map(Preset::delimiter).unwrap_or('/')),
            utf8: preset.is_some_and(Preset::utf8),
            ..TargetFolders::default()
        }
    }

    /// The Maildir target: `/` between levels (Dovecot `separator = /`);
    /// any character can be stored in a name.
    pub fn maildir() -> TargetFolders {
        TargetFolders {
            delimiter: Some('/'),
            utf8: true,
            ..TargetFolders::default()
        }
    }

    /// Splits a server name into its levels (empty levels dropped).
    pub fn split(&self, name: &str) -> Vec<String> {
        match self.delimiter {
            Some(d) => name
                .split(d)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            None if name.is_empty() => Vec::new(),
            None => vec![name.to_string()],
        }
    }

    /// Joins levels with the delimiter (Unicode, for display and LIST
    /// comparisons).
    pub fn join(&self, components: &[String]) -> String {
        let mut d = [0u8; 4];
        let sep = self.delimiter.unwrap_or('/').encode_utf8(&mut d);
        components.join(sep)
    }

    /// The mailbox name as sent on the wire: joined, then modified UTF-7
    /// unless UTF8=ACCEPT is enabled. Quoting is the caller's job.
    pub fn wire_name(&self, components: &[String]) -> String {
        let joined = self.join(components);
        if self.utf8 {
            joined
        } else {
            crate::mutf7::encode(&joined)
        }
    }
}

/// How a folder's target name was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MapSource {
    /// An explicit rename (of the folder or of an ancestor).
    Rename,
    /// A regex rule.
    Rule,
    /// A special folder (or a subfolder of one) went to the target's
    /// special mailbox.
    Special,
    /// The same path under the prefix.
    Prefix,
    /// The same path.
    Default,
}

impl MapSource {
    /// Lower-case name (`rename`, `rule`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            MapSource::Rename => "rename",
            MapSource::Rule => "rule",
            MapSource::Special => "special",
            MapSource::Prefix => "prefix",
            MapSource::Default => "default",
        }
    }
}

impl fmt::Display for MapSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source folder's target mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapped {
    /// Decoded target path components, never empty, none empty, none
    /// containing the target's delimiter.
    pub components: Vec<String>,
    /// How it was chosen.
    pub how: MapSource,
    /// What was changed or should be known, one sentence each.
    pub notes: Vec<String>,
}

/// Maps source folder paths to target mailboxes. Cheap to clone; pure
/// (the same input always gives the same output).
#[derive(Debug, Clone)]
pub struct Mapper {
    config: MappingConfig,
    target: TargetFolders,
    rules: NameRules,
    /// Effective delimiter replacement (never containing the delimiter).
    delimiter_replacement: String,
    /// Effective replacement of refused characters.
    replacement: String,
    /// Effective suffix for reserved names.
    reserved_suffix: String,
    prefix: Vec<String>,
    namespace: Vec<String>,
    /// Source name ([`fold_name`]) → use, and whether the name is a
    /// localized one (another client's folder, merged with Kerio's).
    special_sources: HashMap<String, (SpecialUse, bool)>,
    /// Use → (target components, where the name came from).
    special_targets: HashMap<SpecialUse, (Vec<String>, Whence)>,
    /// Renames with `INBOX` spelled canonically in the source path.
    renames: HashMap<String, String>,
    /// Case-folded path prefix → the server's spelling of its last level.
    server_spelling: HashMap<Vec<String>, String>,
    warnings: Vec<String>,
}

/// Where a special mailbox's target name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whence {
    Server,
    Config,
    Existing,
    Preset,
    WellKnown,
}

impl Whence {
    fn describe(self) -> &'static str {
        match self {
            Whence::Server => "from the server's SPECIAL-USE",
            Whence::Config => "from [special_targets]",
            Whence::Existing => "an existing mailbox with a well-known name",
            Whence::Preset => "the preset's name",
            Whence::WellKnown => {
                "the server shows no mailbox of this use: the well-known name, created if missing"
            }
        }
    }

    /// The name is the server's own: left exactly as it is.
    fn is_servers(self) -> bool {
        matches!(self, Whence::Server | Whence::Existing)
    }
}

/// `INBOX` spelled canonically in the first level of a `/` path.
fn canonical_inbox(path: &str) -> String {
    match path.split_once('/') {
        Some((first, rest)) if is_inbox(first) => format!("INBOX/{rest}"),
        None if is_inbox(path) => "INBOX".into(),
        _ => path.to_string(),
    }
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// A folder name compared for special uses: lower case, accents and the
/// combining marks of decomposed forms dropped (`Éléments envoyés`,
/// `Elements envoyes` and a macOS client's decomposed spelling are one
/// name), Cyrillic `ё` as `е`, white space collapsed.
pub fn fold_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.to_lowercase().chars() {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue;
        }
        let base = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => 'a',
            'ç' | 'ć' | 'č' => 'c',
            'ď' => 'd',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
            'ł' => 'l',
            'ñ' | 'ń' | 'ň' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
            'ř' => 'r',
            'ś' | 'š' => 's',
            'ť' => 't',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' => 'u',
            'ý' | 'ÿ' => 'y',
            'ź' | 'ż' | 'ž' => 'z',
            'ё' => 'е',
            c => c,
        };
        out.push(base);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_inbox(s: &str) -> bool {
    s.eq_ignore_ascii_case("INBOX")
}

impl Mapper {
    /// A mapper for one target account.
    pub fn new(config: &MappingConfig, target: &TargetFolders) -> Mapper {
        let rules = config.name_rules();
        let mut warnings = Vec::new();
        let delim = target.delimiter;
        let safe = |s: &str, what: &str, warnings: &mut Vec<String>| -> String {
            let bad = s.trim().is_empty()
                || delim.is_some_and(|d| s.contains(d))
                || s.chars()
                    .any(|c| c.is_control() || rules.replace_chars.contains(&c))
                || (rules.collapse_whitespace
                    && s.split_whitespace().collect::<Vec<_>>().join(" ") != s);
            if bad {
                let fallback = if delim == Some('_') { "-" } else { "_" };
                warnings.push(format!(
                    "{what} {s:?} cannot be used on this target; using {fallback:?}"
                ));
                fallback.to_string()
            } else {
                s.to_string()
            }
        };
        let delimiter_replacement = safe(
            &rules.delimiter_replacement,
            "delimiter replacement",
            &mut warnings,
        );
        let replacement = safe(&rules.replacement, "replacement", &mut warnings);
        let suffix = &rules.reserved_suffix;
        let suffix_ok = !suffix.trim().is_empty()
            && !delim.is_some_and(|d| suffix.contains(d))
            && !suffix
                .chars()
                .any(|c| c.is_control() || rules.replace_chars.contains(&c))
            && !(rules.collapse_whitespace
                && (suffix.trim_end() != suffix
                    || format!("x{suffix}")
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        != format!("x{suffix}")));
        let reserved_suffix = if suffix_ok {
            suffix.clone()
        } else {
            let fallback = if delim == Some('_') {
                "-migrated"
            } else {
                "_migrated"
            };
            warnings.push(format!(
                "reserved suffix {suffix:?} cannot be used on this target; using {fallback:?}"
            ));
            fallback.to_string()
        };

        let prefix = config
            .prefix
            .as_deref()
            .map(split_config_path)
            .unwrap_or_default();
        let namespace = target
            .namespace
            .as_deref()
            .map(|n| target.split(n))
            .unwrap_or_default();

        let mut special_sources = HashMap::new();
        for u in SpecialUse::ALL {
            let extra = config.special_sources.get(&u).into_iter().flatten();
            for n in u
                .kerio_names()
                .iter()
                .copied()
                .chain(extra.map(String::as_str))
            {
                special_sources.entry(fold_name(n)).or_insert((u, false));
            }
        }
        if config.localized_special_folders {
            for u in SpecialUse::ALL {
                for n in u.localized_names() {
                    special_sources.entry(fold_name(n)).or_insert((u, true));
                }
            }
        }

        let mut special_targets = HashMap::new();
        for u in SpecialUse::ALL {
            let from_server = target
                .special_use
                .iter()
                .find(|(su, _)| *su == u)
                .map(|(_, n)| (target.split(n), Whence::Server));
            let from_config = config
                .special_targets
                .get(&u)
                .map(|n| (split_config_path(n), Whence::Config));
            let from_existing = u.well_known_targets().iter().find_map(|w| {
                target.existing.iter().find_map(|e| {
                    let comps = target.split(e);
                    let rel = comps.strip_prefix(namespace.as_slice()).unwrap_or(&comps);
                    (rel.len() == 1 && rel[0].eq_ignore_ascii_case(w))
                        .then(|| (comps.clone(), Whence::Existing))
                })
            });
            let from_preset = config.preset.and_then(|p| {
                p.special_name(u)
                    .map(|n| (split_config_path(n), Whence::Preset))
            });
            let from_well_known = target
                .well_known_fallback
                .then(|| u.well_known_targets().first())
                .flatten()
                .map(|n| (vec![n.to_string()], Whence::WellKnown));
            let found = from_server
                .filter(|(c, _)| !c.is_empty())
                .or(from_config)
                .or(from_existing)
                .or(from_preset)
                .or(from_well_known);
            if let Some(t) = found {
                special_targets.insert(u, t);
            }
        }

        let mut server_spelling = HashMap::new();
        if rules.case_insensitive {
            let names = target
                .existing
                .iter()
                .chain(target.special_use.iter().map(|(_, n)| n));
            for n in names {
                let comps = target.split(n);
                let mut key = Vec::with_capacity(comps.len());
                for c in comps {
                    key.push(fold(&c));
                    server_spelling.entry(key.clone()).or_insert(c);
                }
            }
        }

        let renames = config
            .renames
            .iter()
            .map(|(k, v)| (canonical_inbox(k), v.clone()))
            .collect();

        Mapper {
            renames,
            config: config.clone(),
            target: target.clone(),
            rules,
            delimiter_replacement,
            replacement,
            reserved_suffix,
            prefix,
            namespace,
            special_sources,
            special_targets,
            server_spelling,
            warnings,
        }
    }

    /// Problems with the configuration for this target (replacement
    /// strings that could not be used).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The target this mapper was built for.
    pub fn target(&self) -> &TargetFolders {
        &self.target
    }

    pub fn config(&self) -> &MappingConfig {
        &self.config
    }

    /// Whether the target folds case (from the preset or the config).
    pub fn case_insensitive(&self) -> bool {
        self.rules.case_insensitive
    }

    /// A mapped path as one name, levels joined by the target's delimiter.
    pub fn display(&self, m: &Mapped) -> String {
        self.target.join(&m.components)
    }

    /// The special use a top-level source folder name stands for, and
    /// whether it is a localized name (another client's folder).
    pub fn special_source(&self, name: &str) -> Option<(SpecialUse, bool)> {
        self.special_sources.get(&fold_name(name)).copied()
    }

    /// The target of a special use, when known.
    pub fn special_target(&self, u: SpecialUse) -> Option<&[String]> {
        self.special_targets.get(&u).map(|(c, _)| c.as_slice())
    }

    /// Maps a source folder path (`/`-separated, decoded, as `scan`
    /// prints it).
    pub fn map(&self, source_path: &str) -> Mapped {
        let comps: Vec<String> = source_path.split('/').map(str::to_string).collect();
        self.map_components(&comps)
    }

    /// Maps a source folder given by its decoded components (what
    /// [`crate::dest::MailboxSpec::components`] holds).
    pub fn map_components(&self, components: &[String]) -> Mapped {
        let path = canonical_inbox(&components.join("/"));
        let mut notes = Vec::new();

        // 1. Renames: the folder itself, else its nearest renamed ancestor.
        for n in (1..=components.len()).rev() {
            let key = canonical_inbox(&components[..n].join("/"));
            if let Some(to) = self.renames.get(&key) {
                let mut out = split_config_path(to);
                out.extend(components[n..].iter().cloned());
                if n < components.len() {
                    notes.push(format!("follows the rename of {key:?}"));
                }
                return self.finish(out, 0, MapSource::Rename, notes);
            }
        }

        // 2. Special folders.
        if self.config.special_folders {
            if let Some((u, localized)) = components
                .first()
                .and_then(|f| self.special_sources.get(&fold_name(f)).copied())
            {
                if localized {
                    notes.push(format!(
                        "{:?} is another client's localized {} folder: merged with Kerio's (keep them apart with --keep-localized-folders)",
                        components[0],
                        u.attribute()
                    ));
                }
                let rest = &components[1..];
                match self.special_targets.get(&u) {
                    Some((target, whence)) => {
                        if rest.is_empty()
                            || self.rules.special_subfolders == SubfolderPolicy::Follow
                        {
                            let mut out = target.clone();
                            let fixed = if whence.is_servers() { target.len() } else { 0 };
                            out.extend(rest.iter().cloned());
                            if rest.is_empty() {
                                notes.push(format!(
                                    "{} mailbox ({})",
                                    u.attribute(),
                                    whence.describe()
                                ));
                            } else {
                                notes.push(format!(
                                    "follows {:?} into the {} mailbox",
                                    components[0],
                                    u.attribute()
                                ));
                            }
                            if let Some(w) = self.config.preset.and_then(|p| p.special_warning(u)) {
                                notes.push(w.to_string());
                            }
                            return self.finish(out, fixed, MapSource::Special, notes);
                        }
                        notes.push(format!(
                            "subfolder of the {} folder {:?}: kept as an ordinary folder (this target's special mailboxes cannot have subfolders)",
                            u.attribute(),
                            components[0]
                        ));
                    }
                    None => {
                        notes.push(format!(
                            "no {} mailbox known on the target: keeps its Kerio name",
                            u.attribute()
                        ));
                        return self.finish(components.to_vec(), 0, MapSource::Special, notes);
                    }
                }
            }
        }

        // 3. Rules.
        let mut current = path.clone();
        let mut matched = false;
        for rule in &self.config.rules {
            if let Some(next) = rule.apply(&current) {
                current = next;
                matched = true;
                if !rule.chain {
                    break;
                }
            }
        }
        if matched {
            let out = split_config_path(&current);
            if out.is_empty() {
                notes.push(format!(
                    "the rules turned {path:?} into an empty name: mapped as if no rule matched"
                ));
            } else {
                let (out, _) = self.with_prefix(out);
                return self.finish(out, 0, MapSource::Rule, notes);
            }
        }

        // 4. Default.
        let (out, prefixed) = self.with_prefix(components.to_vec());
        let how = if prefixed {
            MapSource::Prefix
        } else {
            MapSource::Default
        };
        self.finish(out, 0, how, notes)
    }

    /// Puts a path under the prefix unless it is in INBOX's subtree (and
    /// `prefix_inbox` is off).
    fn with_prefix(&self, out: Vec<String>) -> (Vec<String>, bool) {
        if self.prefix.is_empty()
            || (!self.config.prefix_inbox && out.first().is_some_and(|f| is_inbox(f)))
        {
            return (out, false);
        }
        let mut v = self.prefix.clone();
        v.extend(out);
        (v, true)
    }

    /// Namespace, sanitising, INBOX spelling, server spelling, flat
    /// namespaces. `fixed` leading components are the server's own and
    /// left alone.
    fn finish(
        &self,
        mut out: Vec<String>,
        mut fixed: usize,
        how: MapSource,
        mut notes: Vec<String>,
    ) -> Mapped {
        if out.is_empty() {
            out.push(String::new());
        }
        if let Some(first) = out.first_mut() {
            if fixed == 0 && is_inbox(first) && first != "INBOX" {
                *first = "INBOX".into();
            }
        }
        // The personal namespace: everything but INBOX's subtree and the
        // server's own names lives below it.
        if !self.namespace.is_empty()
            && fixed == 0
            && out.first().is_some_and(|f| f != "INBOX")
            && !out.starts_with(&self.namespace)
        {
            let mut v = self.namespace.clone();
            fixed = v.len();
            v.extend(out);
            out = v;
        }
        for (i, comp) in out.iter_mut().enumerate().skip(fixed) {
            self.sanitise(comp, i == 0, &mut notes);
        }
        if self.rules.case_insensitive && !self.server_spelling.is_empty() {
            let mut key = Vec::with_capacity(out.len());
            for (i, comp) in out.iter_mut().enumerate() {
                key.push(fold(comp));
                if i < fixed {
                    continue;
                }
                if let Some(s) = self.server_spelling.get(&key) {
                    if s != comp {
                        notes.push(format!(
                            "{comp:?} takes the spelling of the existing mailbox {s:?} (the target ignores case)"
                        ));
                        *comp = s.clone();
                    }
                }
            }
        }
        if self.target.delimiter.is_none() && out.len() > 1 {
            let joined = out.join("/");
            notes.push(format!(
                "the target has no hierarchy: levels kept in one name {joined:?}"
            ));
            out = vec![joined];
        }
        Mapped {
            components: out,
            how,
            notes,
        }
    }

    fn sanitise(&self, comp: &mut String, top: bool, notes: &mut Vec<String>) {
        let orig = comp.clone();
        let mut why: Vec<&str> = Vec::new();
        let refused = |c: char| c.is_control() || self.rules.replace_chars.contains(&c);
        if comp.chars().any(refused) {
            let mut s = String::with_capacity(comp.len());
            for c in comp.chars() {
                if refused(c) {
                    s.push_str(&self.replacement);
                } else {
                    s.push(c);
                }
            }
            *comp = s;
            why.push("characters the target refuses replaced");
        }
        if self.rules.collapse_whitespace {
            let collapsed = comp.split_whitespace().collect::<Vec<_>>().join(" ");
            if collapsed != *comp {
                *comp = collapsed;
                why.push("leading, trailing or repeated whitespace removed");
            }
        }
        if let Some(d) = self.target.delimiter {
            if comp.contains(d) {
                *comp = comp.replace(d, &self.delimiter_replacement);
                why.push("the target's hierarchy delimiter replaced");
            }
        }
        if comp.is_empty() {
            comp.push_str(&self.replacement);
            why.push("empty name");
        }
        if top && self.rules.reserved.iter().any(|r| fold(r) == fold(comp)) {
            comp.push_str(&self.reserved_suffix);
            why.push("the name is reserved on the target");
        }
        if !why.is_empty() {
            notes.push(format!("{orig:?} → {comp:?}: {}", why.join(", ")));
        }
    }
}

#[cfg(test)]
mod tests;
