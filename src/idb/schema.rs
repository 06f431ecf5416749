//! The database's schema and its creation. The IndexedDB version is the schema version.

use alloc::{collections::BTreeMap, format, rc::Rc, string::String, vec::Vec};
use ::core::cell::RefCell;

use js_sys::{Array, Promise};
use crate::js::JsPayload;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{
    IdbCursorWithValue, IdbDatabase, IdbFactory, IdbIndexParameters, IdbObjectStore, IdbObjectStoreParameters,
    IdbOpenDbRequest, IdbRequest, IdbTransaction,
};

use super::record::{
    decode_cursor, decode_event, decode_outbox, decode_position, encode_cursor, encode_removed, encode_run,
    is_tombstone, SyncMark, CURSOR_KEY, HEAD_KEY,
};
use super::request::{from_js, Pending};
use crate::core::sync::{LegacyOutbox, OutboxEntry};
use crate::core::{continues_run, first, Either, ExpectedVersion, RecordedEvent, RunMember, StorageError};
use crate::js::{abandon_open, get};

/// The schema this code reads and writes. Opening a database of a later schema fails
/// (`VersionError`) rather than misreading it.
pub const SCHEMA_VERSION: u32 = 3;

/// The prefix of every database and channel name, so a store never collides with another
/// library's database on the same origin.
pub const NAME_PREFIX: &str = "annals:";

/// Schema 3: the event log, one record per run of events ([`super::record::encode_run`]) keyed
/// by its last event's position (`last`); tombstones where events moved into a conflict.
pub(crate) const LOG: &str = "log";
/// Unique index of `log` on `[stream, version]` (a run's last version): one entry per run.
pub(crate) const BY_STREAM: &str = "stream";
/// Unique multiEntry index of `log` on `ids`: each event's id, once in the store.
pub(crate) const BY_ID: &str = "id";
/// Unique index of `log` on `outbox`, present while a run is a pending append: the outbox.
pub(crate) const BY_OUTBOX: &str = "outbox";
/// Per stream: `{ stream, confirmed }`, written by sync.
pub(crate) const STREAMS: &str = "streams";
/// Store-wide records by `key`: the identity and the sync cursor.
pub(crate) const META: &str = "meta";
/// Checkpoints by `name`: `{ name, position }`.
pub(crate) const CHECKPOINTS: &str = "checkpoints";
/// Snapshots by `stream`: `{ stream, version, state }`.
pub(crate) const SNAPSHOTS: &str = "snapshots";
/// Conflicts by `key`: `{ key, stream, expected, actual, reason, events }`. Since schema 2.
pub(crate) const CONFLICTS: &str = "conflicts";
/// Schemas 1 and 2: events by `position`, one record each (read by the upgrade, then deleted).
const EVENTS: &str = "events";
/// Schema 2: pending appends by `key` (read by the upgrade, then deleted).
const OUTBOX: &str = "outbox";

/// The store names `names` as the sequence a transaction takes.
pub(crate) fn scope(names: &[&str]) -> JsValue {
    names.iter().map(|n| JsValue::from_str(n)).collect::<Array>().into()
}

/// Opens (creating or upgrading when needed) the database `name` at [`SCHEMA_VERSION`].
pub(crate) async fn open(name: &str) -> Result<IdbDatabase, StorageError> {
    let factory = factory()?;
    let request = factory.open_with_u32(name, SCHEMA_VERSION).map_err(|e| from_js(&e, "open"))?;
    let failure: Rc<RefCell<Option<StorageError>>> = Rc::default();
    // A step that reads records (the migration to schema 2) keeps its handler here until the
    // open ends.
    let migration: Rc<RefCell<Option<Listener>>> = Rc::default();
    let on_upgrade = {
        let request = request.clone();
        let failure = failure.clone();
        let migration = migration.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let old = get(&event, "oldVersion").as_f64().unwrap_or(0.0);
            match upgrade(&request, old, &failure) {
                Ok(handler) => *migration.borrow_mut() = handler,
                Err(e) => fail_upgrade(&request, &failure, e),
            }
        })
    };
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    // `blocked`: another context keeps the database open at an older schema and did not close
    // it on `versionchange` (code that predates that handling, or another library). The upgrade
    // would wait for it without end: the open gives up instead, and if the database frees up
    // later the abandoned request neither upgrades it nor keeps it open.
    let blocked = JsFuture::from(Promise::new(&mut |resolve, _| request.set_onblocked(Some(&resolve))));
    let mut abandoned = false;
    let result = match Pending::new(Ok(request.clone().unchecked_into()), "open") {
        Ok(pending) => match first(pending.result(), blocked).await {
            Either::Left(result) => result,
            Either::Right(_) => {
                abandoned = true;
                Err(StorageError::other(
                    "Blocked: another tab or worker keeps this database open at an older schema and did not close \
                     it for the upgrade; close or reload it, then open again (open)",
                ))
            }
        },
        Err(e) => Err(e),
    };
    // The open request has fired its last event, or is given up: the closures can go.
    request.set_onblocked(None);
    request.set_onupgradeneeded(None);
    if abandoned {
        abandon_open(&request);
    }
    drop(on_upgrade);
    migration.borrow_mut().take();
    if let Some(e) = failure.borrow_mut().take() {
        return Err(e);
    }
    result?.dyn_into::<IdbDatabase>().map_err(|v| from_js(&v, "open: not an IDBDatabase"))
}

/// `indexedDB` of the current global (window or worker).
fn factory() -> Result<IdbFactory, StorageError> {
    let global = js_sys::global();
    let factory = get(&global, "indexedDB");
    if factory.is_undefined() || factory.is_null() {
        return Err(StorageError::other("NotSupportedError: indexedDB is not available here (open)"));
    }
    factory.dyn_into::<IdbFactory>().map_err(|v| from_js(&v, "open: indexedDB is not an IDBFactory"))
}

type Listener = Closure<dyn FnMut(JsValue)>;

/// Records why the upgrade failed and aborts it: the open fails with AbortError and nothing
/// half-made stays.
fn fail_upgrade(request: &IdbOpenDbRequest, failure: &RefCell<Option<StorageError>>, error: StorageError) {
    failure.borrow_mut().get_or_insert(error);
    if let Some(transaction) = request.transaction() {
        let _ = transaction.abort();
    }
}

/// Brings a database from schema `old` (0: new) to [`SCHEMA_VERSION`] inside the
/// `versionchange` transaction. A new database is made at schema 3 at once; one of schema 1 or
/// 2 has its events rewritten into the log by [`Migration`], whose handler is returned, to be
/// kept until the open ends.
fn upgrade(
    request: &IdbOpenDbRequest,
    old: f64,
    failure: &Rc<RefCell<Option<StorageError>>>,
) -> Result<Option<Listener>, StorageError> {
    let db: IdbDatabase = request
        .result()
        .and_then(|r| r.dyn_into::<IdbDatabase>())
        .map_err(|e| from_js(&e, "upgrade"))?;
    let step = |e: JsValue| from_js(&e, "upgrade to schema 3");
    if old < 1.0 {
        for (name, key) in [(STREAMS, "stream"), (META, "key"), (CHECKPOINTS, "name"), (SNAPSHOTS, "stream")] {
            db.create_object_store_with_optional_parameters(name, &keyed(key)).map_err(step)?;
        }
    }
    if old < 2.0 {
        db.create_object_store_with_optional_parameters(CONFLICTS, &keyed("key")).map_err(step)?;
    }
    create_log(&db).map_err(step)?;
    if old < 1.0 {
        return Ok(None);
    }
    Migration::start(request, db, old >= 2.0, failure).map(Some).map_err(step)
}

/// Schema 3's `log` store and its three indexes.
fn create_log(db: &IdbDatabase) -> Result<(), JsValue> {
    let unique = IdbIndexParameters::new();
    unique.set_unique(true);
    let log = db.create_object_store_with_optional_parameters(LOG, &keyed("last"))?;
    log.create_index_with_str_sequence_and_optional_parameters(BY_STREAM, &scope(&["stream", "version"]), &unique)?;
    log.create_index_with_str_and_optional_parameters(BY_OUTBOX, "outbox", &unique)?;
    let ids = IdbIndexParameters::new();
    ids.set_unique(true);
    ids.set_multi_entry(true);
    log.create_index_with_str_and_optional_parameters(BY_ID, "ids", &ids)?;
    Ok(())
}

/// The rewrite of a schema 1 or 2 database's events into schema 3's log, in the upgrade
/// transaction: the old events are read with a cursor (bounded memory) and grouped into runs
/// as [`continues_run`] says; pending appends are schema 2's outbox entries, or for schema 1
/// (written before sync) every event, grouped by [`LegacyOutbox`]. Then the old stores and the
/// old head record go, and the cursor record gains the count of removed positions.
struct Migration {
    transaction: IdbTransaction,
    db: IdbDatabase,
    log: IdbObjectStore,
    /// Schema 2: the outbox request (taken at the first step, when it has long succeeded:
    /// requests run in order) and its entries by key.
    outbox: Option<(Option<IdbRequest>, BTreeMap<u64, OutboxEntry>)>,
    /// Schema 1: every event pending.
    legacy: Option<LegacyOutbox>,
    cursor: IdbRequest,
    /// The pending append being read: its key, last position and expectation.
    append: Option<(u64, u64, ExpectedVersion)>,
    run: Vec<RecordedEvent<JsPayload>>,
    run_pending: Option<(u64, ExpectedVersion)>,
    /// The tombstones being read: first and last position.
    removed_run: Option<(u64, u64)>,
    removed: u64,
}

impl Migration {
    fn start(
        request: &IdbOpenDbRequest,
        db: IdbDatabase,
        from_sync_schema: bool,
        failure: &Rc<RefCell<Option<StorageError>>>,
    ) -> Result<Listener, JsValue> {
        let transaction = request.transaction().ok_or_else(|| JsValue::from_str("no upgrade transaction"))?;
        let outbox = if from_sync_schema {
            Some((Some(transaction.object_store(OUTBOX)?.get_all()?), BTreeMap::new()))
        } else {
            None
        };
        let cursor = transaction.object_store(META)?.get(&JsValue::from_str(CURSOR_KEY))?;
        let reading = transaction.object_store(EVENTS)?.open_cursor()?;
        let log = transaction.object_store(LOG)?;
        let migration = RefCell::new(Migration {
            transaction,
            db,
            log,
            outbox,
            legacy: (!from_sync_schema).then(LegacyOutbox::default),
            cursor,
            append: None,
            run: Vec::new(),
            run_pending: None,
            removed_run: None,
            removed: 0,
        });
        let (failure, open, events) = (failure.clone(), request.clone(), reading.clone());
        let handler = Listener::new(move |_: JsValue| {
            if let Err(e) = migration.borrow_mut().step(&events) {
                fail_upgrade(&open, &failure, e);
            }
        });
        reading.set_onsuccess(Some(handler.as_ref().unchecked_ref()));
        Ok(handler)
    }

    /// Takes the event the cursor stands on (or finishes when it is done) and moves it on.
    fn step(&mut self, events: &IdbRequest) -> Result<(), StorageError> {
        let failed = |e: JsValue| from_js(&e, "upgrade to schema 3");
        if let Some((request, entries)) = &mut self.outbox {
            if let Some(request) = request.take() {
                let records: Array = request.result().map_err(failed)?.unchecked_into();
                for record in records.iter() {
                    let entry = decode_outbox(&record)?;
                    entries.insert(entry.key, entry);
                }
            }
        }
        let cursor = events.result().map_err(failed)?;
        if cursor.is_null() || cursor.is_undefined() {
            return self.finish();
        }
        let cursor: IdbCursorWithValue = cursor.unchecked_into();
        let record = cursor.value().map_err(failed)?;
        if is_tombstone(&record) {
            let position = decode_position(&record)?.unwrap_or(0);
            self.flush_run()?;
            match &mut self.removed_run {
                Some((_, last)) if *last + 1 == position => *last = position,
                _ => {
                    self.flush_removed()?;
                    self.removed_run = Some((position, position));
                }
            }
        } else {
            self.flush_removed()?;
            let event = decode_event(&record)?;
            let pending = self.pending_append(&event);
            let append = pending.map(|(key, _)| key);
            let continues = self.run.last().is_some_and(|last| {
                continues_run(&RunMember::of(last, self.run_pending.map(|(key, _)| key)), &RunMember::of(&event, append))
            });
            if !continues {
                self.flush_run()?;
                self.run_pending = pending;
            }
            self.run.push(event);
        }
        cursor.continue_().map_err(failed)
    }

    /// The pending append `event` belongs to (its key and expectation), if any.
    fn pending_append(&mut self, event: &RecordedEvent<JsPayload>) -> Option<(u64, ExpectedVersion)> {
        if event.server_position.is_some() {
            return None;
        }
        if let Some(legacy) = &mut self.legacy {
            return Some((legacy.add(event.position, &event.stream, event.recorded_at), ExpectedVersion::Any));
        }
        let entries = &self.outbox.as_ref()?.1;
        if let Some(entry) = entries.get(&event.position) {
            self.append = Some((entry.key, entry.key + entry.count - 1, entry.expected));
        }
        match self.append {
            Some((key, last, expected)) if event.position <= last => Some((key, expected)),
            _ => None,
        }
    }

    fn flush_run(&mut self) -> Result<(), StorageError> {
        if self.run.is_empty() {
            return Ok(());
        }
        let record = encode_run(&self.run, self.run_pending.map(|(_, expected)| expected));
        self.run.clear();
        self.log.put(&record).map(drop).map_err(|e| from_js(&e, "upgrade to schema 3: write log"))
    }

    fn flush_removed(&mut self) -> Result<(), StorageError> {
        let Some((first, last)) = self.removed_run.take() else { return Ok(()) };
        self.removed += last - first + 1;
        self.log
            .put(&encode_removed(last, last - first + 1))
            .map(drop)
            .map_err(|e| from_js(&e, "upgrade to schema 3: write log"))
    }

    /// Writes what is left, the sync mark with the removed count, and drops the old stores.
    fn finish(&mut self) -> Result<(), StorageError> {
        self.flush_run()?;
        self.flush_removed()?;
        let failed = |e: JsValue| from_js(&e, "upgrade to schema 3");
        let mark = SyncMark { removed: self.removed, ..decode_cursor(&self.cursor.result().map_err(failed)?)? };
        let meta = self.transaction.object_store(META).map_err(failed)?;
        meta.put(&encode_cursor(mark)).map_err(failed)?;
        meta.delete(&JsValue::from_str(HEAD_KEY)).map_err(failed)?;
        self.db.delete_object_store(EVENTS).map_err(failed)?;
        if self.outbox.is_some() {
            self.db.delete_object_store(OUTBOX).map_err(failed)?;
        }
        Ok(())
    }
}

fn keyed(key: &str) -> IdbObjectStoreParameters {
    let parameters = IdbObjectStoreParameters::new();
    parameters.set_key_path(&JsValue::from_str(key));
    parameters
}

/// The database (and channel) name of the store `name`.
pub(crate) fn database_name(name: &str) -> String {
    format!("{NAME_PREFIX}{name}")
}
