//! Server capabilities, parsed once per connection from `CAPABILITY`.

/// What the server advertises, as far as the migration cares.
#[derive(Clone, Debug, Default)]
pub struct Capabilities {
    /// Every capability as the server spelled it.
    pub raw: Vec<String>,
    /// `IMAP4rev2` (implies LITERAL-).
    pub imap4rev2: bool,
    /// `LITERAL+` (RFC 7888): every literal may be `{n+}`.
    pub literal_plus: bool,
    /// `LITERAL-` (RFC 7888): `{n+}` only up to 4096 bytes.
    pub literal_minus: bool,
    /// `MULTIAPPEND` (RFC 3502).
    pub multiappend: bool,
    /// `UIDPLUS` (RFC 4315): APPENDUID.
    pub uidplus: bool,
    /// `APPENDLIMIT` (RFC 7889): `Some(None)` without a value (per-mailbox
    /// limits), `Some(Some(n))` for a server-wide limit.
    pub appendlimit: Option<Option<u64>>,
    /// `SPECIAL-USE` (RFC 6154).
    pub special_use: bool,
    /// `UTF8=ACCEPT` / `UTF8=ONLY` (RFC 6855).
    pub utf8_accept: bool,
    /// `BINARY` (RFC 3516): `~{n}` literal8 may carry NUL bytes.
    pub binary: bool,
    /// `STARTTLS`.
    pub starttls: bool,
    /// `LOGINDISABLED`.
    pub login_disabled: bool,
    /// `SASL-IR` (RFC 4959).
    pub sasl_ir: bool,
    /// `UNSELECT` (RFC 3691).
    pub unselect: bool,
    /// `NAMESPACE` (RFC 2342).
    pub namespace: bool,
    /// `LIST-EXTENDED` (RFC 5258): `LIST … RETURN (…)`.
    pub list_extended: bool,
    /// `ENABLE` (RFC 5161).
    pub enable: bool,
    /// `AUTH=` mechanisms, upper case.
    pub auth: Vec<String>,
}

impl Capabilities {
    /// Parses capability names (`LITERAL+`, `APPENDLIMIT=10000`, …).
    pub fn from_names<I, S>(names: I) -> Capabilities
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut c = Capabilities::default();
        for name in names {
            let s = name.as_ref().to_string();
            let u = s.to_ascii_uppercase();
            match u.as_str() {
                "IMAP4REV2" => c.imap4rev2 = true,
                "LITERAL+" => c.literal_plus = true,
                "LITERAL-" => c.literal_minus = true,
                "MULTIAPPEND" => c.multiappend = true,
                "UIDPLUS" => c.uidplus = true,
                "SPECIAL-USE" => c.special_use = true,
                "UTF8=ACCEPT" | "UTF8=ONLY" => c.utf8_accept = true,
                "BINARY" => c.binary = true,
                "STARTTLS" => c.starttls = true,
                "LOGINDISABLED" => c.login_disabled = true,
                "SASL-IR" => c.sasl_ir = true,
                "UNSELECT" => c.unselect = true,
                "NAMESPACE" => c.namespace = true,
                "LIST-EXTENDED" => c.list_extended = true,
                "ENABLE" => c.enable = true,
                "APPENDLIMIT" => c.appendlimit = Some(None),
                _ => {
                    if let Some(n) = u.strip_prefix("APPENDLIMIT=") {
                        c.appendlimit = Some(n.parse().ok());
                    } else if let Some(m) = u.strip_prefix("AUTH=") {
                        c.auth.push(m.to_string());
                    }
                }
            }
            c.raw.push(s);
        }
        c
    }

    /// RFC 7888: `{n+}` with LITERAL+, or with LITERAL- / IMAP4rev2 up to
    /// 4096 bytes.
    pub fn non_sync_ok(&self, len: usize) -> bool {
        self.literal_plus || ((self.literal_minus || self.imap4rev2) && len <= 4096)
    }

    /// The server-wide APPENDLIMIT, if any.
    pub fn append_limit(&self) -> Option<u64> {
        self.appendlimit.flatten()
    }

    /// True when the server offers `AUTH=mech`.
    pub fn has_auth(&self, mech: &str) -> bool {
        self.auth.iter().any(|m| m.eq_ignore_ascii_case(mech))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_dovecot_and_others_send() {
        let c = Capabilities::from_names([
            "IMAP4rev1",
            "LITERAL+",
            "MULTIAPPEND",
            "UIDPLUS",
            "APPENDLIMIT=10000",
            "AUTH=PLAIN",
            "SASL-IR",
            "BINARY",
            "SPECIAL-USE",
            "UNSELECT",
        ]);
        assert!(c.literal_plus && c.multiappend && c.uidplus && c.binary && c.sasl_ir);
        assert!(c.special_use && c.unselect);
        assert_eq!(c.append_limit(), Some(10000));
        assert!(c.has_auth("plain"));
        assert!(c.non_sync_ok(1 << 20));

        let m = Capabilities::from_names(["IMAP4rev1", "LITERAL-", "APPENDLIMIT"]);
        assert!(m.non_sync_ok(4096) && !m.non_sync_ok(4097));
        assert_eq!(m.appendlimit, Some(None));
        assert_eq!(m.append_limit(), None);

        let r2 = Capabilities::from_names(["IMAP4rev2", "UTF8=ACCEPT"]);
        assert!(r2.non_sync_ok(100) && !r2.non_sync_ok(5000) && r2.utf8_accept);

        let none = Capabilities::from_names(["IMAP4rev1"]);
        assert!(!none.non_sync_ok(1));
    }
}
