//! The wasm-bindgen surface under the npm package: argument conversion and calls into
//! [`crate::core`], nothing more. The TypeScript layer in `pkg-js/` turns these raw classes
//! into the contract's `EventStore`, iterables and typed errors.

mod backend;
mod sync;

use alloc::rc::Rc;
use core::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::core::{
    AllReader, Error, MemoryBackend, ReadAllOptions, ReadStreamOptions, StorageError, Store,
    StoreConfig, StreamReader, SubscribeOptions, Subscription,
};
use crate::idb::IdbBackend;
use crate::js::{self, error_to_js, get};
pub use backend::AnyBackend;

type JsResult<T = JsValue> = Result<T, JsValue>;

fn js_err(error: Error) -> JsValue {
    error_to_js(error)
}

/// Opens a store: `{ name = 'annals', storage = 'auto' | 'indexeddb' | 'memory',
/// maxEventBytes = 1 MiB }`. `'auto'` is IndexedDB where the context has it.
#[wasm_bindgen(js_name = openStore)]
pub async fn open_store(options: JsValue) -> JsResult<WasmStore> {
    open(options).await.map_err(js_err)
}

async fn open(options: JsValue) -> Result<WasmStore, Error> {
    let options = js::options(&options)?;
    let name = js::opt_string(&options, "name")?.unwrap_or_else(|| "annals".into());
    crate::core::validate_name("name", &name)?;
    let mut config = StoreConfig::default();
    if let Some(max) = js::opt_count(&options, "maxEventBytes")? {
        config.max_event_bytes = usize::try_from(max).unwrap_or(usize::MAX);
    }
    let has_indexed_db = !get(&js_sys::global(), "indexedDB").is_undefined();
    let backend = match js::opt_string(&options, "storage")?.as_deref() {
        None | Some("auto") if has_indexed_db => {
            AnyBackend::IndexedDb(IdbBackend::open(&name).await?)
        }
        None | Some("auto") | Some("memory") => AnyBackend::Memory(MemoryBackend::new()),
        Some("indexeddb") if has_indexed_db => {
            AnyBackend::IndexedDb(IdbBackend::open(&name).await?)
        }
        Some("indexeddb") => {
            return Err(StorageError::other("IndexedDB is not available in this context").into())
        }
        Some(_) => {
            return Err(Error::invalid(
                "storage",
                "must be 'auto', 'indexeddb' or 'memory'",
            ))
        }
    };
    Ok(WasmStore {
        store: Store::open(backend, config).await?,
    })
}

/// Compares a store's mark (`{ identity, serverPosition, pending, markedAt }` as read back,
/// or `undefined`) with the identity of the database just opened
/// ([`crate::core::judge_reopen`]): `{ previousIdentity, identity, lastServerPosition,
/// pendingAtLastMark, markedAt }` when the marked database vanished, else `undefined`. A mark
/// that does not read as one counts as no mark.
#[wasm_bindgen(
    js_name = judgeReopen,
    unchecked_return_type = "{ previousIdentity: string; identity: string; lastServerPosition: number; pendingAtLastMark: number; markedAt: number } | undefined"
)]
pub fn judge_reopen(mark: JsValue, identity: &str) -> JsValue {
    let count = |field| get(&mark, field).as_f64().and_then(crate::core::safe_integer);
    let mark = (|| {
        Some(crate::core::StoreMark {
            identity: get(&mark, "identity").as_string()?,
            server_position: count("serverPosition")?,
            pending: count("pending")?,
            marked_at: get(&mark, "markedAt").as_f64()?,
        })
    })();
    let Some(vanished) = crate::core::judge_reopen(mark.as_ref(), identity) else { return JsValue::UNDEFINED };
    let out = js_sys::Object::new();
    js::set(&out, "previousIdentity", &JsValue::from_str(&vanished.previous_identity));
    js::set(&out, "identity", &JsValue::from_str(&vanished.identity));
    js::set(&out, "lastServerPosition", &JsValue::from_f64(vanished.last_server_position as f64));
    js::set(&out, "pendingAtLastMark", &JsValue::from_f64(vanished.pending_at_last_mark as f64));
    js::set(&out, "markedAt", &JsValue::from_f64(vanished.marked_at));
    out.into()
}

/// An open store.
#[wasm_bindgen]
pub struct WasmStore {
    store: Rc<Store<AnyBackend>>,
}

#[wasm_bindgen]
impl WasmStore {
    /// Appends one event or an array of events: `{ expectedVersion }`.
    #[wasm_bindgen(unchecked_return_type = "RawAppendResult")]
    pub async fn append(&self, stream: JsValue, events: JsValue, options: JsValue) -> JsResult {
        let store = self.store.clone();
        let call = async {
            let stream = js::string(&stream, "stream")?;
            let events = js::events(&events)?;
            let expected = js::expected_version(&js::options(&options)?)?;
            store.append(&stream, events, expected).await
        };
        call.await
            .map(|r| js::append_result_to_js(&r))
            .map_err(js_err)
    }

    /// Imports exported events (`js::imported_events`), the first of them the `first`-th of
    /// the import: each appended at its own version with its own id (see `Store::import`).
    #[wasm_bindgen(js_name = importEvents)]
    pub async fn import_events(&self, events: JsValue, first: JsValue) -> JsResult<()> {
        let store = self.store.clone();
        let call = async {
            let first = js::count(&first, "first")?;
            store.import(js::imported_events(&events, first)?, first).await
        };
        call.await.map_err(js_err)
    }

    /// The stream's last version, 0 if none.
    #[wasm_bindgen(js_name = streamVersion, unchecked_return_type = "number")]
    pub async fn stream_version(&self, stream: JsValue) -> JsResult {
        let store = self.store.clone();
        let call = async {
            store
                .stream_version(&js::string(&stream, "stream")?)
                .await
        };
        call.await
            .map(|v| JsValue::from_f64(v as f64))
            .map_err(js_err)
    }

    /// A paged read of one stream: `{ fromVersion, direction, limit }`.
    #[wasm_bindgen(js_name = readStream)]
    pub fn read_stream(&self, stream: JsValue, options: JsValue) -> JsResult<WasmReader> {
        let make = || {
            let stream = js::string(&stream, "stream")?;
            let options = js::options(&options)?;
            let options = ReadStreamOptions {
                from_version: js::opt_count(&options, "fromVersion")?,
                direction: js::direction(&options)?,
                limit: js::opt_count(&options, "limit")?,
            };
            StreamReader::new(self.store.clone(), &stream, options).map(Reader::Stream)
        };
        make().map(WasmReader::new).map_err(js_err)
    }

    /// A paged read of the global order: `{ after, direction, limit, types, streamPrefix }`.
    #[wasm_bindgen(js_name = readAll)]
    pub fn read_all(&self, options: JsValue) -> JsResult<WasmReader> {
        let make = || {
            let options = js::options(&options)?;
            let options = ReadAllOptions {
                after: js::opt_count(&options, "after")?.unwrap_or(0),
                direction: js::direction(&options)?,
                limit: js::opt_count(&options, "limit")?,
                filter: js::filter(&options)?,
            };
            AllReader::new(self.store.clone(), options).map(Reader::All)
        };
        make().map(WasmReader::new).map_err(js_err)
    }

    /// A subscription: `{ after, checkpoint, types, streamPrefix }`.
    pub fn subscribe(&self, options: JsValue) -> JsResult<WasmSubscription> {
        let make = || {
            let options = js::options(&options)?;
            let options = SubscribeOptions {
                start: js::start(&options)?,
                checkpoint: js::opt_string(&options, "checkpoint")?,
                filter: js::filter(&options)?,
            };
            Subscription::new(self.store.clone(), options)
        };
        make()
            .map(|subscription| WasmSubscription { subscription })
            .map_err(js_err)
    }

    /// The position saved under checkpoint `name`, or `undefined`.
    #[wasm_bindgen(js_name = checkpointGet, unchecked_return_type = "number | undefined")]
    pub async fn checkpoint_get(&self, name: JsValue) -> JsResult {
        let store = self.store.clone();
        let call = async { store.checkpoint(&js::string(&name, "name")?).await };
        match call.await {
            Ok(Some(p)) => Ok(JsValue::from_f64(p as f64)),
            Ok(None) => Ok(JsValue::UNDEFINED),
            Err(e) => Err(js_err(e)),
        }
    }

    /// Saves `position` under checkpoint `name`.
    #[wasm_bindgen(js_name = checkpointSet)]
    pub async fn checkpoint_set(&self, name: JsValue, position: JsValue) -> JsResult<()> {
        let store = self.store.clone();
        let call = async {
            let name = js::string(&name, "name")?;
            store
                .set_checkpoint(&name, js::count(&position, "position")?)
                .await
        };
        call.await.map_err(js_err)
    }

    /// Saves `{ version, state }` for `stream`.
    #[wasm_bindgen(js_name = snapshotSave)]
    pub async fn snapshot_save(&self, stream: JsValue, snapshot: JsValue) -> JsResult<()> {
        let store = self.store.clone();
        let call = async {
            let stream = js::string(&stream, "stream")?;
            store
                .save_snapshot(&stream, js::snapshot(&snapshot)?)
                .await
        };
        call.await.map_err(js_err)
    }

    /// The snapshot saved for `stream`, or `undefined`.
    #[wasm_bindgen(js_name = snapshotLoad, unchecked_return_type = "RawSnapshot | undefined")]
    pub async fn snapshot_load(&self, stream: JsValue) -> JsResult {
        let store = self.store.clone();
        let call = async {
            store
                .load_snapshot(&js::string(&stream, "stream")?)
                .await
        };
        match call.await {
            Ok(Some(s)) => Ok(js::snapshot_to_js(&s)),
            Ok(None) => Ok(JsValue::UNDEFINED),
            Err(e) => Err(js_err(e)),
        }
    }

    /// What the store keeps its events in: `'indexeddb'` or `'memory'` (what `'auto'` chose).
    #[wasm_bindgen(getter, unchecked_return_type = "'indexeddb' | 'memory'")]
    pub fn storage(&self) -> JsValue {
        JsValue::from_str(match self.store.backend() {
            AnyBackend::Memory(_) => "memory",
            AnyBackend::IndexedDb(_) => "indexeddb",
        })
    }

    /// The identity of the store's IndexedDB database (`undefined` in memory): see
    /// [`crate::core::judge_reopen`].
    #[wasm_bindgen(getter, unchecked_return_type = "string | undefined")]
    pub fn identity(&self) -> JsValue {
        match self.store.backend() {
            AnyBackend::Memory(_) => JsValue::UNDEFINED,
            AnyBackend::IndexedDb(idb) => JsValue::from_str(idb.identity()),
        }
    }

    /// The name of the store's IndexedDB database, where its mark is kept (`undefined` in
    /// memory).
    #[wasm_bindgen(getter, js_name = databaseName, unchecked_return_type = "string | undefined")]
    pub fn database_name(&self) -> JsValue {
        match self.store.backend() {
            AnyBackend::Memory(_) => JsValue::UNDEFINED,
            AnyBackend::IndexedDb(idb) => JsValue::from_str(idb.name()),
        }
    }

    /// What a mark of the store records now: `{ identity, serverPosition, pending }`
    /// (`undefined` in memory, where nothing can vanish behind the store's back).
    #[wasm_bindgen(unchecked_return_type = "{ identity: string; serverPosition: number; pending: number } | undefined")]
    pub async fn mark(&self) -> JsResult {
        let AnyBackend::IndexedDb(idb) = self.store.backend() else { return Ok(JsValue::UNDEFINED) };
        let read = async {
            use crate::core::sync::SyncBackend;
            Ok::<_, Error>((idb.cursor().await?, idb.pending_count().await?))
        };
        let (server_position, pending) = read.await.map_err(js_err)?;
        let mark = js_sys::Object::new();
        js::set(&mark, "identity", &JsValue::from_str(idb.identity()));
        js::set(&mark, "serverPosition", &JsValue::from_f64(server_position as f64));
        js::set(&mark, "pending", &JsValue::from_f64(pending as f64));
        Ok(mark.into())
    }

    /// Closes the store; subscriptions end and later calls reject with `StoreClosedError`.
    pub async fn close(&self) {
        self.store.close();
    }

    /// Starts syncing over `transport` (made by the TypeScript layer): `{ live }`.
    pub fn sync(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RawTransport")] transport: JsValue,
        options: JsValue,
    ) -> JsResult<sync::WasmSync> {
        let make = || {
            let options = js::options(&options)?;
            let live = js::opt_bool(&options, "live")?.unwrap_or(true);
            sync::start(self.store.clone(), transport, live)
        };
        make().map_err(js_err)
    }

    /// The store's conflicts, each once, then as they are recorded.
    pub fn conflicts(&self) -> JsResult<sync::WasmConflicts> {
        sync::conflicts(self.store.clone()).map_err(js_err)
    }

    /// Resolves conflict `key`: `'rebase'` or `'discard'`.
    pub async fn resolve(&self, key: JsValue, action: JsValue) -> JsResult<()> {
        sync::resolve(self.store.clone(), key, action).await.map_err(js_err)
    }
}

enum Reader {
    Stream(StreamReader<AnyBackend>),
    All(AllReader<AnyBackend>),
}

/// A read in progress, a page at a time.
#[wasm_bindgen]
pub struct WasmReader {
    /// `None` while a page is being read.
    reader: Rc<RefCell<Option<Reader>>>,
}

impl WasmReader {
    fn new(reader: Reader) -> Self {
        WasmReader {
            reader: Rc::new(RefCell::new(Some(reader))),
        }
    }
}

#[wasm_bindgen]
impl WasmReader {
    /// The next page of events; an empty array once the read is over.
    #[wasm_bindgen(js_name = nextPage, unchecked_return_type = "RawEvent[]")]
    pub async fn next_page(&self) -> JsResult {
        let slot = self.reader.clone();
        let Some(mut reader) = slot.borrow_mut().take() else {
            return Err(js_err(Error::invalid(
                "nextPage",
                "called again before the previous call settled",
            )));
        };
        let page = match &mut reader {
            Reader::Stream(r) => r.next_page().await,
            Reader::All(r) => r.next_page().await,
        };
        *slot.borrow_mut() = Some(reader);
        page.map(js::events_into_js)
            .map_err(js_err)
    }
}

/// A live subscription.
#[wasm_bindgen]
pub struct WasmSubscription {
    subscription: Subscription<AnyBackend>,
}

#[wasm_bindgen]
impl WasmSubscription {
    /// The next event, or `undefined` once closed.
    #[wasm_bindgen(unchecked_return_type = "RawEvent | undefined")]
    pub async fn next(&self) -> JsResult {
        let subscription = self.subscription.clone();
        match subscription.next().await {
            Ok(Some(event)) => Ok(js::event_to_js(&event)),
            Ok(None) => Ok(JsValue::UNDEFINED),
            Err(e) => Err(js_err(e)),
        }
    }

    /// The next event when one is already read and waiting (delivered as `next()` would), else
    /// `undefined`: then call `next()`. Never waits.
    #[wasm_bindgen(js_name = nextBuffered, unchecked_return_type = "RawEvent | undefined")]
    pub fn next_buffered(&self) -> JsValue {
        match self.subscription.next_buffered() {
            Some(event) => js::event_to_js(&event),
            None => JsValue::UNDEFINED,
        }
    }

    /// Ends the subscription; resolves once finished events are saved to the checkpoint.
    pub async fn close(&self) -> JsResult<()> {
        let subscription = self.subscription.clone();
        subscription.close().await.map_err(js_err)
    }

    /// The last position delivered, or where the subscription starts (with a checkpoint:
    /// known once the first `next()` has begun).
    #[wasm_bindgen(getter)]
    pub fn position(&self) -> f64 {
        self.subscription.position() as f64
    }
}
