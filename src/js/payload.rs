//! Event data and metadata on the JavaScript side.

use alloc::rc::Rc;

use js_sys::Array;
use wasm_bindgen::JsValue;

use super::get;
use crate::core::{Payload, StorageError, Value};

/// An event's data or metadata as JavaScript holds it: the value, or a field of an event
/// object (`RawEvent`) that a read already built from a stored run, in one call per run
/// (`runEvents`). A built event is handed to the caller as it is, never built twice.
#[derive(Clone, Debug)]
pub enum JsPayload {
    /// The value itself.
    Value(JsValue),
    /// The `data` (or, `metadata: true`, the `metadata`) of `events[index]`.
    Built {
        /// The run's built events.
        events: Rc<Array>,
        /// This event's index among them.
        index: u32,
        /// Whether this is the metadata (else the data).
        metadata: bool,
        /// Whether the value is a plain object, when found as the run was read (`runFields`
        /// finds it for metadata); `None`: asked of the value.
        object: Option<bool>,
    },
}

impl JsPayload {
    /// The value (a field read when built).
    pub fn value(&self) -> JsValue {
        match self {
            JsPayload::Value(value) => value.clone(),
            JsPayload::Built { events, index, metadata, .. } => {
                get(&events.get(*index), if *metadata { "metadata" } else { "data" })
            }
        }
    }

    /// The value, moved out when it is one.
    pub fn into_value(self) -> JsValue {
        match self {
            JsPayload::Value(value) => value,
            built => built.value(),
        }
    }

    /// The built event this payload belongs to: its run's events and its index there.
    pub fn built(&self) -> Option<(&Rc<Array>, u32)> {
        match self {
            JsPayload::Built { events, index, .. } => Some((events, *index)),
            JsPayload::Value(_) => None,
        }
    }
}

impl From<JsValue> for JsPayload {
    fn from(value: JsValue) -> Self {
        JsPayload::Value(value)
    }
}

impl PartialEq for JsPayload {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

/// Checked like the value it holds.
impl Payload for JsPayload {
    fn to_value(&self, field: &str) -> Result<Value, StorageError> {
        self.value().to_value(field)
    }
    fn is_object(&self) -> bool {
        match self {
            JsPayload::Value(value) => Payload::is_object(value),
            JsPayload::Built { object: Some(object), .. } => *object,
            built => Payload::is_object(&built.value()),
        }
    }
}
