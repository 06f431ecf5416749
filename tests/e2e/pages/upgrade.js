// Test page for tests/e2e/upgrade.test.mjs: a tab with an annals store, or a tab playing newer
// or older code on the same database with raw IndexedDB. Everything returned is plain JSON.
import { openStore } from 'annals';

const database = (name) => `annals:${name}`;
const failure = (e) => ({ name: e?.name, message: e?.message, reason: e?.reason, errorCode: e?.errorCode, cause: describe(e?.cause) });
const describe = (cause) =>
  cause instanceof DOMException ? { domException: cause.name } : cause === undefined ? undefined : { text: String(cause) };

let store;
let subscription;
let held;

window.up = {
  /** Opens the store `name` and starts a subscription that waits for live events. */
  async open(name) {
    store = await openStore({ name });
    const sub = store.subscribe({ after: 'end' });
    subscription = (async () => {
      try {
        for await (const _ of sub);
        return { ended: 'done' };
      } catch (e) {
        return { ended: 'error', error: failure(e) };
      }
    })();
    return { storage: store.storage };
  },

  /** Appends one event: `{ ok }` or the error. */
  async append() {
    try {
      return { ok: await store.append('S-1', { type: 'T', data: 1 }) };
    } catch (e) {
      return { error: failure(e) };
    }
  },

  /** How the subscription started by `open` ended, or `'waiting'` after `ms`. */
  subscriptionEnd(ms) {
    return Promise.race([subscription, new Promise((resolve) => setTimeout(() => resolve({ ended: 'waiting' }), ms))]);
  },

  /**
   * Newer code: opens the database at `version` with raw IndexedDB. `{ opened }` or
   * `{ blocked }` if still waiting after `ms` (then gives up).
   */
  rawOpenNewer(name, version, ms) {
    return new Promise((resolve) => {
      const request = indexedDB.open(database(name), version);
      const timer = setTimeout(() => resolve({ blocked: true }), ms);
      request.onsuccess = () => {
        clearTimeout(timer);
        request.result.close();
        resolve({ opened: request.result.version });
      };
      request.onerror = () => resolve({ error: request.error?.name });
    });
  },

  /**
   * Older code that does not close on `versionchange`: the database as schema 1 wrote it (the
   * committed fixture), held open. Resolves with its version and how many events it holds.
   */
  async rawHoldOld(name) {
    const { restore } = await import('/fixtures/idb-dump.js');
    const fixture = await (await fetch('/fixtures/schema-v1.json')).json();
    await restore(database(name), fixture);
    held = await new Promise((resolve, reject) => {
      const request = indexedDB.open(database(name));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return { version: held.version, events: fixture.stores.find((s) => s.name === 'events').records.length };
  },

  releaseOld() {
    held?.close();
  },

  /** The database's version now. */
  rawVersion(name) {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(database(name));
      request.onsuccess = () => {
        const version = request.result.version;
        request.result.close();
        resolve(version);
      };
      request.onerror = () => reject(request.error);
    });
  },

  /** Opens the store `name`: how long it took, and the error, or the storage and its event count. */
  async tryOpen(name) {
    const started = performance.now();
    try {
      const opened = await openStore({ name });
      const storage = opened.storage;
      const events = (await opened.readAll().toArray()).length;
      await opened.close();
      return { ms: performance.now() - started, storage, events };
    } catch (e) {
      return { ms: performance.now() - started, error: failure(e) };
    }
  },
};
