//! JavaScript bindings (in progress).
