// Test page for tests/e2e/crash.test.mjs: exposes `window.crash` once the store is open.
// The writers report every append to the test through `window.annalsCrashReport` (a function the
// test exposes with page.exposeFunction): before it is made (intent: the append starts only
// once the test has it) and as it settles (ack, rejected, error: the writer goes on once the
// test has it). Everything handed to the test is plain JSON.
import { openStore } from 'annals';
import { mulberry32, plainEvent } from './shared.mjs';

const params = new URLSearchParams(location.search);
const store = await openStore({ name: params.get('db') ?? 'crash' });

const random = mulberry32;
const plain = plainEvent;

/** Resolves once the test has the message; the test counts an append acknowledged from then. */
const report = (message) => window.annalsCrashReport(message);

let stopped = false;

window.crash = {
  /** What opening found (`store.recovery`), as plain JSON. */
  recovery() {
    const r = store.recovery;
    return r && { ...r, markedAt: r.markedAt.getTime() };
  },

  /** Everything the store holds: readAll forward, and readStream + streamVersion per stream. */
  async state(streams) {
    const all = (await store.readAll().toArray()).map(plain);
    const names = [...new Set([...streams, ...all.map((e) => e.stream)])];
    const perStream = {};
    for (const s of names) {
      perStream[s] = {
        events: (await store.readStream(s).toArray()).map(plain),
        version: await store.streamVersion(s),
      };
    }
    return { all, streams: perStream };
  },

  /**
   * Appends again, one at a time, batches whose outcome the test never heard of (the browser
   * was killed first), with their original ids and `expectedVersion: 'any'`: a batch that
   * committed returns its original result and writes nothing, one that did not is written now.
   */
  async retry(batches) {
    const out = [];
    for (const b of batches) {
      try {
        const r = await store.append(b.stream, b.events, { expectedVersion: 'any' });
        out.push({ batch: b.batch, nextExpectedVersion: r.nextExpectedVersion, position: r.position });
      } catch (err) {
        out.push({ batch: b.batch, error: `${err?.name}: ${err?.message}` });
      }
    }
    return out;
  },

  /**
   * Starts `writers` concurrent writers, in the background, until the page dies: each picks a
   * stream and a batch size, appends with the stream version it last saw as expected version
   * (sometimes 'any' or 'stream_exists'), and on WrongExpectedVersionError goes on from the
   * actual version. Batches of 2..5 events are tagged { batch, size, index } in their data.
   */
  start({ round, writers, streams, seed }) {
    stopped = false;
    const rnd = random(seed);
    const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
    const seen = {}; // stream → last version this page saw
    async function writer(w) {
      for (let n = 0; !stopped; n++) {
        const stream = pick(streams);
        const v = seen[stream] ?? (await store.streamVersion(stream));
        const size = pick([1, 1, 1, 2, 3, 5]);
        const batch = `r${round}-w${w}-n${n}`;
        const padLength = rnd() < 0.2 ? 4096 + Math.floor(rnd() * 12288) : Math.floor(rnd() * 200);
        const pad = Array.from({ length: padLength }, () => String.fromCharCode(97 + Math.floor(rnd() * 26))).join('');
        const events = Array.from({ length: size }, (_, index) => ({
          id: crypto.randomUUID(),
          type: size === 1 ? 'Single' : 'BatchPart',
          data: { batch, size, index, round, writer: w, pad: index === 0 ? pad : pad.slice(0, 32) },
          metadata: { correlationId: batch },
        }));
        const r = rnd();
        const expectedVersion = r < 0.1 ? 'any' : r < 0.15 && v > 0 ? 'stream_exists' : v === 0 ? 'no_stream' : v;
        await report({ kind: 'intent', batch, stream, expectedVersion, events });
        try {
          const result = await store.append(stream, events, { expectedVersion });
          seen[stream] = result.nextExpectedVersion;
          await report({ kind: 'ack', batch, nextExpectedVersion: result.nextExpectedVersion, position: result.position });
        } catch (err) {
          if (err?.name === 'WrongExpectedVersionError') {
            seen[stream] = err.actual;
            await report({ kind: 'rejected', batch, name: err.name, stream: err.stream, expected: err.expected, actual: err.actual });
          } else {
            await report({ kind: 'error', batch, error: `${err?.name}: ${err?.message}` });
            return;
          }
        }
      }
    }
    for (let w = 0; w < writers; w++) writer(w);
  },

  stop() {
    stopped = true;
  },
};
document.body.dataset.ready = 'true';
