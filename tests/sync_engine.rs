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

#[test]
fn a_live_device_waits_what_a_429_asks_and_keeps_backing_off_on_more() {
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    let server = Server::new();
    let (a, sync_a) = pool.run_until(device(&server, true));
    let link = sync_a.transport();
    // Six requests in a row are answered 429: the first four ask for 1.5 s, the last two
    // for 100 ms (less than the engine's own backoff has grown to by then).
    link.rate_limits.borrow_mut().extend([1500, 1500, 1500, 1500, 100, 100]);
    pool.run_until(async { append(&a, "s", 1, ExpectedVersion::Any).await.unwrap() });
    let engine = sync_a.clone();
    spawner.spawn_local(async move { engine.run().await }).unwrap();
    for _ in 0..10 {
        pool.run_until_stalled();
        link.clock.wake_all();
    }
    pool.run_until_stalled();
    assert_eq!(server.head(), 1, "pushed once the server let it");
    assert_eq!(sync_a.status().pending, 0);
    let sleeps = link.sleeps.borrow().clone();
    assert_eq!(sleeps.len(), 6, "one wait per 429: {sleeps:?}");
    let asked = [1500u32, 1500, 1500, 1500, 100, 100];
    for (i, (&ms, &asked)) in sleeps.iter().zip(&asked).enumerate() {
        let full = (250u32 << i).min(30_000);
        assert!(ms >= asked, "wait {i}: {ms} ms, shorter than the {asked} ms the server asked");
        assert!(ms >= full / 2 && ms <= full.max(asked), "wait {i}: {ms} ms not within [{}, {}]", full / 2, full.max(asked));
    }
    // The backoff grows past what the server asks: 4 s doubling to 8 s for the last two.
    assert!(sleeps[4] >= 2000 && sleeps[5] >= 4000, "{sleeps:?}");
    // No request came before the wait the 429 before it asked for was over.
    let log: Vec<(&str, f64)> = link.log.borrow().iter().filter(|(k, _)| *k != "notice").cloned().collect();
    assert_eq!(log.len(), 6 + 2, "six refused, then a push and a pull: {log:?}");
    for i in 0..6 {
        let gap = log[i + 1].1 - log[i].1;
        assert!(gap >= asked[i] as f64, "request {} came {gap} ms after the 429 asking {} ms", i + 1, asked[i]);
    }
    assert!(sync_a.status().connected);
    sync_a.close();
    pool.run_until_stalled();
    assert!(!pool.try_run_one());
}

#[test]
fn flush_rejects_with_rate_limited_and_asks_nothing_until_the_wait_is_over() {
    block_on(async {
        let server = Server::new();
        let (a, sync_a) = device(&server, false).await;
        append(&a, "s", 1, ExpectedVersion::Any).await.unwrap();
        let link = sync_a.transport();
        link.rate_limits.borrow_mut().push_back(2000);
        let rate_limited = |r: Result<(), Error>| match r {
            Err(Error::Sync(SyncError { code: SyncErrorCode::RateLimited, retry_after_ms: Some(ms), .. })) => ms,
            other => panic!("not rate limited: {other:?}"),
        };
        assert_eq!(rate_limited(sync_a.flush().await), 2000);
        assert_eq!(link.requests.get(), 1);
        assert!(matches!(
            sync_a.status().error,
            Some(Error::Sync(SyncError { code: SyncErrorCode::RateLimited, .. }))
        ));
        // Asked again 500 ms later: refused at once with the wait left, no request made.
        advance_clock(500.0);
        assert_eq!(rate_limited(sync_a.flush().await), 1500);
        advance_clock(1499.0);
        assert_eq!(rate_limited(sync_a.flush().await), 1);
        assert_eq!(link.requests.get(), 1, "nothing was sent during the wait");
        assert_eq!(server.head(), 0);
        advance_clock(1.0);
        sync_a.flush().await.expect("the wait is over");
        assert_eq!(server.head(), 1);
        assert_eq!(sync_a.status().pending, 0);
        assert_eq!(sync_a.status().error, None);
        // A 429 on a pull (nothing is pending: the round only pulls) counts the same.
        link.rate_limits.borrow_mut().push_back(300);
        assert_eq!(rate_limited(sync_a.flush().await), 300);
        assert_eq!(link.log.borrow().last().map(|(kind, _)| *kind), Some("pull"));
        let requests = link.requests.get();
        assert_eq!(rate_limited(sync_a.flush().await), 300);
        assert_eq!(link.requests.get(), requests);
        advance_clock(300.0);
        sync_a.flush().await.expect("the wait is over");
    })
}

#[test]
fn the_live_loop_retries_once_its_timer_waited_out_a_429_whatever_the_wall_clock_reads() {
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    let server = Server::new();
    let (a, sync_a) = pool.run_until(device(&server, true));
    let link = sync_a.transport();
    // The wall clock does not move while the timer runs (a clock a little behind the timer,
    // or set back): the wait is over when the timer says so.
    link.sleeps_move_clock.set(false);
    link.rate_limits.borrow_mut().push_back(1000);
    pool.run_until(async { append(&a, "s", 1, ExpectedVersion::Any).await.unwrap() });
    let engine = sync_a.clone();
    spawner.spawn_local(async move { engine.run().await }).unwrap();
    pool.run_until_stalled();
    assert_eq!(link.sleeps.borrow().len(), 1);
    assert!(link.sleeps.borrow()[0] >= 1000);
    link.clock.wake_all();
    pool.run_until_stalled();
    assert_eq!(server.head(), 1, "pushed after the one wait");
    assert_eq!(link.sleeps.borrow().len(), 1, "no second wait: {:?}", link.sleeps.borrow());
    sync_a.close();
    pool.run_until_stalled();
    assert!(!pool.try_run_one());
}
