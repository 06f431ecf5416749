/**
 * Read-time schema evolution: the one place a store's upcasters are applied, for reads,
 * subscriptions, aggregates and conflicts alike. Stored events are never rewritten.
 * @internal
 */

import { InvalidArgumentError } from './errors.js';
import type { RecordedEvent, Upcaster } from './types.js';

/** A stored event as the app reads it. */
export type Upcast = <E>(event: E) => E;

const unchanged: Upcast = (event) => event;

/**
 * The upcast function of the `upcasters` option (`undefined`: none, events pass unchanged).
 * `InvalidArgumentError` on `upcasters` when it is not an object of functions.
 */
export function makeUpcast(upcasters: unknown): Upcast {
  if (upcasters === undefined) return unchanged;
  if (typeof upcasters !== 'object' || upcasters === null || Array.isArray(upcasters)) {
    throw new InvalidArgumentError('upcasters must be an object of functions by event type', 'upcasters');
  }
  const table = new Map<string, Upcaster>();
  for (const [type, upcaster] of Object.entries(upcasters)) {
    if (typeof upcaster !== 'function') {
      throw new InvalidArgumentError(`upcasters.${type} must be a function`, `upcasters.${type}`);
    }
    table.set(type, upcaster as Upcaster);
  }
  if (table.size === 0) return unchanged;
  return <E>(event: E): E => {
    const stored = event as RecordedEvent;
    let current = stored;
    const applied = new Set<string>();
    for (let up = table.get(current.type); up !== undefined && !applied.has(current.type); up = table.get(current.type)) {
      applied.add(current.type);
      const next = up(current);
      if (typeof next !== 'object' || next === null || typeof next.type !== 'string' || !('data' in next)) {
        throw new InvalidArgumentError(
          `upcasters.${current.type} must return an event { type, data, metadata? }`,
          `upcasters.${current.type}`,
        );
      }
      current = { ...stored, type: next.type, data: next.data, metadata: next.metadata ?? current.metadata };
    }
    return current as E;
  };
}
