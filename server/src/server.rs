//! Starting and stopping: migrations, tenants, the notice listener, the HTTP server.

use std::future::Future;
use std::sync::Arc;

use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::{Tenant, Tokens};
use crate::commit::Committer;
use crate::config::Config;
use crate::http::{router, App, AppInner};
use crate::notices::{self, Notices};
use crate::pg;
use crate::rate::RateLimiter;

/// How many PostgreSQL connections requests share.
pub const POOL_SIZE: usize = 16;

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// The database URL or pool settings are unusable.
    Config(String),
    /// The database could not be reached, migrated or prepared.
    Database(pg::DbError),
    /// The address could not be listened on.
    Listen(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Config(what) => f.write_str(what),
            StartError::Database(e) => write!(f, "the database: {e}"),
            StartError::Listen(e) => write!(f, "cannot listen: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

impl From<pg::DbError> for StartError {
    fn from(e: pg::DbError) -> Self {
        StartError::Database(e)
    }
}

/// Runs the server until `stop` completes, then stops gracefully: no new connections,
/// requests under way finish, notice streams end. Prints
/// `annals-server listening on http://ADDR` to stdout once requests are accepted.
pub async fn run(config: Config, stop: impl Future<Output = ()> + Send + 'static) -> Result<(), StartError> {
    let pool = pg::pool(&config.database_url, POOL_SIZE).map_err(StartError::Config)?;
    let mut client = pg::connect(&config.database_url).await?;
    pg::migrate(&mut client).await?;
    let mut tenants: Vec<Arc<Tenant>> = Vec::new();
    let mut grants = Vec::new();
    for grant in &config.tokens {
        let tenant = match tenants.iter().find(|t| t.name == grant.tenant) {
            Some(t) => t.clone(),
            None => {
                let id = pg::ensure_tenant(&client, &grant.tenant).await?;
                let t = Arc::new(Tenant { name: grant.tenant.clone(), id });
                tenants.push(t.clone());
                t
            }
        };
        grants.push((grant.secret.clone(), tenant));
    }
    drop(client);

    let (stopping_sender, stopping) = watch::channel(false);
    let notices = Notices::default();
    let listener_task = tokio::spawn(notices::listen(config.database_url.clone(), notices.clone(), stopping.clone()));
    let committer = Committer::new(pool.clone());
    let tokens = Tokens::new(grants);
    let rate_limiter = config.rate_limit.map(|limit| RateLimiter::new(limit, tokens.len(), std::time::Instant::now()));
    let app = App::new(AppInner {
        pool,
        tokens,
        limits: config.limits,
        rate_limiter,
        read_timeout: config.read_timeout,
        notices,
        committer,
        stopping,
    });
    let routes = router(app, &config.allow_origins);

    let listener = TcpListener::bind(config.listen).await.map_err(StartError::Listen)?;
    let address = listener.local_addr().map_err(StartError::Listen)?;
    println!("annals-server listening on http://{address}");
    let shutdown = async move {
        stop.await;
        let _ = stopping_sender.send(true);
    };
    serve(listener, routes, config.read_timeout, shutdown).await;
    let _ = listener_task.await;
    Ok(())
}

/// Serves `routes` on `listener` until `shutdown` completes, then stops accepting and waits for
/// the connections to finish. A request's headers must arrive within `read_timeout`, else the
/// connection is closed (hyper's header read timeout: `axum::serve` sets no timer for it, so a
/// client that sends half its headers, or nothing, would hold its connection for ever).
async fn serve(listener: TcpListener, routes: Router, read_timeout: Duration, shutdown: impl Future<Output = ()>) {
    // HTTP/1.1, as axum::serve spoke it with axum's default features (HTTP/2 comes through
    // a TLS-terminating proxy in front, if at all).
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(read_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a little rather than spin.
                    eprintln!("annals-server: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Replies go out at once (no Nagle delay behind the client's delayed ACK).
        let _ = tcp.set_nodelay(true);
        let connection = builder.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(routes.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A connection's own failure (a reset, a malformed request) ends only it.
            let _ = connection.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
