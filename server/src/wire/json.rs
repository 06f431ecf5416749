//! JSON text ↔ the core's [`Value`], keeping object keys in the order given.
//!
//! Reading builds [`Value`]s directly (no intermediate map that could reorder keys); writing
//! prints integers as integers, so `JSON.parse` on the client reads back the numbers it sent.

use std::collections::HashSet;
use std::fmt;

use annals::core::{Value, MAX_DEPTH};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A [`Value`] read from JSON. Object keys keep their order; a key given twice in one object
/// is refused (JavaScript would keep only the last, so client and server would disagree on
/// the event). Nesting is cut off one level past [`MAX_DEPTH`], which the core refuses with
/// its own message: this guard only bounds the recursion.
#[derive(Clone, Debug, PartialEq)]
pub struct Json(pub Value);

impl<'de> de::Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ValueSeed { depth: 0 }.deserialize(deserializer).map(Json)
    }
}

/// Parses JSON text into a [`Value`].
pub fn parse_value(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let value = ValueSeed { depth: 0 }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// `value` as compact JSON text.
pub fn to_json_text(value: &Value) -> String {
    let mut out = Vec::with_capacity(value.json_len());
    write_json(&mut out, value);
    // serde_json writes UTF-8 only.
    String::from_utf8(out).expect("JSON text is UTF-8")
}

/// Appends `value` as compact JSON text to `out`.
pub fn write_json(out: &mut Vec<u8>, value: &Value) {
    // Writing a Value cannot fail: its keys are strings and writing to a Vec never errs.
    serde_json::to_writer(out, &Written(value)).expect("a Value always serializes");
}

/// Appends `n` to `out` as [`write_json`] writes numbers.
pub fn write_number(out: &mut Vec<u8>, n: f64) {
    serde_json::to_writer(out, &Written(&Value::Number(n))).expect("a number always serializes");
}

struct Written<'a>(&'a Value);

impl Serialize for Written<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            // An integral number within i64 prints as an integer (`-0` as `0`, as JavaScript
            // does); any other as the shortest text that reads back as the same f64.
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.2e18 => s.serialize_i64(*n as i64),
            Value::Number(n) => s.serialize_f64(*n),
            Value::String(text) => s.serialize_str(text),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Written(item))?;
                }
                seq.end()
            }
            Value::Object(pairs) => {
                let mut map = s.serialize_map(Some(pairs.len()))?;
                for (key, item) in pairs {
                    map.serialize_entry(key, &Written(item))?;
                }
                map.end()
            }
        }
    }
}

struct ValueSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ValueSeed {
    fn inner<E: de::Error>(&self) -> Result<ValueSeed, E> {
        if self.depth > MAX_DEPTH + 1 {
            return Err(E::custom(format_args!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(ValueSeed { depth: self.depth + 1 })
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Value::Number(n))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.inner()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed { depth: inner.depth })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.inner()?;
        let mut pairs: Vec<(String, Value)> = Vec::new();
        // Small objects are searched; large ones keep a set, so the check stays linear.
        let mut seen: Option<HashSet<String>> = None;
        while let Some(key) = map.next_key::<String>()? {
            let repeated = match &mut seen {
                Some(set) => !set.insert(key.clone()),
                None => pairs.iter().any(|(k, _)| *k == key),
            };
            if repeated {
                return Err(de::Error::custom(format_args!("key {key:?} appears twice")));
            }
            if seen.is_none() && pairs.len() >= 16 {
                seen = Some(pairs.iter().map(|(k, _)| k.clone()).chain([key.clone()]).collect());
            }
            let value = map.next_value_seed(ValueSeed { depth: inner.depth })?;
            pairs.push((key, value));
        }
        Ok(Value::Object(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_with_key_order_and_exact_numbers() {
        let text = r#"{"z":1,"a":[-0.5,1e+300,9007199254740991,-3,0.1,"é\n"],"m":{"b":null,"a":true}}"#;
        let value = parse_value(text).unwrap();
        let keys: Vec<&str> = match &value {
            Value::Object(pairs) => pairs.iter().map(|(k, _)| k.as_str()).collect(),
            _ => panic!("an object"),
        };
        assert_eq!(keys, ["z", "a", "m"]);
        assert_eq!(to_json_text(&value), text);
        assert_eq!(parse_value(&to_json_text(&value)).unwrap(), value);
        for n in [0.1, 1.0 / 3.0, 5e-324, 1.7976931348623157e308, -2.5e-8, 123456789.125] {
            let v = Value::Number(n);
            assert_eq!(parse_value(&to_json_text(&v)).unwrap(), v, "{n}");
        }
        assert_eq!(to_json_text(&Value::Number(-0.0)), "0");
        assert_eq!(to_json_text(&Value::Number(1e20)), "1e+20");
        assert_eq!(to_json_text(&Value::Number(3.0)), "3");
    }

    #[test]
    fn a_key_twice_in_one_object_is_refused() {
        let err = parse_value(r#"{"a":1,"b":{"c":1,"c":2}}"#).unwrap_err();
        assert!(err.to_string().contains("key \"c\" appears twice"), "{err}");
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let text = format!("{{{},\"k7\":0}}", many.join(","));
        assert!(parse_value(&text).unwrap_err().to_string().contains("\"k7\" appears twice"));
    }

    #[test]
    fn nesting_is_cut_off_past_the_core_limit() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH + 2), "]".repeat(MAX_DEPTH + 2));
        let value = parse_value(&ok).unwrap();
        assert!(value.check_json().is_err(), "one level past the limit reaches the core's check");
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_value(&deep).unwrap_err().to_string().contains("nested deeper"));
    }
}
