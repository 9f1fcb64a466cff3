//! `migrate --report-html`: the page rendered in headless Chromium (Debian's
//! `chromium`, installed by tests/harness/ci-install.sh; `$CHROMIUM` names
//! another). The numbers in the rendered DOM equal the JSON report's, a
//! folder name full of markup and terminal escapes stays text, every
//! failure is listed with its source file, and the page makes no request:
//! it references nothing, and Chromium's net log shows no request made for
//! it (a control page with an external stylesheet and image shows that the
//! log does see a page's requests).

use crate::support::{sample, Run};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Chromium binary; the test fails, saying so, when there is none.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "$CHROMIUM={}: no such file", p.display());
        return p;
    }
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "chromium not found on PATH (nor $CHROMIUM): the HTML report is tested in headless \
         Chromium; install it with `apt-get install -y chromium` (tests/harness/ci-install.sh does)"
    );
}

/// Renders `page` headless; returns the DOM and the net log.
fn render(page: &Path, work: &Path) -> (String, Value) {
    let profile = work.join(format!(
        "profile-{}",
        page.file_stem().and_then(|s| s.to_str()).unwrap_or("page")
    ));
    fs::create_dir_all(&profile).expect("profile dir");
    let net_log = profile.with_extension("netlog.json");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--no-first-run",
            "--no-pings",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", net_log.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("start chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).expect("DOM is UTF-8");
    let log = fs::read_to_string(&net_log).expect("net log written");
    let log: Value = serde_json::from_str(&log).expect("net log is JSON");
    (dom, log)
}

/// The URLs the page itself asked for: URL requests started on behalf of
/// a document (Chromium's own background requests have no initiator, "not
/// an origin").
fn page_requests(log: &Value) -> Vec<String> {
    let start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_i64()
        .expect("the net log names URL_REQUEST_START_JOB");
    log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"].as_i64() == Some(start))
        .filter(|e| e["params"]["initiator"].as_str() != Some("not an origin"))
        .filter_map(|e| e["params"]["url"].as_str())
        .filter(|u| !u.starts_with("file:"))
        .map(str::to_string)
        .collect()
}

/// The migration report's counts, in the order of its cells.
const MIGRATE: &[&str] = &[
    "expected", "migrated", "present", "skipped", "failed", "bytes",
];

/// The counts of each `<tr data-row="KIND">` in document order, in the
/// order of `keys`.
fn rows(dom: &str, kind: &str, keys: &[&str]) -> Vec<Vec<u64>> {
    let row = regex::Regex::new(&format!(r#"(?s)<tr[^>]*data-row="{kind}"[^>]*>(.*?)</tr>"#))
        .expect("regex");
    let cell = regex::Regex::new(r#"data-count="([\w-]+)"(?: data-bytes="(\d+)")?>([0-9]+)?"#)
        .expect("regex");
    row.captures_iter(dom)
        .map(|r| {
            let mut out = vec![u64::MAX; keys.len()];
            for c in cell.captures_iter(&r[1]) {
                let i = keys.iter().position(|k| *k == &c[1]).expect("known count");
                let v = c.get(2).or(c.get(3)).expect("a number").as_str();
                out[i] = v.parse().expect("number");
            }
            out
        })
        .collect()
}

fn counts(c: &Value) -> Vec<u64> {
    let n = |k: &str| c[k].as_u64().unwrap_or_else(|| panic!("{k} in {c}"));
    vec![
        n("expected"),
        n("migrated"),
        n("already_present"),
        n("skipped"),
        n("failed"),
        n("bytes_migrated"),
    ]
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.expect("walk");
        let dest = to.join(e.path().strip_prefix(from).expect("below"));
        if e.file_type().is_dir() {
            fs::create_dir_all(&dest).expect("mkdir");
        } else {
            fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// A folder name from a hostile disk: markup, quotes, `&-` (an `&` in
/// modified UTF-7) and a terminal escape.
const EVIL: &str = "Evil<img src=x onerror=alert(1)>&-\"'\u{1b}[2J";

#[test]
fn the_html_report_renders_the_json_reports_numbers_and_loads_nothing() {
    let t = tempfile::tempdir().expect("tmp");
    let store = t.path().join("store");
    copy_tree(&sample(), &store);
    let evil = store.join("store/mail/example.com/alice").join(EVIL);
    fs::create_dir_all(evil.join("#msgs")).expect("mkdir");
    fs::copy(
        sample().join("store/mail/example.com/alice/INBOX/#msgs/00000001.eml"),
        evil.join("#msgs/00000001.eml"),
    )
    .expect("copy item");
    // The target comes from a run file: the page lists it as such.
    let out = t.path().join("out");
    let run_file = t.path().join("run.toml");
    fs::write(
        &run_file,
        format!(
            "to = \"maildir:{}\"\narchive-to = \"alice@example.com\"\n",
            out.display()
        ),
    )
    .expect("run file");
    let html = t.path().join("report.html");
    let o = Run::new("migrate")
        .arg(&store)
        .arg("--config")
        .arg(&run_file)
        .report(&t.path().join("report.json"))
        .arg("--report-html")
        .arg(&html)
        .run();
    // The compressed archive period is unreadable: one failure.
    assert_eq!(o.code, 3, "{o}");
    let report = &o.report;
    assert!(report["totals"]["failed"].as_u64() >= Some(1), "{o}");
    let source = fs::read_to_string(&html).expect("page written");

    // Nothing in the page points anywhere (the hostile name's `src=x` is
    // text: an attribute would be `src="`).
    for needle in [
        "http://", "https://", "src=\"", "href=\"", "url(", "@import", "<script", "<img", "<link",
        "<iframe", "<object", "<embed",
    ] {
        assert!(
            !source.contains(needle),
            "the page has {needle:?}:\n{source}"
        );
    }

    let (dom, log) = render(&html, t.path());
    // The hostile name is text, not markup, and the escape is visible.
    assert!(!dom.contains("<img"), "{dom}");
    assert!(!dom.contains('\u{1b}'));
    assert!(
        dom.contains("Evil&lt;img src=x onerror=alert(1)&gt;&amp;-\"'\\u{1b}[2J"),
        "{dom}"
    );

    // The numbers in the DOM are the JSON report's, row for row.
    let accounts = report["accounts"].as_array().expect("accounts");
    let account_rows = rows(&dom, "account", MIGRATE);
    assert_eq!(account_rows.len(), accounts.len());
    let folder_rows = rows(&dom, "folder", MIGRATE);
    let mut want_folders = Vec::new();
    for (a, row) in accounts.iter().zip(&account_rows) {
        assert_eq!(*row, counts(&a["totals"]), "{}", a["account"]);
        for f in a["folders"].as_array().expect("folders") {
            want_folders.push(counts(&f["counts"]));
        }
    }
    assert_eq!(folder_rows, want_folders);
    assert_eq!(
        rows(&dom, "total", MIGRATE),
        vec![counts(&report["totals"])]
    );

    // Every failure, with its reason and source file.
    let failed: Vec<&Value> = accounts
        .iter()
        .flat_map(|a| a["folders"].as_array().expect("folders"))
        .flat_map(|f| f["failed"].as_array().expect("failed"))
        .collect();
    assert!(
        dom.contains(&format!(
            "<table id=\"failures\" data-items=\"{}\">",
            failed.len()
        )),
        "{dom}"
    );
    for f in failed {
        let path = f["path"].as_str().expect("a failure has its source file");
        assert!(path.ends_with("2012-11.tar.gz"), "{f}");
        assert!(dom.contains(path), "{path} in the page");
        let reason = f["reason"].as_str().expect("reason");
        assert!(dom.contains(reason), "{reason} in the page");
    }
    // The settings, with where they came from; the status line.
    assert!(
        dom.contains(&format!(
            "<td><code>--to</code></td><td><code>maildir:{}</code></td><td>run file</td>",
            out.display()
        )),
        "{dom}"
    );
    assert!(dom.contains("data-exit-code=\"3\""));
    assert!(dom.contains("messages/s"));

    // No request was made for the page...
    assert_eq!(page_requests(&log), Vec::<String>::new());
    // ...where a page with external assets shows its requests in the log.
    let control = t.path().join("control.html");
    fs::write(
        &control,
        "<!DOCTYPE html><html><head><link rel=\"stylesheet\" href=\"https://example.invalid/a.css\">\
         </head><body><img src=\"http://127.0.0.1:9/x.png\"></body></html>",
    )
    .expect("control page");
    let (_, log) = render(&control, t.path());
    let mut seen = page_requests(&log);
    seen.sort();
    assert_eq!(
        seen,
        ["http://127.0.0.1:9/x.png", "https://example.invalid/a.css"]
    );
}

#[test]
fn the_verify_page_has_the_json_verifications_numbers() {
    let t = tempfile::tempdir().expect("tmp");
    let out = t.path().join("out");
    let o = Run::migrate_to_maildir(&sample(), &out).run();
    assert_eq!(o.code, 0, "{o}");
    // One message gone from the target.
    let inbox = out.join("alice@example.com/cur");
    let gone = fs::read_dir(&inbox)
        .expect("alice's INBOX")
        .next()
        .expect("a message")
        .expect("entry")
        .path();
    fs::remove_file(&gone).expect("remove");
    let html = t.path().join("verify.html");
    let v = Run::new("verify")
        .arg(sample())
        .arg("--to")
        .arg(format!("maildir:{}", out.display()))
        .args(["--json", "--report-html"])
        .arg(&html)
        .run();
    assert_eq!(v.code, 3, "{v}");
    let json = v.stdout_json();
    let (dom, log) = render(&html, t.path());
    assert_eq!(page_requests(&log), Vec::<String>::new());
    let keys = &[
        "source",
        "journaled",
        "present",
        "missing",
        "differs",
        "not-migrated",
    ];
    let want: Vec<Vec<u64>> = json["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .flat_map(|a| a["folders"].as_array().expect("folders"))
        .map(|f| {
            let len = |k: &str| f[k].as_array().expect("ids").len() as u64;
            vec![
                f["source_items"].as_u64().expect("n"),
                f["journaled"].as_u64().expect("n"),
                f["present"].as_u64().expect("n"),
                len("missing_on_target"),
                len("differs"),
                len("not_migrated"),
            ]
        })
        .collect();
    assert_eq!(rows(&dom, "folder", keys), want);
    let total = &rows(&dom, "total", keys)[0];
    assert_eq!(
        total[3],
        json["totals"]["missing_on_target"].as_u64().expect("n")
    );
    assert_eq!(total[3], 1, "{dom}");
    assert!(dom.contains("INBOX: missing on the target: "), "{dom}");
    assert!(dom.contains("data-exit-code=\"3\""));
}
