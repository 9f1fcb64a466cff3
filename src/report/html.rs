//! The migration report as one self-contained HTML page (`--report-html`):
//! what an admin hands the customer at sign-off. Per account and folder the
//! counts with a bar, every failure with its reason and source file, the
//! skipped items, the run's settings (never a secret: only the names of the
//! variables, files and commands that hold them), timings and throughput.
//!
//! The page loads nothing: the CSS is inline, there is no script, and its
//! Content-Security-Policy forbids every fetch, so even a name that slipped
//! through escaping could not reach the network. Everything that comes from
//! the store (folder names, item ids, paths, reasons) is HTML-escaped, and
//! control characters are shown as `\u{1b}`-style escapes.
//!
//! Numbers carry `data-count` attributes (`expected`, `migrated`, `present`,
//! `skipped`, `failed`, `bytes`) on rows marked `data-row="total"`,
//! `data-row="account"` and `data-row="folder"`, in the JSON report's order,
//! so a test can read them back from the rendered page.

use super::{Counts, FolderReport, ItemNote, Report, Setting};
use crate::text::human_bytes;
use std::fmt::Write as _;

/// Escapes text for HTML content and attribute values; control characters
/// become visible `\u{…}` escapes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
h3{font-size:1.05em;margin-bottom:.3em}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{padding:.25em .5em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.total td{font-weight:bold;border-top:2px solid #999}
.bar{display:flex;width:14em;height:.9em;background:#eee;border-radius:2px;overflow:hidden}
.bar span{display:block;height:100%}
.m{background:#2e7d32}.p{background:#1565c0}.s{background:#9e9e9e}.f{background:#c62828}.d{background:#ef6c00}
.key span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:middle}
.status{padding:.6em 1em;border-radius:4px;margin:1em 0;font-weight:bold}
.ok{background:#e8f5e9;color:#1b5e20}.bad{background:#ffebee;color:#b71c1c}.warn{background:#fff8e1;color:#8d6e00}
code,.path{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}dd{margin:0}
.muted{color:#777}
"#;

/// Renders the page.
pub fn render(report: &Report, settings: &[Setting]) -> String {
    let mut s = head(&format!("kerio-migrate report: {}", report.store));
    let _ = writeln!(s, "<h1>Kerio Connect migration report</h1>");
    status(&mut s, report);
    summary(&mut s, report);
    let _ = writeln!(s, "<h2>Totals</h2>");
    let _ = writeln!(
        s,
        "<p class=\"key\"><span class=\"m\"></span>migrated<span class=\"p\"></span>already present\
         <span class=\"s\"></span>skipped<span class=\"f\"></span>failed</p>"
    );
    let _ = writeln!(s, "<table id=\"totals\">");
    header(&mut s, "accounts");
    for a in &report.accounts {
        row(&mut s, "account", &a.account, &a.totals);
    }
    row(&mut s, "total", "total", &report.totals);
    let _ = writeln!(s, "</table>");
    for (i, a) in report.accounts.iter().enumerate() {
        let _ = writeln!(
            s,
            "<h2 id=\"account-{i}\">{} <span class=\"muted\">→ {}</span></h2>",
            escape(&a.account),
            escape(a.target_account.as_deref().unwrap_or("(not opened)"))
        );
        if let Some(e) = &a.error {
            let _ = writeln!(s, "<p class=\"status bad\">Error: {}</p>", escape(e));
        }
        list(&mut s, "Problems", &a.problems);
        list(&mut s, "Notes", &a.notes);
        let _ = writeln!(s, "<table class=\"folders\" data-account=\"{i}\">");
        header(&mut s, "folder");
        for f in &a.folders {
            row(&mut s, "folder", &folder_label(f), &f.counts);
        }
        let _ = writeln!(s, "</table>");
        if !a.skipped_folders.is_empty() {
            let _ = writeln!(s, "<h3>Folders not migrated as mail</h3>\n<table>");
            let _ = writeln!(
                s,
                "<tr><th>folder</th><th>kind</th><th class=\"n\">items</th><th>why</th></tr>"
            );
            for f in &a.skipped_folders {
                let _ = writeln!(
                    s,
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                    escape(&f.folder),
                    escape(&f.kind),
                    f.items,
                    escape(&f.reason)
                );
            }
            let _ = writeln!(s, "</table>");
        }
        let notes: Vec<String> = a
            .folders
            .iter()
            .flat_map(|f| f.notes.iter().map(move |n| format!("{}: {n}", f.folder)))
            .collect();
        list(&mut s, "Folder notes", &notes);
    }
    items(&mut s, report, "Failures", "failures", |f| &f.failed, true);
    items(
        &mut s,
        report,
        "Skipped items",
        "skipped",
        |f| &f.skipped,
        false,
    );
    if !report.notes.is_empty() {
        let _ = writeln!(s, "<h2>Notes on the store</h2>");
        list(&mut s, "", &report.notes);
    }
    settings_table(&mut s, settings);
    foot(&mut s, &report.finished);
    s
}

/// The page up to `<body>`: the character set, the policy that forbids
/// every fetch, the inline style.
pub fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    )
}

/// The end of the page, with the tool's version and the time.
pub fn foot(s: &mut String, when: &str) {
    let _ = writeln!(
        s,
        "<p class=\"muted\">Written by kerio-migrate {} at {}.</p>\n</body>\n</html>",
        escape(env!("CARGO_PKG_VERSION")),
        escape(when)
    );
}

/// A bar of `parts` (CSS class `m`, `p`, `s`, `f` or `d`, count) out of
/// `total`, in a table cell.
pub fn bar(s: &mut String, total: u64, parts: &[(&str, u64)], title: &str) {
    let _ = write!(s, "<td><div class=\"bar\" title=\"{}\">", escape(title));
    for (class, v) in parts {
        if *v > 0 {
            let _ = write!(
                s,
                "<span class=\"{class}\" style=\"width:{}%\"></span>",
                pct(*v, total)
            );
        }
    }
    let _ = writeln!(s, "</div></td></tr>");
}

fn status(s: &mut String, r: &Report) {
    let (class, text) = if let Some(e) = &r.fatal {
        ("bad", format!("Stopped by a fatal error: {e}"))
    } else if r.interrupted {
        (
            "warn",
            "Interrupted: rerun the same command to resume.".to_string(),
        )
    } else if r.exit_code == super::exit::OK {
        ("ok", "Every selected item is on the target.".to_string())
    } else {
        (
            "bad",
            format!(
                "{} item{} failed; see Failures below.",
                r.totals.failed,
                if r.totals.failed == 1 { "" } else { "s" }
            ),
        )
    };
    let _ = writeln!(
        s,
        "<p class=\"status {class}\" id=\"status\" data-exit-code=\"{}\">{} (exit code {})</p>",
        r.exit_code,
        escape(&text),
        r.exit_code
    );
}

fn summary(s: &mut String, r: &Report) {
    let elapsed = elapsed_seconds(&r.started, &r.finished);
    let _ = writeln!(s, "<dl id=\"summary\">");
    let mut item = |k: &str, v: String| {
        let _ = writeln!(s, "<dt>{k}</dt><dd>{}</dd>", escape(&v));
    };
    item("store", r.store.clone());
    item("target", r.target.clone());
    item("journal", r.journal.clone());
    item("started", r.started.clone());
    item("finished", r.finished.clone());
    if let Some(secs) = elapsed {
        item("duration", duration(secs));
        let t = &r.totals;
        if secs > 0.0 {
            item(
                "throughput",
                format!(
                    "{:.1} messages/s, {}/s (migrated by this run)",
                    t.migrated as f64 / secs,
                    human_bytes((t.bytes_migrated as f64 / secs) as u64)
                ),
            );
        }
    }
    item(
        "migrated",
        format!(
            "{} messages, {}",
            r.totals.migrated,
            human_bytes(r.totals.bytes_migrated)
        ),
    );
    let _ = writeln!(s, "</dl>");
}

/// Seconds between two RFC 3339 times.
pub fn elapsed_seconds(started: &str, finished: &str) -> Option<f64> {
    let a = chrono::DateTime::parse_from_rfc3339(started).ok()?;
    let b = chrono::DateTime::parse_from_rfc3339(finished).ok()?;
    let ms = (b - a).num_milliseconds();
    (ms >= 0).then(|| ms as f64 / 1000.0)
}

fn duration(secs: f64) -> String {
    let whole = secs as u64;
    match whole {
        0..=59 => format!("{secs:.1} s"),
        60..=3599 => format!("{} min {} s", whole / 60, whole % 60),
        _ => format!("{} h {} min", whole / 3600, (whole % 3600) / 60),
    }
}

fn header(s: &mut String, first: &str) {
    let _ = writeln!(
        s,
        "<tr><th>{first}</th><th class=\"n\">expected</th><th class=\"n\">migrated</th>\
         <th class=\"n\">present</th><th class=\"n\">skipped</th><th class=\"n\">failed</th>\
         <th class=\"n\">bytes</th><th></th></tr>"
    );
}

fn pct(n: u64, of: u64) -> String {
    if of == 0 {
        "0".into()
    } else {
        format!("{:.2}", n as f64 * 100.0 / of as f64)
    }
}

/// Opens a table row (`data-row` = `kind`, the total row styled) with its
/// label and one `data-count` cell per count: the shape the pages' tests
/// read back.
pub fn count_row(s: &mut String, kind: &str, label: &str, counts: &[(&str, u64)]) {
    let class = if kind == "total" {
        " class=\"total\""
    } else {
        ""
    };
    let _ = write!(
        s,
        "<tr{class} data-row=\"{kind}\"><td>{}</td>",
        escape(label)
    );
    for (k, v) in counts {
        let _ = write!(s, "<td class=\"n\" data-count=\"{k}\">{v}</td>");
    }
}

fn row(s: &mut String, kind: &str, label: &str, c: &Counts) {
    count_row(
        s,
        kind,
        label,
        &[
            ("expected", c.expected),
            ("migrated", c.migrated),
            ("present", c.already_present),
            ("skipped", c.skipped),
            ("failed", c.failed),
        ],
    );
    let _ = write!(
        s,
        "<td class=\"n\" data-count=\"bytes\" data-bytes=\"{}\">{}</td>",
        c.bytes_migrated,
        human_bytes(c.bytes_migrated)
    );
    bar(
        s,
        c.expected,
        &[
            ("m", c.migrated),
            ("p", c.already_present),
            ("s", c.skipped),
            ("f", c.failed),
        ],
        &format!(
            "{} migrated, {} present, {} skipped, {} failed of {}",
            c.migrated, c.already_present, c.skipped, c.failed, c.expected
        ),
    );
}

fn folder_label(f: &FolderReport) -> String {
    match &f.mailbox {
        Some(m) if f.renamed => format!("{} → {m}", f.folder),
        _ => f.folder.clone(),
    }
}

/// A titled list of lines (nothing when there are none).
pub fn list(s: &mut String, title: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    if !title.is_empty() {
        let _ = writeln!(s, "<h3>{}</h3>", escape(title));
    }
    let _ = writeln!(s, "<ul>");
    for l in lines {
        let _ = writeln!(s, "<li>{}</li>", escape(l));
    }
    let _ = writeln!(s, "</ul>");
}

fn items(
    s: &mut String,
    r: &Report,
    title: &str,
    id: &str,
    pick: impl Fn(&FolderReport) -> &Vec<ItemNote>,
    open: bool,
) {
    let n: usize = r
        .accounts
        .iter()
        .flat_map(|a| &a.folders)
        .map(|f| pick(f).len())
        .sum();
    let _ = writeln!(s, "<h2>{} ({n})</h2>", escape(title));
    if n == 0 {
        let _ = writeln!(s, "<p id=\"{id}\" data-items=\"0\">None.</p>");
        return;
    }
    let _ = writeln!(
        s,
        "<details{}><summary>{n} item{}</summary>\n<table id=\"{id}\" data-items=\"{n}\">",
        if open { " open" } else { "" },
        if n == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        s,
        "<tr><th>account</th><th>folder</th><th>item</th><th>reason</th><th>source file</th></tr>"
    );
    for a in &r.accounts {
        for f in &a.folders {
            for it in pick(f) {
                let _ = writeln!(
                    s,
                    "<tr data-row=\"item\"><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"path\">{}</td></tr>",
                    escape(&a.account),
                    escape(&f.folder),
                    escape(&it.item),
                    escape(&it.reason),
                    escape(it.path.as_deref().unwrap_or("(unknown)"))
                );
            }
        }
    }
    let _ = writeln!(s, "</table>\n</details>");
}

/// The run's settings with their origin.
pub fn settings_table(s: &mut String, settings: &[Setting]) {
    let _ = writeln!(s, "<h2>Run settings</h2>");
    if settings.is_empty() {
        let _ = writeln!(s, "<p class=\"muted\">Not recorded.</p>");
        return;
    }
    let _ = writeln!(
        s,
        "<p class=\"muted\">Secrets are never settings: only the variable, file or command that holds one is shown.</p>\n\
         <table id=\"settings\"><tr><th>option</th><th>value</th><th>from</th></tr>"
    );
    for x in settings {
        let _ = writeln!(
            s,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
            escape(&x.name),
            escape(&x.value),
            escape(&x.origin)
        );
    }
    let _ = writeln!(s, "</table>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{AccountReport, FolderReport};

    fn sample() -> Report {
        let mut f = FolderReport {
            folder: "INBOX/<script>alert(1)</script>\u{1b}[2J".into(),
            ..FolderReport::default()
        };
        f.counts.expected = 4;
        f.counts.migrated = 2;
        f.counts.bytes_migrated = 2048;
        f.skip("0001", "empty file");
        f.fail("0002", "rejected: \"too big\" & <odd>");
        f.failed[0].path = Some("/store/a/INBOX/#msgs/0002.eml".into());
        let mut r = Report {
            version: "0.1.0".into(),
            started: "2026-12-02T04:00:00+00:00".into(),
            finished: "2026-12-02T04:00:10+00:00".into(),
            store: "/store".into(),
            target: "maildir:/out".into(),
            accounts: vec![AccountReport {
                account: "a@example.com".into(),
                folders: vec![f],
                ..AccountReport::default()
            }],
            ..Report::default()
        };
        r.finalize();
        r
    }

    #[test]
    fn names_from_disk_are_escaped_and_nothing_is_loaded() {
        let page = render(&sample(), &[]);
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("INBOX/&lt;script&gt;alert(1)&lt;/script&gt;\\u{1b}[2J"));
        assert!(!page.contains('\u{1b}'));
        assert!(page.contains("rejected: &quot;too big&quot; &amp; &lt;odd&gt;"));
        assert!(page.contains("/store/a/INBOX/#msgs/0002.eml"));
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(page.contains("default-src 'none'"));
    }

    #[test]
    fn counts_bars_and_throughput() {
        let page = render(
            &sample(),
            &[Setting {
                name: "--to".into(),
                value: "maildir:/out".into(),
                origin: "run file".into(),
            }],
        );
        assert!(page.contains("<td class=\"n\" data-count=\"expected\">4</td>"));
        assert!(page.contains("<td class=\"n\" data-count=\"failed\">1</td>"));
        assert!(page.contains("style=\"width:50.00%\""), "{page}");
        assert!(page.contains("0.2 messages/s"), "{page}");
        assert!(page.contains("10.0 s"));
        assert!(page.contains("<td>run file</td>"));
        assert!(page.contains("data-exit-code=\"3\""));
    }

    #[test]
    fn escape_covers_quotes_and_controls() {
        assert_eq!(escape("a'b\"c\u{7}"), "a&#39;b&quot;c\\u{7}");
        assert_eq!(escape("Gelöscht"), "Gelöscht");
    }
}
