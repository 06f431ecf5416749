// Upcasters: read-time schema evolution, the same for reads, subscriptions and aggregates;
// stored events never rewritten (docs/api.md "Schema evolution").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openStore, InvalidArgumentError } from 'annals';

/** v1 `ItemAdded { product, count }` became `{ sku, qty }`; `Renamed` became `ItemRenamed`. */
const upcasters = {
  ItemAdded: (e) => ('product' in e.data ? { type: 'ItemAdded', data: { sku: e.data.product, qty: e.data.count } } : e),
  ItemAddedV0: (e) => ({ type: 'ItemAdded', data: { product: e.data.name, count: 1 }, metadata: { ...e.metadata, upcastFrom: 'ItemAddedV0' } }),
  Renamed: (e) => ({ type: 'ItemRenamed', data: e.data }),
};

/** The store's export as one text. */
async function exportText(store) {
  let text = '';
  for await (const chunk of store.export()) text += chunk;
  return text;
}

async function store() {
  const raw = await openStore({ storage: 'memory', name: 'shared-by-export' });
  await raw.append('Cart-1', [
    { type: 'ItemAddedV0', data: { name: 'tea' }, metadata: { by: 'v0' } },
    { type: 'ItemAdded', data: { product: 'milk', count: 2 } },
    { type: 'ItemAdded', data: { sku: 'jam', qty: 1 } },
    { type: 'Renamed', data: { from: 'jam', to: 'jelly' } },
  ]);
  const text = await exportText(raw);
  const upcast = await openStore({ storage: 'memory', upcasters });
  await upcast.import(text);
  return { raw, upcast };
}

const shapes = (events) => events.map((e) => [e.type, e.data]);
const EXPECTED = [
  ['ItemAdded', { sku: 'tea', qty: 1 }],
  ['ItemAdded', { sku: 'milk', qty: 2 }],
  ['ItemAdded', { sku: 'jam', qty: 1 }],
  ['ItemRenamed', { from: 'jam', to: 'jelly' }],
];

describe('upcasters', () => {
  test('reads of a stream and of the global order yield upcast events, chained, identity kept', async () => {
    const { raw, upcast } = await store();
    const stored = await raw.readStream('Cart-1').toArray();
    const read = await upcast.readStream('Cart-1').toArray();
    assert.deepEqual(shapes(read), EXPECTED);
    assert.deepEqual(shapes(await upcast.readAll().toArray()), EXPECTED);
    assert.deepEqual(shapes(await upcast.readStream('Cart-1', { direction: 'backward' }).toArray()), [...EXPECTED].reverse());
    for (const [i, e] of read.entries()) {
      for (const key of ['id', 'stream', 'version', 'position', 'serverPosition']) assert.deepEqual(e[key], stored[i][key], key);
      assert.equal(e.recordedAt.getTime(), stored[i].recordedAt.getTime());
    }
    assert.deepEqual(read[0].metadata, { by: 'v0', upcastFrom: 'ItemAddedV0' }, 'metadata returned by an upcaster');
    assert.deepEqual(read[1].metadata, {}, 'metadata kept when not returned');
  });

  test('stored events are never rewritten: the export holds them as appended', async () => {
    const { raw, upcast } = await store();
    const lines = (await exportText(upcast)).trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.type, l.data]), shapes(await raw.readAll().toArray()));
  });

  test('subscriptions deliver upcast events, catch-up and live', async () => {
    const { upcast } = await store();
    const sub = upcast.subscribe();
    const got = [];
    for await (const e of sub) {
      got.push([e.type, e.data]);
      if (got.length === 4) await upcast.append('Cart-1', { type: 'ItemAdded', data: { product: 'rice', count: 3 } });
      if (got.length === 5) break;
    }
    assert.deepEqual(got, [...EXPECTED, ['ItemAdded', { sku: 'rice', qty: 3 }]]);
  });

  test('aggregateStream folds upcast events', async () => {
    const { upcast } = await store();
    const { state, version } = await upcast.aggregateStream('Cart-1', {
      initialState: () => ({}),
      evolve: (s, e) => (e.type === 'ItemAdded' ? { ...s, [e.data.sku]: (s[e.data.sku] ?? 0) + e.data.qty } : s),
    });
    assert.deepEqual({ state, version }, { state: { tea: 1, milk: 2, jam: 1 }, version: 4 });
  });

  test('type filters select by the stored type', async () => {
    const { upcast } = await store();
    assert.deepEqual(shapes(await upcast.readAll({ types: ['Renamed'] }).toArray()), [['ItemRenamed', { from: 'jam', to: 'jelly' }]]);
    assert.deepEqual(shapes(await upcast.readAll({ types: ['ItemRenamed'] }).toArray()), []);
  });

  test('an upcaster that returns no event fails the read with InvalidArgumentError naming it', async () => {
    const store = await openStore({ storage: 'memory', upcasters: { T: () => undefined } });
    await store.append('S-1', { type: 'T', data: 1 });
    await assert.rejects(store.readAll().toArray(), (e) => e instanceof InvalidArgumentError && e.field === 'upcasters.T');
  });

  test('an upcaster that throws ends a subscription with its error; the event comes again from the checkpoint', async () => {
    let broken = true;
    const boom = new Error('bad upcaster');
    const store = await openStore({ storage: 'memory', upcasters: { T: (e) => { if (broken && e.data === 2) throw boom; return e; } } });
    await store.append('S-1', [{ type: 'T', data: 1 }, { type: 'T', data: 2 }]);
    const seen = [];
    await assert.rejects(async () => { for await (const e of store.subscribe({ checkpoint: 'c' })) seen.push(e.data); }, (e) => e === boom);
    assert.deepEqual(seen, [1]);
    broken = false;
    const again = [];
    for await (const e of store.subscribe({ checkpoint: 'c' })) { again.push(e.data); break; }
    assert.deepEqual(again, [2]);
  });

  test('the option must be an object of functions', async () => {
    for (const [upcasters, field] of [[[], 'upcasters'], ['x', 'upcasters'], [null, 'upcasters'], [{ T: 1 }, 'upcasters.T']]) {
      await assert.rejects(openStore({ storage: 'memory', upcasters }), (e) => e instanceof InvalidArgumentError && e.field === field, field);
    }
  });
});
