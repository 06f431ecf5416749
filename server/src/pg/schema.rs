//! The schema, as versioned migrations applied at start.
//!
//! All pending migrations run in one transaction holding a transaction-level advisory lock, so
//! two processes starting together apply each migration once, and a failed migration leaves
//! the schema as it was. Each applied migration is recorded in `annals_migrations`.

use tokio_postgres::Client;

use super::error::DbError;

/// The advisory lock key migrations hold ("annals" in ASCII).
const MIGRATION_LOCK: i64 = 0x616e_6e61_6c73;

/// The migrations, in order: `(version, name, SQL)`. Never edit one that shipped: add another.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[(1, "initial schema", INITIAL)];

const INITIAL: &str = "
-- One row per tenant: its head (last position, 0 when empty). Every append transaction
-- locks this row first and moves it before committing, so a tenant's appends commit one at a
-- time and positions are gapless in commit order.
CREATE TABLE tenants (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    head bigint NOT NULL DEFAULT 0
);

-- One row per stream: its last version.
CREATE TABLE streams (
    tenant bigint NOT NULL,
    stream text NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (tenant, stream)
);

-- The log. `data` and `metadata` are json, not jsonb: jsonb reorders keys, and a retried
-- push is compared key by key. `append_end` is the position of the last event of the
-- event's append: a pull page ends there, never inside an append. `recorded_at` is the
-- client's clock; `committed_at` the server's.
CREATE TABLE events (
    tenant bigint NOT NULL,
    position bigint NOT NULL,
    id uuid NOT NULL,
    stream text NOT NULL,
    version bigint NOT NULL,
    type text NOT NULL,
    data json NOT NULL,
    metadata json NOT NULL,
    recorded_at double precision NOT NULL,
    append_end bigint NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, position),
    UNIQUE (tenant, stream, version),
    UNIQUE (tenant, id)
);

CREATE TABLE snapshots (
    tenant bigint NOT NULL,
    stream text NOT NULL,
    version bigint NOT NULL,
    state json NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, stream)
);

CREATE TABLE subscription_checkpoints (
    tenant bigint NOT NULL,
    name text NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (tenant, name)
);
";

/// Applies the migrations the database lacks; returns the schema version now in place.
/// Refuses a database whose schema is newer than this server knows.
pub async fn migrate(client: &mut Client) -> Result<i32, DbError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS annals_migrations (
            version integer PRIMARY KEY,
            name text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await?;
    let current: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM annals_migrations", &[])
        .await?
        .get(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > known {
        return Err(DbError::Schema(format!(
            "the database's schema is at version {current}, newer than this server's {known}: run a newer annals-server"
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO annals_migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(known)
}
