/** Paged reads as async iterables. @internal */

import type { WasmReader } from './wasm/annals.js';

/** What a paged read needs of the wasm reader. */
type RawReader = Pick<WasmReader, 'nextPage'>;
import { fromRaw } from './translate.js';
import type { EventIterable } from './types.js';
import type { Upcast } from './upcast.js';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A read that starts when iteration starts: each `for await` (or `toArray()`) opens the read
 * anew through `open`, so an invalid argument surfaces as a rejection of the first `next()`.
 */
export class PagedIterable<E> implements EventIterable<E> {
  readonly #open: () => RawReader;
  readonly #upcast: Upcast;

  /** `upcast` is applied to each event as it is handed out. */
  constructor(open: () => RawReader, upcast: Upcast = (e) => e) {
    this.#open = open;
    this.#upcast = upcast;
  }

  [Symbol.asyncIterator](): AsyncIterator<E, undefined, undefined> {
    return new PageIterator<E>(this.#open, this.#upcast);
  }

  /** Page by page, without an iterator step (and its promises) per event. */
  async toArray(): Promise<E[]> {
    const all: E[] = [];
    let reader: RawReader | undefined;
    for (;;) {
      let page: E[];
      try {
        reader ??= this.#open();
        page = (await reader.nextPage()) as E[];
      } catch (e) {
        throw fromRaw(e);
      }
      if (page.length === 0) return all;
      for (const e of page) all.push(this.#upcast(e));
    }
  }
}

class PageIterator<E> implements AsyncIterator<E, undefined, undefined> {
  readonly #open: () => RawReader;
  readonly #upcast: Upcast;
  #reader: RawReader | undefined;
  #page: (E | undefined)[] = [];
  #index = 0;
  #done = false;
  // Calls of next() run one after the other: the wasm reader serves one page at a time.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(open: () => RawReader, upcast: Upcast) {
    this.#open = open;
    this.#upcast = upcast;
  }

  next(): Promise<IteratorResult<E, undefined>> {
    const result = this.#queue.then(() => this.#step());
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #step(): Promise<IteratorResult<E, undefined>> {
    while (!this.#done) {
      if (this.#index < this.#page.length) {
        const value = this.#page[this.#index] as E;
        this.#page[this.#index++] = undefined; // let the consumer own it alone
        return { done: false, value: this.#upcast(value) };
      }
      let page: E[];
      try {
        this.#reader ??= this.#open();
        page = (await this.#reader.nextPage()) as E[];
      } catch (e) {
        this.#end();
        throw fromRaw(e);
      }
      if (this.#done) break; // return() was called meanwhile
      if (page.length === 0) {
        this.#end();
        break;
      }
      this.#page = page;
      this.#index = 0;
    }
    return DONE;
  }

  /** `break` in a `for await` lands here: no further page is fetched. */
  async return(): Promise<IteratorResult<E, undefined>> {
    this.#end();
    return DONE;
  }

  #end(): void {
    this.#done = true;
    this.#page = [];
    this.#reader = undefined;
  }
}
