//! The migration driver: store → prepared messages → target → journal →
//! report.
//!
//! Per account: walk the folders, decide each folder's kind (only mail
//! folders are migrated), prepare the target mailbox, settle what an
//! interrupted run left pending (each item checked in the mailbox it was
//! sent to, against the journal's other items there; items the target
//! cannot tell about are reported failed and not sent), skip what the
//! journal says is already there (by file size and mtime without reading,
//! else by content hash), then read and prepare the rest in parallel
//! (rayon, in ordered chunks, through a bounded queue so memory stays flat)
//! and stream them into the target session. A Pending announcement is
//! acknowledged only once it is in the journal; the session sends nothing
//! unacknowledged. Every item ends in exactly one report bucket, even when
//! the journal fails; one bad file never stops the run. Once the run stops
//! (Ctrl-C, SIGTERM, a fatal error) nothing new is handed to the target.
//! Accounts run in parallel (`parallel_accounts`).

use crate::dest::{
    DeliveryResult, DestSession, Destination, MailboxSpec, Outgoing, Reconciled, SessionEvent,
};
use crate::journal::{DoneItem, ItemRow, Journal, JournalError, PendingItem};
use crate::message::{self, DateInputs, DateSource};
use crate::progress::{AccountProgress, Progress};
use crate::report::{AccountReport, FolderReport, Report, SkippedFolder};
use crate::select::Selection;
use crate::source::kerio::index::flag_bits;
use crate::source::kerio::items::{read_item, FolderContents, ItemRef};
use crate::source::kerio::layout::walk_account;
use crate::source::kerio::{Account, Folder, FolderKind, Store};
use rayon::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Options of a migration run.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// Accounts and folders to migrate.
    pub selection: Selection,
    /// Skip items whose index flags carry 0x8 (probably deleted, not
    /// expunged). By default they are migrated, without `\Deleted`.
    pub skip_deleted: bool,
    /// Journal rows per commit.
    pub journal_batch: usize,
    /// Items read and prepared in parallel per chunk.
    pub chunk: usize,
    /// Prepared messages queued ahead of the target.
    pub queue: usize,
    /// Accounts migrated at once.
    pub parallel_accounts: usize,
    /// Messages per second over the whole run (`None`: unlimited).
    pub max_rate: Option<f64>,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        MigrateOptions {
            selection: Selection::default(),
            skip_deleted: false,
            journal_batch: 512,
            chunk: 32,
            queue: 64,
            parallel_accounts: 2,
            max_rate: None,
        }
    }
}

/// Shared, read-only context of a run.
struct Ctx<'a> {
    target: &'a dyn Destination,
    journal: &'a Journal,
    opts: &'a MigrateOptions,
    progress: &'a Progress,
    cancel: &'a AtomicBool,
    now: i64,
    pacer: crate::pace::Pacer,
}

/// Runs a migration and returns its report (finalised, with exit code).
pub fn migrate(
    store: &Store,
    target: &dyn Destination,
    journal: &Journal,
    opts: &MigrateOptions,
    progress: &Progress,
    cancel: &AtomicBool,
) -> Report {
    let mut report = Report {
        version: env!("CARGO_PKG_VERSION").to_string(),
        started: chrono::Utc::now().to_rfc3339(),
        store: store.mail_root.display().to_string(),
        target: target.id(),
        journal: journal.path().display().to_string(),
        ..Report::default()
    };
    let accounts = match store.accounts() {
        Ok((a, _)) => a,
        Err(e) => {
            report.fatal = Some(e.to_string());
            report.finalize();
            return report;
        }
    };
    let accounts: Vec<Account> = accounts
        .into_iter()
        .filter(|a| opts.selection.account(&a.id()))
        .collect();
    let ctx = Ctx {
        target,
        journal,
        opts,
        progress,
        cancel,
        now: chrono::Utc::now().timestamp(),
        pacer: crate::pace::Pacer::new(opts.max_rate),
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, AccountReport)>> = Mutex::new(Vec::new());
    let fatal: Mutex<Option<String>> = Mutex::new(None);
    let stop = AtomicBool::new(false);
    let workers = opts.parallel_accounts.clamp(1, accounts.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(account) = accounts.get(i) else {
                    break;
                };
                let (rep, err) = migrate_account(&ctx, account, &stop);
                if let Some(e) = err {
                    stop.store(true, Ordering::Relaxed);
                    let mut f = fatal.lock().unwrap_or_else(|p| p.into_inner());
                    f.get_or_insert(e);
                }
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((i, rep));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);
    report.accounts = results.into_iter().map(|(_, r)| r).collect();
    report.fatal = fatal.into_inner().unwrap_or_else(|p| p.into_inner());
    report.interrupted = cancel.load(Ordering::Relaxed);
    report.finished = chrono::Utc::now().to_rfc3339();
    report.finalize();
    report
}

/// Migrates one account. Returns its report and a fatal error (journal
/// failure) that must stop the whole run.
fn migrate_account(
    ctx: &Ctx<'_>,
    account: &Account,
    stop: &AtomicBool,
) -> (AccountReport, Option<String>) {
    let mut rep = AccountReport {
        account: account.id(),
        ..AccountReport::default()
    };
    let tree = match walk_account(account) {
        Ok(t) => t,
        Err(e) => {
            rep.error = Some(e.to_string());
            return (rep, None);
        }
    };
    rep.skipped_system = tree.skipped.clone();
    let progress = ctx.progress.account(&rep.account);
    let mut session: Option<Box<dyn DestSession>> = None;
    let mut session_error: Option<String> = None;
    let mut not_mapped: Option<String> = None;
    let mut fatal = None;
    for (folder, contents, decision) in tree.classified() {
        if decision.kind != FolderKind::Mail {
            rep.skipped_folders
                .push(SkippedFolder::not_mail(folder, &contents, &decision));
            continue;
        }
        if !ctx.opts.selection.folder(&folder.path) {
            rep.skipped_folders
                .push(SkippedFolder::not_selected(folder, &contents, &decision));
            continue;
        }
        let mut fr = FolderReport {
            folder: folder.path.clone(),
            ..FolderReport::default()
        };
        folder_notes(&mut fr, folder, &contents, &decision);
        fr.counts.expected = contents.items.len() as u64;
        progress.add_total(fr.counts.expected);
        let all_fail = |fr: &mut FolderReport, reason: &str| {
            for it in &contents.items {
                fr.fail(&it.id, reason);
            }
            progress.inc(contents.items.len() as u64, 0);
        };
        if fatal.is_some() || stop.load(Ordering::Relaxed) || ctx.cancel.load(Ordering::Relaxed) {
            for it in &contents.items {
                fr.skip(&it.id, "not attempted: run stopped");
            }
            rep.folders.push(fr);
            continue;
        }
        if session.is_none() && session_error.is_none() && not_mapped.is_none() {
            match ctx.target.open(account) {
                Ok(s) => {
                    rep.target_account = Some(s.target_account());
                    session = Some(s);
                }
                Err(crate::dest::DestError::NotMapped(why)) => {
                    not_mapped = Some(why);
                }
                Err(e) => {
                    session_error = Some(e.to_string());
                    rep.error = Some(format!("cannot open the target account: {e}"));
                }
            }
        }
        if let Some(why) = &not_mapped {
            for it in &contents.items {
                fr.skip(&it.id, format!("not mapped: {why}"));
            }
            progress.inc(contents.items.len() as u64, 0);
            rep.folders.push(fr);
            continue;
        }
        let Some(sess) = session.as_mut() else {
            all_fail(
                &mut fr,
                &format!(
                    "target account not opened: {}",
                    session_error.as_deref().unwrap_or("?")
                ),
            );
            rep.folders.push(fr);
            continue;
        };
        let spec = MailboxSpec {
            source_path: folder.path.clone(),
            components: folder.components.clone(),
        };
        match sess.prepare_mailbox(&spec) {
            Ok(mailbox) => {
                fr.mailbox = Some(mailbox.clone());
                if let Ok(p) = sess.explain_mailbox(&spec) {
                    fr.renamed = p
                        .how
                        .is_some_and(|h| h != crate::mapping::MapSource::Default)
                        || !p.notes.is_empty();
                    fr.notes
                        .extend(p.notes.into_iter().map(|n| format!("folder mapping: {n}")));
                }
                if let Err(e) = migrate_folder(
                    ctx,
                    sess.as_mut(),
                    &mailbox,
                    account,
                    folder,
                    &contents,
                    &mut fr,
                    stop,
                    &progress,
                ) {
                    fatal = Some(e.to_string());
                    stop.store(true, Ordering::Relaxed);
                }
            }
            Err(e) => all_fail(&mut fr, &format!("target mailbox not available: {e}")),
        }
        rep.folders.push(fr);
    }
    if let Some(s) = session {
        if let Err(e) = s.finish() {
            rep.error
                .get_or_insert(format!("closing the target account: {e}"));
        }
    }
    (rep, fatal)
}

fn folder_notes(
    fr: &mut FolderReport,
    folder: &Folder,
    c: &FolderContents,
    d: &crate::source::kerio::KindDecision,
) {
    if let Some(p) = &folder.name_problem {
        fr.notes.push(p.clone());
    }
    match &c.index {
        None => fr
            .notes
            .push("no index.fld: flags unknown, dates from file times".into()),
        Some(idx) => {
            if idx.stats.garbage > 0 {
                fr.notes.push(format!(
                    "index.fld: {} unparsable line(s) skipped",
                    idx.stats.garbage
                ));
            }
        }
    }
    if !c.stale.is_empty() {
        let mut ids = c.stale.clone();
        ids.truncate(10);
        fr.notes.push(format!(
            "index.fld lists {} item(s) with no file (stale): {}",
            c.stale.len(),
            ids.join(", ")
        ));
    }
    if c.unindexed > 0 && c.index.is_some() {
        fr.notes.push(format!(
            "{} file(s) not in index.fld: migrated unflagged, dated by file time",
            c.unindexed
        ));
    }
    if c.duplicate_ids > 0 {
        fr.notes.push(format!(
            "{} file(s) share an index id with another file",
            c.duplicate_ids
        ));
    }
    for (name, n) in &c.skipped.files {
        fr.notes.push(format!(
            "ignored {n} non-item file(s) named {name:?} in #msgs"
        ));
    }
    for p in &c.problems {
        fr.notes.push(p.clone());
    }
    if let Some(code) = d.unrecognised_type_code {
        fr.notes.push(format!(
            "status.fld type T{code} is not a known code; kind from {}",
            d.source
        ));
    }
    for (src, k) in &d.disagreements {
        fr.notes.push(format!(
            "kind: {} says {k}, {} says {}",
            src, d.source, d.kind
        ));
    }
}

/// Settles what an interrupted run left pending in this folder, each item
/// in the mailbox it was sent to (the mapping may have changed since):
/// items found on the target become done, items certainly absent are
/// forgotten (and sent again), and items the target cannot tell about are
/// returned with the reason, so they are neither sent nor counted as there.
fn reconcile_pending(
    ctx: &Ctx<'_>,
    session: &mut dyn DestSession,
    account_id: &str,
    folder: &str,
    fr: &mut FolderReport,
) -> Result<HashMap<String, String>, JournalError> {
    let pending = ctx.journal.pending_items(account_id, folder)?;
    let mut unresolved: HashMap<String, String> = HashMap::new();
    if pending.is_empty() {
        return Ok(unresolved);
    }
    let mut by_mailbox: Vec<(String, Vec<PendingItem>)> = Vec::new();
    for p in pending {
        match by_mailbox.iter_mut().find(|(m, _)| *m == p.mailbox) {
            Some((_, v)) => v.push(p),
            None => by_mailbox.push((p.mailbox.clone(), vec![p])),
        }
    }
    let (mut found, mut sent_again) = (0, 0);
    let total: usize = by_mailbox.iter().map(|(_, v)| v.len()).sum();
    for (mailbox, items) in by_mailbox {
        // Other items already in that mailbox: a byte-identical pending
        // item must not be matched to their copies.
        let known = ctx.journal.done_in_mailbox(account_id, &mailbox)?;
        let answers = match session.reconcile(&mailbox, &items, &known) {
            Ok(a) if a.len() == items.len() => a,
            Ok(a) => {
                let why = format!(
                    "the target answered {} times for {} items",
                    a.len(),
                    items.len()
                );
                vec![Reconciled::Unknown(why); items.len()]
            }
            Err(e) => vec![Reconciled::Unknown(format!("the check failed: {e}")); items.len()],
        };
        let mut done_rows = Vec::new();
        let mut absent = Vec::new();
        for (p, a) in items.into_iter().zip(answers) {
            match a {
                Reconciled::Present(r) => done_rows.push(ItemRow {
                    account: account_id.to_string(),
                    folder: folder.to_string(),
                    target_id: r.id,
                    uid_validity: r.uid_validity,
                    uid: r.uid,
                    size: p.size,
                    internal_date: p.internal_date,
                    src_size: p.src_size,
                    src_mtime: p.src_mtime,
                    marker: None,
                    item: p.item,
                    hash: p.hash,
                    mailbox: p.mailbox,
                    message_id: p.message_id,
                }),
                Reconciled::Absent => absent.push((p.item, p.hash)),
                Reconciled::Unknown(why) => {
                    let why = if mailbox == fr.mailbox.as_deref().unwrap_or_default() {
                        why
                    } else {
                        format!("{why} (in {mailbox:?}, where it was sent)")
                    };
                    unresolved.insert(p.item, why);
                }
            }
        }
        found += done_rows.len();
        sent_again += absent.len();
        ctx.journal.record_done(&done_rows)?;
        ctx.journal.clear_pending(account_id, folder, &absent)?;
    }
    fr.notes.push(format!(
        "{total} message(s) were in flight when a previous run stopped: {found} found on the target, {sent_again} not there (sent again), {} in doubt (not sent again)",
        unresolved.len()
    ));
    Ok(unresolved)
}

/// Where a prepared message came from, for the journal.
#[derive(Debug, Clone, Copy)]
struct SrcInfo {
    size: u64,
    mtime: Option<i64>,
}

enum Prepped {
    Send(Outgoing, SrcInfo, DateSource, message::Anomalies),
    Empty(String),
    Fail(String, String),
    /// Found done by its content: only the source size and mtime of its
    /// journal row are refreshed.
    Already(ItemRow),
}

fn file_stat(path: &std::path::Path) -> std::io::Result<SrcInfo> {
    let m = std::fs::metadata(path)?;
    let mtime = m.modified().ok().and_then(|t| {
        t.duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs() as i64)
    });
    Ok(SrcInfo {
        size: m.len(),
        mtime,
    })
}

struct FolderState<'r> {
    fr: &'r mut FolderReport,
    inflight: HashMap<String, SrcInfo>,
    /// Size, internal date and Message-ID of what is in flight, for the
    /// pending rows (reconciliation matches on them).
    facts: HashMap<String, (u64, i64, Option<String>)>,
    rows: Vec<ItemRow>,
    /// Done rows whose source size and mtime need refreshing.
    refresh: Vec<ItemRow>,
    fatal: Option<JournalError>,
}

#[allow(clippy::too_many_arguments)]
fn migrate_folder(
    ctx: &Ctx<'_>,
    session: &mut dyn DestSession,
    mailbox: &str,
    account: &Account,
    folder: &Folder,
    contents: &FolderContents,
    fr: &mut FolderReport,
    stop: &AtomicBool,
    progress: &AccountProgress<'_>,
) -> Result<(), JournalError> {
    let account_id = account.id();
    let start = reconcile_pending(ctx, session, &account_id, &folder.path, fr)
        .and_then(|u| Ok((u, ctx.journal.done_items(&account_id, &folder.path)?)));
    let (unresolved, done) = match start {
        Ok(v) => v,
        Err(e) => {
            // Without the journal nothing can be sent safely; every item is
            // still counted, so the folder's numbers add up.
            for it in &contents.items {
                fr.skip(&it.id, "not attempted: journal error");
            }
            progress.inc(contents.items.len() as u64, 0);
            return Err(e);
        }
    };
    let row_for = |item: &str, hash: crate::model::ContentHash, src: SrcInfo| ItemRow {
        account: account_id.clone(),
        folder: folder.path.clone(),
        item: item.to_string(),
        hash,
        src_size: Some(src.size),
        src_mtime: src.mtime,
        mailbox: mailbox.to_string(),
        ..ItemRow::default()
    };

    // Decide what needs reading at all.
    let mut work: Vec<(&ItemRef, SrcInfo)> = Vec::new();
    for item in &contents.items {
        let rec = contents.record(item);
        if ctx.opts.skip_deleted && rec.is_some_and(|r| r.flags() & flag_bits::DELETED != 0) {
            fr.skip(
                &item.id,
                "flagged deleted (0x8) in index.fld; --skip-deleted",
            );
            progress.inc(1, 0);
            continue;
        }
        let src = match file_stat(&contents.path(item)) {
            Ok(s) => s,
            Err(e) => {
                fr.fail(&item.id, format!("unreadable: {e}"));
                progress.inc(1, 0);
                continue;
            }
        };
        if let Some(why) = unresolved.get(&item.id) {
            fr.fail(
                &item.id,
                format!("arrival in doubt: a previous run sent it and the target cannot tell whether it arrived ({why}); not sent again (rerun to check again)"),
            );
            progress.inc(1, 0);
            continue;
        }
        let seen = done.get(&item.id).is_some_and(|v| {
            v.iter()
                .any(|d| d.src_size == Some(src.size) && d.src_mtime == src.mtime)
        });
        if seen {
            fr.counts.already_present += 1;
            progress.inc(1, 0);
            continue;
        }
        work.push((item, src));
    }
    if work.is_empty() {
        return Ok(());
    }

    let prepare_one = |item: &ItemRef, src: SrcInfo| -> Prepped {
        let path = contents.path(item);
        let (raw, mtime) = match read_item(&path) {
            Ok(v) => v,
            Err(e) => return Prepped::Fail(item.id.clone(), format!("unreadable: {e}")),
        };
        let src = SrcInfo {
            size: raw.len() as u64,
            mtime: mtime.or(src.mtime),
        };
        let p = message::prepare(raw);
        if p.anomalies.empty {
            return Prepped::Empty(item.id.clone());
        }
        let hash = p.hash;
        if done
            .get(&item.id)
            .is_some_and(|v: &Vec<DoneItem>| v.iter().any(|d| d.hash == hash))
        {
            return Prepped::Already(row_for(&item.id, hash, src));
        }
        let rec = contents.record(item);
        let (date, source) = message::internal_date(
            &DateInputs {
                index_received: rec.and_then(|r| r.received),
                index_created: rec.and_then(|r| r.created),
                mtime: src.mtime,
                received_header: p.received_header,
                date_header: p.date_header,
            },
            ctx.now,
        );
        let anomalies = p.anomalies;
        Prepped::Send(
            Outgoing {
                item_id: item.id.clone(),
                flags: rec
                    .map(|r| crate::source::kerio::index::mail_flags(r.flags()))
                    .unwrap_or_default(),
                internal_date: date,
                message: p,
            },
            src,
            source,
            anomalies,
        )
    };

    let local_stop = AtomicBool::new(false);
    // The run stops (Ctrl-C / SIGTERM, or another account's fatal error).
    let halted = || stop.load(Ordering::Relaxed) || ctx.cancel.load(Ordering::Relaxed);
    // … or this folder stops taking messages.
    let stopped = || local_stop.load(Ordering::Relaxed) || halted();
    let (tx, rx) = crossbeam_channel::bounded::<Prepped>(ctx.opts.queue.max(1));
    let state = RefCell::new(FolderState {
        fr,
        inflight: HashMap::new(),
        facts: HashMap::new(),
        rows: Vec::new(),
        refresh: Vec::new(),
        fatal: None,
    });
    let barrier = session.durability_barrier();
    let flush = |st: &mut FolderState<'_>| {
        if st.fatal.is_some() {
            return;
        }
        if !st.refresh.is_empty() {
            if let Err(e) = ctx.journal.refresh_source(&st.refresh) {
                st.fatal = Some(e);
                return;
            }
            st.refresh.clear();
        }
        if st.rows.is_empty() {
            return;
        }
        if let Err(e) = barrier() {
            // Not durable: do not claim it in the journal; the deterministic
            // target names or reconciliation will find it next time.
            st.fr
                .notes
                .push(format!("could not sync the target before journaling: {e}"));
            st.rows.clear();
            return;
        }
        if let Err(e) = ctx.journal.record_done(&st.rows) {
            st.fatal = Some(e);
        }
        st.rows.clear();
    };

    // Items handed to the queue, in `work` order (the producer keeps order).
    let produced = AtomicUsize::new(0);
    std::thread::scope(|s| {
        s.spawn({
            // The producer owns the sender: when it ends, the stream ends.
            let (tx, work, prepare_one, stopped, produced) =
                (tx, &work, &prepare_one, &stopped, &produced);
            move || {
                for chunk in work.chunks(ctx.opts.chunk.max(1)) {
                    if stopped() {
                        break;
                    }
                    let batch: Vec<Prepped> = chunk
                        .par_iter()
                        .map(|(it, src)| prepare_one(it, *src))
                        .collect();
                    for p in batch {
                        if tx.send(p).is_err() {
                            return;
                        }
                        produced.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });

        let mut stream = rx.iter().filter_map(|p| {
            let mut st = state.borrow_mut();
            match p {
                Prepped::Send(o, src, dsrc, anomalies) => {
                    // --max-rate: not while draining after a stop, and a
                    // stop ends the wait.
                    if !stopped() && st.fatal.is_none() {
                        drop(st);
                        ctx.pacer.wait(&stopped);
                        st = state.borrow_mut();
                    }
                    if halted() || st.fatal.is_some() {
                        // Nothing new goes out once the run stops.
                        st.fr.skip(&o.item_id, "not attempted: run stopped");
                        progress.inc(1, 0);
                        return None;
                    }
                    *st.fr
                        .date_sources
                        .entry(dsrc.as_str().to_string())
                        .or_default() += 1;
                    for a in anomalies.names() {
                        *st.fr.anomalies.entry(a.to_string()).or_default() += 1;
                    }
                    st.inflight.insert(o.item_id.clone(), src);
                    st.facts.insert(
                        o.item_id.clone(),
                        (
                            o.message.bytes.len() as u64,
                            o.internal_date.timestamp(),
                            o.message.message_id.clone(),
                        ),
                    );
                    Some(o)
                }
                Prepped::Empty(item) => {
                    st.fr
                        .skip(&item, "empty file (0 bytes): nothing to migrate");
                    *st.fr.anomalies.entry("empty file".into()).or_default() += 1;
                    progress.inc(1, 0);
                    None
                }
                Prepped::Fail(item, reason) => {
                    st.fr.fail(&item, reason);
                    progress.inc(1, 0);
                    None
                }
                Prepped::Already(row) => {
                    st.fr.counts.already_present += 1;
                    st.refresh.push(row);
                    if st.refresh.len() >= ctx.opts.journal_batch {
                        flush(&mut st);
                    }
                    progress.inc(1, 0);
                    None
                }
            }
        });
        let result = session.deliver(mailbox, &mut stream, &mut |ev| {
            let mut st = state.borrow_mut();
            match ev {
                SessionEvent::Pending { items, marker } => {
                    // `false`: not recorded, so the session must not send.
                    if st.fatal.is_some() {
                        return false;
                    }
                    let rows: Vec<ItemRow> = items
                        .iter()
                        .map(|(item, hash)| {
                            let src = st.inflight.get(item).copied().unwrap_or(SrcInfo {
                                size: 0,
                                mtime: None,
                            });
                            let facts = st.facts.get(item);
                            ItemRow {
                                marker: Some(marker.clone()),
                                size: facts.map(|f| f.0),
                                internal_date: facts.map(|f| f.1),
                                message_id: facts.and_then(|f| f.2.clone()),
                                ..row_for(item, *hash, src)
                            }
                        })
                        .collect();
                    if let Err(e) = ctx.journal.record_pending(&rows) {
                        st.fatal = Some(e);
                        local_stop.store(true, Ordering::Relaxed);
                        return false;
                    }
                    true
                }
                SessionEvent::Note(n) => {
                    st.fr.notes.push(n);
                    true
                }
                SessionEvent::Done(d) => {
                    st.facts.remove(&d.item_id);
                    let src = st.inflight.remove(&d.item_id).unwrap_or(SrcInfo {
                        size: 0,
                        mtime: None,
                    });
                    let base = row_for(&d.item_id, d.hash, src);
                    let row_with = |r: crate::dest::DestRef| ItemRow {
                        target_id: r.id,
                        uid_validity: r.uid_validity,
                        uid: r.uid,
                        size: Some(d.size),
                        internal_date: Some(d.internal_date.timestamp()),
                        message_id: d.message_id.clone(),
                        ..base.clone()
                    };
                    match d.result {
                        DeliveryResult::Delivered(r) => {
                            st.fr.counts.migrated += 1;
                            st.fr.counts.bytes_migrated += d.size;
                            if let Some(uid) = r.uid {
                                st.fr.saw_uid(r.uid_validity, uid);
                            }
                            progress.inc(1, d.size);
                            let row = row_with(r);
                            st.rows.push(row);
                        }
                        DeliveryResult::AlreadyPresent(r) => {
                            st.fr.counts.already_present += 1;
                            progress.inc(1, 0);
                            let row = row_with(r);
                            st.rows.push(row);
                        }
                        DeliveryResult::Skipped { reason } => {
                            st.fr.skip(&d.item_id, reason);
                            progress.inc(1, 0);
                        }
                        DeliveryResult::Failed { reason } => {
                            st.fr.fail(&d.item_id, reason);
                            progress.inc(1, 0);
                        }
                    }
                    if st.rows.len() >= ctx.opts.journal_batch {
                        flush(&mut st);
                        if st.fatal.is_some() {
                            local_stop.store(true, Ordering::Relaxed);
                        }
                    }
                    true
                }
            }
        });
        // Whatever the session did not take: stop the producer, drain.
        local_stop.store(true, Ordering::Relaxed);
        let reason = match &result {
            Err(e) => format!("target error: {e}"),
            Ok(()) => "not attempted: run stopped".to_string(),
        };
        for p in stream.by_ref() {
            let mut st = state.borrow_mut();
            st.inflight.remove(&p.item_id);
            if result.is_err() {
                st.fr.fail(&p.item_id, reason.clone());
            } else {
                st.fr.skip(&p.item_id, reason.clone());
            }
            progress.inc(1, 0);
        }
        drop(stream);
        drop(rx);
        let mut st = state.borrow_mut();
        let orphans: Vec<String> = st.inflight.drain().map(|(k, _)| k).collect();
        for item in orphans {
            st.fr.fail(
                &item,
                format!("no outcome reported by the target ({reason})"),
            );
            progress.inc(1, 0);
        }
    });
    let produced_upto = produced.into_inner();

    let mut st = state.into_inner();
    // Items the producer never reached.
    let interrupted = ctx.cancel.load(Ordering::Relaxed);
    for (item, _) in work.iter().skip(produced_upto) {
        if interrupted || st.fatal.is_some() {
            st.fr.skip(&item.id, "not attempted: run stopped");
        } else {
            st.fr.fail(
                &item.id,
                "not attempted: the target stopped taking messages",
            );
        }
        progress.inc(1, 0);
    }
    flush(&mut st);
    match st.fatal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
