//! What can go wrong talking to PostgreSQL.

use std::fmt;

use annals::core::StorageError;

/// A failure of the database or of the way to it. Whatever the variant, the transaction it
/// happened in was rolled back.
#[derive(Debug)]
pub enum DbError {
    /// No connection could be had from the pool (the database is down or unreachable).
    Pool(deadpool_postgres::PoolError),
    /// A statement failed, or its connection broke.
    Query(tokio_postgres::Error),
    /// A stored record is not as the server writes it.
    Corrupt(String),
    /// The database's schema is newer than this server knows.
    Schema(String),
    /// The connection ended.
    Closed,
    /// The failure of a transaction shared by several requests.
    Shared(std::sync::Arc<DbError>),
}

impl DbError {
    /// Whether the database could not be reached (rather than refused a statement): a client
    /// may retry later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Pool(_) | DbError::Closed => true,
            DbError::Query(e) => {
                e.is_closed()
                    || match e.as_db_error() {
                        None => true,
                        // Connection exceptions (08…), shutdowns and crashes (57P…).
                        Some(db) => db.code().code().starts_with("08") || db.code().code().starts_with("57P"),
                    }
            }
            DbError::Corrupt(_) | DbError::Schema(_) => false,
            DbError::Shared(e) => e.is_unavailable(),
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Pool(e) => write!(f, "no database connection: {e}"),
            DbError::Query(e) => match e.as_db_error() {
                Some(db) => write!(f, "PostgreSQL: {} ({})", db.message(), db.code().code()),
                None => write!(f, "PostgreSQL: {e}"),
            },
            DbError::Corrupt(what) => write!(f, "a stored record is corrupt: {what}"),
            DbError::Schema(what) => f.write_str(what),
            DbError::Closed => f.write_str("the connection closed"),
            DbError::Shared(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for DbError {}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        DbError::Pool(e)
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError::Query(e)
    }
}

impl From<DbError> for StorageError {
    fn from(e: DbError) -> Self {
        StorageError::other(e.to_string())
    }
}
