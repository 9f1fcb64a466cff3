//! `verify --report-html`: the verification as one self-contained page, in
//! the style of the migration report's ([`crate::report::html`]: no fetch,
//! everything from the store escaped). Per account and folder the source
//! items, journaled, present on the target, missing, differing and never
//! migrated, with a bar; every item that is not where it should be, by id.
//!
//! Rows carry `data-row="account"` / `"folder"` / `"total"` and cells
//! `data-count="source"`, `"journaled"`, `"present"`, `"missing"`,
//! `"differs"`, `"not-migrated"`, in the JSON's order.

use super::{FolderCheck, Verification};
use crate::report::html::{bar, count_row, escape, foot, head, list, settings_table};
use crate::report::Setting;
use std::fmt::Write as _;

#[derive(Default)]
struct Row {
    source: u64,
    journaled: u64,
    present: u64,
    missing: u64,
    differs: u64,
    not_migrated: u64,
}

impl Row {
    fn of(f: &FolderCheck) -> Row {
        Row {
            source: f.source_items,
            journaled: f.journaled,
            present: f.present,
            missing: f.missing_on_target.len() as u64,
            differs: f.differs.len() as u64,
            not_migrated: f.not_migrated.len() as u64,
        }
    }

    fn add(&mut self, o: &Row) {
        self.source += o.source;
        self.journaled += o.journaled;
        self.present += o.present;
        self.missing += o.missing;
        self.differs += o.differs;
        self.not_migrated += o.not_migrated;
    }
}

fn header(s: &mut String, first: &str) {
    let _ = writeln!(
        s,
        "<tr><th>{first}</th><th class=\"n\">source</th><th class=\"n\">journaled</th>\
         <th class=\"n\">on target</th><th class=\"n\">missing</th><th class=\"n\">differ</th>\
         <th class=\"n\">not migrated</th><th></th></tr>"
    );
}

fn row(s: &mut String, kind: &str, label: &str, r: &Row) {
    count_row(
        s,
        kind,
        label,
        &[
            ("source", r.source),
            ("journaled", r.journaled),
            ("present", r.present),
            ("missing", r.missing),
            ("differs", r.differs),
            ("not-migrated", r.not_migrated),
        ],
    );
    // Present with the same content, differing, missing, never migrated.
    bar(
        s,
        r.source,
        &[
            ("m", r.present.saturating_sub(r.differs)),
            ("d", r.differs),
            ("f", r.missing),
            ("s", r.not_migrated),
        ],
        &format!(
            "{} of {} on the target, {} missing, {} not migrated",
            r.present, r.source, r.missing, r.not_migrated
        ),
    );
}

/// Renders the page; `when` is the time of the check.
pub fn render(v: &Verification, settings: &[Setting], when: &str) -> String {
    let mut s = head(&format!("kerio-migrate verify: {}", v.target));
    let _ = writeln!(s, "<h1>Kerio Connect migration: verification</h1>");
    let (class, text) = if v.exit_code == crate::report::exit::OK {
        ("ok", "Every source item is on the target.".to_string())
    } else {
        (
            "bad",
            format!(
                "{} missing on the target, {} not migrated, {} differ, {} not checked",
                v.totals.missing_on_target,
                v.totals.not_migrated,
                v.totals.differs,
                v.totals.errors
            ),
        )
    };
    let _ = writeln!(
        s,
        "<p class=\"status {class}\" id=\"status\" data-exit-code=\"{}\">{} (exit code {})</p>",
        v.exit_code,
        escape(&text),
        v.exit_code
    );
    let _ = writeln!(
        s,
        "<dl id=\"summary\"><dt>target</dt><dd>{}</dd><dt>journal</dt><dd>{}</dd>\
         <dt>content</dt><dd>{}</dd><dt>checked</dt><dd>{}</dd></dl>",
        escape(&v.target),
        escape(&v.journal),
        if v.deep {
            "compared with what was sent (--deep)"
        } else {
            "not compared (presence only; --deep compares)"
        },
        escape(when)
    );
    let _ = writeln!(
        s,
        "<h2>Totals</h2>\n<p class=\"key\"><span class=\"m\"></span>on the target\
         <span class=\"d\"></span>content differs<span class=\"f\"></span>missing\
         <span class=\"s\"></span>not migrated</p>\n<table id=\"totals\">"
    );
    header(&mut s, "accounts");
    let mut total = Row::default();
    for a in &v.accounts {
        let mut t = Row::default();
        for f in &a.folders {
            t.add(&Row::of(f));
        }
        row(&mut s, "account", &a.account, &t);
        total.add(&t);
    }
    row(&mut s, "total", "total", &total);
    let _ = writeln!(s, "</table>");
    for (i, a) in v.accounts.iter().enumerate() {
        let _ = writeln!(s, "<h2 id=\"account-{i}\">{}</h2>", escape(&a.account));
        if let Some(e) = &a.error {
            let _ = writeln!(s, "<p class=\"status bad\">Not checked: {}</p>", escape(e));
        }
        let _ = writeln!(s, "<table class=\"folders\" data-account=\"{i}\">");
        header(&mut s, "folder");
        for f in &a.folders {
            let label = match &f.mailbox {
                Some(m) if *m != f.folder => format!("{} → {m}", f.folder),
                _ => f.folder.clone(),
            };
            row(&mut s, "folder", &label, &Row::of(f));
        }
        let _ = writeln!(s, "</table>");
        let mut lines = Vec::new();
        for f in &a.folders {
            if let Some(e) = &f.error {
                lines.push(format!("{}: not checked: {e}", f.folder));
            }
            for (what, ids) in [
                ("missing on the target", &f.missing_on_target),
                ("not migrated", &f.not_migrated),
                ("content differs", &f.differs),
            ] {
                if !ids.is_empty() {
                    lines.push(format!("{}: {what}: {}", f.folder, ids.join(", ")));
                }
            }
        }
        list(&mut s, "Items not where they should be", &lines);
    }
    settings_table(&mut s, settings);
    foot(&mut s, when);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::AccountCheck;

    #[test]
    fn counts_and_ids_escaped() {
        let v = Verification {
            target: "maildir:/out".into(),
            accounts: vec![AccountCheck {
                account: "a@example.com".into(),
                folders: vec![FolderCheck {
                    folder: "<b>x</b>".into(),
                    source_items: 4,
                    journaled: 3,
                    present: 2,
                    missing_on_target: vec!["0003".into()],
                    not_migrated: vec!["0004".into()],
                    ..FolderCheck::default()
                }],
                error: None,
                notes: Vec::new(),
            }],
            exit_code: 3,
            ..Verification::default()
        };
        let page = render(&v, &[], "now");
        assert!(page.contains("&lt;b&gt;x&lt;/b&gt;") && !page.contains("<b>x"));
        assert!(page.contains("<td class=\"n\" data-count=\"missing\">1</td>"));
        assert!(page.contains("&lt;b&gt;x&lt;/b&gt;: missing on the target: 0003"));
        assert!(page.contains("style=\"width:50.00%\""), "{page}");
        assert!(page.contains("data-exit-code=\"3\""));
    }
}
