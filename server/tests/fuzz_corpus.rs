//! Replays the committed corpus of the `decode_push` fuzz target (`fuzz/corpus/decode_push/`)
//! through the same check the target runs (`fuzz/checks/decode_push.rs`), on stable and
//! without cargo-fuzz: every input the fuzzer kept, and every crash it found, stays a test.
//! The figures go to `target/reliability/fuzz-server.json` (files replayed, with the seconds
//! and executions `fuzz/runs.json` records), which `scripts/reliability.mjs` reads with
//! `fuzz.json`.

#[allow(dead_code)]
#[path = "../../fuzz/checks/decode_push.rs"]
mod decode_push;

#[allow(dead_code)]
#[path = "../../fuzz/checks/replay.rs"]
mod replay;

use std::path::Path;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn decode_push_corpus_replays_clean() {
    let files = replay::corpus(repo(), "decode_push");
    assert!(!files.is_empty(), "fuzz/corpus/decode_push is empty");
    let mut tally = decode_push::Tally::default();
    for file in &files {
        let data = std::fs::read(file).expect("a corpus file");
        tally.add(decode_push::check(&data));
    }
    // The corpus reaches every way a push can end.
    assert!(tally.decoded > 0, "no push of the corpus decoded: {tally:?}");
    assert!(tally.invalid > 0, "no invalid push: {tally:?}");
    assert!(tally.too_large_body > 0, "no body over maxBodyBytes: {tally:?}");
    assert!(tally.too_large_counts > 0, "no push over maxAppends or maxEvents: {tally:?}");
    let runs = std::fs::read_to_string(repo().join("fuzz/runs.json")).expect("fuzz/runs.json");
    let figures = replay::figures(&runs, "decode_push", files.len());
    replay::write_figures(repo(), "fuzz-server.json", &[figures]);
}

/// The check itself fails where it should: it is not a check that cannot fail.
#[test]
fn the_check_catches_a_decoder_that_breaks_its_properties() {
    use annals_server::Limits;
    // A round trip of the encoder the check writes pushes back with.
    let body = br#"{"appends":[{"stream":"s","expectedVersion":2,"recordedAt":1.5,"events":[{"id":"00000000-0000-4000-8000-000000000001","type":"T","data":{"b":1,"a":[null,"\u2028"]}}]}]}"#;
    let requests = annals_server::wire::decode_push(body, &Limits::default()).unwrap();
    let again = decode_push::encode(&requests);
    assert_eq!(annals_server::wire::decode_push(&again, &Limits::default()).unwrap(), requests);
    // Small limits come from the first bytes; the defaults from a set top bit.
    assert_eq!(decode_push::limits_of([0x80, 0, 0]), Limits::default());
    let small = decode_push::limits_of([0, 0, 0]);
    assert_eq!((small.max_body_bytes, small.max_appends, small.max_events, small.max_event_bytes), (16, 1, 1, 8));
    let mut over = vec![0u8, 0, 0];
    over.extend_from_slice(&[b' '; 17]);
    assert_eq!(decode_push::check(&over), decode_push::Outcome::TooLargeBody);
}
