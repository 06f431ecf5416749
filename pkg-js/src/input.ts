/** Reading caller-supplied options in the TypeScript layer. @internal */

import { InvalidArgumentError } from './errors.js';

/**
 * `options[key]`, read once as caller input: a getter or a Proxy trap that throws is an
 * `InvalidArgumentError` on `key`. `undefined` when `options` is not an object (whoever
 * checks the options object reports that).
 */
export function readOption(options: unknown, key: string): unknown {
  if (typeof options !== 'object' || options === null) return undefined;
  try {
    return (options as Record<string, unknown>)[key];
  } catch {
    throw new InvalidArgumentError(`${key} could not be read: a getter or Proxy trap threw`, key);
  }
}
