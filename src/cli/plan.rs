//! `kerio-migrate plan STORE --to TARGET`.

use super::args::{selection, DestinationArgs, SelectArgs};
use super::Cli;
use crate::dest::{DestUrl, Purpose};
use crate::mapping::{Mapper, Preset, TargetFolders};
use crate::model::Account;
use crate::plan::{self, Budget, Limit, Naming, Plan, PlanOptions};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

/// `plan` arguments.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The Kerio install directory, its `store/` directory, `store/mail`, or a backup `.zip`
    /// or backup directory (read in place).
    pub store: PathBuf,
    /// Read options from this run file (TOML: keys are the long option names, `store` the
    /// store; see docs/run-example.toml). Options on the command line win.
    #[arg(long, value_name = "run.toml")]
    pub config: Option<PathBuf>,
    /// Do not log in: the target's folders and limits come from the preset (guessed from
    /// the host name for Gmail and Microsoft 365). A Maildir target never needs a login.
    #[arg(long)]
    pub offline: bool,
    /// Messages per second for the ETA (for the whole run, like `migrate --max-rate`).
    #[arg(long, alias = "max-rate", value_name = "N", value_parser = super::args::positive_rate)]
    pub rate: Option<f64>,
    /// Daily upload budget per account for the ETA (`500MB`, `2GB`, `1GiB`; also taken
    /// from `--max-bytes-per-day`); with the gmail preset Gmail's 500 MB/day applies unless
    /// given.
    #[arg(long, value_name = "N", value_parser = super::args::positive_size)]
    pub bytes_per_day: Option<u64>,
    /// Leave out items flagged deleted (0x8) in index.fld, as `migrate --skip-deleted` does.
    #[arg(long)]
    pub skip_deleted: bool,
    /// Print the plan as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// The destination.
    #[command(flatten)]
    pub dest: DestinationArgs,
    /// Selection.
    #[command(flatten)]
    pub select: SelectArgs,
    /// The archive and the recoverable items.
    #[command(flatten)]
    pub source: super::args::SourceArgs,
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

pub(super) fn run(cli: &Cli, a: &PlanArgs) -> anyhow::Result<i32> {
    let never = std::sync::atomic::AtomicBool::new(false);
    let Some(at) = super::unpack::store_dir(cli, &a.store, None, &never)? else {
        return Ok(crate::report::exit::INTERRUPTED);
    };
    let opened = a.source.open_at(&at, &a.select)?;
    let store = &opened.source;
    let mut config = a.dest.mapping.config()?;
    let mut warnings = Vec::new();
    let mut opts = PlanOptions {
        selection: selection(&opened.selection, &config),
        skip_deleted: a.skip_deleted,
        rate: a.rate,
        ..PlanOptions::default()
    };
    let url = DestUrl::parse(&a.dest.to)?;
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (accounts, mode) = match url.host() {
        None => {
            if a.offline {
                warnings.push(
                    "--offline: a Maildir target needs no login; planned from the target's own rules"
                        .into(),
                );
            }
            if a.dest.mapping.is_set() {
                let m = Mapper::new(&config, &TargetFolders::maildir());
                warnings.extend(m.warnings().iter().cloned());
                opts.case_insensitive = m.case_insensitive();
            }
            let dest =
                super::dest::open(&a.dest, &config, &a.select, false, Purpose::Plan, &cancel)?;
            opts.bytes_per_day = budget(a.bytes_per_day.or(a.dest.imap.max_bytes_per_day), None);
            let mut open = |acc: &Account| dest.planner(acc);
            let accounts = plan::plan(store.as_ref(), Naming::Online(&mut open), &opts)?;
            (accounts, "nothing is written".to_string())
        }
        Some(host) => {
            if config.preset.is_none() {
                if let Some(p) = Preset::guess_from_host(host) {
                    config.preset = Some(p);
                    warnings.push(format!(
                        "preset {p} guessed from the host name (--preset to choose another)"
                    ));
                }
            }
            opts.append_limit = config.preset.and_then(preset_limit);
            opts.bytes_per_day = budget(
                a.bytes_per_day.or(a.dest.imap.max_bytes_per_day),
                config.preset,
            );
            if !a.offline {
                // Log in and ask the server: its folders, SPECIAL-USE names and
                // APPENDLIMIT decide the plan. Nothing is created.
                let dest =
                    super::dest::open(&a.dest, &config, &a.select, false, Purpose::Plan, &cancel)?;
                opts.case_insensitive = config.preset.is_some_and(|p| p != Preset::Dovecot);
                let mut open = |acc: &Account| dest.planner(acc);
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
                let accounts = plan::plan(store.as_ref(), Naming::Offline(&mapper), &opts)?;
                (accounts, "offline".to_string())
            }
        }
    };
    let totals = plan::totals(&accounts, opts.rate, opts.bytes_per_day.as_ref());
    let errors = accounts.iter().any(|a| a.error.is_some());
    let plan = Plan {
        store: store.root().display().to_string(),
        target: a.dest.to.clone(),
        mode,
        preset: config.preset.map(|p| p.name().to_string()),
        append_limit: opts.append_limit.clone(),
        rate: opts.rate,
        bytes_per_day: opts.bytes_per_day.clone(),
        accounts,
        totals,
        warnings,
        shard: opened.shard.clone(),
        settings: cli.settings.clone(),
    };
    if a.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&plan).context("serialising the plan")?
        )?;
    } else {
        super::print_report(&plan.to_text())?;
        super::print_report(&super::config::text(
            &plan.settings,
            cli.run_file.as_deref(),
        ))?;
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
            label: crate::text::decimal_bytes(bytes),
            source: "--bytes-per-day".into(),
        }),
        None => preset.and_then(|p| {
            p.bytes_per_day().map(|bytes| Budget {
                bytes,
                label: crate::text::decimal_bytes(bytes),
                source: format!("{}'s IMAP upload limit", p.display_name()),
            })
        }),
    }
}
