// Crash test: Chromium on one persistent profile is killed with SIGKILL (every process of it)
// in the middle of appends, ROUNDS times, once with IndexedDB on LevelDB (Chromium's default)
// and once on SQLite. Each round launches Chromium again on the profile,
// checks everything the store holds against what the page acknowledged before the kill, retries
// the appends whose outcome was never heard of (same ids: idempotent), then lets 4 writers
// append (5 streams, batches of 1..5 events, expected versions) and kills the browser a random
// short time after the first acknowledgement of the round.
//
// An append counts as acknowledged once the page's report that it resolved has reached this
// process (page.exposeFunction). After every restart:
//   - every acknowledged append is there with its exact events (ids, types, data, metadata),
//     at the versions and position its result named;
//   - no append is partial: every batch is all there (size, index 0..size-1, consecutive
//     versions and positions in one stream) or not at all; unacknowledged ones included;
//   - an append refused with WrongExpectedVersionError is not there;
//   - stream versions are 1..n, positions 1..N, strictly increasing, no gap;
//   - readAll and readStream (and streamVersion) agree;
//   - what the previous restart found is still there, unchanged (a prefix of readAll);
// except after Chromium itself deleted the database (see BACKENDS): then it must be empty, and
// the store must say so (`store.recovery`); otherwise it must not.
import test from 'node:test';
import { mulberry32 } from './pages/shared.mjs';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, ensureDemoInstalled, launchContext, startServer, tempDir, watchPage, withTimeout } from './helpers.mjs';
import { BACKENDS, CHROMIUM_DELETED_DATABASE, chromiumLog, killChromium, waitGone } from './kill.mjs';

const ROUNDS = Number(process.env.ANNALS_CRASH_ROUNDS ?? 50);
const WRITERS = 4;
const STREAMS = ['Crash-a', 'Crash-b', 'Crash-c', 'Crash-d', 'Crash-e'];
const MAX_KILL_DELAY_MS = 250; // after the round's first acknowledgement
const SEED = Number(process.env.ANNALS_CRASH_SEED ?? Date.now() % 2 ** 31);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The kill delays follow from SEED. */
const random = mulberry32;

// ---- the check ------------------------------------------------------------------------------

const strip = ({ id, type, data, metadata }) => ({ id, type, data, metadata });

/**
 * Checks `state` (what the page read after a restart) against everything reported so far.
 * Returns figures; throws an assertion error on the first violation.
 */
function check(state, batches, previous, label) {
  const { all, streams } = state;
  assert.deepEqual(all.map((e) => e.position), all.map((_, i) => i + 1), `${label}: positions 1..N, no gap`);
  assert.equal(new Set(all.map((e) => e.id)).size, all.length, `${label}: event ids distinct`);
  for (const e of all) assert.equal(typeof e.recordedAt, 'number', `${label}: recordedAt of ${e.position}`);

  // Nothing found before has gone or changed.
  assert.deepEqual(all.slice(0, previous.length), previous, `${label}: the events of the previous restart are still there, unchanged`);

  // Per stream: versions 1..n in readAll order; readStream and streamVersion say the same.
  const byStream = new Map();
  for (const e of all) {
    if (!byStream.has(e.stream)) byStream.set(e.stream, []);
    byStream.get(e.stream).push(e);
  }
  for (const [s, { events, version }] of Object.entries(streams)) {
    const fromAll = byStream.get(s) ?? [];
    assert.deepEqual(fromAll.map((e) => e.version), fromAll.map((_, i) => i + 1), `${label}: ${s} versions 1..n in global order`);
    assert.deepEqual(events, fromAll, `${label}: readStream(${s}) = readAll's events of ${s}`);
    assert.equal(version, fromAll.length, `${label}: streamVersion(${s})`);
  }
  for (const s of byStream.keys()) assert.ok(s in streams, `${label}: stream ${s} was read with readStream`);

  // Batches: whole or absent.
  const groups = new Map();
  for (const e of all) {
    const tag = e.data?.batch;
    assert.equal(typeof tag, 'string', `${label}: event at ${e.position} carries its batch tag`);
    if (!groups.has(tag)) groups.set(tag, []);
    groups.get(tag).push(e);
  }
  let partial = 0;
  for (const [tag, events] of groups) {
    const { size } = events[0].data;
    const whole =
      events.length === size &&
      events.every((e, i) =>
        e.data.size === size &&
        e.data.index === i &&
        e.stream === events[0].stream &&
        e.version === events[0].version + i &&
        e.position === events[0].position + i);
    if (!whole) partial += 1;
    assert.ok(whole, `${label}: batch ${tag} is whole: ${JSON.stringify(events.map((e) => [e.stream, e.version, e.position, e.data.index, e.data.size]))}`);
    const b = batches.get(tag);
    assert.ok(b, `${label}: batch ${tag} is there though it was never reported to be appended`);
    assert.notEqual(b.status, 'rejected', `${label}: batch ${tag} was refused (WrongExpectedVersionError) yet is there`);
    assert.equal(events[0].stream, b.stream, `${label}: batch ${tag} stream`);
    assert.deepEqual(events.map(strip), b.events, `${label}: batch ${tag} holds exactly the events appended`);
  }

  // Every acknowledged append is there, where its result said.
  let lost = 0;
  let ackedAppends = 0;
  let ackedEvents = 0;
  let unackedPresent = 0;
  let unackedAbsent = 0;
  for (const [tag, b] of batches) {
    const found = groups.get(tag);
    if (b.status === 'acked') {
      ackedAppends += 1;
      ackedEvents += b.events.length;
      if (!found) lost += 1;
      assert.ok(found, `${label}: acknowledged batch ${tag} (${b.stream} up to version ${b.ack.nextExpectedVersion}) is missing`);
      const last = found[found.length - 1];
      assert.equal(last.version, b.ack.nextExpectedVersion, `${label}: batch ${tag} last version = acknowledged nextExpectedVersion`);
      assert.equal(last.position, b.ack.position, `${label}: batch ${tag} last position = acknowledged position`);
    } else if (b.status === 'intent') {
      if (found) unackedPresent += 1;
      else unackedAbsent += 1;
    }
  }
  return { events: all.length, partial, lost, ackedAppends, ackedEvents, unackedPresent, unackedAbsent };
}

// ---- the test -------------------------------------------------------------------------------

async function crashRounds(t, backend) {
  const { name, args } = BACKENDS[backend];
  ensureDemoInstalled();
  const server = await startServer();
  const profile = tempDir(`annals-e2e-crash-${backend}-`);
  let context;
  t.after(async () => {
    killChromium(profile);
    await waitGone(profile, 10_000).catch(() => {});
    await context?.close().catch(() => {});
    await server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  });
  const seed = SEED + (backend === 'sqlite' ? 1 : 0);
  t.diagnostic(`${name}: seed ${seed} (ANNALS_CRASH_SEED=${SEED} repeats the kill delays and the writers' choices)`);
  const rnd = random(seed);
  const url = `${server.url}e2e/crash.html`;
  const origin = new URL(server.url);
  const originDir = `${origin.protocol.slice(0, -1)}_${origin.hostname}_${origin.port}`;

  const figures = {
    backend,
    rounds: ROUNDS,
    writers: WRITERS,
    streams: STREAMS.length,
    kills: 0,
    killsWithAppendsPending: 0,
    appendsAcknowledged: 0,
    eventsAcknowledged: 0,
    eventsChecked: 0,
    refusedAppends: 0,
    unacknowledgedPresent: 0,
    unacknowledgedAbsent: 0,
    retriedIdempotent: 0,
    retriedWritten: 0,
    lost: 0,
    partial: 0,
    chromiumDeletedDatabase: 0,
    vanishedReported: 0,
    acknowledgedAppendsDeletedByChromium: 0,
    eventsInStore: 0,
    seed,
  };

  /** batch tag → { stream, events, expectedVersion, status: intent|acked|rejected|error|deleted, ack? } */
  const batches = new Map();
  const errors = [];
  let round = 0;
  let roundAcks = 0;
  function acknowledge(b, result) {
    b.status = 'acked';
    b.ack = { nextExpectedVersion: result.nextExpectedVersion, position: result.position };
    figures.appendsAcknowledged += 1;
    figures.eventsAcknowledged += b.events.length;
  }
  function onReport(m) {
    const b = batches.get(m.batch);
    switch (m.kind) {
      case 'intent':
        batches.set(m.batch, { stream: m.stream, events: m.events, expectedVersion: m.expectedVersion, status: 'intent', round });
        break;
      case 'ack':
        if (!b) errors.push(`ack of unknown batch ${m.batch}`);
        else {
          acknowledge(b, m);
          roundAcks += 1;
        }
        break;
      case 'rejected':
        if (!b) errors.push(`rejection of unknown batch ${m.batch}`);
        else b.status = 'rejected';
        figures.refusedAppends += 1;
        if (m.stream !== b?.stream || m.expected !== b?.expectedVersion || typeof m.actual !== 'number') {
          errors.push(`WrongExpectedVersionError fields of ${m.batch}: ${JSON.stringify(m)}`);
        }
        break;
      default:
        errors.push(`${m.batch}: ${m.error}`);
        if (b) b.status = 'error';
    }
  }

  async function open() {
    context = await launchContext(profile, { args: ['--enable-logging', ...args] });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = watchPage(page, `round ${round}`);
    await page.exposeFunction('annalsCrashReport', onReport);
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 }).catch((err) => {
      throw new Error(`round ${round}: page not ready: ${err.message}\n${problems.join('\n')}`);
    });
    return { page, problems };
  }

  let previous = [];
  const started = Date.now();

  for (round = 1; round <= ROUNDS + 1; round++) {
    const label = `${backend}, ${round <= ROUNDS ? `round ${round}` : 'after the last kill'}`;
    const { page, problems } = await open();

    const state = await withTimeout(page.evaluate((s) => window.crash.state(s), STREAMS), 60_000, `${label}: state`);
    if (round === 1) {
      const dirs = fs.readdirSync(path.join(profile, 'Default', 'IndexedDB'));
      assert.equal(dirs.includes(`${originDir}.indexeddb.leveldb`), backend === 'leveldb', `${label}: IndexedDB on ${name}: ${dirs}`);
      assert.equal(dirs.includes(originDir), backend === 'sqlite', `${label}: IndexedDB on ${name}: ${dirs}`);
    }
    const log = chromiumLog(profile);
    const recovery = await page.evaluate(() => window.crash.recovery());
    if (CHROMIUM_DELETED_DATABASE.test(log)) {
      // The store noticed: its mark names the database that is gone (docs/api.md).
      assert.equal(recovery?.kind, 'vanished', `${label}: store.recovery reports the deleted database`);
      figures.vanishedReported += 1;
      // Chromium threw the database away on opening it: everything in it is gone, annals'
      // invariants hold on the empty one it made instead. Counted, and the run goes on.
      const why = log.split('\n').filter((l) => /indexed_db|IndexedDB/.test(l)).map((l) => l.replace(/^\[[^\]]*\]\s*/, ''));
      t.diagnostic(`${label}: Chromium deleted the IndexedDB database: ${why.join(' | ')}`);
      figures.chromiumDeletedDatabase += 1;
      for (const b of batches.values()) {
        if (b.status === 'acked') figures.acknowledgedAppendsDeletedByChromium += 1;
        if (b.status === 'acked' || b.status === 'intent') b.status = 'deleted';
      }
      previous = [];
      assert.deepEqual(state.all, [], `${label}: the database Chromium made instead is empty`);
    } else {
      assert.equal(recovery, undefined, `${label}: no recovery reported for the database that is still there`);
    }
    const c = check(state, batches, previous, label);
    figures.eventsChecked += c.events;
    figures.lost += c.lost;
    figures.partial += c.partial;
    figures.unacknowledgedPresent += c.unackedPresent;
    figures.unacknowledgedAbsent += c.unackedAbsent;
    assert.deepEqual(errors, [], `${label}: writers reported`);
    previous = state.all;

    // The appends we never heard the end of: retry them with their own ids. A committed one
    // returns its original result; one that did not commit is written now.
    const unheard = [...batches].filter(([, b]) => b.status === 'intent');
    let now = c;
    if (unheard.length > 0) {
      const present = new Map();
      for (const e of state.all) {
        if (batches.get(e.data.batch)?.status === 'intent') present.set(e.data.batch, e); // its last event
      }
      const results = await withTimeout(
        page.evaluate((bs) => window.crash.retry(bs), unheard.map(([batch, b]) => ({ batch, stream: b.stream, events: b.events }))),
        60_000,
        `${label}: retry`,
      );
      let written = 0;
      for (const r of results) {
        assert.equal(r.error, undefined, `${label}: retry of ${r.batch}`);
        const b = batches.get(r.batch);
        const last = present.get(r.batch);
        if (last) {
          figures.retriedIdempotent += 1;
          assert.deepEqual([r.nextExpectedVersion, r.position], [last.version, last.position], `${label}: retry of committed ${r.batch} returns its original result`);
        } else {
          figures.retriedWritten += 1;
          written += b.events.length;
        }
        acknowledge(b, r);
      }
      // The retried appends are where their results say, whole, and nothing else changed.
      const after = await withTimeout(page.evaluate((s) => window.crash.state(s), STREAMS), 60_000, `${label}: state after retry`);
      now = check(after, batches, previous, `${label}, after the retry`);
      figures.eventsChecked += now.events;
      assert.equal(after.all.length, state.all.length + written, `${label}: the retry wrote exactly the batches that were missing`);
      previous = after.all;
    }

    if (round > ROUNDS) {
      figures.eventsInStore = now.events;
      assert.deepEqual(problems, [], `${label}: page errors`);
      await context.close();
      context = undefined;
      break;
    }

    // Append, and kill the browser a random short time after the first acknowledgement.
    roundAcks = 0;
    const delay = Math.floor(rnd() * MAX_KILL_DELAY_MS);
    const pageSeed = Math.floor(rnd() * 2 ** 31);
    const closed = new Promise((resolve) => context.once('close', resolve));
    await page.evaluate((cfg) => window.crash.start(cfg), { round, writers: WRITERS, streams: STREAMS, seed: pageSeed });
    const deadline = Date.now() + 30_000;
    while (roundAcks === 0) {
      if (Date.now() > deadline) throw new Error(`${label}: no append acknowledged within 30 s\n${problems.join('\n')}\n${errors.join('\n')}`);
      await sleep(5);
    }
    await sleep(delay);
    const pending = [...batches.values()].filter((b) => b.round === round && b.status === 'intent').length;
    const browserPids = killChromium(profile);
    assert.equal(browserPids.length, 1, `${label}: exactly one Chromium browser process on the profile (found ${browserPids})`);
    figures.kills += 1;
    if (pending > 0) figures.killsWithAppendsPending += 1;
    await withTimeout(closed, 20_000, `${label}: Playwright notices the browser is gone`);
    await waitGone(profile, 10_000);
    await context.close().catch(() => {});
    context = undefined;
    assert.deepEqual(problems, [], `${label}: page errors before the kill`);
  }

  figures.elapsedMs = Date.now() - started;
  t.diagnostic(JSON.stringify(figures));
  assert.equal(figures.kills, ROUNDS);
  assert.equal(figures.lost, 0);
  assert.equal(figures.partial, 0);
  assert.ok(figures.appendsAcknowledged > 0);
  if (backend === 'sqlite') assert.equal(figures.chromiumDeletedDatabase, 0, 'on SQLite, Chromium never deletes the database');
  return figures;
}

const results = {};

for (const backend of Object.keys(BACKENDS)) {
  test(`crash, ${BACKENDS[backend].name}: SIGKILL Chromium ${ROUNDS} times in the middle of appends; every acknowledged append there (unless Chromium deleted the database), none partial`, { timeout: 600_000 }, async (t) => {
    results[backend] = await crashRounds(t, backend);
  });
}

test.after(() => {
  if (Object.keys(results).length !== Object.keys(BACKENDS).length) return; // a test failed: no figures
  fs.mkdirSync(path.join(ROOT, 'target/reliability'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'target/reliability/crash.json'), JSON.stringify(results, null, 2) + '\n');
});
