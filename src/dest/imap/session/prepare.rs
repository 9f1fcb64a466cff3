//! Preparing a folder's mailbox on the IMAP target, split from [`super`]
//! (which owns the session): where the folder goes, creating what the
//! server lacks (a refused name gets its substitute), and the flight that
//! examines it, whose STATUS the next `deliver` uses. A folder can be
//! prepared ahead, while the folder before it on the session has its last
//! messages in flight ([`ImapAccountSession::prepare_ahead`]).

use super::{worker, ImapAccountSession, MailboxState};
use crate::dest::imap::core::dispatch::PermFlags;
use crate::dest::imap::core::names;
use crate::dest::imap::error::ImapError;
use crate::dest::{DestError, MailboxSpec};

impl ImapAccountSession {
    /// [`DestSession::prepare_mailbox`](crate::dest::DestSession::prepare_mailbox):
    /// the mailbox prepared ahead for `spec` (see [`Self::prepare_ahead`]),
    /// else placed, created when missing and examined in one flight.
    pub(super) fn prepare(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        if let Some(why) = self.stopped() {
            return Err(DestError::Stopped(why));
        }
        if let Some(name) = self.ahead.remove(&spec.source_path) {
            if self.mailboxes.contains_key(&name) {
                return Ok(name);
            }
        }
        // The mapping's notes reach the report through explain_mailbox.
        let comps = self.place(spec).map_err(|e| self.err(e))?.components;
        // A mailbox the server lacks is created in the flight that
        // examines it (one round trip, not one more per missing level),
        // unless its name was refused before (then `create` substitutes).
        let planned = if self.renamed.contains_key(&spec.source_path) {
            None
        } else {
            self.with_control_keep(|c| c.missing_mailboxes(&comps)).ok()
        };
        let (mut name, creating) = match planned {
            Some((full, missing)) if !missing.is_empty() => (full, missing),
            _ => (self.create(spec, &comps)?, Vec::new()),
        };
        self.shared.target.reserve(&name, &spec.source_path);
        // A mailbox this session had to create: its messages are to send.
        let existed = name.eq_ignore_ascii_case("INBOX")
            || self.folders.target_folders().existing.contains(&name);
        if !self.warmed && !existed {
            self.warmed = true;
            self.warming = worker::warm(&self.shared, self.conns.len());
        }
        // EXAMINE, UNSELECT, STATUS of the mailbox (for `deliver`) and, the
        // first time, of INBOX (for `identity`), in one flight.
        let inbox = self.inbox_uid_validity.is_none();
        let more: &[&str] = if inbox { &["INBOX"] } else { &[] };
        let mut flight = self.with_control(|c| c.examine_status(&name, &creating, more));
        if matches!(flight, Err(ImapError::Command { .. })) {
            // The mailbox this connection saw (or created) may be gone, or
            // the flight's CREATE was refused: LIST and create again, once,
            // one by one (a refused name gets its substitute there).
            if let Some(c) = self.control.as_mut() {
                c.forget_mailboxes();
            }
            let again = self.create(spec, &comps)?;
            if again == name || !creating.is_empty() {
                name = again;
                flight = self.with_control(|c| c.examine_status(&name, &[], more));
            }
        }
        let (ex, status) = match flight {
            Ok((ex, st)) => (ex, st),
            Err(e) if !e.is_connection() && !matches!(e, ImapError::Command { .. }) => {
                // The flight could not say it: one by one.
                tracing::debug!("{}: {name}: EXAMINE one by one: {e}", self.source);
                let ex = self
                    .with_control(|c| {
                        c.subscribe_pending()?;
                        let ex = c.examine(&name)?;
                        c.unselect()?;
                        Ok(ex)
                    })
                    .map_err(|e| self.err(e))?;
                (ex, Vec::new())
            }
            Err(e) => return Err(self.err(e)),
        };
        if let Some(Some(st)) = status.first() {
            self.prefetched.insert(name.clone(), *st);
        }
        if inbox {
            self.inbox_uid_validity = status
                .get(1)
                .copied()
                .flatten()
                .and_then(|s| s.uid_validity);
        }
        let perm = PermFlags::from(ex.storable_flags());
        self.mailboxes.insert(
            name.clone(),
            MailboxState {
                uid_validity: ex.uid_validity,
                perm,
            },
        );
        Ok(name)
    }

    /// [`DestSession::mailbox_for_moves`](crate::dest::DestSession::mailbox_for_moves):
    /// the mapped name of a mailbox the server listed (selectable, and not
    /// a name refused before), with no command sent; else [`Self::prepare`]
    /// (created, or its substitute).
    pub(super) fn listed_or_prepared(&mut self, spec: &MailboxSpec) -> Result<String, DestError> {
        if let Some(why) = self.stopped() {
            return Err(DestError::Stopped(why));
        }
        if !self.renamed.contains_key(&spec.source_path) {
            let comps = self.place(spec).map_err(|e| self.err(e))?.components;
            let planned = self.with_control_keep(|c| c.missing_mailboxes(&comps));
            if let Ok((name, missing)) = planned {
                if missing.is_empty() {
                    self.shared.target.reserve(&name, &spec.source_path);
                    return Ok(name);
                }
            }
        }
        self.prepare(spec)
    }

    /// Prepares the mailbox of the folder that comes next on this session
    /// while the current folder's last messages are in flight (the control
    /// connection is idle then), so that the next folder's first APPEND
    /// does not wait for that round trip: [`Self::prepare`] finds it ready.
    /// Not for a name some server refuses (its substitute needs the
    /// journal's hint, read when that folder starts); a mailbox that is
    /// `current` keeps no STATUS (it is being written). An error is left
    /// for `prepare` to meet again and report.
    pub(super) fn prepare_ahead(&mut self, spec: &MailboxSpec, current: &str) {
        if self.stopped().is_some() || names::substitute(&spec.components, 0, false).is_some() {
            return;
        }
        match self.prepare(spec) {
            Ok(name) => {
                if name == current {
                    self.prefetched.remove(&name);
                }
                self.ahead.insert(spec.source_path.clone(), name);
            }
            Err(e) => tracing::debug!(
                "{}: {}: not prepared ahead: {e}",
                self.source,
                spec.source_path
            ),
        }
    }

    /// Creates the mailbox of `components` (and its parents). A name the
    /// server refuses (`.` on Maildir++ storage, `"` and `\` on Cyrus,
    /// emoji in modified UTF-7 on Courier) does not fail every message of
    /// the folder: it is created with the substitution of
    /// [`names::substitute`] (numbered when another folder of the login
    /// has that name, see [`super::target::Target::substitute`]) and the
    /// rename remembered for the report.
    fn create(&mut self, spec: &MailboxSpec, comps: &[String]) -> Result<String, DestError> {
        let fixed = self.folders.fixed_components(comps);
        let alt = names::substitute(comps, fixed, false);
        let e = match self.with_control(|c| c.ensure_mailbox(comps)) {
            Ok(n) => return Ok(n),
            Err(e) if !e.is_connection() && alt.is_some() => e,
            Err(e) => return Err(self.err(e)),
        };
        let alt = alt.unwrap_or_default();
        let delimiter = self.with_control_keep(|c| c.delimiter()).ok().flatten();
        let journaled = self.hinted.as_deref().unwrap_or_default();
        let sub = self
            .shared
            .target
            .substitute(&spec.source_path, &alt, delimiter, journaled);
        let n = match self.with_control(|c| c.ensure_mailbox(&sub.components)) {
            Ok(n) => n,
            Err(e2) => {
                let alt = &sub.components;
                return Err(self.refused(format!("{e}; as {alt:?} too: {e2}")));
            }
        };
        let numbered = match &sub.taken {
            Some(t) => format!(", numbered as {t:?} goes to another folder"),
            None => String::new(),
        };
        self.renamed.insert(
            spec.source_path.clone(),
            (
                n.clone(),
                format!("the server refused the name ({e}); created as {n:?}: {}{numbered} (a mapping file can choose another name)", names::SUBSTITUTION),
            ),
        );
        Ok(n)
    }
}
