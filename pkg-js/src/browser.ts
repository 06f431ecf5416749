/**
 * annals for browsers and Web Workers. The wasm module is fetched and instantiated once, on
 * the first `openStore` (from `./wasm/annals_bg.wasm` next to this file, unless `initWasm` was
 * given another source first).
 * @module
 */

import type { EventStore, OpenStoreOptions } from './types.js';
import { wasmEntry, type WasmSource } from './wasm-load.js';

export * from './public.js';
export { isWasmLoadError, WasmLoadError, type WasmSource } from './wasm-load.js';

const entry = wasmEntry({
  // This exact form lets bundlers (webpack, Vite, Parcel, Rollup's import-meta-assets plugin)
  // see the binary and emit it beside the bundle.
  default: () => new URL('./wasm/annals_bg.wasm', import.meta.url),
  get: (url) => fetch(url),
  fix:
    'Hand the binary over before opening a store: import its URL (Vite: ' +
    "`import url from 'annals/annals_bg.wasm?url'`; esbuild with `--loader:.wasm=file`: " +
    "`import url from 'annals/annals_bg.wasm'`) and `await initWasm(url)`, or copy " +
    'node_modules/annals/dist/wasm/annals_bg.wasm to where it was looked for. In Cloudflare ' +
    'Workers, wrangler picks the `workerd` entry by itself; with another bundler, import ' +
    "'annals/annals_bg.wasm' as a WebAssembly.Module and pass that to initWasm.",
});

/**
 * Instantiates the wasm module from `source` (default: `annals_bg.wasm` beside this file,
 * fetched). Only needed when a bundler moves the binary elsewhere; call it before `openStore`.
 * Later calls return the first successful call's promise. Rejects with a
 * {@link WasmLoadError} naming the URL tried, the content type received and the likely fix.
 */
export const initWasm: (source?: WasmSource) => Promise<void> = entry.initWasm;

/** Opens (creating if needed) a store; the first call instantiates the wasm module. */
export const openStore: (options?: OpenStoreOptions) => Promise<EventStore> = entry.openStore;
