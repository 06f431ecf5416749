//! A sync server in memory for tests: it decides pushes with the core's own `decide_batch` (as
//! annals-server does over PostgreSQL), pages pulls by whole appends, and announces heads.
//! Devices reach it through a [`Link`] that can be taken offline, lose push answers after the
//! server committed, answer 429, duplicate pushes and pull answers, hold pushes back to deliver
//! them later (in order or reversed), answer a pull with a stale answer, stall a request for
//! good (a device restarting drops it), and records the backoff it was asked to wait. Devices may keep payloads
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
impl TestPayload for annals::js::JsPayload {
    fn from_value(value: &Value) -> Self {
        annals::js::JsPayload::Value(annals::js::value_to_js(value))
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
    /// The sender ([`Link::id`]) of every push received, in order.
    pub senders: RefCell<Vec<u64>>,
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
        self.push_from(0, appends)
    }

    /// [`push`](Self::push), from sender `sender`.
    pub fn push_from<P: Payload>(&self, sender: u64, appends: &[PendingAppend<P>]) -> PushReply {
        self.pushes.set(self.pushes.get() + 1);
        self.senders.borrow_mut().push(sender);
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
    static NEXT_LINK: Cell<u64> = const { Cell::new(1) };
}

/// The test clock's time (a [`StoreConfig::now`]).
pub fn test_now() -> f64 {
    NOW.with(|n| n.get())
}

/// Moves the test clock `ms` on.
pub fn advance_clock(ms: f64) {
    NOW.with(|n| n.set(n.get() + ms));
}

/// Where a request stalls for good ([`Link::stall`]): a restart drops it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stall {
    /// A push that never reached the server.
    PushUnsent,
    /// A push the server committed, whose answer never comes.
    PushCommitted,
    /// A pull never answered.
    Pull,
}

/// What the network did to a link's messages, counted when it happened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Push answers lost after the server committed.
    pub lost_answers: u64,
    /// Pushes the server received twice.
    pub duplicated_pushes: u64,
    /// Pull answers delivered again, as the answer to the next pull.
    pub duplicated_pull_answers: u64,
    /// Pushes held back and delivered to the server later.
    pub delayed_pushes: u64,
    /// Of those, delivered after the server had taken pushes from others meanwhile.
    pub delayed_past_others: u64,
    /// Of those, delivered after the sender had pushed again (its retry).
    pub delayed_past_retry: u64,
    /// Held pushes delivered in reverse order (two or more at once), counted per push.
    pub reordered_pushes: u64,
    /// Older pull answers delivered after newer ones.
    pub stale_pull_answers: u64,
    /// Requests stalled for good.
    pub stalled: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
}

impl Faults {
    /// Both counts added.
    pub fn add(&mut self, other: Faults) {
        self.lost_answers += other.lost_answers;
        self.duplicated_pushes += other.duplicated_pushes;
        self.duplicated_pull_answers += other.duplicated_pull_answers;
        self.delayed_pushes += other.delayed_pushes;
        self.delayed_past_others += other.delayed_past_others;
        self.delayed_past_retry += other.delayed_past_retry;
        self.reordered_pushes += other.reordered_pushes;
        self.stale_pull_answers += other.stale_pull_answers;
        self.stalled += other.stalled;
        self.rate_limited += other.rate_limited;
    }
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
    /// Sleeps move the test clock to their end (else the clock stands still: a wall clock
    /// that reads short of a timer).
    pub sleeps_move_clock: Cell<bool>,
    /// Every request that reached the link: its kind and the test clock's time.
    pub log: RefCell<Vec<(&'static str, f64)>>,
    /// The next this many pushes reach the server twice (the network repeated the request);
    /// the device gets the first answer.
    pub duplicate_pushes: Cell<u32>,
    /// The next this many pushes are held in the network: the device sees a network failure,
    /// and [`deliver_held`](Self::deliver_held) hands them to the server later.
    pub hold_pushes: Cell<u32>,
    /// Pushes held, oldest first, each with the server's push count when held.
    pub held: RefCell<VecDeque<(Vec<PendingAppend<P>>, usize)>>,
    /// Names this link's device to the server (a restarted device's new link takes it over).
    pub id: Cell<u64>,
    /// The next this many pulls get the previous pull's answer again instead of their own.
    pub duplicate_pull_answers: Cell<u32>,
    /// The next this many pulls get an older answer instead of their own: the one
    /// [`stale_age`](Self::stale_age) answers back (the oldest kept, if fewer).
    pub stale_pull_answers: Cell<u32>,
    pub stale_age: Cell<usize>,
    /// The last pull answers delivered, oldest first (at most 8).
    pull_answers: RefCell<VecDeque<PullReply<P>>>,
    /// The next request of this kind never completes.
    pub stall: Cell<Option<Stall>>,
    /// What the network did, so far.
    pub faults: Cell<Faults>,
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
            sleeps_move_clock: Cell::new(true),
            duplicate_pushes: Cell::new(0),
            hold_pushes: Cell::new(0),
            held: RefCell::default(),
            id: Cell::new(NEXT_LINK.with(|n| n.replace(n.get() + 1))),
            duplicate_pull_answers: Cell::new(0),
            stale_pull_answers: Cell::new(0),
            stale_age: Cell::new(0),
            pull_answers: RefCell::default(),
            stall: Cell::new(None),
            faults: Cell::new(Faults::default()),
            payload: std::marker::PhantomData,
        }
    }

    fn count(&self, fault: impl FnOnce(&mut Faults)) {
        let mut faults = self.faults.get();
        fault(&mut faults);
        self.faults.set(faults);
    }

    /// Takes `n` from a counter of faults to come, if it holds any.
    fn take(counter: &Cell<u32>) -> bool {
        let n = counter.get();
        if n > 0 {
            counter.set(n - 1);
        }
        n > 0
    }

    fn reach(&self, kind: &'static str) -> Result<(), SyncError> {
        self.requests.set(self.requests.get() + 1);
        if !self.online.get() {
            return Err(SyncError::new(SyncErrorCode::Network, "offline"));
        }
        self.log.borrow_mut().push((kind, test_now()));
        if kind != "notice" {
            let limited = self.rate_limits.borrow_mut().pop_front();
            if let Some(ms) = limited {
                self.count(|f| f.rate_limited += 1);
                return Err(SyncError::rate_limited("429", ms));
            }
        }
        Ok(())
    }
}

impl<P: TestPayload> Link<P> {
    /// Hands every held push to the server, oldest first or (`reverse`) newest first; their
    /// answers go nowhere. How many were delivered.
    pub fn deliver_held(&self, reverse: bool) -> usize {
        let mut held: Vec<_> = self.held.borrow_mut().drain(..).collect();
        let n = held.len();
        if reverse {
            held.reverse();
        }
        let (mut past_others, mut past_retry) = (0, 0);
        for (appends, since) in &held {
            let senders = self.server.senders.borrow()[*since..].to_vec();
            past_others += u64::from(senders.iter().any(|&s| s != self.id.get()));
            past_retry += u64::from(senders.iter().any(|&s| s == self.id.get()));
            self.server.push_from(self.id.get(), appends);
        }
        self.count(|f| {
            f.delayed_pushes += n as u64;
            f.delayed_past_others += past_others;
            f.delayed_past_retry += past_retry;
            if reverse && n > 1 {
                f.reordered_pushes += n as u64;
            }
        });
        n
    }

    /// Ends every fault to come (held pushes stay held).
    pub fn heal(&self) {
        self.online.set(true);
        self.lose_push_answers.set(0);
        self.duplicate_pushes.set(0);
        self.hold_pushes.set(0);
        self.duplicate_pull_answers.set(0);
        self.stale_pull_answers.set(0);
        self.stall.set(None);
        self.rate_limits.borrow_mut().clear();
    }
}

impl<P: TestPayload> Transport for Link<P> {
    type Payload = P;

    async fn push(&self, appends: &[PendingAppend<P>]) -> Result<PushReply, SyncError> {
        self.reach("push")?;
        if let Some(limits) = self.too_large.borrow_mut().pop_front() {
            return Err(SyncError { limits, ..SyncError::new(SyncErrorCode::TooLarge, "413") });
        }
        if self.stall.get() == Some(Stall::PushUnsent) {
            self.stall.set(None);
            self.count(|f| f.stalled += 1);
            return std::future::pending().await;
        }
        if Self::take(&self.hold_pushes) {
            self.held.borrow_mut().push_back((appends.to_vec(), self.server.senders.borrow().len()));
            return Err(SyncError::new(SyncErrorCode::Network, "no answer in time (the push is held in the network)"));
        }
        let reply = self.server.push_from(self.id.get(), appends);
        if Self::take(&self.duplicate_pushes) {
            self.server.push_from(self.id.get(), appends);
            self.count(|f| f.duplicated_pushes += 1);
        }
        if self.stall.get() == Some(Stall::PushCommitted) {
            self.stall.set(None);
            self.count(|f| f.stalled += 1);
            return std::future::pending().await;
        }
        if Self::take(&self.lose_push_answers) {
            self.count(|f| f.lost_answers += 1);
            return Err(SyncError::new(SyncErrorCode::Network, "the answer was lost"));
        }
        Ok(reply)
    }

    async fn pull(&self, after: u64, limit: usize) -> Result<PullReply<P>, SyncError> {
        self.reach("pull")?;
        if self.stall.get() == Some(Stall::Pull) {
            self.stall.set(None);
            self.count(|f| f.stalled += 1);
            return std::future::pending().await;
        }
        let kept = self.pull_answers.borrow().len();
        if kept > 0 && Self::take(&self.duplicate_pull_answers) {
            self.count(|f| f.duplicated_pull_answers += 1);
            return Ok(self.pull_answers.borrow()[kept - 1].clone());
        }
        if kept > 1 && Self::take(&self.stale_pull_answers) {
            self.count(|f| f.stale_pull_answers += 1);
            let age = self.stale_age.get().clamp(1, kept - 1);
            return Ok(self.pull_answers.borrow()[kept - 1 - age].clone());
        }
        let reply = self.server.pull(after, limit);
        let mut answers = self.pull_answers.borrow_mut();
        answers.push_back(reply.clone());
        if answers.len() > 8 {
            answers.pop_front();
        }
        Ok(reply)
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
        if self.sleeps_move_clock.get() {
            NOW.with(|n| n.set(n.get().max(end)));
        }
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
