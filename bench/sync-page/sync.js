// The browser side of bench/sync.mjs: pulling a tenant's events into a fresh IndexedDB store
// with annals, next to the floor of putting the same events into IndexedDB by hand, and
// device-to-device live latency.
import { openStore } from '/annals/browser.js';

const request = (r) =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
const done = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
  });

let counter = 0;
const fresh = (label) => `sync-bench-${label}-${Date.now()}-${counter++}`;

async function fetchPage(url, token, after, limit) {
  const response = await fetch(`${url}/v1/pull?after=${after}&limit=${limit}`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`pull: HTTP ${response.status}`);
  return response.json();
}

/** IndexedDB with one object store keyed by position and no index: nothing to do but put. */
async function floorDb(name) {
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => open.result.createObjectStore('events', { keyPath: 'position' });
  return request(open);
}

async function putPage(db, events) {
  const tx = db.transaction('events', 'readwrite');
  const store = tx.objectStore('events');
  for (const e of events) store.put(e);
  await done(tx);
}

let live;

window.syncBench = {
  /** annals: a fresh store pulls the whole tenant. */
  async annals(url, token) {
    const name = fresh('annals');
    const store = await openStore({ name, storage: 'indexeddb' });
    const sync = store.sync({ url, token, live: false });
    const t0 = performance.now();
    await sync.flush();
    const ms = performance.now() - t0;
    const { serverPosition, pending } = sync.state;
    const [last] = await store.readAll({ direction: 'backward', limit: 1 }).toArray();
    await sync.close();
    await store.close();
    indexedDB.deleteDatabase(`annals:${name}`);
    return { ms, events: last.position, serverPosition, pending };
  },

  /** The floor with the network: the same pages fetched and put, one transaction per page. */
  async fetchAndPut(url, token, limit) {
    const name = fresh('fetch-put');
    const db = await floorDb(name);
    const t0 = performance.now();
    let after = 0;
    for (;;) {
      const page = await fetchPage(url, token, after, limit);
      if (page.events.length === 0) break;
      await putPage(db, page.events);
      after = page.events[page.events.length - 1].position;
      if (after >= page.head) break;
    }
    const ms = performance.now() - t0;
    db.close();
    indexedDB.deleteDatabase(name);
    return { ms, events: after };
  },

  /** The bulk-put floor: events already in memory, put in transactions of `limit`. */
  async bulkPut(url, token, limit) {
    const events = [];
    for (;;) {
      const page = await fetchPage(url, token, events.length, 10_000);
      events.push(...page.events);
      if (page.events.length === 0 || events.length >= page.head) break;
    }
    const name = fresh('bulk-put');
    const db = await floorDb(name);
    const t0 = performance.now();
    for (let i = 0; i < events.length; i += limit) await putPage(db, events.slice(i, i + limit));
    const ms = performance.now() - t0;
    db.close();
    indexedDB.deleteDatabase(name);
    return { ms, events: events.length };
  },

  /** A device for the live latency run: a store syncing live. */
  async device(url, token) {
    const store = await openStore({ name: fresh('device'), storage: 'indexeddb' });
    const sync = store.sync({ url, token, live: true });
    await sync.flush();
    live = { store, sync, received: [] };
    return true;
  },

  /** The receiving device: records when each marked event arrives. */
  listen(n) {
    live.received = [];
    live.all = (async () => {
      for await (const e of live.store.subscribe({ after: 'end', types: ['Ping'] })) {
        live.received.push(Date.now() - e.data.sentAt);
        if (live.received.length >= n) break;
      }
    })();
    return true;
  },

  /** The sending device: `n` appends, `gapMs` apart. */
  async send(n, gapMs) {
    for (let i = 0; i < n; i++) {
      await live.store.append('Ping-stream', { type: 'Ping', data: { i, sentAt: Date.now() } });
      await new Promise((r) => setTimeout(r, gapMs));
    }
    return true;
  },

  async received() {
    await live.all;
    return live.received;
  },
};
window.syncBench.ready = true;
