/**
 * annals for browsers and Web Workers. The wasm module is fetched and instantiated once, on
 * the first `openStore` (from `./wasm/annals_bg.wasm` next to this file, unless `initWasm` was
 * given another source first).
 * @module
 */

import type { EventStore, OpenStoreOptions } from './types.js';
import { makeEntryPoint, type WasmSource } from './wasm-load.js';

export * from './public.js';

const entry = makeEntryPoint(() => new URL('./wasm/annals_bg.wasm', import.meta.url));

/**
 * Instantiates the wasm module from `source` (default: `annals_bg.wasm` beside this file).
 * Only needed when a bundler moves the binary elsewhere; call it before `openStore`.
 * Later calls return the first call's promise. Rejects with a `WasmLoadError` naming the URL
 * tried, the content type received and the likely fix.
 */
export const initWasm: (source?: WasmSource) => Promise<void> = entry.initWasm;

/** Opens (creating if needed) a store. */
export const openStore: (options?: OpenStoreOptions) => Promise<EventStore> = entry.openStore;
