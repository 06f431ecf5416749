//! annals-server: the sync server of annals. Every tenant's events live in PostgreSQL and
//! every append is decided by the annals core (`decide_batch`), as in the browser. The wire
//! protocol and the schema are in `docs/sync.md`.

pub mod auth;
pub mod commit;
pub mod config;
pub mod error;
pub mod http;
pub mod notices;
pub mod pg;
pub mod rate;
pub mod server;
pub mod wire;

pub use config::{Config, ConfigError, Limits};
pub use error::ServerError;
pub use server::{run, StartError};
