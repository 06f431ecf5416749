// Node part: annals' memory backend against @event-driven-io/emmett's in-memory event store.
// (n1) n single-event appends one after another on one stream, exact expected versions;
// (n2) reading that n-event stream into an array. Fresh store per repetition, one warm-up,
// repetitions interleaved (the order alternates).
import { performance } from 'node:perf_hooks';
import { openStore } from '../pkg-js/dist/node.js';
import { getInMemoryEventStore } from '@event-driven-io/emmett';
import { makeEvents } from './page/events.js';

const now = () => performance.now();

const CONTESTANTS = {
  annals: {
    open: () => openStore({ storage: 'memory' }),
    async append(store, stream, events) {
      for (let i = 0; i < events.length; i++) await store.append(stream, [events[i]], { expectedVersion: i });
    },
    read: async (store, stream) => (await store.readStream(stream).toArray()).length,
  },
  emmett: {
    open: () => getInMemoryEventStore(),
    async append(store, stream, events) {
      for (let i = 0; i < events.length; i++) {
        await store.appendToStream(stream, [events[i]], { expectedStreamVersion: BigInt(i) });
      }
    },
    read: async (store, stream) => (await store.readStream(stream)).events.length,
  },
};

export async function runNode({ n, reps, warmup = 1, log = () => {} }) {
  const events = makeEvents(n, 21);
  const results = { append: { annals: [], emmett: [] }, read: { annals: [], emmett: [] } };
  for (let rep = 0; rep < warmup + reps; rep++) {
    const order = rep % 2 ? ['emmett', 'annals'] : ['annals', 'emmett'];
    for (const name of order) {
      const c = CONTESTANTS[name];
      const store = await c.open();
      let t = now();
      await c.append(store, 'Node-1', events);
      const appendMs = now() - t;
      t = now();
      const got = await c.read(store, 'Node-1');
      const readMs = now() - t;
      if (got !== n) throw new Error(`${name} read ${got} events, expected ${n}`);
      await store.close?.();
      if (rep >= warmup) {
        results.append[name].push({ ms: appendMs, events: n });
        results.read[name].push({ ms: readMs, events: n });
      }
    }
    log(`node rep ${rep + 1}/${warmup + reps}`);
  }
  return results;
}
