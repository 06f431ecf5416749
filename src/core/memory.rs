//! The memory backend: every target, no persistence. Each call runs without yielding, so
//! each is atomic by construction.

use ::core::cell::RefCell;
use alloc::{collections::BTreeMap, string::String, vec::Vec};

use super::append::AppendRequest;
use super::batch::{decide_batch, BatchState, Chaining};
use super::backend::{check_snapshot_version, Backend, Direction, Page, PositionRange, Snapshot};
use super::error::{Error, StorageError};
use super::event::{AppendResult, RecordedEvent};
use super::filter::Filter;
use super::value::Value;
use uuid::Uuid;

/// Events kept in memory, owned by the store that holds this backend and shared with nothing.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    state: RefCell<State>,
}

#[derive(Debug, Default)]
struct State {
    /// `events[p - 1]` is the event at position `p`.
    events: Vec<RecordedEvent>,
    /// A stream's positions: `streams[s][v - 1]` is the position of version `v`.
    streams: BTreeMap<String, Vec<u64>>,
    ids: BTreeMap<Uuid, u64>,
    checkpoints: BTreeMap<String, u64>,
    snapshots: BTreeMap<String, Snapshot>,
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl State {
    fn event(&self, position: u64) -> &RecordedEvent {
        &self.events[(position - 1) as usize]
    }

    fn stream_version(&self, stream: &str) -> u64 {
        self.streams.get(stream).map_or(0, |p| p.len() as u64)
    }
}

impl BatchState for State {
    fn head(&self) -> u64 {
        self.events.len() as u64
    }
    fn stream_version(&self, stream: &str) -> u64 {
        State::stream_version(self, stream)
    }
    fn event(&self, id: &Uuid) -> Option<RecordedEvent> {
        self.ids.get(id).map(|&p| State::event(self, p).clone())
    }
    fn write(&mut self, request: &AppendRequest, events: Vec<RecordedEvent>) {
        let positions = self.streams.entry(request.stream.clone()).or_default();
        positions.extend(events.iter().map(|e| e.position));
        for event in events {
            self.ids.insert(event.id, event.position);
            self.events.push(event);
        }
    }
}

impl Backend for MemoryBackend {
    type Payload = Value;

    async fn head(&self) -> Result<u64, StorageError> {
        Ok(self.state.borrow().events.len() as u64)
    }

    async fn append(
        &self,
        requests: &[AppendRequest],
    ) -> Result<Vec<Result<AppendResult, Error>>, StorageError> {
        let mut state = self.state.borrow_mut();
        let outcomes = decide_batch(&mut *state, requests, Chaining::Independent);
        let outcomes = outcomes.into_iter().map(|o| o.into_result()).collect();
        Ok(outcomes)
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, StorageError> {
        Ok(self.state.borrow().stream_version(stream))
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        let state = self.state.borrow();
        let Some(positions) = state.streams.get(stream) else {
            return Ok(Vec::new());
        };
        let len = positions.len() as u64;
        let versions: Vec<u64> = match direction {
            Direction::Forward => (from.max(1)..=len).take(limit).collect(),
            Direction::Backward => (1..=from.min(len)).rev().take(limit).collect(),
        };
        Ok(versions
            .into_iter()
            .map(|v| state.event(positions[(v - 1) as usize]).clone())
            .collect())
    }

    async fn read_all(
        &self,
        range: PositionRange,
        direction: Direction,
        limit: usize,
        filter: &Filter,
    ) -> Result<Page, StorageError> {
        let state = self.state.borrow();
        let first = range.after.saturating_add(1);
        let last = range
            .before
            .saturating_sub(1)
            .min(state.events.len() as u64);
        let mut page = Page::default();
        if first > last {
            page.exhausted = true;
            return Ok(page);
        }
        let examined: Vec<u64> = match direction {
            Direction::Forward => (first..=last).take(limit).collect(),
            Direction::Backward => (first..=last).rev().take(limit).collect(),
        };
        page.last_examined = examined.last().copied();
        page.exhausted = examined.len() as u64 == last - first + 1;
        page.events = examined
            .into_iter()
            .map(|p| state.event(p))
            .filter(|e| filter.matches(e))
            .cloned()
            .collect();
        Ok(page)
    }

    async fn checkpoint(&self, name: &str) -> Result<Option<u64>, StorageError> {
        Ok(self.state.borrow().checkpoints.get(name).copied())
    }

    async fn set_checkpoint(&self, name: &str, position: u64) -> Result<(), StorageError> {
        self.state
            .borrow_mut()
            .checkpoints
            .insert(name.into(), position);
        Ok(())
    }

    async fn snapshot(&self, stream: &str) -> Result<Option<Snapshot>, StorageError> {
        Ok(self.state.borrow().snapshots.get(stream).cloned())
    }

    async fn save_snapshot(&self, stream: &str, snapshot: &Snapshot) -> Result<(), Error> {
        let mut state = self.state.borrow_mut();
        check_snapshot_version(snapshot, state.stream_version(stream))?;
        state.snapshots.insert(stream.into(), snapshot.clone());
        Ok(())
    }
}
