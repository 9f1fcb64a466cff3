//! `verify`: the copies this tool put on the target whose source item is
//! gone since (deleted or moved in Kerio, or the whole folder gone or
//! renamed), and which the target still holds. Each is listed in its
//! source folder's check. One whose content is also journaled for a live
//! source item of the account, in a later run, is a **duplicate** (a
//! message moved in Kerio and migrated again by a run without `--sync`, or
//! a move `sync` could not carry): it counts as extra, and the exit code
//! says so. The others are
//! what `migrate --sync --propagate-deletes` removes; they are reported and
//! do not fail the check (keeping them is `sync`'s default).

use crate::dest::{DestSession, Presence};
use crate::journal::DoneItem;
use crate::message::ContentHash;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// A live source item: its folder and item id.
pub(super) type Place = (String, String);

/// A journaled copy still on the target whose source item is gone.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct GoneCopy {
    /// The item id it was migrated from.
    pub item: String,
    /// Target mailbox.
    pub mailbox: String,
    /// Its UID, when the target gave one.
    pub uid: Option<u32>,
    /// A live source item (`folder/item`) with the same content: the
    /// target holds that message twice.
    pub duplicate_of: Option<String>,
}

/// The done rows of `done` whose item is not among `live_ids`.
pub(super) fn rows_of_gone<'d>(
    done: &'d HashMap<String, Vec<DoneItem>>,
    live_ids: &HashSet<&str>,
) -> Vec<(&'d str, &'d DoneItem)> {
    let mut gone: Vec<(&str, &DoneItem)> = done
        .iter()
        .filter(|(id, _)| !live_ids.contains(id.as_str()))
        .flat_map(|(id, rows)| rows.iter().map(move |d| (id.as_str(), d)))
        .collect();
    gone.sort_by(|a, b| a.0.cmp(b.0));
    gone
}

/// Which of the gone rows the target still has (one `verify` call per
/// mailbox), with their content hash for [`name_duplicates`].
pub(super) fn still_there(
    sess: &mut dyn DestSession,
    gone: &[(&str, &DoneItem)],
) -> Result<Vec<(GoneCopy, ContentHash)>, crate::dest::DestError> {
    let mut by_mailbox: Vec<(&str, Vec<(&str, &DoneItem)>)> = Vec::new();
    for &(id, d) in gone {
        match by_mailbox.iter_mut().find(|(m, _)| *m == d.mailbox) {
            Some((_, v)) => v.push((id, d)),
            None => by_mailbox.push((d.mailbox.as_str(), vec![(id, d)])),
        }
    }
    let mut out = Vec::new();
    for (mailbox, rows) in by_mailbox {
        let refs: Vec<_> = rows
            .iter()
            .map(|(_, d)| (d.target.clone(), d.hash))
            .collect();
        let found = sess.verify(mailbox, &refs, false)?;
        for ((id, d), p) in rows.into_iter().zip(found) {
            if p == Presence::Present {
                let copy = GoneCopy {
                    item: id.to_string(),
                    mailbox: mailbox.to_string(),
                    uid: d.target.uid,
                    duplicate_of: None,
                };
                out.push((copy, d.hash));
            }
        }
    }
    Ok(out)
}

/// Names the live item each gone copy duplicates: one with the same
/// content (`live`: content hash → its folder and item) that `later` says
/// was journaled in a later run than the gone copy (so it arrived after it:
/// a move in Kerio migrated again, or a copy and a delete). A twin
/// journaled as early (the same message in two folders from the start,
/// one of them deleted since) is no duplicate.
pub(super) fn name_duplicates(
    copies: Vec<(GoneCopy, ContentHash)>,
    live: &HashMap<ContentHash, Place>,
    later: &dyn Fn(&GoneCopy, &ContentHash, &Place) -> bool,
) -> Vec<GoneCopy> {
    copies
        .into_iter()
        .map(|(mut c, hash)| {
            if let Some(l) = live.get(&hash).filter(|l| later(&c, &hash, l)) {
                c.duplicate_of = Some(format!("{}/{}", l.0, l.1));
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dest::DestRef;

    fn row(hash: &str, uid: u32) -> DoneItem {
        DoneItem {
            hash: ContentHash::of(hash.as_bytes()),
            src_size: None,
            src_mtime: None,
            mailbox: "INBOX".into(),
            target: DestRef::imap(Some(7), Some(uid)),
            size: None,
            stored_size: None,
            message_id: None,
            flags: None,
        }
    }

    #[test]
    fn only_rows_of_items_gone_from_the_folder_and_duplicates_named_by_content() {
        let mut done: HashMap<String, Vec<DoneItem>> = HashMap::new();
        done.insert("1".into(), vec![row("a", 1)]);
        done.insert("2".into(), vec![row("b", 2), row("c", 3)]);
        done.insert("3".into(), vec![row("d", 4)]);
        let live: HashSet<&str> = ["1"].into_iter().collect();
        let gone = rows_of_gone(&done, &live);
        let ids: Vec<(&str, Option<u32>)> = gone.iter().map(|(i, d)| (*i, d.target.uid)).collect();
        assert_eq!(ids.len(), 3);
        assert!(ids.iter().all(|(i, _)| *i != "1"));
        let copies: Vec<(GoneCopy, ContentHash)> = gone
            .iter()
            .map(|(i, d)| {
                let c = GoneCopy {
                    item: i.to_string(),
                    mailbox: d.mailbox.clone(),
                    uid: d.target.uid,
                    duplicate_of: None,
                };
                (c, d.hash)
            })
            .collect();
        let live: HashMap<ContentHash, Place> = [
            (ContentHash::of(b"c"), ("Sent".to_string(), "9".to_string())),
            (
                ContentHash::of(b"d"),
                ("Sent".to_string(), "10".to_string()),
            ),
        ]
        .into_iter()
        .collect();
        // "d"'s twin is as old as its gone copy: no duplicate.
        let later = |c: &GoneCopy, _: &ContentHash, _: &Place| c.item == "2";
        let named = name_duplicates(copies, &live, &later);
        let dup: Vec<(&str, Option<&str>)> = named
            .iter()
            .map(|c| (c.item.as_str(), c.duplicate_of.as_deref()))
            .filter(|(_, d)| d.is_some())
            .collect();
        assert_eq!(dup, vec![("2", Some("Sent/9"))]);
    }
}
