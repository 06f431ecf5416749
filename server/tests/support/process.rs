//! `annals-server` as a child process, as it is deployed: started with arguments, ready once
//! it prints its "listening" line, killed on drop or when the test process ends.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};

use super::Watchdog;

/// A running server.
#[derive(Debug)]
pub struct ServerProcess {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    watchdog: Option<Watchdog>,
}

impl ServerProcess {
    /// Starts `annals-server --listen 127.0.0.1:0 --database-url DATABASE` with `tokens`
    /// (`(secret, tenant)`) and `args`, and waits for it to listen. Without a `--rate-limit`
    /// in `args`, the rate limit is off: tests and benchmarks that push and poll as fast as
    /// they can measure sync, not the limiter (its tests set one).
    pub fn start(database: &str, tokens: &[(&str, &str)], args: &[&str]) -> ServerProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_annals-server"));
        command.args(["--listen", "127.0.0.1:0", "--database-url", database]);
        for (secret, tenant) in tokens {
            command.arg("--token").arg(format!("{secret}={tenant}"));
        }
        if !args.iter().any(|a| a.starts_with("--rate-limit")) {
            command.args(["--rate-limit", "off"]);
        }
        command
            .args(args)
            .env_remove("ANNALS_TOKENS")
            .env_remove("DATABASE_URL")
            .env_remove("ANNALS_ALLOW_ORIGINS")
            .env_remove("ANNALS_RATE_LIMIT");
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawn annals-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = match lines.next() {
            Some(Ok(line)) => line,
            other => {
                let status = child.wait();
                panic!("annals-server printed no listening line ({other:?}); exit: {status:?}");
            }
        };
        let url = line
            .strip_prefix("annals-server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_string();
        // Keep reading stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        // Killed with this process, however it ends.
        let watchdog = Watchdog::arm(&format!("kill -9 {} 2>/dev/null", child.id()));
        ServerProcess { url, child, watchdog: Some(watchdog) }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(mut self) -> ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        self.child.wait().expect("wait")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Gone: the watchdog must not kill whatever gets its pid next.
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.disarm();
        }
    }
}
