//! Reads of a tenant's log: by stream, by position, and pull pages of whole appends.

use annals::core::{Direction, Filter, Page, PositionRange, RecordedEvent, Uuid};
use tokio_postgres::{GenericClient, Row};

use super::error::DbError;
use super::tenant::{self, TenantId};
use super::types::{big, count, JsonText};
use crate::wire::json::parse_value;

/// The columns [`event_from_row`] and [`pulled_from_row`] read, in order, of `events e`.
pub const EVENT_COLUMNS: &str = "e.position, e.id, e.stream, e.version, e.type, e.data, e.metadata, e.recorded_at";

/// The event a row of [`EVENT_COLUMNS`] holds, its data and metadata parsed.
pub fn event_from_row(row: &Row) -> Result<RecordedEvent, DbError> {
    let e = pulled_from_row(row, 0)?;
    let parse = |field: &str, text: &str| {
        parse_value(text).map_err(|err| DbError::Corrupt(format!("event {}: {field}: {err}", e.id)))
    };
    Ok(RecordedEvent {
        id: e.id,
        stream: e.stream.to_owned(),
        event_type: e.event_type.to_owned(),
        version: e.version,
        position: e.position,
        data: parse("data", e.data)?,
        metadata: parse("metadata", e.metadata)?,
        recorded_at: e.recorded_at,
        server_position: None,
    })
}

/// A stored event as a pull serves it: data and metadata as the JSON text stored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PulledEvent<'a> {
    /// Its id.
    pub id: Uuid,
    /// Its stream.
    pub stream: &'a str,
    /// Its type.
    pub event_type: &'a str,
    /// Its version in its stream.
    pub version: u64,
    /// Its server position.
    pub position: u64,
    /// Its data, as JSON text.
    pub data: &'a str,
    /// Its metadata, as JSON text.
    pub metadata: &'a str,
    /// The client's time of the append, in milliseconds since the epoch.
    pub recorded_at: f64,
}

/// The event in the columns of [`EVENT_COLUMNS`] starting at column `at`.
pub fn pulled_from_row(row: &Row, at: usize) -> Result<PulledEvent<'_>, DbError> {
    let get = |e: tokio_postgres::Error| DbError::Corrupt(format!("an event row: {e}"));
    Ok(PulledEvent {
        position: count(row.try_get(at).map_err(get)?),
        id: row.try_get(at + 1).map_err(get)?,
        stream: row.try_get(at + 2).map_err(get)?,
        version: count(row.try_get(at + 3).map_err(get)?),
        event_type: row.try_get(at + 4).map_err(get)?,
        data: row.try_get::<_, JsonText>(at + 5).map_err(get)?.0,
        metadata: row.try_get::<_, JsonText>(at + 6).map_err(get)?.0,
        recorded_at: row.try_get(at + 7).map_err(get)?,
    })
}

/// A pull page: the tenant's head and the rows of the events after the cursor.
#[derive(Debug)]
pub struct PullPage {
    /// The tenant's head, in the snapshot the events were read in.
    pub head: u64,
    rows: Vec<Row>,
}

impl PullPage {
    /// The events, in position order.
    pub fn events(&self) -> impl Iterator<Item = Result<PulledEvent<'_>, DbError>> {
        self.rows
            .iter()
            .filter(|row| row.get::<_, Option<i64>>(1).is_some())
            .map(|row| pulled_from_row(row, 1))
    }

    /// How many events the page holds.
    pub fn len(&self) -> usize {
        self.events().count()
    }

    /// Whether the page holds no event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The events at positions `after + 1, after + 2, …` in order: at most `limit`, unless the
/// append holding the `limit`-th is longer, in which case the page ends at that append's
/// last event; and the head, read in one statement (one snapshot).
pub async fn pull(client: &deadpool_postgres::Client, tenant: TenantId, after: u64, limit: u64) -> Result<PullPage, DbError> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT t.head, e.* FROM tenants t
             LEFT JOIN LATERAL (
                 SELECT {EVENT_COLUMNS} FROM events e
                 WHERE e.tenant = t.id AND e.position > $2 AND e.position <= (
                     SELECT b.append_end FROM events b
                     WHERE b.tenant = t.id AND b.position = least($2 + $3, t.head))
                 ORDER BY e.position
             ) e ON true
             WHERE t.id = $1"
        ))
        .await?;
    let rows = client.query(&statement, &[&tenant.0, &big(after), &big(limit)]).await?;
    let head = rows.first().map_or(0, |r| count(r.get(0)));
    Ok(PullPage { head, rows })
}

/// Up to `limit` events of `stream` from version `from` in `direction` (see
/// `Backend::read_stream`).
pub async fn read_stream(
    client: &deadpool_postgres::Client,
    tenant: TenantId,
    stream: &str,
    from: u64,
    direction: Direction,
    limit: usize,
) -> Result<Vec<RecordedEvent>, DbError> {
    let sql = match direction {
        Direction::Forward => format!(
            "SELECT {EVENT_COLUMNS} FROM events e WHERE tenant = $1 AND stream = $2 AND version >= $3
             ORDER BY version LIMIT $4"
        ),
        Direction::Backward => format!(
            "SELECT {EVENT_COLUMNS} FROM events e WHERE tenant = $1 AND stream = $2 AND version <= $3
             ORDER BY version DESC LIMIT $4"
        ),
    };
    let statement = client.prepare_cached(&sql).await?;
    let rows = client
        .query(&statement, &[&tenant.0, &stream, &big(from), &big(limit as u64)])
        .await?;
    rows.iter().map(event_from_row).collect()
}

/// Examines at most `limit` positions of `range` in `direction` and returns the events among
/// them that match `filter` (see `Backend::read_all`). Positions are gapless up to the head,
/// so the examined window is known from the head alone, and only matching rows are fetched.
pub async fn read_all(
    client: &deadpool_postgres::Client,
    tenant: TenantId,
    range: PositionRange,
    direction: Direction,
    limit: usize,
    filter: &Filter,
) -> Result<Page, DbError> {
    let head = tenant::head(&***client, tenant).await?;
    let first = range.after.saturating_add(1);
    let last = range.before.saturating_sub(1).min(head);
    let mut page = Page::default();
    if first > last || limit == 0 {
        page.exhausted = first > last;
        return Ok(page);
    }
    let span = (limit as u64).min(last - first + 1);
    let (low, high) = match direction {
        Direction::Forward => (first, first + span - 1),
        Direction::Backward => (last + 1 - span, last),
    };
    page.last_examined = Some(match direction {
        Direction::Forward => high,
        Direction::Backward => low,
    });
    page.exhausted = span == last - first + 1;
    let order = match direction {
        Direction::Forward => "ASC",
        Direction::Backward => "DESC",
    };
    let statement = client
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events e
             WHERE tenant = $1 AND position BETWEEN $2 AND $3
               AND ($4::text[] IS NULL OR type = ANY($4))
               AND ($5::text IS NULL OR starts_with(stream, $5))
               AND ($6::text[] IS NULL OR stream = ANY($6))
             ORDER BY position {order}"
        ))
        .await?;
    let rows = client
        .query(
            &statement,
            &[&tenant.0, &big(low), &big(high), &filter.types, &filter.stream_prefix, &filter.streams],
        )
        .await?;
    page.events = rows.iter().map(event_from_row).collect::<Result<_, _>>()?;
    Ok(page)
}

/// The stream's last version, 0 when it has none.
pub async fn stream_version(client: &impl GenericClient, tenant: TenantId, stream: &str) -> Result<u64, DbError> {
    let row = client
        .query_opt("SELECT version FROM streams WHERE tenant = $1 AND stream = $2", &[&tenant.0, &stream])
        .await?;
    Ok(row.map_or(0, |r| count(r.get(0))))
}
