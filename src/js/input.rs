//! Caller arguments to core types. Every malformed argument becomes an `InvalidArgument`
//! naming it, as the caller spelled it (`events[2].type`, `expectedVersion`); a getter or a
//! Proxy trap that throws is one too. Ranges and names are checked by the core.

use alloc::{format, string::String, vec::Vec};

use js_sys::Object;
use wasm_bindgen::JsValue;

use super::{string_from_js, try_is_array, try_items, try_read, value_from_js, THREW};
use crate::core::{
    safe_integer, Direction, Error, EventInput, ExpectedVersion, Filter, ImportedEvent, Snapshot, Start,
};

/// `object[key]` of caller input, as the argument `field`.
fn read(object: &JsValue, key: &'static str, field: &str) -> Result<JsValue, Error> {
    try_read(object, key).map_err(|reason| Error::invalid(field, reason))
}

/// Whether `js` is an array, as the argument `field` (asking a revoked Proxy throws).
fn is_array(js: &JsValue, field: &str) -> Result<bool, Error> {
    try_is_array(js).map_err(|_| Error::invalid(field, THREW))
}

/// The items of the array argument `field`.
fn items(array: &JsValue, field: &str) -> Result<Vec<JsValue>, Error> {
    try_items(array).map_err(|reason| Error::invalid(field, reason))
}

/// A string argument.
pub fn string(js: &JsValue, field: &str) -> Result<String, Error> {
    match string_from_js(js) {
        Some(text) => text.map_err(|reason| Error::invalid(field, reason)),
        None => Err(Error::invalid(field, "must be a string")),
    }
}

/// An optional string option.
pub fn opt_string(options: &JsValue, field: &'static str) -> Result<Option<String>, Error> {
    let js = read(options, field, field)?;
    if js.is_undefined() {
        return Ok(None);
    }
    string(&js, field).map(Some)
}

/// An optional boolean option.
pub fn opt_bool(options: &JsValue, field: &'static str) -> Result<Option<bool>, Error> {
    let js = read(options, field, field)?;
    if js.is_undefined() {
        return Ok(None);
    }
    js.as_bool().map(Some).ok_or_else(|| Error::invalid(field, "must be a boolean"))
}

/// A non-negative integer a JavaScript number holds exactly (the core's
/// [`safe_integer`]).
pub fn count(js: &JsValue, field: &str) -> Result<u64, Error> {
    js.as_f64()
        .and_then(safe_integer)
        .ok_or_else(|| Error::invalid(field, "must be a non-negative integer"))
}

/// An optional non-negative integer option.
pub fn opt_count(options: &JsValue, field: &'static str) -> Result<Option<u64>, Error> {
    let js = read(options, field, field)?;
    if js.is_undefined() {
        return Ok(None);
    }
    count(&js, field).map(Some)
}

/// The options object of a call: `undefined` means none, anything else must be an object.
pub fn options(js: &JsValue) -> Result<JsValue, Error> {
    if js.is_undefined() || js.is_null() {
        Ok(Object::new().into())
    } else if js.is_object() && !js.is_function() && !is_array(js, "options")? {
        Ok(js.clone())
    } else {
        Err(Error::invalid("options", "must be an object"))
    }
}

/// `expectedVersion`: `'any'` (default), `'no_stream'`, `'stream_exists'` or a version.
pub fn expected_version(options: &JsValue) -> Result<ExpectedVersion, Error> {
    let js = read(options, "expectedVersion", "expectedVersion")?;
    if js.is_undefined() {
        return Ok(ExpectedVersion::Any);
    }
    match js.as_string() {
        Some(name) => ExpectedVersion::from_name(&name).ok_or_else(|| {
            Error::invalid(
                "expectedVersion",
                "must be 'any', 'no_stream', 'stream_exists' or a non-negative integer",
            )
        }),
        None => count(&js, "expectedVersion").map(ExpectedVersion::Exact),
    }
}

/// `direction`: `'forward'` (default) or `'backward'`.
pub fn direction(options: &JsValue) -> Result<Direction, Error> {
    match opt_string(options, "direction")?.as_deref() {
        None | Some("forward") => Ok(Direction::Forward),
        Some("backward") => Ok(Direction::Backward),
        Some(_) => Err(Error::invalid("direction", "must be 'forward' or 'backward'")),
    }
}

/// An optional array of strings, `field`.
fn opt_strings(options: &JsValue, field: &'static str, what: &str) -> Result<Option<Vec<String>>, Error> {
    let list = read(options, field, field)?;
    if list.is_undefined() {
        return Ok(None);
    }
    if !is_array(&list, field)? {
        return Err(Error::invalid(field, format!("must be an array of {what}")));
    }
    items(&list, field)?
        .iter()
        .enumerate()
        .map(|(i, t)| string(t, &format!("{field}[{i}]")))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `types`, `streams` and `streamPrefix`.
pub fn filter(options: &JsValue) -> Result<Filter, Error> {
    Ok(Filter {
        types: opt_strings(options, "types", "event types")?,
        streams: opt_strings(options, "streams", "stream names")?,
        stream_prefix: opt_string(options, "streamPrefix")?,
    })
}

/// `after` of a subscription: a position or `'end'`.
pub fn start(options: &JsValue) -> Result<Start, Error> {
    let js = read(options, "after", "after")?;
    if js.is_undefined() {
        Ok(Start::After(0))
    } else if js.as_string().as_deref() == Some("end") {
        Ok(Start::End)
    } else {
        count(&js, "after")
            .map(Start::After)
            .map_err(|_| Error::invalid("after", "must be a non-negative integer or 'end'"))
    }
}

/// One event or an array of events.
pub fn events(js: &JsValue) -> Result<Vec<EventInput>, Error> {
    if is_array(js, "events")? {
        items(js, "events")?
            .iter()
            .enumerate()
            .map(|(i, e)| event(e, &format!("events[{i}]")))
            .collect()
    } else {
        Ok(alloc::vec![event(js, "events[0]")?])
    }
}

/// Whether `js` is an object that is neither a function nor an array, as the argument `field`.
fn is_record(js: &JsValue, field: &str) -> Result<bool, Error> {
    Ok(js.is_object() && !js.is_function() && !is_array(js, field)?)
}

/// An event `{ type, data, metadata?, id? }`, the argument `field`.
fn event(js: &JsValue, field: &str) -> Result<EventInput, Error> {
    if !is_record(js, field)? {
        return Err(Error::invalid(field, "must be an event object { type, data, metadata?, id? }"));
    }
    let at = |name: &str| format!("{field}.{name}");
    // In this order: a caller's getters run, and the first field at fault is the one named.
    let event_type = string(&read(js, "type", &at("type"))?, &at("type"))?;
    let data = value_from_js(&read(js, "data", &at("data"))?, &at("data"))?;
    let metadata = read(js, "metadata", &at("metadata"))?;
    let metadata = if metadata.is_undefined() { None } else { Some(value_from_js(&metadata, &at("metadata"))?) };
    let id = read(js, "id", &at("id"))?;
    let id = if id.is_undefined() { None } else { Some(string(&id, &at("id"))?) };
    Ok(EventInput { event_type, data, metadata, id })
}

/// The events of an import, `{ id, stream, type, version, recordedAt, data, metadata? }` each
/// (an exported line parsed), named `events[first]`, `events[first + 1]` …
pub fn imported_events(list: &JsValue, first: u64) -> Result<Vec<ImportedEvent>, Error> {
    if !is_array(list, "events")? {
        return Err(Error::invalid("events", "must be an array of exported events"));
    }
    items(list, "events")?
        .iter()
        .zip(first..)
        .map(|(js, index)| {
            let field = format!("events[{index}]");
            let at = |name: &str| format!("{field}.{name}");
            let event = event(js, &field)?;
            let recorded_at = read(js, "recordedAt", &at("recordedAt"))?
                .as_f64()
                .filter(|n| n.is_finite())
                .ok_or_else(|| Error::invalid(at("recordedAt"), "must be a number of milliseconds"))?;
            Ok(ImportedEvent {
                stream: string(&read(js, "stream", &at("stream"))?, &at("stream"))?,
                version: count(&read(js, "version", &at("version"))?, &at("version"))?,
                event,
                recorded_at,
            })
        })
        .collect()
}

/// A snapshot `{ version, state }`.
pub fn snapshot(js: &JsValue) -> Result<Snapshot, Error> {
    if !js.is_object() {
        return Err(Error::invalid("snapshot", "must be an object { version, state }"));
    }
    Ok(Snapshot {
        version: count(&read(js, "version", "snapshot.version")?, "snapshot.version")?,
        state: value_from_js(&read(js, "state", "snapshot.state")?, "snapshot.state")?,
    })
}
