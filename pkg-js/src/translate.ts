/** Translation of the wasm module's errors into the typed ones. @internal */

import {
  DuplicateEventIdError,
  InvalidArgumentError,
  isAnnalsError,
  QuotaExceededError,
  StorageError,
  StoreClosedError,
  SyncError,
  WrongExpectedVersionError,
} from './errors.js';
import type { RawError } from './wasm/annals.js';

/**
 * Turns an error thrown by the wasm module (a `RawError`, declared beside the Rust that makes
 * it) into its typed counterpart, by `name`. Anything that is not one of the module's errors
 * (a wasm `RuntimeError`, a `TypeError`, an error already translated) is returned untouched.
 * @internal
 */
export function fromRaw(raw: unknown): unknown {
  if (isAnnalsError(raw) || typeof raw !== 'object' || raw === null) return raw;
  const r = raw as RawError;
  const message = typeof r.message === 'string' ? r.message : '';
  switch (r.name) {
    case 'WrongExpectedVersionError':
      return new WrongExpectedVersionError(message, r.stream, r.expected, r.actual);
    case 'DuplicateEventIdError':
      return new DuplicateEventIdError(message, r.id);
    case 'InvalidArgumentError':
      return new InvalidArgumentError(message, r.field);
    case 'StorageError':
      return new StorageError(message, r.cause);
    case 'QuotaExceededError':
      return new QuotaExceededError(message, r.cause);
    case 'StoreClosedError':
      return new StoreClosedError(message || undefined, r.reason);
    case 'SyncError':
      return new SyncError(message, r.code, r.retryAfterMs);
    default:
      // Every kind the module declares is handled above; anything else passes through.
      r satisfies never;
      return raw;
  }
}
