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

use crate::js::JsPayload;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{
    BroadcastChannel, IdbCursor, IdbCursorDirection, IdbDatabase, IdbIndex, IdbKeyRange, IdbObjectStore, IdbTransaction,
    IdbTransactionMode, MessageEvent,
};

use crate::core::{
    check_snapshot_version, corrupt, decide_batch, AppendRequest, AppendResult, Backend, Chaining, Direction, Error,
    Filter, LoadedState, Notifier, Outcome, Page, PositionRange, RecordedEvent, Snapshot, StorageError,
};
use record::{
    decode_identity, decode_log, decode_position, decode_snapshot, encode_checkpoint, encode_identity, encode_run,
    encode_snapshot, number, stream_key, LogRecord, Run, IDENTITY_KEY,
};
use request::{from_js, Completion, Pending, Tripwire};
use schema::{BY_ID, BY_STREAM, CHECKPOINTS, LOG, META, SNAPSHOTS};

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

    /// Decides and writes `requests` in `tx`: every state the decisions need (the head, each
    /// stream's version, the stored events holding an id the caller chose) is read in one
    /// round, [`decide_batch`] decides them all, and each written append becomes one `log`
    /// record, pending. `Ok((outcomes, head))`: `head` is the new global head when anything
    /// was written. `Err`: the transaction must not commit.
    async fn append_in(
        &self,
        tx: &IdbTransaction,
        requests: &[AppendRequest],
        chaining: Chaining,
        trip: &Tripwire,
    ) -> Result<(Vec<Result<AppendResult, Error>>, Option<u64>), StorageError> {
        let place = |request: Result<web_sys::IdbRequest, JsValue>, what: &'static str| {
            let pending = Pending::new(request, what)?;
            trip.made(tx);
            Ok::<_, StorageError>(pending)
        };
        let log = object_store(tx, LOG)?;
        let (by_stream, by_id) = (index(&log, BY_STREAM)?, index(&log, BY_ID)?);
        // Every read is placed before any is awaited: one round trip for the whole batch.
        let head = place(head_request(&log), "read head")?;
        let mut versions: Vec<(&str, Pending)> = Vec::new();
        let mut found = Vec::new();
        for request in requests {
            if !versions.iter().any(|(s, _)| *s == request.stream) {
                versions.push((&request.stream, place(version_request(&by_stream, &request.stream), "read stream")?));
            }
            // Generated ids are new: only ids the caller chose are looked up.
            for event in request.events.iter().filter(|e| !e.id_generated) {
                found.push((event.id, place(by_id.get(&JsValue::from_str(&event.id.to_string())), "read id")?));
            }
        }
        let mut state = LoadedState { head: decode_head(&head.result().await?)?, ..LoadedState::default() };
        for (stream, read) in versions {
            state.versions.insert(stream.into(), decode_stream_version(&read.result().await?)?);
        }
        for (id, read) in found {
            let record = read.result().await?;
            if record.is_undefined() {
                continue;
            }
            let run = decode_run(&record)?;
            let event = run.events.into_iter().find(|e| e.id == id).ok_or_else(|| corrupt("ids", "name an event not there"))?;
            state.events.insert(id, event.to_values()?);
        }
        let outcomes = decide_batch(&mut state, requests, chaining);
        let mut written = state.written.into_iter();
        let mut writes = Vec::new();
        for (request, outcome) in requests.iter().zip(&outcomes) {
            if let Outcome::Written(_) = outcome {
                let events: Vec<RecordedEvent> = written.by_ref().take(request.events.len()).collect();
                writes.push(place(log.add(&encode_run(&events, Some(request.expected))), "write log")?);
            }
        }
        let head = (!writes.is_empty()).then_some(state.head);
        // In order: the first failure is the cause; the requests after it fail with AbortError.
        for write in writes {
            write.result().await?;
        }
        Ok((outcomes.into_iter().map(Outcome::into_result).collect(), head))
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

pub(crate) fn object_store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore, StorageError> {
    tx.object_store(name).map_err(|e| from_js(&e, "objectStore"))
}

pub(crate) fn index(store: &IdbObjectStore, name: &str) -> Result<IdbIndex, StorageError> {
    store.index(name).map_err(|e| from_js(&e, "index"))
}

/// The request for the global head: the `log` store's last key, read with a key cursor (no
/// record is read). Decoded by [`decode_head`].
pub(crate) fn head_request(log: &IdbObjectStore) -> Result<web_sys::IdbRequest, JsValue> {
    log.open_key_cursor_with_range_and_direction(&JsValue::NULL, IdbCursorDirection::Prev)
}

/// The request for `stream`'s version: the last key (`[stream, version]` of its last run) of
/// its range in the `stream` index, read with a key cursor. Decoded by
/// [`decode_stream_version`].
pub(crate) fn version_request(by_stream: &IdbIndex, stream: &str) -> Result<web_sys::IdbRequest, JsValue> {
    let range = IdbKeyRange::bound(&stream_key(stream, 0.0), &stream_key(stream, f64::INFINITY))?;
    by_stream.open_key_cursor_with_range_and_direction(&range, IdbCursorDirection::Prev)
}

/// The key a key cursor request stands on; `None` when the range is empty.
fn cursor_key(result: &JsValue) -> Result<Option<JsValue>, StorageError> {
    if result.is_null() || result.is_undefined() {
        return Ok(None);
    }
    result.unchecked_ref::<IdbCursor>().key().map(Some).map_err(|e| from_js(&e, "cursor key"))
}

/// The global head from a [`head_request`]: 0 when the log is empty.
pub(crate) fn decode_head(result: &JsValue) -> Result<u64, StorageError> {
    match cursor_key(result)? {
        None => Ok(0),
        Some(key) => key.as_f64().and_then(crate::core::safe_integer).ok_or_else(|| corrupt("log key", "is not a position")),
    }
}

/// A stream's version from a [`version_request`]: 0 when it has no event.
pub(crate) fn decode_stream_version(result: &JsValue) -> Result<u64, StorageError> {
    match cursor_key(result)? {
        None => Ok(0),
        Some(key) => js_sys::Reflect::get_u32(&key, 1)
            .ok()
            .and_then(|v| v.as_f64())
            .and_then(crate::core::safe_integer)
            .ok_or_else(|| corrupt("stream index key", "holds no version")),
    }
}

/// A version or position as a key bound: beyond 2^53 is `Infinity`.
fn version_key(n: u64) -> f64 {
    if n as f64 >= crate::core::MAX_SAFE_INTEGER {
        f64::INFINITY
    } else {
        n as f64
    }
}

/// The run a `log` record read through an index holds (an index never holds a tombstone).
pub(crate) fn decode_run(record: &JsValue) -> Result<Run, StorageError> {
    decode_log(record)?.into_run()
}

/// The records of two `getAll` requests in order (a range, then the one record beyond it),
/// their events built for the caller ([`record::decode_log_built`]).
async fn records(reads: [Pending; 2]) -> Result<Vec<LogRecord>, StorageError> {
    let mut out = Vec::new();
    for read in reads {
        let array: js_sys::Array = read.result().await?.dyn_into().map_err(|v| from_js(&v, "read log: not an array"))?;
        for record in array.iter() {
            out.push(record::decode_log_built(&record)?);
        }
    }
    Ok(out)
}

/// Requests for the records of `source` whose keys lie in `low..=high`, and for the first
/// record in `beyond` (the keys after `high`, within the same stream): together the records holding every position (or version) from `low`
/// to `high` when the log reaches that far (a record's key is its last one).
fn covering<S: GetAll>(source: &S, low: JsValue, high: JsValue, beyond: IdbKeyRange) -> Result<[Pending; 2], StorageError> {
    Ok([
        Pending::new(source.get_all_in(&bound(&low, &high)?, None), "read log")?,
        Pending::new(source.get_all_in(&beyond, Some(1)), "read log")?,
    ])
}

/// `getAll` on an object store or an index.
trait GetAll {
    fn get_all_in(&self, range: &IdbKeyRange, count: Option<u32>) -> Result<web_sys::IdbRequest, JsValue>;
}

impl GetAll for IdbObjectStore {
    fn get_all_in(&self, range: &IdbKeyRange, count: Option<u32>) -> Result<web_sys::IdbRequest, JsValue> {
        match count {
            Some(n) => self.get_all_with_key_and_limit(range, n),
            None => self.get_all_with_key(range),
        }
    }
}

impl GetAll for IdbIndex {
    fn get_all_in(&self, range: &IdbKeyRange, count: Option<u32>) -> Result<web_sys::IdbRequest, JsValue> {
        match count {
            Some(n) => self.get_all_with_key_and_limit(range, n),
            None => self.get_all_with_key(range),
        }
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

fn bound(lower: &JsValue, upper: &JsValue) -> Result<IdbKeyRange, StorageError> {
    IdbKeyRange::bound(lower, upper).map_err(|e| from_js(&e, "key range"))
}

impl Backend for IdbBackend {
    type Payload = JsPayload;

    async fn head(&self) -> Result<u64, StorageError> {
        let tx = self.transaction(&[LOG], IdbTransactionMode::Readonly)?;
        let log = object_store(&tx, LOG)?;
        decode_head(&Pending::new(head_request(&log), "read head")?.result().await?)
    }

    async fn append(
        &self,
        requests: &[AppendRequest],
    ) -> Result<Vec<Result<AppendResult, Error>>, StorageError> {
        self.append_chained(requests, Chaining::Independent).await
    }

    /// One readwrite transaction over `log` for all of `requests`. When none writes, the
    /// transaction is aborted; when one fails in IndexedDB, the whole transaction aborts and
    /// its error is returned. After a commit, the new head is posted.
    async fn append_chained(
        &self,
        requests: &[AppendRequest],
        chaining: Chaining,
    ) -> Result<Vec<Result<AppendResult, Error>>, StorageError> {
        let tx = self.transaction(&[LOG], IdbTransactionMode::Readwrite)?;
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
        let tx = self.transaction(&[LOG], IdbTransactionMode::Readonly)?;
        let by_stream = index(&object_store(&tx, LOG)?, BY_STREAM)?;
        let read = Pending::new(version_request(&by_stream, stream), "read stream")?;
        decode_stream_version(&read.result().await?)
    }

    /// Reads whole runs: the page holds at least `limit` events when the stream has them, and
    /// every event of the last run read (a run is never read twice by a paged read).
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent<JsPayload>>, StorageError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let tx = self.transaction(&[LOG], IdbTransactionMode::Readonly)?;
        let by_stream = index(&object_store(&tx, LOG)?, BY_STREAM)?;
        let span = limit as u64 - 1;
        let (low, high) = match direction {
            Direction::Forward => (from.max(1), from.max(1).saturating_add(span)),
            Direction::Backward => {
                let read = Pending::new(version_request(&by_stream, stream), "read stream")?;
                let top = from.min(decode_stream_version(&read.result().await?)?);
                if top == 0 {
                    return Ok(Vec::new());
                }
                (top.saturating_sub(span).max(1), top)
            }
        };
        let key = |v: u64| stream_key(stream, version_key(v));
        let beyond = bound(&key(high.saturating_add(1)), &stream_key(stream, f64::INFINITY))?;
        let found = records(covering(&by_stream, key(low), key(high), beyond)?).await?;
        let mut events = Vec::new();
        for record in found {
            events.extend(record.into_run()?.events);
        }
        // Versions are 1..n with no gap, and the runs hold them whole: the runs read start at or
        // before `low` and follow each other.
        if events.first().is_some_and(|e| e.version > low) || events.windows(2).any(|w| w[1].version != w[0].version + 1) {
            return Err(corrupt("stream", "has a gap in its versions"));
        }
        Ok(match direction {
            Direction::Forward => events.into_iter().filter(|e| e.version >= low).collect(),
            Direction::Backward => events.into_iter().rev().filter(|e| e.version <= high).collect(),
        })
    }

    /// Examines whole records: at least `limit` positions when the range holds them, and
    /// every position of the last record read.
    async fn read_all(
        &self,
        range: PositionRange,
        direction: Direction,
        limit: usize,
        filter: &Filter,
    ) -> Result<Page<JsPayload>, StorageError> {
        let tx = self.transaction(&[LOG], IdbTransactionMode::Readonly)?;
        let log = object_store(&tx, LOG)?;
        let first = range.after.saturating_add(1);
        let mut last = range.before.saturating_sub(1);
        let mut page = Page::default();
        if direction == Direction::Backward {
            last = last.min(decode_head(&Pending::new(head_request(&log), "read head")?.result().await?)?);
        }
        if first > last {
            page.exhausted = true;
            return Ok(page);
        }
        if limit == 0 {
            return Ok(page);
        }
        let span = limit as u64 - 1;
        let (low, high) = match direction {
            Direction::Forward => (first, last.min(first.saturating_add(span))),
            Direction::Backward => (first.max(last.saturating_sub(span)), last),
        };
        let key = |p: u64| JsValue::from_f64(version_key(p));
        let beyond = IdbKeyRange::lower_bound(&key(high.saturating_add(1))).map_err(|e| from_js(&e, "key range"))?;
        let found = records(covering(&log, key(low), key(high), beyond)?).await?;
        // Positions are 1..n with no gap: the records read start at or before `low` and follow
        // each other.
        if found.first().is_some_and(|r| r.first() > low) || found.windows(2).any(|w| w[1].first() != w[0].last() + 1) {
            return Err(StorageError::other(alloc::format!("DataError: the log has a gap in positions from {low}")));
        }
        let (Some(start), Some(end)) = (found.first().map(LogRecord::first), found.last().map(LogRecord::last)) else {
            page.exhausted = true;
            return Ok(page);
        };
        let (start, end) = (start.max(first), end.min(last));
        let mut examined: Vec<RecordedEvent<JsPayload>> = Vec::new();
        for record in found {
            if let LogRecord::Run(run) = record {
                examined.extend(run.events.into_iter().filter(|e| (start..=end).contains(&e.position)));
            }
        }
        match direction {
            Direction::Forward => {
                page.last_examined = Some(end);
                page.exhausted = end == last || end < high;
            }
            Direction::Backward => {
                examined.reverse();
                page.last_examined = Some(start);
                page.exhausted = start == first;
            }
        }
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
        let tx = self.transaction(&[LOG, SNAPSHOTS], IdbTransactionMode::Readwrite)?;
        let completion = Completion::new(&tx);
        let by_stream = index(&object_store(&tx, LOG)?, BY_STREAM)?;
        let read = Pending::new(version_request(&by_stream, stream), "read stream")?;
        let version = match decode_stream_version(&read.result().await?) {
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
        let snapshots = object_store(&tx, SNAPSHOTS)?;
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
