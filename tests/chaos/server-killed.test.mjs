// annals-server SIGKILLed in the middle of pushes, again and again, and restarted on the same
// port. Four Node devices (memory stores of the built package) append continuously to shared
// streams and to streams of their own, with mixed expected versions, each syncing live through
// a proxy that records what it heard of its pushes.
//
// "Heard acknowledged": the events of an append answered `accepted` in a push reply the device
// received in full (seen by its proxy), and every event a device holds with a serverPosition.
// After each kill, each of those is looked up in PostgreSQL by id. The pushes that got no
// answer are retried by the devices; at the end every event any device appended is in
// PostgreSQL exactly once (conflicts are rebased by the app), and all devices converge.
//
// CHAOS_KILLS (default 20) sets the number of kills. CHAOS_DEBUG=1 prints what the devices do
// while they settle (and a flush still waiting, every 10 s).
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildServer, startPostgres, startServer } from '../support/server.mjs';
import { startProxy } from '../support/proxy.mjs';
import { fmt, writeReliabilityRow } from '../support/reliability.mjs';
import { ChaosClient, settle } from './support/client.mjs';
import { PushLedger, checkAcknowledged, checkEnd, eventIdsInPostgres } from './support/ledger.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { openStore } = await import(path.join(ROOT, 'pkg-js/dist/node.js'));

const KILLS = Number(process.env.CHAOS_KILLS ?? 20);
const CLIENTS = 4;
const TENANT = 'chaos-kill';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test(`annals-server SIGKILLed ${KILLS} times in the middle of pushes: nothing heard acknowledged is lost, nothing twice, all converge`, { timeout: 900_000 }, async (t) => {
  buildServer({ release: true });
  const pg = await startPostgres({ settings: { fsync: 'off' } });
  const tokens = Object.fromEntries(Array.from({ length: CLIENTS }, (_, i) => [`token-${i}`, TENANT]));
  let server = await startServer({ databaseUrl: pg.url, tokens, release: true });
  const port = Number(new URL(server.url).port);
  const ledger = new PushLedger();
  const proxies = [];
  const clients = [];
  // Devices first, then their proxies, the server, and PostgreSQL last.
  t.after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    for (const p of proxies) await p.stop();
    await server.stop();
    await pg.stop();
  });
  for (let i = 0; i < CLIENTS; i++) {
    const proxy = await startProxy(server.url, { onPush: ledger.observe });
    proxies.push(proxy);
    const c = await ChaosClient.open(openStore, { label: `device-${i}`, seed: 4000 + i });
    clients.push(c);
    c.proxy = proxy; // for diagnostics
    c.startSync({ url: proxy.url, token: `token-${i}` });
  }
  for (const c of clients) c.startAppending();

  let inFlightAtKills = 0;
  let killsWithPushInFlight = 0;
  let checkedAtKills = 0;
  let unheardCommitted = 0;
  for (let kill = 1; kill <= KILLS; kill++) {
    await sleep(400 + Math.random() * 800);
    // In the middle of pushes: at least one forwarded to the server and not answered yet.
    const deadline = Date.now() + 10_000;
    const inFlight = () => proxies.reduce((n, p) => n + p.inFlight.push, 0);
    while (inFlight() === 0 && Date.now() < deadline) await sleep(1);
    const pushes = inFlight();
    inFlightAtKills += pushes;
    if (pushes > 0) killsWithPushInFlight += 1;
    await server.kill();
    await sleep(50); // the proxies settle the exchanges the kill broke

    // Every event heard acknowledged is in PostgreSQL, once. Of the events whose pushes the
    // kill left unanswered, some had committed (the answer was lost) and some had not.
    const { heard, inPostgres } = await checkAcknowledged(pg, TENANT, ledger, clients, `kill ${kill}`);
    checkedAtKills += heard;
    const inPg = await eventIdsInPostgres(pg, TENANT);
    const broken = ledger.takeUnheard();
    const committed = broken.filter((id) => inPg.has(id)).length;
    unheardCommitted += committed;
    t.diagnostic(`kill ${kill}: ${pushes} pushes in flight; ${heard} events heard acknowledged, all among ${inPostgres} in PostgreSQL; ${broken.length} events unheard, ${committed} of them committed`);

    server = await startServer({ databaseUrl: pg.url, tokens, port, release: true });
  }
  await sleep(1000);
  for (const c of clients) await c.stopAppending();
  const rounds = await settle(clients);
  const end = await checkEnd(pg, TENANT, clients, ledger);
  assert.equal(end.lost, 0);
  assert.equal(end.duplicated, 0);
  assert.equal(killsWithPushInFlight, KILLS, 'every kill came with pushes in flight');

  t.diagnostic(`${end.onServer} events on the server from ${end.appended} appended; pushes: ${ledger.counts.answered} answered, ${ledger.counts.noAnswer} unanswered, ${ledger.counts.serverError} 5xx; ${end.unheard} unheard events (${unheardCommitted} had committed); ${end.conflicts} conflicts rebased; settled in ${rounds} rounds`);
  writeReliabilityRow('chaos-server-killed', {
    order: 40,
    what: `Sync, server killed: annals-server SIGKILLed in the middle of pushes (${CLIENTS} Node devices appending continuously to shared and own streams, mixed expected versions, live sync through proxies) and restarted on the same port; after each kill every event heard acknowledged (accepted in a push reply the device received, or holding a serverPosition) looked up in PostgreSQL by id; at the end every appended event in PostgreSQL exactly once and every device equal to the server`,
    tried: `${fmt(KILLS)} kills (${fmt(inFlightAtKills)} pushes in flight at the kills), ${fmt(ledger.counts.answered)} pushes answered, ${fmt(ledger.retried)} retried (${fmt(end.unheard)} unheard events, ${fmt(unheardCommitted)} of them already committed), ${fmt(checkedAtKills)} acknowledged-event checks at the kills, ${fmt(end.conflicts)} conflicts (${fmt(end.conflictEvents)} events) rebased; ${fmt(end.onServer)} events on the server`,
    result: `0 lost, 0 duplicated; ${end.converged} / ${CLIENTS} devices converged`,
  });
});
