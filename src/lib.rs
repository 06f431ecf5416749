//! annals: an embedded event store for offline-first web apps.
//!
//! Streams of immutable events, appended with an expected version that is checked inside the
//! same storage transaction as the write. [`core`] holds everything that decides (`no_std` +
//! `alloc`); backends only store. On wasm32 with the `std` feature, [`idb`] persists to
//! IndexedDB and [`wasm`] is the JavaScript surface shipped as the npm package `annals`.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

pub mod core;

#[cfg(all(feature = "std", target_arch = "wasm32"))]
pub mod idb;
#[cfg(all(feature = "std", target_arch = "wasm32"))]
pub mod js;
#[cfg(all(feature = "std", target_arch = "wasm32"))]
pub mod wasm;

pub use crate::core::*;
