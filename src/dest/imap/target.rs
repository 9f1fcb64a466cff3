//! What every session of one target login shares in a run (the sessions
//! of one account's folders, `--parallel-folders`, and of every source
//! account that goes to that login):
//! - whether the server said the account is full. The first
//!   `[OVERQUOTA]` stops all of them at once: each session stops handing
//!   out messages and sends nothing new, instead of each one appending
//!   until it meets the quota itself;
//! - which source folder goes to which mailbox name, so that the
//!   substitute for a name the server refused is that folder's alone
//!   ([`Target::substitute`]): two refused names with one substitute
//!   (`Say "Hi"` and `Say !Hi!` on Cyrus, both `Say _Hi_`) end in two
//!   mailboxes, on one session or several, and on every run the same.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// A stop with its reason (the first reason stays).
#[derive(Debug, Default)]
pub(super) struct Halt {
    why: Mutex<Option<String>>,
    set: AtomicBool,
}

impl Halt {
    /// Why it stopped, if it did.
    pub fn why(&self) -> Option<String> {
        if !self.is_set() {
            return None;
        }
        self.why.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops, unless it stopped already (then the first reason stays).
    pub fn stop(&self, why: String) {
        let mut s = self.why.lock().unwrap_or_else(|p| p.into_inner());
        s.get_or_insert(why);
        self.set.store(true, Ordering::Relaxed);
    }

    /// The cheap check, for every command handed to a pipe.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::Relaxed)
    }
}

/// What the sessions of one target login share.
#[derive(Debug, Default)]
pub(super) struct Target {
    /// The account is full (`[OVERQUOTA]`): nothing more is sent to it.
    pub full: Halt,
    /// Mailbox name (folded to lower case) → the source folder that goes
    /// there (planned or prepared; the first one stays).
    names: Mutex<HashMap<String, String>>,
    /// The substitutes `plan` predicted (name folded to lower case →
    /// source folder): the numbering `migrate` gives, without taking a
    /// name from `names`.
    predicted: Mutex<HashMap<String, String>>,
}

/// The most numbered substitutes tried for one name.
const MAX_NUMBER: usize = 99;

/// A substitute chosen for a refused name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Substitute {
    /// Its components (as `ensure_mailbox` takes them).
    pub components: Vec<String>,
    /// The plain substitute, when it was another folder's (a number was
    /// added).
    pub taken: Option<String>,
}

impl Target {
    /// `mailbox` is where source folder `folder` goes: a substitute for
    /// another folder does not take it.
    pub fn reserve(&self, mailbox: &str, folder: &str) {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        names
            .entry(mailbox.to_lowercase())
            .or_insert_with(|| folder.to_string());
    }

    /// The substitute for `folder` whose name was refused: `alt` (the
    /// documented substitution), else `alt` with `_2`, `_3`, … after its
    /// last component. A name is `folder`'s when this run gave it to
    /// `folder` already, or the journal has `folder`'s messages there and
    /// this run gave it to no other folder (a rerun finds the same one
    /// whatever the order of the folders); it is free when neither this
    /// run nor the journal (`journaled`: source folder, mailbox) gives it
    /// to another folder. A mailbox the server holds that no journal row
    /// accounts for is free: a rerun without the journal uses the names
    /// it used, and finds its messages there. The one chosen is reserved
    /// for `folder` before anything is created, so two sessions choosing
    /// at once choose two names.
    pub fn substitute(
        &self,
        folder: &str,
        alt: &[String],
        delimiter: Option<char>,
        journaled: &[(String, String)],
    ) -> Substitute {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let (i, chosen, name) = pick(&names, folder, alt, delimiter, journaled);
        names
            .entry(name.to_lowercase())
            .or_insert_with(|| folder.to_string());
        Substitute {
            taken: (i > 0).then(|| join(alt, delimiter)),
            components: chosen,
        }
    }

    /// The name [`Target::substitute`] will give `folder` if the server
    /// refuses its name, for `plan`: the names planned for the folders
    /// (reserved before) and the substitutes predicted for the folders
    /// before it are taken, as they will be when `migrate` creates them in
    /// that order. Reserves nothing a real substitute would see.
    pub fn predict_substitute(
        &self,
        folder: &str,
        alt: &[String],
        delimiter: Option<char>,
    ) -> String {
        let mut taken = self.names.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut predicted = self.predicted.lock().unwrap_or_else(|p| p.into_inner());
        for (k, v) in predicted.iter() {
            taken.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let (_, _, name) = pick(&taken, folder, alt, delimiter, &[]);
        predicted
            .entry(name.to_lowercase())
            .or_insert_with(|| folder.to_string());
        name
    }
}

fn join(c: &[String], delimiter: Option<char>) -> String {
    c.join(&delimiter.map(String::from).unwrap_or_default())
}

/// Which of `alt`, `alt_2`, … `folder` gets, given the names already
/// given (`names`: folded name → folder) and the journal's: its index,
/// components and name (see [`Target::substitute`]).
fn pick(
    names: &HashMap<String, String>,
    folder: &str,
    alt: &[String],
    delimiter: Option<char>,
    journaled: &[(String, String)],
) -> (usize, Vec<String>, String) {
    let candidates: Vec<(Vec<String>, String)> = (1..=MAX_NUMBER)
        .map(|n| {
            let mut c = alt.to_vec();
            if let (true, Some(last)) = (n > 1, c.last_mut()) {
                last.push_str(&format!("_{n}"));
            }
            let name = join(&c, delimiter);
            (c, name)
        })
        .collect();
    let owner = |name: &str| names.get(&name.to_lowercase()).cloned();
    let journal_has = |mine: bool, name: &str| {
        journaled
            .iter()
            .any(|(f, m)| (f == folder) == mine && m.eq_ignore_ascii_case(name))
    };
    let mine = candidates.iter().position(|(_, name)| match owner(name) {
        Some(o) => o == folder,
        None => journal_has(true, name),
    });
    let free = || {
        candidates
            .iter()
            .position(|(_, name)| owner(name).is_none() && !journal_has(false, name))
    };
    // All taken (99 folders with one substitute): the last, shared.
    let i = mine.or_else(free).unwrap_or(MAX_NUMBER - 1);
    let (c, name) = candidates[i].clone();
    (i, c, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(s: &str) -> Vec<String> {
        s.split('/').map(str::to_string).collect()
    }

    fn name(s: &Substitute) -> String {
        s.components.join("/")
    }

    #[test]
    fn each_folder_gets_its_own_substitute_and_keeps_it() {
        let t = Target::default();
        let alt = comps("Work/Say _Hi_");
        let d = Some('/');
        let a = t.substitute("Work/Say \"Hi\"", &alt, d, &[]);
        assert_eq!((name(&a), a.taken.clone()), ("Work/Say _Hi_".into(), None));
        let b = t.substitute("Work/Say !Hi!", &alt, d, &[]);
        assert_eq!(name(&b), "Work/Say _Hi__2");
        assert_eq!(b.taken.as_deref(), Some("Work/Say _Hi_"));
        // Asked again (the mailbox is created once more): the same.
        assert_eq!(t.substitute("Work/Say !Hi!", &alt, d, &[]), b);
        // A real folder's planned name is not given to a substitute.
        let t = Target::default();
        t.reserve("work/say _hi_", "Work/Say _Hi_");
        let c = t.substitute("Work/Say !Hi!", &alt, d, &[]);
        assert_eq!(name(&c), "Work/Say _Hi__2");
    }

    #[test]
    fn a_rerun_chooses_what_the_journal_says_whatever_the_order() {
        // The last run: `Say "Hi"` → `Say _Hi_`, `Say !Hi!` → `Say _Hi__2`.
        // This run `Say !Hi!` comes first.
        let t = Target::default();
        let alt = comps("Say _Hi_");
        let j = |f: &str, m: &str| (f.to_string(), m.to_string());
        let journal = [j("Say \"Hi\"", "Say _Hi_"), j("Say !Hi!", "Say _Hi__2")];
        let b = t.substitute("Say !Hi!", &alt, Some('/'), &journal);
        assert_eq!(name(&b), "Say _Hi__2");
        // A new folder with that substitute takes none of theirs, even
        // before the other one came.
        let c = t.substitute("Say ?Hi?", &alt, Some('/'), &journal);
        assert_eq!(name(&c), "Say _Hi__3");
        let a = t.substitute("Say \"Hi\"", &alt, Some('/'), &journal);
        assert_eq!(name(&a), "Say _Hi_");
    }

    #[test]
    fn plan_predicts_the_numbered_substitute_migrate_gives() {
        let t = Target::default();
        let alt = comps("Say _Hi_");
        let d = Some('/');
        // `plan` reserves every folder's own name first.
        t.reserve("Say \"Hi\"", "Say \"Hi\"");
        t.reserve("Say !Hi!", "Say !Hi!");
        assert_eq!(t.predict_substitute("Say \"Hi\"", &alt, d), "Say _Hi_");
        assert_eq!(t.predict_substitute("Say !Hi!", &alt, d), "Say _Hi__2");
        // Asked again: the same.
        assert_eq!(t.predict_substitute("Say !Hi!", &alt, d), "Say _Hi__2");
        // What migrate then gives, in the same order: the same names.
        let a = t.substitute("Say \"Hi\"", &alt, d, &[]);
        let b = t.substitute("Say !Hi!", &alt, d, &[]);
        assert_eq!(
            (name(&a), name(&b)),
            ("Say _Hi_".into(), "Say _Hi__2".into())
        );
    }
}
