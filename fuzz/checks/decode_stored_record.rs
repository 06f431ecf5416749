//! The check of the `decode_stored_record` fuzz target, shared with the corpus replay
//! (`tests/fuzz_corpus.rs`), which includes this file with `#[path]`.
//!
//! The input bytes become the raw fields of a stored event record ([`StoredEvent`]), each
//! missing, as the store writes it, or off in the ways storage can hand back: ids upper-case,
//! braced, simple, as a URN, one character off or any text; names empty, overlong or with
//! control characters; versions, positions and `recordedAt` NaN, infinite, negative, zero,
//! fractional, 2^53 and beyond; metadata that is not an object. `RecordedEvent::from_stored`
//! decodes them, and a reference written from its contract (`docs/design.md`, "IndexedDB
//! schema") says whether the record is one the store could have written:
//!
//! - `Ok` exactly when every field is: a lower-case hyphenated UUID, a stream name and an
//!   event type of 1 to 256 characters without control characters, a version and a position
//!   that are integers from 1 to 2^53 - 1, a finite `recordedAt`, data present, metadata an
//!   object; and then the event holds exactly those fields;
//! - otherwise a `StorageError` of kind `Other` whose cause starts with
//!   `DataError: a stored record's <field> `, naming a field that is indeed out of shape;
//! - `safe_integer` is `Some(n)` exactly for the integers from 0 to 2^53 - 1, with `n` the
//!   number itself;
//! - nothing panics.

use annals::core::*;
use arbitrary::{Arbitrary, Unstructured};

/// An `id` field.
#[derive(Arbitrary, Clone, Debug)]
pub enum Id {
    /// Missing or not a string.
    Missing,
    /// As the store writes it: lower-case, hyphenated.
    Stored(u128),
    /// Upper-case.
    Upper(u128),
    /// Braced, simple or as a URN.
    OtherForm(u128, u8),
    /// The stored form with the character at `at` replaced.
    OneOff(u128, u8, char),
    /// Anything.
    Text(String),
}

impl Id {
    fn field(&self) -> Option<String> {
        let uuid = |bits: &u128| Uuid::from_u128(*bits);
        Some(match self {
            Id::Missing => return None,
            Id::Stored(bits) => uuid(bits).hyphenated().to_string(),
            Id::Upper(bits) => uuid(bits).hyphenated().to_string().to_uppercase(),
            Id::OtherForm(bits, form) => match form % 3 {
                0 => uuid(bits).braced().to_string(),
                1 => uuid(bits).simple().to_string(),
                _ => uuid(bits).urn().to_string(),
            },
            Id::OneOff(bits, at, c) => {
                let mut chars: Vec<char> = uuid(bits).hyphenated().to_string().chars().collect();
                chars[usize::from(*at) % 36] = *c;
                chars.into_iter().collect()
            }
            Id::Text(text) => text.clone(),
        })
    }
}

/// A `stream` or `type` field.
#[derive(Arbitrary, Clone, Debug)]
pub enum Name {
    /// Missing or not a string.
    Missing,
    /// One of a few names at the limits, valid and not.
    Pool(u8),
    /// A character repeated: lengths around 256 characters.
    Repeat(char, u16),
    /// Anything.
    Text(String),
}

impl Name {
    fn field(&self) -> Option<String> {
        Some(match self {
            Name::Missing => return None,
            Name::Pool(i) => match i % 10 {
                0 => "Order-1".into(),
                1 => String::new(),
                2 => "Order\n1".into(),
                3 => "\u{7f}".into(),
                4 => "\u{85}".into(),
                5 => "\u{200b}".into(),
                6 => "S".repeat(256),
                7 => "S".repeat(257),
                8 => "é".repeat(256),
                _ => "\u{1F600}".repeat(257),
            },
            Name::Repeat(c, n) => std::iter::repeat(*c).take(usize::from(*n % 520)).collect(),
            Name::Text(text) => text.clone(),
        })
    }
}

/// Numbers at and around the edges of a version, a position and a time.
const SPECIAL_NUMBERS: [f64; 24] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    -0.0,
    0.0,
    1.0,
    -1.0,
    0.5,
    1.5,
    0.999_999_999_999_999_9,
    1.000_000_000_000_000_2,
    9_007_199_254_740_990.5,
    9_007_199_254_740_991.0,
    9_007_199_254_740_992.0,
    9_007_199_254_740_994.0,
    18_446_744_073_709_551_615.0,
    -9_223_372_036_854_775_808.0,
    1e300,
    -1e300,
    5e-324,
    f64::MIN_POSITIVE,
    f64::MAX,
    1_700_000_000_000.25,
    -1_700_000_000_000.0,
];

/// A `version`, `position` or `recordedAt` field.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Number {
    /// Missing or not a number.
    Missing,
    /// A small integer, negative or not.
    Small(i16),
    /// One of [`SPECIAL_NUMBERS`].
    Special(u8),
    /// A large integer.
    Integer(u64),
    /// Any bits.
    Bits(u64),
}

impl Number {
    fn field(self) -> Option<f64> {
        Some(match self {
            Number::Missing => return None,
            Number::Small(n) => f64::from(n),
            Number::Special(i) => SPECIAL_NUMBERS[usize::from(i) % SPECIAL_NUMBERS.len()],
            Number::Integer(n) => n as f64,
            Number::Bits(bits) => f64::from_bits(bits),
        })
    }
}

/// A `data` or `metadata` field.
#[derive(Clone, Debug)]
pub struct Json(pub Option<Value>);

impl<'a> Arbitrary<'a> for Json {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Json(if u.arbitrary()? { Some(value(u, 0)?) } else { None }))
    }
}

fn value(u: &mut Unstructured<'_>, depth: usize) -> arbitrary::Result<Value> {
    let last_tag = if depth >= 3 { 3 } else { 5 };
    Ok(match u.int_in_range(0..=last_tag)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::Number(Number::arbitrary(u)?.field().unwrap_or(0.0)),
        3 => Value::String(u.arbitrary()?),
        4 => Value::Array(several(u, |u| value(u, depth + 1))?),
        _ => Value::Object(several(u, |u| Ok((u.arbitrary()?, value(u, depth + 1)?)))?),
    })
}

fn several<'a, T>(
    u: &mut Unstructured<'a>,
    mut item: impl FnMut(&mut Unstructured<'a>) -> arbitrary::Result<T>,
) -> arbitrary::Result<Vec<T>> {
    let mut items = Vec::new();
    while items.len() < 8 && u.arbitrary::<bool>()? {
        items.push(item(u)?);
    }
    Ok(items)
}

/// What the input bytes describe: the raw fields of one record.
#[derive(Arbitrary, Clone, Debug)]
pub struct Record {
    id: Id,
    stream: Name,
    event_type: Name,
    version: Number,
    position: Number,
    recorded_at: Number,
    data: Json,
    metadata: Json,
}

// ---- the reference ---------------------------------------------------------------------

/// The id the text stands for when it is a lower-case hyphenated UUID.
fn stored_id(text: &str) -> Option<Uuid> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut hex = String::new();
    for (i, &b) in bytes.iter().enumerate() {
        match (i, b) {
            (8 | 13 | 18 | 23, b'-') => {}
            (8 | 13 | 18 | 23, _) => return None,
            (_, b'0'..=b'9' | b'a'..=b'f') => hex.push(b as char),
            _ => return None,
        }
    }
    u128::from_str_radix(&hex, 16).ok().map(Uuid::from_u128)
}

/// 1 to 256 characters, none a control character.
fn name_ok(name: &str) -> bool {
    (1..=256).contains(&name.chars().count()) && !name.chars().any(char::is_control)
}

/// An integer from `min` to 2^53 - 1.
fn count_ok(n: f64, min: f64) -> bool {
    n.trunc() == n && (min..=9_007_199_254_740_991.0).contains(&n)
}

/// How decoding records went: the replay asserts its corpus reaches every outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records that decoded.
    pub decoded: u64,
    /// Records refused, by the field the error named: id, stream, type, version, position,
    /// recordedAt, data, metadata.
    pub refused: [u64; 8],
}

/// The fields in the order [`Tally::refused`] counts them.
pub const FIELDS: [&str; 8] = [
    "id", "stream", "type", "version", "position", "recordedAt", "data", "metadata",
];

impl Tally {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: Tally) {
        self.decoded += other.decoded;
        for (mine, theirs) in self.refused.iter_mut().zip(other.refused) {
            *mine += theirs;
        }
    }
}

fn check_safe_integer(n: Option<f64>) {
    if let Some(n) = n {
        let expected = count_ok(n, 0.0).then(|| n as u64);
        assert_eq!(safe_integer(n), expected, "safe_integer({n:e})");
        if let Some(k) = expected {
            assert_eq!(k as f64, n);
        }
    }
}

/// Decodes the record the bytes describe and asserts every property above.
pub fn check(data: &[u8]) -> Tally {
    let mut tally = Tally::default();
    let Ok(record) = Record::arbitrary_take_rest(Unstructured::new(data)) else {
        return tally;
    };
    let stored = StoredEvent {
        id: record.id.field(),
        stream: record.stream.field(),
        event_type: record.event_type.field(),
        version: record.version.field(),
        position: record.position.field(),
        recorded_at: record.recorded_at.field(),
        data: record.data.0.clone(),
        metadata: record.metadata.0.clone(),
        // Not drawn from the input, so the committed corpus keeps its meaning; the core's unit
        // tests cover its checks.
        server_position: None,
    };
    for n in [stored.version, stored.position, stored.recorded_at] {
        check_safe_integer(n);
    }

    let id = stored.id.as_deref().and_then(stored_id);
    let fault = [
        id.is_none(),
        !stored.stream.as_deref().is_some_and(name_ok),
        !stored.event_type.as_deref().is_some_and(name_ok),
        !stored.version.is_some_and(|n| count_ok(n, 1.0)),
        !stored.position.is_some_and(|n| count_ok(n, 1.0)),
        !stored.recorded_at.is_some_and(f64::is_finite),
        stored.data.is_none(),
        !matches!(stored.metadata, Some(Value::Object(_))),
    ];

    match RecordedEvent::from_stored(stored.clone()) {
        Ok(event) => {
            assert!(!fault.contains(&true), "decoded a record out of shape: {stored:?}");
            assert_eq!(Some(event.id), id);
            assert_eq!(Some(&event.stream), stored.stream.as_ref());
            assert_eq!(Some(&event.event_type), stored.event_type.as_ref());
            assert_eq!(Some(event.version as f64), stored.version);
            assert_eq!(Some(event.position as f64), stored.position);
            assert_eq!(Some(event.recorded_at.to_bits()), stored.recorded_at.map(f64::to_bits));
            // Payloads are handed on untouched (a NaN in them too: they are not walked), so
            // they compare by their exact text, in which NaN equals NaN.
            let text = |v: Option<&Value>| format!("{v:?}");
            assert_eq!(text(Some(&event.data)), text(stored.data.as_ref()));
            assert_eq!(text(Some(&event.metadata)), text(stored.metadata.as_ref()));
            tally.decoded += 1;
        }
        Err(e) => {
            assert!(fault.contains(&true), "refused a record the store writes: {stored:?}: {e}");
            assert_eq!(e.kind, StorageErrorKind::Other, "{e}");
            let field = e
                .cause
                .strip_prefix("DataError: a stored record's ")
                .and_then(|rest| rest.split_once(' '))
                .map(|(field, _)| field)
                .unwrap_or_else(|| panic!("the cause does not name a field: {}", e.cause));
            let at = FIELDS
                .iter()
                .position(|f| *f == field)
                .unwrap_or_else(|| panic!("the cause names no field of a record: {}", e.cause));
            assert!(fault[at], "the cause names {field}, which is in shape: {stored:?}");
            tally.refused[at] += 1;
        }
    }
    tally
}
