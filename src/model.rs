//! The shared vocabulary: the few types every layer speaks (source,
//! destinations, journal, engine, report). Only data and conversions live
//! here, so that any module may import it without pulling in another's
//! logic (see docs/architecture.md).

use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// A content hash: BLAKE3 of the prepared bytes. Written to the journal
/// and reports as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    /// Hashes bytes.
    pub fn of(bytes: &[u8]) -> ContentHash {
        ContentHash(*blake3::hash(bytes).as_bytes())
    }

    /// Parses the hex form written by [`ContentHash::to_hex`].
    pub fn from_hex(s: &str) -> Option<ContentHash> {
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(ContentHash(out))
    }

    /// Full lower-case hex.
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 15)] as char);
        }
        s
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", &self.to_hex()[..16])
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for ContentHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

/// The IMAP system flags we carry over (never `\Deleted`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MailFlags {
    /// `\Seen`.
    pub seen: bool,
    /// `\Answered`.
    pub answered: bool,
    /// `\Flagged`.
    pub flagged: bool,
    /// `\Draft`.
    pub draft: bool,
}

/// A source account: a user's mailbox tree or a domain's public folders.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Account {
    /// The domain directory name ("" for store-wide public folders).
    pub domain: String,
    /// The user directory name, or `#public`.
    pub local: String,
    /// The account directory.
    pub dir: PathBuf,
    /// True for a `#public` tree.
    pub public: bool,
}

impl Account {
    /// `user@domain`, `#public@domain`, or `#public` for global public folders.
    pub fn id(&self) -> String {
        if self.domain.is_empty() {
            self.local.clone()
        } else {
            format!("{}@{}", self.local, self.domain)
        }
    }
}

/// Where a message is on a destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DestRef {
    /// Destination-specific id (Maildir file name, or `uidvalidity/uid`).
    pub id: Option<String>,
    /// IMAP UIDVALIDITY.
    pub uid_validity: Option<u32>,
    /// IMAP UID.
    pub uid: Option<u32>,
}

impl DestRef {
    /// An IMAP reference (`id` is `uidvalidity/uid` when both are known).
    pub fn imap(uid_validity: Option<u32>, uid: Option<u32>) -> DestRef {
        DestRef {
            id: match (uid_validity, uid) {
                (Some(v), Some(u)) => Some(format!("{v}/{u}")),
                _ => None,
            },
            uid_validity,
            uid,
        }
    }
}

/// A message announced to the journal before it was sent, whose fate a
/// later run must find out on the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingItem {
    /// Item id.
    pub item: String,
    /// Content hash of the prepared bytes.
    pub hash: ContentHash,
    /// Destination mailbox it was sent to.
    pub mailbox: String,
    /// The destination's reconciliation marker, written with it.
    pub marker: Option<String>,
    /// Bytes that were to be sent.
    pub size: Option<u64>,
    /// Internal date (Unix seconds).
    pub internal_date: Option<i64>,
    /// Message-ID.
    pub message_id: Option<String>,
    /// Source file size when it was sent.
    pub src_size: Option<u64>,
    /// Source file mtime when it was sent.
    pub src_mtime: Option<i64>,
    /// The flags it was sent with (None: a journal before schema 3).
    pub flags: Option<MailFlags>,
}

/// A message the journal says is in a destination mailbox: its UID belongs
/// to its item, never to a pending one being reconciled there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoneCopy {
    /// Content hash.
    pub hash: ContentHash,
    /// UIDVALIDITY it was recorded under.
    pub uid_validity: Option<u32>,
    /// Its UID, when the destination said (IMAP UIDPLUS).
    pub uid: Option<u32>,
    /// Message-ID.
    pub message_id: Option<String>,
}

/// One append connection's window and round trip (IMAP), for the report
/// and the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LinkStats {
    /// The connection slot (0-based).
    pub connection: usize,
    /// Commands allowed in flight now, and the most reached.
    pub window_commands: u64,
    pub peak_window_commands: u64,
    /// Bytes allowed in flight now, and the most reached.
    pub window_bytes: u64,
    pub peak_window_bytes: u64,
    /// Smoothed round trip of the APPENDs (µs; 0: none measured).
    pub srtt_us: u64,
    /// Smallest round trip seen (µs).
    pub min_rtt_us: u64,
}

/// Where long operations report how far they are (the progress display
/// implements it; the library never depends on the display).
pub trait ProgressSink: Sync {
    /// `n` more units of work are known.
    fn add_total(&self, n: u64);
    /// `items` units done, carrying `bytes` bytes.
    fn inc(&self, items: u64, bytes: u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_hex_round_trip() {
        let h = ContentHash::of(b"x");
        assert_eq!(ContentHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(h.to_hex(), blake3::hash(b"x").to_hex().as_str());
        assert_eq!(ContentHash::from_hex("zz"), None);
        assert_eq!(ContentHash::from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn imap_refs() {
        assert_eq!(DestRef::imap(Some(7), Some(3)).id.as_deref(), Some("7/3"));
        assert_eq!(DestRef::imap(Some(7), None).id, None);
    }
}
