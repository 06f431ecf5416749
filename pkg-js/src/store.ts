/** The event store: a thin adapter over the wasm store that types its errors. @internal */

import { InvalidArgumentError } from './errors.js';
import { Marker } from './mark.js';
import { readOption } from './input.js';
import { PagedIterable } from './iterable.js';
import type { WasmStore } from './wasm/annals.js';
import type * as Wasm from './wasm/annals.js';
import { SubscriptionIterator } from './subscription.js';
import { signalOption } from './signal.js';
import { SyncHandle } from './sync.js';
import { exportEvents, importEvents } from './transfer.js';
import { fromRaw } from './translate.js';
import { makeUpcast, type Upcast } from './upcast.js';
import type {
  Aggregate,
  AggregateOptions,
  AppendOptions,
  AppendResult,
  Checkpoints,
  EventInput,
  EventIterable,
  EventStore,
  ExportOptions,
  ImportResult,
  ImportSource,
  JsonObject,
  JsonValue,
  OpenStoreOptions,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  Snapshot,
  Snapshots,
  SubscribeOptions,
  Subscription,
  Sync,
  SyncOptions,
  VanishedDatabase,
} from './types.js';

/** Runs a wasm call, rejecting with the typed error (synchronous throws included). */
async function call<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw fromRaw(e);
  }
}

class Store implements EventStore {
  readonly #raw: WasmStore;
  readonly #upcast: Upcast;
  readonly #syncs = new Set<SyncHandle>();
  readonly #marker: Marker | undefined;
  readonly checkpoints: Checkpoints;
  readonly snapshots: Snapshots;
  readonly recovery: VanishedDatabase | undefined;

  constructor(raw: WasmStore, upcast: Upcast, marker: Marker | undefined, recovery: VanishedDatabase | undefined) {
    this.#raw = raw;
    this.#upcast = upcast;
    this.#marker = marker;
    this.recovery = recovery;
    this.checkpoints = Object.freeze({
      get: (name: string) => call(() => raw.checkpointGet(name)),
      set: (name: string, position: number) => call(() => raw.checkpointSet(name, position)),
    });
    this.snapshots = Object.freeze({
      save: <S>(stream: string, snapshot: Snapshot<S>) =>
        call(() => raw.snapshotSave(stream, snapshot)),
      load: <S>(stream: string) =>
        call(() => raw.snapshotLoad(stream)) as Promise<Snapshot<S> | undefined>,
    });
  }

  get storage(): 'indexeddb' | 'memory' {
    return this.#raw.storage;
  }

  append<D = JsonValue, M extends object = JsonObject>(
    stream: string,
    events: EventInput<D, M> | readonly EventInput<D, M>[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    return call(() => this.#raw.append(stream, events, options)).finally(() => this.#marker?.touch());
  }

  streamVersion(stream: string): Promise<number> {
    return call(() => this.#raw.streamVersion(stream));
  }

  readStream<D, M extends object>(
    stream: string,
    options?: ReadStreamOptions,
  ): EventIterable<RecordedEvent<D, M>> {
    const raw = this.#raw;
    return new PagedIterable(() => raw.readStream(stream, options), this.#upcast);
  }

  readAll<D, M extends object>(options?: ReadAllOptions): EventIterable<RecordedEvent<D, M>> {
    const raw = this.#raw;
    return new PagedIterable(() => raw.readAll(options), this.#upcast);
  }

  subscribe<D, M extends object>(options?: SubscribeOptions): Subscription<RecordedEvent<D, M>> {
    // The wasm side reads only the options it knows, so `signal` travels along unread.
    const signal = signalOption(options);
    let sub;
    try {
      sub = this.#raw.subscribe(options);
    } catch (e) {
      throw fromRaw(e);
    }
    return new SubscriptionIterator(sub, signal, this.#upcast);
  }

  async aggregateStream<S, D, M extends object>(
    stream: string,
    options: AggregateOptions<S, D, M>,
  ): Promise<Aggregate<S>> {
    const { initialState, evolve, snapshotEvery } = aggregateOptions(options);
    const snapshot = await this.snapshots.load<S>(stream);
    let state = snapshot === undefined ? initialState() : snapshot.state;
    const from = snapshot?.version ?? 0;
    let version = from;
    for await (const event of this.readStream<D, M>(stream, { fromVersion: from + 1 })) {
      state = evolve(state, event);
      version = event.version;
    }
    if (snapshotEvery !== undefined && version - from >= snapshotEvery) {
      await this.snapshots.save(stream, { version, state });
    }
    return { state, version };
  }

  export(options?: ExportOptions): AsyncIterable<string> {
    const raw = this.#raw;
    return { [Symbol.asyncIterator]: () => exportEvents(raw, options) };
  }

  import(source: ImportSource): Promise<ImportResult> {
    return importEvents(this.#raw, source).finally(() => this.#marker?.touch());
  }

  sync(options: SyncOptions): Sync {
    // While a sync runs, the mark follows its pulls and confirmations (every second at most).
    const marking = this.#marker && setInterval(() => this.#marker?.touch(), SYNC_MARK_INTERVAL_MS);
    const handle: SyncHandle = new SyncHandle(
      this.#raw,
      options,
      () => {
        clearInterval(marking);
        this.#marker?.touch();
        this.#syncs.delete(handle);
      },
      this.#upcast,
    );
    this.#syncs.add(handle);
    return handle;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#syncs].map((s) => s.close()));
    await this.#marker?.close();
    return call(() => this.#raw.close());
  }
}

/** How often a running sync has the store's mark brought up to date (ms). */
const SYNC_MARK_INTERVAL_MS = 1000;

type WasmEntry = Pick<typeof Wasm, 'openStore' | 'judgeReopen'>;

/** Makes `openStore` over a way to get the initialised wasm module. @internal */
export function makeOpenStore(load: () => WasmEntry | Promise<WasmEntry>): (options?: OpenStoreOptions) => Promise<EventStore> {
  return async function openStore(options?: OpenStoreOptions): Promise<EventStore> {
    // Checked before anything opens: invalid options create no database.
    const upcast: Upcast = makeUpcast(readOption(options, 'upcasters'));
    const wasm = await load();
    const raw = await call(() => wasm.openStore(options));
    // An IndexedDB store compares its database with its mark (the core decides), then marks it.
    const marked = await Marker.open(raw);
    let recovery: VanishedDatabase | undefined;
    if (marked !== undefined) {
      const vanished = wasm.judgeReopen(marked.previous, raw.identity!);
      if (vanished !== undefined) recovery = Object.freeze({ kind: 'vanished', ...vanished, markedAt: new Date(vanished.markedAt) });
      await marked.marker.write();
    }
    return new Store(raw, upcast, marked?.marker, recovery);
  };
}

/** The options of `aggregateStream`, checked: `InvalidArgumentError` naming the one at fault. */
function aggregateOptions<S, D, M extends object>(options: AggregateOptions<S, D, M>): AggregateOptions<S, D, M> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError('options must be an object { initialState, evolve, snapshotEvery? }', 'options');
  }
  const initialState = readOption(options, 'initialState');
  const evolve = readOption(options, 'evolve');
  const snapshotEvery = readOption(options, 'snapshotEvery');
  if (typeof initialState !== 'function') {
    throw new InvalidArgumentError('initialState must be a function returning the state of an empty stream', 'initialState');
  }
  if (typeof evolve !== 'function') {
    throw new InvalidArgumentError('evolve must be a function (state, event) => state', 'evolve');
  }
  if (snapshotEvery !== undefined && !(Number.isSafeInteger(snapshotEvery) && (snapshotEvery as number) > 0)) {
    throw new InvalidArgumentError('snapshotEvery must be a positive integer', 'snapshotEvery');
  }
  return { initialState, evolve, snapshotEvery } as AggregateOptions<S, D, M>;
}
