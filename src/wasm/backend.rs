//! The backend a JavaScript store runs on, chosen when it opens.

use alloc::vec::Vec;

use crate::js::JsPayload;

use crate::core::sync::{Conflict, PendingAppend, Refusal, SyncBackend};
use crate::core::{
    AppendRequest, AppendResult, Backend, Chaining, Direction, Error, Filter, MemoryBackend, Notifier, Page,
    PositionRange, RecordedEvent, Snapshot, StorageError,
};
use crate::idb::IdbBackend;
use crate::js::value_to_js;

/// Memory or IndexedDB, behind one type so the bindings are written once.
#[derive(Debug)]
pub enum AnyBackend {
    /// `storage: 'memory'`.
    Memory(MemoryBackend),
    /// `storage: 'indexeddb'`.
    IndexedDb(IdbBackend),
}

macro_rules! dispatch {
    ($self:ident, $b:ident => $call:expr) => {
        match $self {
            AnyBackend::Memory($b) => $call,
            AnyBackend::IndexedDb($b) => $call,
        }
    };
}

/// The memory backend's events with their data and metadata as JavaScript values.
fn to_js(events: Vec<RecordedEvent>) -> Vec<RecordedEvent<JsPayload>> {
    events.into_iter().map(|e| e.map_payload(|v| JsPayload::Value(value_to_js(&v)))).collect()
}

/// Reads hand out JavaScript values: IndexedDB's as stored, memory's converted.
impl Backend for AnyBackend {
    type Payload = JsPayload;

    async fn head(&self) -> Result<u64, StorageError> {
        dispatch!(self, b => b.head().await)
    }
    async fn append(
        &self,
        requests: &[AppendRequest],
    ) -> Result<Vec<Result<AppendResult, Error>>, StorageError> {
        dispatch!(self, b => b.append(requests).await)
    }
    async fn append_chained(
        &self,
        requests: &[AppendRequest],
        chaining: Chaining,
    ) -> Result<Vec<Result<AppendResult, Error>>, StorageError> {
        dispatch!(self, b => b.append_chained(requests, chaining).await)
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, StorageError> {
        dispatch!(self, b => b.stream_version(stream).await)
    }
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent<JsPayload>>, StorageError> {
        match self {
            AnyBackend::Memory(b) => b.read_stream(stream, from, direction, limit).await.map(to_js),
            AnyBackend::IndexedDb(b) => b.read_stream(stream, from, direction, limit).await,
        }
    }
    async fn read_all(
        &self,
        range: PositionRange,
        direction: Direction,
        limit: usize,
        filter: &Filter,
    ) -> Result<Page<JsPayload>, StorageError> {
        match self {
            AnyBackend::Memory(b) => {
                let page = b.read_all(range, direction, limit, filter).await?;
                Ok(Page { events: to_js(page.events), last_examined: page.last_examined, exhausted: page.exhausted })
            }
            AnyBackend::IndexedDb(b) => b.read_all(range, direction, limit, filter).await,
        }
    }
    async fn checkpoint(&self, name: &str) -> Result<Option<u64>, StorageError> {
        dispatch!(self, b => b.checkpoint(name).await)
    }
    async fn set_checkpoint(&self, name: &str, position: u64) -> Result<(), StorageError> {
        dispatch!(self, b => b.set_checkpoint(name, position).await)
    }
    async fn snapshot(&self, stream: &str) -> Result<Option<Snapshot>, StorageError> {
        dispatch!(self, b => b.snapshot(stream).await)
    }
    async fn save_snapshot(&self, stream: &str, snapshot: &Snapshot) -> Result<(), Error> {
        dispatch!(self, b => b.save_snapshot(stream, snapshot).await)
    }
    fn watch(&self, notifier: &Notifier) {
        dispatch!(self, b => b.watch(notifier))
    }
    fn superseded(&self) -> bool {
        dispatch!(self, b => b.superseded())
    }
    fn close(&self) {
        dispatch!(self, b => b.close())
    }
}

/// Sync through either backend; the memory backend's payloads converted at the boundary.
impl SyncBackend for AnyBackend {
    async fn cursor(&self) -> Result<u64, StorageError> {
        dispatch!(self, b => b.cursor().await)
    }
    async fn pending_count(&self) -> Result<u64, StorageError> {
        dispatch!(self, b => b.pending_count().await)
    }
    async fn pending(&self, after: u64, limit: usize) -> Result<Vec<PendingAppend<JsPayload>>, StorageError> {
        match self {
            AnyBackend::Memory(b) => Ok(b
                .pending(after, limit)
                .await?
                .into_iter()
                .map(|a| PendingAppend { events: to_js(a.events), key: a.key, stream: a.stream, expected: a.expected })
                .collect()),
            AnyBackend::IndexedDb(b) => b.pending(after, limit).await,
        }
    }
    async fn apply_pull(&self, page: Vec<RecordedEvent<JsPayload>>) -> Result<Option<u64>, Error> {
        match self {
            AnyBackend::Memory(b) => {
                let page = page.iter().map(RecordedEvent::to_values).collect::<Result<Vec<_>, _>>()?;
                b.apply_pull(page).await
            }
            AnyBackend::IndexedDb(b) => b.apply_pull(page).await,
        }
    }
    async fn record_conflict(&self, key: u64, refusal: &Refusal) -> Result<bool, StorageError> {
        dispatch!(self, b => b.record_conflict(key, refusal).await)
    }
    async fn conflicts(&self) -> Result<Vec<Conflict<JsPayload>>, StorageError> {
        match self {
            AnyBackend::Memory(b) => Ok(b
                .conflicts()
                .await?
                .into_iter()
                .map(|c| Conflict {
                    events: to_js(c.events),
                    key: c.key,
                    stream: c.stream,
                    expected: c.expected,
                    actual: c.actual,
                    reason: c.reason,
                })
                .collect()),
            AnyBackend::IndexedDb(b) => b.conflicts().await,
        }
    }
    async fn resolve(&self, key: u64, rebase: bool, recorded_at: f64) -> Result<Option<AppendResult>, Error> {
        dispatch!(self, b => b.resolve(key, rebase, recorded_at).await)
    }
}
