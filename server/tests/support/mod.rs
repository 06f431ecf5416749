//! What the server's tests share: a private PostgreSQL cluster per test binary (or
//! `$ANNALS_TEST_DATABASE_URL`), `annals-server` processes, and a small HTTP client.
#![allow(dead_code)]

pub mod client;
pub mod cluster;
pub mod process;

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

pub use cluster::Cluster;
#[allow(unused_imports)]
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

/// A shell that runs `script` once this process's end of its stdin pipe closes: when the
/// returned handle is dropped, or when this process ends in any way (a panic, `exit`, a
/// SIGKILL). Dropping the handle waits for the script to finish.
pub struct Watchdog {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
}

impl Watchdog {
    /// Arms `script` (run by `sh -c`, after a line or the end of its input).
    pub fn arm(script: &str) -> Watchdog {
        let mut child = std::process::Command::new("sh")
            // Signals sent to the test's process group (`timeout`, Ctrl-C) must not end the watchdog
            // before the process whose end it waits for.
            .args(["-c", &format!("trap '' TERM INT HUP; read _; {script}")])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("watchdog");
        let stdin = child.stdin.take();
        Watchdog { child, stdin }
    }

    /// Ends the watchdog without running its script.
    pub fn disarm(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdin = None;
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            use std::io::Write;
            let _ = stdin.write_all(b"now\n");
            let _ = self.child.wait();
        }
    }
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Watchdog({})", self.child.id())
    }
}

/// `name` made unique across runs and processes: a tenant no earlier test used.
pub fn unique(name: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{name}-{}-{nanos}", std::process::id())
}
