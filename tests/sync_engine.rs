//! The sync engine natively: the sync suite on the memory backend, and the live loop, which
//! follows notices, backs off without spinning and stops when closed.
#![cfg(not(target_arch = "wasm32"))]

mod sync_suite;
#[allow(unused_imports)] // its read helpers, used by sync_support
mod conformance;
mod sync_support;

mod memory {
    use annals::core::{MemoryBackend, Store, StoreConfig};
    crate::sync_suite::suite!(|_case: &'static str, _device: &'static str| async {
        Store::open(MemoryBackend::new(), StoreConfig::default()).await.expect("open")
    });
}

use std::rc::Rc;

use annals::core::sync::*;
use annals::core::*;
use futures::executor::{block_on, LocalPool};
use futures::task::LocalSpawnExt;
use sync_support::*;

fn ev(n: u32) -> EventInput {
    EventInput::new("Counted", Value::object([("n", Value::from(n as i64))]))
}

async fn append(store: &Rc<Store<MemoryBackend>>, stream: &str, n: u32, expected: ExpectedVersion) -> Result<AppendResult, Error> {
    store.append(stream, vec![ev(n)], expected).await
}


#[test]
fn a_live_device_follows_the_server_and_stops_when_closed() {
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    let server = Server::new();
    let ((a, sync_a), (b, sync_b)) = pool.run_until(async { (device(&server, true).await, device(&server, true).await) });
    for engine in [sync_a.clone(), sync_b.clone()] {
        spawner.spawn_local(async move { engine.run().await }).unwrap();
    }
    pool.run_until_stalled();
    pool.run_until(async {
        append(&a, "s", 1, ExpectedVersion::Any).await.unwrap();
        append(&a, "s", 2, ExpectedVersion::Any).await.unwrap();
    });
    pool.run_until_stalled();
    // Pushed at once, announced, pulled by the other device: no flush called.
    let on_b = pool.run_until(stream(&b, "s"));
    assert_eq!(shape(&on_b), shape(&server.stream("s")));
    assert_eq!(on_b.len(), 2);
    assert_eq!(sync_a.status().pending, 0);
    // Idle: nothing waits on a timer, and no request is made.
    let requests = sync_a.transport().requests.get();
    pool.run_until_stalled();
    assert_eq!(sync_a.transport().requests.get(), requests);
    assert!(sync_a.transport().sleeps.borrow().is_empty());
    sync_a.close();
    sync_b.close();
    pool.run_until_stalled();
    // Both loops returned: the pool holds no task.
    assert!(!pool.try_run_one());
    drop((a, b));
}

#[test]
fn a_live_device_backs_off_while_offline_then_catches_up() {
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    let server = Server::new();
    let (a, sync_a) = pool.run_until(device(&server, true));
    sync_a.transport().online.set(false);
    let engine = sync_a.clone();
    spawner.spawn_local(async move { engine.run().await }).unwrap();
    pool.run_until(async { append(&a, "s", 1, ExpectedVersion::Any).await.unwrap() });
    for _ in 0..8 {
        pool.run_until_stalled();
        sync_a.transport().clock.wake_all(); // each wait ends
    }
    pool.run_until_stalled();
    let sleeps = sync_a.transport().sleeps.borrow().clone();
    // One wait per failed round, each drawn from half to all of 250 ms doubling.
    assert_eq!(sleeps.len(), 9, "{sleeps:?}");
    for (i, &ms) in sleeps.iter().enumerate() {
        let full = (250u32 << i).min(30_000);
        assert!(ms >= full / 2 && ms <= full, "wait {i}: {ms} ms not within [{}, {full}]", full / 2);
    }
    assert!(!sync_a.status().connected);
    assert!(matches!(sync_a.status().error, Some(Error::Sync(SyncError { code: SyncErrorCode::Network, .. }))));
    // While it waits to retry, its status follows what is appended here.
    assert_eq!(sync_a.status().pending, 1);
    pool.run_until(async { append(&a, "s", 2, ExpectedVersion::Any).await.unwrap() });
    pool.run_until_stalled();
    assert_eq!(sync_a.status().pending, 2);
    assert_eq!(sync_a.transport().sleeps.borrow().len(), 9, "an append does not cut the wait short");
    sync_a.transport().online.set(true);
    sync_a.transport().clock.wake_all();
    pool.run_until_stalled();
    assert_eq!(server.head(), 2);
    assert_eq!(sync_a.status().pending, 0);
    assert!(sync_a.status().connected);
    sync_a.close();
    pool.run_until_stalled();
    assert!(!pool.try_run_one());
}

#[test]
fn a_notice_stream_that_keeps_failing_backs_off_though_rounds_succeed() {
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    let server = Server::new();
    let (_a, sync_a) = pool.run_until(device(&server, true));
    sync_a.transport().notices_fail.set(true);
    let engine = sync_a.clone();
    spawner.spawn_local(async move { engine.run().await }).unwrap();
    for _ in 0..6 {
        pool.run_until_stalled();
        sync_a.transport().clock.wake_all();
    }
    pool.run_until_stalled();
    // Each failure of the notice stream waits longer, although every round between succeeds:
    // a broken notice stream becomes polling that slows down to 30 s, never a fast loop.
    let sleeps = sync_a.transport().sleeps.borrow().clone();
    assert_eq!(sleeps.len(), 7, "{sleeps:?}");
    for (i, &ms) in sleeps.iter().enumerate() {
        let full = (250u32 << i).min(30_000);
        assert!(ms >= full / 2 && ms <= full, "wait {i}: {ms} ms not within [{}, {full}]", full / 2);
    }
    assert_eq!(server.pulls.get(), 7, "a round at start and one after each of the 6 waits that ended, no more");
    sync_a.close();
    pool.run_until_stalled();
    assert!(!pool.try_run_one());
}

#[test]
fn flush_after_close_is_refused() {
    block_on(async {
        let server = Server::new();
        let (_a, sync_a) = device(&server, false).await;
        sync_a.close();
        assert_eq!(sync_a.flush().await, Err(Error::StoreClosed));
    })
}
