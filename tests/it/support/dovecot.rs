//! A private Dovecot 2.3 on loopback for one test (tests/harness/dovecot-up.sh),
//! stopped when the guard drops.

use super::free_port;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running private Dovecot.
pub struct Dovecot {
    /// Temp dir holding its config, mail and TLS material.
    pub dir: tempfile::TempDir,
    /// Plain IMAP (STARTTLS offered).
    pub imap_port: u16,
    /// Implicit TLS.
    pub imaps_port: u16,
}

fn have_dovecot() -> bool {
    Command::new("sh")
        .arg("-c")
        .arg("command -v dovecot")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Installs the test bed (tests/harness/ci-install.sh) when Dovecot is
/// missing and we are root, once, under a lock shared by parallel tests.
fn ensure_installed() {
    if have_dovecot() {
        return;
    }
    let installer = super::root().join("tests/harness/ci-install.sh");
    let status = Command::new("flock")
        .arg("/tmp/kerio-migrate-ci-install.lock")
        .arg("bash")
        .arg(&installer)
        .status();
    assert!(
        status.is_ok_and(|s| s.success()) && have_dovecot(),
        "dovecot is not installed and {} could not install it (it needs root and Debian's apt)",
        installer.display()
    );
}

impl Dovecot {
    /// Starts Dovecot with extra environment knobs of dovecot-up.sh
    /// (e.g. `("MAIL_ROOT", dir)`, `("LISTESCAPE", "yes")`).
    pub fn start(env: &[(&str, &str)]) -> Dovecot {
        let script = super::root().join("tests/harness/dovecot-up.sh");
        ensure_installed();
        let dir = tempfile::tempdir().expect("tempdir");
        // Dovecot runs as an unprivileged user: the base must be traversable.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        for _attempt in 0..3 {
            let (imap_port, imaps_port) = (free_port(), free_port());
            // Not a pipe: the daemonised master inherits the script's stdout
            // and would keep a pipe open forever.
            let log_path = dir.path().join("dovecot-up.log");
            let log = std::fs::File::create(&log_path).expect("log file");
            let status = Command::new("bash")
                .arg(&script)
                .arg(dir.path().join("dc"))
                .arg(imap_port.to_string())
                .arg(imaps_port.to_string())
                .envs(env.iter().copied())
                .stdin(std::process::Stdio::null())
                .stdout(log.try_clone().expect("dup"))
                .stderr(log)
                .status()
                .expect("run dovecot-up.sh");
            if status.success() {
                return Dovecot {
                    dir,
                    imap_port,
                    imaps_port,
                };
            }
            eprintln!(
                "dovecot-up.sh failed (retrying on other ports): {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        panic!("could not start dovecot");
    }

    /// The instance's base directory.
    pub fn base(&self) -> PathBuf {
        self.dir.path().join("dc")
    }

    /// The CA that signed the server certificate.
    pub fn ca(&self) -> PathBuf {
        self.base().join("tls/ca.pem")
    }
}

/// What Dovecot serves for an item's bytes outside BINARY FETCH: line
/// ends as CRLF, NUL as 0x80.
pub fn as_served(item: &[u8]) -> Vec<u8> {
    super::crlf(item)
        .into_iter()
        .map(|b| if b == 0 { 0x80 } else { b })
        .collect()
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let script: &Path = &super::root().join("tests/harness/dovecot-down.sh");
        let _ = Command::new("bash")
            .arg(script)
            .arg(self.base())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}
