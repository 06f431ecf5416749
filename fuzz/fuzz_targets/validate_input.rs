//! Fuzz target: arbitrary appends through `AppendRequest::new` and `Store::append` on the
//! memory backend, checked against a reference (see `checks/validate_input.rs`). Here the
//! JSON text the check measures `Value::json_len` against is also compared with serde_json's.
#![no_main]

use annals::core::Value;
use libfuzzer_sys::fuzz_target;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

#[allow(dead_code)] // `Tally::add` is for the replay
#[path = "../checks/validate_input.rs"]
mod check;

#[allow(dead_code)]
#[path = "../checks/json_text.rs"]
mod json_text;

/// `Value` as serde sees it: integers as integers, object entries in order, duplicates kept.
struct Ser<'a>(&'a Value);

impl Serialize for Ser<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            // Only values whose numbers are all integers below 10^19 come here.
            Value::Number(n) if *n < 0.0 => s.serialize_i128(*n as i128),
            Value::Number(n) => s.serialize_u64(*n as u64),
            Value::String(text) => s.serialize_str(text),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Ser(item))?;
                }
                seq.end()
            }
            Value::Object(pairs) => {
                let mut map = s.serialize_map(Some(pairs.len()))?;
                for (k, v) in pairs {
                    map.serialize_entry(k, &Ser(v))?;
                }
                map.end()
            }
        }
    }
}

/// Every number in `v` is an integer JavaScript holds exactly (it writes larger ones with
/// their shortest digits and zeros after: same length as serde_json's, other digits).
fn only_safe_integers(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.abs() <= 9_007_199_254_740_991.0,
        Value::Array(items) => items.iter().all(only_safe_integers),
        Value::Object(pairs) => pairs.iter().all(|(_, v)| only_safe_integers(v)),
        _ => true,
    }
}

fn serde_json_agrees(value: &Value, text: &str) {
    let theirs = serde_json::to_string(&Ser(value)).expect("serde_json writes it");
    if only_safe_integers(value) {
        assert_eq!(text, theirs, "the check's JSON text differs from serde_json's");
    } else {
        assert_eq!(text.len(), theirs.len(), "{text} and serde_json's {theirs} differ in length");
    }
}

fuzz_target!(|data: &[u8]| {
    check::check(data, &serde_json_agrees);
});
