#!/usr/bin/env node
// Small probes behind the figures in docs/performance.md (not part of BENCHMARKS.md):
//   node bench/probe.mjs reads     annals' readStream().toArray() of 10 runs of 1,000 events
//                                  against raw JavaScript reading the same records (one getAll,
//                                  ten transactions, getAll + building the event objects)
//   node bench/probe.mjs cursors   two get() against two openKeyCursor('prev') per readonly
//                                  transaction, on LevelDB and on SQLite
// Median of 7 (reads) or the mean of 300 transactions (cursors), printed as JSON.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { start } from '../demo/serve.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const which = process.argv[2] ?? 'reads';
const server = await start(0, {
  root: path.join(ROOT, 'bench/page'),
  mounts: { '/bench/': path.join(ROOT, 'bench/page'), '/annals/': path.join(ROOT, 'pkg-js/dist') },
});
const ARGS = ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'];

async function inPage(flags, fn) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-probe-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: [...ARGS, ...flags] });
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}bench/index.html`);
    return await page.evaluate(fn);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

async function reads() {
  const { openStore } = await import('/annals/browser.js');
  const { makeEvents } = await import('/bench/events.js');
  const store = await openStore({ name: 'probe', storage: 'indexeddb' });
  const events = makeEvents(10000, 13);
  for (let i = 0; i < 10000; i += 1000) await store.append('Read-1', events.slice(i, i + 1000));
  const db = await new Promise((resolve) => { const q = indexedDB.open('annals:probe'); q.onsuccess = () => resolve(q.result); });
  const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  const out = {};
  const time = async (name, f) => {
    const ms = [];
    for (let k = 0; k < 7; k++) { const t = performance.now(); await f(); ms.push(performance.now() - t); }
    ms.sort((a, b) => a - b);
    out[name] = `${ms[3].toFixed(1)} ms`;
  };
  await time('annals readStream().toArray()', async () => {
    if ((await store.readStream('Read-1').toArray()).length !== 10000) throw new Error('short read');
  });
  await time('raw: one getAll', async () => { await req(db.transaction('log').objectStore('log').getAll()); });
  await time('raw: ten transactions, getAll of one record each', async () => {
    for (let k = 1; k <= 10; k++) await req(db.transaction('log').objectStore('log').getAll(IDBKeyRange.lowerBound(k * 1000), 1));
  });
  await time('raw: one getAll and the event objects built', async () => {
    const runs = await req(db.transaction('log').objectStore('log').getAll());
    const all = [];
    for (const r of runs) {
      const n = r.ids.length;
      for (let i = 0; i < n; i++) {
        all.push({ id: r.ids[i], stream: r.stream, type: r.types[i], version: r.version - n + 1 + i, position: r.last - n + 1 + i,
          data: r.data[i], metadata: r.metadata[i], recordedAt: new Date(r.times[i]), serverPosition: r.server[i] });
      }
    }
  });
  return out;
}

async function cursors() {
  const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  const db = await new Promise((resolve) => {
    const q = indexedDB.open('probe-cursors', 1);
    q.onupgradeneeded = () => {
      const log = q.result.createObjectStore('log', { keyPath: 'last' });
      log.createIndex('stream', ['stream', 'version'], { unique: true });
      q.result.createObjectStore('meta', { keyPath: 'key' });
      q.result.createObjectStore('streams', { keyPath: 'stream' });
    };
    q.onsuccess = () => resolve(q.result);
  });
  const tx = db.transaction(['log', 'meta', 'streams'], 'readwrite');
  for (let i = 1; i <= 1000; i++) tx.objectStore('log').put({ last: i, stream: `s${i % 10}`, version: i });
  tx.objectStore('meta').put({ key: 'head', position: 1000 });
  tx.objectStore('streams').put({ stream: 's3', version: 100 });
  await new Promise((resolve) => { tx.oncomplete = resolve; });
  const out = {};
  const time = async (name, f) => {
    const t = performance.now();
    for (let k = 0; k < 300; k++) await f(db.transaction(['log', 'meta', 'streams'], 'readonly'));
    out[name] = `${((performance.now() - t) / 300 * 1000).toFixed(0)} µs per transaction`;
  };
  for (let round = 0; round < 2; round++) {
    await time('two get (head and stream records)', (t) => Promise.all([req(t.objectStore('meta').get('head')), req(t.objectStore('streams').get('s3'))]));
    await time("two openKeyCursor('prev') (log, stream index)", (t) => Promise.all([
      req(t.objectStore('log').openKeyCursor(null, 'prev')),
      req(t.objectStore('log').index('stream').openKeyCursor(IDBKeyRange.bound(['s3', 0], ['s3', Infinity]), 'prev')),
    ]));
  }
  return out;
}

try {
  if (which === 'reads') console.log(JSON.stringify(await inPage([], reads), null, 1));
  else for (const [label, flags] of [['LevelDB', []], ['SQLite', ['--enable-features=IdbSqliteBackingStore']]]) {
    console.log(label, JSON.stringify(await inPage(flags, cursors), null, 1));
  }
} finally {
  await server.close();
}
