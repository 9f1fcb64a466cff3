//! `verify`: what is really on the target, checked against the store and
//! the journal, per account and folder: source items, items the journal
//! says arrived, of those how many the target still has (and, with
//! `--deep`, with the same content), and source items that never arrived.
//! Every missing or different item is named by its source file, folder,
//! Subject, Message-ID and date ([`NamedItem`]; in the text, the JSON and
//! [`Verification::to_csv`]), so nothing is "5 messages missing,
//! somewhere" (the imapsync complaint this answers).

use crate::dest::{DestRef, DestSession, Destination, MailboxSpec, Presence};
use crate::journal::{DoneItem, Journal};
use crate::message::ContentHash;
use crate::model::Account;
use crate::report::exit;
use crate::select::Selection;
use crate::source::{Folder, FolderKind, Source};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

mod gone;
pub mod html;
pub mod nojournal;

pub use gone::GoneCopy;

/// Options of a verification.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Accounts and folders to check.
    pub selection: Selection,
    /// Compare content hashes too (reads every message back).
    pub deep: bool,
    /// Items flagged 0x8 were skipped on purpose (`migrate --skip-deleted`).
    pub skip_deleted: bool,
}

/// One folder's check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FolderCheck {
    /// Source folder.
    pub folder: String,
    /// Target mailbox.
    pub mailbox: Option<String>,
    /// Non-empty mail items in the source.
    pub source_items: u64,
    /// Of those, how many the journal says arrived.
    pub journaled: u64,
    /// Of those, how many the target has.
    pub present: u64,
    /// Journaled but not on the target (item ids).
    pub missing_on_target: Vec<String>,
    /// On the target with other content (item ids; `--deep`).
    pub differs: Vec<String>,
    /// On the target, but stored with a size other than the size sent:
    /// altered by the server (item id, why). Counted as present.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub altered: Vec<crate::report::ItemNote>,
    /// Source items the journal has no record of (item ids).
    pub not_migrated: Vec<String>,
    /// Messages in the mailbox no journal row accounts for (checked once
    /// per mailbox, in the first folder that goes there), among them
    /// duplicates of journaled items.
    pub extra: Vec<ExtraCopy>,
    /// Journaled copies whose source item is gone (deleted or moved in
    /// Kerio since) and that the target still holds; those that duplicate
    /// a live item count as extra ([`gone`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gone_at_source: Vec<GoneCopy>,
    /// Why the folder could not be checked.
    pub error: Option<String>,
    /// On the target with other system flags than the source item has
    /// (item ids; targets that can tell: IMAP). Not counted as missing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags_differ: Vec<String>,
    /// Missing on the target, never migrated and different content, each
    /// named so that an admin can find the message in the store.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub named: Vec<NamedItem>,
}

/// What is wrong with a [`NamedItem`].
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// Journaled, but the target does not have it.
    #[default]
    MissingOnTarget,
    /// No journal row: never migrated.
    NotMigrated,
    /// On the target with other content (`--deep`).
    Differs,
    /// On the target, with other system flags than the source has now
    /// (a `migrate --sync` carries them).
    FlagsDiffer,
}

impl Problem {
    /// The words of the text and the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::MissingOnTarget => "missing on target",
            Problem::NotMigrated => "not migrated",
            Problem::Differs => "content differs",
            Problem::FlagsDiffer => "flags differ",
        }
    }
}

/// A source message that is not on the target as it should be, named by
/// what an admin can look for: the file in the store and its headers.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct NamedItem {
    pub problem: Problem,
    /// Item id.
    pub item: String,
    /// The source file.
    pub path: String,
    /// The Subject header as written (encoded words are left encoded).
    pub subject: Option<String>,
    /// The Message-ID header.
    pub message_id: Option<String>,
    /// The Date header.
    pub date: Option<String>,
    /// Why the headers could not be read, when they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

/// How much of a file is read for its headers.
const HEADER_BYTES: usize = 64 * 1024;

impl NamedItem {
    fn of(item: &crate::source::Item, problem: Problem) -> NamedItem {
        let mut n = NamedItem {
            problem,
            item: item.id.clone(),
            path: item.path().display().to_string(),
            ..NamedItem::default()
        };
        // Only the head is read (a missing message may be large), and the
        // values are kept exact: the text report escapes what it prints.
        match item.read_head(HEADER_BYTES as u64) {
            Ok(head) => {
                let value = |name: &str| crate::message::header_value(&head, name);
                n.subject = value("Subject");
                n.message_id = value("Message-ID");
                n.date = value("Date");
            }
            Err(e) => n.unreadable = Some(e.to_string()),
        }
        n
    }
}

/// Names the folder's missing, unmigrated and different items.
fn name_problems(folder: &Folder, fc: &mut FolderCheck) {
    let wanted: std::collections::HashSet<&str> = fc
        .missing_on_target
        .iter()
        .chain(&fc.not_migrated)
        .chain(&fc.differs)
        .chain(&fc.flags_differ)
        .map(String::as_str)
        .collect();
    if wanted.is_empty() {
        return;
    }
    let items: HashMap<&str, &crate::source::Item> = folder
        .items
        .iter()
        .filter(|i| wanted.contains(i.id.as_str()))
        .map(|i| (i.id.as_str(), i))
        .collect();
    let mut named = Vec::new();
    for (problem, ids) in [
        (Problem::MissingOnTarget, &fc.missing_on_target),
        (Problem::NotMigrated, &fc.not_migrated),
        (Problem::Differs, &fc.differs),
        (Problem::FlagsDiffer, &fc.flags_differ),
    ] {
        for id in ids {
            if let Some(item) = items.get(id.as_str()) {
                named.push(NamedItem::of(item, problem));
            }
        }
    }
    fc.named = named;
}

/// A message on the target that no journal row accounts for.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ExtraCopy {
    /// Its UID on the target.
    pub uid: Option<u32>,
    /// The journaled item whose content it holds (`folder/item`; the
    /// folder may be another one that goes to the same mailbox): the same
    /// source item twice on the target.
    pub duplicate_of: Option<String>,
    /// The UID of that item's journaled copy.
    pub original_uid: Option<u32>,
}

/// One account's check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountCheck {
    /// Account id.
    pub account: String,
    pub folders: Vec<FolderCheck>,
    /// Why the account could not be checked.
    pub error: Option<String>,
    /// What the check did besides checking (journal rows taken over).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyTotals {
    pub source_items: u64,
    /// Present on the target.
    pub present: u64,
    /// Journaled but missing on the target.
    pub missing_on_target: u64,
    /// Present with other content.
    pub differs: u64,
    /// Never migrated.
    pub not_migrated: u64,
    /// On the target, accounted for by no journal row.
    pub extra: u64,
    /// Of those, copies of journaled items (duplicates), with the copies
    /// of gone items that duplicate a live one.
    pub duplicates: u64,
    /// Copies still on the target whose source item is gone (among them
    /// the duplicates counted in `extra`).
    pub gone_at_source: u64,
    /// Present with other system flags than the source has (not counted
    /// as missing).
    pub flags_differ: u64,
    /// Folders or accounts that could not be checked.
    pub errors: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Verification {
    /// Target identity.
    pub target: String,
    /// Journal path.
    pub journal: String,
    /// Whether content was compared.
    pub deep: bool,
    /// Matched by content, without a journal (`--no-journal`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_journal: bool,
    pub accounts: Vec<AccountCheck>,
    pub totals: VerifyTotals,
    /// 0 when everything is there, 3 otherwise.
    pub exit_code: i32,
}

/// Verifies the target.
pub fn verify(
    source: &dyn Source,
    target: &dyn Destination,
    journal: &Journal,
    opts: &VerifyOptions,
) -> Verification {
    let mut v = Verification {
        target: target.id(),
        journal: journal.path().display().to_string(),
        deep: opts.deep,
        ..Verification::default()
    };
    let accounts = match source.accounts() {
        Ok(list) => list.accounts,
        Err(e) => {
            v.accounts.push(AccountCheck {
                error: Some(e.to_string()),
                ..AccountCheck::default()
            });
            v.finish();
            return v;
        }
    };
    for account in accounts.iter().filter(|a| opts.selection.account(&a.id())) {
        v.accounts
            .push(check_account(source, target, journal, opts, account));
    }
    v.finish();
    v
}

/// An account's check, started: its empty [`AccountCheck`] and its walk,
/// or the check with the reason the account could not be walked.
pub(super) fn start_check<'s>(
    source: &'s dyn Source,
    account: &Account,
) -> Result<(AccountCheck, crate::source::AccountWalk<'s>), AccountCheck> {
    let mut ac = AccountCheck {
        account: account.id(),
        ..AccountCheck::default()
    };
    match source.walk(account) {
        Ok(walk) => Ok((ac, walk)),
        Err(e) => {
            ac.error = Some(e.to_string());
            Err(ac)
        }
    }
}

/// One account: every selected mail folder of the walk, against the
/// journal and the target (opened at the first folder that needs it, and
/// again at the next one when that failed).
fn check_account(
    source: &dyn Source,
    target: &dyn Destination,
    journal: &Journal,
    opts: &VerifyOptions,
    account: &Account,
) -> AccountCheck {
    let (mut ac, walk) = match start_check(source, account) {
        Ok(started) => started,
        Err(failed) => return failed,
    };
    let mut session: Option<Box<dyn DestSession>> = None;
    let mut extras_checked: std::collections::HashSet<String> = Default::default();
    // Content of the account's journaled live items (for the gone copies
    // that duplicate one), and the gone copies found per folder check.
    let mut live: HashMap<ContentHash, gone::Place> = HashMap::new();
    let mut gone_found: Vec<(usize, Vec<(GoneCopy, ContentHash)>)> = Vec::new();
    let mut walked: std::collections::HashSet<String> = Default::default();
    // Rows written under another URL of this server (localhost for
    // 127.0.0.1, a proxy) are taken over first, as `migrate` does, or
    // every message they account for would be reported missing.
    let others = journal.has_other_targets(&ac.account).unwrap_or_else(|e| {
        ac.notes
            .push(format!("rows under other URLs not looked for: {e}"));
        false
    });
    if others {
        match target.open(account) {
            Ok(mut s) => {
                match crate::engine::take_over_account(journal, &ac.account, s.as_mut()) {
                    Ok(notes) => ac.notes.extend(notes),
                    Err(e) => ac.error = Some(e.to_string()),
                }
                session = Some(s);
            }
            Err(e) => ac.error = Some(format!("cannot open the target account: {e}")),
        }
    }
    for folder in walk {
        walked.insert(folder.path.clone());
        if folder.kind() != FolderKind::Mail || !opts.selection.folder(&folder.path) {
            continue;
        }
        let mut fc = FolderCheck {
            folder: folder.path.clone(),
            ..FolderCheck::default()
        };
        let done = match journal.done_items(&ac.account, &folder.path) {
            Ok(d) => d,
            Err(e) => {
                fc.error = Some(e.to_string());
                ac.folders.push(fc);
                continue;
            }
        };
        let expected = expected(&folder, &done, opts.skip_deleted, opts.deep, &mut fc);
        if session.is_none() {
            match target.open(account) {
                Ok(s) => session = Some(s),
                Err(e) => {
                    ac.error = Some(format!("cannot open the target account: {e}"));
                }
            }
        }
        match session.as_mut() {
            Some(sess) => {
                check_on_target(sess.as_mut(), &folder, expected, opts.deep, &mut fc);
                if fc.error.is_none() {
                    check_flags(sess.as_mut(), &folder, &done, opts.skip_deleted, &mut fc);
                }
                if let Some(m) = fc.mailbox.clone() {
                    if fc.error.is_none() && extras_checked.insert(m.clone()) {
                        check_extras(sess.as_mut(), journal, &ac.account, &m, &done, &mut fc);
                    }
                }
                let ids: std::collections::HashSet<&str> =
                    folder.items.iter().map(|i| i.id.as_str()).collect();
                for (id, rows) in done.iter().filter(|(id, _)| ids.contains(id.as_str())) {
                    for d in rows {
                        live.entry(d.hash)
                            .or_insert_with(|| (folder.path.clone(), id.clone()));
                    }
                }
                let gone = gone::rows_of_gone(&done, &ids);
                if fc.error.is_none() && !gone.is_empty() {
                    match gone::still_there(sess.as_mut(), &gone) {
                        Ok(found) => gone_found.push((ac.folders.len(), found)),
                        Err(e) => fc.error = Some(e.to_string()),
                    }
                }
            }
            None => fc.error = ac.error.clone(),
        }
        name_problems(&folder, &mut fc);
        ac.folders.push(fc);
    }
    // Folders the journal has that the source no longer has (deleted, or
    // renamed without `sync`): all their copies are of gone items.
    if let (Some(sess), Ok(folders)) = (session.as_mut(), journal.journaled_folders(&ac.account)) {
        for path in folders {
            if walked.contains(&path) || !opts.selection.folder(&path) {
                continue;
            }
            let mut fc = FolderCheck {
                folder: path.clone(),
                ..FolderCheck::default()
            };
            match journal.done_items(&ac.account, &path) {
                Ok(done) => {
                    let gone = gone::rows_of_gone(&done, &Default::default());
                    fc.mailbox = gone.first().map(|(_, d)| d.mailbox.clone());
                    match gone::still_there(sess.as_mut(), &gone) {
                        Ok(found) if found.is_empty() => continue,
                        Ok(found) => gone_found.push((ac.folders.len(), found)),
                        Err(e) => fc.error = Some(e.to_string()),
                    }
                }
                Err(e) => fc.error = Some(e.to_string()),
            }
            ac.folders.push(fc);
        }
    }
    for (i, found) in gone_found {
        let Some(fc) = ac.folders.get_mut(i) else {
            continue;
        };
        let account = &ac.account;
        let run = |folder: &str, item: &str, h: &ContentHash| {
            journal.run_of(account, folder, item, h).ok().flatten()
        };
        let later = |c: &GoneCopy, h: &ContentHash, l: &(String, String)| match (
            run(&fc.folder, &c.item, h),
            run(&l.0, &l.1, h),
        ) {
            (Some(gone), Some(live)) => live > gone,
            _ => false,
        };
        fc.gone_at_source = gone::name_duplicates(found, &live, &later);
    }
    if let Some(s) = session {
        let _ = s.finish();
    }
    ac
}

/// What the journal says of a folder's items.
struct Expected {
    /// Journaled items: id, where the target has it, content hash, bytes
    /// sent.
    refs: Vec<(String, DestRef, ContentHash, Option<u64>)>,
    /// The mailbox the journal recorded them in.
    mailbox: Option<String>,
}

/// Counts the source items (non-empty: empty files are never migrated;
/// mail only: groupware items go to the exporters; not deleted with
/// `--skip-deleted`) and lists those the journal has no
/// record of; returns the journaled ones.
fn expected(
    folder: &Folder,
    done: &HashMap<String, Vec<DoneItem>>,
    skip_deleted: bool,
    deep: bool,
    fc: &mut FolderCheck,
) -> Expected {
    let mut refs: Vec<(String, DestRef, ContentHash, Option<u64>)> = Vec::new();
    let mut mailbox: Option<String> = None;
    for item in &folder.items {
        let empty = item.stat().map(|s| s.size == 0).unwrap_or(false);
        if empty || !item.is_mail() || (skip_deleted && item.deleted()) {
            continue;
        }
        fc.source_items += 1;
        match done.get(&item.id).and_then(|v| v.last()) {
            None => fc.not_migrated.push(item.id.clone()),
            Some(d) => {
                mailbox.get_or_insert(d.mailbox.clone());
                let hash = if deep { sent_hash(item, d) } else { d.hash };
                refs.push((item.id.clone(), d.target.clone(), hash, d.size));
            }
        }
    }
    fc.journaled = refs.len() as u64;
    Expected { refs, mailbox }
}

/// The hash of what was sent, for `--deep`: the journaled hash, unless
/// the journal's size says the NUL bytes were removed on the wire (`--nul
/// strip` on a server without BINARY): then the hash of the item prepared
/// again without them, so that our own documented change is no difference.
fn sent_hash(item: &crate::source::Item, d: &DoneItem) -> ContentHash {
    let Some(sent) = d.size else {
        return d.hash;
    };
    let Ok(raw) = item.read() else {
        return d.hash;
    };
    let p = crate::message::prepare(raw.bytes);
    let nul = p.bytes.iter().filter(|b| **b == 0).count() as u64;
    if p.hash != d.hash || nul == 0 || sent != p.bytes.len() as u64 - nul {
        return d.hash;
    }
    let stripped: Vec<u8> = p.bytes.into_iter().filter(|b| *b != 0).collect();
    ContentHash::of(&stripped)
}

/// Asks the target which journaled items it has (and, `deep`, with the
/// same content), in the mailbox the journal recorded, else the one the
/// mapping names.
fn check_on_target(
    sess: &mut dyn DestSession,
    folder: &Folder,
    expected: Expected,
    deep: bool,
    fc: &mut FolderCheck,
) {
    let mailbox = match expected.mailbox {
        Some(m) => Ok(m),
        None => sess.plan_mailbox(&MailboxSpec {
            source_path: folder.path.clone(),
            components: folder.components.clone(),
        }),
    };
    let mailbox = match mailbox {
        Ok(m) => m,
        Err(e) => {
            fc.error = Some(e.to_string());
            return;
        }
    };
    fc.mailbox = Some(mailbox.clone());
    let refs = expected.refs;
    if refs.is_empty() {
        return;
    }
    let pairs: Vec<(DestRef, ContentHash)> =
        refs.iter().map(|(_, r, h, _)| (r.clone(), *h)).collect();
    let mut present: Vec<(usize, (DestRef, u64))> = Vec::new();
    match sess.verify(&mailbox, &pairs, deep) {
        Ok(res) => {
            for (i, ((id, r, _, size), p)) in refs.iter().zip(res).enumerate() {
                match p {
                    Presence::Present => {
                        fc.present += 1;
                        if let Some(s) = size {
                            present.push((i, (r.clone(), *s)));
                        }
                    }
                    Presence::Missing => fc.missing_on_target.push(id.clone()),
                    Presence::Differs => fc.differs.push(id.clone()),
                }
            }
        }
        Err(e) => fc.error = Some(e.to_string()),
    }
    // Plain verify: present, but stored with another size (deep compared
    // the content already).
    if !deep && !present.is_empty() {
        let sized: Vec<(DestRef, u64)> = present.iter().map(|(_, p)| p.clone()).collect();
        match sess.stored_altered(&mailbox, &sized) {
            Ok(alt) => {
                for (j, reason) in alt {
                    if let Some((i, _)) = present.get(j) {
                        fc.altered.push(crate::report::ItemNote {
                            item: refs[*i].0.clone(),
                            reason,
                            path: None,
                        });
                    }
                }
            }
            Err(e) => fc.error = Some(e.to_string()),
        }
    }
}

/// Compares the system flags the target has for the journaled items
/// still there with the source's (targets that cannot tell say nothing).
fn check_flags(
    sess: &mut dyn DestSession,
    folder: &Folder,
    done: &HashMap<String, Vec<DoneItem>>,
    skip_deleted: bool,
    fc: &mut FolderCheck,
) {
    let Some(mailbox) = fc.mailbox.clone() else {
        return;
    };
    let gone: std::collections::HashSet<&str> = fc
        .missing_on_target
        .iter()
        .chain(&fc.differs)
        .map(String::as_str)
        .collect();
    let mut ids = Vec::new();
    let mut refs = Vec::new();
    for item in &folder.items {
        if !item.is_mail() || (skip_deleted && item.deleted()) || gone.contains(item.id.as_str()) {
            continue;
        }
        if let Some(d) = done.get(&item.id).and_then(|v| v.last()) {
            ids.push(item);
            refs.push(d.target.clone());
        }
    }
    match sess.stored_flags(&mailbox, &refs) {
        Ok(found) => {
            for (item, f) in ids.into_iter().zip(found) {
                if f.is_some_and(|f| f != item.flags()) {
                    fc.flags_differ.push(item.id.clone());
                }
            }
        }
        Err(e) => fc.error = Some(e.to_string()),
    }
}

/// Lists the messages in `mailbox` that no journal row of the account
/// accounts for, and which of them duplicate a journaled item. A target
/// that cannot look (Maildir) is not asked again and reports nothing.
fn check_extras(
    sess: &mut dyn DestSession,
    journal: &Journal,
    account: &str,
    mailbox: &str,
    done: &HashMap<String, Vec<DoneItem>>,
    fc: &mut FolderCheck,
) {
    let copies = match journal.done_in_mailbox(account, mailbox) {
        Ok(c) => c,
        Err(e) => {
            fc.error = Some(e.to_string());
            return;
        }
    };
    let extras = match sess.extras(mailbox, &copies) {
        Ok(x) => x,
        Err(crate::dest::DestError::Unsupported(_)) => return,
        Err(e) => {
            fc.error = Some(e.to_string());
            return;
        }
    };
    // This folder's items by where they are, to name what is duplicated.
    let by_uid: HashMap<(Option<u32>, Option<u32>), &str> = done
        .iter()
        .flat_map(|(id, rows)| {
            rows.iter()
                .map(move |d| ((d.target.uid_validity, d.target.uid), id.as_str()))
        })
        .collect();
    for x in extras {
        let original = x.duplicate_of.and_then(|i| copies.get(i));
        let duplicate_of = original.map(|c| match by_uid.get(&(c.uid_validity, c.uid)) {
            Some(id) if c.uid.is_some() => format!("{}/{id}", fc.folder),
            _ => "an item of another folder that goes to this mailbox".to_string(),
        });
        fc.extra.push(ExtraCopy {
            uid: x.uid,
            duplicate_of,
            original_uid: original.and_then(|c| c.uid),
        });
    }
}

impl Verification {
    fn finish(&mut self) {
        let mut t = VerifyTotals::default();
        for a in &self.accounts {
            t.errors += u64::from(a.error.is_some());
            for f in &a.folders {
                t.source_items += f.source_items;
                t.present += f.present;
                t.missing_on_target += f.missing_on_target.len() as u64;
                t.differs += f.differs.len() as u64;
                t.flags_differ += f.flags_differ.len() as u64;
                t.not_migrated += f.not_migrated.len() as u64;
                let gone_dups = f
                    .gone_at_source
                    .iter()
                    .filter(|g| g.duplicate_of.is_some())
                    .count() as u64;
                t.extra += f.extra.len() as u64 + gone_dups;
                t.duplicates +=
                    f.extra.iter().filter(|x| x.duplicate_of.is_some()).count() as u64 + gone_dups;
                t.gone_at_source += f.gone_at_source.len() as u64;
                t.errors += u64::from(f.error.is_some());
            }
        }
        self.exit_code =
            if t.missing_on_target + t.differs + t.not_migrated + t.extra + t.errors == 0 {
                exit::OK
            } else {
                exit::ITEMS_FAILED
            };
        self.totals = t;
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let journal = if self.no_journal {
            "none: matched by content".to_string()
        } else {
            format!("journal {}", self.journal)
        };
        let _ = writeln!(
            s,
            "verify {} ({journal}){}",
            self.target,
            if self.deep { ", content compared" } else { "" }
        );
        for a in &self.accounts {
            let _ = writeln!(s, "\n{}", a.account);
            if let Some(e) = &a.error {
                let _ = writeln!(s, "  ERROR: {e}");
            }
            for n in &a.notes {
                let _ = writeln!(s, "  note: {n}");
            }
            let mut problems: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for f in &a.folders {
                let _ = writeln!(
                    s,
                    "  {} {:>6} source {:>6} on target {:>4} missing {:>4} not migrated{}{}{}{}",
                    crate::text::pad(&f.folder, 32),
                    f.source_items,
                    f.present,
                    f.missing_on_target.len(),
                    f.not_migrated.len(),
                    if f.differs.is_empty() {
                        String::new()
                    } else {
                        format!(" {:>4} differ", f.differs.len())
                    },
                    if f.extra.is_empty() {
                        String::new()
                    } else {
                        format!(" {:>4} extra on target", f.extra.len())
                    },
                    if f.flags_differ.is_empty() {
                        String::new()
                    } else {
                        format!(" {:>4} flags differ", f.flags_differ.len())
                    },
                    if f.gone_at_source.is_empty() {
                        String::new()
                    } else {
                        format!(" {:>4} gone at the source", f.gone_at_source.len())
                    }
                );
                if let Some(e) = &f.error {
                    problems
                        .entry("cannot check")
                        .or_default()
                        .push(format!("{}: {e}", f.folder));
                }
                for n in &f.altered {
                    problems
                        .entry("stored altered by the server")
                        .or_default()
                        .push(format!("{}/{}: {}", f.folder, n.item, n.reason));
                }
            }
            for f in &a.folders {
                for x in &f.extra {
                    let uid = x.uid.map_or("?".to_string(), |u| u.to_string());
                    let line = match (&x.duplicate_of, x.original_uid) {
                        (Some(of), Some(o)) => {
                            format!("{} UID {uid} (duplicate of {of} at UID {o})", f.folder)
                        }
                        (Some(of), None) => format!("{} UID {uid} (duplicate of {of})", f.folder),
                        (None, _) => format!("{} UID {uid} (not from this migration)", f.folder),
                    };
                    problems.entry("extra on target").or_default().push(line);
                }
                for g in &f.gone_at_source {
                    let uid = g.uid.map_or("?".to_string(), |u| u.to_string());
                    let at = format!("{}/{} ({} UID {uid})", f.folder, g.item, g.mailbox);
                    match &g.duplicate_of {
                        Some(of) => problems
                            .entry("extra on target")
                            .or_default()
                            .push(format!("{at}: gone at the source, duplicate of {of}")),
                        None => problems
                            .entry("deleted at the source, still on the target (migrate --sync --propagate-deletes removes them)")
                            .or_default()
                            .push(at),
                    }
                }
            }
            for f in &a.folders {
                for n in &f.named {
                    let _ = writeln!(
                        s,
                        "  {}: {}/{} {} | Subject: {} | Message-ID: {} | Date: {}{}",
                        n.problem.as_str(),
                        f.folder,
                        n.item,
                        n.path,
                        n.subject.as_deref().unwrap_or("-"),
                        n.message_id.as_deref().unwrap_or("-"),
                        n.date.as_deref().unwrap_or("-"),
                        n.unreadable
                            .as_ref()
                            .map_or(String::new(), |e| format!(" (unreadable: {e})")),
                    );
                }
            }
            for (k, v) in problems {
                let shown: Vec<&str> = v.iter().take(20).map(String::as_str).collect();
                let more = if v.len() > 20 {
                    format!(" (+{} more, see --json)", v.len() - 20)
                } else {
                    String::new()
                };
                let _ = writeln!(s, "  {k}: {}{more}", shown.join(", "));
            }
        }
        let t = &self.totals;
        let _ = writeln!(
            s,
            "\nTOTAL: {} source items, {} on the target, {} missing on the target, {} differ, {} never migrated, {} extra on the target ({} duplicates), {} with other flags, {} gone at the source still on the target, {} unchecked",
            t.source_items, t.present, t.missing_on_target, t.differs, t.not_migrated, t.extra, t.duplicates, t.flags_differ, t.gone_at_source, t.errors
        );
        let _ = writeln!(s, "exit code {}", self.exit_code);
        s
    }

    /// Every named item as CSV (RFC 4180, CRLF, a header line) for a
    /// spreadsheet: cells that start like a formula are neutralised
    /// ([`crate::text::spreadsheet_field`]).
    pub fn to_csv(&self) -> String {
        let mut s = String::new();
        let row = |s: &mut String, fields: &[&str]| {
            let cells: Vec<String> = fields
                .iter()
                .map(|f| crate::text::spreadsheet_field(f))
                .collect();
            s.push_str(&cells.join(","));
            s.push_str("\r\n");
        };
        row(
            &mut s,
            &[
                "account",
                "folder",
                "mailbox",
                "problem",
                "item",
                "path",
                "subject",
                "message_id",
                "date",
            ],
        );
        for a in &self.accounts {
            for f in &a.folders {
                for n in &f.named {
                    row(
                        &mut s,
                        &[
                            &a.account,
                            &f.folder,
                            f.mailbox.as_deref().unwrap_or(""),
                            n.problem.as_str(),
                            &n.item,
                            &n.path,
                            n.subject.as_deref().unwrap_or(""),
                            n.message_id.as_deref().unwrap_or(""),
                            n.date.as_deref().unwrap_or(""),
                        ],
                    );
                }
            }
        }
        s
    }
}
