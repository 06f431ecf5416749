// Loading the wasm module: initWasm on the node and browser entries, and the WasmLoadError
// every failure becomes (the place tried, what came back, the likely fix).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const WASM = new URL('../dist/wasm/annals_bg.wasm', import.meta.url);
let server, base;

before(async () => {
  // Answers like a dev server whose SPA fallback serves index.html for unknown paths, or 404s.
  server = createServer((req, res) => {
    if (req.url.startsWith('/missing/')) return res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><body></body></html>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => new Promise((resolve) => server.close(resolve)));

/** The rejection of `promise`, asserted to be a WasmLoadError of `entry`. */
async function loadError(entry, promise) {
  const e = await promise.then(() => assert.fail('resolved'), (e) => e);
  assert.ok(e instanceof entry.WasmLoadError && e instanceof entry.AnnalsError, String(e));
  assert.ok(entry.isWasmLoadError(e) && entry.isAnnalsError(e));
  assert.equal(e.name, 'WasmLoadError');
  assert.equal(e.errorCode, entry.ErrorCode.WasmLoad);
  return e;
}

test('browser entry: an HTML answer from a Vite dev server names the URL, the type and optimizeDeps', async () => {
  const browser = await import('../dist/browser.js');
  const url = `${base}/node_modules/.vite/deps/wasm/annals_bg.wasm`;
  const e = await loadError(browser, browser.initWasm(url));
  assert.equal(e.url, url);
  assert.equal(e.contentType, 'text/html');
  assert.ok(e.message.includes(url), e.message);
  assert.match(e.message, /content-type text\/html/);
  assert.match(e.message, /not a wasm binary: it starts with "<!doctype html>/);
  assert.match(e.message, /optimizeDeps: \{ exclude: \['annals'\] \}/);
});

test('browser entry: a 404 names the status and how to hand the binary over', async () => {
  const browser = await import('../dist/browser.js');
  const url = `${base}/missing/annals_bg.wasm`;
  const e = await loadError(browser, browser.initWasm(new URL(url)));
  assert.equal(e.url, url);
  assert.equal(e.contentType, 'text/plain');
  assert.match(e.message, /HTTP 404/);
  assert.match(e.message, /initWasm\(url\)/);
  assert.match(e.message, /--loader:\.wasm=file/);
});

test('browser entry: the default location that cannot be fetched (file: in Node) is reported, not thrown raw', async () => {
  const browser = await import('../dist/browser.js');
  const e = await loadError(browser, browser.openStore({ storage: 'memory' }));
  assert.equal(e.url, new URL('../dist/wasm/annals_bg.wasm', import.meta.url).href);
  assert.ok(e.cause instanceof Error);
});

test('node entry: a missing file names the path and the fix for a bundled function', async () => {
  const node = await import('../dist/node.js');
  const e = await loadError(node, node.initWasm('/nowhere/annals_bg.wasm'));
  assert.equal(e.url, '/nowhere/annals_bg.wasm');
  assert.equal(e.contentType, undefined);
  assert.equal(e.cause.code, 'ENOENT');
  assert.match(e.message, /annals could not load its wasm from \/nowhere\/annals_bg\.wasm: .*ENOENT/);
  assert.match(e.message, /--loader:\.wasm=binary/);
  assert.match(e.message, /await initWasm\(wasm\)/);
});

test('node entry: bytes that are not wasm, and a value that is no source, are refused', async () => {
  const node = await import('../dist/node.js');
  const e = await loadError(node, node.initWasm(new TextEncoder().encode('export default 1;')));
  assert.match(e.message, /not a wasm binary: it starts with "export default 1;"/);
  const wrong = await loadError(node, node.initWasm(42));
  assert.match(wrong.message, /initWasm takes a URL, a Response, bytes or a WebAssembly.Module, not \[object Number\]/);
});

test('node entry: after failures, initWasm takes a compiled module; later calls keep the first', async () => {
  const node = await import('../dist/node.js');
  await node.initWasm(new WebAssembly.Module(await readFile(WASM)));
  await node.initWasm('/nowhere/annals_bg.wasm'); // already loaded: not read again
  const store = await node.openStore({ storage: 'memory' });
  await store.append('S-1', { type: 'T', data: 1 });
  assert.equal(await store.streamVersion('S-1'), 1);
  await store.close();
});

test('node entry: a relative path is read beside the module (as in a bundle, whose file loader gives one), not from the working directory', async () => {
  const node = await import('../dist/node.js?relative-path'); // its own initWasm, not yet called
  const e = await loadError(node, node.initWasm('./nowhere/annals_bg.wasm'));
  assert.equal(e.url, './nowhere/annals_bg.wasm');
  assert.equal(e.cause.path, fileURLToPath(new URL('../dist/nowhere/annals_bg.wasm', import.meta.url)));
  assert.notEqual(process.cwd(), fileURLToPath(new URL('../dist', import.meta.url)));
  await node.initWasm('./wasm/annals_bg.wasm'); // dist/wasm/annals_bg.wasm
});
