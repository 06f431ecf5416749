/**
 * annals for Cloudflare Workers (the `workerd` condition, which wrangler resolves). The wasm
 * binary is imported as a module, which the Workers bundler turns into a compiled
 * `WebAssembly.Module`: workerd neither fetches `file:` URLs nor compiles wasm from bytes.
 * Stores are in memory and live as long as the isolate.
 * @module
 */

import compiled from './wasm/annals_bg.wasm';
import type { EventStore, OpenStoreOptions } from './types.js';
import { importedEntry, type WasmSource } from './wasm-load.js';

export * from './public.js';
export { isWasmLoadError, WasmLoadError, type WasmSource } from './wasm-load.js';

const entry = importedEntry(compiled, 'workerd');

/**
 * Instantiates the wasm module from `source` (default: the imported binary). Not needed in
 * Workers; call it before `openStore` to use another binary. Rejects with a
 * {@link WasmLoadError} naming the likely fix.
 */
export const initWasm: (source?: WasmSource) => Promise<void> = entry.initWasm;

/** Opens (creating if needed) a store; the first call instantiates the wasm module. */
export const openStore: (options?: OpenStoreOptions) => Promise<EventStore> = entry.openStore;
