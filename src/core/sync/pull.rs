//! Applying pulled server events: the decision, as a plan a backend carries out in one
//! transaction.

use alloc::{collections::VecDeque, format, string::String, vec::Vec};

use super::protocol::SyncError;
use crate::core::event::RecordedEvent;
use uuid::Uuid;

/// A pending event of a stream, as stored here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingEvent {
    /// Its id.
    pub id: Uuid,
    /// Its local position.
    pub position: u64,
    /// Its (provisional) version.
    pub version: u64,
}

/// A stream's sync state as stored here: its confirmed events hold versions `1..=confirmed`,
/// and `pending` the versions after them, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamSync {
    /// How many of the stream's events the server confirmed.
    pub confirmed: u64,
    /// Its pending events, by version.
    pub pending: Vec<PendingEvent>,
}

/// A change to a stored pending event: a new version (it moves up past pulled events), a
/// server position (it is confirmed), or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventUpdate {
    /// Its local position (unchanged).
    pub position: u64,
    /// Its version before.
    pub old_version: u64,
    /// Its version after.
    pub version: u64,
    /// `Some` when the page confirms it.
    pub server_position: Option<u64>,
}

/// A stream after the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamPlan {
    /// The stream.
    pub stream: String,
    /// How many of its events are confirmed.
    pub confirmed: u64,
    /// Its last version.
    pub version: u64,
    /// The local positions of its versions from `from` on, in version order: its versions
    /// below `from` are unchanged.
    pub positions: Vec<u64>,
    /// The first version whose event may have changed (confirmed count before the page + 1).
    pub from: u64,
    /// The first version that holds another event than before the page, when pending events
    /// moved up past pulled ones: a snapshot at or beyond it no longer reflects the stream
    /// ([`Snapshot::holds_until`](crate::core::Snapshot::holds_until)). `None` when every
    /// event kept its version.
    pub changed_from: Option<u64>,
}

/// What applying a page changes.
#[derive(Clone, Debug, PartialEq)]
pub struct PullPlan<P> {
    /// Pending events to rewrite, each stream's highest old version first: moving only up and
    /// in that order, no two events ever hold one version of a stream at once.
    pub updates: Vec<EventUpdate>,
    /// Events new here, with their local positions (the next after the head) and versions; to
    /// be written after `updates`.
    pub inserts: Vec<RecordedEvent<P>>,
    /// Every stream the page touched, after it.
    pub streams: Vec<StreamPlan>,
    /// The local positions of the pending events the page confirmed: outbox keys to delete
    /// where they are one.
    pub confirmed: Vec<u64>,
    /// The cursor after the page.
    pub cursor: u64,
    /// The local head after the page.
    pub head: u64,
}

enum Placed {
    Confirmed(PendingEvent, u64),
    Inserted(usize),
}

struct Work {
    stream: String,
    confirmed_before: u64,
    confirmed: u64,
    waiting: VecDeque<PendingEvent>,
    placed: Vec<Placed>,
}

/// Decides how a page of server events lands in this store.
///
/// `page` is in server order with `server_position` set; events at or below `cursor` were
/// applied before and are skipped. `streams` holds the sync state of every stream the page
/// touches (a stream missing there has no events here), `head` is the local head, and `known`
/// says whether an id stands for an event here. Each event after the cursor must be the next
/// server position and the next confirmed version of its stream; it confirms the stream's
/// first pending event when it has that id, and is otherwise new here: it takes the next local
/// position, and the stream's pending events move up one version. Anything else contradicts
/// this store and is refused with a protocol [`SyncError`] (nothing applied).
pub fn plan_pull<P>(
    page: Vec<RecordedEvent<P>>,
    cursor: u64,
    head: u64,
    streams: Vec<(String, StreamSync)>,
    known: impl Fn(&Uuid) -> bool,
) -> Result<PullPlan<P>, SyncError> {
    let mut work: Vec<Work> = streams
        .into_iter()
        .map(|(stream, sync)| Work {
            stream,
            confirmed_before: sync.confirmed,
            confirmed: sync.confirmed,
            waiting: sync.pending.into(),
            placed: Vec::new(),
        })
        .collect();
    let mut inserts: Vec<RecordedEvent<P>> = Vec::new();
    let mut next = cursor + 1;
    let mut head = head;
    for mut event in page {
        let Some(server_position) = event.server_position else {
            return Err(SyncError::protocol("a pulled event has no server position"));
        };
        if server_position <= cursor {
            continue;
        }
        if server_position != next {
            return Err(SyncError::protocol(format!(
                "the pulled page is not contiguous: expected server position {next}, got {server_position}"
            )));
        }
        next += 1;
        let w = match work.iter().position(|w| w.stream == event.stream) {
            Some(i) => &mut work[i],
            None => {
                work.push(Work {
                    stream: event.stream.clone(),
                    confirmed_before: 0,
                    confirmed: 0,
                    waiting: VecDeque::new(),
                    placed: Vec::new(),
                });
                work.last_mut().expect("just pushed")
            }
        };
        if event.version != w.confirmed + 1 {
            return Err(SyncError::protocol(format!(
                "server event {} is version {} of '{}', but this store holds {} confirmed events of it",
                event.id, event.version, event.stream, w.confirmed
            )));
        }
        if w.waiting.front().is_some_and(|p| p.id == event.id) {
            let pending = w.waiting.pop_front().expect("front exists");
            w.placed.push(Placed::Confirmed(pending, server_position));
        } else if known(&event.id) || inserts.iter().any(|e| e.id == event.id) {
            return Err(SyncError::protocol(format!(
                "server event {} (version {} of '{}') stands elsewhere in this store",
                event.id, event.version, event.stream
            )));
        } else {
            head += 1;
            event.position = head;
            w.placed.push(Placed::Inserted(inserts.len()));
            inserts.push(event);
        }
        w.confirmed += 1;
    }

    let mut updates = Vec::new();
    let mut confirmed = Vec::new();
    let mut plans = Vec::with_capacity(work.len());
    for w in work {
        let from = w.confirmed_before + 1;
        let mut stream_updates = Vec::new();
        let mut positions = Vec::with_capacity(w.placed.len() + w.waiting.len());
        for (i, placed) in w.placed.iter().enumerate() {
            let version = from + i as u64;
            match *placed {
                Placed::Confirmed(p, server_position) => {
                    stream_updates.push(EventUpdate {
                        position: p.position,
                        old_version: p.version,
                        version,
                        server_position: Some(server_position),
                    });
                    confirmed.push(p.position);
                    positions.push(p.position);
                }
                Placed::Inserted(i) => positions.push(inserts[i].position),
            }
        }
        for (i, p) in w.waiting.iter().enumerate() {
            let version = w.confirmed + 1 + i as u64;
            if version != p.version {
                stream_updates.push(EventUpdate {
                    position: p.position,
                    old_version: p.version,
                    version,
                    server_position: None,
                });
            }
            positions.push(p.position);
        }
        let changed_from = stream_updates.iter().filter(|u| u.old_version != u.version).map(|u| u.old_version).min();
        stream_updates.sort_by_key(|u| ::core::cmp::Reverse(u.old_version));
        updates.extend(stream_updates);
        plans.push(StreamPlan {
            version: w.confirmed_before + positions.len() as u64,
            stream: w.stream,
            confirmed: w.confirmed,
            positions,
            from,
            changed_from,
        });
    }
    Ok(PullPlan { updates, inserts, streams: plans, confirmed, cursor: next - 1, head })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Value;
    use alloc::vec;

    fn id(n: u32) -> Uuid {
        Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | n as u128)
    }

    fn server(n: u32, stream: &str, version: u64, server_position: u64) -> RecordedEvent {
        RecordedEvent {
            id: id(n),
            stream: stream.into(),
            event_type: "T".into(),
            version,
            position: 0,
            data: Value::Null,
            metadata: Value::Object(vec![]),
            recorded_at: 1.0,
            server_position: Some(server_position),
        }
    }

    fn pending(n: u32, position: u64, version: u64) -> PendingEvent {
        PendingEvent { id: id(n), position, version }
    }

    #[test]
    fn a_foreign_event_lands_before_the_pending_ones_which_move_up() {
        // Local: s has 1 confirmed event; pending 10 (position 5, version 2), 11 (position 6, v3).
        let streams = vec![("s".into(), StreamSync { confirmed: 1, pending: vec![pending(10, 5, 2), pending(11, 6, 3)] })];
        // The server has another device's event 20 at version 2, then ours 10 at version 3.
        let page = vec![server(20, "s", 2, 8), server(10, "s", 3, 9)];
        let plan = plan_pull(page, 7, 6, streams, |_| false).unwrap();
        assert_eq!(plan.inserts.len(), 1);
        assert_eq!((plan.inserts[0].position, plan.inserts[0].version), (7, 2));
        // 11 moves from 3 to 4 first (highest first), then 10 from 2 to 3, confirmed.
        assert_eq!(
            plan.updates,
            vec![
                EventUpdate { position: 6, old_version: 3, version: 4, server_position: None },
                EventUpdate { position: 5, old_version: 2, version: 3, server_position: Some(9) },
            ]
        );
        assert_eq!(plan.confirmed, vec![5]);
        assert_eq!(
            plan.streams,
            vec![StreamPlan { stream: "s".into(), confirmed: 3, version: 4, positions: vec![7, 5, 6], from: 2, changed_from: Some(2) }]
        );
        assert_eq!((plan.cursor, plan.head), (9, 7));
    }

    #[test]
    fn pending_events_confirmed_where_they_stand_change_no_version() {
        let streams = vec![("s".into(), StreamSync { confirmed: 0, pending: vec![pending(10, 1, 1), pending(11, 2, 2)] })];
        let plan = plan_pull(vec![server(10, "s", 1, 1), server(11, "s", 2, 2), server(12, "s", 3, 3)], 0, 2, streams, |_| false).unwrap();
        assert_eq!(plan.streams[0].changed_from, None, "a pulled event after them changes none of them");
    }

    #[test]
    fn a_page_applied_twice_changes_nothing_the_second_time() {
        let page = vec![server(1, "s", 1, 1), server(2, "s", 2, 2)];
        let plan = plan_pull(page.clone(), 2, 2, vec![("s".into(), StreamSync { confirmed: 2, pending: vec![] })], |_| true).unwrap();
        assert!(plan.inserts.is_empty() && plan.updates.is_empty());
        assert_eq!((plan.cursor, plan.head), (2, 2));
    }

    #[test]
    fn a_page_that_contradicts_the_store_is_refused() {
        let empty = || vec![("s".into(), StreamSync::default())];
        let gap = plan_pull(vec![server(1, "s", 1, 2)], 0, 0, empty(), |_| false);
        assert!(gap.unwrap_err().message.contains("not contiguous"));
        let version = plan_pull(vec![server(1, "s", 2, 1)], 0, 0, empty(), |_| false);
        assert!(version.unwrap_err().message.contains("version 2"));
        let elsewhere = plan_pull(vec![server(1, "s", 1, 1)], 0, 0, empty(), |_| true);
        assert!(elsewhere.unwrap_err().message.contains("stands elsewhere"));
        let twice = plan_pull(vec![server(1, "s", 1, 1), server(1, "s", 2, 2)], 0, 0, empty(), |_| false);
        assert!(twice.unwrap_err().message.contains("stands elsewhere"));
    }
}
