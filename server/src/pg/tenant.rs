//! Tenants: each a row holding its head, created on first use.

use tokio_postgres::GenericClient;

use super::error::DbError;
use super::types::count;

/// A tenant's row id: what every other table is keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(pub i64);

/// The id of the tenant named `name`, creating its row (head 0) when there is none.
pub async fn ensure_tenant(client: &impl GenericClient, name: &str) -> Result<TenantId, DbError> {
    client
        .execute("INSERT INTO tenants (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", &[&name])
        .await?;
    let row = client.query_one("SELECT id FROM tenants WHERE name = $1", &[&name]).await?;
    Ok(TenantId(row.get(0)))
}

/// The tenant's head: its last position, 0 when it has no event.
pub async fn head(client: &impl GenericClient, tenant: TenantId) -> Result<u64, DbError> {
    let row = client.query_opt("SELECT head FROM tenants WHERE id = $1", &[&tenant.0]).await?;
    Ok(row.map_or(0, |r| count(r.get(0))))
}
