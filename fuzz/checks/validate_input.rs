//! The check of the `validate_input` fuzz target, shared with the corpus replay
//! (`tests/fuzz_corpus.rs`), which includes this file with `#[path]`.
//!
//! The input bytes become a [`Case`]: a `maxEventBytes` and a few appends, each with a stream
//! name, events (type, data, optional metadata, optional id text) and an expected version,
//! drawn so that the edges come up often: empty, overlong and control-character names,
//! non-finite numbers, nesting around [`MAX_DEPTH`], huge strings, escapes, ids that are
//! upper-case, braced, repeated or equal to a generated one. Each append runs through
//! `Store::append` on a `MemoryBackend` and is compared with a reference written from the
//! contract (`docs/design.md`), with no code of the store's own:
//!
//! - the outcome is the one the reference predicts: `Ok` with the predicted versions and
//!   positions, or the predicted typed error (`InvalidArgument` naming the predicted field,
//!   `DuplicateEventId` with the id, `WrongExpectedVersion` with both versions);
//! - after every append, a full read of the store equals the reference: so a refused append
//!   changed nothing, and a successful one wrote exactly its events, read back with the
//!   input's type, data, metadata and id, versions and positions gapless;
//! - an accepted event's type plus the real JSON length of its data and metadata is within
//!   `maxEventBytes`;
//! - `Value::json_len` equals the length of the JSON text (as `JSON.stringify` writes it)
//!   when every number in the value is an integer below 10^19 in magnitude, and bounds it
//!   otherwise;
//! - nothing panics.

use std::cell::Cell;
use std::rc::Rc;

use annals::core::*;
use arbitrary::{Arbitrary, Unstructured};

use crate::json_text::json_text;

/// How deeply generated values nest: past [`MAX_DEPTH`], so the limit is crossed both ways.
pub const MAX_NESTING: usize = MAX_DEPTH + 4;
/// The time every event of a case is recorded at.
pub const RECORDED_AT: f64 = 1_700_000_000_000.25;
/// The high bits of every generated id; the low 64 bits count.
const GENERATED_BASE: u128 = 0x9e3779b9_7f4a_7c15_0000_0000_0000_0000;

thread_local! {
    static GENERATED: Cell<u64> = const { Cell::new(0) };
}

/// The `n`-th id the store generates in a case (from 1).
pub fn generated_id(n: u64) -> Uuid {
    Uuid::from_u128(GENERATED_BASE | u128::from(n))
}

fn next_generated_id() -> Uuid {
    GENERATED.with(|g| {
        g.set(g.get() + 1);
        generated_id(g.get())
    })
}

fn recorded_at() -> f64 {
    RECORDED_AT
}

// ---- the generated case ----------------------------------------------------------------

/// A JSON-compatible (or deliberately not) value, nested at most [`MAX_NESTING`] deep.
#[derive(Clone, Debug)]
pub struct Json(pub Value);

impl<'a> Arbitrary<'a> for Json {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        value(u, 0).map(Json)
    }
}

fn value(u: &mut Unstructured<'_>, depth: usize) -> arbitrary::Result<Value> {
    let last_tag = if depth >= MAX_NESTING { 3 } else { 6 };
    Ok(match u.int_in_range(0..=last_tag)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::Number(number(u)?),
        3 => Value::String(text(u)?),
        4 => Value::Array(several(u, |u| value(u, depth + 1))?),
        5 => Value::Object(several(u, |u| Ok((text(u)?, value(u, depth + 1)?)))?),
        _ => {
            // A chain of single-child arrays and objects, to reach the depth limit cheaply.
            let levels = u.int_in_range(0..=MAX_NESTING - depth)?;
            let mut v = value(u, MAX_NESTING)?;
            for _ in 0..levels {
                v = if u.arbitrary()? {
                    Value::Array(vec![v])
                } else {
                    Value::Object(vec![(text(u)?, v)])
                };
            }
            v
        }
    })
}

fn several<'a, T>(
    u: &mut Unstructured<'a>,
    mut item: impl FnMut(&mut Unstructured<'a>) -> arbitrary::Result<T>,
) -> arbitrary::Result<Vec<T>> {
    let mut items = Vec::new();
    while items.len() < 32 && u.arbitrary::<bool>()? {
        items.push(item(u)?);
    }
    Ok(items)
}

/// Numbers where lengths and limits change, and the ones JSON has no text for.
const SPECIAL_NUMBERS: [f64; 26] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    -0.0,
    0.1,
    -1.5,
    1e-6,
    1e-7,
    5e-324,
    f64::MIN_POSITIVE,
    9_007_199_254_740_991.0,
    9_007_199_254_740_992.0,
    9_999_999_999_999_998_976.0,
    1e19,
    -1e19,
    1e20,
    1.234_567_890_123_456_8e20,
    1e21,
    -1e21,
    1e300,
    -1.5e300,
    f64::MAX,
    f64::MIN,
    18_446_744_073_709_551_615.0,
    -9_223_372_036_854_775_808.0,
    123_456_789.125,
];

fn number(u: &mut Unstructured<'_>) -> arbitrary::Result<f64> {
    Ok(match u.int_in_range(0..=3)? {
        0 => f64::from(u.arbitrary::<i16>()?),
        1 => u.arbitrary::<i64>()? as f64,
        2 => f64::from_bits(u.arbitrary()?),
        _ => *u.choose(&SPECIAL_NUMBERS)?,
    })
}

/// Characters JSON escapes, encodes on several bytes, or that names must not hold.
const TRICKY_CHARS: [char; 16] = [
    'a', '"', '\\', '\n', '\r', '\t', '\u{8}', '\u{c}', '\u{0}', '\u{1f}', '\u{7f}', '\u{85}',
    'é', '\u{200b}', '\u{fffd}', '\u{1F600}',
];

fn text(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    Ok(match u.int_in_range(0..=2)? {
        0 => u.arbitrary()?,
        1 => several(u, |u| u.choose(&TRICKY_CHARS).copied())?.into_iter().collect(),
        _ => {
            // Up to 64 Ki characters from a few bytes of input: huge strings stay cheap.
            let c = *u.choose(&TRICKY_CHARS)?;
            let n = u.arbitrary::<u16>()?;
            std::iter::repeat(c).take(n.into()).collect()
        }
    })
}

/// A stream name or event type.
#[derive(Arbitrary, Clone, Debug)]
pub enum Name {
    /// One of a few names, valid and not, at the limits.
    Pool(u8),
    /// A character repeated: lengths around 256 characters and bytes.
    Repeat(char, u16),
    /// Anything.
    Text(String),
}

const NAME_POOL: [&str; 8] = [
    "Order-1", "Order-2", "Cart-1", "", "Order\n1", "A\u{0}", "\u{85}", "\u{200b}",
];

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Pool(i) => match i % 12 {
                8 => "S".repeat(256),
                9 => "S".repeat(257),
                10 => "é".repeat(256),
                11 => "\u{1F600}".repeat(257),
                i => NAME_POOL[usize::from(i)].into(),
            },
            Name::Repeat(c, n) => std::iter::repeat(*c).take(usize::from(*n % 520)).collect(),
            Name::Text(s) => s.clone(),
        }
    }
}

/// An event's id, as the caller would write it.
#[derive(Arbitrary, Clone, Debug)]
pub enum Id {
    /// Generated by the store.
    None,
    /// One of a few valid ids, hyphenated lower-case: they recur across events and appends.
    Pool(u8),
    /// The same, upper-case: the same id.
    Upper(u8),
    /// The same, braced, simple or as a URN: not accepted.
    OtherForm(u8, u8),
    /// The text of an id the store generated earlier in this case (a pool id before the
    /// first): the store may take the ids it generates to be new, but not the ids it is given.
    Generated(u8),
    /// Anything.
    Text(String),
}

const ID_POOL: [&str; 5] = [
    "00000000-0000-4000-8000-000000000001",
    "00000000-0000-4000-8000-000000000002",
    "0190b6a4-6a3c-7cc2-9a8b-1f2e3d4c5b6a",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
];

impl Id {
    /// The text, when the store has generated `generated` ids so far.
    fn text(&self, generated: u64) -> Option<String> {
        let pool = |i: &u8| ID_POOL[usize::from(*i) % ID_POOL.len()];
        match self {
            Id::None => None,
            Id::Pool(i) => Some(pool(i).into()),
            Id::Upper(i) => Some(pool(i).to_uppercase()),
            Id::OtherForm(i, form) => {
                let uuid = Uuid::parse_str(pool(i)).expect("pool ids are UUIDs");
                Some(match form % 3 {
                    0 => uuid.braced().to_string(),
                    1 => uuid.simple().to_string(),
                    _ => uuid.urn().to_string(),
                })
            }
            Id::Generated(n) if generated > 0 => {
                Some(generated_id(u64::from(*n) % generated + 1).to_string())
            }
            Id::Generated(n) => Some(pool(n).into()),
            Id::Text(s) => Some(s.clone()),
        }
    }
}

/// An event's metadata.
#[derive(Arbitrary, Clone, Debug)]
pub enum Metadata {
    /// None given: recorded as `{}`.
    Absent,
    /// An object of these entries.
    Object(Vec<(String, Json)>),
    /// Any value, object or not.
    Any(Json),
}

/// One event as generated: type, data, metadata and id.
#[derive(Arbitrary, Clone, Debug)]
pub struct Event {
    event_type: Name,
    data: Json,
    metadata: Metadata,
    id: Id,
}

/// An expected version as generated.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Expected {
    /// `any`.
    Any,
    /// `no_stream`.
    NoStream,
    /// `stream_exists`.
    StreamExists,
    /// A version from 0 to 7: streams of a case are short, so these hit and miss.
    Small(u8),
    /// Any version.
    Exact(u64),
}

impl Expected {
    fn version(self) -> ExpectedVersion {
        match self {
            Expected::Any => ExpectedVersion::Any,
            Expected::NoStream => ExpectedVersion::NoStream,
            Expected::StreamExists => ExpectedVersion::StreamExists,
            Expected::Small(n) => ExpectedVersion::Exact((n % 8).into()),
            Expected::Exact(n) => ExpectedVersion::Exact(n),
        }
    }
}

/// One step of a case.
#[derive(Arbitrary, Clone, Debug)]
pub enum Step {
    /// An append.
    Append {
        /// The stream.
        stream: Name,
        /// The events (the first 16).
        events: Vec<Event>,
        /// The expected version.
        expected: Expected,
    },
    /// The `n`-th earlier append again, exactly as given (a retry).
    Repeat(u8),
}

/// The store's cap on one event's size.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum MaxEventBytes {
    /// Up to 64 KiB, 0 included (which the store refuses to open with).
    Small(u16),
    /// `DEFAULT_MAX_EVENT_BYTES`.
    Default,
    /// `usize::MAX`.
    Unlimited,
}

/// What the input bytes describe: the store's cap, and up to 8 steps.
#[derive(Arbitrary, Clone, Debug)]
pub struct Case {
    max_event_bytes: MaxEventBytes,
    steps: Vec<Step>,
}

/// An append as the store is given it.
#[derive(Clone, Debug)]
struct Append {
    stream: String,
    events: Vec<EventInput>,
    expected: ExpectedVersion,
}

impl Event {
    fn input(&self, generated: u64) -> EventInput {
        EventInput {
            event_type: self.event_type.text(),
            data: self.data.0.clone(),
            metadata: match &self.metadata {
                Metadata::Absent => None,
                Metadata::Object(pairs) => Some(Value::Object(
                    pairs.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect(),
                )),
                Metadata::Any(v) => Some(v.0.clone()),
            },
            id: self.id.text(generated),
        }
    }
}

// ---- the reference ---------------------------------------------------------------------

/// A valid name: 1 to 256 characters, none a control character.
fn name_ok(name: &str) -> bool {
    let chars = name.chars().count();
    (1..=256).contains(&chars) && !name.chars().any(char::is_control)
}

/// JSON-compatible: finite numbers, no value deeper than [`MAX_DEPTH`] (the root is at 0).
fn json_ok(v: &Value, depth: usize) -> bool {
    depth <= MAX_DEPTH
        && match v {
            Value::Number(n) => n.is_finite(),
            Value::Array(items) => items.iter().all(|i| json_ok(i, depth + 1)),
            Value::Object(pairs) => pairs.iter().all(|(_, i)| json_ok(i, depth + 1)),
            _ => true,
        }
}

/// The id `text` stands for: only the 36-character hyphenated form, hex digits of either case.
fn parse_id(text: &str) -> Option<Uuid> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut hex = String::new();
    for (i, &b) in bytes.iter().enumerate() {
        if [8, 13, 18, 23].contains(&i) {
            if b != b'-' {
                return None;
            }
        } else if b.is_ascii_hexdigit() {
            hex.push(b as char);
        } else {
            return None;
        }
    }
    u128::from_str_radix(&hex, 16).ok().map(Uuid::from_u128)
}

/// What the reference expects of an append, and the events it writes.
type Prediction = (Result<AppendResult, Error>, Vec<RecordedEvent>);

/// Predicts an append against `stored` (the store's events, in position order), with
/// generated ids following the `generated`-th.
fn predict(
    stored: &[RecordedEvent],
    append: &Append,
    max_event_bytes: usize,
    mut generated: u64,
) -> Prediction {
    let refuse = |e: Error| (Err(e), Vec::new());
    if !name_ok(&append.stream) {
        return refuse(Error::invalid("stream", ""));
    }
    if append.events.is_empty() {
        return refuse(Error::invalid("events", ""));
    }
    let mut proposed: Vec<(Uuid, &EventInput, Value)> = Vec::new();
    for (i, e) in append.events.iter().enumerate() {
        let field = |name: &str| format!("events[{i}].{name}");
        if !name_ok(&e.event_type) {
            return refuse(Error::invalid(field("type"), ""));
        }
        if !json_ok(&e.data, 0) {
            return refuse(Error::invalid(field("data"), ""));
        }
        let metadata = match &e.metadata {
            None => Value::Object(Vec::new()),
            Some(m @ Value::Object(_)) if json_ok(m, 0) => m.clone(),
            Some(_) => return refuse(Error::invalid(field("metadata"), "")),
        };
        let id = match &e.id {
            None => {
                generated += 1;
                generated_id(generated)
            }
            Some(text) => match parse_id(text) {
                Some(id) => id,
                None => return refuse(Error::invalid(field("id"), "")),
            },
        };
        if proposed.iter().any(|(p, _, _)| *p == id) {
            return refuse(Error::DuplicateEventId { id: id.to_string() });
        }
        let size = e.event_type.len() + e.data.json_len() + metadata.json_len();
        if size > max_event_bytes {
            return refuse(Error::invalid(format!("events[{i}]"), ""));
        }
        proposed.push((id, e, metadata));
    }

    let existing: Vec<Option<&RecordedEvent>> = proposed
        .iter()
        .map(|(id, _, _)| stored.iter().find(|s| s.id == *id))
        .collect();
    if existing.iter().any(Option::is_some) {
        // A retry: every event already stands in this stream, contiguously and in order,
        // exactly as proposed.
        let retry = existing.iter().zip(&proposed).enumerate().all(|(i, (found, p))| {
            found.is_some_and(|f| {
                f.stream == append.stream
                    && f.version == existing[0].map_or(0, |first| first.version) + i as u64
                    && f.event_type == p.1.event_type
                    && f.data == p.1.data
                    && f.metadata == p.2
            })
        });
        if retry {
            let last = existing.last().copied().flatten().expect("all found");
            let result = AppendResult {
                next_expected_version: last.version,
                position: last.position,
            };
            return (Ok(result), Vec::new());
        }
        let (id, _, _) = proposed
            .iter()
            .zip(&existing)
            .find(|(_, found)| found.is_some())
            .map(|(p, _)| p)
            .expect("one found");
        return refuse(Error::DuplicateEventId { id: id.to_string() });
    }

    let version = stored.iter().filter(|s| s.stream == append.stream).count() as u64;
    let expected_ok = match append.expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => version == 0,
        ExpectedVersion::StreamExists => version > 0,
        ExpectedVersion::Exact(n) => n == version,
    };
    if !expected_ok {
        return refuse(Error::WrongExpectedVersion {
            stream: append.stream.clone(),
            expected: append.expected,
            actual: version,
        });
    }
    let head = stored.len() as u64;
    let written: Vec<RecordedEvent> = proposed
        .into_iter()
        .enumerate()
        .map(|(i, (id, e, metadata))| RecordedEvent {
            id,
            stream: append.stream.clone(),
            event_type: e.event_type.clone(),
            version: version + 1 + i as u64,
            position: head + 1 + i as u64,
            data: e.data.clone(),
            metadata,
            recorded_at: RECORDED_AT,
            server_position: None,
        })
        .collect();
    let last = written.last().expect("at least one event");
    let result = AppendResult {
        next_expected_version: last.version,
        position: last.position,
    };
    (Ok(result), written)
}

/// Same outcome: `InvalidArgument`s compare by field only (the reason is prose).
fn same_outcome(actual: &Result<AppendResult, Error>, predicted: &Result<AppendResult, Error>) -> bool {
    match (actual, predicted) {
        (
            Err(Error::InvalidArgument { field: a, .. }),
            Err(Error::InvalidArgument { field: p, .. }),
        ) => a == p,
        _ => actual == predicted,
    }
}

// ---- JSON lengths --------------------------------------------------------------------------

/// Whether `json_len` is exact for `v`: every number in it is an integer below 10^19 in
/// magnitude.
pub fn json_len_is_exact(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.abs() < 1e19 && n.trunc() == *n,
        Value::Array(items) => items.iter().all(json_len_is_exact),
        Value::Object(pairs) => pairs.iter().all(|(_, i)| json_len_is_exact(i)),
        _ => true,
    }
}

/// Checks `Value::json_len` of `v` against its JSON text; `oracle` is handed every value
/// whose length is exact, with that text, for a second opinion.
fn check_json_len(v: &Value, oracle: &dyn Fn(&Value, &str)) {
    let text = json_text(v);
    if json_len_is_exact(v) {
        assert_eq!(v.json_len(), text.len(), "json_len of {text}");
        oracle(v, &text);
    } else {
        assert!(v.json_len() >= text.len(), "json_len of {text} is {}", v.json_len());
    }
}

// ---- the check -------------------------------------------------------------------------

async fn contents(store: &Rc<Store<MemoryBackend>>) -> Vec<RecordedEvent> {
    let mut reader = AllReader::new(store.clone(), ReadAllOptions::default()).expect("reader");
    let mut all = Vec::new();
    loop {
        let page = reader.next_page().await.expect("read_all");
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// How the appends of a case ended: the replay asserts its corpus reaches every kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Appends that wrote their events.
    pub written: u64,
    /// Appends reported as already appended (retries), writing nothing.
    pub retried: u64,
    /// Appends refused with `InvalidArgument`.
    pub invalid: u64,
    /// Appends refused with `DuplicateEventId`.
    pub duplicate: u64,
    /// Appends refused with `WrongExpectedVersion`.
    pub wrong_version: u64,
}

impl Tally {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: Tally) {
        self.written += other.written;
        self.retried += other.retried;
        self.invalid += other.invalid;
        self.duplicate += other.duplicate;
        self.wrong_version += other.wrong_version;
    }
}

/// Runs the case the bytes describe and asserts every property above. `oracle` is given
/// each value whose JSON length is exact, with its text (the fuzz target compares it with
/// serde_json's).
pub fn check(data: &[u8], oracle: &dyn Fn(&Value, &str)) -> Tally {
    let mut tally = Tally::default();
    let Ok(case) = Case::arbitrary_take_rest(Unstructured::new(data)) else {
        return tally;
    };
    GENERATED.with(|g| g.set(0));
    let max_event_bytes = match case.max_event_bytes {
        MaxEventBytes::Small(n) => usize::from(n),
        MaxEventBytes::Default => DEFAULT_MAX_EVENT_BYTES,
        MaxEventBytes::Unlimited => usize::MAX,
    };
    let config = StoreConfig {
        max_event_bytes,
        new_id: next_generated_id,
        now: recorded_at,
    };
    futures::executor::block_on(async {
        let store = match Store::open(MemoryBackend::new(), config).await {
            Ok(store) => store,
            Err(e) => {
                assert_eq!(max_event_bytes, 0, "open failed: {e}");
                assert!(matches!(e, Error::InvalidArgument { ref field, .. } if field == "maxEventBytes"));
                return tally;
            }
        };
        assert_ne!(max_event_bytes, 0, "maxEventBytes 0 was accepted");
        let mut model: Vec<RecordedEvent> = Vec::new();
        let mut appends: Vec<Append> = Vec::new();
        for step in case.steps.iter().take(8) {
            let append = match step {
                Step::Append { stream, events, expected } => Append {
                    stream: stream.text(),
                    events: {
                        let generated = GENERATED.with(Cell::get);
                        events.iter().take(16).map(|e| e.input(generated)).collect()
                    },
                    expected: expected.version(),
                },
                Step::Repeat(n) if !appends.is_empty() => {
                    appends[usize::from(*n) % appends.len()].clone()
                }
                Step::Repeat(_) => continue,
            };
            appends.push(append.clone());
            for e in &append.events {
                check_json_len(&e.data, oracle);
                if let Some(m) = &e.metadata {
                    check_json_len(m, oracle);
                }
            }

            let generated = GENERATED.with(Cell::get);
            let (predicted, written) = predict(&model, &append, max_event_bytes, generated);
            let before_version = store.stream_version(&append.stream).await;
            let outcome = store
                .append(&append.stream, append.events.clone(), append.expected)
                .await;
            assert!(
                same_outcome(&outcome, &predicted),
                "append to {:?}: got {outcome:?}, the reference predicts {predicted:?}",
                append.stream
            );
            for e in &written {
                let size = e.event_type.len()
                    + json_text(&e.data).len()
                    + json_text(&e.metadata).len();
                assert!(size <= max_event_bytes, "an accepted event of {size} bytes");
            }
            match &outcome {
                Ok(_) if written.is_empty() => tally.retried += 1,
                Ok(_) => tally.written += 1,
                Err(Error::InvalidArgument { .. }) => tally.invalid += 1,
                Err(Error::DuplicateEventId { .. }) => tally.duplicate += 1,
                Err(Error::WrongExpectedVersion { .. }) => tally.wrong_version += 1,
                Err(e) => panic!("an append failed with {e:?}"),
            }
            model.extend(written);

            let stored = contents(&store).await;
            assert_eq!(stored, model, "the store differs from the reference");
            for (i, e) in stored.iter().enumerate() {
                assert_eq!(e.position, i as u64 + 1, "positions are 1..n");
                let earlier = stored[..i].iter().filter(|s| s.stream == e.stream).count();
                assert_eq!(e.version, earlier as u64 + 1, "versions are 1..n per stream");
            }
            let after_version = store.stream_version(&append.stream).await;
            match (&outcome, before_version, after_version) {
                (Err(_), before, after) => assert_eq!(before, after, "a refused append moved the stream"),
                (Ok(r), _, Ok(after)) => assert!(r.next_expected_version <= after),
                (Ok(_), _, Err(e)) => {
                    panic!("the stream of a successful append has no version: {e}")
                }
            }
        }
        tally
    })
}
