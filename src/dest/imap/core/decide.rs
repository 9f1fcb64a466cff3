//! What a tagged answer means for the unit it answers: a pure
//! [`decide`] from the outcome, what was tried on the unit already and the
//! policy, to an [`Action`] the connection carries out. The backoff
//! helpers live here too.
//!
//! Invariants: OK is the only outcome under which anything was stored; a
//! NO or BAD stored nothing (MULTIAPPEND is atomic), so every other action
//! may send the unit's messages again. `[TRYCREATE]` recreates the mailbox
//! once per unit; `[THROTTLED]` / `[UNAVAILABLE]` (after NO) pause at most
//! `2 × retries` (at least 2) times; `[OVERQUOTA]` (or a `[LIMIT]` that
//! says it is the quota) stops the account, as waiting does not help; any other refusal of a batch splits it, and of a
//! single message fails it with the server's words.

use crate::dest::imap::error::RespCode;
use std::time::Duration;

use super::wire::CmdOutcome;

/// What was tried on a unit already.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tries {
    /// Answers `[THROTTLED]` / `[UNAVAILABLE]` so far.
    pub throttled: u32,
    /// The mailbox was recreated for it after `[TRYCREATE]`.
    pub recreated: bool,
}

/// The policy [`decide`] applies.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    /// `--retries`.
    pub retries: u32,
    /// Longest pause between attempts.
    pub backoff_max: Duration,
    /// The mailbox's UIDVALIDITY, for copies stored without APPENDUID.
    pub uid_validity: Option<u32>,
}

/// What to do with a unit after its tagged answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Stored: one UID per message when the server said (UIDPLUS).
    Stored {
        uid_validity: Option<u32>,
        uids: Vec<Option<u32>>,
    },
    /// Create the mailbox again, then send the unit first.
    Recreate { tries: Tries },
    /// Pause the connection for `wait`, then send the unit first; `said`
    /// is the server's answer, for the log.
    Pause {
        wait: Duration,
        said: String,
        tries: Tries,
    },
    /// Send the batch's messages one by one, first in line; `note` is for
    /// the folder's report.
    Split { note: String },
    /// Fail every message of the unit.
    Fail { reason: String },
    /// Fail every message of the unit and stop the account.
    StopAccount { reason: String },
}

/// The account is full: nothing more fits, for any session.
fn over_quota(said: &str) -> Action {
    Action::StopAccount {
        reason: format!("the target account is over quota ({said}); stopped this account"),
    }
}

/// The action for `outcome`, the answer to a unit of `len` messages.
pub(crate) fn decide(outcome: CmdOutcome, len: usize, tries: Tries, policy: &Policy) -> Action {
    let (kind, code, text) = match outcome {
        CmdOutcome::Ok { appenduid } => return stored(appenduid, len, policy),
        CmdOutcome::No { code, text } => ("NO", code, text),
        CmdOutcome::Bad { code, text } => ("BAD", code, text),
    };
    let said = match &code {
        Some(c) => format!("{kind} [{c}] {text}"),
        None => format!("{kind} {text}"),
    };
    match code {
        Some(RespCode::TryCreate) if kind == "NO" && !tries.recreated => Action::Recreate {
            tries: Tries {
                recreated: true,
                ..tries
            },
        },
        Some(RespCode::Throttled) | Some(RespCode::Unavailable) if kind == "NO" => {
            let throttled = tries.throttled + 1;
            if throttled > policy.retries.saturating_mul(2).max(2) {
                return Action::Fail {
                    reason: format!("the server kept refusing: {said}"),
                };
            }
            let wait = suggested_backoff(&text)
                .unwrap_or_else(|| backoff(throttled - 1, policy.backoff_max));
            Action::Pause {
                wait,
                said,
                tries: Tries { throttled, ..tries },
            }
        }
        Some(RespCode::OverQuota) => over_quota(&said),
        // `[LIMIT]` is an administrative limit, mostly the message's size;
        // said of the quota, it is the account being full.
        Some(RespCode::Limit) if kind == "NO" && text.to_ascii_lowercase().contains("quota") => {
            over_quota(&said)
        }
        // A MULTIAPPEND batch is all-or-nothing: send its messages one by
        // one to find the one the server refuses.
        _ if len > 1 => Action::Split {
            note: format!(
                "a MULTIAPPEND batch of {len} was refused ({said}); its messages were sent one by one"
            ),
        },
        _ => Action::Fail {
            reason: format!("the server refused the message: {said}"),
        },
    }
}

/// OK: the UIDs of `[APPENDUID]` when there is one per message; without
/// UIDPLUS (or a count that does not fit) the copies have no known UID.
fn stored(appenduid: Option<(u32, Vec<u32>)>, len: usize, policy: &Policy) -> Action {
    let (uid_validity, uids) = match appenduid {
        Some((v, u)) if u.len() == len => (Some(v), u.into_iter().map(Some).collect()),
        Some((v, _)) => (Some(v), vec![None; len]),
        None => (policy.uid_validity, vec![None; len]),
    };
    Action::Stored { uid_validity, uids }
}

/// 1 s, 2 s, 4 s … up to `max`.
pub(crate) fn backoff(attempt: u32, max: Duration) -> Duration {
    Duration::from_secs(1u64 << attempt.min(16)).min(max)
}

/// "Suggested Backoff Time: 5000 milliseconds" (Microsoft 365) in a NO text.
pub(crate) fn suggested_backoff(text: &str) -> Option<Duration> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("suggested backoff time")?;
    let rest = &lower[at + "suggested backoff time".len()..];
    let digits: String = rest
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let n: u64 = digits.parse().ok()?;
    let after = rest
        .split_once(&digits)
        .map(|(_, a)| a.trim_start())
        .unwrap_or("");
    let ms = if after.starts_with("sec") || after.starts_with('s') && !after.starts_with("ms") {
        n.saturating_mul(1000)
    } else {
        n
    };
    Some(Duration::from_millis(ms.min(3_600_000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        retries: 5,
        backoff_max: Duration::from_secs(60),
        uid_validity: Some(42),
    };

    fn no(code: Option<RespCode>, text: &str) -> CmdOutcome {
        CmdOutcome::No {
            code,
            text: text.into(),
        }
    }

    #[test]
    fn backoff_hints() {
        assert_eq!(
            suggested_backoff("Request is throttled. Suggested Backoff Time: 5000 milliseconds"),
            Some(Duration::from_millis(5000))
        );
        assert_eq!(
            suggested_backoff("[THROTTLED] Suggested Backoff Time: 3 seconds"),
            Some(Duration::from_secs(3))
        );
        assert_eq!(suggested_backoff("slow down"), None);
        assert_eq!(backoff(0, Duration::from_secs(60)), Duration::from_secs(1));
        assert_eq!(
            backoff(10, Duration::from_secs(60)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn ok_gives_each_message_its_uid_or_none() {
        let ok = |a| CmdOutcome::Ok { appenduid: a };
        assert_eq!(
            decide(ok(Some((7, vec![3, 4]))), 2, Tries::default(), &POLICY),
            Action::Stored {
                uid_validity: Some(7),
                uids: vec![Some(3), Some(4)]
            }
        );
        // A range that does not fit the batch names no message.
        assert_eq!(
            decide(ok(Some((7, vec![3]))), 2, Tries::default(), &POLICY),
            Action::Stored {
                uid_validity: Some(7),
                uids: vec![None, None]
            }
        );
        // No UIDPLUS: the mailbox's UIDVALIDITY, no UID.
        assert_eq!(
            decide(ok(None), 1, Tries::default(), &POLICY),
            Action::Stored {
                uid_validity: Some(42),
                uids: vec![None]
            }
        );
    }

    #[test]
    fn toobig_splits_a_batch_and_fails_a_single_message() {
        let toobig = || no(Some(RespCode::TooBig), "Message too large");
        let Action::Split { note } = decide(toobig(), 12, Tries::default(), &POLICY) else {
            panic!("a batch is split");
        };
        assert_eq!(
            note,
            "a MULTIAPPEND batch of 12 was refused (NO [TOOBIG] Message too large); its messages were sent one by one"
        );
        assert_eq!(
            decide(toobig(), 1, Tries::default(), &POLICY),
            Action::Fail {
                reason: "the server refused the message: NO [TOOBIG] Message too large".into()
            }
        );
        let bad = CmdOutcome::Bad {
            code: None,
            text: "Invalid flag".into(),
        };
        assert_eq!(
            decide(bad, 1, Tries::default(), &POLICY),
            Action::Fail {
                reason: "the server refused the message: BAD Invalid flag".into()
            }
        );
    }

    #[test]
    fn throttled_pauses_as_suggested_then_gives_up() {
        let t = no(
            Some(RespCode::Throttled),
            "Request is throttled. Suggested Backoff Time: 300 milliseconds",
        );
        let a = decide(t.clone(), 1, Tries::default(), &POLICY);
        let Action::Pause { wait, said, tries } = a else {
            panic!("{a:?}");
        };
        assert_eq!(wait, Duration::from_millis(300));
        assert!(said.starts_with("NO [THROTTLED]"), "{said}");
        assert_eq!(tries.throttled, 1);
        // Without a suggestion: 1 s, 2 s, 4 s …
        let u = no(Some(RespCode::Unavailable), "try later");
        let third = Tries {
            throttled: 2,
            recreated: false,
        };
        assert!(matches!(
            decide(u.clone(), 1, third, &POLICY),
            Action::Pause { wait, .. } if wait == Duration::from_secs(4)
        ));
        // 2 × retries pauses, then the message fails.
        let spent = Tries {
            throttled: 10,
            recreated: false,
        };
        assert_eq!(
            decide(t, 1, spent, &POLICY),
            Action::Fail {
                reason: "the server kept refusing: NO [THROTTLED] Request is throttled. Suggested Backoff Time: 300 milliseconds".into()
            }
        );
        // BAD [UNAVAILABLE] is a refusal, not a pause.
        let bad = CmdOutcome::Bad {
            code: Some(RespCode::Unavailable),
            text: "x".into(),
        };
        assert!(matches!(
            decide(bad, 1, Tries::default(), &POLICY),
            Action::Fail { .. }
        ));
    }

    #[test]
    fn trycreate_recreates_once() {
        let t = || no(Some(RespCode::TryCreate), "Mailbox doesn't exist");
        let a = decide(t(), 3, Tries::default(), &POLICY);
        assert_eq!(
            a,
            Action::Recreate {
                tries: Tries {
                    throttled: 0,
                    recreated: true
                }
            }
        );
        let again = Tries {
            throttled: 0,
            recreated: true,
        };
        assert!(matches!(
            decide(t(), 3, again, &POLICY),
            Action::Split { .. }
        ));
        assert!(matches!(
            decide(t(), 1, again, &POLICY),
            Action::Fail { .. }
        ));
    }

    #[test]
    fn overquota_stops_the_account_even_for_a_batch() {
        let a = decide(
            no(Some(RespCode::OverQuota), "Quota exceeded"),
            5,
            Tries::default(),
            &POLICY,
        );
        assert_eq!(
            a,
            Action::StopAccount {
                reason: "the target account is over quota (NO [OVERQUOTA] Quota exceeded); stopped this account".into()
            }
        );
    }

    #[test]
    fn a_limit_of_the_quota_is_over_quota_and_other_limits_fail_the_message() {
        let a = decide(
            no(Some(RespCode::Limit), "Mailbox quota exceeded"),
            1,
            Tries::default(),
            &POLICY,
        );
        assert!(matches!(a, Action::StopAccount { .. }), "{a:?}");
        let a = decide(
            no(Some(RespCode::Limit), "Message too large"),
            1,
            Tries::default(),
            &POLICY,
        );
        assert!(matches!(a, Action::Fail { .. }), "{a:?}");
    }
}
