//! The core's [`Backend`] over PostgreSQL, for one tenant: the same rules as every other
//! backend, proved by the conformance suite.

use annals::core::{
    check_snapshot_version, AppendRequest, AppendResult, Backend, Chaining, Direction, Error, Filter, Page,
    PositionRange, RecordedEvent, Snapshot, StorageError, Value,
};
use deadpool_postgres::Pool;

use super::append::append_batch;
use super::error::DbError;
use super::read;
use super::tenant::{self, ensure_tenant, TenantId};
use super::types::{big, count, JsonText};
use crate::wire::json::{parse_value, to_json_text};

/// One tenant's store in PostgreSQL. Every method is one transaction (or one statement).
/// Commits made by other processes are not reported to the store (`watch` does nothing):
/// the sync server announces heads over its own channel.
#[derive(Clone, Debug)]
pub struct PgBackend {
    pool: Pool,
    tenant: TenantId,
}

impl PgBackend {
    /// The store of the tenant named `tenant`, created empty when it does not exist.
    pub async fn open(pool: Pool, tenant: &str) -> Result<PgBackend, DbError> {
        let client = pool.get().await?;
        let tenant = ensure_tenant(&**client, tenant).await?;
        drop(client);
        Ok(PgBackend { pool, tenant })
    }

    /// The tenant's id.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, DbError> {
        Ok(self.pool.get().await?)
    }
}

impl Backend for PgBackend {
    type Payload = Value;

    async fn head(&self) -> Result<u64, StorageError> {
        Ok(tenant::head(&**self.client().await?, self.tenant).await?)
    }

    async fn append(&self, requests: &[AppendRequest]) -> Result<Vec<Result<AppendResult, Error>>, StorageError> {
        let mut client = self.client().await?;
        let batch = append_batch(&mut client, self.tenant, requests, Chaining::Independent).await?;
        Ok(batch.outcomes.into_iter().map(|o| o.into_result()).collect())
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, StorageError> {
        Ok(read::stream_version(&**self.client().await?, self.tenant, stream).await?)
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        let client = self.client().await?;
        Ok(read::read_stream(&client, self.tenant, stream, from, direction, limit).await?)
    }

    async fn read_all(
        &self,
        range: PositionRange,
        direction: Direction,
        limit: usize,
        filter: &Filter,
    ) -> Result<Page, StorageError> {
        let client = self.client().await?;
        Ok(read::read_all(&client, self.tenant, range, direction, limit, filter).await?)
    }

    async fn checkpoint(&self, name: &str) -> Result<Option<u64>, StorageError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT position FROM subscription_checkpoints WHERE tenant = $1 AND name = $2",
                &[&self.tenant.0, &name],
            )
            .await
            .map_err(DbError::from)?;
        Ok(row.map(|r| count(r.get(0))))
    }

    async fn set_checkpoint(&self, name: &str, position: u64) -> Result<(), StorageError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO subscription_checkpoints (tenant, name, position) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant, name) DO UPDATE SET position = excluded.position",
                &[&self.tenant.0, &name, &big(position)],
            )
            .await
            .map_err(DbError::from)?;
        Ok(())
    }

    async fn snapshot(&self, stream: &str) -> Result<Option<Snapshot>, StorageError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT version, state FROM snapshots WHERE tenant = $1 AND stream = $2",
                &[&self.tenant.0, &stream],
            )
            .await
            .map_err(DbError::from)?;
        let Some(row) = row else { return Ok(None) };
        let state = parse_value(row.get::<_, JsonText>(1).0)
            .map_err(|e| DbError::Corrupt(format!("snapshot of {stream:?}: {e}")))?;
        Ok(Some(Snapshot { version: count(row.get(0)), state }))
    }

    async fn save_snapshot(&self, stream: &str, snapshot: &Snapshot) -> Result<(), Error> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(DbError::from)?;
        let version = read::stream_version(&*tx, self.tenant, stream).await?;
        check_snapshot_version(snapshot, version)?;
        let state = to_json_text(&snapshot.state);
        tx.execute(
            "INSERT INTO snapshots (tenant, stream, version, state) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, stream) DO UPDATE
             SET version = excluded.version, state = excluded.state, saved_at = now()",
            &[&self.tenant.0, &stream, &big(snapshot.version), &JsonText(&state)],
        )
        .await
        .map_err(DbError::from)?;
        tx.commit().await.map_err(DbError::from)?;
        Ok(())
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        Error::Storage(e.into())
    }
}
