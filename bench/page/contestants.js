// The browser contestants. Each is one event store with the same contract for the workloads:
//   open(name), append(stream, events, expectedVersion) -> { nextExpectedVersion, position }
//   (a version conflict rejects with an error whose name is 'WrongExpectedVersionError'),
//   streamVersion(stream), readStreamPage(stream, fromVersion, limit), readStreamAll(stream),
//   iterateStream(stream) (async iterable), readAllPage(after, limit), close(), destroy().
// raw and dexie use annals' former IndexedDB layout (schemas 1 and 2: one record per event) and
// its append logic: one readwrite transaction per append that reads the stream head and the
// global head, checks the expected version, adds the events and moves both heads. rawLayout
// writes exactly the records of annals' schema 3 (one `log` record per append) with the same
// checks. The clock stops when the transaction's `complete` has fired (raw, rawLayout:
// oncomplete; Dexie: its transaction promise).
import { openStore } from '/annals/browser.js';
import Dexie from '/dexie/dexie.min.mjs';

export const PAGE = 256; // annals' page size (src/core/store.rs PAGE_SIZE): paged reads match it

class Conflict extends Error {
  constructor(stream, expected, actual) {
    super(`wrong expected version on ${stream}: expected ${expected}, actual ${actual}`);
    this.name = 'WrongExpectedVersionError';
    Object.assign(this, { stream, expected, actual });
  }
}

function matches(expected, actual) {
  if (expected === undefined || expected === 'any') return true;
  if (expected === 'no_stream') return actual === 0;
  if (expected === 'stream_exists') return actual > 0;
  return expected === actual;
}

function record(position, stream, version, e, now) {
  return {
    position, id: e.id ?? crypto.randomUUID(), stream, type: e.type, version,
    data: e.data, metadata: e.metadata ?? {}, recordedAt: now, confirmed: false, serverPosition: null,
  };
}

const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
const done = (tx) => new Promise((resolve, reject) => { tx.oncomplete = () => resolve(); tx.onabort = tx.onerror = () => reject(tx.error); });

export function deleteDatabase(name) {
  return new Promise((resolve, reject) => {
    const r = indexedDB.deleteDatabase(name);
    r.onsuccess = () => resolve();
    r.onerror = () => reject(r.error);
    r.onblocked = () => {}; // resolves once the connection closes
  });
}

// ---------------------------------------------------------------------------------------------
export const annals = {
  name: 'annals',
  async open(name) {
    this.dbName = `annals:${name}`;
    this.store = await openStore({ name, storage: 'indexeddb' });
  },
  append(stream, events, expectedVersion = 'any') {
    return this.store.append(stream, events, { expectedVersion });
  },
  streamVersion(stream) { return this.store.streamVersion(stream); },
  readStreamAll(stream) { return this.store.readStream(stream).toArray(); },
  iterateStream(stream) { return this.store.readStream(stream); },
  subscribe(after = 0) { return this.store.subscribe({ after }); },
  async close() { await this.store?.close(); this.store = undefined; },
  async destroy() { await this.close(); await deleteDatabase(this.dbName); },
};

// ---------------------------------------------------------------------------------------------
export const raw = {
  name: 'raw IndexedDB',
  async open(name) {
    this.dbName = `raw:${name}`;
    const r = indexedDB.open(this.dbName, 1);
    r.onupgradeneeded = () => {
      const db = r.result;
      const events = db.createObjectStore('events', { keyPath: 'position' });
      events.createIndex('stream_version', ['stream', 'version'], { unique: true });
      events.createIndex('id', 'id', { unique: true });
      db.createObjectStore('streams', { keyPath: 'stream' });
      db.createObjectStore('meta', { keyPath: 'key' });
      db.createObjectStore('checkpoints', { keyPath: 'name' });
      db.createObjectStore('snapshots', { keyPath: 'stream' });
    };
    this.db = await req(r);
  },
  append(stream, events, expectedVersion = 'any') {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction(['events', 'streams', 'meta'], 'readwrite');
      const [es, ss, ms] = ['events', 'streams', 'meta'].map((s) => tx.objectStore(s));
      let head, current, result, refused, pending = 2;
      const write = () => {
        if (--pending) return;
        if (!matches(expectedVersion, current)) {
          refused = new Conflict(stream, expectedVersion, current);
          tx.abort();
          return;
        }
        const now = Date.now();
        for (let i = 0; i < events.length; i++) es.add(record(head + 1 + i, stream, current + 1 + i, events[i], now));
        const n = events.length;
        ss.put({ stream, version: current + n, position: head + n });
        ms.put({ key: 'head', position: head + n });
        result = { nextExpectedVersion: current + n, position: head + n };
      };
      ms.get('head').onsuccess = (e) => { head = e.target.result?.position ?? 0; write(); };
      ss.get(stream).onsuccess = (e) => { current = e.target.result?.version ?? 0; write(); };
      tx.oncomplete = () => resolve(result);
      tx.onabort = () => reject(refused ?? tx.error);
    });
  },
  async streamVersion(stream) {
    const tx = this.db.transaction('streams', 'readonly');
    return (await req(tx.objectStore('streams').get(stream)))?.version ?? 0;
  },
  readStreamPage(stream, from, limit = PAGE) {
    const tx = this.db.transaction('events', 'readonly');
    const range = IDBKeyRange.bound([stream, from], [stream, Number.MAX_SAFE_INTEGER]);
    return req(tx.objectStore('events').index('stream_version').getAll(range, limit));
  },
  async readStreamAll(stream) {
    const all = [];
    for (let from = 1; ; ) {
      const page = await this.readStreamPage(stream, from);
      for (const e of page) all.push(e);
      if (page.length < PAGE) return all;
      from = page[page.length - 1].version + 1;
    }
  },
  async *iterateStream(stream) {
    for (let from = 1; ; ) {
      const page = await this.readStreamPage(stream, from);
      yield* page;
      if (page.length < PAGE) return;
      from = page[page.length - 1].version + 1;
    }
  },
  readAllPage(after, limit = PAGE) {
    const tx = this.db.transaction('events', 'readonly');
    return req(tx.objectStore('events').getAll(IDBKeyRange.lowerBound(after, true), limit));
  },
  async close() { this.db?.close(); this.db = undefined; },
  async destroy() { await this.close(); await deleteDatabase(this.dbName); },
};

// ---------------------------------------------------------------------------------------------
// raw, annals' layout: raw IndexedDB (no library) writing exactly the records of annals' schema 3
// (src/idb/schema.rs, src/idb/record.rs encode_run) with raw's checks, to show what the library
// costs on top of its own layout. One `log` record per append, keyed by its last position:
//   { last, stream, version (its last event's), ids, types, data, metadata, times, server,
//     outbox (= first position, while pending), expected (while pending) }
// indexed on [stream, version] ('stream', unique), outbox ('outbox', unique) and ids ('id',
// multiEntry, unique). An append is one readwrite transaction over `log` alone: the global head
// (last key of `log`) and the stream's version (last key of the 'stream' index in the stream's
// range) are read at once with key cursors, the expected version checked, the record added.
// Reads fetch whole records with getAll and build a plain object per event, as annals must for
// its API (`recordedAt` stays the stored number here; annals may hand out a Date).
const LOG_STORES = [['streams', 'stream'], ['meta', 'key'], ['checkpoints', 'name'], ['snapshots', 'stream'], ['conflicts', 'key']];
const streamRange = (stream, from) => IDBKeyRange.bound([stream, from], [stream, Infinity]);

// The events of a `log` record with version ≥ from and position > after, pushed onto `out` as
// plain objects (a tombstone `{ last, removed }` has no stream and yields nothing).
function unpack(rec, out, from = 1, after = 0) {
  if (rec.stream === undefined) return;
  const n = rec.ids.length, first = rec.last - n + 1, firstVersion = rec.version - n + 1;
  for (let i = Math.max(0, from - firstVersion, after + 1 - first); i < n; i++) {
    out.push({
      id: rec.ids[i], stream: rec.stream, type: rec.types[i], version: firstVersion + i, position: first + i,
      data: rec.data[i], metadata: rec.metadata[i], recordedAt: rec.times[i], serverPosition: rec.server[i],
    });
  }
}

export const rawLayout = {
  name: "raw, annals' layout",
  async open(name) {
    this.dbName = `rawLayout:${name}`;
    const r = indexedDB.open(this.dbName, 1);
    r.onupgradeneeded = () => {
      const db = r.result;
      const log = db.createObjectStore('log', { keyPath: 'last' });
      log.createIndex('stream', ['stream', 'version'], { unique: true });
      log.createIndex('outbox', 'outbox', { unique: true });
      log.createIndex('id', 'ids', { unique: true, multiEntry: true });
      for (const [store, keyPath] of LOG_STORES) db.createObjectStore(store, { keyPath });
    };
    this.db = await req(r);
  },
  append(stream, events, expectedVersion = 'any') {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction('log', 'readwrite');
      const log = tx.objectStore('log');
      let head, current, result, refused, pending = 2;
      const write = () => {
        if (--pending) return;
        if (!matches(expectedVersion, current)) {
          refused = new Conflict(stream, expectedVersion, current);
          tx.abort();
          return;
        }
        const n = events.length, now = Date.now();
        const ids = new Array(n), types = new Array(n), data = new Array(n), metadata = new Array(n);
        const times = new Array(n), server = new Array(n);
        for (let i = 0; i < n; i++) {
          const e = events[i];
          ids[i] = e.id ?? crypto.randomUUID();
          types[i] = e.type;
          data[i] = e.data;
          metadata[i] = e.metadata ?? {};
          times[i] = now;
          server[i] = null;
        }
        log.add({
          last: head + n, stream, version: current + n, ids, types, data, metadata, times, server,
          outbox: head + 1, expected: expectedVersion,
        });
        result = { nextExpectedVersion: current + n, position: head + n };
      };
      log.openKeyCursor(null, 'prev').onsuccess = (e) => { head = e.target.result?.key ?? 0; write(); };
      log.index('stream').openKeyCursor(streamRange(stream, 0), 'prev').onsuccess = (e) => {
        current = e.target.result?.key[1] ?? 0;
        write();
      };
      tx.oncomplete = () => resolve(result);
      tx.onabort = () => reject(refused ?? tx.error);
    });
  },
  async streamVersion(stream) {
    const tx = this.db.transaction('log', 'readonly');
    const cursor = await req(tx.objectStore('log').index('stream').openKeyCursor(streamRange(stream, 0), 'prev'));
    return cursor?.key[1] ?? 0;
  },
  // Up to `limit` records of the stream whose last version is ≥ from: at least `limit` events
  // (each record holds one or more, the first at least its last) unless the stream ends first.
  streamRecords(stream, from, limit = PAGE) {
    const tx = this.db.transaction('log', 'readonly');
    return req(tx.objectStore('log').index('stream').getAll(streamRange(stream, from), limit));
  },
  // The events of whole records from version `from` on: at least `limit` unless the stream
  // ends, possibly more.
  async readStreamPage(stream, from, limit = PAGE) {
    const out = [];
    for (const rec of await this.streamRecords(stream, from, limit)) unpack(rec, out, from);
    return out;
  },
  // Pages on the last version read + 1 (a record is never fetched twice); the stream has ended
  // when fewer records than asked came back.
  async readStreamAll(stream) {
    const all = [];
    for (let from = 1; ; ) {
      const recs = await this.streamRecords(stream, from);
      for (const rec of recs) unpack(rec, all, from);
      if (recs.length < PAGE) return all;
      from = recs[recs.length - 1].version + 1;
    }
  },
  async *iterateStream(stream) {
    for (let from = 1; ; ) {
      const recs = await this.streamRecords(stream, from);
      const page = [];
      for (const rec of recs) unpack(rec, page, from);
      yield* page;
      if (recs.length < PAGE) return;
      from = recs[recs.length - 1].version + 1;
    }
  },
  // The events after position `after` in global order, from whole records: at least `limit`
  // unless the log ends, possibly more. Tombstones yield nothing, so records are fetched (in
  // the same transaction) until `limit` events are in or the log ends.
  readAllPage(after, limit = PAGE) {
    return new Promise((resolve, reject) => {
      const log = this.db.transaction('log', 'readonly').objectStore('log');
      const out = [];
      const fetch = (from) => {
        const r = log.getAll(IDBKeyRange.lowerBound(from), limit);
        r.onerror = () => reject(r.error);
        r.onsuccess = () => {
          const recs = r.result;
          for (const rec of recs) unpack(rec, out, 1, after);
          if (out.length >= limit || recs.length < limit) resolve(out);
          else fetch(recs[recs.length - 1].last + 1);
        };
      };
      fetch(after + 1);
    });
  },
  async close() { this.db?.close(); this.db = undefined; },
  async destroy() { await this.close(); await deleteDatabase(this.dbName); },
};

// ---------------------------------------------------------------------------------------------
export const dexie = {
  name: 'Dexie',
  async open(name) {
    this.dbName = `dexie:${name}`;
    const db = new Dexie(this.dbName);
    db.version(1).stores({
      events: 'position, &[stream+version], &id',
      streams: 'stream',
      meta: 'key',
      checkpoints: 'name',
      snapshots: 'stream',
    });
    await db.open();
    this.db = db;
  },
  append(stream, events, expectedVersion = 'any') {
    const db = this.db;
    return db.transaction('rw', db.events, db.streams, db.meta, async () => {
      const [h, s] = await Promise.all([db.meta.get('head'), db.streams.get(stream)]);
      const head = h?.position ?? 0;
      const current = s?.version ?? 0;
      if (!matches(expectedVersion, current)) throw new Conflict(stream, expectedVersion, current);
      const now = Date.now();
      const n = events.length;
      await db.events.bulkAdd(events.map((e, i) => record(head + 1 + i, stream, current + 1 + i, e, now)));
      await db.streams.put({ stream, version: current + n, position: head + n });
      await db.meta.put({ key: 'head', position: head + n });
      return { nextExpectedVersion: current + n, position: head + n };
    });
  },
  async streamVersion(stream) { return (await this.db.streams.get(stream))?.version ?? 0; },
  readStreamPage(stream, from, limit = PAGE) {
    return this.db.events.where('[stream+version]').between([stream, from], [stream, Dexie.maxKey], true, true).limit(limit).toArray();
  },
  readStreamAll(stream) {
    return this.db.events.where('[stream+version]').between([stream, 1], [stream, Dexie.maxKey], true, true).toArray();
  },
  async *iterateStream(stream) {
    for (let from = 1; ; ) {
      const page = await this.readStreamPage(stream, from);
      yield* page;
      if (page.length < PAGE) return;
      from = page[page.length - 1].version + 1;
    }
  },
  readAllPage(after, limit = PAGE) {
    return this.db.events.where('position').above(after).limit(limit).toArray();
  },
  async close() { this.db?.close(); this.db = undefined; },
  async destroy() { await this.close(); await deleteDatabase(this.dbName); },
};

// ---------------------------------------------------------------------------------------------
// Informational floor: the same records put into one object store with no index, all in one
// transaction (writes), or fetched with one getAll (reads). Not an event store: no checks.
export const floor = {
  name: 'bulk put (floor)',
  async open(name) {
    this.dbName = `floor:${name}`;
    const r = indexedDB.open(this.dbName, 1);
    r.onupgradeneeded = () => r.result.createObjectStore('events', { keyPath: 'position' });
    this.db = await req(r);
    this.head = 0;
  },
  putAll(stream, events) {
    const tx = this.db.transaction('events', 'readwrite');
    const es = tx.objectStore('events');
    const now = Date.now();
    for (let i = 0; i < events.length; i++) es.put(record(this.head + 1 + i, stream, this.head + 1 + i, events[i], now));
    this.head += events.length;
    return done(tx);
  },
  getAll() {
    const tx = this.db.transaction('events', 'readonly');
    return req(tx.objectStore('events').getAll());
  },
  async close() { this.db?.close(); this.db = undefined; },
  async destroy() { await this.close(); await deleteDatabase(this.dbName); },
};

export const CONTESTANTS = { annals, raw, rawLayout, dexie, floor };
