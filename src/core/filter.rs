//! Which events a read of the global order or a subscription yields.

use alloc::{string::String, vec::Vec};

use super::event::RecordedEvent;

/// A conjunction: an event matches when every part that is set matches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// The event's type is one of these.
    pub types: Option<Vec<String>>,
    /// The event's stream is one of these, exactly (`Order-1` is not `Order-10`).
    pub streams: Option<Vec<String>>,
    /// The event's stream name starts with this (`Order-` selects the category `Order`).
    pub stream_prefix: Option<String>,
}

impl Filter {
    /// Whether `event` passes.
    pub fn matches<P>(&self, event: &RecordedEvent<P>) -> bool {
        self.types.as_ref().map_or(true, |types| types.contains(&event.event_type))
            && self.streams.as_ref().map_or(true, |streams| streams.contains(&event.stream))
            && self.stream_prefix.as_ref().map_or(true, |p| event.stream.starts_with(p.as_str()))
    }
}
