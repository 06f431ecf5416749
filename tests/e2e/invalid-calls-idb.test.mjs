// The invalid-calls generator of pkg-js/test/invalid-calls.test.mjs (issue 5, item 6), run on
// IndexedDB in Chromium: 1,000 seeded invalid calls, each must end in its expected typed
// error, write nothing (the store is checked against a model after every call), never panic,
// hang or throw out of band; the store works afterwards.
//
//   INVALID_CALLS_SEED=<n> replays a run; INVALID_CALLS_IDB=<n> changes the number of calls.
// Figures: target/reliability/invalid-calls-idb.json.
import test from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, browserSession, watchPage, withTimeout } from './helpers.mjs';
import { assertRunClean, describeRun } from './pages/invalid-calls.mjs';

const SEED = process.env.INVALID_CALLS_SEED !== undefined ? Number(process.env.INVALID_CALLS_SEED) : randomInt(2 ** 31);
const CALLS = Number(process.env.INVALID_CALLS_IDB ?? 1000);
const OUT = path.join(ROOT, 'target/reliability/invalid-calls-idb.json');

test(`${CALLS.toLocaleString('en')} invalid calls on IndexedDB (Chromium): typed errors, nothing written, no panic (seed ${SEED})`, { timeout: 300_000 }, async (t) => {
  assert.ok(Number.isInteger(SEED) && SEED >= 0, 'INVALID_CALLS_SEED must be a non-negative integer');
  t.diagnostic(`seed ${SEED} (replay with INVALID_CALLS_SEED=${SEED})`);
  const { server, context } = await browserSession(t, 'invalid-idb');
  const page = await context.newPage();
  const problems = watchPage(page, 'invalid-calls page');
  page.on('console', (msg) => msg.type() === 'log' && t.diagnostic(msg.text()));
  await page.goto(`${server.url}e2e/invalid-calls.html`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.runInvalidCalls !== undefined, null, { timeout: 15_000 });

  const stats = await withTimeout(page.evaluate((o) => window.runInvalidCalls(o), { seed: SEED, calls: CALLS, timeoutMs: 10_000 }), 280_000, 'invalid calls');
  const { failures, ...figures } = stats;
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify({ ...figures, storage: 'indexeddb', engine: 'chromium', failures: stats.failureCount, distinctFailures: failures }, null, 2)}\n`);

  for (const line of describeRun(stats)) t.diagnostic(line);
  assertRunClean(assert, stats, CALLS);
  assert.deepEqual(problems, [], 'no page errors');
});
