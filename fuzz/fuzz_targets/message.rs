//! Message preparation: CRLF normalisation, the header scan, the identity
//! headers. The prepared bytes end in CRLF and have no bare CR or LF.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerio_migrate::fuzzing::message_prepare(data));
