//! The registry of destinations: one function turns a parsed `--to`
//! ([`DestUrl`]) and the settings the command line gathered
//! ([`DestConfig`]) into a [`Destination`]. A new destination is a new
//! module under `dest/`, one [`DestUrl`] variant and one arm here.

use super::imap::{ConnectConfig, ImapDest, ImapOptions, Logins, TlsMode};
use super::maildir::{MaildirDest, MaildirOptions};
use super::{DestError, DestUrl, Destination};
use crate::mapping::{Mapper, MappingConfig, TargetFolders};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// What the destination is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Writing: a Maildir root is created when missing.
    Migrate,
    /// Planning: nothing is created, not even a Maildir root.
    Plan,
    /// Checking what is there: a Maildir root must exist.
    Verify,
}

/// Maildir settings from the command line.
#[derive(Debug, Clone, Default)]
pub struct MaildirSettings {
    /// `--maildir-dot-char`.
    pub dot_char: Option<char>,
    /// `--fsync`.
    pub fsync_each: bool,
}

/// IMAP settings from the command line (the address is in the URL).
#[derive(Debug, Clone)]
pub struct ImapSettings {
    /// `--tls`, overriding the scheme's mode.
    pub tls: Option<TlsMode>,
    /// `--tls-ca`.
    pub tls_ca: Option<PathBuf>,
    /// `--insecure`.
    pub insecure: bool,
    /// `--connect-timeout`.
    pub connect_timeout: Duration,
    /// `--io-timeout`.
    pub io_timeout: Duration,
    /// Connections, window, batch, NUL policy, byte budget, retries.
    pub options: ImapOptions,
    /// How each source account logs in.
    pub logins: Logins,
}

/// Everything a destination needs besides its address.
#[derive(Debug, Clone)]
pub struct DestConfig {
    /// The folder mapping.
    pub mapping: MappingConfig,
    /// A mapping option was given (`--preset`, `--prefix`, `--mapping`):
    /// without one a Maildir keeps every folder's path as it is.
    pub mapping_given: bool,
    /// Maildir settings.
    pub maildir: MaildirSettings,
    /// IMAP settings (`None`: the command line gave no IMAP destination).
    pub imap: Option<ImapSettings>,
    /// Set by Ctrl-C / SIGTERM: cuts waits short.
    pub cancel: Arc<AtomicBool>,
}

/// Opens the destination `url` for `purpose`. An IMAP destination is
/// reached once (TCP, TLS, greeting) before anything starts, so a wrong
/// address or certificate fails the run at once; that connection is the
/// run's first login's.
pub fn open(
    url: &DestUrl,
    cfg: DestConfig,
    purpose: Purpose,
) -> Result<Box<dyn Destination>, DestError> {
    match url {
        DestUrl::Maildir { dir } => open_maildir(dir, cfg, purpose),
        DestUrl::Imap { host, port, tls } => {
            let Some(s) = cfg.imap else {
                return Err(DestError::Unsupported(format!(
                    "{url}: no IMAP settings were given"
                )));
            };
            let connect = ConnectConfig {
                host: host.clone(),
                port: *port,
                tls: s.tls.unwrap_or(*tls),
                tls_ca: s.tls_ca,
                insecure: s.insecure,
                connect_timeout: s.connect_timeout,
                io_timeout: s.io_timeout,
            };
            let options = ImapOptions {
                mapping: cfg.mapping,
                ..s.options
            };
            let dest = ImapDest::new(connect, options, s.logins, cfg.cancel);
            dest.probe()
                .map_err(|e| DestError::Unreachable(e.to_string()))?;
            Ok(Box::new(dest))
        }
    }
}

fn open_maildir(
    dir: &std::path::Path,
    cfg: DestConfig,
    purpose: Purpose,
) -> Result<Box<dyn Destination>, DestError> {
    let opts = MaildirOptions {
        dot_char: cfg.maildir.dot_char,
        fsync_each: cfg.maildir.fsync_each,
        mapper: cfg
            .mapping_given
            .then(|| Arc::new(Mapper::new(&cfg.mapping, &TargetFolders::maildir()))),
    };
    let dest = match purpose {
        Purpose::Migrate => MaildirDest::new(dir, opts)?,
        Purpose::Plan => MaildirDest::for_plan(dir, opts)?,
        Purpose::Verify => {
            if !dir.is_dir() {
                return Err(DestError::Mailbox {
                    mailbox: dir.display().to_string(),
                    reason: "no such Maildir root".into(),
                });
            }
            MaildirDest::new(dir, opts)?
        }
    };
    Ok(Box::new(dest))
}
