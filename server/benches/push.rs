//! Push throughput of annals-server next to the floor: the same rows written by raw batched
//! `INSERT`s into the same `events` table, on the same PostgreSQL, at the same batch sizes and
//! concurrency. Prints a Markdown table with ratios (for BENCHMARKS.md).
//!
//!   cargo bench -p annals-server --bench push --profile server
//!   (bash scripts/bench-server.sh does the same)
//!
//! PostgreSQL is a private cluster with its default, durable settings (fsync and synchronous
//! commit on). The server is the optimised build (profile `server`), a separate process on
//! 127.0.0.1; each client is a task with its own HTTP connection (or, for the floor, its own
//! PostgreSQL connection). Bodies and rows are made before timing. Each figure is the median of
//! 3 runs after a warm-up run.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use annals_server::pg;
use serde_json::json;
use support::{Cluster, ServerProcess};
use tokio_postgres::types::ToSql;

/// How a workload's events are grouped.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// One push = one append of one event.
    One,
    /// One push = 100 appends of one event each.
    HundredAppends,
    /// One push = one append of 100 events.
    OneAppendOfHundred,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::One => "1 event per push",
            Shape::HundredAppends => "100 appends of 1 per push",
            Shape::OneAppendOfHundred => "1 append of 100 per push",
        }
    }
    fn events(self) -> u64 {
        match self {
            Shape::One => 1,
            _ => 100,
        }
    }
}

const RUNS: usize = 3;

fn id(client: u32, run: u32, n: u64) -> String {
    format!("{client:08x}-{run:04x}-4000-8000-{n:012x}")
}

fn data(n: u64) -> serde_json::Value {
    json!({ "sku": format!("tea-{:04}", n % 10_000), "qty": n % 7 + 1, "price": 4.5, "note": "two bags, green" })
}

/// The bodies of `pushes` pushes of `shape` for client `c` in run `run`.
fn bodies(shape: Shape, c: u32, run: u32, pushes: u64) -> Vec<Vec<u8>> {
    (0..pushes)
        .map(|p| {
            let event = |k: u64| {
                let n = p * 100 + k;
                json!({ "id": id(c, run, n), "type": "ItemAdded", "data": data(n) })
            };
            let stream = format!("Cart-{c}-{run}");
            let appends: Vec<serde_json::Value> = match shape {
                Shape::One => vec![json!({ "stream": stream, "expectedVersion": "any", "recordedAt": 1.7e12, "events": [event(0)] })],
                Shape::HundredAppends => (0..100)
                    .map(|k| json!({ "stream": format!("{stream}-{k}"), "expectedVersion": "any", "recordedAt": 1.7e12, "events": [event(k)] }))
                    .collect(),
                Shape::OneAppendOfHundred => vec![json!({ "stream": stream, "expectedVersion": "any", "recordedAt": 1.7e12, "events": (0..100).map(event).collect::<Vec<_>>() })],
            };
            serde_json::to_vec(&json!({ "appends": appends })).unwrap()
        })
        .collect()
}

/// Events per second through the server.
async fn server_run(url: &str, shape: Shape, clients: u32, pushes: u64, run: u32) -> f64 {
    let prepared: Vec<Vec<Vec<u8>>> = (0..clients).map(|c| bodies(shape, c, run, pushes)).collect();
    let start = Instant::now();
    let tasks: Vec<_> = prepared
        .into_iter()
        .map(|bodies| {
            let url = format!("{url}/v1/push");
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                for body in bodies {
                    let response = http
                        .post(&url)
                        .bearer_auth("bench")
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .expect("push");
                    assert_eq!(response.status(), 200);
                    response.bytes().await.expect("reply");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (clients as u64 * pushes * shape.events()) as f64 / start.elapsed().as_secs_f64()
}

/// Events per second of raw batched INSERTs of the same rows (no decision, no head row).
async fn floor_run(url: &str, tenant: i64, shape: Shape, clients: u32, pushes: u64, positions: Arc<AtomicU64>, run: u32) -> f64 {
    let batch = shape.events();
    let mut connections = Vec::new();
    for _ in 0..clients {
        connections.push(pg::connect(url).await.expect("connect"));
    }
    let start = Instant::now();
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(c, client)| {
            let positions = positions.clone();
            tokio::spawn(async move {
                let insert = client
                    .prepare(
                        "INSERT INTO events (tenant, position, id, stream, version, type, data, metadata, recorded_at, append_end)
                         SELECT $1, * FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::bigint[], $6::text[],
                                                  $7::text[]::json[], $8::text[]::json[], $9::float8[], $10::bigint[])",
                    )
                    .await
                    .unwrap();
                for p in 0..pushes {
                    let first = positions.fetch_add(batch, Ordering::SeqCst) as i64 + 1;
                    let pos: Vec<i64> = (first..first + batch as i64).collect();
                    let ids: Vec<uuid::Uuid> = (0..batch).map(|k| uuid::Uuid::parse_str(&id(1000 + c as u32, run, p * 100 + k)).unwrap()).collect();
                    let streams: Vec<String> = (0..batch).map(|_| format!("Floor-{c}-{run}")).collect();
                    let versions: Vec<i64> = pos.clone();
                    let types: Vec<&str> = vec!["ItemAdded"; batch as usize];
                    let datas: Vec<String> = (0..batch).map(|k| data(p * 100 + k).to_string()).collect();
                    let metas: Vec<&str> = vec!["{}"; batch as usize];
                    let recorded: Vec<f64> = vec![1.7e12; batch as usize];
                    let ends: Vec<i64> = vec![first + batch as i64 - 1; batch as usize];
                    let params: [&(dyn ToSql + Sync); 10] = [&tenant, &pos, &ids, &streams, &versions, &types, &datas, &metas, &recorded, &ends];
                    client.execute(&insert, &params).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (clients as u64 * pushes * batch) as f64 / start.elapsed().as_secs_f64()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

fn main() {
    let cluster = Cluster::start(&[]);
    support::migrate(&cluster.url);
    let server = ServerProcess::start(&cluster.url, &[("bench", "bench")], &[]);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let rows = runtime.block_on(async {
        let admin = pg::connect(&cluster.url).await.unwrap();
        let floor_tenant = pg::ensure_tenant(&admin, "floor").await.unwrap().0;
        let positions = Arc::new(AtomicU64::new(0));
        let version = admin.query_one("SHOW server_version", &[]).await.unwrap().get::<_, String>(0);
        let mut rows = Vec::new();
        let mut run = 0u32;
        for shape in [Shape::One, Shape::HundredAppends, Shape::OneAppendOfHundred] {
            for clients in [1u32, 8] {
                // About 2,000 pushes of one event, or 200 of 100, per measured run.
                let pushes = match shape {
                    Shape::One => 2_000 / clients as u64,
                    _ => 200 / clients as u64,
                };
                let mut served = Vec::new();
                let mut floor = Vec::new();
                for r in 0..=RUNS {
                    run += 1;
                    let s = server_run(&server.url, shape, clients, pushes, run).await;
                    let f = floor_run(&cluster.url, floor_tenant, shape, clients, pushes, positions.clone(), run).await;
                    if r > 0 {
                        served.push(s);
                        floor.push(f);
                    }
                }
                let (s, f) = (median(served), median(floor));
                eprintln!("{:<28} {clients} client(s): server {s:>9.0} ev/s, floor {f:>9.0} ev/s", shape.name());
                rows.push((shape, clients, s, f));
            }
        }
        (rows, version)
    });
    let (rows, version) = rows;
    println!("\n### annals-server push throughput (events/s)\n");
    println!(
        "PostgreSQL {version}, default durable settings (fsync, synchronous_commit on), on this machine ({} cores); \
         server: annals-server (profile `server`) over HTTP/1.1 on 127.0.0.1; floor: raw batched \
         `INSERT … SELECT unnest(…)` of the same rows into the same `events` table, one transaction per batch. \
         Median of {RUNS} runs.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| workload | clients | annals-server | raw INSERT floor | server / floor |");
    println!("|---|---:|---:|---:|---:|");
    for (shape, clients, s, f) in rows {
        println!("| {} | {clients} | {s:.0} | {f:.0} | {:.2} |", shape.name(), s / f);
    }
    drop(server);
    drop(cluster);
}
