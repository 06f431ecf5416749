// Appending: expected versions, idempotency, duplicate ids and invalid input (docs/api.md "Appending").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  openStore,
  AnnalsError,
  DuplicateEventIdError,
  InvalidArgumentError,
  WrongExpectedVersionError,
  isAnnalsError,
  isDuplicateEventIdError,
  isInvalidArgumentError,
  isWrongExpectedVersionError,
  isStorageError,
  StorageError,
} from 'annals';

const memory = (options = {}) => openStore({ storage: 'memory', ...options });
const ev = (type = 'Happened', data = {}) => ({ type, data });
const uuid = () => crypto.randomUUID();

/** Awaits a rejection and checks it is `Class`, passes `guard`, and has `fields`. */
async function rejectsWith(promise, Class, guard, fields = {}) {
  let error;
  await assert.rejects(promise, (e) => ((error = e), true));
  assert.ok(error instanceof Class, `expected ${Class.name}, got ${error?.name}: ${error?.message}`);
  assert.ok(error instanceof AnnalsError);
  assert.ok(error instanceof Error);
  assert.ok(guard(error), `${guard.name} is false`);
  assert.ok(isAnnalsError(error));
  assert.equal(error.name, Class.name);
  assert.equal(typeof error.errorCode, 'number');
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length > 0);
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof RegExp) assert.match(String(error[k]), v, `field ${k}`);
    else assert.deepEqual(error[k], v, `field ${k}`);
  }
  return error;
}

/** The whole store's content, for "nothing was written" checks. */
const everything = (store) => store.readAll().toArray();

describe('append basics', () => {
  test('versions start at 1, positions are global and gap-free, one call commits together', async () => {
    const store = await memory();
    assert.deepEqual(await store.append('A-1', [ev('X'), ev('Y')]), { nextExpectedVersion: 2, position: 2 });
    assert.deepEqual(await store.append('B-1', ev('Z', [1, 'two', null, true])), { nextExpectedVersion: 1, position: 3 });
    assert.deepEqual(await store.append('A-1', [ev('W')]), { nextExpectedVersion: 3, position: 4 });
    const all = await everything(store);
    assert.deepEqual(all.map((e) => [e.stream, e.version, e.position, e.type]), [
      ['A-1', 1, 1, 'X'], ['A-1', 2, 2, 'Y'], ['B-1', 1, 3, 'Z'], ['A-1', 3, 4, 'W'],
    ]);
    assert.deepEqual(all[2].data, [1, 'two', null, true]);
    assert.equal(await store.streamVersion('A-1'), 3);
    assert.equal(await store.streamVersion('nobody'), 0);
  });

  test('recorded events carry id, metadata and recordedAt', async () => {
    const store = await memory();
    const id = uuid();
    const before = Date.now();
    await store.append('S-1', { type: 'T', data: { n: 1 }, metadata: { correlationId: 'c1' }, id });
    await store.append('S-1', { type: 'T', data: 'x' });
    const [a, b] = await everything(store);
    assert.equal(a.id, id);
    assert.deepEqual(a.metadata, { correlationId: 'c1' });
    assert.deepEqual(b.metadata, {});
    assert.match(b.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[47][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(a.recordedAt instanceof Date);
    assert.ok(a.recordedAt.getTime() >= before - 1000 && a.recordedAt.getTime() <= Date.now() + 1000);
  });

  test('JSON values round-trip: nested objects, unicode, numbers, empty containers', async () => {
    const store = await memory();
    const data = { s: 'héllo ✓ 🎉', n: -1.5e-7, big: 2 ** 53 - 1, z: 0, t: true, f: false, nil: null, a: [[], {}], o: { 'k y': { deep: [1] } } };
    await store.append('S-1', { type: 'T', data, metadata: { m: [1, { x: null }] } });
    const [e] = await everything(store);
    assert.deepEqual(e.data, data);
    assert.deepEqual(e.metadata, { m: [1, { x: null }] });
    for (const scalar of ['plain', 42, null, false]) {
      await store.append('S-2', { type: 'T', data: scalar });
    }
    assert.deepEqual((await store.readStream('S-2').toArray()).map((e) => e.data), ['plain', 42, null, false]);
  });

  test('stream names: any unicode up to 256 chars, the category convention', async () => {
    const store = await memory();
    for (const name of ['x', 'Order-' + uuid(), 'ünïcødé-✓', 'a'.repeat(256), 'with space', '🎉'.repeat(100)]) {
      await store.append(name, ev());
      assert.equal(await store.streamVersion(name), 1, name);
    }
  });
});

describe('expectedVersion', () => {
  test("'any' (and the default) always passes", async () => {
    const store = await memory();
    await store.append('S-1', ev(), { expectedVersion: 'any' });
    await store.append('S-1', ev());
    await store.append('S-1', ev(), {});
    assert.equal(await store.streamVersion('S-1'), 3);
  });

  test("'no_stream' passes on a new stream, fails on an existing one", async () => {
    const store = await memory();
    assert.equal((await store.append('S-1', ev(), { expectedVersion: 'no_stream' })).nextExpectedVersion, 1);
    const before = await everything(store);
    await rejectsWith(
      store.append('S-1', ev(), { expectedVersion: 'no_stream' }),
      WrongExpectedVersionError, isWrongExpectedVersionError,
      { stream: 'S-1', expected: 'no_stream', actual: 1 },
    );
    assert.deepEqual(await everything(store), before);
  });

  test("'stream_exists' fails on a new stream, passes on an existing one", async () => {
    const store = await memory();
    await rejectsWith(
      store.append('S-1', ev(), { expectedVersion: 'stream_exists' }),
      WrongExpectedVersionError, isWrongExpectedVersionError,
      { stream: 'S-1', expected: 'stream_exists', actual: 0 },
    );
    assert.equal(await store.streamVersion('S-1'), 0);
    assert.deepEqual(await everything(store), []);
    await store.append('S-1', ev());
    assert.deepEqual(await store.append('S-1', ev(), { expectedVersion: 'stream_exists' }), { nextExpectedVersion: 2, position: 2 });
  });

  test('a number n: the last version must be n (0: no events)', async () => {
    const store = await memory();
    await store.append('S-1', ev(), { expectedVersion: 0 });
    await store.append('S-1', [ev(), ev()], { expectedVersion: 1 });
    assert.equal(await store.streamVersion('S-1'), 3);
    const before = await everything(store);
    for (const [expected, actual] of [[2, 3], [4, 3], [0, 3]]) {
      await rejectsWith(
        store.append('S-1', [ev(), ev()], { expectedVersion: expected }),
        WrongExpectedVersionError, isWrongExpectedVersionError,
        { stream: 'S-1', expected, actual },
      );
    }
    await rejectsWith(
      store.append('S-2', ev(), { expectedVersion: 1 }),
      WrongExpectedVersionError, isWrongExpectedVersionError,
      { stream: 'S-2', expected: 1, actual: 0 },
    );
    assert.deepEqual(await everything(store), before);
    await store.append('S-1', ev(), { expectedVersion: 3 });
    assert.equal(await store.streamVersion('S-1'), 4);
  });

  test('optimistic concurrency: of two racing appends at the same version, one wins', async () => {
    const store = await memory();
    await store.append('S-1', ev());
    const results = await Promise.allSettled([
      store.append('S-1', ev('A'), { expectedVersion: 1 }),
      store.append('S-1', ev('B'), { expectedVersion: 1 }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const failed = results.find((r) => r.status === 'rejected');
    assert.ok(isWrongExpectedVersionError(failed.reason));
    assert.equal(failed.reason.actual, 2);
    assert.equal(await store.streamVersion('S-1'), 2);
  });
});

describe('idempotency and duplicate ids', () => {
  test('retrying the same call returns the original result and writes nothing', async () => {
    const store = await memory();
    await store.append('Other-1', ev());
    const events = [{ ...ev('A'), id: uuid() }, { ...ev('B'), id: uuid() }];
    const first = await store.append('S-1', events, { expectedVersion: 'no_stream' });
    assert.deepEqual(first, { nextExpectedVersion: 2, position: 3 });
    const before = await everything(store);
    assert.deepEqual(await store.append('S-1', events, { expectedVersion: 'no_stream' }), first);
    assert.deepEqual(await store.append('S-1', events), first);
    assert.deepEqual(await everything(store), before);
    // Still the original result after the stream moved on.
    await store.append('S-1', ev('C'));
    assert.deepEqual(await store.append('S-1', events), first);
    assert.equal((await everything(store)).length, 4);
    // A single event retried.
    const one = { ...ev('D'), id: uuid() };
    const r = await store.append('S-1', one);
    assert.deepEqual(await store.append('S-1', one), r);
    assert.equal(await store.streamVersion('S-1'), 4);
  });

  test('an id standing for another event: DuplicateEventIdError, nothing written', async () => {
    const store = await memory();
    const a = { ...ev('A', { n: 1 }), id: uuid() };
    const b = { ...ev('B', { n: 2 }), id: uuid() };
    await store.append('S-1', [a, b]);
    const before = await everything(store);
    const cases = [
      ['other stream', 'S-2', [a], a.id],
      ['other place (order swapped)', 'S-1', [b, a], b.id],
      ['other content', 'S-1', [{ ...a, data: { n: 99 } }], a.id],
      ['other type', 'S-1', [{ ...a, type: 'Other' }], a.id],
      ['with a new event after it', 'S-1', [a, b, { ...ev('C'), id: uuid() }], null],
      ['with a new event before it', 'S-1', [{ ...ev('C'), id: uuid() }, a], a.id],
    ];
    for (const [label, stream, events, id] of cases) {
      const e = await rejectsWith(store.append(stream, events), DuplicateEventIdError, isDuplicateEventIdError);
      if (id !== null) assert.equal(e.id, id, label);
      else assert.ok([a.id, b.id].includes(e.id), label);
    }
    assert.deepEqual(await everything(store), before);
  });

  test('the same id twice in one call is rejected and writes nothing', async () => {
    const store = await memory();
    const id = uuid();
    const e = await rejectsWith(store.append('S-1', [{ ...ev(), id }, { ...ev(), id }]), DuplicateEventIdError, isDuplicateEventIdError);
    assert.equal(e.id, id);
    assert.deepEqual(await everything(store), []);
  });
});

describe('invalid input: InvalidArgumentError naming the field, nothing written', () => {
  const cyclic = {};
  cyclic.self = cyclic;
  const cyclicArray = [];
  cyclicArray.push(cyclicArray);

  const cases = [
    ['empty stream', () => ['', ev()], 'stream'],
    ['over-long stream (257)', () => ['a'.repeat(257), ev()], 'stream'],
    ['stream with a control character', () => ['A-\n1', ev()], 'stream'],
    ['stream not a string', () => [42, ev()], 'stream'],
    ['empty type', () => ['S-1', ev('')], 'events[0].type'],
    ['over-long type', () => ['S-1', ev('t'.repeat(257))], 'events[0].type'],
    ['type not a string', () => ['S-1', { type: 7, data: {} }], 'events[0].type'],
    ['missing type', () => ['S-1', { data: {} }], 'events[0].type'],
    ['data undefined', () => ['S-1', { type: 'T', data: undefined }], 'events[0].data'],
    ['data missing', () => ['S-1', { type: 'T' }], 'events[0].data'],
    ['data a function', () => ['S-1', ev('T', () => 1)], 'events[0].data'],
    ['data a Date', () => ['S-1', ev('T', new Date())], 'events[0].data'],
    ['data a cyclic object', () => ['S-1', ev('T', cyclic)], 'events[0].data'],
    ['data a cyclic array', () => ['S-1', ev('T', cyclicArray)], 'events[0].data'],
    ['data NaN', () => ['S-1', ev('T', NaN)], 'events[0].data'],
    ['data Infinity', () => ['S-1', ev('T', Infinity)], 'events[0].data'],
    ['data a bigint', () => ['S-1', ev('T', 10n)], 'events[0].data'],
    ['data a symbol', () => ['S-1', ev('T', Symbol('s'))], 'events[0].data'],
    ['data a Map', () => ['S-1', ev('T', new Map([[1, 2]]))], 'events[0].data'],
    ['NaN nested in data', () => ['S-1', ev('T', { a: [1, NaN] })], 'events[0].data'],
    ['function nested in data', () => ['S-1', ev('T', { f() {} })], 'events[0].data'],
    ['Date nested in data', () => ['S-1', ev('T', { when: new Date() })], 'events[0].data'],
    ['bad data in the second event', () => ['S-1', [ev('T', 1), ev('T', NaN)]], 'events[1].data'],
    ['metadata not an object', () => ['S-1', { type: 'T', data: 1, metadata: 'm' }], 'events[0].metadata'],
    ['metadata with a function', () => ['S-1', { type: 'T', data: 1, metadata: { f: () => 1 } }], 'events[0].metadata'],
    ['empty event list', () => ['S-1', []], 'events'],
    ['events not an event', () => ['S-1', 'nope'], /^events/],
    ['malformed id', () => ['S-1', { ...ev(), id: 'not-a-uuid' }], 'events[0].id'],
    ['id without hyphens', () => ['S-1', { ...ev(), id: crypto.randomUUID().replaceAll('-', '') }], 'events[0].id'],
    ['id not a string', () => ['S-1', { ...ev(), id: 12 }], 'events[0].id'],
    ["expectedVersion 'maybe'", () => ['S-1', ev(), { expectedVersion: 'maybe' }], 'expectedVersion'],
    ['expectedVersion -1', () => ['S-1', ev(), { expectedVersion: -1 }], 'expectedVersion'],
    ['expectedVersion 1.5', () => ['S-1', ev(), { expectedVersion: 1.5 }], 'expectedVersion'],
    ['options not an object', () => ['S-1', ev(), 'any'], 'options'],
  ];

  for (const [label, args, field] of cases) {
    test(label, async () => {
      const store = await memory();
      await store.append('S-1', ev('Seed'));
      const before = await everything(store);
      // Inside data and metadata the field goes on to the offending place: `events[0].data.a[1]`.
      const escaped = typeof field === 'string' ? field.replace(/[[\].]/g, '\\$&') : '';
      const pattern = field instanceof RegExp ? field
        : /\.(data|metadata)$/.test(field) ? new RegExp(`^${escaped}($|[.[])`)
        : new RegExp(`^${escaped}$`);
      await rejectsWith(store.append(...args()), InvalidArgumentError, isInvalidArgumentError, { field: pattern });
      assert.deepEqual(await everything(store), before);
      assert.equal(await store.streamVersion('S-1'), 1);
    });
  }

  test('nesting: 128 levels below the root are allowed, one more is refused (the core\'s limit)', async () => {
    const store = await memory();
    const nest = (levels, leaf) => { let v = leaf; for (let i = 0; i < levels; i++) v = [v]; return v; };
    // The root is at level 0: `nest(128, x)` puts `x` at level 128.
    for (const leaf of [[], {}, 1, 'x']) {
      await store.append('S-1', ev('T', nest(128, leaf)));
      await store.snapshots.save('S-1', { version: 1, state: { s: nest(127, leaf) } });
    }
    const stored = await store.readStream('S-1').toArray();
    assert.deepEqual(stored.map((e) => e.data), [[], {}, 1, 'x'].map((leaf) => nest(128, leaf)));
    for (const leaf of [[], {}, 1, null]) {
      const error = await rejectsWith(store.append('S-1', ev('T', nest(129, leaf))), InvalidArgumentError, isInvalidArgumentError, { field: 'events[0].data' });
      assert.match(error.message, /deeper than 128 levels/);
      await rejectsWith(store.snapshots.save('S-1', { version: 1, state: nest(129, leaf) }), InvalidArgumentError, isInvalidArgumentError, { field: 'snapshot.state' });
    }
    assert.equal(await store.streamVersion('S-1'), 4);
  });

  test('an event over maxEventBytes, next to a valid one, writes nothing', async () => {
    const store = await memory({ maxEventBytes: 1000 });
    await store.append('S-1', ev('T', 'x'.repeat(900)));
    await rejectsWith(
      store.append('S-1', [ev('T', 'ok'), ev('T', 'x'.repeat(2000))]),
      InvalidArgumentError, isInvalidArgumentError, { field: /^events\[1\]/ },
    );
    await rejectsWith(
      store.append('S-1', { type: 'T', data: 1, metadata: { pad: 'y'.repeat(2000) } }),
      InvalidArgumentError, isInvalidArgumentError, { field: /^events\[0\]/ },
    );
    assert.equal((await everything(store)).length, 1);
    assert.equal(await store.streamVersion('S-1'), 1);
  });

  test('the default maxEventBytes is 1 MiB', async () => {
    const store = await memory();
    await store.append('S-1', ev('T', 'x'.repeat(1000 * 1000)));
    await rejectsWith(store.append('S-1', ev('T', 'x'.repeat(1100 * 1024))), InvalidArgumentError, isInvalidArgumentError, { field: /^events\[0\]/ });
    assert.equal(await store.streamVersion('S-1'), 1);
  });

  test('streamVersion rejects an invalid stream name', async () => {
    const store = await memory();
    await rejectsWith(store.streamVersion(''), InvalidArgumentError, isInvalidArgumentError, { field: 'stream' });
    await rejectsWith(store.streamVersion('a'.repeat(257)), InvalidArgumentError, isInvalidArgumentError, { field: 'stream' });
  });
});

describe('openStore options', () => {
  const cases = [
    ["storage 'disk'", { storage: 'disk' }, 'storage'],
    ['maxEventBytes 0', { maxEventBytes: 0 }, 'maxEventBytes'],
    ['maxEventBytes -5', { maxEventBytes: -5 }, 'maxEventBytes'],
    ['maxEventBytes a string', { maxEventBytes: '1k' }, 'maxEventBytes'],
    ['name empty', { name: '' }, 'name'],
    ['name not a string', { name: 3 }, 'name'],
  ];
  for (const [label, options, field] of cases) {
    test(label, async () => {
      await rejectsWith(openStore({ storage: 'memory', ...options }), InvalidArgumentError, isInvalidArgumentError, { field });
    });
  }
  test("'auto' and no options at all open a memory store in Node", async () => {
    for (const store of [await openStore(), await openStore({ storage: 'auto', name: 'x' })]) {
      await store.append('S-1', ev());
      assert.equal(await store.streamVersion('S-1'), 1);
      await store.close();
    }
  });
  test("'indexeddb' where there is none (Node): StorageError", async () => {
    await assert.rejects(openStore({ storage: 'indexeddb' }), (e) => isStorageError(e) && e instanceof StorageError && e.name === 'StorageError');
  });
  test('two memory stores with one name share nothing', async () => {
    const a = await openStore({ storage: 'memory', name: 'same' });
    const b = await openStore({ storage: 'memory', name: 'same' });
    await a.append('S-1', ev());
    assert.equal(await b.streamVersion('S-1'), 0);
  });
});

// JS strings may hold lone surrogates (not Unicode scalar values). JSON.stringify keeps them
// (as \ud800 escapes). The store must either keep such a string exactly or refuse it with an
// InvalidArgumentError; replacing it silently (by U+FFFD) merges distinct names and keys.
describe('strings with lone surrogates: kept exactly or refused, never altered', () => {
  /** Appends; returns 'refused' on InvalidArgumentError (nothing written), else 'stored'. */
  async function tryAppend(store, stream, event) {
    try {
      await store.append(stream, event);
      return 'stored';
    } catch (e) {
      assert.ok(isInvalidArgumentError(e), `${e?.name}: ${e?.message}`);
      return 'refused';
    }
  }

  test('stream names: two different names stay two streams', async () => {
    const store = await memory();
    const outcomes = [await tryAppend(store, 'A-\uD800', ev()), await tryAppend(store, 'A-\uDC00', ev())];
    const all = await everything(store);
    if (outcomes[0] === 'stored') assert.equal(await store.streamVersion('A-\uD800'), 1);
    if (outcomes[1] === 'stored') assert.equal(await store.streamVersion('A-\uDC00'), 1);
    assert.equal(await store.streamVersion('A-\uFFFD'), 0, 'a third name was written to');
    assert.deepEqual(all.map((e) => e.stream), ['A-\uD800', 'A-\uDC00'].filter((_, k) => outcomes[k] === 'stored'));
  });

  test('types', async () => {
    const store = await memory();
    if ((await tryAppend(store, 'S-1', ev('T\uD800'))) === 'stored') {
      assert.equal((await everything(store))[0].type, 'T\uD800');
    }
  });

  test('data: strings and object keys', async () => {
    const store = await memory();
    const data = { 'k\uD800': 1, 'k\uDC00': 2, s: 'x\uDC00y' };
    if ((await tryAppend(store, 'S-1', ev('T', data))) === 'stored') {
      assert.deepEqual((await everything(store))[0].data, data);
    } else {
      assert.deepEqual(await everything(store), []);
    }
  });
});
