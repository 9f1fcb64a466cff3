//! `contacts`, `calendar` and `users` on a small generated store: file
//! layout, names, encodings, duplicates, failures, exit codes.

use crate::support::export::{small_store, wrap, Enc, CARD_SUB};
use crate::support::store::item_id;
use crate::support::{bin, Run};
use std::path::Path;

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn contacts_files_duplicates_and_failures() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sb = small_store(&tmp.path().join("kerio"));
    // A folder name that is not safe as a file name.
    sb.item(
        "alice@example.com",
        "Contacts/.Secret:Stuff",
        &item_id(1),
        &wrap(CARD_SUB.as_bytes(), "text/x-vcard", Enc::Plain, "x"),
    );
    let out = tmp.path().join("out");
    let report = tmp.path().join("r.json");
    let o = Run::new("contacts")
        .arg(&sb.install)
        .arg("--out")
        .arg(&out)
        .report(&report)
        .run();
    assert_eq!(o.code, 3, "{o}");
    let stdout = &o.stdout;
    assert!(stdout.contains("FAILED  00000005"), "{stdout}");
    assert!(stdout.contains("duplicate UID:c1-juergen"), "{stdout}");

    let dir = out.join("alice@example.com");
    let main = read(&dir.join("Contacts.vcf"));
    assert_eq!(main.matches("BEGIN:VCARD\r\n").count(), 3, "{main}");
    assert!(main.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\n"));
    assert!(!main.replace("\r\n", "").contains('\n'), "CRLF only");
    assert!(main.contains("FN;CHARSET=UTF-8:Jörg Schäfer\r\n"), "{main}");
    assert!(
        main.contains("EMAIL;TYPE=INTERNET:joerg.schaefer@handwerk.example\r\n"),
        "{main}"
    );
    assert!(
        main.contains("X-KERIO-CUSTOM;X-FOO=bar:keep me\r\n"),
        "{main}"
    );
    assert!(main.contains("TEL;TYPE=CELL:+353-1-555-0101\r\n"), "{main}");
    assert!(
        main.contains("UID:kerio-migrate-"),
        "a UID is added to the 2.1 card"
    );
    for line in main.split("\r\n") {
        assert!(line.len() <= 75, "{line}");
    }
    assert!(dir.join("Contacts__Garage.vcf").is_file());
    assert!(dir.join("Contacts__Secret_Stuff.vcf").is_file());
    let combined = read(&out.join("alice@example.com.vcf"));
    // Garage Martin appears in two folders: once in the combined file.
    assert_eq!(combined.matches("BEGIN:VCARD\r\n").count(), 4, "{combined}");
    assert!(out.join("#public@example.com/Contacts.vcf").is_file());

    let j = &o.report;
    assert_eq!(j["exit_code"], 3);
    assert_eq!(j["totals"]["failed"], 1);
    assert_eq!(j["totals"]["duplicates"], 1);
    let alice = j["accounts"]
        .as_array()
        .expect("a")
        .iter()
        .find(|a| a["account"] == "alice@example.com")
        .expect("alice");
    assert_eq!(alice["combined_duplicates"].as_array().expect("d").len(), 1);
    let failed = &alice["folders"][0]["failed"][0];
    assert!(failed["source"]
        .as_str()
        .expect("src")
        .ends_with("Contacts/#msgs/00000005.eml"));

    // 4.0, one folder, no #public.
    let out4 = tmp.path().join("out4");
    bin()
        .args(["--quiet", "contacts"])
        .arg(&sb.install)
        .arg("--out")
        .arg(&out4)
        .args([
            "--vcard-version",
            "4.0",
            "--folder",
            "Contacts/Garage",
            "--exclude-account",
            "#public*",
        ])
        .assert()
        .code(0);
    let g = read(&out4.join("alice@example.com/Contacts__Garage.vcf"));
    assert!(g.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"), "{g}");
    assert!(!out4.join("alice@example.com/Contacts.vcf").exists());
    assert!(!out4.join("#public@example.com").exists());
}

#[test]
fn calendar_tasks_notes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sb = small_store(&tmp.path().join("kerio"));
    let out = tmp.path().join("out");
    let o = Run::new("calendar")
        .arg(&sb.install)
        .arg("--out")
        .arg(&out)
        .run();
    assert_eq!(o.code, 0, "{o}");
    let stdout = &o.stdout;
    assert!(stdout.contains("1 text notes"), "{stdout}");
    assert!(
        stdout.contains("\"Eastern Time (US & Canada)\" written as IANA \"America/New_York\""),
        "{stdout}"
    );
    let dir = out.join("alice@example.com");
    let cal = read(&dir.join("Calendar.ics"));
    assert!(
        cal.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"),
        "{cal}"
    );
    assert_eq!(cal.matches("BEGIN:VCALENDAR").count(), 1);
    assert_eq!(
        cal.matches("BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n")
            .count(),
        1,
        "{cal}"
    );
    assert!(
        cal.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"),
        "generated from IANA: {cal}"
    );
    assert!(
        cal.contains("DTSTART;TZID=Europe/Berlin:20240301T100000\r\n"),
        "{cal}"
    );
    assert!(
        !cal.contains("Eastern Time") && !cal.contains("W. Europe"),
        "{cal}"
    );
    assert!(!cal.contains("METHOD:"));
    let m = cal.find("SUMMARY:Weekly sync\r\n").expect("master");
    let e = cal.find("SUMMARY:Weekly sync (moved)").expect("exception");
    let k = cal.find("SUMMARY:Projekt-Kickoff").expect("kickoff");
    assert!(m < e && e < k, "exception right after its master");
    assert!(cal.ends_with("END:VCALENDAR\r\n"));
    let tasks = read(&dir.join("Tasks.ics"));
    assert!(
        tasks.contains("BEGIN:VTODO\r\n") && tasks.contains("DUE;VALUE=DATE:20240531\r\n"),
        "{tasks}"
    );
    let note = read(&dir.join("Notes/00000001 Wi-Fi guest password.txt"));
    assert!(
        note.starts_with("Wi-Fi guest password\n\nSSID: Example-Guest, für Gäste\n"),
        "{note}"
    );

    bin()
        .args(["calendar"])
        .arg(&sb.install)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("--out DIR and/or --to-dav URL"));
}

const USERS_CFG: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<config>
  <list name="User">
    <listitem>
      <variable name="Name">alice</variable>
      <variable name="Domain">example.com</variable>
      <variable name="FullName">Alice Anderson</variable>
      <variable name="Password">D3S:77b27f3742be6de9db01f240928f714f19470b4f1ff8f4cf</variable>
      <variable name="MailAddress">alice;a.anderson</variable>
      <variable name="Groups">staff</variable>
    </listitem>
    <listitem>
      <variable name="Name">bob</variable>
      <variable name="Domain">example.com</variable>
      <variable name="FullName">Bob, "the builder"</variable>
      <variable name="Password">SHA:161c91ace6162991d4d73f24921c560622d6f0230c111ef27f4188cf</variable>
      <variable name="Groups">staff</variable>
    </listitem>
  </list>
  <list name="Group"><listitem><variable name="Name">staff</variable><variable name="Domain">example.com</variable></listitem></list>
  <list name="Alias"><listitem><variable name="Name">info</variable><variable name="Domain">example.com</variable><variable name="DeliverTo">alice@example.com</variable></listitem></list>
</config>
"#;

#[test]
fn users_formats_dump_and_passwords() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sb = small_store(&tmp.path().join("kerio"));
    std::fs::write(sb.install.join("users.cfg"), USERS_CFG).expect("cfg");
    let run = |args: &[&str]| {
        let out = bin()
            .arg("users")
            .arg(&sb.install)
            .args(args)
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    };
    let csv = run(&["--format", "csv"]);
    assert!(csv.starts_with("email,name,domain,full_name,description,addresses,groups,enabled,password_kind,password\r\n"));
    assert!(csv.contains("alice@example.com,alice,example.com,Alice Anderson,,alice@example.com;a.anderson@example.com,staff,,reversible (D3S),\r\n"), "{csv}");
    assert!(csv.contains("\"Bob, \"\"the builder\"\"\""), "{csv}");
    assert!(csv.contains("one-way PBKDF2-SHA1"), "{csv}");
    assert!(
        !csv.contains("D3S:") && !csv.contains("SHA:"),
        "no secrets by default"
    );
    assert_eq!(
        run(&["--format", "accounts-csv"]),
        "source,target_user,secret\r\nalice@example.com,alice@example.com,\r\nbob@example.com,bob@example.com,\r\n"
    );
    assert!(run(&["--format", "m365-csv"]).starts_with("EmailAddress,UserName,Password\r\n"));
    assert!(run(&["--format", "google-csv"])
        .starts_with("source_email,source_password,destination_email\r\n"));
    assert!(run(&["--format", "aliases-csv"]).contains("info@example.com,alice@example.com,alias,"));
    assert!(run(&["--format", "groups-csv"])
        .contains("staff,example.com,,,alice@example.com;bob@example.com"));
    let json = run(&["--format", "json"]);
    let j: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(j["users"][0]["password_kind"], "reversible-d3s");
    assert!(!json.contains("D3S:"));
    let dump = run(&["--dump"]);
    assert!(
        dump.contains("list \"User\": 2 records") && dump.contains("Password: in 2 records"),
        "{dump}"
    );
    assert!(!dump.contains("D3S:"));
    let shown = run(&[
        "--format",
        "m365-csv",
        "--show-passwords",
        "--decrypt-passwords",
    ]);
    assert!(
        shown.contains("alice@example.com,alice@example.com,openwall@123\r\n"),
        "{shown}"
    );
    assert!(
        shown.contains("bob@example.com,bob@example.com,\r\n"),
        "one-way: no password"
    );
    bin()
        .arg("users")
        .arg(&sb.install)
        .arg("--decrypt-passwords")
        .assert()
        .code(2);
    bin().arg("users").arg(tmp.path()).assert().code(1);
}
