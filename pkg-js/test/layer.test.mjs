// The TypeScript layer on its own, over fake wasm objects: paging, serialisation, closing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PagedIterable } from '../dist/iterable.js';
import { SubscriptionIterator } from '../dist/subscription.js';
import { isInvalidArgumentError, isStorageError } from 'annals';

function rawError(name, fields = {}) {
  return Object.assign(Object.assign(new Error(`${name}!`), { name }), fields);
}

function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

describe('PagedIterable', () => {
  const reader = (pages, log) => ({
    nextPage: async () => { log.calls++; return pages.shift() ?? []; },
  });

  test('opens the read only when iteration starts, and anew for each iteration', async () => {
    const log = { opens: 0, calls: 0 };
    const iterable = new PagedIterable(() => { log.opens++; return reader([[1, 2], [3]], log); });
    assert.equal(log.opens, 0);
    const it = iterable[Symbol.asyncIterator]();
    assert.equal(log.opens, 0);
    assert.deepEqual(await it.next(), { done: false, value: 1 });
    assert.equal(log.opens, 1);
    assert.deepEqual(await iterable.toArray(), [1, 2, 3]);
    assert.equal(log.opens, 2);
  });

  test('break stops paging: no page after the one in use', async () => {
    const log = { calls: 0 };
    const iterable = new PagedIterable(() => reader([[1, 2, 3], [4, 5, 6], [7]], log));
    for await (const v of iterable) if (v === 2) break;
    assert.equal(log.calls, 1);
    const all = await new PagedIterable(() => reader([[1, 2, 3], [4, 5, 6], [7]], log)).toArray();
    assert.deepEqual(all, [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(log.calls, 1 + 4); // three pages and the empty one that ends the read
  });

  test('a synchronous throw from the wasm read is the typed rejection of the first next()', async () => {
    const iterable = new PagedIterable(() => { throw rawError('InvalidArgumentError', { field: 'direction' }); });
    await assert.rejects(iterable.toArray(), (e) => isInvalidArgumentError(e) && e.field === 'direction');
  });

  test('a page that fails rejects typed, then the iteration is over', async () => {
    let n = 0;
    const it = new PagedIterable(() => ({
      nextPage: async () => { if (n++ === 0) return [1]; throw rawError('StorageError', { cause: 'disk' }); },
    }))[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { done: false, value: 1 });
    await assert.rejects(it.next(), (e) => isStorageError(e) && e.cause === 'disk');
    assert.deepEqual(await it.next(), { done: true, value: undefined });
  });

  test('a non-annals error (a wasm trap) passes through untouched', async () => {
    const trap = new WebAssembly.RuntimeError('unreachable');
    const iterable = new PagedIterable(() => ({ nextPage: async () => { throw trap; } }));
    await assert.rejects(iterable.toArray(), (e) => e === trap);
  });

  test('next() calls without waiting are served one page request at a time', async () => {
    let inFlight = 0;
    const pages = [[1], [2], [3]];
    const it = new PagedIterable(() => ({
      nextPage: async () => {
        assert.equal(inFlight++, 0, 'nextPage overlapped');
        await sleep(5);
        inFlight--;
        return pages.shift() ?? [];
      },
    }))[Symbol.asyncIterator]();
    const results = await Promise.all([it.next(), it.next(), it.next(), it.next()]);
    assert.deepEqual(results.map((r) => r.value), [1, 2, 3, undefined]);
  });
});

/** A fake wasm subscription whose next() calls the test settles by hand. */
function fakeSubscription() {
  const fake = {
    position: 0,
    pending: [],
    inFlight: 0,
    closeCalls: 0,
    closeResult: Promise.resolve(),
    // Events already read by the wasm side, handed over by nextBuffered().
    buffered: [],
    nextBuffered() {
      assert.equal(fake.inFlight, 0, 'raw nextBuffered() called while a raw next() is pending');
      return fake.buffered.shift();
    },
    next() {
      assert.equal(fake.inFlight, 0, 'raw next() called before the previous call settled');
      fake.inFlight++;
      const d = deferred();
      fake.pending.push(d);
      return d.promise.finally(() => { fake.inFlight--; });
    },
    close() {
      fake.closeCalls++;
      for (const d of fake.pending.splice(0)) d.resolve(undefined);
      return fake.closeResult;
    },
    deliver(value) { fake.pending.shift().resolve(value); },
  };
  return fake;
}
const until = async (cond) => { while (!cond()) await sleep(1); };

describe('SubscriptionIterator', () => {
  test('serialises next() calls: the raw next() is never called twice at once', async () => {
    const raw = fakeSubscription();
    const sub = new SubscriptionIterator(raw);
    const a = sub.next();
    const b = sub.next();
    await until(() => raw.pending.length === 1);
    raw.deliver({ position: 1 });
    assert.deepEqual(await a, { done: false, value: { position: 1 } });
    await until(() => raw.pending.length === 1);
    raw.deliver({ position: 2 });
    assert.deepEqual(await b, { done: false, value: { position: 2 } });
  });

  test('events already read are handed over by nextBuffered, in order, never past a pending next()', async () => {
    const raw = fakeSubscription();
    const sub = new SubscriptionIterator(raw);
    const a = sub.next();
    await until(() => raw.pending.length === 1);
    raw.buffered.push({ position: 2 }, { position: 3 });
    // a's raw next() is pending: b must queue behind it, not take 2 from the buffer first.
    const b = sub.next();
    raw.deliver({ position: 1 });
    assert.deepEqual(await a, { done: false, value: { position: 1 } });
    assert.deepEqual(await b, { done: false, value: { position: 2 } });
    // Nothing pending: served from the buffer without a raw next().
    assert.deepEqual(await sub.next(), { done: false, value: { position: 3 } });
    assert.equal(raw.pending.length, 0);
    const d = sub.next();
    await until(() => raw.pending.length === 1);
    raw.deliver({ position: 4 });
    assert.deepEqual(await d, { done: false, value: { position: 4 } });
  });

  test('close() ends a pending next() at once; queued ones end too', async () => {
    const raw = fakeSubscription();
    const sub = new SubscriptionIterator(raw);
    const a = sub.next();
    const b = sub.next();
    await until(() => raw.pending.length === 1);
    sub.close();
    assert.deepEqual(await a, { done: true, value: undefined });
    assert.deepEqual(await b, { done: true, value: undefined });
    assert.equal(raw.closeCalls, 1);
    await sub.close();
    assert.equal(raw.closeCalls, 1);
  });

  test('an event that arrives after close() is dropped, not delivered', async () => {
    const raw = fakeSubscription();
    raw.close = () => { raw.closeCalls++; return Promise.resolve(); }; // does not settle the pending next
    const sub = new SubscriptionIterator(raw);
    const a = sub.next();
    await until(() => raw.pending.length === 1);
    sub.close();
    raw.deliver({ position: 9 });
    assert.deepEqual(await a, { done: true, value: undefined });
  });

  test('return() resolves only once the raw close (the checkpoint save) resolved', async () => {
    const raw = fakeSubscription();
    const saved = deferred();
    raw.closeResult = saved.promise;
    const sub = new SubscriptionIterator(raw);
    let returned = false;
    const r = sub.return().then((v) => { returned = true; return v; });
    await sleep(20);
    assert.equal(returned, false);
    saved.resolve();
    assert.deepEqual(await r, { done: true, value: undefined });
  });

  test('a failing checkpoint save: return() and close() reject typed; an ignored close() is no unhandled rejection', async () => {
    const unhandled = [];
    const onUnhandled = (e) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const raw = fakeSubscription();
      raw.closeResult = Promise.reject(rawError('StorageError', { cause: 'disk full' }));
      raw.closeResult.catch(() => {});
      const sub = new SubscriptionIterator(raw);
      sub.close(); // ignored on purpose
      await assert.rejects(sub.close(), (e) => isStorageError(e) && e.cause === 'disk full');
      await assert.rejects(sub.return(), (e) => isStorageError(e));
      await sleep(20);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('a raw next() that fails rejects typed and closes the subscription', async () => {
    const raw = fakeSubscription();
    const sub = new SubscriptionIterator(raw);
    const a = sub.next();
    await until(() => raw.pending.length === 1);
    raw.pending.shift().reject(rawError('StorageError', { cause: 'x' }));
    await assert.rejects(a, (e) => isStorageError(e));
    assert.equal(raw.closeCalls, 1);
    assert.deepEqual(await sub.next(), { done: true, value: undefined });
  });

  test('a raw next() resolving undefined (store closed) ends the iteration without calling close', async () => {
    const raw = fakeSubscription();
    const sub = new SubscriptionIterator(raw);
    const a = sub.next();
    await until(() => raw.pending.length === 1);
    raw.deliver(undefined);
    assert.deepEqual(await a, { done: true, value: undefined });
    await sub.close();
    assert.equal(raw.closeCalls, 0);
  });

  test('abort closes and the listener is removed after close', async () => {
    const raw = fakeSubscription();
    const controller = new AbortController();
    const sub = new SubscriptionIterator(raw, controller.signal);
    const a = sub.next();
    await until(() => raw.pending.length === 1);
    controller.abort();
    assert.deepEqual(await a, { done: true, value: undefined });
    assert.equal(raw.closeCalls, 1);

    const target = new EventTarget();
    let listeners = 0;
    const signal = {
      aborted: false,
      addEventListener: (...args) => { listeners++; target.addEventListener(...args); },
      removeEventListener: (...args) => { listeners--; target.removeEventListener(...args); },
    };
    const other = new SubscriptionIterator(fakeSubscription(), signal);
    assert.equal(listeners, 1);
    await other.close();
    assert.equal(listeners, 0);
  });

  test('an already aborted signal: closed from the start, raw next never called', async () => {
    const raw = fakeSubscription();
    const sub = new SubscriptionIterator(raw, AbortSignal.abort());
    assert.deepEqual(await sub.next(), { done: true, value: undefined });
    assert.equal(raw.inFlight, 0);
    assert.equal(raw.closeCalls, 1);
  });
});
