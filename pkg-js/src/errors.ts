/**
 * Typed errors of annals.
 *
 * Every failure a call reports is an {@link AnnalsError} with a stable `name` and a numeric
 * `errorCode`. Use the type guards (`isWrongExpectedVersionError(e)`, …) rather than
 * `instanceof` when your bundle may hold two copies of this package: the guards look at a
 * brand shared by all copies.
 */

import type { ExpectedVersion } from './types.js';

/** Numeric codes, in the spirit of HTTP statuses. Stable across releases. */
export const ErrorCode = {
  InvalidArgument: 400,
  DuplicateEventId: 409,
  StoreClosed: 410,
  WrongExpectedVersion: 412,
  Storage: 500,
  QuotaExceeded: 507,
  Sync: 502,
  WasmLoad: 503,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The names an {@link AnnalsError} can carry. */
export type AnnalsErrorName =
  | 'WrongExpectedVersionError'
  | 'DuplicateEventIdError'
  | 'InvalidArgumentError'
  | 'StorageError'
  | 'QuotaExceededError'
  | 'StoreClosedError'
  | 'SyncError'
  | 'WasmLoadError';

// Symbol.for: one registry per realm, shared by every copy of this package.
const BRAND = Symbol.for('annals.AnnalsError');

/** Base class of every error annals reports. */
export abstract class AnnalsError extends Error {
  abstract override readonly name: AnnalsErrorName;
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
  constructor(
    message: string,
    /** The offending argument or option, e.g. `stream`, `type`, `data`, `expectedVersion`. */
    readonly field: string,
  ) {
    super(message, ErrorCode.InvalidArgument);
  }
}

/** The storage failed; `cause` holds what it reported. */
export class StorageError extends AnnalsError {
  override readonly name: 'StorageError' | 'QuotaExceededError' = 'StorageError';
  constructor(message: string, cause?: unknown, errorCode: ErrorCode = ErrorCode.Storage) {
    super(message, errorCode, { cause });
  }
}

/** The storage is full. */
export class QuotaExceededError extends StorageError {
  override readonly name = 'QuotaExceededError' as const;
  constructor(message: string, cause?: unknown) {
    super(message, cause, ErrorCode.QuotaExceeded);
  }
}

/** The store was closed. */
export class StoreClosedError extends AnnalsError {
  override readonly name = 'StoreClosedError' as const;
  constructor(message = 'the store is closed') {
    super(message, ErrorCode.StoreClosed);
  }
}

/** What went wrong talking to the sync server. */
export type SyncErrorCode = 'unauthorized' | 'too_large' | 'network' | 'server' | 'protocol';

/**
 * Syncing failed: `unauthorized` (401/403), `too_large` (413), `network` (unreachable),
 * `server` (5xx), `protocol` (an answer that is not the protocol). Nothing local was lost;
 * a live sync retries by itself.
 */
export class SyncError extends AnnalsError {
  override readonly name = 'SyncError' as const;
  constructor(
    message: string,
    /** Which failure. */
    readonly code: SyncErrorCode,
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

export function isWrongExpectedVersionError(e: unknown): e is WrongExpectedVersionError {
  return hasName(e, 'WrongExpectedVersionError');
}
export function isDuplicateEventIdError(e: unknown): e is DuplicateEventIdError {
  return hasName(e, 'DuplicateEventIdError');
}
export function isInvalidArgumentError(e: unknown): e is InvalidArgumentError {
  return hasName(e, 'InvalidArgumentError');
}
/** Also true for a {@link QuotaExceededError}, a kind of storage error. */
export function isStorageError(e: unknown): e is StorageError {
  return hasName(e, 'StorageError', 'QuotaExceededError');
}
export function isQuotaExceededError(e: unknown): e is QuotaExceededError {
  return hasName(e, 'QuotaExceededError');
}
export function isStoreClosedError(e: unknown): e is StoreClosedError {
  return hasName(e, 'StoreClosedError');
}
export function isSyncError(e: unknown): e is SyncError {
  return hasName(e, 'SyncError');
}
