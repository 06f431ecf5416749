//! The conformance suite on the memory backend, compiled to wasm and run in Node.
#![cfg(target_arch = "wasm32")]

mod conformance;
mod sync_suite;
mod sync_support;

use annals::core::{MemoryBackend, Store, StoreConfig};

conformance::suite!(|_name: &'static str| async {
    Store::open(MemoryBackend::new(), StoreConfig::default())
        .await
        .expect("open")
});

sync_suite::suite!(|_case: &'static str, _device: &'static str| async {
    Store::open(MemoryBackend::new(), StoreConfig::default()).await.expect("open")
});
