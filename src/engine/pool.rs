//! The folders of one account on several destination sessions at once
//! (`--parallel-folders`): over a long link every folder pays serial round
//! trips (CREATE, EXAMINE + STATUS, the append window starting again, the
//! last answers, the stored sizes read back); on P sessions P folders pay
//! them at the same time.
//!
//! The folders are grouped by the mailbox they go to (by name folded to
//! lower case): the planned name of the folder and every mailbox the journal has items of it pending in
//! (an interrupted run's, checked by `reconcile` in the mailbox they were
//! sent to). A group runs on one session, its folders one after another in
//! the walk's order, so what a session knows of its copies in a mailbox
//! (claims, the comparison with unjournaled messages before appending,
//! the check of pending items) never meets another session's appends.
//! Groups go largest first (items) to whichever session is free; the
//! first session is the one the account opened (it also carried
//! `--sync`'s renames and moves before), the others are opened by their
//! worker thread, each taking its share of the account's connections
//! ([`crate::dest::DestSession::share_connections`]).
//!
//! Invariants a maintainer must keep (with those of `account`):
//! - every mail folder ends in the report exactly once, in the walk's
//!   order, with every item in one bucket: a worker whose session cannot
//!   be opened takes no group (the others take them; the first session
//!   exists before any worker starts), and once the run halts the groups
//!   left are still taken and their items skipped;
//! - two folders whose mailboxes are the same (or might be: a planning
//!   error puts a folder in a group of its own only when it has no
//!   pending rows elsewhere) never run at the same time;
//! - the total of append connections stays the account's (`--connections`).

use super::mail_folder::{
    if_new, lock, open_session, reserve_names, spec_of, AccountCtx, Classified, Parts, Session,
};
use crate::dest::{DestSession, MailboxSpec};
use crate::model::LinkStats;
use crate::report::FolderReport;
use crate::source::Folder;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// A mail folder to migrate: its place in the walk, the folder, its report.
type Job<'f> = (usize, &'f Folder, FolderReport);

/// Migrates the account's folders on up to `sessions` sessions.
pub(super) fn migrate_folders(a: Parts<'_>, folders: &[Folder], sessions: usize) {
    let Parts {
        ctx,
        account,
        first,
        rep,
        links: other_links,
    } = a;
    let mut jobs: Vec<Job<'_>> = Vec::new();
    for folder in folders {
        match ctx.classify(folder) {
            Classified::Listed(sf) => rep.skipped_folders.push(sf),
            Classified::Mail(fr) => jobs.push((jobs.len(), folder, *fr)),
        }
    }
    // The other sessions are opened at once, while the first one opens and
    // the folders are grouped: their logins overlap (one spare session is
    // logged out again when the folders turn out to share mailboxes).
    let extra = if ctx.halted() {
        0
    } else {
        sessions.min(jobs.len()).saturating_sub(1)
    };
    let shared = Shared {
        queue: Mutex::new(VecDeque::new()),
        done: Mutex::new(Vec::new()),
        notes: Mutex::new(Vec::new()),
        errors: Mutex::new(Vec::new()),
        links: Mutex::new(Vec::new()),
    };
    let has_items = jobs.iter().any(|(_, f, _)| !f.items.is_empty());
    let (go, plan) = crossbeam_channel::unbounded::<usize>();
    std::thread::scope(|s| {
        for k in 1..=extra {
            let (plan, shared) = (plan.clone(), &shared);
            let work = if_new(ctx.run, ctx.id, has_items.then_some((k, extra + 1)));
            s.spawn(move || shared.other_session(ctx, account, (k, work), &plan));
        }
        let session = if first.is_none() && ctx.halted() {
            // Stopped before the first folder: no login for nothing (every
            // item is skipped before a session is looked at).
            first.insert(Session::NotMapped(super::reason::RUN_STOPPED.into()))
        } else {
            let work = has_items.then_some((0, extra + 1));
            first.get_or_insert_with(|| open_session(ctx.run, account, rep, work))
        };
        if let Session::Open(s) = session {
            // Unselected folders' names too (the groups plan the others).
            reserve_names(s.as_mut(), folders);
        }
        let groups = match session {
            Session::Open(s) if extra > 0 => {
                groups(ctx.run.journal, ctx.id, s.as_mut(), jobs.len(), |i| {
                    jobs[i].1
                })
            }
            _ => None,
        };
        let p = match &groups {
            Some(g) if g.len() > 1 => (extra + 1).min(g.len()),
            _ => 1,
        };
        let mut slots: Vec<Option<Job<'_>>> = jobs.into_iter().map(Some).collect();
        let queue = lock(&shared.queue);
        let mut queue = queue;
        match groups {
            Some(g) if p > 1 => {
                tracing::info!(
                    "{}: {} folders in {} mailbox groups on {p} sessions",
                    ctx.id,
                    slots.len(),
                    g.len()
                );
                queue.extend(
                    g.into_iter()
                        .map(|g| g.into_iter().filter_map(|i| slots[i].take()).collect()),
                );
            }
            // One mailbox, no session, a journal error, a stop: one
            // session, the folders in order (the errors are reported there).
            _ => queue.push_back(slots.into_iter().flatten().collect()),
        }
        drop(queue);
        if let Session::Open(s) = session {
            s.share_connections(0, p);
        }
        for _ in 0..extra {
            let _ = go.send(p);
        }
        shared.work(ctx, Some(session));
    });
    let Shared {
        done,
        notes,
        errors,
        links,
        ..
    } = shared;
    let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_by_key(|(i, _)| *i);
    rep.folders.extend(done.into_iter().map(|(_, fr)| fr));
    rep.notes
        .extend(notes.into_inner().unwrap_or_else(|p| p.into_inner()));
    if let Some(e) = errors.into_inner().unwrap_or_else(|p| p.into_inner()).pop() {
        rep.error.get_or_insert(e);
    }
    other_links.extend(links.into_inner().unwrap_or_else(|p| p.into_inner()));
}

/// What the workers of one account share.
struct Shared<'f> {
    /// Groups not yet taken, largest first.
    queue: Mutex<VecDeque<Vec<Job<'f>>>>,
    /// The finished reports, by place in the walk.
    done: Mutex<Vec<(usize, FolderReport)>>,
    /// For the account's report.
    notes: Mutex<Vec<String>>,
    errors: Mutex<Vec<String>>,
    links: Mutex<Vec<LinkStats>>,
}

impl Shared<'_> {
    /// Session `k` of the account: opened at once, then, when the plan
    /// (how many sessions the groups need) says it is needed, takes groups
    /// like the first; else logged out.
    fn other_session(
        &self,
        ctx: AccountCtx<'_>,
        account: &crate::model::Account,
        (k, work): (usize, Option<(usize, usize)>),
        plan: &crossbeam_channel::Receiver<usize>,
    ) {
        let opened = ctx.run.target.open_expecting(account, work);
        let p = plan.recv().unwrap_or(0);
        match opened {
            Ok(mut session) => {
                let used = k < p && !ctx.halted();
                if used {
                    session.share_connections(k, p);
                }
                let mut session = Session::Open(session);
                if used {
                    self.work(ctx, Some(&mut session));
                }
                if let Session::Open(s) = session {
                    lock(&self.links).extend(s.info().links);
                    if let Err(e) = s.finish() {
                        lock(&self.errors).push(super::reason::cannot_close(e));
                    }
                }
            }
            // The other sessions take its folders.
            Err(e) if k < p => lock(&self.notes).push(format!(
                "folders migrated on fewer sessions at once: one more could not be opened ({e})"
            )),
            Err(_) => {}
        }
    }

    /// Takes groups until none is left; their folders on `session` (none:
    /// the run halted before it was opened, so every item is skipped).
    /// The session asks which folder comes next when the current one has
    /// handed out its last message: the next of the group, else the first
    /// of the next group, taken from the queue then (not earlier, so that
    /// a long folder does not hold a group another session could take).
    fn work(&self, ctx: AccountCtx<'_>, mut session: Option<&mut Session>) {
        let mut taken: Option<Vec<Job<'_>>> = None;
        loop {
            let group = match taken.take() {
                Some(g) => g,
                None => match lock(&self.queue).pop_front() {
                    Some(g) => g,
                    None => return,
                },
            };
            let mut group = group.into_iter().peekable();
            while let Some((i, folder, mut fr)) = group.next() {
                let mut within = group.peek().map(|(_, f, _)| spec_of(f));
                let mut next = || {
                    if let Some(s) = within.take() {
                        return Some(s);
                    }
                    if taken.is_none() {
                        taken = lock(&self.queue).pop_front();
                    }
                    taken.as_ref()?.first().map(|(_, f, _)| spec_of(f))
                };
                match session.as_deref_mut() {
                    Some(s) => ctx.migrate(s, folder, &mut fr, &mut next),
                    None => ctx.stopped_and_closed(folder, &mut fr),
                }
                lock(&self.done).push((i, fr));
            }
        }
    }
}

/// The folders `0..n` (`folder(i)`) grouped by mailbox (see the module
/// comment), largest group first; `None` on a journal error.
fn groups<'f>(
    journal: &crate::journal::Journal,
    account: &str,
    session: &mut dyn DestSession,
    n: usize,
    folder: impl Fn(usize) -> &'f Folder,
) -> Option<Vec<Vec<usize>>> {
    let mut keys = Keys::default();
    for i in 0..n {
        let f = folder(i);
        let spec = MailboxSpec {
            source_path: f.path.clone(),
            components: f.components.clone(),
        };
        let planned = match session.plan_mailbox(&spec) {
            Ok(name) => mailbox_key(&name),
            // Where it goes is not known: a group of its own (it fails
            // alone, as it would in order).
            Err(_) => format!("\0{i}"),
        };
        keys.join(i, planned);
        let pending = match journal.pending_items(account, &f.path) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("{account}: {}: {e}; folders one after another", f.path);
                return None;
            }
        };
        for p in pending {
            keys.join(i, mailbox_key(&p.mailbox));
        }
    }
    let mut groups = keys.groups(n);
    let size = |g: &Vec<usize>| -> usize { g.iter().map(|&i| folder(i).items.len()).sum() };
    // Stable: equal sizes keep the walk's order.
    groups.sort_by_key(|g| std::cmp::Reverse(size(g)));
    Some(groups)
}

/// The group key of a mailbox name: folded to lower case, since some
/// targets ignore case (two names that differ only in case are one
/// mailbox there; on the others they only share a session).
fn mailbox_key(name: &str) -> String {
    name.to_lowercase()
}

/// Folders joined by the mailboxes they touch (union-find).
#[derive(Default)]
struct Keys {
    /// Mailbox → the first folder that touched it.
    first: HashMap<String, usize>,
    parent: Vec<usize>,
}

impl Keys {
    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Folder `i` touches mailbox `key`.
    fn join(&mut self, i: usize, key: String) {
        while self.parent.len() <= i {
            let n = self.parent.len();
            self.parent.push(n);
        }
        let j = *self.first.entry(key).or_insert(i);
        let (a, b) = (self.root(i), self.root(j));
        if a != b {
            self.parent[a.max(b)] = a.min(b);
        }
    }

    /// The groups of folders `0..n`, each in the walk's order, ordered by
    /// their first folder.
    fn groups(mut self, n: usize) -> Vec<Vec<usize>> {
        let mut by_root: Vec<Vec<usize>> = Vec::new();
        let mut index: HashMap<usize, usize> = HashMap::new();
        for i in 0..n {
            let r = if i < self.parent.len() {
                self.root(i)
            } else {
                i
            };
            let g = *index.entry(r).or_insert_with(|| {
                by_root.push(Vec::new());
                by_root.len() - 1
            });
            by_root[g].push(i);
        }
        by_root
    }
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn folders_sharing_a_mailbox_form_one_group() {
        let mut k = Keys::default();
        k.join(0, "A".into());
        k.join(1, "B".into());
        k.join(2, "A".into());
        k.join(3, "C".into());
        // Folder 3 still has items pending in B (a mapping changed).
        k.join(3, "B".into());
        k.join(4, "D".into());
        assert_eq!(k.groups(5), vec![vec![0, 2], vec![1, 3], vec![4]]);
    }
}
