// Packaging tests (issue 12; automerge's javascript/e2e is the model): the packed tarball of
// pkg-js/ installed into fresh apps, each built with a bundler or run by a runtime exactly as
// the README's setup notes say, then exercised:
// - in Chromium (one browser, a fresh context per app): append, reload, read back from
//   IndexedDB, and a second page sees an append of the first live;
// - in a runtime: the smoke test of apps/common/smoke.js twice in one process or isolate
//   (memory store: appends, the typed stale-version error, read back, live subscription).
// The apps' sources are in apps/; they are assembled and built under build/ (rebuilt each
// run). Prints each bundler or runtime with its outcome and the gzipped size of what it ships.
// Needs `bash scripts/build.sh` (pkg-js/dist) and `npm ci` here (scripts/setup.sh test).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { start } from '../../demo/serve.mjs';
import { CHROMIUM, CHROMIUM_ARGS } from '../e2e/helpers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const PKG = join(HERE, '../../pkg-js');
const APPS = join(HERE, 'apps');
const BUILD = join(HERE, 'build');
const BIN = join(HERE, 'node_modules/.bin');
const run = promisify(execFile);

let browser;
const rows = [];

before(async () => {
  await rm(BUILD, { recursive: true, force: true });
  await mkdir(join(BUILD, 'installed'), { recursive: true });
  // The tarball as it would be published, installed once; each app gets a copy of it.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', BUILD], { cwd: PKG });
  await writeFile(join(BUILD, 'installed/package.json'), '{ "private": true }');
  await run('npm', ['install', join(BUILD, stdout.trim()), '--no-save', '--no-package-lock', '--offline', '--no-audit', '--no-fund'],
    { cwd: join(BUILD, 'installed') });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  const kb = (n) => (n === undefined ? '—' : `${(n / 1024).toFixed(1)} KB`);
  console.log(`\n${'bundler / runtime'.padEnd(60)}${'result'.padEnd(8)}${'JS gzip'.padStart(10)}${'wasm gzip'.padStart(11)}${'total'.padStart(10)}`);
  for (const r of rows) {
    const total = r.js === undefined ? undefined : r.js + (r.wasm ?? 0);
    console.log(`${r.name.padEnd(60)}${r.result.padEnd(8)}${kb(r.js).padStart(10)}${kb(r.wasm).padStart(11)}${kb(total).padStart(10)}`);
  }
  console.log('(sizes: what the build ships, gzip -9: annals plus a page or handler of about 30 lines; — : not bundled)');
});

/** A test of one bundler or runtime, recorded in the printed table. */
function packaging(name, fn) {
  test(name, async () => {
    const row = { name, result: 'FAIL' };
    rows.push(row);
    Object.assign(row, await fn());
    row.result = 'pass';
  });
}

/** A fresh app in build/<name>: the files of the named apps/ folders, annals installed. */
async function app(name, ...sources) {
  const dir = join(BUILD, name);
  await mkdir(join(dir, 'node_modules'), { recursive: true });
  for (const source of sources) await cp(join(APPS, source), dir, { recursive: true });
  await cp(join(BUILD, 'installed/node_modules/annals'), join(dir, 'node_modules/annals'), { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module', dependencies: { annals: '0.1.0' } }));
  return dir;
}

/** Gzipped size of the JS and of the wasm files under `dir` (source maps and HTML left out). */
async function shipped(dir) {
  const size = { js: 0, wasm: 0 };
  for (const f of await readdir(dir, { recursive: true })) {
    const kind = { '.js': 'js', '.mjs': 'js', '.wasm': 'wasm' }[extname(f)];
    if (kind) size[kind] += gzipSync(await readFile(join(dir, f)), { level: 9 }).length;
  }
  return size;
}

/** Runs a command of this folder's node_modules/.bin (or `cmd` itself) in `cwd`. */
async function sh(cwd, cmd, args, env = {}) {
  const file = cmd.includes('/') ? cmd : join(BIN, cmd);
  try {
    return await run(file, args, { cwd, env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 1 << 24 });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`);
  }
}

// ---- Chromium ---------------------------------------------------------------------------

/** Opens `url` and waits for the page harness (apps/common/page.js) to say how it went. */
async function openPage(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => document.title === 'ready' || document.title === 'failed', null, { timeout: 30_000 });
  return { ready: (await page.title()) === 'ready', text: await page.locator('body').innerText() };
}

/** Append, reload, read back, a second page live: the app at `url`, in a fresh context. */
async function checkInChromium(url) {
  const context = await browser.newContext();
  try {
    const first = await context.newPage();
    const errors = [];
    first.on('pageerror', (e) => errors.push(String(e)));
    const opened = await openPage(first, url);
    assert.ok(opened.ready, `the page failed: ${opened.text} ${errors.join(' ')}`);
    assert.deepEqual([await first.evaluate(() => smoke.append(1)), await first.evaluate(() => smoke.append(2))], [1, 2]);
    await first.reload();
    assert.ok((await openPage(first, url)).ready);
    assert.deepEqual(await first.evaluate(() => smoke.read()), [1, 2], 'read back after a reload');
    const second = await context.newPage();
    assert.ok((await openPage(second, url)).ready);
    await second.evaluate(() => smoke.watch());
    await first.evaluate(() => smoke.append(3));
    let seen = [];
    for (const deadline = Date.now() + 10_000; seen.length === 0 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen = await second.evaluate(() => smoke.seen());
    }
    assert.deepEqual(seen, [3], 'the second page sees the append of the first live');
  } finally {
    await context.close();
  }
}

/**
 * Serves the app's dist/ on 127.0.0.1 (with the common page, where the bundler makes none),
 * checks it in Chromium, and returns the sizes of what it ships.
 */
async function checkBuilt(dir) {
  const dist = join(dir, 'dist');
  if (!existsSync(join(dist, 'index.html'))) await cp(join(APPS, 'common/index.html'), join(dist, 'index.html'));
  const server = await start(0, { root: dist });
  try {
    await checkInChromium(server.url);
  } finally {
    await server.close();
  }
  return shipped(dist);
}

/** Builds the app with `vite` (the npm package, aliased per major; config file included) and checks it. */
async function viteBuild(dir, vite = 'vite') {
  const { build } = await import(vite);
  await build({ root: dir, logLevel: 'silent' });
  return checkBuilt(dir);
}

/** A Vite dev server (of the npm package `vite`, aliased per major) on `root`, its config file included. */
async function viteDev(vite, root, fn) {
  const { createServer } = await import(vite);
  const server = await createServer({ root, logLevel: 'silent', clearScreen: false, server: { host: '127.0.0.1', port: 0 } });
  await server.listen();
  try {
    return await fn(server.resolvedUrls.local[0]);
  } finally {
    await server.close();
  }
}

for (const major of [8, 7, 6, 5]) {
  packaging(`Vite ${major} (build)`, async () =>
    viteBuild(await app(`vite${major}-build`, 'common', 'browser'), major === 8 ? 'vite' : `vite${major}`));
}

for (const major of [8, 7, 6, 5]) {
  // Vite 8 needs no configuration; 5–7 need the one line of apps/vite-dev/vite.config.js.
  packaging(`Vite ${major} (dev server)`, async () => {
    const dir = await app(`vite${major}-dev`, 'common', 'browser', ...(major < 8 ? ['vite-dev'] : []));
    await viteDev(major === 8 ? 'vite' : `vite${major}`, dir, checkInChromium);
  });
}

/** What the page at `url` shows when it fails to open its store (it must fail). */
async function failure(url) {
  const context = await browser.newContext();
  try {
    const { ready, text } = await openPage(await context.newPage(), url);
    assert.equal(ready, false, 'the page opened its store');
    return text;
  } finally {
    await context.close();
  }
}

for (const major of [7, 6, 5]) {
  test(`Vite ${major} dev server without optimizeDeps.exclude: the page shows a WasmLoadError naming the fix`, async () => {
    const dir = await app(`vite${major}-dev-unconfigured`, 'common', 'browser');
    const text = await viteDev(`vite${major}`, dir, failure);
    assert.match(text, /^WasmLoadError: annals could not load its wasm from http:\/\/127\.0\.0\.1:\d+\/node_modules\/\.vite\/deps\/wasm\/annals_bg\.wasm/);
    assert.match(text, /content-type text\/html/);
    assert.match(text, /optimizeDeps: \{ exclude: \['annals'\] \}/);
  });
}

// esbuild does not carry the binary along: an iife bundle has no module URL to look from, an
// ES module bundle looks beside itself and gets a 404.
for (const [format, what] of [['iife', /could not load its wasm: it could not tell where the binary is: this module has no URL/],
  ['esm', /could not load its wasm from http:\/\/127\.0\.0\.1:\d+\/wasm\/annals_bg\.wasm \(HTTP 404/]]) {
  test(`esbuild ${format} output without initWasm: the page shows a WasmLoadError naming the fix`, async () => {
    const dir = await app(`esbuild-${format}-bare`, 'common', 'browser');
    await sh(dir, 'esbuild', ['main.js', '--bundle', `--format=${format}`, '--outdir=dist', '--log-level=error']);
    await cp(join(APPS, 'common/index.html'), join(dir, 'dist/index.html'));
    const server = await start(0, { root: join(dir, 'dist') });
    const text = await failure(server.url).finally(() => server.close());
    assert.match(text, new RegExp(`^WasmLoadError: annals ${what.source}`));
    assert.match(text, /esbuild with `--loader:\.wasm=file`: `import url from 'annals\/annals_bg\.wasm'`\) and `await initWasm\(url\)`/);
  });
}

packaging('webpack 5', async () => {
  const dir = await app('webpack');
  await cp(join(APPS, 'common/page.js'), join(dir, 'src/page.js'));
  await cp(join(APPS, 'browser/main.js'), join(dir, 'src/index.js'));
  // What `npx webpack` does with no configuration: ./src/index.js to ./dist/main.js.
  const { default: webpack } = await import('webpack');
  const stats = await new Promise((resolve, reject) =>
    webpack({ mode: 'production', context: dir, output: { path: join(dir, 'dist') } }, (e, s) => (e ? reject(e) : resolve(s))));
  assert.ok(!stats.hasErrors(), stats.toString('errors-only'));
  return checkBuilt(dir);
});

packaging('esbuild', async () => {
  const dir = await app('esbuild', 'common', 'esbuild');
  await sh(dir, 'esbuild', ['main.js', '--bundle', '--format=esm', '--loader:.wasm=file', '--outdir=dist', '--log-level=warning']);
  return checkBuilt(dir);
});

packaging('Rollup 4', async () => {
  const dir = await app('rollup', 'common', 'browser', 'rollup');
  await sh(dir, 'rollup', ['-c', '--silent']);
  return checkBuilt(dir);
});

packaging('module Web Worker (Vite 8 build)', async () => {
  return viteBuild(await app('worker', 'common', 'worker'));
});

// ---- runtimes ---------------------------------------------------------------------------

/** What two smoke runs in one process or isolate return (apps/common/smoke.js). */
const TWO_RUNS = [
  { events: [1, 2], live: [1, 2], stale: 'WrongExpectedVersionError actual=2' },
  { events: [1, 2, 3, 4], live: [3, 4], stale: 'WrongExpectedVersionError actual=4' },
];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

packaging('Cloudflare workerd (wrangler bundle, npm workerd)', async () => {
  const dir = await app('workerd', 'common', 'workerd');
  const home = join(dir, '.home'); // wrangler keeps its settings there, not in the user's home
  await sh(dir, 'wrangler', ['deploy', '--dry-run', '--outdir', 'out'],
    { HOME: home, XDG_CONFIG_HOME: home, WRANGLER_SEND_METRICS: 'false', CI: 'true' });
  // Exactly the bundle `wrangler deploy` uploads, run by workerd itself.
  const modules = (await readdir(join(dir, 'out'))).filter((f) => /\.(js|wasm)$/.test(f)).map((f) =>
    `(name = "${f}", ${f.endsWith('.wasm') ? 'wasm' : 'esModule'} = embed "out/${f}")`);
  const port = await freePort();
  await writeFile(join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ ${modules.sort((a) => (a.includes('"worker.js"') ? -1 : 1)).join(', ')} ],
  compatibilityDate = "2026-11-01",
);
`);
  const workerd = spawn(join(BIN, 'workerd'), ['serve', 'config.capnp'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  workerd.stdout.on('data', (d) => (log += d));
  workerd.stderr.on('data', (d) => (log += d));
  try {
    const answers = [];
    for (let i = 0; i < 2; i++) {
      const response = await fetchWhenUp(`http://127.0.0.1:${port}/`, workerd);
      const body = await response.text();
      assert.equal(response.status, 200, `${body}\n${log}`);
      answers.push(JSON.parse(body));
    }
    assert.deepEqual(answers, TWO_RUNS, log);
  } finally {
    workerd.kill();
  }
  return shipped(join(dir, 'out'));
});

/** Fetches `url`, retrying while the server `child` is still starting (up to 20 s). */
async function fetchWhenUp(url, child) {
  for (let deadline = Date.now() + 20_000; ; ) {
    try {
      return await fetch(url);
    } catch (e) {
      if (child.exitCode !== null || Date.now() > deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

packaging("Vercel edge-runtime (edge-light, wasm code generation off)", async () => {
  const dir = await app('edge', 'common', 'edge');
  // Bundled as Vercel's builders do (the `edge-light` condition; a `.wasm?module` import
  // becomes a global holding a WebAssembly.Module compiled outside the isolate), then run in
  // edge-runtime with wasm code generation off, as in production.
  const esbuild = await import('esbuild');
  const wasm = {};
  const vercelWasm = {
    name: 'vercel-wasm',
    setup(b) {
      b.onResolve({ filter: /\.wasm\?module$/ }, async (args) => {
        const { path } = await b.resolve(args.path.replace(/\?module$/, ''), { resolveDir: args.resolveDir, kind: 'import-statement' });
        const name = `wasm_${Object.keys(wasm).length}`;
        wasm[name] = path;
        return { path: name, namespace: 'vercel-wasm' };
      });
      b.onLoad({ filter: /.*/, namespace: 'vercel-wasm' }, (args) => ({ contents: `export default globalThis[${JSON.stringify(args.path)}]` }));
    },
  };
  const out = await esbuild.build({
    entryPoints: [join(dir, 'handler.js')], bundle: true, write: false, format: 'cjs', platform: 'browser',
    conditions: ['edge-light'], plugins: [vercelWasm], logLevel: 'error',
  });
  const bundle = out.outputFiles[0].contents;
  assert.deepEqual(Object.values(wasm), [join(dir, 'node_modules/annals/dist/wasm/annals_bg.wasm')]);
  const bindings = {};
  for (const [name, path] of Object.entries(wasm)) bindings[name] = await WebAssembly.compile(await readFile(path));
  const { EdgeRuntime } = await import('edge-runtime');
  const runtime = new EdgeRuntime({
    initialCode: `${new TextDecoder().decode(bundle)}
      const userModule = module.exports;
      addEventListener('fetch', (event) => event.respondWith(userModule.default(event.request)));`,
    extend: (context) => Object.assign(context, { module: {}, ...bindings }),
    codeGeneration: { strings: false, wasm: false },
  });
  const answers = [];
  for (let i = 0; i < 2; i++) {
    const response = await runtime.dispatchFetch('http://127.0.0.1/api/smoke');
    await response.waitUntil();
    assert.equal(response.status, 200);
    answers.push(await response.json());
  }
  assert.deepEqual(answers, TWO_RUNS);
  const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
  return { js: gz(bundle), wasm: gz(await readFile(Object.values(wasm)[0])) };
});

packaging('Deno 2 (npm deno, --allow-read=node_modules/annals)', async () => {
  const dir = await app('deno', 'common', 'runtime');
  const env = { DENO_DIR: join(dir, '.deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
  const { stdout } = await sh(dir, 'deno', ['run', '--allow-read=node_modules/annals', 'main.js'], env);
  assert.deepEqual(JSON.parse(stdout), TWO_RUNS);
  // Without the permission: the typed error names the flag.
  const denied = await sh(dir, 'deno', ['run', 'main.js'], env).then(() => assert.fail('ran without --allow-read'), (e) => e.message);
  assert.match(denied, /WasmLoadError: annals could not load its wasm from file:\/\/\S+\/node_modules\/annals\/dist\/wasm\/annals_bg\.wasm/);
  assert.match(denied, /deno run --allow-read=node_modules\/annals/);
});

packaging('Bun (npm bun)', async () => {
  const dir = await app('bun', 'common', 'runtime');
  const { stdout } = await sh(dir, 'bun', ['main.js'], { BUN_INSTALL_CACHE_DIR: join(dir, '.bun'), NO_COLOR: '1' });
  assert.deepEqual(JSON.parse(stdout), TWO_RUNS);
});

packaging('Node (import, and require from CommonJS)', async () => {
  const dir = await app('node', 'common', 'runtime');
  const { stdout } = await sh(dir, process.execPath, ['main.js']);
  assert.deepEqual(JSON.parse(stdout), TWO_RUNS);
  await writeFile(join(dir, 'main.cjs'), `
    const { openStore, isWrongExpectedVersionError } = require('annals');
    import('./smoke.js').then(async ({ smoke }) => console.log(JSON.stringify(await smoke(openStore, isWrongExpectedVersionError))));
  `);
  const required = await sh(dir, process.execPath, ['main.cjs']);
  assert.deepEqual(JSON.parse(required.stdout), TWO_RUNS[0]);
  assert.doesNotMatch(required.stderr, /ExperimentalWarning/);
});

packaging('bundled Node function (esbuild --platform=node)', async () => {
  const dir = await app('node-bundle', 'common', 'node-bundle');
  await sh(dir, 'esbuild', ['handler.js', '--bundle', '--platform=node', '--format=esm', '--loader:.wasm=binary',
    '--target=node20', '--outfile=dist/handler.mjs', '--log-level=warning']);
  // Deployed alone, as a function is: no node_modules beside it.
  const deployed = join(BUILD, 'node-bundle-deployed');
  await cp(join(dir, 'dist'), deployed, { recursive: true });
  const { stdout } = await sh(deployed, process.execPath, ['--input-type=module', '-e', `
    const { handler } = await import('./handler.mjs');
    console.log(JSON.stringify([await handler(), await handler()]));
  `]);
  assert.deepEqual(JSON.parse(stdout), TWO_RUNS);
  return { js: (await shipped(deployed)).js }; // the wasm travels inside the JS
});

packaging('bundled Node function (bun build --target=node)', async () => {
  const dir = await app('node-bundle-bun', 'common', 'node-bundle');
  // bun build copies the imported binary beside the bundle; the import gives its path
  // (./annals_bg-<hash>.wasm), which initWasm reads relative to the bundle.
  await sh(dir, 'bun', ['build', 'handler.js', '--target=node', '--outdir=dist'], { BUN_INSTALL_CACHE_DIR: join(dir, '.bun'), NO_COLOR: '1' });
  const deployed = join(BUILD, 'node-bundle-bun-deployed');
  await cp(join(dir, 'dist'), deployed, { recursive: true });
  await writeFile(join(deployed, 'package.json'), '{ "type": "module" }'); // bun build writes handler.js
  // Run from elsewhere, as a function host may: the binary is found beside the bundle.
  const { stdout } = await sh(BUILD, process.execPath, ['--input-type=module', '-e', `
    const { handler } = await import(${JSON.stringify(join(deployed, 'handler.js'))});
    console.log(JSON.stringify([await handler(), await handler()]));
  `]);
  assert.deepEqual(JSON.parse(stdout), TWO_RUNS);
  return shipped(deployed);
});
