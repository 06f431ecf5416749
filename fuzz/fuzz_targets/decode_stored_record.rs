//! Fuzz target: arbitrary raw fields of a stored event record through
//! `RecordedEvent::from_stored`, checked against a reference (see
//! `checks/decode_stored_record.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)] // `Tally::add` is for the replay
#[path = "../checks/decode_stored_record.rs"]
mod check;

fuzz_target!(|data: &[u8]| {
    check::check(data);
});
