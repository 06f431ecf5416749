//! The IndexedDB backend in headless Chromium: the conformance suite, then what only
//! IndexedDB has — persistence, several connections on one database, transaction aborts,
//! the schema version, and cross-context notification. Every test has its own database.
#![cfg(target_arch = "wasm32")]

mod conformance;
mod sync_suite;
mod sync_support;

use std::rc::Rc;

use annals::core::*;
use annals::core::sync::SyncBackend;
use annals::idb::IdbBackend;
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{IdbDatabase, IdbFactory, IdbRequest, IdbTransactionMode};

wasm_bindgen_test_configure!(run_in_browser);

conformance::suite!(|name: &'static str| async move {
    let backend = IdbBackend::open(&unique(name)).await.expect("open IndexedDB");
    Store::open(backend, StoreConfig::default()).await.expect("open store")
});

sync_suite::suite!(|case: &'static str, device: &'static str| async move {
    let backend = IdbBackend::open(&unique(&format!("{case}-{device}"))).await.expect("open IndexedDB");
    Store::open(backend, StoreConfig::default()).await.expect("open store")
});

// ---- helpers ---------------------------------------------------------------------------

/// A store name no other test (or earlier run) uses.
fn unique(label: &str) -> String {
    format!("{label}-{}", Uuid::now_v7())
}

async fn open_store(name: &str) -> Rc<Store<IdbBackend>> {
    let backend = IdbBackend::open(name).await.expect("open IndexedDB");
    Store::open(backend, StoreConfig::default()).await.expect("open store")
}

fn event(n: u32) -> EventInput {
    EventInput::new("Counted", Value::object([("n", Value::from(n as i64))]))
}

fn request(stream: &str, events: Vec<EventInput>, expected: ExpectedVersion) -> AppendRequest {
    AppendRequest::new(stream, events, expected, 1 << 20, 1.0e12, Uuid::now_v7).expect("valid request")
}

async fn everything(backend: &IdbBackend) -> Vec<RecordedEvent> {
    let page = backend
        .read_all(PositionRange::after(0), Direction::Forward, 100_000, &Filter::default())
        .await
        .expect("read_all");
    assert!(page.exhausted);
    page.events.iter().map(|e| e.to_values().expect("payload")).collect()
}

async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        let set_timeout: Function =
            Reflect::get(&js_sys::global(), &"setTimeout".into()).expect("setTimeout").unchecked_into();
        set_timeout.call2(&JsValue::NULL, &resolve, &ms.into()).expect("setTimeout call");
    });
    JsFuture::from(promise).await.expect("timer");
}

/// Raw IndexedDB, to reach behind the backend's back.
async fn raw(request: Result<IdbRequest, JsValue>) -> Result<JsValue, JsValue> {
    let request = request?;
    let done = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    JsFuture::from(done).await?;
    request.result()
}

async fn raw_open(database: &str, version: Option<u32>) -> IdbDatabase {
    let factory: IdbFactory =
        Reflect::get(&js_sys::global(), &"indexedDB".into()).expect("indexedDB").unchecked_into();
    let request = match version {
        Some(v) => factory.open_with_u32(database, v),
        None => factory.open(database),
    };
    raw(request.map(JsCast::unchecked_into)).await.expect("raw open").unchecked_into()
}

async fn raw_put(db: &IdbDatabase, store: &str, record: &Object) {
    let tx = db.transaction_with_str_and_mode(store, IdbTransactionMode::Readwrite).expect("tx");
    let store = tx.object_store(store).expect("store");
    raw(store.put(record)).await.expect("raw put");
}

fn object(pairs: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (k, v) in pairs {
        Reflect::set(&object, &JsValue::from_str(k), v).expect("set");
    }
    object
}

// ---- IndexedDB-specific behaviour ------------------------------------------------------

#[wasm_bindgen_test]
async fn idb_data_outlives_close_and_reopen() {
    let name = unique("reopen");
    let first = open_store(&name).await;
    let appended = first.append("Order-1", vec![event(1), event(2)], ExpectedVersion::NoStream).await.expect("append");
    assert_eq!(appended, AppendResult { next_expected_version: 2, position: 2 });
    first.append("Order-2", vec![event(3)], ExpectedVersion::Any).await.expect("append");
    first.set_checkpoint("projection", 2).await.expect("checkpoint");
    let snapshot = Snapshot { version: 2, state: Value::object([("total", Value::from(3i64))]) };
    first.save_snapshot("Order-1", snapshot.clone()).await.expect("snapshot");
    let before = everything(first.backend()).await;
    first.close();

    let again = open_store(&name).await;
    assert_eq!(again.known_head(), 3, "the reopened store starts from the stored head");
    assert_eq!(again.stream_version("Order-1").await, Ok(2));
    assert_eq!(again.checkpoint("projection").await, Ok(Some(2)));
    assert_eq!(again.load_snapshot("Order-1").await, Ok(Some(snapshot)));
    let after = everything(again.backend()).await;
    assert_eq!(after, before, "ids, data, metadata and recordedAt come back exactly");
    assert_eq!(after.iter().map(|e| e.position).collect::<Vec<_>>(), vec![1, 2, 3]);
    // The idempotency index survived too: a retry of the first append is reported, not written.
    let retry = vec![
        event(1).with_id(before[0].id.to_string()),
        event(2).with_id(before[1].id.to_string()),
    ];
    assert_eq!(
        again.append("Order-1", retry, ExpectedVersion::NoStream).await,
        Ok(AppendResult { next_expected_version: 2, position: 2 })
    );
    assert_eq!(again.backend().head().await, Ok(3));
}

#[wasm_bindgen_test]
async fn idb_two_stores_on_one_database_append_without_gap_or_duplicate() {
    let name = unique("contention");
    let (a, b) = (open_store(&name).await, open_store(&name).await);
    const EACH: u32 = 15;

    async fn writer(store: &Store<IdbBackend>, tag: i64) -> (Vec<Uuid>, u32) {
        let (mut ids, mut conflicts) = (Vec::new(), 0);
        for _ in 0..EACH {
            let id = Uuid::now_v7();
            loop {
                let seen = store.stream_version("Counter-1").await.expect("version");
                let input = EventInput::new("Ticked", Value::from(tag)).with_id(id.to_string());
                match store.append("Counter-1", vec![input], ExpectedVersion::Exact(seen)).await {
                    Ok(result) => {
                        assert_eq!(result.next_expected_version, seen + 1);
                        break;
                    }
                    Err(Error::WrongExpectedVersion { actual, .. }) => {
                        assert!(actual > seen, "a conflict means the other store moved on");
                        conflicts += 1;
                    }
                    Err(other) => panic!("unexpected error: {other:?}"),
                }
            }
            ids.push(id);
        }
        (ids, conflicts)
    }

    let ((ids_a, conflicts_a), (ids_b, conflicts_b)) = futures::join!(writer(&a, 1), writer(&b, 2));
    assert!(conflicts_a + conflicts_b > 0, "the two writers never raced: the test proved nothing");

    let events = a.backend().read_stream("Counter-1", 1, Direction::Forward, 1000).await.expect("read");
    let n = 2 * EACH as u64;
    assert_eq!(events.iter().map(|e| e.version).collect::<Vec<_>>(), (1..=n).collect::<Vec<_>>());
    assert_eq!(events.iter().map(|e| e.position).collect::<Vec<_>>(), (1..=n).collect::<Vec<_>>());
    // Each writer's events stand once each, in the order it wrote them.
    for (tag, ids) in [(1i64, ids_a), (2, ids_b)] {
        let stored: Vec<Uuid> =
            events.iter().filter(|e| e.data.to_value("data").ok() == Some(Value::from(tag))).map(|e| e.id).collect();
        assert_eq!(stored, ids);
    }
    assert_eq!(b.backend().head().await, Ok(n));
    assert_eq!(b.stream_version("Counter-1").await, Ok(n));
}

#[wasm_bindgen_test]
async fn idb_a_refused_request_in_a_batch_leaves_the_others_committed() {
    let backend = IdbBackend::open(&unique("batch")).await.expect("open");
    let outcomes = backend
        .append(&[
            request("A-1", vec![event(1), event(2)], ExpectedVersion::NoStream),
            request("B-1", vec![event(3)], ExpectedVersion::Exact(4)),
            request("A-1", vec![event(4)], ExpectedVersion::Exact(2)),
            request("C-1", vec![event(5)], ExpectedVersion::StreamExists),
        ])
        .await
        .expect("the transaction commits");
    assert_eq!(
        outcomes,
        vec![
            Ok(AppendResult { next_expected_version: 2, position: 2 }),
            Err(Error::WrongExpectedVersion { stream: "B-1".into(), expected: ExpectedVersion::Exact(4), actual: 0 }),
            Ok(AppendResult { next_expected_version: 3, position: 3 }),
            Err(Error::WrongExpectedVersion { stream: "C-1".into(), expected: ExpectedVersion::StreamExists, actual: 0 }),
        ]
    );
    let stored = everything(&backend).await;
    let places: Vec<_> = stored.iter().map(|e| (e.stream.as_str(), e.version, e.position)).collect();
    assert_eq!(places, vec![("A-1", 1, 1), ("A-1", 2, 2), ("A-1", 3, 3)]);
    assert_eq!(backend.stream_version("B-1").await, Ok(0));

    // A batch where every request is refused writes nothing, and the head stays.
    let outcomes = backend
        .append(&[request("A-1", vec![event(6)], ExpectedVersion::NoStream)])
        .await
        .expect("the transaction ends cleanly");
    assert_eq!(
        outcomes,
        vec![Err(Error::WrongExpectedVersion { stream: "A-1".into(), expected: ExpectedVersion::NoStream, actual: 3 })]
    );
    assert_eq!(backend.head().await, Ok(3));
    assert_eq!(everything(&backend).await, stored);
}

/// The batch an import makes: in one transaction, every request after the first refused one
/// is skipped, whichever its stream (`Chaining::Sequence`); with `ByStream`, only those of the
/// refused stream.
#[wasm_bindgen_test]
async fn idb_a_chained_batch_skips_what_depends_on_a_refused_request() {
    let batch = || {
        vec![
            request("A-1", vec![event(1)], ExpectedVersion::NoStream),
            request("B-1", vec![event(2)], ExpectedVersion::Exact(4)),
            request("B-1", vec![event(3)], ExpectedVersion::Any),
            request("C-1", vec![event(4)], ExpectedVersion::Any),
        ]
    };
    let skipped = |outcome: &Result<AppendResult, Error>| matches!(outcome, Err(Error::Storage(e)) if e.cause.contains("not decided"));
    let backend = IdbBackend::open(&unique("sequence")).await.expect("open");
    let outcomes = backend.append_chained(&batch(), Chaining::Sequence).await.expect("the transaction commits");
    assert_eq!(outcomes[0], Ok(AppendResult { next_expected_version: 1, position: 1 }));
    assert!(matches!(outcomes[1], Err(Error::WrongExpectedVersion { actual: 0, .. })));
    assert!(outcomes[2..].iter().all(skipped), "{outcomes:?}");
    let stored = everything(&backend).await;
    assert_eq!(stored.iter().map(|e| e.stream.as_str()).collect::<Vec<_>>(), ["A-1"]);

    let backend = IdbBackend::open(&unique("by-stream")).await.expect("open");
    let outcomes = backend.append_chained(&batch(), Chaining::ByStream).await.expect("the transaction commits");
    assert!(skipped(&outcomes[2]), "{outcomes:?}");
    assert_eq!(outcomes[3], Ok(AppendResult { next_expected_version: 1, position: 2 }));
    let stored = everything(&backend).await;
    assert_eq!(stored.iter().map(|e| e.stream.as_str()).collect::<Vec<_>>(), ["A-1", "C-1"]);
}

#[wasm_bindgen_test]
async fn idb_a_failed_write_aborts_the_whole_transaction_and_the_next_append_works() {
    let name = unique("constraint");
    let backend = IdbBackend::open(&name).await.expect("open");
    backend.append(&[request("B-1", vec![event(1)], ExpectedVersion::Any)]).await.expect("append");

    // Behind the backend's back, a record below every position claims outbox key 4: the
    // batch's second append (at position 4) breaks the unique `outbox` index when written.
    let raw_db = raw_open(backend.database_name(), None).await;
    let squatter = object(&[("last", (-1).into()), ("outbox", 4.into())]);
    raw_put(&raw_db, "log", &squatter).await;
    raw_db.close();

    let failed = backend
        .append(&[
            request("A-1", vec![event(2), event(3)], ExpectedVersion::NoStream),
            request("B-1", vec![event(4)], ExpectedVersion::Any),
        ])
        .await;
    match failed {
        Err(StorageError { kind: StorageErrorKind::Other, cause, exception }) => {
            assert!(cause.starts_with("ConstraintError: "), "the DOMException is the cause: {cause}");
            assert!(cause.ends_with("(write log)"), "the failed operation is named: {cause}");
            let exception = exception.expect("the DOMException is kept");
            let exception: &web_sys::DomException = exception.dyn_ref().expect("a DOMException");
            assert_eq!(exception.name(), "ConstraintError");
        }
        other => panic!("expected a ConstraintError, got {other:?}"),
    }
    // Nothing of the batch stands, not even the request before the failure.
    assert_eq!(backend.head().await, Ok(1));
    assert_eq!(backend.stream_version("A-1").await, Ok(0));
    assert_eq!(everything(&backend).await.len(), 1);

    // The backend is not left broken: the next append commits at the next position.
    let next = backend
        .append(&[request("A-1", vec![event(5)], ExpectedVersion::NoStream)])
        .await
        .expect("append after the abort");
    assert_eq!(next, vec![Ok(AppendResult { next_expected_version: 1, position: 2 })]);
    let positions: Vec<u64> = everything(&backend).await.iter().map(|e| e.position).collect();
    assert_eq!(positions, vec![1, 2]);
}

#[wasm_bindgen_test]
async fn idb_a_record_that_does_not_decode_is_a_storage_error_not_a_panic() {
    let backend = IdbBackend::open(&unique("corrupt")).await.expect("open");
    backend.append(&[request("A-1", vec![event(1)], ExpectedVersion::Any)]).await.expect("append");
    // (field, its first event's value or the record's, the error)
    let cases: [(&str, JsValue, &str); 7] = [
        ("ids", "not-a-uuid".into(), "id is not a lower-case hyphenated UUID"),
        ("types", 5.into(), "log entry is not a run of events"),
        // NUL is read like any character: a text holding it is refused, never split.
        ("types", "A\u{0}1".into(), "log entry is not a run of events"),
        ("stream", "A\u{0}1".into(), "log entry is not a run of events"),
        ("version", "1".into(), "log entry has no last position or version"),
        ("times", JsValue::NULL, "recordedAt is not a finite number"),
        ("metadata", JsValue::NULL, "metadata is not an object"),
    ];
    for (field, value, reason) in cases {
        let raw_db = raw_open(backend.database_name(), None).await;
        let tx = raw_db.transaction_with_str_and_mode("log", IdbTransactionMode::Readwrite).expect("tx");
        let log = tx.object_store("log").expect("log");
        let record = raw(log.get(&1.into())).await.expect("get");
        let original = Reflect::get(&record, &field.into()).expect("field");
        let changed = if Array::is_array(&original) { Array::of1(&value).into() } else { value };
        Reflect::set(&record, &field.into(), &changed).expect("set");
        raw(log.put(&record)).await.expect("put");
        raw_db.close();

        let read = backend.read_all(PositionRange::after(0), Direction::Forward, 10, &Filter::default()).await;
        match read {
            Err(StorageError { cause, .. }) => {
                assert_eq!(cause, format!("DataError: a stored record's {reason}"), "{field}")
            }
            other => panic!("{field}: expected a storage error, got {other:?}"),
        }

        let raw_db = raw_open(backend.database_name(), None).await;
        let tx = raw_db.transaction_with_str_and_mode("log", IdbTransactionMode::Readwrite).expect("tx");
        Reflect::set(&record, &field.into(), &original).expect("restore");
        raw(tx.object_store("log").expect("log").put(&record)).await.expect("put");
        raw_db.close();
    }
    // Restored: the record decodes again.
    assert_eq!(everything(&backend).await.len(), 1);
}

#[wasm_bindgen_test]
async fn idb_the_schema_has_its_stores_and_unique_indexes() {
    let backend = IdbBackend::open(&unique("layout")).await.expect("open");
    let raw_db = raw_open(backend.database_name(), None).await;
    assert_eq!(Reflect::get(&raw_db, &"version".into()).expect("version"), JsValue::from(3));
    let names: Vec<String> = Array::from(&Reflect::get(&raw_db, &"objectStoreNames".into()).expect("names"))
        .iter()
        .filter_map(|n| n.as_string())
        .collect();
    assert_eq!(names, vec!["checkpoints", "conflicts", "log", "meta", "snapshots", "streams"]);
    let tx = raw_db.transaction_with_str("log").expect("tx");
    let log = tx.object_store("log").expect("log");
    let indexes = [
        ("id", JsValue::from("ids"), true),
        ("outbox", JsValue::from("outbox"), false),
        ("stream", Array::of2(&"stream".into(), &"version".into()).into(), false),
    ];
    for (index, key_path, multi_entry) in indexes {
        let index = log.index(index).expect("index");
        assert!(index.unique());
        assert_eq!(index.multi_entry(), multi_entry);
        assert_eq!(js_sys::JSON::stringify(&index.key_path().expect("key path")), js_sys::JSON::stringify(&key_path));
    }
    raw_db.close();
}

fn json(value: &JsValue) -> String {
    js_sys::JSON::stringify(value).ok().and_then(|t| t.as_string()).unwrap_or_default()
}

#[wasm_bindgen_test]
async fn idb_an_append_is_one_log_record_pending_in_its_own_transaction() {
    let backend = IdbBackend::open(&unique("sync")).await.expect("open");
    backend.append(&[request("A-1", vec![event(1), event(2)], ExpectedVersion::Exact(0))]).await.expect("append");
    let raw_db = raw_open(backend.database_name(), None).await;
    let tx = raw_db.transaction_with_str_sequence(&Array::of2(&"log".into(), &"meta".into())).expect("tx");
    let log = tx.object_store("log").expect("log");
    // The head and the stream's version are the indexes' last keys: no record of their own.
    assert_eq!(raw(tx.object_store("meta").expect("meta").get(&"head".into())).await.expect("get"), JsValue::UNDEFINED);
    let records: Array = raw(log.get_all()).await.expect("getAll").unchecked_into();
    assert_eq!(records.length(), 1, "one record for the append's two events");
    let record = records.get(0);
    let field = |k: &str| json(&Reflect::get(&record, &k.into()).expect("field"));
    assert_eq!(field("last"), "2");
    assert_eq!(field("stream"), r#""A-1""#);
    assert_eq!(field("version"), "2");
    let ids: Vec<String> = everything(&backend).await.iter().map(|e| format!(r#""{}""#, e.id)).collect();
    assert_eq!(field("ids"), format!("[{}]", ids.join(",")));
    assert_eq!(field("times"), "[1000000000000,1000000000000]");
    assert_eq!(field("server"), "[null,null]");
    assert_eq!((field("outbox"), field("expected")), ("1".into(), "0".into()), "pending: in the outbox index");
    raw_db.close();
    assert_eq!(backend.pending_count().await, Ok(2));
    assert_eq!(backend.head().await, Ok(2));
    assert_eq!(backend.stream_version("A-1").await, Ok(2));
}

#[wasm_bindgen_test]
async fn idb_a_snapshot_beyond_the_stream_is_refused_in_its_transaction() {
    let store = open_store(&unique("snapshot")).await;
    store.append("A-1", vec![event(1)], ExpectedVersion::Any).await.expect("append");
    let beyond = Snapshot { version: 2, state: Value::Null };
    assert_eq!(
        store.save_snapshot("A-1", beyond).await,
        Err(Error::invalid("snapshot.version", "is 2, beyond the stream's version 1"))
    );
    assert_eq!(store.load_snapshot("A-1").await, Ok(None));
}

#[wasm_bindgen_test]
async fn idb_a_commit_in_one_store_reaches_the_other_stores_notifier() {
    let name = unique("broadcast");
    let (writer, watcher) = (open_store(&name).await, open_store(&name).await);
    assert_eq!(watcher.known_head(), 0);
    writer.append("A-1", vec![event(1), event(2)], ExpectedVersion::Any).await.expect("append");
    for _ in 0..100 {
        if watcher.known_head() == 2 {
            break;
        }
        sleep(10).await;
    }
    assert_eq!(watcher.known_head(), 2, "the new head arrived over the BroadcastChannel");

    // A closed store hears nothing more (and its listener is not called after being freed).
    watcher.close();
    writer.append("A-1", vec![event(3)], ExpectedVersion::Any).await.expect("append");
    sleep(50).await;
    assert_eq!(watcher.known_head(), 2);
}

/// Group commit on IndexedDB: 64 appends issued together share transactions — the first
/// commits alone, the rest that queued meanwhile in one more — with every outcome the one a
/// one-by-one decision in call order gives (asserted inside `concurrent_appends`).
#[wasm_bindgen_test]
async fn idb_concurrent_appends_share_transactions() {
    let backend = IdbBackend::open(&unique("group")).await.expect("open IndexedDB");
    let store = Store::open(conformance::Instrumented::counting(backend), StoreConfig::default())
        .await
        .expect("open store");
    conformance::concurrent_appends(&store).await;
    // 4 setup appends one by one, then the 64 in 2 transactions.
    assert_eq!(store.backend().transactions.get(), 4 + 2);
}

// ---- schema upgrades -----------------------------------------------------------------------

#[wasm_bindgen::prelude::wasm_bindgen(module = "/tests/fixtures/idb-dump.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn restore(name: &str, fixture: JsValue) -> Result<JsValue, JsValue>;
}

/// One fixture per schema version, each a database written by that version
/// (tests/fixtures/make-schema-fixture.mjs). Add the new one here when SCHEMA_VERSION moves.
const SCHEMA_FIXTURES: [(u32, &str); 3] = [
    (1, include_str!("fixtures/schema-v1.json")),
    (2, include_str!("fixtures/schema-v2.json")),
    (3, include_str!("fixtures/schema-v3.json")),
];

fn fixture_records(fixture: &JsValue, store: &str) -> Vec<JsValue> {
    let stores: Array = Reflect::get(fixture, &"stores".into()).expect("stores").unchecked_into();
    let Some(store) = stores
        .iter()
        .find(|s| Reflect::get(s, &"name".into()).ok().and_then(|n| n.as_string()).as_deref() == Some(store))
    else {
        return Vec::new();
    };
    let records: Array = Reflect::get(&store, &"records".into()).expect("records").unchecked_into();
    records.iter().collect()
}

fn field(record: &JsValue, name: &str) -> JsValue {
    Reflect::get(record, &name.into()).expect(name)
}

/// A fixture's events as per-event records (`{ position, id, stream, type, version, data,
/// metadata, recordedAt, serverPosition }`) whatever its schema, and how many positions it
/// holds in all (tombstones included). Schemas 1 and 2 keep one record per event; schema 3
/// keeps runs in `log`, read here by their documented layout.
fn fixture_events(fixture: &JsValue) -> (Vec<JsValue>, u64) {
    let old = fixture_records(fixture, "events");
    if !old.is_empty() {
        let positions = old.len() as u64;
        return (old.into_iter().filter(|r| !field(r, "removed").is_truthy()).collect(), positions);
    }
    let (mut events, mut positions) = (Vec::new(), 0);
    for run in fixture_records(fixture, "log") {
        if let Some(removed) = field(&run, "removed").as_f64() {
            positions += removed as u64;
            continue;
        }
        let column = |name: &str| Array::from(&field(&run, name));
        let ids = column("ids");
        let n = ids.length() as f64;
        let (last, version) = (field(&run, "last").as_f64().expect("last"), field(&run, "version").as_f64().expect("version"));
        for i in 0..ids.length() {
            let event = js_sys::Object::new();
            let put = |k: &str, v: JsValue| Reflect::set(&event, &k.into(), &v).expect("set");
            put("position", JsValue::from(last - n + 1.0 + i as f64));
            put("version", JsValue::from(version - n + 1.0 + i as f64));
            put("id", ids.get(i));
            put("stream", field(&run, "stream"));
            put("type", column("types").get(i));
            put("data", column("data").get(i));
            put("metadata", column("metadata").get(i));
            put("recordedAt", column("times").get(i));
            put("serverPosition", column("server").get(i));
            events.push(event.into());
        }
        positions += ids.length() as u64;
    }
    (events, positions)
}

/// The keys of a fixture's pending appends: schema 2's outbox store, schema 3's runs that
/// carry `outbox`.
fn fixture_outbox(fixture: &JsValue) -> Vec<f64> {
    let entries = fixture_records(fixture, "outbox").into_iter().filter_map(|e| field(&e, "key").as_f64());
    let runs = fixture_records(fixture, "log").into_iter().filter_map(|r| field(&r, "outbox").as_f64());
    entries.chain(runs).collect()
}

#[wasm_bindgen_test]
async fn idb_every_schema_fixture_opens_with_the_current_code_and_holds_every_event() {
    assert_eq!(
        SCHEMA_FIXTURES.last().map(|(v, _)| *v),
        Some(annals::idb::SCHEMA_VERSION),
        "the current schema version has its fixture"
    );
    for (version, text) in SCHEMA_FIXTURES {
        let fixture = js_sys::JSON::parse(text).expect("fixture is JSON");
        assert_eq!(field(&fixture, "version").as_f64(), Some(version as f64));
        let name = unique(&format!("fixture-v{version}"));
        restore(&format!("{}{name}", annals::idb::NAME_PREFIX), fixture.clone()).await.expect("restore fixture");
        let backend = IdbBackend::open(&name).await.expect("the current code opens it");

        // Tombstones (since schema 2: events moved into a conflict) are skipped by reads.
        let (records, positions) = fixture_events(&fixture);
        assert!(!records.is_empty(), "schema {version}: the fixture holds events");
        let events = everything(&backend).await;
        assert_eq!(events.len(), records.len(), "schema {version}: every event");
        for (event, record) in events.iter().zip(&records) {
            let at = format!("schema {version}, position {}", event.position);
            assert_eq!(Some(event.position as f64), field(record, "position").as_f64(), "{at}");
            assert_eq!(Some(event.id.to_string()), field(record, "id").as_string(), "{at}");
            assert_eq!(Some(event.stream.clone()), field(record, "stream").as_string(), "{at}");
            assert_eq!(Some(event.event_type.clone()), field(record, "type").as_string(), "{at}");
            assert_eq!(Some(event.version as f64), field(record, "version").as_f64(), "{at}");
            assert_eq!(Some(event.recorded_at), field(record, "recordedAt").as_f64(), "{at}");
            assert_eq!(Ok(event.data.clone()), annals::js::value_from_js(&field(record, "data"), "data"), "{at}");
            assert_eq!(Ok(event.metadata.clone()), annals::js::value_from_js(&field(record, "metadata"), "metadata"), "{at}");
            assert_eq!(event.server_position.map(|p| p as f64), field(record, "serverPosition").as_f64(), "{at}");
        }
        let head = backend.head().await.expect("head");
        assert_eq!(head, positions, "schema {version}: head");
        if version >= 2 {
            // Its sync state: the outbox, the conflicts and the cursor, as written.
            let pending = backend.pending(0, 1000).await.expect("pending");
            let keys: Vec<f64> = pending.iter().map(|a| a.key as f64).collect();
            assert_eq!(keys, fixture_outbox(&fixture), "schema {version}: the outbox");
            assert!(!keys.is_empty(), "schema {version}: the fixture has pending appends");
            let counted: u64 = pending.iter().map(|a| a.events.len() as u64).sum();
            assert_eq!(backend.pending_count().await, Ok(counted), "schema {version}: pending count");
            let unconfirmed = events.iter().filter(|e| e.server_position.is_none()).count() as u64;
            assert_eq!(counted, unconfirmed, "schema {version}: pending = unconfirmed");
            let conflicts = backend.conflicts().await.expect("conflicts");
            assert_eq!(conflicts.len(), fixture_records(&fixture, "conflicts").len());
            assert!(!conflicts.is_empty() && conflicts.iter().all(|c| !c.events.is_empty()));
            let cursor = fixture_records(&fixture, "meta")
                .into_iter()
                .find(|r| field(r, "key").as_string().as_deref() == Some("cursor"))
                .and_then(|r| field(&r, "position").as_f64());
            assert_eq!(backend.cursor().await.ok().map(|c| c as f64), cursor, "schema {version}: cursor");
        }
        if version == 1 {
            // Written before sync: every event is pending, grouped into its appends.
            assert_eq!(backend.pending_count().await, Ok(head), "schema 1: every event pending");
            let pending = backend.pending(0, 1000).await.expect("pending");
            let keys: Vec<u64> = pending.iter().flat_map(|a| a.events.iter().map(|e| e.position)).collect();
            assert_eq!(keys, (1..=head).collect::<Vec<_>>());
            assert!(pending.iter().all(|a| a.expected == ExpectedVersion::Any));
            assert!(pending.len() < head as usize, "multi-event appends stay whole: {}", pending.len());
        }
        let mut streams: Vec<(String, f64)> = Vec::new();
        for record in &records {
            let (stream, v) = (field(record, "stream").as_string().expect("stream"), field(record, "version").as_f64().expect("version"));
            match streams.iter_mut().find(|(s, _)| *s == stream) {
                Some((_, top)) => *top = top.max(v),
                None => streams.push((stream, v)),
            }
        }
        for (stream_name, top) in streams {
            let version_now = backend.stream_version(&stream_name).await.expect("stream version");
            assert_eq!(version_now as f64, top, "{stream_name}");
        }
        for checkpoint in fixture_records(&fixture, "checkpoints") {
            let checkpoint_name = field(&checkpoint, "name").as_string().expect("name");
            let saved = backend.checkpoint(&checkpoint_name).await.expect("checkpoint");
            assert_eq!(saved.map(|p| p as f64), field(&checkpoint, "position").as_f64());
        }
        for snapshot in fixture_records(&fixture, "snapshots") {
            let stream_name = field(&snapshot, "stream").as_string().expect("stream");
            let saved = backend.snapshot(&stream_name).await.expect("snapshot").expect("saved");
            assert_eq!(Some(saved.version as f64), field(&snapshot, "version").as_f64());
            assert_eq!(Ok(saved.state), annals::js::value_from_js(&field(&snapshot, "state"), "state"));
        }
        // And it goes on: the next append lands right after the fixture's last position, and
        // a retry of a stored event (same id, same content) is recognised, not appended again.
        let stream_name = events[0].stream.clone();
        let stream_version = backend.stream_version(&stream_name).await.expect("version");
        let appended = backend
            .append(&[request(&stream_name, vec![event(1)], ExpectedVersion::Exact(stream_version))])
            .await
            .expect("append");
        assert_eq!(
            appended,
            vec![Ok(AppendResult { next_expected_version: stream_version + 1, position: head + 1 })]
        );
        let first = &events[0];
        let retry = EventInput::new(first.event_type.clone(), first.data.clone())
            .with_id(first.id.to_string())
            .with_metadata(first.metadata.clone());
        let retried = AppendRequest::new(&first.stream, vec![retry], ExpectedVersion::Any, 1 << 20, 1.0e12, Uuid::now_v7)
            .expect("valid request");
        let outcome = backend.append(&[retried]).await.expect("append");
        assert!(
            matches!(&outcome[..], [Ok(_)] | [Err(Error::DuplicateEventId { .. })]),
            "schema {version}: a stored id is found by the id index: {outcome:?}"
        );
        assert_eq!(backend.head().await, Ok(head + 1), "schema {version}: nothing appended twice");
    }
}

// ---- schema upgrades from another context ------------------------------------------------

/// `open` of `database` at `version`, or `None` when it is still waiting after 5 s (blocked).
async fn raw_open_within(database: &str, version: u32) -> Option<IdbDatabase> {
    let open = raw_open(database, Some(version));
    match first(open, sleep(5_000)).await {
        Either::Left(db) => Some(db),
        Either::Right(()) => None,
    }
}

#[wasm_bindgen_test]
async fn idb_an_upgrade_elsewhere_closes_the_store_with_a_typed_error_and_never_waits_for_it() {
    let name = unique("upgraded");
    let store = open_store(&name).await;
    store.append("S-1", vec![event(1)], ExpectedVersion::Any).await.expect("append");
    let waiting = Subscription::new(store.clone(), SubscribeOptions { start: Start::End, ..Default::default() }).unwrap();
    let next = waiting.next();

    // Another context opens the database at a newer schema: its open completes at once.
    let database = format!("{}{name}", annals::idb::NAME_PREFIX);
    let newer = raw_open_within(&database, annals::idb::SCHEMA_VERSION + 1).await;
    let newer = newer.expect("the upgrade went ahead: the store closed its connection");
    newer.close();

    // The waiting subscription, and every call after, report why.
    assert_eq!(next.await, Err(Error::ClosedByUpgrade));
    assert!(store.is_closed());
    assert_eq!(store.append("S-1", vec![event(2)], ExpectedVersion::Any).await, Err(Error::ClosedByUpgrade));
    assert_eq!(store.stream_version("S-1").await, Err(Error::ClosedByUpgrade));
    assert!(matches!(StreamReader::new(store.clone(), "S-1", ReadStreamOptions::default()), Err(Error::ClosedByUpgrade)));
    assert_eq!(Error::ClosedByUpgrade.name(), "StoreClosedError");
    // Closing it now is harmless; the other subscriptions end too.
    store.close();
}

#[wasm_bindgen_test]
async fn idb_an_upgrade_blocked_by_an_old_connection_fails_at_once_and_changes_nothing() {
    let name = unique("blocked");
    let database = format!("{}{name}", annals::idb::NAME_PREFIX);
    // An old connection (schema 1, as code that does not close on `versionchange` holds it).
    let old = raw_open(&database, Some(1)).await;
    match IdbBackend::open(&name).await {
        Err(StorageError { cause, .. }) => assert!(cause.starts_with("Blocked: "), "{cause}"),
        Ok(_) => panic!("opened while an old connection stays open"),
    }
    // Once the old connection goes, the abandoned request does not upgrade behind anyone's back.
    old.close();
    sleep(200).await;
    let after = raw_open(&database, None).await;
    assert_eq!(after.version(), 1.0, "the database is still at schema 1");
    after.close();
}

#[wasm_bindgen_test]
async fn idb_deleting_the_database_elsewhere_closes_the_store_the_same_way() {
    let name = unique("deleted");
    let store = open_store(&name).await;
    store.append("S-1", vec![event(1)], ExpectedVersion::Any).await.expect("append");
    let factory: IdbFactory =
        Reflect::get(&js_sys::global(), &"indexedDB".into()).expect("indexedDB").unchecked_into();
    let database = format!("{}{name}", annals::idb::NAME_PREFIX);
    let deleted = raw(factory.delete_database(&database).map(JsCast::unchecked_into));
    match first(deleted, sleep(5_000)).await {
        Either::Left(result) => assert!(result.is_ok(), "deleted: {result:?}"),
        Either::Right(()) => panic!("the delete waited for the open store"),
    }
    assert_eq!(store.stream_version("S-1").await, Err(Error::ClosedByUpgrade));
}

#[wasm_bindgen_test]
async fn idb_a_database_keeps_its_identity_and_one_made_again_has_another() {
    let name = unique("identity");
    let first = open_store(&name).await;
    let identity = first.backend().identity().to_owned();
    assert!(Uuid::try_parse(&identity).is_ok(), "a UUID: {identity}");
    let second = open_store(&name).await;
    assert_eq!(second.backend().identity(), identity, "two stores on one database: one identity");
    first.close();
    second.close();
    let again = open_store(&name).await;
    assert_eq!(again.backend().identity(), identity, "reopened: the same identity");
    let mark = StoreMark { identity: identity.clone(), server_position: 3, pending: 1, marked_at: 1.0e12 };
    assert_eq!(judge_reopen(Some(&mark), again.backend().identity()), None, "the marked database");
    again.close();

    let factory: IdbFactory =
        Reflect::get(&js_sys::global(), &"indexedDB".into()).expect("indexedDB").unchecked_into();
    let database = format!("{}{name}", annals::idb::NAME_PREFIX);
    raw(factory.delete_database(&database).map(JsCast::unchecked_into)).await.expect("delete");
    let fresh = open_store(&name).await;
    assert_ne!(fresh.backend().identity(), identity, "a database made again: another identity");
    let vanished = judge_reopen(Some(&mark), fresh.backend().identity()).expect("the marked database vanished");
    assert_eq!((vanished.previous_identity.as_str(), vanished.last_server_position, vanished.pending_at_last_mark), (identity.as_str(), 3, 1));
    fresh.close();
}

/// A run's record is built in one crossing from a tape of numbers and one text (strings sliced
/// by their UTF-16 length): every kind of value comes back as it went in, astral characters,
/// `__proto__` and integer-like keys, -0 and the extreme numbers included, whatever the batch.
#[wasm_bindgen_test]
async fn idb_every_kind_of_value_round_trips_through_a_run() {
    let backend = IdbBackend::open(&unique("values")).await.expect("open");
    let tricky = || {
        // Integer-like keys first, ascending: the order a JavaScript object has them in.
        Value::object([
            ("2", Value::from(2i64)),
            ("10", Value::from(10i64)),
            ("", Value::from("")),
            ("__proto__", Value::object([("polluted", Value::from(true))])),
            ("constructor", Value::from("c")),
            ("emoji 🎉 ünïcödé 日本", Value::Array(vec![Value::from("🎉🎉 a\u{0}b"), Value::from("\u{10FFFF}"), Value::Null])),
            ("numbers", Value::Array(vec![Value::Number(-0.0), Value::Number(1e21), Value::Number(5e-324), Value::Number(9007199254740991.0), Value::Number(-1.5)])),
            ("bools", Value::Array(vec![Value::Bool(true), Value::Bool(false), Value::Array(vec![]), Value::object::<&str>([])])),
            ("deep", Value::Array(vec![Value::Array(vec![Value::Array(vec![Value::from("x")])])])),
        ])
    };
    let events: Vec<EventInput> = (0..3)
        .map(|i| EventInput::new(format!("Tricky-🎉-{i}"), tricky()).with_metadata(Value::object([("m ü", Value::from(i as i64))])))
        .collect();
    backend.append(&[request("Ünïcödé-🎉", events, ExpectedVersion::NoStream)]).await.expect("append");
    let read = everything(&backend).await;
    assert_eq!(read.len(), 3);
    for (i, event) in read.iter().enumerate() {
        assert_eq!(event.stream, "Ünïcödé-🎉");
        assert_eq!(event.event_type, format!("Tricky-🎉-{i}"));
        assert_eq!(event.data, tricky());
        assert_eq!(event.metadata, Value::object([("m ü", Value::from(i as i64))]));
        let Value::Object(pairs) = &event.data else { panic!("an object") };
        let zero = pairs.iter().find(|(k, _)| k == "numbers").and_then(|(_, v)| match v {
            Value::Array(items) => items.first().and_then(Value::as_f64),
            _ => None,
        });
        assert!(zero.is_some_and(|z| z == 0.0 && z.is_sign_negative()), "-0 stays -0");
    }
}

/// A reader holds the rest of the run it stopped in (whole runs are read); once the store is
/// closed, a later page is refused like any later call, not served from what it holds.
#[wasm_bindgen_test]
async fn idb_a_reader_holding_the_rest_of_a_run_refuses_pages_after_close() {
    let store = open_store(&unique("surplus")).await;
    let events: Vec<EventInput> = (0..(PAGE_SIZE as u32 * 3)).map(event).collect();
    store.append("Big-1", events, ExpectedVersion::NoStream).await.expect("append");
    let mut stream = StreamReader::new(store.clone(), "Big-1", ReadStreamOptions::default()).expect("reader");
    let mut all = AllReader::new(store.clone(), ReadAllOptions::default()).expect("reader");
    assert_eq!(stream.next_page().await.expect("page").len(), PAGE_SIZE, "a page, the rest held");
    assert_eq!(all.next_page().await.expect("page").len(), PAGE_SIZE, "a page, the rest held");
    store.close();
    let (stream_page, all_page) = (stream.next_page().await, all.next_page().await);
    assert_eq!(stream_page.map(|p| p.len()), Err(Error::StoreClosed), "stream read");
    assert_eq!(all_page.map(|p| p.len()), Err(Error::StoreClosed), "global read");
}
