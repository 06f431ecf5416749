#!/usr/bin/env node
// The benchmark harness (issues 4 and 11). Runs the Node part (annals memory vs Emmett), then
// the browser matrix (annals, raw IndexedDB, raw IndexedDB in annals' layout, Dexie, index-free
// bulk put) in headless Chromium on its default IndexedDB backing store and again with
// IdbSqliteBackingStore; prints the table and writes BENCHMARKS.md.
//
//   node bench/run.mjs [--quick] [--reps N] [--out FILE] [--only a,b,...] [--no-sqlite] [--no-node]
//                      [--contestants annals,raw,rawLayout,dexie,floor]
// --contestants runs only those browser contestants (live delivery runs with annals only).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { start } from '../demo/serve.mjs';
import { sizes } from '../scripts/size.mjs';
import { runNode } from './node.mjs';
import { report } from './report.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const opt = (f, d) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
const QUICK = flag('--quick');
const REPS = Number(opt('--reps', QUICK ? 3 : 7));
const WARMUP = 1;
const OUT = opt('--out', QUICK ? null : path.join(ROOT, 'BENCHMARKS.md'));
const ONLY = opt('--only', 'a,b,c,d,e,f').split(',');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  // two tabs of one benchmark must not be throttled as background tabs
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'];

// Workload sizes. The full sizes are the issue's, except where noted in SCALED.
const FULL = {
  a: { n: 1000 },
  b: { batches: 100, size: 100 },
  c: { n: 10000 },
  d: { events: 20000, streams: 1000 }, // scaled down from 100k (see SCALED)
  live: { n: 300, streams: 1000 }, // per repetition: 7 × 300 = 2,100 timed deliveries per tab
  e: { rounds: 16, conc: 64, streams: 8 },
  f: { writers: 8, each: 25 }, // 200 appends; conflicts grow with writers × appends
  node: { n: 10000 },
};
// What the full run scales down from the issue, so a run of the whole harness stays near
// 10 minutes on 2 cores (filling 100k events takes annals ~45 s per backing store alone).
const SCALED = [
  '(d) 20,000 events over 1,000 streams instead of 100,000 (filling alone would take minutes per contestant and backing store)',
  '(d) live: 300 timed appends per repetition (2,100 in all per tab) instead of 1,000 once',
];
const SMALL = {
  a: { n: 200 }, b: { batches: 20, size: 100 }, c: { n: 2000 }, d: { events: 5000, streams: 100 },
  live: { n: 100, streams: 100 }, e: { rounds: 4, conc: 64, streams: 8 }, f: { writers: 8, each: 10 }, node: { n: 2000 },
};
const P = QUICK ? SMALL : FULL;
const ALL_CONTESTANTS = ['annals', 'raw', 'rawLayout', 'dexie', 'floor'];
const BROWSER_CONTESTANTS = opt('--contestants', ALL_CONTESTANTS.join(',')).split(',');
for (const c of BROWSER_CONTESTANTS) if (!ALL_CONTESTANTS.includes(c)) throw new Error(`--contestants: no contestant ${c} (${ALL_CONTESTANTS.join(', ')})`);
const t0 = Date.now();
const log = (s) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

function rotate(list, k) {
  const i = k % list.length;
  return [...list.slice(i), ...list.slice(0, i)];
}

// Which IndexedDB backing store the profile holds. LevelDB keeps one
// `<origin>.indexeddb.leveldb` directory per origin; the SQLite store keeps an `<origin>`
// directory with one SQLite file per database (header "SQLite format 3"). The page leaves a
// marker database behind so there is something to find after the benchmark databases are gone.
function backingStoreOf(profile) {
  const leveldb = [], sqlite = [];
  const walk = (dir, depth) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && e.name.endsWith('.indexeddb.leveldb')) leveldb.push(path.relative(profile, p));
      else if (e.isFile() && /IndexedDB/.test(p)) {
        const head = Buffer.alloc(16);
        const fd = fs.openSync(p, 'r');
        fs.readSync(fd, head, 0, 16, 0);
        fs.closeSync(fd);
        if (head.toString('latin1') === 'SQLite format 3\0') sqlite.push(`${path.relative(profile, p)} (SQLite file)`);
      }
      if (e.isDirectory() && depth < 6) walk(p, depth + 1);
    }
  };
  try { walk(profile, 0); } catch {}
  if (sqlite.length && !leveldb.length) return { store: 'SQLite', evidence: sqlite.slice(0, 2) };
  if (leveldb.length && !sqlite.length) return { store: 'LevelDB', evidence: leveldb.slice(0, 2) };
  if (leveldb.length && sqlite.length) return { store: 'both?', evidence: [...leveldb.slice(0, 1), ...sqlite.slice(0, 1)] };
  return { store: 'unknown', evidence: [] };
}

async function browserMatrix(server, label, extraArgs) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-bench-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: [...ARGS, ...extraArgs], timeout: 60_000,
  });
  context.setDefaultTimeout(600_000);
  const version = context.browser()?.version() ?? null;
  const problems = [];
  const newPage = async () => {
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    await page.goto(`${server.url}bench/`);
    await page.waitForFunction(() => globalThis.bench?.ready === true);
    return page;
  };
  const page = await newPage();
  await page.evaluate(() => new Promise((resolve, reject) => {
    const r = indexedDB.open('bench-marker', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('marker');
    r.onsuccess = () => { r.result.close(); resolve(); };
    r.onerror = () => reject(r.error);
  }));
  const results = {}; // workload -> contestant -> [rep result]
  const rep = (w, c, p) => page.evaluate(([w, c, p]) => globalThis.bench.rep(w, c, p), [w, c, p]);
  const put = (w, c, r) => ((results[w] ??= {})[c] ??= []).push(r);

  try {
    // write workloads: fresh database per repetition, contestants interleaved, rotating order
    for (const w of ['a', 'b', 'e', 'f'].filter((w) => ONLY.includes(w))) {
      for (let k = 0; k < WARMUP + REPS; k++) {
        for (const c of rotate(BROWSER_CONTESTANTS, k)) {
          const r = await rep(w, c, P[w]);
          if (k >= WARMUP) put(w, c, r);
        }
        log(`${label} (${w}) rep ${k + 1}/${WARMUP + REPS}`);
      }
    }
    // read workloads: each contestant's database is filled once, then read every repetition
    for (const w of ['c', 'd'].filter((w) => ONLY.includes(w))) {
      for (const c of BROWSER_CONTESTANTS) {
        await page.evaluate(([w, c, p]) => globalThis.bench.prepare(w, c, p), [w, c, P[w]]);
        log(`${label} (${w}) filled ${c}`);
      }
      const modes = w === 'c' ? ['array', 'iter', 'first'] : ['catchup'];
      for (const mode of modes) {
        const key = w === 'c' ? `c.${mode}` : 'd.catchup';
        const who = mode === 'first' ? BROWSER_CONTESTANTS.filter((c) => c !== 'floor') : BROWSER_CONTESTANTS;
        for (let k = 0; k < WARMUP + REPS; k++) {
          for (const c of rotate(who, k)) {
            const r = await rep(w, c, { ...P[w], mode });
            if (k >= WARMUP) put(key, c, r);
          }
        }
        log(`${label} (${key}) done`);
      }
      if (w === 'd' && BROWSER_CONTESTANTS.includes('annals')) {
        // live delivery on annals' filled database: same tab, then a second tab
        const liveP = P.live;
        for (let k = 0; k < WARMUP + REPS; k++) {
          const r = await page.evaluate((p) => globalThis.bench.live.sameTab(p), liveP);
          if (k >= WARMUP) put('d.live', 'annals', r);
        }
        log(`${label} (d.live same tab) done`);
        const name = await page.evaluate(() => globalThis.bench.annalsName());
        const other = await newPage();
        await other.evaluate((name) => globalThis.bench.live.open(name), name);
        for (let k = 0; k < WARMUP + REPS; k++) {
          await other.evaluate((n) => globalThis.bench.live.listen(n), liveP.n);
          await page.evaluate((p) => globalThis.bench.live.send(p), liveP);
          const lat = await other.evaluate(() => globalThis.liveResult);
          if (k >= WARMUP) put('d.live2', 'annals', { ms: lat.reduce((a, b) => a + b, 0), events: lat.length, lat });
        }
        await other.evaluate(() => globalThis.bench.live.close());
        await other.close();
        log(`${label} (d.live second tab) done`);
      }
      for (const c of BROWSER_CONTESTANTS) await page.evaluate(([w, c]) => globalThis.bench.finish(w, c), [w, c]);
    }
  } finally {
    await context.close();
  }
  const backing = backingStoreOf(profile);
  fs.rmSync(profile, { recursive: true, force: true });
  return { label, args: extraArgs, version, backing, results, problems };
}

function chromiumVersion() {
  try {
    return execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

async function main() {
  const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) ?? [])[1] ?? os.cpus()[0]?.model;
  const env = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpu} × ${os.cpus().length}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    load,
    quick: QUICK,
    reps: REPS,
    warmup: WARMUP,
    params: P,
    scaled: QUICK ? [] : SCALED,
    contestants: BROWSER_CONTESTANTS.join() === ALL_CONTESTANTS.join() ? undefined : BROWSER_CONTESTANTS,
    chromium: chromiumVersion(),
    commit: (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { return null; } })(),
  };
  const wasm = path.join(ROOT, 'pkg-js/dist/wasm');
  const dexieDist = path.join(ROOT, 'node_modules/dexie/dist');
  env.size = {
    // The module, its glue and the glue's inline snippets, as pkg-js/test/size.test.mjs counts them.
    annals: sizes([
      path.join(wasm, 'annals_bg.wasm'),
      path.join(wasm, 'annals.js'),
      ...fs.readdirSync(path.join(wasm, 'snippets'), { recursive: true }).filter((f) => f.endsWith('.js')).map((f) => path.join(wasm, 'snippets', f)),
    ]),
    annalsLayer: sizes(fs.readdirSync(path.join(ROOT, 'pkg-js/dist')).filter((f) => f.endsWith('.js')).map((f) => path.join(ROOT, 'pkg-js/dist', f))).at(-1),
    dexie: sizes([path.join(dexieDist, 'modern/dexie.min.mjs')]),
  };
  log(`load average ${load.join(' ')}; ${QUICK ? 'quick' : 'full'} run, ${REPS} repetitions + ${WARMUP} warm-up`);

  let node = null;
  if (!flag('--no-node')) node = await runNode({ n: P.node.n, reps: REPS, warmup: WARMUP, log });

  const server = await start(0, {
    root: path.join(ROOT, 'bench/page'),
    mounts: { '/bench/': path.join(ROOT, 'bench/page'), '/annals/': path.join(ROOT, 'pkg-js/dist'), '/dexie/': path.join(dexieDist, 'modern') },
  });
  const runs = [];
  try {
    runs.push(await browserMatrix(server, 'default', []));
    if (!flag('--no-sqlite')) runs.push(await browserMatrix(server, 'sqlite', ['--enable-features=IdbSqliteBackingStore']));
  } finally {
    await server.close();
  }
  env.seconds = Math.round((Date.now() - t0) / 1000);
  const { terminal, markdown } = report({ env, node, runs });
  console.log(terminal);
  if (OUT) {
    // The sync section (bench/sync.mjs) is another run's: kept as it is.
    const old = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
    const sync = old.match(/<!-- sync benchmarks: begin[\s\S]*<!-- sync benchmarks: end -->/)?.[0];
    fs.writeFileSync(OUT, sync ? `${markdown.trimEnd()}\n\n${sync}\n` : markdown);
    log(`wrote ${path.relative(process.cwd(), OUT)}`);
  }
  for (const r of runs) if (r.problems.length) log(`${r.label}: page problems:\n  ${r.problems.join('\n  ')}`);
}

// A failed run must fail `scripts/bench.sh` (exit 1), even with a browser or server handle
// still open that would keep Node running.
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
