// Test page for tests/e2e/stress.test.mjs: exposes `window.stress` once the store is open.
// `?db=<name>` picks the database; `?label=` names the page. Everything returned is plain JSON.
import { openStore, isWrongExpectedVersionError } from 'annals';
import { mulberry32 } from './shared.mjs';
// The package's own wasm glue, for the size of the module's linear memory: browser.js imports
// the same URL, so this is the same instance (its init returns the exports once initialised).
import initWasm from '/node_modules/annals/dist/wasm/annals.js';

const params = new URLSearchParams(location.search);
const label = params.get('label') ?? 'page';
const store = await openStore({ name: params.get('db') ?? 'stress' });
const wasmExports = await initWasm();

const makeRng = mulberry32;

let subscription = null;
let slow = null;

window.stress = {
  label,

  wasmMemoryBytes() {
    return wasmExports.memory.buffer.byteLength;
  },

  /** A subscription from position 0 that records every event until it has `expected`. */
  startSubscription(expected) {
    const ids = [];
    const positions = [];
    const streams = [];
    const versions = [];
    const sub = store.subscribe({ after: 0 });
    const loop = (async () => {
      for await (const e of sub) {
        ids.push(e.id);
        positions.push(e.position);
        streams.push(e.stream);
        versions.push(e.version);
        if (ids.length >= expected) break;
      }
      return ids.length >= expected ? 'complete' : 'ended early';
    })().catch((err) => `error ${err?.name}: ${err?.message}`);
    subscription = { sub, loop, ids, positions, streams, versions };
  },

  /** Waits up to `timeoutMs` for the subscription to reach its count; returns what it saw. */
  async waitSubscription(timeoutMs) {
    const { sub, loop, ids, positions, streams, versions } = subscription;
    let timer;
    const outcome = await Promise.race([loop, new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); })]);
    clearTimeout(timer);
    await sub.close();
    return { outcome, ids, positions, streams, versions };
  },

  /**
   * `writers` concurrent writers, each making `appends` acknowledged appends over `streams`
   * streams, in mixed expected-version modes:
   * - no_stream, the first time a writer appends to a stream ("create"): on
   *   WrongExpectedVersionError (another writer created it) go on as exact;
   * - then, chosen at random: exact, the version last learned; on WrongExpectedVersionError
   *   retry with the error's `actual`; any; stream_exists (on WrongExpectedVersionError, which
   *   it cannot meet once the stream exists, try no_stream, then exact).
   * One append in ten carries two events. Every event has its own id and names its writer.
   */
  async runWriters({ writers, appends, streams, seed, timeoutMs }) {
    const deadline = Date.now() + timeoutMs;
    const started = performance.now();
    const acked = [];
    const anomalies = [];
    const modes = {};
    for (const m of ['exact', 'any', 'no_stream', 'stream_exists']) modes[m] = { chosen: 0, succeeded: 0, wrongVersion: 0 };
    const note = (text) => anomalies.length < 50 && anomalies.push(`${label}: ${text}`);

    async function writer(w) {
      const rand = makeRng(seed + w);
      const known = new Map();
      for (let n = 0; n < appends; n++) {
        // Three draws per append (stream, mode, count), whatever happens: stress.test.mjs
        // counts the events to expect from the seed the same way.
        const stream = `Stress-${Math.floor(rand() * streams)}`;
        const r = rand();
        const mode = !known.has(stream) ? 'no_stream' : r < 0.5 ? 'exact' : r < 0.8 ? 'any' : 'stream_exists';
        modes[mode].chosen += 1;
        const count = rand() < 0.1 ? 2 : 1;
        const events = Array.from({ length: count }, (_, k) => ({
          type: 'Stressed',
          data: { page: label, writer: w, n, k },
          id: crypto.randomUUID(),
        }));
        let expected = mode === 'exact' ? known.get(stream) : mode;
        let via = mode;
        for (;;) {
          if (Date.now() > deadline) throw new Error(`${label} writer ${w}: deadline passed after ${n}/${appends} appends`);
          try {
            const result = await store.append(stream, events, { expectedVersion: expected });
            if (typeof expected === 'number' && result.nextExpectedVersion !== expected + count) {
              note(`exact ${expected} + ${count} events gave nextExpectedVersion ${result.nextExpectedVersion}`);
            }
            if (expected === 'no_stream' && result.nextExpectedVersion !== count) note(`no_stream gave ${result.nextExpectedVersion}`);
            modes[via].succeeded += 1;
            known.set(stream, result.nextExpectedVersion);
            acked.push({ stream, ids: events.map((e) => e.id), nextExpectedVersion: result.nextExpectedVersion, position: result.position, mode: via });
            break;
          } catch (err) {
            if (!isWrongExpectedVersionError(err)) throw err;
            modes[via].wrongVersion += 1;
            if (err.stream !== stream || err.expected !== expected || typeof err.actual !== 'number' || err.actual === expected) {
              note(`error fields stream=${err.stream} expected=${err.expected} actual=${err.actual} (sent ${expected} to ${stream})`);
            }
            if (expected === 'stream_exists' && err.actual !== 0) note(`stream_exists refused with actual ${err.actual}`);
            if (expected === 'no_stream' && !(err.actual > 0)) note(`no_stream refused with actual ${err.actual}`);
            if (expected === 'stream_exists') {
              expected = 'no_stream';
              via = 'no_stream';
            } else {
              expected = err.actual;
              via = 'exact';
            }
          }
        }
      }
    }

    const outcomes = await Promise.allSettled(Array.from({ length: writers }, (_, w) => writer(w)));
    return {
      acked,
      modes,
      anomalies,
      errors: outcomes.filter((o) => o.status === 'rejected').map((o) => `${o.reason?.name}: ${o.reason?.message}`),
      elapsedMs: Math.round(performance.now() - started),
    };
  },

  async readAll() {
    const ids = [];
    const positions = [];
    const streams = [];
    const versions = [];
    for await (const e of store.readAll()) {
      ids.push(e.id);
      positions.push(e.position);
      streams.push(e.stream);
      versions.push(e.version);
    }
    return { ids, positions, streams, versions };
  },

  async streamVersions(names) {
    return Promise.all(names.map((s) => store.streamVersion(s)));
  },

  // ---- slow consumer ----------------------------------------------------------------------

  /**
   * A subscription from 0 that takes the first event, then sleeps in its loop body (pulls
   * nothing) until `resume()`, then drains. It checks order as it goes and keeps only counts.
   */
  startSlowConsumer(total) {
    let firstSeen;
    let resume;
    const first = new Promise((resolve) => { firstSeen = resolve; });
    const gate = new Promise((resolve) => { resume = resolve; });
    const state = { received: 0, outOfOrder: 0, badSeq: 0, firstPosition: null, lastPosition: null };
    const sub = store.subscribe({ after: 0 });
    const loop = (async () => {
      for await (const e of sub) {
        state.received += 1;
        if (e.position !== state.received) state.outOfOrder += 1;
        if (e.data?.seq !== state.received - 1) state.badSeq += 1;
        state.firstPosition ??= e.position;
        state.lastPosition = e.position;
        if (state.received === 1) {
          firstSeen();
          await gate; // asleep: no next() while the appends go on
        }
        if (state.received >= total) break;
      }
      return 'complete';
    })().catch((err) => `error ${err?.name}: ${err?.message}`);
    slow = { sub, loop, first, resume, state };
  },

  /** Resolves once the slow consumer holds its first event (it then sleeps). */
  async slowConsumerAsleep(timeoutMs) {
    let timer;
    const r = await Promise.race([slow.first.then(() => 'asleep'), new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); })]);
    clearTimeout(timer);
    return r;
  },

  async drainSlowConsumer(timeoutMs) {
    const started = performance.now();
    slow.resume();
    let timer;
    const outcome = await Promise.race([slow.loop, new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); })]);
    clearTimeout(timer);
    await slow.sub.close();
    return { outcome, ...slow.state, drainMs: Math.round(performance.now() - started) };
  },

  /** Appends `size` events numbered from `from` (data.seq) to `stream` in one call. */
  async appendBatch(stream, from, size) {
    const events = Array.from({ length: size }, (_, k) => ({
      type: 'Filled',
      data: { seq: from + k, pad: 'p'.repeat(64) },
    }));
    const result = await store.append(stream, events);
    return result.position;
  },

  /** Holds every event of the store as a read returns them (to measure what 100k events weigh). */
  async holdAll() {
    window.__held = await store.readAll().toArray();
    return window.__held.length;
  },

  dropHeld() {
    window.__held = undefined;
  },
};
document.body.dataset.ready = 'true';
