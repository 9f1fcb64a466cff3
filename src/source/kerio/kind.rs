//! How a Kerio folder's kind (mail, contacts, calendar, tasks, notes,
//! journal) is decided; the vocabulary is [`crate::source::kind`].
//!
//! Sources, in the order of trust the research supports (kerio-store.md
//! §1.8): the `status.fld` `T` code (only 0 = mail and 2 = calendar are
//! evidenced; other codes are reported as unrecognised), Kerio's default
//! top-level folder names, the majority MAPI class in `index.fld`, the
//! content of a sample of items, then the parent folder's kind. Every source
//! is evaluated so that disagreements can be reported.

pub use crate::source::kind::{FolderKind, KindDecision, KindSource};
use std::collections::HashMap;

/// The evidence gathered for one folder.
#[derive(Debug, Clone, Default)]
pub struct KindEvidence<'a> {
    /// `status.fld` `T` code.
    pub status_type: Option<u32>,
    /// Decoded folder path (components joined with `/`).
    pub path: &'a str,
    /// MAPI classes of the index records.
    pub classes: Vec<&'a str>,
    /// Kinds guessed from sampled item contents.
    pub content: Vec<FolderKind>,
    /// The parent folder's kind, for subfolders.
    pub parent: Option<FolderKind>,
}

/// Maps a `status.fld` type code. Only codes with evidence are mapped.
pub fn kind_from_status(code: u32) -> Option<FolderKind> {
    match code {
        0 => Some(FolderKind::Mail),
        2 => Some(FolderKind::Calendar),
        _ => None,
    }
}

/// Kerio's default top-level folder names (on disk, English).
pub fn kind_from_default_name(path: &str) -> Option<FolderKind> {
    if path.contains('/') {
        return None;
    }
    match path {
        "INBOX" | "Sent Items" | "Deleted Items" | "Drafts" | "Junk E-mail" | "Outbox" => {
            Some(FolderKind::Mail)
        }
        "Contacts" => Some(FolderKind::Contacts),
        "Calendar" => Some(FolderKind::Calendar),
        "Tasks" => Some(FolderKind::Tasks),
        "Notes" => Some(FolderKind::Notes),
        "Journal" => Some(FolderKind::Journal),
        _ => None,
    }
}

/// Maps a MAPI message class (research §1.8; the non-mail classes other
/// than IPM.Appointment are by analogy with MAPI).
pub fn kind_from_class(class: &str) -> Option<FolderKind> {
    let c = class.to_ascii_lowercase();
    let is = |p: &str| c == p || c.starts_with(&format!("{p}."));
    if is("ipm.note") || is("ipm.schedule") || c.starts_with("report") || is("ipm.post") {
        Some(FolderKind::Mail)
    } else if is("ipm.appointment") {
        Some(FolderKind::Calendar)
    } else if is("ipm.contact") || is("ipm.distlist") {
        Some(FolderKind::Contacts)
    } else if is("ipm.task") {
        Some(FolderKind::Tasks)
    } else if is("ipm.stickynote") {
        Some(FolderKind::Notes)
    } else if is("ipm.activity") {
        Some(FolderKind::Journal)
    } else if c == "ipm" {
        Some(FolderKind::Mail)
    } else {
        None
    }
}

/// Guesses an item's kind from its first bytes (headers and the start of
/// the body): the wrapper's Content-Type, else a vCard or iCalendar object
/// visible in the sample.
pub fn kind_from_content(head: &[u8]) -> FolderKind {
    let find = |needle: &[u8]| {
        head.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    let calendar_kind = || {
        if find(b"BEGIN:VTODO") {
            FolderKind::Tasks
        } else if find(b"BEGIN:VJOURNAL") {
            FolderKind::Journal
        } else {
            FolderKind::Calendar
        }
    };
    let content_type = crate::message::header_value(head, "content-type")
        .map(|v| v.trim_start().to_ascii_lowercase())
        .unwrap_or_default();
    if ["text/x-vcard", "text/vcard", "text/directory"]
        .iter()
        .any(|t| content_type.starts_with(t))
    {
        return FolderKind::Contacts;
    }
    if content_type.starts_with("text/calendar") {
        return calendar_kind();
    }
    // A mail that carries an invitation or a business card is still mail:
    // only a wrapper without a sender counts as a groupware item here.
    if content_type.starts_with("multipart/")
        && crate::message::header_value(head, "from").is_some()
    {
        return FolderKind::Mail;
    }
    if find(b"BEGIN:VCARD") {
        FolderKind::Contacts
    } else if find(b"BEGIN:VCALENDAR") {
        calendar_kind()
    } else {
        FolderKind::Mail
    }
}

/// The kind of one item of a mail folder (a contact or a meeting deleted
/// into `Deleted Items` is not mail): its index class when that names a
/// kind, else its content. `head` gives the item's first bytes and is only
/// called without a usable class. Content makes an item groupware only
/// when it has no `From:` (Kerio's groupware wrappers have none; a mail
/// that carries a card or an invitation has one) and holds a vCard or an
/// iCalendar object; anything unreadable or unclear stays mail.
pub fn item_kind_in_mail_folder(
    class: Option<&str>,
    head: impl FnOnce() -> Option<Vec<u8>>,
) -> (FolderKind, KindSource) {
    if let Some(k) = class.and_then(kind_from_class) {
        return (k, KindSource::MessageClass);
    }
    match head() {
        Some(h) if !h.is_empty() && crate::message::header_value(&h, "from").is_none() => {
            match kind_from_content(&h) {
                FolderKind::Mail => (FolderKind::Mail, KindSource::Folder),
                k => (k, KindSource::Content),
            }
        }
        _ => (FolderKind::Mail, KindSource::Folder),
    }
}

/// The decision for a folder that holds mail by where it is (`#deleted`,
/// the archive): mail, with what the evidence said kept as disagreement.
pub fn mail_by_place(d: KindDecision) -> KindDecision {
    let mut disagreements: Vec<(KindSource, FolderKind)> = d.disagreements;
    if d.kind != FolderKind::Mail && d.source != KindSource::Default {
        disagreements.insert(0, (d.source, d.kind));
    }
    KindDecision {
        kind: FolderKind::Mail,
        source: KindSource::Place,
        disagreements,
        unrecognised_type_code: d.unrecognised_type_code,
    }
}

/// Top-level folders whose items Kerio re-dates: `D` is reset when an item
/// is delivered to or moved into INBOX or Deleted Items (KMS 6.7 guide,
/// clean-out section), so there `D` is a move time, not an arrival time.
pub fn resets_created_date(path: &str) -> bool {
    path.eq_ignore_ascii_case("INBOX") || path == "Deleted Items"
}

fn majority(kinds: impl IntoIterator<Item = FolderKind>) -> Option<FolderKind> {
    let mut counts: HashMap<FolderKind, usize> = HashMap::new();
    for k in kinds {
        *counts.entry(k).or_default() += 1;
    }
    let mut v: Vec<_> = counts.into_iter().collect();
    // Most frequent first; ties broken by the enum order (mail first).
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.first().map(|(k, _)| *k)
}

/// Decides a folder's kind from all evidence.
pub fn decide(ev: &KindEvidence<'_>) -> KindDecision {
    let mut unrecognised = None;
    let mut opinions: Vec<(KindSource, FolderKind)> = Vec::new();
    if let Some(code) = ev.status_type {
        match kind_from_status(code) {
            Some(k) => opinions.push((KindSource::StatusType, k)),
            None => unrecognised = Some(code),
        }
    }
    if let Some(k) = kind_from_default_name(ev.path) {
        opinions.push((KindSource::DefaultName, k));
    }
    if let Some(k) = majority(ev.classes.iter().filter_map(|c| kind_from_class(c))) {
        opinions.push((KindSource::MessageClass, k));
    }
    if let Some(k) = majority(ev.content.iter().copied()) {
        opinions.push((KindSource::Content, k));
    }
    if let Some(k) = ev.parent {
        opinions.push((KindSource::Parent, k));
    }
    let (source, kind) = opinions
        .first()
        .copied()
        .unwrap_or((KindSource::Default, FolderKind::Mail));
    // A subfolder of a groupware folder often has no evidence but its
    // parent; disagreeing with the parent alone is normal (a mail folder
    // under Contacts is odd but legal), so the parent is not reported.
    let disagreements = opinions
        .iter()
        .skip(1)
        .filter(|(s, k)| *k != kind && *s != KindSource::Parent)
        .copied()
        .collect();
    KindDecision {
        kind,
        source,
        disagreements,
        unrecognised_type_code: unrecognised,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(path: &str) -> KindEvidence<'_> {
        KindEvidence {
            path,
            ..Default::default()
        }
    }

    #[test]
    fn status_type_wins() {
        let mut e = ev("Contacts");
        e.status_type = Some(2);
        let d = decide(&e);
        assert_eq!(d.kind, FolderKind::Calendar);
        assert_eq!(d.source, KindSource::StatusType);
        assert_eq!(
            d.disagreements,
            vec![(KindSource::DefaultName, FolderKind::Contacts)]
        );
    }

    #[test]
    fn unknown_status_code_falls_through_and_is_reported() {
        let mut e = ev("Tasks");
        e.status_type = Some(3);
        let d = decide(&e);
        assert_eq!(d.kind, FolderKind::Tasks);
        assert_eq!(d.source, KindSource::DefaultName);
        assert_eq!(d.unrecognised_type_code, Some(3));
    }

    #[test]
    fn class_majority_then_content_then_parent() {
        let mut e = ev("Private/Stuff");
        e.classes = vec!["IPM.Contact", "IPM.Contact", "IPM.Note"];
        e.content = vec![FolderKind::Mail];
        let d = decide(&e);
        assert_eq!(
            (d.kind, d.source),
            (FolderKind::Contacts, KindSource::MessageClass)
        );
        assert_eq!(
            d.disagreements,
            vec![(KindSource::Content, FolderKind::Mail)]
        );

        let mut e = ev("X");
        e.content = vec![FolderKind::Tasks, FolderKind::Tasks];
        assert_eq!(decide(&e).kind, FolderKind::Tasks);

        let mut e = ev("Contacts/divers");
        e.parent = Some(FolderKind::Contacts);
        let d = decide(&e);
        assert_eq!(
            (d.kind, d.source),
            (FolderKind::Contacts, KindSource::Parent)
        );

        let d = decide(&ev("Whatever"));
        assert_eq!((d.kind, d.source), (FolderKind::Mail, KindSource::Default));
    }

    #[test]
    fn default_names_only_at_top_level() {
        assert_eq!(
            kind_from_default_name("Calendar"),
            Some(FolderKind::Calendar)
        );
        assert_eq!(kind_from_default_name("INBOX/Calendar"), None);
        assert_eq!(
            kind_from_default_name("Junk E-mail"),
            Some(FolderKind::Mail)
        );
    }

    #[test]
    fn classes() {
        assert_eq!(kind_from_class("IPM.Note.SMIME"), Some(FolderKind::Mail));
        assert_eq!(
            kind_from_class("REPORT.IPM.Note.NDR"),
            Some(FolderKind::Mail)
        );
        assert_eq!(
            kind_from_class("IPM.Appointment"),
            Some(FolderKind::Calendar)
        );
        assert_eq!(kind_from_class("IPM.DistList"), Some(FolderKind::Contacts));
        assert_eq!(kind_from_class("IPM.Task"), Some(FolderKind::Tasks));
        assert_eq!(kind_from_class("IPM.StickyNote"), Some(FolderKind::Notes));
        assert_eq!(kind_from_class("IPM.Activity"), Some(FolderKind::Journal));
        assert_eq!(kind_from_class("IPM.Notebook"), None);
        assert_eq!(kind_from_class("Something"), None);
    }

    #[test]
    fn items_of_a_mail_folder() {
        let none = || -> Option<Vec<u8>> { panic!("not read when the class says") };
        assert_eq!(
            item_kind_in_mail_folder(Some("IPM.Contact"), none),
            (FolderKind::Contacts, KindSource::MessageClass)
        );
        assert_eq!(
            item_kind_in_mail_folder(Some("IPM.Schedule.Meeting.Request"), none).0,
            FolderKind::Mail
        );
        let card = b"Subject: Jane\r\nContent-Type: text/x-vcard\r\n\r\nBEGIN:VCARD\r\n".to_vec();
        assert_eq!(
            item_kind_in_mail_folder(None, || Some(card.clone())),
            (FolderKind::Contacts, KindSource::Content)
        );
        // An unknown class falls back to the content.
        assert_eq!(
            item_kind_in_mail_folder(Some("IPM.Whatever"), || Some(card.clone())).0,
            FolderKind::Contacts
        );
        // A mail with a sender stays mail, whatever it quotes.
        let mail = b"From: a@b\r\nContent-Type: text/x-vcard\r\n\r\nBEGIN:VCARD\r\n".to_vec();
        assert_eq!(
            item_kind_in_mail_folder(None, || Some(mail.clone())).0,
            FolderKind::Mail
        );
        let todo =
            b"Subject: t\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\nBEGIN:VTODO\r\n"
                .to_vec();
        assert_eq!(
            item_kind_in_mail_folder(None, || Some(todo.clone())).0,
            FolderKind::Tasks
        );
        assert_eq!(item_kind_in_mail_folder(None, || None).0, FolderKind::Mail);
        assert_eq!(
            item_kind_in_mail_folder(None, || Some(Vec::new())).0,
            FolderKind::Mail
        );
        assert!(resets_created_date("INBOX") && resets_created_date("Deleted Items"));
        assert!(!resets_created_date("INBOX/Sub") && !resets_created_date("Sent Items"));
    }

    #[test]
    fn content() {
        assert_eq!(
            kind_from_content(b"Content-Type: text/x-vcard\r\n\r\nbegin:vcard\r\n"),
            FolderKind::Contacts
        );
        assert_eq!(
            kind_from_content(b"\r\n\r\nBEGIN:VCALENDAR\r\nBEGIN:VTODO\r\n"),
            FolderKind::Tasks
        );
        assert_eq!(
            kind_from_content(
                b"BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT"
            ),
            FolderKind::Calendar
        );
        assert_eq!(
            kind_from_content(b"Subject: hi\r\n\r\nhello"),
            FolderKind::Mail
        );
        assert_eq!(
            kind_from_content(b"Content-Type:TEXT/Calendar;\r\n method=PUBLISH\r\n\r\nQkVHSU4="),
            FolderKind::Calendar
        );
        let invitation = b"From: a@b\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n";
        assert_eq!(kind_from_content(invitation), FolderKind::Mail);
    }
}
