//! The JSON the server answers with: push outcomes and pull pages (`docs/sync.md`).

use annals::core::sync::ConflictReason;
use annals::core::{AppendRequest, Error, ExpectedVersion, Outcome};
use serde::{Serialize, Serializer};

use super::json::write_number;
use crate::config::Limits;
use crate::pg::{BatchResult, PulledEvent};

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum OutcomeJson {
    Accepted {
        #[serde(rename = "nextExpectedVersion")]
        next_expected_version: u64,
        position: u64,
        repeat: bool,
    },
    Refused {
        reason: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        expected: Option<ExpectedJson>,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        actual: u64,
    },
    Skipped,
}

struct ExpectedJson(ExpectedVersion);

impl Serialize for ExpectedJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ExpectedVersion::Exact(n) => s.serialize_u64(n),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

#[derive(Serialize)]
struct PushReplyJson {
    outcomes: Vec<OutcomeJson>,
    head: u64,
    limits: Limits,
}

/// The answer to a push whose appends were `requests`: one outcome each, the head, and the
/// server's `limits`.
/// `Err` names an outcome the protocol has no word for (a refusal other than a wrong expected
/// version or a duplicate id): a bug, answered as a server error.
pub fn push_reply(result: &BatchResult, requests: &[AppendRequest], limits: Limits) -> Result<Vec<u8>, String> {
    let outcomes = result
        .outcomes
        .iter()
        .zip(requests)
        .map(|(outcome, request)| {
            Ok(match outcome {
                Outcome::Written(r) | Outcome::Repeated(r) => OutcomeJson::Accepted {
                    next_expected_version: r.next_expected_version,
                    position: r.position,
                    repeat: matches!(outcome, Outcome::Repeated(_)),
                },
                Outcome::Refused(Error::WrongExpectedVersion { expected, actual, .. }) => OutcomeJson::Refused {
                    reason: ConflictReason::WrongExpectedVersion.as_str(),
                    expected: Some(ExpectedJson(*expected)),
                    id: None,
                    actual: *actual,
                },
                Outcome::Refused(Error::DuplicateEventId { id }) => OutcomeJson::Refused {
                    reason: ConflictReason::DuplicateEventId.as_str(),
                    expected: None,
                    id: Some(id.clone()),
                    actual: result.stream_version(&request.stream),
                },
                Outcome::Refused(other) => return Err(format!("an append was refused with no protocol reason: {other}")),
                Outcome::Skipped => OutcomeJson::Skipped,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    serde_json::to_vec(&PushReplyJson { outcomes, head: result.head, limits }).map_err(|e| e.to_string())
}

/// A pull page: `{"events":[…],"head":h,"limits":{…}}`, each event's data and metadata the JSON
/// text stored, unparsed.
pub fn pull_page<'a, E>(
    events: impl Iterator<Item = Result<PulledEvent<'a>, E>>,
    head: u64,
    limits: Limits,
) -> Result<Vec<u8>, E> {
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(b"{\"events\":[");
    for (i, event) in events.enumerate() {
        let e = event?;
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"id\":\"");
        out.extend_from_slice(e.id.hyphenated().encode_lower(&mut annals::core::Uuid::encode_buffer()).as_bytes());
        out.extend_from_slice(b"\",\"stream\":");
        write_str(&mut out, e.stream);
        out.extend_from_slice(b",\"type\":");
        write_str(&mut out, e.event_type);
        out.extend_from_slice(format!(",\"version\":{},\"position\":{}", e.version, e.position).as_bytes());
        out.extend_from_slice(b",\"data\":");
        out.extend_from_slice(e.data.as_bytes());
        out.extend_from_slice(b",\"metadata\":");
        out.extend_from_slice(e.metadata.as_bytes());
        out.extend_from_slice(b",\"recordedAt\":");
        write_number(&mut out, e.recorded_at);
        out.push(b'}');
    }
    out.extend_from_slice(format!("],\"head\":{head},\"limits\":").as_bytes());
    serde_json::to_writer(&mut out, &limits).expect("limits always serialize");
    out.push(b'}');
    Ok(out)
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(out, s).expect("a string always serializes");
}
