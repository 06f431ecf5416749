//! The sync suite: the engine against the in-memory server of `sync_support`, written once
//! and run on every backend — memory natively and in Node, IndexedDB in the browsers (page and
//! worker). Devices converge, conflicts are surfaced once and resolved, lost answers duplicate
//! nothing, limits split pushes, appends too large for any push become conflicts.
//!
//! Use: `mod sync_support; mod sync_suite;` then `sync_suite::suite!(open)` where `open` is a
//! closure `|case: &'static str, device: &'static str| async move { … Rc<Store<B>> }` opening a
//! fresh, empty store per (case, device).
#![allow(dead_code)]

use std::future::Future;
use std::rc::Rc;

use annals::core::sync::*;
use annals::core::*;

use crate::sync_support::*;

/// Expands into one test per case, for the target compiled for.
#[macro_export]
macro_rules! sync_suite {
    ($open:expr) => {
        $crate::sync_suite!(@cases $open; two_devices_converge_and_every_refusal_is_surfaced_once,
            a_too_large_append_takes_the_later_appends_of_its_stream_into_its_conflict,
            pending_events_move_up_when_another_devices_event_is_pulled_first,
            a_push_whose_answer_is_lost_is_retried_without_duplicates,
            pushes_split_under_the_limits_the_server_names,
            an_append_too_large_for_any_push_becomes_a_conflict_and_the_rest_syncs,
            an_id_standing_on_the_server_is_one_event_with_its_content_a_conflict_with_other,
            a_conflict_is_recorded_once_and_the_feed_yields_it_once,
            pushes_stay_small_until_the_server_says_its_limits,
            an_event_over_the_servers_max_event_bytes_is_a_too_large_conflict,
            an_append_refused_alone_as_too_large_is_a_conflict,
            a_snapshot_goes_when_sync_changes_the_events_it_reflects);
    };
    (@cases $open:expr; $($case:ident),* $(,)?) => {
        $(
            #[cfg(not(target_arch = "wasm32"))]
            #[test]
            fn $case() {
                futures::executor::block_on($crate::sync_suite::$case(|device| ($open)(stringify!($case), device)))
            }
            #[cfg(target_arch = "wasm32")]
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $case() {
                $crate::sync_suite::$case(|device| ($open)(stringify!($case), device)).await
            }
        )*
    };
}
pub use sync_suite as suite;

fn ev(n: u32) -> EventInput {
    EventInput::new("Counted", Value::object([("n", Value::from(n as i64))]))
}

async fn append<B: Backend>(store: &Rc<Store<B>>, stream: &str, n: u32, expected: ExpectedVersion) -> Result<AppendResult, Error> {
    store.append(stream, vec![ev(n)], expected).await
}

async fn conflicts<B: SyncBackend>(store: &Rc<Store<B>>) -> Vec<Conflict<Value>> {
    let all = store.conflicts().await.expect("conflicts");
    all.into_iter()
        .map(|c| Conflict {
            events: c.events.iter().map(|e| e.to_values().expect("payload")).collect(),
            key: c.key,
            stream: c.stream,
            expected: c.expected,
            actual: c.actual,
            reason: c.reason,
        })
        .collect()
}

/// A server and devices `a` and `b` syncing with it (not live).
async fn devices<B: SyncBackend, F: Future<Output = Rc<Store<B>>>>(
    open: &impl Fn(&'static str) -> F,
) -> (Rc<Server>, [(Rc<Store<B>>, Device<B>); 2])
where
    B::Payload: TestPayload,
{
    let server = Server::new();
    let (a, b) = (open("a").await, open("b").await);
    let devices = [(a.clone(), attach(&a, &server, false)), (b.clone(), attach(&b, &server, false))];
    (server, devices)
}

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
    let waker = futures::task::noop_waker();
    f.poll(&mut std::task::Context::from_waker(&waker))
}

pub async fn two_devices_converge_and_every_refusal_is_surfaced_once<B: SyncBackend, F: Future<Output = Rc<Store<B>>>>(open: impl Fn(&'static str) -> F)
where
    B::Payload: TestPayload,
{
    let (server, [(a, sync_a), (b, sync_b)]) = devices(&open).await;
    // Offline, both write the same streams: `any`, exact and no_stream expectations.
    append(&a, "Cart-1", 1, ExpectedVersion::NoStream).await.unwrap();
    append(&a, "Cart-1", 2, ExpectedVersion::Exact(1)).await.unwrap();
    append(&a, "Log", 3, ExpectedVersion::Any).await.unwrap();
    append(&b, "Cart-1", 4, ExpectedVersion::NoStream).await.unwrap();
    append(&b, "Cart-1", 5, ExpectedVersion::Any).await.unwrap();
    append(&b, "Log", 6, ExpectedVersion::Any).await.unwrap();
    append(&b, "Log", 7, ExpectedVersion::StreamExists).await.unwrap();

    sync_a.flush().await.unwrap();
    sync_b.flush().await.unwrap();
    sync_a.flush().await.unwrap();

    // B's no_stream append to Cart-1 was refused, and its later `any` append of the same
    // stream with it: one conflict holding both. Log took everything.
    assert!(conflicts(&a).await.is_empty());
    let refused = conflicts(&b).await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].reason, ConflictReason::WrongExpectedVersion);
    assert_eq!((refused[0].expected, refused[0].actual), (ExpectedVersion::NoStream, Some(2)));
    assert_eq!(refused[0].events.iter().map(|e| e.data.get("n").and_then(Value::as_f64)).collect::<Vec<_>>(), vec![Some(4.0), Some(5.0)]);

    for s in ["Cart-1", "Log"] {
        let on_server = shape(&server.stream(s));
        assert_eq!(shape(&stream(&a, s).await), on_server, "{s} on a");
        assert_eq!(shape(&stream(&b, s).await), on_server, "{s} on b");
    }
    let server_positions: Vec<_> = all(&b).await.iter().map(|e| e.server_position).collect();
    assert!(server_positions.iter().all(Option::is_some), "{server_positions:?}");
    assert_eq!(sync_b.status().pending, 0);
    assert_eq!(sync_b.status().server_position, server.head());

    // Rebase: the refused events are appended after the server's, then pushed.
    b.resolve(refused[0].key, Resolution::Rebase).await.unwrap();
    assert!(conflicts(&b).await.is_empty());
    sync_b.flush().await.unwrap();
    sync_a.flush().await.unwrap();
    let cart = server.stream("Cart-1");
    assert_eq!(cart.len(), 4);
    assert_eq!(cart[2].id, refused[0].events[0].id);
    assert_eq!(shape(&stream(&a, "Cart-1").await), shape(&cart));
    assert_eq!(shape(&stream(&b, "Cart-1").await), shape(&cart));
    // Appended: 7 events; on the server: 7; discarded: none.
    assert_eq!(server.head(), 7);
}

pub async fn a_too_large_append_takes_the_later_appends_of_its_stream_into_its_conflict<B: SyncBackend, F: Future<Output = Rc<Store<B>>>>(open: impl Fn(&'static str) -> F)
where
    B::Payload: TestPayload,
{
    let (server, [(a, sync_a), (b, sync_b)]) = devices(&open).await;
    append(&a, "s", 1, ExpectedVersion::Any).await.unwrap();
    sync_a.flush().await.unwrap();
    append(&b, "s", 2, ExpectedVersion::Any).await.unwrap();
    append(&b, "s", 3, ExpectedVersion::Any).await.unwrap();
    append(&b, "t", 4, ExpectedVersion::Any).await.unwrap();
    // The server takes 1 byte per push: no append fits, each stream's first is a conflict
    // holding its stream's later ones.
    sync_b.transport().too_large.borrow_mut().push_back(Some(Limits { max_body_bytes: 1, max_appends: 1, max_events: 1, max_event_bytes: 1 << 20 }));
    sync_b.flush().await.unwrap();
    let refused = conflicts(&b).await;
    assert_eq!(refused.iter().map(|c| (c.stream.as_str(), c.events.len(), c.reason)).collect::<Vec<_>>(),
        vec![("s", 2, ConflictReason::TooLarge), ("t", 1, ConflictReason::TooLarge)]);
    // The stream shows the server's events; nothing of B's reached the server.
    assert_eq!(shape(&stream(&b, "s").await), shape(&server.stream("s")));
    assert_eq!(server.head(), 1);
    assert_eq!(sync_b.status().pending, 0);
    // The app discards one and keeps the other: local positions of the discarded stay
    // tombstones, reads skip them.
    b.resolve(refused[0].key, Resolution::Discard).await.unwrap();
    assert_eq!(all(&b).await.iter().map(|e| e.position).collect::<Vec<_>>(), vec![4]);
    assert_eq!(conflicts(&b).await.len(), 1);
}

pub async fn pending_events_move_up_when_another_devices_event_is_pulled_first<B: SyncBackend, F: Future<Output = Rc<Store<B>>>>(open: impl Fn(&'static str) -> F)
where
    B::Payload: TestPayload,
{
    let (server, [(a, sync_a), (b, sync_b)]) = devices(&open).await;
    append(&a, "s", 1, ExpectedVersion::Any).await.unwrap();
    sync_a.flush().await.unwrap();
    append(&b, "s", 2, ExpectedVersion::Any).await.unwrap();
    append(&b, "s", 3, ExpectedVersion::Any).await.unwrap();
    // B pulls without pushing (its push answer is lost before it reaches the server).
    sync_b.transport().online.set(false);
    assert!(matches!(sync_b.flush().await, Err(Error::Sync(SyncError { code: SyncErrorCode::Network, .. }))));
    sync_b.transport().online.set(true);
    let before = stream(&b, "s").await;
    assert_eq!(before.iter().map(|e| (e.version, e.server_position)).collect::<Vec<_>>(), vec![(1, None), (2, None)]);
    sync_b.flush().await.unwrap();
    let after = stream(&b, "s").await;
    assert_eq!(shape(&after), shape(&server.stream("s")));
    // A's event is 1; B's keep their order and local positions, confirmed at 2 and 3.
    assert_eq!(after.iter().map(|e| (e.version, e.server_position)).collect::<Vec<_>>(), vec![(1, Some(1)), (2, Some(2)), (3, Some(3))]);
    assert_eq!(after[1].position, before[0].position);
    assert_eq!(after[2].position, before[1].position);
    // Local positions stay gapless: B's two, then A's pulled one.
    assert_eq!(all(&b).await.iter().map(|e| e.position).collect::<Vec<_>>(), vec![1, 2, 3]);
}

pub async fn a_push_whose_answer_is_lost_is_retried_without_duplicates<B: SyncBackend, F: Future<Output = Rc<Store<B>>>>(open: impl Fn(&'static str) -> F)
where
    B::Payload: TestPayload,
{
    let server = Server::new();
    let a = open("a").await;
    let sync_a = attach(&a, &server, false);
    for n in 0..5 {
        append(&a, &format!("s-{}", n % 2), n, ExpectedVersion::Any).await.unwrap();
    }
    sync_a.transport().lose_push_answers.set(1);
    let lost = sync_a.flush().await;
    assert!(matches!(lost, Err(Error::Sync(SyncError { code: SyncErrorCode::Network, .. }))), "{lost:?}");
    assert_eq!(server.head(), 5, "the server committed the push whose answer was lost");
    assert_eq!(sync_a.status().pending, 5);
    assert!(!sync_a.status().connected);
    sync_a.flush().await.unwrap();
    assert_eq!(server.head(), 5, "the retry wrote nothing");
    assert_eq!(sync_a.status().pending, 0);
    assert!(sync_a.status().connected && sync_a.status().error.is_none());
    let events = all(&a).await;
    assert_eq!(events.len(), 5);
    assert!(events.iter().all(|e| e.server_position.is_some()));
}

pub async fn pushes_split_under_the_limits_the_server_names<B: SyncBackend, F: Future<Output = Rc<Store<B>>>>(open: impl Fn(&'static str) -> F)
where
    B::Payload: TestPayload,
{
    let server = Server::new();
    let a = open("a").await;
    let sync_a = attach(&a, &server, false);
    for n in 0..10 {
        append(&a, "s", n, ExpectedVersion::Any).await.unwrap();
    }
    sync_a.transport().too_large.borrow_mut().push_back(Some(Limits { max_body_bytes: 1 << 20, max_appends: 3, max_events: 100, max_event_bytes: 1 << 20 }));
    sync_a.flush().await.unwrap();
    assert_eq!(server.head(), 10);
    // One refused push of 10, then 3 + 3 + 3 + 1.
    assert_eq!(server.pushes.get(), 4);
    assert!(conflicts(&a).await.is_empty());
}

pub async fn an_append_too_large_for_any_push_becomes_a_conflict_and_the_rest_syncs<B: SyncBackend, F: Future<Output = Rc<Store<B>>>>(open: impl Fn(&'static str) -> F)
where
    B::Payload: TestPayload,
{
    let server = Server::new();
    let a = open("a").await;
    let sync_a = attach(&a, &server, false);
    append(&a, "big", 1, ExpectedVersion::Any).await.unwrap();
    append(&a, "small", 2, ExpectedVersion::Any).await.unwrap();
    // A server taking one event per push: a's first append fits; then a 2-event append.
    a.append("big", vec![ev(3), ev(4)], ExpectedVersion::Any).await.unwrap();
    sync_a.transport().too_large.borrow_mut().push_back(Some(Limits { max_body_bytes: 1 << 20, max_appends: 10, max_events: 1, max_event_bytes: 1 << 20 }));
    sync_a.flush().await.unwrap();
    let refused = conflicts(&a).await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].reason, ConflictReason::TooLarge);
    assert_eq!(refused[0].events.len(), 2);
    assert_eq!(server.head(), 2);
    assert_eq!(stream(&a, "big").await.len(), 1);
}

pub async fn an_id_standing_on_the_server_is_one_event_with_its_content_a_conflict_with_other<B: SyncBackend, F: Future<Output = Rc<Store<B>>>>(open: impl Fn(&'static str) -> F)
where
    B::Payload: TestPayload,
{
    let (server, [(a, sync_a), (b, sync_b)]) = devices(&open).await;
    let same = "0190b6a4-6a3c-7cc2-9a8b-1f2e3d4c5b6a";
    let other = "0190b6a4-6a3c-7cc2-9a8b-1f2e3d4c5b6b";
    // Same id, same content, same place (an idempotency key both devices derived): one event.
    a.append("s", vec![ev(1).with_id(same)], ExpectedVersion::NoStream).await.unwrap();
    b.append("s", vec![ev(1).with_id(same)], ExpectedVersion::NoStream).await.unwrap();
    // Same id, other content elsewhere: a duplicate_event_id conflict that cannot be rebased.
    a.append("u", vec![ev(2).with_id(other)], ExpectedVersion::Any).await.unwrap();
    b.append("t", vec![ev(3).with_id(other)], ExpectedVersion::Any).await.unwrap();
    sync_a.flush().await.unwrap();
    sync_b.flush().await.unwrap();
    assert_eq!(server.head(), 2);
    let refused = conflicts(&b).await;
    assert_eq!(refused.len(), 1);
    assert_eq!((refused[0].stream.as_str(), refused[0].reason), ("t", ConflictReason::DuplicateEventId));
    let rebase = b.resolve(refused[0].key, Resolution::Rebase).await;
    assert_eq!(rebase, Err(Error::DuplicateEventId { id: other.into() }));
    assert_eq!(conflicts(&b).await.len(), 1, "a refused rebase leaves the conflict");
    b.resolve(refused[0].key, Resolution::Discard).await.unwrap();
    assert!(conflicts(&b).await.is_empty());
    assert_eq!(stream(&b, "t").await.len(), 0);
    for s in ["s", "u"] {
        assert_eq!(shape(&stream(&b, s).await), shape(&server.stream(s)), "{s}");
    }
}

pub async fn a_conflict_is_recorded_once_and_the_feed_yields_it_once<B: SyncBackend, F: Future<Output = Rc<Store<B>>>>(open: impl Fn(&'static str) -> F)
where
    B::Payload: TestPayload,
{
    let (server, [(a, sync_a), (b, sync_b)]) = devices(&open).await;
    append(&a, "s", 1, ExpectedVersion::NoStream).await.unwrap();
    append(&b, "s", 2, ExpectedVersion::NoStream).await.unwrap();
    sync_a.flush().await.unwrap();
    let feed = ConflictFeed::new(b.clone()).unwrap();
    sync_b.flush().await.unwrap();
    // A store syncs through one engine at a time.
    let second = SyncEngine::new(b.clone(), Link::<B::Payload>::new(&server), SyncOptions { live: false });
    assert!(matches!(second, Err(Error::InvalidArgument { ref field, .. }) if field == "sync"));
    // Once it closed, another engine (as another tab would) pushes again: the append is no
    // longer pending, so nothing more is recorded.
    sync_b.close();
    let again = SyncEngine::new(b.clone(), Link::<B::Payload>::new(&server), SyncOptions { live: false }).unwrap();
    again.flush().await.unwrap();
    let first = feed.next().await.unwrap().expect("a conflict");
    assert_eq!(first.stream, "s");
    assert_eq!(conflicts(&b).await.len(), 1);
    // The feed has nothing more: it waits until closed.
    let mut next = Box::pin(feed.next());
    assert!(matches!(poll_once(next.as_mut()), std::task::Poll::Pending));
    feed.close();
    assert_eq!(next.await.unwrap(), None);
}

/// A snapshot reflects the events up to its version. When sync changes them — pending events
/// move up past pulled ones, or leave the stream for a conflict — a snapshot over them no
/// longer holds and is removed (aggregates then fold the stream again); one below the change
/// stays.
pub async fn a_snapshot_goes_when_sync_changes_the_events_it_reflects<B: SyncBackend, F: Future<Output = Rc<Store<B>>>>(open: impl Fn(&'static str) -> F)
where
    B::Payload: TestPayload,
{
    let (_server, [(a, sync_a), (b, sync_b)]) = devices(&open).await;
    let snapshot = |version: u64| Snapshot { version, state: Value::from(format!("through {version}")) };
    // Pulled first: A's event lands at version 1 of `moved`, B's two pending ones move up.
    append(&a, "moved", 1, ExpectedVersion::Any).await.unwrap();
    append(&a, "kept", 2, ExpectedVersion::Any).await.unwrap();
    sync_a.flush().await.unwrap();
    append(&b, "moved", 3, ExpectedVersion::Any).await.unwrap();
    append(&b, "moved", 4, ExpectedVersion::Any).await.unwrap();
    b.save_snapshot("moved", snapshot(2)).await.unwrap();
    // `kept` only gains A's event after what B had: nothing B's snapshot saw changes.
    sync_b.flush().await.unwrap();
    assert_eq!(stream(&b, "moved").await.len(), 3);
    assert_eq!(b.load_snapshot("moved").await, Ok(None), "versions 1 and 2 now hold other events");

    append(&b, "kept", 5, ExpectedVersion::Any).await.unwrap();
    b.save_snapshot("kept", snapshot(2)).await.unwrap();
    sync_b.flush().await.unwrap();
    assert_eq!(b.load_snapshot("kept").await, Ok(Some(snapshot(2))), "confirmed where they stood: it holds");

    // Refused: B's pending events of `refused` leave the stream for a conflict.
    append(&a, "refused", 6, ExpectedVersion::NoStream).await.unwrap();
    sync_a.flush().await.unwrap();
    append(&b, "refused", 7, ExpectedVersion::NoStream).await.unwrap();
    b.save_snapshot("refused", snapshot(1)).await.unwrap();
    append(&b, "below", 8, ExpectedVersion::Any).await.unwrap();
    sync_b.flush().await.unwrap();
    b.save_snapshot("below", snapshot(1)).await.unwrap();
    sync_a.flush().await.unwrap();
    append(&a, "below", 10, ExpectedVersion::Exact(1)).await.unwrap();
    sync_a.flush().await.unwrap();
    append(&b, "below", 9, ExpectedVersion::Exact(1)).await.unwrap();
    sync_b.flush().await.unwrap();
    assert_eq!(conflicts(&b).await.len(), 2);
    assert_eq!(b.load_snapshot("refused").await, Ok(None), "its event left the stream");
    assert_eq!(b.load_snapshot("below").await, Ok(Some(snapshot(1))), "the conflict took version 2 only");
    assert_eq!(stream(&b, "below").await.len(), 2, "A's version 2 stands in its place");
}

pub async fn pushes_stay_small_until_the_server_says_its_limits<B: SyncBackend, F: Future<Output = Rc<Store<B>>>>(open: impl Fn(&'static str) -> F)
where
    B::Payload: TestPayload,
{
    // A server that never says its limits: every push stays under the probe limits.
    let quiet = Server::new();
    let a = open("a").await;
    for n in 0..250 {
        append(&a, &format!("s-{}", n % 5), n, ExpectedVersion::Any).await.unwrap();
    }
    attach(&a, &quiet, false).flush().await.unwrap();
    assert_eq!(quiet.head(), 250);
    assert_eq!(quiet.pushes.get(), 3, "100 + 100 + 50 appends");

    // A server whose replies say 500 appends: the first push is a probe, the rest follows whole.
    let said = Server::new();
    said.limits.set(Some(Limits { max_body_bytes: 8 << 20, max_appends: 500, max_events: 10_000, max_event_bytes: 1 << 20 }));
    let b = open("b").await;
    for n in 0..250 {
        append(&b, &format!("s-{}", n % 5), n, ExpectedVersion::Any).await.unwrap();
    }
    attach(&b, &said, false).flush().await.unwrap();
    assert_eq!(said.head(), 250);
    assert_eq!(said.pushes.get(), 2, "100, then 150");
}

pub async fn an_event_over_the_servers_max_event_bytes_is_a_too_large_conflict<B: SyncBackend, F: Future<Output = Rc<Store<B>>>>(open: impl Fn(&'static str) -> F)
where
    B::Payload: TestPayload,
{
    // The store takes events up to 1 MiB; this server says 100 bytes.
    let (server, [(a, sync_a), _]) = devices(&open).await;
    server.limits.set(Some(Limits { max_body_bytes: 8 << 20, max_appends: 500, max_events: 10_000, max_event_bytes: 100 }));
    append(&a, "small", 1, ExpectedVersion::Any).await.unwrap();
    sync_a.flush().await.unwrap(); // the server's reply says its limits
    a.append("big", vec![EventInput::new("Big", Value::from("x".repeat(200)))], ExpectedVersion::Any).await.unwrap();
    append(&a, "small", 2, ExpectedVersion::Any).await.unwrap();
    sync_a.flush().await.unwrap();
    let refused = conflicts(&a).await;
    assert_eq!(refused.iter().map(|c| (c.stream.as_str(), c.reason)).collect::<Vec<_>>(), vec![("big", ConflictReason::TooLarge)]);
    assert_eq!(server.head(), 2, "the rest went through");
}

pub async fn an_append_refused_alone_as_too_large_is_a_conflict<B: SyncBackend, F: Future<Output = Rc<Store<B>>>>(open: impl Fn(&'static str) -> F)
where
    B::Payload: TestPayload,
{
    // A 413 of both appends naming one append per push: they are pushed one by one. The first
    // alone then meets a 413 without limits (a proxy's, say): a push of one append cannot
    // shrink, so that append is a conflict and the rest syncs.
    let (server, [(a, sync_a), _]) = devices(&open).await;
    append(&a, "s", 1, ExpectedVersion::Any).await.unwrap();
    append(&a, "t", 2, ExpectedVersion::Any).await.unwrap();
    let kept = Limits { max_body_bytes: 4 << 20, max_appends: 1, max_events: 5_000, max_event_bytes: usize::MAX };
    sync_a.transport().too_large.borrow_mut().extend([Some(kept), None]);
    sync_a.flush().await.unwrap();
    let refused = conflicts(&a).await;
    assert_eq!(refused.iter().map(|c| (c.stream.as_str(), c.reason)).collect::<Vec<_>>(), vec![("s", ConflictReason::TooLarge)]);
    assert_eq!(server.stream("t").len(), 1);
    assert_eq!(server.head(), 1);
}
