//! Text for people: byte sizes, samples of ids, CSV fields (with
//! spreadsheet formulas neutralised), columns padded to their
//! display width (CJK and emoji folder names keep tables aligned).

use std::borrow::Cow;

fn is_control(c: char) -> bool {
    c.is_control()
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write as _;
    if (c as u32) < 0x80 {
        let _ = write!(out, "\\x{:02x}", c as u32);
    } else {
        let _ = write!(out, "\\u{{{:x}}}", c as u32);
    }
}

/// `s` with every control character (C0 including newline and tab, DEL,
/// C1) written as `\x1b` / `\u{9b}`: a name from the store shown to a
/// person can neither move the cursor, clear the screen, recolour the
/// terminal nor start a new line. JSON output keeps the exact name.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_control(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A text for a terminal (a report, a table, a warning): every control
/// character but the newline escaped as [`escape_controls`] does.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_control(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c != '\n' && is_control(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` (control characters escaped) cut (with `…`) and padded with spaces
/// to `w` terminal columns, so tables stay aligned with CJK and emoji
/// folder names.
pub fn pad(s: &str, w: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    let s = escape_controls(s);
    let s = s.as_ref();
    let mut out = String::new();
    if s.width() <= w {
        out.push_str(s);
    } else {
        let mut used = 0;
        for c in s.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw + 1 > w {
                break;
            }
            out.push(c);
            used += cw;
        }
        out.push('…');
    }
    let filled = out.width();
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(filled)));
    out
}

/// Display width of `s` in terminal columns, as [`pad`] shows it.
pub fn display_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(escape_controls(s).as_ref())
}

/// `1.5 MiB`-style sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `500 MB`, `1.5 GB`: decimal units, as providers state their budgets.
pub fn decimal_bytes(n: u64) -> String {
    let (v, u) = if n >= 1_000_000_000_000 {
        (n as f64 / 1e12, "TB")
    } else if n >= 1_000_000_000 {
        (n as f64 / 1e9, "GB")
    } else if n >= 1_000_000 {
        (n as f64 / 1e6, "MB")
    } else if n >= 1_000 {
        (n as f64 / 1e3, "kB")
    } else {
        return format!("{n} B");
    };
    let s = format!("{v:.1}");
    format!("{} {u}", s.strip_suffix(".0").unwrap_or(&s))
}

/// `35,651,584`.
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `s` cut to at most `max` bytes, at a character boundary.
pub fn cut_bytes(s: &mut String, max: usize) {
    if s.len() > max {
        let mut at = max;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
}

/// `s` cut to `n` characters, with `…` when it was longer.
pub fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

/// The first ten of `v`, comma-separated, with `…` when there are more.
pub fn sample(v: &[String]) -> String {
    let mut s = v.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    if v.len() > 10 {
        s.push_str(", …");
    }
    s
}

/// The one parser of sizes on the command line: `500000000`, `500MB`,
/// `500M`, `1.5G`, `2GiB`, `500MB/day`. `k`, `M`, `G`, `T` are powers of
/// 1000, as providers state their limits; `Ki`, `Mi`, `Gi`, `Ti` of 1024.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("/day")
        .or_else(|| t.strip_suffix("/d"))
        .unwrap_or(t)
        .trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 500MB, 2GiB, 1000000)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024.0f64.powi(4),
        u => {
            return Err(format!(
                "{s:?}: unknown unit {u:?} (use kB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    let v = (num * mult).round();
    if !v.is_finite() || v < 1.0 || v > u64::MAX as f64 {
        return Err(format!("{s:?} is not a positive size"));
    }
    Ok(v as u64)
}

/// One CSV field, quoted when needed (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The characters a spreadsheet reads as the start of a formula (OWASP's
/// CSV-injection list): `=`, `+`, `-`, `@`, TAB and CR.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One CSV field for a file meant for spreadsheets: a value that starts
/// like a formula (`=HYPERLINK(…)`, `=cmd|…`) gets a leading `'`, so that
/// Excel, LibreOffice and Sheets show it as text instead of running it;
/// then quoted as [`csv_field`] does (`users` exports, `verify --csv`).
/// `--accounts` strips that `'` again
/// when it reads the file back.
pub fn spreadsheet_field(s: &str) -> String {
    if s.starts_with(FORMULA_STARTS) {
        csv_field(&format!("'{s}"))
    } else {
        csv_field(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_for_people() {
        let name = "Evil\x1b[2J\x1b[31mred\x07\u{9b}1m\nnext\tcol";
        assert_eq!(
            escape_controls(name),
            "Evil\\x1b[2J\\x1b[31mred\\x07\\u{9b}1m\\x0anext\\x09col"
        );
        assert_eq!(for_terminal("a\x1b[2J\nb\r"), "a\\x1b[2J\nb\\x0d");
        assert!(matches!(escape_controls("Crédit 日本"), Cow::Borrowed(_)));
        let cell = pad("a\x1bb", 8);
        assert_eq!(cell, "a\\x1bb  ");
        assert_eq!(display_width("a\x1bb"), 6);
    }

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("500M"), Ok(500_000_000));
        assert_eq!(parse_size("500 MB/day"), Ok(500_000_000));
        assert_eq!(parse_size("1.5G"), Ok(1_500_000_000));
        assert_eq!(parse_size("2g"), Ok(2_000_000_000));
        assert_eq!(parse_size("2GiB"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("1_000"), Ok(1000));
        assert_eq!(parse_size("35651584"), Ok(35_651_584));
        for bad in ["0", "-5MB", "5 parsecs", "", "M", "5X"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(decimal_bytes(500_000_000), "500 MB");
        assert_eq!(decimal_bytes(1_500_000_000), "1.5 GB");
        assert_eq!(group_digits(35_651_584), "35,651,584");
    }

    #[test]
    fn cuts_at_a_character_boundary() {
        let mut s = format!("{}é more", "g".repeat(119));
        cut_bytes(&mut s, 120);
        assert_eq!(s, "g".repeat(119));
        let mut s = "abc".to_string();
        cut_bytes(&mut s, 120);
        assert_eq!(s, "abc");
    }

    #[test]
    fn samples() {
        let v: Vec<String> = (0..12).map(|i| i.to_string()).collect();
        assert_eq!(sample(&v[..2]), "0, 1");
        assert!(sample(&v).ends_with("9, …"));
    }
}
