// Seeded generator and runner of invalid calls against the public JS API (issue 5, item 6).
// Shared by pkg-js/test/invalid-calls.test.mjs (Node, memory store) and
// tests/e2e/invalid-calls-idb.test.mjs (Chromium, IndexedDB). Dependency-free on purpose: the
// caller passes the package's exports in, so the same file runs in Node and on a page.
//
// Every generated case is a valid call with exactly ONE defect, so the contract names the
// outcome: the error class (`name`) and, for InvalidArgumentError, the field. Each call must
// reject (or throw, for subscribe) with that typed error, write nothing, never panic, never
// hang and never throw out of band (an exception escaping the wasm module surfaces as an
// uncaught exception and the call never settles). Between the invalid calls, valid appends
// (some issued in the same tick as an invalid call) keep the store non-empty, and a few
// valid-but-exotic calls (`__proto__` keys, Object.create(null), exactly maxEventBytes,
// nesting of exactly 128 …) check that what the contract allows is stored as plain data.

import { mulberry32 } from './shared.mjs';

/** A seeded generator: floats, integers below n, and picks. */
export function makeRng(seed) {
  const float = mulberry32(seed);
  const int = (n) => Math.floor(float() * n);
  return {
    float,
    int,
    chance: (p) => float() < p,
    pick: (list) => list[int(list.length)],
    /** Picks from [[weight, value], …]. */
    weighted(list) {
      const total = list.reduce((s, [w]) => s + w, 0);
      let x = float() * total;
      for (const [w, v] of list) if ((x -= w) < 0) return v;
      return list[list.length - 1][1];
    },
    uuid() {
      const hex = () => int(16).toString(16);
      const h = (n) => Array.from({ length: n }, hex).join('');
      return `${h(8)}-${h(4)}-4${h(3)}-${'89ab'[int(4)]}${h(3)}-${h(12)}`;
    },
  };
}

/** The error names each call kind may reject with (docs/api.md "Errors"). */
export const ACCEPTED = {
  openStore: ['InvalidArgumentError', 'StorageError', 'QuotaExceededError'],
  append: ['WrongExpectedVersionError', 'DuplicateEventIdError', 'InvalidArgumentError', 'StorageError', 'QuotaExceededError', 'StoreClosedError'],
  streamVersion: ['InvalidArgumentError', 'StorageError', 'StoreClosedError'],
  readStream: ['InvalidArgumentError', 'StorageError', 'StoreClosedError'],
  readAll: ['InvalidArgumentError', 'StorageError', 'StoreClosedError'],
  subscribe: ['InvalidArgumentError', 'StorageError', 'StoreClosedError'],
  'checkpoints.get': ['InvalidArgumentError', 'StorageError', 'StoreClosedError'],
  'checkpoints.set': ['InvalidArgumentError', 'StorageError', 'QuotaExceededError', 'StoreClosedError'],
  'snapshots.save': ['InvalidArgumentError', 'StorageError', 'QuotaExceededError', 'StoreClosedError'],
  'snapshots.load': ['InvalidArgumentError', 'StorageError', 'StoreClosedError'],
  aggregateStream: ['InvalidArgumentError', 'StorageError', 'StoreClosedError'],
  import: ['InvalidArgumentError', 'WrongExpectedVersionError', 'DuplicateEventIdError', 'StorageError', 'QuotaExceededError', 'StoreClosedError'],
};

const GUARD = {
  WrongExpectedVersionError: 'isWrongExpectedVersionError',
  DuplicateEventIdError: 'isDuplicateEventIdError',
  InvalidArgumentError: 'isInvalidArgumentError',
  StorageError: 'isStorageError',
  QuotaExceededError: 'isQuotaExceededError',
  StoreClosedError: 'isStoreClosedError',
};
const CODE = {
  WrongExpectedVersionError: 'WrongExpectedVersion',
  DuplicateEventIdError: 'DuplicateEventId',
  InvalidArgumentError: 'InvalidArgument',
  StorageError: 'Storage',
  QuotaExceededError: 'QuotaExceeded',
  StoreClosedError: 'StoreClosed',
};

const utf8 = (s) => new TextEncoder().encode(s).length;
const thrower = (what) => () => {
  throw new Error(`getter ${what} throws`);
};

// ---- bad values ------------------------------------------------------------------------------

/** Non-string values; `undefined` only where the parameter is required. */
function nonString(rng, { required }) {
  const list = [
    ['number', () => 42], ['zero', () => 0], ['-0', () => -0], ['NaN', () => NaN], ['Infinity', () => Infinity],
    ['bigint', () => 7n], ['true', () => true], ['false', () => false], ['null', () => null],
    ['symbol', () => Symbol('S-1')], ['function', () => () => 'S-1'], ['empty object', () => ({})],
    ['array of a string', () => ['S-1']], ['String object', () => new String('S-1')], ['Date', () => new Date(0)],
    ['Map', () => new Map([['S', 1]])], ['object with toString', () => ({ toString: () => 'S-1' })],
    ['Uint8Array', () => new Uint8Array([83])], ['Proxy of a string-like object', () => new Proxy({}, {})],
  ];
  if (required) list.push(['undefined', () => undefined]);
  const [label, make] = rng.pick(list);
  return { label: `non-string (${label})`, value: make() };
}

const CONTROLS = ['\u0000', '\u0001', '\t', '\n', '\r', '\u001b', '\u001f', '\u007f', '\u0085', '\u009f'];
const SURROGATES = ['\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uDC00\uD800'];

/** An invalid name (stream, type, checkpoint, prefix, store name): 1..256 chars, no controls. */
export function badName(rng, { required = true, huge = true } = {}) {
  const base = `Name-${rng.int(1000)}`;
  const at = (s, x) => {
    const k = rng.int(s.length + 1);
    return s.slice(0, k) + x + s.slice(k);
  };
  const kind = rng.weighted([
    [3, 'empty'], [3, 'long'], [1, 'long astral'], [huge ? 0.3 : 0, 'huge'],
    [4, 'control'], [4, 'surrogate'], [8, 'non-string'],
  ]);
  switch (kind) {
    case 'empty': return { label: 'empty string', value: '' };
    case 'long': { const n = 257 + rng.int(rng.chance(0.5) ? 3 : 5000); return { label: `${n} chars`, value: 'n'.repeat(n) }; }
    case 'long astral': return { label: '257 astral chars', value: '🎉'.repeat(257) };
    case 'huge': return { label: '1,000,000 chars', value: 'h'.repeat(1_000_000) };
    case 'control': { const c = rng.pick(CONTROLS); return { label: `control char U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`, value: at(base, c) }; }
    case 'surrogate': { const s = rng.pick(SURROGATES); return { label: 'lone surrogate', value: at(base, s) }; }
    default: return nonString(rng, { required });
  }
}

/** An invalid non-negative integer; `undefined` only where the parameter is required. */
export function badCount(rng, { required = false } = {}) {
  const list = [
    ['-1', () => -1], ['-2^53', () => -(2 ** 53)], ['-0.5', () => -0.5], ['0.5', () => 0.5], ['1.5', () => 1.5],
    ['2^53', () => 2 ** 53], ['2^64', () => 2 ** 64], ['1e300', () => 1e300], ['MAX_VALUE', () => Number.MAX_VALUE],
    ['MIN_VALUE', () => Number.MIN_VALUE], ['NaN', () => NaN], ['Infinity', () => Infinity], ['-Infinity', () => -Infinity],
    ["'1'", () => '1'], ["'0'", () => '0'], ["''", () => ''], ["'1e3'", () => '1e3'], ["'0x10'", () => '0x10'],
    ['null', () => null], ['true', () => true], ['false', () => false], ['1n', () => 1n], ['0n', () => 0n],
    ['symbol', () => Symbol('n')], ['{}', () => ({})], ['[1]', () => [1]], ['[]', () => []], ['Number object', () => new Number(1)],
    ['Date', () => new Date(0)], ['function', () => () => 1], ['valueOf object', () => ({ valueOf: () => 1 })],
  ];
  if (required) list.push(['undefined', () => undefined]);
  const [label, make] = rng.pick(list);
  return { label: `count ${label}`, value: make() };
}

/** Nested arrays (or objects) `depth` deep around `leaf`. */
function nest(depth, leaf, objects) {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = objects ? { a: v } : [v];
  return v;
}

/**
 * A value that is not JSON-compatible, alone or buried in a valid one. Alone, `undefined`
 * means "missing", which metadata may be: the caller excludes it with `allowUndefined`.
 */
export function badJson(rng, { allowUndefined = true } = {}) {
  const list = [
    ['undefined', () => undefined], ['function', () => () => 1], ['async function', () => async () => 1],
    ['class', () => class A {}], ['symbol', () => Symbol('x')], ['bigint', () => 10n], ['NaN', () => NaN],
    ['Infinity', () => Infinity], ['-Infinity', () => -Infinity], ['Date', () => new Date(0)],
    ['Map', () => new Map([[1, 2]])], ['Set', () => new Set([1])], ['WeakMap', () => new WeakMap()], ['RegExp', () => /re/g],
    ['Error', () => new Error('e')], ['Promise', () => Promise.resolve(1)], ['Uint8Array', () => new Uint8Array(4)],
    ['Float64Array', () => new Float64Array(2)], ['ArrayBuffer', () => new ArrayBuffer(8)],
    ['DataView', () => new DataView(new ArrayBuffer(4))], ['String object', () => new String('s')],
    ['Number object', () => new Number(1)], ['Boolean object', () => new Boolean(false)],
    ['class instance', () => new (class Point { constructor() { this.x = 1; } })()],
    ['object with a non-plain prototype', () => Object.create({ inherited: 1 })],
    ['WeakRef', () => new WeakRef({})],
    ['cyclic object', () => { const o = { a: 1 }; o.self = o; return o; }],
    ['cyclic array', () => { const a = [1]; a.push(a); return a; }],
    ['indirect cycle', () => { const a = { b: { c: [] } }; a.b.c.push(a); return a; }],
    ['129 nested arrays', () => nest(129, 1, false)], ['129 nested objects', () => nest(129, null, true)],
    ['10,000 nested arrays', () => nest(10_000, 0, false)],
    ['lone surrogate string', () => `x${rng.pick(SURROGATES)}y`],
    ['key with a lone surrogate', () => ({ [`k${rng.pick(SURROGATES)}`]: 1 })],
    ['nested NaN', () => ({ a: [1, NaN] })],
    ['array hole', () => [1, , 3]], // eslint-disable-line no-sparse-arrays
    ['own __proto__ key holding a function', () => { const o = {}; Object.defineProperty(o, '__proto__', { value: () => 1, enumerable: true }); return o; }],
    ['getter that throws', () => ({ ok: 1, get bad() { return thrower('bad')(); } })],
    ['Proxy whose ownKeys trap throws', () => new Proxy({}, { ownKeys: thrower('ownKeys') })],
    ['Proxy whose get trap throws', () => new Proxy({ a: 1 }, { get: thrower('get') })],
    ['Proxy whose getPrototypeOf trap throws', () => new Proxy({}, { getPrototypeOf: thrower('getPrototypeOf') })],
    ['array Proxy whose get trap throws', () => new Proxy([1, 2], { get: thrower('get') })],
    ['revoked Proxy', () => { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy; }],
  ];
  const usable = allowUndefined ? list : list.filter(([l]) => l !== 'undefined');
  const [label, make] = rng.pick(usable);
  const value = make();
  // Half of the time, buried in an otherwise valid value.
  if (rng.chance(0.5)) {
    const wrap = rng.weighted([
      [1, (v) => ({ ok: 'yes', deep: { list: [1, 'two', null, v] } })],
      [1, (v) => [v]],
      [1, (v) => ({ a: { b: { c: v } } })],
      [1, (v) => [{ x: 1 }, [true, v]]],
    ]);
    return { label: `${label} (nested)`, value: wrap(value) };
  }
  return { label, value };
}

/** An object whose property `key` is a getter that throws. */
function withThrowingGetter(object, key) {
  const o = { ...object };
  delete o[key];
  Object.defineProperty(o, key, { get: thrower(key), enumerable: true, configurable: true });
  return o;
}

/** A revoked Proxy (any operation on it throws a TypeError). */
function revoked() {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/**
 * Option-object level defects: a throwing getter on `key` (the error names `key`), or a Proxy
 * whose get trap throws / a revoked Proxy (the error names the options or one of them:
 * `field: null` lets the caller list which).
 */
function optionsTrap(rng, valid, key) {
  return rng.weighted([
    [3, { label: `getter on ${key} throws`, value: withThrowingGetter(valid, key), field: key }],
    [1, { label: 'Proxy whose get trap throws', value: new Proxy(valid, { get: thrower('get') }), field: null }],
    [1, { label: 'revoked Proxy', value: revoked(), field: null }],
  ]);
}

const nonObjectOptions = (rng) => rng.pick([
  ['a string', 'any'], ['a number', 5], ['true', true], ['an array', []], ['a function', () => ({})],
  ['a symbol', Symbol('o')], ['a bigint', 1n],
]);

// ---- field matchers -----------------------------------------------------------------------------

const esc = (s) => s.replace(/[[\].]/g, '\\$&');
/** `events[0].data` or a path inside it: `events[0].data.a[1]`. */
const under = (field) => new RegExp(`^${esc(field)}($|[.[])`);

function fieldMatches(spec, field) {
  if (spec === undefined) return true;
  if (typeof spec === 'string') return field === spec;
  if (spec instanceof RegExp) return typeof field === 'string' && spec.test(field);
  if (Array.isArray(spec)) return spec.some((s) => fieldMatches(s, field));
  return false;
}
const fieldLabel = (spec) => (Array.isArray(spec) ? spec.map(fieldLabel).join(' | ') : String(spec));

// ---- the model ------------------------------------------------------------------------------

/** What the store must hold: every event in position order, checkpoints, snapshots. */
class Model {
  events = [];
  versions = new Map();
  checkpoints = new Map();
  snapshots = new Map();
  byId = new Map();

  version(stream) {
    return this.versions.get(stream) ?? 0;
  }

  /** Records an append of `events` (as stored: `{ type, data, metadata, id? }` JSON texts). */
  append(stream, events, ids) {
    const result = [];
    events.forEach((e, k) => {
      const version = this.version(stream) + 1;
      this.versions.set(stream, version);
      const recorded = { stream, version, position: this.events.length + 1, type: e.type, data: e.data, metadata: e.metadata, id: ids[k] };
      this.events.push(recorded);
      result.push(recorded);
    });
    return { nextExpectedVersion: this.version(stream), position: this.events.length };
  }
}

/** JSON text of `value` as the store keeps it (`undefined` metadata: `{}`). */
const stored = (value) => JSON.stringify(value);

// ---- the generator ------------------------------------------------------------------------------

const TYPES = ['Placed', 'Paid', 'Shipped'];
const validEvent = (rng, extra = {}) => ({ type: rng.pick(TYPES), data: { n: rng.int(1000), s: 'ok' }, ...extra });

/**
 * Generates one invalid call. `ctx` knows the model, the stores and the environment. Returns
 * `{ kind, variant, api, mode, invoke(ctx), expect: { name, field?, fields? }, streams }`.
 * `mode`: 'promise' (rejects), 'sync' (throws, subscribe), 'iterate' (the first next() rejects).
 * `streams`: names whose version must stay as the model says (checked after the call).
 */
function generate(rng, ctx) {
  const { model } = ctx;
  const existing = () => rng.pick([...model.versions.keys()].filter((s) => s.startsWith('S-')));
  const fresh = () => `N-${rng.int(1_000_000)}`;
  const anyStream = () => (rng.chance(0.6) ? existing() : fresh());
  const invalid = (field) => ({ name: 'InvalidArgumentError', field });

  const kinds = [
    [6, 'append.stream'], [10, 'append.events'], [6, 'append.type'], [14, 'append.data'], [8, 'append.metadata'],
    [6, 'append.id'], [6, 'append.size'], [6, 'append.expectedVersion'], [5, 'append.wrongVersion'],
    [4, 'append.duplicateId'], [4, 'append.options'], [3, 'streamVersion'], [6, 'readStream'], [7, 'readAll'],
    [7, 'subscribe'], [3, 'checkpoints.get'], [5, 'checkpoints.set'], [8, 'snapshots.save'], [3, 'snapshots.load'],
    [5, 'openStore'], [5, 'closed'], [4, 'aggregateStream'], [4, 'import'],
  ];
  const kind = rng.weighted(kinds.map(([w, k]) => [w, k]));
  const c = (variant, api, mode, invoke, expect, streams = []) => ({ kind, variant, api, mode, invoke, expect, streams });
  const append = (variant, stream, events, options, expect) =>
    c(variant, 'append', 'promise', ({ store }) => (options === NO_OPTIONS ? store.append(stream, events) : store.append(stream, events, options)), expect, typeof stream === 'string' ? [stream] : []);

  switch (kind) {
    case 'append.stream': {
      const bad = badName(rng);
      return append(`stream: ${bad.label}`, bad.value, validEvent(rng), NO_OPTIONS, invalid('stream'));
    }
    case 'append.events': {
      const stream = anyStream();
      const v = rng.weighted([
        [2, () => ({ label: 'empty list', events: [], field: 'events' })],
        [3, () => { const x = nonString(rng, { required: true }); return { label: `events ${x.label}`, events: x.value, field: [/^events\[0\]/] }; }],
        [2, () => { const n = 1 + rng.int(4); const i = rng.int(n + 1); const list = Array.from({ length: n }, () => validEvent(rng)); const [l, bad] = rng.pick([['null', null], ['a string', 'e'], ['a number', 3], ['an array', [validEvent(rng)]], ['a function', () => 1], ['undefined', undefined], ['a symbol', Symbol('e')]]); list.splice(i, 0, bad); return { label: `element ${i} is ${l}`, events: list, field: `events[${i}]` }; }],
        [1, () => ({ label: 'sparse array', events: [validEvent(rng), , validEvent(rng)], field: 'events[1]' })], // eslint-disable-line no-sparse-arrays
        [1, () => ({ label: 'a Set of events', events: new Set([validEvent(rng)]), field: 'events[0].type' })],
        [1, () => ({ label: 'an array-like object', events: { length: 1, 0: validEvent(rng) }, field: 'events[0].type' })],
        [1, () => ({ label: 'a Map', events: new Map([[0, validEvent(rng)]]), field: 'events[0].type' })],
        [1, () => ({ label: 'a revoked Proxy', events: revoked(), field: [/^events/] })],
        [1, () => ({ label: 'a Proxy of an array whose get trap throws', events: new Proxy([validEvent(rng)], { get: thrower('get') }), field: [/^events/] })],
        [1, () => ({ label: 'an event Proxy whose get trap throws', events: new Proxy(validEvent(rng), { get: thrower('get') }), field: [/^events\[0\]/] })],
      ])();
      return append(`events: ${v.label}`, stream, v.events, NO_OPTIONS, invalid(v.field));
    }
    case 'append.type': {
      const stream = anyStream();
      const n = 1 + rng.int(3);
      const i = rng.int(n);
      const events = Array.from({ length: n }, () => validEvent(rng));
      let label;
      if (rng.chance(0.15)) {
        events[i] = withThrowingGetter(events[i], 'type');
        label = 'getter on type throws';
      } else if (rng.chance(0.1)) {
        delete events[i].type;
        label = 'type missing';
      } else {
        const bad = badName(rng);
        events[i].type = bad.value;
        label = bad.label;
      }
      return append(`type of event ${i}/${n}: ${label}`, stream, n === 1 && rng.chance(0.5) ? events[0] : events, NO_OPTIONS, invalid(`events[${i}].type`));
    }
    case 'append.data': {
      const stream = anyStream();
      const n = 1 + rng.int(3);
      const i = rng.int(n);
      const events = Array.from({ length: n }, () => validEvent(rng));
      let label;
      if (rng.chance(0.1)) {
        events[i] = withThrowingGetter(events[i], 'data');
        label = 'getter on data throws';
      } else if (rng.chance(0.05)) {
        delete events[i].data;
        label = 'data missing';
      } else {
        const bad = badJson(rng);
        events[i].data = bad.value;
        label = bad.label;
      }
      return append(`data of event ${i}/${n}: ${label}`, stream, events, NO_OPTIONS, invalid(under(`events[${i}].data`)));
    }
    case 'append.metadata': {
      const stream = anyStream();
      const n = 1 + rng.int(3);
      const i = rng.int(n);
      const events = Array.from({ length: n }, () => validEvent(rng));
      let label;
      const what = rng.weighted([[2, 'not an object'], [5, 'bad json'], [1, 'getter']]);
      if (what === 'getter') {
        events[i] = withThrowingGetter({ ...events[i], metadata: {} }, 'metadata');
        label = 'getter on metadata throws';
      } else if (what === 'not an object') {
        const [l, m] = rng.pick([['null', null], ['a string', 'm'], ['a number', 1], ['true', true], ['an array', []], ['an array of objects', [{ a: 1 }]]]);
        events[i].metadata = m;
        label = `metadata ${l}`;
      } else {
        const bad = badJson(rng, { allowUndefined: false });
        // Buried in an object, metadata's own requirement (an object) holds: only the value is bad.
        events[i].metadata = { correlationId: 'c-1', bad: bad.value };
        label = `metadata holding ${bad.label}`;
      }
      return append(`metadata of event ${i}/${n}: ${label}`, stream, events, NO_OPTIONS, invalid(under(`events[${i}].metadata`)));
    }
    case 'append.id': {
      const stream = anyStream();
      const n = 1 + rng.int(3);
      const i = rng.int(n);
      const events = Array.from({ length: n }, () => validEvent(rng, { id: rng.uuid() }));
      const good = rng.uuid();
      const [label, id] = rng.weighted([
        [1, ['not a uuid', 'not-a-uuid']], [1, ['empty', '']], [1, ['no hyphens', good.replaceAll('-', '')]],
        [1, ['braced', `{${good}}`]], [1, ['urn', `urn:uuid:${good}`]], [1, ['one char short', good.slice(1)]],
        [1, ['one char extra', `${good}0`]], [1, ['a g in it', `g${good.slice(1)}`]], [1, ['leading space', ` ${good.slice(1)}`]],
        [1, ['trailing newline', `${good.slice(1)}\n`]], [1, ['hyphens moved', `${good.slice(0, 7)}-${good[7]}${good.slice(9)}`]],
        [1, ['lone surrogate', `${good.slice(1)}\uD800`.slice(-36)]], [1, ['hyphens only', '-'.repeat(36)]],
        [3, ['non-string', null]], [1, ['getter throws', undefined]],
      ]);
      if (label === 'non-string') {
        const bad = nonString(rng, { required: false });
        events[i].id = bad.value;
        return append(`id of event ${i}/${n}: ${bad.label}`, stream, events, NO_OPTIONS, invalid(`events[${i}].id`));
      }
      if (label === 'getter throws') events[i] = withThrowingGetter(events[i], 'id');
      else events[i].id = id;
      return append(`id of event ${i}/${n}: ${label}`, stream, events, NO_OPTIONS, invalid(`events[${i}].id`));
    }
    case 'append.size': {
      const stream = anyStream();
      const max = ctx.maxEventBytes;
      const n = 1 + rng.int(3);
      const i = rng.int(n);
      const events = Array.from({ length: n }, () => validEvent(rng));
      const type = rng.pick(['T', 'Placed', 'é'.repeat(1 + rng.int(100))]);
      const over = rng.chance(0.4) ? 1 : 1 + rng.int(rng.chance(0.9) ? 200 : 3 * max);
      const target = max + over; // bytes: type + data JSON + metadata JSON
      const [unit, bytes] = rng.pick([['x', 1], ['é', 2], ['€', 3], ['🎉', 4], ['\n', 2], ['\u0001', 6]]);
      const where = rng.pick(['data', 'metadata']);
      const fixed = utf8(type) + (where === 'data' ? 2 /* metadata {} */ + 2 /* quotes */ : utf8(stored(events[i].data)) + utf8('{"pad":""}'));
      const count = Math.ceil((target - fixed) / bytes);
      const pad = unit.repeat(Math.max(0, count));
      events[i] = where === 'data' ? { type, data: pad } : { type, data: events[i].data, metadata: { pad } };
      const size = utf8(type) + utf8(stored(events[i].data)) + utf8(stored(events[i].metadata ?? {}));
      if (size <= max) throw new Error(`generator: size ${size} not over ${max}`);
      if (rng.chance(0.01)) events[i] = { type: 'T', data: 'y'.repeat(2_000_000) };
      return append(`event ${i}/${n} over maxEventBytes (${where}, ${size - max} bytes over, ${JSON.stringify(unit)})`, stream, events, NO_OPTIONS, invalid(`events[${i}]`));
    }
    case 'append.expectedVersion': {
      const stream = anyStream();
      if (rng.chance(0.15)) {
        const trap = optionsTrap(rng, { expectedVersion: model.version(stream) }, 'expectedVersion');
        return append(`options: ${trap.label}`, stream, validEvent(rng), trap.value, invalid(trap.field ?? ['options', 'expectedVersion']));
      }
      const [label, value] = rng.chance(0.4)
        ? rng.pick([['ANY', 'ANY'], ['Any', 'Any'], ['no-stream', 'no-stream'], ['noStream', 'noStream'], ['NO_STREAM', 'NO_STREAM'],
          ['stream-exists', 'stream-exists'], ['exists', 'exists'], ['end', 'end'], ["''", ''], ["' any'", ' any'],
          ['any + NUL', 'any\u0000'], ['no_stream + lone surrogate', 'no_stream\uD800'], ["'1'", '1']])
        : (() => { const b = badCount(rng); return [b.label, b.value]; })();
      return append(`expectedVersion ${label}`, stream, validEvent(rng), { expectedVersion: value }, invalid('expectedVersion'));
    }
    case 'append.wrongVersion': {
      const useExisting = rng.chance(0.7);
      const stream = useExisting ? existing() : fresh();
      const actual = model.version(stream);
      let expected;
      if (useExisting) {
        expected = rng.pick(['no_stream', 0, -0, actual + 1, actual + 1 + rng.int(1000), Math.max(0, actual - 1 - rng.int(actual)), 2 ** 53 - 1]);
        if (expected === actual) expected = actual + 1;
      } else {
        expected = rng.pick(['stream_exists', 1, 1 + rng.int(100), 2 ** 53 - 1]);
      }
      const events = rng.chance(0.5) ? validEvent(rng) : Array.from({ length: 1 + rng.int(3) }, () => validEvent(rng));
      const fields = { stream, expected: Object.is(expected, -0) ? 0 : expected, actual };
      return append(`expectedVersion ${Object.is(expected, -0) ? '-0' : expected} against ${actual}`, stream, events, { expectedVersion: expected }, { name: 'WrongExpectedVersionError', fields });
    }
    case 'append.duplicateId': {
      const known = [...model.byId.values()];
      const stream = anyStream();
      const v = rng.weighted([
        [2, () => { const id = rng.uuid(); const i = rng.int(2); const list = [validEvent(rng, { id }), validEvent(rng, { id: rng.uuid() })]; list.splice(1 + i, 0, validEvent(rng, { id: rng.chance(0.5) ? id : id.toUpperCase() })); return { label: 'one id twice in the call', events: list, id }; }],
        [2, () => { const k = rng.pick(known); const other = k.stream === stream ? `${stream}-other` : stream; return { label: 'a known id in another stream', events: validEvent(rng, { id: rng.chance(0.3) ? k.id.toUpperCase() : k.id }), id: k.id, stream: other }; }],
        [2, () => { const k = rng.pick(known); return { label: 'a known id with other content, same stream', events: { type: k.type, data: { other: rng.int(1e6) }, id: k.id }, id: k.id, stream: k.stream }; }],
        [1, () => { const k = rng.pick(known); return { label: 'a new event, then a known id', events: [validEvent(rng, { id: rng.uuid() }), { type: k.type, data: JSON.parse(k.data), metadata: JSON.parse(k.metadata), id: k.id }], id: k.id, stream: k.stream }; }],
      ])();
      const target = v.stream ?? stream;
      return append(`duplicate id: ${v.label}`, target, v.events, NO_OPTIONS, { name: 'DuplicateEventIdError', fields: { id: v.id } });
    }
    case 'append.options': {
      const stream = anyStream();
      const [label, options] = nonObjectOptions(rng);
      return append(`options ${label}`, stream, validEvent(rng), options, invalid('options'));
    }
    case 'streamVersion': {
      const bad = badName(rng);
      return c(`stream: ${bad.label}`, 'streamVersion', 'promise', ({ store }) => store.streamVersion(bad.value), invalid('stream'));
    }
    case 'readStream': {
      const stream = existing();
      const v = rng.weighted([
        [3, () => { const b = badName(rng); return { label: `stream: ${b.label}`, args: [b.value], field: 'stream' }; }],
        [1, () => { const [l, o] = nonObjectOptions(rng); return { label: `options ${l}`, args: [stream, o], field: 'options' }; }],
        [2, () => { const b = badCount(rng); return { label: `fromVersion ${b.label}`, args: [stream, { fromVersion: b.value }], field: 'fromVersion' }; }],
        [2, () => { const b = badCount(rng); return { label: `limit ${b.label}`, args: [stream, { limit: b.value }], field: 'limit' }; }],
        [2, () => { const d = badDirection(rng); return { label: `direction ${d.label}`, args: [stream, { direction: d.value }], field: 'direction' }; }],
        [1, () => { const key = rng.pick(['fromVersion', 'limit', 'direction']); const t = optionsTrap(rng, { fromVersion: 1, limit: 5, direction: 'forward' }, key); return { label: `options: ${t.label}`, args: [stream, t.value], field: t.field ?? ['options', 'fromVersion', 'limit', 'direction'] }; }],
      ])();
      return c(v.label, 'readStream', 'iterate', ({ store }) => store.readStream(...v.args), invalid(v.field));
    }
    case 'readAll': {
      const v = readAllDefect(rng);
      return c(v.label, 'readAll', 'iterate', ({ store }) => store.readAll(v.options), invalid(v.field));
    }
    case 'subscribe': {
      const v = rng.weighted([
        [1, () => { const [l, o] = nonObjectOptions(rng); return { label: `options ${l}`, options: o, field: 'options' }; }],
        [2, () => { const b = rng.chance(0.3) ? { label: rng.pick(["'END'", "'start'", "''", "'end '"]), value: rng.pick(['END', 'start', '', 'end ']) } : badCount(rng); return { label: `after ${b.label}`, options: { after: b.value }, field: 'after' }; }],
        [2, () => { const b = badName(rng, { required: false }); return { label: `checkpoint: ${b.label}`, options: { checkpoint: b.value }, field: 'checkpoint' }; }],
        [3, () => { const d = readAllDefect(rng, { filtersOnly: true }); return { label: d.label, options: d.options, field: d.field }; }],
        [2, () => { const [l, s] = rng.pick([['a string', 'stop'], ['a number', 1], ['{}', {}], ['null', null], ['{ aborted: true }', { aborted: true }], ['an EventTarget', new EventTarget()], ['{ aborted, addEventListener } without removeEventListener', { aborted: false, addEventListener() {} }], ['an AbortController', new AbortController()], ['true', true]]); return { label: `signal ${l}`, options: { signal: s }, field: 'signal' }; }],
        [1, () => { const key = rng.pick(['after', 'checkpoint', 'types', 'streamPrefix', 'signal']); const t = optionsTrap(rng, { after: 0, checkpoint: 'cp-sub', types: ['Placed'], streamPrefix: 'S-', signal: new AbortController().signal }, key); return { label: `options: ${t.label}`, options: t.value, field: t.field ?? ['options', 'after', 'checkpoint', 'types', 'streamPrefix', 'signal'] }; }],
      ])();
      return c(v.label, 'subscribe', 'sync', ({ store }) => store.subscribe(v.options), invalid(v.field));
    }
    case 'checkpoints.get': {
      const b = badName(rng);
      return c(`name: ${b.label}`, 'checkpoints.get', 'promise', ({ store }) => store.checkpoints.get(b.value), invalid('name'));
    }
    case 'checkpoints.set': {
      if (rng.chance(0.5)) {
        const b = badName(rng);
        return c(`name: ${b.label}`, 'checkpoints.set', 'promise', ({ store }) => store.checkpoints.set(b.value, 1), invalid('name'));
      }
      const b = badCount(rng, { required: true });
      const name = rng.pick(['cp-0', 'cp-1', 'cp-new']);
      return c(`position: ${b.label}`, 'checkpoints.set', 'promise', ({ store }) => (b.value === undefined && rng.chance(0.5) ? store.checkpoints.set(name) : store.checkpoints.set(name, b.value)), invalid('position'));
    }
    case 'snapshots.save': {
      const stream = existing();
      const version = model.version(stream);
      const v = rng.weighted([
        [2, () => { const b = badName(rng); return { label: `stream: ${b.label}`, args: [b.value, { version: 0, state: {} }], field: 'stream' }; }],
        [2, () => { const [l, s] = rng.pick([['null', null], ['undefined', undefined], ['a string', 'state'], ['a number', 1], ['true', true], ['a symbol', Symbol('s')], ['a bigint', 1n]]); return { label: `snapshot ${l}`, args: [stream, s], field: 'snapshot' }; }],
        [1, () => { const [l, s] = rng.pick([['an array', []], ['a function', () => 1], ['a Date', new Date(0)]]); return { label: `snapshot ${l}`, args: [stream, s], field: ['snapshot', 'snapshot.version'] }; }],
        [3, () => { const b = badCount(rng, { required: true }); return { label: `version ${b.label}`, args: [stream, { version: b.value, state: { ok: 1 } }], field: 'snapshot.version' }; }],
        [3, () => { const over = version + 1 + (rng.chance(0.5) ? 0 : rng.int(1000)); return { label: `version ${over} beyond the stream's ${version}`, args: [stream, { version: over, state: { ok: 1 } }], field: 'snapshot.version' }; }],
        [1, () => ({ label: 'version 1 of a stream without events', args: [`N-${rng.int(1e6)}`, { version: 1, state: {} }], field: 'snapshot.version' })],
        [4, () => { const b = badJson(rng); return { label: `state: ${b.label}`, args: [stream, { version, state: b.value }], field: under('snapshot.state') }; }],
        [1, () => { const key = rng.pick(['version', 'state']); return { label: `getter on ${key} throws`, args: [stream, withThrowingGetter({ version, state: 1 }, key)], field: under(`snapshot.${key}`) }; }],
        [1, () => ({ label: 'revoked Proxy', args: [stream, revoked()], field: [/^snapshot/] })],
      ])();
      return c(v.label, 'snapshots.save', 'promise', ({ store }) => store.snapshots.save(...v.args), invalid(v.field));
    }
    case 'snapshots.load': {
      const b = badName(rng);
      return c(`stream: ${b.label}`, 'snapshots.load', 'promise', ({ store }) => store.snapshots.load(b.value), invalid('stream'));
    }
    case 'openStore': {
      const base = { storage: ctx.storage, maxEventBytes: 4096, name: `invalid-open-${rng.int(1e6)}` };
      const v = rng.weighted([
        [1, () => { const [l, o] = nonObjectOptions(rng); return { label: `options ${l}`, options: o, expect: invalid('options') }; }],
        [3, () => { const b = badName(rng, { required: false, huge: false }); return { label: `name: ${b.label}`, options: { ...base, name: b.value }, expect: invalid('name') }; }],
        [2, () => { const [l, s] = rng.pick([["'disk'", 'disk'], ["'Memory'", 'Memory'], ["'MEMORY'", 'MEMORY'], ["''", ''], ["'idb'", 'idb'], ["'IndexedDB'", 'IndexedDB'], ['5', 5], ['null', null], ['true', true], ['an array', ['memory']]]); return { label: `storage ${l}`, options: { ...base, storage: s }, expect: invalid('storage') }; }],
        [3, () => { const b = rng.chance(0.2) ? { label: rng.pick(['0', '-0']), value: rng.pick([0, -0]) } : badCount(rng); return { label: `maxEventBytes ${b.label}`, options: { ...base, maxEventBytes: b.value }, expect: invalid('maxEventBytes') }; }],
        [1, () => { const key = rng.pick(['name', 'storage', 'maxEventBytes']); const t = optionsTrap(rng, base, key); return { label: `options: ${t.label}`, options: t.value, expect: invalid(t.field ?? ['options', 'name', 'storage', 'maxEventBytes', 'upcasters']) }; }],
        [ctx.hasIndexedDB ? 0 : 1, () => ({ label: "storage 'indexeddb' where there is none", options: { ...base, storage: 'indexeddb' }, expect: { name: 'StorageError' } })],
        [1, () => { const [l, u] = rng.pick([['a function', () => ({})], ['an array', []], ['a string', 'up'], ['null', null]]); return { label: `upcasters ${l}`, options: { ...base, upcasters: u }, expect: invalid('upcasters') }; }],
        [1, () => { const [l, f] = rng.pick([['a string', 'f'], ['an object', {}], ['null', null]]); return { label: `upcasters.Placed ${l}`, options: { ...base, upcasters: { Placed: f } }, expect: invalid('upcasters.Placed') }; }],
      ])();
      return c(v.label, 'openStore', 'promise', ({ openStore }) => openStore(v.options), v.expect);
    }
    case 'aggregateStream': {
      const stream = existing();
      const ok = { initialState: () => 0, evolve: (n) => n + 1 };
      const v = rng.weighted([
        [2, () => { const b = badName(rng); return { label: `stream: ${b.label}`, args: [b.value, ok], field: 'stream' }; }],
        [1, () => { const [l, o] = nonObjectOptions(rng); return { label: `options ${l}`, args: [stream, o], field: 'options' }; }],
        [2, () => { const [l, f] = rng.pick([['missing', undefined], ['a value', 0], ['an object', {}]]); return { label: `initialState ${l}`, args: [stream, { ...ok, initialState: f }], field: 'initialState' }; }],
        [2, () => { const [l, f] = rng.pick([['missing', undefined], ['a string', 'n + 1'], ['null', null]]); return { label: `evolve ${l}`, args: [stream, { ...ok, evolve: f }], field: 'evolve' }; }],
        [2, () => { const [l, n] = rng.pick([['0', 0], ['-1', -1], ['1.5', 1.5], ["'10'", '10'], ['NaN', NaN], ['Infinity', Infinity]]); return { label: `snapshotEvery ${l}`, args: [stream, { ...ok, snapshotEvery: n }], field: 'snapshotEvery' }; }],
        [1, () => { const key = rng.pick(['initialState', 'evolve']); return { label: `getter on ${key} throws`, args: [stream, withThrowingGetter(ok, key)], field: key }; }],
      ])();
      return c(v.label, 'aggregateStream', 'promise', ({ store }) => store.aggregateStream(...v.args), invalid(v.field));
    }
    case 'import': {
      // Every line invalid in one way, after valid ones for fresh streams: the batch writes nothing.
      const stream = fresh();
      const line = (version, fields = {}) => JSON.stringify({ id: crypto.randomUUID(), stream, version, type: 'Imported', recordedAt: 1e12, data: { v: version }, metadata: {}, ...fields });
      const before = rng.int(3);
      const good = Array.from({ length: before }, (_, i) => line(i + 1));
      const at = `events[${before}]`;
      // Names that stay invalid through JSON (a Date or a String object would become a valid string).
      const badText = () => rng.pick([['empty', ''], ['257 chars', 'n'.repeat(257)], ['a control character', 'a\u0001b'], ['a lone surrogate', 'a\uD800'], ['a number', 42], ['null', null], ['an array', ['S-1']], ['missing', undefined]]);
      const v = rng.weighted([
        [2, () => ({ label: 'a line that is not JSON', bad: '{"id": ', field: at })],
        [2, () => { const [l, n] = badText(); return { label: `stream ${l}`, bad: line(before + 1, { stream: n }), field: `${at}.stream` }; }],
        [2, () => { const [l, n] = badText(); return { label: `type ${l}`, bad: line(before + 1, { type: n }), field: `${at}.type` }; }],
        [2, () => { const [l, n] = rng.pick([['0', 0], ['-1', -1], ['1.5', 1.5], ["'1'", '1'], ['null', null], ['missing', undefined]]); return { label: `version ${l}`, bad: line(before + 1, { version: n }), field: `${at}.version` }; }],
        [2, () => { const [l, id] = rng.pick([['missing', undefined], ['not a UUID', 'nope'], ['a number', 7]]); return { label: `id ${l}`, bad: line(before + 1, { id }), field: `${at}.id` }; }],
        [1, () => { const [l, t] = rng.pick([['missing', undefined], ['a string', '2026-01-01'], ['null', null]]); return { label: `recordedAt ${l}`, bad: line(before + 1, { recordedAt: t }), field: `${at}.recordedAt` }; }],
        [1, () => ({ label: 'metadata not an object', bad: line(before + 1, { metadata: [1] }), field: `${at}.metadata` })],
        [1, () => ({ label: 'a line that is an array', bad: '[1, 2]', field: at })],
      ])();
      const text = [...good, v.bad, line(before + 2)].join('\n');
      const source = rng.pick([text, [text], new TextEncoder().encode(text)]);
      return c(`${v.label} (after ${before} valid)`, 'import', 'promise', ({ store }) => store.import(source instanceof Uint8Array ? [source] : source), invalid(v.field), [stream]);
    }
    case 'closed': {
      const closed = { name: 'StoreClosedError' };
      const [api, mode, invoke] = rng.pick([
        ['append', 'promise', ({ closedStore }) => closedStore.append('S-1', validEvent(rng))],
        ['append', 'promise', ({ closedStore }) => closedStore.append('S-1', [validEvent(rng), validEvent(rng)], { expectedVersion: 1 })],
        ['streamVersion', 'promise', ({ closedStore }) => closedStore.streamVersion('S-1')],
        ['readStream', 'iterate', ({ closedStore }) => closedStore.readStream('S-1', { direction: 'backward' })],
        ['readAll', 'iterate', ({ closedStore }) => closedStore.readAll({ types: ['Placed'] })],
        ['subscribe', 'sync', ({ closedStore }) => closedStore.subscribe({ after: 'end' })],
        ['subscribe', 'sync', ({ closedStore }) => closedStore.subscribe({ checkpoint: 'cp-0' })],
        ['checkpoints.get', 'promise', ({ closedStore }) => closedStore.checkpoints.get('cp-0')],
        ['checkpoints.set', 'promise', ({ closedStore }) => closedStore.checkpoints.set('cp-0', 1)],
        ['snapshots.save', 'promise', ({ closedStore }) => closedStore.snapshots.save('S-1', { version: 1, state: {} })],
        ['snapshots.load', 'promise', ({ closedStore }) => closedStore.snapshots.load('S-1')],
        ['aggregateStream', 'promise', ({ closedStore }) => closedStore.aggregateStream('S-1', { initialState: () => 0, evolve: (n) => n + 1 })],
        ['import', 'promise', ({ closedStore }) => closedStore.import('{"id":"00000000-0000-4000-8000-000000000001","stream":"S-1","version":1,"type":"T","recordedAt":0,"data":1}')],
      ]);
      return { kind, variant: `${api} on a closed store`, api, mode, invoke, expect: closed, streams: [] };
    }
    default:
      throw new Error(`generator: unknown kind ${kind}`);
  }
}

const NO_OPTIONS = Symbol('no options argument');

function badDirection(rng) {
  if (rng.chance(0.3)) return { label: 'non-string', value: nonString(rng, { required: false }).value };
  const d = rng.pick(['Forward', 'FORWARD', 'backwards', 'back', 'reverse', '', ' forward', 'forward\u0000', 'backward\uD800', 'desc']);
  return { label: JSON.stringify(d), value: d };
}

/** A readAll options object with one defect (for subscribe: only the filters). */
function readAllDefect(rng, { filtersOnly = false } = {}) {
  const list = [
    [3, () => { const b = badName(rng); return { label: `types[k]: ${b.label}`, types: true, bad: b.value }; }],
    [1, () => ({ label: 'types empty', options: { types: [] }, field: 'types' })],
    [2, () => { const [l, t] = rng.pick([['a string', 'Placed'], ['a number', 1], ['null', null], ['an object', { 0: 'Placed', length: 1 }], ['a Set', new Set(['Placed'])], ['true', true], ['a function', () => ['Placed']]]); return { label: `types ${l}`, options: { types: t }, field: 'types' }; }],
    [1, () => ({ label: 'types sparse', options: { types: [, 'Placed'] }, field: 'types[0]' })], // eslint-disable-line no-sparse-arrays
    [2, () => { const b = badName(rng, { required: false }); return { label: `streamPrefix: ${b.label}`, options: { streamPrefix: b.value }, field: 'streamPrefix' }; }],
    [2, () => { const b = badName(rng); const k = rng.int(3); const streams = ['S-1', 'S-2', 'S-3']; streams[k] = b.value; return { label: `streams[${k}]: ${b.label}`, options: { streams }, field: `streams[${k}]` }; }],
    [1, () => { const [l, t] = rng.pick([['empty', []], ['a string', 'S-1'], ['null', null], ['a Set', new Set(['S-1'])]]); return { label: `streams ${l}`, options: { streams: t }, field: 'streams' }; }],
  ];
  if (!filtersOnly) {
    list.push(
      [1, () => { const [l, o] = nonObjectOptions(rng); return { label: `options ${l}`, options: o, field: 'options' }; }],
      [2, () => { const b = rng.chance(0.2) ? { label: "'end'", value: 'end' } : badCount(rng); return { label: `after ${b.label}`, options: { after: b.value }, field: 'after' }; }],
      [2, () => { const b = badCount(rng); return { label: `limit ${b.label}`, options: { limit: b.value }, field: 'limit' }; }],
      [2, () => { const d = badDirection(rng); return { label: `direction ${d.label}`, options: { direction: d.value }, field: 'direction' }; }],
      [1, () => { const key = rng.pick(['after', 'limit', 'direction', 'types', 'streamPrefix']); const t = optionsTrap(rng, { after: 0, limit: 10, direction: 'forward', types: ['Placed'], streamPrefix: 'S-' }, key); return { label: `options: ${t.label}`, options: t.value, field: t.field ?? ['options', 'after', 'limit', 'direction', 'types', 'streamPrefix'] }; }],
    );
  }
  const v = rng.weighted(list)();
  if (v.types) {
    const n = 1 + rng.int(4);
    const k = rng.int(n);
    const types = Array.from({ length: n }, () => rng.pick(TYPES));
    types[k] = v.bad;
    return { label: `${v.label} (k=${k}/${n})`, options: { types }, field: `types[${k}]` };
  }
  return v;
}

// ---- valid exotic calls -------------------------------------------------------------------------

/**
 * A call the contract allows although its input is unusual. Returns
 * `{ variant, run(ctx) → Promise<void> }`: run performs it, asserts its outcome and updates
 * the model. Throws (an Error with a message) when the outcome is wrong.
 */
function generateValid(rng, ctx) {
  const { model } = ctx;
  const stream = `X-${rng.int(1e6)}`;
  const appendAs = (variant, s, events, expectedStored, options) => ({
    variant,
    async run({ store }) {
      const ids = (Array.isArray(events) ? events : [events]).map((e) => (typeof e?.id === 'string' ? e.id.toLowerCase() : undefined));
      const result = options === undefined ? await store.append(s, events) : await store.append(s, events, options);
      const expected = model.append(s, expectedStored, ids);
      same(result, expected, `${variant}: append result`);
      for (const r of model.events.slice(-expectedStored.length)) if (r.id) model.byId.set(r.id, r);
    },
  });
  const ev = (data, metadata) => (metadata === undefined ? { type: 'T', data } : { type: 'T', data, metadata });
  const st = (data, metadata = {}) => ({ type: 'T', data: stored(data), metadata: stored(metadata) });
  const list = [
    () => { const d = JSON.parse('{"__proto__":{"polluted":true},"a":1}'); return appendAs('data with an own __proto__ key', stream, ev(d), [st(d)]); },
    () => { const d = { constructor: { prototype: { polluted: true } }, prototype: 1, hasOwnProperty: 'x', toString: null, valueOf: [] }; return appendAs('data with constructor/prototype/hasOwnProperty keys', stream, ev(d), [st(d)]); },
    () => { const m = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'); return appendAs('metadata with __proto__ and constructor keys', stream, ev(1, m), [st(1, m)]); },
    () => { const s = rng.pick(['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'prototype']); return appendAs(`stream named ${s}`, s, ev({ k: 1 }), [st({ k: 1 })]); },
    () => { const d = { a: 1, [Symbol('hidden')]: 2 }; Object.defineProperty(d, 'nonEnumerable', { value: 3, enumerable: false }); return appendAs('data with a symbol key and a non-enumerable key (dropped, as by JSON)', stream, ev(d), [st({ a: 1 })]); },
    () => { const d = Object.create(null); d.a = [1, 2]; d.__proto__ = 'plain data'; return appendAs('data of Object.create(null), with a __proto__ key', stream, ev(d), [{ type: 'T', data: '{"a":[1,2],"__proto__":"plain data"}', metadata: '{}' }]); },
    () => { const shared = { s: 1 }; const d = { a: shared, b: [shared, shared] }; return appendAs('data with shared (not cyclic) references', stream, ev(d), [st(d)]); },
    () => { const d = nest(128, 1, rng.chance(0.5)); return appendAs('data nested exactly 128 deep', stream, ev(d), [st(d)]); },
    () => {
      const type = rng.pick(['T', 'Placed']);
      const [unit, bytes] = rng.pick([['x', 1], ['é', 2], ['\n', 2]]);
      const room = ctx.maxEventBytes - utf8(type) - 2 - 2;
      if (room % bytes !== 0) return appendAs('event of 4096 bytes minus one', stream, { type: 'T', data: 'x'.repeat(ctx.maxEventBytes - 6) }, [st('x'.repeat(ctx.maxEventBytes - 6))]);
      const data = unit.repeat(room / bytes);
      return appendAs(`event of exactly maxEventBytes (${JSON.stringify(unit)})`, stream, { type, data }, [{ type, data: stored(data), metadata: '{}' }]);
    },
    () => { const s = rng.pick(['🎉'.repeat(256), 'a'.repeat(256), 'A\u2028B', 'zero\u200bwidth', '\u202eRTL', 'ünï-✓']); return appendAs(`stream name ${s.length > 20 ? `${[...s].length} code points` : JSON.stringify(s)}`, s, ev(2), [st(2)]); },
    () => { const d = { s: 'tab\tnl\nnul\u0000del\u007f', '\u0001key': 1 }; return appendAs('control characters inside data strings and keys', stream, ev(d), [st(d)]); },
    () => { const d = new Proxy({ a: 1, b: [2] }, {}); return appendAs('data behind a transparent Proxy', stream, ev(d), [st({ a: 1, b: [2] })]); },
    () => { const E = class { constructor() { this.type = 'T'; this.data = { c: 1 }; } }; return appendAs('event object of a class (structurally an EventInput)', stream, new E(), [st({ c: 1 })]); },
    () => { const id = rng.uuid().toUpperCase(); return appendAs('upper-case id (stored lower-case)', stream, { type: 'T', data: 1, id }, [st(1)]); },
    () => appendAs('expectedVersion -0 on a new stream (≡ 0)', stream, ev(3), [st(3)], { expectedVersion: -0 }),
    () => appendAs("options with an unknown key and an own '__proto__' key", stream, ev(4), [st(4)], JSON.parse('{"__proto__":{"expectedVersion":"bogus"},"unknown":1}')),
    // Idempotent retry: the same events, same ids, same stream: the original result, nothing written.
    () => {
      const k = [...model.byId.values()].find((e) => e.stream.startsWith('S-') && rng.chance(0.3)) ?? [...model.byId.values()][0];
      return {
        variant: 'idempotent retry of a committed event',
        async run({ store }) {
          const r = await store.append(k.stream, { type: k.type, data: JSON.parse(k.data), metadata: JSON.parse(k.metadata), id: k.id });
          same(r, { nextExpectedVersion: k.version, position: k.position }, 'retry result');
        },
      };
    },
    () => ({
      variant: 'checkpoint position -0 (≡ 0), name __proto__ or constructor',
      async run({ store }) {
        const name = rng.pick(['__proto__', 'constructor', 'toString']);
        await store.checkpoints.set(name, -0);
        model.checkpoints.set(name, 0);
        const got = await store.checkpoints.get(name);
        if (!Object.is(got, 0)) throw new Error(`checkpoint ${name}: got ${String(got)}`);
      },
    }),
    () => ({
      variant: 'snapshot of version -0 with __proto__ keys in its state',
      async run({ store }) {
        const s = rng.pick([...model.versions.keys()].filter((x) => x.startsWith('S-')));
        const state = JSON.parse('{"__proto__":{"polluted":true},"n":1}');
        await store.snapshots.save(s, { version: -0, state });
        model.snapshots.set(s, { version: 0, state: stored(state) });
      },
    }),
    () => ({
      variant: 'reads with limit -0 and after -0',
      async run({ store }) {
        const none = await store.readAll({ limit: -0 }).toArray();
        if (none.length !== 0) throw new Error(`limit -0 yielded ${none.length}`);
        const first = await store.readAll({ after: -0, limit: 1 }).toArray();
        if (first[0]?.position !== 1) throw new Error('after -0 did not start at 1');
      },
    }),
  ];
  return rng.pick(list)();
}

function same(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: got ${a}, expected ${e}`);
}

// ---- checks -------------------------------------------------------------------------------------

/** Every object and array inside `v` is plain, with data properties only. */
function checkPlain(v, path = '') {
  if (v === null || typeof v !== 'object') return;
  const proto = Object.getPrototypeOf(v);
  if (Array.isArray(v) ? proto !== Array.prototype : proto !== Object.prototype) throw new Error(`read back: ${path || 'value'} has an unexpected prototype`);
  for (const key of Reflect.ownKeys(v)) {
    if (Array.isArray(v) && key === 'length') continue;
    const d = Object.getOwnPropertyDescriptor(v, key);
    if (typeof key !== 'string' || !('value' in d) || !d.enumerable) throw new Error(`read back: ${path}.${String(key)} is not a plain data property`);
    checkPlain(d.value, `${path}.${key}`);
  }
}

/** The full state: every event, stream versions, head, checkpoints and snapshots. */
async function verifyStore(store, model, extraStreams = []) {
  const all = await store.readAll().toArray();
  if (all.length !== model.events.length) throw new Error(`readAll holds ${all.length} events, the model ${model.events.length}`);
  all.forEach((e, k) => {
    const m = model.events[k];
    const got = { stream: e.stream, version: e.version, position: e.position, type: e.type, data: stored(e.data), metadata: stored(e.metadata) };
    const want = { stream: m.stream, version: m.version, position: m.position, type: m.type, data: m.data, metadata: m.metadata };
    same(got, want, `event at position ${k + 1}`);
    if (m.id !== undefined && e.id !== m.id) throw new Error(`event at position ${k + 1}: id ${e.id}, expected ${m.id}`);
    if (m.id === undefined) m.id = e.id;
    checkPlain(e.data);
    checkPlain(e.metadata);
    if (!(e.recordedAt instanceof Date)) throw new Error('recordedAt is not a Date');
  });
  const head = await store.readAll({ direction: 'backward', limit: 1 }).toArray();
  if ((head[0]?.position ?? 0) !== model.events.length) throw new Error(`head ${head[0]?.position ?? 0}, expected ${model.events.length}`);
  for (const s of new Set([...model.versions.keys(), ...extraStreams])) {
    const v = await store.streamVersion(s);
    if (v !== model.version(s)) throw new Error(`streamVersion(${JSON.stringify(s.slice(0, 40))}) = ${v}, expected ${model.version(s)}`);
  }
  for (const name of ['cp-0', 'cp-1', 'cp-new', 'cp-sub', ...model.checkpoints.keys()]) {
    const got = await store.checkpoints.get(name);
    if (got !== model.checkpoints.get(name)) throw new Error(`checkpoint ${name} = ${got}, expected ${model.checkpoints.get(name)}`);
  }
  for (const s of model.versions.keys()) {
    const got = await store.snapshots.load(s);
    const want = model.snapshots.get(s);
    same(got === undefined ? null : { version: got.version, state: stored(got.state) }, want ?? null, `snapshot of ${s}`);
  }
}

/** Whether `s` is a valid name, so reading its stream version is itself a valid call. */
const isValidName = (s) =>
  typeof s === 'string' && s.length > 0 && [...s].length <= 256 && s.isWellFormed() && !/[\u0000-\u001f\u007f-\u009f]/.test(s);

/** Rebuilds the model from the store after a detected write, so later writes are caught too. */
async function resync(store, model) {
  const all = await store.readAll().toArray();
  model.events = [];
  model.versions = new Map();
  for (const e of all) {
    model.versions.set(e.stream, e.version);
    model.events.push({ stream: e.stream, version: e.version, position: e.position, type: e.type, data: stored(e.data), metadata: stored(e.metadata), id: e.id });
  }
  for (const name of ['cp-0', 'cp-1', 'cp-new', 'cp-sub', ...model.checkpoints.keys()]) {
    const p = await store.checkpoints.get(name);
    if (p === undefined) model.checkpoints.delete(name);
    else model.checkpoints.set(name, p);
  }
  for (const s of model.versions.keys()) {
    const snap = await store.snapshots.load(s);
    if (snap === undefined) model.snapshots.delete(s);
    else model.snapshots.set(s, { version: snap.version, state: stored(snap.state) });
  }
}

/** A cheap check after every call: the head and the versions of the streams the call named. */
async function quickCheck(store, model, streams) {
  const head = await store.readAll({ direction: 'backward', limit: 1 }).toArray();
  const last = model.events[model.events.length - 1];
  if ((head[0]?.position ?? 0) !== model.events.length) throw new Error(`head ${head[0]?.position ?? 0}, expected ${model.events.length}`);
  if (last && last.id !== undefined && head[0].id !== last.id) throw new Error(`head event id ${head[0].id}, expected ${last.id}`);
  for (const s of streams) {
    if (!isValidName(s)) continue;
    const v = await store.streamVersion(s);
    if (v !== model.version(s)) throw new Error(`streamVersion(${JSON.stringify(s)}) = ${v} after the call, expected ${model.version(s)}`);
  }
}

const isPanic = (e) =>
  (typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError) ||
  e?.name === 'RuntimeError' || /unreachable|memory access out of bounds|recursive use of an object|already borrowed|already mutably borrowed/i.test(String(e?.message ?? e));

/** Snapshot of the built-in prototypes, to prove nothing was polluted. */
function prototypeState() {
  const describe = (o) => Reflect.ownKeys(o).map((k) => `${String(k)}:${typeof Object.getOwnPropertyDescriptor(o, k).value}`).sort().join(',');
  return [Object.prototype, Array.prototype, Function.prototype, Object].map(describe).join('|');
}

// ---- the run --------------------------------------------------------------------------------------

/**
 * Runs `calls` invalid calls. `env`:
 * - `annals`: the package's exports (openStore, error classes, guards, ErrorCode);
 * - `storeOptions(label)`: options for openStore of the main / closed store;
 * - `storage`: 'memory' or 'indexeddb' (for generated openStore options);
 * - `hasIndexedDB`; `seed`; `calls`; `timeoutMs` (a call that takes longer has hung);
 * - `watchEscapes(handler)`: calls `handler(error)` on an uncaught exception or unhandled
 *   rejection; returns a function that stops watching;
 * - `log(line)`.
 * Returns the figures; `failures` lists what went wrong: one entry per distinct
 * (category, kind, variant) with its count and first example; `failureCount` counts them all.
 */
export async function runInvalidCalls(env) {
  const { annals, calls, seed, timeoutMs, log = () => {} } = env;
  const rng = makeRng(seed);
  const maxEventBytes = 4096;
  const protoBefore = prototypeState();
  const store = await annals.openStore({ ...env.storeOptions('main'), maxEventBytes });
  const closedStore = await annals.openStore({ ...env.storeOptions('closed'), maxEventBytes });
  await closedStore.append('S-1', { type: 'T', data: 1 });
  await closedStore.close();
  const model = new Model();
  const ctx = { model, store, closedStore, openStore: annals.openStore, maxEventBytes, storage: env.storage, hasIndexedDB: env.hasIndexedDB };

  const stats = {
    seed, calls: 0, typedErrors: 0, writes: 0, panics: 0, escapes: 0, hangs: 0, untyped: 0, resolved: 0,
    wrongError: 0, validAppends: 0, concurrentValidAppends: 0, validExotic: 0, validExoticFailed: 0,
    fullChecks: 0, quickChecks: 0, byKind: {}, failureCount: 0, failures: [], stoppedEarly: false, prototypesUnchanged: undefined,
    storeWorksAfter: undefined,
  };
  // Every failure is counted under (category, kind, variant with its numbers blurred), with
  // the first example of each kept in full.
  const distinct = new Map();
  const fail = (category, c, detail) => {
    stats.failureCount += 1;
    const key = `${category} — ${c?.kind}: ${String(c?.variant).replace(/\d+/g, '#')}`;
    const seen = distinct.get(key);
    if (seen) seen.count += 1;
    else distinct.set(key, { key, count: 1, category, kind: c?.kind, example: c?.variant, detail: String(detail).slice(0, 300) });
  };

  // Escapes: an exception thrown out of band while a call runs is charged to that call.
  let current = null;
  let onEscape = null;
  const stopWatching = env.watchEscapes((error) => {
    if (isPanic(error)) stats.panics += 1;
    stats.escapes += 1;
    fail(isPanic(error) ? 'panic (uncaught)' : 'escaped: uncaught exception', current, `${error?.name}: ${error?.message}`);
    onEscape?.(error);
  });

  const withTimeout = (promise, what) => {
    let timer;
    return Promise.race([
      promise,
      new Promise((_, reject) => { timer = setTimeout(() => reject(new HungError(`${what} did not settle within ${timeoutMs} ms`)), timeoutMs); }),
    ]).finally(() => clearTimeout(timer));
  };

  // Seed: ten streams with known ids, two checkpoints, one snapshot.
  for (let s = 0; s < 10; s++) {
    const events = Array.from({ length: 1 + (s % 3) }, () => validEvent(rng, { id: rng.uuid() }));
    await validAppend(`S-${s}`, events);
  }
  await store.checkpoints.set('cp-0', 3);
  model.checkpoints.set('cp-0', 3);
  await store.snapshots.save('S-2', { version: 2, state: { total: 2 } });
  model.snapshots.set('S-2', { version: 2, state: stored({ total: 2 }) });
  await verifyStore(store, model);

  async function validAppend(stream, events, expectedVersion = 'any') {
    const list = Array.isArray(events) ? events : [events];
    const result = await store.append(stream, events, { expectedVersion });
    const want = model.append(stream, list.map((e) => ({ type: e.type, data: stored(e.data), metadata: stored(e.metadata ?? {}) })), list.map((e) => e.id));
    same(result, want, `valid append to ${stream}`);
    for (const r of model.events.slice(-list.length)) if (r.id) model.byId.set(r.id, r);
  }

  /** Runs one case; returns { ok } | { error } | { escaped } | { hung }. */
  async function settle(c) {
    let escapedResolve;
    const escaped = new Promise((resolve) => { escapedResolve = resolve; });
    onEscape = (error) => escapedResolve({ escaped: error });
    try {
      let p;
      if (c.mode === 'sync') {
        try {
          const sub = c.invoke(ctx);
          p = Promise.resolve({ ok: sub });
        } catch (error) {
          p = Promise.resolve({ error });
        }
      } else if (c.mode === 'iterate') {
        let iterable;
        try {
          iterable = c.invoke(ctx);
        } catch (error) {
          return { error, eager: true };
        }
        p = iterable[Symbol.asyncIterator]().next().then((ok) => ({ ok }), (error) => ({ error }));
      } else {
        let promise;
        try {
          promise = c.invoke(ctx);
        } catch (error) {
          return { error, eager: true };
        }
        p = Promise.resolve(promise).then((ok) => ({ ok }), (error) => ({ error }));
      }
      return await withTimeout(Promise.race([p, escaped]), c.variant).catch((e) => {
        if (e instanceof HungError) return { hung: e };
        throw e;
      });
    } finally {
      onEscape = null;
    }
  }

  /** Judges one outcome; returns true when it is the expected typed error. */
  function judge(c, out) {
    const k = (stats.byKind[c.kind] ??= { calls: 0, typedErrors: 0, failures: 0 });
    k.calls += 1;
    const bad = (category, detail) => {
      k.failures += 1;
      fail(category, c, detail);
      return false;
    };
    if (out.escaped) return bad('never settled (exception escaped)', `${out.escaped?.name}: ${out.escaped?.message}`);
    if (out.hung) {
      stats.hangs += 1;
      return bad('hung', out.hung.message);
    }
    if ('ok' in out) {
      stats.resolved += 1;
      if (c.mode === 'sync' || c.api === 'openStore') Promise.resolve(out.ok?.close?.()).catch(() => {});
      return bad('succeeded, should have failed', `→ ${typeof out.ok}`);
    }
    const e = out.error;
    if (isPanic(e)) {
      stats.panics += 1;
      return bad('panic', `${e?.name}: ${e?.message}`);
    }
    if (!(e instanceof Error) || !annals.isAnnalsError(e) || !(e instanceof annals.AnnalsError)) {
      stats.untyped += 1;
      return bad('untyped error', `${Object.prototype.toString.call(e)} ${e?.name}: ${String(e?.message ?? e).slice(0, 200)}`);
    }
    if (out.eager) return bad('threw synchronously instead of rejecting', `${e.name}: ${e.message}`);
    const Class = annals[e.name];
    const problems = [];
    if (!ACCEPTED[c.api].includes(e.name)) problems.push(`${e.name} is not among the names ${c.api} may reject with`);
    if (e.name !== c.expect.name) problems.push(`expected ${c.expect.name}`);
    if (typeof Class !== 'function' || !(e instanceof Class)) problems.push(`not an instance of ${e.name}`);
    if (!annals[GUARD[e.name]]?.(e)) problems.push(`${GUARD[e.name]} is false`);
    if (e.errorCode !== annals.ErrorCode[CODE[e.name]]) problems.push(`errorCode ${e.errorCode}`);
    if (typeof e.message !== 'string' || e.message.length === 0) problems.push('empty message');
    if (e.name === 'InvalidArgumentError' && !fieldMatches(c.expect.field, e.field)) problems.push(`field ${JSON.stringify(e.field)}, expected ${fieldLabel(c.expect.field)}`);
    for (const [key, want] of Object.entries(c.expect.fields ?? {})) {
      if (!Object.is(e[key], want)) problems.push(`${key} ${JSON.stringify(e[key])}, expected ${JSON.stringify(want)}`);
    }
    if (problems.length) {
      stats.wrongError += 1;
      return bad('wrong error', `${e.name}(${e.field ?? ''}): ${e.message.slice(0, 120)} — ${problems.join('; ')}`);
    }
    k.typedErrors += 1;
    stats.typedErrors += 1;
    return true;
  }

  const started = Date.now();
  let unresponsive = false;
  let i = 0;
  try {
    for (; i < calls; i++) {
      // Valid appends between the invalid calls, so "unchanged" means something.
      if (rng.chance(0.06)) {
        const s = `S-${rng.int(10)}`;
        const events = Array.from({ length: 1 + rng.int(3) }, () => validEvent(rng, rng.chance(0.5) ? { id: rng.uuid() } : {}));
        try {
          await withTimeout(validAppend(s, events, rng.chance(0.5) ? model.version(s) : 'any'), 'valid append');
          stats.validAppends += 1;
        } catch (e) {
          if (e instanceof HungError) {
            stats.hangs += 1;
            unresponsive = true;
          }
          fail('valid append failed', current, `${e?.name}: ${e?.message}`);
          await withTimeout(resync(store, model), 'resync').catch(() => {});
        }
      }
      if (rng.chance(0.02)) {
        const v = generateValid(rng, ctx);
        stats.validExotic += 1;
        try {
          current = { kind: 'valid', variant: v.variant };
          await withTimeout(v.run(ctx), v.variant);
        } catch (e) {
          stats.validExoticFailed += 1;
          fail('valid call failed', { kind: 'valid', variant: v.variant }, `${e?.name}: ${e?.message}`);
          if (e instanceof HungError) stats.hangs += 1;
        }
      }

      const c = generate(rng, ctx);
      current = c;
      stats.calls += 1;
      // Now and then a valid append is issued in the same tick as the invalid call: the bad
      // call must not take the good one down with it.
      const concurrent = rng.chance(0.04) ? { stream: `V-${rng.int(3)}`, event: validEvent(rng, { id: rng.uuid() }), first: rng.chance(0.5) } : null;
      let concurrentPromise;
      if (concurrent?.first) concurrentPromise = store.append(concurrent.stream, concurrent.event);
      const settled = settle(c);
      if (concurrent && !concurrent.first) concurrentPromise = store.append(concurrent.stream, concurrent.event);
      const out = await settled;
      const panicsBefore = stats.panics;
      judge(c, out);
      const callPanicked = stats.panics > panicsBefore || (out.escaped !== undefined && isPanic(out.escaped));
      if (concurrent) {
        stats.concurrentValidAppends += 1;
        try {
          const r = await withTimeout(concurrentPromise, 'a valid append issued in the same tick');
          const want = model.append(concurrent.stream, [{ type: concurrent.event.type, data: stored(concurrent.event.data), metadata: '{}' }], [concurrent.event.id]);
          same(r, want, 'concurrent valid append');
          model.byId.set(concurrent.event.id, model.events[model.events.length - 1]);
        } catch (e) {
          if (e instanceof HungError) stats.hangs += 1;
          fail('a valid append issued with it failed', c, `${e?.name}: ${e?.message}`);
        }
      }

      // Nothing written: a quick check after every call, a full one every 100 calls and
      // after a call now and then.
      try {
        await withTimeout(quickCheck(store, model, c.streams), 'quick check');
        stats.quickChecks += 1;
        if ((i + 1) % 100 === 0 || rng.chance(0.01)) {
          await withTimeout(verifyStore(store, model, c.streams.filter(isValidName)), 'full check');
          stats.fullChecks += 1;
        }
      } catch (e) {
        if (e instanceof HungError) {
          stats.hangs += 1;
          unresponsive = true;
        } else if (isPanic(e)) {
          if (!callPanicked) stats.panics += 1; // counted once per call
        } else stats.writes += 1;
        fail('store changed (or unreadable) after the call', c, `${e?.name}: ${e?.message}`);
        // Take the store as it now is, so that the next write is caught as well.
        await withTimeout(resync(store, model), 'resync').catch(() => {});
      }
      // A store that no longer answers makes every later call wait for its time limit.
      if (unresponsive || stats.hangs >= 50) {
        stats.stoppedEarly = true;
        log(`stopping after ${stats.calls} calls: ${unresponsive ? 'the store no longer answers' : `${stats.hangs} calls hung`}`);
        break;
      }
      if ((i + 1) % 2000 === 0) log(`${i + 1} calls, ${stats.typedErrors} typed errors, ${stats.failureCount} failures, ${Date.now() - started} ms`);
    }

    // After the run: the store still holds exactly the model, and a valid append works.
    current = { kind: 'after the run', variant: 'final checks' };
    try {
      await withTimeout(verifyStore(store, model), 'final full check');
      stats.fullChecks += 1;
      await withTimeout(validAppend('After-1', { type: 'AfterRun', data: { ok: true } }, 'no_stream'), 'valid append after the run');
      await withTimeout(verifyStore(store, model), 'final full check after the append');
      stats.storeWorksAfter = true;
    } catch (e) {
      stats.storeWorksAfter = false;
      if (isPanic(e)) stats.panics += 1;
      fail('store broken after the run', current, `${e?.name}: ${e?.message}`);
    }
    stats.prototypesUnchanged = prototypeState() === protoBefore && ({}).polluted === undefined && [].polluted === undefined;
    if (!stats.prototypesUnchanged) fail('built-in prototypes changed', current, 'Object.prototype / Array.prototype / Function.prototype differ');
  } finally {
    stopWatching();
    await store.close().catch(() => {});
  }
  stats.failures = [...distinct.values()].sort((a, b) => b.count - a.count);
  stats.events = model.events.length;
  stats.elapsedMs = Date.now() - started;
  return stats;
}

class HungError extends Error {
  name = 'HungError';
}

/** A finished run in words: the summary, then each distinct failure with an example. */
export function describeRun(stats) {
  return [
    `${stats.calls} invalid calls in ${stats.elapsedMs} ms: ${stats.typedErrors} expected typed errors, ` +
      `${stats.writes} writes, ${stats.panics} panics, ${stats.escapes} escaped exceptions, ${stats.hangs} hangs, ` +
      `${stats.untyped} untyped errors, ${stats.resolved} succeeded, ${stats.wrongError} wrong errors; ` +
      `${stats.validAppends} valid appends (+${stats.concurrentValidAppends} in the same tick), ` +
      `${stats.validExotic} valid exotic calls (${stats.validExoticFailed} failed), ${stats.fullChecks} full checks, ${stats.events} events`,
    ...stats.failures.flatMap((f) => [`FAILED ${f.count}× ${f.key}`, `    e.g. ${f.example}: ${f.detail}`]),
  ];
}

/**
 * What every run must show, whatever the storage: `assert` is `node:assert/strict`, `calls` the
 * number of invalid calls asked for.
 */
export function assertRunClean(assert, stats, calls) {
  assert.ok(!stats.stoppedEarly, `the run stopped early after ${stats.calls} calls: the store stopped answering`);
  assert.ok(stats.calls >= calls, `${stats.calls} calls run`);
  assert.equal(stats.panics, 0, 'panics');
  assert.equal(stats.escapes, 0, 'exceptions escaping the wasm module (the call never settles)');
  assert.equal(stats.hangs, 0, 'calls that never settled');
  assert.equal(stats.writes, 0, 'invalid calls that changed the store');
  assert.equal(stats.untyped, 0, 'errors that are not AnnalsErrors');
  assert.equal(stats.resolved, 0, 'invalid calls that succeeded');
  assert.equal(stats.wrongError, 0, 'typed errors other than the expected one');
  assert.equal(stats.validExoticFailed, 0, 'valid (exotic) calls that failed');
  assert.equal(stats.failureCount, 0, `${stats.failureCount} failures (${stats.failures.length} distinct), listed above`);
  assert.equal(stats.typedErrors, stats.calls, 'every invalid call ended in its expected typed error');
  assert.ok(stats.prototypesUnchanged, 'Object.prototype, Array.prototype and Function.prototype unchanged');
  assert.equal(stats.storeWorksAfter, true, 'after the run the store holds the model and takes a valid append');
}
