//! IndexedDB requests and transactions as futures, and their failures as [`StorageError`]s.
//!
//! Every handler is a JavaScript `resolve`/`reject` function of a `Promise` created the moment
//! the request is made, so no Rust closure is ever handed to IndexedDB here: nothing can be
//! "invoked after being dropped", however a transaction ends. A continuation after a request
//! runs in the microtask checkpoint of its `success` event, while the transaction is active.

use alloc::{format, string::String};
use ::core::cell::Cell;

use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{DomException, IdbRequest, IdbTransaction};

use crate::core::{StorageError, StorageErrorKind};

/// A request whose outcome is being awaited. Its handlers are set when it is made, so a
/// request awaited after others never misses its event.
#[must_use = "a request's outcome is only known by awaiting it"]
pub(crate) struct Pending {
    request: IdbRequest,
    outcome: JsFuture,
    what: &'static str,
}

impl Pending {
    /// Starts waiting for `request`, or for the synchronous failure of making it.
    /// `what` names the operation in the error's cause.
    pub(crate) fn new(
        request: Result<IdbRequest, JsValue>,
        what: &'static str,
    ) -> Result<Pending, StorageError> {
        let request = request.map_err(|e| from_js(&e, what))?;
        let promise = Promise::new(&mut |resolve, reject| {
            request.set_onsuccess(Some(&resolve));
            request.set_onerror(Some(&reject));
        });
        Ok(Pending { request, outcome: JsFuture::from(promise), what })
    }

    /// The request's result, or the `DOMException` it failed with. A failed request that is
    /// not prevented aborts its transaction: nothing the transaction wrote stays.
    pub(crate) async fn result(self) -> Result<JsValue, StorageError> {
        match self.outcome.await {
            Ok(_) => self.request.result().map_err(|e| from_js(&e, self.what)),
            Err(_) => Err(match self.request.error() {
                Ok(Some(exception)) => from_exception(&exception, self.what),
                Ok(None) => StorageError::other(format!("{} failed without an error", self.what)),
                Err(e) => from_js(&e, self.what),
            }),
        }
    }
}

/// The end of a transaction: its `complete` or its `abort` event. Handlers are set when it is
/// made, before any request of the transaction, so neither event can be missed.
#[must_use = "a transaction's outcome is only known by awaiting it"]
pub(crate) struct Completion {
    transaction: IdbTransaction,
    outcome: JsFuture,
}

impl Completion {
    /// Starts waiting for `transaction` to end.
    pub(crate) fn new(transaction: &IdbTransaction) -> Completion {
        let promise = Promise::new(&mut |resolve, reject| {
            transaction.set_oncomplete(Some(&resolve));
            transaction.set_onabort(Some(&reject));
        });
        Completion { transaction: transaction.clone(), outcome: JsFuture::from(promise) }
    }

    /// `Ok` once the transaction committed: its writes are durable and visible to every
    /// transaction created after. `Err` with the transaction's `error` when it aborted — where
    /// a `QuotaExceededError` found at commit is reported.
    pub(crate) async fn committed(self) -> Result<(), StorageError> {
        match self.outcome.await {
            Ok(_) => Ok(()),
            Err(_) => Err(match self.transaction.error() {
                Some(exception) => from_exception(&exception, "commit"),
                None => StorageError::other("AbortError: the transaction was aborted (commit)"),
            }),
        }
    }

    /// Aborts the transaction if it is still running, undoing every write it made. An already
    /// finished or aborting transaction (after a failed request) is left as it is.
    pub(crate) fn abort(&self) {
        let _ = self.transaction.abort();
    }
}

/// Fault injection for tests: aborts a transaction right after its `at`-th request (from 0)
/// is made, so that request fails with `AbortError` as a failed request would and the
/// transaction rolls back. `at` equal to the number of requests made aborts it just before it
/// would commit. Unarmed (`at: None`), it does nothing.
#[derive(Debug, Default)]
pub(crate) struct Tripwire {
    at: Option<u32>,
    made: Cell<u32>,
}

impl Tripwire {
    pub(crate) fn new(at: Option<u32>) -> Self {
        Tripwire { at, made: Cell::new(0) }
    }

    /// Counts a request just made in `transaction`, and aborts the transaction at the chosen one.
    pub(crate) fn made(&self, transaction: &IdbTransaction) {
        let Some(at) = self.at else { return };
        let n = self.made.get();
        self.made.set(n + 1);
        if n == at {
            let _ = transaction.abort();
        }
    }

    /// Whether the chosen request is the one after the last: the transaction must not commit.
    pub(crate) fn trips_at_commit(&self) -> bool {
        self.at == Some(self.made.get())
    }
}

/// The storage error for `exception`, raised during `what`: its kind from the exception's
/// name, its cause `"<name>: <message> (<what>)"` (`"<name> (<what>)"` when the message is
/// empty, as Chromium's `QuotaExceededError` at commit is), and the exception itself.
pub(crate) fn from_exception(exception: &DomException, what: &str) -> StorageError {
    let name = exception.name();
    let kind = if name == "QuotaExceededError" {
        StorageErrorKind::QuotaExceeded
    } else {
        StorageErrorKind::Other
    };
    let message = exception.message();
    let cause = if message.is_empty() { format!("{name} ({what})") } else { format!("{name}: {message} ({what})") };
    StorageError { kind, cause, exception: Some(exception.clone().into()) }
}

/// The storage error for whatever JavaScript threw during `what`, which it keeps.
pub(crate) fn from_js(thrown: &JsValue, what: &str) -> StorageError {
    if let Some(exception) = thrown.dyn_ref::<DomException>() {
        return from_exception(exception, what);
    }
    let text: String = match thrown.dyn_ref::<js_sys::Error>() {
        Some(error) => format!("{}: {}", String::from(error.name()), String::from(error.message())),
        None => thrown.as_string().unwrap_or_else(|| format!("{thrown:?}")),
    };
    StorageError { exception: Some(thrown.clone()), ..StorageError::other(format!("{text} ({what})")) }
}
