// Schema upgrades between tabs (docs/api.md "Schema upgrades between tabs"): a tab whose
// database another tab opens at a newer schema closes its connection at once and reports a
// typed error; a tab opening a newer schema never waits without end for an old tab.
import test from 'node:test';
import assert from 'node:assert/strict';
import { browserSession, watchPage } from './helpers.mjs';

async function openPage(session, label) {
  const page = await session.context.newPage();
  const problems = watchPage(page, label);
  await page.goto(`${session.server.url}e2e/upgrade.html`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.up !== undefined, null, { timeout: 15_000 });
  return { page, problems };
}

test('a newer schema opened in another tab: this tab closes its connection and reports StoreClosedError (versionchange)', { timeout: 120_000 }, async (t) => {
  const session = await browserSession(t, 'upgrade');
  const a = await openPage(session, 'old tab');
  const b = await openPage(session, 'new tab');

  assert.deepEqual(await a.page.evaluate(() => window.up.open('up-1')), { storage: 'indexeddb' });
  assert.ok((await a.page.evaluate(() => window.up.append())).ok, 'the store works before');

  // The other tab's upgrade goes ahead: the open tab does not hold it up.
  assert.deepEqual(await b.page.evaluate(() => window.up.rawOpenNewer('up-1', 4, 5_000)), { opened: 4 });

  const closed = { name: 'StoreClosedError', reason: 'versionchange', errorCode: 410 };
  const { error } = await a.page.evaluate(() => window.up.append());
  assert.deepEqual({ name: error.name, reason: error.reason, errorCode: error.errorCode }, closed);
  assert.match(error.message, /newer schema/);
  const end = await a.page.evaluate(() => window.up.subscriptionEnd(5_000));
  assert.equal(end.ended, 'error', 'the waiting subscription ends with the error');
  assert.deepEqual({ name: end.error.name, reason: end.error.reason, errorCode: end.error.errorCode }, closed);

  // This code cannot read the newer schema: a StorageError whose cause is the DOMException.
  const reopened = await a.page.evaluate(() => window.up.tryOpen('up-1'));
  assert.equal(reopened.error.name, 'StorageError');
  assert.deepEqual(reopened.error.cause, { domException: 'VersionError' });
  assert.deepEqual([...a.problems, ...b.problems], []);
});

test('an old tab that keeps the database open: opening at the new schema fails at once, and works once it is gone', { timeout: 120_000 }, async (t) => {
  const session = await browserSession(t, 'blocked');
  const old = await openPage(session, 'old code');
  const fresh = await openPage(session, 'new code');

  const held = await old.page.evaluate(() => window.up.rawHoldOld('up-2'));
  assert.equal(held.version, 1);
  const blocked = await fresh.page.evaluate(() => window.up.tryOpen('up-2'));
  assert.equal(blocked.error?.name, 'StorageError', JSON.stringify(blocked));
  assert.match(blocked.error.cause.text, /^Blocked: /);
  assert.ok(blocked.ms < 5_000, `gave up in ${blocked.ms} ms`);

  // The abandoned open does not upgrade behind anyone's back once the old tab lets go.
  await old.page.evaluate(() => window.up.releaseOld());
  await fresh.page.waitForTimeout(300);
  assert.equal(await fresh.page.evaluate(() => window.up.rawVersion('up-2')), 1);
  const opened = await fresh.page.evaluate(() => window.up.tryOpen('up-2'));
  assert.deepEqual({ storage: opened.storage, events: opened.events, error: opened.error }, { storage: 'indexeddb', events: held.events, error: undefined });
  assert.equal(await fresh.page.evaluate(() => window.up.rawVersion('up-2')), 3);
  assert.deepEqual([...old.problems, ...fresh.problems], []);
});
