//! The backend a JavaScript store runs on, chosen when it opens.

use alloc::vec::Vec;

use crate::core::{
    AppendRequest, AppendResult, Backend, Direction, Error, Filter, MemoryBackend, Notifier, Page,
    PositionRange, RecordedEvent, Snapshot, StorageError,
};
use crate::idb::IdbBackend;

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

impl Backend for AnyBackend {
    async fn head(&self) -> Result<u64, StorageError> {
        dispatch!(self, b => b.head().await)
    }
    async fn append(
        &self,
        requests: &[AppendRequest],
    ) -> Result<Vec<Result<AppendResult, Error>>, StorageError> {
        dispatch!(self, b => b.append(requests).await)
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
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        dispatch!(self, b => b.read_stream(stream, from, direction, limit).await)
    }
    async fn read_all(
        &self,
        range: PositionRange,
        direction: Direction,
        limit: usize,
        filter: &Filter,
    ) -> Result<Page, StorageError> {
        dispatch!(self, b => b.read_all(range, direction, limit, filter).await)
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
    fn close(&self) {
        dispatch!(self, b => b.close())
    }
}
