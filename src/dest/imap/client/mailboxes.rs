//! Creating mailboxes on the control connection: what the server lacks
//! of a folder's path (from one LIST, remembered), CREATE parents first,
//! the subscriptions the next flight sends, and what this connection
//! knows exists.

use super::ImapSession;
use crate::dest::imap::error::ImapError;
use std::collections::HashSet;

impl ImapSession {
    /// Makes sure the mailbox named by `components` (joined with the
    /// server's delimiter) exists, creating missing parents first and
    /// subscribing what it creates (in the next flight, see
    /// [`Self::subscribe_pending`]). Returns the full Unicode name. A CREATE
    /// that fails because another connection was faster is tolerated
    /// (io-imap drops `[ALREADYEXISTS]`, so LIST decides).
    pub fn ensure_mailbox(&mut self, components: &[String]) -> Result<String, ImapError> {
        let (full, missing) = self.missing_mailboxes(components)?;
        for name in missing {
            if let Err(e) = self.create(&name) {
                if e.is_connection() {
                    return Err(e);
                }
                let now = self.list_all()?;
                if !now.iter().any(|m| m.name == name && !m.is_noselect()) {
                    return Err(e);
                }
                self.known_mailbox(&name);
                continue;
            }
            self.known_mailbox(&name);
            self.to_subscribe.push(name);
        }
        Ok(full)
    }

    /// What [`Self::ensure_mailbox`] would create for `components`, and
    /// checks first, creating nothing: the full name, and the names not on
    /// the server as far as this connection knows, parents first.
    pub fn missing_mailboxes(
        &mut self,
        components: &[String],
    ) -> Result<(String, Vec<String>), ImapError> {
        if components.is_empty() || components.iter().any(String::is_empty) {
            return Err(ImapError::Invalid("empty mailbox name component".into()));
        }
        let delim = self.delimiter()?;
        if delim.is_none() && components.len() > 1 {
            return Err(ImapError::Invalid(
                "the server has a flat namespace (no hierarchy delimiter)".into(),
            ));
        }
        if let Some(d) = delim {
            if let Some(c) = components.iter().find(|c| c.contains(d)) {
                return Err(ImapError::Invalid(format!(
                    "component {c:?} contains the hierarchy delimiter {d:?}"
                )));
            }
        }
        if self.existing.is_none() {
            let listed: HashSet<String> = self
                .list_all()?
                .into_iter()
                .filter(|m| !m.is_noselect())
                .map(|m| m.name)
                .collect();
            self.existing = Some(listed);
        }
        let existing = self.existing.as_ref();
        let mut full = String::new();
        let mut missing = Vec::new();
        for (i, comp) in components.iter().enumerate() {
            if let (true, Some(d)) = (i > 0, delim) {
                full.push(d);
            }
            full.push_str(comp);
            if !full.eq_ignore_ascii_case("INBOX") && !existing.is_some_and(|e| e.contains(&full)) {
                missing.push(full.clone());
            }
        }
        Ok((full, missing))
    }

    /// SUBSCRIBE what [`Self::ensure_mailbox`] created and no flight
    /// subscribed yet. Subscription is a convenience: a server that
    /// refuses it still has the mailbox (a warning).
    pub fn subscribe_pending(&mut self) -> Result<(), ImapError> {
        for name in std::mem::take(&mut self.to_subscribe) {
            if let Err(e) = self.subscribe(&name) {
                if e.is_connection() {
                    return Err(e);
                }
                tracing::warn!("{}: SUBSCRIBE {name:?}: {e}", self.server);
            }
        }
        Ok(())
    }

    pub(super) fn known_mailbox(&mut self, name: &str) {
        if let Some(set) = self.existing.as_mut() {
            set.insert(name.to_string());
        }
    }

    /// What a LIST of every mailbox just showed (the selectable ones), so
    /// [`Self::ensure_mailbox`] need not LIST again.
    pub fn know_mailboxes(&mut self, names: impl IntoIterator<Item = String>) {
        self.existing = Some(names.into_iter().collect());
    }

    /// Forgets which mailboxes exist: the next [`Self::ensure_mailbox`]
    /// asks LIST again (a mailbox deleted since then is created again).
    pub fn forget_mailboxes(&mut self) {
        self.existing = None;
    }
}
