// Checkpoints, snapshots, closing the store (docs/api.md "Checkpoints and snapshots", "Closing").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  openStore,
  InvalidArgumentError,
  StoreClosedError,
  isInvalidArgumentError,
  isStoreClosedError,
  isAnnalsError,
} from 'annals';

const memory = () => openStore({ storage: 'memory' });
const isInvalid = (field) => (e) =>
  e instanceof InvalidArgumentError && isInvalidArgumentError(e) && e.name === 'InvalidArgumentError' && e.field === field;

describe('checkpoints', () => {
  test('get is undefined until set; set overwrites; names are independent', async () => {
    const store = await memory();
    assert.equal(await store.checkpoints.get('a'), undefined);
    await store.checkpoints.set('a', 0);
    assert.equal(await store.checkpoints.get('a'), 0);
    await store.checkpoints.set('a', 42);
    await store.checkpoints.set('b', 7);
    assert.equal(await store.checkpoints.get('a'), 42);
    assert.equal(await store.checkpoints.get('b'), 7);
    await store.checkpoints.set('a', 3); // going back is allowed: the consumer owns its position
    assert.equal(await store.checkpoints.get('a'), 3);
  });

  test('invalid names and positions', async () => {
    const store = await memory();
    await assert.rejects(store.checkpoints.get(''), isInvalid('name'));
    await assert.rejects(store.checkpoints.get(5), isInvalid('name'));
    await assert.rejects(store.checkpoints.set('', 1), isInvalid('name'));
    await assert.rejects(store.checkpoints.set('a', -1), isInvalid('position'));
    await assert.rejects(store.checkpoints.set('a', 1.5), isInvalid('position'));
    await assert.rejects(store.checkpoints.set('a', '1'), isInvalid('position'));
    assert.equal(await store.checkpoints.get('a'), undefined);
  });
});

describe('snapshots', () => {
  test('save and load; a later save replaces', async () => {
    const store = await memory();
    assert.equal(await store.snapshots.load('Order-1'), undefined);
    await store.append('Order-1', Array.from({ length: 5 }, () => ({ type: 'T', data: 1 })));
    const state = { total: 12.5, lines: [{ sku: 'a', qty: 2 }], note: null };
    await store.snapshots.save('Order-1', { version: 3, state });
    assert.deepEqual(await store.snapshots.load('Order-1'), { version: 3, state });
    await store.snapshots.save('Order-1', { version: 5, state: 'plain' });
    assert.deepEqual(await store.snapshots.load('Order-1'), { version: 5, state: 'plain' });
    assert.equal(await store.snapshots.load('Order-2'), undefined);
  });

  test('a version beyond the stream: InvalidArgumentError, nothing saved', async () => {
    const store = await memory();
    await assert.rejects(store.snapshots.save('Order-1', { version: 1, state: {} }), isInvalid('snapshot.version'));
    await store.append('Order-1', [{ type: 'T', data: 1 }, { type: 'T', data: 2 }]);
    await store.snapshots.save('Order-1', { version: 2, state: { v: 2 } });
    await assert.rejects(store.snapshots.save('Order-1', { version: 3, state: {} }), isInvalid('snapshot.version'));
    assert.deepEqual(await store.snapshots.load('Order-1'), { version: 2, state: { v: 2 } });
    assert.equal(await store.snapshots.load('Empty-1'), undefined);
  });

  test('invalid snapshots', async () => {
    const store = await memory();
    await store.append('S-1', { type: 'T', data: 1 });
    const cyclic = {};
    cyclic.me = cyclic;
    await assert.rejects(store.snapshots.save('S-1', null), isInvalid('snapshot'));
    await assert.rejects(store.snapshots.save('S-1', 'state'), isInvalid('snapshot'));
    await assert.rejects(store.snapshots.save('S-1', { version: -1, state: {} }), isInvalid('snapshot.version'));
    await assert.rejects(store.snapshots.save('S-1', { version: 1, state: () => 1 }), (e) => isInvalidArgumentError(e) && e.field.startsWith('snapshot.state'));
    await assert.rejects(store.snapshots.save('S-1', { version: 1, state: cyclic }), (e) => isInvalidArgumentError(e) && e.field.startsWith('snapshot.state'));
    await assert.rejects(store.snapshots.save('S-1', { version: 1, state: NaN }), (e) => isInvalidArgumentError(e) && e.field.startsWith('snapshot.state'));
    await assert.rejects(store.snapshots.save('', { version: 0, state: {} }), isInvalid('stream'));
    await assert.rejects(store.snapshots.load(''), isInvalid('stream'));
    assert.equal(await store.snapshots.load('S-1'), undefined);
  });
});

describe('storage', () => {
  test("says what the store keeps its events in: 'auto' and no options pick memory in Node", async () => {
    for (const options of [undefined, {}, { storage: 'auto' }, { storage: 'memory' }]) {
      const store = await openStore(options);
      assert.equal(store.storage, 'memory', JSON.stringify(options));
      await store.close();
    }
  });
});

describe('close', () => {
  test('later calls reject with StoreClosedError; read and subscribe too', async () => {
    const store = await memory();
    await store.append('S-1', { type: 'T', data: 1 });
    await store.close();
    const closed = (e) => e instanceof StoreClosedError && isStoreClosedError(e) && isAnnalsError(e) && e.name === 'StoreClosedError' && e.errorCode === 410 && e.reason === 'close';
    await assert.rejects(store.append('S-1', { type: 'T', data: 1 }), closed);
    await assert.rejects(store.streamVersion('S-1'), closed);
    await assert.rejects(store.readStream('S-1').toArray(), closed);
    await assert.rejects(store.readAll().toArray(), closed);
    await assert.rejects(store.checkpoints.get('a'), closed);
    await assert.rejects(store.checkpoints.set('a', 1), closed);
    await assert.rejects(store.snapshots.save('S-1', { version: 1, state: {} }), closed);
    await assert.rejects(store.snapshots.load('S-1'), closed);
    assert.throws(() => store.subscribe(), closed);
    assert.throws(() => store.subscribe({ after: 'end', checkpoint: 'x' }), closed);
  });

  test('close twice is harmless', async () => {
    const store = await memory();
    await store.close();
    await store.close();
  });

  test('an append in flight when close is called either commits or rejects typed', async () => {
    const store = await memory();
    const appends = Array.from({ length: 20 }, (_, k) => store.append('S-1', { type: 'T', data: k }));
    const closing = store.close();
    const results = await Promise.allSettled(appends);
    await closing;
    for (const r of results) if (r.status === 'rejected') assert.ok(isStoreClosedError(r.reason), r.reason?.message);
  });
});
