//! What a store's backend provides for sync, beyond [`Backend`]. Each method's effect is
//! atomic; the decisions are the core's ([`plan_pull`](super::plan_pull),
//! [`conflicting_entries`](super::conflicting_entries), [`rebase_request`](super::rebase_request)).

use alloc::{string::String, vec::Vec};

use super::conflict::Conflict;
use super::protocol::{PendingAppend, Refusal};
use crate::core::backend::Backend;
use crate::core::error::{Error, StorageError};
use crate::core::event::{AppendResult, RecordedEvent};
use crate::core::version::ExpectedVersion;

/// One pending append in the outbox. Written by the transaction that appends its events,
/// removed by the one that confirms its first event or moves it into a conflict.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEntry {
    /// The local position of its first event; its events hold `key..key + count`.
    pub key: u64,
    /// The stream appended to.
    pub stream: String,
    /// What the caller expected.
    pub expected: ExpectedVersion,
    /// How many events.
    pub count: u64,
}

/// The pending appends of a store written before stores kept an outbox (IndexedDB schema 1):
/// every event was appended on the device and never pushed. Each run of consecutive positions
/// of one stream with one `recordedAt` (the events of one append share it) becomes one pending
/// append expecting `any` (no server existed to expect anything of). Fed in position order.
/// Only the append being read is held (memory stays bounded however many events there are).
#[derive(Debug, Default)]
pub struct LegacyOutbox {
    last: Option<OutboxEntry>,
    last_recorded_at: f64,
}

impl LegacyOutbox {
    /// Adds the event at `position`; returns the key of the pending append it joined.
    pub fn add(&mut self, position: u64, stream: &str, recorded_at: f64) -> u64 {
        if let Some(last) = &mut self.last {
            if last.stream == stream && last.key + last.count == position && self.last_recorded_at == recorded_at {
                last.count += 1;
                return last.key;
            }
        }
        self.last_recorded_at = recorded_at;
        self.last = Some(OutboxEntry { key: position, stream: stream.into(), expected: ExpectedVersion::Any, count: 1 });
        position
    }
}

/// A backend a store can sync: it keeps an outbox of pending appends (every append it
/// commits adds one), the sync cursor, and conflicts.
#[allow(async_fn_in_trait)]
pub trait SyncBackend: Backend {
    /// The server position up to which every server event is in this store (0: none).
    async fn cursor(&self) -> Result<u64, StorageError>;

    /// How many events are pending: in the outbox, not yet confirmed.
    async fn pending_count(&self) -> Result<u64, StorageError>;

    /// Up to `limit` pending appends whose key is above `after`, in local order, with their
    /// events as stored.
    async fn pending(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<PendingAppend<Self::Payload>>, StorageError>;

    /// Applies a page of server events (server order, `server_position` set) in one
    /// transaction, as [`plan_pull`](super::plan_pull) decides against the state read in it,
    /// and moves the cursor. Events at or below the cursor are skipped, so applying a page
    /// twice changes nothing. `Ok(Some(head))`: events were added, `head` is the new local head.
    /// An `Error::Sync` when the page contradicts this store; nothing is applied then.
    async fn apply_pull(&self, page: Vec<RecordedEvent<Self::Payload>>) -> Result<Option<u64>, Error>;

    /// Moves pending append `key` and every later pending append of its stream into one
    /// conflict, in one transaction: their events leave the stream (tombstones keep their local
    /// positions), their outbox entries go. `Ok(false)` when `key` is no longer pending (another
    /// context recorded it, or it was confirmed): nothing changes.
    async fn record_conflict(&self, key: u64, refusal: &Refusal) -> Result<bool, StorageError>;

    /// Every unresolved conflict, oldest first.
    async fn conflicts(&self) -> Result<Vec<Conflict<Self::Payload>>, StorageError>;

    /// Resolves conflict `key` in one transaction: deletes it and, with `rebase`, appends its
    /// events at the end of its stream (see [`rebase_request`](super::rebase_request)), adding
    /// them to the outbox. `Ok(None)` when there is no such conflict (already resolved) or when
    /// discarding. A refused rebase (`DuplicateEventId`) leaves the conflict as it was.
    async fn resolve(
        &self,
        key: u64,
        rebase: bool,
        recorded_at: f64,
    ) -> Result<Option<AppendResult>, Error>;
}
