//! A private Radicale (CardDAV / CalDAV, from PyPI) on loopback for one
//! test (tests/harness/radicale-up.sh), stopped when the guard drops. When
//! the Radicale venv is missing, the script creates it (`python3 -m venv` +
//! `pip install radicale==3.9.0`; `RADICALE_VENV` overrides where).

use super::{free_port, root};
use kerio_migrate::export::dav::{Client, DavConfig};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running private Radicale; users `alice` and `bob`, password `secret`.
pub struct Radicale {
    /// Its directory: config, collections, log, `tls/ca.pem`.
    pub base: PathBuf,
    pub port: u16,
}

impl Radicale {
    /// Plain HTTP.
    pub fn start(base: &Path) -> Radicale {
        Radicale::start_with(base, false)
    }

    /// HTTPS with a private CA when `tls`. A port taken between choosing
    /// and binding it is retried on another (as for Dovecot).
    pub fn start_with(base: &Path, tls: bool) -> Radicale {
        let script = root().join("tests/harness/radicale-up.sh");
        let mut failures = Vec::new();
        for _attempt in 0..3 {
            let port = free_port();
            let out = Command::new("bash")
                .env("TLS", if tls { "1" } else { "0" })
                .arg(&script)
                .arg(base)
                .arg(port.to_string())
                .output()
                .expect("run radicale-up.sh");
            if out.status.success() {
                return Radicale {
                    base: base.to_path_buf(),
                    port,
                };
            }
            failures.push(format!(
                "port {port}:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        panic!(
            "radicale-up.sh failed (this test needs python3 with venv and PyPI, or RADICALE_VENV):\n{}",
            failures.join("\n")
        );
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The library's DAV client, logged in as alice.
    pub fn client(&self, password: &str) -> Client {
        Client::new(&DavConfig {
            url: self.url(),
            user: Some("alice".into()),
            password: Some(password.into()),
            ..DavConfig::default()
        })
        .expect("client")
    }
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let script = root().join("tests/harness/radicale-down.sh");
        let _ = Command::new("bash").arg(script).arg(&self.base).output();
    }
}
