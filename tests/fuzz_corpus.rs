//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the same checks the
//! fuzz targets run (`fuzz/checks/<target>.rs`), on stable and without cargo-fuzz: every
//! input the fuzzer kept, and every crash it found, stays a test.
//!
//! The figures go to `target/reliability/fuzz.json`: files replayed per target, with the
//! seconds and executions of the recorded fuzzing run (`fuzz/runs.json`, written by
//! `fuzz/run.sh` from libFuzzer's output).
#![cfg(not(target_arch = "wasm32"))]

#[allow(dead_code)]
#[path = "../fuzz/checks/validate_input.rs"]
mod validate_input;

#[path = "../fuzz/checks/json_text.rs"]
mod json_text;

#[allow(dead_code)]
#[path = "../fuzz/checks/decode_stored_record.rs"]
mod decode_stored_record;

#[allow(dead_code)]
#[path = "../fuzz/checks/replay.rs"]
mod replay;

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn corpus(target: &str) -> Vec<std::path::PathBuf> {
    replay::corpus(Path::new(ROOT), target)
}

/// Replays `validate_input`'s corpus; the number of files replayed.
fn replay_validate_input() -> usize {
    let files = corpus("validate_input");
    assert!(!files.is_empty(), "fuzz/corpus/validate_input is empty");
    let mut tally = validate_input::Tally::default();
    for file in &files {
        let data = std::fs::read(file).expect("a corpus file");
        // serde_json is not a dependency here: the check's own JSON text is the oracle,
        // itself compared with serde_json's on every fuzzed input.
        tally.add(validate_input::check(&data, &|_, _| {}));
    }
    // The corpus reaches every way an append can end.
    assert!(tally.written > 0, "no append of the corpus wrote: {tally:?}");
    assert!(tally.retried > 0, "no retry: {tally:?}");
    assert!(tally.invalid > 0, "no invalid input: {tally:?}");
    assert!(tally.duplicate > 0, "no duplicate id: {tally:?}");
    assert!(tally.wrong_version > 0, "no wrong expected version: {tally:?}");
    files.len()
}

/// Replays `decode_stored_record`'s corpus; the number of files replayed.
fn replay_decode_stored_record() -> usize {
    let files = corpus("decode_stored_record");
    assert!(!files.is_empty(), "fuzz/corpus/decode_stored_record is empty");
    let mut tally = decode_stored_record::Tally::default();
    for file in &files {
        let data = std::fs::read(file).expect("a corpus file");
        tally.add(decode_stored_record::check(&data));
    }
    // The corpus decodes records, and refuses one for each field out of shape.
    assert!(tally.decoded > 0, "no record of the corpus decoded: {tally:?}");
    for (field, refused) in decode_stored_record::FIELDS.iter().zip(tally.refused) {
        assert!(refused > 0, "no record refused for its {field}: {tally:?}");
    }
    files.len()
}

/// Every target's corpus replays without a failed check; the figures go to
/// `target/reliability/fuzz.json`.
#[test]
fn fuzz_corpus_replays_clean() {
    let runs = std::fs::read_to_string(Path::new(ROOT).join("fuzz/runs.json"))
        .expect("fuzz/runs.json");
    let targets = [
        replay::figures(&runs, "validate_input", replay_validate_input()),
        replay::figures(&runs, "decode_stored_record", replay_decode_stored_record()),
    ];
    replay::write_figures(Path::new(ROOT), "fuzz.json", &targets);
}

/// The replay's JSON oracle writes numbers as JavaScript does.
#[test]
fn js_number_writes_numbers_as_javascript_does() {
    for (n, js) in [
        (0.0, "0"),
        (-0.0, "0"),
        (7.0, "7"),
        (-120.0, "-120"),
        (0.1, "0.1"),
        (-1.5, "-1.5"),
        (123_456_789.125, "123456789.125"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (5e-324, "5e-324"),
        (9_007_199_254_740_993.0, "9007199254740992"),
        (-9_223_372_036_854_775_808.0, "-9223372036854776000"),
        (1e20, "100000000000000000000"),
        (1.234_567_890_123_456_8e20, "123456789012345680000"),
        (1e21, "1e+21"),
        (-1.5e300, "-1.5e+300"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::NAN, "null"),
        (f64::NEG_INFINITY, "null"),
    ] {
        assert_eq!(json_text::js_number(n), js, "{n:e}");
    }
}

/// The replay's JSON oracle escapes strings as `JSON.stringify` does.
#[test]
fn json_text_escapes_as_json_stringify_does() {
    use annals::core::Value;
    let v = Value::object([(
        "k\u{1}",
        Value::from(vec![
            Value::from("a\"b\\c\n\r\t\u{8}\u{c}\u{1f}\u{7f}é😀"),
            Value::Null,
            Value::Bool(false),
        ]),
    )]);
    assert_eq!(
        json_text::json_text(&v),
        "{\"k\\u0001\":[\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u001f\u{7f}é😀\",null,false]}"
    );
}
