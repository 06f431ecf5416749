/**
 * Public types of annals. `docs/api.md` in the repository is the contract they implement; the
 * doc comments here say what holds.
 * @module
 */

import type { AnnalsError } from './errors.js';

// ---- JSON ----------------------------------------------------------------------------------

/** A JSON scalar. */
export type JsonPrimitive = string | number | boolean | null;
/**
 * A JSON-compatible value: what event data, metadata and snapshot state are made of. Numbers
 * must be finite and nesting at most 128 levels deep (checked when appended).
 */
export type JsonValue = JsonPrimitive | readonly JsonValue[] | JsonObject;
/** A JSON-compatible object. An `undefined` property is allowed by the type (optional fields) but refused when appended. */
export type JsonObject = { readonly [key: string]: JsonValue | undefined };

/**
 * `T` where it is JSON-compatible, `never` where it is not (a `Date`, `Map`, `Set`, `RegExp`,
 * function, bigint, symbol): `EventInput` checks `data` and `metadata` with it, so
 * `data: new Date()` fails to compile. `unknown` and `any` pass; they are checked when appended.
 */
export type JsonCompatible<T> = unknown extends T
  ? T
  : T extends JsonValue
    ? T
    : T extends Date | Map<unknown, unknown> | Set<unknown> | RegExp | ((...args: never[]) => unknown) | bigint | symbol | undefined
      ? never
      : T extends readonly unknown[]
        ? { readonly [I in keyof T]: JsonCompatible<T[I]> }
        : T extends object
          ? { readonly [K in keyof T]: K extends string ? JsonCompatible<T[K]> : never }
          : never;

// ---- opening -------------------------------------------------------------------------------

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /** Database name; default `'annals'`. Stores with one name share one IndexedDB database (one origin). */
  name?: string;
  /**
   * `'auto'` (default) picks IndexedDB where `indexedDB` exists, memory elsewhere;
   * `'indexeddb'` fails with `StorageError` where there is none. `store.storage` says which.
   */
  storage?: 'auto' | 'indexeddb' | 'memory';
  /** Largest encoded size of one event (type, data and metadata as JSON), in bytes; default 1 MiB. */
  maxEventBytes?: number;
  /**
   * Read-time schema evolution: for an event type, a function that turns a stored event of
   * that type into the shape the app reads now. Applied to every read, subscription,
   * `aggregateStream` and conflict; a stored event is never rewritten.
   */
  upcasters?: Upcasters;
}

/**
 * Turns a stored event of an old shape into the current one: returns its `type`, `data` and,
 * if changed, `metadata`. The event's identity (`id`, `stream`, `version`, `position`,
 * `recordedAt`, `serverPosition`) stays. When the returned type has an upcaster of its own, that
 * one runs next (each type at most once per event).
 */
export type Upcaster = (event: RecordedEvent) => {
  /** The type the event reads as now (its own, or a new name). */
  readonly type: string;
  /** The data in today's shape. */
  readonly data: unknown;
  /** The metadata, when it changes; the stored metadata otherwise. */
  readonly metadata?: Readonly<Record<string, unknown>>;
};

/** Upcasters by the stored event type they apply to. */
export type Upcasters = Readonly<Record<string, Upcaster>>;

// ---- events --------------------------------------------------------------------------------

/** An event to append. `data` and `metadata` must be JSON-compatible ({@link JsonCompatible}). */
export interface EventInput<D = JsonValue, M extends object = JsonObject> {
  /** What happened: 1..256 characters, no control characters. */
  readonly type: string;
  /** The payload: a JSON-compatible value. */
  readonly data: D & JsonCompatible<D>;
  /** A JSON-compatible object; by convention `correlationId`, `causationId`. Default `{}`. */
  readonly metadata?: M & JsonCompatible<M>;
  /** A UUID in hyphenated form, the idempotency key; generated (UUIDv7) when absent. */
  readonly id?: string;
}

/** An event as the store holds it. Never changes once recorded. */
export interface RecordedEvent<D = unknown, M extends object = Record<string, unknown>> {
  /** The event's UUID (lower-case, hyphenated): its identity in every store and on the sync server. */
  readonly id: string;
  /** The stream it belongs to. */
  readonly stream: string;
  /** What happened. */
  readonly type: string;
  /** Position in its stream: the first event of a stream has version 1; no gaps. */
  readonly version: number;
  /** Position in this store's global order: 1, 2, 3 … with no gaps. Local to one database. */
  readonly position: number;
  /** The payload. */
  readonly data: D;
  /** The metadata object (`{}` when none was given). */
  readonly metadata: M;
  /** When the append committed, on the device that appended it. */
  readonly recordedAt: Date;
  /**
   * Place in the sync server's global order, the same on every device; `null` while the event
   * is pending (appended here, not yet confirmed by the server). Always `null` in a store that
   * never synced.
   */
  readonly serverPosition: number | null;
}

// ---- appending -----------------------------------------------------------------------------

/**
 * `'any'`: no check. `'no_stream'`: the stream must have no events. `'stream_exists'`: it must
 * have some. A number `n`: its last version must be `n` (`0` ≡ no events).
 */
export type ExpectedVersion = 'any' | 'no_stream' | 'stream_exists' | number;

/** Options of `append`. */
export interface AppendOptions {
  /** Checked inside the transaction that writes; default `'any'`. */
  expectedVersion?: ExpectedVersion;
}

/** What an append reports. */
export interface AppendResult {
  /** The stream's version after the append: pass it as the next `expectedVersion`. */
  readonly nextExpectedVersion: number;
  /** Global position of the last event appended. */
  readonly position: number;
}

// ---- reading -------------------------------------------------------------------------------

/** `'forward'`: oldest first. `'backward'`: newest first. */
export type Direction = 'forward' | 'backward';

/** Options of `readStream`. */
export interface ReadStreamOptions {
  /** The first version yielded (inclusive). Default: 1 forward, the last version backward. */
  fromVersion?: number;
  /** Default `'forward'`. */
  direction?: Direction;
  /** The most events the read yields. Default: no cap. */
  limit?: number;
}

/** Which events of the global order a read or subscription yields: each part set must match. */
export interface EventFilter {
  /** Only events of these stored types (before upcasting). At least one. */
  types?: string[];
  /** Only events of these streams, by exact name (`'Order-1'` is not `'Order-10'`). At least one. */
  streams?: string[];
  /** Only events of streams whose name starts with this, e.g. `'Order-'` (a category). */
  streamPrefix?: string;
}

/** Options of `readAll`. */
export interface ReadAllOptions extends EventFilter {
  /** Only events with a position above this (exclusive); default 0 = all. */
  after?: number;
  /** Default `'forward'`. */
  direction?: Direction;
  /** The most events the read yields. Default: no cap. */
  limit?: number;
}

/** A read: iterate it with `for await`, or collect it with `toArray()`. Fetches in pages. */
export interface EventIterable<E = RecordedEvent> extends AsyncIterable<E> {
  /** Starts the read anew: each iteration reads from storage. */
  [Symbol.asyncIterator](): AsyncIterator<E, undefined, undefined>;
  /** All events of the read, in order. */
  toArray(): Promise<E[]>;
}

// ---- subscribing ---------------------------------------------------------------------------

/** Options of `subscribe`. */
export interface SubscribeOptions extends EventFilter {
  /** Default 0: catch up from the beginning. `'end'`: only events appended after this call. */
  after?: number | 'end';
  /** A durable name: resume after its saved position, and save progress under it. */
  checkpoint?: string;
  /** Aborting closes the subscription; an already aborted signal yields nothing. */
  signal?: AbortSignal;
}

/** Catch-up then live events, in position order. */
export interface Subscription<E = RecordedEvent> extends AsyncIterable<E> {
  /** The subscription itself: iterate it once. */
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

// ---- checkpoints, snapshots, aggregates ----------------------------------------------------

/** A saved state of a stream's projection, as of one of its versions. */
export interface Snapshot<S = unknown> {
  /** The stream version the state reflects: at most the stream's version when saved. */
  readonly version: number;
  /** The state: JSON-compatible. */
  readonly state: S;
}

/** Durable consumer positions, by name. */
export interface Checkpoints {
  /** The position saved under `name`, or `undefined`. */
  get(name: string): Promise<number | undefined>;
  /** Saves `position` under `name`, replacing what was there. */
  set(name: string, position: number): Promise<void>;
}

/** One saved state per stream. */
export interface Snapshots {
  /** Saves `snapshot` for `stream`, replacing the one before; `snapshot.version` must not exceed the stream's version. */
  save<S = unknown>(stream: string, snapshot: Snapshot<S>): Promise<void>;
  /** The snapshot saved for `stream`, or `undefined`. */
  load<S = unknown>(stream: string): Promise<Snapshot<S> | undefined>;
}

/** Options of `aggregateStream`: how to fold a stream's events into a state. */
export interface AggregateOptions<S, D = unknown, M extends object = Record<string, unknown>> {
  /** The state of a stream with no events (called once per call, when no snapshot is used). */
  initialState: () => S;
  /** The state after `event`; events come in version order, upcast. */
  evolve: (state: S, event: RecordedEvent<D, M>) => S;
  /**
   * Save a snapshot once this many events were folded since the snapshot the call started
   * from (or since the start): a positive integer. The state must then be JSON-compatible.
   * Default: never save.
   */
  snapshotEvery?: number;
}

/** What `aggregateStream` reports. */
export interface Aggregate<S> {
  /** The state after the stream's last event read. */
  readonly state: S;
  /** The version of that event: pass it as `expectedVersion` when appending what you decide (`0`: no events). */
  readonly version: number;
}

// ---- export and import ---------------------------------------------------------------------

/** Options of `export`: which events; without any, all of them. */
export interface ExportOptions {
  /** Only events with a position above this (an incremental export). */
  after?: number;
  /** Only these streams, by exact name. */
  streams?: string[];
  /** Only streams whose name starts with this. */
  streamPrefix?: string;
}

/** NDJSON text to import: a string, a `Blob` (a `File`), or chunks of text or UTF-8 bytes. */
export type ImportSource =
  | string
  | Blob
  | Iterable<string | Uint8Array>
  | AsyncIterable<string | Uint8Array>
  | ReadableStream<string | Uint8Array>;

/** What an import reports. */
export interface ImportResult {
  /** How many events the input held; each now stands in the store (written, or already there). */
  readonly events: number;
}

// ---- sync ----------------------------------------------------------------------------------

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
  readonly pending: number;
  /** Every server event up to this server position is in the store. */
  readonly serverPosition: number;
  /** The last exchange with the server succeeded. */
  readonly connected: boolean;
  /** Why the last round failed, until one succeeds (a `SyncError`, or a storage error). */
  readonly error?: AnnalsError;
}

/** What to do with a conflict: append its events again after the server's, or drop them. */
export type ConflictResolution = 'rebase' | 'discard';

/**
 * Pending appends the server refused: the refused append and every later pending append of
 * the same stream, moved out of the stream until resolved.
 */
export interface Conflict<D = unknown, M extends object = Record<string, unknown>> {
  /** The stream. */
  readonly stream: string;
  /** What the refused append expected. */
  readonly expected: ExpectedVersion;
  /** The stream's version on the server when it refused (`null` when not known). */
  readonly actual: number | null;
  /**
   * Why the server refused it: `'wrong_expected_version'`, `'duplicate_event_id'` (an id
   * stands for another event on the server), `'too_large'` (over the server's limits).
   */
  readonly reason: 'wrong_expected_version' | 'duplicate_event_id' | 'too_large';
  /** The events, as they stood here (`serverPosition: null`), upcast. */
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

// ---- the store -----------------------------------------------------------------------------

/**
 * The IndexedDB database this store had is gone: `openStore` found another one (new and
 * empty, or made by another tab after the loss) than the one the store's mark names. The
 * browser deleted it (Chromium does after some crashes; a user clearing site data does too).
 * Confirmed events come back with the next sync; pending events the server had not received
 * are lost (at most `pendingAtLastMark`, plus any appended after the mark).
 */
export interface VanishedDatabase {
  readonly kind: 'vanished';
  /** The identity of the database that is gone. */
  readonly previousIdentity: string;
  /** The identity of the database opened instead. */
  readonly identity: string;
  /** Its sync cursor at its last mark: a sync pulls back at least these confirmed events. */
  readonly lastServerPosition: number;
  /** Its pending events (appended here, not confirmed by the server) at its last mark. */
  readonly pendingAtLastMark: number;
  /** When the last mark was written. */
  readonly markedAt: Date;
}

/** An open store. Every call rejects with a typed `AnnalsError`; bad input writes nothing. */
export interface EventStore {
  /** What the store keeps its events in (what `storage: 'auto'` chose). */
  readonly storage: 'indexeddb' | 'memory';
  /**
   * Set when this store's IndexedDB database vanished since it was last open here: opening
   * found another database than the one the store had marked (see {@link VanishedDatabase}).
   * `undefined` otherwise: a database opened here before, a new one, and every memory store.
   * Reported by the first open after the loss only.
   */
  readonly recovery: VanishedDatabase | undefined;
  /**
   * Appends one event or several to `stream`, all or nothing, with consecutive versions, if
   * the stream's version meets `expectedVersion` when the transaction decides
   * (`WrongExpectedVersionError` otherwise). A retry whose events all stand in the stream, by
   * id, in order, with the same content, returns the original result and writes nothing.
   */
  append<D = JsonValue, M extends object = JsonObject>(
    stream: string,
    events: EventInput<D, M> | readonly EventInput<D, M>[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /** The stream's last version, `0` if it has none. */
  streamVersion(stream: string): Promise<number>;
  /** The events of one stream, by version; upcast. Lazy: invalid options reject the first `next()`. */
  readStream<D = unknown, M extends object = Record<string, unknown>>(
    stream: string,
    options?: ReadStreamOptions,
  ): EventIterable<RecordedEvent<D, M>>;
  /** The events of the global order, by position, filtered; upcast. Lazy like `readStream`. */
  readAll<D = unknown, M extends object = Record<string, unknown>>(
    options?: ReadAllOptions,
  ): EventIterable<RecordedEvent<D, M>>;
  /**
   * Catch-up, then live events (other tabs' and workers' included), in position order, with no
   * gap or duplicate at the hand-over; upcast. Throws `InvalidArgumentError` /
   * `StoreClosedError` synchronously.
   */
  subscribe<D = unknown, M extends object = Record<string, unknown>>(
    options?: SubscribeOptions,
  ): Subscription<RecordedEvent<D, M>>;
  /**
   * Folds a stream into a state: from the stream's latest snapshot when there is one (its
   * state and version), else from `initialState()`, through `evolve` for each later event
   * (upcast); saves a snapshot every `snapshotEvery` events when asked.
   */
  aggregateStream<S, D = unknown, M extends object = Record<string, unknown>>(
    stream: string,
    options: AggregateOptions<S, D, M>,
  ): Promise<Aggregate<S>>;
  /** Durable consumer positions. */
  readonly checkpoints: Checkpoints;
  /** One saved state per stream. */
  readonly snapshots: Snapshots;
  /**
   * The store's events as NDJSON, in position order, as stored (not upcast): chunks of text
   * ending at line ends, one event per line (the line format is in `docs/api.md`).
   */
  export(options?: ExportOptions): AsyncIterable<string>;
  /**
   * Imports NDJSON written by `export`: each event is appended to its stream with its id, at
   * its version, with its `recordedAt`; an event already there is skipped, so importing twice
   * writes nothing. Imported events are local appends (pending for sync).
   */
  import(source: ImportSource): Promise<ImportResult>;
  /**
   * Starts syncing with an annals server. One sync per store at a time (a second call before
   * the first is closed throws `InvalidArgumentError` on `sync`).
   */
  sync(options: SyncOptions): Sync;
  /** Ends subscriptions and syncs; later calls reject with `StoreClosedError`. */
  close(): Promise<void>;
}
