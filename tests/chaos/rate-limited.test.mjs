// The per-token rate limit end to end: the real annals-server with a low limit, a device syncing
// live through a proxy that sees every request and answer. The server answers 429 with
// `retryAfterMs`; the device's next push or pull comes no sooner than that wait; nothing is lost or written twice; and
// a second token of the same tenant is served meanwhile.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres, startServer } from '../support/server.mjs';
import { startProxy } from '../support/proxy.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { openStore } = await import(path.join(ROOT, 'pkg-js/dist/node.js'));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('a device over its token rate limit gets 429, waits what the server asks, and syncs everything once', { timeout: 180_000 }, async (t) => {
  const pg = await startPostgres({ settings: { fsync: 'off' } });
  // One request a second, bursts of 2: a round is a push and a pull, and the appends below
  // start a round every 100 ms, far more than the limit allows.
  const server = await startServer({ databaseUrl: pg.url, tokens: { busy: 'shop', other: 'shop' }, rateLimit: '1,2' });
  const answers = [];
  const proxy = await startProxy(server.url, { onAnswer: (answer) => answers.push({ ...answer, at: performance.now() }) });
  const store = await openStore({ storage: 'memory' });
  t.after(async () => {
    await store.close();
    await proxy.stop();
    await server.stop();
    await pg.stop();
  });

  const sync = store.sync({ url: proxy.url, token: 'busy' });
  const ids = [];
  for (let i = 0; i < 30; i++) {
    const id = crypto.randomUUID();
    await store.append(`Cart-${i % 3}`, { id, type: 'ItemAdded', data: { i } });
    ids.push(id);
    await sleep(100); // the round it starts ends before the next append
  }

  // While the busy token waits, another token of the same tenant is served at once.
  const other = await fetch(`${server.url}/v1/pull?after=0&limit=1`, { headers: { authorization: 'Bearer other' } });
  assert.equal(other.status, 200, 'a second token has its own bucket');

  for (let waited = 0; sync.state.pending > 0 && waited < 60_000; waited += 100) await sleep(100);
  assert.equal(sync.state.pending, 0, 'every append pushed once the limit allowed');

  const rounds = answers.filter((a) => a.kind !== 'notices');
  const refused = rounds.filter((a) => a.status === 429);
  assert.ok(refused.length > 0, `the server refused some requests (${rounds.length} pushes and pulls answered)`);
  let waitsChecked = 0;
  for (const r of refused) {
    assert.equal(r.body.error, 'rate_limited');
    assert.ok(Number.isInteger(r.body.retryAfterMs) && r.body.retryAfterMs > 0, `retryAfterMs: ${r.body.retryAfterMs}`);
    // The device's next push or pull left no sooner than the wait asked for, counted from when
    // the 429 reached it.
    const next = rounds.find((a) => a.sentAt > r.at);
    if (!next) continue;
    assert.ok(next.sentAt - r.at >= r.body.retryAfterMs - 2, `next ${next.kind} ${Math.round(next.sentAt - r.at)} ms after a 429 asking ${r.body.retryAfterMs} ms`);
    waitsChecked += 1;
  }
  assert.ok(waitsChecked > 0, 'a request followed a 429');
  t.diagnostic(`${rounds.length} pushes and pulls answered, ${refused.length} of them 429; ${waitsChecked} waits checked`);

  const rows = await pg.query(`SELECT e.id, count(*) FROM events e JOIN tenants t ON t.id = e.tenant WHERE t.name = 'shop' GROUP BY e.id`);
  assert.equal(rows.length, ids.length, 'every appended event is on the server');
  assert.deepEqual(new Set(rows.map(([id]) => id)), new Set(ids));
  assert.ok(rows.every(([, n]) => n === '1'), 'none twice');
  const local = await store.readAll().toArray();
  assert.ok(local.every((e) => e.serverPosition !== null), 'every local event confirmed');
  await sync.close();
});
