// Quota test: the served origin's quota is made small through the DevTools protocol
// (Storage.overrideQuotaForOrigin), and a page (then a dedicated worker) appends batches of
// ~24 KB events until IndexedDB refuses.
//
// The override is set before the page loads, that is before the origin writes anything:
// Chromium's IndexedDB caches the space its quota manager granted for up to 30 s
// (BucketContext::kBucketSpaceCacheTimeLimit) and approves writes from that allowance, so an
// override set after a write only bites once the cached allowance is spent or has decayed —
// tried: with three small appends made before the override, 52 further appends of 72 KB went
// through a 512 KB quota. Raising the quota takes effect at once: a write the cached
// allowance does not cover asks the quota manager again. The failed append rejects with QuotaExceededError (a
// StorageError, errorCode 507), writes nothing (the store equals what it was just before, and
// a second try changes nothing either), reads and a running subscription keep working, and
// once the quota is raised (a larger override on the page, the override cleared for the
// worker) the same append goes through and the subscription receives it.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, browserSession, watchPage, withTimeout } from './helpers.mjs';

const EVENT_BYTES = 24 * 1024;
const BATCH = 3;
const ROOM = 512 * 1024; // quota = the origin's usage before the page loads + ROOM
const MAX_APPENDS = 40; // ~2.9 MB, over 5 × ROOM: reaching it means the quota did not bite

const figures = {};

async function openQuotaPage(t, label) {
  const session = await browserSession(t, label);
  const { server, context } = session;
  const page = await context.newPage();
  const problems = watchPage(page, label);
  const cdp = await context.newCDPSession(page);
  const origin = new URL(server.url).origin;
  const quotaBytes = await squeeze(cdp, origin, ROOM);
  await page.goto(`${server.url}e2e/quota.html`, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 }).catch((err) => {
    throw new Error(`${label}: page not ready: ${err.message}\n${problems.join('\n')}`);
  });
  return { page, problems, cdp, origin, quotaBytes };
}

/** Sets the origin's quota to its usage now + `room` bytes; returns the quota. */
async function squeeze(cdp, origin, room) {
  const { usage } = await cdp.send('Storage.getUsageAndQuota', { origin });
  const quotaSize = Math.ceil(usage) + room;
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize });
  const now = await cdp.send('Storage.getUsageAndQuota', { origin });
  assert.equal(now.overrideActive, true, 'quota override active');
  assert.equal(now.quota, quotaSize, 'quota as overridden');
  return quotaSize;
}

function assertQuotaError(error, what) {
  assert.ok(error, `${what}: the append failed`);
  assert.equal(error.name, 'QuotaExceededError', `${what}: error name (${error.message})`);
  assert.equal(error.errorCode, 507, `${what}: errorCode`);
  assert.equal(error.isAnnalsError, true, `${what}: isAnnalsError`);
  assert.equal(error.isStorageError, true, `${what}: isStorageError (a kind of StorageError)`);
  assert.equal(error.isQuotaExceededError, true, `${what}: isQuotaExceededError`);
  assert.equal(error.instanceofStorageError, true, `${what}: instanceof StorageError`);
  assert.equal(error.instanceofQuotaExceededError, true, `${what}: instanceof QuotaExceededError`);
  assert.match(error.cause, /^QuotaExceededError\b/, `${what}: cause names IndexedDB's QuotaExceededError`);
}

/** The store after the fill is exactly the appends acknowledged on top of `start`. */
function assertHolds(state, start, stream, fill, what) {
  const ackedIds = fill.acked.flatMap((a) => a.ids);
  assert.deepEqual(state.all.slice(0, start.all.length), start.all, `${what}: what was there before the fill is unchanged`);
  assert.deepEqual(state.all.slice(start.all.length).map((e) => e.id), ackedIds, `${what}: readAll = the acknowledged appends, in order`);
  const last = fill.acked.at(-1);
  assert.equal(state.head, last.position, `${what}: head = the last acknowledged position`);
  assert.equal(state.streams[stream].version, last.nextExpectedVersion, `${what}: streamVersion = the last acknowledged version`);
  assert.deepEqual(state.all.map((e) => e.position), state.all.map((_, i) => i + 1), `${what}: positions 1..N`);
  for (const [s, { events, version }] of Object.entries(state.streams)) {
    const fromAll = state.all.filter((e) => e.stream === s);
    assert.deepEqual(events, fromAll, `${what}: readStream(${s}) = readAll's events of ${s}`);
    assert.equal(version, fromAll.length, `${what}: streamVersion(${s})`);
  }
  const failedIds = new Set(fill.failed.events.map((e) => e.id));
  assert.equal(state.all.filter((e) => failedIds.has(e.id)).length, 0, `${what}: no event of the failed append is stored`);
}

/**
 * The scenario, run by `run(op, ...args)` (on the page or in the worker), with the page's
 * subscription watching. `raise` gives the room back.
 */
async function scenario({ page, run, raise, stream, label, quotaBytes }) {
  const start = await run('state');
  await page.evaluate(() => window.quota.subscribe());

  const fill = await withTimeout(
    run('fill', { stream, eventBytes: EVENT_BYTES, batchSize: BATCH, maxAppends: MAX_APPENDS }),
    120_000,
    `${label}: fill`,
  );
  assert.ok(fill.failed, `${label}: ${MAX_APPENDS} appends of ${BATCH}×${EVENT_BYTES} bytes went through a ${quotaBytes}-byte quota`);
  assert.ok(fill.acked.length > 0, `${label}: appends succeeded before the quota was full`);
  assertQuotaError(fill.failed.error, `${label}: the append that found the quota full`);

  // Nothing of it written: the store equals what it was just before, readable as ever.
  const after = await run('state');
  assert.deepEqual(after, fill.failed.before, `${label}: the store after the failed append = the store just before it`);
  assertHolds(after, start, stream, fill, label);

  // Still full: the same append again fails the same way and changes nothing.
  const again = await run('append', stream, fill.failed.events, fill.failed.expectedVersion);
  assertQuotaError(again.error, `${label}: the same append again`);
  assert.deepEqual(await run('state'), after, `${label}: the store after the second failure`);

  // The subscription kept going: it has every stored event, in order, and nothing else.
  const seen = await withTimeout(page.evaluate(([n, ms]) => window.quota.received(n, ms), [after.head, 30_000]), 40_000, `${label}: subscription`);
  assert.equal(seen.outcome, null, `${label}: the subscription is still running (${seen.outcome})`);
  assert.deepEqual(seen.events.map((e) => e.id), after.all.map((e) => e.id), `${label}: the subscription saw exactly the stored events`);

  // Room again: the very same append (same ids, same expected version) goes through.
  await raise();
  const resumed = await run('append', stream, fill.failed.events, fill.failed.expectedVersion);
  assert.equal(resumed.error, undefined, `${label}: the append after the quota was raised: ${JSON.stringify(resumed.error)}`);
  assert.deepEqual(resumed.result, {
    nextExpectedVersion: after.streams[stream].version + BATCH,
    position: after.head + BATCH,
  }, `${label}: the append after the quota was raised`);
  const more = await run('append', stream, await run('batch', `${stream}-more`, BATCH, EVENT_BYTES), resumed.result.nextExpectedVersion);
  assert.equal(more.error, undefined, `${label}: one more append: ${JSON.stringify(more.error)}`);

  const final = await run('state');
  assert.equal(final.head, after.head + 2 * BATCH, `${label}: head after resuming`);
  assert.deepEqual(final.all.slice(0, after.all.length), after.all, `${label}: nothing before changed`);
  assert.deepEqual(final.all.slice(after.all.length, after.all.length + BATCH).map((e) => e.id), fill.failed.events.map((e) => e.id), `${label}: the retried append`);
  const live = await withTimeout(page.evaluate(([n, ms]) => window.quota.received(n, ms), [final.head, 30_000]), 40_000, `${label}: subscription after resuming`);
  assert.deepEqual(live.events.map((e) => e.id), final.all.map((e) => e.id), `${label}: the subscription received the appends made after the quota was raised`);
  assert.deepEqual(live.events, final.all, `${label}: the subscription's events = readAll's`);

  return {
    quotaBytes,
    appendsBeforeFull: fill.acked.length,
    eventBytes: EVENT_BYTES,
    eventsPerAppend: BATCH,
    failedAppendErrorName: fill.failed.error.name,
    failedAppendCause: fill.failed.error.cause,
    partial: after.all.length - fill.failed.before.all.length, // events of the failed append stored: 0
    resumed: resumed.error === undefined && more.error === undefined,
    subscriptionEvents: live.events.length,
  };
}

test('quota: a page appends until the origin quota is full; QuotaExceededError, nothing partial, reads and subscription go on, appends resume', { timeout: 240_000 }, async (t) => {
  const { page, problems, cdp, origin, quotaBytes } = await openQuotaPage(t, 'quota-page');
  await page.evaluate(() => window.quota.small('Small-1', 3));
  const run = (op, ...args) => page.evaluate(([o, a]) => window.quota[o](...a), [op, args]);
  const r = await scenario({
    page, run, quotaBytes, stream: 'Big-page', label: 'page',
    raise: async () => {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 64 * 1024 * 1024 });
    },
  });
  assert.deepEqual(problems, [], 'no page errors');
  t.diagnostic(JSON.stringify(r));
  figures.page = r;
});

test('quota: the same in a dedicated worker, watched by a subscription on the page', { timeout: 240_000 }, async (t) => {
  const { page, problems, cdp, origin, quotaBytes } = await openQuotaPage(t, 'quota-worker');
  await page.evaluate(() => window.quota.startWorker());
  await page.evaluate(() => window.quota.worker('small', 'Small-1', 3));
  const run = (op, ...args) => page.evaluate(([o, a]) => window.quota.worker(o, ...a), [op, args]);
  const r = await scenario({
    page, run, quotaBytes, stream: 'Big-worker', label: 'worker',
    raise: async () => {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin }); // no quotaSize: override cleared
      assert.equal((await cdp.send('Storage.getUsageAndQuota', { origin })).overrideActive, false, 'override cleared');
    },
  });
  assert.deepEqual(problems, [], 'no page errors');
  t.diagnostic(JSON.stringify(r));
  figures.worker = r;
});

test.after(() => {
  if (!figures.page || !figures.worker) return; // a test failed: no figures
  fs.mkdirSync(path.join(ROOT, 'target/reliability'), { recursive: true });
  fs.writeFileSync(
    path.join(ROOT, 'target/reliability/quota.json'),
    JSON.stringify({ ...figures.page, partial: figures.page.partial + figures.worker.partial, resumed: figures.page.resumed && figures.worker.resumed, worker: figures.worker }, null, 2) + '\n',
  );
});
