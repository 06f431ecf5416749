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
    /// The server could not be reached.
    Network,
    /// The server failed (5xx).
    Server,
    /// An answer that is not the protocol (or a request the server found malformed).
    Protocol,
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
        }
    }

    /// The code for an HTTP status that is not a success.
    pub fn from_status(status: u16) -> Self {
        match status {
            401 | 403 => SyncErrorCode::Unauthorized,
            413 => SyncErrorCode::TooLarge,
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
}

impl SyncError {
    /// An error of `code`.
    pub fn new(code: SyncErrorCode, message: impl Into<String>) -> Self {
        SyncError { code, message: message.into(), limits: None }
    }

    /// A [`SyncErrorCode::Protocol`] error.
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(SyncErrorCode::Protocol, message)
    }
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sync failed ({}): {}", self.code.as_str(), self.message)
    }
}
