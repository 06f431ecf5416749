/**
 * A store's mark: what it last knew of its IndexedDB database, kept outside IndexedDB so that
 * a database deleted behind the store's back is noticed when the store opens again
 * (`docs/sync.md`, "A database that vanished"). Here only reading and writing it; the
 * comparison is the core's (`judgeReopen`).
 * @internal
 */

import type { WasmStore } from './wasm/annals.js';

/** A mark as written: the database's identity, its cursor and pending count, and when. */
export interface StoreMark {
  identity: string;
  serverPosition: number;
  pending: number;
  markedAt: number;
}

/** Where marks are kept: read and write by store name. */
interface MarkShelf {
  read(name: string): Promise<unknown>;
  write(name: string, mark: StoreMark): Promise<void>;
}

const CACHE = 'annals-marks';

/**
 * Cache Storage where the context has it (pages and workers of secure contexts, `localhost`
 * included), else `localStorage` (pages), else none: then nothing is marked.
 */
function shelf(): MarkShelf | undefined {
  const g = globalThis as { caches?: CacheStorage; localStorage?: Storage; location?: { href: string } };
  if (g.caches !== undefined && g.location !== undefined) {
    const base = g.location.href;
    const url = (name: string) => new URL(`/.annals-mark/${encodeURIComponent(name)}`, base).href;
    return {
      async read(name) {
        const found = await (await g.caches!.open(CACHE)).match(url(name));
        return found === undefined ? undefined : found.json();
      },
      async write(name, mark) {
        const body = JSON.stringify(mark);
        await (await g.caches!.open(CACHE)).put(url(name), new Response(body, { headers: { 'content-type': 'application/json' } }));
      },
    };
  }
  let storage: Storage | undefined;
  try {
    storage = g.localStorage;
  } catch {
    // A page whose storage is blocked.
  }
  if (storage === undefined) return undefined;
  const key = (name: string) => `annals-mark:${name}`;
  return {
    async read(name) {
      const text = storage!.getItem(key(name));
      return text === null ? undefined : JSON.parse(text);
    },
    async write(name, mark) {
      storage!.setItem(key(name), JSON.stringify(mark));
    },
  };
}

/** How soon after a change the mark follows it, at most (ms). */
const MARK_DELAY_MS = 200;

/**
 * Keeps the mark of one open IndexedDB store up to date: written at open, within
 * MARK_DELAY_MS of each change the TypeScript layer sees (appends, imports, resolutions, sync
 * rounds; every second while a sync runs), and at close. A failed write is left for the next
 * one: a mark is a record of the past, never a condition of a call.
 */
export class Marker {
  readonly #raw: WasmStore;
  readonly #name: string;
  readonly #shelf: MarkShelf;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #written: string | undefined;
  #writing: Promise<void> = Promise.resolve();

  private constructor(raw: WasmStore, name: string, shelf: MarkShelf) {
    this.#raw = raw;
    this.#name = name;
    this.#shelf = shelf;
  }

  /**
   * For a store on IndexedDB where a mark can be kept: reads its mark (`previous`, as it reads
   * back; `undefined` when there is none or it cannot be read) and the marker.
   */
  static async open(raw: WasmStore): Promise<{ previous: unknown; marker: Marker } | undefined> {
    const name = raw.databaseName;
    if (raw.identity === undefined || name === undefined) return undefined;
    const where = shelf();
    if (where === undefined) return undefined;
    let previous: unknown;
    try {
      previous = await where.read(name);
    } catch {
      previous = undefined;
    }
    return { previous, marker: new Marker(raw, name, where) };
  }

  /** Writes the mark soon (one write for the changes of MARK_DELAY_MS). */
  touch(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.write();
    }, MARK_DELAY_MS);
  }

  /** Writes the mark now (after a write under way), unless it would not change. */
  write(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      try {
        const now = await this.#raw.mark();
        if (now === undefined) return;
        const text = JSON.stringify([now.identity, now.serverPosition, now.pending]);
        if (text === this.#written) return;
        await this.#shelf.write(this.#name, { ...now, markedAt: Date.now() });
        this.#written = text;
      } catch {
        // The store closed meanwhile, or the shelf refused: the next write tries again.
      }
    });
    return this.#writing;
  }

  /** Cancels the pending write and writes the mark one last time (before the store closes). */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.write();
  }
}
