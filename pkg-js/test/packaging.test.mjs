// Packaging: npm pack, install the tarball into a fresh project, run it there (automerge's
// packaging test, in Node).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
let work, tarball, packed;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'annals-pack-'));
  [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], pkg));
  tarball = join(work, packed.filename);
});
after(async () => rm(work, { recursive: true, force: true }));

test('the tarball holds the built package and nothing else', async (t) => {
  const files = packed.files.map((f) => f.path).sort();
  for (const f of ['package.json', 'dist/node.js', 'dist/node.d.ts', 'dist/browser.js', 'dist/browser.d.ts',
    'dist/errors.js', 'dist/errors.d.ts', 'dist/store.js', 'dist/subscription.js', 'dist/iterable.js',
    'dist/wasm/annals.js', 'dist/wasm/annals.d.ts', 'dist/wasm/annals_bg.wasm',
    'dist/workerd.js', 'dist/workerd.d.ts', 'dist/edge-light.js', 'dist/edge-light.d.ts', 'dist/wasm-load.js', 'annals_bg.wasm.d.ts']) {
    assert.ok(files.includes(f), `${f} missing from ${files.join(', ')}`);
  }
  for (const f of files) assert.doesNotMatch(f, /^(src|test)\//);
  assert.equal(packed.name, 'annals');
  assert.equal(packed.version, '0.1.0');
  const { size } = await stat(tarball);
  t.diagnostic(`annals-0.1.0.tgz: ${size} bytes packed, ${packed.unpackedSize} unpacked, ${files.length} files`);
});

test('installed into a fresh project, it opens a memory store, appends and reads back', async () => {
  const app = join(work, 'app');
  await rm(app, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(app));
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  npm(['install', tarball, '--offline', '--no-audit', '--no-fund', '--no-package-lock'], app);
  assert.ok((await readdir(join(app, 'node_modules/annals/dist/wasm'))).includes('annals_bg.wasm'));
  await writeFile(join(app, 'main.js'), `
    import { openStore, isWrongExpectedVersionError } from 'annals';
    const store = await openStore({ storage: 'memory' });
    await store.append('Order-1', [{ type: 'Placed', data: { total: 12 } }, { type: 'Paid', data: null }]);
    let wrong = false;
    try { await store.append('Order-1', { type: 'Placed', data: {} }, { expectedVersion: 'no_stream' }); }
    catch (e) { wrong = isWrongExpectedVersionError(e) && e.actual === 2; }
    const events = await store.readStream('Order-1').toArray();
    console.log(JSON.stringify({ wrong, events: events.map((e) => [e.type, e.version, e.position, e.data]) }));
    await store.close();
  `);
  const out = execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { wrong: true, events: [['Placed', 1, 1, { total: 12 }], ['Paid', 2, 2, null]] });
  // Node picks the 'node' condition.
  const resolved = execFileSync(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('annals'))"], { cwd: app, encoding: 'utf8' });
  assert.match(resolved.trim(), /node_modules\/annals\/dist\/node\.js$/);
  // The binary is exported for bundlers that need its URL (README "Entry points").
  const wasm = execFileSync(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('annals/annals_bg.wasm'))"], { cwd: app, encoding: 'utf8' });
  assert.match(wasm.trim(), /node_modules\/annals\/dist\/wasm\/annals_bg\.wasm$/);
  // The installed declarations resolve and type-check in the app.
  await writeFile(join(app, 'check.ts'), `
    import { openStore, isInvalidArgumentError, type RecordedEvent } from 'annals';
    const store = await openStore({ storage: 'memory' });
    const events: RecordedEvent<{ total: number }>[] = await store.readStream<{ total: number }>('Order-1').toArray();
    export const total: number = events.reduce((sum, e) => sum + e.data.total, 0);
    export const guard: (e: unknown) => boolean = isInvalidArgumentError;
    // Every entry exports initWasm, which takes whatever a bundler makes of the binary's import.
    import { initWasm, isWasmLoadError, type WasmLoadError } from 'annals';
    import wasm from 'annals/annals_bg.wasm';
    await initWasm(wasm).catch((e: unknown) => { if (isWasmLoadError(e)) { const w: WasmLoadError = e; console.log(w.url, w.contentType); } });
  `);
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: [], strict: true, noEmit: true },
    files: ['check.ts'],
  }));
  const tsc = fileURLToPath(new URL('../../node_modules/.bin/tsc', import.meta.url));
  const checked = spawnSync(tsc, ['-p', app], { encoding: 'utf8' });
  assert.equal(checked.status, 0, checked.stdout + checked.stderr);
  // The same file under the resolution bundler users set, and with wrangler's `workerd` condition.
  for (const compilerOptions of [{ module: 'ESNext', moduleResolution: 'Bundler' }, { module: 'ESNext', moduleResolution: 'Bundler', customConditions: ['workerd'] }]) {
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', lib: ['ES2022', 'DOM'], types: [], strict: true, noEmit: true, ...compilerOptions },
      files: ['check.ts'],
    }));
    const again = spawnSync(tsc, ['-p', app], { encoding: 'utf8' });
    assert.equal(again.status, 0, `${JSON.stringify(compilerOptions)}: ${again.stdout}${again.stderr}`);
  }
});
