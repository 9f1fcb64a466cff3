//! Scenarios of one connection: pipelining with and without LITERAL+,
//! untagged data, refusals (TOOBIG, THROTTLED, TRYCREATE), losses (BYE,
//! a drop before or after storing, a timeout) and the check that follows,
//! with twins and a server that rewrites messages.

use super::harness::*;
use crate::dest::imap::core::append::{drive, AppendPipe, Feed, Transport, Window};
use crate::dest::imap::core::budget::ByteBudget;
use crate::dest::imap::core::matching::{fold_hash, Found, Known, Want};
use crate::dest::imap::core::{Report, Unit};
use crate::dest::{DeliveryResult, DestRef, Outgoing};
use chrono::{TimeZone, Utc};
use std::time::Duration;

#[test]
fn without_literal_plus_sync_literals_still_pipeline_and_all_arrive() {
    // Mirrors imap_fake::without_literal_plus_sync_literals_still_pipeline_and_all_arrive.
    let srv = server(true, |_, _| Act::Store);
    let mut c = Conns::singles(&srv, "IMAP4rev1 UIDPLUS", 64, N as u64);
    c.run();
    let s = srv.borrow();
    assert_eq!(s.stored(), (0..N).collect::<Vec<_>>());
    assert_eq!(s.appends.len(), N, "one APPEND per message");
    assert!(s
        .appends
        .iter()
        .all(|a| a.lines[0].ends_with('}') && !a.lines[0].ends_with("+}")));
    assert_eq!(c.reports.len(), N);
    assert!(c.reports.iter().all(|r| matches!(
        r,
        Report::Done {
            result: DeliveryResult::Delivered(_),
            ..
        }
    )));
}

#[test]
fn untagged_data_before_continuation_is_tolerated() {
    // Mirrors imap_fake::untagged_data_before_continuation_is_tolerated.
    let srv = server(true, |_, _| Act::Store);
    srv.borrow_mut().untagged_before_plus = vec!["* 3 EXISTS", "* 1 RECENT", "* OK [ALERT] hello"];
    let o = opts(4, 64);
    let (_, run) = deliver_all(&srv, "IMAP4rev1 UIDPLUS MULTIAPPEND", &o, twelve());
    assert_eq!(srv.borrow().stored(), (0..N).collect::<Vec<_>>());
    assert_eq!(srv.borrow().appends.len(), 3, "three MULTIAPPENDs of four");
    assert_eq!(run.delivered(), N);
}

#[test]
fn toobig_fails_that_message_only_and_the_batch_is_split() {
    // Mirrors imap_fake::toobig_fails_that_message_only_and_the_batch_is_split.
    let big = |a: &Append| {
        a.bodies
            .iter()
            .any(|b| b.windows(11).any(|w| w == b"Subject: 7\r"))
    };
    let srv = server(true, move |_, a| {
        if big(a) {
            Act::No("[TOOBIG] Message too large")
        } else {
            Act::Store
        }
    });
    let o = opts(50, 64);
    let mut w = world(&srv, "IMAP4rev1 UIDPLUS LITERAL+ MULTIAPPEND", &o);
    let msgs = twelve();
    let run = deliver(&mut w, &o, &ByteBudget::new(None), msgs, &mut always);
    let s = srv.borrow();
    assert_eq!(
        s.stored(),
        [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11],
        "the rest arrived once"
    );
    assert_eq!(
        run.failed(),
        [(
            "00000008",
            "the server refused the message: NO [TOOBIG] Message too large"
        )]
    );
    assert!(
        run.notes
            .iter()
            .any(|n| n.contains("a MULTIAPPEND batch of 12 was refused")),
        "{:?}",
        run.notes
    );
    assert_eq!(
        s.appends[0].bodies.len(),
        N,
        "first a MULTIAPPEND of all 12"
    );
    assert_eq!(s.appends.len(), 1 + N, "then one by one");
    assert_eq!(run.delivered(), N - 1);
}

#[test]
fn throttled_then_success_waits_and_sends_again() {
    // Mirrors imap_fake::throttled_then_success_waits_and_sends_again.
    let srv = server(true, |i, _| match i {
        2 | 3 => {
            Act::No("[THROTTLED] Request is throttled. Suggested Backoff Time: 300 milliseconds")
        }
        _ => Act::Store,
    });
    let o = opts(1, 64);
    let (w, run) = deliver_all(&srv, "IMAP4rev1 UIDPLUS LITERAL+", &o, twelve());
    assert_eq!(
        srv.borrow().stored(),
        (0..N).collect::<Vec<_>>(),
        "each exactly once"
    );
    assert_eq!(run.delivered(), N);
    let ms300 = Duration::from_millis(300);
    assert_eq!(
        w.conns.pauses,
        [ms300, ms300],
        "it waited as suggested, twice"
    );
    assert_eq!(
        srv.borrow().appends.len(),
        N + 2,
        "the throttled one sent again"
    );
}

#[test]
fn dropped_connection_mid_batch_is_reconciled_then_resumed() {
    // Mirrors imap_fake::dropped_connection_mid_batch_is_reconciled_then_resumed.
    let srv = server(true, |i, _| match i {
        1 => Act::StoreThenDrop,   // arrived, answer lost
        3 => Act::DropBeforeStore, // lost
        _ => Act::Store,
    });
    let o = opts(3, 64);
    let (_, run) = deliver_all(&srv, "IMAP4rev1 UIDPLUS LITERAL+ MULTIAPPEND", &o, twelve());
    let s = srv.borrow();
    assert_eq!(
        s.stored(),
        (0..N).collect::<Vec<_>>(),
        "every message exactly once"
    );
    assert_eq!(run.delivered(), N);
    assert!(s.connections >= 3, "reconnected: {}", s.connections);
    let sent: usize = s.appends.iter().map(|a| a.bodies.len()).sum();
    assert_eq!(sent, N + 3, "only the lost batch was resent");
    // The batch found by the check keeps the UIDs the server gave it.
    let uids: Vec<Option<u32>> = run.done[3..6]
        .iter()
        .map(|(_, r)| match r {
            DeliveryResult::Delivered(DestRef { uid, .. }) => *uid,
            _ => None,
        })
        .collect();
    assert_eq!(uids, [Some(4), Some(5), Some(6)]);
}

#[test]
fn bye_mid_run_reconnects_and_sends_the_rest_once() {
    // Mirrors imap_fake::bye_mid_run_reconnects_and_sends_the_rest_once.
    let srv = server(true, only_nth(4, Act::Bye));
    let o = opts(1, 64);
    let (w, run) = deliver_all(&srv, "IMAP4rev1 UIDPLUS LITERAL+", &o, twelve());
    assert_eq!(
        srv.borrow().stored(),
        (0..N).collect::<Vec<_>>(),
        "every message exactly once"
    );
    assert_eq!(run.delivered(), N);
    assert_eq!(srv.borrow().connections, 2);
    // Checked (not found), then sent again after a pause of 1 s.
    assert_eq!(w.conns.pauses, [Duration::from_secs(1)]);
}

/// Two byte-identical messages (items 1 and 2) and another one (item 3).
pub(super) fn twins() -> Vec<Outgoing> {
    let twin = b"From: a@x\nSubject: twin\nMessage-ID: <7@x>\n\nsame body\n";
    let other = b"From: a@x\nSubject: other\nMessage-ID: <8@x>\n\nother body\n";
    let d = Utc.timestamp_opt(1_514_800_000, 0).single();
    vec![
        outgoing(0, twin, d),
        outgoing(1, twin, d),
        outgoing(2, other, d),
    ]
}

#[test]
fn without_uidplus_a_twin_lost_in_flight_is_not_matched_to_its_siblings_copy() {
    // Mirrors imap_fake::without_uidplus_a_twin_lost_in_flight_is_not_matched_to_its_siblings_copy.
    let srv = server(false, only_nth(1, Act::DropBeforeStore));
    let o = opts(1, 64);
    let (_, run) = deliver_all(&srv, "IMAP4rev1 LITERAL+", &o, twins());
    assert_eq!(srv.borrow().count("same body"), 2, "both twins");
    assert_eq!(srv.borrow().count("other body"), 1);
    assert_eq!(run.delivered(), 3);
}

#[test]
fn a_twin_still_in_flight_on_another_connection_leaves_the_lost_one_in_doubt() {
    // Mirrors imap_fake::a_twin_still_in_flight_on_another_connection_leaves_the_lost_one_in_doubt:
    // connection A's twin is stored but its answer not read yet when
    // connection B's twin is lost and B checks.
    let srv = server(true, |i, _| {
        if i == 1 {
            Act::DropBeforeStore
        } else {
            Act::Store
        }
    });
    let clock = FakeClock::new();
    let win = Window {
        commands: 1,
        bytes: 1 << 20,
    };
    let mut a = Conns::new(&srv, "IMAP4rev1 UIDPLUS LITERAL+", win, &clock);
    let mut b = Conns::new(&srv, "IMAP4rev1 UIDPLUS LITERAL+", win, &clock);
    b.claims = a.claims.clone();
    let twin = "Message-ID: <7@x>\r\n\r\nsame body\r\n";
    a.jobs.push_back(Unit::new(vec![msg(0, twin)]));
    b.jobs.push_back(Unit::new(vec![msg(1, twin)]));
    // A writes its twin; the server stores it and answers, unread.
    let mut pipe_a = AppendPipe::new(win);
    let mut wire_a = Server::connect(&srv).expect("A connects");
    pipe_a.send(a.feed().next(true).expect("A's twin"));
    let bytes = pipe_a.output().expect("bytes");
    wire_a
        .write_all(&super::super::wire::flat(&bytes))
        .expect("written");
    pipe_a.written();
    assert_eq!(srv.borrow().count("same body"), 1);
    // B's twin is lost; its check sees one copy and A's twin in flight.
    b.run();
    let Some(Report::Done {
        result: DeliveryResult::Failed { reason },
        ..
    }) = b.reports.pop_front()
    else {
        panic!("B's twin is in doubt: {:?}", b.reports);
    };
    assert!(
        reason.starts_with("arrival in doubt") && reason.contains("in flight or in doubt"),
        "{reason}"
    );
    assert_eq!(
        srv.borrow().count("same body"),
        1,
        "not sent again in the run"
    );
    let conns: Vec<usize> = srv.borrow().appends.iter().map(|a| a.conn).collect();
    assert_eq!(conns, [1, 2], "the twins went out on two connections");
    // A reads its answer: delivered at UID 1.
    assert_eq!(drive(&mut pipe_a, &mut wire_a, &mut a.feed()), Ok(()));
    assert_eq!(
        a.reports.pop_front(),
        Some(Report::Done {
            key: 0,
            result: DeliveryResult::Delivered(DestRef::imap(Some(UV), Some(1)))
        })
    );
    // B's twin stays counted in doubt for later checks.
    assert_eq!(
        a.claims
            .lock()
            .expect("claims")
            .doubt
            .hash(&fold_hash(twin.as_bytes())),
        1
    );
}

#[test]
fn an_append_that_times_out_is_not_sent_again_in_the_run() {
    // Mirrors imap_fake::an_append_that_times_out_is_not_sent_again_in_the_run
    // (and the issue's "timeout with commands in flight", lane side).
    let srv = server(true, only_nth(1, Act::StoreThenHang));
    let mut c = Conns::singles(&srv, "IMAP4rev1 UIDPLUS LITERAL+", 64, 4);
    c.run();
    let s = srv.borrow();
    // 0 answered; 1 stored, never answered; 2 and 3 written after it,
    // swallowed by the hung server.
    assert_eq!(s.stored(), [0, 1]);
    let reasons = c.failures();
    assert_eq!(reasons.len(), 3, "{:?}", c.reports);
    assert!(reasons.iter().all(|r| r.starts_with("arrival in doubt: no answer in time") && r.contains("next run")), "{reasons:?}");
    assert_eq!(
        s.appends.len(),
        2,
        "nothing sent again; 2 and 3 never reached a command"
    );
    assert_eq!(s.connections, 1, "no check after a timeout");
    drop(s);
    // The next run's check finds the one that arrived.
    let m = msg(1, "Message-ID: <1@x>\r\n\r\n1\r\n");
    let want = Want {
        hash: m.hash,
        size: Some(m.data.len() as u64),
        lower: 1,
        uid_validity: Some(UV),
        message_id: m.message_id.clone(),
        internal_date: None,
        decoded: None,
        fingerprint: None,
    };
    assert_eq!(
        srv.borrow_mut().check(&[want], None, &Known::default),
        [Found::Present(2)]
    );
}

#[test]
fn a_server_that_rewrites_messages_is_searched_by_message_id() {
    // Mirrors imap_fake::a_server_that_rewrites_messages_is_searched_by_message_id.
    let srv = server(true, only_nth(1, Act::StoreThenDrop));
    srv.borrow_mut().rewrite = true;
    let o = opts(1, 64);
    let mut w = world(&srv, "IMAP4rev1 UIDPLUS LITERAL+", &o);
    let msgs: Vec<Outgoing> = (0..4).map(|i| message(i, 0)).collect();
    let run = deliver(&mut w, &o, &ByteBudget::new(None), msgs, &mut always);
    let s = srv.borrow();
    assert_eq!(s.stored(), [0, 1, 2, 3], "each once");
    assert!(s.store[0].1.starts_with(b"X-Fake-Rewritten"));
    assert_eq!(s.searches, 1, "searched by Message-ID");
    assert_eq!(run.delivered(), 4);
}

#[test]
fn a_refused_mailbox_is_recreated_once_then_the_unit_sent_again() {
    // Dovecot answers [TRYCREATE] (instead of `+`) when the mailbox went
    // away during the run: recreate it and send again, once.
    let srv = server(
        true,
        only_nth(0, Act::No("[TRYCREATE] Mailbox doesn't exist: INBOX")),
    );
    let mut c = Conns::singles(&srv, "IMAP4rev1 UIDPLUS", 64, 1);
    c.run();
    assert_eq!(c.recreates, 1);
    assert_eq!(srv.borrow().stored(), [0]);
    assert!(matches!(
        c.reports.pop_front(),
        Some(Report::Done {
            result: DeliveryResult::Delivered(_),
            ..
        })
    ));
}

#[test]
fn no_reconnect_after_a_loss_leaves_what_was_written_in_doubt_and_stops() {
    // The check needs a connection: none comes, so the written message is
    // in doubt and the account stops; the unwritten ones fail "not sent".
    let srv = server(true, only_nth(0, Act::StoreThenDrop));
    let mut c = Conns::singles(&srv, "IMAP4rev1 UIDPLUS LITERAL+", 1, 3);
    srv.borrow_mut().refuse = 1000;
    c.conn = Server::connect_anyway(&srv);
    c.run();
    let reasons = c.failures();
    assert_eq!(reasons.len(), 3);
    assert!(
        reasons[0].starts_with("arrival in doubt: the connection was lost before the answer")
            && reasons[0].contains("reconnecting failed (refused)"),
        "{}",
        reasons[0]
    );
    assert!(
        reasons[1..]
            .iter()
            .all(|r| r == "not sent: cannot reconnect to the target: refused"),
        "{reasons:?}"
    );
    assert_eq!(
        c.stop.as_deref(),
        Some("cannot reconnect to the target: refused")
    );
}
