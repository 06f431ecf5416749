/** Subscriptions as hand-written async iterators. @internal */

import type { WasmSubscription } from './wasm/annals.js';

type RawSubscription = Pick<WasmSubscription, 'next' | 'nextBuffered' | 'close' | 'position'>;
import { fromRaw } from './translate.js';
import type { Subscription } from './types.js';
import type { Upcast } from './upcast.js';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * Adapts a wasm subscription. Not an `async *` generator on purpose: a generator's `return()`
 * waits until its pending `next()` settles, whereas `close()`, `return()` and an abort must end
 * a pending `next()` at once (the wasm `close()` resolves it with `undefined`).
 */
export class SubscriptionIterator<E>
  implements Subscription<E>, AsyncIterator<E, undefined, undefined>
{
  readonly #raw: RawSubscription;
  readonly #upcast: Upcast;
  #closed = false;
  #closing: Promise<void> | undefined;
  // The wasm next() must not be called before the previous call settled.
  #queue: Promise<unknown> = Promise.resolve();
  // next() calls queued or under way: while any is, a later one waits its turn.
  #pending = 0;
  #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => void this.close();

  /** `upcast` is applied to each event as it is delivered. */
  constructor(raw: RawSubscription, signal?: AbortSignal, upcast: Upcast = (e) => e) {
    this.#raw = raw;
    this.#upcast = upcast;
    if (signal !== undefined) {
      if (signal.aborted) {
        void this.close();
      } else {
        this.#signal = signal;
        signal.addEventListener('abort', this.#onAbort, { once: true });
      }
    }
  }

  get position(): number {
    return this.#raw.position;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<E, undefined>> {
    if (this.#closed) return Promise.resolve(DONE);
    if (this.#pending === 0) {
      // An event already read is handed over without a round trip through the wasm futures.
      const event = this.#raw.nextBuffered() as E | undefined;
      if (event !== undefined) return this.#deliver(event);
    }
    this.#pending += 1;
    const result = this.#queue.then(() => this.#step()).finally(() => {
      this.#pending -= 1;
    });
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #step(): Promise<IteratorResult<E, undefined>> {
    if (this.#closed) return DONE;
    let event: E | undefined;
    try {
      event = (this.#raw.nextBuffered() ?? (await this.#raw.next())) as E | undefined;
    } catch (e) {
      if (this.#closed) return DONE;
      const error = fromRaw(e);
      await this.close().catch(() => undefined);
      throw error;
    }
    // Closed meanwhile: the event in hand is dropped unmarked, so a subscription resuming the
    // same checkpoint delivers it again.
    if (this.#closed) return DONE;
    if (event === undefined) {
      // Ended by the wasm side (the store was closed): nothing left to save.
      this.#closed = true;
      this.#closing = Promise.resolve();
      this.#detach();
      return DONE;
    }
    return this.#deliver(event);
  }

  /**
   * `event` upcast. An upcaster that throws closes the subscription with its error, so the
   * event is not marked done: a subscription resuming the same checkpoint delivers it again.
   */
  async #deliver(event: E): Promise<IteratorResult<E, undefined>> {
    try {
      return { done: false, value: this.#upcast(event) };
    } catch (e) {
      await this.close().catch(() => undefined);
      throw e;
    }
  }

  /** `break` lands here; resolves once the checkpoint of finished events is saved. */
  async return(): Promise<IteratorResult<E, undefined>> {
    await this.close();
    return DONE;
  }

  async throw(error?: unknown): Promise<IteratorResult<E, undefined>> {
    await this.close();
    throw error;
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      this.#detach();
      let closing: Promise<void>;
      try {
        closing = Promise.resolve(this.#raw.close()).then(
          () => undefined,
          (e: unknown) => Promise.reject(fromRaw(e)),
        );
      } catch (e) {
        closing = Promise.reject(fromRaw(e));
      }
      closing.catch(() => undefined); // ignoring the result must not be an unhandled rejection
      this.#closing = closing;
    }
    return this.#closing;
  }

  #detach(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#signal = undefined;
  }
}
