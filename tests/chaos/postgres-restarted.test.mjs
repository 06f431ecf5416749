// PostgreSQL restarted (`pg_ctl restart -m immediate`: stopped as by a crash) in the middle of
// pushes and pulls, again and again, under two annals-server processes that stay up. Four Node
// devices (memory stores of the built package), two on each server, append continuously to
// shared and own streams with mixed expected versions and sync live through proxies that record
// what they heard of their pushes.
//
// After each restart: every event heard acknowledged is in PostgreSQL; both servers' notices
// are live again (a push through one server is announced by the other, which learns of it only
// through its own LISTEN connection: the marker pushes go to a tenant of their own that no
// device uses). At the end: every appended event in PostgreSQL exactly once, all converged.
//
// CHAOS_PG_RESTARTS (default 5) sets the number of restarts.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildServer, startPostgres, startServer } from '../support/server.mjs';
import { startProxy } from '../support/proxy.mjs';
import { fmt, writeReliabilityRow } from '../support/reliability.mjs';
import { ChaosClient, settle } from './support/client.mjs';
import { PushLedger, checkAcknowledged, checkEnd } from './support/ledger.mjs';
import { NoticeWatcher } from './support/notices.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { openStore } = await import(path.join(ROOT, 'pkg-js/dist/node.js'));

const RESTARTS = Number(process.env.CHAOS_PG_RESTARTS ?? 5);
const CLIENTS = 4;
const TENANT = 'chaos-pg';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Pushes one event to the marker tenant through `server` until it is accepted; its head. */
async function pushMarker(server, n) {
  const body = JSON.stringify({ appends: [{ stream: 'Marker', expectedVersion: 'any', recordedAt: Date.now(), events: [{ id: crypto.randomUUID(), type: 'Marked', data: { n } }] }] });
  let tries = 0;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; tries++) {
    try {
      const reply = await fetch(`${server.url}/v1/push`, { method: 'POST', headers: { authorization: 'Bearer marker', 'content-type': 'application/json' }, body });
      const json = await reply.json();
      if (reply.status === 200) return { head: json.head, tries };
      assert.ok(reply.status >= 500 && json.error === 'server', `marker push: HTTP ${reply.status} ${JSON.stringify(json)}`);
    } catch (e) {
      if (!(e instanceof TypeError)) throw e; // fetch failed: the server is reachable, though
    }
    await sleep(100);
  }
  throw new Error('the server did not accept a push within 60 s of a PostgreSQL restart');
}

test(`PostgreSQL restarted ${RESTARTS} times (immediate) in the middle of pushes and pulls: servers reconnect, notices resume, nothing lost or twice, all converge`, { timeout: 900_000 }, async (t) => {
  buildServer({ release: true });
  // PostgreSQL's default durable settings (fsync on): this test is about what a crashed
  // PostgreSQL keeps.
  const pg = await startPostgres();
  const tokens = { marker: 'chaos-marker', ...Object.fromEntries(Array.from({ length: CLIENTS }, (_, i) => [`token-${i}`, TENANT])) };
  const servers = [await startServer({ databaseUrl: pg.url, tokens, release: true }), await startServer({ databaseUrl: pg.url, tokens, release: true })];
  const ledger = new PushLedger();
  const proxies = [];
  const clients = [];
  const watchers = servers.map((s) => new NoticeWatcher(s.url, 'marker'));
  t.after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    for (const w of watchers) await w.close();
    for (const p of proxies) await p.stop();
    for (const s of servers) await s.stop();
    await pg.stop();
  });
  for (let i = 0; i < CLIENTS; i++) {
    const proxy = await startProxy(servers[i % 2].url, { onPush: ledger.observe });
    proxies.push(proxy);
    const c = await ChaosClient.open(openStore, { label: `device-${i}`, seed: 5000 + i });
    clients.push(c);
    c.proxy = proxy; // for diagnostics
    c.startSync({ url: proxy.url, token: `token-${i}` });
  }
  for (const c of clients) c.startAppending();
  // Both notice streams open before the first restart.
  for (const w of watchers) await w.waitFor(0, 30_000);

  let markers = 0;
  let checked = 0;
  let inFlightAtRestarts = { push: 0, pull: 0 };
  let markerRetries = 0;
  let reconnected = 0;
  for (let restart = 1; restart <= RESTARTS; restart++) {
    await sleep(1000 + Math.random() * 1500);
    // In the middle of pushes and pulls: wait (a while) for both to be under way at once.
    const inFlight = (kind) => proxies.reduce((n, p) => n + p.inFlight[kind], 0);
    const deadline = Date.now() + 5_000;
    while (!(inFlight('push') > 0 && inFlight('pull') > 0) && Date.now() < deadline) await sleep(1);
    const under = { push: inFlight('push'), pull: inFlight('pull') };
    assert.ok(under.push + under.pull > 0, `restart ${restart}: requests in flight`);
    inFlightAtRestarts = { push: inFlightAtRestarts.push + under.push, pull: inFlightAtRestarts.pull + under.pull };
    await pg.restart({ mode: 'immediate' });

    const { heard, inPostgres } = await checkAcknowledged(pg, TENANT, ledger, clients, `restart ${restart}`);
    checked += heard;
    // Notices live again on both servers: each announces a push made through the other. The
    // first may come from the listener's catch-up on reconnecting; the second, made once the
    // listener is back, only from NOTIFY.
    for (const [from, to] of [[0, 1], [1, 0]]) {
      for (let round = 0; round < 2; round++) {
        const reopened = watchers[to].reopened;
        const { head, tries } = await pushMarker(servers[from], (markers += 1));
        markerRetries += tries;
        await watchers[to].waitFor(head, 30_000);
        if (round === 1) assert.equal(watchers[to].reopened, reopened, `restart ${restart}: the notice stream of server ${to} stayed open`);
      }
    }
    reconnected += 1; // both servers took pushes and announced each other's: pool and LISTEN back
    t.diagnostic(`restart ${restart}: ${under.push} pushes and ${under.pull} pulls in flight; ${heard} events heard acknowledged, all among ${inPostgres} in PostgreSQL; notices live on both servers`);
  }
  await sleep(1000);
  for (const c of clients) await c.stopAppending();
  const rounds = await settle(clients);
  const end = await checkEnd(pg, TENANT, clients, ledger);
  assert.equal(end.lost, 0);
  assert.equal(end.duplicated, 0);
  const reopened = watchers.reduce((n, w) => n + w.reopened, 0);

  t.diagnostic(`${end.onServer} events on the server from ${end.appended} appended; pushes: ${ledger.counts.answered} answered, ${ledger.counts.noAnswer} unanswered, ${ledger.counts.serverError} 5xx; ${end.unheard} unheard events; ${end.conflicts} conflicts rebased; marker pushes retried ${markerRetries} times; notice streams reopened ${reopened} times; settled in ${rounds} rounds`);
  writeReliabilityRow('chaos-postgres-restarted', {
    order: 41,
    what: `Sync, PostgreSQL restarted: \`pg_ctl restart -m immediate\` in the middle of pushes and pulls (${CLIENTS} Node devices on 2 annals-server processes, appending continuously to shared and own streams with mixed expected versions, live sync through proxies); after each restart every event heard acknowledged looked up in PostgreSQL, and live notices checked on both servers (a push through one announced by the other through its own LISTEN); at the end every appended event in PostgreSQL exactly once and every device equal to the server`,
    tried: `${fmt(RESTARTS)} restarts (${fmt(inFlightAtRestarts.push)} pushes and ${fmt(inFlightAtRestarts.pull)} pulls in flight at the restarts), ${fmt(ledger.counts.answered)} pushes answered, ${fmt(ledger.retried)} retried (${fmt(ledger.counts.serverError)} answered 5xx, ${fmt(ledger.counts.noAnswer)} unanswered; ${fmt(end.unheard)} unheard events), ${fmt(checked)} acknowledged-event checks at the restarts, ${fmt(markers)} notices checked across servers, ${fmt(end.conflicts)} conflicts (${fmt(end.conflictEvents)} events) rebased; ${fmt(end.onServer)} events on the server`,
    result: `0 lost, 0 duplicated; ${end.converged} / ${CLIENTS} devices converged; both servers reconnected by themselves after ${reconnected} / ${RESTARTS} restarts`,
  });
});
