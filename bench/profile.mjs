#!/usr/bin/env node
// CPU profile of annals on one browser workload, through Chrome DevTools (Playwright CDP):
// prints the functions with the most self time, and where they are (wasm or JS).
//   node bench/profile.mjs [workload a|b|c|d|e] [--save out.cpuprofile]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { start } from '../demo/serve.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const w = process.argv[2] ?? 'a';
const save = process.argv.includes('--save') ? process.argv[process.argv.indexOf('--save') + 1] : null;
const PARAMS = { a: { n: 1000 }, b: { batches: 100, size: 100 }, c: { n: 10000, mode: 'array' }, d: { events: 20000, streams: 1000, mode: 'catchup' }, e: { rounds: 16, conc: 64, streams: 8 } };

const server = await start(0, {
  root: path.join(ROOT, 'bench/page'),
  mounts: { '/bench/': path.join(ROOT, 'bench/page'), '/annals/': path.join(ROOT, 'pkg-js/dist'), '/dexie/': path.join(ROOT, 'node_modules/dexie/dist/modern') },
});
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-prof-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
context.setDefaultTimeout(300_000);
try {
  const page = await context.newPage();
  await page.goto(`${server.url}bench/`);
  await page.waitForFunction(() => globalThis.bench?.ready === true);
  const p = PARAMS[w];
  const read = w === 'c' || w === 'd';
  if (read) await page.evaluate(([w, p]) => globalThis.bench.prepare(w, 'annals', p), [w, p]);
  await page.evaluate(([w, p]) => globalThis.bench.rep(w, 'annals', p), [w, p]); // warm-up
  const cdp = await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  const r = await page.evaluate(([w, p]) => globalThis.bench.rep(w, 'annals', p), [w, p]);
  const { profile: prof } = await cdp.send('Profiler.stop');
  if (save) fs.writeFileSync(save, JSON.stringify(prof));
  // self time per function
  const dt = new Map();
  prof.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const byFn = new Map();
  let total = 0;
  for (const n of prof.nodes) {
    const t = (dt.get(n.id) ?? 0) / 1000;
    total += t;
    const f = n.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/(annals|bench|dexie)\//, '$1/')}${f.url.includes('wasm') ? '' : `:${f.lineNumber + 1}`}` : '';
    const key = `${f.functionName || '(anonymous)'}  ${where}`;
    byFn.set(key, (byFn.get(key) ?? 0) + t);
  }
  console.log(`annals (${w}): ${r.ms.toFixed(1)} ms in the page; ${total.toFixed(1)} ms sampled on the main thread`);
  const top = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 30);
  for (const [k, t] of top) console.log(`${t.toFixed(1).padStart(8)} ms ${((100 * t) / total).toFixed(1).padStart(5)} %  ${k}`);
  // wasm vs JS vs idle
  const cat = { wasm: 0, 'annals JS glue/layer': 0, idle: 0, gc: 0, other: 0 };
  for (const n of prof.nodes) {
    const t = (dt.get(n.id) ?? 0) / 1000, f = n.callFrame;
    if (f.url.startsWith('wasm://') || /\.wasm/.test(f.url)) cat.wasm += t;
    else if (/\/annals\//.test(f.url)) cat['annals JS glue/layer'] += t;
    else if (f.functionName === '(idle)' || f.functionName === '(program)') cat.idle += t;
    else if (f.functionName === '(garbage collector)') cat.gc += t;
    else cat.other += t;
  }
  console.log(Object.entries(cat).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(' | '));
  if (read) await page.evaluate((w) => globalThis.bench.finish(w, 'annals'), w);
} finally {
  await context.close();
  await server.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
