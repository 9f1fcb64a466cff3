//! Notes and text journal entries: one UTF-8 text file per item, named
//! `<item id> <subject>.txt`, holding the subject (when the body does not
//! already start with it), the date, and the body. Kerio keeps a note as
//! a small mail whose Subject is the note's first line (research §2); there
//! is no standard import format for notes, so plain text is what every
//! target can take.

use super::{safe_name, ExportError, SourceRef, UniqueNames};
use std::path::Path;

/// A note read from an item.
#[derive(Debug, Clone)]
pub struct TextNote {
    /// Its item.
    pub source: SourceRef,
    pub subject: Option<String>,
    pub body: String,
    /// The Date header (RFC 3339).
    pub date: Option<String>,
}

impl TextNote {
    /// The file content.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let body = self.body.replace("\r\n", "\n");
        let subject = self.subject.as_deref().map(str::trim).unwrap_or("");
        if !subject.is_empty() && !body.trim_start().starts_with(subject) {
            s.push_str(subject);
            s.push_str("\n\n");
        }
        s.push_str(&body);
        if !s.ends_with('\n') {
            s.push('\n');
        }
        if let Some(d) = &self.date {
            s.push_str(&format!("\n-- \nDate: {d}\n"));
        }
        s
    }

    /// The file name stem.
    pub fn stem(&self) -> String {
        let id = self.source.item.replace('/', "_");
        match self
            .subject
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(sub) => {
                let short: String = sub.chars().take(60).collect();
                safe_name(&format!("{id} {short}"))
            }
            None => safe_name(&id),
        }
    }
}

/// Writes notes into `dir`; returns how many.
pub fn write_notes(dir: &Path, notes: &[TextNote]) -> Result<u64, ExportError> {
    let mut names = UniqueNames::default();
    for n in notes {
        let path = dir.join(names.take(&n.stem(), "txt"));
        super::write_file(&path, n.to_text().as_bytes())?;
    }
    Ok(notes.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn text_and_names() {
        let n = TextNote {
            source: SourceRef {
                account: "a".into(),
                folder: "Notes".into(),
                item: "00000001".into(),
                path: PathBuf::from("/x"),
            },
            subject: Some("Wi-Fi: guest/pass".into()),
            body: "Wi-Fi: guest/pass\r\n\r\nSSID: x\r\n".into(),
            date: Some("2022-09-01T10:00:00+02:00".into()),
        };
        assert_eq!(n.stem(), "00000001 Wi-Fi_ guest_pass");
        assert_eq!(
            n.to_text(),
            "Wi-Fi: guest/pass\n\nSSID: x\n\n-- \nDate: 2022-09-01T10:00:00+02:00\n"
        );
        let t = tempfile::tempdir().expect("tmp");
        assert_eq!(write_notes(t.path(), &[n.clone(), n]).expect("write"), 2);
        assert_eq!(std::fs::read_dir(t.path()).expect("dir").count(), 2);
    }
}
