//! Events as callers propose them and as the store records them.

use alloc::string::String;

use super::error::Error;
use super::value::Value;
use uuid::Uuid;

/// The longest stream name, event type, checkpoint name, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// An event as a caller proposes it for an append.
#[derive(Clone, Debug, PartialEq)]
pub struct EventInput {
    /// What happened, 1..=256 characters.
    pub event_type: String,
    /// The payload: any JSON-compatible value.
    pub data: Value,
    /// A JSON-compatible object; `None` records `{}`.
    pub metadata: Option<Value>,
    /// The idempotency key: a UUID in hyphenated form. Generated when `None`.
    pub id: Option<String>,
}

impl EventInput {
    /// An event of `event_type` carrying `data`, with no metadata and a generated id.
    pub fn new(event_type: impl Into<String>, data: Value) -> Self {
        EventInput {
            event_type: event_type.into(),
            data,
            metadata: None,
            id: None,
        }
    }

    /// The same event with `id` as its idempotency key.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The same event with `metadata`.
    pub fn with_metadata(mut self, metadata: Value) -> Self {
        self.metadata = Some(metadata);
        self
    }
}

/// An event as the store holds it. Never changes once recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedEvent {
    /// Unique in the store, and meant to be unique across every store (sync relies on it).
    pub id: Uuid,
    /// The stream it belongs to.
    pub stream: String,
    /// What happened.
    pub event_type: String,
    /// Place in its stream: 1, 2, 3 … with no gap.
    pub version: u64,
    /// Place in the store's global order: 1, 2, 3 … with no gap.
    pub position: u64,
    /// The payload.
    pub data: Value,
    /// A JSON-compatible object.
    pub metadata: Value,
    /// When the append was committed, in milliseconds since the Unix epoch.
    pub recorded_at: f64,
}

/// What a successful append reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendResult {
    /// The stream's version after the append: pass it as the next expected version.
    pub next_expected_version: u64,
    /// The global position of the append's last event.
    pub position: u64,
}

/// `Ok` when `name` is a valid stream name, event type or checkpoint name: 1..=256
/// characters, none of them a control character. `field` names it in the error.
pub fn validate_name(field: &str, name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(
            field,
            alloc::format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}
