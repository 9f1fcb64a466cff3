//! The internal date of an item: the chain of sources it is taken from
//! (index `T`, the newest `Received:` when index `D` is a move time,
//! index `D`, the file's mtime, `Received:`, `Date:`), each only when
//! plausible.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde::Serialize;

/// Where an item's internal (received) date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DateSource {
    /// `index.fld` `T`.
    IndexReceived,
    /// `index.fld` `D`.
    IndexCreated,
    /// The item file's modification time.
    FileMtime,
    /// The newest `Received:` header.
    ReceivedHeader,
    /// The newest plausible `Received:` header, preferred over index `D`
    /// because `D` is when the item was moved into its folder (Kerio's
    /// INBOX and Deleted Items) and `T` is missing.
    ReceivedOverMoveTime,
    /// The `Date:` header.
    DateHeader,
    /// Nothing plausible: the file's modification time, used anyway.
    Fallback,
}

impl DateSource {
    /// Short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DateSource::IndexReceived => "index T",
            DateSource::IndexCreated => "index D",
            DateSource::FileMtime => "file mtime",
            DateSource::ReceivedHeader => "Received header",
            DateSource::ReceivedOverMoveTime => "Received header (index D is a move time)",
            DateSource::DateHeader => "Date header",
            DateSource::Fallback => "fallback (implausible mtime)",
        }
    }
}

/// Inputs of the internal-date decision for one item.
#[derive(Debug, Clone, Copy, Default)]
pub struct DateInputs {
    /// `index.fld` `T` (seconds).
    pub index_received: Option<i64>,
    /// `index.fld` `D` (seconds).
    pub index_created: Option<i64>,
    /// The file's mtime (seconds).
    pub mtime: Option<i64>,
    /// Parsed Received date.
    pub received_header: Option<DateTime<FixedOffset>>,
    /// Parsed Date header.
    pub date_header: Option<DateTime<FixedOffset>>,
    /// `index_created` is when the item was moved into its folder, not
    /// when it arrived (Kerio's INBOX and Deleted Items).
    pub created_is_move_time: bool,
    /// The newest plausible Received date not after `index_created`
    /// ([`super::Prepared::newest_received`]), used when `created_is_move_time`.
    pub received_newest: Option<i64>,
}

/// Earliest date accepted as plausible for a mail item: 1980-01-01.
pub const PLAUSIBLE_FROM: i64 = 315_532_800;

/// True when `t` (Unix seconds) is after 1980 and not more than a day
/// ahead of `now`.
pub fn plausible(t: i64, now: i64) -> bool {
    (PLAUSIBLE_FROM..=now + 86_400).contains(&t)
}

/// The internal date chain: index `T` → (when `D` is a move time: the
/// newest plausible `Received:`) → index `D` → file mtime → `Received:` →
/// `Date:`, each only when plausible; when nothing is, the mtime (or the
/// epoch) with [`DateSource::Fallback`].
pub fn internal_date(inp: &DateInputs, now: i64) -> (DateTime<Utc>, DateSource) {
    let over_move_time = if inp.created_is_move_time {
        inp.received_newest
    } else {
        None
    };
    let candidates = [
        (inp.index_received, DateSource::IndexReceived),
        (over_move_time, DateSource::ReceivedOverMoveTime),
        (inp.index_created, DateSource::IndexCreated),
        (inp.mtime, DateSource::FileMtime),
        (
            inp.received_header.map(|d| d.timestamp()),
            DateSource::ReceivedHeader,
        ),
        (
            inp.date_header.map(|d| d.timestamp()),
            DateSource::DateHeader,
        ),
    ];
    for (t, src) in candidates {
        if let Some(t) = t.filter(|t| plausible(*t, now)) {
            if let Some(dt) = Utc.timestamp_opt(t, 0).single() {
                return (dt, src);
            }
        }
    }
    let t = inp.mtime.unwrap_or(0);
    let dt = Utc
        .timestamp_opt(t, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    (dt, DateSource::Fallback)
}

/// Whether the `Received:` dates of an item can decide its internal date
/// ([`internal_date`] of `inp` with the header dates added), given what
/// the index and the file say (`inp`'s header dates are not looked at):
/// not when a plausible index `T`, or (`D` not being a move time) a
/// plausible `D` or mtime comes first. `scan` parses `Received:` fields
/// only then.
pub fn received_needed(inp: &DateInputs, now: i64) -> bool {
    let before_headers = DateInputs {
        received_header: None,
        date_header: None,
        received_newest: None,
        ..*inp
    };
    match internal_date(&before_headers, now).1 {
        DateSource::IndexReceived => false,
        // Unless the newest Received comes before them.
        DateSource::IndexCreated | DateSource::FileMtime => inp.created_is_move_time,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Where `received_needed` says no, the Received dates do not
        /// change the internal date.
        #[test]
        fn received_dates_matter_only_where_needed(
            t in proptest::option::of(0i64..2_000_000_000),
            d in proptest::option::of(0i64..2_000_000_000),
            m in proptest::option::of(0i64..2_000_000_000),
            r in proptest::option::of(0i64..2_000_000_000),
            n in proptest::option::of(0i64..2_000_000_000),
            h in proptest::option::of(0i64..2_000_000_000),
            moved: bool,
        ) {
            let now = 1_800_000_000;
            let at = |t: Option<i64>| t.and_then(|t| FixedOffset::east_opt(0).and_then(|z| z.timestamp_opt(t, 0).single()));
            let full = DateInputs {
                index_received: t,
                index_created: d,
                mtime: m,
                received_header: at(r),
                date_header: at(h),
                created_is_move_time: moved,
                received_newest: n,
            };
            if !received_needed(&full, now) {
                let without = DateInputs { received_header: None, received_newest: None, ..full };
                proptest::prop_assert_eq!(internal_date(&full, now), internal_date(&without, now));
            }
        }
    }

    #[test]
    fn received_is_needed_without_a_plausible_index_date() {
        let now = 1_800_000_000;
        let base = DateInputs {
            index_received: Some(1_100_000_000),
            index_created: Some(1_200_000_000),
            mtime: Some(1_300_000_000),
            ..DateInputs::default()
        };
        assert!(!received_needed(&base, now));
        let moved = DateInputs {
            index_received: None,
            created_is_move_time: true,
            ..base
        };
        assert!(received_needed(&moved, now));
        let no_t = DateInputs {
            index_received: Some(12),
            ..base
        };
        assert!(!received_needed(&no_t, now));
        let nothing = DateInputs {
            index_received: None,
            index_created: None,
            mtime: Some(now + 10 * 86_400),
            ..base
        };
        assert!(received_needed(&nothing, now));
    }

    #[test]
    fn date_chain() {
        let now = 1_800_000_000;
        let hdr =
            FixedOffset::east_opt(3600).and_then(|z| z.timestamp_opt(1_000_000_000, 0).single());
        let base = DateInputs {
            index_received: Some(1_100_000_000),
            index_created: Some(1_200_000_000),
            mtime: Some(1_300_000_000),
            received_header: hdr.map(|d| d + chrono::Duration::seconds(5)),
            date_header: hdr,
            created_is_move_time: false,
            received_newest: Some(1_150_000_000),
        };
        let src = |i: &DateInputs| internal_date(i, now);
        assert_eq!(
            src(&base),
            (
                Utc.timestamp_opt(1_100_000_000, 0).unwrap(),
                DateSource::IndexReceived
            )
        );
        let i = DateInputs {
            index_received: None,
            ..base
        };
        assert_eq!(src(&i).1, DateSource::IndexCreated);
        let i = DateInputs {
            index_received: None,
            index_created: None,
            ..base
        };
        assert_eq!(src(&i).1, DateSource::FileMtime);
        let i = DateInputs {
            index_received: None,
            index_created: None,
            mtime: Some(now + 10 * 86_400),
            ..base
        };
        assert_eq!(
            src(&i),
            (
                Utc.timestamp_opt(1_000_000_005, 0).unwrap(),
                DateSource::ReceivedHeader
            )
        );
        let i = DateInputs {
            received_header: None,
            ..i
        };
        assert_eq!(src(&i).1, DateSource::DateHeader);
        let i = DateInputs {
            date_header: None,
            ..i
        };
        assert_eq!(
            src(&i),
            (
                Utc.timestamp_opt(now + 10 * 86_400, 0).unwrap(),
                DateSource::Fallback
            )
        );
        // Implausible index values (before 1980) fall through.
        let i = DateInputs {
            index_received: Some(12),
            ..base
        };
        assert_eq!(src(&i).1, DateSource::IndexCreated);
        // D is a move time (INBOX, Deleted Items): without T, the newest
        // plausible Received comes before it.
        let moved = DateInputs {
            index_received: None,
            created_is_move_time: true,
            ..base
        };
        assert_eq!(
            src(&moved),
            (
                Utc.timestamp_opt(1_150_000_000, 0).unwrap(),
                DateSource::ReceivedOverMoveTime
            )
        );
        let i = DateInputs {
            received_newest: None,
            ..moved
        };
        assert_eq!(src(&i).1, DateSource::IndexCreated);
        // T still wins.
        let i = DateInputs {
            index_received: Some(1_100_000_000),
            ..moved
        };
        assert_eq!(src(&i).1, DateSource::IndexReceived);
    }
}
