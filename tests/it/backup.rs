//! Kerio backup ZIPs: `unpack` and `scan`/`migrate` with a `.zip` STORE,
//! unpacked first (`--unpack-dir`) or read in place (issue 12: the same
//! inventory, the same Maildir, one journal for both, a corrupt entry is
//! one failed item).
//! The archives are built here from `sample-store/` with the `zip` crate,
//! under the prefixes a backup may use (`store/mail/` with the cfg files at
//! the root, `mail/` alone, a deeper Windows path with backslashes), as
//! full + differential, as a two-volume set, and with hostile entries.

use crate::support::*;
use chrono::TimeZone as _;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::Path;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// One archive entry: a directory when `data` is `None`.
#[derive(Clone)]
struct Entry {
    name: String,
    data: Option<Vec<u8>>,
    mtime: i64,
}

#[derive(Clone, Copy, PartialEq)]
enum Times {
    /// DOS time and the Info-ZIP extended timestamp.
    Extended,
    /// DOS time only (2 s steps, local time).
    DosOnly,
}

/// The sample store as entries: its mail tree under `mail_prefix`
/// (`store/mail/`, `mail/`, …) and, when `cfg_prefix` is given, its cfg
/// files there. `sep` is the separator written in names.
fn sample_entries(mail_prefix: &str, cfg_prefix: Option<&str>, sep: char) -> Vec<Entry> {
    let mail = sample().join("store/mail");
    let mut v = Vec::new();
    for e in walkdir::WalkDir::new(&mail).sort_by_file_name() {
        let e = e.expect("walk");
        let rel = e.path().strip_prefix(&mail).expect("under mail");
        if rel.as_os_str().is_empty() {
            continue;
        }
        let rel = rel.to_string_lossy().replace('/', &sep.to_string());
        let name = format!("{mail_prefix}{rel}");
        let mtime = mtime(e.path());
        if e.file_type().is_dir() {
            v.push(Entry {
                name: format!("{name}{sep}"),
                data: None,
                mtime,
            });
        } else {
            v.push(Entry {
                name,
                data: Some(fs::read(e.path()).expect("read")),
                mtime,
            });
        }
    }
    if let Some(cfg) = cfg_prefix {
        for f in ["users.cfg", "mailserver.cfg"] {
            let p = sample().join(f);
            v.push(Entry {
                name: format!("{cfg}{f}"),
                data: Some(fs::read(&p).expect("read cfg")),
                mtime: mtime(&p),
            });
        }
    }
    v
}

fn dos_time(t: i64) -> zip::DateTime {
    let l = chrono::Local
        .timestamp_opt(t, 0)
        .single()
        .expect("local time")
        .naive_local();
    use chrono::{Datelike, Timelike};
    zip::DateTime::from_date_and_time(
        l.year() as u16,
        l.month() as u8,
        l.day() as u8,
        l.hour() as u8,
        l.minute() as u8,
        l.second() as u8,
    )
    .expect("dos time")
}

fn write_zip(path: &Path, entries: &[Entry], times: Times) {
    write_zip_from(path, entries, times, zip::System::Unix);
}

/// A full backup of the sample store as Kerio writes it: the mail tree
/// under `store/mail/`, the cfg files at the root.
fn write_sample_zip(path: &Path) {
    write_zip(
        path,
        &sample_entries("store/mail/", Some(""), '/'),
        Times::Extended,
    );
}

/// `system`: the "made by" host; `Dos` for an archive made on Windows.
fn write_zip_from(path: &Path, entries: &[Entry], times: Times, system: zip::System) {
    let mut w = ZipWriter::new(fs::File::create(path).expect("create zip"));
    add_entries(&mut w, entries, times, system);
    w.finish().expect("finish zip");
}

fn add_entries(w: &mut ZipWriter<fs::File>, entries: &[Entry], times: Times, system: zip::System) {
    for e in entries {
        let opts = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .system(system)
            .last_modified_time(dos_time(e.mtime));
        match times {
            Times::Extended => {
                let o = opts
                    .with_extended_timestamp(Some(e.mtime as u32), None, None)
                    .expect("extended timestamp");
                match &e.data {
                    None => w.add_directory(e.name.clone(), o).expect("dir"),
                    Some(d) => {
                        w.start_file(e.name.clone(), o).expect("start");
                        w.write_all(d).expect("write");
                    }
                }
            }
            Times::DosOnly => match &e.data {
                None => w.add_directory(e.name.clone(), opts).expect("dir"),
                Some(d) => {
                    w.start_file(e.name.clone(), opts).expect("start");
                    w.write_all(d).expect("write");
                }
            },
        }
    }
}

fn run_unpack(args: &[&Path], out: &Path) -> (i32, String, String) {
    let o = Run::new("unpack").args(args).arg("--out").arg(out).run();
    (o.code, o.stdout, o.stderr)
}

/// `unpack` that must succeed; its stdout.
fn unpack_ok(args: &[&Path], out: &Path) -> String {
    let (code, stdout, stderr) = run_unpack(args, out);
    assert_eq!(code, 0, "{stdout}{stderr}");
    stdout
}

/// `scan --json` with the store's own paths replaced by `<ROOT>`.
fn scan_json(store: &Path, root: &Path, extra: &[&str]) -> Value {
    let o = Run::new("scan").arg("--json").arg(store).args(extra).run();
    assert_eq!(o.code, 0, "scan {}: {o}", store.display());
    let root = root.to_string_lossy().into_owned();
    serde_json::from_str(&o.stdout.replace(&root, "<ROOT>")).expect("scan json")
}

fn sample_scan() -> Value {
    scan_json(&sample(), &sample(), &[])
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().expect("object").remove(key);
    v
}

/// The scan without what comes from users.cfg and mailserver.cfg (which
/// users exist, where the archive is configured), for a tree without them.
fn without_cfg(v: Value) -> Value {
    let mut v = without(without(without(v, "users_cfg"), "notes"), "archive");
    v["totals"]
        .as_object_mut()
        .expect("totals")
        .remove("orphan_accounts");
    for a in v["accounts"].as_array_mut().expect("accounts") {
        let a = a.as_object_mut().expect("account");
        a.remove("in_users_cfg");
        a.remove("notes");
    }
    v
}

/// Every file under `dir`, relative, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path()
                    .strip_prefix(dir)
                    .expect("under")
                    .to_string_lossy()
                    .into_owned(),
                fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

/// Fails with the names of the files that differ, not the bytes.
fn assert_same_tree(got: &Path, want: &Path) {
    let (g, w) = (tree(got), tree(want));
    let diff: Vec<&String> = g
        .keys()
        .chain(w.keys())
        .filter(|k| g.get(*k) != w.get(*k))
        .collect();
    assert!(
        diff.is_empty(),
        "{} vs {}: differ: {diff:?}",
        got.display(),
        want.display()
    );
}

/// Fails with the first path where two JSON values differ.
fn assert_same_json(got: &Value, want: &Value) {
    if let Some(d) = json_diff(got, want) {
        panic!("scan differs at {d}");
    }
}

#[test]
fn store_prefix_with_cfg_at_root_scans_like_the_sample() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let z = tmp.path().join("F20240301T020000Z.zip");
    write_sample_zip(&z);
    let out = tmp.path().join("out");
    let stdout = unpack_ok(&[&z], &out);
    assert!(stdout.contains("mail tree at \"store/mail/\""), "{stdout}");
    assert!(stdout.contains("0 rejected"), "{stdout}");
    assert!(out.join("users.cfg").is_file());
    assert!(out.join("mailserver.cfg").is_file());
    assert_same_tree(&out.join("store/mail"), &sample().join("store/mail"));
    assert_same_json(&scan_json(&out, &out, &[]), &sample_scan());
}

#[test]
fn mail_prefix_only_scans_like_the_sample() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let z = tmp.path().join("backup.zip");
    write_zip(&z, &sample_entries("mail/", None, '/'), Times::Extended);
    let out = tmp.path().join("out");
    let stdout = unpack_ok(&[&z], &out);
    assert!(stdout.contains("mail tree at \"mail/\""), "{stdout}");
    assert!(stdout.contains("no users.cfg"), "{stdout}");
    assert!(out.join("store/mail/example.org").is_dir());
    assert_same_json(
        &without_cfg(scan_json(&out, &out, &[])),
        &without_cfg(sample_scan()),
    );
}

/// Copies a tree, keeping file modification times.
fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.expect("walk");
        let dst = to.join(e.path().strip_prefix(from).expect("under"));
        if e.file_type().is_dir() {
            fs::create_dir_all(&dst).expect("mkdir");
        } else {
            fs::copy(e.path(), &dst).expect("copy");
            let t =
                filetime::FileTime::from_last_modification_time(&e.metadata().expect("metadata"));
            filetime::set_file_mtime(&dst, t).expect("mtime");
        }
    }
}

/// An archive made on Windows, with `\` separators, under a deeper prefix.
/// The sample's folder `Back\slash` (a literal backslash, possible on
/// Linux only) necessarily becomes `Back` / `slash` there; the reference is
/// a copy of the sample with that folder moved the same way.
#[test]
fn windows_backslash_names_under_a_deeper_prefix() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let z = tmp.path().join("F20240301T020000Z.zip");
    write_zip_from(
        &z,
        &sample_entries(
            "Kerio\\MailServer\\store\\mail\\",
            Some("Kerio\\MailServer\\"),
            '\\',
        ),
        Times::Extended,
        zip::System::Dos,
    );
    let reference = tmp.path().join("reference");
    copy_tree(&sample(), &reference);
    let alice = reference.join("store/mail/example.com/alice");
    fs::create_dir(alice.join("Back")).expect("mkdir");
    fs::rename(alice.join("Back\\slash"), alice.join("Back/slash")).expect("move");
    let out = tmp.path().join("out");
    let stdout = unpack_ok(&[&z], &out);
    assert!(
        stdout.contains("mail tree at \"Kerio/MailServer/store/mail/\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("cfg files in \"Kerio/MailServer/\""),
        "{stdout}"
    );
    assert!(
        !out.join("Kerio").exists(),
        "wrapper directories are not made"
    );
    assert_same_tree(&out.join("store"), &reference.join("store"));
    assert_same_json(
        &scan_json(&out, &out, &[]),
        &scan_json(&reference, &reference, &[]),
    );
}

/// Entries get distinct times (even seconds, so that DOS time is exact);
/// the extracted files must carry the entry's time, from the extended
/// timestamp or from the DOS time.
#[test]
fn entry_modification_times_are_kept() {
    for times in [Times::Extended, Times::DosOnly] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut entries = sample_entries("store/mail/", Some(""), '/');
        let mut want = BTreeMap::new();
        for (i, e) in entries.iter_mut().enumerate() {
            e.mtime = 1_300_000_000 + 7_202 * i as i64;
            if e.data.is_some() {
                want.insert(e.name.clone(), e.mtime);
            }
        }
        let z = tmp.path().join("F20240301T020000Z.zip");
        write_zip(&z, &entries, times);
        let out = tmp.path().join("out");
        let stdout = unpack_ok(&[&z], &out);
        let n = want.len();
        let expect_line = match times {
            Times::Extended => format!("{n} extended timestamp, 0 NTFS, 0 DOS"),
            Times::DosOnly => format!("0 extended timestamp, 0 NTFS, {n} DOS"),
        };
        assert!(stdout.contains(&expect_line), "{stdout}");
        for (name, t) in &want {
            assert_eq!(mtime(&out.join(name)), *t, "{name}");
        }
        // Directory entries too (set after their files were written).
        let d = entries
            .iter()
            .find(|e| e.name == "store/mail/example.org/dave/Calendar/")
            .expect("dir entry");
        assert_eq!(mtime(&out.join(&d.name)), d.mtime);
    }
}

const CHANGED: &str = "store/mail/example.org/dave/Sent Items/#msgs/00000001.eml";
const ADDED: &str = "store/mail/example.org/dave/Sent Items/#msgs/00000003.eml";

fn differential(path: &Path) {
    let msg = |s: &str| {
        format!("From: dave@example.org\r\nSubject: {s}\r\nDate: Mon, 4 Mar 2024 10:00:00 +0000\r\n\r\n{s}\r\n")
            .into_bytes()
    };
    write_zip(
        path,
        &[
            Entry {
                name: CHANGED.into(),
                data: Some(msg("changed")),
                mtime: 1_709_546_400,
            },
            Entry {
                name: ADDED.into(),
                data: Some(msg("added")),
                mtime: 1_709_546_402,
            },
        ],
        Times::Extended,
    );
}

#[test]
fn full_then_differential_from_a_backup_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("backup");
    fs::create_dir(&dir).expect("mkdir");
    let entries = sample_entries("store/mail/", Some(""), '/');
    // An older full and a differential before the newest full: not chosen.
    write_zip(
        &dir.join("F20240201T020000Z.zip"),
        &entries[..10],
        Times::Extended,
    );
    write_zip(
        &dir.join("D20240205T020000Z.zip"),
        &[Entry {
            name: "store/mail/example.org/dave/Sent Items/#msgs/00000009.eml".into(),
            data: Some(b"old".to_vec()),
            mtime: 1_700_000_000,
        }],
        Times::Extended,
    );
    write_zip(
        &dir.join("F20240301T020000Z.zip"),
        &entries,
        Times::Extended,
    );
    differential(&dir.join("D20240304T020000Z.zip"));
    fs::write(dir.join("notes.txt"), "not a backup").expect("write");

    let out = tmp.path().join("out");
    let stdout = unpack_ok(&[&dir], &out);
    assert!(
        stdout.contains("chose the full backup F20240301T020000Z (1 volume)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("chose the differential backup D20240304T020000Z"),
        "{stdout}"
    );
    assert!(stdout.contains("1 differential backup(s) older than the full are ignored"));
    assert!(!out
        .join("store/mail/example.org/dave/Sent Items/#msgs/00000009.eml")
        .exists());
    let changed = fs::read_to_string(out.join(CHANGED)).expect("changed");
    assert!(changed.contains("Subject: changed"), "{changed}");
    assert!(fs::read_to_string(out.join(ADDED))
        .expect("added")
        .contains("Subject: added"));
    assert_eq!(mtime(&out.join(CHANGED)), 1_709_546_400);

    // Given by name in the wrong order, the differential still wins.
    let out2 = tmp.path().join("out2");
    let (code, stdout, stderr) = run_unpack(
        &[
            &dir.join("D20240304T020000Z.zip"),
            &dir.join("F20240301T020000Z.zip"),
        ],
        &out2,
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("put in backup order"), "{stdout}");
    assert_same_tree(&out2.join("store"), &out.join("store"));

    // The full alone: a note says a newer differential is beside it.
    let out3 = tmp.path().join("out3");
    let stdout = unpack_ok(&[&dir.join("F20240301T020000Z.zip")], &out3);
    assert!(
        stdout.contains("D20240304T020000Z.zip is a newer differential backup beside it"),
        "{stdout}"
    );
}

#[test]
fn a_two_volume_backup_given_by_its_first_volume() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let entries = sample_entries("store/mail/", Some(""), '/');
    let (first, second): (Vec<Entry>, Vec<Entry>) = entries
        .into_iter()
        .partition(|e| !e.name.starts_with("store/mail/example.org/"));
    assert!(!first.is_empty() && !second.is_empty());
    let z0 = tmp.path().join("F20240301T020000Z.zip");
    let z1 = tmp.path().join("F20240301T020000Z.1.zip");
    write_zip(&z0, &first, Times::Extended);
    write_zip(&z1, &second, Times::Extended);
    let out = tmp.path().join("out");
    let stdout = unpack_ok(&[&z0], &out);
    assert!(
        stdout.contains("another volume of the same backup"),
        "{stdout}"
    );
    assert!(stdout.contains("full backup, volume 1"), "{stdout}");
    assert_same_json(&scan_json(&out, &out, &[]), &sample_scan());
}

#[test]
fn hostile_entries_are_rejected_reported_and_nothing_leaves_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    fs::create_dir(&work).expect("mkdir");
    let z = work.join("F20240301T020000Z.zip");
    {
        let mut w = ZipWriter::new(fs::File::create(&z).expect("create"));
        let o = SimpleFileOptions::default();
        add_entries(
            &mut w,
            &sample_entries("store/mail/", Some(""), '/'),
            Times::Extended,
            zip::System::Unix,
        );
        for bad in [
            "../evil",
            "/abs-kerio-migrate-test",
            "a/../../b-evil",
            "C:\\evil",
            "..\\win-evil",
        ] {
            w.start_file(bad, o).expect("start bad");
            w.write_all(b"pwned").expect("write bad");
        }
        w.add_symlink("store/mail/link", "/etc", o)
            .expect("symlink");
        w.finish().expect("finish");
    }
    let out = work.join("out");
    let (code, stdout, stderr) = run_unpack(&[&z], &out);
    assert_eq!(code, 3, "{stdout}{stderr}");
    for (name, reason) in [
        ("\"../evil\"", "`..` component"),
        ("\"/abs-kerio-migrate-test\"", "absolute path"),
        ("\"a/../../b-evil\"", "`..` component"),
        ("\"C:\\\\evil\"", "Windows drive letter"),
        ("\"..\\\\win-evil\"", "`..` component"),
        ("\"store/mail/link\"", "symbolic link"),
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains(name) && l.contains(reason)),
            "{name} / {reason} not reported:\n{stdout}"
        );
    }
    assert!(stdout.contains("Rejected entries (6)"), "{stdout}");
    // Nothing outside OUT: `work` holds only the archive and OUT.
    let mut top: Vec<String> = fs::read_dir(&work)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, vec!["F20240301T020000Z.zip", "out"]);
    assert!(fs::read_dir(tmp.path()).expect("ls").count() == 1);
    assert!(!Path::new("/abs-kerio-migrate-test").exists());
    assert!(!out.join("store/mail/link").exists());
    for (_, bytes) in tree(&out) {
        assert_ne!(bytes, b"pwned");
    }
    // The rest is usable.
    assert_same_json(&scan_json(&out, &out, &[]), &sample_scan());

    // Read in place: the same six refused with their reasons (exit 3),
    // the rest scans like the sample, and migrating writes nothing of them.
    let o = Run::new("scan").arg("--json").arg(&z).run();
    assert_eq!(o.code, 3, "{o}");
    assert_eq!(o.stderr.matches("not read:").count(), 6, "{o}");
    assert!(o.stderr.contains("symbolic link"), "{o}");
    let v: Value = serde_json::from_str(&o.stdout.replace(&*z.to_string_lossy(), "<ROOT>"))
        .expect("scan json");
    assert_same_json(&v, &sample_scan());
    let md = tmp.path().join("md");
    let m = Run::migrate_to_maildir(&z, &md).run();
    assert_eq!(m.code, 3, "{m}");
    for (_, bytes) in tree(&md) {
        assert_ne!(bytes, b"pwned");
    }
}

#[test]
fn split_or_garbage_archives_get_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // One part of a multi-disk archive: a valid ZIP whose end record says
    // it is disk 1 of a set.
    let good = tmp.path().join("good.zip");
    write_zip(
        &good,
        &sample_entries("store/mail/", None, '/')[..5],
        Times::Extended,
    );
    let mut bytes = fs::read(&good).expect("read");
    let eocd = bytes
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .expect("end record");
    bytes[eocd + 4] = 1; // number of this disk
    let split = tmp.path().join("F20240301T020000Z.1.zip");
    fs::write(&split, &bytes).expect("write");
    let garbage = tmp.path().join("garbage.zip");
    fs::write(&garbage, b"this is not a zip file at all").expect("write");
    // The first part of a spanned archive starts with PK\x07\x08.
    let first = tmp.path().join("first.zip");
    let mut b = b"PK\x07\x08".to_vec();
    b.extend_from_slice(&fs::read(&good).expect("read")[..200]);
    fs::write(&first, &b).expect("write");

    for (z, what) in [
        (&split, "split (multi-disk)"),
        (&garbage, "does not start like a ZIP"),
        (&first, "first part of a split archive"),
    ] {
        let out = tmp.path().join("out");
        let (code, stdout, stderr) = run_unpack(&[z], &out);
        assert_eq!(code, 1, "{}: {stdout}{stderr}", z.display());
        assert!(
            stderr.contains("not a standalone ZIP archive") && stderr.contains(what),
            "{stderr}"
        );
        assert!(
            stderr.contains("zip -s 0 in.zip --out joined.zip"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !out.exists(),
            "nothing is written before the archives are checked"
        );
    }
}

#[test]
fn a_rerun_skips_completed_archives_and_redoes_a_half_unpacked_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("backup");
    fs::create_dir(&dir).expect("mkdir");
    let full = dir.join("F20240301T020000Z.zip");
    write_sample_zip(&full);
    let out = tmp.path().join("out");
    unpack_ok(&[&dir], &out);
    assert!(out.join(".kerio-migrate-unpack.json").is_file());

    // Second run: nothing to do.
    let stdout = unpack_ok(&[&dir], &out);
    assert!(stdout.contains("already unpacked completely"), "{stdout}");
    assert!(!stdout.contains("entries:"), "{stdout}");

    // A differential arrives: the full is skipped, the differential unpacked.
    differential(&dir.join("D20240304T020000Z.zip"));
    let stdout = unpack_ok(&[&dir], &out);
    assert!(stdout.contains("already unpacked completely"), "{stdout}");
    assert!(stdout.contains("2 entries: 2 files"), "{stdout}");
    assert!(fs::read_to_string(out.join(CHANGED))
        .expect("read")
        .contains("changed"));

    // A run that stopped in the middle of the full: its record is gone (as
    // when the process dies before the archive is complete) and files are
    // missing. The full is unpacked again, and the differential after it
    // too, so that it still wins.
    let marker = out.join(".kerio-migrate-unpack.json");
    let mut m = json(&marker);
    m["archives"].as_array_mut().expect("archives").retain(|a| {
        !a["path"]
            .as_str()
            .expect("path")
            .ends_with("F20240301T020000Z.zip")
    });
    fs::write(&marker, serde_json::to_vec(&m).expect("json")).expect("write");
    fs::remove_dir_all(out.join("store/mail/example.com")).expect("rm");
    let stdout = unpack_ok(&[&dir], &out);
    assert!(!stdout.contains("already unpacked"), "{stdout}");
    assert!(out.join("store/mail/example.com").is_dir());
    assert!(fs::read_to_string(out.join(CHANGED))
        .expect("read")
        .contains("changed"));

    // An archive that changed since (size or mtime) is unpacked again.
    filetime::set_file_mtime(&full, filetime::FileTime::from_unix_time(1_000_000_000, 0))
        .expect("touch");
    let stdout = unpack_ok(&[&dir], &out);
    assert!(!stdout.contains("already unpacked"), "{stdout}");

    // A directory that is not an unpack is refused.
    let other = tmp.path().join("other");
    fs::create_dir(&other).expect("mkdir");
    fs::write(other.join("precious.txt"), "x").expect("write");
    let (code, _, stderr) = run_unpack(&[&dir], &other);
    assert_eq!(code, 1);
    assert!(stderr.contains("not empty"), "{stderr}");
}

#[test]
fn migrate_a_zip_end_to_end_and_reuse_the_unpack() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let z = tmp.path().join("F20240301T020000Z.zip");
    write_sample_zip(&z);
    let unpacked = tmp.path().join("unpacked");

    // Without --unpack-dir: read in place, the same inventory.
    assert_same_json(&scan_json(&z, &z, &[]), &sample_scan());

    let migrate = |store: &Path, out: &Path, unpack_dir: Option<&Path>| {
        let mut r = Run::migrate_to_maildir(store, out);
        if let Some(d) = unpack_dir {
            r = r.arg("--unpack-dir").arg(d);
        }
        let o = r.run();
        (o.code, o.stderr)
    };
    let m_zip = tmp.path().join("maildir-zip");
    let (code, stderr) = migrate(&z, &m_zip, Some(&unpacked));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("mail tree at \"store/mail/\""), "{stderr}");
    let m_dir = tmp.path().join("maildir-dir");
    let (code, stderr) = migrate(&sample(), &m_dir, None);
    assert_eq!(code, 0, "{stderr}");

    // Same messages in the same folders (file names hold times and pids).
    let contents = |root: &Path| {
        let mut m: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        for e in walkdir::WalkDir::new(root) {
            let e = e.expect("walk");
            let parent = e.path().parent().expect("parent");
            let leaf = parent.file_name().map(|n| n.to_string_lossy().into_owned());
            if e.file_type().is_file() && matches!(leaf.as_deref(), Some("cur" | "new")) {
                let folder = parent
                    .parent()
                    .expect("folder")
                    .strip_prefix(root)
                    .expect("under")
                    .to_string_lossy()
                    .into_owned();
                m.entry(folder)
                    .or_default()
                    .push(fs::read(e.path()).expect("read"));
            }
        }
        for v in m.values_mut() {
            v.sort();
        }
        m
    };
    let got = contents(&m_zip);
    assert!(got.values().map(Vec::len).sum::<usize>() > 10);
    assert_eq!(got, contents(&m_dir));

    // A second run reuses the complete unpack; everything is already there.
    let (code, stderr) = migrate(&z, &m_zip, Some(&unpacked));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.is_empty() || !stderr.contains("entries:"),
        "{stderr}"
    );
    let o = bin()
        .args(["scan", "--json"])
        .arg(&z)
        .arg("--unpack-dir")
        .arg(&unpacked)
        .output()
        .expect("scan");
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("using the complete unpack"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).expect("json on stdout only");
    let root = unpacked.to_string_lossy().into_owned();
    let v: Value = serde_json::from_str(&v.to_string().replace(&root, "<ROOT>")).expect("json");
    assert_same_json(&v, &sample_scan());
}

#[test]
fn an_archive_without_a_mail_tree_lists_its_top_level_entries() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let z = tmp.path().join("C20240301T020000Z.zip");
    let e = |name: &str| Entry {
        name: name.into(),
        data: Some(b"x".to_vec()),
        mtime: 1_700_000_000,
    };
    write_zip(
        &z,
        &[
            e("users.cfg"),
            e("license/license.key"),
            e("sslcert/server.crt"),
        ],
        Times::Extended,
    );
    let out = tmp.path().join("out");
    let (code, stdout, stderr) = run_unpack(&[&z], &out);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("no Kerio mail tree"), "{stderr}");
    assert!(stderr.contains("license/, sslcert/, users.cfg"), "{stderr}");
}

/// A backup directory: the full backup of the sample store and a
/// differential that changes one message and adds one.
fn full_and_differential(dir: &Path) {
    fs::create_dir_all(dir).expect("mkdir");
    write_sample_zip(&dir.join("F20240301T020000Z.zip"));
    differential(&dir.join("D20240304T020000Z.zip"));
}

/// Every message file of a Maildir tree (path relative to `root`, which
/// holds the flags, and the name's time) with its bytes and modification
/// time (the internal date).
fn maildir_snapshot(root: &Path) -> BTreeMap<String, (Vec<u8>, i64)> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| {
            let leaf = e.path().parent().and_then(|p| p.file_name());
            e.file_type().is_file() && matches!(leaf.and_then(|l| l.to_str()), Some("cur" | "new"))
        })
        .map(|e| {
            let rel = e.path().strip_prefix(root).expect("under");
            (
                rel.to_string_lossy().into_owned(),
                (fs::read(e.path()).expect("read"), mtime(e.path())),
            )
        })
        .collect()
}

fn totals(o: &Outcome) -> (u64, u64, u64) {
    let t = &o.report["totals"];
    let n = |k: &str| t[k].as_u64().unwrap_or_else(|| panic!("totals.{k}: {o}"));
    (n("expected"), n("migrated"), n("failed"))
}

#[test]
fn a_backup_set_read_in_place_scans_migrates_and_verifies_like_its_unpack() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("backup");
    full_and_differential(&dir);
    let unpacked = tmp.path().join("unpacked");
    unpack_ok(&[&dir], &unpacked);
    let full = dir.join("F20240301T020000Z.zip");

    // The inventory: the same, with the full's path for the install dir.
    assert_same_json(
        &scan_json(&dir, &full, &[]),
        &scan_json(&unpacked, &unpacked, &[]),
    );

    let m_in = tmp.path().join("maildir-in-place");
    let o = Run::migrate_to_maildir(&dir, &m_in)
        .report(&tmp.path().join("in.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let m_un = tmp.path().join("maildir-unpacked");
    let u = Run::migrate_to_maildir(&unpacked, &m_un)
        .report(&tmp.path().join("un.json"))
        .run();
    assert_eq!(u.code, 0, "{u}");
    assert_eq!(totals(&o), totals(&u));
    let (got, want) = (maildir_snapshot(&m_in), maildir_snapshot(&m_un));
    assert!(got.len() > 10, "{}", got.len());
    // Same names (flags, dates in the name), bytes and file times.
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, v) in &want {
        assert!(got.get(k) == Some(v), "{k} differs");
    }
    // The differential's version of the changed message, and the added one.
    let subjects: Vec<String> = got
        .iter()
        .filter(|(k, _)| k.contains("Sent Items"))
        .map(|(_, (b, _))| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(subjects.iter().any(|m| m.contains("Subject: changed")));
    assert!(subjects.iter().any(|m| m.contains("Subject: added")));

    // verify and plan read the backup in place too.
    let v = Run::new("verify")
        .arg(&dir)
        .args(["--to", &format!("maildir:{}", m_in.display())])
        .run();
    assert_eq!(v.code, 0, "{v}");
    let p = Run::new("plan")
        .arg(&full)
        .args([
            "--to",
            &format!("maildir:{}", tmp.path().join("plan").display()),
        ])
        .run();
    assert_eq!(p.code, 0, "{p}");
}

#[test]
fn one_journal_resumes_from_the_backup_or_its_unpack() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("backup");
    full_and_differential(&dir);
    let unpacked = tmp.path().join("unpacked");
    unpack_ok(&[&dir], &unpacked);
    let reference = tmp.path().join("reference");
    let r = Run::migrate_to_maildir(&unpacked, &reference)
        .report(&tmp.path().join("ref.json"))
        .run();
    assert_eq!(r.code, 0, "{r}");
    let (_, migrated, _) = totals(&r);
    let want = maildir_snapshot(&reference);

    // In place first (INBOX only), then the rest from the unpack; and the
    // other way round.
    for (first, second, name) in [
        (&dir, &unpacked, "in-place-then-unpacked"),
        (&unpacked, &dir, "unpacked-then-in-place"),
    ] {
        let out = tmp.path().join(name);
        let report = tmp.path().join(format!("{name}.json"));
        let a = Run::migrate_to_maildir(first, &out)
            .args(["--folder", "INBOX"])
            .report(&report)
            .run();
        assert_eq!(a.code, 0, "{a}");
        let (_, half, _) = totals(&a);
        assert!(half > 0 && half < migrated, "{half} of {migrated}");
        let b = Run::migrate_to_maildir(second, &out).report(&report).run();
        assert_eq!(b.code, 0, "{b}");
        let (_, rest, failed) = totals(&b);
        assert_eq!(
            (half + rest, failed),
            (migrated, 0),
            "{name}: nothing twice, nothing missing"
        );
        let got = maildir_snapshot(&out);
        assert_eq!(got.len(), want.len(), "{name}");
        assert!(got == want, "{name}: differs from the unpacked run");
        // A third run from either has nothing to do.
        let c = Run::migrate_to_maildir(first, &out).report(&report).run();
        assert_eq!(c.code, 0, "{c}");
        assert_eq!(totals(&c).1, 0, "{name}: {c}");
    }
}

#[test]
fn corrupt_entries_read_in_place_are_failed_items_with_their_reasons() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let z = tmp.path().join("F20240301T020000Z.zip");
    let entries = sample_entries("store/mail/", Some(""), '/');
    let victim = entries
        .iter()
        .find(|e| {
            e.name
                .starts_with("store/mail/example.org/dave/INBOX/#msgs/")
                && e.name.ends_with(".eml")
                && e.data.as_ref().is_some_and(|d| d.len() > 100)
        })
        .expect("an INBOX message")
        .clone();
    let data = victim.data.clone().expect("a file");
    // Stored (not deflated), so its bytes can be found and damaged.
    let mut w = ZipWriter::new(fs::File::create(&z).expect("create"));
    for e in &entries {
        let stored = e.name == victim.name;
        let o = SimpleFileOptions::default()
            .compression_method(if stored {
                CompressionMethod::Stored
            } else {
                CompressionMethod::Deflated
            })
            .last_modified_time(dos_time(e.mtime));
        match &e.data {
            None => w.add_directory(e.name.clone(), o).expect("dir"),
            Some(d) => {
                w.start_file(e.name.clone(), o).expect("start");
                w.write_all(d).expect("write");
            }
        }
    }
    w.finish().expect("finish");
    let mut bytes = fs::read(&z).expect("read");
    let at = bytes
        .windows(data.len())
        .position(|w| w == data.as_slice())
        .expect("the stored bytes");
    bytes[at + data.len() / 2] ^= 0x55;
    // A second message loses its local header's signature (a damaged or
    // cut archive whose central directory survived).
    let second = entries
        .iter()
        .find(|e| {
            e.name
                .starts_with("store/mail/example.org/dave/Sent Items/#msgs/")
                && e.name.ends_with(".eml")
        })
        .expect("a Sent Items message");
    let name_at = bytes
        .windows(second.name.len())
        .position(|w| w == second.name.as_bytes())
        .expect("the local header's name");
    assert_eq!(&bytes[name_at - 30..name_at - 26], b"PK\x03\x04");
    bytes[name_at - 30] = b'X';
    fs::write(&z, &bytes).expect("write");

    let out = tmp.path().join("maildir");
    let o = Run::migrate_to_maildir(&z, &out)
        .report(&tmp.path().join("r.json"))
        .run();
    assert_eq!(o.code, 3, "items failed, the run went on: {o}");
    let (expected, migrated, failed) = totals(&o);
    let skipped = o.report["totals"]["skipped"].as_u64().expect("skipped");
    assert_eq!((failed, migrated), (2, expected - skipped - 2), "{o}");
    let report = o.report.to_string();
    assert!(
        report.contains("cannot read the entry") && report.contains("checksum"),
        "the reason: {report}"
    );
    assert_eq!(
        report.matches("cannot read the entry").count(),
        2,
        "both, each with its reason: {report}"
    );
    let id = victim
        .name
        .rsplit('/')
        .next()
        .and_then(|n| n.strip_suffix(".eml"))
        .expect("id");
    assert!(report.contains(id), "names the item {id}");
}
