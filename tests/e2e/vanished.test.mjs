// A device whose IndexedDB database vanished (docs/sync.md, "A database that vanished"):
// Chromium, an annals-server on a private PostgreSQL. The device syncs, appends offline, and
// its database is deleted behind the store's back (indexedDB.deleteDatabase from another
// page). Reopened, the store must say so (`store.recovery`, with the gone database's identity,
// cursor and pending count at its last mark) instead of carrying on as a new device; a sync
// pulls every confirmed event back (100 %), and the pending events lost are counted against
// their bound (the pending count at the last mark). Also: a new database is simply new, a
// database reopened is not reported, the report comes once; the same in a dedicated worker;
// and with live sync online, the loss is bounded by the events whose push was not confirmed.
import test from 'node:test';
import fs from 'node:fs';
import assert from 'node:assert/strict';
import { ensureDemoInstalled, launchContext, startServer as startStatic, tempDir, withTimeout } from './helpers.mjs';
import { startPostgres, startServer } from '../support/server.mjs';
import { fmt, writeReliabilityRow } from '../support/reliability.mjs';
import { pushEvents, serverLog } from './server-log.mjs';

ensureDemoInstalled();
const pg = await startPostgres({ settings: { fsync: 'off' } });
test.after(() => pg.stop());

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const shape = (e) => ({ id: e.id, stream: e.stream, type: e.type, version: e.version, data: e.data, metadata: e.metadata, serverPosition: e.serverPosition ?? e.position });

/** A page of the device: the store `name` opened in it, driven through `window.device`. */
async function openDevice(context, statics, name) {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.stack ?? err}`));
  await page.goto(`${statics.url}e2e/sync-device.html`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.evaluate((n) => window.openDevice(n), name);
  const call = (method, ...args) => page.evaluate(([m, a]) => window.device[m](...a), [method, args]);
  const recovery = () =>
    page.evaluate(() => {
      const r = window.device.store.recovery;
      return r === undefined ? undefined : { ...r, markedAt: r.markedAt.getTime() };
    });
  return { page, call, recovery, problems };
}

/** Reloads the device's page and opens the store `name` again. */
async function reopen(device, name) {
  await device.page.reload();
  await device.page.waitForSelector('body[data-ready="true"]');
  await device.page.evaluate((n) => window.openDevice(n), name);
}

/** Deletes the IndexedDB database of store `name` from `page` (another page than the store's). */
async function deleteDatabase(page, name) {
  return page.evaluate(
    (db) =>
      new Promise((resolve, reject) => {
        const request = indexedDB.deleteDatabase(db);
        request.onsuccess = () => resolve('deleted');
        request.onerror = () => reject(request.error);
        request.onblocked = () => resolve('blocked');
      }),
    `annals:${name}`,
  );
}

const figures = {};

test('a vanished database is reported with its figures, and a sync brings back every confirmed event', { timeout: 240_000 }, async (t) => {
  const statics = await startStatic();
  t.after(() => statics.close());
  const token = 'token-vanish';
  const server = await startServer({ databaseUrl: pg.url, tokens: { [token]: 'vanish' }, allowOrigins: [new URL(statics.url).origin] });
  t.after(() => server.stop());
  const profile = tempDir('annals-vanish-');
  const context = await launchContext(profile);
  t.after(async () => {
    await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  });

  await pushEvents(server.url, token, 3000, 'Other');
  // A new database without a mark is simply new.
  let device = await openDevice(context, statics, 'vanish');
  assert.equal(await device.recovery(), undefined, 'a new database is not reported');
  const mine = await device.call('workload', { seed: 46, events: 500, streams: 4, prefix: 'Mine', anyOnly: true });
  await device.call('startSync', { url: server.url, token, live: false });
  await device.call('flush');
  await device.call('close');
  let log = await serverLog(server.url, token);
  assert.equal(log.length, 3500);

  // Reopened: the same database, not reported. Offline, more appends: pending.
  await reopen(device, 'vanish');
  assert.equal(await device.recovery(), undefined, 'the database opened before is not reported');
  const offline = await device.call('workload', { seed: 4600, events: 137, streams: 4, prefix: 'Mine', anyOnly: true });
  const before = await device.call('dump', []);
  const identity = await device.page.evaluate(() => window.device.store.recovery?.identity ?? null);
  assert.equal(identity, null);
  assert.equal(before.all.filter((e) => e.serverPosition === null).length, 137, 'pending before the loss');
  await sleep(600); // the mark follows the appends within 200 ms

  // Another page deletes the database while the store is open.
  const other = await context.newPage();
  await other.goto(`${statics.url}e2e/sync-device.html`);
  assert.equal(await deleteDatabase(other, 'vanish'), 'deleted', 'the open store gives way to the deletion');

  // Reopened: told, with the figures.
  await reopen(device, 'vanish');
  const recovery = await device.recovery();
  assert.ok(recovery, 'the store reports that its database vanished');
  assert.equal(recovery.kind, 'vanished');
  assert.notEqual(recovery.identity, recovery.previousIdentity);
  assert.equal(recovery.lastServerPosition, 3500, 'the cursor at the last mark');
  assert.equal(recovery.pendingAtLastMark, 137, 'the pending count at the last mark');
  assert.ok(Date.now() - recovery.markedAt < 60_000 && recovery.markedAt <= Date.now(), 'markedAt is recent');
  assert.deepEqual((await device.call('dump', [])).all, [], 'the database is new and empty');

  // Sync pulls every confirmed event back.
  await device.call('startSync', { url: server.url, token, live: false });
  await device.call('flush');
  log = await serverLog(server.url, token);
  assert.equal(log.length, 3500, 'the server has what it had');
  const streams = [...new Set(log.map((e) => e.stream))];
  const after = await device.call('dump', streams);
  for (const s of streams) assert.deepEqual(after.streams[s].map(shape), log.filter((e) => e.stream === s).map(shape), `stream ${s} equals the server's`);
  const local = new Set(after.all.map((e) => e.id));
  const recovered = log.filter((e) => local.has(e.id)).length;
  assert.equal(recovered, log.length, 'confirmed events recovered: all');
  const onServer = new Set(log.map((e) => e.id));
  const lost = offline.ids.filter((id) => !onServer.has(id) && !local.has(id)).length;
  assert.ok(mine.ids.every((id) => local.has(id)), 'every event of this device confirmed before the loss is back');
  assert.equal(lost, 137, 'the pending events appended offline are the ones lost');
  assert.ok(lost <= recovery.pendingAtLastMark, 'lost within the bound the report gives');
  await device.call('close');

  // Reported once: the next open is of the marked (new) database.
  await reopen(device, 'vanish');
  assert.equal(await device.recovery(), undefined, 'reported by the first open after the loss only');
  await device.call('close');
  assert.deepEqual(device.problems, []);
  Object.assign(figures, { confirmed: log.length, recovered, pendingAtLastMark: recovery.pendingAtLastMark, offlineLost: lost, offlineAppended: offline.ids.length });
});

test('in a dedicated worker: the same mark, the same report', { timeout: 120_000 }, async (t) => {
  const statics = await startStatic();
  t.after(() => statics.close());
  const profile = tempDir('annals-vanish-worker-');
  const context = await launchContext(profile);
  t.after(async () => {
    await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  });
  const page = await context.newPage();
  await page.goto(`${statics.url}e2e/sync-device.html`);
  await page.evaluate(() => {
    window.worker = new Worker('/e2e/vanished-worker.mjs', { type: 'module' });
    window.ask = (message) =>
      new Promise((resolve) => {
        window.worker.onmessage = ({ data }) => resolve(data);
        window.worker.postMessage(message);
      });
  });
  const ask = async (message) => {
    const r = await withTimeout(page.evaluate((m) => window.ask(m), message), 30_000, JSON.stringify(message));
    assert.ok(r.ok, r.error);
    return r;
  };
  let r = await ask({ op: 'open', name: 'in-worker' });
  assert.equal(r.hasCaches, true, 'Cache Storage in the worker');
  assert.equal(r.recovery, null, 'new: not reported');
  await ask({ op: 'append', events: 25, stream: 'W' });
  await ask({ op: 'close' });
  r = await ask({ op: 'open', name: 'in-worker' });
  assert.equal(r.recovery, null, 'reopened: not reported');
  await ask({ op: 'close' });
  assert.equal(await deleteDatabase(page, 'in-worker'), 'deleted');
  r = await ask({ op: 'open', name: 'in-worker' });
  assert.ok(r.recovery, 'the worker is told its database vanished');
  assert.equal(r.recovery.pendingAtLastMark, 25);
  assert.equal(r.recovery.lastServerPosition, 0);
  await ask({ op: 'close' });
  figures.worker = true;
});

test('live sync online: a loss costs at most the events whose push was not confirmed', { timeout: 120_000 }, async (t) => {
  const statics = await startStatic();
  t.after(() => statics.close());
  const token = 'token-vanish-live';
  const server = await startServer({ databaseUrl: pg.url, tokens: { [token]: 'vanish-live' }, allowOrigins: [new URL(statics.url).origin] });
  t.after(() => server.stop());
  const profile = tempDir('annals-vanish-live-');
  const context = await launchContext(profile);
  t.after(async () => {
    await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  });
  const device = await openDevice(context, statics, 'live');
  await device.call('startSync', { url: server.url, token, live: true });
  // Appends one event every 10 ms, in the background, until the database is deleted.
  await device.page.evaluate(() => {
    window.appended = [];
    window.appending = (async () => {
      for (let i = 0; ; i++) {
        const id = crypto.randomUUID();
        try {
          await window.device.store.append(`Live-${i % 4}`, { id, type: 'Live', data: { i } });
        } catch {
          return;
        }
        window.appended.push({ id, at: Date.now() });
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
  });
  await sleep(3000);
  const other = await context.newPage();
  await other.goto(`${statics.url}e2e/sync-device.html`);
  assert.equal(await deleteDatabase(other, 'live'), 'deleted');
  const appended = await device.page.evaluate(async () => {
    await window.appending;
    return window.appended;
  });
  await reopen(device, 'live');
  const recovery = await device.recovery();
  assert.ok(recovery, 'reported');
  await device.call('startSync', { url: server.url, token, live: false });
  await device.call('flush');
  const log = await serverLog(server.url, token);
  const after = await device.call('dump', []);
  const local = new Set(after.all.map((e) => e.id));
  assert.ok(log.every((e) => local.has(e.id)), 'every confirmed event back');
  assert.ok(appended.length > 100, `the app appended (${appended.length})`);
  const onServer = new Set(log.map((e) => e.id));
  const lost = appended.filter(({ id }) => !onServer.has(id)).length;
  const afterMark = appended.filter(({ at }) => at >= recovery.markedAt).length;
  t.diagnostic(`live: ${appended.length} appended, ${log.length} on the server, ${lost} lost; pendingAtLastMark ${recovery.pendingAtLastMark}, appended after the mark ${afterMark}`);
  assert.equal(new Set(log.map((e) => e.id)).size, log.length, 'each event once on the server');
  // The bound: what was pending at the last mark, and what was appended after it.
  assert.ok(lost <= recovery.pendingAtLastMark + afterMark, `lost ${lost} ≤ pendingAtLastMark ${recovery.pendingAtLastMark} + appended after the mark ${afterMark}`);
  await device.call('close');
  Object.assign(figures, { liveAppended: appended.length, liveLost: lost, liveBound: recovery.pendingAtLastMark + afterMark });
});

test.after(() => {
  if (figures.recovered === undefined || figures.liveLost === undefined || !figures.worker) return;
  writeReliabilityRow('vanished', {
    order: 46,
    what: 'IndexedDB database deleted behind a syncing Chromium store (page and worker): store.recovery reports it, sync pulls back',
    tried: `${fmt(figures.confirmed)} confirmed events, ${figures.offlineAppended} appended offline; live sync: ${fmt(figures.liveAppended)} appended`,
    result: `confirmed recovered ${fmt(figures.recovered)}/${fmt(figures.confirmed)}; pending lost ${figures.offlineLost} (bound: pendingAtLastMark ${figures.pendingAtLastMark}); live: lost ${figures.liveLost} of ${fmt(figures.liveAppended)} (bound ${figures.liveBound}: pending at the mark + appended after it)`,
  });
});
