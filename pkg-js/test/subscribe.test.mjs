// Subscriptions: catch-up then live, 'end', checkpoints, closing (docs/api.md "Subscribing").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  openStore,
  InvalidArgumentError,
  StoreClosedError,
  isInvalidArgumentError,
  isStoreClosedError,
} from 'annals';

const memory = () => openStore({ storage: 'memory' });
const batch = (n, type = 'T', from = 0) => Array.from({ length: n }, (_, k) => ({ type, data: { k: from + k } }));

/** Resolves with `promise`'s value, or rejects when it takes longer than `ms`. */
function within(ms, promise, what = 'operation') {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms); }),
  ]);
}

/** Collects events from `sub` until `stop(event, list)` is true. */
async function collect(sub, stop) {
  const got = [];
  for await (const e of sub) {
    got.push(e);
    if (stop(e, got)) break;
  }
  return got;
}

describe('catch-up then live', () => {
  test('no gap, no duplicate, position order, with appends racing the catch-up', async () => {
    const store = await memory();
    for (let k = 0; k < 25; k++) await store.append(`S-${k % 5}`, batch(100));
    const sub = store.subscribe();
    assert.equal(sub.position, 0);
    // Appends race the catch-up: they start right after subscribe() returns.
    const writer = (async () => {
      for (let k = 0; k < 50; k++) {
        await store.append(`L-${k % 3}`, batch(10));
        if (k % 5 === 0) await sleep(1);
      }
    })();
    let n = 0;
    for await (const e of sub) {
      assert.equal(e.position, ++n, 'positions 1, 2, 3 … in order');
      assert.equal(sub.position, e.position);
      if (n % 300 === 0) await sleep(2); // a slow consumer now and then
      if (n === 3000) break;
    }
    await writer;
    assert.equal(n, 3000);
    assert.equal(sub.position, 3000);
  });

  test('a consumer that keeps up: every live event arrives once, in order', async () => {
    const store = await memory();
    await store.append('S-1', batch(3));
    const sub = store.subscribe();
    const consumer = collect(sub, (e) => e.position === 203);
    for (let k = 0; k < 100; k++) {
      await store.append(`S-${k}`, batch(2));
      if (k % 10 === 0) await sleep(1);
    }
    const got = await within(5000, consumer, 'live delivery');
    assert.deepEqual(got.map((e) => e.position), Array.from({ length: 203 }, (_, k) => k + 1));
  });

  test('catch-up of a store bigger than a page while appends keep coming, many subscribers', async () => {
    const store = await memory();
    for (let k = 0; k < 10; k++) await store.append('S-1', batch(1000));
    const subs = [store.subscribe(), store.subscribe({ after: 5000 }), store.subscribe({ after: 9999 })];
    const runs = subs.map((sub) => collect(sub, (e) => e.position === 10_500));
    for (let k = 0; k < 50; k++) await store.append('S-2', batch(10));
    const [a, b, c] = await within(20_000, Promise.all(runs), 'catch-up');
    assert.deepEqual(a.map((e) => e.position), Array.from({ length: 10_500 }, (_, k) => k + 1));
    assert.deepEqual(b.map((e) => e.position), Array.from({ length: 5500 }, (_, k) => k + 5001));
    assert.deepEqual(c.map((e) => e.position), Array.from({ length: 501 }, (_, k) => k + 10_000));
  });

  test('filters: types and streamPrefix, in catch-up and live', async () => {
    const store = await memory();
    const expected = [];
    const write = async (stream, type) => {
      const { position } = await store.append(stream, { type, data: {} });
      if (type === 'Placed' && stream.startsWith('Order-')) expected.push(position);
    };
    for (let k = 0; k < 30; k++) await write(k % 2 ? `Order-${k}` : `Cart-${k}`, k % 3 ? 'Placed' : 'Other');
    const sub = store.subscribe({ types: ['Placed'], streamPrefix: 'Order-' });
    // Odd k not divisible by 3, for k < 70: 23 events.
    const run = collect(sub, (_, got) => got.length === 23);
    for (let k = 30; k < 70; k++) await write(k % 2 ? `Order-${k}` : `Cart-${k}`, k % 3 ? 'Placed' : 'Other');
    assert.equal(expected.length, 23);
    const got = await within(5000, run, 'filtered subscription');
    assert.deepEqual(got.map((e) => e.position), expected);
    assert.ok(got.every((e) => e.type === 'Placed' && e.stream.startsWith('Order-')));
  });

  test('after: n delivers only positions above n', async () => {
    const store = await memory();
    await store.append('S-1', batch(10));
    const sub = store.subscribe({ after: 7 });
    assert.equal(sub.position, 7);
    const run = collect(sub, (e) => e.position === 12);
    await store.append('S-1', batch(2));
    assert.deepEqual((await within(2000, run)).map((e) => e.position), [8, 9, 10, 11, 12]);
  });
});

describe("after: 'end'", () => {
  test('delivers every event appended after subscribe() returns, none before', async () => {
    const store = await memory();
    await store.append('S-1', batch(5));
    const sub = store.subscribe({ after: 'end' });
    assert.equal(sub.position, 5);
    const appended = store.append('S-1', batch(3)); // started right after the call returned
    const run = collect(sub, (e) => e.position === 8);
    await appended;
    assert.deepEqual((await within(2000, run)).map((e) => e.position), [6, 7, 8]);
  });

  test('on an empty store', async () => {
    const store = await memory();
    const sub = store.subscribe({ after: 'end' });
    assert.equal(sub.position, 0);
    await store.append('S-1', batch(2));
    assert.deepEqual((await within(2000, collect(sub, (e) => e.position === 2))).map((e) => e.position), [1, 2]);
  });
});

describe('checkpoints: at-least-once', () => {
  for (const how of ['break', 'throw', 'abort', 'close', 'return']) {
    test(`leaving with ${how}: the event in hand is delivered again, finished ones are not`, async () => {
      const store = await memory();
      await store.append('S-1', batch(10));
      const controller = new AbortController();
      const sub = store.subscribe({ checkpoint: 'cp', signal: controller.signal });
      assert.equal(sub.position, 0);
      const seen = [];
      const loop = async () => {
        for await (const e of sub) {
          seen.push(e.position);
          if (e.position === 5) {
            if (how === 'break') break;
            if (how === 'throw') throw new Error('consumer failed');
            if (how === 'abort') controller.abort();
            if (how === 'close') sub.close();
            if (how === 'return') await sub.return();
          }
        }
      };
      if (how === 'throw') await assert.rejects(loop(), /consumer failed/);
      else await loop();
      assert.deepEqual(seen, [1, 2, 3, 4, 5]);
      // The save is complete once the loop has exited (close()/abort: once close() resolved).
      await sub.close();
      assert.equal(await store.checkpoints.get('cp'), 4);

      const again = store.subscribe({ checkpoint: 'cp' });
      const rest = await within(2000, collect(again, (e) => e.position === 10));
      assert.deepEqual(rest.map((e) => e.position), [5, 6, 7, 8, 9, 10]);
    });
  }

  test('break: the checkpoint is saved when the loop has exited, without waiting further', async () => {
    const store = await memory();
    await store.append('S-1', batch(6));
    for await (const e of store.subscribe({ checkpoint: 'now' })) {
      if (e.position === 3) break;
    }
    assert.equal(await store.checkpoints.get('now'), 2);
  });

  test('a checkpoint moves on as the consumer asks for more; resume continues after it', async () => {
    const store = await memory();
    await store.append('S-1', batch(4));
    const sub = store.subscribe({ checkpoint: 'walk' });
    const it = sub[Symbol.asyncIterator]();
    assert.equal(it, sub);
    assert.equal((await it.next()).value.position, 1);
    assert.equal((await it.next()).value.position, 2); // asking for 2 finishes 1
    assert.equal((await it.next()).value.position, 3);
    await it.return();
    assert.equal(await store.checkpoints.get('walk'), 2);
    // checkpoints.set moves it by hand.
    await store.checkpoints.set('walk', 3);
    const got = await within(2000, collect(store.subscribe({ checkpoint: 'walk' }), (e) => e.position === 4));
    assert.deepEqual(got.map((e) => e.position), [4]);
  });

  // subscribe() is synchronous and a checkpoint lives in storage, so a checkpointed
  // subscription learns where it starts when iteration begins: from then on `position` says so.
  test('position is where a checkpointed subscription starts, once iteration has begun', async () => {
    const store = await memory();
    await store.append('S-1', batch(10));
    await store.checkpoints.set('cp', 4);
    await store.checkpoints.set('at-head', 10);
    const sub = store.subscribe({ checkpoint: 'cp', after: 'end' }); // the checkpoint wins
    assert.equal((await sub.next()).value.position, 5);
    assert.equal(sub.position, 5);
    const waiting = store.subscribe({ checkpoint: 'at-head' });
    const pending = waiting.next(); // nothing after 10: it reads the checkpoint, then waits
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(waiting.position, 10);
    await waiting.close();
    assert.deepEqual(await pending, { value: undefined, done: true });
    await sub.close();
  });

  for (const how of ['close', 'abort']) {
    test(`${how} while waiting for a live event: every delivered event counts as finished`, async () => {
      const store = await memory();
      await store.append('S-1', batch(3));
      const controller = new AbortController();
      const sub = store.subscribe({ checkpoint: 'live', signal: controller.signal });
      const seen = [];
      setTimeout(() => (how === 'close' ? sub.close() : controller.abort()), 30);
      for await (const e of sub) seen.push(e.position);
      await sub.close();
      assert.deepEqual(seen, [1, 2, 3]);
      assert.equal(await store.checkpoints.get('live'), 3);
    });
  }

  test('throw() on the iterator closes it and rejects with the error', async () => {
    const store = await memory();
    await store.append('S-1', batch(3));
    const sub = store.subscribe({ checkpoint: 't' });
    await sub.next();
    await sub.next();
    const boom = new Error('boom');
    await assert.rejects(sub.throw(boom), (e) => e === boom);
    assert.deepEqual(await sub.next(), { done: true, value: undefined });
    assert.equal(await store.checkpoints.get('t'), 1);
  });
});

describe('closing a subscription', () => {
  const ways = {
    close: (sub) => sub.close(),
    return: (sub) => sub.return(),
    abort: (_sub, controller) => controller.abort(),
    'abort with a reason': (_sub, controller) => controller.abort(new Error('why')),
    'store.close()': (_sub, _c, store) => store.close(),
  };
  for (const [label, end] of Object.entries(ways)) {
    test(`${label} ends a pending next() at once`, async () => {
      const store = await memory();
      await store.append('S-1', batch(2));
      const controller = new AbortController();
      const sub = store.subscribe({ after: 'end', signal: controller.signal });
      const pending = sub.next();
      await sleep(20);
      const started = Date.now();
      end(sub, controller, store);
      assert.deepEqual(await within(500, pending, 'pending next'), { done: true, value: undefined });
      assert.ok(Date.now() - started < 500);
      assert.deepEqual(await sub.next(), { done: true, value: undefined });
    });
  }

  test('break out of a for await that awaits live events (abort from a timer)', async () => {
    const store = await memory();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const seen = [];
    await within(1000, (async () => { for await (const e of store.subscribe({ signal: controller.signal })) seen.push(e); })(), 'loop');
    assert.deepEqual(seen, []);
  });

  test('an already aborted signal yields nothing and saves nothing', async () => {
    const store = await memory();
    await store.append('S-1', batch(3));
    const sub = store.subscribe({ checkpoint: 'a', signal: AbortSignal.abort() });
    const seen = [];
    for await (const e of sub) seen.push(e);
    assert.deepEqual(seen, []);
    assert.equal(await store.checkpoints.get('a'), undefined);
  });

  test('close() resolves, may be called twice, and next() then says done', async () => {
    const store = await memory();
    await store.append('S-1', batch(3));
    const sub = store.subscribe();
    assert.equal((await sub.next()).value.position, 1);
    await sub.close();
    await sub.close();
    assert.deepEqual(await sub.next(), { done: true, value: undefined });
    assert.equal(sub.position, 1);
  });

  test('next() called several times without waiting: served in order', async () => {
    const store = await memory();
    await store.append('S-1', batch(5));
    const sub = store.subscribe();
    const results = await Promise.all([sub.next(), sub.next(), sub.next(), sub.next()]);
    assert.deepEqual(results.map((r) => r.value.position), [1, 2, 3, 4]);
    const live = [sub.next(), sub.next(), sub.next()];
    await store.append('S-1', batch(1));
    assert.equal((await within(1000, live[0])).value.position, 5);
    assert.equal((await within(1000, live[1])).value.position, 6);
    sub.close();
    assert.deepEqual(await within(500, live[2]), { done: true, value: undefined });
  });

  test('store.close() ends every subscription; a later subscribe() throws StoreClosedError synchronously', async () => {
    const store = await memory();
    await store.append('S-1', batch(3));
    const subs = [store.subscribe(), store.subscribe({ after: 'end' }), store.subscribe({ checkpoint: 'c' })];
    const loops = subs.map((sub) => collect(sub, () => false));
    await sleep(10);
    await store.close();
    const got = await within(1000, Promise.all(loops), 'subscriptions ending');
    assert.deepEqual(got.map((list) => list.length), [3, 0, 3]);
    assert.throws(() => store.subscribe(), (e) => e instanceof StoreClosedError && isStoreClosedError(e) && e.name === 'StoreClosedError');
    for (const sub of subs) await sub.close(); // closing an ended subscription is harmless
  });
});

describe('invalid subscribe options throw synchronously, typed', () => {
  const cases = [
    ['after -1', { after: -1 }, 'after'],
    ["after 'start'", { after: 'start' }, 'after'],
    ['after 2.5', { after: 2.5 }, 'after'],
    ['checkpoint empty', { checkpoint: '' }, 'checkpoint'],
    ['checkpoint a number', { checkpoint: 3 }, 'checkpoint'],
    ['types empty', { types: [] }, 'types'],
    ['types a string', { types: 'T' }, 'types'],
    ['streamPrefix a number', { streamPrefix: 1 }, 'streamPrefix'],
    ['signal not an AbortSignal', { signal: 'stop' }, 'signal'],
    ['options a string', 'end', 'options'],
  ];
  for (const [label, options, field] of cases) {
    test(label, async () => {
      const store = await memory();
      assert.throws(() => store.subscribe(options), (e) =>
        e instanceof InvalidArgumentError && isInvalidArgumentError(e) && e.field === field && e.name === 'InvalidArgumentError');
    });
  }
});
