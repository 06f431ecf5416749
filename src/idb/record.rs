//! The stored form of events and the other records, and back. A record that does not decode
//! is reported as a [`StorageError`], never trusted and never a panic.

use alloc::string::String;

use js_sys::{Array, Object};
use wasm_bindgen::JsValue;

use crate::core::{corrupt, Payload, safe_integer, RecordedEvent, Snapshot, StorageError, StoredEvent};
use crate::js::{get, set, stored_event_fields, value_to_js};

/// A position or version as a key or field.
pub(crate) fn number(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// The key of version `version` of `stream` in the `stream_version` index.
pub(crate) fn stream_key(stream: &str, version: f64) -> JsValue {
    Array::of2(&JsValue::from_str(stream), &JsValue::from_f64(version)).into()
}

/// The stored form of `event`: its fields, `recordedAt` in milliseconds, and the sync state
/// of an event no server has seen (`confirmed: false`, `serverPosition: null`).
pub(crate) fn encode_event(event: &RecordedEvent) -> JsValue {
    let record = Object::new();
    set(&record, "position", &number(event.position));
    set(&record, "id", &JsValue::from_str(&event.id.to_string()));
    set(&record, "stream", &JsValue::from_str(&event.stream));
    set(&record, "type", &JsValue::from_str(&event.event_type));
    set(&record, "version", &number(event.version));
    set(&record, "data", &value_to_js(&event.data));
    set(&record, "metadata", &value_to_js(&event.metadata));
    set(&record, "recordedAt", &JsValue::from_f64(event.recorded_at));
    set(&record, "confirmed", &JsValue::FALSE);
    set(&record, "serverPosition", &JsValue::NULL);
    record.into()
}

/// The event a stored record holds, its data and metadata as the stored JavaScript values;
/// checked by [`RecordedEvent::from_stored`].
pub(crate) fn decode_event(record: &JsValue) -> Result<RecordedEvent<JsValue>, StorageError> {
    let payload = |field| Some(get(record, field)).filter(|v| !v.is_undefined());
    let mut numbers = [f64::NAN; 4];
    let texts = if record.is_object() { stored_event_fields(record, &mut numbers) } else { None };
    let (id, stream, event_type) = match texts {
        // NUL cannot stand in an id, a stream name or a type: if one held it, a part below
        // holds the rest and fails its check like any other invalid text.
        Some(texts) => {
            let mut parts = texts.splitn(3, '\0').map(String::from);
            (parts.next(), parts.next(), parts.next())
        }
        // Not all three are strings: read one by one, so the error names the field.
        None => (get(record, "id").as_string(), get(record, "stream").as_string(), get(record, "type").as_string()),
    };
    RecordedEvent::from_stored(StoredEvent {
        id,
        stream,
        event_type,
        version: Some(numbers[0]),
        position: Some(numbers[1]),
        recorded_at: Some(numbers[2]),
        server_position: (numbers[3] != -1.0).then_some(numbers[3]),
        data: payload("data"),
        metadata: payload("metadata"),
    })
}

/// The event a stored record holds, its data and metadata as [`Value`]s: what an append
/// compares a retried event with.
pub(crate) fn decode_event_values(record: &JsValue) -> Result<RecordedEvent, StorageError> {
    decode_event(record)?.to_values()
}

/// A stream's head record: its last version and the position of that event.
pub(crate) fn encode_stream(stream: &str, version: u64, position: u64) -> JsValue {
    let record = Object::new();
    set(&record, "stream", &JsValue::from_str(stream));
    set(&record, "version", &number(version));
    set(&record, "position", &number(position));
    record.into()
}

/// The last version in a stream's head record; 0 when there is none.
pub(crate) fn decode_stream_version(record: &JsValue) -> Result<u64, StorageError> {
    if record.is_undefined() {
        return Ok(0);
    }
    count(record, "version")
}

/// The `meta` record of the global head.
pub(crate) fn encode_head(position: u64) -> JsValue {
    let record = Object::new();
    set(&record, "key", &JsValue::from_str(HEAD_KEY));
    set(&record, "position", &number(position));
    record.into()
}

/// The key of the global head in `meta`.
pub(crate) const HEAD_KEY: &str = "head";

/// A position in a `meta` head or checkpoint record; `None` when there is no record.
pub(crate) fn decode_position(record: &JsValue) -> Result<Option<u64>, StorageError> {
    if record.is_undefined() {
        return Ok(None);
    }
    count(record, "position").map(Some)
}

/// A checkpoint record.
pub(crate) fn encode_checkpoint(name: &str, position: u64) -> JsValue {
    let record = Object::new();
    set(&record, "name", &JsValue::from_str(name));
    set(&record, "position", &number(position));
    record.into()
}

/// A snapshot record.
pub(crate) fn encode_snapshot(stream: &str, snapshot: &Snapshot) -> JsValue {
    let record = Object::new();
    set(&record, "stream", &JsValue::from_str(stream));
    set(&record, "version", &number(snapshot.version));
    set(&record, "state", &value_to_js(&snapshot.state));
    record.into()
}

/// The snapshot a record holds; `None` when there is no record.
pub(crate) fn decode_snapshot(record: &JsValue) -> Result<Option<Snapshot>, StorageError> {
    if record.is_undefined() {
        return Ok(None);
    }
    Ok(Some(Snapshot { version: count(record, "version")?, state: get(record, "state").to_value("state")? }))
}

fn count(record: &JsValue, field: &str) -> Result<u64, StorageError> {
    get(record, field)
        .as_f64()
        .and_then(safe_integer)
        .ok_or_else(|| corrupt(field, "is not a non-negative integer"))
}
