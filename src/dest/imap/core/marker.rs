//! The Pending marker: what a group's announcement tells a later run about
//! where to look for its messages, and the [`Want`] a pending item becomes
//! when that run checks it.
//!
//! Invariant: the journal keeps these strings across releases, so the
//! persisted keys stay `imap`, `uv`, `un` and `alt` (the field names here
//! are only the code's), and the output is byte-for-byte what the first
//! release wrote: keys in that sorted order, `uv` as `null` when unknown,
//! each `alt` entry as `[hex hash, size]`. Change the format only with a
//! new `imap` version that still reads version 1.

use super::matching::Want;
use crate::model::{ContentHash, PendingItem};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// The marker of one announced group. Field order is the JSON key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Marker {
    /// Items whose bytes on the wire differ from the prepared ones (NUL
    /// stripped, or NUL that Dovecot will store as 0x80), by item id.
    #[serde(rename = "alt", default)]
    pub wire_copies: BTreeMap<String, WireCopy>,
    /// Items a server may store re-encoded (binary parts, NUL), by item
    /// id: the [`super::identity::decoded_hash`] of what was sent. Written
    /// only when there are any (a marker without them reads as before).
    #[serde(rename = "dec", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub decoded: BTreeMap<String, DecodedCopy>,
    /// Items without a Message-ID, by item id: their
    /// [`super::identity::header_fingerprint`] (what finds them on a server
    /// that rewrote their bytes). Written only when there are any.
    #[serde(rename = "fp", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fingerprints: BTreeMap<String, DecodedCopy>,
    /// Format version (1); its presence says "an IMAP marker".
    #[serde(rename = "imap")]
    pub version: u32,
    /// The lowest UID a message of the group can get (UIDNEXT, raised by
    /// every APPENDUID seen since).
    #[serde(rename = "un", default = "first_uid")]
    pub lowest_uid: u32,
    /// The UIDVALIDITY `lowest_uid` holds under.
    #[serde(rename = "uv", default)]
    pub uid_validity: Option<u32>,
}

fn first_uid() -> u32 {
    1
}

/// What went on the wire for an item: [`super::matching::fold_hash`] of
/// the bytes sent, and their size. Written as `[hex, size]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WireCopy(
    #[serde(serialize_with = "hash_hex", deserialize_with = "hex_hash")] pub [u8; 32],
    pub u64,
);

/// A hash of an item (decoded content, header fingerprint), written as
/// hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct DecodedCopy(
    #[serde(serialize_with = "hash_hex", deserialize_with = "hex_hash")] pub [u8; 32],
);

fn hash_hex<S: Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ContentHash(*h).to_hex())
}

fn hex_hash<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
    let s = String::deserialize(d)?;
    ContentHash::from_hex(&s)
        .map(|h| h.0)
        .ok_or_else(|| serde::de::Error::custom(format!("not a content hash: {s:?}")))
}

impl Marker {
    /// A version-1 marker.
    pub fn new(uid_validity: Option<u32>, lowest_uid: u32) -> Marker {
        Marker {
            wire_copies: BTreeMap::new(),
            decoded: BTreeMap::new(),
            fingerprints: BTreeMap::new(),
            version: 1,
            lowest_uid,
            uid_validity,
        }
    }

    /// The journal's string.
    pub fn to_json(&self) -> String {
        // Cannot fail (strings and numbers only); were it to, a marker that
        // does not parse makes the next run search the whole mailbox.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A marker written by this target (`None` for anything else, e.g. a
    /// Maildir row's or a corrupt one: then the whole mailbox is searched).
    pub fn parse(s: &str) -> Option<Marker> {
        serde_json::from_str(s).ok()
    }
}

/// What a later run looks for, for a pending item: the bytes that went on
/// the wire (the marker's copy of them, else the prepared ones), from the
/// marker's lowest UID on; without a marker, or without a UIDVALIDITY in
/// it, the whole mailbox.
pub(crate) fn pending_want(p: &PendingItem) -> Want {
    let m = p.marker.as_deref().and_then(Marker::parse);
    let copy = m.as_ref().and_then(|m| m.wire_copies.get(&p.item).copied());
    let decoded = m.as_ref().and_then(|m| m.decoded.get(&p.item).map(|d| d.0));
    let fingerprint = m
        .as_ref()
        .and_then(|m| m.fingerprints.get(&p.item).map(|d| d.0))
        .filter(|_| p.message_id.is_none());
    let (lower, uid_validity) = match &m {
        Some(m) if m.uid_validity.is_some() => (m.lowest_uid, m.uid_validity),
        _ => (1, None),
    };
    Want {
        hash: copy.map_or(p.hash.0, |c| c.0),
        size: copy.map(|c| c.1).or(p.size),
        lower,
        uid_validity,
        message_id: p.message_id.clone(),
        internal_date: p.internal_date,
        decoded,
        fingerprint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_the_first_release_wrote() {
        let mut m = Marker::new(Some(7), 42);
        m.wire_copies
            .insert("00000001".into(), WireCopy([3; 32], 99));
        let want = format!(
            r#"{{"alt":{{"00000001":["{}",99]}},"imap":1,"un":42,"uv":7}}"#,
            "03".repeat(32)
        );
        assert_eq!(m.to_json(), want);
        // The first release built it with json!: the same bytes.
        let first_release = serde_json::json!({"imap": 1, "uv": Some(7), "un": 42,
            "alt": {"00000001": ["03".repeat(32), 99]}})
        .to_string();
        assert_eq!(m.to_json(), first_release);
        assert_eq!(Marker::parse(&want), Some(m));
        assert_eq!(
            Marker::new(None, 1).to_json(),
            r#"{"alt":{},"imap":1,"un":1,"uv":null}"#
        );
    }

    #[test]
    fn reads_a_marker_of_the_first_release() {
        let hex = "ab".repeat(32);
        let old = format!(r#"{{"imap":1,"uv":7,"un":3,"alt":{{"1":["{hex}",12]}}}}"#);
        let m = Marker::parse(&old).expect("an old marker parses");
        assert_eq!((m.version, m.uid_validity, m.lowest_uid), (1, Some(7), 3));
        assert_eq!(m.wire_copies["1"], WireCopy([0xab; 32], 12));
        // Keys it may lack: no UID bound, no UIDVALIDITY, no copies.
        let bare = Marker::parse(r#"{"imap":1}"#).expect("bare");
        assert_eq!((bare.lowest_uid, bare.uid_validity), (1, None));
        assert!(bare.wire_copies.is_empty() && bare.decoded.is_empty());
        assert_eq!(Marker::parse("maildir"), None);
        assert_eq!(Marker::parse(r#"{"uv":7}"#), None, "not an IMAP marker");
    }

    fn pending(marker: Option<String>) -> PendingItem {
        PendingItem {
            item: "1".into(),
            hash: ContentHash([1; 32]),
            mailbox: "INBOX".into(),
            marker,
            size: Some(10),
            internal_date: Some(5),
            message_id: Some("a@x".into()),
            src_size: None,
            src_mtime: None,
            flags: None,
        }
    }

    #[test]
    fn a_pending_item_is_looked_for_as_it_went_on_the_wire() {
        let hex = "ab".repeat(32);
        let w = pending_want(&pending(Some(format!(
            r#"{{"imap":1,"uv":7,"un":3,"alt":{{"1":["{hex}",12]}}}}"#
        ))));
        assert_eq!((w.hash, w.size), ([0xab; 32], Some(12)));
        assert_eq!((w.lower, w.uid_validity), (3, Some(7)));
        assert_eq!(w.message_id.as_deref(), Some("a@x"));
        assert_eq!(w.decoded, None);
        // A decoded-content hash is read back for its item.
        let cd = "cd".repeat(32);
        let mut m = Marker::new(Some(7), 3);
        m.decoded.insert("1".into(), DecodedCopy([0xcd; 32]));
        let json = m.to_json();
        assert_eq!(
            json,
            format!(r#"{{"alt":{{}},"dec":{{"1":"{cd}"}},"imap":1,"un":3,"uv":7}}"#)
        );
        let w = pending_want(&pending(Some(json)));
        assert_eq!(w.decoded, Some([0xcd; 32]));
        // A fingerprint counts only for an item without a Message-ID.
        let mut m = Marker::new(Some(7), 3);
        m.fingerprints.insert("1".into(), DecodedCopy([0xef; 32]));
        let json = m.to_json();
        assert!(json.contains(r#""fp":{"1":""#), "{json}");
        assert_eq!(pending_want(&pending(Some(json.clone()))).fingerprint, None);
        let mut p = pending(Some(json));
        p.message_id = None;
        assert_eq!(pending_want(&p).fingerprint, Some([0xef; 32]));
        // Not in `alt`: the prepared bytes.
        let w = pending_want(&pending(Some(r#"{"imap":1,"uv":7,"un":3}"#.into())));
        assert_eq!((w.hash, w.size, w.lower), ([1; 32], Some(10), 3));
        // No marker, or no UIDVALIDITY: everywhere.
        for m in [None, Some(r#"{"imap":1,"uv":null,"un":9}"#.to_string())] {
            let w = pending_want(&pending(m));
            assert_eq!((w.lower, w.uid_validity), (1, None));
        }
    }
}
