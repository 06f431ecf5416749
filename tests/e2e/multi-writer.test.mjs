// Two pages of one origin (one IndexedDB database), 4 concurrent writers each, appending to
// ONE stream with exact expected versions and retrying on WrongExpectedVersionError.
// Each page also runs a subscription from position 0, started before the writers.
import test from 'node:test';
import assert from 'node:assert/strict';
import { browserSession, watchPage, withTimeout } from './helpers.mjs';

const STREAM = 'Counter-e2e';
const PER_PAGE = 250;
const QUOTAS = [63, 63, 62, 62]; // 4 writers, 250 appends per page
const TOTAL = 2 * PER_PAGE;
const WRITERS_MS = 180_000;
const SUBSCRIPTION_GRACE_MS = 30_000; // after the writers are done

const range = (n) => Array.from({ length: n }, (_, i) => i + 1);

test('multi-writer: 2 pages × 4 writers, 500 appends to one stream, no gap, no duplicate', { timeout: 300_000 }, async (t) => {
  assert.equal(QUOTAS.reduce((a, b) => a + b), PER_PAGE);
  const session = await browserSession(t, 'mw');
  const { server, context } = session;
  const pages = [];
  for (const label of ['A', 'B']) {
    const page = await context.newPage();
    const problems = watchPage(page, `page ${label}`);
    await page.goto(`${server.url}e2e/multi-writer.html?label=${label}`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.mw !== undefined, null, { timeout: 15_000 }).catch((err) => {
      throw new Error(`page ${label} did not get ready: ${err.message}\n${problems.join('\n')}`);
    });
    pages.push({ label, page, problems });
  }

  // Subscriptions first (from position 0), then the writers.
  for (const { page } of pages) {
    await page.evaluate(([s, n]) => window.mw.startSubscription(s, n), [STREAM, TOTAL]);
  }
  const started = Date.now();
  const results = await withTimeout(
    Promise.all(pages.map(({ page }) => page.evaluate(([s, q, ms]) => window.mw.runWriters(s, q, ms), [STREAM, QUOTAS, WRITERS_MS]))),
    WRITERS_MS + 20_000,
    'writers',
  );
  const elapsed = Date.now() - started;
  const retries = results.reduce((sum, r) => sum + r.retries, 0);
  const summary =
    `${TOTAL} appends by ${pages.length}×${QUOTAS.length} writers in ${elapsed} ms, ${retries} retries on WrongExpectedVersionError ` +
    `(${results.map((r, i) => `page ${pages[i].label}: ${r.successes} ok, ${r.retries} retries, ${r.elapsedMs} ms`).join('; ')})`;
  t.diagnostic(summary);

  results.forEach((r, i) => {
    assert.deepEqual(r.errors, [], `page ${pages[i].label}: writers failed`);
    assert.equal(r.successes, PER_PAGE, `page ${pages[i].label}: successful appends`);
  });

  // The stream: versions 1..500, no gap, no duplicate, distinct ids, every write exactly once.
  const events = await withTimeout(pages[0].page.evaluate((s) => window.mw.readStream(s), STREAM), 60_000, 'readStream');
  assert.equal(events.length, TOTAL, 'readStream length');
  assert.deepEqual(events.map((e) => e.version), range(TOTAL), 'versions 1..500 in order');
  assert.equal(new Set(events.map((e) => e.id)).size, TOTAL, 'distinct event ids');
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i].position > events[i - 1].position, `positions increase at version ${i + 1}`);
  }
  // Only this stream lives in this fresh database, so global positions are 1..500 as well.
  assert.deepEqual(events.map((e) => e.position), range(TOTAL), 'positions 1..500');
  const writes = events.map((e) => `${e.data.page}/${e.data.writer}/${e.data.n}`);
  const expectedWrites = pages.flatMap(({ label }) =>
    QUOTAS.flatMap((q, w) => Array.from({ length: q }, (_, n) => `${label}/${w}/${n}`)),
  );
  assert.deepEqual([...writes].sort(), [...expectedWrites].sort(), 'every (page, writer, n) written exactly once');
  assert.equal(await pages[1].page.evaluate((s) => window.mw.streamVersion(s), STREAM), TOTAL, 'streamVersion seen by page B');

  // Each page's subscription saw all 500 events of the stream, in order.
  const ids = events.map((e) => e.id);
  for (const { label, page } of pages) {
    const sub = await withTimeout(page.evaluate((ms) => window.mw.waitSubscription(ms), SUBSCRIPTION_GRACE_MS), SUBSCRIPTION_GRACE_MS + 10_000, `subscription of page ${label}`);
    assert.equal(sub.outcome, 'complete', `page ${label} subscription: ${sub.outcome} ${sub.error ?? ''} after ${sub.received.length} events`);
    const got = sub.received;
    assert.equal(got.length, TOTAL, `page ${label} subscription event count`);
    for (let i = 1; i < got.length; i++) {
      assert.ok(got[i].position > got[i - 1].position, `page ${label}: positions strictly increase at #${i}`);
    }
    assert.deepEqual(got.map((e) => e.version), range(TOTAL), `page ${label}: subscription versions 1..500`);
    assert.deepEqual(got.map((e) => e.id), ids, `page ${label}: subscription ids = readStream ids`);
  }

  // Conflicts report themselves correctly ({ stream, expected, actual }).
  results.forEach((r, i) => assert.deepEqual(r.anomalies, [], `page ${pages[i].label}: anomalies`));
  for (const { problems } of pages) assert.deepEqual(problems, [], 'no page errors');
});
