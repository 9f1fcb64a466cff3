//! Connecting an account: the settings every connection of one account
//! shares (server, options, credentials, token cache, byte budget, Ctrl-C)
//! and connecting with backoff. Only connection-level failures are retried;
//! a refused login or a certificate that does not verify is final (and a
//! refused credential is not tried again by the run's other connections,
//! see [`super::gate`]).

use super::auth::{Credentials, TokenCache};
use super::client::ImapSession;
use super::conn::ConnectConfig;
use super::core::budget::ByteBudget;
use super::core::decide::backoff;
use super::error::ImapError;
use super::gate::LoginGate;
use super::target::Target;
use super::ImapOptions;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What every connection of an account shares.
pub(super) struct Shared {
    pub cfg: ConnectConfig,
    pub opts: ImapOptions,
    pub creds: Credentials,
    pub tokens: Arc<TokenCache>,
    /// The run's logins: a refused credential is tried once.
    pub gate: Arc<LoginGate>,
    /// The probe's connection, for the run's first login.
    pub spare: Arc<super::spare::Spare>,
    /// What the sessions of this target login share (over quota).
    pub target: Arc<Target>,
    pub cancel: Arc<AtomicBool>,
    pub budget: Arc<ByteBudget>,
    /// The account's counters: windows, RTT, retries, budget waits (those
    /// `--metrics-listen` serves, when it is on).
    pub link: Arc<crate::progress::metrics::AccountMetrics>,
    /// What the account's sessions learnt of the server's folders.
    pub learned: Arc<super::folders::Learned>,
}

impl Shared {
    /// Connects, retrying connection-level failures with backoff; a
    /// connection that got no answer in time (a stalled server) is tried
    /// once more at most, not `--retries` times.
    pub(crate) fn connect(&self) -> Result<ImapSession, ImapError> {
        let mut attempt = 0;
        let mut stalls = 0;
        loop {
            match ImapSession::connect(
                &self.cfg,
                &self.creds,
                &self.tokens,
                &self.gate,
                &self.spare,
            ) {
                Ok(s) => return Ok(s),
                Err(e) if e.is_stall() && stalls >= 1 => return Err(e),
                Err(e) if e.is_connection() && attempt < self.opts.retries => {
                    stalls += u32::from(e.is_stall());
                    let wait = backoff(attempt, self.opts.backoff_max);
                    tracing::warn!("{e}; reconnecting in {wait:?}");
                    self.sleep(wait);
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sleeps, waking early on Ctrl-C.
    pub(crate) fn sleep(&self, d: Duration) {
        let end = Instant::now() + d;
        while Instant::now() < end && !self.cancel.load(Ordering::Relaxed) {
            std::thread::sleep((end - Instant::now()).min(Duration::from_millis(200)));
        }
    }
}
