//! One transient failure while a session opens (a temporary login
//! refusal, the first flight refused) must not fail every folder of the
//! account: the session is opened once more. Found by the hostile helper:
//! a one-off `NO [UNAVAILABLE]` to the first session's login or its
//! `LIST "" ""` failed all of an account's items (exit 3) although the
//! server answered everything after it. The fake of
//! tests/it/support/fakeimap.rs refuses exactly once; one session
//! (`--parallel-folders 1`) so that the refused one is the account's.

use crate::support::fakeimap::Fake;
use crate::support::*;

const ANN: &str = "ann@fake.test";

fn run_once_refused(refuse: impl FnOnce(&Fake)) -> (Outcome, Fake) {
    let fake = Fake::storing("IMAP4rev1 UIDPLUS LITERAL+");
    refuse(&fake);
    let tmp = tempfile::tempdir().expect("tmp");
    let s = StoreBuilder::new(&tmp.path().join("kerio"));
    for f in ["INBOX", "Work"] {
        s.messages(ANN, f, 3, |i| {
            format!(
                "From: a@fake.test\nSubject: {f}/{i}\nMessage-ID: <{f}.{i}@fake.test>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\nbody {f} {i}\n"
            )
        });
    }
    let o = Run::migrate(&s.install, &fake.url())
        .args(["--tls", "none", "--parallel-folders", "1"])
        .state(&tmp.path().join("j.sqlite"))
        .report(&tmp.path().join("r.json"))
        .login(ANN, "ann", "pw")
        .run();
    (o, fake)
}

fn assert_all_arrived(o: &Outcome, fake: &Fake) {
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.report["totals"]["migrated"], 6, "{o}");
    let st = fake.state();
    let stored: usize = st.mailboxes.values().map(Vec::len).sum();
    assert_eq!(stored, 6, "messages on the server");
}

#[test]
fn a_temporary_login_refusal_at_the_start_is_tried_again() {
    let (o, fake) = run_once_refused(|f| f.state().busy_auth = 1);
    assert_all_arrived(&o, &fake);
    let logins = fake
        .state()
        .lines
        .iter()
        .filter(|l| l.contains(" AUTHENTICATE ") || l.contains(" LOGIN "))
        .count();
    assert!(logins >= 2, "the refused login was tried again: {logins}");
}

#[test]
fn the_first_flight_refused_once_is_sent_again_on_a_new_connection() {
    let (o, fake) = run_once_refused(|f| f.state().refuse_list = 1);
    assert_all_arrived(&o, &fake);
    assert_eq!(fake.state().refuse_list, 0, "the refusal happened");
}
