//! `annals-server`: see `annals_server::config::USAGE`. Exit codes: 0 after a graceful stop,
//! 1 when it cannot start (database, address), 2 on bad arguments.

use std::process::ExitCode;

use annals_server::{Config, ConfigError};

fn main() -> ExitCode {
    let config = match Config::parse(std::env::args().skip(1), |key| std::env::var(key).ok()) {
        Ok(config) => config,
        Err(ConfigError::Help) => {
            println!("{}", annals_server::config::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("annals-server: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Event data nests up to 128 levels; decoding it recurses.
        .thread_stack_size(8 << 20)
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("annals-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(annals_server::run(config, stop_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("annals-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return interrupt.await.unwrap_or(()),
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
