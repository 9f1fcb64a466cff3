//! CardDAV / CalDAV upload: a small blocking client (ureq, native-tls,
//! certificates verified unless `--insecure`) and the uploader that
//! creates collections and PUTs resources, recording each in the journal
//! (`dav_items`) so that a rerun creates nothing twice.
//!
//! Collection URLs: the URL given may hold `{account}` (the account id,
//! `alice@example.com`), `{user}` (the part before `@`) and `{folder}` (the
//! folder's file stem, `Contacts__divers`). With `{folder}`, the URL is the
//! collection. Without it, the folder's collection is `<URL>/<folder>/`,
//! where `<account>/` is first appended to the URL when it has neither
//! `{account}` nor `{user}` (missing parents are then created with MKCOL;
//! servers such as Radicale with `owner_only` rights forbid such nesting:
//! use a flat `https://host/{user}/{folder}/` or
//! `…/alice/{account}_{folder}/` there). Names are percent-encoded.
//! Resources are `<uid>.vcf` / `<uid>.ics` (the UID percent-encoded, or
//! hashed when long or odd).
//!
//! `Expect: 100-continue` is never sent (Radicale never answers it);
//! `If-None-Match: *` makes PUT create-only, and 412 means "already there".
//! Credentials go only into the Authorization header; ureq redacts it in
//! its debug log, and the URL is refused when it carries a password.

use super::{DavCounts, ItemProblem};
use crate::journal::{DavRow, Journal};
use crate::source::Folder;
use std::path::PathBuf;
use std::time::Duration;
use ureq::http::{Method, Request};

/// DAV errors.
#[derive(Debug, thiserror::Error)]
pub enum DavError {
    /// The URL is not usable.
    #[error("DAV URL {url:?}: {reason}")]
    Url {
        /// The URL (without credentials).
        url: String,
        reason: String,
    },
    /// The CA file could not be read.
    #[error("--tls-ca {path}: {reason}")]
    Ca { path: PathBuf, reason: String },
    /// The request could not be made (network, TLS).
    #[error("{method} {url}: {reason}")]
    Http {
        method: String,
        url: String,
        reason: String,
    },
    /// The server answered with an unexpected status.
    #[error("{method} {url}: HTTP {status} {body}")]
    Status {
        method: String,
        url: String,
        /// Status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
}

/// Connection settings.
#[derive(Debug, Clone, Default)]
pub struct DavConfig {
    /// Base URL, possibly with `{account}` / `{user}`.
    pub url: String,
    /// User name for Basic authentication.
    pub user: Option<String>,
    /// Password (never logged, never stored).
    pub password: Option<String>,
    /// Extra CA certificates (PEM); only these are trusted when given.
    pub tls_ca: Option<PathBuf>,
    /// Do not verify certificates.
    pub insecure: bool,
    /// Per-request timeout.
    pub timeout: Option<Duration>,
}

/// A response.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// ETag header.
    pub etag: Option<String>,
    /// Body (text).
    pub body: String,
}

/// The HTTP client.
pub struct Client {
    agent: ureq::Agent,
    auth: Option<String>,
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        s.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    s
}

/// Percent-encodes a path segment (RFC 3986 unreserved and `@` kept).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The resource name of a UID.
pub fn resource_name(uid: &str, ext: &str) -> String {
    let plain = !uid.is_empty()
        && uid.len() <= 100
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._@".contains(&b))
        && !uid.starts_with('.');
    if plain {
        format!("{uid}.{ext}")
    } else {
        let h = blake3::hash(uid.as_bytes());
        let hex: String = h.as_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{hex}.{ext}")
    }
}

fn check_url(url: &str) -> Result<(), DavError> {
    let bad = |reason: &str| DavError::Url {
        url: url.to_string(),
        reason: reason.into(),
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("must start with http:// or https://"))?;
    let authority = rest.split('/').next().unwrap_or("");
    if authority.contains('@') {
        return Err(DavError::Url {
            url: "(not shown: it holds credentials)".into(),
            reason: "credentials in the URL are refused; use --dav-user and --dav-password-env / --dav-password-file".into(),
        });
    }
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    Ok(())
}

impl Client {
    /// A client for `cfg`.
    pub fn new(cfg: &DavConfig) -> Result<Client, DavError> {
        use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
        check_url(&cfg.url)?;
        let mut tls = TlsConfig::builder().provider(TlsProvider::NativeTls);
        if cfg.insecure {
            tls = tls.disable_verification(true);
        } else if let Some(ca) = &cfg.tls_ca {
            let pem = std::fs::read(ca).map_err(|e| DavError::Ca {
                path: ca.clone(),
                reason: e.to_string(),
            })?;
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(&pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                    Ok(_) => {}
                    Err(e) => {
                        return Err(DavError::Ca {
                            path: ca.clone(),
                            reason: e.to_string(),
                        })
                    }
                }
            }
            if certs.is_empty() {
                return Err(DavError::Ca {
                    path: ca.clone(),
                    reason: "no PEM certificate in the file".into(),
                });
            }
            let certs: Vec<Certificate<'static>> = certs;
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        } else {
            tls = tls.root_certs(RootCerts::PlatformVerifier);
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            .tls_config(tls.build())
            .timeout_global(Some(cfg.timeout.unwrap_or(Duration::from_secs(120))))
            .user_agent(format!("kerio-migrate/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let auth = cfg.user.as_ref().map(|u| {
            let pw = cfg.password.as_deref().unwrap_or("");
            format!("Basic {}", base64(format!("{u}:{pw}").as_bytes()))
        });
        Ok(Client { agent, auth })
    }

    /// Sends one request. Never sends `Expect: 100-continue`.
    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Reply, DavError> {
        let http_err = |reason: String| DavError::Http {
            method: method.to_string(),
            url: url.to_string(),
            reason,
        };
        let m = Method::from_bytes(method.as_bytes()).map_err(|e| http_err(e.to_string()))?;
        let mut b = Request::builder().method(m).uri(url);
        if let Some(a) = &self.auth {
            b = b.header("Authorization", a.as_str());
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let result = match body {
            Some(data) => {
                let req = b.body(data.to_vec()).map_err(|e| http_err(e.to_string()))?;
                self.agent.run(req)
            }
            None => {
                let req = b.body(()).map_err(|e| http_err(e.to_string()))?;
                self.agent.run(req)
            }
        };
        let mut resp = result.map_err(|e| http_err(e.to_string()))?;
        let status = resp.status().as_u16();
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        Ok(Reply { status, etag, body })
    }

    fn status_error(method: &str, url: &str, r: &Reply) -> DavError {
        DavError::Status {
            method: method.into(),
            url: url.into(),
            status: r.status,
            body: crate::text::shorten(r.body.trim(), 200),
        }
    }

    /// True when a collection exists at `url` (PROPFIND, depth 0).
    pub fn exists(&self, url: &str) -> Result<bool, DavError> {
        let body = br#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>"#;
        let r = self.request(
            "PROPFIND",
            url,
            &[
                ("Depth", "0"),
                ("Content-Type", "application/xml; charset=utf-8"),
            ],
            Some(body),
        )?;
        match r.status {
            207 | 200 => Ok(true),
            404 => Ok(false),
            _ => Err(Self::status_error("PROPFIND", url, &r)),
        }
    }

    /// Creates an address book (extended MKCOL, RFC 5689 / 6352).
    pub fn mkcol_addressbook(&self, url: &str, name: &str) -> Result<(), DavError> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>{}</D:displayname></D:prop></D:set></D:mkcol>"#,
            xml_escape(name)
        );
        let r = self.request(
            "MKCOL",
            url,
            &[("Content-Type", "application/xml; charset=utf-8")],
            Some(body.as_bytes()),
        )?;
        match r.status {
            200 | 201 | 204 => Ok(()),
            _ => Err(Self::status_error("MKCOL", url, &r)),
        }
    }

    /// Creates a calendar (MKCALENDAR, RFC 4791).
    pub fn mkcalendar(&self, url: &str, name: &str) -> Result<(), DavError> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>{}</D:displayname></D:prop></D:set></C:mkcalendar>"#,
            xml_escape(name)
        );
        let r = self.request(
            "MKCALENDAR",
            url,
            &[("Content-Type", "application/xml; charset=utf-8")],
            Some(body.as_bytes()),
        )?;
        match r.status {
            200 | 201 | 204 => Ok(()),
            _ => Err(Self::status_error("MKCALENDAR", url, &r)),
        }
    }

    /// PUT that only creates: `Ok(Some(etag))` when created, `Ok(None)`
    /// when something is already there (412).
    pub fn put_new(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<Option<Option<String>>, DavError> {
        let r = self.request(
            "PUT",
            url,
            &[("Content-Type", content_type), ("If-None-Match", "*")],
            Some(body),
        )?;
        match r.status {
            200 | 201 | 204 => Ok(Some(r.etag)),
            412 => Ok(None),
            _ => Err(Self::status_error("PUT", url, &r)),
        }
    }

    /// GET a resource's text (`None` on 404).
    pub fn get(&self, url: &str) -> Result<Option<String>, DavError> {
        let r = self.request("GET", url, &[], None)?;
        match r.status {
            200 => Ok(Some(r.body)),
            404 => Ok(None),
            _ => Err(Self::status_error("GET", url, &r)),
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The account's base URL for a template (see the module docs).
pub fn account_url(template: &str, account: &str) -> String {
    let user = account.split('@').next().unwrap_or(account);
    let mut u = if template.contains("{account}") || template.contains("{user}") {
        template
            .replace("{account}", &encode_segment(account))
            .replace("{user}", &encode_segment(user))
    } else {
        let mut t = template.to_string();
        if !t.ends_with('/') {
            t.push('/');
        }
        t.push_str(&encode_segment(account));
        t
    };
    if !u.ends_with('/') {
        u.push('/');
    }
    u
}

/// The collection URL of a folder (file stem `stem`) of `account`: with
/// `{folder}` in the template, the template with its placeholders
/// replaced; otherwise `<account URL><folder>/`.
pub fn collection_url(template: &str, account: &str, stem: &str) -> String {
    if template.contains("{folder}") {
        let user = account.split('@').next().unwrap_or(account);
        let mut u = template
            .replace("{account}", &encode_segment(account))
            .replace("{user}", &encode_segment(user))
            .replace("{folder}", &encode_segment(stem));
        if !u.ends_with('/') {
            u.push('/');
        }
        u
    } else {
        format!(
            "{}{}/",
            account_url(template, account),
            encode_segment(stem)
        )
    }
}

/// Creates collections and uploads, with the journal.
pub struct Uploader {
    client: Client,
    template: String,
    journal: Journal,
}

impl Uploader {
    /// An uploader for `cfg`, recording into `journal`.
    pub fn new(cfg: &DavConfig, journal: Journal) -> Result<Uploader, DavError> {
        Ok(Uploader {
            client: Client::new(cfg)?,
            template: cfg.url.clone(),
            journal,
        })
    }

    /// The URL template, for reports.
    pub fn display_url(&self) -> String {
        self.template.clone()
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The collection URL of a folder.
    pub fn collection_url(&self, account: &str, stem: &str) -> String {
        collection_url(&self.template, account, stem)
    }

    fn ensure(
        &self,
        url: &str,
        name: &str,
        calendar: bool,
        counts: &mut DavCounts,
    ) -> Result<(), DavError> {
        if self.client.exists(url)? {
            return Ok(());
        }
        let make = |u: &str| {
            if calendar {
                self.client.mkcalendar(u, name)
            } else {
                self.client.mkcol_addressbook(u, name)
            }
        };
        match make(url) {
            Ok(()) => {}
            // 409: a parent is missing (the `<account>/` level of the
            // default scheme). Create the plain parents, then retry.
            Err(DavError::Status { status: 409, .. }) => {
                self.ensure_parents(url)?;
                make(url)?;
            }
            Err(e) => return Err(e),
        }
        counts.collection_created = true;
        Ok(())
    }

    /// Creates the missing plain collections above `url`, top down.
    fn ensure_parents(&self, url: &str) -> Result<(), DavError> {
        let trimmed = url.trim_end_matches('/');
        let Some(scheme_end) = trimmed.find("://") else {
            return Ok(());
        };
        let path_start = trimmed[scheme_end + 3..]
            .find('/')
            .map(|i| i + scheme_end + 3)
            .unwrap_or(trimmed.len());
        let mut parents = Vec::new();
        let mut cur = trimmed;
        while let Some(i) = cur.rfind('/') {
            if i <= path_start {
                break;
            }
            cur = &cur[..i];
            parents.push(format!("{cur}/"));
        }
        for p in parents.iter().rev() {
            if !self.client.exists(p)? {
                let r = self.client.request("MKCOL", p, &[], None)?;
                if !matches!(r.status, 200 | 201 | 204 | 405) {
                    return Err(Client::status_error("MKCOL", p, &r));
                }
            }
        }
        Ok(())
    }

    fn put_all(
        &self,
        account: &str,
        sf: &Folder,
        stem: &str,
        calendar: bool,
        items: Vec<(String, String, Vec<super::SourceRef>)>,
    ) -> DavCounts {
        let url = self.collection_url(account, stem);
        let mut counts = DavCounts {
            collection: url.clone(),
            ..DavCounts::default()
        };
        let display = sf.path.rsplit('/').next().unwrap_or(&sf.path);
        if let Err(e) = self.ensure(&url, display, calendar, &mut counts) {
            for (uid, _, srcs) in &items {
                counts
                    .failed
                    .push(problem(srcs, uid, &format!("collection: {e}")));
            }
            return counts;
        }
        let (ext, ctype) = if calendar {
            ("ics", "text/calendar; charset=utf-8")
        } else {
            ("vcf", "text/vcard; charset=utf-8")
        };
        for (uid, text, srcs) in items {
            match self.journal.dav_done(&url, &uid) {
                Ok(true) => {
                    counts.already_present += 1;
                    continue;
                }
                Ok(false) => {}
                Err(e) => {
                    counts
                        .failed
                        .push(problem(&srcs, &uid, &format!("journal: {e}")));
                    continue;
                }
            }
            let href = format!("{url}{}", encode_segment(&resource_name(&uid, ext)));
            let outcome = self.client.put_new(&href, ctype, text.as_bytes());
            let (etag, created) = match outcome {
                Ok(Some(etag)) => (etag, true),
                Ok(None) => (None, false),
                Err(e) => {
                    counts.failed.push(problem(&srcs, &uid, &e.to_string()));
                    continue;
                }
            };
            if created {
                counts.created += 1;
            } else {
                counts.already_present += 1;
            }
            let row = DavRow {
                collection: url.clone(),
                account: account.to_string(),
                folder: sf.path.clone(),
                uid: uid.clone(),
                href,
                etag,
                hash: blake3::hash(text.as_bytes()).to_hex().to_string(),
                created,
            };
            if let Err(e) = self.journal.record_dav(&row) {
                counts
                    .failed
                    .push(problem(&srcs, &uid, &format!("journal: {e}")));
            }
        }
        counts
    }

    /// Uploads a contacts folder's cards.
    pub fn upload_cards(
        &self,
        account: &str,
        sf: &Folder,
        stem: &str,
        cards: &[super::vcard::Card],
        version: super::vcard::Version,
    ) -> DavCounts {
        let items = cards
            .iter()
            .map(|c| {
                (
                    c.uid().unwrap_or_default().to_string(),
                    c.to_text(version),
                    vec![c.source.clone()],
                )
            })
            .collect();
        self.put_all(account, sf, stem, false, items)
    }

    /// Uploads a calendar folder's resources.
    pub fn upload_calendar(
        &self,
        account: &str,
        sf: &Folder,
        stem: &str,
        merged: &super::ical::Merged,
    ) -> DavCounts {
        let items = merged
            .resources
            .iter()
            .map(|r| (r.uid.clone(), r.text.clone(), r.sources.clone()))
            .collect();
        let mut c = self.put_all(account, sf, stem, true, items);
        c.not_uploadable = merged.not_uploadable;
        c
    }
}

fn problem(srcs: &[super::SourceRef], uid: &str, reason: &str) -> ItemProblem {
    let first = srcs.first();
    ItemProblem {
        item: first.map(|s| s.item.clone()).unwrap_or_default(),
        source: first
            .map(|s| s.path.display().to_string())
            .unwrap_or_default(),
        reason: format!("UID {uid}: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            account_url("http://h:1/dav/{user}/", "alice@example.com"),
            "http://h:1/dav/alice/"
        );
        assert_eq!(
            account_url("http://h:1/dav", "#public@example.com"),
            "http://h:1/dav/%23public@example.com/"
        );
        assert_eq!(
            encode_segment("Contacts__divers é"),
            "Contacts__divers%20%C3%A9"
        );
        assert_eq!(
            collection_url(
                "http://h/alice/{account}_{folder}",
                "#public@x.org",
                "Contacts"
            ),
            "http://h/alice/%23public@x.org_Contacts/"
        );
        assert_eq!(
            collection_url("http://h/{user}/", "bob@x.org", "Contacts__divers"),
            "http://h/bob/Contacts__divers/"
        );
        assert_eq!(resource_name("abc-1@x", "vcf"), "abc-1@x.vcf");
        assert_eq!(resource_name("a/b", "ics").len(), 36);
        assert!(check_url("https://u:p@h/").is_err());
        assert!(check_url("ftp://h/").is_err());
        assert!(check_url("https://h/x").is_ok());
        assert_eq!(base64(b"alice:secret"), "YWxpY2U6c2VjcmV0");
        assert_eq!(base64(b"a"), "YQ==");
    }
}
