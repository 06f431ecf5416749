/** The event store: a thin adapter over the wasm store that types its errors. @internal */

import { InvalidArgumentError } from './errors.js';
import { PagedIterable } from './iterable.js';
import type { WasmStore } from './wasm/annals.js';
import type * as Wasm from './wasm/annals.js';
import { SubscriptionIterator } from './subscription.js';
import { SyncHandle } from './sync.js';
import { fromRaw } from './translate.js';
import type {
  AppendOptions,
  AppendResult,
  Checkpoints,
  EventInput,
  EventIterable,
  EventStore,
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
} from './types.js';

/** Runs a wasm call, rejecting with the typed error (synchronous throws included). */
async function call<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw fromRaw(e);
  }
}

function isAbortSignal(s: unknown): s is AbortSignal {
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof (s as AbortSignal).aborted === 'boolean' &&
    typeof (s as AbortSignal).addEventListener === 'function' &&
    typeof (s as AbortSignal).removeEventListener === 'function'
  );
}

class Store implements EventStore {
  readonly #raw: WasmStore;
  readonly #syncs = new Set<SyncHandle>();
  readonly checkpoints: Checkpoints;
  readonly snapshots: Snapshots;

  constructor(raw: WasmStore) {
    this.#raw = raw;
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

  append<D, M extends object>(
    stream: string,
    events: EventInput<D, M> | EventInput<D, M>[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    return call(() => this.#raw.append(stream, events, options));
  }

  streamVersion(stream: string): Promise<number> {
    return call(() => this.#raw.streamVersion(stream));
  }

  readStream<D, M extends object>(
    stream: string,
    options?: ReadStreamOptions,
  ): EventIterable<RecordedEvent<D, M>> {
    const raw = this.#raw;
    return new PagedIterable(() => raw.readStream(stream, options));
  }

  readAll<D, M extends object>(options?: ReadAllOptions): EventIterable<RecordedEvent<D, M>> {
    const raw = this.#raw;
    return new PagedIterable(() => raw.readAll(options));
  }

  subscribe<D, M extends object>(options?: SubscribeOptions): Subscription<RecordedEvent<D, M>> {
    let signal: AbortSignal | undefined;
    if (typeof options === 'object' && options !== null) {
      // Read once, as caller input: a getter or a Proxy trap may throw. The wasm side reads
      // only the options it knows, so `signal` travels along unread.
      let s: unknown;
      let valid: boolean;
      try {
        s = options.signal;
        valid = s === undefined || isAbortSignal(s);
      } catch {
        throw new InvalidArgumentError('signal could not be read: a getter or Proxy trap threw', 'signal');
      }
      if (!valid) throw new InvalidArgumentError('signal must be an AbortSignal', 'signal');
      signal = s as AbortSignal | undefined;
    }
    let sub;
    try {
      sub = this.#raw.subscribe(options);
    } catch (e) {
      throw fromRaw(e);
    }
    return new SubscriptionIterator(sub, signal);
  }

  sync(options: SyncOptions): Sync {
    const handle: SyncHandle = new SyncHandle(this.#raw, options, () => this.#syncs.delete(handle));
    this.#syncs.add(handle);
    return handle;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#syncs].map((s) => s.close()));
    return call(() => this.#raw.close());
  }
}

/** Makes `openStore` over a way to get the initialised wasm module. @internal */
export function makeOpenStore(
  load: () => Pick<typeof Wasm, 'openStore'> | Promise<Pick<typeof Wasm, 'openStore'>>,
): (options?: OpenStoreOptions) => Promise<EventStore> {
  return async function openStore(options?: OpenStoreOptions): Promise<EventStore> {
    const wasm = await load();
    return new Store(await call(() => wasm.openStore(options)));
  };
}
