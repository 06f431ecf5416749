//! Conflicts: pending appends the server refused, kept aside until the app resolves them.

use alloc::{collections::BTreeSet, rc::Rc, string::String, vec::Vec};

use super::backend::{OutboxEntry, SyncBackend};
use super::protocol::{ConflictReason, Refusal};
use crate::core::append::{AppendRequest, ProposedEvent};
use crate::core::backend::Backend;
use crate::core::error::{Error, StorageError};
use crate::core::event::{Payload, RecordedEvent};
use crate::core::store::Store;
use crate::core::version::ExpectedVersion;

/// A refused pending append and every later pending append of its stream, as they stood when
/// refused. Out of the stream until resolved; never dropped silently.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict<P> {
    /// Its key: the local position of the refused append's first event.
    pub key: u64,
    /// The stream.
    pub stream: String,
    /// What the refused append expected.
    pub expected: ExpectedVersion,
    /// The stream's version on the server when it refused, when known.
    pub actual: Option<u64>,
    /// Why it was refused.
    pub reason: ConflictReason,
    /// The events moved out of the stream, in version order.
    pub events: Vec<RecordedEvent<P>>,
}

impl<P> Conflict<P> {
    /// The conflict a refusal of `entries[0]` makes, `entries` being what
    /// [`conflicting_entries`] chose and `events` their events in order.
    pub fn new(entries: &[&OutboxEntry], refusal: &Refusal, events: Vec<RecordedEvent<P>>) -> Self {
        let first = entries.first();
        Conflict {
            key: first.map_or(0, |e| e.key),
            stream: first.map(|e| e.stream.clone()).unwrap_or_default(),
            expected: first.map_or(ExpectedVersion::Any, |e| e.expected),
            actual: refusal.actual,
            reason: refusal.reason,
            events,
        }
    }

    /// The stream's version once the conflict's events left it: they are its last versions.
    pub fn remaining_version(&self) -> u64 {
        self.events.iter().map(|e| e.version).min().map_or(0, |v| v - 1)
    }
}

/// The outbox entries a refusal of pending append `key` moves into a conflict: that one and
/// every later one of its stream, in order. `entries` is the outbox from `key` on, in order;
/// `None` when `key` is not pending (any more).
pub fn conflicting_entries(key: u64, entries: &[OutboxEntry]) -> Option<Vec<&OutboxEntry>> {
    let refused = entries.iter().find(|e| e.key == key)?;
    Some(entries.iter().filter(|e| e.key >= key && e.stream == refused.stream).collect())
}

/// The append a rebase makes: the conflict's events (same ids, types, data and metadata) as
/// one append at the end of the stream, whose version is `stream_version` now, expecting
/// exactly that version, so that the server accepts it only where the device saw it land.
pub fn rebase_request<P: Payload>(
    conflict: &Conflict<P>,
    stream_version: u64,
    recorded_at: f64,
) -> Result<AppendRequest, StorageError> {
    let events = conflict
        .events
        .iter()
        .map(|e| {
            Ok(ProposedEvent {
                id: e.id,
                id_generated: false,
                event_type: e.event_type.clone(),
                data: e.data.to_value("data")?,
                metadata: e.metadata.to_value("metadata")?,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    Ok(AppendRequest {
        stream: conflict.stream.clone(),
        events,
        expected: ExpectedVersion::Exact(stream_version),
        recorded_at,
    })
}

/// What the app decides about a conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Append the events again after the stream's events as this store shows them now.
    Rebase,
    /// Remove them for good.
    Discard,
}

impl Resolution {
    /// `'rebase'` or `'discard'`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "rebase" => Some(Resolution::Rebase),
            "discard" => Some(Resolution::Discard),
            _ => None,
        }
    }
}

/// The store's unresolved conflicts, each yielded once, then those recorded later, as they
/// are recorded (by this context's sync, or noticed after another context's commit).
#[derive(Debug)]
pub struct ConflictFeed<B: Backend> {
    store: Rc<Store<B>>,
    seen: core::cell::RefCell<BTreeSet<u64>>,
    closed: core::cell::Cell<bool>,
}

impl<B: SyncBackend> ConflictFeed<B> {
    /// A feed of `store`'s conflicts.
    pub fn new(store: Rc<Store<B>>) -> Result<Self, Error> {
        store.ensure_open()?;
        Ok(ConflictFeed { store, seen: Default::default(), closed: Default::default() })
    }

    /// The next conflict not yielded yet, waiting for one if need be; `None` once closed.
    pub async fn next(&self) -> Result<Option<Conflict<B::Payload>>, Error> {
        loop {
            if self.closed.get() || self.store.is_closed() {
                return Ok(None);
            }
            // Taken before reading: a conflict recorded meanwhile is not missed.
            let (conflicts_seq, head_seq) = (self.store.conflict_signal.seq(), self.store.notifier.seq());
            let all = match self.store.conflicts().await {
                Err(_) if self.closed.get() || self.store.is_closed() => return Ok(None),
                result => result?,
            };
            if let Some(conflict) = all.into_iter().find(|c| !self.seen.borrow().contains(&c.key)) {
                self.seen.borrow_mut().insert(conflict.key);
                return Ok(Some(conflict));
            }
            crate::core::select::first(
                self.store.conflict_signal.changed(conflicts_seq),
                self.store.notifier.changed(head_seq),
            )
            .await;
        }
    }

    /// Ends the feed: a pending [`next`](Self::next) returns `None`.
    pub fn close(&self) {
        self.closed.set(true);
        self.store.conflict_signal.wake_all();
    }
}
