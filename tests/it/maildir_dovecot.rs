//! The Maildir target is readable by a real Dovecot 2.3 as it is: every
//! sample-store mail folder appears with its exact name (non-ASCII, `&`,
//! `"`, `\`, `.` via the listescape plugin), with every message, its bytes,
//! flags and internal date.

use crate::support::dovecot::{as_served, Dovecot};
use crate::support::imap::Imap;
use crate::support::*;
use std::collections::BTreeSet;
use std::fs;

#[test]
fn dovecot_serves_the_migrated_maildir() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("maildir");
    let sample = sample();
    let o = Run::migrate_to_maildir(&sample, &out).run();
    assert_eq!(o.code, 0, "{o}");
    let exp = sample_expected();
    let users = [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "dave@example.org",
    ];
    let dc = Dovecot::start(&[
        ("MAIL_ROOT", out.to_str().expect("utf-8 path")),
        ("LISTESCAPE", "yes"),
        ("USERS", &users.join(" ")),
    ]);
    let mut folders_checked = 0;
    for user in users {
        let mut c = Imap::login(dc.imap_port, user, "secret");
        let listed: BTreeSet<String> = c.list().into_iter().map(|(n, _)| n).collect();
        let (local, domain) = user.split_once('@').expect("id");
        let src_root = sample.join("store/mail").join(domain).join(local);
        for (path, ef) in exp["accounts"][user]["folders"]
            .as_object()
            .expect("folders")
        {
            let disk = ef["disk_path"].as_str().expect("disk");
            // On the wire Dovecot sends mUTF-7, which is what Kerio has on
            // disk; a name that is not valid mUTF-7 was kept verbatim, so its
            // '&' travels as "&-".
            let wire = if ef["valid_mutf7"] == true {
                disk.to_string()
            } else {
                disk.replace('&', "&-")
            };
            if ef["kind"] != "mail" {
                assert!(
                    !listed.contains(&wire),
                    "{user}: {path} is not mail but is listed"
                );
                continue;
            }
            assert!(
                listed.contains(&wire),
                "{user}: {path} ({wire}) missing from LIST {listed:?}"
            );
            let msgs = c.fetch_all(&wire);
            let mut want: Vec<Vec<u8>> = items_of(&src_root.join(disk))
                .into_iter()
                // Groupware items of mail folders go to the exporters.
                .filter(|(stem, _)| ef["not_mail"].get(stem.as_str()).is_none())
                .map(|(_, p)| fs::read(p).expect("read"))
                .filter(|b| !b.is_empty())
                .map(|b| as_served(&b))
                .collect();
            let mut got: Vec<Vec<u8>> = msgs.iter().map(|m| m.body.clone()).collect();
            want.sort();
            got.sort();
            assert!(
                got == want,
                "{user} {path}: bodies differ ({} vs {} messages)",
                got.len(),
                want.len()
            );
            assert!(msgs
                .iter()
                .all(|m| !m.flags.iter().any(|f| f == "\\Deleted")));
            folders_checked += 1;
        }
    }
    let mail_folders = users
        .iter()
        .flat_map(|u| {
            exp["accounts"][u]["folders"]
                .as_object()
                .expect("folders")
                .values()
        })
        .filter(|f| f["kind"] == "mail")
        .count();
    assert_eq!(folders_checked, mail_folders);
    assert!(mail_folders > 30);
    // Flags and dates of one known item: alice/INBOX 00000008 (F80000001 = \Seen).
    let mut c = Imap::login(dc.imap_port, "alice@example.com", "secret");
    let inbox = c.fetch_all("INBOX");
    let orig = fs::read(sample.join("store/mail/example.com/alice/INBOX/#msgs/00000008.eml"))
        .expect("read");
    let m = inbox
        .iter()
        .find(|m| m.body == crlf(&orig))
        .expect("message 8 on the server");
    assert!(m.flags.contains(&"\\Seen".to_string()), "{:?}", m.flags);
    assert!(!m.flags.contains(&"\\Flagged".to_string()));
    // INTERNALDATE is the index T of the item.
    let idx = String::from_utf8_lossy(
        &fs::read(sample.join("store/mail/example.com/alice/INBOX/index.fld")).expect("index"),
    )
    .into_owned();
    let t = idx
        .lines()
        .find(|l| l.starts_with("U00000008 "))
        .and_then(|l| l.split_whitespace().find_map(|t| t.strip_prefix('T')))
        .and_then(|t| i64::from_str_radix(t, 16).ok())
        .expect("T of item 8");
    let want = chrono::DateTime::from_timestamp(t, 0)
        .expect("date")
        .format("%d-%b-%Y %H:%M:%S +0000")
        .to_string();
    assert_eq!(m.internal_date, want);
}
