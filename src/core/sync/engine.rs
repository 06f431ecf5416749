//! The sync engine: runs rounds (push everything pending, then pull to the server's head),
//! on demand ([`SyncEngine::flush`]) or live in the background ([`SyncEngine::run`]), and
//! keeps the status the app sees. The transport is the platform's; the decisions are here.

use alloc::{boxed::Box, format, rc::Rc, vec::Vec};
use ::core::cell::{Cell, RefCell};
use ::core::future::Future;
use ::core::pin::Pin;

use super::backend::SyncBackend;
use super::protocol::{
    ConflictReason, Limits, PendingAppend, PullReply, PushOutcome, PushReply, Refusal, SyncError,
    SyncErrorCode, CLIENT_LIMITS, PROBE_LIMITS, PULL_LIMIT,
};
use crate::core::error::Error;
use crate::core::event::RecordedEvent;
use crate::core::notify::Notifier;
use crate::core::select::{first, Either};
use crate::core::store::Store;

/// How a platform talks to the sync server. Every call may fail with a [`SyncError`]; none
/// retries by itself (the engine decides when to try again).
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// The form event data takes: the store backend's [`Payload`](crate::core::Payload).
    type Payload;

    /// Pushes `appends` (one request); the server's outcome for each, in order.
    async fn push(&self, appends: &[PendingAppend<Self::Payload>]) -> Result<PushReply, SyncError>;

    /// The server's events after server position `after`, about `limit` of them (whole
    /// appends), and its head.
    async fn pull(&self, after: u64, limit: usize) -> Result<PullReply<Self::Payload>, SyncError>;

    /// Completes with the server's head once the server announces one above `known` (opening
    /// the notice connection if it is not open); an error once that connection fails.
    /// Dropping the future stops waiting, not the connection.
    async fn notice(&self, known: u64) -> Result<u64, SyncError>;

    /// Completes after `ms` milliseconds. Dropping it cancels the timer.
    async fn sleep(&self, ms: u32);

    /// The size of `event` as the store and the server measure it against `maxEventBytes`: its
    /// type, data and metadata as JSON, in bytes.
    fn event_bytes(&self, event: &RecordedEvent<Self::Payload>) -> usize;
}

/// How to sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncOptions {
    /// Run in the background: push at once, pull on the server's notices, retry with backoff.
    pub live: bool,
}

/// What the app sees of the sync, as of the last thing the engine did.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncStatus {
    /// Events appended here and not yet confirmed by the server.
    pub pending: u64,
    /// The cursor: every server event up to here is in the store.
    pub server_position: u64,
    /// The last exchange with the server succeeded.
    pub connected: bool,
    /// Why the last round failed, until one succeeds.
    pub error: Option<Error>,
}

/// The first retry waits this long, each next one twice as long, up to [`MAX_BACKOFF_MS`].
pub const FIRST_BACKOFF_MS: u32 = 250;
/// The longest wait between retries.
pub const MAX_BACKOFF_MS: u32 = 30_000;
/// What a push body holds besides its appends (`{"appends":[…]}`), rounded up.
const PUSH_OVERHEAD: usize = 32;

type NoticeFuture<'a> = Pin<Box<dyn Future<Output = Result<u64, SyncError>> + 'a>>;

/// Syncs one store with one server. Rounds never overlap: a flush during a background round
/// waits for it, then runs its own.
pub struct SyncEngine<B: SyncBackend, T: Transport<Payload = B::Payload>> {
    store: Rc<Store<B>>,
    transport: T,
    options: SyncOptions,
    status: RefCell<SyncStatus>,
    limits: Cell<Limits>,
    /// The server said its limits (in a pull reply).
    limits_known: Cell<bool>,
    round_busy: Cell<bool>,
    /// Woken when a round ends.
    round_done: Notifier,
    /// Woken when the engine closes.
    wake: Notifier,
    closed: Cell<bool>,
    /// The server's last 429: when it came (the store's clock, ms) and the wait it asked for.
    /// Until that wait is over, a round asks nothing of the server.
    rate_limited: Cell<Option<(f64, u64)>>,
}

impl<B: SyncBackend, T: Transport<Payload = B::Payload>> SyncEngine<B, T> {
    /// An engine for `store` over `transport`; nothing happens until [`run`](Self::run) or
    /// [`flush`](Self::flush).
    /// A store syncs through one engine at a time: a second one while the first is open is an
    /// `InvalidArgument` on `sync`.
    pub fn new(store: Rc<Store<B>>, transport: T, options: SyncOptions) -> Result<Self, Error> {
        store.ensure_open()?;
        if store.syncing.replace(true) {
            return Err(Error::invalid("sync", "this store already syncs: close that sync first"));
        }
        Ok(SyncEngine {
            store,
            transport,
            options,
            status: RefCell::new(SyncStatus { pending: 0, server_position: 0, connected: false, error: None }),
            limits: Cell::new(CLIENT_LIMITS),
            limits_known: Cell::new(false),
            round_busy: Cell::new(false),
            round_done: Notifier::default(),
            wake: Notifier::default(),
            closed: Cell::new(false),
            rate_limited: Cell::new(None),
        })
    }

    /// The status as of the last thing the engine did.
    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    /// The options it was made with.
    pub fn options(&self) -> SyncOptions {
        self.options
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Whether [`close`](Self::close) was called (or the store closed).
    pub fn is_closed(&self) -> bool {
        self.closed.get() || self.store.is_closed()
    }

    /// Stops the engine: [`run`](Self::run) returns, a waiting flush ends with
    /// `StoreClosed`. Dropping the transport's pending futures is what stops its requests.
    pub fn close(&self) {
        if !self.closed.replace(true) {
            self.store.syncing.set(false);
            self.wake.wake_all();
            self.round_done.wake_all();
        }
    }

    /// Reads the pending count and the cursor into the status.
    pub async fn refresh(&self) -> Result<(), Error> {
        let pending = self.store.backend().pending_count().await?;
        let cursor = self.store.backend().cursor().await?;
        let mut status = self.status.borrow_mut();
        status.pending = pending;
        status.server_position = cursor;
        Ok(())
    }

    /// One round now: resolves once every event appended before the call is confirmed or in a
    /// conflict, and every event the server held when the round began is in the store. While
    /// the wait a 429 asked for lasts, it fails at once with a
    /// [`RateLimited`](SyncErrorCode::RateLimited) error carrying the wait left, sending nothing.
    pub async fn flush(&self) -> Result<(), Error> {
        self.round().await
    }

    /// The live loop: a round at start, then one whenever the store has pending appends or the
    /// server announces events the store lacks, retrying failed rounds with backoff. Returns
    /// once closed. Idle, it waits on the store and the notice connection, never on a timer.
    pub async fn run(&self) {
        // Failed rounds, and failed notice connections, since the last success of each: a
        // notice stream that keeps failing backs off on its own count, so that rounds which
        // succeed meanwhile do not turn its retries into fast polling.
        let mut failures: u32 = 0;
        let mut notice_failures: u32 = 0;
        let mut due = true;
        let mut notice: Option<NoticeFuture<'_>> = None;
        loop {
            if self.is_closed() {
                return;
            }
            let local = self.store.notifier().seq();
            let wake = self.wake.seq();
            if due {
                match self.round().await {
                    Ok(()) => {
                        failures = 0;
                        due = false;
                    }
                    Err(_) if self.is_closed() => return,
                    Err(e) => {
                        failures += 1;
                        self.back_off(failures, wake, wait_asked(&e)).await;
                        continue;
                    }
                }
            }
            let known = self.status.borrow().server_position;
            let waiting = notice.get_or_insert_with(|| Box::pin(self.transport.notice(known)));
            let woke = first(
                first(self.store.notifier().changed(local), self.wake.changed(wake)),
                waiting.as_mut(),
            )
            .await;
            match woke {
                // A commit here (a local append, or a pull of ours, or another context's):
                // only pending appends need a round.
                Either::Left(Either::Left(())) => {
                    if self.refresh().await.is_ok() {
                        due = self.status.borrow().pending > 0;
                    }
                }
                Either::Left(Either::Right(())) => {}
                Either::Right(Ok(head)) => {
                    notice = None;
                    notice_failures = 0;
                    self.status.borrow_mut().connected = true;
                    due = head > self.status.borrow().server_position;
                }
                Either::Right(Err(e)) => {
                    notice = None;
                    self.note_rate_limit(&e);
                    let e = Error::Sync(e);
                    let at_least = wait_asked(&e);
                    self.failed(e);
                    notice_failures += 1;
                    self.back_off(notice_failures, self.wake.seq(), at_least).await;
                    // The notices may have been missed meanwhile: catch up.
                    due = true;
                }
            }
        }
    }

    /// Waits before retry `failures`: 250 ms doubling to 30 s, each wait drawn between half and
    /// all of it (jitter), and at least `at_least` ms (what a 429 asked for), or until closed.
    /// Meanwhile the status follows local appends.
    async fn back_off(&self, failures: u32, wake: u64, at_least: u64) {
        let full = FIRST_BACKOFF_MS.saturating_mul(1 << (failures - 1).min(16)).min(MAX_BACKOFF_MS);
        let ms = full / 2 + (self.store.random() % (full as u64 / 2 + 1)) as u32;
        let ms = ms.max(u32::try_from(at_least).unwrap_or(u32::MAX));
        let limited = self.rate_limited.get();
        let mut sleep = core::pin::pin!(first(self.transport.sleep(ms), self.wake.changed(wake)));
        loop {
            let local = self.store.notifier().seq();
            match first(sleep.as_mut(), self.store.notifier().changed(local)).await {
                Either::Left(_) => {
                    // The timer waited out the 429's wait: over, whatever the wall clock says
                    // (it may read a millisecond short, or have been set back).
                    if at_least > 0 && self.rate_limited.get() == limited {
                        self.rate_limited.set(None);
                    }
                    return;
                }
                Either::Right(()) => {
                    let _ = self.refresh().await;
                }
            }
        }
    }

    fn failed(&self, error: Error) {
        let mut status = self.status.borrow_mut();
        status.connected = false;
        status.error = Some(error);
    }

    /// The wait left of the server's last 429, in ms, if any (a clock that went back counts
    /// the whole wait again).
    fn rate_limit_left(&self) -> Option<u64> {
        let (since, wait) = self.rate_limited.get()?;
        let elapsed = self.store.now() - since;
        let left = if elapsed < 0.0 { wait } else { wait.saturating_sub(elapsed as u64) };
        if left == 0 {
            self.rate_limited.set(None);
            return None;
        }
        Some(left)
    }

    /// Remembers a 429: no round asks anything of the server until its wait is over. Any
    /// other error changes nothing.
    fn note_rate_limit(&self, error: &SyncError) {
        if let Some(wait) = error.wait_asked() {
            self.rate_limited.set(Some((self.store.now(), wait)));
        }
    }

    async fn round(&self) -> Result<(), Error> {
        let _turn = self.turn().await?;
        let result = match self.rate_limit_left() {
            Some(left) => Err(Error::Sync(SyncError::rate_limited(
                format!("the server asked for a pause: {left} ms left"),
                left,
            ))),
            None => {
                let result = async {
                    self.push_all().await?;
                    self.pull_all().await
                }
                .await;
                if let Err(Error::Sync(e)) = &result {
                    self.note_rate_limit(e);
                }
                result
            }
        };
        let refreshed = self.refresh().await;
        match &result {
            Ok(()) => {
                let mut status = self.status.borrow_mut();
                status.connected = true;
                status.error = None;
            }
            Err(e) => self.failed(e.clone()),
        }
        result.and(refreshed)
    }

    /// Waits until no round runs, and takes the turn.
    async fn turn(&self) -> Result<Turn<'_>, Error> {
        loop {
            // The store's own reason first (closed by another context's upgrade, say).
            self.store.ensure_open()?;
            if self.is_closed() {
                return Err(Error::StoreClosed);
            }
            let seq = self.round_done.seq();
            if !self.round_busy.replace(true) {
                return Ok(Turn { busy: &self.round_busy, done: &self.round_done });
            }
            self.round_done.changed(seq).await;
        }
    }

    /// Pushes every append pending when it starts, in local order, in pushes under the limits.
    /// Appends made meanwhile wait for the next round: a conflict rebased while this one runs
    /// expects the stream's version before this round's pull, and pushing it now would only
    /// be refused again (two such conflicts, rebased in turn, kept a round pushing forever).
    async fn push_all(&self) -> Result<(), Error> {
        let backend = self.store.backend();
        // A pending append's key is the local position of its first event: later appends
        // (rebases among them) have higher keys.
        let until = backend.head().await?;
        let mut after = 0;
        loop {
            self.store.ensure_open()?;
            let limits = self.limits.get();
            let mut candidates = backend.pending(after, limits.max_appends).await?;
            candidates.retain(|a| a.key <= until);
            let Some(last) = candidates.last() else { return Ok(()) };
            let last_key = last.key;
            // Until the server has said its limits (its replies carry them), a push stays small
            // enough for any sensible server, rather than learning them from a 413, which a
            // server may send before reading the body (the client then sees a broken connection).
            let batch_limits = if self.limits_known.get() { limits } else { limits.min(PROBE_LIMITS) };
            let (batch, too_large) = pack(&self.transport, candidates, batch_limits, limits);
            if let Some(append) = too_large {
                // It can never be pushed: a conflict, so that the rest goes on.
                let refusal = Refusal { reason: ConflictReason::TooLarge, actual: None, id: None };
                self.record_conflict(append.key, &refusal).await?;
                continue;
            }
            let reply = match self.transport.push(&batch).await {
                Ok(reply) => {
                    self.learn_limits(reply.limits);
                    reply
                }
                Err(e) if e.code == SyncErrorCode::TooLarge => {
                    match &batch[..] {
                        // One append refused as too large can never be pushed.
                        [alone] => {
                            let refusal = Refusal { reason: ConflictReason::TooLarge, actual: None, id: None };
                            self.record_conflict(alone.key, &refusal).await?;
                        }
                        _ => self.shrink_limits(&e, &batch)?,
                    }
                    continue;
                }
                Err(e) => return Err(Error::Sync(e)),
            };
            if reply.outcomes.len() != batch.len() {
                return Err(Error::Sync(SyncError::protocol(format!(
                    "the server answered {} outcomes for {} appends",
                    reply.outcomes.len(),
                    batch.len()
                ))));
            }
            for (append, outcome) in batch.iter().zip(&reply.outcomes) {
                if let PushOutcome::Refused(refusal) = outcome {
                    self.record_conflict(append.key, refusal).await?;
                }
            }
            after = batch.last().map_or(last_key, |a| a.key);
        }
    }

    /// Takes smaller limits after a 413 of several appends: the server's, when it said them,
    /// else half of what was sent; an error when that changes nothing (the server's word cannot
    /// be followed).
    fn shrink_limits(&self, error: &SyncError, batch: &[PendingAppend<B::Payload>]) -> Result<(), Error> {
        let old = self.limits.get();
        let sent_events: usize = batch.iter().map(|a| a.events.len()).sum();
        let sent_bytes: usize =
            PUSH_OVERHEAD + batch.iter().map(|a| encoded_len(&self.transport, a).0 + 1).sum::<usize>();
        let new = match error.limits {
            Some(server) => old.min(server),
            None => Limits {
                max_body_bytes: old.max_body_bytes.min(sent_bytes / 2),
                max_appends: old.max_appends.min(batch.len() / 2),
                max_events: old.max_events.min(sent_events / 2),
                ..old
            },
        };
        let new = Limits {
            max_body_bytes: new.max_body_bytes.max(1),
            max_appends: new.max_appends.max(1),
            max_events: new.max_events.max(1),
            ..new
        };
        if new == old {
            // The server named limits we already kept: it is not to be believed.
            return Err(Error::Sync(error.clone()));
        }
        self.limits.set(new);
        Ok(())
    }

    /// Packs pushes under the limits a server reply said, from now on.
    fn learn_limits(&self, server: Option<Limits>) {
        if let Some(server) = server {
            self.limits.set(CLIENT_LIMITS.min(server));
            self.limits_known.set(true);
        }
    }

    async fn record_conflict(&self, key: u64, refusal: &Refusal) -> Result<(), Error> {
        if self.store.backend().record_conflict(key, refusal).await? {
            self.store.conflict_recorded();
        }
        Ok(())
    }

    /// Pulls from the cursor until it reaches the head the first page reported.
    async fn pull_all(&self) -> Result<(), Error> {
        let backend = self.store.backend();
        let mut target: Option<u64> = None;
        loop {
            self.store.ensure_open()?;
            let cursor = backend.cursor().await?;
            self.status.borrow_mut().server_position = cursor;
            if target.is_some_and(|t| cursor >= t) {
                return Ok(());
            }
            let reply = self.transport.pull(cursor, PULL_LIMIT).await?;
            self.learn_limits(reply.limits);
            if reply.head < cursor {
                return Err(Error::Sync(SyncError::protocol(format!(
                    "the server's head ({}) is behind this store's cursor ({cursor}): it lost events, or is another server",
                    reply.head
                ))));
            }
            let target = *target.get_or_insert(reply.head);
            if reply.events.is_empty() {
                if cursor >= target {
                    return Ok(());
                }
                return Err(Error::Sync(SyncError::protocol(format!(
                    "the server returned no events after {cursor} though its head is {}",
                    reply.head
                ))));
            }
            if let Some(head) = backend.apply_pull(reply.events).await? {
                self.store.notifier().advance(head);
            }
            if backend.cursor().await? == cursor {
                return Err(Error::Sync(SyncError::protocol(format!(
                    "the server returned no event after {cursor}"
                ))));
            }
        }
    }
}

impl<B: SyncBackend, T: Transport<Payload = B::Payload>> Drop for SyncEngine<B, T> {
    /// A dropped engine lets the store sync again.
    fn drop(&mut self) {
        self.close();
    }
}

/// A round's hold on the engine; released when dropped, however the round ends.
struct Turn<'a> {
    busy: &'a Cell<bool>,
    done: &'a Notifier,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.busy.set(false);
        self.done.wake_all();
    }
}

/// The size `append` takes in a push body, and the size of its largest event. An upper bound:
/// an event's fields and id take 80 bytes, an append's fields and numbers 128, and a name at
/// most twice its length once escaped.
fn encoded_len<P, T: Transport<Payload = P>>(transport: &T, append: &PendingAppend<P>) -> (usize, usize) {
    let sizes = append.events.iter().map(|e| (transport.event_bytes(e), e.event_type.len()));
    let (total, largest) =
        sizes.fold((0, 0), |(total, largest), (size, name)| (total + size + name + 80, largest.max(size)));
    (128 + 2 * append.stream.len() + total, largest)
}

/// The first appends of `candidates` that fit one push under `batch` limits (at least one
/// append, when it fits `single` limits alone); or, when the first does not fit even alone
/// under `single` (or holds an event over `single.max_event_bytes`), that one (it can never
/// be pushed).
fn pack<P, T: Transport<Payload = P>>(
    transport: &T,
    candidates: Vec<PendingAppend<P>>,
    batch: Limits,
    single: Limits,
) -> (Vec<PendingAppend<P>>, Option<PendingAppend<P>>) {
    let fits = |bytes: usize, events: usize, limits: Limits| bytes <= limits.max_body_bytes && events <= limits.max_events;
    let mut chosen = Vec::new();
    let mut bytes = PUSH_OVERHEAD;
    let mut events = 0;
    for append in candidates {
        let (size, largest) = encoded_len(transport, &append);
        let size = size + 1;
        let n = append.events.len();
        if chosen.is_empty() && (!fits(bytes + size, n, single) || largest > single.max_event_bytes) {
            return (chosen, Some(append));
        }
        if !chosen.is_empty() && (!fits(bytes + size, events + n, batch) || chosen.len() >= batch.max_appends) {
            break;
        }
        bytes += size;
        events += n;
        chosen.push(append);
    }
    (chosen, None)
}

/// The wait a failure asks for before the next request: a 429's, else none.
fn wait_asked(error: &Error) -> u64 {
    match error {
        Error::Sync(e) => e.wait_asked().unwrap_or(0),
        _ => 0,
    }
}
