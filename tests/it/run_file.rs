//! `--config run.toml` end to end (the merging rules have unit tests in
//! `cli::config`), and the man pages and completions `generate` writes.

use crate::support::{root, sample, Run};
use std::fs;

#[test]
fn the_example_run_file_plans_and_plan_says_where_each_setting_came_from() {
    let o = Run::new("plan")
        .arg(sample())
        .args(["--config"])
        .arg(root().join("docs/run-example.toml"))
        .args(["--offline", "--connections", "2"])
        .env("KERIO_ADMIN_PASSWORD", "s3cret-in-env")
        .run();
    assert_eq!(o.code, 0, "{o}");
    let line = |name: &str| {
        o.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no setting {name}:\n{}", o.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("--to"), "--to imaps://imap.example.com (run file)");
    assert_eq!(line("--connections"), "--connections 2 (command line)");
    assert_eq!(line("--batch"), "--batch 50 (default)");
    assert_eq!(
        line("--admin-password-env"),
        "--admin-password-env KERIO_ADMIN_PASSWORD (run file)"
    );
    assert_eq!(
        line("--report-html"),
        "--report-html report.html (run file, not used by plan)"
    );
    assert!(!o.stdout.contains("s3cret"), "{o}");
    // The file's exclusions and preset are applied, not only listed.
    assert!(!o.stdout.contains("#public@example.com:"), "{o}");
    let json = Run::new("plan")
        .arg(sample())
        .arg("--config")
        .arg(root().join("docs/run-example.toml"))
        .args(["--offline", "--json"])
        .json();
    assert_eq!(json["preset"], "dovecot");
    let settings = json["settings"].as_array().expect("settings in the JSON");
    assert!(settings
        .iter()
        .any(|s| s["name"] == "--to" && s["origin"] == "run file"));
}

#[test]
fn migrate_takes_the_run_file_and_the_command_line_wins() {
    let t = tempfile::tempdir().expect("tmp");
    let out = t.path().join("out");
    let run_file = t.path().join("run.toml");
    fs::write(
        &run_file,
        format!(
            "store = \"{}\"\nto = \"maildir:{}\"\naccount = [\"alice@example.com\", \"bob@example.com\"]\n",
            sample().display(),
            out.display()
        ),
    )
    .expect("write");
    let o = Run::new("migrate")
        .arg("--config")
        .arg(&run_file)
        .args(["--account", "bob@example.com"])
        .report(&t.path().join("r.json"))
        .run();
    assert_eq!(o.code, 0, "{o}");
    let accounts: Vec<&str> = o.report["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|a| a["account"].as_str())
        .collect();
    assert_eq!(accounts, ["bob@example.com"]);
    assert!(out.join("bob@example.com").is_dir());
}

#[test]
fn a_secret_in_clear_text_or_an_unknown_key_is_a_usage_error() {
    let t = tempfile::tempdir().expect("tmp");
    let run_file = t.path().join("run.toml");
    fs::write(
        &run_file,
        "to = \"imaps://imap.example.com\"\nuser = \"alice\"\npassword = \"hunter2\"\n",
    )
    .expect("write");
    let o = Run::new("migrate")
        .arg(sample())
        .arg("--config")
        .arg(&run_file)
        .run();
    assert_eq!(o.code, 2, "{o}");
    assert!(
        o.stderr
            .contains("`password`: secrets are refused in clear text"),
        "{o}"
    );
    assert!(!o.stderr.contains("hunter2") && !o.stdout.contains("hunter2"));
    fs::write(&run_file, "to = \"maildir:/tmp/x\"\nconnexions = 3\n").expect("write");
    let o = Run::new("verify")
        .arg(sample())
        .arg("--config")
        .arg(&run_file)
        .run();
    assert_eq!(o.code, 2, "{o}");
    assert!(o.stderr.contains("`connexions`: unknown key"), "{o}");
}

#[test]
fn man_pages_and_completions_come_from_the_definitions() {
    let t = tempfile::tempdir().expect("tmp");
    let man = t.path().join("man");
    let o = Run::new("generate").arg("man").arg(&man).run();
    assert_eq!(o.code, 0, "{o}");
    for page in [
        "kerio-migrate.1",
        "kerio-migrate-scan.1",
        "kerio-migrate-migrate.1",
        "kerio-migrate-plan.1",
        "kerio-migrate-verify.1",
        "kerio-migrate-contacts.1",
        "kerio-migrate-calendar.1",
        "kerio-migrate-users.1",
        "kerio-migrate-unpack.1",
    ] {
        let text = fs::read_to_string(man.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    assert!(!man.join("kerio-migrate-generate.1").exists());
    let migrate = fs::read_to_string(man.join("kerio-migrate-migrate.1")).expect("page");
    assert!(migrate.contains("report\\-html") && migrate.contains("\\-\\-config"));
    let hidden = regex::Regex::new(r"\bgenerate\b").expect("regex");
    for (shell, file) in [
        ("bash", "kerio-migrate.bash"),
        ("zsh", "_kerio-migrate"),
        ("fish", "kerio-migrate.fish"),
    ] {
        let dir = t.path().join(shell);
        let o = Run::new("generate")
            .args(["completions", shell, "--dir"])
            .arg(&dir)
            .run();
        assert_eq!(o.code, 0, "{o}");
        let text = fs::read_to_string(dir.join(file)).expect("script");
        assert!(text.contains("report-html"), "{shell}");
        assert!(!hidden.is_match(&text), "{shell}: the hidden command");
    }
}
