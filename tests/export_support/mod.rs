//! Helpers for the export tests: a generated Kerio store in a temp dir,
//! with items wrapped as Kerio does, in every transfer encoding.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// How an item's payload is wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    /// 8bit body.
    Plain,
    /// quoted-printable body.
    Qp,
    /// base64 body.
    B64,
    /// base64 part inside multipart/mixed, after a text part.
    Multipart,
}

impl Enc {
    pub const ALL: [Enc; 4] = [Enc::Plain, Enc::Qp, Enc::B64, Enc::Multipart];
    pub fn name(self) -> &'static str {
        match self {
            Enc::Plain => "plain",
            Enc::Qp => "qp",
            Enc::B64 => "b64",
            Enc::Multipart => "multi",
        }
    }
}

pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    let mut col = 0;
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if chunk.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        s.push(if chunk.len() > 2 { T[n as usize & 63] as char } else { '=' });
        col += 4;
        if col >= 76 {
            s.push_str("\r\n");
            col = 0;
        }
    }
    if col > 0 {
        s.push_str("\r\n");
    }
    s
}

/// Quoted-printable (RFC 2045): line breaks kept as CRLF, soft breaks at 76.
pub fn qp(data: &[u8]) -> String {
    let mut out = String::new();
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\n' {
            let end = if i > start && data[i - 1] == b'\r' { i - 1 } else { i };
            lines.push(&data[start..end]);
            start = i + 1;
        }
        i += 1;
    }
    let tail = &data[start..];
    for (li, line) in lines.iter().chain(std::iter::once(&tail)).enumerate() {
        if li > 0 {
            out.push_str("\r\n");
        }
        let mut col = 0;
        for (j, &b) in line.iter().enumerate() {
            let last = j + 1 == line.len();
            let enc = !(33..=126).contains(&b) && !(b == b' ' && !last) || b == b'=';
            let piece = if enc { format!("={b:02X}") } else { (b as char).to_string() };
            if col + piece.len() > 75 {
                out.push_str("=\r\n");
                col = 0;
            }
            out.push_str(&piece);
            col += piece.len();
        }
    }
    out
}

/// A Kerio item wrapping `payload` with content type `ctype`.
pub fn wrap(payload: &[u8], ctype: &str, enc: Enc, subject: &str) -> Vec<u8> {
    let charset = if std::str::from_utf8(payload).is_ok() { "; charset=utf-8" } else { "" };
    let mut m = format!(
        "Subject: {subject}\r\nDate: Tue, 14 Mar 2006 08:30:12 +0100\r\nMIME-Version: 1.0\r\nX-Mailer: Kerio Connect\r\n"
    )
    .into_bytes();
    match enc {
        Enc::Plain => {
            m.extend_from_slice(
                format!("Content-Type: {ctype}{charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").as_bytes(),
            );
            m.extend_from_slice(payload);
        }
        Enc::Qp => {
            m.extend_from_slice(
                format!("Content-Type: {ctype}{charset}\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}", qp(payload))
                    .as_bytes(),
            );
        }
        Enc::B64 => {
            m.extend_from_slice(
                format!("Content-Type: {ctype}{charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}", base64(payload))
                    .as_bytes(),
            );
        }
        Enc::Multipart => {
            m.extend_from_slice(
                format!(
                    "Content-Type: multipart/mixed; boundary=\"----=_NextPart_000_0001\"\r\n\r\n\
                     This is a multi-part message in MIME format.\r\n\r\n\
                     ------=_NextPart_000_0001\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{subject}\r\n\r\n\
                     ------=_NextPart_000_0001\r\nContent-Type: {ctype}{charset}; name=\"item\"\r\n\
                     Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"item\"\r\n\r\n{}\r\n\
                     ------=_NextPart_000_0001--\r\n",
                    base64(payload)
                )
                .as_bytes(),
            );
        }
    }
    m
}

/// A store being built: `<root>/store/mail/<domain>/<user>/<folder>/#msgs/`.
pub struct StoreBuilder {
    pub root: PathBuf,
}

impl StoreBuilder {
    pub fn new(root: &Path) -> StoreBuilder {
        std::fs::create_dir_all(root.join("store/mail")).expect("mkdir");
        StoreBuilder { root: root.to_path_buf() }
    }

    pub fn mail_root(&self) -> PathBuf {
        self.root.join("store/mail")
    }

    /// Writes item `n` of `folder` (components joined with `/`, as directory
    /// names; ASCII only here) and returns its path.
    pub fn item(&self, domain: &str, user: &str, folder: &str, n: u32, bytes: &[u8]) -> PathBuf {
        let dir = self.mail_root().join(domain).join(user).join(folder).join("#msgs");
        std::fs::create_dir_all(&dir).expect("mkdir");
        // An INBOX makes the directory look like a mailbox.
        std::fs::create_dir_all(self.mail_root().join(domain).join(user).join("INBOX/#msgs"))
            .expect("inbox");
        let p = dir.join(format!("{n:08x}.eml"));
        std::fs::write(&p, bytes).expect("write item");
        p
    }
}

pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("kerio-migrate").expect("binary")
}
