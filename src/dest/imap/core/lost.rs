//! What a lost connection means for the messages it carried: a pure
//! decision per message, in the order the connection's handling meets
//! them ([`after_loss`], then [`after_check`] or one of the check's
//! failures, then [`retry`] for what is sent again).
//!
//! Invariants a maintainer must keep: a message is sent again only when it
//! is certainly not on the server (not written completely, or a check
//! found no copy that can be it); a message written on a connection that
//! timed out is never checked nor sent again in this run (a slow server
//! may still store it after any check); whatever cannot be decided is "in
//! doubt": reported failed, left pending for the next run's check.

use super::decide::backoff;
use std::time::Duration;

use super::matching::Found;

/// The decision for one message of a lost connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Certainly not stored: send it again.
    Retry,
    /// Maybe stored: look for it on the server first.
    Check,
    /// The check found it at this UID.
    Stored(u32),
    /// Cannot tell (why, for the report): not sent again in this run.
    InDoubt(String),
}

/// A message of a connection lost with `why`: `written` completely or not,
/// the connection `timed_out` or not.
pub(crate) fn after_loss(written: bool, timed_out: bool, why: &str) -> Verdict {
    if !written {
        Verdict::Retry
    } else if timed_out {
        Verdict::InDoubt(format!(
            "arrival in doubt: no answer in time ({why}); left pending, the next run checks it (not sent again)"
        ))
    } else {
        Verdict::Check
    }
}

/// A message the check looked for.
pub(crate) fn after_check(found: &Found) -> Verdict {
    match found {
        Found::Present(uid) => Verdict::Stored(*uid),
        Found::Absent => Verdict::Retry,
        Found::Unknown(why) => Verdict::InDoubt(format!(
            "arrival in doubt; left pending, the next run checks it (the connection was lost before the answer; {why})"
        )),
    }
}

/// The check itself failed (`error`): never send again blindly.
pub(crate) fn check_failed(error: &str) -> Verdict {
    Verdict::InDoubt(format!(
        "arrival in doubt: the connection was lost before the answer and the check failed ({error}); left pending, the next run checks it"
    ))
}

/// No new connection for the check (`error`): the verdict for each message
/// to check, and why the account stops.
pub(crate) fn reconnect_failed(why: &str, error: &str) -> (Verdict, String) {
    (
        Verdict::InDoubt(format!(
            "arrival in doubt: the connection was lost before the answer ({why}) and reconnecting failed ({error}); left pending, the next run checks it"
        )),
        format!("cannot reconnect to the target: {error}"),
    )
}

/// A message to send again, on its way for the `attempts`-th lost
/// connection: `Err` with the reason once `retries` are used up.
pub(crate) fn retry(attempts: u32, retries: u32, why: &str) -> Result<(), String> {
    if attempts > retries {
        Err(format!("connection lost {attempts} times; last: {why}"))
    } else {
        Ok(())
    }
}

/// The pause before sending again, from the most connections any queued
/// message has lost.
pub(crate) fn pause(max_attempts: u32, backoff_max: Duration) -> Option<Duration> {
    (max_attempts > 0).then(|| backoff(max_attempts - 1, backoff_max))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHY: &str = "127.0.0.1:1: connection lost: EOF from server";

    #[test]
    fn unwritten_is_retried_written_is_checked_unless_timed_out() {
        assert_eq!(after_loss(false, false, WHY), Verdict::Retry);
        assert_eq!(after_loss(false, true, WHY), Verdict::Retry);
        assert_eq!(after_loss(true, false, WHY), Verdict::Check);
        let Verdict::InDoubt(reason) = after_loss(true, true, "read: timed out") else {
            panic!("a timed-out command is in doubt");
        };
        assert_eq!(
            reason,
            "arrival in doubt: no answer in time (read: timed out); left pending, the next run checks it (not sent again)"
        );
    }

    #[test]
    fn the_check_decides_or_leaves_it_in_doubt() {
        assert_eq!(after_check(&Found::Present(9)), Verdict::Stored(9));
        assert_eq!(after_check(&Found::Absent), Verdict::Retry);
        let Verdict::InDoubt(r) = after_check(&Found::Unknown("2 twins".into())) else {
            panic!("unknown is in doubt");
        };
        assert!(
            r.starts_with("arrival in doubt") && r.ends_with("2 twins)"),
            "{r}"
        );
        assert!(
            matches!(check_failed("EXAMINE: NO"), Verdict::InDoubt(r) if r.contains("the check failed (EXAMINE: NO)"))
        );
        let (v, stop) = reconnect_failed(WHY, "refused");
        assert!(matches!(v, Verdict::InDoubt(r) if r.contains("reconnecting failed (refused)")));
        assert_eq!(stop, "cannot reconnect to the target: refused");
    }

    #[test]
    fn retries_run_out_and_pauses_grow() {
        assert_eq!(retry(5, 5, WHY), Ok(()));
        assert_eq!(
            retry(6, 5, WHY),
            Err(format!("connection lost 6 times; last: {WHY}"))
        );
        let max = Duration::from_secs(60);
        assert_eq!(pause(0, max), None);
        assert_eq!(pause(1, max), Some(Duration::from_secs(1)));
        assert_eq!(pause(3, max), Some(Duration::from_secs(4)));
    }
}
