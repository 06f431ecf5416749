//! Core results and errors as JavaScript values, in the shapes declared below: wasm-bindgen
//! writes these declarations into `annals.d.ts`, and the TypeScript layer is compiled against
//! them, so a shape changed here and not there fails the build.

use js_sys::Object;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::{recorded_event, set, value_to_js, JsPayload};
use crate::core::sync::{Conflict, SyncStatus};
use crate::core::{AppendResult, Error, ExpectedVersion, RecordedEvent, Snapshot, Uuid};

#[wasm_bindgen(typescript_custom_section)]
const SHAPES: &str = r#"
/** An event as the module hands it over (`event_to_js`). */
export interface RawEvent {
  readonly id: string;
  readonly stream: string;
  readonly type: string;
  readonly version: number;
  readonly position: number;
  readonly data: unknown;
  readonly metadata: Record<string, unknown>;
  readonly recordedAt: Date;
  readonly serverPosition: number | null;
}
/** `append_result_to_js`. */
export interface RawAppendResult { nextExpectedVersion: number; position: number }
/** `snapshot_to_js`. */
export interface RawSnapshot { version: number; state: unknown }
/** `expected_to_js`. */
export type RawExpectedVersion = 'any' | 'no_stream' | 'stream_exists' | number;
/** What the module throws (`error_to_js`): an `Error` whose `name` and `errorCode` say which kind, with that kind's fields. */
export type RawError = Error & { readonly errorCode: ErrorCode } & (
  | { readonly name: 'WrongExpectedVersionError'; readonly stream: string; readonly expected: RawExpectedVersion; readonly actual: number }
  | { readonly name: 'DuplicateEventIdError'; readonly id: string }
  | { readonly name: 'InvalidArgumentError'; readonly field: string }
  | { readonly name: 'StorageError' | 'QuotaExceededError'; readonly cause: unknown }
  | { readonly name: 'StoreClosedError'; readonly reason: 'close' | 'versionchange' }
  | { readonly name: 'SyncError'; readonly code: 'unauthorized' | 'too_large' | 'network' | 'server' | 'protocol' | 'rate_limited'; readonly retryAfterMs?: number }
);
/** `conflict_to_js`. */
export interface RawConflict {
  readonly key: number;
  readonly stream: string;
  readonly expected: RawExpectedVersion;
  readonly actual: number | null;
  readonly reason: 'wrong_expected_version' | 'duplicate_event_id' | 'too_large';
  readonly events: RawEvent[];
}
/** `sync_status_to_js`. */
export interface RawSyncState { pending: number; serverPosition: number; connected: boolean; error?: RawError }
"#;

/// `{ version, state }` (`RawSnapshot`).
pub fn snapshot_to_js(snapshot: &Snapshot) -> JsValue {
    let object = Object::new();
    set(&object, "version", &JsValue::from_f64(snapshot.version as f64));
    set(&object, "state", &value_to_js(&snapshot.state));
    object.into()
}

/// `{ nextExpectedVersion, position }` (`RawAppendResult`).
pub fn append_result_to_js(result: &AppendResult) -> JsValue {
    let object = Object::new();
    set(&object, "nextExpectedVersion", &JsValue::from_f64(result.next_expected_version as f64));
    set(&object, "position", &JsValue::from_f64(result.position as f64));
    object.into()
}

/// A `RawEvent`; its data and metadata are handed over as they are, a built one as it is.
pub fn event_to_js(event: &RecordedEvent<JsPayload>) -> JsValue {
    if let Some((events, index)) = event.data.built() {
        return events.get(index);
    }
    recorded_event(
        event.id.hyphenated().encode_lower(&mut Uuid::encode_buffer()),
        &event.stream,
        &event.event_type,
        event.version as f64,
        event.position as f64,
        &event.data.value(),
        &event.metadata.value(),
        event.recorded_at,
        event.server_position.map_or(-1.0, |p| p as f64),
    )
}

/// Events as a JavaScript array of `RawEvent`s.
pub fn events_to_js(events: &[RecordedEvent<JsPayload>]) -> JsValue {
    events_into_js(events.to_vec())
}

/// Events as a JavaScript array of `RawEvent`s, in one crossing. Events a read built are
/// handed over as built, run by run (`joinSlices`); others are built from their parts: a
/// page's names cross as one text, its numbers as one array.
pub fn events_into_js(events: Vec<RecordedEvent<JsPayload>>) -> JsValue {
    if !events.is_empty() && events.iter().all(|e| e.data.built().is_some()) {
        return built_into_js(&events);
    }
    let mut text = alloc::string::String::with_capacity(events.len() * 64);
    let mut numbers = alloc::vec::Vec::with_capacity(events.len() * 4);
    let mut payloads = alloc::vec::Vec::with_capacity(events.len() * 2);
    for event in events {
        if !text.is_empty() {
            text.push('\0');
        }
        text.push_str(event.id.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
        text.push('\0');
        text.push_str(&event.stream);
        text.push('\0');
        text.push_str(&event.event_type);
        numbers.extend([
            event.version as f64,
            event.position as f64,
            event.recorded_at,
            event.server_position.map_or(-1.0, |p| p as f64),
        ]);
        payloads.push(event.data.into_value());
        payloads.push(event.metadata.into_value());
    }
    super::events_from_parts(&text, &numbers, payloads)
}

/// Built events as slices of the runs they were built from: consecutive indexes of one run,
/// forward or backward, are one slice.
fn built_into_js(events: &[RecordedEvent<JsPayload>]) -> JsValue {
    // (run, first index, last index, backward)
    let mut slices: alloc::vec::Vec<(&alloc::rc::Rc<js_sys::Array>, u32, u32, bool)> = alloc::vec::Vec::new();
    for (events, index) in events.iter().filter_map(|e| e.data.built()) {
        if let Some((run, first, last, backward)) = slices.last_mut() {
            if alloc::rc::Rc::ptr_eq(run, events) {
                let forward_next = !*backward && index == *last + 1;
                let backward_next = (*backward || first == last) && index + 1 == *last;
                if forward_next || backward_next {
                    *backward = backward_next;
                    *last = index;
                    continue;
                }
            }
        }
        slices.push((events, index, index, false));
    }
    let mut bounds = alloc::vec::Vec::with_capacity(slices.len() * 3);
    let mut arrays = alloc::vec::Vec::with_capacity(slices.len());
    for (run, first, last, backward) in slices {
        let (start, end) = if backward { (last, first + 1) } else { (first, last + 1) };
        bounds.extend([start as f64, end as f64, if backward { 1.0 } else { 0.0 }]);
        arrays.push(JsValue::from(run.as_ref().clone()));
    }
    super::join_slices(arrays, &bounds)
}

/// The error as a `RawError`: a JavaScript `Error` whose `name` is its class's name and
/// `errorCode` its number ([`crate::core::ErrorCode`]), with the fields of that class as own
/// properties. A storage error's `cause` is what the storage threw (the `DOMException`) when
/// there is one, else its description.
pub fn error_to_js(error: Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name(error.name());
    let object: &Object = js.as_ref();
    set(object, "errorCode", &JsValue::from_f64(error.code().number().into()));
    match &error {
        Error::WrongExpectedVersion { stream, expected, actual } => {
            set(object, "stream", &JsValue::from_str(stream));
            set(object, "expected", &expected_to_js(*expected));
            set(object, "actual", &JsValue::from_f64(*actual as f64));
        }
        Error::DuplicateEventId { id } => set(object, "id", &JsValue::from_str(id)),
        Error::InvalidArgument { field, .. } => set(object, "field", &JsValue::from_str(field)),
        Error::Storage(e) => {
            let cause = e.exception.clone().unwrap_or_else(|| JsValue::from_str(&e.cause));
            set(object, "cause", &cause);
        }
        Error::Sync(e) => {
            set(object, "code", &JsValue::from_str(e.code.as_str()));
            if let Some(ms) = e.retry_after_ms {
                set(object, "retryAfterMs", &JsValue::from_f64(ms as f64));
            }
        }
        Error::StoreClosed => set(object, "reason", &JsValue::from_str("close")),
        Error::ClosedByUpgrade => set(object, "reason", &JsValue::from_str("versionchange")),
    }
    js.into()
}

/// An expected version as JavaScript spells it (`RawExpectedVersion`): a number, or `'any'`,
/// `'no_stream'`, `'stream_exists'`.
pub fn expected_to_js(expected: ExpectedVersion) -> JsValue {
    match expected {
        ExpectedVersion::Exact(n) => JsValue::from_f64(n as f64),
        named => JsValue::from_str(named.name().unwrap_or_default()),
    }
}

/// A `RawConflict` (the TypeScript layer adds `resolve`).
pub fn conflict_to_js(conflict: &Conflict<JsPayload>) -> JsValue {
    let object = Object::new();
    set(&object, "key", &JsValue::from_f64(conflict.key as f64));
    set(&object, "stream", &JsValue::from_str(&conflict.stream));
    set(&object, "expected", &expected_to_js(conflict.expected));
    set(&object, "actual", &conflict.actual.map_or(JsValue::NULL, |a| JsValue::from_f64(a as f64)));
    set(&object, "reason", &JsValue::from_str(conflict.reason.as_str()));
    set(&object, "events", &events_to_js(&conflict.events));
    object.into()
}

/// A `RawSyncState`: `{ pending, serverPosition, connected, error? }`.
pub fn sync_status_to_js(status: SyncStatus) -> JsValue {
    let object = Object::new();
    set(&object, "pending", &JsValue::from_f64(status.pending as f64));
    set(&object, "serverPosition", &JsValue::from_f64(status.server_position as f64));
    set(&object, "connected", &JsValue::from_bool(status.connected));
    if let Some(error) = status.error {
        set(&object, "error", &error_to_js(error));
    }
    object.into()
}
