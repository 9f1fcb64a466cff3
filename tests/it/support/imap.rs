//! A deliberately small IMAP client written for the tests, independent of
//! the crates the product uses, to read back what arrived on a server:
//! LOGIN, LIST, SELECT, UID FETCH (FLAGS INTERNALDATE BODY.PEEK[]), raw
//! commands. Plain TCP only (tests talk to Dovecot on loopback).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A connection.
pub struct Imap {
    r: BufReader<TcpStream>,
    w: TcpStream,
    tag: u32,
}

/// One element of a response: text with literals inlined as bytes.
pub type Line = Vec<u8>;

/// One fetched message.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// UID.
    pub uid: u32,
    /// Flags, e.g. `\Seen`.
    pub flags: Vec<String>,
    /// INTERNALDATE as sent by the server.
    pub internal_date: String,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Quotes a string for IMAP (no literals needed for ASCII test names).
pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Imap {
    /// Connects and reads the greeting.
    pub fn connect(port: u16) -> Imap {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut c = Imap {
            r: BufReader::new(s.try_clone().expect("clone")),
            w: s,
            tag: 0,
        };
        let g = c.read_line();
        assert!(
            g.starts_with(b"* OK"),
            "greeting {}",
            String::from_utf8_lossy(&g)
        );
        c
    }

    /// Connects and logs in.
    pub fn login(port: u16, user: &str, pass: &str) -> Imap {
        let mut c = Imap::connect(port);
        let (_, st) = c.cmd(&format!("LOGIN {} {}", quote(user), quote(pass)));
        assert!(st.starts_with("OK"), "login {user}: {st}");
        c
    }

    /// Reads one logical response line, inlining literals.
    fn read_line(&mut self) -> Line {
        let mut out = Vec::new();
        loop {
            let mut buf = Vec::new();
            let n = self.r.read_until(b'\n', &mut buf).expect("read");
            assert!(n > 0, "connection closed");
            out.extend_from_slice(&buf);
            // A line ending in {n}\r\n announces a literal.
            let t = &buf[..buf.len().saturating_sub(2)];
            if t.ends_with(b"}") {
                if let Some(open) = t.iter().rposition(|b| *b == b'{') {
                    if let Ok(n) = std::str::from_utf8(&t[open + 1..t.len() - 1])
                        .unwrap_or("x")
                        .parse::<usize>()
                    {
                        let mut lit = vec![0u8; n];
                        self.r.read_exact(&mut lit).expect("literal");
                        out.extend_from_slice(&lit);
                        continue;
                    }
                }
            }
            return out;
        }
    }

    /// Sends a command; returns the untagged lines and the tagged status text.
    pub fn cmd(&mut self, command: &str) -> (Vec<Line>, String) {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        self.w
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .expect("write");
        let mut untagged = Vec::new();
        loop {
            let line = self.read_line();
            if line.starts_with(format!("{tag} ").as_bytes()) {
                let st = String::from_utf8_lossy(&line[tag.len() + 1..])
                    .trim_end()
                    .to_string();
                return (untagged, st);
            }
            untagged.push(line);
        }
    }

    /// Mailbox names (as sent, mUTF-7 decoded by the caller if needed) with
    /// their attributes.
    pub fn list(&mut self) -> Vec<(String, String)> {
        let (lines, st) = self.cmd("LIST \"\" \"*\"");
        assert!(st.starts_with("OK"), "LIST: {st}");
        lines
            .iter()
            .filter(|l| l.starts_with(b"* LIST "))
            .map(|l| {
                let s = String::from_utf8_lossy(l).trim_end().to_string();
                let attrs_end = s.find(')').expect("attrs");
                let attrs = s[8..attrs_end].to_string();
                // After the attributes: SP, the delimiter ("/" or NIL), SP, the name.
                let after_delim = &s[attrs_end + 2 + 4..];
                (parse_astring(after_delim), attrs)
            })
            .collect()
    }

    /// Selects a mailbox (name already in wire form) and fetches everything.
    pub fn fetch_all(&mut self, mailbox_wire: &str) -> Vec<Fetched> {
        let (_, st) = self.cmd(&format!("EXAMINE {}", quote(mailbox_wire)));
        assert!(st.starts_with("OK"), "EXAMINE {mailbox_wire}: {st}");
        let (lines, st) = self.cmd("UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])");
        assert!(st.starts_with("OK"), "FETCH: {st}");
        lines
            .iter()
            .filter(|l| l.starts_with(b"* ") && find(l, b" FETCH (").is_some())
            .map(|l| {
                parse_fetch(l).unwrap_or_else(|| {
                    panic!(
                        "unparsable FETCH response: {}",
                        String::from_utf8_lossy(&l[..l.len().min(300)])
                    )
                })
            })
            .collect()
    }
}

fn parse_astring(s: &str) -> String {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => break,
                c => out.push(c),
            }
        }
        out
    } else if s.starts_with('{') {
        // {n}\r\n<name>: the literal was inlined after the CRLF.
        s.split_once("\r\n")
            .map(|(_, n)| n.to_string())
            .unwrap_or_default()
    } else {
        s.to_string()
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn parse_fetch(l: &[u8]) -> Option<Fetched> {
    let uid_at = find(l, b"UID ")? + 4;
    let digits = l[uid_at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let uid: u32 = std::str::from_utf8(&l[uid_at..uid_at + digits])
        .ok()?
        .parse()
        .ok()?;
    let f_at = find(l, b"FLAGS (")? + 7;
    let f_end = f_at + l[f_at..].iter().position(|b| *b == b')')?;
    let flags = String::from_utf8_lossy(&l[f_at..f_end])
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let d_at = find(l, b"INTERNALDATE \"")? + 14;
    let d_end = d_at + l[d_at..].iter().position(|b| *b == b'"')?;
    let internal_date = String::from_utf8_lossy(&l[d_at..d_end]).to_string();
    // A literal8 (`~{n}`) when the message holds NUL (Cyrus).
    let b_at = find(l, b"BODY[] {")
        .map(|p| p + 8)
        .or_else(|| find(l, b"BODY[] ~{").map(|p| p + 9))?;
    let b_close = b_at + l[b_at..].iter().position(|b| *b == b'}')?;
    let n: usize = std::str::from_utf8(&l[b_at..b_close]).ok()?.parse().ok()?;
    let body_start = b_close + 3;
    let body = l.get(body_start..body_start + n)?.to_vec();
    Some(Fetched {
        uid,
        flags,
        internal_date,
        body,
    })
}

/// Modified UTF-7 → Unicode, written for the tests (independent of the
/// library's codec). Malformed input comes back unchanged.
pub fn mutf7_decode(s: &str) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    let mut out = String::new();
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(dash) = after.find('-') else {
            return s.to_string();
        };
        let run = &after[..dash];
        if run.is_empty() {
            out.push('&');
        } else {
            let mut bits = 0u32;
            let mut n = 0;
            let mut units = Vec::new();
            for c in run.bytes() {
                let Some(v) = B64.iter().position(|b| *b == c) else {
                    return s.to_string();
                };
                bits = (bits << 6) | v as u32;
                n += 6;
                if n >= 16 {
                    n -= 16;
                    units.push(((bits >> n) & 0xffff) as u16);
                }
            }
            match String::from_utf16(&units) {
                Ok(t) => out.push_str(&t),
                Err(_) => return s.to_string(),
            }
        }
        rest = &after[dash + 1..];
    }
    out.push_str(rest);
    out
}

/// Unicode → modified UTF-7 (tests only).
pub fn mutf7_encode(s: &str) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    let mut out = String::new();
    let mut run: Vec<u16> = Vec::new();
    let flush = |run: &mut Vec<u16>, out: &mut String| {
        if run.is_empty() {
            return;
        }
        out.push('&');
        let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..chunk.len() + 1 {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out.push('-');
        run.clear();
    };
    for c in s.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut run, &mut out);
    out
}

impl Imap {
    /// Mailbox names decoded to Unicode.
    pub fn list_names(&mut self) -> Vec<String> {
        self.list()
            .into_iter()
            .map(|(n, _)| mutf7_decode(&n))
            .collect()
    }

    /// Every message of a mailbox given by its Unicode name.
    pub fn fetch_mailbox(&mut self, name: &str) -> Vec<Fetched> {
        self.fetch_all(&mutf7_encode(name))
    }

    /// MESSAGES of a mailbox given by its Unicode name.
    pub fn count(&mut self, name: &str) -> u32 {
        match self.try_count(name) {
            Ok(n) => n,
            Err(st) => panic!("STATUS {name}: {st}"),
        }
    }

    /// MESSAGES of a mailbox, or the server's refusal: for probes that
    /// poll while a run creates mailboxes (Dovecot answers STATUS on a
    /// Maildir++ folder whose directory exists without `cur/` with NO
    /// [SERVERBUG]; a probe may meet a folder mid-creation).
    pub fn try_count(&mut self, name: &str) -> Result<u32, String> {
        let (lines, st) = self.cmd(&format!("STATUS {} (MESSAGES)", quote(&mutf7_encode(name))));
        if !st.starts_with("OK") {
            return Err(st);
        }
        let l = lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).to_string())
            .find(|l| l.starts_with("* STATUS "))
            .ok_or_else(|| format!("no STATUS response: {st}"))?;
        let at = l.find("MESSAGES ").ok_or_else(|| l.clone())? + 9;
        l[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
            .parse()
            .map_err(|_| l.clone())
    }
}
