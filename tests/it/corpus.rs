//! Corpus: every message of `../shared/corpus/fixtures` (1,398 real files
//! from twelve mail-parser test suites, malformed ones included), wrapped
//! into a generated Kerio store and migrated to Maildir. No panic; every
//! file either arrives byte-exact after CRLF normalisation or is reported
//! with a reason; the counts add up.

use crate::support::store::{index_line, item_id};
use crate::support::*;
use std::collections::BTreeMap;
use std::fs;

#[test]
fn corpus_migrates_to_maildir_byte_exact_or_reported() {
    let Some(fixtures) = corpus_dir(
        "corpus_migrates_to_maildir_byte_exact_or_reported",
        "fixtures",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = StoreBuilder::new(&tmp.path().join("kerio"));
    // source -> item id -> original bytes
    let mut originals: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    let mut sources: Vec<_> = fs::read_dir(&fixtures)
        .expect("fixtures")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    sources.sort();
    assert!(sources.len() >= 10, "corpus looks incomplete: {sources:?}");
    for src in &sources {
        let account = format!("{src}@corpus.test");
        let mut files: Vec<_> = fs::read_dir(fixtures.join(src))
            .expect("source dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        let mut index = Vec::new();
        for (i, f) in files.iter().enumerate() {
            let id = item_id(i + 1);
            let bytes = fs::read(f).expect("read fixture");
            store.item(&account, "INBOX", &id, &bytes);
            // Every other item has an index record (flags Seen, a T date).
            if i % 2 == 0 {
                let t = 1_100_000_000 + i as i64;
                index.push(index_line(&id, 1, bytes.len(), t, t, t));
            }
            originals.entry(src.clone()).or_default().insert(id, bytes);
        }
        store.index(&account, "INBOX", &index);
    }
    let total: usize = originals.values().map(BTreeMap::len).sum();
    assert!(
        total > 1000,
        "expected the full corpus, found {total} files"
    );

    let out = tmp.path().join("maildir");
    let o = Run::migrate_to_maildir(&store.install, &out)
        .report(&tmp.path().join("report.json"))
        .run();
    let r = &o.report;
    assert_eq!(
        Some(o.code),
        r["exit_code"].as_i64().map(|c| c as i32),
        "{o}"
    );

    let (mut migrated, mut skipped, mut failed) = (0u64, 0u64, 0u64);
    for a in r["accounts"].as_array().expect("accounts") {
        let account = a["account"].as_str().expect("account");
        let src = account.trim_end_matches("@corpus.test");
        let folders = a["folders"].as_array().expect("folders");
        assert_eq!(folders.len(), 1, "{account}");
        let f = &folders[0];
        let c = &f["counts"];
        let n = |k: &str| c[k].as_u64().expect("count");
        let expected = originals[src].len() as u64;
        assert_eq!(n("expected"), expected, "{account}");
        assert_eq!(
            n("migrated") + n("already_present") + n("skipped") + n("failed"),
            expected,
            "{account}: counts must add up"
        );
        let mut reported: BTreeMap<String, String> = BTreeMap::new();
        for key in ["skipped", "failed"] {
            for note in f[key].as_array().expect("notes") {
                let reason = note["reason"].as_str().expect("reason");
                assert!(!reason.is_empty());
                reported.insert(
                    note["item"].as_str().expect("item").to_string(),
                    reason.to_string(),
                );
            }
        }
        let on_disk = maildir_messages(&out.join(account));
        assert_eq!(on_disk.len() as u64, n("migrated"), "{account}");
        for (id, orig) in &originals[src] {
            let hits: Vec<_> = on_disk
                .iter()
                .filter(|(base, _)| base.contains(&format!(".M{id}K")))
                .collect();
            match (hits.len(), reported.get(id)) {
                (1, None) => {
                    let got = fs::read(hits[0].1).expect("read maildir file");
                    assert!(got == crlf(orig), "{account} {id}: bytes differ after CRLF");
                }
                (0, Some(reason)) => {
                    // The only policy skip of a Maildir run is an empty file.
                    assert!(
                        orig.is_empty() || reason.contains("unreadable"),
                        "{account} {id}: {reason}"
                    );
                }
                (k, why) => panic!("{account} {id}: {k} copies on disk, report says {why:?}"),
            }
        }
        migrated += n("migrated");
        skipped += n("skipped");
        failed += n("failed");
    }
    eprintln!("corpus: {total} files, {migrated} migrated, {skipped} skipped, {failed} failed");
    assert_eq!(migrated + skipped + failed, total as u64);
    assert_eq!(failed, 0, "no corpus file may fail on a Maildir target");

    // A second run adds nothing and finds everything already present.
    let o = Run::migrate_to_maildir(&store.install, &out)
        .report(&tmp.path().join("report2.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let r2 = &o.report;
    assert_eq!(r2["totals"]["migrated"].as_u64(), Some(0));
    assert_eq!(r2["totals"]["already_present"].as_u64(), Some(migrated));
}
