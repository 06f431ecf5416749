//! The conformance suite natively: on the memory backend, and on the memory backend behind
//! a wrapper that yields before every operation, as real storage does.
#![cfg(not(target_arch = "wasm32"))]

mod conformance;

mod memory {
    use annals::core::{MemoryBackend, Store, StoreConfig};
    crate::conformance::suite!(|_name: &'static str| async {
        Store::open(MemoryBackend::new(), StoreConfig::default()).await.expect("open")
    });
}

mod yielding {
    use crate::conformance::Yielding;
    use annals::core::{MemoryBackend, Store, StoreConfig};
    crate::conformance::suite!(|_name: &'static str| async {
        Store::open(Yielding(MemoryBackend::new()), StoreConfig::default()).await.expect("open")
    });
}
