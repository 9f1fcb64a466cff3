//! `kerio-migrate plan STORE --to TARGET`, and the folder-mapping options
//! (`--preset`, `--mapping`, `--prefix`) that `migrate` shares.

use super::{Cli, SelectArgs};
use crate::dest::maildir::{MaildirDest, MaildirOptions};
use crate::dest::Destination as _;
use crate::mapping::{Mapper, MappingConfig, Preset, TargetFolders};
use crate::model::Account;
use crate::plan::{self, Budget, Limit, Naming, Plan, PlanOptions};
use crate::select::Selection;
use anyhow::{bail, Context};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

/// Folder mapping options, shared by `plan` and `migrate`.
#[derive(Debug, Clone, Args, Default)]
pub struct MappingArgs {
    /// Target preset: gmail, office365, dovecot (special folder names, name rules, size limit).
    #[arg(long, value_name = "PRESET")]
    pub preset: Option<Preset>,
    /// Folder mapping file (TOML: renames, regex rules, prefix, include/exclude; see
    /// docs/mapping-example.toml).
    #[arg(long, value_name = "FILE.toml")]
    pub mapping: Option<PathBuf>,
    /// Put migrated folders below this path (`Kerio/`); INBOX and special folders stay put.
    #[arg(long, value_name = "PATH")]
    pub prefix: Option<String>,
}

impl MappingArgs {
    /// True when any mapping option was given.
    pub fn is_set(&self) -> bool {
        self.preset.is_some() || self.mapping.is_some() || self.prefix.is_some()
    }

    /// The configuration: the file, then `--preset` and `--prefix` over it.
    pub fn config(&self) -> anyhow::Result<MappingConfig> {
        let mut c = match &self.mapping {
            Some(p) => MappingConfig::load(p).context("reading the mapping file")?,
            None => MappingConfig::default(),
        };
        if let Some(p) = self.preset {
            c.preset = Some(p);
        }
        if let Some(p) = &self.prefix {
            c.prefix = Some(p.clone());
        }
        c.validate().context("--prefix")?;
        Ok(c)
    }

    /// The mapper of the Maildir target: `None` without mapping options, so
    /// the default layout stays exactly as it is.
    pub fn maildir_mapper(&self, config: &MappingConfig) -> Option<Arc<Mapper>> {
        self.is_set()
            .then(|| Arc::new(Mapper::new(config, &TargetFolders::maildir())))
    }
}

/// `--folder`/`--exclude-folder` plus the mapping file's include/exclude.
pub(super) fn selection(select: &SelectArgs, config: &MappingConfig) -> Selection {
    let mut s = select.selection();
    s.add_folders(&config.include, &config.exclude);
    s
}

fn positive_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a positive number of messages per second"
        )),
    }
}

/// `plan` arguments.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The Kerio install directory, its `store/` directory, or `store/mail`.
    pub store: PathBuf,
    /// Target: `maildir:DIR`, or `imaps://host[:port]` / `imap://host` (with --offline).
    #[arg(long, value_name = "TARGET")]
    pub to: String,
    /// Do not log in: the target's folders and limits come from the preset (guessed from
    /// the host name for Gmail and Microsoft 365). A Maildir target never needs a login.
    #[arg(long)]
    pub offline: bool,
    /// Messages per second for the ETA (for the whole run, like `migrate --max-rate`).
    #[arg(long, alias = "max-rate", value_name = "N", value_parser = positive_rate)]
    pub rate: Option<f64>,
    /// Daily upload budget per account for the ETA (`500MB`, `2GB`, `1GiB`; also taken
    /// from `--max-bytes-per-day`); with the gmail preset Gmail's 500 MB/day applies unless
    /// given.
    #[arg(long, value_name = "N", value_parser = plan::parse_bytes)]
    pub bytes_per_day: Option<u64>,
    /// Leave out items flagged deleted (0x8) in index.fld, as `migrate --skip-deleted` does.
    #[arg(long)]
    pub skip_deleted: bool,
    /// Maildir: as `migrate --maildir-dot-char`.
    #[arg(long, value_name = "CHAR")]
    pub maildir_dot_char: Option<char>,
    /// Print the plan as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Folder mapping.
    #[command(flatten)]
    pub mapping: MappingArgs,
    /// How to log in to an IMAP target (without --offline).
    #[command(flatten)]
    pub imap: super::ImapArgs,
    /// Selection.
    #[command(flatten)]
    pub select: SelectArgs,
}

/// The host of `imap://[user@]host[:port][/…]`.
fn imap_host(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("imaps://")
        .or_else(|| url.strip_prefix("imap://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    (!host.is_empty()).then_some(host)
}

fn preset_limit(p: Preset) -> Option<Limit> {
    let source = match p {
        Preset::Gmail => "Gmail's APPENDLIMIT",
        Preset::Office365 => "Microsoft 365's 35 MB item limit; a tenant can raise it",
        Preset::Dovecot => "the dovecot preset",
    };
    p.append_limit().map(|bytes| Limit {
        bytes,
        source: source.into(),
    })
}

pub(super) fn run(_cli: &Cli, a: &PlanArgs) -> anyhow::Result<i32> {
    let store = crate::source::open(&a.store)?;
    let mut config = a.mapping.config()?;
    let mut warnings = Vec::new();
    let mut opts = PlanOptions {
        selection: selection(&a.select, &config),
        skip_deleted: a.skip_deleted,
        rate: a.rate,
        ..PlanOptions::default()
    };
    let (accounts, mode) = if let Some(dir) = a.to.strip_prefix("maildir:") {
        if dir.is_empty() {
            bail!("--to maildir:DIR needs a directory");
        }
        if a.offline {
            warnings.push(
                "--offline: a Maildir target needs no login; planned from the target's own rules"
                    .into(),
            );
        }
        let mapper = a.mapping.maildir_mapper(&config);
        if let Some(m) = &mapper {
            warnings.extend(m.warnings().iter().cloned());
            opts.case_insensitive = m.case_insensitive();
        }
        let target = MaildirDest::for_plan(
            std::path::Path::new(dir),
            MaildirOptions {
                dot_char: a.maildir_dot_char,
                fsync_each: false,
                mapper,
            },
        )?;
        opts.bytes_per_day = budget(a.bytes_per_day.or(a.imap.max_bytes_per_day), None);
        let mut open = |acc: &Account| Ok(target.plan_session(acc));
        let accounts = plan::plan(store.as_ref(), Naming::Online(&mut open), &opts)?;
        (accounts, "nothing is written".to_string())
    } else if let Some(host) = imap_host(&a.to) {
        if config.preset.is_none() {
            if let Some(p) = Preset::guess_from_host(host) {
                config.preset = Some(p);
                warnings.push(format!(
                    "preset {p} guessed from the host name (--preset to choose another)"
                ));
            }
        }
        if !a.offline {
            // Log in and ask the server: its folders, SPECIAL-USE names and
            // APPENDLIMIT decide the plan. Nothing is created.
            let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let target =
                super::migrate::imap_target(&a.to, &a.imap, &a.select, config.clone(), &cancel)?;
            opts.case_insensitive = config.preset.is_some_and(|p| p != Preset::Dovecot);
            opts.append_limit = config.preset.and_then(preset_limit);
            opts.bytes_per_day =
                budget(a.bytes_per_day.or(a.imap.max_bytes_per_day), config.preset);
            let mut open = |acc: &Account| target.open(acc);
            let accounts = plan::plan(store.as_ref(), Naming::Online(&mut open), &opts)?;
            (accounts, "logged in; nothing is created".to_string())
        } else {
            let target = TargetFolders::offline(config.preset);
            let mapper = Mapper::new(&config, &target);
            warnings.extend(mapper.warnings().iter().cloned());
            if config.preset.is_none() {
                warnings.push(
                "no preset: special folders keep their Kerio names offline (online, LIST decides); \
                 --preset gmail|office365|dovecot"
                    .into(),
            );
            }
            opts.case_insensitive = mapper.case_insensitive();
            opts.append_limit = config.preset.and_then(preset_limit);
            opts.bytes_per_day =
                budget(a.bytes_per_day.or(a.imap.max_bytes_per_day), config.preset);
            let accounts = plan::plan(store.as_ref(), Naming::Offline(&mapper), &opts)?;
            (accounts, "offline".to_string())
        }
    } else {
        bail!(
            "unsupported target {:?}: use maildir:DIR or imaps://host (imap://host)",
            a.to
        );
    };
    let totals = plan::totals(&accounts, opts.rate, opts.bytes_per_day.as_ref());
    let errors = accounts.iter().any(|a| a.error.is_some());
    let plan = Plan {
        store: store.root().display().to_string(),
        target: a.to.clone(),
        mode,
        preset: config.preset.map(|p| p.name().to_string()),
        append_limit: opts.append_limit.clone(),
        rate: opts.rate,
        bytes_per_day: opts.bytes_per_day.clone(),
        accounts,
        totals,
        warnings,
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan).context("serialising the plan")?
        );
    } else {
        print!("{}", plan.to_text());
    }
    Ok(if errors {
        crate::report::exit::ITEMS_FAILED
    } else {
        crate::report::exit::OK
    })
}

fn budget(given: Option<u64>, preset: Option<Preset>) -> Option<Budget> {
    match given {
        Some(bytes) => Some(Budget {
            bytes,
            label: plan::decimal_bytes(bytes),
            source: "--bytes-per-day".into(),
        }),
        None => preset.and_then(|p| {
            p.bytes_per_day().map(|bytes| Budget {
                bytes,
                label: plan::decimal_bytes(bytes),
                source: format!("{}'s IMAP upload limit", p.display_name()),
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(imap_host("imaps://imap.gmail.com"), Some("imap.gmail.com"));
        assert_eq!(
            imap_host("imap://user@outlook.office365.com:143/x"),
            Some("outlook.office365.com")
        );
        assert_eq!(imap_host("imaps://[::1]:993"), Some("::1"));
        assert_eq!(imap_host("imaps://"), None);
        assert_eq!(imap_host("maildir:/x"), None);
    }
}
