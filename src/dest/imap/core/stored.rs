//! Did the server store what was sent? Compares the size each delivered
//! message was sent with (its bytes on the wire) with the `RFC822.SIZE`
//! the server reports for its APPENDUID, and words the difference for the
//! report: "stored altered by the server", the server's name, and the
//! setting that avoids it where one is known.
//!
//! Seen on the wire (`../shared/testbed/interop`): Cyrus rewrites 8-bit
//! bytes in headers to `X` and answers OK (`munge8bit`, on by default), and
//! re-encodes a `Content-Transfer-Encoding: binary` part sent as literal8;
//! Courier answers `BODY[]` of one deeply nested 3 MB message cut short.
//! Sans-I/O: the session fetches the sizes and hands them here.

use super::names::Product;
use crate::model::ContentHash;
use std::collections::HashMap;

/// A delivered message whose stored copy is compared by content, not
/// only by size: 8-bit header bytes (a server may rewrite them keeping
/// the size) and no NUL (with NUL what goes out is not the prepared bytes).
pub(crate) fn compared_by_content(bytes: &[u8]) -> bool {
    header_has_8bit(bytes) && memchr::memchr(0, bytes).is_none()
}

/// True when the header of `bytes` (up to the first empty line) holds a
/// byte ≥ 0x80: what Cyrus's `munge8bit` rewrites byte for byte (the size
/// stays, so only the content tells).
pub(crate) fn header_has_8bit(bytes: &[u8]) -> bool {
    let end = memchr::memmem::find(bytes, b"\r\n\r\n").unwrap_or(bytes.len());
    bytes[..end].iter().any(|&b| b >= 0x80)
}

/// Messages whose content was checked (item id, UID, hash of what was
/// sent) and the hashes of what the server returns: the ones that differ,
/// with the reason.
pub(crate) fn altered_content(
    checked: &[(String, u32, ContentHash)],
    got: &HashMap<u32, ContentHash>,
    product: Option<Product>,
) -> Vec<(String, String)> {
    checked
        .iter()
        .filter_map(|(item, uid, sent)| {
            let g = got.get(uid)?;
            (g != sent).then(|| {
                (
                    item.clone(),
                    format!(
                        "stored altered by the server ({}): UID {uid} has the size sent but other bytes (its header had 8-bit bytes); {}",
                        server_name(product),
                        hint(product, false)
                    ),
                )
            })
        })
        .collect()
}

/// One delivered message: item id, UID, bytes sent.
pub(crate) type Sent = (String, u32, u64);

/// The hint for a product: for a stored size that differs (`size`), or
/// for same-size other bytes in a header with 8-bit bytes.
pub(crate) fn hint(product: Option<Product>, size: bool) -> &'static str {
    match (product, size) {
        (Some(Product::Cyrus), false) => {
            "Cyrus rewrites 8-bit bytes in headers to 'X' unless imapd.conf has `munge8bit: 0`"
        }
        (Some(Product::Cyrus), true) => {
            "Cyrus re-encodes a binary part sent as literal8 (BINARY; the decoded content is the same), and rewrites 8-bit header bytes unless imapd.conf has `munge8bit: 0`"
        }
        (Some(Product::Courier), _) => {
            "Courier-IMAP changed the message as it stored it; `verify --deep` compares the content"
        }
        (Some(Product::Dovecot) | None, _) => {
            "the server changed the message as it stored it; `verify --deep` compares the content"
        }
    }
}

/// The server's name for reports.
pub(crate) fn server_name(product: Option<Product>) -> &'static str {
    product.map_or("the server", Product::name)
}

/// The messages whose stored size differs from the size sent, with the
/// reason. A UID the server does not list is left alone (expunged since,
/// or a server that lists nothing: `verify` decides presence).
pub(crate) fn altered(
    sent: &[Sent],
    stored: &HashMap<u32, u64>,
    product: Option<Product>,
) -> Vec<(String, String)> {
    sent.iter()
        .filter_map(|(item, uid, size)| {
            let got = *stored.get(uid)?;
            (got != *size).then(|| {
                (
                    item.clone(),
                    format!(
                        "stored altered by the server ({}): sent {size} bytes, UID {uid} holds {got}; {}",
                        server_name(product),
                        hint(product, true)
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_that_differs_is_altered_with_the_servers_name_and_hint() {
        let sent = vec![
            ("00000001".to_string(), 1, 100),
            ("00000002".to_string(), 2, 200),
            ("00000003".to_string(), 3, 300),
        ];
        // UID 2 shrank (8-bit header bytes rewritten); UID 3 is gone.
        let stored: HashMap<u32, u64> = [(1, 100), (2, 198)].into_iter().collect();
        let a = altered(&sent, &stored, Some(Product::Cyrus));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].0, "00000002");
        assert!(
            a[0].1.starts_with(
                "stored altered by the server (Cyrus IMAP): sent 200 bytes, UID 2 holds 198"
            ),
            "{}",
            a[0].1
        );
        assert!(a[0].1.contains("munge8bit: 0"), "{}", a[0].1);
        let b = altered(&sent, &stored, None);
        assert!(b[0].1.contains("(the server)"), "{}", b[0].1);
        assert!(altered(&sent, &HashMap::new(), None).is_empty());
    }

    #[test]
    fn eight_bit_headers_are_checked_by_content() {
        assert!(header_has_8bit("Subject: Grüße\r\n\r\nbody".as_bytes()));
        assert!(!header_has_8bit("Subject: x\r\n\r\nGrüße".as_bytes()));
        assert!(header_has_8bit("Subject: é".as_bytes()), "no body at all");
        let h1 = ContentHash::of(b"a");
        let h2 = ContentHash::of(b"b");
        let checked = vec![("1".to_string(), 7, h1), ("2".to_string(), 8, h1)];
        let got: HashMap<u32, ContentHash> = [(7, h1), (8, h2)].into_iter().collect();
        let a = altered_content(&checked, &got, Some(Product::Cyrus));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].0, "2");
        assert!(a[0].1.contains("munge8bit: 0"), "{}", a[0].1);
    }
}
