//! The IndexedDB backend: events persist in the browser (page or worker) and every store
//! opened on the same name in the same origin shares them.
//!
//! Each [`Backend`] call is one IndexedDB transaction; an append's decision
//! ([`decide_append`]) is taken inside the readwrite transaction that writes it, so two tabs
//! appending to one stream are serialized by IndexedDB and see each other's commits. The
//! schema and the assumptions made of IndexedDB are in `docs/design.md`.
//!
//! Built on `web-sys` directly rather than on rexie: rexie hides the `IDBTransaction`, whose
//! `error` is where a `QuotaExceededError` found at commit is reported, and its `done()`
//! misreports a transaction after a failed write. Here a failed request aborts its
//! transaction by IndexedDB's default action and the call returns that request's error.

pub(crate) mod record;
mod request;
mod schema;
mod sync;

use alloc::{rc::Rc, string::String, vec::Vec};
use ::core::cell::RefCell;

use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{BroadcastChannel, IdbDatabase, IdbKeyRange, IdbTransaction, IdbTransactionMode, MessageEvent};

use crate::core::sync::OutboxEntry;
use crate::core::{
    check_snapshot_version, decide_append, AppendDecision, AppendRequest, AppendResult, Backend, Chain, Chaining, Direction,
    Error, Filter, Notifier, Outcome, Page, PositionRange, RecordedEvent, Snapshot, StorageError,
};
use record::{
    decode_event, decode_event_values, decode_head, decode_position, decode_snapshot, decode_stream,
    decode_stream_version, decode_identity, encode_checkpoint, encode_identity, is_tombstone, encode_event, encode_head, encode_outbox, encode_snapshot, encode_stream,
    number, stream_key, StreamHead, HEAD_KEY, IDENTITY_KEY,
};
use request::{from_js, Completion, Pending, Tripwire};
use schema::{BY_ID, BY_STREAM_VERSION, CHECKPOINTS, EVENTS, META, OUTBOX, SNAPSHOTS, STREAMS};

pub use schema::{NAME_PREFIX, SCHEMA_VERSION};

type Listener = Closure<dyn FnMut(MessageEvent)>;
type VersionChangeHandler = Closure<dyn FnMut(JsValue)>;

/// A store's events in the IndexedDB database `annals:<name>`.
///
/// Appends commit whole or not at all; versions in a stream and global positions stay
/// 1..n with no gap however many tabs and workers append at once. After each committed
/// append the new head is posted on the `BroadcastChannel` `annals:<name>`, and
/// [`watch`](Backend::watch) reports heads posted by others.
#[derive(Debug)]
pub struct IdbBackend {
    db: IdbDatabase,
    name: String,
    /// `None` where `BroadcastChannel` does not exist: then other contexts' commits are not
    /// reported, and subscriptions see them only when they next read.
    channel: Option<BroadcastChannel>,
    on_message: RefCell<Option<Listener>>,
    /// Shared with the `versionchange` handler, which closes the connection.
    upgrade: Rc<UpgradeElsewhere>,
    on_versionchange: RefCell<Option<VersionChangeHandler>>,
    /// Armed by [`IdbBackend::fail_request_after`] for the next append.
    fault: ::core::cell::Cell<Option<u32>>,
    /// The database's identity (`meta` record `identity`).
    identity: String,
}

/// What the `versionchange` handler knows: whether it closed the connection, and whom to wake.
#[derive(Debug, Default)]
struct UpgradeElsewhere {
    closed: ::core::cell::Cell<bool>,
    notifier: RefCell<Option<Notifier>>,
}

impl IdbBackend {
    /// Opens the database of the store `name` (`annals:<name>`), creating it at schema
    /// [`SCHEMA_VERSION`] if it does not exist. Fails with the `DOMException` as cause when
    /// IndexedDB is missing or refuses (private mode, a later schema on disk, quota), and with
    /// a `Blocked` cause when the upgrade waits for a connection that another context keeps
    /// open at an older schema (see `schema::open`).
    ///
    /// When another context later opens the database at a newer schema (or deletes it), the
    /// connection closes itself at once, so that context's upgrade is never blocked, and the
    /// backend reports itself [`superseded`](Backend::superseded).
    pub async fn open(name: &str) -> Result<IdbBackend, StorageError> {
        let name = schema::database_name(name);
        let db = schema::open(&name).await?;
        let identity = match identity(&db).await {
            Ok(identity) => identity,
            Err(e) => {
                db.close();
                return Err(e);
            }
        };
        let channel = BroadcastChannel::new(&name).ok();
        let upgrade = Rc::new(UpgradeElsewhere::default());
        let on_versionchange = {
            let (db, upgrade) = (db.clone(), upgrade.clone());
            VersionChangeHandler::new(move |_: JsValue| {
                db.close();
                upgrade.closed.set(true);
                if let Some(notifier) = upgrade.notifier.borrow().as_ref() {
                    notifier.wake_all();
                }
            })
        };
        db.set_onversionchange(Some(on_versionchange.as_ref().unchecked_ref()));
        Ok(IdbBackend {
            db,
            name,
            channel,
            on_message: RefCell::new(None),
            upgrade,
            on_versionchange: RefCell::new(Some(on_versionchange)),
            fault: Default::default(),
            identity,
        })
    }

    /// The IndexedDB database's name (the store's `name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database's identity: a UUID written into it when it was first opened, so that a
    /// database deleted and made again (empty) is told from the one that was
    /// ([`crate::core::judge_reopen`]).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The IndexedDB database name (`annals:<name>`), also the channel's name.
    pub fn database_name(&self) -> &str {
        &self.name
    }

    /// For fault-injection tests: the next append's transaction is aborted right after its
    /// `n`-th IndexedDB request (from 0) is made, so the append fails with a storage error
    /// (`AbortError`, or `TransactionInactiveError` from the request made next) and nothing is
    /// written; `n` equal to the number of requests the append makes aborts it just before it
    /// would commit. Unarmed, an append only takes an empty cell.
    #[doc(hidden)]
    pub fn fail_request_after(&self, n: u32) {
        self.fault.set(Some(n));
    }

    /// Tells the other contexts on this database that `head` is committed.
    fn announce(&self, head: u64) {
        if let Some(channel) = &self.channel {
            // A lost message only delays the others: they re-read IndexedDB.
            let _ = channel.post_message(&number(head));
        }
    }

    fn transaction(&self, stores: &[&str], mode: IdbTransactionMode) -> Result<IdbTransaction, StorageError> {
        self.db
            .transaction_with_str_sequence_and_mode(&schema::scope(stores), mode)
            .map_err(|e| from_js(&e, "transaction"))
    }

    /// Decides and writes `requests` in `tx`. `Ok((outcomes, head))`: `head` is the new global
    /// head when anything was written. `Err`: the transaction must not commit.
    async fn append_in(
        &self,
        tx: &IdbTransaction,
        requests: &[AppendRequest],
        chaining: Chaining,
        trip: &Tripwire,
    ) -> Result<(Vec<Result<AppendResult, Error>>, Option<u64>), StorageError> {
        let store = |name| tx.object_store(name).map_err(|e| from_js(&e, "objectStore"));
        let place = |request: Result<web_sys::IdbRequest, JsValue>, what: &'static str| {
            let pending = Pending::new(request, what)?;
            trip.made(tx);
            Ok::<_, StorageError>(pending)
        };
        let (events, streams, meta, outbox) = (store(EVENTS)?, store(STREAMS)?, store(META)?, store(OUTBOX)?);
        let by_id = events.index(BY_ID).map_err(|e| from_js(&e, "index"))?;
        // Every read of a request is placed before any is awaited: one round trip, not three.
        let mut start = Some(place(meta.get(&JsValue::from_str(HEAD_KEY)), "read head")?);
        let mut head = 0;
        let mut pending = 0;
        let mut wrote = false;
        let mut outcomes = Vec::with_capacity(requests.len());
        // Writes are placed without waiting for them: IndexedDB runs a transaction's requests in
        // the order they were made, so the next request's reads see them, and a failed write
        // fails every request after it.
        let mut writes = Vec::new();
        let mut chain = Chain::new(chaining);
        for request in requests {
            if chain.skips(request) {
                outcomes.push(Outcome::Skipped.into_result());
                continue;
            }
            let reads = async {
                let version = place(streams.get(&JsValue::from_str(&request.stream)), "read stream")?;
                // Generated ids are new: only ids the caller chose are looked up.
                let found = request
                    .events
                    .iter()
                    .map(|e| {
                        (!e.id_generated)
                            .then(|| place(by_id.get(&JsValue::from_str(&e.id.to_string())), "read id"))
                            .transpose()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some(start) = start.take() {
                    (head, pending) = decode_head(&start.result().await?)?;
                }
                let version = decode_stream(&version.result().await?)?;
                let mut existing: Vec<Option<RecordedEvent>> = Vec::with_capacity(found.len());
                for pending in found {
                    let record = match pending {
                        Some(pending) => pending.result().await?,
                        None => JsValue::UNDEFINED,
                    };
                    existing.push(if record.is_undefined() { None } else { Some(decode_event_values(&record)?) });
                }
                Ok::<_, StorageError>((version, existing))
            };
            let (version, existing) = match reads.await {
                Ok(read) => read,
                // After a failed write every request fails: the write's error is the cause.
                Err(e) => return Err(first_failure(writes, e).await),
            };
            let recorded = match decide_append(request, version.version, &existing, head) {
                Err(refused) => {
                    chain.refused(request);
                    outcomes.push(Err(refused));
                    continue;
                }
                Ok(AppendDecision::AlreadyAppended(result)) => {
                    outcomes.push(Ok(result));
                    continue;
                }
                Ok(AppendDecision::Write(recorded)) => recorded,
            };
            let (Some(first), Some(last)) = (recorded.first(), recorded.last()) else { continue };
            let entry = OutboxEntry {
                key: first.position,
                stream: request.stream.clone(),
                expected: request.expected,
                count: recorded.len() as u64,
            };
            let result = AppendResult { next_expected_version: last.version, position: last.position };
            for event in &recorded {
                writes.push(place(events.add(&encode_event(event)), "add event")?);
            }
            let stream_head = StreamHead { version: result.next_expected_version, ..version };
            writes.push(place(streams.put(&encode_stream(&request.stream, stream_head)), "write stream head")?);
            writes.push(place(outbox.put(&encode_outbox(&entry)), "write outbox")?);
            head = result.position;
            pending += entry.count;
            wrote = true;
            outcomes.push(Ok(result));
        }
        if wrote {
            writes.push(place(meta.put(&encode_head(head, pending)), "write head")?);
        }
        // In order: the first failure is the cause; the requests after it fail with AbortError.
        for write in writes {
            write.result().await?;
        }
        Ok((outcomes, wrote.then_some(head)))
    }

    /// The event records in `range` of `index` (the events store itself when `None`).
    async fn read_records(
        &self,
        tx: &IdbTransaction,
        index: Option<&str>,
        range: &IdbKeyRange,
        count: usize,
    ) -> Result<js_sys::Array, StorageError> {
        let events = tx.object_store(EVENTS).map_err(|e| from_js(&e, "objectStore"))?;
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        let request = match index {
            Some(name) => events
                .index(name)
                .map_err(|e| from_js(&e, "index"))?
                .get_all_with_key_and_limit(range, count),
            None => events.get_all_with_key_and_limit(range, count),
        };
        let records = Pending::new(request, "read events")?.result().await?;
        records.dyn_into().map_err(|v| from_js(&v, "read events: not an array"))
    }

    /// The events in `range` of `index`, where no tombstone can be.
    async fn read_events(
        &self,
        tx: &IdbTransaction,
        index: &str,
        range: &IdbKeyRange,
        count: usize,
    ) -> Result<Vec<RecordedEvent<JsValue>>, StorageError> {
        let records = self.read_records(tx, Some(index), range, count).await?;
        records.iter().map(|r| decode_event(&r)).collect()
    }

    async fn read(&self, stores: &[&str], key: &str, what: &'static str) -> Result<JsValue, StorageError> {
        let tx = self.transaction(stores, IdbTransactionMode::Readonly)?;
        let store = tx.object_store(stores[0]).map_err(|e| from_js(&e, "objectStore"))?;
        Pending::new(store.get(&JsValue::from_str(key)), what)?.result().await
    }

    async fn write(&self, store: &str, record: &JsValue, what: &'static str) -> Result<(), StorageError> {
        let tx = self.transaction(&[store], IdbTransactionMode::Readwrite)?;
        let completion = Completion::new(&tx);
        let objects = tx.object_store(store).map_err(|e| from_js(&e, "objectStore"))?;
        Pending::new(objects.put(record), what)?.result().await?;
        completion.committed().await
    }
}

/// The identity of `db`, written first if it has none (a new database, or one made before
/// identities): read, and when missing, read again and written in one readwrite transaction,
/// so two contexts opening a new database at once agree on one identity.
async fn identity(db: &IdbDatabase) -> Result<String, StorageError> {
    let key = JsValue::from_str(IDENTITY_KEY);
    let tx = db.transaction_with_str_and_mode(META, IdbTransactionMode::Readonly).map_err(|e| from_js(&e, "transaction"))?;
    let meta = tx.object_store(META).map_err(|e| from_js(&e, "objectStore"))?;
    if let Some(id) = decode_identity(&Pending::new(meta.get(&key), "read identity")?.result().await?)? {
        return Ok(id);
    }
    let tx = db.transaction_with_str_and_mode(META, IdbTransactionMode::Readwrite).map_err(|e| from_js(&e, "transaction"))?;
    let completion = Completion::new(&tx);
    let meta = tx.object_store(META).map_err(|e| from_js(&e, "objectStore"))?;
    if let Some(id) = decode_identity(&Pending::new(meta.get(&key), "read identity")?.result().await?)? {
        completion.abort();
        return Ok(id);
    }
    let id = alloc::string::ToString::to_string(&crate::core::Uuid::now_v7());
    Pending::new(meta.put(&encode_identity(&id)), "write identity")?.result().await?;
    completion.committed().await?;
    Ok(id)
}

/// The error of the first of `writes` that failed, else `otherwise`.
async fn first_failure(writes: Vec<Pending>, otherwise: StorageError) -> StorageError {
    for write in writes {
        if let Err(e) = write.result().await {
            return e;
        }
    }
    otherwise
}

fn bound(lower: &JsValue, upper: &JsValue) -> Result<IdbKeyRange, StorageError> {
    IdbKeyRange::bound(lower, upper).map_err(|e| from_js(&e, "key range"))
}

impl Backend for IdbBackend {
    type Payload = JsValue;

    async fn head(&self) -> Result<u64, StorageError> {
        Ok(decode_head(&self.read(&[META], HEAD_KEY, "read head").await?)?.0)
    }

    async fn append(
        &self,
        requests: &[AppendRequest],
    ) -> Result<Vec<Result<AppendResult, Error>>, StorageError> {
        self.append_chained(requests, Chaining::Independent).await
    }

    /// One readwrite transaction over `events`, `streams`, `meta` and `outbox` for all of
    /// `requests`. When none writes, the transaction is aborted; when one fails in IndexedDB,
    /// the whole transaction aborts and its error is returned. After a commit, the new head is
    /// posted.
    async fn append_chained(
        &self,
        requests: &[AppendRequest],
        chaining: Chaining,
    ) -> Result<Vec<Result<AppendResult, Error>>, StorageError> {
        let tx = self.transaction(&[EVENTS, STREAMS, META, OUTBOX], IdbTransactionMode::Readwrite)?;
        let completion = Completion::new(&tx);
        let trip = Tripwire::new(self.fault.take());
        match self.append_in(&tx, requests, chaining, &trip).await {
            Err(e) => {
                // A failed request has already doomed the transaction; any other failure
                // (a record that does not decode) must stop it committing what came before.
                completion.abort();
                Err(e)
            }
            Ok((outcomes, None)) => {
                completion.abort();
                Ok(outcomes)
            }
            Ok((outcomes, Some(head))) => {
                if trip.trips_at_commit() {
                    completion.abort();
                }
                completion.committed().await?;
                self.announce(head);
                Ok(outcomes)
            }
        }
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, StorageError> {
        decode_stream_version(&self.read(&[STREAMS], stream, "read stream").await?)
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent<JsValue>>, StorageError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let tx = self.transaction(&[EVENTS, STREAMS], IdbTransactionMode::Readonly)?;
        match direction {
            Direction::Forward => {
                let range = bound(&stream_key(stream, from.max(1) as f64), &stream_key(stream, f64::INFINITY))?;
                self.read_events(&tx, BY_STREAM_VERSION, &range, limit).await
            }
            Direction::Backward => {
                // Versions are 1..n with no gap: the last `limit` up to `from` are a key range.
                let streams = tx.object_store(STREAMS).map_err(|e| from_js(&e, "objectStore"))?;
                let record = Pending::new(streams.get(&JsValue::from_str(stream)), "read stream")?;
                let top = from.min(decode_stream_version(&record.result().await?)?);
                if top == 0 {
                    return Ok(Vec::new());
                }
                let bottom = top.saturating_sub(limit as u64 - 1).max(1);
                let range = bound(&stream_key(stream, bottom as f64), &stream_key(stream, top as f64))?;
                let mut events = self.read_events(&tx, BY_STREAM_VERSION, &range, limit).await?;
                events.reverse();
                Ok(events)
            }
        }
    }

    async fn read_all(
        &self,
        range: PositionRange,
        direction: Direction,
        limit: usize,
        filter: &Filter,
    ) -> Result<Page<JsValue>, StorageError> {
        let tx = self.transaction(&[EVENTS, META], IdbTransactionMode::Readonly)?;
        let meta = tx.object_store(META).map_err(|e| from_js(&e, "objectStore"))?;
        let head = Pending::new(meta.get(&JsValue::from_str(HEAD_KEY)), "read head")?.result().await?;
        let (head, _) = decode_head(&head)?;
        let first = range.after.saturating_add(1);
        let last = range.before.saturating_sub(1).min(head);
        let mut page = Page::default();
        if first > last {
            page.exhausted = true;
            return Ok(page);
        }
        if limit == 0 {
            return Ok(page);
        }
        // Positions are 1..n with no gap: the `limit` examined are exactly a key range.
        let span = limit as u64 - 1;
        let (low, high) = match direction {
            Direction::Forward => (first, last.min(first.saturating_add(span))),
            Direction::Backward => (first.max(last.saturating_sub(span)), last),
        };
        let records = self.read_records(&tx, None, &bound(&number(low), &number(high))?, limit).await?;
        if records.length() as u64 != high - low + 1 {
            return Err(StorageError::other(alloc::format!(
                "DataError: positions {low}..={high} should hold {} records, found {}",
                high - low + 1,
                records.length()
            )));
        }
        let mut examined = Vec::with_capacity(records.length() as usize);
        for record in records.iter() {
            match decode_event(&record) {
                Ok(event) => examined.push(event),
                // A tombstone: examined, never yielded.
                Err(_) if is_tombstone(&record) => {}
                Err(e) => return Err(e),
            }
        }
        if direction == Direction::Backward {
            examined.reverse();
        }
        page.last_examined = Some(if direction == Direction::Forward { high } else { low });
        page.exhausted = high - low == last - first;
        page.events = examined.into_iter().filter(|e| filter.matches(e)).collect();
        Ok(page)
    }

    async fn checkpoint(&self, name: &str) -> Result<Option<u64>, StorageError> {
        decode_position(&self.read(&[CHECKPOINTS], name, "read checkpoint").await?)
    }

    async fn set_checkpoint(&self, name: &str, position: u64) -> Result<(), StorageError> {
        self.write(CHECKPOINTS, &encode_checkpoint(name, position), "write checkpoint").await
    }

    async fn snapshot(&self, stream: &str) -> Result<Option<Snapshot>, StorageError> {
        decode_snapshot(&self.read(&[SNAPSHOTS], stream, "read snapshot").await?)
    }

    /// Reads the stream's version and writes the snapshot in one readwrite transaction.
    async fn save_snapshot(&self, stream: &str, snapshot: &Snapshot) -> Result<(), Error> {
        let tx = self.transaction(&[STREAMS, SNAPSHOTS], IdbTransactionMode::Readwrite)?;
        let completion = Completion::new(&tx);
        let store = |name| tx.object_store(name).map_err(|e| from_js(&e, "objectStore"));
        let (streams, snapshots) = (store(STREAMS)?, store(SNAPSHOTS)?);
        let record = Pending::new(streams.get(&JsValue::from_str(stream)), "read stream")?.result().await?;
        let version = match decode_stream_version(&record) {
            Ok(version) => version,
            Err(e) => {
                completion.abort();
                return Err(e.into());
            }
        };
        if let Err(refused) = check_snapshot_version(snapshot, version) {
            completion.abort();
            return Err(refused);
        }
        Pending::new(snapshots.put(&encode_snapshot(stream, snapshot)), "write snapshot")?.result().await?;
        Ok(completion.committed().await?)
    }

    /// Listens on the channel `annals:<name>` and reports each head posted there, and wakes
    /// `notifier` when the connection closes for an upgrade elsewhere. A later call replaces
    /// the earlier listener.
    fn watch(&self, notifier: &Notifier) {
        self.upgrade.notifier.replace(Some(notifier.clone()));
        let Some(channel) = &self.channel else { return };
        let notifier = notifier.clone();
        let listener = Listener::new(move |event: MessageEvent| {
            // Anything but a head position is not ours: ignored.
            if let Some(head) = event.data().as_f64().and_then(crate::core::safe_integer) {
                notifier.advance(head);
            }
        });
        channel.set_onmessage(Some(listener.as_ref().unchecked_ref()));
        // The previous listener (if any) is dropped only after the channel stopped using it.
        self.on_message.replace(Some(listener));
    }

    /// Whether the `versionchange` handler closed the connection.
    fn superseded(&self) -> bool {
        self.upgrade.closed.get()
    }

    /// Closes the channel and the database connection. Calls after it fail with the
    /// `InvalidStateError` IndexedDB raises. Closing twice is harmless.
    fn close(&self) {
        if let Some(channel) = &self.channel {
            channel.set_onmessage(None);
            channel.close();
        }
        self.on_message.replace(None);
        self.db.set_onversionchange(None);
        self.on_versionchange.replace(None);
        self.upgrade.notifier.replace(None);
        self.db.close();
    }
}

impl Drop for IdbBackend {
    /// A dropped backend closes like [`Backend::close`], so the channel never calls a freed
    /// listener and the connection does not block another schema's upgrade until collected.
    fn drop(&mut self) {
        Backend::close(self);
    }
}
