//! Running the binary. [`bin`] is assert_cmd's command, for one-liners
//! that assert on the exit code or output; [`Run`] builds `kerio-migrate
//! --quiet <command> …` with the options the tests keep repeating (journal,
//! report, a login with a password from the environment) and collects what
//! the tests look at: exit code, stdout, stderr and the JSON report.

use serde_json::Value;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The built binary.
pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("kerio-migrate").expect("binary built")
}

/// Path of the built binary (for `std::process::Command`).
pub fn bin_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("kerio-migrate")
}

/// One invocation of the binary being built.
#[derive(Clone)]
pub struct Run {
    global: Vec<OsString>,
    command: OsString,
    args: Vec<OsString>,
    defaults: Vec<(&'static str, OsString)>,
    envs: Vec<(OsString, OsString)>,
    report: Option<PathBuf>,
}

/// What a finished run left.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code; -1 when a signal ended the process.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The `--report` file, parsed; `Null` when none was asked for or the
    /// run wrote none.
    pub report: Value,
}

impl fmt::Display for Outcome {
    /// For assertion messages: the exit code, stderr, the start of stdout
    /// and the report.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut end = self.stdout.len().min(2000);
        while !self.stdout.is_char_boundary(end) {
            end -= 1;
        }
        write!(
            f,
            "exit {}\n--- stderr\n{}\n--- stdout\n{}\n--- report\n{}",
            self.code,
            self.stderr,
            &self.stdout[..end],
            self.report
        )
    }
}

impl Outcome {
    /// Stdout parsed as JSON (`--json` output).
    pub fn stdout_json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{self}", self.stdout))
    }
}

/// A report file, or `Null` when the run did not write one.
pub fn report_or_null(path: &Path) -> Value {
    if path.exists() {
        super::json(path)
    } else {
        Value::Null
    }
}

impl Run {
    /// `kerio-migrate --quiet <command>`.
    pub fn new(command: &str) -> Run {
        Run {
            global: Vec::new(),
            command: command.into(),
            args: Vec::new(),
            defaults: Vec::new(),
            envs: Vec::new(),
            report: None,
        }
    }

    /// `migrate STORE --to TO`.
    pub fn migrate(store: &Path, to: &str) -> Run {
        Run::new("migrate").arg(store).args(["--to", to])
    }

    /// `migrate STORE --to maildir:OUT`.
    pub fn migrate_to_maildir(store: &Path, out: &Path) -> Run {
        Run::migrate(store, &format!("maildir:{}", out.display()))
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Run {
        self.args.push(a.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// An option before the command (e.g. `-vvv`).
    pub fn global(mut self, a: &str) -> Run {
        self.global.push(a.into());
        self
    }

    /// `--state JOURNAL`.
    pub fn state(self, journal: &Path) -> Run {
        self.arg("--state").arg(journal)
    }

    /// `--report PATH`, read back into [`Outcome::report`].
    pub fn report(mut self, path: &Path) -> Run {
        self.report = Some(path.to_path_buf());
        self.arg("--report").arg(path)
    }

    pub fn env(mut self, key: &str, value: &str) -> Run {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// `--account ACCOUNT --user USER --password-env PW` with `PW` set to
    /// `password`.
    pub fn login(self, account: &str, user: &str, password: &str) -> Run {
        self.args(["--account", account, "--user", user, "--password-env", "PW"])
            .env("PW", password)
    }

    /// `FLAG VALUE`, unless the arguments given name `FLAG` themselves.
    pub fn default_arg(mut self, flag: &'static str, value: &str) -> Run {
        self.defaults.push((flag, value.into()));
        self
    }

    /// Forgets the default arguments set so far.
    pub fn no_defaults(mut self) -> Run {
        self.defaults.clear();
        self
    }

    /// The command line, stdin closed (stdout and stderr as the caller
    /// sets them).
    pub fn command(&self) -> Command {
        let mut c = Command::new(bin_path());
        c.arg("--quiet")
            .args(&self.global)
            .arg(&self.command)
            .args(&self.args);
        for (flag, value) in &self.defaults {
            if !self.args.iter().any(|a| a == flag) {
                c.arg(flag).arg(value);
            }
        }
        c.envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        c
    }

    /// Runs to the end. A report left by an earlier run is removed first,
    /// so that a run that writes none shows `Null`.
    pub fn run(&self) -> Outcome {
        if let Some(r) = &self.report {
            let _ = std::fs::remove_file(r);
        }
        let out = self.command().output().expect("run kerio-migrate");
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            report: self.report.as_deref().map_or(Value::Null, report_or_null),
        }
    }

    /// Starts the run in the background, stdout discarded.
    pub fn spawn(&self, stderr: Stdio) -> Child {
        self.command()
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn kerio-migrate")
    }

    /// Runs a `--json` command that must succeed; its stdout, parsed.
    pub fn json(&self) -> Value {
        let o = self.run();
        assert_eq!(o.code, 0, "{o}");
        o.stdout_json()
    }
}

/// Waits (polling every 20 ms) until `ready()` holds while `child` is
/// still running. Panics when the child ends first or `limit` passes.
pub fn wait_while_running(
    child: &mut Child,
    limit: Duration,
    what: &str,
    mut ready: impl FnMut() -> bool,
) {
    let start = Instant::now();
    while !ready() {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the run ended before {what}"
        );
        assert!(start.elapsed() < limit, "no {what} after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for the end of `child` for at most `limit`; kills it (SIGKILL)
/// and returns `None` when it is still running then.
pub fn wait_at_most(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
