/**
 * annals for Node (20.19+), Deno and Bun. The wasm module is read from
 * `./wasm/annals_bg.wasm` next to this file on the first `openStore`, unless `initWasm` was
 * given it first (bytes or a `WebAssembly.Module`, as a bundled function carries it). Node has
 * no IndexedDB: stores are in memory (`storage: 'auto'` picks memory).
 * @module
 */

import { readFile } from 'node:fs/promises';
import type { EventStore, OpenStoreOptions } from './types.js';
import { makeEntryPoint, type WasmSource } from './wasm-load.js';

export * from './public.js';

// A relative path is relative to this module, which in a bundle is the bundle: what the file
// loaders of esbuild and bun build give for an imported asset copied beside it.
const entry = makeEntryPoint(
  () => new URL('./wasm/annals_bg.wasm', import.meta.url),
  (file) => readFile(typeof file === 'string' && file.startsWith('.') ? new URL(file, import.meta.url) : file),
);

/**
 * Instantiates the wasm module from `source`: bytes, a `WebAssembly.Module`, a file path
 * (relative: to this module or the bundle holding it) or `file:` URL, or an `http(s):` URL
 * (default: `annals_bg.wasm` beside this file). Call it
 * before `openStore` when the file is not there (a bundled function). Later calls return the
 * first call's promise. Rejects with a `WasmLoadError` naming the file tried and the fix.
 */
export const initWasm: (source?: WasmSource) => Promise<void> = entry.initWasm;

/** Opens (creating if needed) a store. */
export const openStore: (options?: OpenStoreOptions) => Promise<EventStore> = entry.openStore;
