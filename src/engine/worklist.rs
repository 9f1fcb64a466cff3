//! The work list: what becomes of each item of a folder before anything is
//! read, from facts gathered beforehand (the file's size and mtime, its
//! index flags, the journal's done rows and the items a previous run left
//! in doubt). Pure: no I/O here, so `plan` and `verify` can ask the same
//! question and get the same answer.
//!
//! Invariants a maintainer must keep:
//! - one [`Verdict`] per candidate, in the candidates' order;
//! - precedence: an item that is not mail (a contact or a meeting in a
//!   mail folder: the exporters take it), `--skip-deleted`, then an
//!   unreadable stat, then "arrival in doubt" (never sent again in this
//!   run), then "already present" by size and mtime; anything else is read
//!   (and may still turn out present by content hash, which only the
//!   producer can tell).

use super::reason;
use crate::journal::DoneItem;
use crate::source::Item;
pub use crate::source::Stat as SrcStat;
use std::collections::HashMap;

/// The journal's done rows of one source folder, by item id.
pub type DoneRows = HashMap<String, Vec<DoneItem>>;

/// Items a previous run sent whose arrival the destination cannot tell,
/// by item id, with why.
pub type InDoubt = HashMap<String, String>;

/// One item with what is known of it before it is read.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub item: &'a Item,
    /// `index.fld` flags it 0x8 (deleted, not expunged).
    pub flagged_deleted: bool,
    /// Its file's stat, or why that failed.
    pub stat: Result<SrcStat, String>,
}

/// What the journal says about a folder, for [`decide`].
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    /// Done rows.
    pub done: &'a DoneRows,
    /// Items left in doubt by a previous run.
    pub in_doubt: &'a InDoubt,
}

/// The fate of one item, decided without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not migrated, by choice (the report's reason).
    Skip(String),
    /// Not migrated: something is wrong (the report's reason).
    Fail(String),
    /// The journal has it with the same size and mtime.
    Present,
    /// To be read and prepared.
    Read(SrcStat),
}

/// Decides one item.
pub fn decide(c: &Candidate<'_>, known: Known<'_>, skip_deleted: bool) -> Verdict {
    if !c.item.is_mail() {
        return Verdict::Skip(reason::not_mail(c.item));
    }
    if skip_deleted && c.flagged_deleted {
        return Verdict::Skip(reason::FLAGGED_DELETED.to_string());
    }
    let stat = match &c.stat {
        Ok(s) => *s,
        Err(e) => return Verdict::Fail(reason::unreadable(e)),
    };
    if let Some(why) = known.in_doubt.get(&c.item.id) {
        return Verdict::Fail(reason::in_doubt(why));
    }
    if known
        .done
        .get(&c.item.id)
        .is_some_and(|rows| rows.iter().any(|d| same_file(d, &stat)))
    {
        return Verdict::Present;
    }
    Verdict::Read(stat)
}

/// The row was sent from the file as it is now (same size and mtime).
pub fn same_file(d: &DoneItem, stat: &SrcStat) -> bool {
    d.src_size == Some(stat.size) && d.src_mtime == stat.mtime
}

/// Decides every item of a folder, in order.
pub fn work_list<'a>(
    candidates: Vec<Candidate<'a>>,
    known: Known<'_>,
    skip_deleted: bool,
) -> Vec<(&'a Item, Verdict)> {
    candidates
        .into_iter()
        .map(|c| (c.item, decide(&c, known, skip_deleted)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContentHash, DestRef};
    use std::path::PathBuf;

    fn item(id: &str) -> Item {
        Item::new(
            id,
            crate::source::Origin::File(PathBuf::from(format!("{id}.eml"))),
            None,
        )
    }

    fn stat(size: u64, mtime: i64) -> Result<SrcStat, String> {
        Ok(SrcStat {
            size,
            mtime: Some(mtime),
        })
    }

    fn done_row(size: u64, mtime: i64) -> DoneItem {
        DoneItem {
            hash: ContentHash::of(b"x"),
            src_size: Some(size),
            src_mtime: Some(mtime),
            mailbox: "INBOX".into(),
            target: DestRef::default(),
            size: None,
            stored_size: None,
            message_id: None,
            flags: None,
        }
    }

    fn known<'a>(done: &'a DoneRows, in_doubt: &'a InDoubt) -> Known<'a> {
        Known { done, in_doubt }
    }

    #[test]
    fn every_rule_with_its_report_reason() {
        let items: Vec<Item> = ["del", "gone", "doubt", "seen", "touched", "new"]
            .iter()
            .map(|i| item(i))
            .collect();
        let done: DoneRows = [
            ("seen".to_string(), vec![done_row(10, 100)]),
            ("touched".to_string(), vec![done_row(10, 100)]),
        ]
        .into();
        let in_doubt: InDoubt = [("doubt".to_string(), "the check failed: EOF".to_string())].into();
        let stats = [
            stat(1, 1),
            Err("No such file or directory (os error 2)".to_string()),
            stat(10, 100),
            stat(10, 100),
            stat(10, 101),
            stat(5, 5),
        ];
        let candidates = items
            .iter()
            .zip(stats)
            .map(|(item, stat)| Candidate {
                item,
                flagged_deleted: item.id == "del",
                stat,
            })
            .collect();
        let got: Vec<(&str, Verdict)> = work_list(candidates, known(&done, &in_doubt), true)
            .into_iter()
            .map(|(i, v)| (i.id.as_str(), v))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "del",
                    Verdict::Skip("flagged deleted (0x8) in index.fld; --skip-deleted".into())
                ),
                (
                    "gone",
                    Verdict::Fail("unreadable: No such file or directory (os error 2)".into())
                ),
                ("doubt", Verdict::Fail("arrival in doubt: a previous run sent it and the target cannot tell whether it arrived (the check failed: EOF); not sent again (rerun to check again)".into())),
                ("seen", Verdict::Present),
                ("touched", Verdict::Read(SrcStat { size: 10, mtime: Some(101) })),
                ("new", Verdict::Read(SrcStat { size: 5, mtime: Some(5) })),
            ]
        );
    }

    #[test]
    fn an_item_that_is_not_mail_is_skipped_first_and_says_where_it_goes() {
        let mut it = item("1");
        it.kind = crate::source::FolderKind::Contacts;
        it.kind_source = crate::source::KindSource::MessageClass;
        let c = Candidate {
            item: &it,
            flagged_deleted: true,
            stat: Err("denied".into()),
        };
        let (done, doubt) = (DoneRows::new(), InDoubt::new());
        assert_eq!(
            decide(&c, known(&done, &doubt), true),
            Verdict::Skip(
                "not mail: a contacts item (index message class); `kerio-migrate contacts` exports it into this folder's .vcf".into()
            )
        );
    }

    #[test]
    fn deleted_items_are_read_unless_asked_to_skip_them() {
        let it = item("1");
        let c = Candidate {
            item: &it,
            flagged_deleted: true,
            stat: stat(3, 3),
        };
        let (done, doubt) = (DoneRows::new(), InDoubt::new());
        assert_eq!(
            decide(&c, known(&done, &doubt), false),
            Verdict::Read(SrcStat {
                size: 3,
                mtime: Some(3)
            })
        );
    }

    #[test]
    fn precedence_deleted_then_unreadable_then_doubt_then_present() {
        let it = item("1");
        let done: DoneRows = [("1".to_string(), vec![done_row(3, 3)])].into();
        let doubt: InDoubt = [("1".to_string(), "why".to_string())].into();
        let k = known(&done, &doubt);
        let mut c = Candidate {
            item: &it,
            flagged_deleted: true,
            stat: Err("denied".into()),
        };
        assert!(matches!(decide(&c, k, true), Verdict::Skip(_)));
        c.flagged_deleted = false;
        assert_eq!(
            decide(&c, k, true),
            Verdict::Fail("unreadable: denied".into())
        );
        c.stat = stat(3, 3);
        assert!(
            matches!(decide(&c, k, true), Verdict::Fail(r) if r.starts_with("arrival in doubt"))
        );
        assert_eq!(
            decide(&c, known(&done, &InDoubt::new()), true),
            Verdict::Present
        );
    }

    #[test]
    fn a_missing_mtime_matches_only_a_missing_mtime() {
        let it = item("1");
        let mut row = done_row(3, 0);
        row.src_mtime = None;
        let done: DoneRows = [("1".to_string(), vec![row])].into();
        let doubt = InDoubt::new();
        let c = |mtime| Candidate {
            item: &it,
            flagged_deleted: false,
            stat: Ok(SrcStat { size: 3, mtime }),
        };
        assert_eq!(
            decide(&c(None), known(&done, &doubt), false),
            Verdict::Present
        );
        assert!(matches!(
            decide(&c(Some(0)), known(&done, &doubt), false),
            Verdict::Read(_)
        ));
    }
}
