//! The store's rules, independent of where events are kept. `no_std` + `alloc`.
//!
//! A [`Store`] validates input, decides every append with [`decide_append`] inside the
//! backend's transaction, pages reads, and fans commits out to [`Subscription`]s. A
//! [`Backend`] is the transaction boundary: [`MemoryBackend`] everywhere, IndexedDB on wasm32.

mod append;
mod backend;
mod batch;
mod error;
mod event;
mod filter;
mod group;
mod import;
mod log;
mod memory;
mod notify;
mod read;
mod recovery;
mod select;
mod store;
mod subscription;
pub mod sync;
mod value;
mod version;

pub use append::{decide_append, AppendDecision, AppendRequest, ProposedEvent};
pub use batch::{decide_batch, BatchState, Chain, Chaining, LoadedState, Outcome};
pub use backend::{check_snapshot_version, Backend, Direction, Page, PositionRange, Snapshot};
pub use error::{Error, ErrorCode, StorageError, StorageErrorKind};
pub use event::{
    corrupt, safe_integer, validate_name, AppendResult, EventInput, Payload, RecordedEvent, StoredEvent,
    MAX_NAME_CHARS, MAX_SAFE_INTEGER,
};
pub use filter::Filter;
pub use import::ImportedEvent;
pub use log::{continues_run, RunMember};
pub use select::{first, Either};
pub use memory::MemoryBackend;
pub use notify::{Changed, Notifier};
pub use read::{AllReader, ReadAllOptions, ReadStreamOptions, StreamReader};
pub use recovery::{judge_reopen, StoreMark, Vanished};
pub use store::{Store, StoreConfig, DEFAULT_MAX_EVENT_BYTES, PAGE_SIZE};
pub use subscription::{Start, SubscribeOptions, Subscription};
pub use uuid::Uuid;
pub use value::{check_depth, Value, MAX_DEPTH};
pub use version::{check_expected_version, ExpectedVersion};
