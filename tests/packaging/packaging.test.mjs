// Packaging: the packed annals installed into fresh apps, built the way the README shows for
// each bundler and run in Chromium (append, reload and read back, a second page live), and the
// same smoke test in each server runtime and in a module Web Worker. Prints, per bundler and
// runtime, whether it passed and what annals adds to what ships (gzip -9 of JS + wasm).
// Needs a built package (bash scripts/build.sh) and the tools of tests/packaging (npm ci there).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { start as serveStatic } from '../../demo/serve.mjs';
import { CHROMIUM, CHROMIUM_ARGS } from '../e2e/helpers.mjs';
import { EXPECTED } from './apps/server/smoke.js';
import { BIN, HERE, WORK, eventually, freePort, makeApp, packAndInstall, sh, shippedGzip, startProcess } from './harness.mjs';

const node = process.execPath;
const WAIT = { timeout: 20_000, state: 'attached' };
const rows = [];
let installed, browser;

before(async () => {
  installed = await packAndInstall();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
});
after(async () => {
  await browser?.close();
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`\n${'bundler / runtime'.padEnd(width)}  result  annals adds (gzip -9, JS + wasm)`);
  for (const r of rows) console.log(`${r.name.padEnd(width)}  ${r.ok ? 'pass  ' : 'FAIL  '}  ${r.size}`);
});

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

/**
 * A test named `name` (`how` says what the app does) that records its row of the table: the
 * size is what `body` returns (bytes, or a note).
 */
function packaging(name, how, body) {
  test(`${name}: ${how}`, async (t) => {
    const row = { name, ok: false, size: '' };
    rows.push(row);
    const size = await body(t);
    row.size = typeof size === 'number' ? kb(size) : size;
    row.ok = true;
  });
}

// ---- in Chromium -------------------------------------------------------------------------

async function openPage(context, url) {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.stack ?? e}`));
  page.on('console', (m) => m.type() === 'error' && !/favicon/.test(m.location().url) && problems.push(`console: ${m.text()}`));
  await page.goto(url);
  await page.waitForSelector('body[data-state]', WAIT);
  return { page, problems, state: await page.getAttribute('body', 'data-state'), error: await page.getAttribute('body', 'data-error') };
}

const item = (page, text) => page.waitForSelector(`#events li:text-is("${text}")`, WAIT);

/** The page at `url` works: an append shows, survives a reload, and shows live in a second page. */
async function checkApp(url) {
  const context = await browser.newContext();
  try {
    const first = await openPage(context, url);
    assert.equal(first.state, 'ready', `${url}: ${first.error}\n${first.problems.join('\n')}`);
    await first.page.evaluate(() => window.note('first'));
    await item(first.page, '1 first');
    await first.page.reload();
    await first.page.waitForSelector('body[data-state="ready"]', WAIT);
    await item(first.page, '1 first');
    const second = await openPage(context, url);
    assert.equal(second.state, 'ready', second.error);
    await item(second.page, '1 first');
    await first.page.evaluate(() => window.note('second'));
    await item(second.page, '2 second');
    assert.deepEqual(await second.page.$$eval('#events li', (lis) => lis.map((li) => li.textContent)), ['1 first', '2 second']);
    assert.deepEqual([...first.problems, ...second.problems], []);
  } finally {
    await context.close();
  }
}

/** The page at `url` cannot load the wasm and says so: a WasmLoadError naming `fix`. */
async function checkLoadError(url, fix) {
  const context = await browser.newContext();
  try {
    const { state, error } = await openPage(context, url);
    assert.equal(state, 'failed');
    assert.match(error, /^WasmLoadError: could not load annals_bg\.wasm/);
    assert.match(error, fix);
  } finally {
    await context.close();
  }
}

/** Serves a built app and checks it. */
async function checkBuilt(dir) {
  const server = await serveStatic(0, { root: dir });
  try {
    await checkApp(server.url);
  } finally {
    await server.close();
  }
}

/**
 * Builds `template` with `build(dir)` (which returns the output folder) twice: as is, and with
 * `main` replaced by the baseline page without annals. Returns both output folders.
 */
async function buildWithBaseline(name, template, build, mains = ['main.js']) {
  const out = await build(makeApp(name, template, installed));
  const replace = Object.fromEntries(mains.map((m) => [m, 'baseline.js']));
  const baseline = await build(makeApp(`${name}-baseline`, template, installed, replace));
  return { out, added: shippedGzip(out) - shippedGzip(baseline) };
}

const copyPage = (dir, out) => fs.copyFileSync(path.join(dir, 'index.html'), path.join(out, 'index.html'));
const vite = (version) => import(version === 8 ? 'vite' : `vite${version}`);

packaging('Vite 8 build', 'vite build, no configuration', async () => {
  const { build } = await vite(8);
  const { out, added } = await buildWithBaseline('vite8', 'web', async (root) => {
    await build({ root, configFile: false, logLevel: 'warn' });
    return path.join(root, 'dist');
  });
  await checkBuilt(out);
  return added;
});

/** A Vite dev server on `root` (with vite.config.js, or none); closed when `f` is done. */
async function withViteDev(version, root, configFile, f) {
  const { createServer } = await vite(version);
  const port = await freePort();
  const server = await createServer({ root, configFile, logLevel: 'error', server: { host: '127.0.0.1', port, strictPort: true } });
  await server.listen();
  try {
    return await f(`http://127.0.0.1:${port}/`);
  } finally {
    await server.close();
  }
}

packaging('Vite 8 dev', 'dev server, no configuration', async () => {
  const root = makeApp('vite8-dev', 'web', installed);
  await withViteDev(8, root, false, checkApp);
  return 'dev server';
});

for (const version of [5, 6, 7]) {
  packaging(`Vite ${version} dev`, "dev server, optimizeDeps: { exclude: ['annals'] } (without: a WasmLoadError naming it)", async () => {
    const root = makeApp(`vite${version}-dev`, 'web', installed);
    // Without the configuration, pre-bundling moves annals away from its wasm: the page says
    // what failed and names the fix.
    await withViteDev(version, root, false, (url) => checkLoadError(url, /optimizeDeps: \{ exclude: \['annals'\] \}/));
    fs.rmSync(path.join(root, 'node_modules/.vite'), { recursive: true, force: true });
    await withViteDev(version, root, path.join(root, 'vite.config.js'), checkApp);
    return 'dev server';
  });
}

packaging('webpack 5', 'webpack-cli, no configuration', async () => {
  const { out, added } = await buildWithBaseline('webpack', 'web', async (dir) => {
    await sh(node, [path.join(BIN, 'webpack-cli'), 'build', '--mode', 'production', '--entry', './main.js', '--output-path', 'dist'], { cwd: dir });
    copyPage(dir, path.join(dir, 'dist'));
    return path.join(dir, 'dist');
  });
  await checkBuilt(out);
  return added;
});

packaging('Rollup 4', 'node-resolve + import-meta-assets, not minified', async () => {
  const { out, added } = await buildWithBaseline('rollup', 'web', async (dir) => {
    await sh(node, [path.join(BIN, 'rollup'), '-c', 'rollup.config.mjs', '--silent'], { cwd: dir });
    copyPage(dir, path.join(dir, 'dist'));
    return path.join(dir, 'dist');
  });
  await checkBuilt(out);
  return added;
});

/** esbuild of `entry` into dir/dist/main.js (the page's script) with `flags`. */
async function esbuild(dir, entry, flags) {
  await sh(path.join(BIN, 'esbuild'), [entry, '--bundle', '--outfile=dist/main.js', '--log-level=error', ...flags], { cwd: dir });
  copyPage(dir, path.join(dir, 'dist'));
  return path.join(dir, 'dist');
}

for (const format of ['esm', 'iife']) {
  packaging(`esbuild ${format}`, `--format=${format} --loader:.wasm=file + initWasm (without: a WasmLoadError naming it)`, async () => {
    const flags = [`--format=${format}`, '--loader:.wasm=file', '--minify'];
    const { out, added } = await buildWithBaseline(`esbuild-${format}`, 'web', (dir) => esbuild(dir, 'main-esbuild.js', flags), ['main-esbuild.js']);
    await checkBuilt(out);
    // The same app without the two README lines: esbuild does not carry the wasm along, and
    // the page says so instead of "Invalid URL".
    const bare = await esbuild(makeApp(`esbuild-${format}-bare`, 'web', installed), 'main.js', flags);
    const server = await serveStatic(0, { root: bare });
    try {
      await checkLoadError(server.url, format === 'iife' ? /no import\.meta\.url.*--loader:\.wasm=file/ : /answered 404.*--loader:\.wasm=file/);
    } finally {
      await server.close();
    }
    return added;
  });
}

packaging('Web Worker', 'a module worker on IndexedDB, Vite 8 build', async () => {
  const { build } = await vite(8);
  const root = makeApp('worker', 'worker', installed);
  await build({ root, configFile: false, logLevel: 'warn', worker: { format: 'es' } });
  await checkBuilt(path.join(root, 'dist'));
  return `${kb(shippedGzip(path.join(root, 'dist')))} (whole app)`;
});

// ---- server runtimes --------------------------------------------------------------------

const smokeOf = (output) => JSON.parse(output.trim().split('\n').at(-1));

/** gzip of the package files the node entry loads from node_modules, each as it is on disk. */
const unbundled = (dir) => shippedGzip(path.join(dir, 'node_modules/annals/dist'), (f) => /^(browser|workerd|edge-light)\.js$/.test(f));

packaging('Node', 'from node_modules', async () => {
  const dir = makeApp('node', 'server', installed);
  assert.deepEqual(smokeOf(await sh(node, ['main.js'], { cwd: dir })), EXPECTED);
  return `${kb(unbundled(dir))} (unbundled)`;
});

packaging('Deno 2', 'npm deno, --allow-read (without: a WasmLoadError naming it)', async () => {
  const dir = makeApp('deno', 'server', installed);
  const deno = path.join(BIN, 'deno');
  const env = { DENO_DIR: path.join(dir, '.deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
  assert.deepEqual(smokeOf(await sh(deno, ['run', '--allow-read', 'main.js'], { cwd: dir, env })), EXPECTED);
  // Without the flag the error names it.
  await assert.rejects(sh(deno, ['run', 'main.js'], { cwd: dir, env }), /WasmLoadError[^]*--allow-read/);
  return `${kb(unbundled(dir))} (unbundled)`;
});

packaging('Bun 1', 'npm bun', async () => {
  const dir = makeApp('bun', 'server', installed);
  assert.deepEqual(smokeOf(await sh(path.join(BIN, 'bun'), ['main.js'], { cwd: dir, env: { BUN_INSTALL_CACHE_DIR: path.join(dir, '.bun') } })), EXPECTED);
  return `${kb(unbundled(dir))} (unbundled)`;
});

/** Runs the bundled handler from a folder that holds nothing but what the bundler emitted. */
async function runHandler(out) {
  const alone = fs.mkdtempSync(path.join(WORK, 'lambda-'));
  fs.cpSync(out, alone, { recursive: true });
  fs.writeFileSync(path.join(alone, 'package.json'), '{ "type": "module" }'); // as the function's deployment has it
  const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(path.join(alone, 'handler.js')).href)});
    console.log((await handler()).body);`;
  return smokeOf(await sh(node, ['--input-type=module', '-e', script], { cwd: alone }));
}

packaging('Node function (esbuild)', 'esbuild --platform=node --target=node20 --loader:.wasm=binary + initWasm', async () => {
  const dir = makeApp('lambda-esbuild', 'server', installed);
  await sh(path.join(BIN, 'esbuild'), ['handler.js', '--bundle', '--platform=node', '--format=esm', '--target=node20', '--loader:.wasm=binary', '--outfile=out/handler.js', '--log-level=error'], { cwd: dir });
  assert.deepEqual(await runHandler(path.join(dir, 'out')), EXPECTED);
  return shippedGzip(path.join(dir, 'out'));
});

packaging('Node function (bun build)', 'bun build --target=node + initWasm (the wasm copied beside the bundle)', async () => {
  const dir = makeApp('lambda-bun', 'server', installed);
  await sh(path.join(BIN, 'bun'), ['build', 'handler.js', '--target=node', '--outdir=out'], { cwd: dir, env: { BUN_INSTALL_CACHE_DIR: path.join(dir, '.bun') } });
  assert.deepEqual(await runHandler(path.join(dir, 'out')), EXPECTED);
  return shippedGzip(path.join(dir, 'out'));
});

packaging('Cloudflare workerd', 'wrangler build run in npm workerd, the plain import', async () => {
  const dir = makeApp('workerd', 'server', installed);
  const home = path.join(dir, '.home');
  const env = { HOME: home, XDG_CONFIG_HOME: home, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' };
  await sh(node, [path.join(BIN, 'wrangler'), 'deploy', '--dry-run', '--outdir', 'out'], { cwd: dir, env, timeout: 180_000 });
  const out = path.join(dir, 'out');
  const modules = fs.readdirSync(out).filter((f) => /\.(js|wasm)$/.test(f));
  assert.ok(modules.some((f) => f.endsWith('.wasm')), `wrangler emitted ${modules}`);
  const port = await freePort();
  const decl = modules.map((f) => `(name = "${f}", ${f.endsWith('.wasm') ? 'wasm' : 'esModule'} = embed "out/${f}")`);
  const main = modules.filter((f) => f.endsWith('.js')).sort((a, b) => (a === 'worker.js' ? -1 : b === 'worker.js' ? 1 : 0));
  fs.writeFileSync(path.join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [${[...main.map((f) => decl[modules.indexOf(f)]), ...decl.filter((_, i) => modules[i].endsWith('.wasm'))].join(', ')}],
  compatibilityDate = "2026-04-01",
);
`);
  const workerd = startProcess(path.join(BIN, 'workerd'), ['serve', 'config.capnp'], { cwd: dir });
  try {
    const get = async (p) => (await fetch(`http://127.0.0.1:${port}${p}`)).json();
    assert.deepEqual(await eventually(() => get('/smoke'), 20_000, `workerd on ${port}\n${workerd.output()}`), EXPECTED);
    // A later request reads what the isolate's memory store kept.
    assert.deepEqual(await get('/read'), EXPECTED.read);
  } finally {
    workerd.stop();
  }
  return shippedGzip(out);
});

packaging('Vercel Edge', 'edge-runtime, wasm code generation off, the plain import', async () => {
  const dir = makeApp('edge', 'server', installed);
  const { build } = await import('esbuild');
  // What Vercel's build does with an Edge Function (its esbuild plugin for `.wasm?module`): the
  // binary becomes a binding named after its hash, compiled by the platform, not by the code.
  const bindings = {};
  const vercelWasm = {
    name: 'vercel-wasm',
    setup(b) {
      b.onResolve({ filter: /\.wasm\?module$/ }, async (args) => {
        const file = await b.resolve(args.path.replace(/\?module$/, ''), { importer: args.importer, resolveDir: args.resolveDir, kind: args.kind });
        return { path: file.path, namespace: 'vercel-wasm' };
      });
      b.onLoad({ filter: /.*/, namespace: 'vercel-wasm' }, async (args) => {
        const name = `wasm_${(await import('node:crypto')).createHash('sha1').update(fs.readFileSync(args.path)).digest('hex')}`;
        bindings[name] = args.path;
        return { contents: `export default globalThis[${JSON.stringify(name)}];`, loader: 'js' };
      });
    },
  };
  fs.writeFileSync(path.join(dir, 'entry.js'), `import handler from './edge.js';
addEventListener('fetch', (event) => event.respondWith(handler(event.request)));`);
  await build({
    entryPoints: [path.join(dir, 'entry.js')], bundle: true, format: 'iife', outfile: path.join(dir, 'out/edge.js'), logLevel: 'error',
    platform: 'browser', conditions: ['edge-light', 'worker', 'browser'], plugins: [vercelWasm],
  });
  const { EdgeRuntime } = await import('edge-runtime');
  const compiled = Object.fromEntries(await Promise.all(Object.entries(bindings).map(async ([n, f]) => [n, await WebAssembly.compile(fs.readFileSync(f))])));
  const runtime = new EdgeRuntime({
    initialCode: fs.readFileSync(path.join(dir, 'out/edge.js'), 'utf8'),
    codeGeneration: { strings: false, wasm: false },
    extend: (context) => Object.assign(context, compiled),
  });
  const response = await runtime.dispatchFetch('http://127.0.0.1/');
  assert.deepEqual(await response.json(), EXPECTED);
  for (const f of Object.values(bindings)) fs.copyFileSync(f, path.join(dir, 'out', path.basename(f)));
  return shippedGzip(path.join(dir, 'out'));
});
