// Test page for tests/e2e/sync-crash.test.mjs: a store that syncs, exposed as
// `window.syncCrash` once open. Appends are reported to the test through
// `window.annalsSyncCrashReport` (exposed by the test) as they resolve; the writer goes on
// once the test has the report, so an append counts as acknowledged from then.
import { openStore } from 'annals';

const NAME = 'sync-crash';
const store = await openStore({ name: NAME });
let sync;

/** A request's result. */
const done = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

/**
 * What the database holds beside the events, read with IndexedDB itself (white box, schema 3 of
 * docs/design.md): the sync cursor, the pending count as the layout defines it (head − cursor −
 * removed, the head being the log's last key), the outbox (runs in the `outbox` index) and the
 * conflicts.
 */
async function stored() {
  const db = await done(indexedDB.open(`annals:${NAME}`));
  try {
    const tx = db.transaction(['meta', 'log', 'conflicts'], 'readonly');
    const log = tx.objectStore('log');
    const [cursor, last, outbox, conflicts] = await Promise.all([
      done(tx.objectStore('meta').get('cursor')),
      done(log.openKeyCursor(null, 'prev')),
      done(log.index('outbox').getAll()),
      done(tx.objectStore('conflicts').count()),
    ]);
    const head = last?.key ?? 0;
    return {
      cursor: cursor?.position ?? 0,
      pending: head - (cursor?.position ?? 0) - (cursor?.removed ?? 0),
      outboxEvents: outbox.reduce((n, run) => n + run.ids.length, 0),
      conflicts,
    };
  } finally {
    db.close();
  }
}

window.syncCrash = {
  recovery() {
    const r = store.recovery;
    return r && { ...r, markedAt: r.markedAt.getTime() };
  },

  /**
   * Every event (readAll) as `[id, stream, version, position, serverPosition]`, and what
   * `stored()` reads.
   */
  async state() {
    const all = (await store.readAll().toArray()).map((e) => [e.id, e.stream, e.version, e.position, e.serverPosition]);
    return { all, ...(await stored()) };
  },

  /** Starts a live sync; reports its server position each time it moves. */
  startSync({ url, token }) {
    sync = store.sync({ url, token, live: true });
    let last = -1;
    const watch = setInterval(() => {
      const { serverPosition, pending } = sync.state;
      if (serverPosition !== last) {
        last = serverPosition;
        window.annalsSyncCrashProgress?.({ serverPosition, pending });
      }
    }, 10);
    window.addEventListener('pagehide', () => clearInterval(watch));
  },

  async flush() {
    await sync.flush();
    const { error, ...state } = sync.state;
    return state;
  },

  /**
   * Appends `events` events (appends of 1..5, `expectedVersion: 'any'`) over `streams`
   * streams, each reported to the test once resolved, before the next starts.
   */
  async append({ events, streams, prefix, round }) {
    let n = 0;
    while (n < events) {
      const size = Math.min(1 + (n % 5), events - n);
      const stream = `${prefix}-${(n * 7 + round) % streams}`;
      const batch = Array.from({ length: size }, (_, i) => ({
        id: crypto.randomUUID(),
        type: 'Pushed',
        data: { round, n: n + i, text: `event ${n + i} of round ${round}` },
      }));
      await store.append(stream, batch, { expectedVersion: 'any' });
      await window.annalsSyncCrashReport(batch.map((e) => e.id));
      n += size;
    }
    return n;
  },
};
document.body.dataset.ready = 'true';
