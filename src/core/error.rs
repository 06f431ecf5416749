//! The errors every operation of the store can end in. Each maps to one `Error` subclass in
//! JavaScript, named after the variant.

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

    /// The stable name of this error: the name of its JavaScript class.
    pub fn name(&self) -> &'static str {
        match self {
            Error::WrongExpectedVersion { .. } => "WrongExpectedVersionError",
            Error::DuplicateEventId { .. } => "DuplicateEventIdError",
            Error::InvalidArgument { .. } => "InvalidArgumentError",
            Error::Storage(StorageError {
                kind: StorageErrorKind::QuotaExceeded,
                ..
            }) => "QuotaExceededError",
            Error::Storage(_) => "StorageError",
            Error::StoreClosed => "StoreClosedError",
            Error::Sync(_) => "SyncError",
        }
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
}

impl StorageError {
    /// A storage failure of kind [`StorageErrorKind::Other`].
    pub fn other(cause: impl Into<String>) -> Self {
        StorageError {
            kind: StorageErrorKind::Other,
            cause: cause.into(),
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cause)
    }
}
