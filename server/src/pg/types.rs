//! JSON text as PostgreSQL `json` values, passed through as is: the column keeps the text
//! byte for byte (unlike `jsonb`, which reorders keys), and a pull serves it unparsed.

use std::error::Error;

use bytes::BytesMut;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

/// Text known to be JSON, to store in or read from a `json` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonText<'a>(pub &'a str);

impl ToSql for JsonText<'_> {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        // The binary form of `json` is its text.
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for JsonText<'a> {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(JsonText(std::str::from_utf8(raw)?))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }
}

/// A position, version or head as PostgreSQL's `bigint`. Every one is at most 2^53 - 1.
pub fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `bigint` read back as a position, version or head; negative ones do not occur.
pub fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
