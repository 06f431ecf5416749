//! A private PostgreSQL cluster for tests: `initdb` into a temporary directory, started on a
//! free port of 127.0.0.1 with its socket in that directory, stopped and deleted on drop, and
//! also when the test process ends any other way (a [`Watchdog`]: a panic, `exit`, SIGKILL).
//!
//! As root, PostgreSQL's commands run as the `postgres` user (`runuser`), as it refuses root.
//! The binaries come from `$ANNALS_PG_BIN`, else Debian's PostgreSQL 15.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use super::Watchdog;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running cluster; `url` reaches its `postgres` database as the superuser `postgres`.
#[derive(Debug)]
pub struct Cluster {
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub url: String,
    /// The port it listens on.
    pub port: u16,
    /// Its directory (data, log, socket).
    pub dir: PathBuf,
    options: String,
    _watchdog: Watchdog,
}

fn bin_dir() -> PathBuf {
    let dir = PathBuf::from(std::env::var("ANNALS_PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into()));
    assert!(
        dir.join("initdb").exists(),
        "PostgreSQL is not installed at {} (bash scripts/setup.sh installs it)",
        dir.display()
    );
    dir
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// `program` of PostgreSQL's binaries, run as `postgres` when we are root.
fn pg_command(program: &str) -> Command {
    let path = bin_dir().join(program);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

fn run(mut command: Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

impl Cluster {
    /// Creates and starts a cluster. `settings` are extra `-c name=value` server settings
    /// (tests pass `fsync=off`; a benchmark passes none).
    pub fn start(settings: &[(&str, &str)]) -> Cluster {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "annals-pg-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cluster directory");
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres").arg(&dir);
                    c
                },
                "chown",
            );
        }
        let data = dir.join("data");
        let mut initdb = pg_command("initdb");
        initdb.arg("-D").arg(&data).args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        run(initdb, "initdb");
        let mut options = vec!["-c listen_addresses=127.0.0.1".to_string(), format!("-k {}", dir.display())];
        options.extend(settings.iter().map(|(k, v)| format!("-c {k}={v}")));
        let mut port = 0;
        for attempt in 0..5 {
            port = free_port();
            if pg_ctl_start(&dir, &format!("{} -p {port}", options.join(" "))) {
                break;
            }
            // Another process may have taken the port meanwhile: try another.
            assert!(attempt < 4, "pg_ctl start failed: {}", std::fs::read_to_string(dir.join("log")).unwrap_or_default());
        }
        // Stop and delete on drop, or when this process ends.
        let watchdog = Watchdog::arm(&format!(
            "{} -D '{}' -m immediate stop >/dev/null 2>&1; rm -rf '{}'",
            stop_command(),
            data.display(),
            dir.display()
        ));
        Cluster {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            port,
            options: format!("{} -p {port}", options.join(" ")),
            dir,
            _watchdog: watchdog,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Stops the cluster (fast: connections are cut) and starts it again on the same port.
    pub fn restart(&self) {
        let mut restart = pg_command("pg_ctl");
        // With its log file: else the new server writes to our pipe, and holds it open.
        restart.arg("-D").arg(self.data()).arg("-l").arg(self.dir.join("log")).args(["-m", "fast", "-w", "restart"]);
        run(restart, "pg_ctl restart");
    }

    /// Stops PostgreSQL (fast: connections are cut); the cluster stays, for [`Cluster::resume`].
    pub fn pause(&self) {
        let mut stop = pg_command("pg_ctl");
        stop.arg("-D").arg(self.data()).args(["-m", "fast", "-w", "stop"]);
        run(stop, "pg_ctl stop");
    }

    /// Starts PostgreSQL again after [`Cluster::pause`], on the same port.
    pub fn resume(&self) {
        assert!(pg_ctl_start(&self.dir, &self.options), "pg_ctl start failed: {}", self.log());
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

fn pg_ctl_start(dir: &std::path::Path, options: &str) -> bool {
    let mut start = pg_command("pg_ctl");
    start.arg("-D").arg(dir.join("data")).arg("-l").arg(dir.join("log")).args(["-w", "-o", options, "start"]);
    start.output().map(|o| o.status.success()).unwrap_or(false)
}

fn stop_command() -> String {
    let pg_ctl = bin_dir().join("pg_ctl");
    if is_root() {
        format!("runuser -u postgres -- {}", pg_ctl.display())
    } else {
        pg_ctl.display().to_string()
    }
}
