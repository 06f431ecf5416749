/** Public types of annals. The behaviour behind them is described in the package README. */

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /** Database name; default `'annals'`. Stores with one name share one IndexedDB database. */
  name?: string;
  /** `'auto'` (default) picks IndexedDB where `indexedDB` exists, memory elsewhere. */
  storage?: 'auto' | 'indexeddb' | 'memory';
  /** Largest encoded size of one event; default 1 MiB. */
  maxEventBytes?: number;
}

/** An event to append. */
export interface EventInput<D = unknown, M extends object = Record<string, unknown>> {
  /** 1..256 characters. */
  type: string;
  /** A JSON-compatible value. */
  data: D;
  /** A JSON-compatible object; by convention `correlationId`, `causationId`. */
  metadata?: M;
  /** A UUID, the idempotency key; generated when absent. */
  id?: string;
}

/** An event as stored. */
export interface RecordedEvent<D = unknown, M extends object = Record<string, unknown>> {
  id: string;
  stream: string;
  type: string;
  /** Position in its stream: the first event of a stream has version 1. */
  version: number;
  /** Position in the store's global order: 1, 2, 3 … with no gaps. */
  position: number;
  data: D;
  metadata: M;
  /** Set by the store when the append committed, on the device that appended it. */
  recordedAt: Date;
  /**
   * Place in the sync server's global order, the same on every device; `null` while the event
   * is pending (appended here, not yet confirmed by the server). Always `null` in a store that
   * never synced.
   */
  serverPosition: number | null;
}

/**
 * `'any'`: no check. `'no_stream'`: the stream must have no events. `'stream_exists'`: it must
 * have some. A number `n`: its last version must be `n` (`0` ≡ no events).
 */
export type ExpectedVersion = 'any' | 'no_stream' | 'stream_exists' | number;

export interface AppendOptions {
  /** Default `'any'`. */
  expectedVersion?: ExpectedVersion;
}

export interface AppendResult {
  /** The stream's version after the append: pass it as the next `expectedVersion`. */
  nextExpectedVersion: number;
  /** Global position of the last event appended. */
  position: number;
}

export type Direction = 'forward' | 'backward';

export interface ReadStreamOptions {
  /** Inclusive. Default: 1 forward, the last version backward. */
  fromVersion?: number;
  direction?: Direction;
  /** The most events the read yields. */
  limit?: number;
}

export interface ReadAllOptions {
  /** Exclusive position; default 0 = all. */
  after?: number;
  direction?: Direction;
  /** The most events the read yields. */
  limit?: number;
  /** Only events of these types. */
  types?: string[];
  /** Only events of these streams, by exact name (`'Order-1'` is not `'Order-10'`). */
  streams?: string[];
  /** Only events of streams whose name starts with this, e.g. `'Order-'`. */
  streamPrefix?: string;
}

export interface SubscribeOptions {
  /** Default 0: catch up from the beginning. `'end'`: only events appended after this call. */
  after?: number | 'end';
  /** A durable name: resume after its saved position, and save progress under it. */
  checkpoint?: string;
  /** Only events of these types. */
  types?: string[];
  /** Only events of these streams, by exact name (`'Order-1'` is not `'Order-10'`). */
  streams?: string[];
  /** Only events of streams whose name starts with this. */
  streamPrefix?: string;
  /** Aborting closes the subscription; an already aborted signal yields nothing. */
  signal?: AbortSignal;
}

/** A read: iterate it with `for await`, or collect it with `toArray()`. Fetches in pages. */
export interface EventIterable<E = RecordedEvent> extends AsyncIterable<E> {
  [Symbol.asyncIterator](): AsyncIterator<E, undefined, undefined>;
  /** All events of the read, in order. */
  toArray(): Promise<E[]>;
}

/** Catch-up then live events, in position order. */
export interface Subscription<E = RecordedEvent> extends AsyncIterable<E> {
  [Symbol.asyncIterator](): AsyncIterator<E, undefined, undefined>;
  /** Last position delivered (before the first event: the position it started after). */
  readonly position: number;
  /**
   * Ends the iteration: a pending `next()` ends at once. The returned promise resolves once
   * the checkpoint of the events finished before is saved (it never causes an unhandled
   * rejection when ignored).
   */
  close(): Promise<void>;
}

export interface Snapshot<S = unknown> {
  version: number;
  state: S;
}

export interface Checkpoints {
  get(name: string): Promise<number | undefined>;
  set(name: string, position: number): Promise<void>;
}

export interface Snapshots {
  /** `snapshot.version` must not exceed the stream's version. */
  save<S = unknown>(stream: string, snapshot: Snapshot<S>): Promise<void>;
  load<S = unknown>(stream: string): Promise<Snapshot<S> | undefined>;
}

/** Options of `store.sync()`. */
export interface SyncOptions {
  /** The annals server, e.g. `'https://sync.example.com'`. */
  url: string;
  /** This device's bearer token; the server maps it to a tenant. */
  token: string;
  /**
   * Default `true`: push at once, pull when the server announces new events, retry failed
   * rounds with backoff. `false`: nothing happens until `flush()`.
   */
  live?: boolean;
  /** Aborting it closes the sync. */
  signal?: AbortSignal;
}

/** Options of `sync.flush()`. */
export interface FlushOptions {
  /** Aborting it rejects the flush with the signal's reason (the round itself goes on). */
  signal?: AbortSignal;
}

/** A snapshot of a sync's state. */
export interface SyncState {
  /** Events appended here and not yet confirmed by the server. */
  pending: number;
  /** Every server event up to this server position is in the store. */
  serverPosition: number;
  /** The last exchange with the server succeeded. */
  connected: boolean;
  /** Why the last round failed, until one succeeds (a `SyncError`, or a storage error). */
  error?: import('./errors.js').AnnalsError;
}

/** What to do with a conflict: append its events again after the server's, or drop them. */
export type ConflictResolution = 'rebase' | 'discard';

/**
 * Pending appends the server refused: the refused append and every later pending append of
 * the same stream, moved out of the stream until resolved.
 */
export interface Conflict<D = unknown, M extends object = Record<string, unknown>> {
  readonly stream: string;
  /** What the refused append expected. */
  readonly expected: ExpectedVersion;
  /** The stream's version on the server when it refused (`null` when not known). */
  readonly actual: number | null;
  /** Why the server refused it. */
  readonly reason: 'wrong_expected_version' | 'duplicate_event_id' | 'too_large';
  /** The events, as they stood here (`serverPosition: null`). */
  readonly events: RecordedEvent<D, M>[];
  /**
   * `'rebase'`: appends the same events (same ids and data) after the stream's events as the
   * store shows them now, expecting exactly that version. `'discard'`: removes them for good.
   * Resolving a conflict already resolved (in another tab) does nothing.
   */
  resolve(action: ConflictResolution): Promise<void>;
}

/** A store's sync with an annals server. */
export interface Sync {
  /**
   * Resolves once every event appended before the call is confirmed by the server or surfaced
   * as a conflict, and every event the server had committed when the call began is in the
   * store. Rejects with `SyncError` when the server cannot be reached or refuses.
   */
  flush(options?: FlushOptions): Promise<void>;
  /** A snapshot: read it again for news. */
  readonly state: SyncState;
  /** The unresolved conflicts, each once, then new ones as they are recorded. */
  conflicts<D = unknown, M extends object = Record<string, unknown>>(): AsyncIterableIterator<Conflict<D, M>>;
  /** Stops syncing: no request, connection or timer is left. */
  close(): Promise<void>;
}

export interface EventStore {
  append<D = unknown, M extends object = Record<string, unknown>>(
    stream: string,
    events: EventInput<D, M> | EventInput<D, M>[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /** The stream's last version, `0` if it has none. */
  streamVersion(stream: string): Promise<number>;
  readStream<D = unknown, M extends object = Record<string, unknown>>(
    stream: string,
    options?: ReadStreamOptions,
  ): EventIterable<RecordedEvent<D, M>>;
  readAll<D = unknown, M extends object = Record<string, unknown>>(
    options?: ReadAllOptions,
  ): EventIterable<RecordedEvent<D, M>>;
  /** Throws `InvalidArgumentError` / `StoreClosedError` synchronously. */
  subscribe<D = unknown, M extends object = Record<string, unknown>>(
    options?: SubscribeOptions,
  ): Subscription<RecordedEvent<D, M>>;
  readonly checkpoints: Checkpoints;
  readonly snapshots: Snapshots;
  /**
   * Starts syncing with an annals server. One sync per store at a time (a second call before
   * the first is closed throws `InvalidArgumentError` on `sync`).
   */
  sync(options: SyncOptions): Sync;
  /** Ends subscriptions and syncs; later calls reject with `StoreClosedError`. */
  close(): Promise<void>;
}
