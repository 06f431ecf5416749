//! Model-based tests: random sequences of operations run against the real `Store` — on the
//! memory backend, and on the memory backend behind `conformance::Instrumented::yielding` —
//! and against a plain reference model written from the contract (`docs/api.md`,
//! `docs/design.md`) without any of the store's own logic. Every outcome (results, errors
//! with their fields, reads, deliveries) and the whole stored state are compared after every
//! operation.
//!
//! The figures of a run go to `target/reliability/model.json`.
#![cfg(not(target_arch = "wasm32"))]

#[allow(unused_imports)] // only `Instrumented` is used here
mod conformance;

#[allow(dead_code)] // only `json_text` is used here
#[path = "../fuzz/checks/json_text.rs"]
mod json_text;

use conformance::poll_until_stuck;
use json_text::json_text;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Mutex;
use std::task::Poll;

use annals::core::*;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Cases per backend: two backends, so at least 10,000 per run.
const CASES: u32 = 5_000;
/// Small, so that over-size events are cheap to make.
const MAX_EVENT_BYTES: usize = 48;
/// Explicit ids are drawn from this many, so that they recur.
const ID_POOL: u8 = 24;
/// Subscriptions open at once in a case.
const SLOTS: usize = 2;

// ---- operations, as generated (selectors: short in proptest's failure output) ------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StreamSel {
    Order1,
    Order2,
    Cart1,
    Order,
    Long256,
    Empty,
    Long257,
    Control,
}

const VALID_STREAMS: [StreamSel; 5] = [
    StreamSel::Order1,
    StreamSel::Order2,
    StreamSel::Cart1,
    StreamSel::Order,
    StreamSel::Long256,
];

impl StreamSel {
    fn name(self) -> String {
        match self {
            StreamSel::Order1 => "Order-1".into(),
            StreamSel::Order2 => "Order-2".into(),
            StreamSel::Cart1 => "Cart-1".into(),
            StreamSel::Order => "Order".into(),
            StreamSel::Long256 => "S".repeat(256),
            StreamSel::Empty => String::new(),
            StreamSel::Long257 => "S".repeat(257),
            StreamSel::Control => "Order\n1".into(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum TypeSel {
    A,
    B,
    C,
    /// Valid name, but 256 bytes: the event is over-size.
    Long256,
    /// Valid name of 256 characters, 512 bytes.
    Accented256,
    Empty,
    Long257,
    Control,
}

impl TypeSel {
    fn name(self) -> String {
        match self {
            TypeSel::A => "A".into(),
            TypeSel::B => "B".into(),
            TypeSel::C => "C".into(),
            TypeSel::Long256 => "T".repeat(256),
            TypeSel::Accented256 => "é".repeat(256),
            TypeSel::Empty => String::new(),
            TypeSel::Long257 => "T".repeat(257),
            TypeSel::Control => "A\u{0}".into(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum DataSel {
    /// `{"n": n}`
    N(u8),
    /// A string of `len` "x".
    Text(u8),
    /// A string of `len` characters that JSON escapes or encodes on several bytes.
    Tricky(u8),
    /// `{"n": NaN}`
    NaN,
    /// `[1, Infinity]`
    Inf,
    /// `[0, 1, …]`
    List(u8),
}

impl DataSel {
    fn value(self) -> Value {
        match self {
            DataSel::N(n) => Value::object([("n", Value::from(n as i64))]),
            DataSel::Text(len) => Value::String("x".repeat(len as usize)),
            DataSel::Tricky(len) => {
                let chars = ['a', '"', '\\', '\n', '\u{1}', 'é', '\u{1F600}', '\t'];
                Value::String((0..len as usize).map(|i| chars[i % chars.len()]).collect())
            }
            DataSel::NaN => Value::object([("n", Value::from(f64::NAN))]),
            DataSel::Inf => Value::Array(vec![Value::from(1i64), Value::from(f64::INFINITY)]),
            DataSel::List(len) => Value::Array((0..len as i64).map(Value::from).collect()),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum MetaSel {
    Absent,
    EmptyObject,
    Corr(u8),
    NotObject,
}

impl MetaSel {
    fn value(self) -> Option<Value> {
        match self {
            MetaSel::Absent => None,
            MetaSel::EmptyObject => Some(Value::Object(Vec::new())),
            MetaSel::Corr(n) => Some(Value::object([("c", Value::from(n as i64))])),
            MetaSel::NotObject => Some(Value::Bool(true)),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum IdSel {
    Generated,
    Pool(u8),
    /// The same UUID as `Pool`, upper-case.
    PoolUpper(u8),
    /// The 32-digit form, without hyphens: not an id here.
    Simple(u8),
    Braced(u8),
    Garbage,
}

fn pool_id(k: u8) -> String {
    format!("0190b6a4-6a3c-7cc2-9a8b-{:012x}", 0xabc000 + k as u64)
}

impl IdSel {
    fn text(self) -> Option<String> {
        match self {
            IdSel::Generated => None,
            IdSel::Pool(k) => Some(pool_id(k)),
            IdSel::PoolUpper(k) => Some(pool_id(k).to_uppercase()),
            IdSel::Simple(k) => Some(pool_id(k).replace('-', "")),
            IdSel::Braced(k) => Some(format!("{{{}}}", pool_id(k))),
            IdSel::Garbage => Some("not-a-uuid".into()),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Ev {
    ty: TypeSel,
    data: DataSel,
    meta: MetaSel,
    id: IdSel,
}

impl Ev {
    fn input(self) -> EventInput {
        EventInput {
            event_type: self.ty.name(),
            data: self.data.value(),
            metadata: self.meta.value(),
            id: self.id.text(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum ExpSel {
    Any,
    NoStream,
    StreamExists,
    /// Exactly the stream's version before the operation.
    Right,
    /// The stream's version before the operation, off by this much.
    Wrong(i8),
}

#[derive(Clone, Debug)]
struct AppendOp {
    stream: StreamSel,
    events: Vec<Ev>,
    expected: ExpSel,
}

#[derive(Clone, Copy, Debug)]
enum ReplayHow {
    Same,
    Expect(ExpSel),
    /// The first half (rounded up) of the events.
    Head,
    /// The last half (rounded up) of the events.
    Tail,
    Reversed,
    OtherStream(StreamSel),
    /// The first event with other data.
    OtherData,
}

#[derive(Clone, Copy, Debug)]
enum PrefixSel {
    OrderDash,
    Order,
    CartDash,
    C,
    Nothing,
    Empty,
    Control,
}

impl PrefixSel {
    fn name(self) -> String {
        match self {
            PrefixSel::OrderDash => "Order-".into(),
            PrefixSel::Order => "Order".into(),
            PrefixSel::CartDash => "Cart-".into(),
            PrefixSel::C => "C".into(),
            PrefixSel::Nothing => "Zed".into(),
            PrefixSel::Empty => String::new(),
            PrefixSel::Control => "\u{7f}".into(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum TypeFilterSel {
    A,
    B,
    C,
    Unused,
    Empty,
}

impl TypeFilterSel {
    fn name(self) -> String {
        match self {
            TypeFilterSel::A => "A".into(),
            TypeFilterSel::B => "B".into(),
            TypeFilterSel::C => "C".into(),
            TypeFilterSel::Unused => "Z".into(),
            TypeFilterSel::Empty => String::new(),
        }
    }
}

#[derive(Clone, Debug)]
struct FilterSel {
    types: Option<Vec<TypeFilterSel>>,
    streams: Option<Vec<StreamSel>>,
    prefix: Option<PrefixSel>,
}

impl FilterSel {
    fn filter(&self) -> Filter {
        Filter {
            types: self
                .types
                .as_ref()
                .map(|t| t.iter().map(|t| t.name()).collect()),
            streams: self.streams.as_ref().map(|s| s.iter().map(|s| s.name()).collect()),
            stream_prefix: self.prefix.map(PrefixSel::name),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum CpSel {
    A,
    B,
    Sub(usize),
    Empty,
    Long257,
}

impl CpSel {
    fn name(self) -> String {
        match self {
            CpSel::A => "cp-a".into(),
            CpSel::B => "cp-b".into(),
            CpSel::Sub(slot) => sub_checkpoint(slot),
            CpSel::Empty => String::new(),
            CpSel::Long257 => "c".repeat(257),
        }
    }
}

fn sub_checkpoint(slot: usize) -> String {
    format!("sub-{slot}")
}

const CHECKPOINT_NAMES: [CpSel; 4] = [CpSel::A, CpSel::B, CpSel::Sub(0), CpSel::Sub(1)];

#[derive(Clone, Copy, Debug)]
enum SubCpSel {
    None,
    /// `sub-<slot>`: each slot has its own checkpoint name.
    Slot,
    Invalid,
}

#[derive(Clone, Copy, Debug)]
enum SnapVersionSel {
    Current,
    Zero,
    Below(u8),
    Beyond(u8),
}

#[derive(Clone, Copy, Debug)]
enum StateSel {
    N(u8),
    NaN,
}

#[derive(Clone, Debug)]
enum Op {
    Append(AppendOp),
    /// Appends made at once: they share transactions (group commit) and are decided in call
    /// order.
    Concurrent(Vec<AppendOp>),
    /// An earlier append again, as is or altered: idempotent retries and duplicate ids.
    Replay {
        of: Index,
        how: ReplayHow,
    },
    /// More events than a page, in one append.
    Bulk {
        stream: StreamSel,
        count: u16,
    },
    StreamVersion(StreamSel),
    ReadStream {
        stream: StreamSel,
        from: Option<u64>,
        backward: bool,
        limit: Option<u64>,
    },
    ReadAll {
        after: u64,
        backward: bool,
        limit: Option<u64>,
        filter: FilterSel,
    },
    GetCheckpoint(CpSel),
    SetCheckpoint(CpSel, u64),
    SaveSnapshot {
        stream: StreamSel,
        version: SnapVersionSel,
        state: StateSel,
    },
    LoadSnapshot(StreamSel),
    /// Closes what the slot holds, then subscribes into it.
    Subscribe {
        slot: usize,
        /// `None`: from the end.
        after: Option<u64>,
        checkpoint: SubCpSel,
        filter: FilterSel,
    },
    /// Asks the slot's subscription for up to `k` events, stopping where it would wait.
    Pull {
        slot: usize,
        k: u8,
    },
    CloseSub(usize),
    CloseStore,
}

// ---- strategies ---------------------------------------------------------------------------

fn stream_sel() -> BoxedStrategy<StreamSel> {
    use StreamSel::*;
    prop_oneof![
        40 => prop::sample::select(vec![Order1, Order2, Cart1, Order]),
        1 => Just(Long256),
        1 => prop::sample::select(vec![Empty, Long257, Control]),
    ]
    .boxed()
}

fn ev() -> BoxedStrategy<Ev> {
    use TypeSel::*;
    let ty = prop_oneof![
        40 => prop::sample::select(vec![A, B]),
        6 => Just(C),
        1 => prop::sample::select(vec![Long256, Accented256, Empty, Long257, Control]),
    ];
    let data = prop_oneof![
        40 => (0u8..3).prop_map(DataSel::N),
        3 => (0u8..50).prop_map(DataSel::Text),
        2 => (0u8..24).prop_map(DataSel::Tricky),
        1 => Just(DataSel::NaN),
        1 => Just(DataSel::Inf),
        3 => (0u8..4).prop_map(DataSel::List),
    ];
    let meta = prop_oneof![
        30 => Just(MetaSel::Absent),
        6 => Just(MetaSel::EmptyObject),
        9 => (0u8..2).prop_map(MetaSel::Corr),
        1 => Just(MetaSel::NotObject),
    ];
    let id = prop_oneof![
        24 => Just(IdSel::Generated),
        20 => (0u8..ID_POOL).prop_map(IdSel::Pool),
        2 => (0u8..ID_POOL).prop_map(IdSel::PoolUpper),
        1 => prop_oneof![
            (0u8..ID_POOL).prop_map(IdSel::Simple),
            (0u8..ID_POOL).prop_map(IdSel::Braced),
            Just(IdSel::Garbage),
        ],
    ];
    (ty, data, meta, id)
        .prop_map(|(ty, data, meta, id)| Ev { ty, data, meta, id })
        .boxed()
}

fn exp_sel() -> BoxedStrategy<ExpSel> {
    prop_oneof![
        6 => Just(ExpSel::Any),
        1 => Just(ExpSel::NoStream),
        1 => Just(ExpSel::StreamExists),
        4 => Just(ExpSel::Right),
        1 => prop_oneof![-3i8..0, 1i8..4].prop_map(ExpSel::Wrong),
    ]
    .boxed()
}

fn append_op() -> BoxedStrategy<AppendOp> {
    let events = prop_oneof![
        30 => prop::collection::vec(ev(), 1..4),
        1 => Just(Vec::new()),
    ];
    (stream_sel(), events, exp_sel())
        .prop_map(|(stream, events, expected)| AppendOp {
            stream,
            events,
            expected,
        })
        .boxed()
}

fn replay_how() -> BoxedStrategy<ReplayHow> {
    prop_oneof![
        6 => Just(ReplayHow::Same),
        3 => exp_sel().prop_map(ReplayHow::Expect),
        2 => Just(ReplayHow::Head),
        2 => Just(ReplayHow::Tail),
        2 => Just(ReplayHow::Reversed),
        2 => stream_sel().prop_map(ReplayHow::OtherStream),
        2 => Just(ReplayHow::OtherData),
    ]
    .boxed()
}

fn filter_sel() -> BoxedStrategy<FilterSel> {
    use PrefixSel::*;
    use TypeFilterSel as T;
    let types = prop_oneof![
        6 => Just(None),
        3 => prop::collection::vec(prop::sample::select(vec![T::A, T::B, T::C, T::Unused]), 1..3)
            .prop_map(Some),
        1 => prop::collection::vec(prop::sample::select(vec![T::A, T::Empty]), 0..2).prop_map(Some),
    ];
    let prefix = prop_oneof![
        6 => Just(None),
        4 => prop::sample::select(vec![OrderDash, Order, CartDash, C, Nothing]).prop_map(Some),
        1 => prop::sample::select(vec![Empty, Control]).prop_map(Some),
    ];
    // Exact streams, `Order-1` beside a prefix that also matches `Order-10`; sometimes invalid.
    let streams = prop_oneof![
        8 => Just(None),
        3 => prop::collection::vec(prop::sample::select(VALID_STREAMS.to_vec()), 1..3).prop_map(Some),
        1 => prop::collection::vec(prop::sample::select(vec![StreamSel::Order1, StreamSel::Empty]), 0..2).prop_map(Some),
    ];
    (types, streams, prefix)
        .prop_map(|(types, streams, prefix)| FilterSel { types, streams, prefix })
        .boxed()
}

fn small_or_huge(small: u64) -> BoxedStrategy<u64> {
    prop_oneof![8 => 0..small, 1 => Just(u64::MAX)].boxed()
}

fn limit() -> BoxedStrategy<Option<u64>> {
    prop_oneof![
        4 => Just(None),
        4 => (0u64..5).prop_map(Some),
        1 => Just(Some(300)),
        1 => Just(Some(u64::MAX)),
    ]
    .boxed()
}

fn cp_sel() -> BoxedStrategy<CpSel> {
    prop_oneof![
        8 => prop::sample::select(CHECKPOINT_NAMES.to_vec()),
        1 => prop::sample::select(vec![CpSel::Empty, CpSel::Long257]),
    ]
    .boxed()
}

fn op() -> BoxedStrategy<Op> {
    // Weights out of about 350: a bulk append in about one case in twenty, a store close in
    // about one in ten.
    prop_oneof![
        120 => append_op().prop_map(Op::Append),
        40 => (any::<Index>(), replay_how()).prop_map(|(of, how)| Op::Replay { of, how }),
        16 => prop::collection::vec(append_op(), 2..4).prop_map(Op::Concurrent),
        1 => (stream_sel(), 257u16..300).prop_map(|(stream, count)| Op::Bulk { stream, count }),
        16 => stream_sel().prop_map(Op::StreamVersion),
        24 => (stream_sel(), prop::option::of(small_or_huge(8)), any::<bool>(), limit())
            .prop_map(|(stream, from, backward, limit)| Op::ReadStream { stream, from, backward, limit }),
        24 => (small_or_huge(8), any::<bool>(), limit(), filter_sel())
            .prop_map(|(after, backward, limit, filter)| Op::ReadAll { after, backward, limit, filter }),
        12 => cp_sel().prop_map(Op::GetCheckpoint),
        12 => (cp_sel(), 0u64..12).prop_map(|(c, p)| Op::SetCheckpoint(c, p)),
        12 => (
            stream_sel(),
            prop_oneof![
                4 => Just(SnapVersionSel::Current),
                1 => Just(SnapVersionSel::Zero),
                1 => (1u8..3).prop_map(SnapVersionSel::Below),
                2 => (1u8..3).prop_map(SnapVersionSel::Beyond),
            ],
            prop_oneof![6 => any::<u8>().prop_map(StateSel::N), 1 => Just(StateSel::NaN)],
        )
            .prop_map(|(stream, version, state)| Op::SaveSnapshot { stream, version, state }),
        8 => stream_sel().prop_map(Op::LoadSnapshot),
        20 => (
            0..SLOTS,
            prop_oneof![3 => (0u64..6).prop_map(Some), 1 => Just(None)],
            prop_oneof![
                2 => Just(SubCpSel::None),
                3 => Just(SubCpSel::Slot),
                1 => Just(SubCpSel::Invalid),
            ],
            filter_sel(),
        )
            .prop_map(|(slot, after, checkpoint, filter)| Op::Subscribe { slot, after, checkpoint, filter }),
        32 => (0..SLOTS, 1u8..5).prop_map(|(slot, k)| Op::Pull { slot, k }),
        8 => (0..SLOTS).prop_map(Op::CloseSub),
        2 => Just(Op::CloseStore),
    ]
    .boxed()
}

fn ops() -> BoxedStrategy<Vec<Op>> {
    prop::collection::vec(op(), 1..40).boxed()
}

// ---- operations, resolved into the API's own inputs ------------------------------------

#[derive(Clone, Debug)]
struct AppendCall {
    stream: String,
    events: Vec<EventInput>,
    expected: ExpectedVersion,
    /// The first id the store generates for this call; the k-th event without an id gets
    /// `gen_base + k`.
    gen_base: u128,
}

#[derive(Debug)]
enum Exec {
    /// One call, or several made at once.
    Append(Vec<AppendCall>),
    StreamVersion(String),
    ReadStream(String, ReadStreamOptions),
    ReadAll(ReadAllOptions),
    GetCheckpoint(String),
    SetCheckpoint(String, u64),
    SaveSnapshot(String, Snapshot),
    LoadSnapshot(String),
    Subscribe(usize, SubscribeOptions),
    Pull(usize, u8),
    CloseSub(usize),
    CloseStore,
    /// Why the operation is not run (shown in failure output).
    Skip(#[allow(dead_code)] &'static str),
}

fn gen_base(op: usize, call: usize) -> u128 {
    (0xffff_u128 << 112) | ((op as u128) << 32) | ((call as u128) << 16)
}

fn resolve(op: &Op, model: &Model, history: &mut Vec<AppendOp>, index: usize) -> Exec {
    let call = |a: &AppendOp, n: usize| {
        let stream = a.stream.name();
        let current = model.version(&stream);
        let expected = match a.expected {
            ExpSel::Any => ExpectedVersion::Any,
            ExpSel::NoStream => ExpectedVersion::NoStream,
            ExpSel::StreamExists => ExpectedVersion::StreamExists,
            ExpSel::Right => ExpectedVersion::Exact(current),
            ExpSel::Wrong(d) => {
                let off = current as i64 + d as i64;
                ExpectedVersion::Exact(if off >= 0 {
                    off as u64
                } else {
                    current + d.unsigned_abs() as u64
                })
            }
        };
        AppendCall {
            stream,
            events: a.events.iter().map(|e| e.input()).collect(),
            expected,
            gen_base: gen_base(index, n),
        }
    };
    match op {
        Op::Append(a) => {
            history.push(a.clone());
            Exec::Append(vec![call(a, 0)])
        }
        Op::Concurrent(all) => {
            history.extend(all.iter().cloned());
            Exec::Append(all.iter().enumerate().map(|(n, a)| call(a, n)).collect())
        }
        Op::Replay { of, how } => {
            if history.is_empty() {
                return Exec::Skip("no append to replay yet");
            }
            let mut a = of.get(history).clone();
            let n = a.events.len();
            match *how {
                ReplayHow::Same => {}
                ReplayHow::Expect(e) => a.expected = e,
                ReplayHow::Head => a.events.truncate(n.div_ceil(2)),
                ReplayHow::Tail => {
                    a.events.drain(..n / 2);
                }
                ReplayHow::Reversed => a.events.reverse(),
                ReplayHow::OtherStream(s) => a.stream = s,
                ReplayHow::OtherData => {
                    if let Some(e) = a.events.first_mut() {
                        e.data = DataSel::N(9);
                    }
                }
            }
            history.push(a.clone());
            Exec::Append(vec![call(&a, 0)])
        }
        Op::Bulk { stream, count } => {
            let events = (0..*count)
                .map(|i| EventInput::new("A", Value::object([("n", Value::from(i as i64))])))
                .collect();
            Exec::Append(vec![AppendCall {
                stream: stream.name(),
                events,
                expected: ExpectedVersion::Any,
                gen_base: gen_base(index, 0),
            }])
        }
        Op::StreamVersion(s) => Exec::StreamVersion(s.name()),
        Op::ReadStream {
            stream,
            from,
            backward,
            limit,
        } => Exec::ReadStream(
            stream.name(),
            ReadStreamOptions {
                from_version: *from,
                direction: direction(*backward),
                limit: *limit,
            },
        ),
        Op::ReadAll {
            after,
            backward,
            limit,
            filter,
        } => Exec::ReadAll(ReadAllOptions {
            after: *after,
            direction: direction(*backward),
            limit: *limit,
            filter: filter.filter(),
        }),
        Op::GetCheckpoint(c) => Exec::GetCheckpoint(c.name()),
        Op::SetCheckpoint(c, p) => {
            if let CpSel::Sub(slot) = c {
                if model.subs[*slot].is_some() && !model.closed {
                    // Its subscription saves there: who wins is a race the model does not play.
                    return Exec::Skip("the checkpoint of an open subscription");
                }
            }
            Exec::SetCheckpoint(c.name(), *p)
        }
        Op::SaveSnapshot {
            stream,
            version,
            state,
        } => {
            let name = stream.name();
            let current = model.version(&name);
            let version = match *version {
                SnapVersionSel::Current => current,
                SnapVersionSel::Zero => 0,
                SnapVersionSel::Below(d) => current.saturating_sub(d as u64),
                SnapVersionSel::Beyond(d) => current + d as u64,
            };
            let state = match *state {
                StateSel::N(n) => Value::object([("total", Value::from(n as i64))]),
                StateSel::NaN => Value::object([("total", Value::from(f64::NAN))]),
            };
            Exec::SaveSnapshot(name, Snapshot { version, state })
        }
        Op::LoadSnapshot(s) => Exec::LoadSnapshot(s.name()),
        Op::Subscribe {
            slot,
            after,
            checkpoint,
            filter,
        } => Exec::Subscribe(
            *slot,
            SubscribeOptions {
                start: after.map_or(Start::End, Start::After),
                checkpoint: match checkpoint {
                    SubCpSel::None => None,
                    SubCpSel::Slot => Some(sub_checkpoint(*slot)),
                    SubCpSel::Invalid => Some(String::new()),
                },
                filter: filter.filter(),
            },
        ),
        // An empty slot pulls from the other one, if that is open.
        Op::Pull { slot, k } => match (0..SLOTS)
            .map(|i| (slot + i) % SLOTS)
            .find(|&i| model.subs[i].is_some())
        {
            Some(slot) => Exec::Pull(slot, *k),
            None => Exec::Skip("no subscription to pull from"),
        },
        Op::CloseSub(slot) => Exec::CloseSub(*slot),
        Op::CloseStore => Exec::CloseStore,
    }
}

fn direction(backward: bool) -> Direction {
    if backward {
        Direction::Backward
    } else {
        Direction::Forward
    }
}

// ---- outcomes ------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum Outcome {
    Appended(Vec<Result<AppendResult, Error>>),
    Version(Result<u64, Error>),
    Events(Result<Vec<RecordedEvent>, Error>),
    Checkpoint(Result<Option<u64>, Error>),
    Done(Result<(), Error>),
    Snapshot(Result<Option<Snapshot>, Error>),
    Subscribed {
        previous: Option<Closed>,
        /// The subscription's position once made.
        result: Result<u64, Error>,
    },
    Pulled {
        delivered: Vec<Result<Option<RecordedEvent>, Error>>,
        /// A `next()` is still waiting for an event.
        waiting: bool,
        position: u64,
    },
    Closed(Option<Closed>),
    Skipped,
}

/// What closing a subscription gave, and what its waiting `next()` (if any) ended with.
#[derive(Debug, PartialEq)]
struct Closed {
    result: Result<(), Error>,
    pending: Option<Result<Option<RecordedEvent>, Error>>,
}

fn invalid(field: impl Into<String>) -> Error {
    Error::InvalidArgument {
        field: field.into(),
        reason: String::new(),
    }
}

/// The store's error with an `InvalidArgument`'s reason (free text) checked and dropped.
fn norm<T>(result: Result<T, Error>) -> Result<T, Error> {
    result.map_err(|e| match e {
        Error::InvalidArgument { field, reason } => {
            assert!(
                !reason.is_empty(),
                "InvalidArgument on {field} gives no reason"
            );
            invalid(field)
        }
        e => e,
    })
}

// ---- the reference model -------------------------------------------------------------------

/// A checkpoint's value. While a subscription that saves to it is open, the store may or may
/// not have saved each event the consumer finished with yet: any of `maybe` may be there.
#[derive(Clone, Debug, Default)]
struct Saved {
    value: Option<u64>,
    maybe: Vec<u64>,
}

#[derive(Clone, Debug)]
struct ModelSub {
    types: Option<Vec<String>>,
    streams: Option<Vec<String>>,
    prefix: Option<String>,
    checkpoint: Option<String>,
    /// The saved checkpoint was read (at the first `next()`).
    started: bool,
    position: u64,
    in_hand: Option<u64>,
    last_done: Option<u64>,
    waiting: bool,
}

impl ModelSub {
    fn wants(&self, e: &RecordedEvent) -> bool {
        self.types
            .as_ref()
            .map_or(true, |types| types.contains(&e.event_type))
            && self.streams.as_ref().map_or(true, |streams| streams.contains(&e.stream))
            && self
                .prefix
                .as_ref()
                .map_or(true, |p| e.stream.starts_with(p.as_str()))
    }
}

#[derive(Clone, Debug, Default)]
struct Model {
    /// The global order: `log[p - 1]` is the event at position `p`.
    log: Vec<RecordedEvent>,
    streams: BTreeMap<String, Vec<RecordedEvent>>,
    /// Event id to position.
    ids: BTreeMap<Uuid, u64>,
    checkpoints: BTreeMap<String, Saved>,
    snapshots: BTreeMap<String, Snapshot>,
    subs: [Option<ModelSub>; SLOTS],
    closed: bool,
}

/// Stream names, event types, checkpoint names, filters: 1..=256 characters, none a
/// control character.
fn check_name(field: &str, name: &str) -> Result<(), Error> {
    if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        Err(invalid(field))
    } else {
        Ok(())
    }
}

/// A UUID in its 8-4-4-4-12 hexadecimal form, either case.
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

fn finite(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_finite(),
        Value::Array(items) => items.iter().all(finite),
        Value::Object(pairs) => pairs.iter().all(|(_, v)| finite(v)),
        _ => true,
    }
}

impl Model {
    fn version(&self, stream: &str) -> u64 {
        self.streams.get(stream).map_or(0, |s| s.len() as u64)
    }

    fn head(&self) -> u64 {
        self.log.len() as u64
    }

    fn open(&self) -> Result<(), Error> {
        if self.closed {
            Err(Error::StoreClosed)
        } else {
            Ok(())
        }
    }

    fn check_filter(filter: &Filter) -> Result<(), Error> {
        for (field, names) in [("types", &filter.types), ("streams", &filter.streams)] {
            if let Some(names) = names {
                if names.is_empty() {
                    return Err(invalid(field));
                }
                for (i, name) in names.iter().enumerate() {
                    check_name(&format!("{field}[{i}]"), name)?;
                }
            }
        }
        if let Some(p) = &filter.stream_prefix {
            check_name("streamPrefix", p)?;
        }
        Ok(())
    }

    fn append(&mut self, call: &AppendCall, now: f64) -> Result<AppendResult, Error> {
        self.open()?;
        check_name("stream", &call.stream)?;
        if call.events.is_empty() {
            return Err(invalid("events"));
        }
        // (id, type, data, metadata) of each event, checked in reading order.
        let mut proposed: Vec<(Uuid, String, Value, Value)> = Vec::new();
        let mut generated = 0;
        for (i, e) in call.events.iter().enumerate() {
            check_name(&format!("events[{i}].type"), &e.event_type)?;
            if !finite(&e.data) {
                return Err(invalid(format!("events[{i}].data")));
            }
            let metadata = match &e.metadata {
                None => Value::Object(Vec::new()),
                Some(m @ Value::Object(_)) if finite(m) => m.clone(),
                Some(_) => return Err(invalid(format!("events[{i}].metadata"))),
            };
            let id = match &e.id {
                None => {
                    generated += 1;
                    Uuid::from_u128(call.gen_base + generated - 1)
                }
                Some(text) => parse_id(text).ok_or_else(|| invalid(format!("events[{i}].id")))?,
            };
            if proposed.iter().any(|p| p.0 == id) {
                return Err(Error::DuplicateEventId { id: id.to_string() });
            }
            let size = e.event_type.len() + json_text(&e.data).len() + json_text(&metadata).len();
            if size > MAX_EVENT_BYTES {
                return Err(invalid(format!("events[{i}]")));
            }
            proposed.push((id, e.event_type.clone(), e.data.clone(), metadata));
        }
        // Idempotency first: every event already stands in this stream, contiguously, in
        // order, as proposed.
        let known: Vec<Option<&RecordedEvent>> = proposed
            .iter()
            .map(|p| self.ids.get(&p.0).map(|&pos| &self.log[pos as usize - 1]))
            .collect();
        if let Some(first_known) = known.iter().position(Option::is_some) {
            let retry = known.iter().all(Option::is_some) && {
                let first_version = known[0].unwrap().version;
                known.iter().zip(&proposed).enumerate().all(|(i, (k, p))| {
                    let k = k.unwrap();
                    k.stream == call.stream
                        && k.version == first_version + i as u64
                        && k.event_type == p.1
                        && k.data == p.2
                        && k.metadata == p.3
                })
            };
            if !retry {
                return Err(Error::DuplicateEventId {
                    id: proposed[first_known].0.to_string(),
                });
            }
            let last = known.last().unwrap().unwrap();
            return Ok(AppendResult {
                next_expected_version: last.version,
                position: last.position,
            });
        }
        let actual = self.version(&call.stream);
        let ok = match call.expected {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::StreamExists => actual > 0,
            ExpectedVersion::Exact(n) => n == actual,
        };
        if !ok {
            return Err(Error::WrongExpectedVersion {
                stream: call.stream.clone(),
                expected: call.expected,
                actual,
            });
        }
        for (i, (id, event_type, data, metadata)) in proposed.into_iter().enumerate() {
            let event = RecordedEvent {
                id,
                stream: call.stream.clone(),
                event_type,
                version: actual + 1 + i as u64,
                position: self.head() + 1,
                data,
                metadata,
                recorded_at: now,
                server_position: None,
            };
            self.ids.insert(id, event.position);
            self.streams
                .entry(call.stream.clone())
                .or_default()
                .push(event.clone());
            self.log.push(event);
        }
        Ok(AppendResult {
            next_expected_version: self.version(&call.stream),
            position: self.head(),
        })
    }

    fn read_stream(
        &self,
        stream: &str,
        o: &ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>, Error> {
        self.open()?;
        check_name("stream", stream)?;
        let events = self.streams.get(stream).map_or(&[][..], Vec::as_slice);
        let limit = o
            .limit
            .map_or(usize::MAX, |l| l.min(usize::MAX as u64) as usize);
        Ok(match o.direction {
            Direction::Forward => {
                let from = o.from_version.unwrap_or(1).max(1);
                events
                    .iter()
                    .filter(|e| e.version >= from)
                    .take(limit)
                    .cloned()
                    .collect()
            }
            Direction::Backward => {
                let from = o.from_version.unwrap_or(u64::MAX);
                events
                    .iter()
                    .rev()
                    .filter(|e| e.version <= from)
                    .take(limit)
                    .cloned()
                    .collect()
            }
        })
    }

    fn read_all(&self, o: &ReadAllOptions) -> Result<Vec<RecordedEvent>, Error> {
        self.open()?;
        Self::check_filter(&o.filter)?;
        let sub = ModelSub {
            types: o.filter.types.clone(),
            streams: o.filter.streams.clone(),
            prefix: o.filter.stream_prefix.clone(),
            checkpoint: None,
            started: true,
            position: 0,
            in_hand: None,
            last_done: None,
            waiting: false,
        };
        let matching = self
            .log
            .iter()
            .filter(|e| e.position > o.after && sub.wants(e));
        let limit = o
            .limit
            .map_or(usize::MAX, |l| l.min(usize::MAX as u64) as usize);
        Ok(match o.direction {
            Direction::Forward => matching.take(limit).cloned().collect(),
            Direction::Backward => {
                let mut all: Vec<_> = matching.cloned().collect();
                all.reverse();
                all.truncate(limit);
                all
            }
        })
    }

    /// Whether the store may show `observed` for checkpoint `name`; if so, the model narrows
    /// to it.
    fn observe_checkpoint(&mut self, name: &str, observed: Option<u64>) -> bool {
        let saved = self.checkpoints.entry(name.into()).or_default();
        if observed == saved.value {
            return true;
        }
        match observed.and_then(|o| saved.maybe.iter().position(|&m| m == o)) {
            Some(i) => {
                saved.value = observed;
                saved.maybe.drain(..=i);
                true
            }
            None => false,
        }
    }

    fn close_sub(&mut self, slot: usize) -> Option<Closed> {
        let sub = self.subs[slot].take()?;
        if !self.closed {
            if let Some(name) = &sub.checkpoint {
                let saved = self.checkpoints.entry(name.clone()).or_default();
                if let Some(done) = sub.last_done {
                    saved.value = Some(done);
                }
                saved.maybe.clear();
            }
        }
        Some(Closed {
            result: Ok(()),
            pending: sub.waiting.then_some(Ok(None)),
        })
    }

    fn subscribe(&mut self, slot: usize, o: &SubscribeOptions) -> Result<u64, Error> {
        self.open()?;
        Self::check_filter(&o.filter)?;
        if let Some(name) = &o.checkpoint {
            check_name("checkpoint", name)?;
        }
        let position = match o.start {
            Start::After(p) => p,
            Start::End => self.head(),
        };
        self.subs[slot] = Some(ModelSub {
            types: o.filter.types.clone(),
            streams: o.filter.streams.clone(),
            prefix: o.filter.stream_prefix.clone(),
            checkpoint: o.checkpoint.clone(),
            started: o.checkpoint.is_none(),
            position,
            in_hand: None,
            last_done: None,
            waiting: false,
        });
        Ok(position)
    }

    fn pull(&mut self, slot: usize, k: u8) -> Outcome {
        let closed = self.closed;
        let Some(sub) = self.subs[slot].as_mut() else {
            return Outcome::Skipped;
        };
        let mut delivered = Vec::new();
        for _ in 0..k {
            if !sub.waiting {
                // A new next(): the event in hand is done; it may be saved from now on.
                if let Some(done) = sub.in_hand.take() {
                    sub.last_done = Some(done);
                    if let (Some(name), false) = (&sub.checkpoint, closed) {
                        self.checkpoints
                            .entry(name.clone())
                            .or_default()
                            .maybe
                            .push(done);
                    }
                }
                sub.waiting = true;
            }
            if closed {
                sub.waiting = false;
                delivered.push(Ok(None));
                break;
            }
            if !sub.started {
                let name = sub
                    .checkpoint
                    .as_ref()
                    .expect("only checkpointed subscriptions start late");
                let saved = self.checkpoints.get(name).cloned().unwrap_or_default();
                assert!(
                    saved.maybe.is_empty(),
                    "the model cannot tell what {name} holds"
                );
                if let Some(p) = saved.value {
                    sub.position = p;
                }
                sub.started = true;
            }
            match self
                .log
                .iter()
                .find(|e| e.position > sub.position && sub.wants(e))
            {
                Some(e) => {
                    sub.position = e.position;
                    sub.in_hand = Some(e.position);
                    sub.waiting = false;
                    delivered.push(Ok(Some(e.clone())));
                }
                None => break,
            }
        }
        Outcome::Pulled {
            delivered,
            waiting: sub.waiting,
            position: sub.position,
        }
    }

    fn exec(&mut self, exec: &Exec, now: f64) -> Outcome {
        match exec {
            Exec::Append(calls) => {
                Outcome::Appended(calls.iter().map(|c| self.append(c, now)).collect())
            }
            Exec::StreamVersion(s) => Outcome::Version(
                self.open()
                    .and_then(|()| check_name("stream", s))
                    .map(|()| self.version(s)),
            ),
            Exec::ReadStream(s, o) => Outcome::Events(self.read_stream(s, o)),
            Exec::ReadAll(o) => Outcome::Events(self.read_all(o)),
            Exec::GetCheckpoint(name) => Outcome::Checkpoint(
                self.open()
                    .and_then(|()| check_name("name", name))
                    .map(|()| self.checkpoints.get(name).and_then(|s| s.value)),
            ),
            Exec::SetCheckpoint(name, p) => Outcome::Done(
                self.open()
                    .and_then(|()| check_name("name", name))
                    .map(|()| {
                        self.checkpoints.insert(
                            name.clone(),
                            Saved {
                                value: Some(*p),
                                maybe: Vec::new(),
                            },
                        );
                    }),
            ),
            Exec::SaveSnapshot(stream, snapshot) => Outcome::Done((|| {
                self.open()?;
                check_name("stream", stream)?;
                if !finite(&snapshot.state) {
                    return Err(invalid("snapshot.state"));
                }
                if snapshot.version > self.version(stream) {
                    return Err(invalid("snapshot.version"));
                }
                self.snapshots.insert(stream.clone(), snapshot.clone());
                Ok(())
            })()),
            Exec::LoadSnapshot(stream) => Outcome::Snapshot(
                self.open()
                    .and_then(|()| check_name("stream", stream))
                    .map(|()| self.snapshots.get(stream).cloned()),
            ),
            Exec::Subscribe(slot, o) => {
                let previous = self.close_sub(*slot);
                Outcome::Subscribed {
                    previous,
                    result: self.subscribe(*slot, o),
                }
            }
            Exec::Pull(slot, k) => self.pull(*slot, *k),
            Exec::CloseSub(slot) => Outcome::Closed(self.close_sub(*slot)),
            Exec::CloseStore => {
                self.closed = true;
                Outcome::Done(Ok(()))
            }
            Exec::Skip(_) => Outcome::Skipped,
        }
    }
}

// ---- the real store ------------------------------------------------------------------------

thread_local! {
    static NEXT_ID: Cell<u128> = const { Cell::new(0) };
    static NOW: Cell<f64> = const { Cell::new(0.0) };
}

fn next_id() -> Uuid {
    NEXT_ID.with(|next| {
        let id = next.get();
        next.set(id + 1);
        Uuid::from_u128(id)
    })
}

fn now() -> f64 {
    NOW.with(Cell::get)
}

fn config() -> StoreConfig {
    StoreConfig {
        max_event_bytes: MAX_EVENT_BYTES,
        new_id: next_id,
        now,
    }
}

/// Runs an operation that must complete on its own.
fn settle<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match poll_until_stuck(future.as_mut()) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("an operation waits for something that never comes"),
    }
}

type NextFuture = Pin<Box<dyn Future<Output = Result<Option<RecordedEvent>, Error>>>>;

struct StoreSub<B: Backend<Payload = Value>> {
    sub: Subscription<B>,
    /// A `next()` that waits for an event.
    pending: Option<NextFuture>,
}

struct Harness<B: Backend<Payload = Value> + 'static> {
    store: Rc<Store<B>>,
    subs: [Option<StoreSub<B>>; SLOTS],
}

impl<B: Backend<Payload = Value> + 'static> Harness<B> {
    fn read<R>(
        &self,
        reader: Result<R, Error>,
        mut page: impl FnMut(&mut R) -> Result<Vec<RecordedEvent>, Error>,
    ) -> Result<Vec<RecordedEvent>, Error> {
        let mut reader = reader?;
        let mut all = Vec::new();
        loop {
            let events = page(&mut reader)?;
            if events.is_empty() {
                return Ok(all);
            }
            assert!(
                events.len() <= PAGE_SIZE,
                "a page holds at most PAGE_SIZE events"
            );
            all.extend(events);
        }
    }

    fn close_sub(&mut self, slot: usize) -> Option<Closed> {
        let StoreSub { sub, pending } = self.subs[slot].take()?;
        let result = norm(settle(sub.close()));
        let pending = pending.map(|mut next| match poll_until_stuck(next.as_mut()) {
            Poll::Ready(r) => norm(r),
            Poll::Pending => panic!("a next() still waits after its subscription closed"),
        });
        Some(Closed { result, pending })
    }

    fn exec(&mut self, exec: &Exec) -> Outcome {
        let store = &self.store;
        match exec {
            Exec::Append(calls) => {
                let appends = calls.iter().cloned().map(|c| {
                    let store = store.clone();
                    async move {
                        // Runs at the first poll, right before the store takes its ids.
                        NEXT_ID.with(|next| next.set(c.gen_base));
                        store.append(&c.stream, c.events, c.expected).await
                    }
                });
                let results = settle(futures::future::join_all(appends));
                Outcome::Appended(results.into_iter().map(norm).collect())
            }
            Exec::StreamVersion(s) => Outcome::Version(norm(settle(store.stream_version(s)))),
            Exec::ReadStream(s, o) => Outcome::Events(norm(
                self.read(StreamReader::new(store.clone(), s, o.clone()), |r| {
                    settle(r.next_page())
                }),
            )),
            Exec::ReadAll(o) => Outcome::Events(norm(
                self.read(AllReader::new(store.clone(), o.clone()), |r| {
                    settle(r.next_page())
                }),
            )),
            Exec::GetCheckpoint(name) => Outcome::Checkpoint(norm(settle(store.checkpoint(name)))),
            Exec::SetCheckpoint(name, p) => {
                Outcome::Done(norm(settle(store.set_checkpoint(name, *p))))
            }
            Exec::SaveSnapshot(s, snapshot) => {
                Outcome::Done(norm(settle(store.save_snapshot(s, snapshot.clone()))))
            }
            Exec::LoadSnapshot(s) => Outcome::Snapshot(norm(settle(store.load_snapshot(s)))),
            Exec::Subscribe(slot, o) => {
                let previous = self.close_sub(*slot);
                let result = norm(Subscription::new(self.store.clone(), o.clone())).map(|sub| {
                    let position = sub.position();
                    self.subs[*slot] = Some(StoreSub { sub, pending: None });
                    position
                });
                Outcome::Subscribed { previous, result }
            }
            Exec::Pull(slot, k) => {
                let Some(s) = self.subs[*slot].as_mut() else {
                    return Outcome::Skipped;
                };
                let mut delivered = Vec::new();
                for _ in 0..*k {
                    let mut next = s.pending.take().unwrap_or_else(|| {
                        let sub = s.sub.clone();
                        Box::pin(async move { sub.next().await })
                    });
                    match poll_until_stuck(next.as_mut()) {
                        Poll::Ready(r) => {
                            let more = matches!(r, Ok(Some(_)));
                            delivered.push(norm(r));
                            if !more {
                                break;
                            }
                        }
                        Poll::Pending => {
                            s.pending = Some(next);
                            break;
                        }
                    }
                }
                Outcome::Pulled {
                    delivered,
                    waiting: s.pending.is_some(),
                    position: s.sub.position(),
                }
            }
            Exec::CloseSub(slot) => Outcome::Closed(self.close_sub(*slot)),
            Exec::CloseStore => {
                store.close();
                Outcome::Done(Ok(()))
            }
            Exec::Skip(_) => Outcome::Skipped,
        }
    }

    /// Everything stored, read straight from the backend, against the model.
    fn compare_state(&self, model: &mut Model) -> Result<(), String> {
        let backend = self.store.backend();
        let head = settle(backend.head()).map_err(|e| format!("head: {e}"))?;
        if head != model.head() {
            return Err(format!("head is {head}, the model's {}", model.head()));
        }
        if self.store.known_head() != model.head() {
            return Err(format!(
                "known_head is {}, the model's head {}",
                self.store.known_head(),
                model.head()
            ));
        }
        let page = settle(backend.read_all(
            PositionRange::after(0),
            Direction::Forward,
            usize::MAX,
            &Filter::default(),
        ))
        .map_err(|e| format!("read_all: {e}"))?;
        if page.events != model.log {
            let at = page
                .events
                .iter()
                .zip(&model.log)
                .position(|(a, b)| a != b)
                .unwrap_or(page.events.len().min(model.log.len()));
            return Err(format!(
                "the stored events differ from position {}: store {:?}, model {:?}",
                at + 1,
                page.events.get(at),
                model.log.get(at)
            ));
        }
        for s in VALID_STREAMS {
            let name = s.name();
            let version = settle(backend.stream_version(&name)).map_err(|e| format!("{e}"))?;
            if version != model.version(&name) {
                return Err(format!(
                    "{s:?} is at version {version}, the model's {}",
                    model.version(&name)
                ));
            }
            let snapshot = settle(backend.snapshot(&name)).map_err(|e| format!("{e}"))?;
            if snapshot.as_ref() != model.snapshots.get(&name) {
                return Err(format!(
                    "snapshot of {s:?}: store {snapshot:?}, model {:?}",
                    model.snapshots.get(&name)
                ));
            }
        }
        for c in CHECKPOINT_NAMES {
            let name = c.name();
            let value = settle(backend.checkpoint(&name)).map_err(|e| format!("{e}"))?;
            if !model.observe_checkpoint(&name, value) {
                return Err(format!(
                    "checkpoint {name} holds {value:?}, the model {:?}",
                    model.checkpoints.get(&name)
                ));
            }
        }
        Ok(())
    }
}

/// Runs `ops` on a fresh store over `backend` and on a fresh model; `Err` describes the
/// first divergence.
fn check_case<B: Backend<Payload = Value> + 'static>(backend: B, ops: &[Op]) -> Result<(), String> {
    NOW.with(|now| now.set(0.0));
    let store = settle(Store::open(backend, config())).map_err(|e| format!("open: {e}"))?;
    let mut harness = Harness {
        store,
        subs: [None, None],
    };
    let mut model = Model::default();
    let mut history = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let now = (i + 1) as f64 * 1000.0;
        NOW.with(|cell| cell.set(now));
        let exec = resolve(op, &model, &mut history, i);
        let got = harness.exec(&exec);
        if let (Exec::GetCheckpoint(name), Outcome::Checkpoint(Ok(value))) = (&exec, &got) {
            model.observe_checkpoint(name, *value);
        }
        let want = model.exec(&exec, now);
        if got != want {
            return Err(format!(
                "op #{i} {op:?}\n  run as {exec:?}\n  store: {got:?}\n  model: {want:?}"
            ));
        }
        harness
            .compare_state(&mut model)
            .map_err(|e| format!("after op #{i} {op:?}\n  run as {exec:?}:\n  {e}"))?;
    }
    Ok(())
}

// ---- runs and figures ----------------------------------------------------------------------

#[derive(Default)]
struct Totals {
    cases: u64,
    operations: u64,
    divergences: u64,
}

static TOTALS: Mutex<Totals> = Mutex::new(Totals {
    cases: 0,
    operations: 0,
    divergences: 0,
});

/// Adds a run's figures to the totals of this process and writes them to
/// `target/reliability/model.json`.
fn record(cases: u64, operations: u64, divergences: u64) {
    let mut totals = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    totals.cases += cases;
    totals.operations += operations;
    totals.divergences += divergences;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/reliability");
    std::fs::create_dir_all(dir).expect("create target/reliability");
    std::fs::write(
        format!("{dir}/model.json"),
        format!(
            "{{\"cases\":{},\"operations\":{},\"divergences\":{}}}\n",
            totals.cases, totals.operations, totals.divergences
        ),
    )
    .expect("write model.json");
}

fn run<B: Backend<Payload = Value> + 'static>(label: &str, backend: fn() -> B) {
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let (cases, operations) = (Cell::new(0u64), Cell::new(0u64));
    let result = runner.run(&ops(), |ops| {
        cases.set(cases.get() + 1);
        operations.set(operations.get() + ops.len() as u64);
        check_case(backend(), &ops).map_err(TestCaseError::fail)
    });
    record(cases.get(), operations.get(), result.is_err() as u64);
    if let Err(e) = result {
        panic!("{label}: the store and the model diverge: {e}");
    }
}

#[test]
fn store_on_memory_matches_the_model() {
    run("memory", MemoryBackend::new);
}

#[test]
fn store_on_yielding_memory_matches_the_model() {
    run("yielding", || {
        conformance::Instrumented::yielding(MemoryBackend::new())
    });
}

/// Minimized from a model run that found it: "close(): ends
/// subscriptions". A subscription that already delivered ends with `None`; one with a
/// checkpoint that has not been asked for an event yet must end the same way.
#[test]
fn a_checkpointed_subscription_not_yet_started_ends_when_the_store_closes() {
    let store = settle(Store::open(MemoryBackend::new(), StoreConfig::default())).unwrap();
    let options = |checkpoint: Option<&str>| SubscribeOptions {
        checkpoint: checkpoint.map(String::from),
        ..SubscribeOptions::default()
    };
    let plain = Subscription::new(store.clone(), options(None)).unwrap();
    let checkpointed = Subscription::new(store.clone(), options(Some("projection"))).unwrap();
    store.close();
    assert_eq!(settle(plain.next()), Ok(None));
    assert_eq!(settle(checkpointed.next()), Ok(None));
}
