//! IndexedDB request-level faults in headless Chromium: a 3-event append into a store that
//! already holds events is made to fail at each of its IndexedDB requests in turn, and once
//! just before commit (`IdbBackend::fail_request_after`). Each time the append must fail with
//! a storage error, leave the store exactly as it was, and the next append must succeed with
//! versions and positions that follow on without a gap.
//!
//! Prints `fault-injection: N points, 0 partial` (shown by the runner when a test fails).
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

#[allow(unused_imports)] // only a few helpers are used here
mod conformance;

use annals::core::*;
use conformance::{events_with_ids as events, read_all};
use annals::idb::IdbBackend;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const STREAMS: [&str; 2] = ["Order-1", "Cart-1"];

/// The IndexedDB requests of a 3-event append to one stream (schema 3): the head (the log's
/// last key), the stream's version (its index's last key), each id in the `id` index, and the
/// one `log` record written.
const REQUESTS: u32 = 1 + 1 + 3 + 1;


/// Everything a reader of the store sees.
#[derive(Debug, PartialEq)]
struct Contents {
    events: Vec<RecordedEvent>,
    versions: Vec<u64>,
    head: u64,
}

async fn contents(store: &Rc<Store<IdbBackend>>) -> Contents {
    let events = read_all(store, ReadAllOptions::default()).await;
    let mut versions = Vec::new();
    for s in STREAMS {
        versions.push(store.stream_version(s).await.expect("stream version"));
    }
    let head = store.backend().head().await.expect("head");
    Contents {
        events,
        versions,
        head,
    }
}

/// Positions 1..=head and, in each stream, versions 1..=n: no gap, no repeat.
fn assert_gapless(c: &Contents) {
    let positions: Vec<u64> = c.events.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=c.head).collect::<Vec<_>>(), "positions");
    for (s, &version) in STREAMS.iter().zip(&c.versions) {
        let versions: Vec<u64> = c
            .events
            .iter()
            .filter(|e| e.stream == *s)
            .map(|e| e.version)
            .collect();
        assert_eq!(
            versions,
            (1..=version).collect::<Vec<_>>(),
            "versions of {s}"
        );
    }
}

#[wasm_bindgen_test]
async fn an_append_failing_at_any_indexeddb_request_writes_nothing_and_the_next_one_works() {
    let name = format!("faults-{}", Uuid::now_v7());
    let backend = IdbBackend::open(&name).await.expect("open IndexedDB");
    let store = Store::open(backend, StoreConfig::default())
        .await
        .expect("open store");
    store
        .append("Order-1", events(&[1, 2]), ExpectedVersion::NoStream)
        .await
        .expect("append");
    store
        .append("Cart-1", events(&[3]), ExpectedVersion::NoStream)
        .await
        .expect("append");

    let (mut points, mut partial, mut next) = (0u32, 0u32, 100u32);
    for n in 0..=REQUESTS {
        let before = contents(&store).await;
        let known = store.known_head();
        let ids = [next, next + 1, next + 2];
        next += 3;
        let expected = ExpectedVersion::Exact(before.versions[0]);

        store.backend().fail_request_after(n);
        let failed = store.append("Order-1", events(&ids), expected).await;
        match &failed {
            // The aborted request fails with `AbortError`, or making the next one fails first.
            Err(Error::Storage(e)) => assert!(
                e.cause.starts_with("AbortError")
                    || e.cause.starts_with("TransactionInactiveError"),
                "request {n}: {e:?}"
            ),
            other => {
                panic!("request {n}: the append should fail with a storage error, got {other:?}")
            }
        }
        let after = contents(&store).await;
        if after != before {
            partial += 1;
            console_log!("request {n}: the failed append left {after:?}, was {before:?}");
        }
        assert_eq!(
            store.known_head(),
            known,
            "request {n}: a failed append moved the known head"
        );
        points += 1;

        // The same append again (a retry with the same ids) commits, right after what stood.
        let appended = store.append("Order-1", events(&ids), expected).await;
        assert_eq!(
            appended,
            Ok(AppendResult {
                next_expected_version: before.versions[0] + 3,
                position: before.head + 3
            }),
            "request {n}: the next append"
        );
        let now = contents(&store).await;
        assert_eq!(now.head, before.head + 3);
        assert_eq!(
            &now.events[..before.events.len()],
            &before.events[..],
            "request {n}: events changed"
        );
        assert_gapless(&now);
    }

    // Armed beyond the last request, the tripwire is never reached: REQUESTS is the count.
    store.backend().fail_request_after(REQUESTS + 1);
    let head = store.known_head();
    assert_eq!(
        store
            .append(
                "Cart-1",
                events(&[next, next + 1, next + 2]),
                ExpectedVersion::Exact(1)
            )
            .await,
        Ok(AppendResult {
            next_expected_version: 4,
            position: head + 3
        })
    );
    assert_gapless(&contents(&store).await);

    console_log!("fault-injection: {points} points, {partial} partial");
    assert_eq!(partial, 0, "appends that failed yet left something behind");
    assert_eq!(points, REQUESTS + 1);
}
