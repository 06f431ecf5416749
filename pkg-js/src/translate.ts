/** Translation of the wasm module's errors into the typed ones. @internal */

import {
  type AnnalsError,
  DuplicateEventIdError,
  InvalidArgumentError,
  isAnnalsError,
  QuotaExceededError,
  StorageError,
  StoreClosedError,
  SyncError,
  type SyncErrorCode,
  WrongExpectedVersionError,
} from './errors.js';
import type { ExpectedVersion } from './types.js';

interface RawError {
  name?: unknown;
  message?: unknown;
  stream?: unknown;
  expected?: unknown;
  actual?: unknown;
  id?: unknown;
  field?: unknown;
  cause?: unknown;
  code?: unknown;
}

/**
 * Turns an error thrown by the wasm module into its typed counterpart, by `name`.
 * Anything that is not one of the module's errors (a wasm `RuntimeError`, a `TypeError`, an
 * error already translated) is returned untouched.
 * @internal
 */
export function fromRaw(raw: unknown): unknown {
  if (isAnnalsError(raw) || typeof raw !== 'object' || raw === null) return raw;
  const r = raw as RawError;
  const message = typeof r.message === 'string' ? r.message : '';
  let e: AnnalsError;
  switch (r.name) {
    case 'WrongExpectedVersionError':
      e = new WrongExpectedVersionError(
        message,
        r.stream as string,
        r.expected as ExpectedVersion,
        r.actual as number,
      );
      break;
    case 'DuplicateEventIdError':
      e = new DuplicateEventIdError(message, r.id as string);
      break;
    case 'InvalidArgumentError':
      e = new InvalidArgumentError(message, r.field as string);
      break;
    case 'StorageError':
      e = new StorageError(message, r.cause);
      break;
    case 'QuotaExceededError':
      e = new QuotaExceededError(message, r.cause);
      break;
    case 'StoreClosedError':
      e = new StoreClosedError(message || undefined);
      break;
    case 'SyncError':
      e = new SyncError(message, r.code as SyncErrorCode);
      break;
    default:
      return raw;
  }
  return e;
}
