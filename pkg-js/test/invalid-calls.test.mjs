// ≥ 10,000 generated invalid calls across the whole JS API (issue 5, item 6), on a memory store:
// each must reject with the contract's typed error (the expected name, and for
// InvalidArgumentError the field), write nothing, never panic, never hang and never throw out of
// band; the built-in prototypes stay untouched and the store works afterwards.
//
//   INVALID_CALLS_SEED=1234 node --test test/invalid-calls.test.mjs   # replay a run
//   INVALID_CALLS=50000 …                                             # more calls
//
// The generator is shared with the IndexedDB run in Chromium (tests/e2e/invalid-calls-idb.test.mjs).
// Figures: target/reliability/invalid-calls.json.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as annals from 'annals';
import { assertRunClean, describeRun, runInvalidCalls } from '../../tests/e2e/pages/invalid-calls.mjs';

const SEED = process.env.INVALID_CALLS_SEED !== undefined ? Number(process.env.INVALID_CALLS_SEED) : randomInt(2 ** 31);
const CALLS = Number(process.env.INVALID_CALLS ?? 10_000);
const OUT = fileURLToPath(new URL('../../target/reliability/', import.meta.url));

/** Uncaught exceptions and unhandled rejections while the run watches. */
function watchEscapes(handler) {
  const onError = (error) => handler(error);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return () => {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
  };
}

test(`${CALLS.toLocaleString('en')} invalid calls: typed errors, nothing written, no panic (seed ${SEED})`, { timeout: 600_000 }, async (t) => {
  assert.ok(Number.isInteger(SEED) && SEED >= 0, `INVALID_CALLS_SEED must be a non-negative integer, got ${process.env.INVALID_CALLS_SEED}`);
  assert.ok(CALLS >= 1, 'INVALID_CALLS must be positive');
  t.diagnostic(`seed ${SEED} (replay with INVALID_CALLS_SEED=${SEED})`);
  const stats = await runInvalidCalls({
    annals,
    storeOptions: () => ({ storage: 'memory' }),
    storage: 'memory',
    hasIndexedDB: false,
    seed: SEED,
    calls: CALLS,
    timeoutMs: 3000,
    watchEscapes,
    log: (line) => t.diagnostic(line),
  });

  const figures = {
    calls: stats.calls,
    typedErrors: stats.typedErrors,
    writes: stats.writes,
    panics: stats.panics,
    seed: SEED,
    byKind: stats.byKind,
    escapes: stats.escapes,
    hangs: stats.hangs,
    untyped: stats.untyped,
    resolved: stats.resolved,
    wrongError: stats.wrongError,
    validAppends: stats.validAppends,
    concurrentValidAppends: stats.concurrentValidAppends,
    validExotic: stats.validExotic,
    validExoticFailed: stats.validExoticFailed,
    fullChecks: stats.fullChecks,
    quickChecks: stats.quickChecks,
    events: stats.events,
    prototypesUnchanged: stats.prototypesUnchanged,
    storeWorksAfter: stats.storeWorksAfter,
    stoppedEarly: stats.stoppedEarly,
    elapsedMs: stats.elapsedMs,
    failures: stats.failureCount,
    distinctFailures: stats.failures,
  };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(`${OUT}invalid-calls.json`, `${JSON.stringify(figures, null, 2)}\n`);

  const [summary, ...failures] = describeRun(stats);
  t.diagnostic(summary);
  for (const [kind, k] of Object.entries(stats.byKind).sort()) {
    t.diagnostic(`  ${kind.padEnd(24)} ${String(k.calls).padStart(5)} calls, ${String(k.typedErrors).padStart(5)} typed, ${k.failures} failures`);
  }
  for (const line of failures) t.diagnostic(line);

  assertRunClean(assert, stats, CALLS);
  if (CALLS >= 1000) assert.ok(stats.validAppends > 0 && stats.validExotic > 0 && stats.fullChecks >= CALLS / 100, 'the run interleaved valid calls and full checks');
});
