//! Fault injection natively: a backend wrapper fails the N-th backend call of a scenario, for
//! every N, either before the call reaches storage (`Mode::Fail`) or after it committed
//! (`Mode::AckLost`: the commit happened, its acknowledgement is lost).
//!
//! For every N: the error reaches the caller as `Error::Storage`; a failed call has no effect
//! (storage, read behind the store's back, is as it was before the call); the operation
//! retried works; and the run ends with the deliveries, results and contents of the run
//! without a fault. In `AckLost` mode an append retried with the same ids returns the
//! original result and writes nothing.
//!
//! The figures of a run go to `target/reliability/faults.json`.
#![cfg(not(target_arch = "wasm32"))]

#[allow(unused_imports)] // only a few helpers are used here
mod conformance;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;

use annals::core::*;
use conformance::{events_with_ids as events, id, poll_until_stuck, yield_now};

// ---- the faulty backend --------------------------------------------------------------------

/// How the chosen call fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The call fails before it reaches storage.
    Fail,
    /// The call reaches storage and completes; then the caller is told it failed.
    AckLost,
}

/// Which call fails, and what happened. Shared by every `Faulty` over one storage.
#[derive(Debug)]
struct Plan {
    /// Backend calls made so far (every fallible trait method counts).
    calls: Cell<u64>,
    /// The call (1-based) that fails.
    fail_at: Option<u64>,
    mode: Mode,
    /// The method of the call that failed, once it did.
    fired: Cell<Option<&'static str>>,
    /// Storage as it was just before the failing call.
    at_failure: RefCell<Option<Observed>>,
}

impl Plan {
    /// Fails call `fail_at` (1-based) the `mode` way; `None`: no call fails.
    fn new(fail_at: Option<u64>, mode: Mode) -> Rc<Plan> {
        Rc::new(Plan {
            calls: Cell::new(0),
            fail_at,
            mode,
            fired: Cell::new(None),
            at_failure: RefCell::new(None),
        })
    }
}

/// A store over `inner` whose backend fails call `fail_at` of its life the `mode` way.
async fn faulty_store(
    inner: &Rc<MemoryBackend>,
    fail_at: u64,
    mode: Mode,
) -> Rc<Store<Faulty<MemoryBackend>>> {
    let faulty = Faulty {
        inner: inner.clone(),
        plan: Plan::new(Some(fail_at), mode),
    };
    Store::open(faulty, config()).await.unwrap()
}

/// A backend that fails one call of a [`Plan`]. Storage lives behind an `Rc`, so it outlives a
/// store whose opening failed and can be read behind the store's back.
#[derive(Debug)]
struct Faulty<B> {
    inner: Rc<B>,
    plan: Rc<Plan>,
}

fn injected(method: &str) -> StorageError {
    StorageError::other(format!("injected: {method}"))
}

impl<B: Backend> Faulty<B> {
    /// Yields as real storage does, counts the call, and says whether it is the one to fail.
    async fn enter(&self, method: &'static str) -> Option<Mode> {
        yield_now().await;
        let n = self.plan.calls.get() + 1;
        self.plan.calls.set(n);
        if self.plan.fail_at != Some(n) {
            return None;
        }
        self.plan.fired.set(Some(method));
        *self.plan.at_failure.borrow_mut() = Some(observe(&*self.inner).await);
        Some(self.plan.mode)
    }
}

/// Forwards one call, or fails it as planned.
macro_rules! forward {
    ($self:ident, $method:literal, $call:expr, $err:expr) => {
        match $self.enter($method).await {
            None => $call.await,
            Some(Mode::Fail) => Err($err),
            Some(Mode::AckLost) => {
                let _ = $call.await;
                Err($err)
            }
        }
    };
}

impl<B: Backend> Backend for Faulty<B> {
    type Payload = B::Payload;

    async fn head(&self) -> Result<u64, StorageError> {
        forward!(self, "head", self.inner.head(), injected("head"))
    }
    async fn append(
        &self,
        requests: &[AppendRequest],
    ) -> Result<Vec<Result<AppendResult, Error>>, StorageError> {
        forward!(
            self,
            "append",
            self.inner.append(requests),
            injected("append")
        )
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, StorageError> {
        forward!(
            self,
            "stream_version",
            self.inner.stream_version(stream),
            injected("stream_version")
        )
    }
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent<B::Payload>>, StorageError> {
        forward!(
            self,
            "read_stream",
            self.inner.read_stream(stream, from, direction, limit),
            injected("read_stream")
        )
    }
    async fn read_all(
        &self,
        range: PositionRange,
        direction: Direction,
        limit: usize,
        filter: &Filter,
    ) -> Result<Page<B::Payload>, StorageError> {
        forward!(
            self,
            "read_all",
            self.inner.read_all(range, direction, limit, filter),
            injected("read_all")
        )
    }
    async fn checkpoint(&self, name: &str) -> Result<Option<u64>, StorageError> {
        forward!(
            self,
            "checkpoint",
            self.inner.checkpoint(name),
            injected("checkpoint")
        )
    }
    async fn set_checkpoint(&self, name: &str, position: u64) -> Result<(), StorageError> {
        forward!(
            self,
            "set_checkpoint",
            self.inner.set_checkpoint(name, position),
            injected("set_checkpoint")
        )
    }
    async fn snapshot(&self, stream: &str) -> Result<Option<Snapshot>, StorageError> {
        forward!(
            self,
            "snapshot",
            self.inner.snapshot(stream),
            injected("snapshot")
        )
    }
    async fn save_snapshot(&self, stream: &str, snapshot: &Snapshot) -> Result<(), Error> {
        forward!(
            self,
            "save_snapshot",
            self.inner.save_snapshot(stream, snapshot),
            Error::Storage(injected("save_snapshot"))
        )
    }
}

// ---- what storage holds ------------------------------------------------------------------

const STREAMS: [&str; 3] = ["Order-1", "Order-2", "Cart-1"];
const CHECKPOINTS: [&str; 2] = ["proj", "manual"];

/// Everything stored, read straight from a backend.
#[derive(Clone, Debug, PartialEq)]
struct Observed {
    head: u64,
    events: Vec<RecordedEvent>,
    versions: Vec<u64>,
    checkpoints: Vec<Option<u64>>,
    snapshots: Vec<Option<Snapshot>>,
}

async fn observe<B: Backend>(backend: &B) -> Observed {
    let page = backend
        .read_all(
            PositionRange::after(0),
            Direction::Forward,
            usize::MAX,
            &Filter::default(),
        )
        .await
        .expect("read_all");
    let mut versions = Vec::new();
    let mut snapshots = Vec::new();
    for s in STREAMS {
        versions.push(backend.stream_version(s).await.expect("stream_version"));
        snapshots.push(backend.snapshot(s).await.expect("snapshot"));
    }
    let mut checkpoints = Vec::new();
    for c in CHECKPOINTS {
        checkpoints.push(backend.checkpoint(c).await.expect("checkpoint"));
    }
    Observed {
        head: backend.head().await.expect("head"),
        events: page.events.iter().map(|e| e.to_values().expect("payload")).collect(),
        versions,
        checkpoints,
        snapshots,
    }
}

// ---- the scenario --------------------------------------------------------------------------


fn config() -> StoreConfig {
    StoreConfig {
        max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
        new_id: Uuid::now_v7,
        now: || 1.0e12,
    }
}

/// One run of the scenario with one plan, and what it saw.
struct Run {
    inner: Rc<MemoryBackend>,
    plan: Rc<Plan>,
    /// Each step's outcome (after its retry, if it failed).
    trace: Vec<String>,
    /// The step the fault hit, and the backend method that failed.
    hit: Option<(String, &'static str)>,
    /// The positions the resumed subscription delivered.
    resumed: Vec<u64>,
}

impl Run {
    fn new(fail_at: Option<u64>, mode: Mode) -> Run {
        Run {
            inner: Rc::new(MemoryBackend::new()),
            plan: Plan::new(fail_at, mode),
            trace: Vec::new(),
            hit: None,
            resumed: Vec::new(),
        }
    }

    fn backend(&self) -> Faulty<MemoryBackend> {
        Faulty {
            inner: self.inner.clone(),
            plan: self.plan.clone(),
        }
    }

    fn fired(&self) -> Option<&'static str> {
        self.plan.fired.get().filter(|_| self.hit.is_none())
    }

    /// After a step whose call failed: the error, and where the failure left storage. `whole`
    /// steps make one storing call, so a failed one leaves storage exactly as the step found
    /// it. `None`: other calls ran concurrently after the failure; the caller checks.
    async fn check_failure(
        &mut self,
        step: &str,
        error: &Error,
        before: Option<&Observed>,
        whole: bool,
    ) {
        let method = self.plan.fired.get().expect("a call failed");
        self.hit = Some((step.to_string(), method));
        assert_eq!(
            *error,
            Error::Storage(injected(method)),
            "{step}: the failure of {method} reaches the caller as a storage error"
        );
        let Some(before) = before else { return };
        if self.plan.mode == Mode::Fail {
            let now = observe(&*self.inner).await;
            let at_failure = self
                .plan
                .at_failure
                .borrow()
                .clone()
                .expect("observed at failure");
            assert_eq!(
                now, at_failure,
                "{step}: the failed {method} changed storage"
            );
            if whole {
                assert_eq!(now, *before, "{step}: a failed step changed storage");
            }
        }
    }

    fn record(&mut self, step: &str, outcome: impl std::fmt::Debug) {
        self.trace.push(format!("{step}: {outcome:?}"));
    }
}

/// Runs `$op` (an expression making a future); if a call failed in it, checks the failure and
/// runs `$op` again, which must succeed. Evaluates to the successful outcome.
macro_rules! step {
    ($run:ident, $name:expr, whole: $whole:expr, $op:expr) => {{
        let before = observe(&*$run.inner).await;
        let first = $op.await;
        match (first, $run.fired()) {
            (Ok(v), None) => v,
            (Ok(v), Some(method)) => {
                panic!("{}: {method} failed, yet the step returned {v:?}", $name)
            }
            (Err(e), None) => panic!("{}: failed with no fault injected: {e:?}", $name),
            (Err(e), Some(_)) => {
                $run.check_failure($name, &e, Some(&before), $whole).await;
                let after_failure = observe(&*$run.inner).await;
                let retried = $op
                    .await
                    .unwrap_or_else(|e| panic!("{}: the retry failed: {e:?}", $name));
                if $run.plan.mode == Mode::AckLost && $whole {
                    assert_eq!(
                        observe(&*$run.inner).await,
                        after_failure,
                        "{}: the retry of a step that committed wrote again",
                        $name
                    );
                }
                retried
            }
        }
    }};
}

/// Four appends issued at once: the first — a retry of an append that committed, so it writes
/// nothing — commits alone, and the other three share the next backend call (group commit),
/// the third depending on the first's write. Failed ones are retried together, with the same
/// ids, so a retry lands where the original would have.
async fn concurrent(
    run: &mut Run,
    store: &Rc<Store<Faulty<MemoryBackend>>>,
) -> Vec<Result<AppendResult, Error>> {
    let calls: Vec<(&str, Vec<u32>, ExpectedVersion)> = vec![
        ("Order-1", vec![1], ExpectedVersion::NoStream),
        ("Cart-1", vec![5], ExpectedVersion::Any),
        ("Order-2", vec![6, 7], ExpectedVersion::NoStream),
        ("Cart-1", vec![8], ExpectedVersion::Exact(1)),
    ];
    let issue = |which: Vec<usize>| {
        futures::future::join_all(which.into_iter().map(|i| {
            let (stream, ids, expected) = calls[i].clone();
            let store = store.clone();
            async move { (i, store.append(stream, events(&ids), expected).await) }
        }))
    };
    let before = observe(&*run.inner).await;
    let mut outcomes: Vec<Result<AppendResult, Error>> = vec![Err(Error::StoreClosed); calls.len()];
    let failed: Vec<usize> = issue((0..calls.len()).collect())
        .await
        .into_iter()
        .filter_map(|(i, r)| {
            let failed = r.is_err();
            outcomes[i] = r;
            failed.then_some(i)
        })
        .collect();
    match run.fired() {
        None => assert!(
            failed.is_empty(),
            "appends failed with no fault injected: {outcomes:?}"
        ),
        Some(method) => {
            assert_eq!(method, "append", "only appends are made here");
            assert!(
                !failed.is_empty(),
                "the failed append call failed nobody: {outcomes:?}"
            );
            let after_failure = observe(&*run.inner).await;
            for &i in &failed {
                let e = outcomes[i].clone().unwrap_err();
                run.check_failure("concurrent appends", &e, None, false)
                    .await;
                if run.plan.mode == Mode::Fail {
                    // Whatever else committed meanwhile, nothing of a failed append did.
                    for n in &calls[i].1 {
                        let id = Uuid::parse_str(&id(*n)).unwrap();
                        let stood = before.events.iter().any(|e| e.id == id);
                        let stands = after_failure.events.iter().any(|e| e.id == id);
                        assert_eq!(stands, stood, "append {i} failed, yet event {n} changed");
                    }
                }
            }
            for (i, r) in issue(failed).await {
                outcomes[i] =
                    Ok(r.unwrap_or_else(|e| panic!("append {i}: the retry failed: {e:?}")));
            }
            if run.plan.mode == Mode::AckLost {
                assert_eq!(
                    observe(&*run.inner).await,
                    after_failure,
                    "a retry after a lost ack wrote again"
                );
            }
        }
    }
    outcomes
}

async fn scenario(run: &mut Run) {
    let store = step!(run, "open", whole: true, Store::open(run.backend(), config()));
    run.record("open", store.known_head());

    let r = step!(run, "append 1", whole: true,
        store.append("Order-1", events(&[1]), ExpectedVersion::NoStream));
    run.record("append 1", r);
    let r = step!(run, "append 3", whole: true,
        store.append("Order-1", events(&[2, 3, 4]), ExpectedVersion::Exact(1)));
    run.record("append 3", r);
    let r = concurrent(run, &store).await;
    run.record("concurrent appends", r);

    // A checkpointed subscription takes three events and stops: the first two are done.
    let options = || SubscribeOptions {
        checkpoint: Some("proj".into()),
        ..SubscribeOptions::default()
    };
    let sub = Subscription::new(store.clone(), options()).expect("subscribe");
    for k in 1..=3 {
        let e = step!(run, &format!("pull {k}"), whole: false, sub.next());
        run.record("pull", e.map(|e| e.position));
    }
    step!(run, "close", whole: true, sub.close());
    run.record("close", sub.position());

    // It resumes after its checkpoint, takes every event left, and waits for more.
    let sub = Subscription::new(store.clone(), options()).expect("resubscribe");
    let next = |sub: &Subscription<Faulty<MemoryBackend>>| -> Pin<Box<dyn Future<Output = _>>> {
        let sub = sub.clone();
        Box::pin(async move { sub.next().await })
    };
    let mut waiting = loop {
        let before = observe(&*run.inner).await;
        let mut pull = next(&sub);
        match poll_until_stuck(pull.as_mut()) {
            Poll::Pending => break pull,
            Poll::Ready(Ok(Some(e))) => {
                assert_eq!(
                    run.fired(),
                    None,
                    "resumed pull: a call failed, yet it delivered"
                );
                run.resumed.push(e.position);
            }
            Poll::Ready(Ok(None)) => panic!("resumed pull: ended while open"),
            // Retried by the next turn of the loop.
            Poll::Ready(Err(e)) => {
                run.check_failure("resumed pull", &e, Some(&before), false)
                    .await
            }
        }
    };
    step!(run, "close resumed", whole: true, sub.close());
    assert_eq!(
        poll_until_stuck(waiting.as_mut()),
        Poll::Ready(Ok(None)),
        "close ends a waiting next()"
    );
    run.record("close resumed", sub.position());

    let snapshot = Snapshot {
        version: 4,
        state: Value::object([("total", Value::from(10i64))]),
    };
    step!(run, "save snapshot", whole: true, store.save_snapshot("Order-1", snapshot.clone()));
    step!(run, "set checkpoint", whole: true, store.set_checkpoint("manual", 8));

    let r = step!(run, "stream version", whole: true, store.stream_version("Order-1"));
    run.record("stream version", r);
    let r = step!(run, "load snapshot", whole: true, store.load_snapshot("Order-1"));
    run.record("load snapshot", r);
    let r = step!(run, "get checkpoint", whole: true, store.checkpoint("manual"));
    run.record("get checkpoint", r);
    let all = step!(run, "read all", whole: true, async {
        AllReader::new(store.clone(), ReadAllOptions::default())?.next_page().await
    });
    run.record(
        "read all",
        all.iter()
            .map(|e| (e.position, &e.stream, e.version))
            .collect::<Vec<_>>(),
    );
    let stream = step!(run, "read stream", whole: true, async {
        let options = ReadStreamOptions {
            direction: Direction::Backward,
            ..ReadStreamOptions::default()
        };
        StreamReader::new(store.clone(), "Order-1", options)?.next_page().await
    });
    run.record(
        "read stream",
        stream.iter().map(|e| e.version).collect::<Vec<_>>(),
    );
    assert_eq!(
        store.known_head(),
        8,
        "the store knows every commit, acknowledged or retried"
    );
}

fn run(fail_at: Option<u64>, mode: Mode) -> Run {
    let mut run = Run::new(fail_at, mode);
    futures::executor::block_on(scenario(&mut run));
    run
}

#[test]
fn every_failed_backend_call_has_no_effect_and_the_next_operation_works() {
    let clean = run(None, Mode::Fail);
    let points = clean.plan.calls.get();
    let clean_state = futures::executor::block_on(observe(&*clean.inner));
    assert_eq!(clean_state.head, 8);
    assert_eq!(clean_state.checkpoints, vec![Some(8), Some(8)]);
    // open 1; appends 4 (one single, one multi-event, two transactions for four concurrent
    // ones); subscriptions 7 (2 checkpoint reads, 3 page reads, 2 checkpoint saves); snapshot
    // and checkpoint 2; reads 5.
    assert_eq!(points, 19, "backend calls in the scenario");

    assert_eq!(clean.resumed, vec![3, 4, 5, 6, 7, 8]);
    let mut runs = 0;
    let mut hits = Vec::new();
    for mode in [Mode::Fail, Mode::AckLost] {
        for n in 1..=points {
            let faulty = run(Some(n), mode);
            runs += 1;
            let (step, method) = faulty
                .hit
                .clone()
                .unwrap_or_else(|| panic!("call {n} ({mode:?}) failed nothing"));
            assert_eq!(
                faulty.trace, clean.trace,
                "call {n} ({method} in {step}, {mode:?}): the run differs from the one without a fault"
            );
            let state = futures::executor::block_on(observe(&*faulty.inner));
            assert_eq!(
                faulty.resumed, clean.resumed,
                "call {n} ({method} in {step}, {mode:?}): deliveries differ"
            );
            assert_eq!(
                state, clean_state,
                "call {n} ({method} in {step}, {mode:?}): storage differs at the end"
            );
            hits.push(format!("{n}:{method}"));
        }
    }
    assert_eq!(hits.len() as u64, 2 * points);
    if std::env::var_os("FAULTS_VERBOSE").is_some() {
        eprintln!("{}", hits.join(" "));
    }

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/reliability");
    std::fs::create_dir_all(dir).expect("create target/reliability");
    std::fs::write(
        format!("{dir}/faults.json"),
        format!("{{\"points\":{points},\"modes\":2,\"runs\":{runs},\"partial\":0}}\n"),
    )
    .expect("write faults.json");
}

/// Appends whose acknowledgement was lost, retried with the same ids: the original results,
/// nothing written twice.
#[test]
fn a_retry_after_a_lost_acknowledgement_returns_the_original_result_and_writes_nothing() {
    futures::executor::block_on(async {
        let inner = Rc::new(MemoryBackend::new());
        // Calls: open, the first append, then the multi-event append, whose ack is lost.
        let store = faulty_store(&inner, 3, Mode::AckLost).await;
        assert_eq!(
            store
                .append("Order-1", events(&[1]), ExpectedVersion::NoStream)
                .await,
            Ok(AppendResult {
                next_expected_version: 1,
                position: 1
            })
        );
        let appended = store
            .append("Order-1", events(&[2, 3]), ExpectedVersion::Exact(1))
            .await;
        assert_eq!(appended, Err(Error::Storage(injected("append"))));
        let committed = observe(&*inner).await;
        assert_eq!(
            committed.head, 3,
            "the append committed; only its acknowledgement was lost"
        );
        // The caller, unsure, retries with the same ids and the same expected version.
        assert_eq!(
            store
                .append("Order-1", events(&[2, 3]), ExpectedVersion::Exact(1))
                .await,
            Ok(AppendResult {
                next_expected_version: 3,
                position: 3
            })
        );
        assert_eq!(observe(&*inner).await, committed, "the retry wrote nothing");
        assert_eq!(store.known_head(), 3);
    });
}

/// A store on memory whose 5th backend call fails (open, append, checkpoint read and a page
/// read come first), and a checkpointed subscription that has delivered events 1 and 2 of
/// two: event 1 is done and waits to be saved.
async fn subscription_whose_next_save_fails(
) -> (Rc<MemoryBackend>, Subscription<Faulty<MemoryBackend>>) {
    let inner = Rc::new(MemoryBackend::new());
    let store = faulty_store(&inner, 5, Mode::Fail).await;
    store
        .append("Order-1", events(&[1, 2]), ExpectedVersion::Any)
        .await
        .unwrap();
    let options = SubscribeOptions {
        checkpoint: Some("proj".into()),
        ..SubscribeOptions::default()
    };
    let sub = Subscription::new(store.clone(), options).unwrap();
    assert_eq!(sub.next().await.unwrap().map(|e| e.position), Some(1));
    assert_eq!(sub.next().await.unwrap().map(|e| e.position), Some(2));
    (inner, sub)
}

/// `Subscription::close` "completes once the events done before it are saved to the
/// checkpoint": when that save fails, the error is reported and a second `close()` saves.
#[test]
fn a_close_whose_checkpoint_save_failed_saves_it_when_retried() {
    futures::executor::block_on(async {
        let (inner, sub) = subscription_whose_next_save_fails().await;
        assert_eq!(
            sub.close().await,
            Err(Error::Storage(injected("set_checkpoint")))
        );
        assert_eq!(sub.close().await, Ok(()));
        assert_eq!(
            inner.checkpoint("proj").await,
            Ok(Some(1)),
            "the retried close saved event 1"
        );
    });
}

/// `Subscription::next` saves the event done before it "before the subscription next goes to
/// storage or waits": when that save fails, `next()` reports it and the next call saves.
#[test]
fn a_next_whose_checkpoint_save_failed_saves_it_when_retried() {
    futures::executor::block_on(async {
        let (inner, sub) = subscription_whose_next_save_fails().await;
        let mut third = Box::pin(sub.next());
        assert_eq!(
            poll_until_stuck(third.as_mut()),
            Poll::Ready(Err(Error::Storage(injected("set_checkpoint"))))
        );
        let mut retried = Box::pin(sub.next());
        assert!(
            poll_until_stuck(retried.as_mut()).is_pending(),
            "caught up: it waits"
        );
        assert_eq!(
            inner.checkpoint("proj").await,
            Ok(Some(2)),
            "event 2 was saved before waiting"
        );
    });
}
