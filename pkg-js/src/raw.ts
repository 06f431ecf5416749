/**
 * The surface the wasm module (`dist/wasm/annals.js`, made by wasm-bindgen) exports. It
 * validates every argument and holds all store logic; this package only adapts it.
 * Every failure is a plain `Error` whose `name` says which (see `errors.ts`).
 * @internal
 */

import type { RecordedEvent } from './types.js';

export interface RawModule {
  openStore(options?: unknown): Promise<RawStore>;
}

export interface RawStore {
  append(stream: unknown, events: unknown, options?: unknown): Promise<{ nextExpectedVersion: number; position: number }>;
  streamVersion(stream: unknown): Promise<number>;
  /** Throws synchronously on invalid arguments or a closed store. */
  readStream(stream: unknown, options?: unknown): RawReader;
  readAll(options?: unknown): RawReader;
  /** Throws synchronously. Knows nothing of `signal`. */
  subscribe(options?: unknown): RawSubscription;
  checkpointGet(name: unknown): Promise<number | undefined>;
  checkpointSet(name: unknown, position: unknown): Promise<void>;
  snapshotSave(stream: unknown, snapshot: unknown): Promise<void>;
  snapshotLoad(stream: unknown): Promise<{ version: number; state: unknown } | undefined>;
  close(): Promise<void>;
  /** Throws synchronously (`InvalidArgumentError` on `sync` when the store already syncs). */
  sync(transport: unknown, options: { live?: unknown }): RawSync;
  /** Throws synchronously on a closed store. */
  conflicts(): RawConflicts;
  resolve(key: number, action: unknown): Promise<void>;
}

export interface RawSync {
  flush(): Promise<void>;
  /** `error` is a raw error, translated by the caller. */
  readonly state: { pending: number; serverPosition: number; connected: boolean; error?: unknown };
  close(): void;
}

export interface RawConflict {
  key: number;
  stream: string;
  expected: 'any' | 'no_stream' | 'stream_exists' | number;
  actual: number | null;
  reason: 'wrong_expected_version' | 'duplicate_event_id' | 'too_large';
  events: RecordedEvent[];
}

export interface RawConflicts {
  /** `undefined`: closed. */
  next(): Promise<RawConflict | undefined>;
  close(): void;
}

export interface RawReader {
  /** An empty array: the read is over. */
  nextPage(): Promise<RecordedEvent[]>;
}

export interface RawSubscription {
  /**
   * `undefined`: closed. Must not be called again before the previous call settled.
   * Calling it saves the checkpoint of the event delivered before.
   */
  next(): Promise<RecordedEvent | undefined>;
  /**
   * The next event when one is already read and waiting, delivered as `next()` would;
   * `undefined`: call `next()`. Synchronous; must not be called while a `next()` is pending.
   */
  nextBuffered(): RecordedEvent | undefined;
  /** Ends a pending `next()` at once; resolves once the checkpoint of finished events is saved. */
  close(): Promise<void>;
  readonly position: number;
}
