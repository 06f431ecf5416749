//! The database's schema and its creation. The IndexedDB version is the schema version.

use alloc::{format, rc::Rc, string::String};
use ::core::cell::RefCell;

use js_sys::Array;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{IdbDatabase, IdbFactory, IdbIndexParameters, IdbObjectStoreParameters, IdbOpenDbRequest};

use super::request::{from_js, Pending};
use crate::core::StorageError;
use crate::js::get;

/// The schema this code reads and writes. Opening a database of a later schema fails
/// (`VersionError`) rather than misreading it.
pub const SCHEMA_VERSION: u32 = 1;

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

/// The store names `names` as the sequence a transaction takes.
pub(crate) fn scope(names: &[&str]) -> JsValue {
    names.iter().map(|n| JsValue::from_str(n)).collect::<Array>().into()
}

/// Opens (creating or upgrading when needed) the database `name` at [`SCHEMA_VERSION`].
pub(crate) async fn open(name: &str) -> Result<IdbDatabase, StorageError> {
    let factory = factory()?;
    let request = factory.open_with_u32(name, SCHEMA_VERSION).map_err(|e| from_js(&e, "open"))?;
    let failure: Rc<RefCell<Option<StorageError>>> = Rc::default();
    let on_upgrade = {
        let request = request.clone();
        let failure = failure.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let old = get(&event, "oldVersion").as_f64().unwrap_or(0.0);
            if let Err(e) = upgrade(&request, old) {
                *failure.borrow_mut() = Some(e);
                // Aborting the upgrade makes the open fail with AbortError: nothing half-made stays.
                if let Some(transaction) = request.transaction() {
                    let _ = transaction.abort();
                }
            }
        })
    };
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let opened = Pending::new(Ok(request.clone().unchecked_into()), "open").map(Pending::result);
    let result = match opened {
        Ok(future) => future.await,
        Err(e) => Err(e),
    };
    // The open request has fired its last event: the closure can go.
    request.set_onupgradeneeded(None);
    drop(on_upgrade);
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

/// Brings a database from schema `old` (0: new) to [`SCHEMA_VERSION`], step by step.
fn upgrade(request: &IdbOpenDbRequest, old: f64) -> Result<(), StorageError> {
    let db: IdbDatabase = request
        .result()
        .and_then(|r| r.dyn_into::<IdbDatabase>())
        .map_err(|e| from_js(&e, "upgrade"))?;
    if old < 1.0 {
        create_schema_1(&db).map_err(|e| from_js(&e, "upgrade to schema 1"))?;
    }
    Ok(())
}

fn create_schema_1(db: &IdbDatabase) -> Result<(), JsValue> {
    let keyed = |key: &str| {
        let parameters = IdbObjectStoreParameters::new();
        parameters.set_key_path(&JsValue::from_str(key));
        parameters
    };
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
