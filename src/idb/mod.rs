//! IndexedDB backend (in progress).
