// A device of the sync end-to-end tests: one store, its sync, and what the tests ask of it.
// The same module runs in a Chromium page (IndexedDB) and in Node (memory), given that
// context's `openStore`, so every device is driven the same way.
import { mulberry32, plainEvent } from './shared.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Device {
  #store;
  #sync;
  #conflicts;
  #waiting;
  /** Conflicts drained and not resolved yet, by the id of their first event. */
  #open = new Map();

  static async open(openStore, name, storage) {
    const device = new Device();
    device.#store = await openStore({ name, storage });
    return device;
  }

  get store() {
    return this.#store;
  }

  /**
   * Appends about `events` events over `streams` shared streams, in appends of 1–3 events with
   * mixed expected versions (`any`, the version this device sees, `no_stream` on a new stream,
   * `stream_exists` otherwise), or all `any` with `anyOnly`. Returns the ids appended, in order.
   */
  async workload({ seed, events = 1000, streams = 20, prefix = 'Shared', anyOnly = false }) {
    const random = mulberry32(seed);
    const ids = [];
    let appends = 0;
    while (ids.length < events) {
      const stream = `${prefix}-${Math.floor(random() * streams)}`;
      const n = Math.min(1 + Math.floor(random() * 3), events - ids.length);
      const batch = Array.from({ length: n }, (_, i) => ({
        id: crypto.randomUUID(),
        type: 'Noted',
        data: { seed, n: ids.length + i, text: `event ${ids.length + i} of ${seed}` },
        metadata: { device: String(seed) },
      }));
      const version = await this.#store.streamVersion(stream);
      const r = random();
      const expectedVersion =
        anyOnly || r < 0.4 ? 'any' : r < 0.8 ? version : version === 0 ? 'no_stream' : 'stream_exists';
      await this.#store.append(stream, batch, { expectedVersion });
      ids.push(...batch.map((e) => e.id));
      appends += 1;
    }
    return { ids, appends };
  }

  startSync(options) {
    this.#sync = this.#store.sync(options);
    this.#conflicts = this.#sync.conflicts();
  }

  async flush() {
    await this.#sync.flush();
  }

  /** Flushes; a rejection is returned as `{ name, code, message }` instead of thrown. */
  async tryFlush() {
    try {
      await this.#sync.flush();
      return { ok: true };
    } catch (e) {
      return { ok: false, name: e?.name, code: e?.code, message: String(e?.message ?? e) };
    }
  }

  state() {
    const { error, ...state } = this.#sync.state;
    return { ...state, error: error && { name: error.name, code: error.code } };
  }

  /** The conflicts the iterator yields until none comes for `quietMs`; kept to be resolved. */
  async drainConflicts(quietMs = 300) {
    const quiet = Symbol('quiet');
    const drained = [];
    for (;;) {
      // A next() still waiting from the last drain is the one to go on waiting for.
      this.#waiting ??= this.#conflicts.next();
      const result = await Promise.race([this.#waiting, sleep(quietMs).then(() => quiet)]);
      if (result === quiet) return drained;
      this.#waiting = undefined;
      if (result.done) return drained;
      const c = result.value;
      this.#open.set(c.events[0].id, c);
      drained.push({ stream: c.stream, reason: c.reason, expected: c.expected, actual: c.actual, ids: c.events.map((e) => e.id) });
    }
  }

  /** Resolves every drained conflict not resolved yet with `action`; returns how many. */
  async resolveAll(action) {
    const open = [...this.#open.values()];
    this.#open.clear();
    for (const c of open) await c.resolve(action);
    return open.length;
  }

  /** Every stream's events, and every event in local order, as plain JSON. */
  async dump(streamNames) {
    const streams = {};
    for (const s of streamNames) streams[s] = (await this.#store.readStream(s).toArray()).map(plainEvent);
    const all = (await this.#store.readAll().toArray()).map(plainEvent);
    return { streams, all };
  }

  /** Waits until an event with `id` arrives on a subscription; resolves with it. */
  async waitFor(id, after = 'end') {
    for await (const e of this.#store.subscribe({ after })) {
      if (e.id === id) return plainEvent(e);
    }
    return undefined;
  }

  async close() {
    await this.#sync?.close();
    await this.#store.close();
  }
}
