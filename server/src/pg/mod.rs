//! PostgreSQL: the schema, appends decided by the core, reads, and the core's `Backend`.

mod append;
mod backend;
mod error;
mod read;
mod schema;
mod tenant;
mod types;

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

pub use append::{append_batch, append_batches, BatchResult, HEAD_CHANNEL};
pub use backend::PgBackend;
pub use error::DbError;
pub use read::{pull, PullPage, PulledEvent};
pub use schema::{migrate, MIGRATIONS};
pub use tenant::{ensure_tenant, head, TenantId};

/// How long a request waits for a pooled connection, and a new connection for PostgreSQL,
/// before it fails as unavailable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A pool of at most `size` connections to `url`. Connects lazily: nothing is reached yet.
pub fn pool(url: &str, size: usize) -> Result<Pool, String> {
    let mut config = tokio_postgres::Config::from_str(url).map_err(|e| format!("the database URL: {e}"))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config.application_name("annals-server");
    let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(CONNECT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| format!("the connection pool: {e}"))
}

/// Connects one connection outside the pool (migrations, `LISTEN`): the client, its
/// connection driven on a task of its own.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, DbError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}
