/**
 * annals for Node (20.19+, 22.12+), Deno and Bun. The wasm module is read from
 * `./wasm/annals_bg.wasm` next to this file on the first `openStore`, unless `initWasm` was
 * given it first (a bundled function, which leaves the file behind). There is no IndexedDB
 * here: stores are in memory (`storage: 'auto'` picks memory).
 * @module
 */

import { readFile } from 'node:fs/promises';
import type { EventStore, OpenStoreOptions } from './types.js';
import { wasmEntry, type WasmSource } from './wasm-load.js';

export * from './public.js';
export { isWasmLoadError, WasmLoadError, type WasmSource } from './wasm-load.js';

/**
 * The file a path or `file:` URL names. A relative path (`./…`, `../…`) is relative to this
 * module, which in a bundle is the bundle: the file loaders of bun build and esbuild give such
 * a path for the imported binary they copy beside it.
 */
function fileOf(where: string | URL): string | URL {
  const text = String(where);
  if (/^file:/.test(text)) return new URL(text);
  return /^\.\.?\//.test(text) ? new URL(text, import.meta.url) : where;
}

const entry = wasmEntry({
  default: () => new URL('./wasm/annals_bg.wasm', import.meta.url),
  // A path or file: URL is read; another URL is fetched.
  get: (where) => (/^https?:/.test(String(where)) ? fetch(where) : readFile(fileOf(where))),
  fix:
    'If you bundled your code (esbuild, bun build, …) the binary was left behind: import it and ' +
    "pass it on before opening a store: `import wasm from 'annals/annals_bg.wasm'` (esbuild: " +
    '`--loader:.wasm=binary`), then `await initWasm(wasm)`.',
});

/**
 * Instantiates the wasm module from `source`: bytes, a compiled `WebAssembly.Module`, a path
 * (`./…`: relative to this module, or to the bundle holding it) or `file:` URL to read
 * (default: `annals_bg.wasm` beside this file). Only needed when the file is not there (a
 * bundled function); call it before `openStore`. Later calls return the
 * first successful call's promise. Rejects with a {@link WasmLoadError} naming the path tried
 * and the likely fix.
 */
export const initWasm: (source?: WasmSource) => Promise<void> = entry.initWasm;

/** Opens (creating if needed) a store; the first call instantiates the wasm module. */
export const openStore: (options?: OpenStoreOptions) => Promise<EventStore> = entry.openStore;
