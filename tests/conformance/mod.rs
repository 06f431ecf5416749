//! The conformance suite: every rule of the store's contract, written once and run against
//! each backend — natively and in Node on memory, in Chromium on IndexedDB.
//!
//! Use from a test file: `mod conformance;` then `conformance::suite!(open);` where `open` is
//! a closure `|name: &'static str| async move { … Rc<Store<B>> }` that opens a fresh, empty
//! store (`name` is the test's own; add a unique suffix where storage outlives the test).
//! A backend that needs an async runtime names a runner: `conformance::suite!(open, runner =
//! path::to::block_on);` (annals-server runs the suite on PostgreSQL so, under tokio).
#![allow(dead_code)]

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use annals::core::*;

/// Expands into one test per case, for the target compiled for. Natively each case runs on
/// `runner` (a path to a `fn(impl Future<Output = ()>)`, e.g. one that makes a tokio runtime
/// and calls its `block_on`, which accepts `!Send` futures); by default on
/// `futures::executor::block_on`.
#[macro_export]
macro_rules! suite {
    ($open:expr) => {
        $crate::suite!($open, runner = futures::executor::block_on);
    };
    ($open:expr, runner = $runner:path) => {
        $crate::suite!(@cases $open; $runner;
            expected_version_modes, append_is_all_or_nothing, idempotent_retry,
            duplicate_event_ids, invalid_input_leaves_store_unchanged, paging_over_10k_events,
            read_options, catch_up_then_live_with_racing_appends, subscribe_after_end,
            subscription_filters, checkpoint_resume_is_at_least_once, checkpoints,
            snapshots, close_ends_everything, batch_outcomes_are_independent, exact_stream_filters,
            import_keeps_ids_and_versions_and_is_idempotent,
            concurrent_appends_decide_in_call_order, buffered_delivery_is_next_without_waiting);
    };
    (@cases $open:expr; $runner:path; $($case:ident),* $(,)?) => {
        $(
            #[cfg(not(target_arch = "wasm32"))]
            #[test]
            fn $case() {
                $runner(async {
                    let store = ($open)(stringify!($case)).await;
                    $crate::conformance::$case(store).await
                })
            }
            #[cfg(target_arch = "wasm32")]
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $case() {
                let store = ($open)(stringify!($case)).await;
                $crate::conformance::$case(store).await
            }
        )*
    };
}
pub use suite;

// ---- helpers ---------------------------------------------------------------------------

/// A fixed, valid id for event number `n`.
pub fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// Events of type `Happened` carrying `{ n }`, each with the fixed id [`id`]`(n)`.
pub fn events_with_ids(ids: &[u32]) -> Vec<EventInput> {
    ids.iter()
        .map(|&n| EventInput::new("Happened", Value::object([("n", Value::from(n as i64))])).with_id(id(n)))
        .collect()
}

pub fn event(event_type: &str, n: i64) -> EventInput {
    EventInput::new(event_type, Value::object([("n", Value::from(n))]))
}

pub async fn append<B: Backend>(store: &Store<B>, stream: &str, n: usize) -> AppendResult {
    let events = (0..n).map(|i| event("Counted", i as i64)).collect();
    store
        .append(stream, events, ExpectedVersion::Any)
        .await
        .expect("append")
}

pub async fn read_stream<B: Backend>(
    store: &Rc<Store<B>>,
    stream: &str,
    options: ReadStreamOptions,
) -> Vec<RecordedEvent> {
    let mut reader = StreamReader::new(store.clone(), stream, options).expect("reader");
    let mut all = Vec::new();
    loop {
        let page = reader.next_page().await.expect("page");
        if page.is_empty() {
            return all;
        }
        assert!(
            page.len() <= PAGE_SIZE,
            "a page holds at most PAGE_SIZE events"
        );
        all.extend(page.iter().map(|e| e.to_values().expect("payload")));
    }
}

pub async fn read_all<B: Backend>(
    store: &Rc<Store<B>>,
    options: ReadAllOptions,
) -> Vec<RecordedEvent> {
    let mut reader = AllReader::new(store.clone(), options).expect("reader");
    let mut all = Vec::new();
    loop {
        let page = reader.next_page().await.expect("page");
        if page.is_empty() {
            return all;
        }
        all.extend(page.iter().map(|e| e.to_values().expect("payload")));
    }
}

/// Everything observable about the store's events: used to prove a call changed nothing.
pub async fn contents<B: Backend>(store: &Rc<Store<B>>) -> Vec<(String, u64, u64, String)> {
    read_all(store, ReadAllOptions::default())
        .await
        .into_iter()
        .map(|e| (e.stream, e.version, e.position, e.event_type))
        .collect()
}

fn positions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.position).collect()
}

fn versions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.version).collect()
}

/// Lets other futures of the same task run before continuing.
pub fn yield_now() -> impl Future<Output = ()> {
    struct Yield(bool);
    impl Future for Yield {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                Poll::Ready(())
            } else {
                self.0 = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
    Yield(false)
}

/// A backend wrapper for tests: optionally yields to other futures before every operation,
/// as real storage does (running the suite so finds interleavings the memory backend never
/// shows, such as a close landing mid-save), and counts append transactions.
#[derive(Debug, Default)]
pub struct Instrumented<B> {
    pub inner: B,
    pub yields: bool,
    /// How many times `Backend::append` was called: one per storage transaction.
    pub transactions: Cell<usize>,
}

impl<B> Instrumented<B> {
    /// `inner`, yielding before every operation.
    pub fn yielding(inner: B) -> Self {
        Instrumented {
            inner,
            yields: true,
            transactions: Cell::new(0),
        }
    }

    /// `inner`, counting only.
    pub fn counting(inner: B) -> Self {
        Instrumented {
            inner,
            yields: false,
            transactions: Cell::new(0),
        }
    }

    async fn step(&self) {
        if self.yields {
            yield_now().await;
        }
    }
}

impl<B: Backend> Backend for Instrumented<B> {
    type Payload = B::Payload;

    async fn head(&self) -> Result<u64, StorageError> {
        self.step().await;
        self.inner.head().await
    }
    async fn append(
        &self,
        requests: &[AppendRequest],
    ) -> Result<Vec<Result<AppendResult, Error>>, StorageError> {
        self.step().await;
        self.transactions.set(self.transactions.get() + 1);
        self.inner.append(requests).await
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, StorageError> {
        self.step().await;
        self.inner.stream_version(stream).await
    }
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent<B::Payload>>, StorageError> {
        self.step().await;
        self.inner.read_stream(stream, from, direction, limit).await
    }
    async fn read_all(
        &self,
        range: PositionRange,
        direction: Direction,
        limit: usize,
        filter: &Filter,
    ) -> Result<Page<B::Payload>, StorageError> {
        self.step().await;
        self.inner.read_all(range, direction, limit, filter).await
    }
    async fn checkpoint(&self, name: &str) -> Result<Option<u64>, StorageError> {
        self.step().await;
        self.inner.checkpoint(name).await
    }
    async fn set_checkpoint(&self, name: &str, position: u64) -> Result<(), StorageError> {
        self.step().await;
        self.inner.set_checkpoint(name, position).await
    }
    async fn snapshot(&self, stream: &str) -> Result<Option<Snapshot>, StorageError> {
        self.step().await;
        self.inner.snapshot(stream).await
    }
    async fn save_snapshot(&self, stream: &str, snapshot: &Snapshot) -> Result<(), Error> {
        self.step().await;
        self.inner.save_snapshot(stream, snapshot).await
    }
    fn watch(&self, notifier: &Notifier) {
        self.inner.watch(notifier)
    }
    fn close(&self) {
        self.inner.close()
    }
}

/// 64 appends issued at once across 8 streams, mixing passing and failing checks, after 4
/// appends one by one: every outcome is the one deciding them one by one in call order gives.
pub async fn concurrent_appends<B: Backend>(store: &Rc<Store<B>>) {
    use ExpectedVersion::*;
    for s in 0..8 {
        if s % 2 == 0 {
            append(store, &format!("g-{s}"), 1).await;
        }
    }
    let before = read_all(store, ReadAllOptions::default()).await.len() as u64;
    // What each append must report, deciding them one by one in call order.
    let mut heads: Vec<u64> = (0..8).map(|s| if s % 2 == 0 { 1 } else { 0 }).collect();
    let mut head = before;
    let mut expected_outcomes = Vec::new();
    let mut calls = Vec::new();
    for i in 0..64u32 {
        let s = (i % 8) as usize;
        let stream = format!("g-{s}");
        let events: Vec<EventInput> = (0..1 + i % 3)
            .map(|k| event("G", (i * 10 + k) as i64).with_id(id(1000 + i * 10 + k)))
            .collect();
        let n = events.len() as u64;
        let (expected, ok) = match i % 4 {
            0 => (Exact(heads[s] + 1), false), // wrong: ahead
            1 => (Exact(heads[s]), true),      // right
            2 => (
                if heads[s] == 0 {
                    NoStream
                } else {
                    StreamExists
                },
                true,
            ),
            _ => (Any, true),
        };
        if i == 63 {
            // A duplicate of an id the first passing append of this call order wrote.
            calls.push((stream.clone(), vec![event("G", 10).with_id(id(1010))], Any));
            expected_outcomes.push(Err(Error::DuplicateEventId { id: id(1010) }));
            continue;
        }
        if ok {
            heads[s] += n;
            head += n;
            expected_outcomes.push(Ok(AppendResult {
                next_expected_version: heads[s],
                position: head,
            }));
        } else {
            expected_outcomes.push(Err(Error::WrongExpectedVersion {
                stream: stream.clone(),
                expected,
                actual: heads[s],
            }));
        }
        calls.push((stream, events, expected));
    }
    let outcomes =
        futures::future::join_all(calls.into_iter().map(|(stream, events, expected)| {
            let store = store.clone();
            async move { store.append(&stream, events, expected).await }
        }))
        .await;
    assert_eq!(outcomes, expected_outcomes);
    let all = read_all(store, ReadAllOptions::default()).await;
    assert_eq!(
        positions(&all),
        (1..=head).collect::<Vec<_>>(),
        "positions gapless, nothing partial"
    );
    for (s, &head) in heads.iter().enumerate() {
        let stream = read_stream(store, &format!("g-{s}"), ReadStreamOptions::default()).await;
        assert_eq!(versions(&stream), (1..=head).collect::<Vec<_>>());
    }
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Polls `future` for as long as it wakes itself (as `Instrumented::yielding` does); `Pending`
/// once it waits for something else (a commit, for a subscription).
pub fn poll_until_stuck<F: Future + ?Sized>(mut future: Pin<&mut F>) -> Poll<F::Output> {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        flag.0.store(false, Ordering::SeqCst);
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return Poll::Ready(v);
        }
        if !flag.0.load(Ordering::SeqCst) {
            return Poll::Pending;
        }
    }
}

// ---- cases -----------------------------------------------------------------------------

pub async fn expected_version_modes<B: Backend>(store: Rc<Store<B>>) {
    use ExpectedVersion::*;
    let s = "Order-1";
    let wrong = |expected, actual| {
        Err(Error::WrongExpectedVersion {
            stream: s.into(),
            expected,
            actual,
        })
    };
    let one = || vec![event("Placed", 1)];

    assert_eq!(
        store.append(s, one(), StreamExists).await,
        wrong(StreamExists, 0)
    );
    assert_eq!(store.append(s, one(), Exact(1)).await, wrong(Exact(1), 0));
    assert_eq!(
        store
            .append(s, one(), Exact(0))
            .await
            .map(|r| r.next_expected_version),
        Ok(1)
    );
    assert_eq!(store.append(s, one(), NoStream).await, wrong(NoStream, 1));
    assert_eq!(store.append(s, one(), Exact(0)).await, wrong(Exact(0), 1));
    assert_eq!(store.append(s, one(), Exact(2)).await, wrong(Exact(2), 1));
    assert_eq!(
        store
            .append(s, one(), StreamExists)
            .await
            .map(|r| r.next_expected_version),
        Ok(2)
    );
    assert_eq!(
        store
            .append(s, one(), Exact(2))
            .await
            .map(|r| r.next_expected_version),
        Ok(3)
    );
    assert_eq!(
        store
            .append(s, one(), Any)
            .await
            .map(|r| r.next_expected_version),
        Ok(4)
    );
    assert_eq!(
        store
            .append("Order-2", one(), NoStream)
            .await
            .map(|r| r.next_expected_version),
        Ok(1)
    );
    // Every refused append wrote nothing: 4 + 1 events, positions 1..5.
    assert_eq!(store.stream_version(s).await, Ok(4));
    assert_eq!(
        positions(&read_all(&store, ReadAllOptions::default()).await),
        vec![1, 2, 3, 4, 5]
    );
}

pub async fn append_is_all_or_nothing<B: Backend>(store: Rc<Store<B>>) {
    let r = append(&store, "a", 3).await;
    assert_eq!(
        r,
        AppendResult {
            next_expected_version: 3,
            position: 3
        }
    );
    let r = append(&store, "b", 2).await;
    assert_eq!(
        r,
        AppendResult {
            next_expected_version: 2,
            position: 5
        }
    );
    let r = append(&store, "a", 2).await;
    assert_eq!(
        r,
        AppendResult {
            next_expected_version: 5,
            position: 7
        }
    );
    let a = read_stream(&store, "a", ReadStreamOptions::default()).await;
    assert_eq!(versions(&a), vec![1, 2, 3, 4, 5]);
    assert_eq!(positions(&a), vec![1, 2, 3, 6, 7]);
    // One bad event refuses the whole call.
    let bad = vec![event("Ok", 1), EventInput::new("", Value::Null)];
    let before = contents(&store).await;
    assert!(matches!(
        store.append("a", bad, ExpectedVersion::Any).await,
        Err(Error::InvalidArgument { .. })
    ));
    assert_eq!(contents(&store).await, before);
    let e = &a[0];
    assert_eq!((e.stream.as_str(), e.event_type.as_str()), ("a", "Counted"));
    assert_eq!(e.data, Value::object([("n", Value::from(0i64))]));
    assert_eq!(e.metadata, Value::Object(vec![]));
    assert!(
        e.recorded_at > 1.6e12,
        "recorded_at is wall-clock milliseconds"
    );
}

pub async fn idempotent_retry<B: Backend>(store: Rc<Store<B>>) {
    let batch = || {
        vec![
            event("A", 1)
                .with_id(id(1))
                .with_metadata(Value::object([("by", Value::from("me"))])),
            event("B", 2).with_id(id(2)),
        ]
    };
    let first = store
        .append("s", batch(), ExpectedVersion::NoStream)
        .await
        .unwrap();
    assert_eq!(
        first,
        AppendResult {
            next_expected_version: 2,
            position: 2
        }
    );
    append(&store, "other", 1).await;
    append(&store, "s", 1).await;
    let before = contents(&store).await;
    // The retry carries the expectation the first call had; the stream has moved on since.
    let retry = store.append("s", batch(), ExpectedVersion::NoStream).await;
    assert_eq!(retry, Ok(first));
    assert_eq!(contents(&store).await, before, "a retry writes nothing");
    // Ids are stored in lower case; an upper-case spelling of the same id is the same event.
    let upper = vec![event("B", 2).with_id(id(2).to_uppercase())];
    assert_eq!(
        store.append("s", upper, ExpectedVersion::Any).await,
        Ok(AppendResult {
            next_expected_version: 2,
            position: 2
        })
    );
    let ids: Vec<String> = read_stream(&store, "s", ReadStreamOptions::default())
        .await
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(ids[..2], [id(1), id(2)]);
}

pub async fn duplicate_event_ids<B: Backend>(store: Rc<Store<B>>) {
    store
        .append(
            "s",
            vec![event("A", 1).with_id(id(1)), event("A", 2).with_id(id(2))],
            ExpectedVersion::Any,
        )
        .await
        .unwrap();
    let before = contents(&store).await;
    let dup = |n| Err(Error::DuplicateEventId { id: id(n) });
    let cases: Vec<(&str, Vec<EventInput>, u32)> = vec![
        ("other-stream", vec![event("A", 1).with_id(id(1))], 1),
        ("s", vec![event("A", 99).with_id(id(1))], 1), // other content
        (
            "s",
            vec![event("A", 2).with_id(id(2)), event("A", 1).with_id(id(1))],
            2,
        ), // other order
        (
            "s",
            vec![event("A", 3).with_id(id(3)), event("A", 1).with_id(id(1))],
            1,
        ), // partly new
        (
            "s",
            vec![event("A", 3).with_id(id(3)), event("A", 3).with_id(id(3))],
            3,
        ), // twice in one call
    ];
    for (stream, events, n) in cases {
        let outcome = store.append(stream, events, ExpectedVersion::Any).await;
        assert_eq!(outcome, dup(n), "{stream} with id {n}");
    }
    // The contract's rule is "every event of the call stands in this stream, contiguously and
    // in order": a call holding only the second event of the first append meets it.
    assert_eq!(
        store
            .append(
                "s",
                vec![event("A", 2).with_id(id(2))],
                ExpectedVersion::NoStream
            )
            .await,
        Ok(AppendResult {
            next_expected_version: 2,
            position: 2
        })
    );
    assert_eq!(
        contents(&store).await,
        before,
        "refused appends wrote nothing"
    );
}

pub async fn invalid_input_leaves_store_unchanged<B: Backend>(store: Rc<Store<B>>) {
    append(&store, "s", 2).await;
    store
        .save_snapshot(
            "s",
            Snapshot {
                version: 1,
                state: Value::Null,
            },
        )
        .await
        .unwrap();
    let before = contents(&store).await;
    let long = "x".repeat(257);
    let max = 256;
    let big = Value::from("y".repeat(DEFAULT_MAX_EVENT_BYTES));
    let cases: Vec<(&str, Vec<EventInput>, &str)> = vec![
        ("", vec![event("A", 1)], "stream"),
        (&long, vec![event("A", 1)], "stream"),
        ("bad\nname", vec![event("A", 1)], "stream"),
        ("s", vec![], "events"),
        (
            "s",
            vec![EventInput::new("", Value::Null)],
            "events[0].type",
        ),
        (
            "s",
            vec![
                event("A", 1),
                EventInput::new("t".repeat(max + 1), Value::Null),
            ],
            "events[1].type",
        ),
        (
            "s",
            vec![EventInput::new("A", Value::from(f64::NAN))],
            "events[0].data",
        ),
        (
            "s",
            vec![event("A", 1).with_metadata(Value::from(vec![]))],
            "events[0].metadata",
        ),
        (
            "s",
            vec![event("A", 1).with_id("not-a-uuid")],
            "events[0].id",
        ),
        (
            "s",
            vec![event("A", 1).with_id(format!("{{{}}}", id(1)))],
            "events[0].id",
        ),
        ("s", vec![EventInput::new("A", big)], "events[0]"),
    ];
    for (stream, events, field) in cases {
        match store.append(stream, events, ExpectedVersion::Any).await {
            Err(Error::InvalidArgument { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected InvalidArgument on {field}, got {other:?}"),
        }
    }
    assert!(matches!(
        store.stream_version("").await,
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        store.set_checkpoint("", 1).await,
        Err(Error::InvalidArgument { .. })
    ));
    let ahead = store
        .save_snapshot(
            "s",
            Snapshot {
                version: 3,
                state: Value::Bool(true),
            },
        )
        .await;
    assert!(
        matches!(ahead, Err(Error::InvalidArgument { ref field, .. }) if field == "snapshot.version")
    );
    assert!(matches!(
        AllReader::new(
            store.clone(),
            ReadAllOptions {
                filter: Filter {
                    types: Some(vec![]),
                    ..Default::default()
                },
                ..Default::default()
            }
        ),
        Err(Error::InvalidArgument { .. })
    ));
    assert_eq!(contents(&store).await, before);
    assert_eq!(
        store.load_snapshot("s").await,
        Ok(Some(Snapshot {
            version: 1,
            state: Value::Null
        }))
    );
    assert_eq!(store.checkpoint("c").await, Ok(None));
}

pub async fn paging_over_10k_events<B: Backend>(store: Rc<Store<B>>) {
    for batch in 0..100 {
        let stream = if batch % 2 == 0 {
            "Order-1"
        } else {
            "Invoice-1"
        };
        let events = (0..100)
            .map(|i| event(if i % 10 == 0 { "Rare" } else { "Common" }, batch * 100 + i))
            .collect();
        store
            .append(stream, events, ExpectedVersion::Any)
            .await
            .unwrap();
    }
    let all = read_all(&store, ReadAllOptions::default()).await;
    assert_eq!(positions(&all), (1..=10_000).collect::<Vec<_>>());
    let back = read_all(
        &store,
        ReadAllOptions {
            direction: Direction::Backward,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(positions(&back), (1..=10_000).rev().collect::<Vec<_>>());
    let orders = read_stream(&store, "Order-1", ReadStreamOptions::default()).await;
    assert_eq!(versions(&orders), (1..=5_000).collect::<Vec<_>>());
    assert!(orders.windows(2).all(|w| w[0].position < w[1].position));
    let orders_back = read_stream(
        &store,
        "Order-1",
        ReadStreamOptions {
            direction: Direction::Backward,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        versions(&orders_back),
        (1..=5_000).rev().collect::<Vec<_>>()
    );
    let rare = read_all(
        &store,
        ReadAllOptions {
            filter: Filter {
                types: Some(vec!["Rare".into()]),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    assert_eq!(rare.len(), 1_000);
    assert!(rare.iter().all(|e| e.event_type == "Rare"));
    let invoices = read_all(
        &store,
        ReadAllOptions {
            filter: Filter {
                stream_prefix: Some("Invoice-".into()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    assert_eq!(invoices.len(), 5_000);
    assert!(invoices.iter().all(|e| e.stream == "Invoice-1"));
    let tail = read_all(
        &store,
        ReadAllOptions {
            after: 9_990,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(positions(&tail), (9_991..=10_000).collect::<Vec<_>>());
}

pub async fn read_options<B: Backend>(store: Rc<Store<B>>) {
    append(&store, "s", 10).await;
    append(&store, "t", 5).await;
    let r = |from_version, direction, limit| ReadStreamOptions {
        from_version,
        direction,
        limit,
    };
    use Direction::*;
    assert_eq!(
        versions(&read_stream(&store, "s", r(Some(4), Forward, None)).await),
        (4..=10).collect::<Vec<_>>()
    );
    assert_eq!(
        versions(&read_stream(&store, "s", r(Some(4), Forward, Some(2))).await),
        vec![4, 5]
    );
    assert_eq!(
        versions(&read_stream(&store, "s", r(Some(4), Backward, None)).await),
        vec![4, 3, 2, 1]
    );
    assert_eq!(
        versions(&read_stream(&store, "s", r(None, Backward, Some(3))).await),
        vec![10, 9, 8]
    );
    assert_eq!(
        versions(&read_stream(&store, "s", r(Some(99), Backward, Some(2))).await),
        vec![10, 9]
    );
    assert_eq!(
        versions(&read_stream(&store, "s", r(Some(11), Forward, None)).await),
        Vec::<u64>::new()
    );
    assert_eq!(
        versions(&read_stream(&store, "s", r(None, Forward, Some(0))).await),
        Vec::<u64>::new()
    );
    assert_eq!(
        read_stream(&store, "nothing", r(None, Forward, None)).await,
        vec![]
    );
    assert_eq!(store.stream_version("nothing").await, Ok(0));
    let a = |after, direction, limit| ReadAllOptions {
        after,
        direction,
        limit,
        filter: Filter::default(),
    };
    assert_eq!(
        positions(&read_all(&store, a(12, Forward, None)).await),
        vec![13, 14, 15]
    );
    assert_eq!(
        positions(&read_all(&store, a(12, Backward, None)).await),
        vec![15, 14, 13]
    );
    assert_eq!(
        positions(&read_all(&store, a(0, Backward, Some(2))).await),
        vec![15, 14]
    );
    assert_eq!(
        positions(&read_all(&store, a(15, Forward, None)).await),
        Vec::<u64>::new()
    );
}

pub async fn catch_up_then_live_with_racing_appends<B: Backend>(store: Rc<Store<B>>) {
    const BEFORE: u64 = 600;
    const DURING: u64 = 300;
    for _ in 0..6 {
        append(&store, "Race-1", 100).await;
    }
    let subscription = Subscription::new(store.clone(), SubscribeOptions::default()).unwrap();
    let consumer = async {
        let mut seen = Vec::new();
        while (seen.len() as u64) < BEFORE + DURING {
            let e = subscription.next().await.unwrap().expect("open");
            seen.push(e.position);
        }
        seen
    };
    let producer = async {
        for i in 0..DURING {
            let stream = if i % 3 == 0 { "Race-2" } else { "Race-1" };
            store
                .append(stream, vec![event("Live", i as i64)], ExpectedVersion::Any)
                .await
                .unwrap();
            yield_now().await;
        }
    };
    let (seen, ()) = futures::join!(consumer, producer);
    assert_eq!(seen, (1..=BEFORE + DURING).collect::<Vec<_>>());
    assert_eq!(subscription.position(), BEFORE + DURING);
}

pub async fn subscribe_after_end<B: Backend>(store: Rc<Store<B>>) {
    append(&store, "s", 5).await;
    let subscription = Subscription::new(
        store.clone(),
        SubscribeOptions {
            start: Start::End,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(subscription.position(), 5);
    append(&store, "s", 3).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(subscription.next().await.unwrap().unwrap().position);
    }
    assert_eq!(got, vec![6, 7, 8]);
}

pub async fn subscription_filters<B: Backend>(store: Rc<Store<B>>) {
    let options = SubscribeOptions {
        filter: Filter {
            types: Some(vec!["Paid".into()]),
            stream_prefix: Some("Order-".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let subscription = Subscription::new(store.clone(), options).unwrap();
    store
        .append(
            "Order-1",
            vec![event("Placed", 1), event("Paid", 2)],
            ExpectedVersion::Any,
        )
        .await
        .unwrap();
    store
        .append("Invoice-1", vec![event("Paid", 3)], ExpectedVersion::Any)
        .await
        .unwrap();
    store
        .append("Order-2", vec![event("Paid", 4)], ExpectedVersion::Any)
        .await
        .unwrap();
    let a = subscription.next().await.unwrap().unwrap();
    let b = subscription.next().await.unwrap().unwrap();
    assert_eq!((a.position, a.stream.as_str()), (2, "Order-1"));
    assert_eq!((b.position, b.stream.as_str()), (4, "Order-2"));
}

/// `streams` selects streams by their exact names, where `streamPrefix: "Order-1"` also
/// matches `Order-10`; reads and subscriptions alike, combined with the other parts.
pub async fn exact_stream_filters<B: Backend>(store: Rc<Store<B>>) {
    for (stream, n) in [("Order-1", 1), ("Order-10", 2), ("Order-2", 3), ("Order-1", 4), ("Cart-1", 5)] {
        store.append(stream, vec![event(if n == 4 { "Paid" } else { "Placed" }, n)], ExpectedVersion::Any).await.unwrap();
    }
    let read = |filter: Filter| {
        let store = store.clone();
        async move { positions(&read_all(&store, ReadAllOptions { filter, ..Default::default() }).await) }
    };
    let streams = |names: &[&str]| Some(names.iter().map(|s| String::from(*s)).collect::<Vec<_>>());
    assert_eq!(read(Filter { streams: streams(&["Order-1"]), ..Default::default() }).await, vec![1, 4]);
    assert_eq!(read(Filter { stream_prefix: Some("Order-1".into()), ..Default::default() }).await, vec![1, 2, 4]);
    assert_eq!(read(Filter { streams: streams(&["Cart-1", "Order-2"]), ..Default::default() }).await, vec![3, 5]);
    let paid = Filter { streams: streams(&["Order-1", "Order-10"]), types: Some(vec!["Placed".into()]), ..Default::default() };
    assert_eq!(read(paid).await, vec![1, 2]);
    assert_eq!(read(Filter { streams: streams(&["Order-3"]), ..Default::default() }).await, Vec::<u64>::new());
    let backward = ReadAllOptions {
        direction: Direction::Backward,
        filter: Filter { streams: streams(&["Order-1"]), ..Default::default() },
        ..Default::default()
    };
    assert_eq!(positions(&read_all(&store, backward).await), vec![4, 1]);

    let options = SubscribeOptions { filter: Filter { streams: streams(&["Order-10"]), ..Default::default() }, ..Default::default() };
    let subscription = Subscription::new(store.clone(), options).unwrap();
    store.append("Order-10", vec![event("Shipped", 6)], ExpectedVersion::Any).await.unwrap();
    store.append("Order-1", vec![event("Shipped", 7)], ExpectedVersion::Any).await.unwrap();
    store.append("Order-10", vec![event("Shipped", 8)], ExpectedVersion::Any).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(subscription.next().await.unwrap().unwrap().position);
    }
    assert_eq!(got, vec![2, 6, 8]);

    for (streams, field) in [(Some(vec![]), "streams"), (Some(vec![String::new()]), "streams[0]")] {
        let filter = Filter { streams, ..Default::default() };
        let all = AllReader::new(store.clone(), ReadAllOptions { filter: filter.clone(), ..Default::default() });
        assert!(matches!(all, Err(Error::InvalidArgument { field: ref f, .. }) if f == field), "{field}");
        let sub = Subscription::new(store.clone(), SubscribeOptions { filter, ..Default::default() });
        assert!(matches!(sub, Err(Error::InvalidArgument { field: ref f, .. }) if f == field), "{field}");
    }
}

/// Events as an export holds them: `(stream, version, id number, type)`, recorded at 1000 + n.
fn exported(events: &[(&str, u64, u32, &str)]) -> Vec<ImportedEvent> {
    events
        .iter()
        .map(|&(stream, version, n, event_type)| ImportedEvent {
            stream: stream.into(),
            version,
            event: EventInput::new(event_type, Value::object([("n", Value::from(n as i64))]))
                .with_id(id(n))
                .with_metadata(Value::object([("by", Value::from("import"))])),
            recorded_at: 1000.0 + n as f64,
        })
        .collect()
}

/// An import puts each event at its version with its id, type, data, metadata and time;
/// importing what stands writes nothing; a stream whose history differs refuses; invalid
/// input writes nothing.
pub async fn import_keeps_ids_and_versions_and_is_idempotent<B: Backend>(store: Rc<Store<B>>) {
    let first = exported(&[("Order-1", 1, 1, "Placed"), ("Cart-1", 1, 2, "Added"), ("Order-1", 2, 3, "Paid")]);
    store.import(first.clone(), 0).await.unwrap();
    let all = read_all(&store, ReadAllOptions::default()).await;
    let seen: Vec<_> = all.iter().map(|e| (e.stream.as_str(), e.version, e.position, e.id.to_string(), e.recorded_at)).collect();
    assert_eq!(
        seen,
        vec![
            ("Order-1", 1, 1, id(1), 1001.0),
            ("Cart-1", 1, 2, id(2), 1002.0),
            ("Order-1", 2, 3, id(3), 1003.0),
        ]
    );
    assert_eq!(all[2].event_type, "Paid");
    assert_eq!(all[2].metadata, Value::object([("by", Value::from("import"))]));
    assert_eq!(all[2].data, Value::object([("n", Value::from(3i64))]));

    // Again, and again with more: what stands is skipped, the rest follows at its versions.
    store.import(first.clone(), 0).await.unwrap();
    assert_eq!(contents(&store).await.len(), 3);
    let more = exported(&[("Order-1", 1, 1, "Placed"), ("Order-1", 2, 3, "Paid"), ("Order-1", 3, 4, "Shipped")]);
    store.import(more, 0).await.unwrap();
    assert_eq!(read_stream(&store, "Order-1", ReadStreamOptions::default()).await.iter().map(|e| e.id.to_string()).collect::<Vec<_>>(), vec![id(1), id(3), id(4)]);
    assert_eq!(store.known_head(), 4);

    // A stream with another history: refused, nothing of that event written.
    let before = contents(&store).await;
    let other = exported(&[("Order-1", 2, 9, "Cancelled")]);
    assert_eq!(
        store.import(other, 0).await,
        Err(Error::WrongExpectedVersion { stream: "Order-1".into(), expected: ExpectedVersion::Exact(1), actual: 3 })
    );
    // An id standing for another event.
    let taken = exported(&[("Cart-1", 2, 3, "Paid")]);
    assert_eq!(store.import(taken, 0).await, Err(Error::DuplicateEventId { id: id(3) }));
    assert_eq!(contents(&store).await, before);

    // Invalid input, named by its index in the import (`first` onward): nothing written.
    let mut no_id = exported(&[("New-1", 1, 20, "A"), ("New-1", 2, 21, "B")]);
    no_id[1].event.id = None;
    let mut version_zero = exported(&[("New-1", 1, 20, "A")]);
    version_zero[0].version = 0;
    let bad_type = exported(&[("New-1", 1, 20, "")]);
    let bad_stream = exported(&[("", 1, 20, "A")]);
    let mut bad_data = exported(&[("New-1", 1, 20, "A")]);
    bad_data[0].event.data = Value::from(f64::NAN);
    for (events, field) in [
        (no_id, "events[11].id"),
        (version_zero, "events[10].version"),
        (bad_type, "events[10].type"),
        (bad_stream, "events[10].stream"),
        (bad_data, "events[10].data"),
    ] {
        match store.import(events, 10).await {
            Err(Error::InvalidArgument { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: expected InvalidArgument, got {other:?}"),
        }
    }
    assert_eq!(contents(&store).await, before);
}

/// `next_buffered` hands over exactly what `next` would, in the same order, with the same
/// checkpoint marking, and never reads storage or waits.
pub async fn buffered_delivery_is_next_without_waiting<B: Backend>(store: Rc<Store<B>>) {
    append(&store, "s", 5).await;
    let options = || SubscribeOptions {
        checkpoint: Some("fast".into()),
        ..Default::default()
    };
    let sub = Subscription::new(store.clone(), options()).unwrap();
    assert!(
        sub.next_buffered().is_none(),
        "nothing is read before the first next()"
    );
    let mut got = vec![sub.next().await.unwrap().unwrap().position];
    while let Some(event) = sub.next_buffered() {
        got.push(event.position);
    }
    assert_eq!(got, vec![1, 2, 3, 4, 5], "the page read by next(), in order");
    assert_eq!(sub.position(), 5);
    // A commit after the page was read: next_buffered does not go to storage, next() does.
    append(&store, "s", 1).await;
    assert!(sub.next_buffered().is_none());
    assert_eq!(sub.next().await.unwrap().unwrap().position, 6);
    // Events 1..=5 were finished (next() was asked for more): saved before that read.
    assert_eq!(store.checkpoint("fast").await, Ok(Some(5)));
    // Leaving while holding 6 after handing over 6 by next_buffered's rules: 6 stays unmarked.
    sub.close().await.unwrap();
    assert!(sub.next_buffered().is_none(), "nothing after close");
    assert_eq!(store.checkpoint("fast").await, Ok(Some(5)));
    let resumed = Subscription::new(store.clone(), options()).unwrap();
    assert_eq!(resumed.next().await.unwrap().unwrap().position, 6);
    assert_eq!(resumed.next_buffered(), None, "6 was the last event");
    // The event delivered by next_buffered is marked done by the next call, like next's.
    append(&store, "s", 2).await;
    assert_eq!(resumed.next().await.unwrap().unwrap().position, 7);
    assert_eq!(resumed.next_buffered().map(|e| e.position), Some(8));
    resumed.close().await.unwrap();
    assert_eq!(store.checkpoint("fast").await, Ok(Some(7)), "8 in hand, 7 done");
}

pub async fn checkpoint_resume_is_at_least_once<B: Backend>(store: Rc<Store<B>>) {
    append(&store, "s", 10).await;
    let options = || SubscribeOptions {
        checkpoint: Some("projector".into()),
        ..Default::default()
    };
    let first = Subscription::new(store.clone(), options()).unwrap();
    for expected in 1..=3 {
        assert_eq!(first.next().await.unwrap().unwrap().position, expected);
    }
    // The consumer leaves the loop while holding event 3: 1 and 2 are done, 3 is not.
    first.close().await.unwrap();
    assert_eq!(
        first.next().await,
        Ok(None),
        "a closed subscription yields nothing"
    );
    assert_eq!(store.checkpoint("projector").await, Ok(Some(2)));
    let second = Subscription::new(store.clone(), options()).unwrap();
    let resumed: Vec<u64> = {
        let mut v = Vec::new();
        for _ in 0..8 {
            v.push(second.next().await.unwrap().unwrap().position);
        }
        v
    };
    assert_eq!(
        resumed,
        (3..=10).collect::<Vec<_>>(),
        "event 3 is delivered again, 1 and 2 not"
    );
    // Asking for the next event marks 10 done; it is saved before the subscription waits.
    // The close lands while that save is under way (on storage that yields), and must still
    // end the pending next().
    let waiting = second.next();
    let closer = async {
        second.close().await.unwrap();
    };
    let (after_close, ()) = futures::join!(waiting, closer);
    assert_eq!(after_close, Ok(None));
    assert_eq!(store.checkpoint("projector").await, Ok(Some(10)));
    // A checkpoint's saved position wins over `after`.
    let third = Subscription::new(
        store.clone(),
        SubscribeOptions {
            start: Start::After(0),
            ..options()
        },
    )
    .unwrap();
    append(&store, "s", 1).await;
    assert_eq!(third.next().await.unwrap().unwrap().position, 11);
}

pub async fn checkpoints<B: Backend>(store: Rc<Store<B>>) {
    assert_eq!(store.checkpoint("a").await, Ok(None));
    store.set_checkpoint("a", 7).await.unwrap();
    store.set_checkpoint("b", 1).await.unwrap();
    store.set_checkpoint("a", 9).await.unwrap();
    assert_eq!(store.checkpoint("a").await, Ok(Some(9)));
    assert_eq!(store.checkpoint("b").await, Ok(Some(1)));
}

pub async fn snapshots<B: Backend>(store: Rc<Store<B>>) {
    assert_eq!(store.load_snapshot("s").await, Ok(None));
    append(&store, "s", 3).await;
    let state = Value::object([
        ("total", Value::from(42.5)),
        ("items", Value::from(vec![Value::from("a")])),
    ]);
    store
        .save_snapshot(
            "s",
            Snapshot {
                version: 2,
                state: state.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.load_snapshot("s").await,
        Ok(Some(Snapshot { version: 2, state }))
    );
    store
        .save_snapshot(
            "s",
            Snapshot {
                version: 3,
                state: Value::Null,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.load_snapshot("s").await,
        Ok(Some(Snapshot {
            version: 3,
            state: Value::Null
        }))
    );
    let ahead = store
        .save_snapshot(
            "s",
            Snapshot {
                version: 4,
                state: Value::Bool(true),
            },
        )
        .await;
    assert!(matches!(ahead, Err(Error::InvalidArgument { .. })));
    assert_eq!(
        store.load_snapshot("s").await,
        Ok(Some(Snapshot {
            version: 3,
            state: Value::Null
        }))
    );
    assert!(matches!(
        store
            .save_snapshot(
                "empty",
                Snapshot {
                    version: 1,
                    state: Value::Null
                }
            )
            .await,
        Err(Error::InvalidArgument { .. })
    ));
}

pub async fn close_ends_everything<B: Backend>(store: Rc<Store<B>>) {
    append(&store, "s", 1).await;
    let subscription = Subscription::new(store.clone(), SubscribeOptions::default()).unwrap();
    assert_eq!(subscription.next().await.unwrap().unwrap().position, 1);
    let closed = Cell::new(false);
    let waiting = async {
        let r = subscription.next().await;
        assert!(closed.get(), "next() waits until the store closes");
        r
    };
    let closer = async {
        yield_now().await;
        closed.set(true);
        store.close();
    };
    let (r, ()) = futures::join!(waiting, closer);
    assert_eq!(r, Ok(None));
    assert_eq!(
        store
            .append("s", vec![event("A", 1)], ExpectedVersion::Any)
            .await,
        Err(Error::StoreClosed)
    );
    assert_eq!(store.stream_version("s").await, Err(Error::StoreClosed));
    assert_eq!(store.checkpoint("c").await, Err(Error::StoreClosed));
    assert_eq!(store.load_snapshot("s").await, Err(Error::StoreClosed));
    assert!(matches!(
        Subscription::new(store.clone(), SubscribeOptions::default()),
        Err(Error::StoreClosed)
    ));
    assert!(matches!(
        AllReader::new(store.clone(), ReadAllOptions::default()),
        Err(Error::StoreClosed)
    ));
    store.close(); // twice is harmless
}

/// The backend contract group commit stands on: several appends in one transaction, each
/// with its own check and outcome.
pub async fn batch_outcomes_are_independent<B: Backend>(store: Rc<Store<B>>) {
    append(&store, "b", 1).await;
    let request = |stream: &str, expected, ids: &[u32]| {
        let events = ids
            .iter()
            .map(|&n| event("E", n as i64).with_id(id(n)))
            .collect();
        AppendRequest::new(
            stream,
            events,
            expected,
            DEFAULT_MAX_EVENT_BYTES,
            0.0,
            Uuid::nil,
        )
        .unwrap()
    };
    let outcomes = store
        .backend()
        .append(&[
            request("a", ExpectedVersion::NoStream, &[1, 2]),
            request("b", ExpectedVersion::Exact(0), &[3]), // fails: b is at 1
            request("a", ExpectedVersion::Exact(2), &[4]), // sees the first request's write
            request("c", ExpectedVersion::Any, &[1]),      // duplicate of the first request's id
            request("a", ExpectedVersion::Exact(3), &[5]),
        ])
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            Ok(AppendResult {
                next_expected_version: 2,
                position: 3
            }),
            Err(Error::WrongExpectedVersion {
                stream: "b".into(),
                expected: ExpectedVersion::Exact(0),
                actual: 1
            }),
            Ok(AppendResult {
                next_expected_version: 3,
                position: 4
            }),
            Err(Error::DuplicateEventId { id: id(1) }),
            Ok(AppendResult {
                next_expected_version: 4,
                position: 5
            }),
        ]
    );
    let all = read_all(&store, ReadAllOptions::default()).await;
    assert_eq!(
        positions(&all),
        vec![1, 2, 3, 4, 5],
        "positions stay gapless"
    );
    assert_eq!(store.backend().head().await, Ok(5));
}

/// Group commit: appends issued concurrently are decided in call order, each with its own
/// check and outcome; none is partial and positions stay gapless.
pub async fn concurrent_appends_decide_in_call_order<B: Backend>(store: Rc<Store<B>>) {
    concurrent_appends(&store).await;
}
