//! JavaScript arguments to core types and core results to JavaScript: conversion only.
//! Every malformed argument becomes an `InvalidArgument` naming it.

use alloc::{format, string::String, vec::Vec};

use js_sys::{Array, Object};
use wasm_bindgen::JsValue;

use crate::core::{
    AppendResult, Direction, Error, EventInput, ExpectedVersion, Filter, RecordedEvent, Snapshot,
    Start, Uuid,
};
use crate::js::{is_array, items, read, recorded_event, set, string_from_js, value_from_js, value_to_js};

/// `object[key]` of caller input, as the argument `field`.
fn get(object: &JsValue, key: &str, field: &str) -> Result<JsValue, Error> {
    read(object, key).map_err(|reason| Error::invalid(field, reason))
}

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A string argument.
pub fn string(js: &JsValue, field: &str) -> Result<String, Error> {
    match string_from_js(js) {
        Some(text) => text.map_err(|reason| Error::invalid(field, reason)),
        None => Err(Error::invalid(field, "must be a string")),
    }
}

/// An optional string option.
pub fn opt_string(options: &JsValue, field: &str) -> Result<Option<String>, Error> {
    let js = get(options, field, field)?;
    if js.is_undefined() {
        return Ok(None);
    }
    string(&js, field).map(Some)
}

/// A non-negative integer a JavaScript number holds exactly.
pub fn count(js: &JsValue, field: &str) -> Result<u64, Error> {
    match js.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= MAX_SAFE_INTEGER => Ok(n as u64),
        _ => Err(Error::invalid(field, "must be a non-negative integer")),
    }
}

/// An optional non-negative integer option.
pub fn opt_count(options: &JsValue, field: &str) -> Result<Option<u64>, Error> {
    let js = get(options, field, field)?;
    if js.is_undefined() {
        return Ok(None);
    }
    count(&js, field).map(Some)
}

/// The options object of a call: `undefined` means none, anything else must be an object.
pub fn options(js: &JsValue) -> Result<JsValue, Error> {
    if js.is_undefined() || js.is_null() {
        Ok(Object::new().into())
    } else if js.is_object()
        && !js.is_function()
        && !is_array(js).map_err(|reason| Error::invalid("options", reason))?
    {
        Ok(js.clone())
    } else {
        Err(Error::invalid("options", "must be an object"))
    }
}

/// `expectedVersion`: `'any'` (default), `'no_stream'`, `'stream_exists'` or a version.
pub fn expected_version(options: &JsValue) -> Result<ExpectedVersion, Error> {
    let js = get(options, "expectedVersion", "expectedVersion")?;
    if js.is_undefined() {
        return Ok(ExpectedVersion::Any);
    }
    match js.as_string() {
        Some(name) => ExpectedVersion::from_name(&name).ok_or_else(|| Error::invalid(
            "expectedVersion",
            "must be 'any', 'no_stream', 'stream_exists' or a non-negative integer",
        )),
        None => count(&js, "expectedVersion").map(ExpectedVersion::Exact),
    }
}

/// `direction`: `'forward'` (default) or `'backward'`.
pub fn direction(options: &JsValue) -> Result<Direction, Error> {
    match opt_string(options, "direction")?.as_deref() {
        None | Some("forward") => Ok(Direction::Forward),
        Some("backward") => Ok(Direction::Backward),
        Some(_) => Err(Error::invalid(
            "direction",
            "must be 'forward' or 'backward'",
        )),
    }
}

/// `types` and `streamPrefix`.
pub fn filter(options: &JsValue) -> Result<Filter, Error> {
    let types = get(options, "types", "types")?;
    let types = if types.is_undefined() {
        None
    } else if is_array(&types).map_err(|reason| Error::invalid("types", reason))? {
        let names = items(&types)
            .map_err(|reason| Error::invalid("types", reason))?
            .iter()
            .enumerate()
            .map(|(i, t)| string(t, &format!("types[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Some(names)
    } else {
        return Err(Error::invalid("types", "must be an array of event types"));
    };
    Ok(Filter {
        types,
        stream_prefix: opt_string(options, "streamPrefix")?,
    })
}

/// `after` of a subscription: a position or `'end'`.
pub fn start(options: &JsValue) -> Result<Start, Error> {
    let js = get(options, "after", "after")?;
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
    if is_array(js).map_err(|reason| Error::invalid("events", reason))? {
        items(js)
            .map_err(|reason| Error::invalid("events", reason))?
            .iter()
            .enumerate()
            .map(|(i, e)| event(e, &format!("events[{i}]")))
            .collect()
    } else {
        Ok(alloc::vec![event(js, "events[0]")?])
    }
}

fn event(js: &JsValue, field: &str) -> Result<EventInput, Error> {
    if !js.is_object()
        || js.is_function()
        || is_array(js).map_err(|reason| Error::invalid(field, reason))?
    {
        return Err(Error::invalid(
            field,
            "must be an event object { type, data, metadata?, id? }",
        ));
    }
    let at = |name: &str| format!("{field}.{name}");
    let event_type = string(&get(js, "type", &at("type"))?, &at("type"))?;
    let data = value_from_js(&get(js, "data", &at("data"))?, &at("data"))?;
    let metadata = get(js, "metadata", &at("metadata"))?;
    let metadata = if metadata.is_undefined() {
        None
    } else {
        Some(value_from_js(&metadata, &format!("{field}.metadata"))?)
    };
    let id = get(js, "id", &at("id"))?;
    let id = if id.is_undefined() {
        None
    } else {
        Some(string(&id, &format!("{field}.id"))?)
    };
    Ok(EventInput {
        event_type,
        data,
        metadata,
        id,
    })
}

/// A snapshot `{ version, state }`.
pub fn snapshot(js: &JsValue) -> Result<Snapshot, Error> {
    if !js.is_object() {
        return Err(Error::invalid(
            "snapshot",
            "must be an object { version, state }",
        ));
    }
    Ok(Snapshot {
        version: count(&get(js, "version", "snapshot.version")?, "snapshot.version")?,
        state: value_from_js(&get(js, "state", "snapshot.state")?, "snapshot.state")?,
    })
}

/// `{ version, state }`.
pub fn snapshot_to_js(snapshot: &Snapshot) -> JsValue {
    let object = Object::new();
    set(
        &object,
        "version",
        &JsValue::from_f64(snapshot.version as f64),
    );
    set(&object, "state", &value_to_js(&snapshot.state));
    object.into()
}

/// `{ nextExpectedVersion, position }`.
pub fn append_result_to_js(result: &AppendResult) -> JsValue {
    let object = Object::new();
    set(
        &object,
        "nextExpectedVersion",
        &JsValue::from_f64(result.next_expected_version as f64),
    );
    set(
        &object,
        "position",
        &JsValue::from_f64(result.position as f64),
    );
    object.into()
}

/// A `RecordedEvent` as the contract shapes it; its data and metadata are handed over as they are.
pub fn event_to_js(event: &RecordedEvent<JsValue>) -> JsValue {
    recorded_event(
        event.id.hyphenated().encode_lower(&mut Uuid::encode_buffer()),
        &event.stream,
        &event.event_type,
        event.version as f64,
        event.position as f64,
        &event.data,
        &event.metadata,
        event.recorded_at,
        event.server_position.map_or(-1.0, |p| p as f64),
    )
}

/// Events as a JavaScript array.
pub fn events_to_js(events: &[RecordedEvent<JsValue>]) -> JsValue {
    events.iter().map(event_to_js).collect::<Array>().into()
}

/// The error as a JavaScript `Error` whose `name` is the contract's class name, with the
/// fields of that class as own properties.
pub fn error_to_js(error: Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name(error.name());
    let object: &Object = js.as_ref();
    match &error {
        Error::WrongExpectedVersion {
            stream,
            expected,
            actual,
        } => {
            set(object, "stream", &JsValue::from_str(stream));
            set(object, "expected", &expected_to_js(*expected));
            set(object, "actual", &JsValue::from_f64(*actual as f64));
        }
        Error::DuplicateEventId { id } => set(object, "id", &JsValue::from_str(id)),
        Error::InvalidArgument { field, .. } => set(object, "field", &JsValue::from_str(field)),
        Error::Storage(e) => set(object, "cause", &JsValue::from_str(&e.cause)),
        Error::Sync(e) => set(object, "code", &JsValue::from_str(e.code.as_str())),
        _ => {}
    }
    js.into()
}

/// An expected version as JavaScript spells it: a number, or `'any'`, `'no_stream'`,
/// `'stream_exists'`.
pub fn expected_to_js(expected: ExpectedVersion) -> JsValue {
    match expected {
        ExpectedVersion::Exact(n) => JsValue::from_f64(n as f64),
        named => JsValue::from_str(named.name().unwrap_or_default()),
    }
}
