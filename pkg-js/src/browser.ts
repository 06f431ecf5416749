/**
 * annals for browsers and Web Workers. The wasm module is fetched and instantiated once, on
 * the first `openStore` (from `./wasm/annals_bg.wasm` next to this file, unless `initWasm` was
 * given another source first).
 * @module
 */

import init, * as wasm from './wasm/annals.js';
import { makeOpenStore } from './store.js';
import type { EventStore, OpenStoreOptions } from './types.js';

export * from './public.js';

/** Where the wasm binary comes from: a URL, a `Response`, its bytes, or a compiled module. */
export type WasmSource =
  | string
  | URL
  | Response
  | BufferSource
  | WebAssembly.Module
  | Promise<Response | BufferSource | WebAssembly.Module>;

let ready: Promise<unknown> | undefined;

/**
 * Instantiates the wasm module from `source` (default: `annals_bg.wasm` beside this file).
 * Only needed when a bundler moves the binary elsewhere; call it before `openStore`.
 * Later calls return the first call's promise.
 */
export function initWasm(source?: WasmSource): Promise<void> {
  ready ??= init(source === undefined ? undefined : { module_or_path: source }).catch(
    (e: unknown) => {
      ready = undefined; // let a later call try again
      throw e;
    },
  );
  return ready.then(() => undefined);
}

/** Opens (creating if needed) a store. */
export const openStore: (options?: OpenStoreOptions) => Promise<EventStore> = makeOpenStore(
  async () => {
    await initWasm();
    return wasm;
  },
);
