//! Fuzz target: any bytes as the body of a push through the server's decoder
//! (`annals_server::wire::decode_push`), under limits the first bytes pick; see
//! `checks/decode_push.rs` for what must hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)] // `Tally` is for the replay
#[path = "../checks/decode_push.rs"]
mod check;

fuzz_target!(|data: &[u8]| {
    check::check(data);
});
