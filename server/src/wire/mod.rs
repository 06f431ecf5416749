//! The wire format: JSON in and out, kept apart from HTTP and PostgreSQL.

pub mod decode;
pub mod encode;
pub mod json;

pub use decode::{decode_push, DecodeError};
