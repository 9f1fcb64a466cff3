//! `kerio-migrate report merge R1.json R2.json … [--out merged.json]`: one
//! report from the reports of a run's shards ([`crate::report::merge`]).

use super::Cli;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// A report larger than this is not read.
const MAX_REPORT: u64 = 1 << 30;

/// `report` arguments.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: ReportCommand,
}

/// `report` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Combine the JSON reports of `migrate --shard K/N` runs into one: totals summed,
    /// every account once, the exit code that follows from all of them. Refuses reports
    /// of different stores or targets, overlapping shards and missing shards.
    Merge(MergeArgs),
}

/// `report merge` arguments.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' reports (`migrate --report FILE.json`).
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    /// Write the merged report here (default: on stdout).
    #[arg(long, value_name = "FILE.json")]
    pub out: Option<PathBuf>,
}

/// Runs `report …`; the exit code is the merged report's.
pub(super) fn run(_cli: &Cli, a: &ReportArgs) -> anyhow::Result<i32> {
    let ReportCommand::Merge(m) = &a.command;
    let mut reports = Vec::new();
    for path in &m.reports {
        let size = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        if size > MAX_REPORT {
            anyhow::bail!("{}: {size} bytes is too large for a report", path.display());
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        reports.push((path.display().to_string(), value));
    }
    let merged = crate::report::merge::merge(&reports)?;
    let json = serde_json::to_string_pretty(&merged).context("serialising the report")?;
    match &m.out {
        Some(out) => {
            super::output::write_file(out, format!("{json}\n").as_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            let t = &merged["totals"];
            say!(
                "kerio-migrate: merged {} report(s), {} account(s): {} expected, {} migrated, {} already present, {} skipped, {} failed; exit code {} → {}",
                reports.len(),
                merged["accounts"].as_array().map_or(0, Vec::len),
                t["expected"].as_u64().unwrap_or(0),
                t["migrated"].as_u64().unwrap_or(0),
                t["already_present"].as_u64().unwrap_or(0),
                t["skipped"].as_u64().unwrap_or(0),
                t["failed"].as_u64().unwrap_or(0),
                merged["exit_code"],
                out.display()
            );
        }
        None => out!("{json}")?,
    }
    Ok(merged["exit_code"]
        .as_i64()
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(crate::report::exit::FATAL))
}
