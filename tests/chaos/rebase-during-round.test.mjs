// Found by the chaos suites: an app that rebases each conflict as soon as it is yielded (the
// documented `for await (const c of sync.conflicts()) await c.resolve('rebase')`) must not keep
// a round pushing forever. The rebase is a new pending append expecting the stream's version as
// the device sees it; while the round has not pulled yet, that version is stale, the server
// refuses it again, and it is rebased again: a round that pushed what was appended during it
// never reached its pull: two conflicts rebased in turn kept it pushing forever, each rebase
// refused (its version stale) while the other was rebased.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres, startServer } from '../support/server.mjs';
import { startProxy } from '../support/proxy.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { openStore } = await import(path.join(ROOT, 'pkg-js/dist/node.js'));

test('a conflict rebased while its round runs is pushed by a later round: the round ends', { timeout: 120_000 }, async (t) => {
  const pg = await startPostgres({ settings: { fsync: 'off' } });
  const server = await startServer({ databaseUrl: pg.url, tokens: { a: 'rebase', b: 'rebase' } });
  const proxy = await startProxy(server.url);
  const a = await openStore({ storage: 'memory' });
  const b = await openStore({ storage: 'memory' });
  t.after(async () => {
    await a.close();
    await b.close();
    await proxy.stop();
    await server.stop();
    await pg.stop();
  });

  await a.append('Cart-1', { type: 'Opened', data: { by: 'a' } });
  await a.append('Cart-2', { type: 'Opened', data: { by: 'a' } });
  const syncA = a.sync({ url: server.url, token: 'a', live: false });
  await syncA.flush();
  // Two refusals in two pushes (a first push holds at most 100 appends), so that each
  // conflict's rebase lands while the next push is under way.
  await b.append('Cart-1', { type: 'Opened', data: { by: 'b' } }, { expectedVersion: 'no_stream' });
  for (let i = 0; i < 149; i++) await b.append(`Other-${i}`, { type: 'Noted', data: { i } });
  await b.append('Cart-2', { type: 'Opened', data: { by: 'b' } }, { expectedVersion: 'no_stream' });
  const syncB = b.sync({ url: proxy.url, token: 'b', live: false });
  let rebased = 0;
  const resolving = (async () => {
    for await (const c of syncB.conflicts()) {
      await c.resolve('rebase');
      rebased += 1;
    }
  })();

  // Each flush must end; one that keeps pushing is stopped at 200 pushes and fails.
  const runaway = () =>
    new Promise((resolve) => {
      const timer = setInterval(() => {
        if (proxy.counts.push > 200) {
          clearInterval(timer);
          resolve('runaway');
        }
      }, 5);
      runaway.stop = () => clearInterval(timer);
    });
  let flushes = 0;
  for (; flushes < 10; flushes++) {

    const outcome = await Promise.race([syncB.flush().then(() => 'ended'), runaway()]);
    runaway.stop();
    assert.equal(outcome, 'ended', `flush ${flushes + 1} kept pushing (${proxy.counts.push} pushes, ${rebased} rebases)`);
    await new Promise((r) => setTimeout(r, 100)); // the rebase task takes the conflict
    if (syncB.state.pending === 0 && rebased >= 2) break;
  }
  assert.ok(rebased >= 2, 'the refused appends were rebased');
  assert.equal(syncB.state.pending, 0, `all pushed after ${flushes + 1} flushes`);
  for (const stream of ['Cart-1', 'Cart-2']) {
    const events = await b.readStream(stream).toArray();
    assert.deepEqual(events.map((e) => [e.data.by, e.version, e.serverPosition !== null]), [['a', 1, true], ['b', 2, true]], stream);
  }
  await syncB.close();
  await syncA.close();
  void resolving; // the conflicts of a store are iterated until the store closes
});
