//! The stored form of events and the other records, and back. A record that does not decode
//! is reported as a [`StorageError`], never trusted and never a panic.

use alloc::{rc::Rc, string::String};

use js_sys::{Array, Object};
use crate::js::JsPayload;
use wasm_bindgen::JsValue;

use crate::core::sync::{Conflict, ConflictReason, OutboxEntry};
use crate::core::{
    corrupt, safe_integer, ExpectedVersion, Payload, RecordedEvent, Snapshot, StorageError, StoredEvent, Value,
};
use crate::js::{get, new_run, run_events, run_fields, run_length, run_payloads, set, stored_event_fields, value_to_js};

/// Event data to store: a [`Value`] (an append's, checked) or a JavaScript value (stored or
/// pulled), written onto a [`RunTape`].
pub(crate) trait ToJs {
    /// The JavaScript value.
    fn to_js(&self) -> JsValue;
    /// Writes the value onto `tape`.
    fn to_tape(&self, tape: &mut RunTape);
}

impl ToJs for Value {
    fn to_js(&self) -> JsValue {
        value_to_js(self)
    }
    fn to_tape(&self, tape: &mut RunTape) {
        tape.value(self);
    }
}

impl ToJs for JsValue {
    fn to_js(&self) -> JsValue {
        self.clone()
    }
    fn to_tape(&self, tape: &mut RunTape) {
        tape.js(self.clone());
    }
}

impl ToJs for JsPayload {
    fn to_js(&self) -> JsValue {
        self.value()
    }
    fn to_tape(&self, tape: &mut RunTape) {
        tape.js(self.value());
    }
}

/// A `log` record as one crossing (`newRun`): numbers (field values, lengths and value tags),
/// the text of every string in order, and the JavaScript values it holds as they are. Values
/// are tagged 0 null, 1 true, 2 false, 3 number, 4 string, 5 array, 6 object (keys then
/// values), 7 a JavaScript value by index.
#[derive(Default)]
pub(crate) struct RunTape {
    numbers: alloc::vec::Vec<f64>,
    text: String,
    payloads: alloc::vec::Vec<JsValue>,
}

impl RunTape {
    fn number(&mut self, n: f64) {
        self.numbers.push(n);
    }

    /// A string: its length in UTF-16 code units (how JavaScript slices), then its text.
    fn string(&mut self, s: &str) {
        self.numbers.push(s.chars().map(char::len_utf16).sum::<usize>() as f64);
        self.text.push_str(s);
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.number(0.0),
            Value::Bool(true) => self.number(1.0),
            Value::Bool(false) => self.number(2.0),
            Value::Number(n) => self.numbers.extend([3.0, *n]),
            Value::String(s) => {
                self.number(4.0);
                self.string(s);
            }
            Value::Array(items) => {
                self.numbers.extend([5.0, items.len() as f64]);
                items.iter().for_each(|item| self.value(item));
            }
            Value::Object(pairs) => {
                self.numbers.extend([6.0, pairs.len() as f64]);
                for (key, item) in pairs {
                    self.string(key);
                    self.value(item);
                }
            }
        }
    }

    fn js(&mut self, value: JsValue) {
        self.numbers.extend([7.0, self.payloads.len() as f64]);
        self.payloads.push(value);
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

/// Whether `record` is a tombstone of schema 2 (read by the upgrade).
pub(crate) fn is_tombstone(record: &JsValue) -> bool {
    get(record, "removed").as_bool() == Some(true)
}

/// The event a stored record holds, its data and metadata as the stored JavaScript values;
/// checked by [`RecordedEvent::from_stored`].
pub(crate) fn decode_event(record: &JsValue) -> Result<RecordedEvent<JsPayload>, StorageError> {
    let payload = |field| Some(get(record, field)).filter(|v| !v.is_undefined()).map(JsPayload::Value);
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

/// A record of the `log` store (schema 3): a run of events, or a tombstone for positions whose
/// events moved into a conflict.
#[derive(Debug)]
pub(crate) enum LogRecord {
    /// Events of one stream at consecutive positions and versions.
    Run(Run),
    /// `count` removed positions ending at `last`: examined by reads of the global order,
    /// never yielded.
    Removed { last: u64, count: u64 },
}

impl LogRecord {
    /// The position of its last event: the record's key.
    pub(crate) fn last(&self) -> u64 {
        match self {
            LogRecord::Run(run) => run.last(),
            LogRecord::Removed { last, .. } => *last,
        }
    }

    /// The run, for a record read through an index (which never holds a tombstone).
    pub(crate) fn into_run(self) -> Result<Run, StorageError> {
        match self {
            LogRecord::Run(run) => Ok(run),
            LogRecord::Removed { .. } => Err(corrupt("log entry", "is a tombstone where a run was indexed")),
        }
    }

    /// The position of its first event.
    pub(crate) fn first(&self) -> u64 {
        match self {
            LogRecord::Run(run) => run.first(),
            LogRecord::Removed { last, count } => last + 1 - count,
        }
    }
}

/// A run of events as one `log` record holds them.
#[derive(Debug)]
pub(crate) struct Run {
    /// At least one; one stream, consecutive positions and versions.
    pub(crate) events: Vec<RecordedEvent<JsPayload>>,
    /// While the run is a pending append (its key is its first position): what it expected.
    pub(crate) pending: Option<ExpectedVersion>,
}

impl Run {
    pub(crate) fn first(&self) -> u64 {
        self.events.first().map_or(0, |e| e.position)
    }
    pub(crate) fn last(&self) -> u64 {
        self.events.last().map_or(0, |e| e.position)
    }
    pub(crate) fn stream(&self) -> &str {
        self.events.first().map_or("", |e| e.stream.as_str())
    }
}

/// The `log` record of `events` (one stream, consecutive positions and versions, at least
/// one): `{ last, stream, version, ids, types, data, metadata, times, server }`, and while it
/// is a pending append `outbox` (its first position) and `expected`. `version` is its last
/// event's; `ids` is indexed (multiEntry, unique), `[stream, version]` and `outbox` too.
pub(crate) fn encode_run<P: ToJs>(events: &[RecordedEvent<P>], pending: Option<ExpectedVersion>) -> JsValue {
    let (Some(first), Some(last)) = (events.first(), events.last()) else { return Object::new().into() };
    let mut tape = RunTape::default();
    let expected = match pending {
        None => 0.0,
        Some(ExpectedVersion::Exact(n)) => n as f64,
        Some(ExpectedVersion::Any) => -1.0,
        Some(ExpectedVersion::NoStream) => -2.0,
        Some(ExpectedVersion::StreamExists) => -3.0,
    };
    let outbox = pending.map_or(-1.0, |_| first.position as f64);
    tape.numbers.extend([last.position as f64, last.version as f64, events.len() as f64, outbox, expected]);
    tape.string(&first.stream);
    for event in events {
        tape.string(event.id.hyphenated().encode_lower(&mut crate::core::Uuid::encode_buffer()));
        tape.string(&event.event_type);
        tape.numbers.extend([event.recorded_at, event.server_position.map_or(-1.0, |p| p as f64)]);
        event.data.to_tape(&mut tape);
        event.metadata.to_tape(&mut tape);
    }
    new_run(&tape.numbers, &tape.text, tape.payloads)
}

/// The `log` record standing for `count` positions ending at `last` whose events moved into a
/// conflict: no stream, ids or outbox, so no index holds it.
pub(crate) fn encode_removed(last: u64, count: u64) -> JsValue {
    let record = Object::new();
    set(&record, "last", &number(last));
    set(&record, "removed", &number(count));
    record.into()
}

/// The run or tombstone a `log` record holds, every event checked by
/// [`RecordedEvent::from_stored`]; anything else is a `DataError`. Its events' data and
/// metadata are the stored values.
pub(crate) fn decode_log(record: &JsValue) -> Result<LogRecord, StorageError> {
    decode_log_as(record, false)
}

/// [`decode_log`] for a read: each event's `RawEvent` is built from the record in one call per
/// run (`runEvents`), and its data and metadata are that object's ([`JsPayload::Built`]), so
/// the event is handed to the caller as built.
pub(crate) fn decode_log_built(record: &JsValue) -> Result<LogRecord, StorageError> {
    decode_log_as(record, true)
}

fn decode_log_as(record: &JsValue, built: bool) -> Result<LogRecord, StorageError> {
    let length = run_length(record);
    if length < 0.0 {
        let count = count(record, "removed")?;
        let last = count_at_least(record, "last", count)?;
        return Ok(LogRecord::Removed { last, count });
    }
    let n = length as usize;
    if n == 0 {
        return Err(corrupt("log entry", "holds no event"));
    }
    let mut numbers = alloc::vec![f64::NAN; 2 + 3 * n];
    let text = run_fields(record, &mut numbers).ok_or_else(|| corrupt("log entry", "is not a run of events"))?;
    let (last, version) = (numbers[0], numbers[1]);
    let (Some(last), Some(version)) = (safe_integer(last), safe_integer(version)) else {
        return Err(corrupt("log entry", "has no last position or version"));
    };
    if last < n as u64 || version < n as u64 {
        return Err(corrupt("log entry", "holds more events than positions or versions before it"));
    }
    // The checked fields are all `runEvents` reads: it builds from a record `runFields` passed.
    let mut payloads = if built {
        let events = Rc::new(run_events(record));
        let objects = &numbers[2 + 2 * n..];
        (0..n)
            .flat_map(|i| {
                let (events, index) = (events.clone(), i as u32);
                [false, true].map(move |metadata| {
                    let object = metadata.then_some(objects[i] == 1.0);
                    JsPayload::Built { events: events.clone(), index, metadata, object }
                })
            })
            .collect::<alloc::vec::Vec<_>>()
    } else {
        run_payloads(record).into_iter().map(JsPayload::Value).collect()
    }
    .into_iter();
    if payloads.len() != 2 * n {
        return Err(corrupt("log entry", "is not a run of events"));
    }
    let mut texts = text.split('\0');
    let stream = texts.next().map(String::from);
    let mut events = alloc::vec::Vec::with_capacity(n);
    for i in 0..n {
        let at = numbers[2 + n + i];
        events.push(RecordedEvent::from_stored(StoredEvent {
            id: texts.next().map(String::from),
            stream: stream.clone(),
            event_type: texts.next().map(String::from),
            version: Some((version + 1 - n as u64 + i as u64) as f64),
            position: Some((last + 1 - n as u64 + i as u64) as f64),
            recorded_at: Some(numbers[2 + i]),
            server_position: (at != -1.0).then_some(at),
            data: payloads.next(),
            metadata: payloads.next(),
        })?);
    }
    let outbox = get(record, "outbox");
    let pending = if outbox.is_undefined() {
        None
    } else {
        if outbox.as_f64() != Some((last + 1 - n as u64) as f64) {
            return Err(corrupt("outbox", "is not the first position of its log entry"));
        }
        Some(decode_expected(&get(record, "expected"))?)
    };
    Ok(LogRecord::Run(Run { events, pending }))
}

fn count_at_least(record: &JsValue, field: &'static str, least: u64) -> Result<u64, StorageError> {
    Some(count(record, field)?).filter(|&n| n >= least).ok_or_else(|| corrupt(field, "is below the count it ends"))
}

/// A stream's record (schema 3): how many of its versions the server confirmed. Its last
/// version is the key of its last `log` record in the `stream` index, not kept here.
pub(crate) fn encode_stream(stream: &str, confirmed: u64) -> JsValue {
    let record = Object::new();
    set(&record, "stream", &JsValue::from_str(stream));
    set(&record, "confirmed", &number(confirmed));
    record.into()
}

/// How many versions of a stream the server confirmed; 0 without a record. (Records of schema
/// 1 and 2 also hold `version`, which schema 3 no longer reads.)
pub(crate) fn decode_confirmed(record: &JsValue) -> Result<u64, StorageError> {
    if record.is_undefined() || get(record, "confirmed").is_undefined() {
        return Ok(0);
    }
    count(record, "confirmed")
}

/// The key of the global head in `meta` in schemas 1 and 2 (schema 3 reads the head from the
/// `log` store's last key).
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

/// The key of the sync cursor in `meta`: `{ key, position, removed }`.
pub(crate) const CURSOR_KEY: &str = "cursor";

/// The sync state kept in `meta`: the cursor, and how many local positions hold events moved
/// into conflicts. Every other position holds a confirmed event (the server's `1..=cursor`,
/// each once) or a pending one: pending = head - cursor - removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SyncMark {
    pub(crate) cursor: u64,
    pub(crate) removed: u64,
}

/// The `meta` record of the sync cursor.
pub(crate) fn encode_cursor(mark: SyncMark) -> JsValue {
    let record = Object::new();
    set(&record, "key", &JsValue::from_str(CURSOR_KEY));
    set(&record, "position", &number(mark.cursor));
    set(&record, "removed", &number(mark.removed));
    record.into()
}

/// The sync state of the `meta` cursor record (nothing synced without one).
pub(crate) fn decode_cursor(record: &JsValue) -> Result<SyncMark, StorageError> {
    if record.is_undefined() {
        return Ok(SyncMark::default());
    }
    let removed = if get(record, "removed").is_undefined() { 0 } else { count(record, "removed")? };
    Ok(SyncMark { cursor: count(record, "position")?, removed })
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

/// An outbox record of schema 2: `{ key, stream, expected, count }` (read by the upgrade).
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
pub(crate) fn encode_conflict(conflict: &Conflict<JsPayload>) -> JsValue {
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
pub(crate) fn decode_conflict(record: &JsValue) -> Result<Conflict<JsPayload>, StorageError> {
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

fn count(record: &JsValue, field: &'static str) -> Result<u64, StorageError> {
    get(record, field)
        .as_f64()
        .and_then(safe_integer)
        .ok_or_else(|| corrupt(field, "is not a non-negative integer"))
}
