// A device of the chaos suites: a memory store of the built package that appends continuously to
// shared streams and to streams of its own, with mixed expected versions, syncs live, and
// resolves every conflict the server gives it (rebase: its events are appended again).
import { mulberry32 } from '../../e2e/pages/shared.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class ChaosClient {
  /** The store, open. */
  store;
  /** Every id this device appended (its own events), in order. */
  appended = [];
  /** Appends the store itself refused (an exact expected version overtaken by a pull). */
  refusedLocally = 0;
  /** Conflicts the server gave, and how many events they held. */
  conflicts = 0;
  conflictEvents = 0;
  /** Conflicts resolved by `discard` (only when a rebase is impossible: duplicate id). */
  discarded = [];
  #label;
  #random;
  #shared;
  #own;
  #pause;
  #sync;
  #appending = false;
  #loop;
  #resolving;
  #resolveErrors = [];
  #onAppended;
  #closing = false;
  #conflictIterator;

  /**
   * `openStore` of the package; `label` names the device (and its own streams); `seed` makes its
   * choices repeatable; `shared` streams are named `Shared-0..`; `own` streams `Own-<label>-0..`;
   * `pause` [min, max] ms between two appends.
   */
  static async open(openStore, { label, seed, shared = 8, own = 4, pause = [5, 40], onAppended }) {
    const c = new ChaosClient();
    c.#onAppended = onAppended;
    c.store = await openStore({ name: label, storage: 'memory' });
    c.#label = label;
    c.#random = mulberry32(seed);
    c.#shared = shared;
    c.#own = own;
    c.#pause = pause;
    return c;
  }

  get label() {
    return this.#label;
  }

  get sync() {
    return this.#sync;
  }

  /** Starts a live sync with `url` and `token`, and the task resolving its conflicts. */
  startSync({ url, token }) {
    this.#sync = this.store.sync({ url, token, live: true });
    const conflicts = this.#sync.conflicts();
    this.#conflictIterator = conflicts;
    this.#resolving = (async () => {
      for await (const c of conflicts) {
        if (this.#closing) break;
        this.conflicts += 1;
        this.conflictEvents += c.events.length;
        try {
          await c.resolve('rebase');
        } catch (e) {
          if (e?.name === 'DuplicateEventIdError') {
            // The id stands for another event: nothing to append again (never expected here).
            this.discarded.push(...c.events.map((x) => x.id));
            await c.resolve('discard');
          } else if (e?.name !== 'StoreClosedError') {
            this.#resolveErrors.push(e);
          }
        }
      }
    })();
  }

  /** One append of 1–3 events to a shared or an own stream, with a mixed expected version. */
  async appendOnce() {
    const r = this.#random;
    const stream = r() < 0.6 ? `Shared-${Math.floor(r() * this.#shared)}` : `Own-${this.#label}-${Math.floor(r() * this.#own)}`;
    const n = 1 + Math.floor(r() * 3);
    const events = Array.from({ length: n }, (_, i) => ({
      id: crypto.randomUUID(),
      type: 'Noted',
      data: { by: this.#label, n: this.appended.length + i },
      metadata: { device: this.#label },
    }));
    const version = await this.store.streamVersion(stream);
    const x = r();
    const expectedVersion = x < 0.4 ? 'any' : x < 0.8 ? version : version === 0 ? 'no_stream' : 'stream_exists';
    try {
      await this.store.append(stream, events, { expectedVersion });
    } catch (e) {
      // A pull moved the stream between reading its version and appending: refused here,
      // nothing written (the store's own rule, not the server's).
      if (e?.name === 'WrongExpectedVersionError') {
        this.refusedLocally += 1;
        return 0;
      }
      throw e;
    }
    // `onAppended` takes the ids elsewhere (a soak keeps its own heap free of them).
    if (this.#onAppended) this.#onAppended(events.map((e) => e.id));
    else this.appended.push(...events.map((e) => e.id));
    return n;
  }

  /** Appends continuously until `stopAppending()`. */
  startAppending() {
    this.#appending = true;
    this.#loop = (async () => {
      while (this.#appending) {
        await this.appendOnce();
        const [min, max] = this.#pause;
        await sleep(min + this.#random() * (max - min));
      }
    })();
  }

  async stopAppending() {
    this.#appending = false;
    await this.#loop;
    if (process.env.CHAOS_DEBUG) console.error(new Date().toISOString(), 'stopped appending', this.#label);
  }

  /** Flushes; a rejection is returned as `{ ok: false, code }` instead of thrown. */
  async tryFlush() {
    const slow = process.env.CHAOS_DEBUG
      ? setInterval(() => console.error(new Date().toISOString(), this.#label, 'flush still waiting', JSON.stringify(this.#sync.state), JSON.stringify(this.proxy?.inFlight), JSON.stringify(this.proxy?.counts)), 10_000)
      : undefined;
    try {
      await this.#sync.flush();
      return { ok: true };
    } catch (e) {
      return { ok: false, name: e?.name, code: e?.code, message: String(e?.message ?? e) };
    } finally {
      clearInterval(slow);
    }
  }

  /** Every event of the store: [id, stream, version, serverPosition], in local order. */
  async events() {
    const out = [];
    for await (const e of this.store.readAll()) out.push([e.id, e.stream, e.version, e.serverPosition]);
    return out;
  }

  /** Errors met resolving conflicts (other than the store closing): none expected. */
  get resolveErrors() {
    return this.#resolveErrors;
  }

  async close() {
    this.#closing = true;
    this.#appending = false;
    await this.#loop?.catch(() => {});
    await this.#sync?.close();
    await this.store.close();
    await this.#conflictIterator?.return?.();
    await this.#resolving?.catch(() => {});
  }
}

/**
 * Syncs `clients` until they have nothing left to do: every one flushed with nothing pending
 * (conflicts rebased and pushed), then one more flush each so each has everyone's events.
 * Gives up after `rounds` rounds (the caller's assertions then say what is left).
 */
export async function settle(clients, { rounds = 60 } = {}) {
  const conflicts = () => clients.reduce((n, c) => n + c.conflicts, 0);
  for (let round = 0; round < rounds; round++) {
    const before = conflicts();
    let quiet = true;
    for (const c of clients) {
      const r = await c.tryFlush();
      if (process.env.CHAOS_DEBUG) console.error(new Date().toISOString(), 'settle', round, c.label, JSON.stringify(r), JSON.stringify(c.sync.state));
      if (!r.ok || c.sync.state.pending > 0) quiet = false;
    }
    // Conflicts are rebased on a task of their own: give it a moment, then look again.
    await sleep(300);
    if (quiet && conflicts() === before && clients.every((c) => c.sync.state.pending === 0)) {
      for (const c of clients) await c.sync.flush();
      if (clients.every((c) => c.sync.state.pending === 0)) return round + 1;
    }
  }
  return rounds;
}
