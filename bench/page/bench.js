// The workloads, run in the page one repetition at a time by bench/run.mjs (page.evaluate).
// Everything a repetition needs (events, database) is made in setup(), outside the clock.
import { CONTESTANTS, PAGE } from './contestants.js';
import { makeEvents, zipfStreams } from './events.js';

const now = () => performance.now();
const wall = () => performance.timeOrigin + performance.now(); // comparable across tabs

let dbCounter = 0;
const state = {}; // per contestant: what setup prepared
const isConflict = (e) => e?.name === 'WrongExpectedVersionError';

// Populate a contestant's database with `events`, placed on streams by `streamOf` (grouped by
// stream, in chunks of at most 1000: this is setup, not measured).
async function populate(c, events, streamOf) {
  if (c === CONTESTANTS.floor) {
    for (let i = 0; i < events.length; i += 5000) await c.putAll('Fill', events.slice(i, i + 5000));
    return;
  }
  const groups = new Map();
  events.forEach((e, i) => {
    const s = streamOf(i);
    if (!groups.has(s)) groups.set(s, []);
    groups.get(s).push(e);
  });
  for (const [s, list] of groups) {
    for (let i = 0; i < list.length; i += 1000) await c.append(s, list.slice(i, i + 1000));
  }
}

const WORKLOADS = {
  // (a) single-event appends one after another on one stream, exact expected versions
  a: {
    async setup(c, p) { await c.open(`a-${++dbCounter}`); return { events: makeEvents(p.n, 11) }; },
    async run(c, { events }) {
      if (c.putAll) { const t = now(); await c.putAll('Bench-1', events); return { ms: now() - t, events: events.length }; }
      const lat = new Array(events.length);
      const t0 = now();
      for (let i = 0; i < events.length; i++) {
        const t = now();
        await c.append('Bench-1', [events[i]], i);
        lat[i] = now() - t;
      }
      return { ms: now() - t0, events: events.length, lat };
    },
    teardown: (c) => c.destroy(),
  },
  // (b) batches one after another on one stream
  b: {
    async setup(c, p) {
      await c.open(`b-${++dbCounter}`);
      const all = makeEvents(p.batches * p.size, 12);
      const batches = [];
      for (let i = 0; i < p.batches; i++) batches.push(all.slice(i * p.size, (i + 1) * p.size));
      return { all, batches, size: p.size };
    },
    async run(c, { all, batches, size }) {
      if (c.putAll) { const t = now(); await c.putAll('Bench-1', all); return { ms: now() - t, events: all.length }; }
      const lat = new Array(batches.length);
      const t0 = now();
      for (let i = 0; i < batches.length; i++) {
        const t = now();
        await c.append('Bench-1', batches[i], i * size);
        lat[i] = now() - t;
      }
      return { ms: now() - t0, events: all.length, lat };
    },
    teardown: (c) => c.destroy(),
  },
  // (c) read one stream of p.n events: whole (toArray), through the iterator, first event.
  // The database is filled once per contestant (prepare) and read by every repetition.
  c: {
    async prepare(c, p) {
      await c.open(`c-${++dbCounter}`);
      await populate(c, makeEvents(p.n, 13), () => 'Read-1');
    },
    async run(c, p) {
      const mode = p.mode;
      if (c.getAll) {
        const t = now();
        const all = await c.getAll();
        return { ms: now() - t, events: all.length };
      }
      const t = now();
      let n = 0;
      if (mode === 'array') n = (await c.readStreamAll('Read-1')).length;
      else if (mode === 'iter') { for await (const e of c.iterateStream('Read-1')) { if (e.version) n++; } }
      else { for await (const e of c.iterateStream('Read-1')) { if (e.version) n++; break; } }
      const ms = now() - t;
      if (mode !== 'first' && n !== p.n) throw new Error(`${c.name} read ${n} events, expected ${p.n}`);
      return { ms, events: n };
    },
    finish: (c) => c.destroy(),
  },
  // (d) catch-up from 0 over p.events events on p.streams streams (Zipf); filled once.
  d: {
    async prepare(c, p) {
      await c.open(`d-${++dbCounter}`);
      const zipf = zipfStreams(p.events, p.streams);
      await populate(c, makeEvents(p.events, 14), (i) => `Order-${zipf[i]}`);
      state[c.name] = { total: p.events };
    },
    async run(c, p) {
      const total = state[c.name].total;
      const t = now();
      let n = 0;
      if (c.getAll) n = (await c.getAll()).length;
      else if (c.subscribe) {
        const sub = c.subscribe(0);
        for await (const e of sub) { n++; if (e.position >= total) break; }
      } else {
        // readAllPage returns at least PAGE events unless the log ends there (rawLayout returns
        // whole records, so possibly more): a short page is the end.
        for (let after = 0; ; ) {
          const page = await c.readAllPage(after);
          n += page.length;
          if (page.length < PAGE) break;
          after = page[page.length - 1].position;
        }
      }
      const ms = now() - t;
      if (n !== total) throw new Error(`${c.name} caught up ${n} events, expected ${total}`);
      return { ms, events: n };
    },
    finish: (c) => c.destroy(),
  },
  // (e) p.rounds rounds of p.conc concurrent single-event appends over p.streams streams, each
  // with its exact expected version (appends are issued in order, so each check passes).
  e: {
    async setup(c, p) { await c.open(`e-${++dbCounter}`); return { events: makeEvents(p.rounds * p.conc, 15), ...p }; },
    async run(c, { events, rounds, conc, streams }) {
      if (c.putAll) { const t = now(); await c.putAll('Conc', events); return { ms: now() - t, events: events.length }; }
      const lat = [];
      let failures = 0;
      const perRound = conc / streams;
      const t0 = now();
      for (let r = 0; r < rounds; r++) {
        const calls = [];
        for (let j = 0; j < conc; j++) {
          const t = now();
          calls.push(
            c.append(`Conc-${j % streams}`, [events[r * conc + j]], r * perRound + Math.floor(j / streams))
              .then(() => lat.push(now() - t), (e) => { failures++; if (!isConflict(e)) throw e; }),
          );
        }
        await Promise.all(calls);
      }
      return { ms: now() - t0, events: events.length - failures, lat, failures };
    },
    teardown: (c) => c.destroy(),
  },
  // (f) p.writers writers on one stream, each appending p.each events one at a time: read the
  // stream version, append with it as the expected version, retry on conflict.
  f: {
    async setup(c, p) { await c.open(`f-${++dbCounter}`); return { events: makeEvents(p.writers * p.each, 16), ...p }; },
    async run(c, { events, writers, each }) {
      if (c.putAll) { const t = now(); await c.putAll('Hot-1', events); return { ms: now() - t, events: events.length }; }
      const lat = [];
      let retries = 0;
      const writer = async (w) => {
        for (let k = 0; k < each; k++) {
          const ev = events[w * each + k];
          const t = now();
          for (;;) {
            const v = await c.streamVersion('Hot-1');
            try { await c.append('Hot-1', [ev], v); break; } catch (e) { if (!isConflict(e)) throw e; retries++; }
          }
          lat.push(now() - t);
        }
      };
      const t0 = now();
      await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
      const ms = now() - t0;
      const v = await c.streamVersion('Hot-1');
      if (v !== events.length) throw new Error(`${c.name}: stream at ${v}, expected ${events.length}`);
      return { ms, events: events.length, lat, retries };
    },
    teardown: (c) => c.destroy(),
  },
};

// Live delivery (d), annals only: p.n appends, each timed from the append call to the moment a
// subscription (opened with after: 'end') yields it, here or in another tab.
const live = {
  async open(name) { await CONTESTANTS.annals.open(name); },
  // same tab
  async sameTab({ n, streams }) {
    const c = CONTESTANTS.annals;
    const events = makeEvents(n, 17);
    const zipf = zipfStreams(n, streams, 9);
    const sub = c.subscribe('end');
    const it = sub[Symbol.asyncIterator]();
    const lat = [];
    for (let i = 0; i < n; i++) {
      const t = now();
      const next = it.next();
      await c.append(`Order-${zipf[i]}`, [events[i]]);
      const { value } = await next;
      lat.push(now() - t);
      if (!value) throw new Error('subscription ended');
    }
    await it.return?.();
    sub.close();
    return { ms: lat.reduce((a, b) => a + b, 0), events: n, lat };
  },
  // the receiving tab: subscribe and acknowledge each event over a BroadcastChannel
  async listen(n) {
    const c = CONTESTANTS.annals;
    const ack = new BroadcastChannel('bench-ack');
    const lat = [];
    const sub = c.subscribe('end');
    globalThis.liveResult = (async () => {
      for await (const e of sub) {
        lat.push(wall() - e.data.t0);
        ack.postMessage(lat.length);
        if (lat.length >= n) break;
      }
      ack.close();
      return lat;
    })();
  },
  // the sending tab: one append at a time, the next after the other tab acknowledged
  async send({ n, streams }) {
    const c = CONTESTANTS.annals;
    const events = makeEvents(n, 18);
    const zipf = zipfStreams(n, streams, 10);
    const ack = new BroadcastChannel('bench-ack');
    let wake;
    ack.onmessage = () => wake?.();
    for (let i = 0; i < n; i++) {
      const acked = new Promise((resolve) => { wake = resolve; });
      await c.append(`Order-${zipf[i]}`, [{ ...events[i], data: { ...events[i].data, t0: wall() } }]);
      await acked;
    }
    ack.close();
  },
};

const prepared = {};
globalThis.bench = {
  ready: true,
  live,
  async prepare(w, name, p) { await WORKLOADS[w].prepare(CONTESTANTS[name], p); },
  async finish(w, name) { await WORKLOADS[w].finish(CONTESTANTS[name]); },
  // one repetition: setup (untimed), the timed run, teardown (untimed)
  async rep(w, name, p) {
    const W = WORKLOADS[w], c = CONTESTANTS[name];
    const input = W.setup ? await W.setup(c, p) : p;
    try {
      return await W.run(c, input);
    } finally {
      if (W.teardown) await W.teardown(c);
    }
  },
  eventSize: () => JSON.stringify(makeEvents(1000, 3).map((e) => e.data)).length / 1000,
};
globalThis.bench.annalsName = () => CONTESTANTS.annals.dbName.slice('annals:'.length);
globalThis.bench.live.close = () => CONTESTANTS.annals.close();
