//! A sync server in memory for tests: it decides pushes with the core's own `decide_batch` (as
//! annals-server does over PostgreSQL), pages pulls by whole appends, and announces heads.
//! Devices reach it through a [`Link`] that can be taken offline, lose push answers after the
//! server committed, and records the backoff it was asked to wait. Devices may keep payloads
//! in any form ([`TestPayload`]): memory stores natively, IndexedDB stores in browsers. Test
//! files using it declare `mod conformance;` too (its read helpers).
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use annals::core::sync::*;
use annals::core::*;

/// A payload form a test device can store: built from the server's [`Value`]s.
pub trait TestPayload: Payload {
    /// The payload holding `value`.
    fn from_value(value: &Value) -> Self;
}

impl TestPayload for Value {
    fn from_value(value: &Value) -> Self {
        value.clone()
    }
}

#[cfg(target_arch = "wasm32")]
impl TestPayload for wasm_bindgen::JsValue {
    fn from_value(value: &Value) -> Self {
        annals::js::value_to_js(value)
    }
}

/// The server's state for one tenant.
#[derive(Debug, Default)]
pub struct ServerState {
    /// The log; `ends[i]` is the position of the last event of the append holding `log[i]`.
    pub log: Vec<RecordedEvent>,
    ends: Vec<u64>,
    versions: BTreeMap<String, u64>,
    ids: BTreeMap<Uuid, usize>,
}

impl BatchState for ServerState {
    fn head(&self) -> u64 {
        self.log.len() as u64
    }
    fn stream_version(&self, stream: &str) -> u64 {
        self.versions.get(stream).copied().unwrap_or(0)
    }
    fn event(&self, id: &Uuid) -> Option<RecordedEvent> {
        self.ids.get(id).map(|&i| self.log[i].clone())
    }
    fn write(&mut self, request: &AppendRequest, events: Vec<RecordedEvent>) {
        let end = events.last().map_or(0, |e| e.position);
        self.versions.insert(request.stream.clone(), events.last().map_or(0, |e| e.version));
        for mut event in events {
            event.server_position = Some(event.position);
            self.ids.insert(event.id, self.log.len());
            self.log.push(event);
            self.ends.push(end);
        }
    }
}

/// The server: one tenant.
#[derive(Debug, Default)]
pub struct Server {
    pub state: RefCell<ServerState>,
    /// Advanced to the head after each commit.
    pub heads: Notifier,
    pub pushes: Cell<u64>,
    pub pulls: Cell<u64>,
    /// What its replies say of its limits (it enforces none itself).
    pub limits: Cell<Option<Limits>>,
}

impl Server {
    pub fn new() -> Rc<Server> {
        Rc::new(Server::default())
    }

    /// Decides a push as annals-server does: validated with the core's rules, then one
    /// transaction where a refused append stops the later appends of its stream.
    pub fn push<P: Payload>(&self, appends: &[PendingAppend<P>]) -> PushReply {
        self.pushes.set(self.pushes.get() + 1);
        let requests: Vec<AppendRequest> = appends
            .iter()
            .map(|a| {
                let events = a
                    .events
                    .iter()
                    .map(|e| {
                        let e = e.to_values().expect("a pending event's payload");
                        EventInput::new(e.event_type, e.data).with_metadata(e.metadata).with_id(e.id.to_string())
                    })
                    .collect();
                AppendRequest::new(&a.stream, events, a.expected, 1 << 20, a.recorded_at(), Uuid::nil)
                    .expect("clients push valid appends")
            })
            .collect();
        let mut state = self.state.borrow_mut();
        let outcomes = decide_batch(&mut *state, &requests, Chaining::ByStream)
            .into_iter()
            .zip(&requests)
            .map(|(outcome, request)| match outcome {
                Outcome::Written(result) => PushOutcome::Accepted { result, repeat: false },
                Outcome::Repeated(result) => PushOutcome::Accepted { result, repeat: true },
                Outcome::Skipped => PushOutcome::Skipped,
                Outcome::Refused(Error::WrongExpectedVersion { actual, .. }) => PushOutcome::Refused(Refusal {
                    reason: ConflictReason::WrongExpectedVersion,
                    actual: Some(actual),
                    id: None,
                }),
                Outcome::Refused(Error::DuplicateEventId { id }) => PushOutcome::Refused(Refusal {
                    reason: ConflictReason::DuplicateEventId,
                    actual: Some(state.stream_version(&request.stream)),
                    id: Uuid::try_parse(&id).ok(),
                }),
                Outcome::Refused(other) => panic!("the server refused a valid append: {other}"),
            })
            .collect();
        let head = state.head();
        drop(state);
        self.heads.advance(head);
        PushReply { outcomes, head, limits: self.limits.get() }
    }

    /// The events after `after`, at most `limit` unless the append at the boundary is longer.
    pub fn pull<P: TestPayload>(&self, after: u64, limit: usize) -> PullReply<P> {
        self.pulls.set(self.pulls.get() + 1);
        let state = self.state.borrow();
        let head = state.log.len() as u64;
        let start = after.min(head) as usize;
        let mut end = (start + limit).min(head as usize);
        if end > start {
            end = state.ends[end - 1] as usize;
        }
        let events = state.log[start..end]
            .iter()
            .map(|e| RecordedEvent { position: 0, ..e.clone() }.map_payload(|v| P::from_value(&v)))
            .collect();
        PullReply { events, head, limits: self.limits.get() }
    }

    pub fn head(&self) -> u64 {
        self.state.borrow().log.len() as u64
    }

    /// The server's events of `stream`, in version order.
    pub fn stream(&self, stream: &str) -> Vec<RecordedEvent> {
        self.state.borrow().log.iter().filter(|e| e.stream == stream).cloned().collect()
    }
}

thread_local! {
    /// The test's clock, in ms: advanced only by sleeps that end ([`Link::sleep`]) and by
    /// [`advance_clock`]. One per test thread.
    static NOW: Cell<f64> = const { Cell::new(1_764_374_400_000.0) };
}

/// The test clock's time (a [`StoreConfig::now`]).
pub fn test_now() -> f64 {
    NOW.with(|n| n.get())
}

/// Moves the test clock `ms` on.
pub fn advance_clock(ms: f64) {
    NOW.with(|n| n.set(n.get() + ms));
}

/// A device's connection to the server, for devices storing payloads as `P`.
#[derive(Debug)]
pub struct Link<P = Value> {
    pub server: Rc<Server>,
    pub online: Cell<bool>,
    /// The next this many pushes commit on the server, then fail as if the answer was lost.
    pub lose_push_answers: Cell<u32>,
    /// The next this many pushes are refused with 413 and these limits.
    pub too_large: RefCell<VecDeque<Option<Limits>>>,
    /// Every wait the engine asked for, in ms.
    pub sleeps: RefCell<Vec<u32>>,
    /// Completes sleeps when advanced (a test's clock).
    pub clock: Notifier,
    pub requests: Cell<u64>,
    /// The notice stream fails at once (push and pull still work).
    pub notices_fail: Cell<bool>,
    /// The next requests (push or pull) are answered 429, each asking for this wait (ms).
    pub rate_limits: RefCell<VecDeque<u64>>,
    /// Every request that reached the link: its kind and the test clock's time.
    pub log: RefCell<Vec<(&'static str, f64)>>,
    payload: std::marker::PhantomData<P>,
}

impl<P> Link<P> {
    pub fn new(server: &Rc<Server>) -> Link<P> {
        Link {
            server: server.clone(),
            online: Cell::new(true),
            lose_push_answers: Cell::new(0),
            too_large: RefCell::default(),
            sleeps: RefCell::default(),
            clock: Notifier::default(),
            requests: Cell::new(0),
            notices_fail: Cell::new(false),
            rate_limits: RefCell::default(),
            log: RefCell::default(),
            payload: std::marker::PhantomData,
        }
    }

    fn reach(&self, kind: &'static str) -> Result<(), SyncError> {
        self.requests.set(self.requests.get() + 1);
        if !self.online.get() {
            return Err(SyncError::new(SyncErrorCode::Network, "offline"));
        }
        self.log.borrow_mut().push((kind, test_now()));
        if kind != "notice" {
            if let Some(ms) = self.rate_limits.borrow_mut().pop_front() {
                return Err(SyncError::rate_limited("429", ms));
            }
        }
        Ok(())
    }
}

impl<P: TestPayload> Transport for Link<P> {
    type Payload = P;

    async fn push(&self, appends: &[PendingAppend<P>]) -> Result<PushReply, SyncError> {
        self.reach("push")?;
        if let Some(limits) = self.too_large.borrow_mut().pop_front() {
            return Err(SyncError { limits, ..SyncError::new(SyncErrorCode::TooLarge, "413") });
        }
        let reply = self.server.push(appends);
        if self.lose_push_answers.get() > 0 {
            self.lose_push_answers.set(self.lose_push_answers.get() - 1);
            return Err(SyncError::new(SyncErrorCode::Network, "the answer was lost"));
        }
        Ok(reply)
    }

    async fn pull(&self, after: u64, limit: usize) -> Result<PullReply<P>, SyncError> {
        self.reach("pull")?;
        Ok(self.server.pull(after, limit))
    }

    async fn notice(&self, known: u64) -> Result<u64, SyncError> {
        self.reach("notice")?;
        if self.notices_fail.get() {
            return Err(SyncError::new(SyncErrorCode::Network, "the notice stream broke"));
        }
        loop {
            let seq = self.server.heads.seq();
            let head = self.server.head();
            if head > known {
                return Ok(head);
            }
            self.server.heads.changed(seq).await;
        }
    }

    /// Ends when the test advances [`clock`](Self::clock); the test clock then reads at least
    /// the sleep's end.
    async fn sleep(&self, ms: u32) {
        self.sleeps.borrow_mut().push(ms);
        let end = test_now() + ms as f64;
        let seq = self.clock.seq();
        self.clock.changed(seq).await;
        NOW.with(|n| n.set(n.get().max(end)));
    }

    fn event_bytes(&self, event: &RecordedEvent<P>) -> usize {
        let e = event.to_values().expect("payload");
        e.event_type.len() + e.data.json_len() + e.metadata.json_len()
    }
}

/// A device: a store and its engine over a link to the server.
pub type Device<B> = Rc<SyncEngine<B, Link<<B as Backend>::Payload>>>;

/// `store` syncing with `server`.
pub fn attach<B: SyncBackend>(store: &Rc<Store<B>>, server: &Rc<Server>, live: bool) -> Device<B>
where
    B::Payload: TestPayload,
{
    Rc::new(SyncEngine::new(store.clone(), Link::new(server), SyncOptions { live }).expect("engine"))
}

/// A memory store syncing with `server`.
pub async fn device(server: &Rc<Server>, live: bool) -> (Rc<Store<MemoryBackend>>, Device<MemoryBackend>) {
    let store = Store::open(MemoryBackend::new(), StoreConfig { now: test_now, ..StoreConfig::default() })
        .await
        .expect("open");
    let engine = attach(&store, server, live);
    (store, engine)
}

/// Every event of `stream` in the store, in version order.
pub async fn stream<B: Backend>(store: &Rc<Store<B>>, stream: &str) -> Vec<RecordedEvent> {
    crate::conformance::read_stream(store, stream, ReadStreamOptions::default()).await
}

/// Every event in the store, in local order.
pub async fn all<B: Backend>(store: &Rc<Store<B>>) -> Vec<RecordedEvent> {
    crate::conformance::read_all(store, ReadAllOptions::default()).await
}

/// What convergence compares: ids, versions, types, data, metadata, server positions.
pub fn shape(events: &[RecordedEvent]) -> Vec<(Uuid, u64, String, Value, Value, Option<u64>)> {
    events
        .iter()
        .map(|e| (e.id, e.version, e.event_type.clone(), e.data.clone(), e.metadata.clone(), e.server_position))
        .collect()
}
