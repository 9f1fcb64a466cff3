//! Kerio's `status.fld` (folder type line, ACL lines, anything else).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerio_migrate::fuzzing::status_fld(data));
