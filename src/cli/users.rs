//! `kerio-migrate users KERIO_DIR|users.cfg --format FORMAT [--dump]`.

use super::Cli;
use crate::export::users::{find_users_cfg, CfgTree, Directory, Format, MapOptions, RenderOptions};
use anyhow::Context;
use std::path::PathBuf;

/// Output formats on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UsersFormat {
    /// One row per user: addresses, groups, password kind.
    Csv,
    /// `source,target_user,secret`: the account mapping `migrate --accounts` reads.
    AccountsCsv,
    /// Google Workspace data migration: source_email,source_password,destination_email.
    GoogleCsv,
    /// Microsoft 365 IMAP migration batch: EmailAddress,UserName,Password.
    M365Csv,
    /// Extra addresses, aliases and alias domains: alias,target,kind,description.
    AliasesCsv,
    /// Groups with their addresses and members.
    GroupsCsv,
    /// Everything, as JSON.
    Json,
}

/// `users` arguments.
#[derive(Debug, clap::Args)]
pub struct UsersArgs {
    /// The Kerio install directory (holding users.cfg), a store, or the users.cfg file.
    pub path: PathBuf,
    /// mailserver.cfg (domains); default: beside users.cfg when present.
    #[arg(long, value_name = "FILE")]
    pub mailserver_cfg: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: UsersFormat,
    /// Print every list / table and variable name found, with counts (no values).
    #[arg(long)]
    pub dump: bool,
    /// Include password values (stored form, or clear text when recoverable).
    #[arg(long)]
    pub show_passwords: bool,
    /// Decrypt reversible D3S passwords (needs --show-passwords).
    #[arg(long, requires = "show_passwords")]
    pub decrypt_passwords: bool,
    /// Also list built-in accounts (the installer's `Admin`) in accounts-csv, google-csv
    /// and m365-csv; by default they are left out (and said so on stderr).
    #[arg(long)]
    pub include_builtin: bool,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The store's user mailboxes that users.cfg does not list, when `path` is
/// a store (or an install directory holding one).
fn orphans(path: &std::path::Path, dir: &Directory) -> Vec<String> {
    let Ok(source) = crate::source::open(path) else {
        return Vec::new();
    };
    let Ok(list) = source.accounts() else {
        return Vec::new();
    };
    list.accounts
        .iter()
        .filter(|a| !a.public)
        .map(|a| a.id())
        .filter(|id| !dir.users.iter().any(|u| u.email.eq_ignore_ascii_case(id)))
        .collect()
}

pub(super) fn run(_cli: &Cli, a: &UsersArgs) -> anyhow::Result<i32> {
    let users_path = find_users_cfg(&a.path)?;
    let users = match CfgTree::load(&users_path) {
        Ok(t) => t,
        Err(e) if e.is_damaged() => {
            // A damaged directory is not an empty one: say so, and exit
            // as for items that failed.
            say!("kerio-migrate: error: {e}");
            return Ok(crate::report::exit::ITEMS_FAILED);
        }
        Err(e) => return Err(e.into()),
    };
    let ms_path = a.mailserver_cfg.clone().or_else(|| {
        users_path
            .parent()
            .map(|d| d.join("mailserver.cfg"))
            .filter(|p| p.is_file())
    });
    let ms = match &ms_path {
        Some(p) => Some(CfgTree::load(p)?),
        None => None,
    };
    let mut problems = 0;
    let text = if a.dump {
        let mut s = users.dump();
        if let Some(m) = &ms {
            s.push_str(&m.dump());
        }
        s
    } else {
        let mut dir = Directory::map(
            &users,
            ms.as_ref(),
            MapOptions {
                show_passwords: a.show_passwords,
                decrypt_passwords: a.decrypt_passwords,
            },
        );
        dir.orphans = orphans(&a.path, &dir);
        let format = match a.format {
            UsersFormat::Csv => Format::Csv,
            UsersFormat::AccountsCsv => Format::AccountsCsv,
            UsersFormat::GoogleCsv => Format::GoogleCsv,
            UsersFormat::M365Csv => Format::M365Csv,
            UsersFormat::AliasesCsv => Format::AliasesCsv,
            UsersFormat::GroupsCsv => Format::GroupsCsv,
            UsersFormat::Json => Format::Json,
        };
        let opts = RenderOptions {
            include_builtin: a.include_builtin,
        };
        let left_out = dir.left_out(format, opts);
        if !left_out.is_empty() {
            say!(
                "kerio-migrate: left out {} built-in account(s): {} (--include-builtin lists them)",
                left_out.len(),
                left_out.join(", ")
            );
        }
        if !dir.orphans.is_empty() {
            say!(
                "kerio-migrate: {} mailbox(es) in the store have no users.cfg entry: {}{}",
                dir.orphans.len(),
                dir.orphans.join(", "),
                if format == Format::AccountsCsv {
                    " (listed commented out)"
                } else {
                    ""
                }
            );
        }
        for u in dir.users.iter() {
            if let Some(p) = &u.password_problem {
                problems += 1;
                say!("kerio-migrate: {}: password {p}", u.email);
            }
        }
        dir.render_with(format, opts)
    };
    match &a.output {
        Some(p) => super::output::write_file(p, text.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?,
        None => {
            // Data on a terminal is read by a person: control characters
            // are escaped there; a pipe or a file gets the exact text.
            use std::io::IsTerminal;
            if std::io::stdout().is_terminal() {
                super::print_report(&text)?;
            } else {
                use std::io::Write as _;
                let mut o = std::io::stdout().lock();
                o.write_all(text.as_bytes())
                    .and_then(|()| o.flush())
                    .context("writing to stdout")?;
            }
        }
    }
    if problems > 0 {
        return Ok(crate::report::exit::ITEMS_FAILED);
    }
    Ok(crate::report::exit::OK)
}
