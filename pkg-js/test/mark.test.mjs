// The store's mark (pkg-js/src/mark.ts) over fake wasm stores and fake shelves: where it is
// kept (Cache Storage, else localStorage, else nowhere), what it holds, when it is written.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Marker } from '../dist/mark.js';

/** A wasm store on IndexedDB named `databaseName` as far as the marker sees it: `figures` is what it holds now. */
function rawStore(figures, databaseName, log = []) {
  return {
    identity: figures.identity,
    databaseName,
    async mark() {
      log.push('read');
      if (figures.closed) throw new Error('StoreClosedError');
      return { identity: figures.identity, serverPosition: figures.serverPosition, pending: figures.pending };
    },
  };
}

function fakeLocalStorage() {
  const items = new Map();
  return { items, getItem: (k) => (items.has(k) ? items.get(k) : null), setItem: (k, v) => items.set(k, String(v)) };
}

afterEach(() => {
  delete globalThis.localStorage;
  delete globalThis.caches;
  delete globalThis.location;
});

describe('Marker', () => {
  test('a memory store (no identity) and a context with nowhere to keep a mark get no marker', async () => {
    assert.equal(await Marker.open(rawStore({ identity: undefined }, 'shop')), undefined);
    assert.equal(await Marker.open(rawStore({ identity: 'db-1' }, 'shop')), undefined, 'no caches, no localStorage');
  });

  test('localStorage: no mark at first; written with the figures; read back by the next open', async () => {
    globalThis.localStorage = fakeLocalStorage();
    const figures = { identity: 'db-1', serverPosition: 40, pending: 3 };
    const first = await Marker.open(rawStore(figures, 'shop'));
    assert.equal(first.previous, undefined);
    const before = Date.now();
    await first.marker.write();
    const again = await Marker.open(rawStore(figures, 'shop'));
    assert.deepEqual({ ...again.previous, markedAt: undefined }, { identity: 'db-1', serverPosition: 40, pending: 3, markedAt: undefined });
    assert.ok(again.previous.markedAt >= before && again.previous.markedAt <= Date.now());
    assert.equal((await Marker.open(rawStore(figures, 'other'))).previous, undefined, 'one mark per store name');
  });

  test('Cache Storage is preferred where it exists', async () => {
    globalThis.localStorage = fakeLocalStorage();
    const entries = new Map();
    globalThis.location = { href: 'http://127.0.0.1:8080/app/index.html' };
    globalThis.caches = {
      async open(name) {
        assert.equal(name, 'annals-marks');
        return {
          async match(url) { return entries.get(url)?.clone(); },
          async put(url, response) { entries.set(url, response); },
        };
      },
    };
    const figures = { identity: 'db-2', serverPosition: 7, pending: 0 };
    const { marker } = await Marker.open(rawStore(figures, 'a/b'));
    await marker.write();
    assert.deepEqual([...entries.keys()], ['http://127.0.0.1:8080/.annals-mark/a%2Fb']);
    assert.equal(globalThis.localStorage.items.size, 0);
    const { previous } = await Marker.open(rawStore(figures, 'a/b'));
    assert.equal(previous.identity, 'db-2');
  });

  test('touches within 200 ms make one write; unchanged figures are not written again; a closed store is no error', async () => {
    globalThis.localStorage = fakeLocalStorage();
    const figures = { identity: 'db-3', serverPosition: 0, pending: 0 };
    const log = [];
    const { marker } = await Marker.open(rawStore(figures, 'shop', log));
    await marker.write();
    const written = globalThis.localStorage.items.get('annals-mark:shop');
    figures.pending = 5;
    for (let i = 0; i < 5; i++) marker.touch();
    assert.deepEqual(log, ['read'], 'nothing read before the delay');
    await sleep(300);
    assert.deepEqual(log, ['read', 'read'], 'one read for five touches');
    assert.equal(JSON.parse(globalThis.localStorage.items.get('annals-mark:shop')).pending, 5);
    const after = globalThis.localStorage.items.get('annals-mark:shop');
    assert.notEqual(after, written);
    await marker.write();
    assert.equal(globalThis.localStorage.items.get('annals-mark:shop'), after, 'unchanged: not rewritten');
    figures.closed = true;
    figures.pending = 9;
    await marker.close();
    assert.equal(JSON.parse(globalThis.localStorage.items.get('annals-mark:shop')).pending, 5, 'the last mark stays');
  });
});
