// Sync end to end: annals-server on a private PostgreSQL, devices in Chromium (IndexedDB) and
// in Node (memory), each behind a proxy that plays its network (offline, lost answers).
//   - three devices converge after working offline, every refused append surfaced once;
//   - pushes whose answers are lost are retried without duplicates;
//   - two server processes on one database: pullers see the whole log, live across servers;
//   - tokens and limits: 401, tenants apart, 413, and pushes split under the limits;
//   - closing a sync leaves nothing behind: Node exits by itself.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import {
  ROOT,
  ensureDemoInstalled,
  launchContext,
  startServer as startStatic,
  tempDir,
  withTimeout,
} from './helpers.mjs';
import { startPostgres, startServer } from '../support/server.mjs';
import { startProxy } from '../support/proxy.mjs';
import { Device } from './pages/sync-device.mjs';

ensureDemoInstalled();
const { openStore } = await import(path.join(ROOT, 'demo/node_modules/annals/dist/node.js'));

const STREAMS = Array.from({ length: 20 }, (_, i) => `Shared-${i}`);

/** PostgreSQL for the whole file, stopped when it ends. */
const pg = await startPostgres();
test.after(() => pg.stop());

/** Every event of the tenant behind `token`, as the server serves it, in server order. */
async function serverLog(url, token) {
  const events = [];
  for (;;) {
    const response = await fetch(`${url}/v1/pull?after=${events.length}&limit=10000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 200, `pull: HTTP ${response.status}`);
    const page = await response.json();
    events.push(...page.events);
    if (page.events.length === 0 || events.length >= page.head) return events;
  }
}

const shape = (e) => ({
  id: e.id,
  stream: e.stream,
  type: e.type,
  version: e.version,
  data: e.data,
  metadata: e.metadata,
  serverPosition: e.serverPosition ?? e.position,
});

/** A device in a Chromium page on its own profile (or `context`'s): the calls of `Device`. */
async function browserDevice(t, staticUrl, label, context, database = label) {
  if (context === undefined) {
    const profile = tempDir(`annals-sync-${label}-`);
    context = await launchContext(profile);
    t.after(() => context.close().catch(() => {}));
  }
  const page = await context.newPage();
  // Failed requests are expected here (devices go offline): only uncaught errors are problems.
  const problems = [];
  page.on('pageerror', (err) => problems.push(`${label} pageerror: ${err.stack ?? err}`));
  await page.goto(`${staticUrl}e2e/sync-device.html`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.evaluate((name) => window.openDevice(name), database);
  const call = (method, ...args) =>
    page.evaluate(([m, a]) => window.device[m](...a), [method, args]);
  return { label, call, problems, page };
}

/** A device in this Node process (memory store). */
async function nodeDevice(t, label) {
  const device = await Device.open(openStore, label, 'memory');
  t.after(() => device.close().catch(() => {}));
  return { label, call: async (method, ...args) => device[method](...args), problems: [], device };
}

/** Checks convergence: every stream equal to the server's on every device, server positions 1..N. */
async function assertConverged(devices, log) {
  for (const d of devices) {
    const dump = await d.call('dump', STREAMS);
    for (const s of STREAMS) {
      const expected = log.filter((e) => e.stream === s).map(shape);
      assert.deepEqual(dump.streams[s].map(shape), expected, `${d.label}: stream ${s}`);
    }
    const positions = dump.all.map((e) => e.serverPosition);
    assert.ok(positions.every((p) => Number.isInteger(p)), `${d.label}: every event has a serverPosition`);
    assert.deepEqual(positions.toSorted((a, b) => a - b), log.map((_, i) => i + 1), `${d.label}: 1..N, no gap`);
  }
}

test('three devices converge: two Chromium profiles on IndexedDB and a Node memory store', { timeout: 600_000 }, async (t) => {
  const tokens = { 'token-a': 'shop', 'token-b': 'shop', 'token-c': 'shop' };
  const statics = await startStatic();
  t.after(() => statics.close());
  const server = await startServer({ databaseUrl: pg.url, tokens, allowOrigins: [new URL(statics.url).origin] });
  t.after(() => server.stop());
  const devices = [
    await browserDevice(t, statics.url, 'a'),
    await browserDevice(t, statics.url, 'b'),
    await nodeDevice(t, 'c'),
  ];
  const proxies = [];
  for (const [i, d] of devices.entries()) {
    const proxy = await startProxy(server.url);
    t.after(() => proxy.stop());
    proxy.online = false;
    proxies.push(proxy);
    await d.call('startSync', { url: proxy.url, token: Object.keys(tokens)[i], live: true });
  }

  // Offline: 1,000 events each over 20 shared streams, mixed expected versions.
  const appended = new Map();
  for (const [i, d] of devices.entries()) {
    const { ids, appends } = await d.call('workload', { seed: 1000 + i, events: 1000, streams: STREAMS.length });
    appended.set(d.label, ids);
    t.diagnostic(`${d.label}: ${ids.length} events in ${appends} appends, offline`);
  }
  const offline = await devices[2].call('state');
  assert.equal(offline.pending, 1000);
  assert.equal(offline.connected, false);

  // Online; flush each (twice round, so that each has the others' pushes).
  for (const p of proxies) p.online = true;
  for (let round = 0; round < 2; round++) {
    for (const d of devices) await d.call('flush');
  }
  let log = await serverLog(server.url, 'token-a');
  await assertConverged(devices, log);

  // Every appended event is on the server or in exactly one conflict of its own device.
  const onServer = new Set(log.map((e) => e.id));
  let refusedEvents = 0;
  let conflictCount = 0;
  for (const d of devices) {
    const conflicts = await d.call('drainConflicts');
    conflictCount += conflicts.length;
    const mine = new Set(appended.get(d.label));
    const seen = new Set();
    for (const c of conflicts) {
      for (const id of c.ids) {
        assert.ok(mine.has(id), `${d.label}: a conflict holds ${id}, not appended here`);
        assert.ok(!seen.has(id), `${d.label}: ${id} surfaced twice`);
        assert.ok(!onServer.has(id), `${d.label}: ${id} is in a conflict and on the server`);
        seen.add(id);
      }
    }
    for (const id of mine) assert.ok(onServer.has(id) !== seen.has(id), `${d.label}: ${id} neither on the server nor in a conflict`);
    refusedEvents += seen.size;
    assert.deepEqual(await d.call('drainConflicts'), [], `${d.label}: each conflict surfaced once`);
  }
  t.diagnostic(`after the first flushes: ${log.length} events on the server, ${conflictCount} conflicts holding ${refusedEvents} events`);
  assert.equal(log.length + refusedEvents, 3000, 'events lost: 0');
  assert.ok(conflictCount > 0, 'the workload produced conflicts');

  // Each device in turn rebases what it holds after taking in the others' rebases.
  for (const d of devices) {
    await d.call('flush');
    await d.call('resolveAll', 'rebase');
    await d.call('flush');
  }
  for (const d of devices) await d.call('flush');
  log = await serverLog(server.url, 'token-a');
  await assertConverged(devices, log);
  for (const d of devices) assert.deepEqual(await d.call('drainConflicts'), [], `${d.label}: no conflict left`);
  assert.equal(log.length, 3000, 'events lost: 0 (appended = on the server, none discarded)');
  assert.equal(new Set(log.map((e) => e.id)).size, 3000, 'no event twice');
  for (const d of devices) assert.deepEqual(d.problems, []);
});

test('two tabs syncing one database need no leader: nothing pushed or stored twice', { timeout: 180_000 }, async (t) => {
  const statics = await startStatic();
  t.after(() => statics.close());
  const server = await startServer({ databaseUrl: pg.url, tokens: { 'token-tabs': 'tabs' }, allowOrigins: [new URL(statics.url).origin] });
  t.after(() => server.stop());
  const context = await launchContext(tempDir('annals-sync-tabs-'));
  t.after(() => context.close().catch(() => {}));
  const tabs = [
    await browserDevice(t, statics.url, 'tab-1', context, 'shared'),
    await browserDevice(t, statics.url, 'tab-2', context, 'shared'),
  ];
  for (const tab of tabs) await tab.call('startSync', { url: server.url, token: 'token-tabs', live: true });
  await Promise.all(tabs.map((tab, i) => tab.call('workload', { seed: 300 + i, events: 300, streams: 4, prefix: 'Tabs', anyOnly: true })));
  for (let round = 0; round < 2; round++) for (const tab of tabs) await tab.call('flush');
  const log = await serverLog(server.url, 'token-tabs');
  assert.equal(log.length, 600, 'each event once on the server');
  assert.equal(new Set(log.map((e) => e.id)).size, 600);
  const names = ['Tabs-0', 'Tabs-1', 'Tabs-2', 'Tabs-3'];
  const dumps = await Promise.all(tabs.map((tab) => tab.call('dump', names)));
  assert.deepEqual(dumps[0], dumps[1], 'one database, one view');
  assert.equal(dumps[0].all.length, 600, 'each event once in the database');
  for (const s of names) assert.deepEqual(dumps[0].streams[s].map(shape), log.filter((e) => e.stream === s).map(shape), s);
  for (const tab of tabs) assert.deepEqual(tab.problems, []);
});

test('a dedicated worker syncs', { timeout: 60_000 }, async (t) => {
  const statics = await startStatic();
  t.after(() => statics.close());
  const server = await startServer({ databaseUrl: pg.url, tokens: { 'token-worker': 'worker' }, allowOrigins: [new URL(statics.url).origin] });
  t.after(() => server.stop());
  const context = await launchContext(tempDir('annals-sync-worker-'));
  t.after(() => context.close().catch(() => {}));
  const page = await context.newPage();
  await page.goto(`${statics.url}e2e/sync-device.html`);
  const report = await page.evaluate(
    ({ url }) =>
      new Promise((resolve) => {
        const worker = new Worker('/e2e/sync-worker.mjs', { type: 'module' });
        worker.onmessage = ({ data }) => resolve(data);
        worker.onerror = (e) => resolve({ ok: false, error: e.message });
        worker.postMessage({ url, token: 'token-worker', events: 50 });
      }),
    { url: server.url },
  );
  assert.ok(report.ok, report.error);
  assert.equal(report.pending, 0);
  assert.deepEqual(report.serverPositions.toSorted((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1));
  assert.equal((await serverLog(server.url, 'token-worker')).length, 50);
});

test('a push whose answer is lost is retried and duplicates nothing', { timeout: 120_000 }, async (t) => {
  const server = await startServer({ databaseUrl: pg.url, tokens: { 'token-lost': 'lost' } });
  t.after(() => server.stop());
  const proxy = await startProxy(server.url);
  t.after(() => proxy.stop());
  const d = await nodeDevice(t, 'lost');
  await d.call('workload', { seed: 7, events: 60, streams: 3, prefix: 'Lost' });
  proxy.losePushAnswers = 3;
  d.device.startSync({ url: proxy.url, token: 'token-lost', live: false });
  const failures = [];
  for (let attempt = 0; attempt < 10; attempt++) {
    const r = await d.call('tryFlush');
    if (r.ok) break;
    failures.push(r.code);
  }
  assert.deepEqual(failures, ['network', 'network', 'network'], 'three lost answers, then success');
  assert.equal(proxy.counts.lostAnswers, 3);
  const log = await serverLog(server.url, 'token-lost');
  assert.equal(log.length, 60);
  assert.equal(new Set(log.map((e) => e.id)).size, 60, 'no event twice on the server');
  const state = await d.call('state');
  assert.equal(state.pending, 0, 'confirmed');
  const dump = await d.call('dump', []);
  assert.ok(dump.all.every((e) => Number.isInteger(e.serverPosition)));
});

test('two server processes on one database: pullers miss nothing, live crosses servers', { timeout: 300_000 }, async (t) => {
  const tokens = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`token-${i}`, 'fleet']));
  const servers = [
    await startServer({ databaseUrl: pg.url, tokens }),
    await startServer({ databaseUrl: pg.url, tokens }),
  ];
  for (const s of servers) t.after(() => s.stop());
  const pushers = [];
  for (let i = 0; i < 8; i++) {
    const d = await nodeDevice(t, `pusher-${i}`);
    d.device.startSync({ url: servers[i % 2].url, token: `token-${i}`, live: true });
    pushers.push(d);
  }
  const pullers = [];
  for (let i = 0; i < 2; i++) {
    const d = await nodeDevice(t, `puller-${i}`);
    d.device.startSync({ url: servers[i].url, token: `token-${8 + i}`, live: true });
    pullers.push(d);
  }
  // Live across servers: an event pushed through server 0 reaches a subscription on a device
  // attached to server 1.
  const marker = crypto.randomUUID();
  const arrived = pullers[1].device.waitFor(marker);
  await Promise.all(pushers.map((d, i) => d.call('workload', { seed: 50 + i, events: 200, streams: 5, prefix: 'Fleet', anyOnly: true })));
  await pushers[0].device.store.append('Marker', { id: marker, type: 'Marked', data: {} });
  const seen = await withTimeout(arrived, 60_000, 'the marker to reach the device on the other server');
  assert.equal(seen.id, marker);
  for (const d of pushers) await d.call('flush');
  const log = await serverLog(servers[0].url, 'token-0');
  assert.equal(log.length, 8 * 200 + 1);
  for (const p of pullers) {
    await p.call('flush');
    const { all } = await p.call('dump', []);
    const ordered = all.toSorted((a, b) => a.serverPosition - b.serverPosition);
    assert.deepEqual(ordered.map((e) => e.id), log.map((e) => e.id), `${p.label}: the whole log, none skipped`);
    assert.deepEqual(ordered.map((e) => e.serverPosition), log.map((_, i) => i + 1));
  }
});

test('tokens and limits: 401, tenants kept apart, 413, pushes split under the limits', { timeout: 120_000 }, async (t) => {
  const limits = { maxBodyBytes: 64 * 1024, maxAppends: 50, maxEvents: 200 };
  const server = await startServer({ databaseUrl: pg.url, tokens: { 'token-x': 'tenant-x', 'token-y': 'tenant-y' }, limits });
  t.after(() => server.stop());
  const push = (token, body) =>
    fetch(`${server.url}/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const one = (id) => ({ appends: [{ stream: 'S', expectedVersion: 'any', recordedAt: 1, events: [{ id, type: 'T', data: {} }] }] });

  for (const token of [undefined, 'wrong']) {
    const r = await push(token, one(crypto.randomUUID()));
    assert.equal(r.status, 401);
    assert.equal((await r.json()).error, 'unauthorized');
  }
  assert.equal((await serverLog(server.url, 'token-x')).length, 0, 'nothing written without a valid token');

  const wrong = await nodeDevice(t, 'wrong-token');
  await wrong.call('workload', { seed: 1, events: 5, streams: 1, prefix: 'X' });
  wrong.device.startSync({ url: server.url, token: 'not-a-token', live: false });
  const refused = await wrong.call('tryFlush');
  assert.deepEqual([refused.name, refused.code], ['SyncError', 'unauthorized']);
  assert.equal((await wrong.call('state')).pending, 5, 'nothing lost: still pending');

  // Tenants: x's events never reach y, and y's token reads none of x's.
  const x = await nodeDevice(t, 'x');
  const y = await nodeDevice(t, 'y');
  await x.call('workload', { seed: 2, events: 10, streams: 2, prefix: 'X' });
  x.device.startSync({ url: server.url, token: 'token-x', live: false });
  y.device.startSync({ url: server.url, token: 'token-y', live: false });
  await x.call('flush');
  await y.call('flush');
  assert.equal((await y.call('dump', [])).all.length, 0);
  assert.equal((await serverLog(server.url, 'token-y')).length, 0);
  assert.equal((await serverLog(server.url, 'token-x')).length, 10);

  // Over the limit: 413 with the limits, nothing written.
  const big = { appends: [{ stream: 'S', expectedVersion: 'any', recordedAt: 1, events: [{ id: crypto.randomUUID(), type: 'T', data: 'x'.repeat(70 * 1024) }] }] };
  const tooLarge = await push('token-x', big);
  assert.equal(tooLarge.status, 413);
  const body = await tooLarge.json();
  assert.equal(body.error, 'too_large');
  assert.equal(body.limits.maxBodyBytes, limits.maxBodyBytes);
  assert.equal((await serverLog(server.url, 'token-x')).length, 10, 'nothing written');

  // A device with more than one push's worth splits its pushes and syncs everything.
  const proxy = await startProxy(server.url);
  t.after(() => proxy.stop());
  const heavy = await nodeDevice(t, 'heavy');
  for (let i = 0; i < 300; i++) {
    await heavy.device.store.append(`Heavy-${i % 7}`, [{ type: 'Big', data: { i, pad: 'p'.repeat(900) } }]);
  }
  heavy.device.startSync({ url: proxy.url, token: 'token-x', live: false });
  await heavy.call('flush');
  assert.equal((await heavy.call('state')).pending, 0);
  assert.deepEqual(await heavy.call('drainConflicts'), []);
  assert.equal((await serverLog(server.url, 'token-x')).length, 10 + 300);
  assert.ok(proxy.counts.push >= 6, `300 appends of ~1 KB under 64 KiB and 50 appends per push: ${proxy.counts.push} pushes`);
});

test('a closed sync leaves no request, stream or timer behind: Node exits by itself', { timeout: 60_000 }, async (t) => {
  const server = await startServer({ databaseUrl: pg.url, tokens: { 'token-exit': 'exit' } });
  t.after(() => server.stop());
  const script = `
    const { openStore } = await import(${JSON.stringify(path.join(ROOT, 'demo/node_modules/annals/dist/node.js'))});
    const store = await openStore({ storage: 'memory' });
    const sync = store.sync({ url: ${JSON.stringify(server.url)}, token: 'token-exit' });
    await store.append('S', { type: 'T', data: 1 });
    await sync.flush();
    await sync.close();
    await store.close();
    console.log('closed');
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.signal, null, `Node had to be killed: something was left running\n${run.stderr}`);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /closed/);
});
