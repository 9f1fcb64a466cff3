//! Kerio's `index.fld` (one line per item: id, flags, dates, class).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerio_migrate::fuzzing::index_fld(data));
