//! What the server's tests share: a private PostgreSQL cluster per test binary (or
//! `$ANNALS_TEST_DATABASE_URL`), `annals-server` processes, and a small HTTP client.
#![allow(dead_code)]

pub mod cluster;
pub mod process;

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

pub use cluster::Cluster;
pub use process::ServerProcess;

/// The URL of a database with the server's schema, shared by the tests of this binary: the
/// cluster starts on first use and stops when the process ends.
pub fn database() -> &'static str {
    static DATABASE: OnceLock<(Option<Cluster>, String)> = OnceLock::new();
    let (_, url) = DATABASE.get_or_init(|| {
        let (cluster, url) = match std::env::var("ANNALS_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => (None, url),
            _ => {
                let cluster = Cluster::start(&[("fsync", "off"), ("max_connections", "200")]);
                let url = cluster.url.clone();
                (Some(cluster), url)
            }
        };
        migrate(&url);
        (cluster, url)
    });
    url
}

/// Applies the server's migrations to `url` (on a thread of its own: callers may be inside a
/// runtime already).
pub fn migrate(url: &str) {
    let url = url.to_owned();
    std::thread::spawn(move || {
        block_on(async {
            let mut client = annals_server::pg::connect(&url).await.expect("connect");
            annals_server::pg::migrate(&mut client).await.expect("migrate");
        })
    })
    .join()
    .expect("migrations");
}

/// Runs `future` to completion on a fresh single-threaded tokio runtime (`!Send` futures
/// welcome): the conformance suite's runner.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// `name` made unique across runs and processes: a tenant no earlier test used.
pub fn unique(name: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{name}-{}-{nanos}", std::process::id())
}
