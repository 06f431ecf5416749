//! Model-based test of sync: random interleavings of three devices' appends (mixed expected
//! versions, shared streams), flushes, going offline, conflict resolutions (rebase or discard)
//! and the network's faults — lost push answers, pushes delivered twice, pull answers delivered
//! twice, pushes held back and delivered later (after other devices' pushes and the sender's
//! retries; two or more at once in reverse order), stale pull answers arriving after newer ones
//! — and restarts (a device's engine dropped mid-round, its request in flight lost with it, and
//! a new one made over the same store), against the in-memory server of `sync_support`.
//!
//! The reference model is the set of events appended and discarded. After every step: no event
//! is twice on the server, it holds only events appended and not discarded, no device holds an
//! event twice, and each device's confirmed events are the server's, in its order (a prefix of
//! its log). At the end, with the network healed, held pushes delivered and every
//! conflict rebased: every appended event is on the server once or was discarded by the app
//! (nothing discarded on the server, nothing lost), and every device shows exactly the server's
//! streams, with server positions 1..N. Cases: `SYNC_MODEL_CASES` (default 1,000) with devices
//! syncing on flush only, then `SYNC_MODEL_LIVE_CASES` (default 1,000) with the devices' live
//! loops running as well (after each step until they only wait; time passing ends their
//! waits), which must all return once closed.
#![cfg(not(target_arch = "wasm32"))]

#[allow(unused_imports)] // its read helpers, used by sync_support
mod conformance;
mod sync_support;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::rc::Rc;

use annals::core::sync::*;
use annals::core::*;
use futures::executor::{block_on, LocalPool, LocalSpawner};
use futures::task::LocalSpawnExt;
use proptest::prelude::*;
use sync_support::*;

const DEVICES: usize = 3;
const STREAMS: u8 = 3;

#[derive(Clone, Debug)]
enum Op {
    /// Device appends `n` events to stream `s`: expectation 0 any, 1 the version it sees,
    /// 2 no_stream / stream_exists, 3 the version it sees plus one (always refused locally).
    Append { device: usize, s: u8, n: u8, expect: u8 },
    Flush { device: usize },
    Online { device: usize, on: bool },
    LoseAnswer { device: usize },
    Resolve { device: usize, rebase: bool },
    /// The device's next push reaches the server twice.
    DuplicatePush { device: usize },
    /// The device's next pull gets the previous pull's answer again.
    DuplicatePullAnswer { device: usize },
    /// The device's next pull gets an answer `age` answers old.
    StalePullAnswer { device: usize, age: usize },
    /// The device's next push is held in the network (the device sees a failure).
    HoldPush { device: usize },
    /// The network delivers the device's held pushes, oldest or newest first.
    Deliver { device: usize, reverse: bool },
    /// The device's engine is dropped in the middle of a flush, stalled at `at` (0: a push not
    /// sent, 1: a push committed whose answer never comes, 2: a pull; 3: between rounds), and
    /// a new engine is made over the same store.
    Restart { device: usize, at: u8 },
    /// The device's next request is answered 429, asking for a wait of `ms`.
    RateLimit { device: usize, ms: u64 },
    /// Time passes.
    Wait { ms: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    let d = 0..DEVICES;
    prop_oneof![
        10 => (d.clone(), 0..STREAMS, 1..4u8, 0..4u8).prop_map(|(device, s, n, expect)| Op::Append { device, s, n, expect }),
        6 => d.clone().prop_map(|device| Op::Flush { device }),
        2 => (d.clone(), any::<bool>()).prop_map(|(device, on)| Op::Online { device, on }),
        2 => d.clone().prop_map(|device| Op::LoseAnswer { device }),
        4 => (d.clone(), any::<bool>()).prop_map(|(device, rebase)| Op::Resolve { device, rebase }),
        1 => d.clone().prop_map(|device| Op::DuplicatePush { device }),
        1 => d.clone().prop_map(|device| Op::DuplicatePullAnswer { device }),
        1 => (d.clone(), 1..4usize).prop_map(|(device, age)| Op::StalePullAnswer { device, age }),
        3 => d.clone().prop_map(|device| Op::HoldPush { device }),
        1 => (d.clone(), any::<bool>()).prop_map(|(device, reverse)| Op::Deliver { device, reverse }),
        2 => (d.clone(), 0..4u8).prop_map(|(device, at)| Op::Restart { device, at }),
        1 => (d, 1..4u64).prop_map(|(device, n)| Op::RateLimit { device, ms: n * 500 }),
        1 => (1..4u64).prop_map(|n| Op::Wait { ms: n * 400 }),
    ]
}

struct World {
    server: Rc<Server>,
    stores: Vec<Rc<Store<MemoryBackend>>>,
    engines: Vec<Device<MemoryBackend>>,
    feeds: Vec<ConflictFeed<MemoryBackend>>,
    /// Every id a device appended (locally accepted).
    appended: BTreeSet<Uuid>,
    /// Ids the app discarded.
    discarded: BTreeSet<Uuid>,
    /// Conflict keys each device's feed yielded.
    surfaced: Vec<BTreeSet<u64>>,
    next_event: u32,
    /// The faults of links since replaced (a restart makes a new link).
    faults: Faults,
    restarts: u64,
    /// Live devices: where their loops ([`SyncEngine::run`]) are spawned.
    live: Option<LocalSpawner>,
}

impl World {
    /// Devices syncing on flush only, or (`live`) running their live loops there too.
    async fn new(live: Option<LocalSpawner>) -> World {
        let server = Server::new();
        let mut stores = Vec::new();
        let mut engines = Vec::new();
        let mut feeds = Vec::new();
        for _ in 0..DEVICES {
            let (store, engine) = device(&server, live.is_some()).await;
            if let Some(spawner) = &live {
                run(spawner, &engine);
            }
            feeds.push(ConflictFeed::new(store.clone()).expect("feed"));
            stores.push(store);
            engines.push(engine);
        }
        World {
            server,
            stores,
            engines,
            feeds,
            appended: BTreeSet::new(),
            discarded: BTreeSet::new(),
            surfaced: vec![BTreeSet::new(); DEVICES],
            next_event: 0,
            faults: Faults::default(),
            restarts: 0,
            live,
        }
    }

    /// Time passes: `ms` on the clock, and every wait under way ends.
    fn wait(&self, ms: u64) {
        advance_clock(ms as f64);
        for e in &self.engines {
            e.transport().clock.wake_all();
        }
    }

    async fn apply(&mut self, op: &Op) {
        match *op {
            Op::Append { device, s, n, expect } => {
                let store = &self.stores[device];
                let stream = format!("S-{s}");
                let version = store.stream_version(&stream).await.expect("version");
                let expected = match expect {
                    0 => ExpectedVersion::Any,
                    1 => ExpectedVersion::Exact(version),
                    2 if version == 0 => ExpectedVersion::NoStream,
                    2 => ExpectedVersion::StreamExists,
                    _ => ExpectedVersion::Exact(version + 1),
                };
                let events: Vec<EventInput> = (0..n)
                    .map(|_| {
                        self.next_event += 1;
                        let id = format!("00000000-0000-4000-8000-{:012x}", self.next_event);
                        EventInput::new("E", Value::from(self.next_event as i64)).with_id(id)
                    })
                    .collect();
                let ids: Vec<Uuid> = events.iter().map(|e| Uuid::parse_str(e.id.as_deref().unwrap()).unwrap()).collect();
                match store.append(&stream, events, expected).await {
                    Ok(_) => self.appended.extend(ids),
                    Err(Error::WrongExpectedVersion { .. }) => {}
                    Err(e) => panic!("append: {e}"),
                }
            }
            Op::Flush { device } => {
                let _ = self.engines[device].flush().await;
            }
            Op::Online { device, on } => self.engines[device].transport().online.set(on),
            Op::LoseAnswer { device } => bump(&self.engines[device].transport().lose_push_answers),
            Op::DuplicatePush { device } => bump(&self.engines[device].transport().duplicate_pushes),
            Op::DuplicatePullAnswer { device } => bump(&self.engines[device].transport().duplicate_pull_answers),
            Op::StalePullAnswer { device, age } => {
                let link = self.engines[device].transport();
                link.stale_age.set(age);
                bump(&link.stale_pull_answers);
            }
            Op::HoldPush { device } => bump(&self.engines[device].transport().hold_pushes),
            Op::Deliver { device, reverse } => {
                self.engines[device].transport().deliver_held(reverse);
            }
            Op::Restart { device, at } => self.restart(device, at).await,
            Op::RateLimit { device, ms } => self.engines[device].transport().rate_limits.borrow_mut().push_back(ms),
            Op::Wait { ms } => self.wait(ms),
            Op::Resolve { device, rebase } => {
                let conflicts = self.stores[device].conflicts().await.expect("conflicts");
                if let Some(c) = conflicts.first() {
                    let resolution = if rebase { Resolution::Rebase } else { Resolution::Discard };
                    match self.stores[device].resolve(c.key, resolution).await {
                        Ok(()) if !rebase => self.discarded.extend(c.events.iter().map(|e| e.id)),
                        Ok(()) => {}
                        // A rebase of a duplicate id once the other event is here: discard.
                        Err(Error::DuplicateEventId { .. }) => {
                            self.stores[device].resolve(c.key, Resolution::Discard).await.expect("discard");
                            self.discarded.extend(c.events.iter().map(|e| e.id));
                        }
                        Err(e) => panic!("resolve: {e}"),
                    }
                }
            }
        }
    }

    /// Drops device `d`'s engine in the middle of a flush stalled at `at` (its request in
    /// flight is lost with it), and makes a new one over the same store; what is in the
    /// network (held pushes) and whether the device is online stay.
    async fn restart(&mut self, d: usize, at: u8) {
        let engine = self.engines[d].clone();
        let link = engine.transport();
        let stall = [Some(Stall::PushUnsent), Some(Stall::PushCommitted), Some(Stall::Pull)].get(at as usize).copied().flatten();
        if stall.is_some() {
            link.stall.set(stall);
            let mut round = Box::pin(engine.flush());
            // Runs until it stalls (or ends, when the round never gets there), then is dropped.
            let _ = round.as_mut().poll(&mut std::task::Context::from_waker(&futures::task::noop_waker()));
        }
        let held: Vec<_> = link.held.borrow_mut().drain(..).collect();
        let online = link.online.get();
        let id = link.id.get();
        self.faults.add(link.faults.get());
        engine.close();
        drop(engine);
        self.engines[d] = attach(&self.stores[d], &self.server, self.live.is_some());
        if let Some(spawner) = &self.live {
            run(spawner, &self.engines[d]);
        }
        let link = self.engines[d].transport();
        link.held.borrow_mut().extend(held);
        link.online.set(online);
        link.id.set(id);
        self.restarts += 1;
    }

    /// Everything the links' networks did, so far.
    fn faults(&self) -> Faults {
        let mut faults = self.faults;
        for e in &self.engines {
            faults.add(e.transport().faults.get());
        }
        faults
    }

    /// No event is twice on the server, and every device's confirmed events are the server's,
    /// in its order (invariants 1 and 2).
    async fn check_confirmed(&self) -> Result<(), TestCaseError> {
        let log = self.server.state.borrow().log.clone();
        let unique: BTreeSet<Uuid> = log.iter().map(|e| e.id).collect();
        prop_assert_eq!(unique.len(), log.len(), "an event is twice on the server");
        prop_assert!(unique.is_subset(&self.appended), "the server holds an event no device appended");
        prop_assert!(unique.is_disjoint(&self.discarded), "the server holds an event the app discarded");
        for (d, store) in self.stores.iter().enumerate() {
            let mut events = all(store).await;
            let ids: BTreeSet<Uuid> = events.iter().map(|e| e.id).collect();
            prop_assert_eq!(ids.len(), events.len(), "device {}: an event twice", d);
            let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
            prop_assert!(positions.windows(2).all(|w| w[0] < w[1]), "device {d}: local order");
            events.retain(|e| e.server_position.is_some());
            events.sort_by_key(|e| e.server_position);
            let got: Vec<(Uuid, Option<u64>)> = events.iter().map(|e| (e.id, e.server_position)).collect();
            let want: Vec<(Uuid, Option<u64>)> = log.iter().take(got.len()).map(|e| (e.id, e.server_position)).collect();
            prop_assert_eq!(got, want, "device {}: confirmed events are the server's prefix", d);
        }
        Ok(())
    }

    async fn drain_feeds(&mut self) -> Result<(), TestCaseError> {
        for d in 0..DEVICES {
            loop {
                let mut next = Box::pin(self.feeds[d].next());
                let waker = futures::task::noop_waker();
                match next.as_mut().poll(&mut std::task::Context::from_waker(&waker)) {
                    std::task::Poll::Ready(Ok(Some(c))) => {
                        prop_assert!(self.surfaced[d].insert(c.key), "device {d}: conflict {} surfaced twice", c.key);
                    }
                    _ => break,
                }
            }
        }
        Ok(())
    }

    /// Everyone online, flushing and rebasing until nothing is pending and no conflict is open.
    async fn settle(&mut self) -> Result<(), TestCaseError> {
        // The network heals and delivers what it held, and every wait a 429 asked for is over.
        advance_clock(MAX_RETRY_AFTER_MS as f64);
        for e in &self.engines {
            e.transport().heal();
            // Newest first: what is still held arrives out of order.
            e.transport().deliver_held(true);
        }
        for _ in 0..20 {
            let mut open = 0;
            for d in 0..DEVICES {
                self.engines[d].flush().await.map_err(|e| TestCaseError::fail(format!("flush: {e}")))?;
                for c in self.stores[d].conflicts().await.expect("conflicts") {
                    open += 1;
                    match self.stores[d].resolve(c.key, Resolution::Rebase).await {
                        Ok(()) => {}
                        Err(Error::DuplicateEventId { .. }) => {
                            self.stores[d].resolve(c.key, Resolution::Discard).await.expect("discard");
                            self.discarded.extend(c.events.iter().map(|e| e.id));
                        }
                        Err(e) => return Err(TestCaseError::fail(format!("rebase: {e}"))),
                    }
                }
                self.engines[d].flush().await.map_err(|e| TestCaseError::fail(format!("flush: {e}")))?;
            }
            let pending: u64 = self.engines.iter().map(|e| e.status().pending).sum();
            if open == 0 && pending == 0 {
                // Nothing left to push anywhere: one more pull each and all hold everything.
                for e in &self.engines {
                    e.flush().await.map_err(|e| TestCaseError::fail(format!("flush: {e}")))?;
                }
                return Ok(());
            }
        }
        Err(TestCaseError::fail("did not settle in 20 rounds"))
    }

    async fn check_converged(&self) -> Result<(), TestCaseError> {
        let log = self.server.state.borrow().log.clone();
        let ids: Vec<Uuid> = log.iter().map(|e| e.id).collect();
        let unique: BTreeSet<Uuid> = ids.iter().copied().collect();
        prop_assert_eq!(unique.len(), ids.len(), "no event twice on the server");
        let accounted: BTreeSet<Uuid> = unique.union(&self.discarded).copied().collect();
        prop_assert_eq!(&accounted, &self.appended, "every appended event is on the server or discarded");
        prop_assert!(unique.is_disjoint(&self.discarded), "nothing discarded is on the server");
        let mut by_stream: BTreeMap<String, Vec<RecordedEvent>> = BTreeMap::new();
        for e in &log {
            by_stream.entry(e.stream.clone()).or_default().push(e.clone());
        }
        for (d, store) in self.stores.iter().enumerate() {
            for s in 0..STREAMS {
                let name = format!("S-{s}");
                let want = by_stream.get(&name).map(|v| shape(v)).unwrap_or_default();
                prop_assert_eq!(shape(&stream(store, &name).await), want, "device {}: {}", d, name);
            }
            let mut positions: Vec<u64> = all(store).await.iter().map(|e| e.server_position.unwrap_or(0)).collect();
            positions.sort_unstable();
            prop_assert_eq!(positions, (1..=log.len() as u64).collect::<Vec<_>>(), "device {}: 1..N", d);
        }
        Ok(())
    }
}

/// Spawns `engine`'s live loop.
fn run(spawner: &LocalSpawner, engine: &Device<MemoryBackend>) {
    let engine = engine.clone();
    spawner.spawn_local(async move { engine.run().await }).expect("spawn");
}

fn bump(counter: &std::cell::Cell<u32>) {
    counter.set(counter.get() + 1);
}

fn cases() -> u32 {
    std::env::var("SYNC_MODEL_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1000)
}

/// Cases with live devices: `SYNC_MODEL_LIVE_CASES` (default 1,000).
fn live_cases() -> u32 {
    std::env::var("SYNC_MODEL_LIVE_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1000)
}

impl Tally {
    /// Adds what `world` did in a case of `operations` steps.
    fn add(&mut self, world: &World, operations: usize) {
        self.cases += 1;
        self.operations += operations as u64;
        self.appended += world.appended.len() as u64;
        self.on_server += world.server.head();
        self.conflicts += world.surfaced.iter().map(|s| s.len() as u64).sum::<u64>();
        self.discarded += world.discarded.len() as u64;
        self.faults.add(world.faults());
        self.restarts += world.restarts;
    }
}

/// What the cases did, summed.
#[derive(Debug, Default)]
struct Tally {
    cases: u64,
    /// Of those, with live devices.
    live_cases: u64,
    operations: u64,
    appended: u64,
    on_server: u64,
    conflicts: u64,
    discarded: u64,
    faults: Faults,
    restarts: u64,
}

#[test]
fn devices_converge_and_lose_nothing() {
    let tally = std::cell::RefCell::new(Tally::default());
    let config = ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&prop::collection::vec(op(), 1..100), |ops| {
        block_on(async {
            let mut world = World::new(None).await;
            for op in &ops {
                world.apply(op).await;
                world.check_confirmed().await?;
                world.drain_feeds().await?;
            }
            world.settle().await?;
            world.drain_feeds().await?;
            world.check_confirmed().await?;
            world.check_converged().await?;
            tally.borrow_mut().add(&world, ops.len());
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The same with live devices: after each step their loops run until nothing is left to
    // do but wait (for a notice, a timer or an append); `Wait` ends their timers.
    let config = ProptestConfig { cases: live_cases(), failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&prop::collection::vec(op(), 1..100), |ops| {
        let mut pool = LocalPool::new();
        let mut world = pool.run_until(World::new(Some(pool.spawner())));
        pool.run_until_stalled();
        for op in &ops {
            pool.run_until(world.apply(op));
            pool.run_until_stalled();
            pool.run_until(async {
                world.check_confirmed().await?;
                world.drain_feeds().await
            })?;
        }
        world.wait(MAX_RETRY_AFTER_MS);
        pool.run_until_stalled();
        pool.run_until(world.settle())?;
        world.wait(0);
        pool.run_until_stalled();
        pool.run_until(async {
            world.drain_feeds().await?;
            world.check_confirmed().await?;
            world.check_converged().await
        })?;
        for e in &world.engines {
            prop_assert_eq!(e.status().pending, 0, "a live device settled with events pending");
            e.close();
        }
        pool.run_until_stalled();
        prop_assert!(!pool.try_run_one(), "every live loop returned once closed");
        let mut t = tally.borrow_mut();
        t.add(&world, ops.len());
        t.live_cases += 1;
        Ok(())
    });
    let t = tally.into_inner();
    println!("sync model: {t:?}");
    if let Err(e) = result {
        panic!("live: {e}");
    }
    // The figures for docs/reliability.md (scripts/reliability.mjs).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/reliability");
    std::fs::create_dir_all(&dir).expect("target/reliability");
    let f = t.faults;
    let json = format!(
        concat!(
            "{{\"cases\":{},\"liveCases\":{},\"operations\":{},\"appended\":{},\"onServer\":{},\"conflicts\":{},\"discarded\":{},",
            "\"lostAnswers\":{},\"duplicated\":{},\"duplicatedPushes\":{},\"duplicatedPullAnswers\":{},",
            "\"delayed\":{},\"delayedPastOthers\":{},\"delayedPastRetry\":{},\"reordered\":{},\"reorderedPushes\":{},\"stalePullAnswers\":{},",
            "\"restarts\":{},\"requestsLostInRestarts\":{},\"rateLimited\":{},\"divergences\":0}}\n"
        ),
        t.cases,
        t.live_cases,
        t.operations,
        t.appended,
        t.on_server,
        t.conflicts,
        t.discarded,
        f.lost_answers,
        f.duplicated_pushes + f.duplicated_pull_answers,
        f.duplicated_pushes,
        f.duplicated_pull_answers,
        f.delayed_pushes,
        f.delayed_past_others,
        f.delayed_past_retry,
        f.reordered_pushes + f.stale_pull_answers,
        f.reordered_pushes,
        f.stale_pull_answers,
        t.restarts,
        f.stalled,
        f.rate_limited
    );
    std::fs::write(dir.join("sync-model.json"), json).expect("write sync-model.json");
}
