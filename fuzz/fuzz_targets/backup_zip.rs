//! A Kerio backup ZIP: its file name, each entry's path components (no
//! `..`, no empty part: zip-slip refusal), the archive's entries and the
//! store layout detected in it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerio_migrate::fuzzing::backup_zip(data));
