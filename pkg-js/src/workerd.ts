/**
 * annals for Cloudflare Workers (the `workerd` condition, which wrangler resolves). The wasm
 * module is imported as a compiled `WebAssembly.Module`, as workerd requires (it compiles no
 * wasm from bytes and has no `import.meta.url`), and instantiated on the first `openStore`:
 * `import { openStore } from 'annals'` needs no other line. Stores are in memory and live as
 * long as the isolate; `store.sync({ url, token })` keeps the events on an annals server.
 * @module
 */

import compiled from './wasm/annals_bg.wasm';
import type { EventStore, OpenStoreOptions } from './types.js';
import { makeEntryPoint, type WasmSource } from './wasm-load.js';

export * from './public.js';

const entry = makeEntryPoint(() => compiled);

/**
 * Instantiates the wasm module (default: the one this entry imports). Never needed here;
 * exported so that code shared with other entries can call it.
 */
export const initWasm: (source?: WasmSource) => Promise<void> = entry.initWasm;

/** Opens (creating if needed) a store. */
export const openStore: (options?: OpenStoreOptions) => Promise<EventStore> = entry.openStore;
