//! Conversions between core types and JavaScript values, shared by the IndexedDB backend and
//! the bindings. Conversion only: what is valid is decided in [`crate::core`].

use alloc::{format, string::String, vec::Vec};

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::{corrupt, Error, Payload, StorageError, Value, MAX_DEPTH};

// Object building in one call each: crossing into JavaScript once per event, not per field.
#[wasm_bindgen(inline_js = "
export function recordedEvent(id, stream, type, version, position, data, metadata, recordedAt, serverPosition) {
  return { id, stream, type, version, position, data, metadata, recordedAt: new Date(recordedAt),
    serverPosition: serverPosition < 0 ? null : serverPosition };
}
export function storedEvent(record, numbers) {
  const { id, stream, type, version, position, recordedAt, serverPosition } = record;
  numbers[0] = typeof version === 'number' ? version : NaN;
  numbers[1] = typeof position === 'number' ? position : NaN;
  numbers[2] = typeof recordedAt === 'number' ? recordedAt : NaN;
  numbers[3] = serverPosition == null ? -1 : typeof serverPosition === 'number' ? serverPosition : NaN;
  return typeof id === 'string' && typeof stream === 'string' && typeof type === 'string'
    ? id + '\0' + stream + '\0' + type : undefined;
}
export function jsonBytes(value) {
  const text = JSON.stringify(value) ?? '';
  let n = text.length;
  if (/[^\x00-\x7f]/.test(text)) for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) n += c > 0x7ff && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}
export function defineData(object, key, value) {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
}
")]
extern "C" {
    /// A recorded event as the contract shapes it; a negative `server_position` is `null`.
    #[wasm_bindgen(js_name = recordedEvent)]
    #[allow(clippy::too_many_arguments)]
    pub fn recorded_event(
        id: &str,
        stream: &str,
        event_type: &str,
        version: f64,
        position: f64,
        data: &JsValue,
        metadata: &JsValue,
        recorded_at: f64,
        server_position: f64,
    ) -> JsValue;
    /// The text fields of a stored event record (`id`, `stream`, `type`) joined by NUL when all
    /// three are strings, and its `version`, `position`, `recordedAt` and `serverPosition` in
    /// `numbers` (NaN where not a number; -1 for a null or absent `serverPosition`): a
    /// record's fields in one crossing.
    #[wasm_bindgen(js_name = storedEvent)]
    pub fn stored_event_fields(record: &JsValue, numbers: &mut [f64]) -> Option<String>;
    /// The length in UTF-8 bytes of `JSON.stringify(value)`.
    #[wasm_bindgen(js_name = jsonBytes)]
    pub fn json_bytes(value: &JsValue) -> f64;
    /// Defines `object[key]` as an own, enumerable, writable data property, so that even a
    /// `__proto__` key stays data and never sets the prototype.
    #[wasm_bindgen(js_name = defineData)]
    fn define_data(object: &Object, key: &str, value: &JsValue);
}

#[wasm_bindgen]
extern "C" {
    /// A JavaScript string, seen for `String.prototype.isWellFormed` (ES2024).
    type JsText;
    #[wasm_bindgen(method, js_name = isWellFormed)]
    fn is_well_formed(this: &JsText) -> bool;

    // The calls below run user code (Proxy traps, getters) or throw on a revoked Proxy. They
    // are imported with `catch`: an exception that unwinds through wasm frames skips their
    // destructors, leaks the shadow stack and, inside an async call, leaves its promise
    // unsettled and the futures queued behind it unrun.
    #[wasm_bindgen(catch, js_namespace = Array, js_name = isArray)]
    fn try_is_array(value: &JsValue) -> Result<bool, JsValue>;
    #[wasm_bindgen(catch, js_namespace = Object, js_name = getPrototypeOf)]
    fn try_get_prototype_of(value: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_namespace = Object, js_name = entries)]
    fn try_entries(value: &JsValue) -> Result<Array, JsValue>;
}

/// Why a value could not be read: its getter, a Proxy trap, or a revoked Proxy threw.
pub const THREW: &str = "could not be read: a getter or Proxy trap threw";

/// `Array.isArray(js)`; `Err` when asking throws (a revoked Proxy).
pub fn is_array(js: &JsValue) -> Result<bool, &'static str> {
    try_is_array(js).map_err(|_| THREW)
}

/// `object[key]` read from caller-supplied input: `Err` when reading it throws, never a guess.
pub fn read(object: &JsValue, key: &str) -> Result<JsValue, &'static str> {
    if !object.is_object() {
        return Ok(JsValue::UNDEFINED);
    }
    Reflect::get(object, &JsValue::from_str(key)).map_err(|_| THREW)
}

/// The items of a caller-supplied array, read one by one (a Proxy's traps may throw).
pub fn items(array: &JsValue) -> Result<Vec<JsValue>, &'static str> {
    let length = Reflect::get(array, &JsValue::from_str("length")).map_err(|_| THREW)?;
    let length = length.as_f64().unwrap_or(0.0) as u32;
    (0..length)
        .map(|i| Reflect::get_u32(array, i).map_err(|_| THREW))
        .collect()
}

/// The text of `js` when it is a string: `Some(Err(..))` when it holds a lone surrogate,
/// which no Rust `String` can carry. Such strings are refused, never altered: replacing the
/// surrogate would silently merge two different names or keys.
pub fn string_from_js(js: &JsValue) -> Option<Result<String, &'static str>> {
    let text = js.as_string()?;
    // Decoding turns a lone surrogate into U+FFFD, so only then is the original asked.
    if text.contains('\u{FFFD}') && !js.unchecked_ref::<JsText>().is_well_formed() {
        return Some(Err("holds a lone surrogate (not Unicode text)"));
    }
    Some(Ok(text))
}

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

/// Sets `object[key] = value` as an own, enumerable data property.
pub fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// `object[key]`, or `undefined` when `object` is not an object or reading it throws. Only for
/// values the store made itself (records, globals); caller input goes through [`read`].
pub fn get(object: &JsValue, key: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// The JSON-compatible [`Value`] of `js`, or `InvalidArgument` on `field` whose reason names
/// the first place inside that is not: `undefined`, functions, symbols, bigints, non-finite
/// numbers, objects other than plain objects and arrays (a `Date`, a `Map`, a class
/// instance), cycles, and nesting deeper than [`MAX_DEPTH`].
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

/// The state of one conversion: the objects it is inside of, and once it failed, the path
/// to the failure, innermost step first (built only on failure).
struct Walk {
    failed_at: Vec<String>,
    ancestors: Vec<JsValue>,
}

impl Walk {
    fn value(&mut self, js: &JsValue) -> Result<Value, &'static str> {
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
                Err("is not a finite number")
            };
        }
        if let Some(text) = string_from_js(js) {
            return text.map(Value::String);
        }
        if js.is_undefined() {
            return Err("is undefined, which is not JSON-compatible");
        }
        if !js.is_object() || js.is_function() {
            return Err("is not JSON-compatible (a function, symbol or bigint)");
        }
        if self.ancestors.len() >= MAX_DEPTH {
            return Err("nests deeper than 128 levels");
        }
        if self.ancestors.iter().any(|a| a == js) {
            return Err("is cyclic: it contains itself");
        }
        let is_array = is_array(js)?;
        if !is_array {
            let proto = try_get_prototype_of(js).map_err(|_| THREW)?;
            if !(proto.is_null() || OBJECT_PROTOTYPE.with(|p| proto == **p)) {
                return Err("is not a plain object or array (a Date, Map, class instance …)");
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

    fn array(&mut self, array: &JsValue) -> Result<Value, &'static str> {
        let values = items(array)?;
        let mut out = Vec::with_capacity(values.len());
        for (i, item) in values.iter().enumerate() {
            let item = self.value(item).inspect_err(|_| self.failed_at.push(format!("[{i}]")))?;
            out.push(item);
        }
        Ok(Value::Array(out))
    }

    fn object(&mut self, object: &JsValue) -> Result<Value, &'static str> {
        let entries = try_entries(object).map_err(|_| THREW)?;
        let mut pairs = Vec::with_capacity(entries.length() as usize);
        for entry in entries.iter() {
            let entry: Array = entry.unchecked_into();
            let key = entry.get(0);
            let key = match string_from_js(&key) {
                Some(Ok(key)) => key,
                _ => return Err("has a key that holds a lone surrogate (not Unicode text)"),
            };
            let value = self.value(&entry.get(1)).inspect_err(|_| self.failed_at.push(format!(".{key}")))?;
            pairs.push((key, value));
        }
        Ok(Value::Object(pairs))
    }
}
