// Loading the wasm module: initWasm on every entry takes bytes, a compiled module or a URL, and
// a load that cannot work rejects with a WasmLoadError naming what was tried, what came back and
// the fix. The wasm is instantiated once per process, so each case runs in its own Node process.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const wasmFile = join(dist, 'wasm/annals_bg.wasm');

/** Runs `body` (an async function body with `entry` imported) in a fresh Node; returns its JSON. */
async function run(entryUrl, body) {
  const script = `
    const entry = await import(${JSON.stringify(entryUrl)});
    const { readFileSync } = await import('node:fs');
    const describe = (e) => ({ name: e.name, isAnnals: entry.isAnnalsError(e), isLoad: entry.isWasmLoadError(e),
      code: e.errorCode, url: e.url, contentType: e.contentType, fix: e.fix, message: e.message });
    const smoke = async () => {
      const store = await entry.openStore({ storage: 'memory' });
      await store.append('S-1', { type: 'T', data: 1 });
      return (await store.readStream('S-1').toArray()).map((e) => [e.type, e.version, e.data]);
    };
    const result = await (async () => { ${body} })();
    console.log(JSON.stringify(result));
  `;
  // Not execFileSync: the child fetches from the server in this process.
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, WASM_FILE: wasmFile } });
  return JSON.parse(stdout);
}

const nodeEntry = pathToFileURL(join(dist, 'node.js')).href;
const browserEntry = pathToFileURL(join(dist, 'browser.js')).href;

let server, base, copy;
before(async () => {
  // A server that answers like a dev server with a SPA fallback: index.html for anything but
  // the binary's one real path, and 404 under /missing/.
  server = createServer((req, res) => {
    if (req.url === '/assets/annals_bg.wasm') {
      res.writeHead(200, { 'Content-Type': 'application/wasm' }).end(readFileSync(wasmFile));
    } else if (req.url.startsWith('/missing/')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    } else {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>app</title>');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  // The package without its binary, as a bundler that does not copy it leaves it.
  copy = await mkdtemp(join(tmpdir(), 'annals-nowasm-'));
  await cp(dist, copy, { recursive: true, filter: (f) => !f.endsWith('.wasm') });
});
after(async () => {
  server.close();
  await rm(copy, { recursive: true, force: true });
});

test('node entry: initWasm takes the bytes, then openStore works', async () => {
  assert.deepEqual(await run(nodeEntry, `await entry.initWasm(readFileSync(process.env.WASM_FILE)); return smoke();`), [['T', 1, 1]]);
});

test('node entry: initWasm takes a compiled WebAssembly.Module', async () => {
  const body = `await entry.initWasm(new WebAssembly.Module(readFileSync(process.env.WASM_FILE))); return smoke();`;
  assert.deepEqual(await run(nodeEntry, body), [['T', 1, 1]]);
});

test('node entry, binary not beside it (a bundled function): WasmLoadError with the path and the fix; initWasm(bytes) then works', async () => {
  const result = await run(pathToFileURL(join(copy, 'node.js')).href, `
    const failed = await smoke().then(() => 'opened', describe);
    await entry.initWasm(readFileSync(process.env.WASM_FILE));
    return { failed, then: await smoke() };
  `);
  const { failed } = result;
  assert.equal(failed.name, 'WasmLoadError');
  assert.ok(failed.isAnnals && failed.isLoad);
  assert.equal(failed.code, 503);
  assert.equal(failed.url, pathToFileURL(join(copy, 'wasm/annals_bg.wasm')).href);
  assert.equal(failed.contentType, undefined);
  assert.match(failed.message, /ENOENT/);
  assert.match(failed.fix, /--loader:\.wasm=binary/);
  assert.match(failed.fix, /initWasm\(wasm\)/);
  assert.deepEqual(result.then, [['T', 1, 1]]);
});

test('bytes that are not wasm: WasmLoadError saying what they start with', async () => {
  const failed = await run(nodeEntry, `return entry.initWasm(new TextEncoder().encode('<!doctype html>')).then(() => 'loaded', describe);`);
  assert.equal(failed.name, 'WasmLoadError');
  assert.match(failed.message, /not a wasm module \(they start with "<!do"\)/);
});

test('something else entirely: WasmLoadError naming what initWasm takes', async () => {
  const failed = await run(nodeEntry, `return entry.initWasm(42).then(() => 'loaded', describe);`);
  assert.equal(failed.name, 'WasmLoadError');
  assert.match(failed.message, /not a URL, Response, bytes or WebAssembly.Module/);
});

test('browser entry: a URL served as application/wasm loads', async () => {
  assert.deepEqual(await run(browserEntry, `await entry.initWasm('${base}/assets/annals_bg.wasm'); return smoke();`), [['T', 1, 1]]);
});

test('browser entry: HTML where the binary should be (a SPA fallback) names the URL, the content type and the fix', async () => {
  const failed = await run(browserEntry, `return entry.initWasm('${base}/app/annals_bg.wasm').then(() => 'loaded', describe);`);
  assert.equal(failed.name, 'WasmLoadError');
  assert.equal(failed.url, `${base}/app/annals_bg.wasm`);
  assert.equal(failed.contentType, 'text/html');
  assert.match(failed.message, /start with "<!do"/);
  assert.match(failed.fix, /a bundler moved annals without its annals_bg\.wasm/);
});

test("browser entry: Vite's pre-bundled copy (node_modules/.vite/) gets the optimizeDeps fix", async () => {
  const failed = await run(browserEntry, `return entry.initWasm('${base}/node_modules/.vite/deps/wasm/annals_bg.wasm').then(() => 'loaded', describe);`);
  assert.equal(failed.name, 'WasmLoadError');
  assert.equal(failed.contentType, 'text/html');
  assert.match(failed.fix, /optimizeDeps: \{ exclude: \['annals'\] \}/);
});

test('browser entry: a 404 names the status; a later initWasm with the right URL loads', async () => {
  const result = await run(browserEntry, `
    const failed = await entry.initWasm('${base}/missing/annals_bg.wasm').then(() => 'loaded', describe);
    await entry.initWasm('${base}/assets/annals_bg.wasm');
    return { failed, then: await smoke() };
  `);
  assert.equal(result.failed.name, 'WasmLoadError');
  assert.match(result.failed.message, /answered 404/);
  assert.equal(result.failed.contentType, 'text/plain');
  assert.deepEqual(result.then, [['T', 1, 1]]);
});
