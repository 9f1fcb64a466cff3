//! Entry names are untrusted input: [`entry_components`] splits one into
//! plain path components or says why it is refused (absolute, a drive
//! letter, a `..` component, a NUL), so that nothing is ever written
//! outside the output directory.

use std::path::{Component, Path};

/// Splits an entry name into safe path components, or says why it is
/// refused. Empty and `.` components are dropped.
///
/// `backslash_is_separator`: the entry comes from Windows, where `\` is a
/// separator (see [`backslash_is_separator`]). From Unix, `\` is part of
/// a name: Kerio on Linux keeps a folder called `Back\slash` as a
/// directory of that name. Either way a `..` or a drive letter between
/// backslashes is refused.
pub fn entry_components(name: &str, backslash_is_separator: bool) -> Result<Vec<String>, String> {
    if name.contains('\0') {
        return Err("the name contains a NUL byte".into());
    }
    let n = if backslash_is_separator {
        name.replace('\\', "/")
    } else {
        name.to_string()
    };
    if n.starts_with('/') || n.starts_with('\\') {
        return Err("absolute path".into());
    }
    let b = n.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err("Windows drive letter".into());
    }
    let mut comps = Vec::new();
    for c in n.split('/') {
        if c.is_empty() || c == "." {
            continue;
        }
        if c.split('\\').any(|p| p == "..") {
            return Err("`..` component (would leave the output directory)".into());
        }
        // Whatever the platform reads as anything but a plain name (a
        // Windows prefix such as `C:` inside the path) is refused too.
        let mut it = Path::new(c).components();
        match (it.next(), it.next()) {
            (Some(Component::Normal(x)), None) if x == c => {}
            _ => return Err(format!("component {c:?} is not a plain name")),
        }
        comps.push(c.to_string());
    }
    if comps.is_empty() {
        return Err("empty name".into());
    }
    Ok(comps)
}

/// Whether `\` separates directories in an entry's name: when the entry
/// was made on Windows / DOS, or when no name of the archive has a `/` but
/// some have a `\` (a Windows writer that does not say so).
pub fn backslash_is_separator(system: zip::System, archive_uses_backslashes: bool) -> bool {
    archive_uses_backslashes
        || matches!(
            system,
            zip::System::Dos | zip::System::WindowsNTFS | zip::System::VFAT | zip::System::Os2
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Vec<String> {
        entry_components(s, false).expect("valid")
    }

    #[test]
    fn entry_names() {
        let win = |s: &str| entry_components(s, true).expect("valid");
        assert_eq!(win("store\\mail\\a.org\\u\\INBOX\\#msgs\\1.eml").len(), 7);
        assert_eq!(c("store/mail/a.org/u/Back\\slash/#msgs/1.eml").len(), 7);
        assert_eq!(c("./mail//a/"), vec!["mail", "a"]);
        for (bad, why) in [
            ("../evil", "`..`"),
            ("a/../../b", "`..`"),
            ("a/../b", "`..`"),
            ("/abs", "absolute"),
            ("\\abs", "absolute"),
            ("C:/x", "drive"),
            ("C:\\x", "drive"),
            ("a\0b", "NUL"),
            ("./", "empty"),
            ("..\\evil", "`..`"),
        ] {
            for sep in [false, true] {
                let e = entry_components(bad, sep).expect_err(bad);
                assert!(e.contains(why), "{bad}: {e}");
            }
        }
    }
}
