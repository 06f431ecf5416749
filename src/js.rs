//! Conversions between core types and JavaScript values, shared by the IndexedDB backend and
//! the bindings. Conversion only: what is valid is decided in [`crate::core`].

use alloc::{format, string::String, vec::Vec};

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::{Error, Value, MAX_DEPTH};

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
                // Defining (not assigning) keeps a `__proto__` key an own data property.
                define(&object, &JsValue::from_str(k), &value_to_js(v));
            }
            object.into()
        }
    }
}

fn define(object: &Object, key: &JsValue, value: &JsValue) {
    let descriptor = Object::new();
    let _ = Reflect::set(&descriptor, &"value".into(), value);
    let _ = Reflect::set(&descriptor, &"writable".into(), &JsValue::TRUE);
    let _ = Reflect::set(&descriptor, &"enumerable".into(), &JsValue::TRUE);
    let _ = Reflect::set(&descriptor, &"configurable".into(), &JsValue::TRUE);
    Object::define_property(object, key, &descriptor);
}

/// Sets `object[key] = value` as an own, enumerable data property.
pub fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// `object[key]`, or `undefined` when `object` is not an object or reading it throws.
pub fn get(object: &JsValue, key: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// The JSON-compatible [`Value`] of `js`, or `InvalidArgument` on `field` naming the first
/// place that is not: `undefined`, functions, symbols, bigints, non-finite numbers, objects
/// other than plain objects and arrays (a `Date`, a `Map`, a class instance), and nesting
/// deeper than [`MAX_DEPTH`] (which also stops cycles).
pub fn value_from_js(js: &JsValue, field: &str) -> Result<Value, Error> {
    let mut path = String::from(field);
    from_js_at(js, 0, &mut path)
}

fn from_js_at(js: &JsValue, depth: usize, path: &mut String) -> Result<Value, Error> {
    let invalid = |path: &String, reason: &str| Err(Error::invalid(path.clone(), reason));
    if depth > MAX_DEPTH {
        return invalid(path, "nests deeper than 128 levels, or is cyclic");
    }
    if js.is_null() {
        return Ok(Value::Null);
    }
    if let Some(b) = js.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = js.as_f64() {
        return if n.is_finite() { Ok(Value::Number(n)) } else { invalid(path, "is not a finite number") };
    }
    if let Some(s) = js.as_string() {
        return Ok(Value::String(s));
    }
    if js.is_undefined() {
        return invalid(path, "is undefined, which is not JSON-compatible");
    }
    if !js.is_object() || js.is_function() {
        return invalid(path, "is not JSON-compatible (a function, symbol or bigint)");
    }
    if Array::is_array(js) {
        let array: &Array = js.unchecked_ref();
        let mut items = Vec::with_capacity(array.length() as usize);
        for i in 0..array.length() {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            items.push(from_js_at(&array.get(i), depth + 1, path)?);
            path.truncate(len);
        }
        return Ok(Value::Array(items));
    }
    let proto = Object::get_prototype_of(js);
    if !(proto.is_null() || OBJECT_PROTOTYPE.with(|p| proto == *p)) {
        return invalid(path, "is not a plain object or array (a Date, Map, class instance …)");
    }
    let object: &Object = js.unchecked_ref();
    let entries = Object::entries(object);
    let mut pairs = Vec::with_capacity(entries.length() as usize);
    for entry in entries.iter() {
        let entry: Array = entry.unchecked_into();
        let key = entry.get(0).as_string().unwrap_or_default();
        let len = path.len();
        path.push('.');
        path.push_str(&key);
        pairs.push((key, from_js_at(&entry.get(1), depth + 1, path)?));
        path.truncate(len);
    }
    Ok(Value::Object(pairs))
}
