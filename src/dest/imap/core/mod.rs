//! The sans-I/O core of the IMAP destination: everything that decides,
//! with no socket, no clock and no thread. The I/O side
//! ([`super::worker`], [`super::session`]) feeds it server bytes, time and
//! channel traffic and carries out what it answers.
//!
//! - [`wire`] — APPEND / MULTIAPPEND bytes (imap-codec) and tagged answers;
//! - [`append`] — the append pipe of one connection (window, literals,
//!   tags, `+`, BYE, poisoning, the facts of a lost connection);
//! - [`decide`] — what a tagged answer means for its unit (retry, split,
//!   recreate, pause, fail, stop the account), and the backoff;
//! - [`lost`] — what a lost connection means (retry, check, in doubt);
//! - [`lane`] — one connection's queue, carrying out `decide` and `lost`;
//! - [`dispatch`] — checks, groups, announces and hands out messages, with
//!   an injected [`dispatch::Clock`] and [`dispatch::Link`];
//! - [`window`] — the adaptive window: RTT from the commands' answers,
//!   slow-start growth up to the caps, back-off when throttled;
//! - [`budget`] — `--max-bytes-per-day`;
//! - [`claims`] — what this run (and the journal) knows of its copies;
//! - [`matching`] — which copy on the server is which message;
//! - [`identity`] — what identifies a message however a server stored it
//!   (decoded content, header fingerprint);
//! - [`adopt`] — messages on the server the journal has no record of,
//!   matched before appending.
//! - [`marker`] — the Pending marker written to the journal;
//! - [`layout`] — the server's personal namespace and its LIST rows
//!   (NAMESPACE, `RETURN (SPECIAL-USE)`, the prefix inferred without it);
//! - [`names`] — the server product, names servers refuse, the
//!   substitution a refused name gets;
//! - [`stored`] — a stored size that differs from the size sent
//!   ("stored altered by the server") and the hint for it.
//!
//! Invariants: nothing here reads a socket, the clock or a channel (time
//! comes in as arguments or through [`dispatch::Clock`]); every message
//! the dispatcher takes gets exactly one outcome (settled there, or one
//! [`Report::Done`] from a lane); no io-imap, imap-next or imap-types
//! type leaves `dest::imap`. `scenarios` replays the fake-server
//! tests on a scripted server.

pub(crate) mod adopt;
pub(crate) mod append;
pub(crate) mod budget;
pub(crate) mod claims;
pub(crate) mod decide;
pub(crate) mod dispatch;
pub(crate) mod identity;
pub(crate) mod lane;
pub(crate) mod layout;
pub(crate) mod lost;
pub(crate) mod marker;
pub(crate) mod matching;
pub(crate) mod names;
pub(crate) mod stored;
pub(crate) mod window;
pub(crate) mod wire;

#[cfg(test)]
mod scenarios;

use crate::dest::DeliveryResult;
use imap_next::imap_types::{datetime::DateTime as ImapDateTime, flag::Flag};

/// One message ready for the wire.
#[derive(Debug)]
pub(crate) struct Msg {
    /// The message key: unique within one `deliver` call.
    pub key: u64,
    /// The bytes to send (NUL stripped when the policy says so), shared
    /// with the commands that carry them.
    pub data: std::sync::Arc<Vec<u8>>,
    /// The flags the mailbox keeps.
    pub flags: Vec<Flag<'static>>,
    /// INTERNALDATE, clamped to 1970 … now.
    pub date: Option<ImapDateTime>,
    /// `date` as Unix seconds, for the Message-ID plausibility check.
    pub sent_date: Option<i64>,
    /// Message-ID (without `<>`).
    pub message_id: Option<String>,
    /// [`matching::fold_hash`] of `data`.
    pub hash: [u8; 32],
    /// [`identity::decoded_hash`] of `data`, when the server may store it
    /// re-encoded (a `Content-Transfer-Encoding: binary` part).
    pub decoded: Option<[u8; 32]>,
    /// Lowest UID it can get (the marker's), set when it is handed out.
    pub lower: u32,
    /// Connections lost while it was on the way.
    pub attempts: u32,
}

/// Messages sent as one command (MULTIAPPEND when more than one).
#[derive(Debug)]
pub(crate) struct Unit {
    /// The messages, in order.
    pub msgs: Vec<Msg>,
    /// What was tried on it already.
    pub tries: decide::Tries,
}

impl Unit {
    /// A unit that has not been tried yet.
    pub fn new(msgs: Vec<Msg>) -> Unit {
        Unit {
            msgs,
            tries: decide::Tries::default(),
        }
    }
}

/// What the connections report to the dispatcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// The final outcome of one message (by its key).
    Done { key: u64, result: DeliveryResult },
    /// A line for the folder's report.
    Note(String),
}

impl Report {
    /// Every message of `msgs` failed with `reason`.
    pub fn fail_all(msgs: Vec<Msg>, reason: &str) -> Vec<Report> {
        msgs.into_iter()
            .map(|m| Report::Done {
                key: m.key,
                result: DeliveryResult::Failed {
                    reason: reason.to_string(),
                },
            })
            .collect()
    }
}
