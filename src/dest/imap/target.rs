//! What every session of one target login shares in a run (the sessions
//! of one account's folders, `--parallel-folders`, and of every source
//! account that goes to that login): whether the server said the account
//! is full. The first `[OVERQUOTA]` stops all of them at once: each
//! session stops handing out messages and sends nothing new, instead of
//! each one appending until it meets the quota itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// A stop with its reason (the first reason stays).
#[derive(Debug, Default)]
pub(super) struct Halt {
    why: Mutex<Option<String>>,
    set: AtomicBool,
}

impl Halt {
    /// Why it stopped, if it did.
    pub fn why(&self) -> Option<String> {
        if !self.is_set() {
            return None;
        }
        self.why.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops, unless it stopped already (then the first reason stays).
    pub fn stop(&self, why: String) {
        let mut s = self.why.lock().unwrap_or_else(|p| p.into_inner());
        s.get_or_insert(why);
        self.set.store(true, Ordering::Relaxed);
    }

    /// The cheap check, for every command handed to a pipe.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::Relaxed)
    }
}

/// What the sessions of one target login share.
#[derive(Debug, Default)]
pub(super) struct Target {
    /// The account is full (`[OVERQUOTA]`): nothing more is sent to it.
    pub full: Halt,
}
