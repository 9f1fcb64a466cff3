//! Kerio's backup file names: `F20240101T020000Z.zip` (full),
//! `D….zip` (differential), `C….zip` (backup copy), and extra volumes
//! `F….1.zip`, `F….2.zip`, … Parsing never fails: a name that does not fit
//! is simply not a Kerio backup name.

use serde::Serialize;
use std::path::Path;

/// Kind of a Kerio backup archive, from the first letter of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum BackupKind {
    /// `F…`: full backup.
    Full,
    /// `C…`: backup copy / manual backup (a full backup outside rotation).
    Copy,
    /// `D…`: differential, the files new or changed since the last full.
    Differential,
}

impl BackupKind {
    /// In words: `full backup`, `backup copy`, `differential backup`.
    pub fn describe(self) -> &'static str {
        match self {
            BackupKind::Full => "full backup",
            BackupKind::Copy => "backup copy",
            BackupKind::Differential => "differential backup",
        }
    }
}

/// A parsed Kerio backup file name: `F20240101T020000Z.zip`,
/// `F20240101T020000Z.1.zip`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupName {
    /// Full, differential or copy (the first letter).
    pub kind: BackupKind,
    /// `YYYYMMDDThhmmssZ` (upper case).
    pub stamp: String,
    /// 0 for `X.zip`, N for `X.N.zip`.
    pub volume: u32,
}

/// Parses a Kerio backup file name; `None` for any other name.
pub fn parse_backup_name(file_name: &str) -> Option<BackupName> {
    let n = file_name.len();
    if n < 4 || !file_name.is_char_boundary(n - 4) {
        return None;
    }
    if !file_name[n - 4..].eq_ignore_ascii_case(".zip") {
        return None;
    }
    let stem = &file_name[..n - 4];
    let (base, volume) = match stem.split_once('.') {
        Some((b, v)) => {
            if v.is_empty() || v.len() > 6 || !v.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            (b, v.parse::<u32>().ok()?)
        }
        None => (stem, 0),
    };
    let b = base.as_bytes();
    if b.len() != 17 {
        return None;
    }
    let kind = match b[0].to_ascii_uppercase() {
        b'F' => BackupKind::Full,
        b'D' => BackupKind::Differential,
        b'C' => BackupKind::Copy,
        _ => return None,
    };
    let s = &b[1..];
    let digits = |r: std::ops::Range<usize>| s[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..8)
        && s[8].eq_ignore_ascii_case(&b'T')
        && digits(9..15)
        && s[15].eq_ignore_ascii_case(&b'Z'))
    {
        return None;
    }
    Some(BackupName {
        kind,
        stamp: base[1..].to_ascii_uppercase(),
        volume,
    })
}

/// The file name of `p` (lossy), or the whole path when it has none.
pub fn file_name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The letter a backup name starts with.
pub fn kind_letter(k: BackupKind) -> char {
    match k {
        BackupKind::Full => 'F',
        BackupKind::Copy => 'C',
        BackupKind::Differential => 'D',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_names() {
        let n = parse_backup_name("F20240101T020000Z.zip").expect("full");
        assert_eq!(n.kind, BackupKind::Full);
        assert_eq!(n.stamp, "20240101T020000Z");
        assert_eq!(n.volume, 0);
        let n = parse_backup_name("d20240105t020000z.12.ZIP").expect("diff volume");
        assert_eq!(
            (n.kind, n.stamp.as_str(), n.volume),
            (BackupKind::Differential, "20240105T020000Z", 12)
        );
        assert_eq!(
            parse_backup_name("C20041027T100000Z.zip").map(|n| n.kind),
            Some(BackupKind::Copy)
        );
        for bad in [
            "F20240101T020000.zip",
            "X20240101T020000Z.zip",
            "F20240101T020000Z.zip.bak",
            "F20240101T020000Z..zip",
            "F20240101T020000Z.+1.zip",
            "backup.zip",
            "é.zip",
            ".zip",
        ] {
            assert_eq!(parse_backup_name(bad), None, "{bad}");
        }
    }
}
