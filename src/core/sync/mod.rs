//! Sync with an annals server: what a store pushes, how it applies what it pulls, how it
//! records and resolves conflicts, and the engine that runs rounds. The transport (HTTP) is a
//! [`Transport`] supplied by the platform layer; every decision is here. Design and wire
//! protocol: `docs/sync.md`.

mod backend;
mod conflict;
mod engine;
mod protocol;
mod pull;

pub use backend::{LegacyOutbox, OutboxEntry, SyncBackend};
pub use conflict::{conflicting_entries, rebase_request, Conflict, ConflictFeed, Resolution};
pub use engine::{SyncEngine, SyncOptions, SyncStatus, Transport};
pub use protocol::{
    ConflictReason, Limits, PendingAppend, PullReply, PushOutcome, PushReply, Refusal, SyncError,
    retry_after_ms, SyncErrorCode, CLIENT_LIMITS, DEFAULT_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS, PROBE_LIMITS,
    PULL_LIMIT,
};
pub use pull::{plan_pull, EventUpdate, PendingEvent, PullPlan, StreamPlan, StreamSync};
