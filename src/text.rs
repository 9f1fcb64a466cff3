//! Text for people: byte sizes, samples of ids, columns padded to their
//! display width (CJK and emoji folder names keep tables aligned).

/// `s` cut (with `…`) and padded with spaces to `w` terminal columns, so
/// tables stay aligned with CJK and emoji folder names.
pub fn pad(s: &str, w: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
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

/// Display width of `s` in terminal columns.
pub fn display_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
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

/// The first ten of `v`, comma-separated, with `…` when there are more.
pub fn sample(v: &[String]) -> String {
    let mut s = v.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    if v.len() > 10 {
        s.push_str(", …");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }

    #[test]
    fn samples() {
        let v: Vec<String> = (0..12).map(|i| i.to_string()).collect();
        assert_eq!(sample(&v[..2]), "0, 1");
        assert!(sample(&v).ends_with("9, …"));
    }
}
