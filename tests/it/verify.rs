//! `verify` reports exactly what is on a Maildir target: everything after a
//! clean migration; a deleted message as missing, an altered one as
//! different (`--deep`), a folder left out as not migrated, each by id.

use crate::support::*;
use std::fs;

fn verify(out: &std::path::Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let o = Run::new("verify")
        .arg(sample())
        .arg("--to")
        .arg(format!("maildir:{}", out.display()))
        .args(["--json", "--account", "bob@example.com"])
        .args(extra)
        .run();
    (o.code, o.stdout_json())
}

fn folder<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["accounts"][0]["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .find(|f| f["folder"] == name)
        .expect("folder")
}

#[test]
fn verify_finds_missing_changed_and_unmigrated_items() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("md");
    let o = Run::migrate_to_maildir(&sample(), &out)
        .args(["--account", "bob@example.com"])
        .args(["--exclude-folder", "Sent Items"])
        .run();
    assert_eq!(o.code, 0, "{o}");

    let (code, v) = verify(&out, &["--exclude-folder", "Sent Items"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["totals"]["present"], v["totals"]["source_items"]);

    let (code, v) = verify(&out, &[]);
    assert_eq!(code, 3);
    let sent = folder(&v, "Sent Items");
    assert_eq!(sent["not_migrated"].as_array().map(Vec::len), Some(5));

    // Remove one message and alter another in bob's INBOX.
    let inbox = maildir_messages(&out.join("bob@example.com"));
    let gone = inbox
        .iter()
        .find(|(b, _)| b.contains(".M00000001K"))
        .expect("item 1");
    fs::remove_file(gone.1).expect("rm");
    let changed = inbox
        .iter()
        .find(|(b, _)| b.contains(".M00000002K"))
        .expect("item 2");
    let mut bytes = fs::read(changed.1).expect("read");
    bytes.extend_from_slice(b"tampered\r\n");
    fs::write(changed.1, bytes).expect("write");

    let (code, v) = verify(&out, &["--exclude-folder", "Sent Items"]);
    assert_eq!(code, 3);
    let f = folder(&v, "INBOX");
    assert_eq!(f["missing_on_target"], serde_json::json!(["00000001"]));
    assert_eq!(
        f["differs"],
        serde_json::json!([]),
        "content is only compared with --deep"
    );

    let (_, v) = verify(&out, &["--exclude-folder", "Sent Items", "--deep"]);
    let f = folder(&v, "INBOX");
    assert_eq!(f["missing_on_target"], serde_json::json!(["00000001"]));
    assert_eq!(f["differs"], serde_json::json!(["00000002"]));
}
