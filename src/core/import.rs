//! Importing events exported from another store. Each event is appended with its own id and
//! with its original version as the expected one (the version before it), so an event lands
//! at the version it had, an event already there is skipped by the idempotency rule, and a
//! stream whose history differs refuses it.

use alloc::{format, string::String, vec::Vec};

use super::append::AppendRequest;
use super::error::Error;
use super::event::EventInput;
use super::store::Store;
use super::backend::Backend;
use super::version::ExpectedVersion;
use uuid::Uuid;

/// An event as an export holds it: what it was, where it stood, and when it was recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedEvent {
    /// The stream it belongs to.
    pub stream: String,
    /// Its version in that stream, from 1.
    pub version: u64,
    /// Its type, data, metadata and id (required: the id is what makes an import idempotent).
    pub event: EventInput,
    /// When it was recorded, in milliseconds since the Unix epoch: kept as it was.
    pub recorded_at: f64,
}

impl ImportedEvent {
    /// The append that puts this event at its version; errors name it `events[index]`.
    fn request(self, index: u64, max_event_bytes: usize) -> Result<AppendRequest, Error> {
        let at = format!("events[{index}]");
        if self.event.id.is_none() {
            return Err(Error::invalid(format!("{at}.id"), "must be given: an import keeps each event's id"));
        }
        if self.version == 0 {
            return Err(Error::invalid(format!("{at}.version"), "must be at least 1"));
        }
        let expected = ExpectedVersion::Exact(self.version - 1);
        // The id is given: `new_id` is never called (a `fn` pointer, as the store passes).
        AppendRequest::new(&self.stream, alloc::vec![self.event], expected, max_event_bytes, self.recorded_at, Uuid::nil as fn() -> Uuid)
            .map_err(|e| match e {
                // The append's own names (`stream`, `events[0].type`) become the import's.
                Error::InvalidArgument { field, reason } => {
                    let inner = field.strip_prefix("events[0]").unwrap_or(&field);
                    let sep = if inner.is_empty() || inner.starts_with('.') { "" } else { "." };
                    Error::invalid(format!("{at}{sep}{inner}"), reason)
                }
                other => other,
            })
    }
}

impl<B: Backend> Store<B> {
    /// Imports `events`, the one at `first` and those after it in an export, each as its own
    /// append at its original version (see the module). Invalid input is refused before
    /// anything is written. The appends share transactions; on the first refusal (a stream
    /// whose history differs, an id standing for another event) its error is returned: what
    /// was written stays, and importing the same events again skips it.
    pub async fn import(&self, events: Vec<ImportedEvent>, first: u64) -> Result<(), Error> {
        self.ensure_open()?;
        let max = self.config.max_event_bytes;
        let requests = events
            .into_iter()
            .zip(first..)
            .map(|(event, index)| event.request(index, max))
            .collect::<Result<Vec<_>, _>>()?;
        let outcomes = self.group.append_all(&self.backend, &self.notifier, &|| self.ensure_open(), requests).await;
        outcomes.into_iter().try_for_each(|outcome| outcome.map(drop))
    }
}
