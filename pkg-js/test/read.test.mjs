// Paged reads over 10k events against a plain reference model (docs/api.md "Reading").
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { openStore, InvalidArgumentError, isInvalidArgumentError, isStoreClosedError, StoreClosedError } from 'annals';

const TYPES = ['Placed', 'Shipped', 'Cancelled'];
const CATEGORIES = ['Order', 'Cart', 'OrderLine'];
let store;
/** Reference model: every event in position order. */
const model = [];
const brief = (e) => [e.stream, e.version, e.position, e.type, e.data.i];
const briefs = (list) => list.map(brief);

before(async () => {
  store = await openStore({ storage: 'memory' });
  const versions = new Map();
  let i = 0;
  for (let call = 0; call < 1000; call++) {
    // One big stream (Order-big) and many small ones, appended 10 at a time.
    const stream = call % 4 === 0 ? 'Order-big' : `${CATEGORIES[call % 3]}-${call % 37}`;
    const events = [];
    for (let k = 0; k < 10; k++, i++) {
      const type = TYPES[(i * 7 + k) % 3];
      events.push({ type, data: { i } });
      const version = (versions.get(stream) ?? 0) + 1;
      versions.set(stream, version);
      model.push({ stream, version, position: i + 1, type, data: { i } });
    }
    await store.append(stream, events);
  }
  assert.equal(model.length, 10_000);
});

describe('readAll', () => {
  test('forward: all 10k events, positions 1..10000 with no gap', async () => {
    const all = await store.readAll().toArray();
    assert.equal(all.length, 10_000);
    assert.deepEqual(briefs(all), briefs(model));
    all.forEach((e, k) => assert.equal(e.position, k + 1));
  });

  test('for await pages through the same events; the iterable can be iterated again', async () => {
    const read = store.readAll();
    for (let round = 0; round < 2; round++) {
      let n = 0;
      for await (const e of read) {
        assert.equal(e.position, ++n);
      }
      assert.equal(n, 10_000);
    }
  });

  test('backward: newest first', async () => {
    assert.deepEqual(briefs(await store.readAll({ direction: 'backward' }).toArray()), briefs([...model].reverse()));
  });

  test('explicit forward equals the default', async () => {
    assert.deepEqual(briefs(await store.readAll({ direction: 'forward', after: 0 }).toArray()), briefs(model));
  });

  test('after: only positions above it, both directions', async () => {
    for (const after of [1, 999, 1000, 1001, 5555, 9999, 10_000, 20_000]) {
      const expected = model.filter((e) => e.position > after);
      assert.deepEqual(briefs(await store.readAll({ after }).toArray()), briefs(expected), `after ${after}`);
      assert.deepEqual(briefs(await store.readAll({ after, direction: 'backward' }).toArray()), briefs([...expected].reverse()), `after ${after} backward`);
    }
  });

  test('limit caps the events yielded', async () => {
    for (const limit of [1, 7, 999, 1000, 1001, 2500, 10_000, 12_000]) {
      assert.deepEqual(briefs(await store.readAll({ limit }).toArray()), briefs(model.slice(0, limit)), `limit ${limit}`);
      assert.deepEqual(briefs(await store.readAll({ limit, direction: 'backward' }).toArray()), briefs([...model].reverse().slice(0, limit)), `limit ${limit} backward`);
    }
    assert.deepEqual(briefs(await store.readAll({ after: 4000, limit: 3 }).toArray()), briefs(model.slice(4000, 4003)));
  });

  test('types filter', async () => {
    for (const types of [['Placed'], ['Shipped', 'Cancelled'], ['Nothing'], ['Placed', 'Nothing']]) {
      const expected = model.filter((e) => types.includes(e.type));
      assert.deepEqual(briefs(await store.readAll({ types }).toArray()), briefs(expected), types.join());
    }
  });

  test('streamPrefix filter (a category)', async () => {
    for (const prefix of ['Order-', 'Order', 'Cart-', 'OrderLine-', 'Order-big', 'Nope-']) {
      const expected = model.filter((e) => e.stream.startsWith(prefix));
      assert.deepEqual(briefs(await store.readAll({ streamPrefix: prefix }).toArray()), briefs(expected), prefix);
    }
  });

  test('streams filter: exact names, where a prefix also takes longer names', async () => {
    for (const streams of [['Order-1'], ['Order-1', 'Cart-2'], ['Order-big'], ['Nope-1']]) {
      const expected = model.filter((e) => streams.includes(e.stream));
      assert.deepEqual(briefs(await store.readAll({ streams }).toArray()), briefs(expected), streams.join());
    }
    const exact = await store.readAll({ streams: ['Order-1'] }).toArray();
    const prefixed = await store.readAll({ streamPrefix: 'Order-1' }).toArray();
    assert.deepEqual(new Set(exact.map((e) => e.stream)), new Set(['Order-1']));
    assert.ok(prefixed.some((e) => e.stream === 'Order-10'), 'the prefix takes Order-10 too');
  });

  test('filters, after, limit and direction combined', async () => {
    const match = (e) => e.type === 'Shipped' && e.stream.startsWith('Cart-') && e.position > 3000;
    const expected = model.filter(match);
    const options = { types: ['Shipped'], streamPrefix: 'Cart-', after: 3000 };
    assert.deepEqual(briefs(await store.readAll(options).toArray()), briefs(expected));
    assert.deepEqual(briefs(await store.readAll({ ...options, limit: 50 }).toArray()), briefs(expected.slice(0, 50)));
    assert.deepEqual(briefs(await store.readAll({ ...options, limit: 50, direction: 'backward' }).toArray()), briefs([...expected].reverse().slice(0, 50)));
  });

  test('break stops the read early', async () => {
    let n = 0;
    for await (const e of store.readAll()) {
      if (++n === 1500) break;
      assert.equal(e.position, n);
    }
    assert.equal(n, 1500);
  });
});

describe('readStream', () => {
  const big = () => model.filter((e) => e.stream === 'Order-big');

  test('forward over a 2500-event stream', async () => {
    assert.equal(big().length, 2500);
    const got = await store.readStream('Order-big').toArray();
    assert.deepEqual(briefs(got), briefs(big()));
    got.forEach((e, k) => assert.equal(e.version, k + 1));
  });

  test('backward starts at the last version and goes down', async () => {
    assert.deepEqual(briefs(await store.readStream('Order-big', { direction: 'backward' }).toArray()), briefs(big().reverse()));
  });

  test('fromVersion is inclusive, both directions', async () => {
    for (const from of [1, 2, 1000, 1001, 2500, 2600]) {
      assert.deepEqual(briefs(await store.readStream('Order-big', { fromVersion: from }).toArray()), briefs(big().filter((e) => e.version >= from)), `from ${from}`);
      assert.deepEqual(
        briefs(await store.readStream('Order-big', { fromVersion: from, direction: 'backward' }).toArray()),
        briefs(big().filter((e) => e.version <= from).reverse()),
        `from ${from} backward`,
      );
    }
  });

  test('limit', async () => {
    assert.deepEqual(briefs(await store.readStream('Order-big', { limit: 1001 }).toArray()), briefs(big().slice(0, 1001)));
    assert.deepEqual(briefs(await store.readStream('Order-big', { limit: 5, fromVersion: 10 }).toArray()), briefs(big().slice(9, 14)));
    assert.deepEqual(briefs(await store.readStream('Order-big', { limit: 2, direction: 'backward' }).toArray()), briefs(big().reverse().slice(0, 2)));
  });

  test('a small stream, and one that does not exist', async () => {
    assert.deepEqual(briefs(await store.readStream('Cart-1').toArray()), briefs(model.filter((e) => e.stream === 'Cart-1')));
    assert.deepEqual(await store.readStream('Nobody-1').toArray(), []);
    assert.deepEqual(await store.readStream('Nobody-1', { direction: 'backward' }).toArray(), []);
  });
});

describe('invalid read arguments: the first next() rejects, typed', () => {
  const cases = [
    ['readAll direction sideways', () => store.readAll({ direction: 'sideways' }), 'direction'],
    ['readAll after -1', () => store.readAll({ after: -1 }), 'after'],
    ['readAll after 1.5', () => store.readAll({ after: 1.5 }), 'after'],
    ["readAll after 'end'", () => store.readAll({ after: 'end' }), 'after'],
    ['readAll limit -1', () => store.readAll({ limit: -1 }), 'limit'],
    ['readAll limit a string', () => store.readAll({ limit: '5' }), 'limit'],
    ['readAll types not an array', () => store.readAll({ types: 'Placed' }), 'types'],
    ['readAll types empty', () => store.readAll({ types: [] }), 'types'],
    ['readAll streamPrefix a number', () => store.readAll({ streamPrefix: 5 }), 'streamPrefix'],
    ['readAll streams not an array', () => store.readAll({ streams: 'Order-1' }), 'streams'],
    ['readAll streams empty', () => store.readAll({ streams: [] }), 'streams'],
    ['readAll streams holding a number', () => store.readAll({ streams: ['Order-1', 7] }), 'streams[1]'],
    ['readAll streams holding an empty name', () => store.readAll({ streams: [''] }), 'streams[0]'],
    ['readAll options a string', () => store.readAll('forward'), 'options'],
    ['readStream empty stream', () => store.readStream(''), 'stream'],
    ['readStream over-long stream', () => store.readStream('s'.repeat(257)), 'stream'],
    ['readStream direction sideways', () => store.readStream('Order-big', { direction: 'sideways' }), 'direction'],
    ['readStream fromVersion -2', () => store.readStream('Order-big', { fromVersion: -2 }), 'fromVersion'],
    ['readStream limit 2.5', () => store.readStream('Order-big', { limit: 2.5 }), 'limit'],
  ];
  for (const [label, read, field] of cases) {
    test(label, async () => {
      const iterable = read(); // lazy: does not throw
      const check = (e) => e instanceof InvalidArgumentError && isInvalidArgumentError(e) && e.name === 'InvalidArgumentError' && e.field === field;
      await assert.rejects(iterable[Symbol.asyncIterator]().next(), check);
      await assert.rejects(iterable.toArray(), check);
      await assert.rejects(async () => { for await (const _ of iterable); }, check);
    });
  }
});

describe('reads on a closed store', () => {
  test('are lazy and reject with StoreClosedError when iterated', async () => {
    const s = await openStore({ storage: 'memory' });
    await s.append('S-1', { type: 'T', data: 1 });
    await s.close();
    const read = s.readAll();
    await assert.rejects(read.toArray(), (e) => e instanceof StoreClosedError && isStoreClosedError(e));
    await assert.rejects(s.readStream('S-1').toArray(), (e) => isStoreClosedError(e));
  });

  test('a read in progress when the store closes ends with StoreClosedError or stops; never a crash', async () => {
    const s = await openStore({ storage: 'memory' });
    for (let k = 0; k < 30; k++) await s.append('S-1', Array.from({ length: 100 }, () => ({ type: 'T', data: k })));
    const it = s.readAll()[Symbol.asyncIterator]();
    assert.equal((await it.next()).value.position, 1);
    await s.close();
    let n = 1;
    try {
      while (!(await it.next()).done) n++;
    } catch (e) {
      assert.ok(isStoreClosedError(e), `unexpected ${e?.name}: ${e?.message}`);
    }
    assert.ok(n <= 3000);
  });
});
