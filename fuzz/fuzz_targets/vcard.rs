//! vCard input of the contacts export: parsed, then written as 3.0 and 4.0.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerio_migrate::fuzzing::vcard_input(data));
