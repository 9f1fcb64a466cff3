//! What a folder holds ([`FolderKind`]) and how that was decided
//! ([`KindDecision`]): the vocabulary every source and every command uses.
//! The rules that decide it are the source's own (`kerio::kind`).

use serde::Serialize;
use std::fmt;

/// What a folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FolderKind {
    /// E-mail: migrated over IMAP / to Maildir.
    Mail,
    /// vCards.
    Contacts,
    /// Events.
    Calendar,
    /// To-dos.
    Tasks,
    /// Sticky notes.
    Notes,
    /// Journal entries.
    Journal,
}

impl FolderKind {
    /// Lower-case name used in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FolderKind::Mail => "mail",
            FolderKind::Contacts => "contacts",
            FolderKind::Calendar => "calendar",
            FolderKind::Tasks => "tasks",
            FolderKind::Notes => "notes",
            FolderKind::Journal => "journal",
        }
    }
}

impl fmt::Display for FolderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a kind decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KindSource {
    /// `status.fld` `T` code.
    StatusType,
    /// A default Kerio folder name at the top level of a mailbox.
    DefaultName,
    /// The majority `C` class of the index records.
    MessageClass,
    /// The content of sampled items.
    Content,
    /// Inherited from the parent folder.
    Parent,
    /// An item's kind: that of its folder.
    Folder,
    /// Where the folder is: the archive, the recoverable-items store.
    Place,
    /// Nothing said otherwise.
    Default,
}

impl fmt::Display for KindSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KindSource::StatusType => "status.fld type",
            KindSource::DefaultName => "default folder name",
            KindSource::MessageClass => "index message class",
            KindSource::Content => "item content",
            KindSource::Parent => "parent folder",
            KindSource::Folder => "its folder",
            KindSource::Place => "where it is (archive, recoverable items)",
            KindSource::Default => "default",
        })
    }
}

/// The decision and what the other sources said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindDecision {
    /// The kind used.
    pub kind: FolderKind,
    /// The source it came from.
    pub source: KindSource,
    /// Other sources that named a different kind.
    pub disagreements: Vec<(KindSource, FolderKind)>,
    /// A `status.fld` type code we do not know, if any.
    pub unrecognised_type_code: Option<u32>,
}
