//! Modified UTF-7 folder names (RFC 3501 5.1.3) from disk and from servers:
//! decoding never panics, and whatever decodes encodes back to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerio_migrate::fuzzing::mutf7_names(data));
