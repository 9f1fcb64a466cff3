//! Entry modification times: item mtimes are a date source for the
//! migration, so each unpacked file keeps its entry's time, taken from the
//! Info-ZIP extended timestamp, else the NTFS extra field, else the DOS
//! time read as local time (as Info-ZIP's unzip does). How many came from
//! where is reported ([`TimeSources`]).

use serde::Serialize;
use std::io::Read;
use zip::ExtraField;

/// Where entry modification times came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TimeSources {
    /// The Info-ZIP extended timestamp (UTC, seconds).
    pub extended: u64,
    /// The NTFS extra field (UTC, 100 ns).
    pub ntfs: u64,
    /// The DOS date and time (2 s steps), read as local time.
    pub dos: u64,
    /// No valid time: the file keeps the time it was written.
    pub none: u64,
}

impl TimeSources {
    /// Counts one file's time source.
    pub(super) fn count(&mut self, source: Option<TimeSource>) {
        match source {
            Some(TimeSource::Extended) => self.extended += 1,
            Some(TimeSource::Ntfs) => self.ntfs += 1,
            Some(TimeSource::Dos) => self.dos += 1,
            None => self.none += 1,
        }
    }
}

/// Where one entry's time came from.
pub(super) enum TimeSource {
    Extended,
    Ntfs,
    Dos,
}

/// The entry's modification time: extended timestamp, else NTFS, else the
/// DOS time read as local time.
pub(super) fn entry_mtime<R: Read>(
    zf: &zip::read::ZipFile<'_, R>,
) -> Option<(filetime::FileTime, TimeSource)> {
    for f in zf.extra_data_fields() {
        if let ExtraField::ExtendedTimestamp(t) = f {
            if let Some(m) = t.mod_time() {
                return Some((
                    filetime::FileTime::from_unix_time(i64::from(m), 0),
                    TimeSource::Extended,
                ));
            }
        }
    }
    for f in zf.extra_data_fields() {
        if let ExtraField::Ntfs(n) = f {
            let t = n.mtime();
            if t != 0 {
                let secs = (t / 10_000_000) as i64 - 11_644_473_600;
                let nanos = ((t % 10_000_000) * 100) as u32;
                return Some((
                    filetime::FileTime::from_unix_time(secs, nanos),
                    TimeSource::Ntfs,
                ));
            }
        }
    }
    let d = zf.last_modified()?;
    use chrono::TimeZone as _;
    let naive = chrono::NaiveDate::from_ymd_opt(
        i32::from(d.year()),
        u32::from(d.month()),
        u32::from(d.day()),
    )?
    .and_hms_opt(
        u32::from(d.hour()),
        u32::from(d.minute()),
        u32::from(d.second()),
    )?;
    let secs = chrono::Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp())
        .unwrap_or_else(|| naive.and_utc().timestamp());
    Some((filetime::FileTime::from_unix_time(secs, 0), TimeSource::Dos))
}
