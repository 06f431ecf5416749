/** The `signal` option calls take. @internal */

import { InvalidArgumentError } from './errors.js';

function isAbortSignal(s: unknown): s is AbortSignal {
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof (s as AbortSignal).aborted === 'boolean' &&
    typeof (s as AbortSignal).addEventListener === 'function' &&
    typeof (s as AbortSignal).removeEventListener === 'function'
  );
}

/**
 * The `signal` of caller-supplied `options`, read once (a getter or a Proxy trap may throw):
 * `undefined`, or an `AbortSignal`; anything else is an `InvalidArgumentError` on `signal`.
 * @internal
 */
export function signalOption(options: unknown): AbortSignal | undefined {
  if (typeof options !== 'object' || options === null) return undefined;
  let signal: unknown;
  try {
    signal = (options as { signal?: unknown }).signal;
  } catch {
    throw new InvalidArgumentError('signal could not be read: a getter or Proxy trap threw', 'signal');
  }
  if (signal === undefined || isAbortSignal(signal)) return signal;
  throw new InvalidArgumentError('signal must be an AbortSignal', 'signal');
}
