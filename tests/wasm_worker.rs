//! The conformance suite on IndexedDB inside a dedicated Web Worker, where apps often keep
//! their store off the main thread. Every test has its own database.
#![cfg(target_arch = "wasm32")]

mod conformance;
mod sync_suite;
mod sync_support;

use annals::core::{Store, StoreConfig, Uuid};
use annals::idb::IdbBackend;
use wasm_bindgen_test::wasm_bindgen_test_configure;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

conformance::suite!(|name: &'static str| async move {
    let name = format!("worker-{name}-{}", Uuid::now_v7());
    let backend = IdbBackend::open(&name).await.expect("open IndexedDB in a worker");
    Store::open(backend, StoreConfig::default()).await.expect("open store")
});

sync_suite::suite!(|case: &'static str, device: &'static str| async move {
    let name = format!("worker-{case}-{device}-{}", Uuid::now_v7());
    let backend = IdbBackend::open(&name).await.expect("open IndexedDB in a worker");
    Store::open(backend, StoreConfig::default()).await.expect("open store")
});
