//! Scenarios of an account, through the dispatcher: OVERQUOTA, NUL and
//! impossible dates, the daily byte budget (Ctrl-C, the account stopping
//! while waiting), a group the journal cannot record, and the next run's
//! check of pending items.

use super::connection::twins;
use super::harness::*;
use crate::dest::imap::core::budget::ByteBudget;
use crate::dest::imap::core::claims::JournalCopies;
use crate::dest::imap::core::marker::{self, pending_want};
use crate::dest::imap::core::matching::{fold_hash, Found, Known};
use crate::dest::imap::{ImapOptions, NulPolicy};
use crate::dest::{DeliveryResult, Outgoing};
use crate::model::DoneCopy;
use chrono::{TimeZone, Utc};
use std::time::Duration;

#[test]
fn overquota_stops_the_account_with_the_reason() {
    // Mirrors imap_fake::overquota_stops_the_account_with_the_reason.
    let srv = server(true, |i, _| match i {
        0..=2 => Act::Store,
        _ => Act::No("[OVERQUOTA] Quota exceeded (mailbox for user is full)"),
    });
    let o = opts(1, 1);
    let mut w = world(&srv, "IMAP4rev1 UIDPLUS LITERAL+", &o);
    let msgs = twelve();
    let ids: Vec<String> = msgs.iter().map(|m| m.item_id.clone()).collect();
    let run = deliver(&mut w, &o, &ByteBudget::new(None), msgs, &mut always);
    assert_eq!(srv.borrow().stored(), [0, 1, 2]);
    assert_eq!(run.delivered(), 3);
    let why = "the target account is over quota (NO [OVERQUOTA] Quota exceeded (mailbox for user is full)); stopped this account";
    // The group (up to 16 single APPENDs) was taken and announced before
    // the answer came: the rest of it fails "not sent", as on the wire.
    let failed = run.failed();
    assert_eq!(failed.len(), N - 3);
    assert_eq!(failed[0], (ids[3].as_str(), why));
    let not_sent = format!("not sent: {why}");
    assert!(
        failed[1..].iter().all(|(_, r)| *r == not_sent),
        "{failed:?}"
    );
    assert_eq!(w.conns.stop.as_deref(), Some(why), "the account stopped");
    assert_eq!(srv.borrow().appends.len(), 4);
}

#[test]
fn nul_bytes_and_impossible_dates_follow_the_policy() {
    // Mirrors imap_fake::nul_bytes_and_impossible_dates_follow_the_policy.
    let msgs = || {
        vec![
            outgoing(
                0,
                b"From: a@b\nMessage-ID: <0@x>\n\nnul\0here\n",
                Utc.timestamp_opt(1_000_000, 0).single(),
            ),
            outgoing(
                1,
                b"From: a@b\nMessage-ID: <1@x>\n\nold\n",
                Utc.timestamp_opt(-315_619_200, 0).single(),
            ),
            outgoing(
                2,
                b"From: a@b\nMessage-ID: <2@x>\n\nfuture\n",
                Utc.timestamp_opt(4_102_444_800, 0).single(),
            ),
        ]
    };
    // Default --nul strip: sent without the NUL, reported; dates clamped.
    let srv = server(true, |_, _| Act::Store);
    let o = opts(1, 64);
    let (_, run) = deliver_all(&srv, "IMAP4rev1 UIDPLUS LITERAL+", &o, msgs());
    assert_eq!(run.delivered(), 3);
    let s = srv.borrow();
    assert!(s.store[0].1.ends_with(b"\r\nnulhere\r\n"), "NUL stripped");
    let lines: Vec<&str> = s.appends.iter().map(|a| a.lines[0].as_str()).collect();
    assert!(
        lines[1].contains("\"01-Jan-1970 00:00:00 +0000\""),
        "{lines:?}"
    );
    assert!(
        lines[2].contains("\"01-May-2024 12:00:00 +0000\""),
        "sent as now: {lines:?}"
    );
    let notes = run.notes.join("\n");
    assert!(notes.contains("1 message(s) contained NUL bytes, which the server (no BINARY) cannot take: NULs removed (--nul strip) (00000001)"), "{notes}");
    assert!(
        notes.contains("before 1970") && notes.contains("(00000002)"),
        "{notes}"
    );
    assert!(
        notes.contains("in the future") && notes.contains("(00000003)"),
        "{notes}"
    );
    // The marker records what went on the wire for the stripped one.
    let m = marker::Marker::parse(&run.pending[0].1).expect("marker");
    let sent = &s.store[0].1;
    assert_eq!(
        m.wire_copies["00000001"],
        marker::WireCopy(fold_hash(sent), sent.len() as u64)
    );
    assert_eq!((m.uid_validity, m.lowest_uid), (Some(UV), 1));
    drop(s);
    // --nul skip: not sent, counted as skipped.
    let srv = server(true, |_, _| Act::Store);
    let o = ImapOptions {
        nul: NulPolicy::Skip,
        ..opts(1, 64)
    };
    let (_, run) = deliver_all(&srv, "IMAP4rev1 UIDPLUS LITERAL+", &o, msgs());
    assert_eq!(srv.borrow().store.len(), 2);
    assert_eq!(
        run.done[0],
        (
            "00000001".into(),
            DeliveryResult::Skipped {
                reason: "contains NUL bytes and the server has no BINARY (--nul skip)".into()
            }
        )
    );
    // With BINARY: literal8, NUL and all.
    let srv = server(true, |_, _| Act::Store);
    let o = opts(1, 64);
    let (_, run) = deliver_all(&srv, "IMAP4rev1 UIDPLUS LITERAL+ BINARY", &o, msgs());
    assert!(
        srv.borrow().appends[0].lines[0].ends_with(" ~{42+}"),
        "{:?}",
        srv.borrow().appends[0].lines
    );
    assert!(srv.borrow().store[0].1.ends_with(b"nul\0here\r\n"));
    assert!(run
        .notes
        .iter()
        .any(|n| n.contains("sent as literal8 (BINARY)")));
}

#[test]
fn daily_byte_budget_waits_and_ctrl_c_stops_cleanly() {
    // Mirrors imap_fake::daily_byte_budget_waits_and_ctrl_c_stops_cleanly:
    // what fits goes out, the wait is cut by Ctrl-C an hour later.
    let srv = server(true, |_, _| Act::Store);
    let o = opts(1, 64);
    let mut w = world(&srv, "IMAP4rev1 UIDPLUS LITERAL+", &o);
    w.cancel_at = Some(Duration::from_secs(3600));
    let msgs = twelve();
    let run = deliver(&mut w, &o, &ByteBudget::new(Some(2048)), msgs, &mut always);
    let s = srv.borrow();
    let bytes: usize = s.store.iter().map(|(_, b)| b.len()).sum();
    let sent = s.store.len();
    assert!(
        sent > 0 && sent < N && bytes <= 2048,
        "{sent} sent, {bytes} bytes"
    );
    assert_eq!(run.delivered(), sent);
    let waiting = &run.done[sent];
    assert_eq!(
        waiting.1,
        DeliveryResult::Skipped {
            reason: "not sent: interrupted while waiting for the daily byte budget".into()
        }
    );
    assert_eq!(run.untaken, N - sent - 1, "the stream stops there");
    assert_eq!(
        w.conns.clock.elapsed.get(),
        Duration::from_secs(3600),
        "waited until Ctrl-C"
    );
}

#[test]
fn an_account_stopped_while_waiting_for_the_byte_budget_ends_the_wait() {
    // Mirrors imap_fake::an_account_stopped_while_waiting_for_the_byte_budget_ends_the_wait:
    // two messages fit the budget; while the third waits, the second's
    // answer (over quota) arrives and stops the account.
    let srv = server(true, only_nth(1, Act::No("[OVERQUOTA] Quota exceeded")));
    let o = opts(1, 1);
    let mut w = world(&srv, "IMAP4rev1 UIDPLUS LITERAL+", &o);
    w.lazy = true;
    let msgs: Vec<Outgoing> = (0..N).map(|i| message(i, 300)).collect();
    let ids: Vec<String> = msgs.iter().map(|m| m.item_id.clone()).collect();
    let run = deliver(&mut w, &o, &ByteBudget::new(Some(1024)), msgs, &mut always);
    assert_eq!(srv.borrow().stored(), [0]);
    let why =
        "the target account is over quota (NO [OVERQUOTA] Quota exceeded); stopped this account";
    // The stop ends the wait as soon as it is seen, before the over-quota
    // answer itself is reported.
    let not_sent = format!("not sent: {why}");
    assert_eq!(
        run.failed(),
        [(ids[2].as_str(), not_sent.as_str()), (ids[1].as_str(), why)]
    );
    assert!(
        w.conns.clock.elapsed.get() < Duration::from_secs(1),
        "the wait ended with the account"
    );
    assert_eq!(run.untaken, N - 3);
}

#[test]
fn a_group_the_journal_cannot_record_as_pending_is_not_sent() {
    // Mirrors imap_fake::a_group_the_journal_cannot_record_as_pending_is_not_sent.
    let srv = server(true, |_, _| Act::Store);
    let o = opts(2, 64);
    let mut w = world(&srv, "IMAP4rev1 UIDPLUS LITERAL+ MULTIAPPEND", &o);
    let msgs = twelve();
    let mut first_only = |i: usize| i == 0;
    let run = deliver(
        &mut w,
        &o,
        &ByteBudget::new(None),
        again(&msgs),
        &mut first_only,
    );
    assert_eq!(
        srv.borrow().stored(),
        [0, 1],
        "only the recorded group went out"
    );
    assert_eq!(
        run.pending.len(),
        2,
        "the second group was announced, not recorded"
    );
    assert_eq!(
        run.failed(),
        [
            ("00000003", "journal unavailable: not sent"),
            ("00000004", "journal unavailable: not sent")
        ]
    );
    assert_eq!(
        w.conns.stop.as_deref(),
        Some("journal unavailable: not sent")
    );
    run.each_once(&msgs);
    assert_eq!(run.done.len() + run.untaken, N, "every item ends somewhere");
}

#[test]
fn a_pending_twin_is_not_matched_to_its_done_siblings_copy_on_rerun() {
    // Mirrors imap_fake::a_pending_twin_is_not_matched_to_its_done_siblings_copy_on_rerun
    // and ::without_uidplus_a_pending_twin_is_decided_by_counting_copies:
    // the next run's check of twin 2, whose sibling is done.
    let twin = twins().remove(0).message;
    let pending = pending("00000002", &twin);
    let done = |uid| DoneCopy {
        hash: twin.hash,
        uid_validity: Some(UV),
        uid,
        message_id: twin.message_id.clone(),
    };
    let srv = server(true, |_, _| Act::Store);
    srv.borrow_mut().store(std::slice::from_ref(&twin.bytes));
    let check = |rows: &[DoneCopy]| {
        let wants = [pending_want(&pending)];
        let journal = JournalCopies(rows);
        let floor = journal.check_floor(&wants);
        srv.borrow_mut()
            .check(&wants, floor, &|| journal.known(Some(UV)))
    };
    // UIDPLUS: twin 1 is done at UID 1, the only copy: twin 2 is absent.
    assert_eq!(check(&[done(Some(1))]), [Found::Absent]);
    // Without UIDPLUS: twin 1 is done somewhere; one copy is its own.
    assert_eq!(check(&[done(None)]), [Found::Absent]);
    // A second copy is twin 2's.
    srv.borrow_mut().store(std::slice::from_ref(&twin.bytes));
    assert_eq!(check(&[done(Some(1))]), [Found::Present(2)]);
    assert!(matches!(check(&[done(None)])[0], Found::Present(_)));
}

#[test]
fn a_pending_message_with_several_message_id_matches_is_left_in_doubt() {
    // Mirrors imap_fake::a_pending_message_with_several_message_id_matches_is_left_in_doubt.
    let srv = server(true, |_, _| Act::Store);
    srv.borrow_mut().rewrite = true;
    let m = message(0, 0).message;
    srv.borrow_mut().store(std::slice::from_ref(&m.bytes));
    let mut forwarded = b"X-Other: forwarded\r\n".to_vec();
    forwarded.extend_from_slice(&m.bytes);
    srv.borrow_mut().store(&[forwarded]);
    let pending = pending("00000001", &m);
    let wants = [pending_want(&pending)];
    let found = srv.borrow_mut().check(&wants, None, &Known::default);
    assert_eq!(
        found,
        [Found::Unknown(
            "not found by content; 2 messages have its Message-ID <0@x>".into()
        )]
    );
}
