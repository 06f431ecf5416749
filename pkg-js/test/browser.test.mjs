// The browser entry in headless Chromium: lazy init (fetching the wasm beside the module),
// IndexedDB storage on a page and in a dedicated worker, and live delivery across two tabs.
// Skipped when Chromium is not installed.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const root = fileURLToPath(new URL('..', import.meta.url));
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

const WORKER = `
  import { openStore, isWrongExpectedVersionError } from '/dist/browser.js';
  onmessage = async ({ data: name }) => {
    try {
      const store = await openStore({ name });
      await store.append('W-1', [{ type: 'FromWorker', data: { n: 1 } }]);
      let wrong = false;
      try { await store.append('W-1', { type: 'X', data: 1 }, { expectedVersion: 'no_stream' }); }
      catch (e) { wrong = isWrongExpectedVersionError(e); }
      const events = await store.readAll().toArray();
      await store.close();
      postMessage({ wrong, events: events.map((e) => [e.stream, e.type, e.position]) });
    } catch (e) { postMessage({ error: String(e) }); }
  };
`;

let server, base, browser;

describe('browser entry (Chromium)', { skip: !existsSync(CHROMIUM) && `no ${CHROMIUM}` }, () => {
  before(async () => {
    server = createServer(async (req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>annals</title>');
      if (path === '/worker.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(WORKER);
      const file = normalize(join(root, path));
      if (!file.startsWith(join(root, 'dist'))) return res.writeHead(404).end();
      try {
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(await readFile(file));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${server.address().port}/`;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  });

  test('on a page: IndexedDB store, data survives reopening, typed errors', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(base);
    const out = await page.evaluate(async () => {
      const { openStore, isWrongExpectedVersionError, WrongExpectedVersionError } = await import('/dist/browser.js');
      const first = await openStore({ name: 'page-db' });
      await first.append('Order-1', [{ type: 'Placed', data: { total: 3 } }, { type: 'Paid', data: null }]);
      let error;
      try { await first.append('Order-1', { type: 'X', data: 1 }, { expectedVersion: 5 }); } catch (e) { error = e; }
      await first.close();
      const again = await openStore({ name: 'page-db', storage: 'indexeddb' });
      const events = await again.readStream('Order-1').toArray();
      const version = await again.streamVersion('Order-1');
      await again.close();
      return {
        version,
        events: events.map((e) => [e.type, e.version, e.position, e.recordedAt instanceof Date]),
        error: [error instanceof WrongExpectedVersionError, isWrongExpectedVersionError(error), error.expected, error.actual],
        databases: (await indexedDB.databases()).map((d) => d.name),
      };
    });
    assert.equal(out.version, 2);
    assert.deepEqual(out.events, [['Placed', 1, 1, true], ['Paid', 2, 2, true]]);
    assert.deepEqual(out.error, [true, true, 5, 2]);
    assert.ok(out.databases.some((n) => n.includes('page-db')), out.databases.join());
  });

  test('invalid options write nothing: no database is created for a store that does not open', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(base);
    const out = await page.evaluate(async () => {
      const { openStore, InvalidArgumentError } = await import('/dist/browser.js');
      const fields = [];
      for (const upcasters of [5, { Placed: 'not a function' }]) {
        try { await openStore({ name: 'never-opened', upcasters }); } catch (e) { fields.push(e instanceof InvalidArgumentError && e.field); }
      }
      return { fields, databases: (await indexedDB.databases()).map((d) => d.name) };
    });
    assert.deepEqual(out.fields, ['upcasters', 'upcasters.Placed']);
    assert.ok(!out.databases.some((n) => n.includes('never-opened')), out.databases.join());
  });

  test('in a dedicated worker', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(base);
    const out = await page.evaluate(() => new Promise((resolve) => {
      const worker = new Worker('/worker.js', { type: 'module' });
      worker.onmessage = ({ data }) => resolve(data);
      worker.onerror = (e) => resolve({ error: e.message ?? 'worker error' });
      worker.postMessage('worker-db');
    }));
    assert.deepEqual(out, { wrong: true, events: [['W-1', 'FromWorker', 1]] });
  });

  test('two tabs on one database: a subscription in one sees appends from the other', async () => {
    const context = await browser.newContext();
    const [a, b] = [await context.newPage(), await context.newPage()];
    await a.goto(base);
    await b.goto(base);
    await a.evaluate(async () => {
      const { openStore } = await import('/dist/browser.js');
      const store = await openStore({ name: 'tabs' });
      await store.append('Seed-1', { type: 'Seed', data: 0 });
      globalThis.seen = [];
      globalThis.sub = store.subscribe({ after: 'end' });
      globalThis.done = (async () => { for await (const e of globalThis.sub) { globalThis.seen.push([e.stream, e.position]); if (globalThis.seen.length === 3) break; } })();
    });
    await b.evaluate(async () => {
      const { openStore } = await import('/dist/browser.js');
      const store = await openStore({ name: 'tabs' });
      await store.append('Tab-B', [{ type: 'T', data: 1 }, { type: 'T', data: 2 }]);
      await store.append('Tab-B', { type: 'T', data: 3 });
    });
    const seen = await a.evaluate(() => Promise.race([
      globalThis.done.then(() => globalThis.seen),
      new Promise((resolve) => setTimeout(() => resolve({ timeout: globalThis.seen }), 5000)),
    ]));
    assert.deepEqual(seen, [['Tab-B', 2], ['Tab-B', 3], ['Tab-B', 4]]);
  });
});
