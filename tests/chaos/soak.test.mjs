// The soak: 16 Node devices (memory stores of the built package, each in a worker thread of its
// own) over 2 annals-server processes on one PostgreSQL, appending continuously to shared and
// own streams with mixed expected versions, live sync through proxies that take them offline
// at random. At the end: every appended event in PostgreSQL exactly once, every device equal to
// the server. Every 10 s each server's RSS (/proc/<pid>/status VmRSS) and each device's JS heap
// (after a full GC, in its worker) are sampled; the row gives start → end and the least-squares
// slope over the second half, in KiB/min. No assertion on those figures: they are reported.
//
// SOAK_SECONDS (default 600) sets the duration; SOAK_CLIENTS (default 16) the devices.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildServer, startPostgres, startServer } from '../support/server.mjs';
import { startProxy } from '../support/proxy.mjs';
import { fmt, writeReliabilityRow } from '../support/reliability.mjs';
import { PushLedger, checkEnd } from './support/ledger.mjs';
import { mulberry32 } from '../e2e/pages/shared.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 16);
const SAMPLE_MS = 10_000;
const TENANT = 'soak';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A device in a worker thread: `call(op, args)` → its result. */
function startDevice(appended) {
  const worker = new Worker(new URL('./support/soak-worker.mjs', import.meta.url), {
    workerData: { package: path.join(ROOT, 'pkg-js/dist/node.js') },
  });
  const calls = new Map();
  let next = 0;
  const ready = new Promise((resolve, reject) => {
    worker.on('message', (m) => {
      if (m.ready) return resolve();
      if (m.appended) return appended.push(...m.appended);
      const call = calls.get(m.id);
      calls.delete(m.id);
      if (m.error !== undefined) call.reject(new Error(m.error));
      else call.resolve(m.result);
    });
    worker.on('error', reject);
  });
  const call = (op, args) =>
    new Promise((resolve, reject) => {
      const id = next++;
      calls.set(id, { resolve, reject });
      worker.postMessage({ id, op, args });
    });
  return { worker, ready, call };
}

/** Kilobytes of `pid`'s resident memory (VmRSS). */
function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

/** The least-squares slope of `samples` ([minutes, KiB]). */
function slope(samples) {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((s, [x]) => s + x, 0) / n;
  const my = samples.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of samples) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** How many file descriptors `pid` has open (its connections among them). */
const openFiles = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;

const mib = (kib) => (kib / 1024).toFixed(1);
const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;

test(`soak: ${CLIENTS} devices over 2 servers for ${SECONDS} s with offline spells: nothing lost or twice, all converge; memory sampled`, { timeout: (SECONDS + 900) * 1000 }, async (t) => {
  buildServer({ release: true });
  const pg = await startPostgres({ settings: { fsync: 'off' } });
  const tokens = Object.fromEntries(Array.from({ length: CLIENTS }, (_, i) => [`token-${i}`, TENANT]));
  const servers = [await startServer({ databaseUrl: pg.url, tokens, release: true }), await startServer({ databaseUrl: pg.url, tokens, release: true })];
  const ledger = new PushLedger();
  const proxies = [];
  const devices = [];
  t.after(async () => {
    for (const d of devices) await d.worker.terminate();
    for (const p of proxies) await p.stop();
    for (const s of servers) await s.stop();
    await pg.stop();
  });
  const appended = [];
  for (let i = 0; i < CLIENTS; i++) {
    const proxy = await startProxy(servers[i % 2].url, { onPush: ledger.observe });
    proxies.push(proxy);
    const d = startDevice(appended);
    devices.push(d);
    await d.ready;
    await d.call('start', { label: `device-${i}`, seed: 7000 + i, url: proxy.url, token: `token-${i}`, pause: [150, 600] });
  }

  // Offline spells: each second, a device online goes offline with probability 1/40, for
  // 2 to 15 s.
  const random = mulberry32(77);
  const offlineUntil = new Array(CLIENTS).fill(0);
  let spells = 0;
  const serverSamples = servers.map(() => []);
  const heapSamples = devices.map(() => []);
  const fileSamples = servers.map(() => []);
  const started = Date.now();
  const minutes = () => (Date.now() - started) / 60_000;
  let nextSample = 0;
  while (Date.now() - started < SECONDS * 1000) {
    const now = Date.now();
    for (let i = 0; i < CLIENTS; i++) {
      if (offlineUntil[i] !== 0 && now >= offlineUntil[i]) {
        proxies[i].online = true;
        offlineUntil[i] = 0;
      } else if (offlineUntil[i] === 0 && random() < 1 / 40) {
        proxies[i].online = false;
        offlineUntil[i] = now + 2000 + random() * 13_000;
        spells += 1;
      }
    }
    if (now - started >= nextSample) {
      nextSample += SAMPLE_MS;
      const at = minutes();
      servers.forEach((s, i) => serverSamples[i].push([at, rssKiB(s.pid)]));
      servers.forEach((s, i) => fileSamples[i].push(openFiles(s.pid)));
      const heaps = await Promise.all(devices.map((d) => d.call('heap')));
      heaps.forEach((bytes, i) => heapSamples[i].push([at, bytes / 1024]));
      t.diagnostic(`${(at * 60).toFixed(0)} s: ${appended.length} events appended; server RSS ${serverSamples.map((s) => mib(s.at(-1)[1])).join(' / ')} MiB, open files ${servers.map((s) => openFiles(s.pid)).join(' / ')}; device heaps ${mib(Math.min(...heaps) / 1024)}–${mib(Math.max(...heaps) / 1024)} MiB; offline now ${offlineUntil.filter((u) => u !== 0).length}`);
    }
    await sleep(1000);
  }
  for (let i = 0; i < CLIENTS; i++) proxies[i].online = true;
  await Promise.all(devices.map((d) => d.call('stopAppending')));

  // Settle: flush every device until none has anything pending and no conflict came meanwhile.
  let rounds = 0;
  for (; rounds < 60; rounds++) {
    const states = [];
    for (const d of devices) states.push(await d.call('flush'));
    await sleep(300);
    const again = [];
    for (const d of devices) again.push(await d.call('flush'));
    const quiet = again.every((s, i) => s.ok && s.pending === 0 && s.conflicts === states[i].conflicts);
    if (quiet) break;
  }
  for (const d of devices) await d.call('flush');

  const reports = [];
  for (const d of devices) reports.push(await d.call('report'));
  const clients = reports.map((r, i) => ({
    label: r.label,
    appended: i === 0 ? appended : [],
    discarded: r.discarded,
    resolveErrors: r.resolveErrors,
    conflicts: r.conflicts,
    conflictEvents: r.conflictEvents,
    events: async () => r.events,
  }));
  const end = await checkEnd(pg, TENANT, clients, ledger);
  assert.equal(end.lost, 0);
  assert.equal(end.duplicated, 0);
  for (const d of devices) await d.call('close');

  // Memory: start → end, and the slope over the second half (after warm-up).
  const half = (samples) => samples.filter(([at]) => at >= SECONDS / 120);
  const serverFigures = serverSamples.map((s) => ({ start: s[0][1], end: s.at(-1)[1], slope: slope(half(s)) }));
  const heapFigures = heapSamples.map((s) => ({ start: s[0][1], end: s.at(-1)[1], slope: slope(half(s)) }));
  const range = (xs, f) => `${f(Math.min(...xs))} to ${f(Math.max(...xs))}`;
  const serverText = serverFigures
    .map((f, i) => `server ${i + 1} RSS ${mib(f.start)} → ${mib(f.end)} MiB (${signed(f.slope)} KiB/min), open files ${fileSamples[i][0]} → ${fileSamples[i].at(-1)}`)
    .join(', ');
  const heapText = `device heaps ${range(heapFigures.map((f) => f.start), mib)} → ${range(heapFigures.map((f) => f.end), mib)} MiB (slopes ${range(heapFigures.map((f) => f.slope), signed)} KiB/min)`;
  t.diagnostic(`${end.onServer} events on the server; ${spells} offline spells; ${end.conflicts} conflicts rebased; settled in ${rounds + 1} rounds`);
  t.diagnostic(serverText);
  t.diagnostic(heapText);
  writeReliabilityRow('chaos-soak', {
    order: 60,
    what: `Soak: ${CLIENTS} Node devices (memory stores, each in a worker thread) over 2 annals-server processes on one PostgreSQL, appending continuously to shared and own streams with mixed expected versions, live sync, random offline spells (their proxy refusing connections for 2–15 s); at the end every appended event in PostgreSQL exactly once and every device equal to the server; each server's RSS and each device's JS heap (after a full GC) sampled every 10 s, slope by least squares over the second half`,
    tried: `${fmt(SECONDS)} s, ${CLIENTS} devices, ${fmt(end.appended)} events appended, ${fmt(spells)} offline spells, ${fmt(ledger.counts.answered)} pushes answered, ${fmt(ledger.retried)} retried, ${fmt(end.conflicts)} conflicts rebased; ${serverText}; ${heapText}`,
    result: `0 lost, 0 duplicated; ${end.converged} / ${CLIENTS} devices converged; ${fmt(end.onServer)} events on the server`,
  });
});
