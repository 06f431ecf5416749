//! The errors every operation of the store can end in. Each maps to one `Error` subclass in
//! JavaScript; [`ErrorCode`] is the one list of their names and numbers.

use ::core::fmt;
use alloc::string::String;

use super::sync::SyncError;
use super::version::ExpectedVersion;

/// Why an operation of the store failed. Whatever the variant, a failed append wrote nothing.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The stream's last version was not what the append expected.
    WrongExpectedVersion {
        /// The stream appended to.
        stream: String,
        /// What the caller expected.
        expected: ExpectedVersion,
        /// The stream's last version when the append was decided (0: no events).
        actual: u64,
    },
    /// An event id already stands for another event (or twice in one append).
    DuplicateEventId {
        /// The id, as stored (lower-case hyphenated UUID).
        id: String,
    },
    /// The caller passed something the contract does not allow.
    InvalidArgument {
        /// The field at fault, as the caller spelled it (`stream`, `events[2].type`, …).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The storage underneath failed; the operation had no effect.
    Storage(StorageError),
    /// The store was closed before or during the call.
    StoreClosed,
    /// Another context (a tab or worker with newer code) opened the store's database at a
    /// newer schema, so this store closed its connection to let the upgrade proceed. Reopen
    /// the store (reload) with the code that knows the new schema.
    ClosedByUpgrade,
    /// Talking to the sync server failed, or its answer contradicts this store; nothing about
    /// the store's contents was decided by it.
    Sync(SyncError),
}

impl Error {
    /// An [`Error::InvalidArgument`] for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The kind of this error: its stable number and the name of its JavaScript class.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::WrongExpectedVersion { .. } => ErrorCode::WrongExpectedVersion,
            Error::DuplicateEventId { .. } => ErrorCode::DuplicateEventId,
            Error::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            Error::Storage(StorageError {
                kind: StorageErrorKind::QuotaExceeded,
                ..
            }) => ErrorCode::QuotaExceeded,
            Error::Storage(_) => ErrorCode::Storage,
            Error::StoreClosed | Error::ClosedByUpgrade => ErrorCode::StoreClosed,
            Error::Sync(_) => ErrorCode::Sync,
        }
    }

    /// The stable name of this error: the name of its JavaScript class.
    pub fn name(&self) -> &'static str {
        self.code().name()
    }
}

/// Every kind of error, with its stable number (in the spirit of HTTP statuses). The
/// JavaScript class of a kind is named after it: `WrongExpectedVersion` is
/// `WrongExpectedVersionError`. The one list of names and numbers: the bindings export it to
/// JavaScript, where the TypeScript layer takes the numbers from it and is compiled against
/// its names.
#[cfg_attr(all(feature = "std", target_arch = "wasm32"), wasm_bindgen::prelude::wasm_bindgen)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The caller passed something the contract does not allow; nothing was written.
    InvalidArgument = 400,
    /// An event id already stands for another event; nothing was written.
    DuplicateEventId = 409,
    /// The store was closed.
    StoreClosed = 410,
    /// The stream's version was not the expected one; nothing was written.
    WrongExpectedVersion = 412,
    /// The storage failed; the operation had no effect.
    Storage = 500,
    /// Talking to the sync server failed.
    Sync = 502,
    /// The wasm module could not be loaded. Reported by the JavaScript layer (no Rust code runs
    /// before the module is loaded); listed here so that this stays the one list.
    WasmLoad = 503,
    /// The storage is full (a kind of storage error).
    QuotaExceeded = 507,
}

impl ErrorCode {
    /// The name of the JavaScript class: the kind's name and `Error`.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "InvalidArgumentError",
            ErrorCode::DuplicateEventId => "DuplicateEventIdError",
            ErrorCode::StoreClosed => "StoreClosedError",
            ErrorCode::WrongExpectedVersion => "WrongExpectedVersionError",
            ErrorCode::Storage => "StorageError",
            ErrorCode::Sync => "SyncError",
            ErrorCode::WasmLoad => "WasmLoadError",
            ErrorCode::QuotaExceeded => "QuotaExceededError",
        }
    }

    /// The stable number.
    pub const fn number(self) -> u16 {
        self as u16
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::WrongExpectedVersion {
                stream,
                expected,
                actual,
            } => write!(
                f,
                "stream '{stream}' was expected at version {expected}, but its version is {actual}"
            ),
            Error::DuplicateEventId { id } => {
                write!(f, "event id {id} already stands for another event")
            }
            Error::InvalidArgument { field, reason } => write!(f, "{field}: {reason}"),
            Error::Storage(e) => write!(f, "storage failed: {e}"),
            Error::StoreClosed => f.write_str("the store is closed"),
            Error::ClosedByUpgrade => f.write_str(
                "the store is closed: another tab or worker opened its database at a newer schema (versionchange)",
            ),
            Error::Sync(e) => write!(f, "{e}"),
        }
    }
}

impl From<SyncError> for Error {
    fn from(e: SyncError) -> Self {
        Error::Sync(e)
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        Error::Storage(e)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_number_and_a_class_name_after_it() {
        use ErrorCode::*;
        let all = [InvalidArgument, DuplicateEventId, StoreClosed, WrongExpectedVersion, Storage, Sync, WasmLoad, QuotaExceeded];
        assert_eq!(all.map(ErrorCode::number), [400, 409, 410, 412, 500, 502, 503, 507]);
        for code in all {
            assert_eq!(code.name(), alloc::format!("{code:?}Error"));
        }
        let quota = Error::Storage(StorageError { kind: StorageErrorKind::QuotaExceeded, ..StorageError::other("full") });
        assert_eq!((quota.name(), quota.code().number()), ("QuotaExceededError", 507));
        assert_eq!(Error::StoreClosed.name(), "StoreClosedError");
    }
}

/// What kind of storage failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// The origin ran out of storage quota.
    QuotaExceeded,
    /// Anything else the storage reported.
    Other,
}

/// A failure of the storage underneath, with the cause as the storage described it.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageError {
    /// What kind of failure.
    pub kind: StorageErrorKind,
    /// The storage's own description (for IndexedDB: the `DOMException` name and message).
    pub cause: String,
    /// On the web, what the storage threw or reported, as it was (for IndexedDB, the
    /// `DOMException`): JavaScript callers get it as the error's `cause`. `None` when the
    /// store found the failure itself (a record that does not decode).
    #[cfg(all(feature = "std", target_arch = "wasm32"))]
    pub exception: Option<wasm_bindgen::JsValue>,
}

impl StorageError {
    /// A storage failure of kind [`StorageErrorKind::Other`].
    pub fn other(cause: impl Into<String>) -> Self {
        StorageError {
            kind: StorageErrorKind::Other,
            cause: cause.into(),
            #[cfg(all(feature = "std", target_arch = "wasm32"))]
            exception: None,
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cause)
    }
}
