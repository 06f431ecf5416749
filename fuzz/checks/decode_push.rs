//! The check of the `decode_push` fuzz target, shared with the corpus replay
//! (`server/tests/fuzz_corpus.rs`), which includes this file with `#[path]`.
//!
//! The first three input bytes pick the limits (small ones, so that every limit is reached;
//! or the defaults), the rest is the body of `POST /v1/push`, as any bytes. The server's
//! decoder, `annals_server::wire::decode_push`, must:
//!
//! - refuse a body over `maxBodyBytes` as `TooLarge`, whatever it holds;
//! - answer `Ok` only for UTF-8 text, with 1 to `maxAppends` appends and at most `maxEvents`
//!   events, every event with its own id (none generated), metadata an object, and a size
//!   (`type` + data JSON + metadata JSON, as the core measures it) within `maxEventBytes`;
//!   and that push, written back as JSON, decodes to the very same requests (nothing of the
//!   body was lost or made up);
//! - answer `TooLarge` for a body within `maxBodyBytes` only when the body is JSON holding
//!   more appends or events than the limits allow;
//! - answer `Invalid` with a field and a message;
//! - give the same answer twice, and never panic.

use annals::core::{AppendRequest, ExpectedVersion, Value};
use annals_server::wire::json::{write_json, write_number};
use annals_server::wire::{decode_push, DecodeError};
use annals_server::Limits;

/// How the inputs ended, for the replay's coverage assertions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    /// Decoded pushes.
    pub decoded: usize,
    /// Bodies refused as malformed or invalid.
    pub invalid: usize,
    /// Bodies refused for their size.
    pub too_large_body: usize,
    /// Bodies refused for their counts of appends or events.
    pub too_large_counts: usize,
}

/// How one input ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Decoded.
    Decoded,
    /// Refused `Invalid`.
    Invalid,
    /// Refused `TooLarge` for its size.
    TooLargeBody,
    /// Refused `TooLarge` for its counts.
    TooLargeCounts,
}

impl Tally {
    /// Counts `outcome`.
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Decoded => self.decoded += 1,
            Outcome::Invalid => self.invalid += 1,
            Outcome::TooLargeBody => self.too_large_body += 1,
            Outcome::TooLargeCounts => self.too_large_counts += 1,
        }
    }
}

/// The limits the first three bytes pick: the defaults when the first byte's top bit is set,
/// else small ones.
pub fn limits_of(selector: [u8; 3]) -> Limits {
    if selector[0] & 0x80 != 0 {
        return Limits::default();
    }
    Limits {
        max_body_bytes: 16 + usize::from(selector[0]) * 64,
        max_appends: 1 + usize::from(selector[1] & 7),
        max_events: 1 + usize::from(selector[1] >> 3),
        max_event_bytes: 8 + usize::from(selector[2]) * 8,
    }
}

/// Checks one input; panics on a broken property.
pub fn check(data: &[u8]) -> Outcome {
    if data.len() < 3 {
        // Too short to pick limits: the bytes are the body, under the defaults.
        return check_body(data, &Limits::default());
    }
    check_body(&data[3..], &limits_of([data[0], data[1], data[2]]))
}

fn check_body(body: &[u8], limits: &Limits) -> Outcome {
    let result = decode_push(body, limits);
    assert_eq!(result, decode_push(body, limits), "the same body decoded twice differently");
    if body.len() > limits.max_body_bytes {
        assert!(
            matches!(result, Err(DecodeError::TooLarge { .. })),
            "a body of {} bytes over maxBodyBytes {} was not TooLarge: {result:?}",
            body.len(),
            limits.max_body_bytes
        );
        return Outcome::TooLargeBody;
    }
    match result {
        Ok(requests) => {
            check_decoded(body, &requests, limits);
            Outcome::Decoded
        }
        Err(DecodeError::TooLarge { message }) => {
            let text = std::str::from_utf8(body).expect("a TooLarge body is UTF-8 JSON");
            let mut de = serde_json::Deserializer::from_str(text);
            de.disable_recursion_limit();
            let json: serde_json::Value =
                serde::Deserialize::deserialize(&mut de).expect("a TooLarge body is JSON");
            let appends = json["appends"].as_array().expect("a TooLarge body has appends");
            let events: usize = appends
                .iter()
                .map(|a| a["events"].as_array().map_or(0, Vec::len))
                .sum();
            assert!(
                appends.len() > limits.max_appends || events > limits.max_events,
                "TooLarge ({message}) for {} appends and {events} events under {limits:?}",
                appends.len()
            );
            Outcome::TooLargeCounts
        }
        Err(DecodeError::Invalid { field, message }) => {
            assert!(!field.is_empty() && !message.is_empty(), "Invalid without a field or a message");
            Outcome::Invalid
        }
    }
}

fn check_decoded(body: &[u8], requests: &[AppendRequest], limits: &Limits) {
    assert!(std::str::from_utf8(body).is_ok(), "a body that is not UTF-8 was decoded");
    assert!(
        (1..=limits.max_appends).contains(&requests.len()),
        "{} appends decoded under {limits:?}",
        requests.len()
    );
    let events: usize = requests.iter().map(|r| r.events.len()).sum();
    assert!(events <= limits.max_events, "{events} events decoded under {limits:?}");
    for request in requests {
        assert!(!request.events.is_empty(), "an append without events was decoded");
        for (i, event) in request.events.iter().enumerate() {
            assert!(!event.id_generated, "the decoder generated an id");
            assert!(
                request.events[..i].iter().all(|e| e.id != event.id),
                "an id twice in one append was decoded"
            );
            assert!(matches!(event.metadata, Value::Object(_)), "metadata that is not an object");
            let size = event.event_type.len() + event.data.json_len() + event.metadata.json_len();
            assert!(size <= limits.max_event_bytes, "an event of {size} bytes under {limits:?}");
        }
    }
    // Written back, the push decodes to the same requests.
    let again = encode(requests);
    let wide = Limits { max_body_bytes: again.len().max(limits.max_body_bytes), ..*limits };
    match decode_push(&again, &wide) {
        Ok(decoded) => assert_eq!(decoded, requests, "the push written back decodes to other requests"),
        Err(e) => panic!("the push written back is refused: {e:?}\n{}", String::from_utf8_lossy(&again)),
    }
}

/// `requests` as the body of a push.
pub fn encode(requests: &[AppendRequest]) -> Vec<u8> {
    let string = |out: &mut Vec<u8>, s: &str| write_json(out, &Value::String(s.to_owned()));
    let mut out = b"{\"appends\":[".to_vec();
    for (i, request) in requests.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"stream\":");
        string(&mut out, &request.stream);
        out.extend_from_slice(b",\"expectedVersion\":");
        match request.expected {
            ExpectedVersion::Any => out.extend_from_slice(b"\"any\""),
            ExpectedVersion::NoStream => out.extend_from_slice(b"\"no_stream\""),
            ExpectedVersion::StreamExists => out.extend_from_slice(b"\"stream_exists\""),
            ExpectedVersion::Exact(n) => out.extend_from_slice(n.to_string().as_bytes()),
        }
        out.extend_from_slice(b",\"recordedAt\":");
        write_number(&mut out, request.recorded_at);
        out.extend_from_slice(b",\"events\":[");
        for (j, event) in request.events.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"id\":");
            string(&mut out, &event.id.to_string());
            out.extend_from_slice(b",\"type\":");
            string(&mut out, &event.event_type);
            out.extend_from_slice(b",\"data\":");
            write_json(&mut out, &event.data);
            out.extend_from_slice(b",\"metadata\":");
            write_json(&mut out, &event.metadata);
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(b"]}");
    out
}
