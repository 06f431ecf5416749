//! How stored events group into the records of a log-structured layout (IndexedDB schema 3,
//! `docs/design.md`): one record holds a run of events that a key range over positions, and one
//! over a stream's versions, both find whole.

use super::event::RecordedEvent;

/// One event (or one removed position) as the grouping sees it, fed in position order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunMember<'a> {
    /// Its local position.
    pub position: u64,
    /// Its stream; `None` for a position whose event moved into a conflict (a tombstone).
    pub stream: Option<&'a str>,
    /// Its version in the stream (ignored for a tombstone).
    pub version: u64,
    /// The key of the pending append it belongs to; `None` once confirmed (or for a tombstone).
    pub append: Option<u64>,
}

impl<'a> RunMember<'a> {
    /// `event`, in pending append `append` (`None`: confirmed).
    pub fn of<P>(event: &'a RecordedEvent<P>, append: Option<u64>) -> Self {
        RunMember { position: event.position, stream: Some(&event.stream), version: event.version, append }
    }
}

/// Whether `next` joins the run that `previous` ends: the next position, the same stream and
/// the next version, and the same pending append (or both confirmed). Adjacent tombstones form
/// one run. So a record is always one stream's consecutive versions at consecutive positions,
/// and a pending append is always a record of its own (sync rewrites or removes it whole).
pub fn continues_run(previous: &RunMember, next: &RunMember) -> bool {
    next.position == previous.position + 1
        && next.stream == previous.stream
        && (next.stream.is_none() || next.version == previous.version + 1)
        && next.append == previous.append
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(position: u64, stream: Option<&str>, version: u64, append: Option<u64>) -> RunMember<'_> {
        RunMember { position, stream, version, append }
    }

    #[test]
    fn a_run_is_one_streams_consecutive_versions_at_consecutive_positions() {
        let a1 = member(1, Some("a"), 1, None);
        assert!(continues_run(&a1, &member(2, Some("a"), 2, None)));
        assert!(!continues_run(&a1, &member(3, Some("a"), 2, None)), "a position between");
        assert!(!continues_run(&a1, &member(2, Some("a"), 3, None)), "a version between");
        assert!(!continues_run(&a1, &member(2, Some("b"), 1, None)), "another stream");
    }

    #[test]
    fn a_pending_append_is_a_run_of_its_own() {
        let confirmed = member(1, Some("a"), 1, None);
        let pending = member(2, Some("a"), 2, Some(2));
        assert!(!continues_run(&confirmed, &pending));
        assert!(continues_run(&pending, &member(3, Some("a"), 3, Some(2))));
        assert!(!continues_run(&pending, &member(3, Some("a"), 3, Some(3))), "the next append");
        assert!(!continues_run(&pending, &member(3, Some("a"), 3, None)));
    }

    #[test]
    fn adjacent_tombstones_are_one_run() {
        let removed = member(4, None, 0, None);
        assert!(continues_run(&removed, &member(5, None, 0, None)));
        assert!(!continues_run(&removed, &member(6, None, 0, None)));
        assert!(!continues_run(&removed, &member(5, Some("a"), 1, None)));
    }
}
