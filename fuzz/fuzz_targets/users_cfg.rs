//! `users.cfg` / `mailserver.cfg` (Kerio's XML-ish config): parsed into the
//! generic tree, mapped to users, aliases and groups, and rendered.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerio_migrate::fuzzing::users_cfg(data));
