//! Noticing that a store's database vanished. A browser may delete an IndexedDB database
//! behind the store's back (Chromium does after a LevelDB checksum error, a user may clear
//! it): reopened, the store finds an empty, new database and would carry on as a new device.
//! So every database holds an identity (a UUID written into it when it is first opened), and
//! the store keeps a mark outside the database (`pkg-js`: Cache Storage, or `localStorage`)
//! naming that identity and what the database held when the mark was last written. Opening
//! compares the two here; the bindings only read and write the mark.

use alloc::string::String;

/// What a store last recorded about its database, outside it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreMark {
    /// The identity of the database the mark was written for.
    pub identity: String,
    /// That database's sync cursor when the mark was written (every server event up to it
    /// was in the database).
    pub server_position: u64,
    /// Its pending events (appended, not confirmed by the server) when the mark was written.
    pub pending: u64,
    /// When the mark was written (milliseconds since the epoch).
    pub marked_at: f64,
}

/// The database a store opened is not the one its mark names: the one it had is gone.
#[derive(Clone, Debug, PartialEq)]
pub struct Vanished {
    /// The identity of the database that is gone.
    pub previous_identity: String,
    /// The identity of the database opened instead.
    pub identity: String,
    /// The gone database's sync cursor at its last mark: the confirmed events a sync pulls
    /// back are at least these.
    pub last_server_position: u64,
    /// Its pending events at its last mark: events appended on this device that the server
    /// had not confirmed then, lost with the database unless their push had reached the
    /// server (a sync then pulls them back).
    pub pending_at_last_mark: u64,
    /// When that mark was written (milliseconds since the epoch).
    pub marked_at: f64,
}

/// Compares the store's `mark` with the `identity` of the database just opened. No mark: the
/// database is simply new here (or a mark was never written), nothing vanished. A mark of
/// the same identity: the database is the one marked. A mark of another identity: the marked
/// database is gone and this one replaced it.
pub fn judge_reopen(mark: Option<&StoreMark>, identity: &str) -> Option<Vanished> {
    let mark = mark?;
    (mark.identity != identity).then(|| Vanished {
        previous_identity: mark.identity.clone(),
        identity: identity.into(),
        last_server_position: mark.server_position,
        pending_at_last_mark: mark.pending,
        marked_at: mark.marked_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(identity: &str) -> StoreMark {
        StoreMark { identity: identity.into(), server_position: 120, pending: 7, marked_at: 1.5e12 }
    }

    #[test]
    fn without_a_mark_a_database_is_new() {
        assert_eq!(judge_reopen(None, "a"), None);
    }

    #[test]
    fn the_marked_database_is_not_reported() {
        assert_eq!(judge_reopen(Some(&mark("a")), "a"), None);
    }

    #[test]
    fn another_database_than_the_marked_one_reports_the_mark() {
        assert_eq!(
            judge_reopen(Some(&mark("a")), "b"),
            Some(Vanished {
                previous_identity: "a".into(),
                identity: "b".into(),
                last_server_position: 120,
                pending_at_last_mark: 7,
                marked_at: 1.5e12,
            })
        );
    }
}
