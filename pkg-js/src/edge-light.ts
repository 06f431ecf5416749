/**
 * annals for Vercel's edge runtime (the `edge-light` condition, which Next.js and Vercel's
 * builders resolve). Wasm code generation is off there: the binary is imported with
 * `?module`, which those bundlers turn into a compiled `WebAssembly.Module`.
 * Stores are in memory and live as long as the isolate.
 * @module
 */

import compiled from './wasm/annals_bg.wasm?module';
import type { EventStore, OpenStoreOptions } from './types.js';
import { importedEntry, type WasmSource } from './wasm-load.js';

export * from './public.js';
export { isWasmLoadError, WasmLoadError, type WasmSource } from './wasm-load.js';

const entry = importedEntry(compiled, 'edge-light');

/**
 * Instantiates the wasm module from `source` (default: the imported binary). Not needed on
 * Vercel's edge; call it before `openStore` to use another binary. Rejects with a
 * {@link WasmLoadError} naming the likely fix.
 */
export const initWasm: (source?: WasmSource) => Promise<void> = entry.initWasm;

/** Opens (creating if needed) a store; the first call instantiates the wasm module. */
export const openStore: (options?: OpenStoreOptions) => Promise<EventStore> = entry.openStore;
