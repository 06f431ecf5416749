//! Appends: one transaction per batch, decided by the core's `decide_batch` over state
//! loaded in bulk, and written in bulk.
//!
//! The round trips are the same whatever the batch's size: lock the tenant's head row; load
//! the versions of the streams the batch touches and the stored events holding any of its ids
//! (together); decide in memory; insert the events, move the streams and the head, and notify
//! (together); commit.

use annals::core::{decide_batch, AppendRequest, Chaining, LoadedState, Outcome, RecordedEvent, Uuid};
use deadpool_postgres::Client;
use tokio_postgres::types::ToSql;

use super::error::DbError;
use super::read::{event_from_row, EVENT_COLUMNS};
use super::tenant::TenantId;
use super::types::{big, count, JsonText};
use crate::wire::json::to_json_text;

/// The channel every commit is announced on, with `"<tenant id> <head>"`.
pub const HEAD_CHANNEL: &str = "annals_heads";

/// What a batch did.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchResult {
    /// One per request, in order.
    pub outcomes: Vec<Outcome>,
    /// The tenant's head after the batch.
    pub head: u64,
    /// The versions, after the batch, of the streams it touched (a stream absent here has
    /// no event).
    pub versions: Vec<(String, u64)>,
}

impl BatchResult {
    /// The version of `stream` after the batch, when the batch touched it.
    pub fn stream_version(&self, stream: &str) -> u64 {
        self.versions.iter().find(|(s, _)| s == stream).map_or(0, |(_, v)| *v)
    }
}

/// Decides `requests` in order in one transaction on `tenant`'s log, with the core's rules,
/// and commits what they write. `Err` means nothing of any request was written.
pub async fn append_batch(
    client: &mut Client,
    tenant: TenantId,
    requests: &[AppendRequest],
    chaining: Chaining,
) -> Result<BatchResult, DbError> {
    let mut results = append_batches(client, tenant, &[requests], chaining).await?;
    Ok(results.remove(0))
}

/// Decides several batches in one transaction, in order, each against the state the ones
/// before it left (as if committed one after the other), each with its own `chaining`
/// (a refusal skips later appends of its stream within its own batch only); commits what they
/// write. One result per batch; `head` and `versions` are those after the whole transaction.
/// `Err` means nothing of any batch was written.
pub async fn append_batches(
    client: &mut Client,
    tenant: TenantId,
    batches: &[&[AppendRequest]],
    chaining: Chaining,
) -> Result<Vec<BatchResult>, DbError> {
    let tx = client.transaction().await?;
    let lock = tx.prepare_cached("SELECT head FROM tenants WHERE id = $1 FOR UPDATE").await?;
    let head = match tx.query_opt(&lock, &[&tenant.0]).await? {
        Some(row) => count(row.get(0)),
        None => return Err(DbError::Corrupt(format!("tenant {} has no head row", tenant.0))),
    };

    let requests = || batches.iter().flat_map(|b| b.iter());
    let mut streams: Vec<&str> = Vec::new();
    for request in requests() {
        if !streams.contains(&request.stream.as_str()) {
            streams.push(&request.stream);
        }
    }
    // Ids the store generated (UUIDv7) are new by construction: the unique index guards them.
    let ids: Vec<Uuid> = requests()
        .flat_map(|r| &r.events)
        .filter(|e| !e.id_generated)
        .map(|e| e.id)
        .collect();
    // Both driven by the batch's keys, one index lookup per key, whatever plan the prepared
    // statement settles on: `… = ANY($2)`, or a plain join, can get a generic plan that scans
    // every row of the tenant (measured: a push's time grew with the tenant's history).
    let versions_sql = tx
        .prepare_cached(
            "SELECT wanted.stream, (SELECT s.version FROM streams s WHERE s.tenant = $1 AND s.stream = wanted.stream)
             FROM unnest($2::text[]) AS wanted(stream)",
        )
        .await?;
    let events_sql = tx
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM unnest($2::uuid[]) AS wanted(id)
             JOIN events e ON e.tenant = $1 AND e.id = wanted.id"
        ))
        .await?;
    let versions_params: [&(dyn ToSql + Sync); 2] = [&tenant.0, &streams];
    let events_params: [&(dyn ToSql + Sync); 2] = [&tenant.0, &ids];
    let (version_rows, event_rows) = tokio::try_join!(tx.query(&versions_sql, &versions_params), async {
        if ids.is_empty() {
            Ok(Vec::new())
        } else {
            tx.query(&events_sql, &events_params).await
        }
    })?;
    let mut state = LoadedState {
        head,
        versions: version_rows
            .iter()
            .filter_map(|r| Some((r.get::<_, String>(0), count(r.get::<_, Option<i64>>(1)?))))
            .collect(),
        events: event_rows.iter().map(|row| event_from_row(row).map(|e| (e.id, e))).collect::<Result<_, _>>()?,
        written: Vec::new(),
    };

    let outcomes: Vec<Vec<Outcome>> = batches.iter().map(|batch| decide_batch(&mut state, batch, chaining)).collect();

    if !state.written.is_empty() {
        write(&tx, tenant, outcomes.iter().flatten(), &state).await?;
    }
    tx.commit().await?;
    Ok(outcomes
        .into_iter()
        .map(|outcomes| BatchResult {
            outcomes,
            head: state.head,
            versions: state.versions.iter().map(|(s, v)| (s.clone(), *v)).collect(),
        })
        .collect())
}

/// Inserts what the batch wrote, moves the versions of its streams and the tenant's head,
/// and announces the head: statements sent together, in the open transaction.
async fn write(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: TenantId,
    outcomes: impl Iterator<Item = &Outcome>,
    state: &LoadedState,
) -> Result<(), DbError> {
    let written: &[RecordedEvent] = &state.written;
    // The last position of each written append, in order: an event's append ends at the
    // first of them at or after its position.
    let ends: Vec<u64> = outcomes
        .filter_map(|o| match o {
            Outcome::Written(r) => Some(r.position),
            _ => None,
        })
        .collect();
    let mut append_end = Vec::with_capacity(written.len());
    let mut next_end = ends.iter().copied().peekable();
    for event in written {
        while next_end.peek().is_some_and(|&end| end < event.position) {
            next_end.next();
        }
        append_end.push(big(next_end.peek().copied().unwrap_or(event.position)));
    }
    let positions: Vec<i64> = written.iter().map(|e| big(e.position)).collect();
    let ids: Vec<Uuid> = written.iter().map(|e| e.id).collect();
    let streams: Vec<&str> = written.iter().map(|e| e.stream.as_str()).collect();
    let versions: Vec<i64> = written.iter().map(|e| big(e.version)).collect();
    let types: Vec<&str> = written.iter().map(|e| e.event_type.as_str()).collect();
    let data_text: Vec<String> = written.iter().map(|e| to_json_text(&e.data)).collect();
    let metadata_text: Vec<String> = written.iter().map(|e| to_json_text(&e.metadata)).collect();
    let data: Vec<JsonText> = data_text.iter().map(|t| JsonText(t)).collect();
    let metadata: Vec<JsonText> = metadata_text.iter().map(|t| JsonText(t)).collect();
    let recorded_at: Vec<f64> = written.iter().map(|e| e.recorded_at).collect();

    // The final version of each stream written.
    let mut moved: Vec<(&str, i64)> = Vec::new();
    for event in written {
        match moved.iter_mut().find(|(s, _)| *s == event.stream) {
            Some((_, v)) => *v = big(event.version),
            None => moved.push((&event.stream, big(event.version))),
        }
    }
    let moved_streams: Vec<&str> = moved.iter().map(|(s, _)| *s).collect();
    let moved_versions: Vec<i64> = moved.iter().map(|(_, v)| *v).collect();

    let insert = tx
        .prepare_cached(
            "INSERT INTO events (tenant, position, id, stream, version, type, data, metadata, recorded_at, append_end)
             SELECT $1, * FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::bigint[], $6::text[],
                                      $7::json[], $8::json[], $9::float8[], $10::bigint[])",
        )
        .await?;
    let upsert = tx
        .prepare_cached(
            "INSERT INTO streams (tenant, stream, version) SELECT $1, * FROM unnest($2::text[], $3::bigint[])
             ON CONFLICT (tenant, stream) DO UPDATE SET version = excluded.version",
        )
        .await?;
    let advance = tx
        .prepare_cached(&format!(
            "WITH moved AS (UPDATE tenants SET head = $2 WHERE id = $1 RETURNING id, head)
             SELECT pg_notify('{HEAD_CHANNEL}', id::text || ' ' || head::text) FROM moved"
        ))
        .await?;
    let head = big(state.head);
    let insert_params: [&(dyn ToSql + Sync); 10] =
        [&tenant.0, &positions, &ids, &streams, &versions, &types, &data, &metadata, &recorded_at, &append_end];
    let upsert_params: [&(dyn ToSql + Sync); 3] = [&tenant.0, &moved_streams, &moved_versions];
    let advance_params: [&(dyn ToSql + Sync); 2] = [&tenant.0, &head];
    tokio::try_join!(
        tx.execute(&insert, &insert_params),
        tx.execute(&upsert, &upsert_params),
        tx.execute(&advance, &advance_params),
    )?;
    Ok(())
}
