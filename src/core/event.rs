//! Events as callers propose them and as the store records them.

use alloc::string::String;
use ::core::fmt::Debug;

use super::error::{Error, StorageError};
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
///
/// `P` is the form its data and metadata take: a [`Value`], or the form a backend stores them
/// in (IndexedDB hands out the stored JavaScript values, passed to callers as they are).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedEvent<P = Value> {
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
    pub data: P,
    /// A JSON-compatible object.
    pub metadata: P,
    /// When the append was committed, in milliseconds since the Unix epoch, on the device
    /// that appended it.
    pub recorded_at: f64,
    /// Place in the sync server's global order (the same on every device); `None` while the
    /// event is pending: appended here and not yet confirmed by the server.
    pub server_position: Option<u64>,
}

/// The form in which a backend hands out event data and metadata (and snapshot state).
pub trait Payload: Clone + Debug + PartialEq {
    /// The payload as a [`Value`]; a storage error naming the record's `field` when the
    /// stored form is not JSON-compatible.
    fn to_value(&self, field: &str) -> Result<Value, StorageError>;
    /// Whether the payload is an object (metadata must be one).
    fn is_object(&self) -> bool;
}

impl Payload for Value {
    fn to_value(&self, _field: &str) -> Result<Value, StorageError> {
        Ok(self.clone())
    }
    fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }
}

/// The largest integer a JavaScript number holds exactly (2^53 - 1): the largest version or
/// position.
pub const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// `n` as a version or position: a non-negative integer a JavaScript number holds exactly.
pub fn safe_integer(n: f64) -> Option<u64> {
    // `n as u64` saturates and maps NaN to 0: the round trip rejects both, and fractions.
    ((0.0..=MAX_SAFE_INTEGER).contains(&n) && (n as u64) as f64 == n).then_some(n as u64)
}

/// The fields of a stored event record as storage returned them, before any check: `None`
/// where the field is missing or not of the expected type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredEvent<P> {
    /// The `id` field.
    pub id: Option<String>,
    /// The `stream` field.
    pub stream: Option<String>,
    /// The `type` field.
    pub event_type: Option<String>,
    /// The `version` field.
    pub version: Option<f64>,
    /// The `position` field.
    pub position: Option<f64>,
    /// The `recordedAt` field.
    pub recorded_at: Option<f64>,
    /// The `serverPosition` field: `None` when null or absent (a pending event); a value that
    /// is not a number is passed as NaN.
    pub server_position: Option<f64>,
    /// The `data` field.
    pub data: Option<P>,
    /// The `metadata` field.
    pub metadata: Option<P>,
}

impl<P> RecordedEvent<P> {
    /// The same event with `f` applied to its data and metadata.
    pub fn map_payload<Q>(self, mut f: impl FnMut(P) -> Q) -> RecordedEvent<Q> {
        RecordedEvent {
            id: self.id,
            stream: self.stream,
            event_type: self.event_type,
            version: self.version,
            position: self.position,
            data: f(self.data),
            metadata: f(self.metadata),
            recorded_at: self.recorded_at,
            server_position: self.server_position,
        }
    }
}

impl<P: Payload> RecordedEvent<P> {
    /// The same event with its data and metadata as [`Value`]s.
    pub fn to_values(&self) -> Result<RecordedEvent<Value>, StorageError> {
        Ok(RecordedEvent {
            id: self.id,
            stream: self.stream.clone(),
            event_type: self.event_type.clone(),
            version: self.version,
            position: self.position,
            data: self.data.to_value("data")?,
            metadata: self.metadata.to_value("metadata")?,
            recorded_at: self.recorded_at,
            server_position: self.server_position,
        })
    }

    /// The event a stored record holds, when every field is as the store writes it: a UUID in
    /// lower-case hyphenated form, a valid stream name and event type, a version and a position
    /// from 1 to 2^53 - 1, a finite `recordedAt`, data present, metadata an object, and a
    /// `serverPosition` that is absent, null or an integer from 1 to 2^53 - 1.
    /// Anything else is a `DataError` [`StorageError`] naming the field: such a record is
    /// never trusted. Data contents are not walked: they were checked when appended.
    pub fn from_stored(stored: StoredEvent<P>) -> Result<Self, StorageError> {
        let id = stored.id.ok_or_else(|| corrupt("id", "is not a string"))?;
        // 36 characters is the hyphenated form (the others are 32, 38 and 45 long), and with no
        // upper-case letter it is the lower-case one: checked without formatting it back.
        let id = Some(id.as_str())
            .filter(|id| id.len() == 36 && !id.bytes().any(|b| b.is_ascii_uppercase()))
            .and_then(|id| Uuid::try_parse(id).ok())
            .ok_or_else(|| corrupt("id", "is not a lower-case hyphenated UUID"))?;
        let name = |field: &str, value: Option<String>| {
            let value = value.ok_or_else(|| corrupt(field, "is not a string"))?;
            validate_name(field, &value).map_err(|_| corrupt(field, "is not a valid name"))?;
            Ok::<_, StorageError>(value)
        };
        let count = |field: &str, value: Option<f64>| {
            value
                .and_then(safe_integer)
                .filter(|&n| n >= 1)
                .ok_or_else(|| corrupt(field, "is not an integer from 1 to 2^53 - 1"))
        };
        let metadata = stored.metadata.filter(P::is_object);
        Ok(RecordedEvent {
            id,
            stream: name("stream", stored.stream)?,
            event_type: name("type", stored.event_type)?,
            version: count("version", stored.version)?,
            position: count("position", stored.position)?,
            data: stored.data.ok_or_else(|| corrupt("data", "is missing"))?,
            metadata: metadata.ok_or_else(|| corrupt("metadata", "is not an object"))?,
            recorded_at: stored
                .recorded_at
                .filter(|n| n.is_finite())
                .ok_or_else(|| corrupt("recordedAt", "is not a finite number"))?,
            server_position: match stored.server_position {
                None => None,
                some => Some(count("serverPosition", some)?),
            },
        })
    }
}

/// The error for a stored record whose `field` is not as the store writes it.
pub fn corrupt(field: &str, reason: &str) -> StorageError {
    StorageError::other(alloc::format!("DataError: a stored record's {field} {reason}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> StoredEvent<Value> {
        StoredEvent {
            id: Some("0190f0a2-6c1e-7b3a-9f00-0123456789ab".into()),
            stream: Some("Order-1".into()),
            event_type: Some("Placed".into()),
            version: Some(1.0),
            position: Some(7.0),
            recorded_at: Some(1.7e12),
            data: Some(Value::from("x")),
            metadata: Some(Value::Object(alloc::vec::Vec::new())),
            server_position: None,
        }
    }

    #[test]
    fn a_record_as_the_store_writes_it_decodes() {
        let event = RecordedEvent::from_stored(stored()).unwrap();
        assert_eq!((event.stream.as_str(), event.version, event.position), ("Order-1", 1, 7));
        assert_eq!(event.id.to_string(), "0190f0a2-6c1e-7b3a-9f00-0123456789ab");
    }

    #[test]
    fn each_field_out_of_shape_is_a_data_error_naming_it() {
        type Spoil = fn(&mut StoredEvent<Value>);
        let cases: [(&str, Spoil); 18] = [
            ("id", |s| s.id = Some("0190F0A2-6C1E-7B3A-9F00-0123456789AB".into())),
            ("id", |s| s.id = Some("0190f0a2-6c1e-7b3a-9f00-0123456789aB".into())),
            ("id", |s| s.id = Some("0190f0a26c1e7b3a9f000123456789ab".into())),
            ("id", |s| s.id = Some("{0190f0a2-6c1e-7b3a-9f00-0123456789ab}".into())),
            ("id", |s| s.id = Some("urn:uuid:0190f0a2-6c1e-7b3a-9f00-0123456789ab".into())),
            ("id", |s| s.id = None),
            ("stream", |s| s.stream = Some(String::new())),
            ("type", |s| s.event_type = Some("a\u{7}".into())),
            ("version", |s| s.version = Some(0.0)),
            ("version", |s| s.version = Some(1.5)),
            ("version", |s| s.version = Some(f64::NAN)),
            ("position", |s| s.position = Some(MAX_SAFE_INTEGER + 2.0)),
            ("recordedAt", |s| s.recorded_at = Some(f64::INFINITY)),
            ("data", |s| s.data = None),
            ("metadata", |s| s.metadata = Some(Value::Null)),
            ("metadata", |s| s.metadata = None),
            ("serverPosition", |s| s.server_position = Some(f64::NAN)),
            ("serverPosition", |s| s.server_position = Some(0.0)),
        ];
        for (field, spoil) in cases {
            let mut record = stored();
            spoil(&mut record);
            let err = RecordedEvent::from_stored(record).unwrap_err();
            let text = alloc::format!("{err}");
            assert!(text.contains(&alloc::format!("record's {field} ")), "{field}: {text}");
        }
    }

    #[test]
    fn safe_integers_are_whole_and_at_most_2_pow_53_minus_1() {
        assert_eq!(safe_integer(MAX_SAFE_INTEGER), Some(9_007_199_254_740_991));
        for n in [-1.0, 0.5, MAX_SAFE_INTEGER + 1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(safe_integer(n), None, "{n}");
        }
    }
}
