//! Sync state in IndexedDB: the outbox, the cursor, pulled events and conflicts. Each method
//! is one transaction; the decisions are the core's (`plan_pull`, `conflicting_entries`,
//! `rebase_request`).

use alloc::{collections::BTreeMap, string::String, vec::Vec};

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbKeyRange, IdbObjectStore, IdbTransaction, IdbTransactionMode};

use super::record::{
    decode_conflict, decode_event, decode_head, decode_outbox, decode_position, decode_snapshot, decode_stream, encode_conflict,
    encode_cursor, encode_event, encode_head, encode_stream, encode_tombstone, number, stream_key, StreamHead,
    CURSOR_KEY, HEAD_KEY,
};
use super::request::{from_js, Completion, Pending, Tripwire};
use super::schema::{BY_STREAM_VERSION, CONFLICTS, EVENTS, META, OUTBOX, SNAPSHOTS, STREAMS};
use super::{bound, IdbBackend};
use crate::core::sync::{
    conflicting_entries, plan_pull, rebase_request, Conflict, PendingAppend, PendingEvent, Refusal, StreamSync,
    SyncBackend,
};
use crate::core::{corrupt, AppendResult, Chaining, Error, RecordedEvent, StorageError};

fn object_store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore, StorageError> {
    tx.object_store(name).map_err(|e| from_js(&e, "objectStore"))
}

fn array(value: JsValue, what: &str) -> Result<Array, StorageError> {
    value.dyn_into::<Array>().map_err(|v| from_js(&v, what))
}

/// Awaits `writes` in order: the first failure is the cause (the requests after it fail
/// with AbortError).
async fn all_done(writes: Vec<Pending>) -> Result<(), StorageError> {
    for write in writes {
        write.result().await?;
    }
    Ok(())
}

/// Deletes, in `tx`, the snapshot of each stream of `changes` that does not hold once that
/// stream's events from the version paired with it on changed (`Snapshot::holds_until`): the
/// deletions to await with the transaction's other writes.
async fn delete_outlived_snapshots(tx: &IdbTransaction, changes: &[(&str, u64)]) -> Result<Vec<Pending>, StorageError> {
    let snapshots = object_store(tx, SNAPSHOTS)?;
    let reads = changes
        .iter()
        .map(|&(stream, changed)| {
            Ok::<_, StorageError>((stream, changed, Pending::new(snapshots.get(&JsValue::from_str(stream)), "read snapshot")?))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut deletes = Vec::new();
    for (stream, changed, read) in reads {
        if decode_snapshot(&read.result().await?)?.is_some_and(|s| !s.holds_until(changed)) {
            deletes.push(Pending::new(snapshots.delete(&JsValue::from_str(stream)), "delete snapshot")?);
        }
    }
    Ok(deletes)
}

impl IdbBackend {
    /// Runs `body` in a readwrite transaction over `stores`; commits when it returns
    /// `Ok((value, true))`, aborts otherwise (nothing written).
    async fn in_transaction<T, F, Fut>(&self, stores: &[&str], body: F) -> Result<T, Error>
    where
        F: FnOnce(IdbTransaction) -> Fut,
        Fut: core::future::Future<Output = Result<(T, bool), Error>>,
    {
        let tx = self.transaction(stores, IdbTransactionMode::Readwrite)?;
        let completion = Completion::new(&tx);
        match body(tx).await {
            Ok((value, true)) => {
                completion.committed().await?;
                Ok(value)
            }
            Ok((value, false)) => {
                completion.abort();
                Ok(value)
            }
            Err(e) => {
                completion.abort();
                Err(e)
            }
        }
    }
}

impl SyncBackend for IdbBackend {
    async fn cursor(&self) -> Result<u64, StorageError> {
        Ok(decode_position(&self.read(&[META], CURSOR_KEY, "read cursor").await?)?.unwrap_or(0))
    }

    async fn pending_count(&self) -> Result<u64, StorageError> {
        Ok(decode_head(&self.read(&[META], HEAD_KEY, "read head").await?)?.1)
    }

    async fn pending(&self, after: u64, limit: usize) -> Result<Vec<PendingAppend<JsValue>>, StorageError> {
        let tx = self.transaction(&[OUTBOX, EVENTS], IdbTransactionMode::Readonly)?;
        let (outbox, events) = (object_store(&tx, OUTBOX)?, object_store(&tx, EVENTS)?);
        let range = IdbKeyRange::lower_bound_with_open(&number(after), true).map_err(|e| from_js(&e, "key range"))?;
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        let entries = Pending::new(outbox.get_all_with_key_and_limit(&range, limit), "read outbox")?.result().await?;
        let entries = array(entries, "read outbox")?
            .iter()
            .map(|r| decode_outbox(&r))
            .collect::<Result<Vec<_>, _>>()?;
        let reads = entries
            .iter()
            .map(|e| {
                let range = bound(&number(e.key), &number(e.key + e.count - 1))?;
                Pending::new(events.get_all_with_key(&range), "read pending events")
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut appends = Vec::with_capacity(entries.len());
        for (entry, read) in entries.into_iter().zip(reads) {
            let records = array(read.result().await?, "read pending events")?;
            if records.length() as u64 != entry.count {
                return Err(corrupt("outbox", "names events that are not there"));
            }
            let events = records.iter().map(|r| decode_event(&r)).collect::<Result<Vec<_>, _>>()?;
            appends.push(PendingAppend { key: entry.key, stream: entry.stream, expected: entry.expected, events });
        }
        Ok(appends)
    }

    async fn apply_pull(&self, page: Vec<RecordedEvent<JsValue>>) -> Result<Option<u64>, Error> {
        let applied = self
            .in_transaction(&[EVENTS, STREAMS, META, OUTBOX, SNAPSHOTS], |tx| async move {
                let (events, streams, meta, outbox) = (
                    object_store(&tx, EVENTS)?,
                    object_store(&tx, STREAMS)?,
                    object_store(&tx, META)?,
                    object_store(&tx, OUTBOX)?,
                );
                let by_version = events.index(BY_STREAM_VERSION).map_err(|e| from_js(&e, "index"))?;
                // Every read placed at once: the cursor, the head, and per stream its record and
                // its events from the page's first version on (its pending ones, at least).
                let cursor = Pending::new(meta.get(&JsValue::from_str(CURSOR_KEY)), "read cursor")?;
                let head = Pending::new(meta.get(&JsValue::from_str(HEAD_KEY)), "read head")?;
                let mut touched: Vec<(String, Pending, Pending)> = Vec::new();
                for event in &page {
                    if touched.iter().any(|(s, _, _)| *s == event.stream) {
                        continue;
                    }
                    let record = Pending::new(streams.get(&JsValue::from_str(&event.stream)), "read stream")?;
                    let range = bound(
                        &stream_key(&event.stream, event.version as f64),
                        &stream_key(&event.stream, f64::INFINITY),
                    )?;
                    let tail = Pending::new(by_version.get_all_with_key(&range), "read stream events")?;
                    touched.push((event.stream.clone(), record, tail));
                }
                let cursor = decode_position(&cursor.result().await?)?.unwrap_or(0);
                let (head, pending) = decode_head(&head.result().await?)?;
                let mut records: BTreeMap<u64, JsValue> = BTreeMap::new();
                let mut syncs = Vec::with_capacity(touched.len());
                for (stream, record, tail) in touched {
                    let stream_head = decode_stream(&record.result().await?)?;
                    let mut sync = StreamSync { confirmed: stream_head.confirmed, pending: Vec::new() };
                    for record in array(tail.result().await?, "read stream events")?.iter() {
                        let event = decode_event(&record)?;
                        if event.version > stream_head.confirmed {
                            sync.pending.push(PendingEvent { id: event.id, position: event.position, version: event.version });
                            records.insert(event.position, record);
                        }
                    }
                    syncs.push((stream, sync));
                }
                // Ids are unique in the `id` index: an id standing elsewhere makes the add fail
                // and the transaction abort, so it need not be looked up first.
                let plan = plan_pull(page, cursor, head, syncs, |_| false)?;
                if plan.cursor == cursor {
                    return Ok((None, false));
                }
                let changed: Vec<_> = plan.streams.iter().filter_map(|s| Some((s.stream.as_str(), s.changed_from?))).collect();
                let mut writes = delete_outlived_snapshots(&tx, &changed).await?;
                for update in &plan.updates {
                    let record = records.get(&update.position).ok_or_else(|| corrupt("position", "was not read"))?;
                    crate::js::set(record.unchecked_ref(), "version", &number(update.version));
                    if let Some(server_position) = update.server_position {
                        crate::js::set(record.unchecked_ref(), "serverPosition", &number(server_position));
                    }
                    writes.push(Pending::new(events.put(record), "move pending event")?);
                }
                for event in &plan.inserts {
                    writes.push(Pending::new(events.add(&encode_event(event)), "add pulled event")?);
                }
                for stream in &plan.streams {
                    let head = StreamHead { version: stream.version, confirmed: stream.confirmed };
                    writes.push(Pending::new(streams.put(&encode_stream(&stream.stream, head)), "write stream head")?);
                }
                for position in &plan.confirmed {
                    writes.push(Pending::new(outbox.delete(&number(*position)), "delete outbox entry")?);
                }
                let pending = pending.saturating_sub(plan.confirmed.len() as u64);
                writes.push(Pending::new(meta.put(&encode_head(plan.head, pending)), "write head")?);
                writes.push(Pending::new(meta.put(&encode_cursor(plan.cursor)), "write cursor")?);
                all_done(writes).await?;
                Ok(((!plan.inserts.is_empty()).then_some(plan.head), true))
            })
            .await?;
        if let Some(head) = applied {
            self.announce(head);
        }
        Ok(applied)
    }

    async fn record_conflict(&self, key: u64, refusal: &Refusal) -> Result<bool, StorageError> {
        let recorded = self
            .in_transaction(&[EVENTS, STREAMS, META, OUTBOX, CONFLICTS, SNAPSHOTS], |tx| async move {
                let (events, streams, meta, outbox, conflicts) = (
                    object_store(&tx, EVENTS)?,
                    object_store(&tx, STREAMS)?,
                    object_store(&tx, META)?,
                    object_store(&tx, OUTBOX)?,
                    object_store(&tx, CONFLICTS)?,
                );
                let range = IdbKeyRange::lower_bound(&number(key)).map_err(|e| from_js(&e, "key range"))?;
                let entries = Pending::new(outbox.get_all_with_key(&range), "read outbox")?.result().await?;
                let entries = array(entries, "read outbox")?
                    .iter()
                    .map(|r| decode_outbox(&r))
                    .collect::<Result<Vec<_>, _>>()?;
                let Some(chosen) = conflicting_entries(key, &entries) else { return Ok((false, false)) };
                let head = Pending::new(meta.get(&JsValue::from_str(HEAD_KEY)), "read head")?;
                let record = Pending::new(streams.get(&JsValue::from_str(&chosen[0].stream)), "read stream")?;
                let reads = chosen
                    .iter()
                    .map(|e| {
                        let range = bound(&number(e.key), &number(e.key + e.count - 1))?;
                        Pending::new(events.get_all_with_key(&range), "read pending events")
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let (head, pending) = decode_head(&head.result().await?)?;
                let stream_head = decode_stream(&record.result().await?)?;
                let mut moved = Vec::new();
                for read in reads {
                    for record in array(read.result().await?, "read pending events")?.iter() {
                        moved.push(decode_event(&record)?);
                    }
                }
                let conflict = Conflict::new(&chosen, refusal, moved);
                let remaining = conflict.remaining_version();
                // The conflict's events are the stream's last versions (docs/sync.md, invariant 2).
                if stream_head.version != remaining + conflict.events.len() as u64 {
                    return Err(corrupt("stream", "does not end with its pending appends").into());
                }
                let mut writes = delete_outlived_snapshots(&tx, &[(conflict.stream.as_str(), remaining + 1)]).await?;
                for event in &conflict.events {
                    writes.push(Pending::new(events.put(&encode_tombstone(event.position)), "write tombstone")?);
                }
                let stream_head = StreamHead { version: remaining, ..stream_head };
                writes.push(Pending::new(streams.put(&encode_stream(&conflict.stream, stream_head)), "write stream head")?);
                for entry in &chosen {
                    writes.push(Pending::new(outbox.delete(&number(entry.key)), "delete outbox entry")?);
                }
                writes.push(Pending::new(conflicts.put(&encode_conflict(&conflict)), "write conflict")?);
                let pending = pending.saturating_sub(conflict.events.len() as u64);
                writes.push(Pending::new(meta.put(&encode_head(head, pending)), "write head")?);
                all_done(writes).await?;
                Ok((true, true))
            })
            .await;
        recorded.map_err(|e| match e {
            Error::Storage(e) => e,
            other => StorageError::other(alloc::format!("{other}")),
        })
    }

    async fn conflicts(&self) -> Result<Vec<Conflict<JsValue>>, StorageError> {
        let tx = self.transaction(&[CONFLICTS], IdbTransactionMode::Readonly)?;
        let records = Pending::new(object_store(&tx, CONFLICTS)?.get_all(), "read conflicts")?.result().await?;
        array(records, "read conflicts")?.iter().map(|r| decode_conflict(&r)).collect()
    }

    async fn resolve(&self, key: u64, rebase: bool, recorded_at: f64) -> Result<Option<AppendResult>, Error> {
        let (result, head) = self
            .in_transaction(&[EVENTS, STREAMS, META, OUTBOX, CONFLICTS], |tx| async move {
                let (streams, conflicts) = (object_store(&tx, STREAMS)?, object_store(&tx, CONFLICTS)?);
                let record = Pending::new(conflicts.get(&number(key)), "read conflict")?.result().await?;
                if record.is_undefined() {
                    return Ok(((None, None), false));
                }
                let conflict = decode_conflict(&record)?;
                let delete = Pending::new(conflicts.delete(&number(key)), "delete conflict")?;
                if !rebase {
                    delete.result().await?;
                    return Ok(((None, None), true));
                }
                let stream = Pending::new(streams.get(&JsValue::from_str(&conflict.stream)), "read stream")?;
                let version = decode_stream(&stream.result().await?)?.version;
                let request = rebase_request(&conflict, version, recorded_at)?;
                let (mut outcomes, head) = self.append_in(&tx, &[request], Chaining::Independent, &Tripwire::new(None)).await?;
                let result = outcomes.pop().ok_or_else(|| corrupt("rebase", "had no outcome"))??;
                delete.result().await?;
                Ok(((Some(result), head), true))
            })
            .await?;
        if let Some(head) = head {
            self.announce(head);
        }
        Ok(result)
    }
}
