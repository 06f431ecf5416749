//! The conformance suite on the memory backend, natively.
#![cfg(not(target_arch = "wasm32"))]

mod conformance;

use annals::core::{MemoryBackend, Store, StoreConfig};

conformance::suite!(|_name: &'static str| async {
    Store::open(MemoryBackend::new(), StoreConfig::default())
        .await
        .expect("open")
});
