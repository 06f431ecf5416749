//! The conformance suite on PostgreSQL: every rule of the store's contract holds for the
//! server's backend. Each case gets its own tenant in one database.

#[path = "../../tests/conformance/mod.rs"]
mod conformance;
mod support;

use annals::core::{Store, StoreConfig};
use annals_server::pg::{pool, PgBackend};

conformance::suite!(
    |name: &'static str| async move {
        let pool = pool(support::database(), 4).expect("pool");
        let backend = PgBackend::open(pool, &support::unique(name)).await.expect("tenant");
        Store::open(backend, StoreConfig::default()).await.expect("open")
    },
    runner = support::block_on
);
