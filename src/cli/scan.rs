//! `kerio-migrate scan STORE [--json]`.

use super::{Cli, ScanArgs};
use anyhow::Context;

pub(super) fn run(cli: &Cli, a: &ScanArgs) -> anyhow::Result<i32> {
    let store = crate::store::Store::open(&a.store)?;
    let progress = crate::progress::Progress::new("scan", None, super::progress_mode(cli));
    let inv = crate::scan::scan(&store, &a.select.selection(), &progress)?;
    progress.finish();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&inv).context("serialising the inventory")?
        );
    } else {
        print!("{}", inv.to_text());
    }
    Ok(crate::report::exit::OK)
}
