//! `kerio-migrate scan STORE [--json] [--unpack-dir DIR]`.

use super::{Cli, ScanArgs};
use anyhow::Context;
use std::sync::atomic::AtomicBool;

pub(super) fn run(cli: &Cli, a: &ScanArgs, cancel: &AtomicBool) -> anyhow::Result<i32> {
    let Some((dir, rejected)) =
        super::unpack::store_dir(cli, &a.store, a.unpack_dir.as_deref(), cancel)?
    else {
        return Ok(crate::report::exit::INTERRUPTED);
    };
    let store = crate::source::open(&dir)?;
    let progress = crate::progress::Progress::new("scan", None, super::progress_mode(cli));
    let inv = crate::scan::scan(store.as_ref(), &a.select.selection(), &progress)?;
    progress.finish();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&inv).context("serialising the inventory")?
        );
    } else {
        print!("{}", inv.to_text());
    }
    if rejected > 0 {
        return Ok(crate::report::exit::ITEMS_FAILED);
    }
    Ok(crate::report::exit::OK)
}
