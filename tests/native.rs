//! The conformance suite natively: on the memory backend, and on the memory backend behind
//! a wrapper that yields before every operation, as real storage does.
#![cfg(not(target_arch = "wasm32"))]

mod conformance;

mod memory {
    use annals::core::{MemoryBackend, Store, StoreConfig};
    crate::conformance::suite!(|_name: &'static str| async {
        Store::open(MemoryBackend::new(), StoreConfig::default())
            .await
            .expect("open")
    });
}

mod yielding {
    use crate::conformance::Instrumented;
    use annals::core::{MemoryBackend, Store, StoreConfig};
    crate::conformance::suite!(|_name: &'static str| async {
        Store::open(
            Instrumented::yielding(MemoryBackend::new()),
            StoreConfig::default(),
        )
        .await
        .expect("open")
    });

    /// Where storage yields, appends issued together share transactions: the first commits
    /// alone, and the 63 that queued meanwhile commit together in the next.
    #[test]
    fn concurrent_appends_share_transactions() {
        futures::executor::block_on(async {
            let store = Store::open(
                Instrumented::yielding(MemoryBackend::new()),
                StoreConfig::default(),
            )
            .await
            .expect("open");
            crate::conformance::concurrent_appends(&store).await;
            // 4 setup appends, one by one; then 64 concurrent ones in 2 transactions.
            assert_eq!(store.backend().transactions.get(), 4 + 2);
        })
    }
}
