#!/usr/bin/env node
// Sync benchmarks: annals-server's push throughput next to raw INSERTs (server/benches/push.rs),
// pulling a tenant's 100,000 events into a fresh IndexedDB store (annals,
// next to the IndexedDB floors: the same pages fetched and put by hand, and the events put from
// memory), and device-to-device live latency (an append on one Chromium profile to its delivery
// on a subscription of another, through annals-server). A private PostgreSQL and the server are
// started and stopped here. Prints the Markdown and writes it into BENCHMARKS.md between the
// sync markers (a part of the file other runs keep), with issue 11's target for the pull
// (annals ≤ 2× the bulk-put floor) marked met or missed.
//
//   node bench/sync.mjs [--quick] [--reps N] [--out FILE]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { start } from '../demo/serve.mjs';
import { startPostgres, startServer } from '../tests/support/server.mjs';
import { median, percentile } from './stats.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const opt = (f, d) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
const REPS = Number(opt('--reps', QUICK ? 1 : 3));
const OUT = opt('--out', QUICK ? null : path.join(ROOT, 'BENCHMARKS.md'));
const EVENTS = QUICK ? 10_000 : 100_000;
const PINGS = QUICK ? 50 : 300;
const PAGE = 1000; // what annals pulls at once (PULL_LIMIT)
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'];
const BEGIN = '<!-- sync benchmarks: begin (written by bench/sync.mjs) -->';
const END = '<!-- sync benchmarks: end -->';
const t0 = Date.now();
const log = (s) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

/** Fills the tenant with `n` events: appends of 10, 100 appends per push. */
async function fill(url, token, n) {
  let made = 0;
  while (made < n) {
    const appends = [];
    for (let a = 0; a < 100 && made < n; a++) {
      const events = [];
      for (let e = 0; e < 10 && made < n; e++, made++) {
        events.push({ id: crypto.randomUUID(), type: 'Filled', data: { n: made, text: `event number ${made}`, tags: ['a', 'b'] }, metadata: { source: 'bench' } });
      }
      appends.push({ stream: `Fill-${made % 1000}`, expectedVersion: 'any', recordedAt: Date.now(), events });
    }
    const response = await fetch(`${url}/v1/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ appends }),
    });
    if (!response.ok) throw new Error(`fill: HTTP ${response.status} ${await response.text()}`);
  }
}

async function context() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-sync-bench-'));
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 });
  ctx.setDefaultTimeout(900_000);
  return { ctx, close: async () => { await ctx.close(); fs.rmSync(profile, { recursive: true, force: true }); } };
}

async function page(ctx, statics) {
  const p = await ctx.newPage();
  p.on('pageerror', (e) => log(`page error: ${e}`));
  await p.goto(`${statics.url}sync-bench/`);
  await p.waitForFunction(() => globalThis.syncBench?.ready === true);
  return p;
}

const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const rate = (events, ms) => `${Math.round(events / (ms / 1000)).toLocaleString('en-US')} events/s`;

async function main() {
  const statics = await start(0, { mounts: { '/sync-bench/': path.join(ROOT, 'bench/sync-page'), '/annals/': path.join(ROOT, 'pkg-js/dist') } });
  const pg = await startPostgres();
  const tokens = { fill: 'bench', 'device-a': 'bench', 'device-b': 'bench', reader: 'bench' };
  // The rate limit off: a benchmark pushes and pulls with one token as fast as it can, it
  // measures sync, not the limiter.
  const server = await startServer({ databaseUrl: pg.url, tokens, allowOrigins: [new URL(statics.url).origin], release: true, rateLimit: 'off' });
  const sections = [];
  if (!QUICK) {
    // The server's own benchmark: it starts its own PostgreSQL and prints a Markdown table.
    log('push throughput (cargo bench -p annals-server --bench push)');
    const table = execFileSync('cargo', ['bench', '-q', '-p', 'annals-server', '--bench', 'push', '--profile', 'server'], {
      cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20,
    }).trim();
    sections.push(table.replace(/^### annals-server push throughput \(events\/s\)/m, '### Push throughput (events/s)'));
  }
  try {
    log(`filling the tenant with ${EVENTS.toLocaleString('en-US')} events`);
    await fill(server.url, 'fill', EVENTS);

    const { ctx, close } = await context();
    const p = await page(ctx, statics);
    const runs = { annals: [], fetchPut: [], bulkPut: [] };
    try {
      for (let k = 0; k < REPS; k++) {
        const order = [['annals', () => p.evaluate(([u, t]) => syncBench.annals(u, t), [server.url, 'reader'])],
          ['fetchPut', () => p.evaluate(([u, t, l]) => syncBench.fetchAndPut(u, t, l), [server.url, 'reader', PAGE])],
          ['bulkPut', () => p.evaluate(([u, t, l]) => syncBench.bulkPut(u, t, l), [server.url, 'reader', PAGE])]];
        for (const [name, run] of [...order.slice(k % 3), ...order.slice(0, k % 3)]) {
          const r = await run();
          if (r.events !== EVENTS) throw new Error(`${name} ended with ${r.events} events, not ${EVENTS}`);
          runs[name].push(r.ms);
          log(`pull rep ${k + 1}/${REPS}: ${name} ${fmt(r.ms)}`);
        }
      }
    } finally {
      await close();
    }
    const m = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
    sections.push([
      `### Pulling ${EVENTS.toLocaleString('en-US')} events into a fresh IndexedDB store`,
      '',
      `Median of ${REPS}, Chromium, default backing store, server and PostgreSQL on the same machine. ` +
        `annals: \`store.sync({ live: false }).flush()\` on an empty store (pages of ${PAGE}, each applied in one transaction with the cursor). ` +
        'Fetch + put: the same pages fetched and put into an object store with no index, one transaction per page. ' +
        'Bulk put: the same events already in memory, put the same way (the IndexedDB floor).',
      '',
      '| | time | rate | ÷ bulk put | ÷ fetch + put |',
      '|---|---|---|---|---|',
      ...[['annals', m.annals], ['fetch + put (raw)', m.fetchPut], ['bulk put (floor)', m.bulkPut]].map(([name, ms]) =>
        `| ${name} | ${fmt(ms)} | ${rate(EVENTS, ms)} | ${(ms / m.bulkPut).toFixed(2)}× | ${(ms / m.fetchPut).toFixed(2)}× |`),
      '',
      // Issue 11's target for the pull, from the same medians as the table.
      `Target (issue 11): pulling 100,000 events into a fresh store ≤ 2× the bulk-put floor: ${(m.annals / m.bulkPut).toFixed(2)}× — ` +
        `${m.annals / m.bulkPut <= 2 ? 'met' : '**missed**'}${QUICK ? ` (quick run: ${EVENTS.toLocaleString('en-US')} events, not the target's 100,000)` : ''}.`,
    ].join('\n'));

    // Live latency: an append on device A to its delivery on device B's subscription.
    log(`live latency: ${PINGS} appends`);
    const a = await context();
    const b = await context();
    try {
      const pa = await page(a.ctx, statics);
      const pb = await page(b.ctx, statics);
      await pa.evaluate(([u, t]) => syncBench.device(u, t), [server.url, 'device-a']);
      await pb.evaluate(([u, t]) => syncBench.device(u, t), [server.url, 'device-b']);
      await pb.evaluate((n) => syncBench.listen(n), PINGS);
      await pa.evaluate(([n, gap]) => syncBench.send(n, gap), [PINGS, 20]);
      const lat = await pb.evaluate(() => syncBench.received());
      const sorted = lat.toSorted((x, y) => x - y);
      sections.push([
        '### Live latency, device to device',
        '',
        `${lat.length} appends on one Chromium profile, 20 ms apart, each timed to its delivery on a subscription in another ` +
          'profile: push, PostgreSQL `NOTIFY`, the server-sent notice, pull, the IndexedDB write and the subscription ' +
          '(clock: `Date.now()` on one machine).',
        '',
        '| p50 | p90 | p99 | max |',
        '|---|---|---|---|',
        `| ${percentile(sorted, 50)} ms | ${percentile(sorted, 90)} ms | ${percentile(sorted, 99)} ms | ${sorted[sorted.length - 1]} ms |`,
      ].join('\n'));
    } finally {
      await a.close();
      await b.close();
    }
  } finally {
    await server.stop();
    await pg.stop();
    await statics.close();
  }

  const body = [
    BEGIN,
    '## Sync',
    '',
    `\`node bench/sync.mjs\`${QUICK ? ' --quick' : ''}, ${new Date().toISOString().slice(0, 10)}, ${os.cpus()[0]?.model} × ${os.cpus().length}.`,
    '',
    ...sections.flatMap((s) => [s, '']),
    END,
  ].join('\n');
  console.log(body);
  if (OUT) {
    const text = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
    const i = text.indexOf(BEGIN);
    const j = text.indexOf(END);
    const next = i >= 0 && j > i ? text.slice(0, i) + body + text.slice(j + END.length) : `${text.trimEnd()}\n\n${body}\n`;
    fs.writeFileSync(OUT, next);
    log(`wrote ${path.relative(ROOT, OUT)}`);
  }
}

await main();
