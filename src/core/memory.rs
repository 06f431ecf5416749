//! The memory backend: every target, no persistence. Each call runs without yielding, so
//! each is atomic by construction. It is the reference for every backend method, sync
//! included.

use ::core::cell::RefCell;
use alloc::{collections::BTreeMap, string::String, vec::Vec};

use super::append::AppendRequest;
use super::backend::{check_snapshot_version, Backend, Direction, Page, PositionRange, Snapshot};
use super::batch::{decide_batch, BatchState, Chaining, Outcome};
use super::error::{Error, StorageError};
use super::event::{corrupt, AppendResult, RecordedEvent};
use super::filter::Filter;
use super::sync::{
    conflicting_entries, plan_pull, rebase_request, Conflict, OutboxEntry, PendingAppend, PendingEvent,
    Refusal, StreamSync, SyncBackend,
};
use super::value::Value;
use uuid::Uuid;

/// Events kept in memory, owned by the store that holds this backend and shared with nothing.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    state: RefCell<State>,
}

#[derive(Debug, Default)]
struct State {
    /// `events[p - 1]` is the event at position `p`; `None` is a tombstone (moved into a
    /// conflict).
    events: Vec<Option<RecordedEvent>>,
    streams: BTreeMap<String, StreamState>,
    ids: BTreeMap<Uuid, u64>,
    checkpoints: BTreeMap<String, u64>,
    /// A stream's snapshot; `None` once sync removed it (the entry stays: removing it from the
    /// map would bring the map's removal code into the wasm module for nothing).
    snapshots: BTreeMap<String, Option<Snapshot>>,
    /// Pending appends by key (the local position of their first event).
    outbox: BTreeMap<u64, OutboxEntry>,
    /// Events in the outbox.
    pending: u64,
    conflicts: BTreeMap<u64, Conflict<Value>>,
    cursor: u64,
}

#[derive(Debug, Default)]
struct StreamState {
    /// `positions[v - 1]` is the position of version `v`.
    positions: Vec<u64>,
    /// Versions `1..=confirmed` are confirmed by the server.
    confirmed: u64,
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl State {
    fn event(&self, position: u64) -> Result<&RecordedEvent, StorageError> {
        self.events
            .get((position - 1) as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| corrupt("position", "points at no event"))
    }

    fn stream_version(&self, stream: &str) -> u64 {
        self.streams.get(stream).map_or(0, |s| s.positions.len() as u64)
    }

    /// Removes `stream`'s snapshot when it does not hold once the stream's events from version
    /// `changed` on changed ([`Snapshot::holds_until`]).
    fn drop_outlived_snapshot(&mut self, stream: &str, changed: u64) {
        if let Some(slot) = self.snapshots.get_mut(stream) {
            if slot.as_ref().is_some_and(|s| !s.holds_until(changed)) {
                *slot = None;
            }
        }
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
        self.ids.get(id).and_then(|&p| State::event(self, p).ok()).cloned()
    }
    fn write(&mut self, request: &AppendRequest, events: Vec<RecordedEvent>) {
        let Some(first) = events.first() else { return };
        self.outbox.insert(
            first.position,
            OutboxEntry {
                key: first.position,
                stream: request.stream.clone(),
                expected: request.expected,
                count: events.len() as u64,
            },
        );
        self.pending += events.len() as u64;
        let stream = self.streams.entry(request.stream.clone()).or_default();
        stream.positions.extend(events.iter().map(|e| e.position));
        for event in events {
            self.ids.insert(event.id, event.position);
            self.events.push(Some(event));
        }
    }
}

fn outcome_result(outcome: Outcome) -> Result<AppendResult, Error> {
    outcome.into_result()
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
        self.append_chained(requests, Chaining::Independent).await
    }

    async fn append_chained(
        &self,
        requests: &[AppendRequest],
        chaining: Chaining,
    ) -> Result<Vec<Result<AppendResult, Error>>, StorageError> {
        let mut state = self.state.borrow_mut();
        let outcomes = decide_batch(&mut *state, requests, chaining);
        Ok(outcomes.into_iter().map(outcome_result).collect())
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
        let Some(positions) = state.streams.get(stream).map(|s| &s.positions) else {
            return Ok(Vec::new());
        };
        let len = positions.len() as u64;
        let versions: Vec<u64> = match direction {
            Direction::Forward => (from.max(1)..=len).take(limit).collect(),
            Direction::Backward => (1..=from.min(len)).rev().take(limit).collect(),
        };
        versions
            .into_iter()
            .map(|v| state.event(positions[(v - 1) as usize]).cloned())
            .collect()
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
            .filter_map(|p| state.events[(p - 1) as usize].as_ref())
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
        Ok(self.state.borrow().snapshots.get(stream).cloned().flatten())
    }

    async fn save_snapshot(&self, stream: &str, snapshot: &Snapshot) -> Result<(), Error> {
        let mut state = self.state.borrow_mut();
        check_snapshot_version(snapshot, state.stream_version(stream))?;
        state.snapshots.insert(stream.into(), Some(snapshot.clone()));
        Ok(())
    }
}

impl SyncBackend for MemoryBackend {
    async fn cursor(&self) -> Result<u64, StorageError> {
        Ok(self.state.borrow().cursor)
    }

    async fn pending_count(&self) -> Result<u64, StorageError> {
        Ok(self.state.borrow().pending)
    }

    async fn pending(&self, after: u64, limit: usize) -> Result<Vec<PendingAppend<Value>>, StorageError> {
        let state = self.state.borrow();
        state
            .outbox
            .range(after.saturating_add(1)..)
            .take(limit)
            .map(|(_, entry)| {
                let events = (entry.key..entry.key + entry.count)
                    .map(|p| state.event(p).cloned())
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(PendingAppend { key: entry.key, stream: entry.stream.clone(), expected: entry.expected, events })
            })
            .collect()
    }

    async fn apply_pull(&self, page: Vec<RecordedEvent>) -> Result<Option<u64>, Error> {
        let mut state = self.state.borrow_mut();
        let mut streams: Vec<(String, StreamSync)> = Vec::new();
        for event in &page {
            if streams.iter().any(|(s, _)| *s == event.stream) {
                continue;
            }
            let sync = match state.streams.get(&event.stream) {
                None => StreamSync::default(),
                Some(s) => StreamSync {
                    confirmed: s.confirmed,
                    pending: s.positions[s.confirmed as usize..]
                        .iter()
                        .map(|&p| state.event(p).map(|e| PendingEvent { id: e.id, position: p, version: e.version }))
                        .collect::<Result<_, _>>()?,
                },
            };
            streams.push((event.stream.clone(), sync));
        }
        let head = state.events.len() as u64;
        let plan = plan_pull(page, state.cursor, head, streams, |id| state.ids.contains_key(id))
            .map_err(Error::Sync)?;
        for update in &plan.updates {
            let event = state.events[(update.position - 1) as usize]
                .as_mut()
                .ok_or_else(|| corrupt("position", "points at no event"))?;
            event.version = update.version;
            if update.server_position.is_some() {
                event.server_position = update.server_position;
            }
        }
        let added = !plan.inserts.is_empty();
        for event in plan.inserts {
            state.ids.insert(event.id, event.position);
            state.events.push(Some(event));
        }
        for stream in plan.streams {
            if let Some(changed) = stream.changed_from {
                state.drop_outlived_snapshot(&stream.stream, changed);
            }
            let s = state.streams.entry(stream.stream).or_default();
            s.positions.truncate((stream.from - 1) as usize);
            s.positions.extend(stream.positions);
            s.confirmed = stream.confirmed;
        }
        for position in &plan.confirmed {
            state.outbox.remove(position);
        }
        state.pending -= plan.confirmed.len() as u64;
        state.cursor = plan.cursor;
        Ok(added.then_some(plan.head))
    }

    async fn record_conflict(&self, key: u64, refusal: &Refusal) -> Result<bool, StorageError> {
        let mut state = self.state.borrow_mut();
        let entries: Vec<OutboxEntry> = state.outbox.range(key..).map(|(_, e)| e.clone()).collect();
        let Some(chosen) = conflicting_entries(key, &entries) else { return Ok(false) };
        let events = chosen
            .iter()
            .flat_map(|e| e.key..e.key + e.count)
            .map(|p| state.event(p).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        let conflict = Conflict::new(&chosen, refusal, events);
        let keep = conflict.remaining_version() as usize;
        let stream = state
            .streams
            .get_mut(&conflict.stream)
            .ok_or_else(|| corrupt("stream", "of a pending append has no events"))?;
        // The conflict's events are the stream's last versions (docs/sync.md, invariant 2).
        if stream.positions.get(keep..).map(|tail| tail.len()) != Some(conflict.events.len()) {
            return Err(corrupt("stream", "does not end with its pending appends"));
        }
        stream.positions.truncate(keep);
        state.drop_outlived_snapshot(&conflict.stream, keep as u64 + 1);
        for event in &conflict.events {
            state.events[(event.position - 1) as usize] = None;
            state.ids.remove(&event.id);
        }
        for entry in &chosen {
            state.outbox.remove(&entry.key);
        }
        state.pending -= conflict.events.len() as u64;
        state.conflicts.insert(conflict.key, conflict);
        Ok(true)
    }

    async fn conflicts(&self) -> Result<Vec<Conflict<Value>>, StorageError> {
        Ok(self.state.borrow().conflicts.values().cloned().collect())
    }

    async fn resolve(&self, key: u64, rebase: bool, recorded_at: f64) -> Result<Option<AppendResult>, Error> {
        let mut state = self.state.borrow_mut();
        let Some(conflict) = state.conflicts.get(&key).cloned() else { return Ok(None) };
        if !rebase {
            state.conflicts.remove(&key);
            return Ok(None);
        }
        let request = rebase_request(&conflict, state.stream_version(&conflict.stream), recorded_at)?;
        let outcome = decide_batch(&mut *state, &[request], Chaining::Independent).pop();
        let result = outcome.map_or_else(|| Err(corrupt("rebase", "had no outcome").into()), outcome_result)?;
        state.conflicts.remove(&key);
        Ok(Some(result))
    }
}
