//! Decoding a push: JSON bytes to the core's validated [`AppendRequest`]s, or the reason not.
//!
//! Pure (no I/O, no state): [`decode_push`] is the whole entry point, fit for fuzzing. Shape
//! errors (malformed JSON, wrong types, unknown or missing fields) name the field by its path;
//! content is validated by the core's own `AppendRequest::new`.

use std::fmt;

use annals::core::{safe_integer, AppendRequest, Error, EventInput, ExpectedVersion, Uuid};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::json::Json;
use crate::config::Limits;

/// Why a push was refused before anything was decided. Nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not a valid push: `field` is the path of the part at fault (`appends[2].events[0].type`;
    /// `body` for the body as a whole).
    Invalid {
        /// Where.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// More appends or events than the limits allow.
    TooLarge {
        /// What is over.
        message: String,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Invalid { field, message } => write!(f, "{field}: {message}"),
            DecodeError::TooLarge { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for DecodeError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PushBody {
    appends: Vec<AppendBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AppendBody {
    stream: String,
    expected_version: Expected,
    recorded_at: f64,
    events: Vec<EventBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventBody {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    data: Json,
    // `null` is kept as a value (the core refuses it: metadata is an object); only absence
    // means `{}`.
    #[serde(default, deserialize_with = "present")]
    metadata: Option<Json>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Json>, D::Error> {
    Json::deserialize(d).map(Some)
}

struct Expected(ExpectedVersion);

impl<'de> Deserialize<'de> for Expected {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ExpectedVisitor).map(Expected)
    }
}

struct ExpectedVisitor;

impl Visitor<'_> for ExpectedVisitor {
    type Value = ExpectedVersion;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#""any", "no_stream", "stream_exists" or a version from 0 to 2^53 - 1"#)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<ExpectedVersion, E> {
        match s {
            "any" => Ok(ExpectedVersion::Any),
            "no_stream" => Ok(ExpectedVersion::NoStream),
            "stream_exists" => Ok(ExpectedVersion::StreamExists),
            _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
        }
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<ExpectedVersion, E> {
        self.visit_f64(n as f64)
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<ExpectedVersion, E> {
        self.visit_f64(n as f64)
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<ExpectedVersion, E> {
        safe_integer(n)
            .map(ExpectedVersion::Exact)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Float(n), &self))
    }
}

/// The appends of a push, validated with the core's rules under `limits`, in order. Refused
/// whole: `TooLarge` for a body over `limits.max_body_bytes` (the HTTP layer stops reading
/// there already; the decoder holds the rule for every caller), for more than
/// `limits.max_appends` appends or `limits.max_events` events; `Invalid` for anything
/// malformed or invalid.
pub fn decode_push(body: &[u8], limits: &Limits) -> Result<Vec<AppendRequest>, DecodeError> {
    if body.len() > limits.max_body_bytes {
        return Err(DecodeError::TooLarge { message: body_too_large(limits.max_body_bytes) });
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    // Event data nests as deep as the core allows; `Json` bounds the recursion itself.
    de.disable_recursion_limit();
    let push: PushBody = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| invalid(path_of(e.path()), e.inner().to_string()))?;
    de.end().map_err(|e| invalid("body".into(), e.to_string()))?;

    if push.appends.is_empty() {
        return Err(invalid("appends".into(), "must hold at least one append".into()));
    }
    let events: usize = push.appends.iter().map(|a| a.events.len()).sum();
    if push.appends.len() > limits.max_appends || events > limits.max_events {
        return Err(DecodeError::TooLarge {
            message: format!(
                "the push holds {} appends and {events} events; the limits are {} appends and {} events",
                push.appends.len(),
                limits.max_appends,
                limits.max_events
            ),
        });
    }
    push.appends
        .into_iter()
        .enumerate()
        .map(|(i, append)| {
            let events = append
                .events
                .into_iter()
                .map(|e| EventInput {
                    event_type: e.event_type,
                    data: e.data.0,
                    metadata: e.metadata.map(|m| m.0),
                    id: Some(e.id),
                })
                .collect();
            let recorded_at = append.recorded_at;
            AppendRequest::new(
                &append.stream,
                events,
                append.expected_version.0,
                limits.max_event_bytes,
                recorded_at,
                // Every event has an id: none is generated.
                Uuid::nil,
            )
            .map_err(|e| match e {
                Error::InvalidArgument { field, reason } => invalid(format!("appends[{i}].{field}"), reason),
                Error::DuplicateEventId { id } => {
                    invalid(format!("appends[{i}].events"), format!("event id {id} appears twice in the append"))
                }
                other => invalid(format!("appends[{i}]"), other.to_string()),
            })
        })
        .collect()
}

/// The message of a body over `max` bytes.
pub fn body_too_large(max: usize) -> String {
    format!("the body is over {max} bytes")
}

fn invalid(field: String, message: String) -> DecodeError {
    DecodeError::Invalid { field, message }
}

fn path_of(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    if text.is_empty() || text == "." || text == "?" {
        "body".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use annals::core::Value;

    const ID: &str = "0190b6a4-6a3c-7cc2-9a8b-1f2e3d4c5b6a";

    fn push(appends: &str) -> Vec<u8> {
        format!(r#"{{"appends":[{appends}]}}"#).into_bytes()
    }

    fn append(stream: &str, expected: &str, events: &str) -> String {
        format!(r#"{{"stream":"{stream}","expectedVersion":{expected},"recordedAt":1764374400000.5,"events":[{events}]}}"#)
    }

    fn event(id: &str, data: &str) -> String {
        format!(r#"{{"id":"{id}","type":"ItemAdded","data":{data}}}"#)
    }

    fn field_of(body: &[u8]) -> String {
        match decode_push(body, &Limits::default()) {
            Err(DecodeError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_push_becomes_requests_with_data_in_key_order() {
        let body = push(&[
            append("Cart-1", r#""any""#, &event(ID, r#"{"z":1,"a":{"y":2.5,"b":null}}"#)),
            append("Cart-2", "3", &event("0190B6A4-6A3C-7CC2-9A8B-1F2E3D4C5B6B", "[]")),
        ]
        .join(","));
        let requests = decode_push(&body, &Limits::default()).unwrap();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].expected, ExpectedVersion::Any);
        assert_eq!(requests[1].expected, ExpectedVersion::Exact(3));
        assert_eq!(requests[0].recorded_at, 1764374400000.5);
        assert_eq!(requests[0].events[0].id.to_string(), ID);
        assert_eq!(requests[1].events[0].id.to_string(), "0190b6a4-6a3c-7cc2-9a8b-1f2e3d4c5b6b");
        assert_eq!(requests[0].events[0].metadata, Value::Object(vec![]));
        assert!(!requests[0].events[0].id_generated);
        assert_eq!(
            requests[0].events[0].data,
            Value::object([
                ("z", Value::from(1i64)),
                ("a", Value::object([("y", Value::from(2.5)), ("b", Value::Null)]))
            ])
        );
    }

    #[test]
    fn shape_errors_name_the_field() {
        let ok_event = event(ID, "1");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"".to_vec(), "body"),
            (b"{".to_vec(), "body"),
            (b"[]".to_vec(), "body"),
            (b"{\"appends\":[]} x".to_vec(), "body"),
            (b"{\"appends\":[],\"tenant\":\"b\"}".to_vec(), "tenant"),
            (b"{}".to_vec(), "body"),
            (push(&append("s", r#""sometimes""#, &ok_event)), "appends[0].expectedVersion"),
            (push(&append("s", "-1", &ok_event)), "appends[0].expectedVersion"),
            (push(&append("s", "1.5", &ok_event)), "appends[0].expectedVersion"),
            (push(&append("s", "9007199254740992", &ok_event)), "appends[0].expectedVersion"),
            (push(&format!(r#"{{"stream":7,"expectedVersion":"any","recordedAt":1,"events":[{ok_event}]}}"#)), "appends[0].stream"),
            (push(&format!(r#"{ok_append},{{"stream":"s","expectedVersion":"any","events":[{ok_event}]}}"#, ok_append = append("s", "0", &ok_event))), "appends[1]"),
            (push(&append("s", "0", r#"{"id":"x","type":"T","data":1,"extra":true}"#)), "appends[0].events[0].extra"),
            (push(&append("s", "0", r#"{"type":"T","data":1}"#)), "appends[0].events[0]"),
            (push(&append("s", "0", &event(ID, r#"{"a":1,"a":2}"#))), "appends[0].events[0].data"),
            (push(&append("s", "0", &event(ID, "1e999"))), "appends[0].events[0].data"),
        ];
        for (body, expected) in cases {
            let field = field_of(&body);
            assert!(field == expected, "{}: got {field}, want {expected}", String::from_utf8_lossy(&body));
        }
    }

    #[test]
    fn content_is_validated_by_the_core_and_named_within_the_push() {
        let two = format!("{},{}", event(ID, "1"), event(ID, "2"));
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (push(&[append("ok", "0", &event(ID, "1")), append("", "0", &event(ID, "1"))].join(",")), "appends[1].stream"),
            (push(&append("s", "0", "")), "appends[0].events"),
            (push(&append("s", "0", &event("not-a-uuid", "1"))), "appends[0].events[0].id"),
            (push(&append("s", "0", &format!(r#"{{"id":"{ID}","type":"","data":1}}"#))), "appends[0].events[0].type"),
            (push(&append("s", "0", &format!(r#"{{"id":"{ID}","type":"T","data":1,"metadata":null}}"#))), "appends[0].events[0].metadata"),
            (push(&append("s", "0", &format!(r#"{{"id":"{ID}","type":"T","data":1,"metadata":[]}}"#))), "appends[0].events[0].metadata"),
            (push(&append("s", "0", &two)), "appends[0].events"),
            (push(&append("s", "0", &event(ID, &format!("{}{}", "[".repeat(130), "]".repeat(130))))), "appends[0].events[0].data"),
            (push(""), "appends"),
        ];
        for (body, expected) in cases {
            assert_eq!(field_of(&body), expected, "{}", String::from_utf8_lossy(&body));
        }
        let small = Limits { max_event_bytes: 40, ..Limits::default() };
        let big = push(&append("s", "0", &event(ID, &format!("\"{}\"", "x".repeat(40)))));
        assert!(matches!(decode_push(&big, &small), Err(DecodeError::Invalid { field, .. }) if field == "appends[0].events[0]"));
    }

    #[test]
    fn counts_over_the_limits_are_too_large() {
        let limits = Limits { max_appends: 2, max_events: 3, ..Limits::default() };
        let id = |n: u32| format!("00000000-0000-4000-8000-{n:012x}");
        let one = |n| append("s", r#""any""#, &event(&id(n), "1"));
        assert!(decode_push(&push(&[one(1), one(2)].join(",")), &limits).is_ok());
        assert!(matches!(decode_push(&push(&[one(1), one(2), one(3)].join(",")), &limits), Err(DecodeError::TooLarge { .. })));
        let four = [1, 2, 3, 4].map(|n| event(&id(n), "1")).join(",");
        assert!(matches!(decode_push(&push(&append("s", "0", &four)), &limits), Err(DecodeError::TooLarge { .. })));
    }

    #[test]
    fn a_body_over_max_body_bytes_is_too_large_whatever_it_holds() {
        let body = push(&append("s", "0", &event(ID, "1")));
        let at = Limits { max_body_bytes: body.len(), ..Limits::default() };
        assert!(decode_push(&body, &at).is_ok());
        let under = Limits { max_body_bytes: body.len() - 1, ..Limits::default() };
        assert!(matches!(decode_push(&body, &under), Err(DecodeError::TooLarge { .. })));
        // Even garbage: the size is refused before anything is parsed.
        assert!(matches!(decode_push(&[b'{'; 10], &Limits { max_body_bytes: 9, ..Limits::default() }), Err(DecodeError::TooLarge { .. })));
    }
}
