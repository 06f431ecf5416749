//! Sync state in IndexedDB (schema 3): pending appends are `log` runs carrying `outbox`,
//! the cursor and the removed count are in `meta`, conflicts in their store. Each method is one
//! transaction; the decisions are the core's (`plan_pull`, `conflicting_entries`,
//! `rebase_request`, `continues_run`).

use alloc::{collections::BTreeMap, string::String, vec::Vec};

use js_sys::Array;
use crate::js::JsPayload;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbKeyRange, IdbTransaction, IdbTransactionMode};

use super::record::{
    decode_confirmed, decode_conflict, decode_cursor, decode_snapshot, encode_conflict, encode_cursor, encode_removed,
    encode_run, encode_stream, number, stream_key, Run, SyncMark, CURSOR_KEY,
};
use super::request::{from_js, Completion, Pending, Tripwire};
use super::schema::{BY_OUTBOX, BY_STREAM, CONFLICTS, LOG, META, SNAPSHOTS, STREAMS};
use super::{
    bound, decode_head, decode_run, decode_stream_version, head_request, index, object_store, version_request,
    IdbBackend,
};
use crate::core::sync::{
    conflicting_entries, plan_pull, rebase_request, Conflict, OutboxEntry, PendingAppend, PendingEvent, Refusal,
    StreamSync, SyncBackend,
};
use crate::core::{continues_run, corrupt, AppendResult, Chaining, Error, RecordedEvent, RunMember, StorageError};

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

/// The runs of a `getAll` over the `outbox` or `stream` index.
async fn runs(read: Pending, what: &str) -> Result<Vec<Run>, StorageError> {
    array(read.result().await?, what)?.iter().map(|r| decode_run(&r)).collect()
}

/// The outbox entry a pending run is.
fn entry(run: &Run) -> Option<OutboxEntry> {
    Some(OutboxEntry {
        key: run.first(),
        stream: run.stream().into(),
        expected: run.pending?,
        count: run.events.len() as u64,
    })
}

/// The sync state in `meta`.
async fn read_mark(tx: &IdbTransaction) -> Result<SyncMark, StorageError> {
    let meta = object_store(tx, META)?;
    decode_cursor(&Pending::new(meta.get(&JsValue::from_str(CURSOR_KEY)), "read cursor")?.result().await?)
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

/// `events` (pulled, at consecutive local positions) grouped into the runs [`continues_run`]
/// allows: each becomes one confirmed `log` record.
fn confirmed_runs<P>(events: &[RecordedEvent<P>]) -> Vec<&[RecordedEvent<P>]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=events.len() {
        if i == events.len() || !continues_run(&RunMember::of(&events[i - 1], None), &RunMember::of(&events[i], None)) {
            out.push(&events[start..i]);
            start = i;
        }
    }
    out
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
        let tx = self.transaction(&[META], IdbTransactionMode::Readonly)?;
        Ok(read_mark(&tx).await?.cursor)
    }

    /// Every local position holds a confirmed event (the server's `1..=cursor`), a removed one
    /// (moved into a conflict) or a pending one: pending = head - cursor - removed.
    async fn pending_count(&self) -> Result<u64, StorageError> {
        let tx = self.transaction(&[LOG, META], IdbTransactionMode::Readonly)?;
        let head = Pending::new(head_request(&object_store(&tx, LOG)?), "read head")?;
        let mark = read_mark(&tx).await?;
        let head = decode_head(&head.result().await?)?;
        head.checked_sub(mark.cursor + mark.removed).ok_or_else(|| corrupt("cursor", "counts more events than the log holds"))
    }

    async fn pending(&self, after: u64, limit: usize) -> Result<Vec<PendingAppend<JsPayload>>, StorageError> {
        let tx = self.transaction(&[LOG], IdbTransactionMode::Readonly)?;
        let outbox = index(&object_store(&tx, LOG)?, BY_OUTBOX)?;
        let range = IdbKeyRange::lower_bound_with_open(&number(after), true).map_err(|e| from_js(&e, "key range"))?;
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        let read = Pending::new(outbox.get_all_with_key_and_limit(&range, limit), "read outbox")?;
        runs(read, "read outbox")
            .await?
            .into_iter()
            .map(|run| {
                let entry = entry(&run).ok_or_else(|| corrupt("outbox", "names a confirmed run"))?;
                Ok(PendingAppend { key: entry.key, stream: entry.stream, expected: entry.expected, events: run.events })
            })
            .collect()
    }

    async fn apply_pull(&self, page: Vec<RecordedEvent<JsPayload>>) -> Result<Option<u64>, Error> {
        let applied = self
            .in_transaction(&[LOG, STREAMS, META, SNAPSHOTS], |tx| async move {
                let (log, streams, meta) = (object_store(&tx, LOG)?, object_store(&tx, STREAMS)?, object_store(&tx, META)?);
                let by_stream = index(&log, BY_STREAM)?;
                // Every read placed at once: the sync mark, the head, and per stream its record and
                // its runs from the page's first version on (its pending ones, at least).
                let mark = Pending::new(meta.get(&JsValue::from_str(CURSOR_KEY)), "read cursor")?;
                let head = Pending::new(head_request(&log), "read head")?;
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
                    let tail = Pending::new(by_stream.get_all_with_key(&range), "read stream runs")?;
                    touched.push((event.stream.clone(), record, tail));
                }
                let mark = decode_cursor(&mark.result().await?)?;
                let head = decode_head(&head.result().await?)?;
                // The pending runs read, and where each pending event stands in them.
                let mut pending_runs: Vec<Run> = Vec::new();
                let mut at: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
                let mut syncs = Vec::with_capacity(touched.len());
                for (stream, record, tail) in touched {
                    let confirmed = decode_confirmed(&record.result().await?)?;
                    let mut sync = StreamSync { confirmed, pending: Vec::new() };
                    for run in runs(tail, "read stream runs").await? {
                        if run.events.iter().all(|e| e.version <= confirmed) {
                            continue;
                        }
                        for (i, event) in run.events.iter().enumerate().filter(|(_, e)| e.version > confirmed) {
                            sync.pending.push(PendingEvent { id: event.id, position: event.position, version: event.version });
                            at.insert(event.position, (pending_runs.len(), i));
                        }
                        pending_runs.push(run);
                    }
                    syncs.push((stream, sync));
                }
                // Ids are unique in the `id` index: an id standing elsewhere makes the add fail
                // and the transaction abort, so it need not be looked up first.
                let plan = plan_pull(page, mark.cursor, head, syncs, |_| false)?;
                if plan.cursor == mark.cursor {
                    return Ok((None, false));
                }
                let changed: Vec<_> = plan.streams.iter().filter_map(|s| Some((s.stream.as_str(), s.changed_from?))).collect();
                let mut writes = delete_outlived_snapshots(&tx, &changed).await?;
                // Pending runs rewritten whole, in the order of their first update (each stream's
                // highest version first: the `stream` index never holds one version twice).
                let mut order: Vec<usize> = Vec::new();
                for update in &plan.updates {
                    let &(run, i) = at.get(&update.position).ok_or_else(|| corrupt("position", "was not read"))?;
                    let event = &mut pending_runs[run].events[i];
                    event.version = update.version;
                    if update.server_position.is_some() {
                        event.server_position = update.server_position;
                    }
                    if !order.contains(&run) {
                        order.push(run);
                    }
                }
                for run in order {
                    let run = &pending_runs[run];
                    if run.events.windows(2).any(|w| w[1].version != w[0].version + 1) {
                        return Err(corrupt("pending append", "would stop being consecutive versions").into());
                    }
                    let pending = run.pending.filter(|_| !plan.confirmed.contains(&run.first()));
                    writes.push(Pending::new(log.put(&encode_run(&run.events, pending)), "rewrite pending append")?);
                }
                for events in confirmed_runs(&plan.inserts) {
                    writes.push(Pending::new(log.add(&encode_run(events, None)), "add pulled events")?);
                }
                for stream in &plan.streams {
                    writes.push(Pending::new(streams.put(&encode_stream(&stream.stream, stream.confirmed)), "write stream")?);
                }
                let mark = SyncMark { cursor: plan.cursor, ..mark };
                writes.push(Pending::new(meta.put(&encode_cursor(mark)), "write cursor")?);
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
            .in_transaction(&[LOG, META, CONFLICTS, SNAPSHOTS], |tx| async move {
                let (log, meta, conflicts) = (object_store(&tx, LOG)?, object_store(&tx, META)?, object_store(&tx, CONFLICTS)?);
                let range = IdbKeyRange::lower_bound(&number(key)).map_err(|e| from_js(&e, "key range"))?;
                let read = Pending::new(index(&log, BY_OUTBOX)?.get_all_with_key(&range), "read outbox")?;
                let mark = Pending::new(meta.get(&JsValue::from_str(CURSOR_KEY)), "read cursor")?;
                let pending = runs(read, "read outbox").await?;
                let mark = decode_cursor(&mark.result().await?)?;
                let entries: Vec<OutboxEntry> = pending.iter().filter_map(entry).collect();
                let Some(chosen) = conflicting_entries(key, &entries) else { return Ok((false, false)) };
                let stream = chosen[0].stream.clone();
                let version = Pending::new(version_request(&index(&log, BY_STREAM)?, &stream), "read stream")?;
                let version = decode_stream_version(&version.result().await?)?;
                let keys: Vec<u64> = chosen.iter().map(|e| e.key).collect();
                let moved: Vec<Run> = pending.into_iter().filter(|r| keys.contains(&r.first())).collect();
                let tombstones: Vec<(u64, u64)> = moved.iter().map(|r| (r.last(), r.events.len() as u64)).collect();
                let conflict = Conflict::new(&chosen, refusal, moved.into_iter().flat_map(|r| r.events).collect());
                let remaining = conflict.remaining_version();
                // The conflict's events are the stream's last versions (docs/sync.md, invariant 2).
                if version != remaining + conflict.events.len() as u64 {
                    return Err(corrupt("stream", "does not end with its pending appends").into());
                }
                let mut writes = delete_outlived_snapshots(&tx, &[(conflict.stream.as_str(), remaining + 1)]).await?;
                for (last, count) in tombstones {
                    writes.push(Pending::new(log.put(&encode_removed(last, count)), "write tombstone")?);
                }
                writes.push(Pending::new(conflicts.put(&encode_conflict(&conflict)), "write conflict")?);
                let mark = SyncMark { removed: mark.removed + conflict.events.len() as u64, ..mark };
                writes.push(Pending::new(meta.put(&encode_cursor(mark)), "write cursor")?);
                all_done(writes).await?;
                Ok((true, true))
            })
            .await;
        recorded.map_err(|e| match e {
            Error::Storage(e) => e,
            other => StorageError::other(alloc::format!("{other}")),
        })
    }

    async fn conflicts(&self) -> Result<Vec<Conflict<JsPayload>>, StorageError> {
        let tx = self.transaction(&[CONFLICTS], IdbTransactionMode::Readonly)?;
        let records = Pending::new(object_store(&tx, CONFLICTS)?.get_all(), "read conflicts")?.result().await?;
        array(records, "read conflicts")?.iter().map(|r| decode_conflict(&r)).collect()
    }

    async fn resolve(&self, key: u64, rebase: bool, recorded_at: f64) -> Result<Option<AppendResult>, Error> {
        let (result, head) = self
            .in_transaction(&[LOG, CONFLICTS], |tx| async move {
                let conflicts = object_store(&tx, CONFLICTS)?;
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
                let by_stream = index(&object_store(&tx, LOG)?, BY_STREAM)?;
                let version = Pending::new(version_request(&by_stream, &conflict.stream), "read stream")?;
                let version = decode_stream_version(&version.result().await?)?;
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
