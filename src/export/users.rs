//! The user directory: `users.cfg` (users, groups, aliases) and
//! `mailserver.cfg` (domains), Kerio's "tinydb" XML (research
//! kerio-store.md §4).
//!
//! The files are read as a generic tree ([`CfgTree`], which lives with the
//! rest of the Kerio reader in `source::kerio::config`). The names we know
//! are then mapped: lists `User`, `Group`, `Alias`, `Domain`; variables `Name`,
//! `Domain`, `FullName`, `Description`, `MailAddress`, `Groups`,
//! `Password`, `Enabled`, `DeliverTo`, `Primary`, `Aliases`. Everything
//! else is kept in `other` for the JSON output (secrets left out).
//!
//! Passwords: `D3S:` is Kerio's reversible scrambling (decrypted only with
//! `--decrypt-passwords`), `SHA:` a one-way PBKDF2-HMAC-SHA1, `NUL:` empty.
//! Values are never printed unless `--show-passwords`.

pub use crate::source::kerio::config::{CfgTree, ConfigError, Container, Record};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Errors reading the user directory.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// The file could not be read or parsed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No users.cfg where one was expected.
    #[error("{path}: no users.cfg there (give the Kerio install directory or the file)")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
}

/// What kind of password a value holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PasswordKind {
    /// No Password variable (e.g. directory-service accounts).
    #[default]
    None,
    /// `NUL:`: empty.
    Empty,
    /// `D3S:`: Kerio's reversible scrambling.
    ReversibleD3s,
    /// `SHA:`: one-way PBKDF2-HMAC-SHA1.
    OneWayPbkdf2Sha1,
    /// Anything else.
    Unknown,
}

impl PasswordKind {
    /// Classifies a stored value.
    pub fn of(value: Option<&str>) -> PasswordKind {
        let Some(v) = value.map(str::trim) else {
            return PasswordKind::None;
        };
        let upper = v.get(..4).map(str::to_ascii_uppercase).unwrap_or_default();
        match upper.as_str() {
            "NUL:" => PasswordKind::Empty,
            "D3S:" => PasswordKind::ReversibleD3s,
            "SHA:" => PasswordKind::OneWayPbkdf2Sha1,
            _ if v.is_empty() => PasswordKind::Empty,
            _ => PasswordKind::Unknown,
        }
    }

    /// How reports name it.
    pub fn describe(self) -> &'static str {
        match self {
            PasswordKind::None => "none",
            PasswordKind::Empty => "empty",
            PasswordKind::ReversibleD3s => "reversible (D3S)",
            PasswordKind::OneWayPbkdf2Sha1 => "one-way PBKDF2-SHA1",
            PasswordKind::Unknown => "unknown format",
        }
    }
}

/// The DES key of Kerio's D3S scrambling: 3DES-EDE whose second and third
/// keys are equal, so it reduces to single DES with the first key
/// (openwall/john `doc/Auditing-Kerio-Connect.md`).
const D3S_KEY: [u8; 8] = [0x61, 0xd0, 0xe5, 0x49, 0x54, 0x73, 0x3b, 0x80];

/// Decrypts a `D3S:<hex>` value: DES-ECB over the blocks after the first,
/// the first two bytes of the first decrypted block dropped, trailing
/// padding (NUL / PKCS#7-like bytes below 0x20) removed.
pub fn decrypt_d3s(value: &str) -> Option<String> {
    decrypt_d3s_checked(value).ok()
}

/// [`decrypt_d3s`], saying why a value cannot be decrypted. Any length of
/// whole 8-byte blocks is accepted (48 hex digits for short passwords, 96
/// and more for long ones).
pub fn decrypt_d3s_checked(value: &str) -> Result<String, String> {
    use des::cipher::generic_array::GenericArray;
    use des::cipher::{BlockDecrypt, KeyInit};
    let v = value.trim();
    let hex = match v.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("D3S:") => &v[4..],
        _ => return Err("not a D3S: value".into()),
    };
    if hex.len() % 16 != 0 || hex.len() < 32 {
        return Err(format!(
            "{} hex digits: not two or more whole 8-byte blocks",
            hex.len()
        ));
    }
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()
        .ok_or("not hexadecimal")?;
    let cipher = des::Des::new_from_slice(&D3S_KEY).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (i, chunk) in bytes.chunks(8).enumerate().skip(1) {
        let mut block = GenericArray::clone_from_slice(chunk);
        cipher.decrypt_block(&mut block);
        if i == 1 {
            out.extend_from_slice(&block[2..]);
        } else {
            out.extend_from_slice(&block);
        }
    }
    while out.last().is_some_and(|&b| b < 0x20) {
        out.pop();
    }
    String::from_utf8(out).map_err(|_| "the decrypted bytes are not UTF-8 text".to_string())
}

/// A user.
#[derive(Debug, Clone, Default, Serialize)]
pub struct User {
    /// Login name.
    pub name: String,
    pub domain: String,
    /// `name@domain`.
    pub email: String,
    pub full_name: String,
    pub description: String,
    /// Every address (primary first), full form.
    pub addresses: Vec<String>,
    /// The same addresses in the domain's alias domains (mailserver.cfg: a
    /// domain whose mail is stored in this one's mailboxes): address
    /// aliases on the new system (Google: secondary domain aliases,
    /// Microsoft 365: proxy addresses).
    pub alias_domain_addresses: Vec<String>,
    /// A built-in account (the administrator the installer creates), left
    /// out of the migration lists unless asked.
    pub builtin: bool,
    /// Group names.
    pub groups: Vec<String>,
    /// Enabled (`Enabled` variable), when present.
    pub enabled: Option<bool>,
    pub password_kind: PasswordKind,
    /// The stored value; filled only with `--show-passwords`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_stored: Option<String>,
    /// The clear text; filled only with `--show-passwords --decrypt-passwords`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_plain: Option<String>,
    /// Why a D3S value could not be decrypted (with `--decrypt-passwords`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_problem: Option<String>,
    /// Every other variable (password-like ones left out).
    pub other: BTreeMap<String, Vec<String>>,
}

/// A group.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Group {
    pub name: String,
    pub domain: String,
    pub description: String,
    pub addresses: Vec<String>,
    /// Members (`user@domain`), from the users' `Groups`.
    pub members: Vec<String>,
    /// Other variables.
    pub other: BTreeMap<String, Vec<String>>,
}

/// An alias.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Alias {
    /// `name@domain`.
    pub address: String,
    /// Where it delivers.
    pub deliver_to: Vec<String>,
    pub description: String,
    /// Other variables.
    pub other: BTreeMap<String, Vec<String>>,
}

/// A domain (from `mailserver.cfg`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Domain {
    pub name: String,
    /// Primary domain.
    pub primary: bool,
    /// Alias domains.
    pub aliases: Vec<String>,
    pub description: String,
}

/// Everything mapped.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Directory {
    /// Mailboxes in the store that users.cfg does not list (a deleted
    /// user's folder kept in the store), `user@domain`; filled by the
    /// caller from the store.
    pub orphans: Vec<String>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub aliases: Vec<Alias>,
    pub domains: Vec<Domain>,
    /// Container names not mapped (see `--dump`).
    pub unmapped: Vec<String>,
}

fn get<'a>(r: &'a Record, name: &str) -> Option<&'a str> {
    r.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn all<'a>(r: &'a Record, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    r.iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Splits a list value on `;`, `,` and white space.
pub fn split_list(v: &str) -> Vec<String> {
    v.split([';', ',', ' ', '\t', '\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn full_address(a: &str, domain: &str) -> String {
    if a.contains('@') || domain.is_empty() {
        a.to_string()
    } else {
        format!("{a}@{domain}")
    }
}

fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("password") || n.contains("secret") || n.contains("pin")
}

fn others(r: &Record, known: &[&str]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (n, v) in r {
        if known.iter().any(|k| k.eq_ignore_ascii_case(n)) || is_secret(n) {
            continue;
        }
        m.entry(n.clone()).or_default().push(v.clone());
    }
    m
}

/// Options of the mapping.
#[derive(Debug, Clone, Copy, Default)]
pub struct MapOptions {
    /// Keep stored password values.
    pub show_passwords: bool,
    /// Decrypt D3S values (with `show_passwords`).
    pub decrypt_passwords: bool,
}

/// The built-in administrator's name: `BuiltInAdminUsername` of
/// mailserver.cfg, else Kerio's default `Admin` (a user every install has,
/// as the tools that read users.cfg found).
fn builtin_admin(mailserver: Option<&CfgTree>) -> String {
    mailserver
        .and_then(|ms| {
            ms.containers
                .iter()
                .flat_map(|c| c.vars.iter().chain(c.records.iter().flatten()))
                .find(|(n, v)| {
                    n.eq_ignore_ascii_case("BuiltInAdminUsername") && !v.trim().is_empty()
                })
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "Admin".to_string())
}

impl Directory {
    /// Maps `users.cfg` (and `mailserver.cfg`).
    pub fn map(users: &CfgTree, mailserver: Option<&CfgTree>, opts: MapOptions) -> Directory {
        let mut d = Directory::default();
        if let Some(ms) = mailserver {
            for r in ms.records("Domain") {
                d.domains.push(Domain {
                    name: get(r, "Name").unwrap_or_default().to_string(),
                    primary: get(r, "Primary").is_some_and(|v| v.trim() == "1"),
                    aliases: all(r, "Aliases").flat_map(split_list).collect(),
                    description: get(r, "Description").unwrap_or_default().to_string(),
                });
            }
        }
        let default_domain = d
            .domains
            .iter()
            .find(|x| x.primary)
            .or(if d.domains.len() == 1 {
                d.domains.first()
            } else {
                None
            })
            .map(|x| x.name.clone())
            .unwrap_or_default();
        let domain_of = |r: &Record| {
            get(r, "Domain")
                .map(str::to_string)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| default_domain.clone())
        };
        let admin = builtin_admin(mailserver);
        for r in users.records("User") {
            let name = get(r, "Name").unwrap_or_default().to_string();
            let domain = domain_of(r);
            let email = full_address(&name, &domain);
            let mut addresses = vec![email.clone()];
            for a in all(r, "MailAddress").flat_map(split_list) {
                let full = full_address(&a, &domain);
                if !addresses.iter().any(|x| x.eq_ignore_ascii_case(&full)) {
                    addresses.push(full);
                }
            }
            let stored = get(r, "Password");
            let kind = PasswordKind::of(stored);
            let mut password_problem = None;
            let plain = match kind {
                PasswordKind::Empty if opts.show_passwords => Some(String::new()),
                PasswordKind::ReversibleD3s if opts.show_passwords && opts.decrypt_passwords => {
                    match stored.map(decrypt_d3s_checked) {
                        Some(Ok(p)) => Some(p),
                        Some(Err(e)) => {
                            password_problem = Some(format!("cannot decrypt: {e}"));
                            None
                        }
                        None => None,
                    }
                }
                _ => None,
            };
            let mut alias_domain_addresses = Vec::new();
            for alias in d
                .domains
                .iter()
                .filter(|x| x.name.eq_ignore_ascii_case(&domain))
                .flat_map(|x| x.aliases.iter())
            {
                for a in &addresses {
                    if let Some((local, dom)) = a.rsplit_once('@') {
                        if dom.eq_ignore_ascii_case(&domain) {
                            alias_domain_addresses.push(format!("{local}@{alias}"));
                        }
                    }
                }
            }
            d.users.push(User {
                builtin: name.eq_ignore_ascii_case(&admin),
                alias_domain_addresses,
                email,
                full_name: get(r, "FullName").unwrap_or_default().to_string(),
                description: get(r, "Description").unwrap_or_default().to_string(),
                addresses,
                groups: all(r, "Groups").flat_map(split_list).collect(),
                enabled: get(r, "Enabled").map(|v| v.trim() != "0"),
                password_kind: kind,
                password_stored: if opts.show_passwords {
                    stored.map(str::to_string)
                } else {
                    None
                },
                password_plain: plain,
                password_problem,
                other: others(
                    r,
                    &[
                        "Name",
                        "Domain",
                        "FullName",
                        "Description",
                        "MailAddress",
                        "Groups",
                        "Enabled",
                    ],
                ),
                name,
                domain,
            });
        }
        for r in users.records("Group") {
            let name = get(r, "Name").unwrap_or_default().to_string();
            let domain = domain_of(r);
            let members = d
                .users
                .iter()
                .filter(|u| u.domain.eq_ignore_ascii_case(&domain) || domain.is_empty())
                .filter(|u| u.groups.iter().any(|g| g.eq_ignore_ascii_case(&name)))
                .map(|u| u.email.clone())
                .collect();
            d.groups.push(Group {
                addresses: all(r, "MailAddress")
                    .flat_map(split_list)
                    .map(|a| full_address(&a, &domain))
                    .collect(),
                description: get(r, "Description").unwrap_or_default().to_string(),
                members,
                other: others(r, &["Name", "Domain", "Description", "MailAddress"]),
                name,
                domain,
            });
        }
        for r in users.records("Alias") {
            let domain = domain_of(r);
            let name = get(r, "Name").unwrap_or_default();
            d.aliases.push(Alias {
                address: full_address(name, &domain),
                deliver_to: all(r, "DeliverTo").flat_map(split_list).collect(),
                description: get(r, "Description").unwrap_or_default().to_string(),
                other: others(r, &["Name", "Domain", "Description", "DeliverTo"]),
            });
        }
        let known = ["user", "group", "alias"];
        d.unmapped = users
            .containers
            .iter()
            .filter(|c| !known.contains(&c.name.to_ascii_lowercase().as_str()))
            .map(|c| c.name.clone())
            .collect();
        d
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One row per user.
    Csv,
    /// `source,target_user,secret` for `migrate --accounts`.
    AccountsCsv,
    /// Google Workspace data migration.
    GoogleCsv,
    /// Microsoft 365 IMAP migration batch.
    M365Csv,
    /// Aliases and extra addresses.
    AliasesCsv,
    /// Groups and members.
    GroupsCsv,
    /// Everything.
    Json,
}

pub use crate::text::{csv_field, spreadsheet_field, FORMULA_STARTS};

fn spreadsheet_row(fields: &[&str]) -> String {
    let mut s = fields
        .iter()
        .map(|f| spreadsheet_field(f))
        .collect::<Vec<_>>()
        .join(",");
    s.push_str("\r\n");
    s
}

fn csv_row(fields: &[&str]) -> String {
    let mut s = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    s.push_str("\r\n");
    s
}

/// Options of [`Directory::render_with`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// List built-in accounts in the migration lists too.
    pub include_builtin: bool,
}

impl Directory {
    /// Renders a format (built-in accounts left out of the migration lists).
    pub fn render(&self, f: Format) -> String {
        self.render_with(f, RenderOptions::default())
    }

    /// The built-in accounts a migration list leaves out with `opts`.
    pub fn left_out(&self, f: Format, opts: RenderOptions) -> Vec<String> {
        let list = matches!(f, Format::AccountsCsv | Format::GoogleCsv | Format::M365Csv);
        if !list || opts.include_builtin {
            return Vec::new();
        }
        self.users
            .iter()
            .filter(|u| u.builtin)
            .map(|u| u.email.clone())
            .collect()
    }

    /// Renders a format. The migration lists (`accounts-csv`,
    /// `google-csv`, `m365-csv`) leave out built-in accounts unless asked;
    /// `accounts-csv` lists the orphan mailboxes commented out (`# ` in
    /// front, the reason in a fourth column), so the admin decides where
    /// they go.
    pub fn render_with(&self, f: Format, opts: RenderOptions) -> String {
        let mut s = String::new();
        let pw = |u: &User| u.password_plain.clone().unwrap_or_default();
        let listed = |u: &&User| opts.include_builtin || !u.builtin;
        match f {
            Format::Csv => {
                s.push_str(&spreadsheet_row(&[
                    "email",
                    "name",
                    "domain",
                    "full_name",
                    "description",
                    "addresses",
                    "groups",
                    "enabled",
                    "password_kind",
                    "password",
                ]));
                for u in &self.users {
                    let password = u
                        .password_plain
                        .clone()
                        .or_else(|| u.password_stored.clone())
                        .unwrap_or_default();
                    s.push_str(&spreadsheet_row(&[
                        &u.email,
                        &u.name,
                        &u.domain,
                        &u.full_name,
                        &u.description,
                        &u.addresses.join(";"),
                        &u.groups.join(";"),
                        match u.enabled {
                            Some(true) => "yes",
                            Some(false) => "no",
                            None => "",
                        },
                        u.password_kind.describe(),
                        &password,
                    ]));
                }
            }
            Format::AccountsCsv => {
                s.push_str(&spreadsheet_row(&["source", "target_user", "secret"]));
                for u in self.users.iter().filter(listed) {
                    s.push_str(&spreadsheet_row(&[&u.email, &u.email, ""]));
                }
                for o in &self.orphans {
                    // Inert as it is (no account is named "# …"); remove
                    // the "# " to migrate it.
                    s.push_str(&spreadsheet_row(&[
                        &format!("# {o}"),
                        o,
                        "",
                        "orphan mailbox: in the store, not in users.cfg; remove '# ' to migrate it (choose its target_user)",
                    ]));
                }
            }
            Format::GoogleCsv => {
                s.push_str(&csv_row(&[
                    "source_email",
                    "source_password",
                    "destination_email",
                ]));
                for u in self.users.iter().filter(listed) {
                    s.push_str(&csv_row(&[&u.email, &pw(u), &u.email]));
                }
            }
            Format::M365Csv => {
                s.push_str(&csv_row(&["EmailAddress", "UserName", "Password"]));
                for u in self.users.iter().filter(listed) {
                    s.push_str(&csv_row(&[&u.email, &u.email, &pw(u)]));
                }
            }
            Format::AliasesCsv => {
                s.push_str(&spreadsheet_row(&[
                    "alias",
                    "target",
                    "kind",
                    "description",
                ]));
                for u in &self.users {
                    for a in u.addresses.iter().skip(1) {
                        s.push_str(&spreadsheet_row(&[a, &u.email, "user-address", ""]));
                    }
                    for a in &u.alias_domain_addresses {
                        s.push_str(&spreadsheet_row(&[a, &u.email, "alias-domain-address", ""]));
                    }
                }
                for g in &self.groups {
                    let target = full_address(&g.name, &g.domain);
                    for a in &g.addresses {
                        if !a.eq_ignore_ascii_case(&target) {
                            s.push_str(&spreadsheet_row(&[a, &target, "group-address", ""]));
                        }
                    }
                }
                for a in &self.aliases {
                    s.push_str(&spreadsheet_row(&[
                        &a.address,
                        &a.deliver_to.join(";"),
                        "alias",
                        &a.description,
                    ]));
                }
                for d in &self.domains {
                    for al in &d.aliases {
                        s.push_str(&spreadsheet_row(&[al, &d.name, "domain-alias", ""]));
                    }
                }
            }
            Format::GroupsCsv => {
                s.push_str(&spreadsheet_row(&[
                    "group",
                    "domain",
                    "addresses",
                    "description",
                    "members",
                ]));
                for g in &self.groups {
                    s.push_str(&spreadsheet_row(&[
                        &g.name,
                        &g.domain,
                        &g.addresses.join(";"),
                        &g.description,
                        &g.members.join(";"),
                    ]));
                }
            }
            Format::Json => {
                s = serde_json::to_string_pretty(self)
                    .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
                s.push('\n');
            }
        }
        s
    }
}

/// Finds `users.cfg` from a path: the file itself, or a directory holding
/// it (the install directory), or a store whose install directory does.
pub fn find_users_cfg(path: &Path) -> Result<PathBuf, UsersError> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let direct = path.join("users.cfg");
    if direct.is_file() {
        return Ok(direct);
    }
    if let Ok(source) = crate::source::open(path) {
        if let Some(p) = source.user_directory() {
            return Ok(p);
        }
    }
    Err(UsersError::NotFound {
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<config>
  <list name="User">
    <listitem>
      <variable name="Name">alice</variable>
      <variable name="Domain">example.com</variable>
      <variable name="FullName">Alice Anderson</variable>
      <variable name="Description">Sales &amp; Marketing</variable>
      <variable name="Password">D3S:d1ca0cee090ba26a64869078fcc95e46a74b66447f662068</variable>
      <variable name="PasswordHistory">SHA:161c91ace6162991d4d73f24921c560622d6f0230c111ef27f4188cf</variable>
      <variable name="MailAddress">alice;a.anderson</variable>
      <variable name="Groups">staff,sales</variable>
      <variable name="Enabled">1</variable>
    </listitem>
    <listitem>
      <variable name="Name">bob</variable>
      <variable name="FullName">Bob M&#252;ller</variable>
      <variable name="Password">NUL:</variable>
      <variable name="MailAddress">bob</variable>
      <variable name="MailAddress">robert</variable>
      <variable name="Groups">staff</variable>
      <variable name="Empty"/>
    </listitem>
  </list>
  <list name="Group">
    <listitem>
      <variable name="Name">staff</variable>
      <variable name="Domain">example.com</variable>
      <variable name="MailAddress">staff;all</variable>
    </listitem>
  </list>
  <list name="Alias">
    <listitem>
      <variable name="Name">info</variable>
      <variable name="Domain">example.com</variable>
      <variable name="DeliverTo">alice@example.com;#staff</variable>
    </listitem>
  </list>
  <table name="UserTemplate"><variable name="QuotaStorage">0</variable></table>
</config>
"#;

    const MAILSERVER: &str = "<config>\r\n<list name=\"Domain\"><listitem><variable name=\"Name\">example.com</variable><variable name=\"Primary\">1</variable><variable name=\"Aliases\">example.net</variable></listitem></list>\r\n</config>\r\n";

    fn dir(opts: MapOptions) -> Directory {
        let u = CfgTree::parse(USERS, Path::new("users.cfg")).expect("users");
        let m = CfgTree::parse(MAILSERVER, Path::new("mailserver.cfg")).expect("ms");
        Directory::map(&u, Some(&m), opts)
    }

    #[test]
    fn generic_tree_and_dump() {
        let u = CfgTree::parse(USERS, Path::new("users.cfg")).expect("users");
        assert_eq!(u.containers.len(), 4);
        assert_eq!(
            u.containers[3].vars,
            vec![("QuotaStorage".into(), "0".into())]
        );
        let d = u.dump();
        assert!(d.contains("list \"User\": 2 records"), "{d}");
        assert!(
            d.contains("MailAddress: in 2 records, up to 2 times in one record"),
            "{d}"
        );
        assert!(
            d.contains("table \"UserTemplate\": 0 records, 1 variables"),
            "{d}"
        );
        assert!(!d.contains("D3S:"), "no values in the dump");
    }

    #[test]
    fn mapping() {
        let d = dir(MapOptions::default());
        let alice = &d.users[0];
        assert_eq!(alice.email, "alice@example.com");
        assert_eq!(alice.description, "Sales & Marketing");
        assert_eq!(
            alice.addresses,
            vec!["alice@example.com", "a.anderson@example.com"]
        );
        assert_eq!(alice.groups, vec!["staff", "sales"]);
        assert_eq!(alice.password_kind, PasswordKind::ReversibleD3s);
        assert!(alice.password_stored.is_none());
        assert!(!alice.other.contains_key("PasswordHistory"));
        let bob = &d.users[1];
        assert_eq!(
            bob.email, "bob@example.com",
            "primary domain from mailserver.cfg"
        );
        assert_eq!(bob.full_name, "Bob Müller");
        assert_eq!(bob.addresses, vec!["bob@example.com", "robert@example.com"]);
        assert_eq!(
            d.groups[0].members,
            vec!["alice@example.com", "bob@example.com"]
        );
        assert_eq!(d.aliases[0].deliver_to, vec!["alice@example.com", "#staff"]);
        assert_eq!(d.unmapped, vec!["UserTemplate"]);
        let json = d.render(Format::Json);
        assert!(!json.contains("D3S:") && !json.contains("SHA:"));
        let csv = d.render(Format::Csv);
        assert!(csv.contains("reversible (D3S)"));
        assert!(!csv.contains("D3S:"));
        let a = d.render(Format::AliasesCsv);
        assert!(a.contains("a.anderson@example.com,alice@example.com,user-address,"));
        assert!(a.contains("example.net,example.com,domain-alias,"));
        assert!(a.contains("info@example.com,alice@example.com;#staff,alias,"));
        assert_eq!(
            d.render(Format::AccountsCsv),
            "source,target_user,secret\r\nalice@example.com,alice@example.com,\r\nbob@example.com,bob@example.com,\r\n"
        );
    }

    #[test]
    fn passwords_only_when_asked() {
        let d = dir(MapOptions {
            show_passwords: true,
            decrypt_passwords: false,
        });
        assert!(d.render(Format::Csv).contains("D3S:d1ca"));
        assert_eq!(d.users[1].password_plain.as_deref(), Some(""));
        let m = d.render(Format::M365Csv);
        assert!(m.starts_with(
            "EmailAddress,UserName,Password\r\nalice@example.com,alice@example.com,\r\n"
        ));
        let d = dir(MapOptions {
            show_passwords: true,
            decrypt_passwords: true,
        });
        assert_eq!(d.users[0].password_plain.as_deref(), Some("openwall"));
    }

    #[test]
    fn d3s_vectors() {
        // Published vectors (openwall/john doc/Auditing-Kerio-Connect.md).
        for (v, p) in [
            ("D3S:3795d2bfad3b1a2abb53f8d6efdafc9ef0cdb947f0ff2757", "123456"),
            ("D3S:c36e4be2280fa230aa5d4a9de5aef11af0cdb947f0ff2757", "123456"),
            ("D3S:10b2f2db66669ef03c39d1f2cdfaf835824e3e787e1f3307", "1234567"),
            ("D3S:8742ddf7db1906c5d54ec948c500e587adfa4447eff8dc42adfa4447eff8dc42adfa4447eff8dc4298558bad76110b35", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            ("D3S:77b27f3742be6de9db01f240928f714f19470b4f1ff8f4cf", "openwall@123"),
            ("D3S:d1ca0cee090ba26a64869078fcc95e46a74b66447f662068", "openwall"),
        ] {
            assert_eq!(decrypt_d3s(v).as_deref(), Some(p), "{v}");
        }
        assert_eq!(decrypt_d3s("D3S:zz"), None);
        assert_eq!(decrypt_d3s("SHA:00"), None);
        assert_eq!(
            decrypt_d3s_checked("D3S:3795d2bfad3b1a2abb53f8d6efdafc9ef0cdb947f0ff27"),
            Err("46 hex digits: not two or more whole 8-byte blocks".into())
        );
        assert_eq!(
            decrypt_d3s_checked("D3S:zz95d2bfad3b1a2abb53f8d6efdafc9ef0cdb947f0ff2757"),
            Err("not hexadecimal".into())
        );
    }

    #[test]
    fn formulas_are_neutralised_in_spreadsheet_csvs() {
        for (v, want) in [
            (
                "=HYPERLINK(\"http://x\")",
                "\"'=HYPERLINK(\"\"http://x\"\")\"",
            ),
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("plain", "plain"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(spreadsheet_field(v), want, "{v:?}");
        }
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
