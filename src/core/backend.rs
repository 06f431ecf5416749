//! The storage boundary. A backend stores and reads; [`decide_append`](super::decide_append)
//! decides. Every method's effect is atomic: it happens whole or not at all.

use alloc::vec::Vec;

use super::append::AppendRequest;
use super::batch::{Chain, Chaining, Outcome};
use super::error::{Error, StorageError};
use super::event::{AppendResult, Payload, RecordedEvent};
use super::filter::Filter;
use super::notify::Notifier;
use super::value::Value;

/// Which way a read goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Direction {
    /// Oldest first.
    #[default]
    Forward,
    /// Newest first.
    Backward,
}

/// Global positions strictly between `after` and `before`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionRange {
    /// Exclusive lower bound (0: from the first event).
    pub after: u64,
    /// Exclusive upper bound (`u64::MAX`: to the last event).
    pub before: u64,
}

impl PositionRange {
    /// Every position above `after`.
    pub fn after(after: u64) -> Self {
        PositionRange {
            after,
            before: u64::MAX,
        }
    }
}

/// One page of a scan over the global order.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<P = Value> {
    /// The events that matched the filter, in the direction read.
    pub events: Vec<RecordedEvent<P>>,
    /// The position of the last event examined, matching or not (`None`: none was examined).
    pub last_examined: Option<u64>,
    /// No event in the range lies beyond `last_examined` in the direction read.
    pub exhausted: bool,
}

impl<P> Default for Page<P> {
    fn default() -> Self {
        Page {
            events: Vec::new(),
            last_examined: None,
            exhausted: false,
        }
    }
}

/// A saved state of a stream's projection, as of one of its versions.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// The stream version the state reflects: at most the stream's version when saved.
    pub version: u64,
    /// The state.
    pub state: Value,
}

impl Snapshot {
    /// Whether the snapshot still reflects its stream once the events from version `changed`
    /// on are no longer the ones it saw (sync moved pending events up past pulled ones, or
    /// moved them into a conflict): only when it stops before them. A snapshot that does not
    /// hold is removed in the transaction that made the change.
    pub fn holds_until(&self, changed: u64) -> bool {
        self.version < changed
    }
}

/// Where events live, and the transaction boundary of every append.
///
/// Futures need not be `Send`: on the web, storage handles are `!Send`.
#[allow(async_fn_in_trait)]
pub trait Backend {
    /// The form in which reads hand out event data and metadata.
    type Payload: Payload;

    /// The last global position, 0 when the store holds no event.
    async fn head(&self) -> Result<u64, StorageError>;

    /// Applies `requests` in order inside one storage transaction. Each is decided by
    /// [`decide_append`](super::decide_append) against the state the ones before it left, and
    /// has its own outcome: one that is refused writes nothing and does not stop the others.
    /// `Err` means the transaction failed and nothing of any request was written.
    async fn append(
        &self,
        requests: &[AppendRequest],
    ) -> Result<Vec<Result<AppendResult, Error>>, StorageError>;

    /// Applies `requests` in order as [`append`](Backend::append) does, except that once one
    /// is refused, `chaining` says which of the later ones are not attempted: those are
    /// reported as [`Outcome::Skipped`] does, and nothing they hold is written.
    ///
    /// The default runs one transaction per request, and so holds for every backend; a
    /// backend overrides it to decide the whole slice in one transaction.
    async fn append_chained(
        &self,
        requests: &[AppendRequest],
        chaining: Chaining,
    ) -> Result<Vec<Result<AppendResult, Error>>, StorageError> {
        if chaining == Chaining::Independent {
            return self.append(requests).await;
        }
        let mut chain = Chain::new(chaining);
        let mut outcomes = Vec::with_capacity(requests.len());
        for request in requests {
            if chain.skips(request) {
                outcomes.push(Outcome::Skipped.into_result());
                continue;
            }
            let Some(outcome) = self.append(::core::slice::from_ref(request)).await?.pop() else {
                return Err(StorageError::other("the backend reported no outcome for an append"));
            };
            if outcome.is_err() {
                chain.refused(request);
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// The stream's last version, 0 when it has no events.
    async fn stream_version(&self, stream: &str) -> Result<u64, StorageError>;

    /// The events of `stream` from version `from` on (inclusive; beyond the last version means
    /// from the last, going backward), going in `direction`: `limit` of them, or all there are
    /// when fewer. A backend that stores events together (IndexedDB's runs) may hand over more
    /// than `limit`, in the same order, so that a paged read never reads a record twice; the
    /// readers take what they asked for.
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent<Self::Payload>>, StorageError>;

    /// Examines `limit` positions of `range` in `direction` (all there are when fewer) and
    /// returns the events among them matching `filter`. Examining a bounded number keeps a
    /// page's cost bounded however rare matches are; a backend that stores events together may
    /// examine up to the end of the last record it read (`last_examined` says where it stopped).
    async fn read_all(
        &self,
        range: PositionRange,
        direction: Direction,
        limit: usize,
        filter: &Filter,
    ) -> Result<Page<Self::Payload>, StorageError>;

    /// The position saved under checkpoint `name`.
    async fn checkpoint(&self, name: &str) -> Result<Option<u64>, StorageError>;

    /// Saves `position` under checkpoint `name`, replacing what was there.
    async fn set_checkpoint(&self, name: &str, position: u64) -> Result<(), StorageError>;

    /// The snapshot saved for `stream`.
    async fn snapshot(&self, stream: &str) -> Result<Option<Snapshot>, StorageError>;

    /// Saves `snapshot` for `stream`, replacing what was there, when its version is at most
    /// the stream's version, read in the same transaction; else `InvalidArgument` on
    /// `snapshot.version` and nothing written.
    async fn save_snapshot(&self, stream: &str, snapshot: &Snapshot) -> Result<(), Error>;

    /// Reports commits made outside this backend object (other tabs, workers) to `notifier`.
    /// Commits made through this object are reported by the store itself.
    fn watch(&self, notifier: &Notifier) {
        let _ = notifier;
    }

    /// Whether the storage closed itself underneath because another context opened it at a
    /// newer schema: the store then closes with [`Error::ClosedByUpgrade`].
    fn superseded(&self) -> bool {
        false
    }

    /// Releases the storage. No other call follows.
    fn close(&self) {}
}

/// The check [`Backend::save_snapshot`] applies, shared by every backend (annals-server's
/// too): `Ok` when `snapshot.version` is at most `stream_version`.
pub fn check_snapshot_version(
    snapshot: &Snapshot,
    stream_version: u64,
) -> Result<(), Error> {
    if snapshot.version > stream_version {
        return Err(Error::invalid(
            "snapshot.version",
            alloc::format!(
                "is {}, beyond the stream's version {stream_version}",
                snapshot.version
            ),
        ));
    }
    Ok(())
}
