//! The integration tests: one binary (as ripgrep does), one module per
//! area, and one helper module (`support`). `cargo test --test it FILTER`
//! runs a part, e.g. `cargo test --test it imap_fake::`.

mod support;

mod adopt;
mod architecture;
mod backup;
mod bench_script;
mod corpus;
mod deploy;
mod exactly_once;
mod export_corpus;
mod export_dav;
mod export_fixtures;
mod fuzz_regressions;
mod golden;
mod hostile;
mod imap_dovecot;
mod imap_fake;
mod imap_open;
mod imap_stall;
mod interop;
mod interop_sync;
mod longlink;
mod maildir_dovecot;
mod metrics;
mod parallel_folders;
mod plan;
mod report_html;
mod run_file;
mod run_safety;
mod sample_store;
mod sessions_shared;
mod shards;
mod stores;
mod sync;
mod sync_altered;
mod sync_gone;
mod sync_moves;
mod sync_renames;
mod verify;
mod verify_nojournal;
mod window;
