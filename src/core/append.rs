//! Appends: turning input into a request, and the pure decision a backend applies inside its
//! transaction.

use alloc::{
    format,
    string::{String, ToString},
    vec::Vec,
};

use super::error::Error;
use super::event::{validate_name, AppendResult, EventInput, RecordedEvent};
use super::value::Value;
use super::version::{check_expected_version, ExpectedVersion};
use uuid::Uuid;

/// An event that passed validation and has its id.
#[derive(Clone, Debug, PartialEq)]
pub struct ProposedEvent {
    /// The event's id.
    pub id: Uuid,
    /// The store generated the id (a UUIDv7 no event holds yet), so no existing event needs
    /// to be looked up for it; the storage's unique index on ids stays the guard.
    pub id_generated: bool,
    /// What happened.
    pub event_type: String,
    /// The payload.
    pub data: Value,
    /// A JSON-compatible object.
    pub metadata: Value,
}

/// One validated append: the unit that commits whole or not at all.
#[derive(Clone, Debug, PartialEq)]
pub struct AppendRequest {
    /// The stream to append to.
    pub stream: String,
    /// At least one event, each with an id no other event of the request has.
    pub events: Vec<ProposedEvent>,
    /// What the stream's last version must be.
    pub expected: ExpectedVersion,
    /// The time recorded on the events, in milliseconds since the Unix epoch.
    pub recorded_at: f64,
}

impl AppendRequest {
    /// Validates an append as a caller gave it. `new_id` supplies ids for events without one.
    /// Nothing about the store's state is consulted: that is [`decide_append`]'s job.
    pub fn new(
        stream: &str,
        events: Vec<EventInput>,
        expected: ExpectedVersion,
        max_event_bytes: usize,
        recorded_at: f64,
        mut new_id: impl FnMut() -> Uuid,
    ) -> Result<AppendRequest, Error> {
        validate_name("stream", stream)?;
        if events.is_empty() {
            return Err(Error::invalid("events", "must hold at least one event"));
        }
        let mut proposed: Vec<ProposedEvent> = Vec::with_capacity(events.len());
        for (i, event) in events.into_iter().enumerate() {
            let field = |name: &str| format!("events[{i}].{name}");
            validate_name(&field("type"), &event.event_type)?;
            event
                .data
                .check_json()
                .map_err(|at| Error::invalid(field("data"), at))?;
            let metadata = match event.metadata {
                None => Value::Object(Vec::new()),
                Some(m @ Value::Object(_)) => m,
                Some(_) => return Err(Error::invalid(field("metadata"), "must be an object")),
            };
            metadata
                .check_json()
                .map_err(|at| Error::invalid(field("metadata"), at))?;
            let id_generated = event.id.is_none();
            let id = match event.id {
                None => new_id(),
                Some(text) => parse_event_id(&text).ok_or_else(|| {
                    Error::invalid(field("id"), "must be a UUID in hyphenated form")
                })?,
            };
            if proposed.iter().any(|p| p.id == id) {
                return Err(Error::DuplicateEventId { id: id.to_string() });
            }
            let size = event.event_type.len() + event.data.json_len() + metadata.json_len();
            if size > max_event_bytes {
                return Err(Error::invalid(
                    format!("events[{i}]"),
                    format!("is {size} bytes, more than maxEventBytes ({max_event_bytes})"),
                ));
            }
            proposed.push(ProposedEvent {
                id,
                id_generated,
                event_type: event.event_type,
                data: event.data,
                metadata,
            });
        }
        Ok(AppendRequest {
            stream: String::from(stream),
            events: proposed,
            expected,
            recorded_at,
        })
    }
}

fn parse_event_id(text: &str) -> Option<Uuid> {
    // Only the 36-character hyphenated form: braced, URN and simple forms are not ids here.
    if text.len() != 36 {
        return None;
    }
    Uuid::try_parse(text).ok()
}

/// What a backend must do with one append.
#[derive(Clone, Debug, PartialEq)]
pub enum AppendDecision {
    /// Write these events, in order, and move the stream's head and the global head to the
    /// last one.
    Write(Vec<RecordedEvent>),
    /// Every event already stands in the stream as proposed: write nothing, report this.
    AlreadyAppended(AppendResult),
}

/// Decides one append against the state the transaction sees.
///
/// `stream_version` is the stream's last version (0: none), `existing[i]` the recorded event
/// whose id is `request.events[i].id`, if any, and `head` the last global position (0: none).
/// Idempotency is decided before the expected version, so a retry of an append that committed
/// succeeds even though the stream has moved on.
pub fn decide_append(
    request: &AppendRequest,
    stream_version: u64,
    existing: &[Option<RecordedEvent>],
    head: u64,
) -> Result<AppendDecision, Error> {
    debug_assert_eq!(existing.len(), request.events.len());
    if let Some(first) = existing.iter().flatten().next() {
        let retry =
            existing
                .iter()
                .zip(&request.events)
                .enumerate()
                .all(|(i, (found, proposed))| {
                    found.as_ref().is_some_and(|found| {
                        found.stream == request.stream
                            && found.version == first.version + i as u64
                            && found.event_type == proposed.event_type
                            && found.data == proposed.data
                            && found.metadata == proposed.metadata
                    })
                });
        if !retry {
            let id = existing
                .iter()
                .zip(&request.events)
                .find_map(|(found, proposed)| found.as_ref().map(|_| proposed.id))
                .unwrap_or(first.id);
            return Err(Error::DuplicateEventId { id: id.to_string() });
        }
        let last = existing.iter().flatten().last().unwrap_or(first);
        return Ok(AppendDecision::AlreadyAppended(AppendResult {
            next_expected_version: last.version,
            position: last.position,
        }));
    }
    check_expected_version(&request.stream, request.expected, stream_version)?;
    let events = request
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| RecordedEvent {
            id: e.id,
            stream: request.stream.clone(),
            event_type: e.event_type.clone(),
            version: stream_version + 1 + i as u64,
            position: head + 1 + i as u64,
            data: e.data.clone(),
            metadata: e.metadata.clone(),
            recorded_at: request.recorded_at,
            server_position: None,
        })
        .collect();
    Ok(AppendDecision::Write(events))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const ID1: &str = "0190b6a4-6a3c-7cc2-9a8b-1f2e3d4c5b6a";
    const ID2: &str = "0190b6a4-6a3c-7cc2-9a8b-1f2e3d4c5b6b";

    fn request(events: Vec<EventInput>, expected: ExpectedVersion) -> Result<AppendRequest, Error> {
        AppendRequest::new("s", events, expected, 1024, 0.0, Uuid::nil)
    }

    fn recorded(req: &AppendRequest, version: u64, position: u64) -> Vec<Option<RecordedEvent>> {
        match decide_append(
            req,
            version - 1,
            &vec![None; req.events.len()],
            position - 1,
        ) {
            Ok(AppendDecision::Write(events)) => events.into_iter().map(Some).collect(),
            other => panic!("expected a write, got {other:?}"),
        }
    }

    #[test]
    fn a_retry_of_a_committed_append_is_reported_not_written() {
        let req = request(
            vec![
                EventInput::new("a", Value::Null).with_id(ID1),
                EventInput::new("b", Value::Null).with_id(ID2),
            ],
            ExpectedVersion::Exact(0),
        )
        .unwrap();
        let existing = recorded(&req, 1, 5);
        // The stream moved on to version 9 since: the retry still succeeds, as before.
        assert_eq!(
            decide_append(&req, 9, &existing, 20),
            Ok(AppendDecision::AlreadyAppended(AppendResult {
                next_expected_version: 2,
                position: 6
            }))
        );
    }

    #[test]
    fn a_known_id_with_other_content_is_a_duplicate() {
        let first = request(
            vec![EventInput::new("a", Value::Null).with_id(ID1)],
            ExpectedVersion::Any,
        )
        .unwrap();
        let existing = recorded(&first, 1, 1);
        let other = request(
            vec![EventInput::new("a", Value::Bool(true)).with_id(ID1)],
            ExpectedVersion::Any,
        )
        .unwrap();
        assert_eq!(
            decide_append(&other, 1, &existing, 1),
            Err(Error::DuplicateEventId { id: ID1.into() })
        );
    }

    #[test]
    fn a_partial_overlap_is_a_duplicate_naming_the_known_id() {
        let first = request(
            vec![EventInput::new("a", Value::Null).with_id(ID2)],
            ExpectedVersion::Any,
        )
        .unwrap();
        let existing = recorded(&first, 1, 1);
        let both = request(
            vec![
                EventInput::new("a", Value::Null).with_id(ID1),
                EventInput::new("a", Value::Null).with_id(ID2),
            ],
            ExpectedVersion::Any,
        )
        .unwrap();
        assert_eq!(
            decide_append(&both, 1, &[None, existing[0].clone()], 1),
            Err(Error::DuplicateEventId { id: ID2.into() })
        );
    }

    #[test]
    fn new_events_get_the_next_versions_and_positions() {
        let req = request(
            vec![
                EventInput::new("a", Value::Null),
                EventInput::new("b", Value::Null),
            ],
            ExpectedVersion::Exact(3),
        );
        // Both ids come from `Uuid::nil`: the request itself is refused.
        assert_eq!(
            req,
            Err(Error::DuplicateEventId {
                id: Uuid::nil().to_string()
            })
        );
        let req = request(
            vec![
                EventInput::new("a", Value::Null).with_id(ID1),
                EventInput::new("b", Value::Null).with_id(ID2),
            ],
            ExpectedVersion::Exact(3),
        )
        .unwrap();
        let events = recorded(&req, 4, 11);
        let places: Vec<_> = events
            .iter()
            .flatten()
            .map(|e| (e.version, e.position))
            .collect();
        assert_eq!(places, vec![(4, 11), (5, 12)]);
    }

    #[test]
    fn invalid_input_names_the_field() {
        let cases: Vec<(Vec<EventInput>, &str)> = vec![
            (vec![], "events"),
            (vec![EventInput::new("", Value::Null)], "events[0].type"),
            (
                vec![EventInput::new("t", Value::Null).with_id("nope")],
                "events[0].id",
            ),
            (
                vec![EventInput::new("t", Value::Null).with_metadata(Value::Null)],
                "events[0].metadata",
            ),
            (
                vec![EventInput::new("t", Value::from(f64::INFINITY))],
                "events[0].data",
            ),
            (
                vec![EventInput::new("t", Value::from("x".repeat(2000)))],
                "events[0]",
            ),
        ];
        for (events, expected_field) in cases {
            match request(events, ExpectedVersion::Any) {
                Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, expected_field),
                other => panic!("expected InvalidArgument on {expected_field}, got {other:?}"),
            }
        }
    }
}
