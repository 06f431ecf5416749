//! The HTTP routes (`docs/sync.md`): thin, each a decode, one database call and an encode.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use annals::core::MAX_SAFE_INTEGER;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use deadpool_postgres::Pool;
use futures_util::Stream;
use http_body_util::BodyExt;
use tokio::sync::watch;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::{Authed, Tokens};
use crate::commit::Committer;
use crate::config::Limits;
use crate::error::ServerError;
use crate::notices::Notices;
use crate::pg;
use crate::rate::RateLimiter;
use crate::wire::{decode_push, encode};

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct App(Arc<AppInner>);

/// The parts of [`App`].
#[derive(Debug)]
pub struct AppInner {
    /// Connections to PostgreSQL.
    pub pool: Pool,
    /// Tokens → tenants.
    pub tokens: Tokens,
    /// Push limits.
    pub limits: Limits,
    /// Per-token rate limits (`None`: off).
    pub rate_limiter: Option<RateLimiter>,
    /// How long a push's body may take to arrive (its headers: the same, see `server::run`).
    pub read_timeout: Duration,
    /// Head notices.
    pub notices: Notices,
    /// Pushes, committed in groups per tenant.
    pub committer: Committer,
    /// Turns true when the server stops: open notice streams end.
    pub stopping: watch::Receiver<bool>,
}

impl std::ops::Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    /// The state of the routes.
    pub fn new(inner: AppInner) -> App {
        App(Arc::new(inner))
    }
}

/// Pull pages: default and largest size, in events.
pub const PULL_LIMIT: (u64, u64) = (1_000, 10_000);

/// How often an idle notice stream gets a comment line.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The routes, with CORS for `allow_origins` (none: no CORS headers, browsers on other
/// origins are refused).
pub fn router(app: App, allow_origins: &[String]) -> Router {
    let router = Router::new()
        .route("/v1/push", post(push))
        .route("/v1/pull", get(pull))
        .route("/v1/notices", get(notices))
        .route("/v1/health", get(health))
        .fallback(|| async { ServerError::NotFound })
        .method_not_allowed_fallback(|| async { ServerError::MethodNotAllowed })
        .with_state(app);
    if allow_origins.is_empty() {
        return router;
    }
    let origins: Vec<HeaderValue> = allow_origins.iter().filter_map(|o| o.parse().ok()).collect();
    router.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(Duration::from_secs(600)),
    )
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

async fn push(State(app): State<App>, Authed(tenant): Authed, headers: HeaderMap, body: Body) -> Result<Response, ServerError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ServerError::UnsupportedMediaType);
    }
    let bytes = read_body(body, &headers, app.limits, app.read_timeout).await?;
    let requests = decode_push(&bytes, &app.limits).map_err(|e| ServerError::from_decode(e, app.limits))?;
    let requests = Arc::new(requests);
    let result = app.committer.push(tenant.id, requests.clone()).await.map_err(pg::DbError::Shared)?;
    app.notices.advance(tenant.id, result.head);
    let reply = encode::push_reply(&result, &requests, app.limits).map_err(ServerError::Internal)?;
    Ok(json(StatusCode::OK, reply))
}

/// The body, refused with `413` past `limits.max_body_bytes`, and with `408` when it has not
/// all arrived within `timeout` (a client that sends headers and then stalls or trickles holds
/// no connection for long; no PostgreSQL connection is taken before the body is in).
///
/// A refused body is still read and dropped, up to [`DRAIN_BYTES`] and within what is left of
/// `timeout`: a connection closed while its client is still sending is reset, and the client
/// would see a broken connection instead of the `413` and the limits it needs. Past that bound
/// the connection is closed.
async fn read_body(mut body: Body, headers: &HeaderMap, limits: Limits, timeout: Duration) -> Result<bytes::Bytes, ServerError> {
    let max = limits.max_body_bytes;
    let too_large = || ServerError::TooLarge {
        message: crate::wire::decode::body_too_large(max),
        limits,
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(declared) = declared.filter(|&n| n > max as u64) {
        if declared <= DRAIN_BYTES as u64 {
            drain(body, DRAIN_BYTES, deadline).await;
        }
        return Err(too_large());
    }
    let mut bytes = bytes::BytesMut::new();
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(ServerError::RequestTimeout { after: timeout }),
            Ok(None) => return Ok(bytes.freeze()),
            Ok(Some(Err(e))) => return Err(ServerError::Invalid { field: "body".into(), message: format!("could not be read: {e}") }),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else { continue };
        if bytes.len() + data.len() > max {
            drain(body, DRAIN_BYTES.saturating_sub(bytes.len() + data.len()), deadline).await;
            return Err(too_large());
        }
        bytes.extend_from_slice(&data);
    }
}

/// How much of a refused body the server reads and drops so that its client hears the answer.
const DRAIN_BYTES: usize = 16 << 20;

/// Reads and drops up to `budget` bytes of `body`, until `deadline`.
async fn drain(mut body: Body, mut budget: usize, deadline: tokio::time::Instant) {
    while budget > 0 {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => budget = budget.saturating_sub(frame.data_ref().map_or(0, |d| d.len())),
            _ => return,
        }
    }
}

/// `after` and `limit` of a pull, checked.
fn pull_query(query: Option<&str>) -> Result<(u64, u64), ServerError> {
    let mut after = None;
    let mut limit = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let invalid = |message: String| ServerError::Invalid { field: key.to_owned(), message };
        let slot = match key {
            "after" => &mut after,
            "limit" => &mut limit,
            _ => return Err(invalid("is not a parameter of a pull (after, limit)".into())),
        };
        if slot.is_some() {
            return Err(invalid("is given twice".into()));
        }
        // Decimal digits only (`u64::from_str` would take a leading `+`).
        let n = Some(value)
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&n| n as f64 <= MAX_SAFE_INTEGER)
            .ok_or_else(|| invalid(format!("{value:?} is not an integer from 0 to 2^53 - 1")))?;
        *slot = Some(n);
    }
    let limit = limit.unwrap_or(PULL_LIMIT.0);
    if !(1..=PULL_LIMIT.1).contains(&limit) {
        return Err(ServerError::Invalid {
            field: "limit".into(),
            message: format!("is {limit}; a pull takes 1 to {} events", PULL_LIMIT.1),
        });
    }
    Ok((after.unwrap_or(0), limit))
}

async fn pull(State(app): State<App>, Authed(tenant): Authed, RawQuery(query): RawQuery) -> Result<Response, ServerError> {
    let (after, limit) = pull_query(query.as_deref())?;
    let client = app.pool.get().await?;
    let page = pg::pull(&client, tenant.id, after, limit).await?;
    drop(client);
    let body = encode::pull_page(page.events(), page.head, app.limits)?;
    Ok(json(StatusCode::OK, body))
}

async fn notices(
    State(app): State<App>,
    Authed(tenant): Authed,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ServerError> {
    // Subscribe first, then read the head: a commit in between is announced either way.
    let receiver = app.notices.subscribe(tenant.id);
    let client = app.pool.get().await?;
    let head = pg::head(&**client, tenant.id).await?;
    drop(client);
    app.notices.advance(tenant.id, head);
    let stopping = app.stopping.clone();
    let stream = futures_util::stream::unfold((receiver, stopping, true), |(mut receiver, mut stopping, first)| async move {
        if !first {
            tokio::select! {
                changed = receiver.changed() => changed.ok()?,
                _ = stopping.wait_for(|s| *s) => return None,
            }
        }
        let head = *receiver.borrow_and_update();
        let event = Event::default().event("head").id(head.to_string()).data(format!("{{\"head\":{head}}}"));
        Some((Ok(event), (receiver, stopping, false)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// How long a health check waits for PostgreSQL.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

async fn health(State(app): State<App>) -> Response {
    let check = async {
        let client = app.pool.get().await.map_err(|e| pg::DbError::from(e).to_string())?;
        client.simple_query("SELECT 1").await.map_err(|e| pg::DbError::from(e).to_string())?;
        Ok::<_, String>(())
    };
    match tokio::time::timeout(HEALTH_TIMEOUT, check).await {
        Ok(Ok(())) => json(StatusCode::OK, br#"{"ok":true}"#.to_vec()),
        Ok(Err(cause)) => ServerError::Unavailable(cause).into_response(),
        Err(_) => ServerError::Unavailable(format!("no answer in {} s", HEALTH_TIMEOUT.as_secs())).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_queries_are_checked() {
        assert_eq!(pull_query(None).unwrap(), (0, 1_000));
        assert_eq!(pull_query(Some("after=12&limit=5")).unwrap(), (12, 5));
        for (query, field) in [
            ("after=-1", "after"),
            ("after=+1", "after"),
            ("limit=+5", "limit"),
            ("after=", "after"),
            ("after=x", "after"),
            ("after=9007199254740992", "after"),
            ("limit=0", "limit"),
            ("limit=10001", "limit"),
            ("after=1&after=2", "after"),
            ("tenant=b", "tenant"),
        ] {
            match pull_query(Some(query)) {
                Err(ServerError::Invalid { field: f, .. }) => assert_eq!(f, field, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
        }
    }
}
