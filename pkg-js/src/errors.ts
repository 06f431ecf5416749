/**
 * Typed errors of annals (`docs/api.md`, "Errors").
 *
 * Every failure a call reports is an {@link AnnalsError} with a stable `name` and a numeric
 * `errorCode`. Use the type guards (`isWrongExpectedVersionError(e)`, …) rather than
 * `instanceof` when your bundle may hold two copies of this package: the guards look at a
 * brand shared by all copies.
 */

import type { ExpectedVersion } from './types.js';
import { ErrorCode as Codes, type RawError } from './wasm/annals.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/**
 * Each kind of error and its number, in the spirit of HTTP statuses, stable across releases.
 * The Rust core defines them (`ErrorCode` in `src/core/error.rs`) and the wasm module exports
 * them: the values come from there, and this declaration is compiled against that export.
 */
export const ErrorCode = Object.freeze(
  Object.fromEntries(Object.entries(Codes).filter(([, n]) => typeof n === 'number')),
) as {
  readonly InvalidArgument: 400;
  readonly DuplicateEventId: 409;
  readonly StoreClosed: 410;
  readonly WrongExpectedVersion: 412;
  readonly Storage: 500;
  readonly Sync: 502;
  readonly WasmLoad: 503;
  readonly QuotaExceeded: 507;
};
Codes satisfies typeof ErrorCode;
true satisfies Same<keyof typeof ErrorCode, keyof typeof Codes>;
/** The number of a kind of error. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
/** The kinds of error. */
export type ErrorKind = keyof typeof ErrorCode;

/** The names an {@link AnnalsError} can carry: the kind and `Error`. */
export type AnnalsErrorName = `${ErrorKind}Error`;

// Symbol.for: one registry per realm, shared by every copy of this package.
const BRAND = Symbol.for('annals.AnnalsError');

/** Base class of every error annals reports. */
export abstract class AnnalsError extends Error {
  /** The class's name: stable across releases, and the same in every copy of the package. */
  abstract override readonly name: AnnalsErrorName;
  /** The kind's number ({@link ErrorCode}). */
  readonly errorCode: ErrorCode;

  protected constructor(message: string, errorCode: ErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.errorCode = errorCode;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** The stream's version was not the expected one; nothing was written. */
export class WrongExpectedVersionError extends AnnalsError {
  override readonly name = 'WrongExpectedVersionError' as const;
  /** Made by the store when the failure happens; public so that tests and adapters can make one. */
  constructor(
    message: string,
    /** The stream appended to. */
    readonly stream: string,
    /** What the caller expected. */
    readonly expected: ExpectedVersion,
    /** The stream's last version when the append was checked (`0`: no events). */
    readonly actual: number,
  ) {
    super(message, ErrorCode.WrongExpectedVersion);
  }
}

/** An event id already stands for another event; nothing was written. */
export class DuplicateEventIdError extends AnnalsError {
  override readonly name = 'DuplicateEventIdError' as const;
  /** Made by the store when the failure happens; public so that tests and adapters can make one. */
  constructor(
    message: string,
    /** The id in question. */
    readonly id: string,
  ) {
    super(message, ErrorCode.DuplicateEventId);
  }
}

/** An argument was invalid; nothing was written. */
export class InvalidArgumentError extends AnnalsError {
  override readonly name = 'InvalidArgumentError' as const;
  /** Made by the store when the failure happens; public so that tests and adapters can make one. */
  constructor(
    message: string,
    /**
     * The argument or option at fault, as the caller wrote it: `stream`, `events[1].type`,
     * `events[0].data` (the message names the place inside, `… at .items[3]`), `expectedVersion`,
     * `snapshot.version` … (the list is in `docs/api.md`, "Errors").
     */
    readonly field: string,
  ) {
    super(message, ErrorCode.InvalidArgument);
  }
}

/**
 * The storage failed and the call had no effect. `cause` is what the storage reported: the
 * `DOMException` IndexedDB raised (`ConstraintError`, `VersionError`, …), or, for a fault the
 * store found itself (a stored record that does not decode), a description of it.
 */
export class StorageError extends AnnalsError {
  override readonly name: 'StorageError' | 'QuotaExceededError' = 'StorageError';
  /** Made by the store when the failure happens; public so that tests and adapters can make one. */
  constructor(message: string, cause?: unknown, errorCode: ErrorCode = ErrorCode.Storage) {
    super(message, errorCode, { cause });
  }
}

/** The storage is full. */
export class QuotaExceededError extends StorageError {
  override readonly name = 'QuotaExceededError' as const;
  /** Made by the store when the failure happens; public so that tests and adapters can make one. */
  constructor(message: string, cause?: unknown) {
    super(message, cause, ErrorCode.QuotaExceeded);
  }
}

/**
 * The store is closed: `reason` `'close'` when the app closed it; `'versionchange'` when
 * another tab or worker opened its database at a newer schema, and this store closed its
 * connection so that upgrade could go ahead (reopen it, with code that knows the new schema).
 */
export class StoreClosedError extends AnnalsError {
  override readonly name = 'StoreClosedError' as const;
  /** Made by the store when the failure happens; public so that tests and adapters can make one. */
  constructor(
    message = 'the store is closed',
    /** Why: `close()` was called, or another context upgraded the database's schema. */
    readonly reason: 'close' | 'versionchange' = 'close',
  ) {
    super(message, ErrorCode.StoreClosed);
  }
}

/** What went wrong talking to the sync server. */
export type SyncErrorCode = 'unauthorized' | 'too_large' | 'network' | 'server' | 'protocol' | 'rate_limited';
true satisfies Same<SyncErrorCode, Extract<RawError, { name: 'SyncError' }>['code']>;

/**
 * Syncing failed: `unauthorized` (401/403), `too_large` (413), `network` (unreachable),
 * `server` (5xx), `protocol` (an answer that is not the protocol), `rate_limited` (429: wait
 * `retryAfterMs`). Nothing local was lost; a live sync retries by itself.
 */
export class SyncError extends AnnalsError {
  override readonly name = 'SyncError' as const;
  /** Made by the store when the failure happens; public so that tests and adapters can make one. */
  constructor(
    message: string,
    /** Which failure. */
    readonly code: SyncErrorCode,
    /**
     * With `rate_limited`: how long, in milliseconds, the server asked this client to wait
     * before its next request (a `flush()` before then rejects at once, sending nothing).
     * `undefined` with other codes.
     */
    readonly retryAfterMs?: number,
  ) {
    super(message, ErrorCode.Sync);
  }
}

// ---- type guards -------------------------------------------------------------------------

/** Whether `e` is an error reported by annals (any copy of the package). */
export function isAnnalsError(e: unknown): e is AnnalsError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { [BRAND]?: unknown })[BRAND] === true &&
    typeof (e as { errorCode?: unknown }).errorCode === 'number'
  );
}

function hasName<N extends AnnalsErrorName>(e: unknown, ...names: N[]): boolean {
  return isAnnalsError(e) && (names as string[]).includes(e.name);
}

/** Whether `e` is a {@link WrongExpectedVersionError} (of any copy of the package). */
export function isWrongExpectedVersionError(e: unknown): e is WrongExpectedVersionError {
  return hasName(e, 'WrongExpectedVersionError');
}
/** Whether `e` is a {@link DuplicateEventIdError} (of any copy of the package). */
export function isDuplicateEventIdError(e: unknown): e is DuplicateEventIdError {
  return hasName(e, 'DuplicateEventIdError');
}
/** Whether `e` is an {@link InvalidArgumentError} (of any copy of the package). */
export function isInvalidArgumentError(e: unknown): e is InvalidArgumentError {
  return hasName(e, 'InvalidArgumentError');
}
/** Whether `e` is a {@link StorageError}; also true for a {@link QuotaExceededError}, a kind of storage error. */
export function isStorageError(e: unknown): e is StorageError {
  return hasName(e, 'StorageError', 'QuotaExceededError');
}
/** Whether `e` is a {@link QuotaExceededError} (of any copy of the package). */
export function isQuotaExceededError(e: unknown): e is QuotaExceededError {
  return hasName(e, 'QuotaExceededError');
}
/** Whether `e` is a {@link StoreClosedError} (of any copy of the package). */
export function isStoreClosedError(e: unknown): e is StoreClosedError {
  return hasName(e, 'StoreClosedError');
}
/** Whether `e` is a {@link SyncError} (of any copy of the package). */
export function isSyncError(e: unknown): e is SyncError {
  return hasName(e, 'SyncError');
}
