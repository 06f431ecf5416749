// Sync crash test: a Chromium device on one persistent profile syncs with annals-server (on a
// private PostgreSQL) and is killed with SIGKILL (every process of it), KILLS times in the
// middle of a pull and KILLS times in the middle of a push, alternately, once with IndexedDB on
// LevelDB (Chromium's default) and once on SQLite.
//   - pull rounds: another device pushes PULL_EVENTS events to the server; the device starts
//     its live sync and is killed a random short time after its first pull page is applied;
//   - push rounds: the device appends PUSH_EVENTS events offline (each acknowledged to this
//     process once resolved), starts its live sync and is killed a random short time after
//     its first push request left.
// After every restart, before syncing again:
//   - no half-applied pull: the events holding a serverPosition are exactly the server's
//     1..cursor (same ids, streams, versions), no gap, and the cursor stored is that;
//   - in each stream the confirmed events come first, at the server's versions, then the
//     pending ones; local positions 1..n, no gap; event ids distinct; no conflict;
//   - the pending count (head − cursor − removed) and the outbox both equal the events without
//     serverPosition;
//   - every acknowledged append is there (nothing acknowledged locally lost);
//   - `store.recovery` is set exactly when Chromium deleted the database (docs/sync.md, "A
//     database that vanished"); Chromium's deletions are counted, with the pending events
//     they cost.
// After the last kill: the device syncs until nothing is pending and it has the server's head;
// every stream equals the server's, each event id is once on the server, and every
// acknowledged event is on the server (unless Chromium deleted it before it was pushed).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from './pages/shared.mjs';
import { ensureDemoInstalled, launchContext, startServer as startStatic, tempDir, withTimeout } from './helpers.mjs';
import { BACKENDS, CHROMIUM_DELETED_DATABASE, chromiumLog, killChromium, waitGone } from './kill.mjs';
import { pushEvents, serverLog } from './server-log.mjs';
import { startPostgres, startServer } from '../support/server.mjs';
import { fmt, writeReliabilityRow } from '../support/reliability.mjs';
import fs from 'node:fs';

const KILLS = Number(process.env.ANNALS_SYNC_CRASH_KILLS ?? 20); // of each kind, per backend
const PULL_EVENTS = 2500; // pushed by another device before each pull round (pages of 1,000)
const PUSH_EVENTS = 1000; // appended offline before each push round (two pushes or more)
const MAX_KILL_DELAY_MS = { pull: 120, push: 80 }; // after the first page applied / push sent
const SEED = Number(process.env.ANNALS_CRASH_SEED ?? Date.now() % 2 ** 31);
const TOKEN = 'token-sync-crash';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

ensureDemoInstalled();
const pg = await startPostgres({ settings: { fsync: 'off' } });
test.after(() => pg.stop());

/**
 * Checks what the device holds after a restart (`state`: events as [id, stream, version,
 * position, serverPosition], the stored cursor, pending count, outbox and conflicts) against
 * the server's `log` and the acknowledged ids. Returns figures; throws on the first violation.
 */
function check(state, log, acked, label) {
  const { all, cursor } = state;
  assert.deepEqual(all.map((e) => e[3]), all.map((_, i) => i + 1), `${label}: local positions 1..n, no gap`);
  assert.equal(new Set(all.map((e) => e[0])).size, all.length, `${label}: event ids distinct`);
  assert.ok(cursor <= log.length, `${label}: cursor ${cursor} within the server's log (${log.length})`);

  // No half-applied pull: the confirmed events are exactly the server's 1..cursor.
  const confirmed = all.filter((e) => e[4] !== null).sort((a, b) => a[4] - b[4]);
  const whole = confirmed.length === cursor && confirmed.every((e, i) => e[4] === i + 1 && log[i]?.id === e[0]);
  assert.deepEqual(confirmed.map((e) => e[4]), Array.from({ length: cursor }, (_, i) => i + 1), `${label}: server positions 1..cursor (${cursor}), no gap, none beyond`);
  for (const e of confirmed) {
    const s = log[e[4] - 1];
    assert.deepEqual([e[0], e[1], e[2]], [s.id, s.stream, s.version], `${label}: the event at server position ${e[4]} is the server's`);
  }
  // Per stream: the confirmed events first (versions 1..c), then the pending ones.
  const byStream = new Map();
  for (const e of all) {
    if (!byStream.has(e[1])) byStream.set(e[1], []);
    byStream.get(e[1]).push(e);
  }
  for (const [s, events] of byStream) {
    events.sort((a, b) => a[2] - b[2]);
    assert.deepEqual(events.map((e) => e[2]), events.map((_, i) => i + 1), `${label}: ${s} versions 1..n`);
    const firstPending = events.findIndex((e) => e[4] === null);
    if (firstPending >= 0) assert.ok(events.slice(firstPending).every((e) => e[4] === null), `${label}: ${s}: pending events after the confirmed ones`);
  }
  const pending = all.filter((e) => e[4] === null).length;
  assert.equal(state.pending, pending, `${label}: the stored pending count = events without serverPosition`);
  assert.equal(state.outboxEvents, pending, `${label}: the outbox holds exactly the events without serverPosition`);
  assert.equal(state.conflicts, 0, `${label}: no conflict (every append expects 'any')`);

  const here = new Set(all.map((e) => e[0]));
  const missing = [...acked].filter((id) => !here.has(id));
  assert.deepEqual(missing, [], `${label}: every acknowledged event is there`);
  return { events: all.length, confirmed: confirmed.length, pending, halfApplied: whole ? 0 : 1, lost: missing.length };
}

async function syncCrashRounds(t, backend) {
  const { name, args } = BACKENDS[backend];
  const statics = await startStatic();
  const tenant = `sync-crash-${backend}`;
  const server = await startServer({ databaseUrl: pg.url, tokens: { [TOKEN]: tenant }, allowOrigins: [new URL(statics.url).origin] });
  const profile = tempDir(`annals-e2e-sync-crash-${backend}-`);
  let context;
  t.after(async () => {
    killChromium(profile);
    await waitGone(profile, 10_000).catch(() => {});
    await context?.close().catch(() => {});
    await server.stop();
    await statics.close();
    fs.rmSync(profile, { recursive: true, force: true });
  });
  const seed = SEED + (backend === 'sqlite' ? 1 : 0);
  t.diagnostic(`${name}: seed ${seed} (ANNALS_CRASH_SEED=${SEED} repeats the kill delays)`);
  const rnd = mulberry32(seed);

  const figures = {
    backend,
    killsMidPull: 0,
    killsMidPush: 0,
    pullUnfinishedAtKill: 0,
    pushUnansweredAtKill: 0,
    pushUnconfirmedAtRestart: 0,
    restartsChecked: 0,
    eventsChecked: 0,
    eventsAcknowledged: 0,
    lost: 0,
    lostAtRestart: 0,
    halfApplied: 0,
    falseVanished: 0,
    chromiumDeletedDatabase: 0,
    vanishedReported: 0,
    pendingLostToChromiumDeletion: 0,
    serverEvents: 0,
    seed,
  };
  /** Ids acknowledged and still expected in the store (cleared when Chromium deletes it). */
  let acked = new Set();
  /** Every id acknowledged since the start, and those lost to Chromium's deletions. */
  const everAcked = new Set();
  const lostToChromium = new Set();
  let progress = { serverPosition: 0, pending: 0 };
  const rounds = 2 * KILLS;

  async function open(label) {
    context = await launchContext(profile, { args: ['--enable-logging', ...args] });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = [];
    page.on('pageerror', (err) => problems.push(`${label} pageerror: ${err.stack ?? err}`));
    await page.exposeFunction('annalsSyncCrashReport', (ids) => {
      for (const id of ids) {
        acked.add(id);
        everAcked.add(id);
      }
      figures.eventsAcknowledged += ids.length;
    });
    await page.exposeFunction('annalsSyncCrashProgress', (p) => {
      progress = p;
    });
    await page.goto(`${statics.url}e2e/sync-crash.html`, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 }).catch((err) => {
      throw new Error(`${label}: page not ready: ${err.message}\n${problems.join('\n')}`);
    });
    return { page, problems };
  }

  async function kill(label, closed) {
    const browsers = killChromium(profile);
    assert.equal(browsers.length, 1, `${label}: exactly one Chromium browser process on the profile (found ${browsers})`);
    await withTimeout(closed, 20_000, `${label}: Playwright notices the browser is gone`);
    await waitGone(profile, 10_000);
    await context.close().catch(() => {});
    context = undefined;
  }

  const started = Date.now();
  for (let round = 1; round <= rounds + 1; round++) {
    const kind = round > rounds ? 'final' : round % 2 === 1 ? 'pull' : 'push';
    const label = `${backend}, round ${round} (${kind})`;
    if (kind === 'pull') await pushEvents(server.url, TOKEN, PULL_EVENTS, 'Other');
    const { page, problems } = await open(label);
    const state = await withTimeout(page.evaluate(() => window.syncCrash.state()), 60_000, `${label}: state`);
    const recovery = await page.evaluate(() => window.syncCrash.recovery());
    let log = await serverLog(server.url, TOKEN);

    if (CHROMIUM_DELETED_DATABASE.test(chromiumLog(profile))) {
      figures.chromiumDeletedDatabase += 1;
      t.diagnostic(`${label}: Chromium deleted the IndexedDB database`);
      assert.equal(recovery?.kind, 'vanished', `${label}: the store reports that its database vanished`);
      figures.vanishedReported += 1;
      const onServer = new Set(log.map((e) => e.id));
      for (const id of acked) {
        if (!onServer.has(id)) {
          lostToChromium.add(id);
          figures.pendingLostToChromiumDeletion += 1;
        }
      }
      acked = new Set();
      assert.deepEqual(state.all, [], `${label}: the database Chromium made instead is empty`);
    } else if (recovery !== undefined) {
      figures.falseVanished += 1;
      assert.fail(`${label}: recovery reported though the database is the one it was: ${JSON.stringify(recovery)}`);
    }
    if (round > 1) {
      const c = check(state, log, acked, label);
      // After a push round's kill: were its events still unconfirmed (push or pull cut short)?
      if (round % 2 === 1 && c.pending > 0) figures.pushUnconfirmedAtRestart += 1;
      figures.restartsChecked += 1;
      figures.eventsChecked += c.events;
      figures.halfApplied += c.halfApplied;
      figures.lostAtRestart += c.lost;
    }

    if (kind === 'final') {
      await page.evaluate(({ url, token }) => window.syncCrash.startSync({ url, token }), { url: server.url, token: TOKEN });
      let synced;
      for (let i = 0; i < 10; i++) {
        synced = await withTimeout(page.evaluate(() => window.syncCrash.flush()), 120_000, `${label}: flush`);
        log = await serverLog(server.url, TOKEN);
        if (synced.pending === 0 && synced.serverPosition === log.length) break;
      }
      assert.equal(synced.pending, 0, `${label}: nothing pending after syncing`);
      const end = await page.evaluate(() => window.syncCrash.state());
      check(end, log, acked, `${label}, synced`);
      assert.equal(end.cursor, log.length, `${label}: the device has the server's head`);
      // Converged: every stream equals the server's.
      const mine = new Map(end.all.map((e) => [e[0], e]));
      for (const s of log) {
        const e = mine.get(s.id);
        assert.deepEqual(e && [e[1], e[2], e[4]], [s.stream, s.version, s.position], `${label}: event ${s.id} as on the server`);
      }
      assert.equal(end.all.length, log.length, `${label}: the device holds the server's events, no more`);
      assert.equal(new Set(log.map((e) => e.id)).size, log.length, `${label}: each event id once on the server`);
      const onServer = new Set(log.map((e) => e.id));
      const lost = [...everAcked].filter((id) => !onServer.has(id) && !lostToChromium.has(id));
      figures.lost = lost.length;
      assert.deepEqual(lost, [], `${label}: every acknowledged event is on the server`);
      figures.serverEvents = log.length;
      assert.deepEqual(problems, [], `${label}: page errors`);
      await context.close();
      context = undefined;
      break;
    }

    const closed = new Promise((resolve) => context.once('close', resolve));
    const delay = Math.floor(rnd() * MAX_KILL_DELAY_MS[kind]);
    if (kind === 'pull') {
      const from = state.cursor;
      progress = { serverPosition: from, pending: state.pending };
      await page.evaluate(({ url, token }) => window.syncCrash.startSync({ url, token }), { url: server.url, token: TOKEN });
      const deadline = Date.now() + 60_000;
      while (progress.serverPosition <= from) {
        if (Date.now() > deadline) throw new Error(`${label}: no pull page applied within 60 s\n${problems.join('\n')}`);
        await sleep(2);
      }
      await sleep(delay);
      if (progress.serverPosition < log.length) figures.pullUnfinishedAtKill += 1;
      await kill(label, closed);
      figures.killsMidPull += 1;
    } else {
      await withTimeout(page.evaluate((cfg) => window.syncCrash.append(cfg), { events: PUSH_EVENTS, streams: 6, prefix: 'Mine', round }), 120_000, `${label}: appends`);
      let sent = 0;
      let answered = 0;
      page.on('request', (r) => { if (r.url().includes('/v1/push')) sent += 1; });
      page.on('requestfinished', (r) => { if (r.url().includes('/v1/push')) answered += 1; });
      await page.evaluate(({ url, token }) => window.syncCrash.startSync({ url, token }), { url: server.url, token: TOKEN });
      const deadline = Date.now() + 60_000;
      while (sent === 0) {
        if (Date.now() > deadline) throw new Error(`${label}: no push within 60 s\n${problems.join('\n')}`);
        await sleep(2);
      }
      await sleep(delay);
      if (sent > answered) figures.pushUnansweredAtKill += 1;
      await kill(label, closed);
      figures.killsMidPush += 1;
    }
    assert.deepEqual(problems, [], `${label}: page errors before the kill`);
  }
  figures.elapsedMs = Date.now() - started;
  t.diagnostic(JSON.stringify(figures));
  assert.equal(figures.killsMidPull, KILLS);
  assert.equal(figures.killsMidPush, KILLS);
  assert.equal(figures.vanishedReported, figures.chromiumDeletedDatabase);
  if (backend === 'sqlite') assert.equal(figures.chromiumDeletedDatabase, 0, 'on SQLite, Chromium never deletes the database');
  return figures;
}

const results = {};
for (const backend of Object.keys(BACKENDS)) {
  test(`sync crash, ${BACKENDS[backend].name}: SIGKILL Chromium ${KILLS} times mid-pull and ${KILLS} times mid-push; consistent after each restart, converged at the end`, { timeout: 600_000 }, async (t) => {
    results[backend] = await syncCrashRounds(t, backend);
  });
}

test.after(() => {
  if (Object.keys(results).length !== Object.keys(BACKENDS).length) return; // a test failed: no figures
  const rs = Object.values(results);
  const sum = (k) => rs.reduce((n, r) => n + r[k], 0);
  const per = (k) => rs.map((r) => `${r.backend} ${fmt(r[k])}`).join(', ');
  writeReliabilityRow('sync-crash', {
    order: 45,
    what: 'Chromium SIGKILLed while a store syncs with annals-server (LevelDB and SQLite IndexedDB)',
    tried: `${fmt(sum('killsMidPull'))} kills mid-pull (pull unfinished at ${fmt(sum('pullUnfinishedAtKill'))}), ${fmt(sum('killsMidPush'))} mid-push (a push unanswered at ${fmt(sum('pushUnansweredAtKill'))}, events unconfirmed at restart after ${fmt(sum('pushUnconfirmedAtRestart'))}); ${fmt(sum('restartsChecked'))} restarts checked, ${fmt(sum('eventsChecked'))} events checked, ${fmt(sum('eventsAcknowledged'))} appended events acknowledged; ${fmt(sum('serverEvents'))} server events`,
    result: `lost ${sum('lost') + sum('lostAtRestart')}, half-applied pulls ${sum('halfApplied')}, converged; Chromium deleted the database ${per('chromiumDeletedDatabase')} time(s) (each reported by store.recovery; pending events lost with them: ${fmt(sum('pendingLostToChromiumDeletion'))})`,
  });
});
