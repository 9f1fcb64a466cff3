//! iCalendar input of the calendar export: parsed and merged into one
//! VCALENDAR as a folder's items are (time zones, exceptions, tasks).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerio_migrate::fuzzing::ical_input(data));
