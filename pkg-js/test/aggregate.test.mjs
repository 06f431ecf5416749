// aggregateStream: folding a stream into a state, from the latest snapshot (docs/api.md "Aggregates").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openStore, InvalidArgumentError, StoreClosedError } from 'annals';

const memory = (options = {}) => openStore({ storage: 'memory', ...options });
const added = (sku, qty) => ({ type: 'ItemAdded', data: { sku, qty } });

/** A cart's state: quantities by sku; counts the events folded. */
function cart() {
  const calls = { initial: 0, evolve: 0 };
  return {
    calls,
    options: {
      initialState: () => { calls.initial++; return { items: {} }; },
      evolve: (state, e) => {
        calls.evolve++;
        const items = { ...state.items };
        if (e.type === 'ItemAdded') items[e.data.sku] = (items[e.data.sku] ?? 0) + e.data.qty;
        if (e.type === 'ItemRemoved') delete items[e.data.sku];
        return { items };
      },
    },
  };
}

describe('aggregateStream', () => {
  test('folds every event in version order; an empty stream is the initial state at version 0', async () => {
    const store = await memory();
    await store.append('Cart-1', [added('tea', 2), added('milk', 1), { type: 'ItemRemoved', data: { sku: 'milk' } }]);
    await store.append('Cart-1', added('tea', 1));
    const { calls, options } = cart();
    assert.deepEqual(await store.aggregateStream('Cart-1', options), { state: { items: { tea: 3 } }, version: 4 });
    assert.deepEqual(calls, { initial: 1, evolve: 4 });
    assert.deepEqual(await store.aggregateStream('Cart-2', cart().options), { state: { items: {} }, version: 0 });
  });

  test('the version is what to expect when appending the decision', async () => {
    const store = await memory();
    await store.append('Cart-1', added('tea', 1));
    const { version } = await store.aggregateStream('Cart-1', cart().options);
    await store.append('Cart-1', added('tea', 1), { expectedVersion: version });
    await assert.rejects(store.append('Cart-1', added('tea', 1), { expectedVersion: version }), { name: 'WrongExpectedVersionError' });
  });

  test('starts from the latest snapshot: only later events are folded', async () => {
    const store = await memory();
    await store.append('Cart-1', [added('tea', 1), added('tea', 1), added('milk', 5)]);
    await store.snapshots.save('Cart-1', { version: 2, state: { items: { tea: 10 } } });
    const { calls, options } = cart();
    assert.deepEqual(await store.aggregateStream('Cart-1', options), { state: { items: { tea: 10, milk: 5 } }, version: 3 });
    assert.deepEqual(calls, { initial: 0, evolve: 1 });
  });

  test('snapshotEvery: a snapshot once that many events were folded since the one it started from', async () => {
    const store = await memory();
    await store.append('Cart-1', [added('a', 1), added('b', 1), added('c', 1)]);
    const { calls, options } = cart();
    await store.aggregateStream('Cart-1', { ...options, snapshotEvery: 5 });
    assert.equal(await store.snapshots.load('Cart-1'), undefined, '3 events folded: no snapshot yet');
    await store.append('Cart-1', [added('d', 1), added('e', 1)]);
    const first = await store.aggregateStream('Cart-1', { ...options, snapshotEvery: 5 });
    assert.deepEqual(await store.snapshots.load('Cart-1'), { version: 5, state: first.state });
    calls.evolve = 0;
    await store.append('Cart-1', added('f', 1));
    const next = await store.aggregateStream('Cart-1', { ...options, snapshotEvery: 5 });
    assert.equal(calls.evolve, 1, 'from the snapshot at version 5');
    assert.deepEqual(next, { state: { items: { a: 1, b: 1, c: 1, d: 1, e: 1, f: 1 } }, version: 6 });
    assert.equal((await store.snapshots.load('Cart-1')).version, 5, '1 event since the snapshot: none saved');
  });

  test('a state that is not JSON-compatible cannot be saved as a snapshot', async () => {
    const store = await memory();
    await store.append('S-1', added('a', 1));
    const options = { initialState: () => new Map(), evolve: (m, e) => m.set(e.data.sku, e.data.qty), snapshotEvery: 1 };
    await assert.rejects(store.aggregateStream('S-1', options), (e) => e instanceof InvalidArgumentError && e.field.startsWith('snapshot.state'));
    const { state } = await store.aggregateStream('S-1', { ...options, snapshotEvery: undefined });
    assert.deepEqual([...state], [['a', 1]]);
  });

  test('invalid arguments and a closed store reject, typed', async () => {
    const store = await memory();
    const { options } = cart();
    for (const [args, field] of [
      [['', options], 'stream'],
      [['S-1', null], 'options'],
      [['S-1', { evolve: options.evolve }], 'initialState'],
      [['S-1', { initialState: options.initialState, evolve: 1 }], 'evolve'],
      [['S-1', { ...options, snapshotEvery: 0 }], 'snapshotEvery'],
      [['S-1', { ...options, snapshotEvery: 2.5 }], 'snapshotEvery'],
    ]) {
      await assert.rejects(store.aggregateStream(...args), (e) => e instanceof InvalidArgumentError && e.field === field, field);
    }
    await store.close();
    await assert.rejects(store.aggregateStream('S-1', options), StoreClosedError);
  });
});
