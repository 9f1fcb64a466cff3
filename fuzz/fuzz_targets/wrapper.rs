//! Kerio's `.eml` wrapper around a groupware item (transfer encodings,
//! charsets, multipart) decoded into vCard / iCalendar / note text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerio_migrate::fuzzing::groupware_wrapper(data));
