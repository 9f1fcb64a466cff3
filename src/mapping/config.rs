//! The mapping configuration: the TOML file (format in the [module
//! documentation](super)) and the command-line overrides.

use super::preset::{NameRules, Preset, SubfolderPolicy};
use super::{MappingError, SpecialUse};
use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One regex rule: applied to the source path (`/`-separated, decoded).
#[derive(Debug, Clone)]
pub struct Rule {
    /// The compiled pattern.
    pub pattern: Regex,
    /// The replacement (`$1`, `${1}`, `${name}` refer to capture groups).
    pub replace: String,
    /// Replace every match instead of the first.
    pub all: bool,
    /// After this rule matched, go on with the following rules on the
    /// result (imapsync's `--regextrans2` chain); by default the first
    /// matching rule is the last.
    pub chain: bool,
}

impl Rule {
    /// A rule from its pattern and replacement.
    pub fn new(pattern: &str, replace: &str) -> Result<Rule, MappingError> {
        Ok(Rule {
            pattern: Regex::new(pattern).map_err(|e| MappingError::BadRegex {
                pattern: pattern.to_string(),
                source: Box::new(e),
            })?,
            replace: replace.to_string(),
            all: false,
            chain: false,
        })
    }

    /// Applies the rule; `None` when it does not match.
    pub fn apply(&self, path: &str) -> Option<String> {
        if !self.pattern.is_match(path) {
            return None;
        }
        let out = if self.all {
            self.pattern.replace_all(path, self.replace.as_str())
        } else {
            self.pattern.replace(path, self.replace.as_str())
        };
        Some(out.into_owned())
    }
}

/// Overrides of a preset's name rules; `None` keeps the preset's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanitizeConfig {
    /// The target folds case.
    pub case_insensitive: Option<bool>,
    /// Trim and collapse whitespace in every component.
    pub collapse_whitespace: Option<bool>,
    /// Characters to replace (a string of them).
    pub replace_chars: Option<String>,
    pub replacement: Option<String>,
    /// Reserved top-level names.
    pub reserved: Option<Vec<String>>,
    /// Appended to a reserved name.
    pub reserved_suffix: Option<String>,
    /// Replaces the target's delimiter inside a component.
    pub delimiter_replacement: Option<String>,
}

/// How source folders become target mailboxes. Build it from TOML
/// ([`MappingConfig::load`], [`MappingConfig::from_toml`]) or by hand
/// (`MappingConfig::default()` maps every folder to the same path, special
/// folders to the target's special mailboxes).
#[derive(Debug, Clone)]
pub struct MappingConfig {
    /// The target preset (the command line's `--preset` overrides it).
    pub preset: Option<Preset>,
    /// Source path → target path, both `/`-separated; subfolders of a
    /// renamed folder follow it. Wins over everything.
    pub renames: BTreeMap<String, String>,
    /// Regex rules, in order.
    pub rules: Vec<Rule>,
    /// Target prefix (`Kerio/`), `/`-separated.
    pub prefix: Option<String>,
    /// Also put INBOX and its subfolders under the prefix (INBOX then
    /// becomes an ordinary folder `<prefix>/INBOX`).
    pub prefix_inbox: bool,
    /// Map Kerio's special folders to the target's special mailboxes.
    pub special_folders: bool,
    /// Treat the localized names other clients give these folders
    /// (`Gesendete Objekte`, `Éléments envoyés`, `Корзина`, …) as the same
    /// special folders, so their mail is merged with Kerio's
    /// (`--keep-localized-folders` turns it off).
    pub localized_special_folders: bool,
    /// Subfolders of special folders (`None`: the preset's choice).
    pub special_subfolders: Option<SubfolderPolicy>,
    /// More source names (top-level, compared without case) per special use.
    pub special_sources: BTreeMap<SpecialUse, Vec<String>>,
    /// Target names per special use, used when the server does not say
    /// (offline, or no SPECIAL-USE); `/`-separated.
    pub special_targets: BTreeMap<SpecialUse, String>,
    /// Folder globs to migrate (added to `--folder`).
    pub include: Vec<String>,
    /// Folder globs to leave out (added to `--exclude-folder`).
    pub exclude: Vec<String>,
    /// Name-rule overrides.
    pub sanitize: SanitizeConfig,
}

impl Default for MappingConfig {
    fn default() -> Self {
        MappingConfig {
            preset: None,
            renames: BTreeMap::new(),
            rules: Vec::new(),
            prefix: None,
            prefix_inbox: false,
            special_folders: true,
            localized_special_folders: true,
            special_subfolders: None,
            special_sources: BTreeMap::new(),
            special_targets: BTreeMap::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            sanitize: SanitizeConfig::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(rename = "match")]
    pattern: String,
    replace: String,
    #[serde(default)]
    all: bool,
    #[serde(default, rename = "continue")]
    chain: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    preset: Option<Preset>,
    prefix: Option<String>,
    #[serde(default)]
    prefix_inbox: bool,
    special_folders: Option<bool>,
    localized_special_folders: Option<bool>,
    special_subfolders: Option<SubfolderPolicy>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    rename: BTreeMap<String, String>,
    #[serde(default)]
    rule: Vec<RawRule>,
    #[serde(default)]
    special_sources: BTreeMap<SpecialUse, Vec<String>>,
    #[serde(default)]
    special_targets: BTreeMap<SpecialUse, String>,
    #[serde(default)]
    sanitize: SanitizeConfig,
}

fn bad(field: &str, reason: impl Into<String>) -> MappingError {
    MappingError::BadValue {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Splits a `/`-separated config path into components, dropping empty
/// ones at either end (`Kerio/` is `Kerio`).
pub(crate) fn split_config_path(p: &str) -> Vec<String> {
    let mut v: Vec<String> = p.split('/').map(str::to_string).collect();
    while v.first().is_some_and(String::is_empty) {
        v.remove(0);
    }
    while v.last().is_some_and(String::is_empty) {
        v.pop();
    }
    v
}

impl MappingConfig {
    /// Parses the TOML text of a mapping file.
    pub fn from_toml(text: &str) -> Result<MappingConfig, MappingError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| MappingError::Toml {
            path: None,
            message: e.to_string(),
        })?;
        let mut rules = Vec::with_capacity(raw.rule.len());
        for r in raw.rule {
            let mut rule = Rule::new(&r.pattern, &r.replace)?;
            rule.all = r.all;
            rule.chain = r.chain;
            rules.push(rule);
        }
        for (from, to) in &raw.rename {
            if split_config_path(from).is_empty() {
                return Err(bad("rename", format!("empty source path {from:?}")));
            }
            if split_config_path(to).is_empty() {
                return Err(bad(
                    "rename",
                    format!(
                        "{from:?} renamed to an empty path (use exclude to leave a folder out)"
                    ),
                ));
            }
        }
        for (u, t) in &raw.special_targets {
            if split_config_path(t).is_empty() {
                return Err(bad("special_targets", format!("{u}: empty name")));
            }
        }
        let cfg = MappingConfig {
            preset: raw.preset,
            renames: raw.rename,
            rules,
            prefix: raw.prefix,
            prefix_inbox: raw.prefix_inbox,
            special_folders: raw.special_folders.unwrap_or(true),
            localized_special_folders: raw.localized_special_folders.unwrap_or(true),
            special_subfolders: raw.special_subfolders,
            special_sources: raw.special_sources,
            special_targets: raw.special_targets,
            include: raw.include,
            exclude: raw.exclude,
            sanitize: raw.sanitize,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and parses a mapping file; errors name the file.
    pub fn load(path: &Path) -> Result<MappingConfig, MappingError> {
        let text = std::fs::read_to_string(path).map_err(|e| MappingError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        MappingConfig::from_toml(&text).map_err(|e| e.in_file(path))
    }

    /// Checks values that would make names the mapper cannot keep valid.
    pub fn validate(&self) -> Result<(), MappingError> {
        let s = &self.sanitize;
        for (field, v) in [
            ("sanitize.replacement", &s.replacement),
            ("sanitize.delimiter_replacement", &s.delimiter_replacement),
        ] {
            if let Some(v) = v {
                if v.trim().is_empty() {
                    return Err(bad(field, "must contain a visible character"));
                }
                if v.chars().any(char::is_control) {
                    return Err(bad(field, "must not contain control characters"));
                }
            }
        }
        if let (Some(rep), Some(chars)) = (&s.replacement, &s.replace_chars) {
            if rep.chars().any(|c| chars.contains(c)) {
                return Err(bad(
                    "sanitize.replacement",
                    "contains a character it is meant to replace",
                ));
            }
        }
        if let Some(p) = &self.prefix {
            if p.chars().any(char::is_control) {
                return Err(bad("prefix", "must not contain control characters"));
            }
        }
        Ok(())
    }

    /// The preset's name rules with this config's overrides.
    pub fn name_rules(&self) -> NameRules {
        let mut r = self.preset.map(Preset::rules).unwrap_or_default();
        let s = &self.sanitize;
        if let Some(v) = s.case_insensitive {
            r.case_insensitive = v;
        }
        if let Some(v) = s.collapse_whitespace {
            r.collapse_whitespace = v;
        }
        if let Some(v) = &s.replace_chars {
            r.replace_chars = v.chars().collect();
        }
        if let Some(v) = &s.replacement {
            r.replacement = v.clone();
        }
        if let Some(v) = &s.reserved {
            r.reserved = v.clone();
        }
        if let Some(v) = &s.reserved_suffix {
            r.reserved_suffix = v.clone();
        }
        if let Some(v) = &s.delimiter_replacement {
            r.delimiter_replacement = v.clone();
        }
        if let Some(p) = self.special_subfolders {
            r.special_subfolders = p;
        }
        r
    }

    /// True when nothing in it changes the plain 1:1 mapping of a target
    /// that has no special mailboxes (no preset, prefix, rename, rule,
    /// special target name or sanitising override).
    pub fn is_identity(&self) -> bool {
        self.preset.is_none()
            && self
                .prefix
                .as_deref()
                .is_none_or(|p| split_config_path(p).is_empty())
            && self.renames.is_empty()
            && self.rules.is_empty()
            && self.special_targets.is_empty()
            && self.sanitize == SanitizeConfig::default()
    }
}
