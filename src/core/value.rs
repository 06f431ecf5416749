//! JSON-compatible values: what event data, metadata and snapshot state are made of.

use ::core::fmt::Write;
use alloc::{string::String, vec::Vec};

/// How deeply arrays and objects may nest: a value may stand at most this many levels below
/// the root (the root is at level 0). Deeper input (or a cycle) is rejected, never followed:
/// walking it would exhaust the stack.
pub const MAX_DEPTH: usize = 128;

/// `Ok` when a value `depth` levels below the root may be stored, else why not. Every
/// conversion into a [`Value`] (JavaScript's included) asks this, so one limit holds everywhere.
pub fn check_depth(depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        Err(alloc::format!("nests deeper than {MAX_DEPTH} levels"))
    } else {
        Ok(())
    }
}

/// A JSON-compatible value. Numbers are finite `f64`s, as in JavaScript; object keys keep
/// the order they were given in.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A finite number.
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, as key-value pairs in insertion order.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// An object from key-value pairs.
    pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The value under `key` when `self` is an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The number, when `self` is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The string, when `self` is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The length in bytes of this value's JSON text (UTF-8, no white space), as JavaScript's
    /// `JSON.stringify` writes it: exact when every number in it is an integer below 10^19 in
    /// magnitude, otherwise an upper bound (never less than the real length).
    pub fn json_len(&self) -> usize {
        match self {
            Value::Null => 4,
            Value::Bool(true) => 4,
            Value::Bool(false) => 5,
            Value::Number(n) => number_json_len(*n),
            Value::String(s) => json_string_len(s),
            Value::Array(items) => {
                2 + items.iter().map(Value::json_len).sum::<usize>() + items.len().saturating_sub(1)
            }
            Value::Object(pairs) => {
                2 + pairs
                    .iter()
                    .map(|(k, v)| json_string_len(k) + 1 + v.json_len())
                    .sum::<usize>()
                    + pairs.len().saturating_sub(1)
            }
        }
    }

    /// `Err(path)` naming the first place that is not JSON-compatible: a number that is not
    /// finite, or nesting deeper than [`MAX_DEPTH`].
    pub fn check_json(&self) -> Result<(), String> {
        self.check_at(0, &mut String::new())
    }

    fn check_at(&self, depth: usize, path: &mut String) -> Result<(), String> {
        check_depth(depth).map_err(|reason| alloc::format!("{path}: {reason}"))?;
        match self {
            Value::Number(n) if !n.is_finite() => {
                let what = if n.is_nan() { "NaN" } else { "an infinity" };
                Err(alloc::format!("{path}: {what} is not a finite number"))
            }
            Value::Array(items) => items.iter().enumerate().try_for_each(|(i, v)| {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                v.check_at(depth + 1, path)?;
                path.truncate(len);
                Ok(())
            }),
            Value::Object(pairs) => pairs.iter().try_for_each(|(k, v)| {
                let len = path.len();
                let _ = write!(path, ".{k}");
                v.check_at(depth + 1, path)?;
                path.truncate(len);
                Ok(())
            }),
            _ => Ok(()),
        }
    }
}

/// The length of a number's JSON text: exact for integers below 10^19 in magnitude (which
/// JavaScript writes out in full), otherwise an upper bound: JavaScript's longest number text
/// is a sign, `0.`, five zeros and 17 digits (`-0.0000012345678901234567`, 25 bytes); the
/// exponent form is at most 24. Bounding instead of formatting keeps float formatting out of
/// the wasm module.
fn number_json_len(n: f64) -> usize {
    let magnitude = n.abs();
    // An integer below 10^19 survives the round trip through u64 (NaN does not; `fract`
    // would need std).
    if magnitude >= 1e19 || (magnitude as u64) as f64 != magnitude {
        return 25;
    }
    let mut digits = 1;
    let mut rest = magnitude as u64;
    while rest >= 10 {
        rest /= 10;
        digits += 1;
    }
    digits + usize::from(n < 0.0)
}

fn json_string_len(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(n as f64)
    }
}
impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Number(n as f64)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::Array(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn json_len_matches_the_json_text() {
        let v = Value::object([
            ("a", Value::from(1i64)),
            (
                "b",
                Value::from(vec![Value::Null, Value::Bool(false), Value::from("x\"y")]),
            ),
            ("é", Value::from(-120i64)),
        ]);
        assert_eq!(v.json_len(), r#"{"a":1,"b":[null,false,"x\"y"],"é":-120}"#.len());
    }

    #[test]
    fn json_len_bounds_numbers_that_are_not_small_integers() {
        for (n, text) in [
            (0.1, "0.1"),
            (-1.5e300, "-1.5e+300"),
            (1e21, "1e+21"),
            (-0.0, "0"),
            (-1.2345678901234567e-308, "-1.2345678901234567e-308"),
            // Found by fuzzing: 17 digits after "-0." and five zeros is JavaScript's longest
            // number (25 bytes), longer than any in exponent form.
            (-1.8325506472120096e-6, "-0.0000018325506472120096"),
        ] {
            let len = Value::from(n).json_len();
            assert!(len >= text.len() && len <= 25, "{text}: {len}");
        }
        assert_eq!(Value::from(9_007_199_254_740_991i64).json_len(), 16);
    }

    #[test]
    fn check_json_names_the_path_of_a_non_finite_number() {
        let v = Value::object([(
            "a",
            Value::from(vec![Value::from(1.0), Value::from(f64::NAN)]),
        )]);
        assert_eq!(
            v.check_json().unwrap_err(),
            ".a[1]: NaN is not a finite number"
        );
    }

    #[test]
    fn check_json_rejects_nesting_beyond_the_limit() {
        let mut v = Value::Null;
        for _ in 0..=MAX_DEPTH {
            v = Value::Array(vec![v]);
        }
        assert!(v.check_json().unwrap_err().contains("nests deeper than 128 levels"));
        // At the limit itself, an empty container and a scalar both stand.
        for leaf in [Value::Array(vec![]), Value::Object(vec![]), Value::Null] {
            let mut v = leaf;
            for _ in 0..MAX_DEPTH {
                v = Value::Array(vec![v]);
            }
            assert_eq!(v.check_json(), Ok(()));
        }
    }
}
