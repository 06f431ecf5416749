// Test page for tests/e2e/multi-writer.test.mjs: exposes `window.mw` once the store is open.
// Everything returned to the test is plain JSON.
import { openStore } from 'annals';

const params = new URLSearchParams(location.search);
const store = await openStore({ name: params.get('db') ?? 'multi-writer' });
const label = params.get('label') ?? 'page';

let subscription = null;

window.mw = {
  label,

  /** Start a subscription from position 0; it collects the events of `stream` until `expected`. */
  startSubscription(stream, expected) {
    const received = [];
    const sub = store.subscribe({ after: 0 });
    const loop = (async () => {
      for await (const e of sub) {
        if (e.stream !== stream) continue;
        received.push({ id: e.id, position: e.position, version: e.version, type: e.type });
        if (received.length >= expected) break;
      }
      return { outcome: received.length >= expected ? 'complete' : 'ended early' };
    })().catch((err) => ({ outcome: 'error', error: `${err?.name}: ${err?.message}` }));
    subscription = { sub, loop, received };
  },

  /** Wait up to `timeoutMs` for the subscription started above to collect its events. */
  async waitSubscription(timeoutMs) {
    const { sub, loop, received } = subscription;
    let timer;
    const timedOut = new Promise((resolve) => {
      timer = setTimeout(() => resolve({ outcome: 'timeout' }), timeoutMs);
    });
    const result = await Promise.race([loop, timedOut]);
    clearTimeout(timer);
    sub.close();
    return { ...result, received };
  },

  /**
   * Run one writer per entry of `quotas`, concurrently. Each appends its quota of events to
   * `stream` with the exact expected version (from its last result, or from streamVersion
   * after a conflict) and retries on WrongExpectedVersionError.
   */
  async runWriters(stream, quotas, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    const started = performance.now();
    const anomalies = [];
    let retries = 0;

    async function writer(w, quota) {
      let v = await store.streamVersion(stream);
      let done = 0;
      while (done < quota) {
        if (Date.now() > deadline) throw new Error(`${label} writer ${w}: deadline passed after ${done}/${quota}`);
        try {
          const result = await store.append(
            stream,
            { type: 'Written', data: { page: label, writer: w, n: done } },
            { expectedVersion: v },
          );
          if (result.nextExpectedVersion <= v) {
            anomalies.push(`nextExpectedVersion ${result.nextExpectedVersion} after expected ${v}`);
          }
          v = result.nextExpectedVersion;
          done += 1;
        } catch (err) {
          if (err?.name !== 'WrongExpectedVersionError') throw err;
          retries += 1;
          if (err.stream !== stream || err.expected !== v || !(typeof err.actual === 'number' && err.actual > v)) {
            if (anomalies.length < 20) {
              anomalies.push(`error fields: stream=${err.stream} expected=${err.expected} actual=${err.actual} (sent ${v})`);
            }
          }
          v = await store.streamVersion(stream);
        }
      }
      return done;
    }

    const outcomes = await Promise.allSettled(quotas.map((q, w) => writer(w, q)));
    const errors = outcomes
      .filter((o) => o.status === 'rejected')
      .map((o) => `${o.reason?.name}: ${o.reason?.message}`);
    return {
      successes: outcomes.reduce((sum, o) => sum + (o.status === 'fulfilled' ? o.value : 0), 0),
      retries,
      elapsedMs: Math.round(performance.now() - started),
      anomalies,
      errors,
    };
  },

  async readStream(stream) {
    const events = await store.readStream(stream).toArray();
    return events.map((e) => ({ id: e.id, position: e.position, version: e.version, data: e.data }));
  },

  streamVersion(stream) {
    return store.streamVersion(stream);
  },
};
document.body.dataset.ready = 'true';
