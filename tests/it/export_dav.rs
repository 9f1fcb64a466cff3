//! Upload over CardDAV / CalDAV to a real Radicale (PyPI), started by
//! `tests/harness/radicale-up.sh` on a free loopback port in a temp dir and
//! stopped by a Drop guard. These tests do not skip: when the Radicale venv
//! is missing, the script creates it (`python3 -m venv` + `pip install
//! radicale==3.9.0`; `RADICALE_VENV` overrides where).

use crate::support::export::small_store;
use crate::support::radicale::Radicale;
use crate::support::recorder::Recorder;
use crate::support::{sample, Run};
use calcard::icalendar::ICalendar;
use calcard::vcard::VCard;
use kerio_migrate::journal::Journal;
use std::path::Path;

/// Runs `args[0]` (`contacts` or `calendar`) on `store` with the rest of
/// `args`; the DAV password `secret` in RAD_PW. Returns the exit code, the
/// report and stdout + stderr.
fn run(
    args: &[&str],
    store: &Path,
    state: &Path,
    report: &Path,
) -> (i32, serde_json::Value, String) {
    let o = Run::new(args[0])
        .arg(store)
        .args(&args[1..])
        .state(state)
        .report(report)
        .env("RAD_PW", "secret")
        .run();
    let out = format!("{}\n{}", o.stdout, o.stderr);
    (o.code, o.report, out)
}

/// Upload alice@example.com's items to `url` as alice (password in RAD_PW).
fn dav_options(url: &str) -> [&str; 8] {
    [
        "--to-dav",
        url,
        "--dav-user",
        "alice",
        "--dav-password-env",
        "RAD_PW",
        "--account",
        "alice@example.com",
    ]
}

fn totals(j: &serde_json::Value) -> (u64, u64, u64) {
    let t = &j["totals"];
    (
        t["uploaded"].as_u64().unwrap_or(0),
        t["already_present"].as_u64().unwrap_or(0),
        t["upload_failed"].as_u64().unwrap_or(0),
    )
}

#[test]
fn contacts_and_calendars_round_trip_through_radicale() {
    let tmp = tempfile::tempdir().expect("tmp");
    let rad = Radicale::start(&tmp.path().join("radicale"));
    let sb = small_store(&tmp.path().join("kerio"));
    let url = format!("{}{{user}}/", rad.url());
    let state = tmp.path().join("journal.sqlite");
    let report = tmp.path().join("r.json");
    let dav = dav_options(&url);

    // Contacts: 3 cards in Contacts (one duplicate left out, one broken
    // item), 1 in Contacts/Garage.
    let mut args = vec!["contacts"];
    args.extend_from_slice(&dav);
    let (code, j, out) = run(&args, &sb.install, &state, &report);
    assert_eq!(code, 3, "the broken item makes it 3:\n{out}");
    assert_eq!(totals(&j), (4, 0, 0), "{out}");
    assert!(
        !out.contains("secret"),
        "the password must never be printed"
    );
    let journal = Journal::open(&state, &format!("dav:{url}"), "test").expect("journal");
    let book = format!("{}alice/Contacts/", rad.url());
    let rows = journal.dav_items(&book).expect("rows");
    assert_eq!(rows.len(), 3);
    let client = rad.client("secret");
    let mut fns = Vec::new();
    for r in &rows {
        let text = client.get(&r.href).expect("get").expect("stored");
        let card = VCard::parse(&text).expect("parses");
        assert_eq!(card.uid(), Some(r.uid.as_str()));
        fns.push(
            card.property(&calcard::vcard::VCardProperty::Fn)
                .and_then(|e| e.values.first())
                .and_then(|v| v.as_text())
                .unwrap_or_default()
                .to_string(),
        );
    }
    fns.sort();
    assert_eq!(fns, vec!["Jörg Schäfer", "Jürgen Weiß", "Zoë O’Brien"]);
    assert_eq!(
        journal
            .dav_items(&format!("{}alice/Contacts__Garage/", rad.url()))
            .expect("rows")
            .len(),
        1
    );

    // Rerun: the journal says everything is there; nothing is sent again.
    let (code, j, out) = run(&args, &sb.install, &state, &report);
    assert_eq!(code, 3, "{out}");
    assert_eq!(totals(&j), (0, 4, 0), "{out}");
    // A fresh journal: the server answers 412 to If-None-Match: *.
    let (_, j, out) = run(
        &args,
        &sb.install,
        &tmp.path().join("fresh.sqlite"),
        &report,
    );
    assert_eq!(totals(&j), (0, 4, 0), "{out}");

    // Calendars and tasks: the weekly master and its exception are one
    // resource; the Windows zone arrives as IANA with its VTIMEZONE.
    let mut args = vec!["calendar"];
    args.extend_from_slice(&dav);
    let (code, j, out) = run(&args, &sb.install, &state, &report);
    assert_eq!(code, 0, "{out}");
    assert_eq!(totals(&j), (3, 0, 0), "{out}");
    let cal = format!("{}alice/Calendar/", rad.url());
    let rows = journal.dav_items(&cal).expect("rows");
    assert_eq!(rows.len(), 2);
    let weekly = rows
        .iter()
        .find(|r| r.uid == "weekly-sync@example.com")
        .expect("weekly");
    let text = client.get(&weekly.href).expect("get").expect("stored");
    let ical = ICalendar::parse(&text).expect("parses");
    let events: Vec<_> = ical
        .components
        .iter()
        .filter(|c| c.component_type == calcard::icalendar::ICalendarComponentType::VEvent)
        .collect();
    assert_eq!(events.len(), 2, "{text}");
    assert!(text.contains("TZID:America/New_York"), "{text}");
    assert!(
        text.contains("RECURRENCE-ID;TZID=America/New_York:20240115T090000"),
        "{text}"
    );
    assert!(!text.contains("METHOD:"), "{text}");
    let tasks = journal
        .dav_items(&format!("{}alice/Tasks/", rad.url()))
        .expect("rows");
    assert_eq!(tasks.len(), 1);
    let (code, j, out) = run(&args, &sb.install, &state, &report);
    assert_eq!((code, totals(&j)), (0, (0, 3, 0)), "{out}");

    // A wrong password: every upload fails, reported, exit 3.
    let (code, j, out) = bin_with_password(
        &sb.install,
        &url,
        "wrong",
        &tmp.path().join("w.sqlite"),
        &report,
    );
    assert_eq!(code, 3, "{out}");
    assert_eq!(totals(&j).2, 3, "{out}");
    assert!(
        !out.contains("wrong"),
        "the password must never be printed:\n{out}"
    );
}

fn bin_with_password(
    store: &Path,
    url: &str,
    pw: &str,
    state: &Path,
    report: &Path,
) -> (i32, serde_json::Value, String) {
    let pwfile = state.with_extension("pw");
    std::fs::write(&pwfile, format!("{pw}\n")).expect("pw file");
    let o = Run::new("calendar")
        .arg(store)
        .args(["--to-dav", url, "--dav-user", "alice"])
        .args(["--account", "alice@example.com"])
        .arg("--dav-password-file")
        .arg(&pwfile)
        .state(state)
        .report(report)
        .run();
    assert!(o.report.is_object(), "no report: {o}");
    let out = format!("{}\n{}", o.stdout, o.stderr);
    (o.code, o.report, out)
}

/// The sample store goes through Radicale too: every account's contacts
/// and calendars, as flat collections `alice/<account>_<folder>/`
/// (Radicale's owner_only rights allow no nesting).
#[test]
fn sample_store_round_trips_through_radicale() {
    let sample = sample();
    let tmp = tempfile::tempdir().expect("tmp");
    let rad = Radicale::start(&tmp.path().join("radicale"));
    let url = format!("{}alice/{{account}}_{{folder}}/", rad.url());
    let state = tmp.path().join("journal.sqlite");
    for cmd in ["contacts", "calendar"] {
        let report = tmp.path().join(format!("{cmd}.json"));
        let args = [
            cmd,
            "--to-dav",
            &url,
            "--dav-user",
            "alice",
            "--dav-password-env",
            "RAD_PW",
        ];
        let (code, j, out) = run(&args, &sample, &state, &report);
        assert!(matches!(code, 0 | 3), "{out}");
        let (up, present, failed) = totals(&j);
        assert_eq!(failed, 0, "{out}");
        assert!(up + present > 0, "{out}");
        // Every exported object of a folder has its resource.
        for acc in j["accounts"].as_array().expect("accounts") {
            for f in acc["folders"].as_array().expect("folders") {
                if let Some(d) = f.get("dav").filter(|d| !d.is_null()) {
                    let n = d["created"].as_u64().unwrap_or(0)
                        + d["already_present"].as_u64().unwrap_or(0);
                    assert!(n > 0 || f["exported"].as_u64() == Some(0), "{out}");
                }
            }
        }
        let (code2, j2, out2) = run(&args, &sample, &state, &report);
        assert_eq!(code2, code, "{out2}");
        assert_eq!(totals(&j2).0, 0, "a rerun uploads nothing: {out2}");
    }
}

/// TLS is verified: a private CA works with `--tls-ca`, fails without it,
/// and `--insecure` works with a warning.
#[test]
fn tls_is_verified() {
    let tmp = tempfile::tempdir().expect("tmp");
    let rad = Radicale::start_with(&tmp.path().join("radicale"), true);
    let sb = small_store(&tmp.path().join("kerio"));
    let url = format!("https://localhost:{}/{{user}}/", rad.port);
    let ca = rad.base.join("tls/ca.pem");
    let go = |extra: &[&str], state: &str| {
        let o = Run::new("contacts")
            .arg(&sb.install)
            .args(["--to-dav", &url, "--dav-user", "alice"])
            .args(["--dav-password-env", "RAD_PW"])
            .args(["--account", "alice@example.com"])
            .args(["--folder", "Contacts/Garage"])
            .args(extra)
            .state(&tmp.path().join(state))
            .env("RAD_PW", "secret")
            .run();
        (o.code, format!("{}{}", o.stdout, o.stderr))
    };
    let ca_arg = ca.to_string_lossy().into_owned();
    let (code, out) = go(&["--tls-ca", &ca_arg], "a.sqlite");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 uploaded"), "{out}");
    let (code, out) = go(&[], "b.sqlite");
    assert_eq!(code, 3, "an unknown CA must fail: {out}");
    assert!(out.contains("UPLOAD FAILED"), "{out}");
    let (code, out) = go(&["--insecure"], "c.sqlite");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("WARNING: --insecure"), "{out}");
    assert!(out.contains("1 already there"), "{out}");
}

/// The uploads' requests on the wire (a recording proxy before Radicale):
/// no `Expect: 100-continue` (it cost a second per PUT waiting for a
/// `100` Radicale never sends; this was a "< 8 s" bound on the run, which
/// a slow machine could fail and a slower client still pass), one PUT per
/// card, and the password only as Basic credentials.
#[test]
fn uploads_send_no_expect_100_continue_and_one_put_per_card() {
    let tmp = tempfile::tempdir().expect("tmp");
    let rad = Radicale::start(&tmp.path().join("radicale"));
    let rec = Recorder::start(rad.port);
    let sb = small_store(&tmp.path().join("kerio"));
    let url = format!("http://127.0.0.1:{}/{{user}}/", rec.port);
    let mut args = vec!["contacts"];
    args.extend_from_slice(&dav_options(&url));
    let (code, j, out) = run(
        &args,
        &sb.install,
        &tmp.path().join("j.sqlite"),
        &tmp.path().join("r.json"),
    );
    assert_eq!(code, 3, "the broken item makes it 3:\n{out}");
    assert_eq!(totals(&j), (4, 0, 0), "{out}");
    let sent = rec.sent();
    let heads: Vec<&str> = sent
        .split("\r\n\r\n")
        .filter(|h| h.contains(" HTTP/1."))
        .collect();
    let puts = heads.iter().filter(|h| h.contains("PUT /")).count();
    assert_eq!(puts, 4, "{heads:#?}");
    assert!(
        !sent.to_ascii_lowercase().contains("expect: 100-continue"),
        "{heads:#?}"
    );
    assert!(
        !sent.contains("secret"),
        "the password in clear on the wire"
    );
}
