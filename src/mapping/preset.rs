//! Target presets: what is known about Gmail, Microsoft 365 and Dovecot
//! without logging in (research/anchors.md §5 "Gmail wire facts", §6).
//!
//! A preset gives the names of the special mailboxes when the server does
//! not say (offline, or no SPECIAL-USE), the sanitising rules the server
//! needs, whether it folds case, and the limits `plan` uses offline.

use super::SpecialUse;
use std::fmt;
use std::str::FromStr;

/// A known kind of target server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Gmail / Google Workspace.
    Gmail,
    /// Microsoft 365 / Exchange Online.
    Office365,
    /// Dovecot with its default special mailboxes.
    Dovecot,
}

/// Gmail's APPENDLIMIT (observed CAPABILITY).
pub const GMAIL_APPEND_LIMIT: u64 = 35_651_584;
/// Exchange Online's 35 MB item limit for migrations, as Exchange counts
/// it (35 × 1024 × 1024 B). Not advertised over IMAP; a tenant can raise it.
pub const OFFICE365_APPEND_LIMIT: u64 = 36_700_160;
/// Gmail's IMAP upload budget per account and day (Workspace bandwidth
/// limits: "upload via IMAP 500 MB/day").
pub const GMAIL_BYTES_PER_DAY: u64 = 500_000_000;

/// What a subfolder of a special folder does when its parent maps to the
/// target's special mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubfolderPolicy {
    /// `Sent Items/2019` → `<Sent mailbox>/2019`.
    Follow,
    /// `Sent Items/2019` stays an ordinary folder `Sent Items/2019` (prefix
    /// and rules apply), for servers whose special mailboxes cannot have
    /// children (Gmail's `[Gmail]/…` system labels).
    Keep,
}

/// The name rules of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRules {
    /// The server treats `Archive` and `archive` as one mailbox.
    pub case_insensitive: bool,
    /// Trim leading and trailing whitespace and collapse runs of it to one
    /// space in every component.
    pub collapse_whitespace: bool,
    /// Characters the server refuses in names, replaced by `replacement`.
    pub replace_chars: Vec<char>,
    /// What replaces a refused character.
    pub replacement: String,
    /// Top-level names the server reserves (compared without case); a
    /// folder with such a name gets `reserved_suffix` appended.
    pub reserved: Vec<String>,
    /// Appended to a reserved top-level name.
    pub reserved_suffix: String,
    /// What replaces the target's hierarchy delimiter inside a name.
    pub delimiter_replacement: String,
    /// Subfolders of special folders.
    pub special_subfolders: SubfolderPolicy,
}

impl Default for NameRules {
    fn default() -> Self {
        NameRules {
            case_insensitive: false,
            collapse_whitespace: false,
            replace_chars: Vec::new(),
            replacement: "_".into(),
            reserved: Vec::new(),
            reserved_suffix: " (migrated)".into(),
            delimiter_replacement: "_".into(),
            special_subfolders: SubfolderPolicy::Follow,
        }
    }
}

impl Preset {
    /// All presets.
    pub const ALL: [Preset; 3] = [Preset::Gmail, Preset::Office365, Preset::Dovecot];

    /// The name used on the command line and in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Gmail => "gmail",
            Preset::Office365 => "office365",
            Preset::Dovecot => "dovecot",
        }
    }

    /// The product's name (`Gmail`, `Microsoft 365`, `Dovecot`).
    pub fn display_name(self) -> &'static str {
        match self {
            Preset::Gmail => "Gmail",
            Preset::Office365 => "Microsoft 365",
            Preset::Dovecot => "Dovecot",
        }
    }

    /// Guesses the preset from an IMAP host name (`imap.gmail.com`,
    /// `outlook.office365.com`).
    pub fn guess_from_host(host: &str) -> Option<Preset> {
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        let is = |d: &str| h == d || h.ends_with(&format!(".{d}"));
        if is("gmail.com") || is("googlemail.com") {
            Some(Preset::Gmail)
        } else if is("office365.com") || is("outlook.com") {
            Some(Preset::Office365)
        } else {
            None
        }
    }

    /// The hierarchy delimiter assumed offline (LIST gives the real one).
    pub fn delimiter(self) -> char {
        // Dovecot's Maildir++ default is '.', but the configuration this
        // project documents (and most packaged ones) set `separator = /`.
        '/'
    }

    /// Whether the server offers UTF8=ACCEPT (offline assumption).
    pub fn utf8(self) -> bool {
        matches!(self, Preset::Gmail)
    }

    /// The server's default name of a special mailbox, `/`-separated.
    /// Gmail's are `[Google Mail]/…` in some countries: online, LIST
    /// decides; offline, `[special_targets]` in the config can say.
    pub fn special_name(self, use_: SpecialUse) -> Option<&'static str> {
        use SpecialUse as S;
        match (self, use_) {
            (Preset::Gmail, S::Sent) => Some("[Gmail]/Sent Mail"),
            (Preset::Gmail, S::Trash) => Some("[Gmail]/Trash"),
            (Preset::Gmail, S::Junk) => Some("[Gmail]/Spam"),
            (Preset::Gmail, S::Drafts) => Some("[Gmail]/Drafts"),
            (Preset::Gmail, S::All) => Some("[Gmail]/All Mail"),
            (Preset::Gmail, S::Flagged) => Some("[Gmail]/Starred"),
            (Preset::Gmail, S::Archive) => None,
            (Preset::Office365, S::Sent) => Some("Sent Items"),
            (Preset::Office365, S::Trash) => Some("Deleted Items"),
            (Preset::Office365, S::Junk) => Some("Junk Email"),
            (Preset::Office365, S::Drafts) => Some("Drafts"),
            (Preset::Office365, S::Archive) => Some("Archive"),
            (Preset::Office365, _) => None,
            (Preset::Dovecot, S::Sent) => Some("Sent"),
            (Preset::Dovecot, S::Trash) => Some("Trash"),
            (Preset::Dovecot, S::Junk) => Some("Junk"),
            (Preset::Dovecot, S::Drafts) => Some("Drafts"),
            (Preset::Dovecot, S::Archive) => Some("Archive"),
            (Preset::Dovecot, _) => None,
        }
    }

    /// A warning attached to folders mapped to a special mailbox.
    pub fn special_warning(self, use_: SpecialUse) -> Option<&'static str> {
        match (self, use_) {
            (Preset::Gmail, SpecialUse::Trash | SpecialUse::Junk) => Some(
                "Gmail empties Trash and Spam after 30 days: rename this folder to keep its messages",
            ),
            _ => None,
        }
    }

    /// The name rules of this server.
    pub fn rules(self) -> NameRules {
        match self {
            Preset::Gmail => NameRules {
                case_insensitive: true,
                // "NO [CANNOT] Folder contains excess whitespace"; '^' is
                // refused (imapsync FAQ.Gmail, --gmail2).
                collapse_whitespace: true,
                replace_chars: vec!['^'],
                special_subfolders: SubfolderPolicy::Keep,
                ..NameRules::default()
            },
            Preset::Office365 => NameRules {
                case_insensitive: true,
                // "NO Folder name is reserved" (imapsync FAQ.Office365).
                reserved: vec!["Files".into()],
                ..NameRules::default()
            },
            Preset::Dovecot => NameRules::default(),
        }
    }

    /// The largest message the server accepts, when known offline.
    pub fn append_limit(self) -> Option<u64> {
        match self {
            Preset::Gmail => Some(GMAIL_APPEND_LIMIT),
            Preset::Office365 => Some(OFFICE365_APPEND_LIMIT),
            Preset::Dovecot => None,
        }
    }

    /// The server's daily upload budget per account, when it has one.
    pub fn bytes_per_day(self) -> Option<u64> {
        match self {
            Preset::Gmail => Some(GMAIL_BYTES_PER_DAY),
            _ => None,
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Preset, String> {
        match s.to_ascii_lowercase().as_str() {
            "gmail" | "google" | "workspace" => Ok(Preset::Gmail),
            "office365" | "o365" | "m365" | "microsoft365" | "exchange-online" => {
                Ok(Preset::Office365)
            }
            "dovecot" => Ok(Preset::Dovecot),
            _ => Err(format!(
                "unknown preset {s:?}: use gmail, office365 or dovecot"
            )),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Preset {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Preset, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
