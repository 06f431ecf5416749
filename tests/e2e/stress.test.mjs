// Issue 5, item 7.
// 1. Multi-tab stress: 4 pages of one origin (one IndexedDB database) × 4 concurrent writers ×
//    1,000 acknowledged appends over 20 streams, in mixed expected-version modes (exact with
//    retry on WrongExpectedVersionError, 'any', 'no_stream', 'stream_exists'), and a subscriber
//    per page from position 0, started before the writers. Every subscriber sees the same
//    sequence as readAll (positions 1..N, no gap, no duplicate); every acknowledged append is
//    there exactly once, where its result said; every stream's versions are 1..n.
// 2. Slow consumer: a subscriber that takes one event and then sleeps (pulls nothing) while
//    100,000 events are appended, then drains: exactly the 100,000 in order. The page's JS heap
//    (after a forced GC, over CDP) and the wasm module's linear memory are sampled while it
//    sleeps, and compared with what 100,000 events weigh (held in the page as a read returns
//    them) and with their JSON size.
// Figures: target/reliability/stress.json.   STRESS_SEED=<n> replays the writers' choices.
import test from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, browserSession, watchPage, withTimeout } from './helpers.mjs';
import { makeRng } from './pages/invalid-calls.mjs';

const PAGES = 4;
const WRITERS = 4;
const APPENDS = 1000; // per writer
const STREAMS = 20;
const WRITERS_MS = 240_000;
const SEED = process.env.STRESS_SEED !== undefined ? Number(process.env.STRESS_SEED) : randomInt(2 ** 31);

const FILL = 100_000; // events appended while the slow consumer sleeps
const BATCH = 1000;
const SAMPLE_EVERY = 5; // batches

const OUT = path.join(ROOT, 'target/reliability/stress.json');
const figures = { seed: SEED };
function record(part, values) {
  figures[part] = values;
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(figures, null, 2)}\n`);
}

const range = (n) => Array.from({ length: n }, (_, i) => i + 1);
const MB = (bytes) => `${(bytes / 1048576).toFixed(2)} MiB`;

async function openPage(context, server, query, label) {
  const page = await context.newPage();
  const problems = watchPage(page, label);
  await page.goto(`${server.url}e2e/stress.html?${query}`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.stress !== undefined, null, { timeout: 15_000 }).catch((err) => {
    throw new Error(`${label} did not get ready: ${err.message}\n${problems.join('\n')}`);
  });
  return { page, problems, label };
}

/** How many events the writers of page `p` append: their choices depend on the seed only. */
function eventsOfPage(p) {
  let total = 0;
  for (let w = 0; w < WRITERS; w++) {
    const rand = makeRng(SEED + p * 100 + w).float;
    for (let n = 0; n < APPENDS; n++) {
      rand(); // stream
      rand(); // mode
      total += rand() < 0.1 ? 2 : 1;
    }
  }
  return total;
}

test(`stress: ${PAGES} pages × ${WRITERS} writers × ${APPENDS} appends over ${STREAMS} streams, a subscriber per page (seed ${SEED})`, { timeout: 420_000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (replay with STRESS_SEED=${SEED})`);
  const { server, context } = await browserSession(t, 'stress');
  const pages = [];
  for (let p = 0; p < PAGES; p++) pages.push(await openPage(context, server, `db=stress&label=P${p}`, `page P${p}`));
  const TOTAL = range(PAGES).reduce((sum, p) => sum + eventsOfPage(p - 1), 0);

  // Subscribers first (from position 0), then the writers of all pages at once.
  for (const { page } of pages) await page.evaluate((n) => window.stress.startSubscription(n), TOTAL);
  const started = Date.now();
  const results = await withTimeout(
    Promise.all(pages.map(({ page }, p) => page.evaluate((o) => window.stress.runWriters(o), { writers: WRITERS, appends: APPENDS, streams: STREAMS, seed: SEED + p * 100, timeoutMs: WRITERS_MS }))),
    WRITERS_MS + 30_000,
    'writers',
  );
  const writersMs = Date.now() - started;
  results.forEach((r, p) => {
    assert.deepEqual(r.errors, [], `page P${p}: writers failed`);
    assert.deepEqual(r.anomalies, [], `page P${p}: results or errors with wrong fields`);
    assert.equal(r.acked.length, WRITERS * APPENDS, `page P${p}: acknowledged appends`);
  });
  const modes = {};
  for (const r of results) {
    for (const [m, v] of Object.entries(r.modes)) {
      modes[m] ??= { chosen: 0, succeeded: 0, wrongVersion: 0 };
      for (const k of Object.keys(v)) modes[m][k] += v[k];
    }
  }
  const acked = results.flatMap((r) => r.acked);
  const retries = Object.values(modes).reduce((s, m) => s + m.wrongVersion, 0);
  t.diagnostic(`${acked.length} appends (${TOTAL} events) by ${PAGES}×${WRITERS} writers in ${writersMs} ms; ${retries} WrongExpectedVersionErrors; modes ${JSON.stringify(modes)}`);
  for (const m of ['exact', 'any', 'no_stream', 'stream_exists']) {
    assert.ok(modes[m].succeeded > 0, `some appends succeeded with expectedVersion ${m}`);
  }
  assert.ok(modes.exact.wrongVersion > 0, 'writers on exact versions did conflict (else the retry path went untested)');

  // readAll: positions 1..N, each acknowledged append exactly once, where its result said.
  const all = await withTimeout(pages[0].page.evaluate(() => window.stress.readAll()), 60_000, 'readAll');
  const N = all.ids.length;
  assert.equal(N, TOTAL, 'readAll holds every event of every acknowledged append, nothing else');
  assert.deepEqual(all.positions, range(N), 'readAll positions 1..N');
  assert.equal(new Set(all.ids).size, N, 'distinct ids');
  const at = new Map(all.ids.map((id, i) => [id, i]));
  for (const a of acked) {
    const idx = a.ids.map((id) => at.get(id));
    assert.ok(idx.every((i) => i !== undefined), `acknowledged append to ${a.stream} missing`);
    idx.forEach((i, k) => {
      assert.equal(all.streams[i], a.stream, 'stream of an acknowledged event');
      assert.equal(all.versions[i], a.nextExpectedVersion - (a.ids.length - 1 - k), 'versions of an append are consecutive and end at nextExpectedVersion');
      assert.equal(all.positions[i], a.position - (a.ids.length - 1 - k), 'positions of an append are consecutive and end at its result.position');
    });
  }
  // Per stream: versions 1..n in position order.
  const perStream = new Map();
  all.streams.forEach((s, i) => {
    const v = perStream.get(s) ?? [];
    v.push(all.versions[i]);
    perStream.set(s, v);
  });
  assert.equal(perStream.size, STREAMS, 'streams written'); // each is drawn ~800 times
  for (const [s, versions] of perStream) assert.deepEqual(versions, range(versions.length), `${s}: versions 1..n, gapless, in position order`);
  const names = [...perStream.keys()].sort();
  for (const { page, label } of pages) {
    assert.deepEqual(await page.evaluate((n) => window.stress.streamVersions(n), names), names.map((s) => perStream.get(s).length), `${label}: streamVersion of every stream`);
  }

  // Every page's subscriber: the same sequence as readAll.
  const seen = [];
  for (const { page, label } of pages) {
    const sub = await withTimeout(page.evaluate((ms) => window.stress.waitSubscription(ms), 60_000), 70_000, `subscription of ${label}`);
    const gaps = N - new Set(sub.positions.filter((p) => p >= 1 && p <= N)).size;
    const duplicates = sub.ids.length - new Set(sub.ids).size;
    seen.push({ page: label, events: sub.ids.length, gaps, duplicates, outcome: sub.outcome });
    assert.equal(sub.outcome, 'complete', `${label}: subscription ${sub.outcome} after ${sub.ids.length}/${N} events`);
    assert.equal(duplicates, 0, `${label}: duplicates`);
    assert.equal(gaps, 0, `${label}: gaps`);
    assert.deepEqual(sub.positions, all.positions, `${label}: subscription positions = readAll positions`);
    assert.deepEqual(sub.ids, all.ids, `${label}: subscription ids = readAll ids`);
    assert.deepEqual(sub.streams, all.streams, `${label}: subscription streams = readAll streams`);
    assert.deepEqual(sub.versions, all.versions, `${label}: subscription versions = readAll versions`);
  }
  for (const { problems } of pages) assert.deepEqual(problems, [], 'no page errors');

  record('multiTab', {
    pages: PAGES, writersPerPage: WRITERS, appendsPerWriter: APPENDS, appends: acked.length, events: N, streams: perStream.size,
    writersMs, wrongExpectedVersionErrors: retries, modes, eventsSeenPerPage: seen,
    gaps: seen.reduce((s, x) => s + x.gaps, 0), duplicates: seen.reduce((s, x) => s + x.duplicates, 0),
    identicalToReadAll: true,
  });
  t.diagnostic(`subscribers: ${seen.map((s) => `${s.page} ${s.events} events`).join(', ')}; 0 gaps, 0 duplicates`);
});

/** Forces a GC, then reads the page's JS heap (CDP) and the wasm module's linear memory. */
async function sample(cdp, page) {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  const wasm = await page.evaluate(() => window.stress.wasmMemoryBytes());
  return { heap: usedSize, wasm };
}

/** Appends FILL events in batches on a fresh page; with `sleeper`, a subscriber sleeps through it. */
async function fill(context, server, { db, sleeper }) {
  const label = `${db} page`;
  const { page, problems } = await openPage(context, server, `db=${db}&label=${db}`, label);
  const cdp = await context.newCDPSession(page);
  if (sleeper) await page.evaluate((n) => window.stress.startSlowConsumer(n), FILL);
  await page.evaluate(([s, b]) => window.stress.appendBatch(s, 0, b), ['Fill-1', BATCH]);
  if (sleeper) assert.equal(await page.evaluate(() => window.stress.slowConsumerAsleep(30_000)), 'asleep', 'the consumer took its first event');
  const base = await sample(cdp, page);
  const samples = [{ appended: BATCH, ...base }];
  const started = Date.now();
  for (let b = 1; b < FILL / BATCH; b++) {
    const position = await page.evaluate(([s, from, n]) => window.stress.appendBatch(s, from, n), ['Fill-1', b * BATCH, BATCH]);
    assert.equal(position, (b + 1) * BATCH, 'batch position');
    if ((b + 1) % SAMPLE_EVERY === 0) samples.push({ appended: (b + 1) * BATCH, ...(await sample(cdp, page)) });
  }
  const appendMs = Date.now() - started;
  const peak = { heap: Math.max(...samples.map((s) => s.heap)), wasm: Math.max(...samples.map((s) => s.wasm)) };
  return { page, cdp, problems, base, samples, peak, appendMs, growth: { heap: peak.heap - base.heap, wasm: peak.wasm - base.wasm } };
}

test(`slow consumer: a subscriber sleeps through ${FILL.toLocaleString('en')} appended events, then drains them all; memory stays bounded`, { timeout: 420_000 }, async (t) => {
  const { server, context } = await browserSession(t, 'slow');

  const run = await fill(context, server, { db: 'slow-consumer', sleeper: true });
  const { page, cdp } = run;
  const drained = await withTimeout(page.evaluate((ms) => window.stress.drainSlowConsumer(ms), 180_000), 190_000, 'drain');
  const afterDrain = await sample(cdp, page);

  // What 100,000 events weigh in this page when held as a read returns them.
  assert.equal(await page.evaluate(() => window.stress.holdAll()), FILL);
  const holding = await sample(cdp, page);
  await page.evaluate(() => window.stress.dropHeld());
  const heldBytes = holding.heap - afterDrain.heap;
  // Their JSON text (data only: {"seq":n,"pad":"p…"}), a floor for any representation of them.
  const jsonBytes = Array.from({ length: FILL }, (_, seq) => JSON.stringify({ seq, pad: 'p'.repeat(64) }).length).reduce((a, b) => a + b, 0);

  const report = {
    events: FILL, batch: BATCH, drained: drained.received, outOfOrder: drained.outOfOrder, badSeq: drained.badSeq,
    firstPosition: drained.firstPosition, lastPosition: drained.lastPosition, drainMs: drained.drainMs, appendMs: run.appendMs,
    heldBytes, jsonBytes,
    withSubscriber: { base: run.base, peak: run.peak, growth: run.growth, afterDrain, samples: run.samples },
  };
  record('slowConsumer', report);
  t.diagnostic(`appended ${FILL} events in ${run.appendMs} ms; drained ${drained.received} in ${drained.drainMs} ms`);
  t.diagnostic(`100k events held as read: ${MB(heldBytes)} of JS heap; their data as JSON: ${MB(jsonBytes)}`);
  t.diagnostic(`while the subscriber slept: JS heap ${MB(run.base.heap)} → peak ${MB(run.peak.heap)} (+${MB(run.growth.heap)}), wasm memory ${MB(run.base.wasm)} → ${MB(run.peak.wasm)} (+${MB(run.growth.wasm)})`);

  assert.equal(drained.outcome, 'complete', `drain: ${drained.outcome}`);
  assert.equal(drained.received, FILL, 'the slow consumer got every event');
  assert.equal(drained.firstPosition, 1);
  assert.equal(drained.lastPosition, FILL);
  assert.equal(drained.outOfOrder, 0, 'positions 1..100000 in order, none missed or repeated');
  assert.equal(drained.badSeq, 0, 'payloads in append order');
  // The bound. Buffering the events behind a sleeping consumer would cost about heldBytes of JS
  // heap (as JS objects) or at least jsonBytes of wasm memory (as Rust values). A subscription
  // holds at most one page (256 events), so both must stay far below: a tenth of each.
  assert.ok(heldBytes > jsonBytes, `100k events weigh ${MB(heldBytes)} as JS objects, more than their JSON (the measure itself works)`);
  assert.ok(run.growth.heap < heldBytes / 10, `JS heap grew ${MB(run.growth.heap)} while the consumer slept (bound ${MB(heldBytes / 10)})`);
  assert.ok(run.growth.wasm < jsonBytes / 10, `wasm memory grew ${MB(run.growth.wasm)} while the consumer slept (bound ${MB(jsonBytes / 10)})`);
  assert.deepEqual(run.problems, [], 'no page errors');
});
