//! The database's schema and its creation. The IndexedDB version is the schema version.

use alloc::{format, rc::Rc, string::String};
use ::core::cell::RefCell;

use js_sys::{Array, Promise};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{
    IdbCursorWithValue, IdbDatabase, IdbFactory, IdbIndexParameters, IdbObjectStoreParameters, IdbOpenDbRequest,
};

use super::record::{decode_event, encode_head, encode_outbox};
use super::request::{from_js, Pending};
use crate::core::sync::LegacyOutbox;
use crate::core::{first, Either, StorageError};
use crate::js::{abandon_open, get};

/// The schema this code reads and writes. Opening a database of a later schema fails
/// (`VersionError`) rather than misreading it.
pub const SCHEMA_VERSION: u32 = 2;

/// The prefix of every database and channel name, so a store never collides with another
/// library's database on the same origin.
pub const NAME_PREFIX: &str = "annals:";

/// Events by `position`.
pub(crate) const EVENTS: &str = "events";
/// Unique index of `events` on `[stream, version]`.
pub(crate) const BY_STREAM_VERSION: &str = "stream_version";
/// Unique index of `events` on `id`.
pub(crate) const BY_ID: &str = "id";
/// Stream heads by `stream`: `{ stream, version, position }`.
pub(crate) const STREAMS: &str = "streams";
/// Store-wide records by `key`; `"head"` holds the global head `{ key, position }`.
pub(crate) const META: &str = "meta";
/// Checkpoints by `name`: `{ name, position }`.
pub(crate) const CHECKPOINTS: &str = "checkpoints";
/// Snapshots by `stream`: `{ stream, version, state }`.
pub(crate) const SNAPSHOTS: &str = "snapshots";
/// Pending appends by `key` (the local position of their first event):
/// `{ key, stream, expected, count }`. Schema 2.
pub(crate) const OUTBOX: &str = "outbox";
/// Conflicts by `key`: `{ key, stream, expected, actual, reason, events }`. Schema 2.
pub(crate) const CONFLICTS: &str = "conflicts";

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

/// Brings a database from schema `old` (0: new) to [`SCHEMA_VERSION`], step by step, inside
/// the `versionchange` transaction. A step that must read records returns the handler that
/// carries it on, to be kept until the open ends.
fn upgrade(
    request: &IdbOpenDbRequest,
    old: f64,
    failure: &Rc<RefCell<Option<StorageError>>>,
) -> Result<Option<Listener>, StorageError> {
    let db: IdbDatabase = request
        .result()
        .and_then(|r| r.dyn_into::<IdbDatabase>())
        .map_err(|e| from_js(&e, "upgrade"))?;
    if old < 1.0 {
        create_schema_1(&db).map_err(|e| from_js(&e, "upgrade to schema 1"))?;
    }
    let mut handler = None;
    if old < 2.0 {
        create_schema_2(&db).map_err(|e| from_js(&e, "upgrade to schema 2"))?;
        if old >= 1.0 {
            handler = Some(pending_from_schema_1(request, failure).map_err(|e| from_js(&e, "upgrade to schema 2"))?);
        }
    }
    Ok(handler)
}

fn keyed(key: &str) -> IdbObjectStoreParameters {
    let parameters = IdbObjectStoreParameters::new();
    parameters.set_key_path(&JsValue::from_str(key));
    parameters
}

/// Schema 2: sync. The outbox of pending appends and the conflicts; events gain tombstones
/// and a `serverPosition`, streams a `confirmed` count, `meta` a pending count on the head
/// record and the sync cursor (`docs/design.md`).
fn create_schema_2(db: &IdbDatabase) -> Result<(), JsValue> {
    db.create_object_store_with_optional_parameters(OUTBOX, &keyed("key"))?;
    db.create_object_store_with_optional_parameters(CONFLICTS, &keyed("key"))?;
    Ok(())
}

/// Every event of a schema 1 database was appended on this device and never pushed: each
/// becomes pending, grouped into appends by [`LegacyOutbox`]. Reads the events with a cursor
/// (bounded memory), then writes the outbox and the pending count on the head record.
fn pending_from_schema_1(
    request: &IdbOpenDbRequest,
    failure: &Rc<RefCell<Option<StorageError>>>,
) -> Result<Listener, JsValue> {
    let transaction = request.transaction().ok_or_else(|| JsValue::from_str("no upgrade transaction"))?;
    let events = transaction.object_store(EVENTS)?;
    let cursor_request = events.open_cursor()?;
    let mut outbox = LegacyOutbox::default();
    let failure = failure.clone();
    let open = request.clone();
    let reading = cursor_request.clone();
    let step = move |_: JsValue| -> Result<(), StorageError> {
        let cursor = reading.result().map_err(|e| from_js(&e, "upgrade to schema 2"))?;
        if cursor.is_null() || cursor.is_undefined() {
            let outbox_store = transaction.object_store(OUTBOX).map_err(|e| from_js(&e, "objectStore"))?;
            let meta = transaction.object_store(META).map_err(|e| from_js(&e, "objectStore"))?;
            let (head, pending) = (outbox.last_position(), outbox.events());
            for entry in core::mem::take(&mut outbox).into_entries() {
                outbox_store.put(&encode_outbox(&entry)).map_err(|e| from_js(&e, "write outbox"))?;
            }
            if head > 0 {
                meta.put(&encode_head(head, pending)).map_err(|e| from_js(&e, "write head"))?;
            }
            return Ok(());
        }
        let cursor: IdbCursorWithValue = cursor.unchecked_into();
        let record = cursor.value().map_err(|e| from_js(&e, "upgrade to schema 2"))?;
        let event = decode_event(&record)?;
        outbox.add(event.position, &event.stream, event.recorded_at);
        cursor.continue_().map_err(|e| from_js(&e, "upgrade to schema 2"))
    };
    let mut step = step;
    let handler = Listener::new(move |event: JsValue| {
        if let Err(e) = step(event) {
            fail_upgrade(&open, &failure, e);
        }
    });
    cursor_request.set_onsuccess(Some(handler.as_ref().unchecked_ref()));
    Ok(handler)
}

fn create_schema_1(db: &IdbDatabase) -> Result<(), JsValue> {
    let unique = IdbIndexParameters::new();
    unique.set_unique(true);

    let events = db.create_object_store_with_optional_parameters(EVENTS, &keyed("position"))?;
    events.create_index_with_str_sequence_and_optional_parameters(
        BY_STREAM_VERSION,
        &scope(&["stream", "version"]),
        &unique,
    )?;
    events.create_index_with_str_and_optional_parameters(BY_ID, "id", &unique)?;
    db.create_object_store_with_optional_parameters(STREAMS, &keyed("stream"))?;
    db.create_object_store_with_optional_parameters(META, &keyed("key"))?;
    db.create_object_store_with_optional_parameters(CHECKPOINTS, &keyed("name"))?;
    db.create_object_store_with_optional_parameters(SNAPSHOTS, &keyed("stream"))?;
    Ok(())
}

/// The database (and channel) name of the store `name`.
pub(crate) fn database_name(name: &str) -> String {
    format!("{NAME_PREFIX}{name}")
}
