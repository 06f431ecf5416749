//! Every way a request can fail, and the one place each becomes an HTTP status and a JSON
//! body `{ "error": <stable code>, "message": …, … }` (`docs/sync.md`).

use std::fmt;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::config::{Limits, RateLimit};
use crate::pg::DbError;
use crate::wire::DecodeError;

/// Why a request failed. A failed request wrote nothing.
#[derive(Debug)]
pub enum ServerError {
    /// No bearer token, or none the server knows.
    Unauthorized,
    /// Malformed or invalid input; `field` says where.
    Invalid {
        /// The part at fault (`appends[2].events[0].type`, `after`, `body`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// Over the limits.
    TooLarge {
        /// What is over.
        message: String,
        /// The limits, for the client to adopt.
        limits: Limits,
    },
    /// The token made more requests than its rate limit allows.
    RateLimited {
        /// How long until the token may make a request again.
        retry_after: Duration,
        /// The limit.
        limit: RateLimit,
    },
    /// The body did not arrive in time.
    RequestTimeout {
        /// The time it had.
        after: Duration,
    },
    /// A push whose body is not declared `application/json`.
    UnsupportedMediaType,
    /// No such route.
    NotFound,
    /// The route exists, not with this method.
    MethodNotAllowed,
    /// The database failed or is unreachable.
    Database(DbError),
    /// The database cannot be reached (a health check).
    Unavailable(String),
    /// A bug: something the server should never do.
    Internal(String),
}

impl ServerError {
    /// The error for a push refused by the decoder under `limits`.
    pub fn from_decode(e: DecodeError, limits: Limits) -> Self {
        match e {
            DecodeError::Invalid { field, message } => ServerError::Invalid { field, message },
            DecodeError::TooLarge { message } => ServerError::TooLarge { message, limits },
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ServerError::Unauthorized => StatusCode::UNAUTHORIZED,
            ServerError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ServerError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ServerError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ServerError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ServerError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ServerError::NotFound => StatusCode::NOT_FOUND,
            ServerError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ServerError::Database(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::Database(_) | ServerError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable `error` code of the body.
    pub fn code(&self) -> &'static str {
        match self {
            ServerError::Unauthorized => "unauthorized",
            ServerError::Invalid { .. } => "invalid_request",
            ServerError::TooLarge { .. } => "too_large",
            ServerError::RateLimited { .. } => "rate_limited",
            ServerError::RequestTimeout { .. } => "request_timeout",
            ServerError::UnsupportedMediaType => "unsupported_media_type",
            ServerError::NotFound => "not_found",
            ServerError::MethodNotAllowed => "method_not_allowed",
            ServerError::Database(_) | ServerError::Unavailable(_) | ServerError::Internal(_) => "server",
        }
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Unauthorized => f.write_str("a bearer token the server knows is required"),
            ServerError::Invalid { field, message } => write!(f, "{field}: {message}"),
            ServerError::TooLarge { message, .. } => f.write_str(message),
            ServerError::RateLimited { retry_after, limit } => write!(
                f,
                "over the rate limit of this token ({} per second, bursts of {}); retry in {} ms",
                limit.per_second,
                limit.burst,
                retry_after.as_millis()
            ),
            ServerError::RequestTimeout { after } => {
                write!(f, "the body did not arrive within {} ms", after.as_millis())
            }
            ServerError::UnsupportedMediaType => f.write_str("a push is sent as Content-Type: application/json"),
            ServerError::NotFound => f.write_str("no such route"),
            ServerError::MethodNotAllowed => f.write_str("the route does not take this method"),
            ServerError::Database(e) if e.is_unavailable() => write!(f, "the database is unavailable: {e}"),
            ServerError::Database(e) => write!(f, "the database failed: {e}"),
            ServerError::Unavailable(cause) => write!(f, "the database is unavailable: {cause}"),
            ServerError::Internal(what) => write!(f, "internal error: {what}"),
        }
    }
}

impl std::error::Error for ServerError {}

impl From<DbError> for ServerError {
    fn from(e: DbError) -> Self {
        ServerError::Database(e)
    }
}

impl From<deadpool_postgres::PoolError> for ServerError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        ServerError::Database(e.into())
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            eprintln!("annals-server: {self}");
        }
        let mut body = json!({ "error": self.code(), "message": self.to_string() });
        match &self {
            ServerError::Invalid { field, .. } => body["field"] = json!(field),
            ServerError::TooLarge { limits, .. } => body["limits"] = json!(limits),
            ServerError::RateLimited { retry_after, .. } => {
                body["retryAfterMs"] = json!(retry_after.as_millis() as u64);
                // Whole seconds, rounded up: waiting this long always finds a request free.
                let seconds = retry_after.as_millis().div_ceil(1000).max(1);
                return (status, [(axum::http::header::RETRY_AFTER, seconds.to_string())], axum::Json(body)).into_response();
            }
            ServerError::RequestTimeout { .. } => {
                // The rest of the body is not waited for: the connection ends here.
                return (status, [(axum::http::header::CONNECTION, "close")], axum::Json(body)).into_response();
            }
            _ => {}
        }
        (status, axum::Json(body)).into_response()
    }
}
