//! Sync in JavaScript: the engine of [`crate::core::sync`] over a transport object the
//! TypeScript layer supplies (fetch and a notice stream; `pkg-js/src/sync.ts`). Here only
//! conversion: pending appends to the push body, answers to core types.

use alloc::{format, rc::Rc, string::String, vec::Vec};

use js_sys::{Array, Object, Promise};
use crate::js::JsPayload;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::AnyBackend;
use crate::core::sync::{
    ConflictFeed, ConflictReason, Limits, PendingAppend, PullReply, PushOutcome, PushReply, Refusal,
    Resolution, SyncEngine, SyncError, SyncErrorCode, SyncOptions, Transport,
};
use crate::core::{safe_integer, AppendResult, Error, RecordedEvent, Store, Uuid};
use crate::js::{
    conflict_to_js, count as count_argument, error_to_js, expected_to_js, get, json_bytes, set, sync_status_to_js,
};

#[wasm_bindgen(typescript_custom_section)]
const TRANSPORT: &str = r#"
/** An HTTP exchange as the transport reports it: the status, the parsed JSON body (`undefined` when not JSON) and the `Retry-After` header (`null` when absent). */
export interface RawAnswer { status: number; body: unknown; retryAfter?: string | null }
/** What `WasmStore.sync` is handed (`SyncTransport`). */
export interface RawTransport {
  push(body: unknown): Promise<RawAnswer>;
  pull(after: number, limit: number): Promise<RawAnswer>;
  notice(known: number): Promise<number>;
  sleep(ms: number): Promise<void>;
  close(): void;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// What `pkg-js/src/sync.ts` hands in (`RawTransport`): HTTP and timers, nothing decided.
    pub type SyncTransport;
    /// `POST /v1/push` with `body` as JSON: resolves `{ status, body }` (`body` parsed JSON or
    /// `undefined`); rejects when the server cannot be reached.
    #[wasm_bindgen(method)]
    fn push(this: &SyncTransport, body: &JsValue) -> Promise;
    /// `GET /v1/pull?after&limit`: as `push`.
    #[wasm_bindgen(method)]
    fn pull(this: &SyncTransport, after: f64, limit: f64) -> Promise;
    /// Resolves with the server's head once the notice stream reports one above `known`;
    /// rejects when the stream fails (with the `RawAnswer` when the server refused it).
    #[wasm_bindgen(method)]
    fn notice(this: &SyncTransport, known: f64) -> Promise;
    /// Resolves after `ms` milliseconds (the timer is cleared when the transport closes).
    #[wasm_bindgen(method)]
    fn sleep(this: &SyncTransport, ms: f64) -> Promise;
    /// Aborts every request and the notice stream, clears every timer.
    #[wasm_bindgen(method)]
    fn close(this: &SyncTransport);
}

/// The engine's transport over a [`SyncTransport`].
pub struct JsTransport(SyncTransport);

/// What a failed request stands for: the server's refusal when it threw a `RawAnswer` (a
/// notice stream refused), else a network failure.
fn network(thrown: JsValue) -> SyncError {
    if let Some(status) = get(&thrown, "status").as_f64() {
        return answer_error(status as u16, &thrown);
    }
    let message = get(&thrown, "message").as_string().or_else(|| thrown.as_string());
    SyncError::new(SyncErrorCode::Network, message.unwrap_or_else(|| "the server could not be reached".into()))
}

fn protocol(what: &str) -> SyncError {
    SyncError::protocol(format!("the server's answer is not the protocol: {what}"))
}

fn count(value: &JsValue, field: &str) -> Result<u64, SyncError> {
    value.as_f64().and_then(safe_integer).ok_or_else(|| protocol(&format!("{field} is not a count")))
}

/// Awaits an HTTP exchange: the parsed JSON body of a 200, else the error its status says.
async fn exchange(request: Promise) -> Result<JsValue, SyncError> {
    let answer = JsFuture::from(request).await.map_err(network)?;
    let status = get(&answer, "status").as_f64().unwrap_or(0.0) as u16;
    let body = get(&answer, "body");
    if status == 200 {
        return if body.is_object() { Ok(body) } else { Err(protocol("the body is not a JSON object")) };
    }
    Err(answer_error(status, &answer))
}

/// The error a `RawAnswer` that is not a success stands for (`SyncError::from_answer`).
fn answer_error(status: u16, answer: &JsValue) -> SyncError {
    let body = get(answer, "body");
    SyncError::from_answer(
        status,
        get(&body, "message").as_string(),
        limits_from_js(&body),
        get(&body, "retryAfterMs").as_f64(),
        get(answer, "retryAfter").as_string().as_deref(),
    )
}

/// The `limits` an answer carries, when it carries them whole.
fn limits_from_js(body: &JsValue) -> Option<Limits> {
    let limits = get(body, "limits");
    let field = |name| get(&limits, name).as_f64().and_then(safe_integer).map(|n| n as usize);
    Some(Limits {
        max_body_bytes: field("maxBodyBytes")?,
        max_appends: field("maxAppends")?,
        max_events: field("maxEvents")?,
        // Not said by every server: then only the body limit bounds an event.
        max_event_bytes: field("maxEventBytes").unwrap_or(usize::MAX),
    })
}

/// A pending append as the push body holds it.
fn append_to_js(append: &PendingAppend<JsPayload>) -> JsValue {
    let object = Object::new();
    set(&object, "stream", &JsValue::from_str(&append.stream));
    set(&object, "expectedVersion", &expected_to_js(append.expected));
    set(&object, "recordedAt", &JsValue::from_f64(append.recorded_at()));
    let events: Array = append
        .events
        .iter()
        .map(|e| {
            let event = Object::new();
            set(&event, "id", &JsValue::from_str(&e.id.to_string()));
            set(&event, "type", &JsValue::from_str(&e.event_type));
            set(&event, "data", &e.data.value());
            set(&event, "metadata", &e.metadata.value());
            JsValue::from(event)
        })
        .collect();
    set(&object, "events", &events);
    object.into()
}

fn outcome_from_js(outcome: &JsValue) -> Result<PushOutcome, SyncError> {
    match get(outcome, "status").as_string().as_deref() {
        Some("accepted") => Ok(PushOutcome::Accepted {
            result: AppendResult {
                next_expected_version: count(&get(outcome, "nextExpectedVersion"), "nextExpectedVersion")?,
                position: count(&get(outcome, "position"), "position")?,
            },
            repeat: get(outcome, "repeat").as_bool() == Some(true),
        }),
        Some("refused") => {
            let reason = get(outcome, "reason").as_string().and_then(|r| ConflictReason::parse(&r));
            let actual = get(outcome, "actual");
            let id = get(outcome, "id").as_string().and_then(|id| Uuid::try_parse(&id).ok());
            Ok(PushOutcome::Refused(Refusal {
                reason: reason.ok_or_else(|| protocol("a refusal has no known reason"))?,
                actual: if actual.is_undefined() || actual.is_null() { None } else { Some(count(&actual, "actual")?) },
                id,
            }))
        }
        Some("skipped") => Ok(PushOutcome::Skipped),
        _ => Err(protocol("an outcome has no known status")),
    }
}

fn array(value: JsValue, field: &str) -> Result<Array, SyncError> {
    if Array::is_array(&value) {
        Ok(value.into())
    } else {
        Err(protocol(&format!("{field} is not an array")))
    }
}

impl Transport for JsTransport {
    type Payload = JsPayload;

    async fn push(&self, appends: &[PendingAppend<JsPayload>]) -> Result<PushReply, SyncError> {
        let body = Object::new();
        set(&body, "appends", &appends.iter().map(append_to_js).collect::<Array>());
        let reply = exchange(self.0.push(&body)).await?;
        let outcomes = array(get(&reply, "outcomes"), "outcomes")?
            .iter()
            .map(|o| outcome_from_js(&o))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PushReply { outcomes, head: count(&get(&reply, "head"), "head")?, limits: limits_from_js(&reply) })
    }

    async fn pull(&self, after: u64, limit: usize) -> Result<PullReply<JsPayload>, SyncError> {
        let reply = exchange(self.0.pull(after as f64, limit as f64)).await?;
        let events = array(get(&reply, "events"), "events")?
            .iter()
            .map(|record| {
                // The server's `position` is the server position; the event has no local one yet.
                let mut event = crate::idb::record::decode_event(&record)
                    .map_err(|e| protocol(&format!("a pulled event is not valid ({e})")))?;
                event.server_position = Some(event.position);
                event.position = 0;
                Ok(event)
            })
            .collect::<Result<Vec<_>, SyncError>>()?;
        Ok(PullReply { events, head: count(&get(&reply, "head"), "head")?, limits: limits_from_js(&reply) })
    }

    async fn notice(&self, known: u64) -> Result<u64, SyncError> {
        let head = JsFuture::from(self.0.notice(known as f64)).await.map_err(network)?;
        count(&head, "head")
    }

    async fn sleep(&self, ms: u32) {
        let _ = JsFuture::from(self.0.sleep(ms as f64)).await;
    }

    fn event_bytes(&self, event: &RecordedEvent<JsPayload>) -> usize {
        event.event_type.len() + (json_bytes(&event.data.value()) + json_bytes(&event.metadata.value())) as usize
    }
}

type Engine = SyncEngine<AnyBackend, JsTransport>;

/// A running sync of one store with one server.
#[wasm_bindgen]
pub struct WasmSync {
    engine: Rc<Engine>,
}

/// Starts syncing `store` over `transport`: `{ live }`.
pub(super) fn start(store: Rc<Store<AnyBackend>>, transport: JsValue, live: bool) -> Result<WasmSync, Error> {
    let engine = Rc::new(SyncEngine::new(store, JsTransport(transport.unchecked_into()), SyncOptions { live })?);
    if live {
        let running = engine.clone();
        wasm_bindgen_futures::spawn_local(async move { running.run().await });
    } else {
        let refreshing = engine.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = refreshing.refresh().await;
        });
    }
    Ok(WasmSync { engine })
}

#[wasm_bindgen]
impl WasmSync {
    /// One round: resolves once everything appended before is confirmed or in a conflict and
    /// everything the server held is here; rejects with the `SyncError` (or storage error).
    pub async fn flush(&self) -> Result<(), JsValue> {
        let engine = self.engine.clone();
        engine.flush().await.map_err(error_to_js)
    }

    /// `{ pending, serverPosition, connected, error }` as of the engine's last step.
    #[wasm_bindgen(getter, unchecked_return_type = "RawSyncState")]
    pub fn state(&self) -> JsValue {
        sync_status_to_js(self.engine.status())
    }

    /// Stops the engine and the transport: no request, stream or timer is left.
    pub fn close(&self) {
        self.engine.close();
        self.engine.transport().0.close();
    }
}

/// The store's conflicts, each once, then live.
#[wasm_bindgen]
pub struct WasmConflicts {
    feed: Rc<ConflictFeed<AnyBackend>>,
}

pub(super) fn conflicts(store: Rc<Store<AnyBackend>>) -> Result<WasmConflicts, Error> {
    Ok(WasmConflicts { feed: Rc::new(ConflictFeed::new(store)?) })
}

#[wasm_bindgen]
impl WasmConflicts {
    /// The next conflict, or `undefined` once closed.
    #[wasm_bindgen(unchecked_return_type = "RawConflict | undefined")]
    pub async fn next(&self) -> Result<JsValue, JsValue> {
        let feed = self.feed.clone();
        match feed.next().await {
            Ok(Some(conflict)) => Ok(conflict_to_js(&conflict)),
            Ok(None) => Ok(JsValue::UNDEFINED),
            Err(e) => Err(error_to_js(e)),
        }
    }

    /// Ends the feed; a pending `next()` resolves `undefined`.
    pub fn close(&self) {
        self.feed.close();
    }
}

/// Resolves conflict `key` with `'rebase'` or `'discard'`.
pub(super) async fn resolve(store: Rc<Store<AnyBackend>>, key: JsValue, action: JsValue) -> Result<(), Error> {
    let key = count_argument(&key, "key")?;
    let action: Option<String> = action.as_string();
    let resolution = action
        .as_deref()
        .and_then(Resolution::parse)
        .ok_or_else(|| Error::invalid("action", "must be 'rebase' or 'discard'"))?;
    store.resolve(key, resolution).await
}
