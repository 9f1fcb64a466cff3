//! `kerio-migrate generate man DIR` / `generate completions SHELL [--dir DIR]`
//! (hidden): man pages and shell completions made from the clap
//! definitions, so they never drift from `--help`. `make deb` ships them.

use super::Cli;
use anyhow::Context;
use clap::{Args, CommandFactory, Subcommand};
use clap_complete::Shell;
use std::path::{Path, PathBuf};

/// `generate` arguments.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(subcommand)]
    pub what: What,
}

/// What to generate.
#[derive(Debug, Subcommand)]
pub enum What {
    /// Man pages: kerio-migrate.1 and kerio-migrate-COMMAND.1 for each command, into DIR.
    Man {
        /// Directory to write them to (created).
        dir: PathBuf,
    },
    /// A completion script for SHELL, on stdout or into --dir.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: Shell,
        /// Write the script into this directory (its usual file name) instead of stdout.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Runs `generate`.
pub(super) fn run(a: &GenerateArgs) -> anyhow::Result<i32> {
    match &a.what {
        What::Man { dir } => man(dir)?,
        What::Completions { shell, dir } => {
            let mut cmd = public_command();
            match dir {
                Some(dir) => {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                    let path = clap_complete::generate_to(*shell, &mut cmd, "kerio-migrate", dir)
                        .with_context(|| format!("writing into {}", dir.display()))?;
                    out!("{}", path.display())?;
                }
                None => {
                    let mut script = Vec::new();
                    clap_complete::generate(*shell, &mut cmd, "kerio-migrate", &mut script);
                    out!(
                        "{}",
                        String::from_utf8_lossy(&script).trim_end_matches('\n')
                    )?;
                }
            }
        }
    }
    Ok(crate::report::exit::OK)
}

/// The command line without its hidden commands (clap's completion
/// scripts would offer them): what a person is shown.
fn public_command() -> clap::Command {
    let full = Cli::command();
    let mut cmd = clap::Command::new("kerio-migrate")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true);
    if let Some(about) = full.get_about() {
        cmd = cmd.about(about.clone());
    }
    for a in full.get_arguments() {
        cmd = cmd.arg(a.clone());
    }
    for s in full.get_subcommands().filter(|s| !s.is_hide_set()) {
        cmd = cmd.subcommand(s.clone());
    }
    cmd
}

/// Writes a man page for the program and one for each (visible) command.
fn man(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let cmd = public_command();
    clap_mangen::generate_to(cmd, dir)
        .with_context(|| format!("writing into {}", dir.display()))?;
    Ok(())
}
