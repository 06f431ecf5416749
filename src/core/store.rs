//! The store: validation, appends through the backend's transaction, and the entry points
//! of reads and subscriptions.

use ::core::cell::Cell;
use alloc::{rc::Rc, vec::Vec};

use super::append::AppendRequest;
use super::backend::{Backend, Snapshot};
use super::group::Group;
use super::error::Error;
use super::event::{validate_name, AppendResult, EventInput};
use super::notify::Notifier;
use super::sync::{Conflict, Resolution, SyncBackend};
use super::version::ExpectedVersion;
use uuid::Uuid;

/// How many events a read or a subscription holds at once, at most.
pub const PAGE_SIZE: usize = 256;

/// The default cap on one event's size (type, data and metadata as JSON): 1 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;

/// What a store needs from its environment besides storage.
#[derive(Clone, Copy, Debug)]
pub struct StoreConfig {
    /// The largest event accepted, in bytes of JSON (see [`DEFAULT_MAX_EVENT_BYTES`]).
    pub max_event_bytes: usize,
    /// Makes the id of an event proposed without one. Must not repeat.
    pub new_id: fn() -> Uuid,
    /// The wall clock, in milliseconds since the Unix epoch.
    pub now: fn() -> f64,
}

#[cfg(feature = "std")]
impl Default for StoreConfig {
    /// UUIDv7 ids (time-ordered, so they index well) and the system clock.
    fn default() -> Self {
        StoreConfig {
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            new_id: Uuid::now_v7,
            now: wall_clock,
        }
    }
}

#[cfg(all(feature = "std", not(target_arch = "wasm32")))]
fn wall_clock() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[cfg(all(feature = "std", target_arch = "wasm32"))]
fn wall_clock() -> f64 {
    js_sys::Date::now()
}

/// An event store over one backend. Shared through `Rc` by its readers and subscriptions.
#[derive(Debug)]
pub struct Store<B> {
    pub(crate) backend: B,
    pub(crate) notifier: Notifier,
    /// Woken when this context records a conflict (or a conflict feed closes).
    pub(crate) conflict_signal: Notifier,
    pub(crate) config: StoreConfig,
    closed: Cell<bool>,
    /// Closed because the storage was opened elsewhere at a newer schema.
    superseded: Cell<bool>,
    /// A sync engine runs over this store.
    pub(crate) syncing: Cell<bool>,
    pub(crate) group: Group,
}

impl<B: Backend> Store<B> {
    /// Opens a store over `backend`.
    pub async fn open(backend: B, config: StoreConfig) -> Result<Rc<Self>, Error> {
        if config.max_event_bytes == 0 {
            return Err(Error::invalid(
                "maxEventBytes",
                "must be a positive integer",
            ));
        }
        let notifier = Notifier::new(backend.head().await?);
        backend.watch(&notifier);
        Ok(Rc::new(Store {
            backend,
            notifier,
            conflict_signal: Notifier::default(),
            config,
            closed: Cell::new(false),
            superseded: Cell::new(false),
            syncing: Cell::new(false),
            group: Group::default(),
        }))
    }

    /// Appends `events` to `stream`, all or nothing, if the stream's version meets `expected`
    /// when the transaction decides. A retry of an append that committed reports the original
    /// result and writes nothing. Appends made while another is committing share the next
    /// transaction (group commit), each with its own check and outcome, decided in call order.
    pub async fn append(
        &self,
        stream: &str,
        events: Vec<EventInput>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult, Error> {
        self.ensure_open()?;
        let request = AppendRequest::new(
            stream,
            events,
            expected,
            self.config.max_event_bytes,
            (self.config.now)(),
            self.config.new_id,
        )?;
        self.group.append(&self.backend, &self.notifier, &|| self.ensure_open(), request).await
    }

    /// The stream's last version, 0 when it has no events.
    pub async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        self.ensure_open()?;
        validate_name("stream", stream)?;
        Ok(self.backend.stream_version(stream).await?)
    }

    /// The last global position this context knows to be committed.
    pub fn known_head(&self) -> u64 {
        self.notifier.head()
    }

    /// The position saved under checkpoint `name`.
    pub async fn checkpoint(&self, name: &str) -> Result<Option<u64>, Error> {
        self.ensure_open()?;
        validate_name("name", name)?;
        Ok(self.backend.checkpoint(name).await?)
    }

    /// Saves `position` under checkpoint `name`.
    pub async fn set_checkpoint(&self, name: &str, position: u64) -> Result<(), Error> {
        self.ensure_open()?;
        validate_name("name", name)?;
        Ok(self.backend.set_checkpoint(name, position).await?)
    }

    /// The snapshot saved for `stream`.
    pub async fn load_snapshot(&self, stream: &str) -> Result<Option<Snapshot>, Error> {
        self.ensure_open()?;
        validate_name("stream", stream)?;
        Ok(self.backend.snapshot(stream).await?)
    }

    /// Saves `snapshot` for `stream`; its version must not exceed the stream's.
    pub async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), Error> {
        self.ensure_open()?;
        validate_name("stream", stream)?;
        snapshot
            .state
            .check_json()
            .map_err(|at| Error::invalid("snapshot.state", at))?;
        self.backend.save_snapshot(stream, &snapshot).await
    }

    /// Closes the store: subscriptions end, and every later call fails with
    /// [`Error::StoreClosed`]. Closing twice is harmless.
    pub fn close(&self) {
        if !self.closed.replace(true) {
            self.backend.close();
            self.notifier.wake_all();
        }
    }

    /// Whether the store is closed: [`Store::close`] was called, or the storage closed itself
    /// for another context's schema upgrade ([`Backend::superseded`]), which closes the store.
    pub fn is_closed(&self) -> bool {
        if !self.closed.get() && self.backend.superseded() {
            self.superseded.set(true);
            self.close();
        }
        self.closed.get()
    }

    /// `Ok` while open; else why not: [`Error::StoreClosed`], or [`Error::ClosedByUpgrade`].
    pub fn ensure_open(&self) -> Result<(), Error> {
        match (self.is_closed(), self.superseded.get()) {
            (false, _) => Ok(()),
            (true, false) => Err(Error::StoreClosed),
            (true, true) => Err(Error::ClosedByUpgrade),
        }
    }

    /// The backend underneath.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Where this context learns of commits: the last committed position it knows of.
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// The wall clock the store records times with.
    pub fn now(&self) -> f64 {
        (self.config.now)()
    }

    /// A number for jitter, from the store's id source (random bits).
    pub(crate) fn random(&self) -> u64 {
        let bytes = (self.config.new_id)().into_bytes();
        u64::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]])
    }
}

impl<B: SyncBackend> Store<B> {
    /// Every unresolved conflict, oldest first.
    pub async fn conflicts(&self) -> Result<Vec<Conflict<B::Payload>>, Error> {
        self.ensure_open()?;
        Ok(self.backend.conflicts().await?)
    }

    /// Resolves conflict `key` (see [`Resolution`]); resolving one that is already resolved
    /// does nothing. A rebase's events reach subscriptions like any append.
    pub async fn resolve(&self, key: u64, resolution: Resolution) -> Result<(), Error> {
        self.ensure_open()?;
        let rebase = resolution == Resolution::Rebase;
        if let Some(result) = self.backend.resolve(key, rebase, self.now()).await? {
            self.notifier.advance(result.position);
        }
        Ok(())
    }

    /// Records that this context's sync moved pending appends into a conflict.
    pub(crate) fn conflict_recorded(&self) {
        self.conflict_signal.wake_all();
    }
}
