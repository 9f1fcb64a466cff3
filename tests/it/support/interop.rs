//! A private Cyrus IMAP 3.6 or Courier-IMAP 5.0 on a random loopback port
//! for one test (tests/harness/cyrus-up.sh, courier-up.sh: unpacked, not
//! dpkg-installed, in their own pid and mount namespaces), stopped when
//! the guard drops. A server that cannot start fails the test with the
//! script's output: CI installs them (tests/harness/interop-install.sh).

use super::free_port;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Cyrus with Debian's namespace: personal prefix `INBOX.`, separator `.`.
    CyrusDebian,
    /// Cyrus with upstream's namespace: no prefix, separator `/`.
    CyrusUpstream,
    /// Courier-IMAP: `INBOX.`, no SPECIAL-USE, no LITERAL+.
    Courier,
}

impl Kind {
    fn script(self) -> &'static str {
        match self {
            Kind::CyrusDebian | Kind::CyrusUpstream => "cyrus",
            Kind::Courier => "courier",
        }
    }
}

/// One interop server at a time: under load, Courier once left an APPEND
/// unanswered for the whole I/O timeout while another server of this
/// harness ran beside it (cause not found); the other tests still run in
/// parallel with it.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A running server.
pub struct Interop {
    /// Holds the instance's base directory.
    pub dir: tempfile::TempDir,
    pub kind: Kind,
    pub port: u16,
    /// Released after the server is stopped (fields drop after `drop`).
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl Interop {
    /// Starts `kind` with `users` (password `secret`) and extra environment
    /// knobs of the up-script (`EXTRA_CONF`, `AUTOCREATE_FOLDERS`, `FOLDERS`).
    pub fn start(kind: Kind, users: &str, env: &[(&str, &str)]) -> Interop {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let script = super::root().join(format!("tests/harness/{}-up.sh", kind.script()));
        let dir = tempfile::tempdir().expect("tempdir");
        // The server runs as an unprivileged user: the base must be traversable.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        let mut vars: Vec<(&str, &str)> = vec![
            ("IMAP_USERS", users),
            ("IMAP_PASS", "secret"),
            ("FAILED_LOGIN_PAUSE", "0"),
        ];
        match kind {
            Kind::CyrusDebian => vars.extend([("ALTNS", "0"), ("UNIXSEP", "0")]),
            Kind::CyrusUpstream => vars.extend([("ALTNS", "1"), ("UNIXSEP", "1")]),
            Kind::Courier => {}
        }
        vars.extend_from_slice(env);
        let mut logs = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let log_path = dir.path().join("up.log");
            let log = std::fs::File::create(&log_path).expect("log file");
            let status = Command::new("bash")
                .arg(&script)
                .arg(dir.path().join("srv"))
                .arg(port.to_string())
                .envs(vars.iter().copied())
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup"))
                .stderr(log)
                .status();
            let out = std::fs::read_to_string(&log_path).unwrap_or_default();
            match status {
                Ok(s) if s.success() => {
                    return Interop {
                        dir,
                        kind,
                        port,
                        _turn: turn,
                    }
                }
                Ok(s) => logs.push_str(&format!("exit {s}: {out}\n")),
                Err(e) => logs.push_str(&format!("cannot run {}: {e}\n", script.display())),
            }
            // A failed start may leave a half-started instance: stop it.
            down(kind, &dir.path().join("srv"));
        }
        panic!(
            "{kind:?} could not be started by {} (needs root and the servers unpacked by tests/harness/interop-install.sh, as CI does):\n{logs}",
            script.display()
        );
    }

    /// The instance's base directory.
    pub fn base(&self) -> PathBuf {
        self.dir.path().join("srv")
    }
}

fn down(kind: Kind, base: &std::path::Path) {
    let script = super::root().join(format!("tests/harness/{}-down.sh", kind.script()));
    let _ = Command::new("bash")
        .arg(script)
        .arg(base)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Drop for Interop {
    fn drop(&mut self) {
        down(self.kind, &self.base());
    }
}
