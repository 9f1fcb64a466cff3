//! `--config run.toml`: a run file an admin can review, version and rerun.
//!
//! Generic over the clap definitions: every key is the long name of an
//! option of the command (`to`, `accounts`, `connections`, `account = [..]`
//! for a repeatable one, `store` for the positional), or of a global option
//! (`threads`, `quiet`). The file's keys become arguments before parsing,
//! so every check of the command line applies to them too; an option given
//! on the command line replaces the file's (a repeatable one as a whole).
//! Unknown keys are an error naming the key.
//!
//! Secrets stay references: `password = "env:VAR"` / `"file:PATH"` (and
//! `admin-password`), `oauth2-token = "cmd:COMMAND"` / `"file:PATH"`, which
//! are the `--password-env`, `--password-file`, … options; anything else
//! under a secret's name is refused without echoing it.
//!
//! Where each effective setting came from (run file, command line, default,
//! environment) is read from clap's `value_source` after the final parse;
//! `plan` prints it and the HTML report lists it.

use super::Cli;
use crate::report::Setting;
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A run file larger than this is not a run file.
const MAX_RUN_FILE: u64 = 1 << 20;

/// Options whose value is not shown (a token command may embed a key):
/// in `plan`, the HTML settings and the journal's copy of the command line.
pub(super) const REDACTED: &[&str] = &["oauth2-token-cmd"];

/// Parses the process's arguments with the run file's options merged in,
/// exiting like clap does on a usage error (exit 2).
pub(super) fn parse() -> Cli {
    let argv: Vec<OsString> = std::env::args_os().collect();
    match parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    }
}

/// A usage error (exit 2) with this message.
fn usage(msg: String) -> clap::Error {
    Cli::command().error(clap::error::ErrorKind::ValueValidation, msg)
}

/// [`parse`] over given arguments (`argv[0]` is the program).
pub(super) fn parse_from(argv: Vec<OsString>) -> Result<Cli, clap::Error> {
    let root = Cli::command();
    // A lenient first pass: which command, which run file, and what the
    // command line itself gives (required options may be in the file).
    let lenient = root
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(argv.iter());
    let Ok(lenient) = lenient else {
        // --help, --version: the real parse says it.
        return finish(root.try_get_matches_from(argv)?, &BTreeSet::new(), None);
    };
    let Some((name, sub)) = lenient.subcommand() else {
        return finish(root.try_get_matches_from(argv)?, &BTreeSet::new(), None);
    };
    let config = sub.try_get_one::<PathBuf>("config").ok().flatten().cloned();
    let Some(config) = config else {
        return finish(root.try_get_matches_from(argv)?, &BTreeSet::new(), None);
    };
    let cmd = root
        .find_subcommand(name)
        .ok_or_else(|| usage(format!("unknown command {name}")))?;
    let table = read(&config)?;
    let t = tokens(&config, &root, cmd, &lenient, sub, &table)?;
    // The file's options go right after the command's name, its
    // positional (the store) last, after `--`.
    let at = argv
        .iter()
        .skip(1)
        .position(|a| a == name)
        .map(|i| i + 2)
        .unwrap_or(argv.len());
    let mut merged = argv[..at].to_vec();
    merged.extend(t.options);
    merged.extend(argv[at..].iter().cloned());
    if !t.positional.is_empty() {
        if !argv[at..].iter().any(|a| a == "--") {
            merged.push("--".into());
        }
        merged.extend(t.positional.into_iter().map(OsString::from));
    }
    let from_file = t.ids;
    let unused = t.unused;
    let m = root.try_get_matches_from(merged).inspect_err(|_| {
        say!(
            "kerio-migrate: with the options of the run file {}:",
            config.display()
        );
    })?;
    let mut cli = finish(m, &from_file, Some(&config))?;
    cli.settings.extend(unused);
    Ok(cli)
}

fn finish(
    m: ArgMatches,
    from_file: &BTreeSet<String>,
    config: Option<&Path>,
) -> Result<Cli, clap::Error> {
    let mut cli = Cli::from_arg_matches(&m)?;
    cli.settings = settings(&m, from_file);
    cli.run_file = config.map(Path::to_path_buf);
    Ok(cli)
}

/// Reads and parses the run file.
fn read(path: &Path) -> Result<toml::Table, clap::Error> {
    let err = |what: String| usage(format!("run file {}: {what}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    if meta.len() > MAX_RUN_FILE {
        return Err(err(format!("larger than {MAX_RUN_FILE} bytes")));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| {
            std::io::Read::read_to_string(&mut std::io::Read::take(f, MAX_RUN_FILE), &mut text)
        })
        .map_err(|e| err(e.to_string()))?;
    text.parse::<toml::Table>().map_err(|e| err(e.to_string()))
}

/// What a secret's key in the run file may reference, and the options the
/// references stand for.
const SECRETS: &[(&str, &[(&str, &str)])] = &[
    (
        "password",
        &[("env:", "password-env"), ("file:", "password-file")],
    ),
    (
        "admin-password",
        &[
            ("env:", "admin-password-env"),
            ("file:", "admin-password-file"),
        ],
    ),
    (
        "oauth2-token",
        &[("cmd:", "oauth2-token-cmd"), ("file:", "oauth2-token-file")],
    ),
];

/// The arguments a run file stands for.
struct Tokens {
    /// `--long=value` arguments.
    options: Vec<OsString>,
    /// Positional values (the store).
    positional: Vec<String>,
    /// Ids of the options they set.
    ids: BTreeSet<String>,
    /// Options of other commands (one run file serves them all).
    unused: Vec<Setting>,
}

/// A TOML value as the settings show it.
fn scalar_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(a) => a.iter().map(scalar_text).collect::<Vec<_>>().join(", "),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Table(_) => "(a table)".into(),
    }
}

/// The arguments the run file stands for, and the ids of the options they
/// set. Options the command line gives are left out.
fn tokens(
    path: &Path,
    root: &clap::Command,
    cmd: &clap::Command,
    given_root: &ArgMatches,
    given: &ArgMatches,
    table: &toml::Table,
) -> Result<Tokens, clap::Error> {
    let err =
        |key: &str, what: String| usage(format!("run file {}: `{key}`: {what}", path.display()));
    let mut out = Vec::new();
    let mut positional = Vec::new();
    let mut ids = BTreeSet::new();
    let mut unused = Vec::new();
    for (key, value) in table {
        let norm = key.replace('_', "-");
        let (name, value) = match SECRETS.iter().find(|(k, _)| *k == norm) {
            Some((_, forms)) => {
                let Some(s) = value.as_str() else {
                    return Err(err(key, "give a reference as a string".into()));
                };
                let Some((prefix, option)) = forms.iter().find(|(p, _)| s.starts_with(p)) else {
                    let accepted: Vec<String> =
                        forms.iter().map(|(p, _)| format!("{p}…")).collect();
                    return Err(err(
                        key,
                        format!(
                            "secrets are refused in clear text; give a reference: {}",
                            accepted.join(" or ")
                        ),
                    ));
                };
                (
                    option.to_string(),
                    toml::Value::String(s[prefix.len()..].to_string()),
                )
            }
            None => (norm.clone(), value.clone()),
        };
        if name == "config" || name == "help" || name == "version" {
            return Err(err(key, "not allowed in a run file".into()));
        }
        let arg = cmd
            .get_arguments()
            .chain(root.get_arguments().filter(|a| a.is_global_set()))
            .find(|a| {
                a.get_long() == Some(name.as_str())
                    || a.get_all_aliases()
                        .is_some_and(|al| al.contains(&name.as_str()))
                    || (a.is_positional() && a.get_id() == name.as_str())
            });
        let Some(arg) = arg else {
            // One run file serves every command that reads one: an option
            // of another such command is not used here.
            let elsewhere = root
                .get_subcommands()
                .filter(|c| c.get_arguments().any(|a| a.get_id() == "config"))
                .any(|c| {
                    c.get_arguments()
                        .any(|a| a.get_long() == Some(name.as_str()))
                });
            if elsewhere {
                unused.push(Setting {
                    name: format!("--{name}"),
                    value: if REDACTED.contains(&name.as_str()) {
                        "<redacted>".to_string()
                    } else {
                        scalar_text(&value)
                    },
                    origin: format!("run file, not used by {}", cmd.get_name()),
                });
                continue;
            }
            return Err(err(
                key,
                format!(
                    "unknown key (not an option of `{}`; keys are the long option names)",
                    cmd.get_name()
                ),
            ));
        };
        let id = arg.get_id().as_str().to_string();
        let on_command_line = |m: &ArgMatches| {
            m.try_get_raw(&id).is_ok() && m.value_source(&id) == Some(ValueSource::CommandLine)
        };
        if on_command_line(given) || (arg.is_global_set() && on_command_line(given_root)) {
            continue; // the command line wins
        }
        // So does an option of the command line that excludes this one
        // (`--password-file` over the file's `password = "env:…"`).
        let excluded = !arg.is_global_set()
            && cmd.get_arguments().any(|other| {
                !other.is_global_set()
                    && given.try_get_raw(other.get_id().as_str()).is_ok()
                    && given.value_source(other.get_id().as_str()) == Some(ValueSource::CommandLine)
                    && (cmd
                        .get_arg_conflicts_with(arg)
                        .iter()
                        .any(|c| c.get_id() == other.get_id())
                        || cmd
                            .get_arg_conflicts_with(other)
                            .iter()
                            .any(|c| c.get_id() == arg.get_id()))
            });
        if excluded {
            continue;
        }
        let long = arg.get_long().unwrap_or(&name).to_string();
        let scalar = |v: &toml::Value| -> Result<String, clap::Error> {
            match v {
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Integer(i) => Ok(i.to_string()),
                toml::Value::Float(f) => Ok(f.to_string()),
                toml::Value::Boolean(b) => Ok(b.to_string()),
                _ => Err(err(key, "expected a string or a number".into())),
            }
        };
        match arg.get_action() {
            ArgAction::SetTrue => match value {
                toml::Value::Boolean(true) => out.push(format!("--{long}").into()),
                toml::Value::Boolean(false) => continue,
                _ => return Err(err(key, "a switch: give true or false".into())),
            },
            ArgAction::Count => match value {
                toml::Value::Integer(n @ 0..=8) => {
                    out.extend((0..n).map(|_| OsString::from(format!("--{long}"))))
                }
                _ => return Err(err(key, "give a count from 0 to 8".into())),
            },
            ArgAction::Append => {
                let values = match &value {
                    toml::Value::Array(a) => a.clone(),
                    v => vec![v.clone()],
                };
                for v in &values {
                    out.push(format!("--{long}={}", scalar(v)?).into());
                }
            }
            _ if arg.is_positional() => positional.push(scalar(&value)?),
            _ => {
                if value.is_array() {
                    return Err(err(key, "takes one value, not a list".into()));
                }
                out.push(format!("--{long}={}", scalar(&value)?).into());
            }
        }
        ids.insert(id);
    }
    Ok(Tokens {
        options: out,
        positional,
        ids,
        unused,
    })
}

/// The effective settings of the command, in the order `--help` lists
/// them, with their origin. Switches that are off by default are left out.
fn settings(m: &ArgMatches, from_file: &BTreeSet<String>) -> Vec<Setting> {
    let root = Cli::command();
    let mut out = Vec::new();
    let mut add = |cmd: &clap::Command, m: &ArgMatches| {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version" | "config") {
                continue;
            }
            let Some(source) = m.value_source(id) else {
                continue;
            };
            let name = match arg.get_long() {
                Some(l) => format!("--{l}"),
                None => id.to_string(),
            };
            let value = match arg.get_action() {
                ArgAction::Count => m
                    .try_get_one::<u8>(id)
                    .ok()
                    .flatten()
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                _ => m
                    .try_get_raw(id)
                    .ok()
                    .flatten()
                    .map(|vals| {
                        vals.map(|v| v.to_string_lossy().into_owned())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default(),
            };
            if source == ValueSource::DefaultValue && (value == "false" || value == "0") {
                continue;
            }
            let value = if REDACTED.contains(&name.trim_start_matches('-')) {
                "<redacted>".to_string()
            } else {
                value
            };
            let origin = match source {
                ValueSource::CommandLine if from_file.contains(id) => "run file",
                ValueSource::CommandLine => "command line",
                ValueSource::EnvVariable => "environment",
                _ => "default",
            };
            out.push(Setting {
                name,
                value,
                origin: origin.into(),
            });
        }
    };
    if let Some((name, sub)) = m.subcommand() {
        if let Some(cmd) = root.find_subcommand(name) {
            add(cmd, sub);
        }
    }
    add(&root, m);
    out
}

/// The settings for a person: one line each, with the origin.
pub(super) fn text(settings: &[Setting], run_file: Option<&Path>) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nSettings (from {}, and defaults; switches that are off are not listed):",
        match run_file {
            Some(p) => format!("the run file {} and the command line", p.display()),
            None => "the command line".to_string(),
        }
    );
    let w = settings
        .iter()
        .map(|x| crate::text::display_width(&x.name))
        .max()
        .unwrap_or(0)
        .min(28);
    let v = settings
        .iter()
        .map(|x| crate::text::display_width(&x.value))
        .max()
        .unwrap_or(0)
        .min(40);
    for x in settings {
        let _ = writeln!(
            s,
            "  {}  {}  ({})",
            crate::text::pad(&x.name, w),
            crate::text::pad(&x.value, v),
            x.origin
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;

    fn run_file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(f.path(), text).expect("write");
        f
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        parse_from(
            std::iter::once("kerio-migrate")
                .chain(args.iter().copied())
                .map(OsString::from)
                .collect(),
        )
    }

    fn origin<'c>(cli: &'c Cli, name: &str) -> (&'c str, &'c str) {
        let s = cli
            .settings
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no setting {name}: {:?}", cli.settings));
        (s.value.as_str(), s.origin.as_str())
    }

    #[test]
    fn the_file_fills_in_and_the_command_line_wins() {
        let f = run_file(
            "store = \"/srv/kerio\"\nto = \"maildir:/tmp/out\"\nconnections = 8\n\
             account = [\"a@x.org\", \"b@x.org\"]\nskip-deleted = true\nreport_html = \"r.html\"\n",
        );
        let path = f.path().to_str().expect("utf-8");
        let cli = parse(&["migrate", "--config", path, "--connections", "2"]).expect("parses");
        let Command::Migrate(a) = &cli.command else {
            panic!("not migrate")
        };
        assert_eq!(a.store, PathBuf::from("/srv/kerio"));
        assert_eq!(a.dest.to, "maildir:/tmp/out");
        assert_eq!(a.dest.imap.connections, 2);
        assert!(a.skip_deleted);
        assert_eq!(a.report_html, Some(PathBuf::from("r.html")));
        assert_eq!(a.select.accounts, ["a@x.org", "b@x.org"]);
        assert_eq!(origin(&cli, "--connections"), ("2", "command line"));
        assert_eq!(origin(&cli, "--to"), ("maildir:/tmp/out", "run file"));
        assert_eq!(origin(&cli, "store"), ("/srv/kerio", "run file"));
        assert_eq!(origin(&cli, "--account"), ("a@x.org, b@x.org", "run file"));
        assert_eq!(origin(&cli, "--window"), ("64", "default"));
        // A repeatable option on the command line replaces the file's list,
        // and a store on the command line the file's.
        let cli = parse(&[
            "migrate",
            "/other",
            "--config",
            path,
            "--account",
            "c@x.org",
        ])
        .expect("parses");
        let Command::Migrate(a) = &cli.command else {
            panic!("not migrate")
        };
        assert_eq!(a.select.accounts, ["c@x.org"]);
        assert_eq!(a.store, PathBuf::from("/other"));
        assert_eq!(origin(&cli, "store"), ("/other", "command line"));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_usage_errors_naming_the_key() {
        let f = run_file("to = \"maildir:/x\"\nconections = 3\n");
        let e = parse(&["plan", "s", "--config", f.path().to_str().expect("utf-8")])
            .expect_err("refused");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("`conections`: unknown key"), "{e}");
        let f = run_file("to = \"maildir:/x\"\nconnections = [1, 2]\n");
        let e = parse(&["plan", "s", "--config", f.path().to_str().expect("utf-8")])
            .expect_err("refused");
        assert!(
            e.to_string().contains("`connections`: takes one value"),
            "{e}"
        );
        let f = run_file("to = \"maildir:/x\"\nconnections = \"many\"\n");
        let e = parse(&["plan", "s", "--config", f.path().to_str().expect("utf-8")])
            .expect_err("refused");
        assert!(e.to_string().contains("many"), "clap's own check: {e}");
    }

    #[test]
    fn secrets_only_by_reference() {
        let f = run_file("to = \"imaps://h\"\nuser = \"u\"\npassword = \"hunter2\"\n");
        let e = parse(&["plan", "s", "--config", f.path().to_str().expect("utf-8")])
            .expect_err("refused");
        let msg = e.to_string();
        assert!(
            msg.contains("`password`: secrets are refused in clear text"),
            "{msg}"
        );
        assert!(!msg.contains("hunter2"), "{msg}");
        let f = run_file(
            "to = \"imaps://h\"\nuser = \"u\"\npassword = \"env:PW\"\noauth2-token = \"cmd:get-token {user}\"\n",
        );
        let path = f.path().to_str().expect("utf-8");
        let cli = parse(&["plan", "s", "--config", path]).expect("parses");
        let Command::Plan(a) = &cli.command else {
            panic!("not plan")
        };
        assert_eq!(a.dest.imap.password_env.as_deref(), Some("PW"));
        assert_eq!(
            a.dest.imap.oauth2_token_cmd.as_deref(),
            Some("get-token {user}")
        );
        assert_eq!(
            origin(&cli, "--oauth2-token-cmd"),
            ("<redacted>", "run file")
        );
        // The command line's own reference replaces the file's.
        let cli =
            parse(&["plan", "s", "--config", path, "--password-file", "/pw"]).expect("parses");
        let Command::Plan(a) = &cli.command else {
            panic!("not plan")
        };
        assert_eq!(a.dest.imap.password_env, None);
        assert_eq!(a.dest.imap.password_file, Some(PathBuf::from("/pw")));
    }

    #[test]
    fn one_run_file_serves_every_command() {
        let f = run_file("to = \"maildir:/x\"\nparallel-accounts = 3\ndeep = true\nthreads = 2\n");
        let cli =
            parse(&["plan", "s", "--config", f.path().to_str().expect("utf-8")]).expect("parses");
        assert_eq!(cli.threads, Some(2));
        assert_eq!(
            origin(&cli, "--parallel-accounts"),
            ("3", "run file, not used by plan")
        );
        assert_eq!(
            origin(&cli, "--deep"),
            ("true", "run file, not used by plan")
        );
        let cli =
            parse(&["verify", "s", "--config", f.path().to_str().expect("utf-8")]).expect("parses");
        let Command::Verify(a) = &cli.command else {
            panic!("not verify")
        };
        assert!(a.deep);
    }

    #[test]
    fn without_a_run_file_origins_are_command_line_and_default() {
        let cli = parse(&["plan", "s", "--to", "maildir:/x"]).expect("parses");
        assert_eq!(origin(&cli, "--to"), ("maildir:/x", "command line"));
        assert_eq!(origin(&cli, "--connections"), ("4", "default"));
        assert!(cli.run_file.is_none());
    }
}
