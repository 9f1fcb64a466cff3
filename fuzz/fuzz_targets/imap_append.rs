//! What a hostile IMAP server sends on the append path: every command ends
//! exactly once (answered, or lost with a known or unknown fate) and the
//! loop ends, whatever the bytes (absurd literals, unbalanced parentheses,
//! endless continuation requests, tags nobody sent).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerio_migrate::fuzzing::imap_append(data));
