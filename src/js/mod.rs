//! The one place where JavaScript values and core types meet, both ways, for the bindings
//! ([`crate::wasm`]) and the IndexedDB backend ([`crate::idb`]): caller arguments become core
//! input, every malformed one an `InvalidArgument` naming it ([`input`]); JSON-compatible values
//! cross both ways ([`value`]); results and errors take the shapes the TypeScript layer is
//! typed against ([`output`], whose declarations wasm-bindgen writes into `annals.d.ts`).
//! Conversion only: what is valid is decided in [`crate::core`].

mod input;
mod output;
mod payload;
mod value;

pub use input::*;
pub use output::*;
pub use payload::*;
pub use value::*;

use alloc::{string::String, vec::Vec};

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

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
export function runFields(record, numbers) {
  const { last, version, stream, ids, types, times, server, data, metadata } = record;
  const n = Array.isArray(ids) ? ids.length : -1;
  numbers[0] = typeof last === 'number' ? last : NaN;
  numbers[1] = typeof version === 'number' ? version : NaN;
  if (typeof stream !== 'string' || stream.includes('\0') || n < 1 || numbers.length < 2 + 3 * n) return undefined;
  for (const a of [types, times, server, data, metadata]) if (!Array.isArray(a) || a.length !== n) return undefined;
  let text = stream;
  for (let i = 0; i < n; i++) {
    const id = ids[i], type = types[i], time = times[i], at = server[i];
    if (typeof id !== 'string' || typeof type !== 'string' || id.includes('\0') || type.includes('\0')) return undefined;
    text += '\0' + id + '\0' + type;
    numbers[2 + i] = typeof time === 'number' ? time : NaN;
    numbers[2 + n + i] = at == null ? -1 : typeof at === 'number' ? at : NaN;
    const m = metadata[i];
    numbers[2 + 2 * n + i] = typeof m === 'object' && m !== null && !Array.isArray(m) ? 1 : 0;
  }
  return text;
}
export function runPayloads(record) {
  const { data, metadata } = record;
  const n = Array.isArray(data) && Array.isArray(metadata) ? Math.min(data.length, metadata.length) : 0;
  const out = new Array(2 * n);
  for (let i = 0; i < n; i++) { out[2 * i] = data[i]; out[2 * i + 1] = metadata[i]; }
  return out;
}
export function newRun(numbers, text, payloads) {
  let i = 0, at = 0;
  const str = () => { const n = numbers[i++]; const s = text.slice(at, at + n); at += n; return s; };
  const value = () => {
    switch (numbers[i++]) {
      case 0: return null;
      case 1: return true;
      case 2: return false;
      case 3: return numbers[i++];
      case 4: return str();
      case 5: { const n = numbers[i++], a = new Array(n); for (let k = 0; k < n; k++) a[k] = value(); return a; }
      case 6: {
        const n = numbers[i++], o = {};
        for (let k = 0; k < n; k++) {
          const key = str(), v = value();
          if (key === '__proto__') defineData(o, key, v); else o[key] = v;
        }
        return o;
      }
      default: return payloads[numbers[i++]];
    }
  };
  const last = numbers[i++], version = numbers[i++], n = numbers[i++], outbox = numbers[i++], expected = numbers[i++];
  const stream = str();
  const ids = new Array(n), types = new Array(n), data = new Array(n), metadata = new Array(n), times = new Array(n), server = new Array(n);
  for (let e = 0; e < n; e++) {
    ids[e] = str(); types[e] = str(); times[e] = numbers[i++];
    const s = numbers[i++]; server[e] = s < 0 ? null : s;
    data[e] = value(); metadata[e] = value();
  }
  const record = { last, stream, version, ids, types, data, metadata, times, server };
  if (outbox >= 0) { record.outbox = outbox; record.expected = expected >= 0 ? expected : ['any', 'no_stream', 'stream_exists'][-1 - expected]; }
  return record;
}
export function runEvents(record) {
  const { last, version, stream, ids, types, data, metadata, times, server } = record;
  const n = ids.length, first = last - n + 1, base = version - n + 1, out = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = { id: ids[i], stream, type: types[i], version: base + i, position: first + i, data: data[i],
      metadata: metadata[i], recordedAt: new Date(times[i]), serverPosition: server[i] ?? null };
  }
  return out;
}
export function joinSlices(arrays, bounds) {
  const out = [];
  for (let k = 0; k < arrays.length; k++) {
    const a = arrays[k], start = bounds[3 * k], end = bounds[3 * k + 1];
    if (bounds[3 * k + 2]) for (let i = end - 1; i >= start; i--) out.push(a[i]);
    else for (let i = start; i < end; i++) out.push(a[i]);
  }
  return out;
}
export function eventsFromParts(text, numbers, payloads) {
  const n = payloads.length >> 1;
  const parts = n > 0 ? text.split('\0') : [];
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const k = 4 * i, at = numbers[k + 3];
    out[i] = { id: parts[3 * i], stream: parts[3 * i + 1], type: parts[3 * i + 2], version: numbers[k],
      position: numbers[k + 1], data: payloads[2 * i], metadata: payloads[2 * i + 1],
      recordedAt: new Date(numbers[k + 2]), serverPosition: at < 0 ? null : at };
  }
  return out;
}
export function runLength(record) {
  const ids = record?.ids;
  return Array.isArray(ids) ? ids.length : typeof record?.removed === 'number' ? -record.removed : 0;
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
export function abandonOpen(request) {
  request.onblocked = null;
  request.onupgradeneeded = () => request.transaction.abort();
  request.onsuccess = () => request.result.close();
  request.onerror = (event) => event.preventDefault();
}
export function defineData(object, key, value) {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
}
")]
extern "C" {
    /// A recorded event as the contract shapes it; a negative `server_position` is `null`.
    #[wasm_bindgen(js_name = recordedEvent)]
    #[allow(clippy::too_many_arguments)]
    fn recorded_event(
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
    pub(crate) fn stored_event_fields(record: &JsValue, numbers: &mut [f64]) -> Option<String>;
    /// The fields of a `log` record (schema 3) in one crossing: its stream and each event's id
    /// and type joined by NUL, when every field has its stored type and no text holds NUL (so
    /// the split is exact); `numbers` gets `last`, `version`, then each event's `recordedAt`,
    /// then each event's server position (-1 for null), then 1 or 0 for each event's metadata
    /// being a plain object or not (the check [`crate::core::Payload::is_object`] makes of a
    /// `JsValue`, made here so a built event is not read back for it). `numbers` must hold
    /// `2 + 3n` for the record's `n` events ([`run_length`]).
    #[wasm_bindgen(js_name = runFields)]
    pub(crate) fn run_fields(record: &JsValue, numbers: &mut [f64]) -> Option<String>;
    /// A `log` record's data and metadata, interleaved (`[data0, metadata0, data1, …]`), in one
    /// crossing; shorter when the columns are not arrays of one length ([`run_fields`] refuses
    /// such a record).
    #[wasm_bindgen(js_name = runPayloads)]
    pub(crate) fn run_payloads(record: &JsValue) -> Vec<JsValue>;
    /// A `log` record built in one crossing from a [`RunTape`](crate::idb::record)'s numbers,
    /// text and JavaScript values.
    #[wasm_bindgen(js_name = newRun)]
    pub(crate) fn new_run(numbers: &[f64], text: &str, payloads: Vec<JsValue>) -> JsValue;
    /// The `RawEvent`s of a `log` record [`run_fields`] passed, in order, built in one call.
    #[wasm_bindgen(js_name = runEvents)]
    pub(crate) fn run_events(record: &JsValue) -> Array;
    /// One array of the slices `arrays[k][bounds[3k] .. bounds[3k + 1]]`, each reversed when
    /// `bounds[3k + 2]` is 1.
    #[wasm_bindgen(js_name = joinSlices)]
    fn join_slices(arrays: Vec<JsValue>, bounds: &[f64]) -> JsValue;
    /// The `RawEvent`s of a page in one crossing: `text` holds each event's id, stream and type
    /// joined by NUL (no name holds NUL), `numbers` its version, position, recordedAt and server
    /// position (-1: null), `payloads` its data and metadata interleaved.
    #[wasm_bindgen(js_name = eventsFromParts)]
    fn events_from_parts(text: &str, numbers: &[f64], payloads: Vec<JsValue>) -> JsValue;
    /// How many events a `log` record holds; minus the count of a tombstone record; 0 for
    /// anything else.
    #[wasm_bindgen(js_name = runLength)]
    pub(crate) fn run_length(record: &JsValue) -> f64;
    /// The length in UTF-8 bytes of `JSON.stringify(value)`.
    #[wasm_bindgen(js_name = jsonBytes)]
    pub(crate) fn json_bytes(value: &JsValue) -> f64;
    /// Gives up an `IDBOpenDBRequest`: its handlers become JavaScript functions that abort the
    /// upgrade should it start after all, and close the connection should it open.
    #[wasm_bindgen(js_name = abandonOpen)]
    pub(crate) fn abandon_open(request: &web_sys::IdbOpenDbRequest);
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
const THREW: &str = "could not be read: a getter or Proxy trap threw";

/// `object[key]` read from caller-supplied input: `Err` when reading it throws, never a guess.
fn try_read(object: &JsValue, key: &'static str) -> Result<JsValue, &'static str> {
    if !object.is_object() {
        return Ok(JsValue::UNDEFINED);
    }
    with_name(key, |key| Reflect::get(object, key)).map_err(|_| THREW)
}

thread_local! {
    /// Field names made JavaScript strings, by the address and length of their `'static` text.
    static NAMES: core::cell::RefCell<Vec<(usize, usize, JsValue)>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// `f` with `key` as a JavaScript string, made once per name: reading the fields of every event
/// would otherwise send each name across again. `'static` names only (the code's own), so the
/// set stays small and an address never stands for another text.
fn with_name<T>(key: &'static str, f: impl FnOnce(&JsValue) -> T) -> T {
    NAMES.with(|names| {
        let address = (key.as_ptr() as usize, key.len());
        if let Some((_, _, name)) = names.borrow().iter().find(|(p, n, _)| (*p, *n) == address) {
            return f(name);
        }
        let name = JsValue::from_str(key);
        let result = f(&name);
        names.borrow_mut().push((address.0, address.1, name));
        result
    })
}

/// The items of a caller-supplied array, read one by one (a Proxy's traps may throw).
fn try_items(array: &JsValue) -> Result<Vec<JsValue>, &'static str> {
    let length = Reflect::get(array, &JsValue::from_str("length")).map_err(|_| THREW)?;
    let length = length.as_f64().unwrap_or(0.0) as u32;
    (0..length)
        .map(|i| Reflect::get_u32(array, i).map_err(|_| THREW))
        .collect()
}

/// The text of `js` when it is a string: `Some(Err(..))` when it holds a lone surrogate,
/// which no Rust `String` can carry. Such strings are refused, never altered: replacing the
/// surrogate would silently merge two different names or keys.
fn string_from_js(js: &JsValue) -> Option<Result<String, &'static str>> {
    let text = js.as_string()?;
    // Decoding turns a lone surrogate into U+FFFD, so only then is the original asked.
    if text.contains('\u{FFFD}') && !js.unchecked_ref::<JsText>().is_well_formed() {
        return Some(Err("holds a lone surrogate (not Unicode text)"));
    }
    Some(Ok(text))
}

/// Sets `object[key] = value` as an own, enumerable data property.
pub fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// `object[key]`, or `undefined` when `object` is not an object or reading it throws. Only for
/// values the store made itself (records, globals); caller input goes through [`input`].
pub fn get(object: &JsValue, key: &'static str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    with_name(key, |key| Reflect::get(object, key)).unwrap_or(JsValue::UNDEFINED)
}
