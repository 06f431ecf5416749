//! Deciding the appends of one transaction, in order, against a state that each decision
//! updates: for backends that hold (or load) the state they decide on in memory.

use alloc::{collections::BTreeMap, string::String, vec::Vec};

use super::append::{decide_append, AppendDecision, AppendRequest};
use super::error::Error;
use super::event::{AppendResult, RecordedEvent};
use uuid::Uuid;

/// How the appends of one transaction relate to each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chaining {
    /// Each append stands alone: one refused leaves the others to their own checks (group
    /// commit in one context).
    Independent,
    /// The appends of one stream depend on the earlier ones: once one is refused, the later
    /// appends of its stream are [`Outcome::Skipped`] (a sync push).
    ByStream,
    /// Each append depends on every earlier one: once one is refused, every later append is
    /// [`Outcome::Skipped`] (an import: nothing after its first refused event is written).
    Sequence,
}

/// Which appends of a batch are still attempted, as a [`Chaining`] says, given the ones
/// refused so far. Every backend that decides a batch follows it.
#[derive(Debug)]
pub struct Chain<'a> {
    chaining: Chaining,
    refused: Vec<&'a str>,
}

impl<'a> Chain<'a> {
    /// Nothing refused yet.
    pub fn new(chaining: Chaining) -> Self {
        Chain { chaining, refused: Vec::new() }
    }

    /// Whether `request` is not attempted: [`Outcome::Skipped`].
    pub fn skips(&self, request: &AppendRequest) -> bool {
        match self.chaining {
            Chaining::Independent => false,
            Chaining::ByStream => self.refused.contains(&request.stream.as_str()),
            Chaining::Sequence => !self.refused.is_empty(),
        }
    }

    /// Records that `request` was refused.
    pub fn refused(&mut self, request: &'a AppendRequest) {
        self.refused.push(&request.stream);
    }
}

/// What became of one append of a batch.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Its events were written with the versions and positions reported.
    Written(AppendResult),
    /// Every event already stood in the stream as proposed: nothing was written, and this is
    /// the original result.
    Repeated(AppendResult),
    /// Refused by the rules; nothing was written.
    Refused(Error),
    /// Not attempted: an earlier append it depends on (see [`Chaining`]) was refused.
    Skipped,
}

impl Outcome {
    /// The outcome as [`Backend::append`](super::Backend::append) reports it. Only
    /// [`Chaining::ByStream`] and [`Chaining::Sequence`] skip; a skipped append is reported as
    /// a storage error that says so.
    pub fn into_result(self) -> Result<AppendResult, Error> {
        match self {
            Outcome::Written(r) | Outcome::Repeated(r) => Ok(r),
            Outcome::Refused(e) => Err(e),
            Outcome::Skipped => Err(Error::Storage(super::error::StorageError::other(
                "not decided: an earlier append of this stream in the batch was refused",
            ))),
        }
    }
}

/// The state a transaction decides against, as the backend sees it, including what the
/// earlier appends of the batch wrote.
pub trait BatchState {
    /// The last global position (0: none).
    fn head(&self) -> u64;
    /// The stream's last version (0: none).
    fn stream_version(&self, stream: &str) -> u64;
    /// The stored event with this id, if any.
    fn event(&self, id: &Uuid) -> Option<RecordedEvent>;
    /// Records the events [`decide_append`] chose for `request`: they extend its stream and
    /// the global order.
    fn write(&mut self, request: &AppendRequest, events: Vec<RecordedEvent>);
}

/// Decides `requests` in order against `state`, writing each accepted one into it before the
/// next is decided. One outcome per request, in order.
pub fn decide_batch<S: BatchState>(
    state: &mut S,
    requests: &[AppendRequest],
    chaining: Chaining,
) -> Vec<Outcome> {
    let mut chain = Chain::new(chaining);
    requests
        .iter()
        .map(|request| {
            if chain.skips(request) {
                return Outcome::Skipped;
            }
            let existing: Vec<Option<RecordedEvent>> =
                request.events.iter().map(|e| state.event(&e.id)).collect();
            let version = state.stream_version(&request.stream);
            match decide_append(request, version, &existing, state.head()) {
                Ok(AppendDecision::AlreadyAppended(result)) => Outcome::Repeated(result),
                Ok(AppendDecision::Write(events)) => {
                    let result = events.last().map_or(
                        AppendResult { next_expected_version: version, position: state.head() },
                        |e| AppendResult { next_expected_version: e.version, position: e.position },
                    );
                    state.write(request, events);
                    Outcome::Written(result)
                }
                Err(refused) => {
                    chain.refused(request);
                    Outcome::Refused(refused)
                }
            }
        })
        .collect()
}

/// A [`BatchState`] over state loaded for one batch: the heads of the streams it touches, and
/// the stored events that hold any of its ids. What the batch writes is kept here too, for the
/// backend to store once the batch is decided.
/// Lookups are by key (a push may carry 10,000 events), not by scanning.
#[derive(Clone, Debug, Default)]
pub struct LoadedState {
    /// The global head, moved by each write.
    pub head: u64,
    /// Stream versions as loaded (a stream absent here has none), moved by each write.
    pub versions: BTreeMap<String, u64>,
    /// Stored events holding one of the batch's ids, by id, and those the batch wrote.
    pub events: BTreeMap<Uuid, RecordedEvent>,
    /// What the batch wrote, in order: the events of each written append.
    pub written: Vec<RecordedEvent>,
}

impl BatchState for LoadedState {
    fn head(&self) -> u64 {
        self.head
    }
    fn stream_version(&self, stream: &str) -> u64 {
        self.versions.get(stream).copied().unwrap_or(0)
    }
    fn event(&self, id: &Uuid) -> Option<RecordedEvent> {
        self.events.get(id).cloned()
    }
    fn write(&mut self, request: &AppendRequest, events: Vec<RecordedEvent>) {
        let Some(last) = events.last() else { return };
        self.head = last.position;
        self.versions.insert(request.stream.clone(), last.version);
        self.events.extend(events.iter().map(|e| (e.id, e.clone())));
        self.written.extend(events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{EventInput, ExpectedVersion, Value};
    use alloc::{format, vec};

    fn request(stream: &str, n: u32, expected: ExpectedVersion) -> AppendRequest {
        let events = vec![EventInput::new("T", Value::Null).with_id(format!("00000000-0000-4000-8000-{n:012x}"))];
        AppendRequest::new(stream, events, expected, 1024, 0.0, Uuid::nil).unwrap()
    }

    #[test]
    fn by_stream_skips_the_later_appends_of_a_refused_stream_only() {
        let requests = [
            request("a", 1, ExpectedVersion::Exact(5)),
            request("b", 2, ExpectedVersion::Any),
            request("a", 3, ExpectedVersion::Any),
            request("b", 4, ExpectedVersion::Exact(1)),
        ];
        let mut state = LoadedState::default();
        let outcomes = decide_batch(&mut state, &requests, Chaining::ByStream);
        assert!(matches!(outcomes[0], Outcome::Refused(Error::WrongExpectedVersion { actual: 0, .. })));
        assert_eq!(outcomes[1], Outcome::Written(AppendResult { next_expected_version: 1, position: 1 }));
        assert_eq!(outcomes[2], Outcome::Skipped);
        assert_eq!(outcomes[3], Outcome::Written(AppendResult { next_expected_version: 2, position: 2 }));
        assert_eq!(state.written.len(), 2);

        // Independent: the third append stands alone and is written.
        let mut state = LoadedState::default();
        let outcomes = decide_batch(&mut state, &requests, Chaining::Independent);
        assert_eq!(outcomes[2], Outcome::Written(AppendResult { next_expected_version: 1, position: 2 }));
    }

    #[test]
    fn sequence_skips_every_append_after_the_first_refused_one() {
        let requests = [
            request("b", 2, ExpectedVersion::Any),
            request("a", 1, ExpectedVersion::Exact(5)),
            request("b", 4, ExpectedVersion::Exact(1)),
            request("c", 3, ExpectedVersion::Any),
        ];
        let mut state = LoadedState::default();
        let outcomes = decide_batch(&mut state, &requests, Chaining::Sequence);
        assert_eq!(outcomes[0], Outcome::Written(AppendResult { next_expected_version: 1, position: 1 }));
        assert!(matches!(outcomes[1], Outcome::Refused(Error::WrongExpectedVersion { actual: 0, .. })));
        assert_eq!(outcomes[2..], [Outcome::Skipped, Outcome::Skipped]);
        assert_eq!(state.written.len(), 1);
    }

    #[test]
    fn a_repeat_within_one_batch_is_reported_not_written() {
        let requests = [request("a", 1, ExpectedVersion::NoStream), request("a", 1, ExpectedVersion::NoStream)];
        let mut state = LoadedState::default();
        let outcomes = decide_batch(&mut state, &requests, Chaining::ByStream);
        let first = AppendResult { next_expected_version: 1, position: 1 };
        assert_eq!(outcomes, vec![Outcome::Written(first), Outcome::Repeated(first)]);
        assert_eq!(state.written.len(), 1);
    }
}
