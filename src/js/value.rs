//! JSON-compatible values between JavaScript and [`Value`], both ways.

use alloc::{format, string::String, vec::Vec};

use js_sys::{Array, Object};
use wasm_bindgen::{JsCast, JsValue};

use super::{define_data, set, string_from_js, try_entries, try_get_prototype_of, try_is_array, THREW};
use crate::core::{check_depth, corrupt, Error, Payload, StorageError, Value};

thread_local! {
    static OBJECT_PROTOTYPE: Object = Object::get_prototype_of(&Object::new());
}

/// The JavaScript value of `value`: plain objects and arrays, keys in order.
pub fn value_to_js(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => JsValue::from_f64(*n),
        Value::String(s) => JsValue::from_str(s),
        Value::Array(items) => items.iter().map(value_to_js).collect::<Array>().into(),
        Value::Object(pairs) => {
            let object = Object::new();
            for (k, v) in pairs {
                // Assigning `__proto__` would set the prototype: that key is defined instead.
                if k == "__proto__" {
                    define_data(&object, k, &value_to_js(v));
                } else {
                    set(&object, k, &value_to_js(v));
                }
            }
            object.into()
        }
    }
}

/// Stored data and metadata as IndexedDB returns them: handed to callers as they are.
impl Payload for JsValue {
    fn to_value(&self, field: &str) -> Result<Value, StorageError> {
        value_from_js(self, field).map_err(|e| corrupt(field, &format!("{e}")))
    }
    fn is_object(&self) -> bool {
        self.is_object() && !Array::is_array(self)
    }
}

/// The JSON-compatible [`Value`] of `js`, or `InvalidArgument` on `field` whose reason names
/// the first place inside that is not: `undefined`, functions, symbols, bigints, non-finite
/// numbers, objects other than plain objects and arrays (a `Date`, a `Map`, a class
/// instance), cycles, and nesting deeper than the core allows ([`check_depth`]).
pub fn value_from_js(js: &JsValue, field: &str) -> Result<Value, Error> {
    let mut walk = Walk {
        failed_at: Vec::new(),
        ancestors: Vec::new(),
    };
    walk.value(js).map_err(|reason| {
        let at = if walk.failed_at.is_empty() {
            String::new()
        } else {
            let path: String = walk.failed_at.iter().rev().map(String::as_str).collect();
            format!(" at {path}")
        };
        Error::invalid(field, format!("{reason}{at}"))
    })
}

/// The state of one conversion: the objects it is inside of (as many as the value's depth),
/// and once it failed, the path to the failure, innermost step first (built only on failure).
struct Walk {
    failed_at: Vec<String>,
    ancestors: Vec<JsValue>,
}

impl Walk {
    fn value(&mut self, js: &JsValue) -> Result<Value, String> {
        check_depth(self.ancestors.len())?;
        if js.is_null() {
            return Ok(Value::Null);
        }
        if let Some(b) = js.as_bool() {
            return Ok(Value::Bool(b));
        }
        if let Some(n) = js.as_f64() {
            return if n.is_finite() {
                Ok(Value::Number(n))
            } else {
                Err("is not a finite number".into())
            };
        }
        if let Some(text) = string_from_js(js) {
            return text.map(Value::String).map_err(String::from);
        }
        if js.is_undefined() {
            return Err("is undefined, which is not JSON-compatible".into());
        }
        if !js.is_object() || js.is_function() {
            return Err("is not JSON-compatible (a function, symbol or bigint)".into());
        }
        if self.ancestors.iter().any(|a| a == js) {
            return Err("is cyclic: it contains itself".into());
        }
        let is_array = try_is_array(js).map_err(|_| THREW)?;
        if !is_array {
            let proto = try_get_prototype_of(js).map_err(|_| THREW)?;
            if !(proto.is_null() || OBJECT_PROTOTYPE.with(|p| proto == **p)) {
                return Err("is not a plain object or array (a Date, Map, class instance …)".into());
            }
        }
        self.ancestors.push(js.clone());
        let value = if is_array {
            self.array(js)
        } else {
            self.object(js)
        }?;
        self.ancestors.pop();
        Ok(value)
    }

    fn array(&mut self, array: &JsValue) -> Result<Value, String> {
        let values = super::try_items(array)?;
        let mut out = Vec::with_capacity(values.len());
        for (i, item) in values.iter().enumerate() {
            let item = self.value(item).inspect_err(|_| self.failed_at.push(format!("[{i}]")))?;
            out.push(item);
        }
        Ok(Value::Array(out))
    }

    fn object(&mut self, object: &JsValue) -> Result<Value, String> {
        let entries = try_entries(object).map_err(|_| THREW)?;
        let mut pairs = Vec::with_capacity(entries.length() as usize);
        for entry in entries.iter() {
            let entry: Array = entry.unchecked_into();
            let key = entry.get(0);
            let key = match string_from_js(&key) {
                Some(Ok(key)) => key,
                _ => return Err("has a key that holds a lone surrogate (not Unicode text)".into()),
            };
            let value = self.value(&entry.get(1)).inspect_err(|_| self.failed_at.push(format!(".{key}")))?;
            pairs.push((key, value));
        }
        Ok(Value::Object(pairs))
    }
}
