/**
 * Sync with an annals server: the HTTP transport (fetch, and a server-sent-events stream read
 * with fetch so it can carry the bearer token) and thin adapters. Every decision — what to
 * push, how a pull lands, conflicts, retries and backoff — is the wasm engine's.
 * @internal
 */

import { InvalidArgumentError } from './errors.js';
import { signalOption } from './signal.js';
import type { RawAnswer, RawTransport, WasmConflicts, WasmStore, WasmSync } from './wasm/annals.js';
import { fromRaw } from './translate.js';
import type { Upcast } from './upcast.js';
import type {
  Conflict,
  ConflictResolution,
  FlushOptions,
  RecordedEvent,
  Sync,
  SyncOptions,
  SyncState,
} from './types.js';

/** How long one request may take before it counts as a network failure. */
const REQUEST_TIMEOUT_MS = 30_000;

interface Waiter {
  known: number;
  resolve: (head: number) => void;
  reject: (e: unknown) => void;
}

/**
 * What the engine calls: `push`, `pull`, `notice`, `sleep`, `close`. Requests resolve
 * `{ status, body }` and reject only when the server cannot be reached; nothing here retries.
 */
export class HttpTransport implements RawTransport {
  readonly #base: string;
  readonly #token: string;
  readonly #closed = new AbortController();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #head = -1;
  #stream: Promise<void> | undefined;
  #waiters: Waiter[] = [];

  constructor(url: string, token: string) {
    this.#base = url.replace(/\/+$/, '');
    this.#token = token;
  }

  push(body: unknown): Promise<RawAnswer> {
    return this.#request('/v1/push', { method: 'POST', body: JSON.stringify(body) });
  }

  pull(after: number, limit: number): Promise<RawAnswer> {
    return this.#request(`/v1/pull?after=${after}&limit=${limit}`, { method: 'GET' });
  }

  /** Resolves once the notice stream reports a head above `known`; opens the stream if needed. */
  notice(known: number): Promise<number> {
    if (this.#head > known) return Promise.resolve(this.#head);
    const waiting = new Promise<number>((resolve, reject) => this.#waiters.push({ known, resolve, reject }));
    this.#stream ??= this.#listen().finally(() => {
      this.#stream = undefined;
    });
    return waiting;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed.signal.aborted) return resolve();
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }

  close(): void {
    this.#closed.abort();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#fail(new Error('the sync was closed'));
  }

  #headers(extra?: Record<string, string>): Record<string, string> {
    return { authorization: `Bearer ${this.#token}`, ...extra };
  }

  /** A signal aborted by `close()` or, for requests, after the timeout. */
  #signal(timeout: boolean): { signal: AbortSignal; done: () => void } {
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    this.#closed.signal.addEventListener('abort', abort, { once: true });
    const timer = timeout ? setTimeout(abort, REQUEST_TIMEOUT_MS) : undefined;
    if (this.#closed.signal.aborted) abort();
    return {
      signal: controller.signal,
      done: () => {
        if (timer !== undefined) clearTimeout(timer);
        this.#closed.signal.removeEventListener('abort', abort);
      },
    };
  }

  async #request(path: string, init: { method: string; body?: string }): Promise<RawAnswer> {
    const { signal, done } = this.#signal(true);
    try {
      const headers = this.#headers(init.body === undefined ? undefined : { 'content-type': 'application/json' });
      const response = await fetch(this.#base + path, { ...init, headers, signal });
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: response.status, body, retryAfter: response.headers.get('retry-after') };
    } finally {
      done();
    }
  }

  /** Reads `GET /v1/notices` until it ends or fails; then every waiter is rejected. */
  async #listen(): Promise<void> {
    const { signal, done } = this.#signal(false);
    try {
      const response = await fetch(`${this.#base}/v1/notices`, {
        headers: this.#headers({ accept: 'text/event-stream' }),
        signal,
      });
      if (response.status !== 200 || response.body === null) {
        // The server's refusal (a 429's wait, say) is the engine's to read: hand it the answer.
        let body: unknown;
        try {
          body = JSON.parse(await response.text());
        } catch {
          body = undefined;
        }
        const refused: RawAnswer = { status: response.status, body, retryAfter: response.headers.get('retry-after') };
        throw Object.assign(new Error(`the notice stream answered HTTP ${response.status}`), refused);
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = '';
      let data = '';
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        buffered += value;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).replace(/\r$/, '');
          buffered = buffered.slice(newline + 1);
          if (line === '') {
            if (data !== '') this.#heard(data);
            data = '';
          } else if (line.startsWith('data:')) {
            data += line.slice(5).trimStart();
          }
        }
      }
      throw new Error('the notice stream ended');
    } catch (e) {
      this.#fail(e);
    } finally {
      done();
    }
  }

  #heard(data: string): void {
    let head: unknown;
    try {
      head = (JSON.parse(data) as { head?: unknown }).head;
    } catch {
      return;
    }
    if (typeof head !== 'number' || head <= this.#head) return;
    this.#head = head;
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const w of waiting) {
      if (head > w.known) w.resolve(head);
      else this.#waiters.push(w);
    }
  }

  #fail(error: unknown): void {
    this.#head = -1;
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const w of waiting) w.reject(error);
  }
}

/** Rejects with the signal's reason once it aborts; `promise` otherwise. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The conflicts of a store as an async iterable; each has `resolve`. */
class ConflictIterator<D, M extends object> implements AsyncIterableIterator<Conflict<D, M>> {
  readonly #raw: WasmConflicts;
  readonly #store: WasmStore;
  readonly #upcast: Upcast;
  #closed = false;

  constructor(raw: WasmConflicts, store: WasmStore, upcast: Upcast) {
    this.#raw = raw;
    this.#store = store;
    this.#upcast = upcast;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Conflict<D, M>, undefined>> {
    if (this.#closed) return { done: true, value: undefined };
    let raw;
    try {
      raw = await this.#raw.next();
    } catch (e) {
      this.return();
      throw fromRaw(e);
    }
    if (raw === undefined) return this.return();
    const store = this.#store;
    const { key, ...fields } = raw;
    const conflict = Object.freeze({
      ...fields,
      events: fields.events.map(this.#upcast) as RecordedEvent<D, M>[],
      resolve: async (action: ConflictResolution): Promise<void> => {
        try {
          await store.resolve(key, action);
        } catch (e) {
          throw fromRaw(e);
        }
      },
    });
    return { done: false, value: conflict };
  }

  async return(): Promise<IteratorReturnResult<undefined>> {
    if (!this.#closed) {
      this.#closed = true;
      this.#raw.close();
    }
    return { done: true, value: undefined };
  }
}

/** A store's sync: the engine (in wasm) over an {@link HttpTransport}. */
export class SyncHandle implements Sync {
  readonly #raw: WasmSync;
  readonly #store: WasmStore;
  readonly #onClose: () => void;
  #signal: AbortSignal | undefined;
  #closed = false;
  readonly #onAbort = (): void => void this.close();

  readonly #upcast: Upcast;

  /** `upcast` is applied to the events of conflicts. */
  constructor(store: WasmStore, options: SyncOptions, onClose: () => void, upcast: Upcast) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('options must be an object { url, token, live?, signal? }', 'options');
    }
    const { url, token, live } = options;
    if (typeof url !== 'string' || !/^https?:\/\/[^/]/.test(url)) {
      throw new InvalidArgumentError('url must be an http(s) URL of an annals server', 'url');
    }
    if (typeof token !== 'string' || token === '') {
      throw new InvalidArgumentError('token must be a non-empty string', 'token');
    }
    this.#signal = signalOption(options);
    this.#store = store;
    this.#onClose = onClose;
    this.#upcast = upcast;
    try {
      this.#raw = store.sync(new HttpTransport(url, token), { live });
    } catch (e) {
      throw fromRaw(e);
    }
    if (this.#signal?.aborted) void this.close();
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get state(): SyncState {
    const { error, ...state } = this.#raw.state;
    return error === undefined ? state : { ...state, error: fromRaw(error) as SyncState['error'] };
  }

  async flush(options?: FlushOptions): Promise<void> {
    const signal = signalOption(options);
    try {
      await abortable(this.#raw.flush(), signal);
    } catch (e) {
      throw fromRaw(e);
    }
  }

  conflicts<D = unknown, M extends object = Record<string, unknown>>(): AsyncIterableIterator<Conflict<D, M>> {
    try {
      return new ConflictIterator<D, M>(this.#store.conflicts(), this.#store, this.#upcast);
    } catch (e) {
      throw fromRaw(e);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#signal = undefined;
    this.#raw.close();
    this.#onClose();
  }
}
