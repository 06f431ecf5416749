//! The stored form of events and the other records, and back. A record that does not decode
//! is reported as a [`StorageError`], never trusted and never a panic.

use alloc::string::String;

use js_sys::{Array, Object};
use wasm_bindgen::JsValue;

use crate::core::sync::{Conflict, ConflictReason, OutboxEntry};
use crate::core::{
    corrupt, safe_integer, ExpectedVersion, Payload, RecordedEvent, Snapshot, StorageError, StoredEvent, Value,
};
use crate::js::{get, set, stored_event_fields, value_to_js};

/// Event data as a JavaScript value to store: a [`Value`] converted, a stored value as it is.
pub(crate) trait ToJs {
    /// The JavaScript value.
    fn to_js(&self) -> JsValue;
}

impl ToJs for Value {
    fn to_js(&self) -> JsValue {
        value_to_js(self)
    }
}

impl ToJs for JsValue {
    fn to_js(&self) -> JsValue {
        self.clone()
    }
}

/// A position or version as a key or field.
pub(crate) fn number(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// The key of version `version` of `stream` in the `stream_version` index.
pub(crate) fn stream_key(stream: &str, version: f64) -> JsValue {
    Array::of2(&JsValue::from_str(stream), &JsValue::from_f64(version)).into()
}

/// The stored form of `event`: its fields, `recordedAt` in milliseconds, and its server
/// position (`null` while pending).
pub(crate) fn encode_event<P: ToJs>(event: &RecordedEvent<P>) -> JsValue {
    let record = Object::new();
    set(&record, "position", &number(event.position));
    set(&record, "id", &JsValue::from_str(&event.id.to_string()));
    set(&record, "stream", &JsValue::from_str(&event.stream));
    set(&record, "type", &JsValue::from_str(&event.event_type));
    set(&record, "version", &number(event.version));
    set(&record, "data", &event.data.to_js());
    set(&record, "metadata", &event.metadata.to_js());
    set(&record, "recordedAt", &JsValue::from_f64(event.recorded_at));
    set(&record, "serverPosition", &event.server_position.map_or(JsValue::NULL, number));
    record.into()
}

/// What stays at the local position of an event moved into a conflict: no id, stream or
/// version, so no index holds it; reads of the global order skip it.
pub(crate) fn encode_tombstone(position: u64) -> JsValue {
    let record = Object::new();
    set(&record, "position", &number(position));
    set(&record, "removed", &JsValue::TRUE);
    record.into()
}

/// Whether `record` is a tombstone.
pub(crate) fn is_tombstone(record: &JsValue) -> bool {
    get(record, "removed").as_bool() == Some(true)
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

/// A stream's record: its last version, and how many of its versions the server confirmed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StreamHead {
    pub(crate) version: u64,
    pub(crate) confirmed: u64,
}

/// A stream's record (schema 1 records also hold the last event's position, no longer kept).
pub(crate) fn encode_stream(stream: &str, head: StreamHead) -> JsValue {
    let record = Object::new();
    set(&record, "stream", &JsValue::from_str(stream));
    set(&record, "version", &number(head.version));
    set(&record, "confirmed", &number(head.confirmed));
    record.into()
}

/// A stream's record; no record is a stream with no events. A record without `confirmed`
/// (schema 1) has none confirmed.
pub(crate) fn decode_stream(record: &JsValue) -> Result<StreamHead, StorageError> {
    if record.is_undefined() {
        return Ok(StreamHead::default());
    }
    let confirmed = if get(record, "confirmed").is_undefined() { 0 } else { count(record, "confirmed")? };
    Ok(StreamHead { version: count(record, "version")?, confirmed })
}

/// The last version in a stream's record; 0 when there is none.
pub(crate) fn decode_stream_version(record: &JsValue) -> Result<u64, StorageError> {
    decode_stream(record).map(|head| head.version)
}

/// The `meta` record of the global head and of how many events are pending.
pub(crate) fn encode_head(position: u64, pending: u64) -> JsValue {
    let record = Object::new();
    set(&record, "key", &JsValue::from_str(HEAD_KEY));
    set(&record, "position", &number(position));
    set(&record, "pending", &number(pending));
    record.into()
}

/// The head and the pending count of the `meta` head record (both 0 without one; a schema 1
/// record has no pending count: its events are counted by the upgrade to schema 2).
pub(crate) fn decode_head(record: &JsValue) -> Result<(u64, u64), StorageError> {
    if record.is_undefined() {
        return Ok((0, 0));
    }
    let pending = if get(record, "pending").is_undefined() { 0 } else { count(record, "pending")? };
    Ok((count(record, "position")?, pending))
}

/// The key of the global head in `meta`.
pub(crate) const HEAD_KEY: &str = "head";

/// The key of the database's identity in `meta`: `{ key, id }`, a UUID written when the
/// database is first opened by code that knows it (`crate::core::judge_reopen`).
pub(crate) const IDENTITY_KEY: &str = "identity";

/// The `meta` record of the database's identity.
pub(crate) fn encode_identity(id: &str) -> JsValue {
    let record = Object::new();
    set(&record, "key", &JsValue::from_str(IDENTITY_KEY));
    set(&record, "id", &JsValue::from_str(id));
    record.into()
}

/// The identity of the `meta` identity record (`None` without one).
pub(crate) fn decode_identity(record: &JsValue) -> Result<Option<String>, StorageError> {
    if record.is_undefined() {
        return Ok(None);
    }
    get(record, "id").as_string().map(Some).ok_or_else(|| corrupt("identity", "is not a string"))
}

/// The key of the sync cursor in `meta`: `{ key, position }`.
pub(crate) const CURSOR_KEY: &str = "cursor";

/// The `meta` record of the sync cursor.
pub(crate) fn encode_cursor(position: u64) -> JsValue {
    let record = Object::new();
    set(&record, "key", &JsValue::from_str(CURSOR_KEY));
    set(&record, "position", &number(position));
    record.into()
}

/// An expected version as stored: `'any'`, `'no_stream'`, `'stream_exists'` or a number.
fn encode_expected(expected: ExpectedVersion) -> JsValue {
    match expected {
        ExpectedVersion::Exact(n) => number(n),
        named => JsValue::from_str(named.name().unwrap_or("any")),
    }
}

fn decode_expected(value: &JsValue) -> Result<ExpectedVersion, StorageError> {
    match value.as_string() {
        Some(name) => ExpectedVersion::from_name(&name).ok_or_else(|| corrupt("expected", "is not an expected version")),
        None => value
            .as_f64()
            .and_then(safe_integer)
            .map(ExpectedVersion::Exact)
            .ok_or_else(|| corrupt("expected", "is not an expected version")),
    }
}

/// An outbox record: `{ key, stream, expected, count }`.
pub(crate) fn encode_outbox(entry: &OutboxEntry) -> JsValue {
    let record = Object::new();
    set(&record, "key", &number(entry.key));
    set(&record, "stream", &JsValue::from_str(&entry.stream));
    set(&record, "expected", &encode_expected(entry.expected));
    set(&record, "count", &number(entry.count));
    record.into()
}

/// The pending append an outbox record describes.
pub(crate) fn decode_outbox(record: &JsValue) -> Result<OutboxEntry, StorageError> {
    Ok(OutboxEntry {
        key: count(record, "key")?,
        stream: get(record, "stream").as_string().ok_or_else(|| corrupt("stream", "is not a string"))?,
        expected: decode_expected(&get(record, "expected"))?,
        count: count(record, "count")?,
    })
}

/// A conflict record: `{ key, stream, expected, actual, reason, events }`, its events as they
/// were stored.
pub(crate) fn encode_conflict(conflict: &Conflict<JsValue>) -> JsValue {
    let record = Object::new();
    set(&record, "key", &number(conflict.key));
    set(&record, "stream", &JsValue::from_str(&conflict.stream));
    set(&record, "expected", &encode_expected(conflict.expected));
    set(&record, "actual", &conflict.actual.map_or(JsValue::NULL, number));
    set(&record, "reason", &JsValue::from_str(conflict.reason.as_str()));
    let events: Array = conflict.events.iter().map(encode_event).collect();
    set(&record, "events", &events);
    record.into()
}

/// The conflict a record holds.
pub(crate) fn decode_conflict(record: &JsValue) -> Result<Conflict<JsValue>, StorageError> {
    let actual = get(record, "actual");
    let events = get(record, "events");
    if !Array::is_array(&events) {
        return Err(corrupt("events", "is not an array"));
    }
    Ok(Conflict {
        key: count(record, "key")?,
        stream: get(record, "stream").as_string().ok_or_else(|| corrupt("stream", "is not a string"))?,
        expected: decode_expected(&get(record, "expected"))?,
        actual: if actual.is_null() { None } else { Some(count(record, "actual")?) },
        reason: get(record, "reason")
            .as_string()
            .and_then(|r| ConflictReason::parse(&r))
            .ok_or_else(|| corrupt("reason", "is not a conflict reason"))?,
        events: Array::from(&events).iter().map(|e| decode_event(&e)).collect::<Result<_, _>>()?,
    })
}

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
