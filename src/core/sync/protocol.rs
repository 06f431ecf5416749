//! What crosses the wire, as core types: the transport encodes and decodes them (JSON over
//! HTTP, `docs/sync.md`); nothing here knows the encoding.

use alloc::{string::String, vec::Vec};
use ::core::fmt;

use crate::core::event::{AppendResult, RecordedEvent};
use crate::core::version::ExpectedVersion;
use uuid::Uuid;

/// A pending append as the store pushes it: the events of one local append (or one rebase),
/// with the expected version its caller gave.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingAppend<P> {
    /// Its key in the outbox: the local position of its first event.
    pub key: u64,
    /// The stream appended to.
    pub stream: String,
    /// What the caller expected of the stream's version when appending here.
    pub expected: ExpectedVersion,
    /// Its events in order, as stored here (local positions, provisional versions).
    pub events: Vec<RecordedEvent<P>>,
}

impl<P> PendingAppend<P> {
    /// When the append committed here: the time recorded on its events.
    pub fn recorded_at(&self) -> f64 {
        self.events.first().map_or(0.0, |e| e.recorded_at)
    }
}

/// Why the server refused an append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConflictReason {
    /// The stream's version on the server did not meet the expected version.
    WrongExpectedVersion,
    /// An id of the append stands for another event on the server.
    DuplicateEventId,
    /// The append alone is larger than the server accepts in one push.
    TooLarge,
}

impl ConflictReason {
    /// The reason as the protocol and JavaScript spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictReason::WrongExpectedVersion => "wrong_expected_version",
            ConflictReason::DuplicateEventId => "duplicate_event_id",
            ConflictReason::TooLarge => "too_large",
        }
    }

    /// The reason spelled `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::WrongExpectedVersion, Self::DuplicateEventId, Self::TooLarge]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// A refusal of one append.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// Why.
    pub reason: ConflictReason,
    /// The stream's version on the server when it refused (`None` when not reported).
    pub actual: Option<u64>,
    /// For [`ConflictReason::DuplicateEventId`]: the id at fault.
    pub id: Option<Uuid>,
}

/// What the server did with one pushed append.
#[derive(Clone, Debug, PartialEq)]
pub enum PushOutcome {
    /// Committed now, or (`repeat`) already committed by an earlier push: the original result,
    /// positions and versions being the server's.
    Accepted {
        /// The server's result.
        result: AppendResult,
        /// The append already stood: nothing was written this time.
        repeat: bool,
    },
    /// Refused: nothing written.
    Refused(Refusal),
    /// Not decided: an earlier append of its stream in the same push was refused.
    Skipped,
}

/// The server's answer to a push: one outcome per append, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct PushReply {
    /// One per pushed append.
    pub outcomes: Vec<PushOutcome>,
    /// The tenant's head after the push.
    pub head: u64,
    /// What the server accepts in one push, when it says.
    pub limits: Option<Limits>,
}

/// A page of server events.
#[derive(Clone, Debug, PartialEq)]
pub struct PullReply<P> {
    /// Events after the requested server position, in server order, whole appends only. Each
    /// has `server_position` set and `position` 0 (it has no local position yet).
    pub events: Vec<RecordedEvent<P>>,
    /// The tenant's head in the same snapshot.
    pub head: u64,
    /// What the server accepts in one push, when it says.
    pub limits: Option<Limits>,
}

/// How much one push may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of request body.
    pub max_body_bytes: usize,
    /// Appends per push.
    pub max_appends: usize,
    /// Events per push, all appends together.
    pub max_events: usize,
    /// Bytes of one event (type, data and metadata as JSON).
    pub max_event_bytes: usize,
}

impl Limits {
    /// Each limit the smaller of the two.
    pub fn min(self, other: Limits) -> Limits {
        Limits {
            max_body_bytes: self.max_body_bytes.min(other.max_body_bytes),
            max_appends: self.max_appends.min(other.max_appends),
            max_events: self.max_events.min(other.max_events),
            max_event_bytes: self.max_event_bytes.min(other.max_event_bytes),
        }
    }
}

/// What the client packs its pushes under until a server says less (the server's defaults
/// are twice these; `docs/sync.md`).
pub const CLIENT_LIMITS: Limits = Limits {
    max_body_bytes: 4 << 20,
    max_appends: 500,
    max_events: 5_000,
    max_event_bytes: usize::MAX,
};

/// What a push carries at most until the server has said its limits: small enough for any
/// sensible server (a single append larger than this is still pushed alone).
pub const PROBE_LIMITS: Limits = Limits {
    max_body_bytes: 64 << 10,
    max_appends: 100,
    max_events: 1_000,
    max_event_bytes: usize::MAX,
};

/// How many events a pull asks for at once.
pub const PULL_LIMIT: usize = 1_000;

/// Why talking to the server failed, as `SyncError.code` says it in JavaScript.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncErrorCode {
    /// No token, or one the server does not know (401/403).
    Unauthorized,
    /// The request was over the server's limits (413).
    TooLarge,
    /// The server could not be reached, or the request did not reach it whole (408: the body
    /// came too slowly and the server closed the connection); retried like a lost connection.
    Network,
    /// The server failed (5xx).
    Server,
    /// An answer that is not the protocol (or a request the server found malformed).
    Protocol,
    /// The server is taking no more requests from this client for a while (429): the error's
    /// [`retry_after_ms`](SyncError::retry_after_ms) says how long to wait.
    RateLimited,
}

impl SyncErrorCode {
    /// The code as JavaScript spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncErrorCode::Unauthorized => "unauthorized",
            SyncErrorCode::TooLarge => "too_large",
            SyncErrorCode::Network => "network",
            SyncErrorCode::Server => "server",
            SyncErrorCode::Protocol => "protocol",
            SyncErrorCode::RateLimited => "rate_limited",
        }
    }

    /// Every code, once.
    pub const ALL: [SyncErrorCode; 6] = [
        SyncErrorCode::Unauthorized,
        SyncErrorCode::TooLarge,
        SyncErrorCode::Network,
        SyncErrorCode::Server,
        SyncErrorCode::Protocol,
        SyncErrorCode::RateLimited,
    ];

    /// The code for an HTTP status that is not a success.
    pub fn from_status(status: u16) -> Self {
        match status {
            401 | 403 => SyncErrorCode::Unauthorized,
            408 => SyncErrorCode::Network,
            413 => SyncErrorCode::TooLarge,
            429 => SyncErrorCode::RateLimited,
            500..=599 => SyncErrorCode::Server,
            _ => SyncErrorCode::Protocol,
        }
    }
}

/// A failure to sync: nothing about the store's contents was decided by it.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncError {
    /// What kind.
    pub code: SyncErrorCode,
    /// What happened, for people.
    pub message: String,
    /// With [`SyncErrorCode::TooLarge`]: the server's limits, when it said them.
    pub limits: Option<Limits>,
    /// With [`SyncErrorCode::RateLimited`]: how long, in milliseconds, the server asked the
    /// client to wait before its next request ([`retry_after_ms`]); `None` with other codes.
    pub retry_after_ms: Option<u64>,
}

impl SyncError {
    /// An error of `code`.
    pub fn new(code: SyncErrorCode, message: impl Into<String>) -> Self {
        SyncError { code, message: message.into(), limits: None, retry_after_ms: None }
    }

    /// A [`SyncErrorCode::RateLimited`] error: wait `retry_after_ms` before the next request.
    pub fn rate_limited(message: impl Into<String>, retry_after_ms: u64) -> Self {
        SyncError { retry_after_ms: Some(retry_after_ms), ..Self::new(SyncErrorCode::RateLimited, message) }
    }

    /// The wait this error asks for before the next request, in ms: a 429's (its
    /// `retry_after_ms`, else [`DEFAULT_RETRY_AFTER_MS`]); `None` for any other error.
    pub fn wait_asked(&self) -> Option<u64> {
        (self.code == SyncErrorCode::RateLimited).then(|| self.retry_after_ms.unwrap_or(DEFAULT_RETRY_AFTER_MS))
    }

    /// The error an HTTP answer that is not a success stands for: its status's code, the
    /// body's `message` (else `HTTP <status>`), the body's `limits` and, for a 429, the wait
    /// [`retry_after_ms`] reads from the body's `retryAfterMs` and the `Retry-After` header.
    pub fn from_answer(
        status: u16,
        message: Option<String>,
        limits: Option<Limits>,
        body_retry_after_ms: Option<f64>,
        retry_after_header: Option<&str>,
    ) -> Self {
        let code = SyncErrorCode::from_status(status);
        let message = message.unwrap_or_else(|| alloc::format!("HTTP {status}"));
        SyncError {
            limits,
            retry_after_ms: (code == SyncErrorCode::RateLimited)
                .then(|| retry_after_ms(body_retry_after_ms, retry_after_header)),
            ..Self::new(code, message)
        }
    }

    /// A [`SyncErrorCode::Protocol`] error.
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(SyncErrorCode::Protocol, message)
    }
}

/// How long a 429 without a usable wait makes the client wait.
pub const DEFAULT_RETRY_AFTER_MS: u64 = 1_000;
/// The longest wait a 429 can impose: a larger one (a server's mistake) is cut to this.
pub const MAX_RETRY_AFTER_MS: u64 = 3_600_000;

/// The wait a 429 asks for, in ms: the body's `retryAfterMs` (a finite number ≥ 0, rounded
/// up), else the `Retry-After` header's whole seconds × 1000, else
/// [`DEFAULT_RETRY_AFTER_MS`]; at most [`MAX_RETRY_AFTER_MS`]. (A `Retry-After` given as an
/// HTTP date is not read: the client's clock may not be the server's.)
pub fn retry_after_ms(body_ms: Option<f64>, header: Option<&str>) -> u64 {
    let from_body = body_ms.filter(|ms| ms.is_finite() && *ms >= 0.0).map(|ms| {
        let up = ms as u64; // saturating
        if (up as f64) < ms { up.saturating_add(1) } else { up }
    });
    let from_header = || {
        let text = header?.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Too many digits to hold is a very long wait.
        Some(text.parse::<u64>().map_or(u64::MAX, |s| s.saturating_mul(1000)))
    };
    from_body.or_else(from_header).unwrap_or(DEFAULT_RETRY_AFTER_MS).min(MAX_RETRY_AFTER_MS)
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sync failed ({}): {}", self.code.as_str(), self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_is_rate_limited_with_the_wait_the_server_asked_for() {
        assert_eq!(SyncErrorCode::from_status(429), SyncErrorCode::RateLimited);
        assert_eq!(SyncErrorCode::RateLimited.as_str(), "rate_limited");
        let e = SyncError::from_answer(429, Some("slow down".into()), None, Some(1500.0), Some("9"));
        assert_eq!((e.code, e.message.as_str(), e.retry_after_ms), (SyncErrorCode::RateLimited, "slow down", Some(1500)));
        // The body's milliseconds first, rounded up; else the header's seconds; else the default.
        assert_eq!(retry_after_ms(Some(0.2), None), 1);
        assert_eq!(retry_after_ms(None, Some(" 3 ")), 3000);
        assert_eq!(retry_after_ms(Some(f64::NAN), Some("2")), 2000);
        assert_eq!(retry_after_ms(Some(-5.0), Some("Wed, 21 Oct 2015 07:28:00 GMT")), DEFAULT_RETRY_AFTER_MS);
        assert_eq!(retry_after_ms(None, None), DEFAULT_RETRY_AFTER_MS);
        // A wait beyond reason is cut to an hour.
        assert_eq!(retry_after_ms(Some(1e300), None), MAX_RETRY_AFTER_MS);
        assert_eq!(retry_after_ms(None, Some("99999999999999999999999")), MAX_RETRY_AFTER_MS);
        // Other statuses carry no wait.
        let e = SyncError::from_answer(503, None, None, Some(1500.0), Some("9"));
        assert_eq!((e.code, e.message.as_str(), e.retry_after_ms), (SyncErrorCode::Server, "HTTP 503", None));
    }

    #[test]
    fn a_408_is_a_connection_that_failed_not_a_protocol_error() {
        // The server answers 408 when a push's body arrives too slowly: the request never got
        // there whole, so the client treats it as a network failure and retries.
        assert_eq!(SyncErrorCode::from_status(408), SyncErrorCode::Network);
        assert_eq!(SyncErrorCode::from_status(400), SyncErrorCode::Protocol);
    }

    #[test]
    fn every_code_is_spelled_once_and_declared_to_javascript() {
        let names: alloc::collections::BTreeSet<&str> = SyncErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), SyncErrorCode::ALL.len());
        // The `RawError` declaration the TypeScript layer is compiled against (and checks its
        // `SyncErrorCode` type with) names exactly these codes.
        let declared = include_str!("../../js/output.rs")
            .lines()
            .find(|l| l.contains("readonly name: 'SyncError'"))
            .expect("RawError declares SyncError");
        let codes = declared.split("readonly code:").nth(1).and_then(|rest| rest.split(';').next()).expect("its code");
        let declared: alloc::collections::BTreeSet<&str> =
            codes.split('|').map(|c| c.trim().trim_matches('\'')).collect();
        assert_eq!(declared, names);
    }
}
