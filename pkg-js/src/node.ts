/**
 * annals for Node (20+). The wasm module is read from `./wasm/annals_bg.wasm` next to this file
 * and instantiated synchronously on the first `openStore`. Node has no IndexedDB: stores are in
 * memory (`storage: 'auto'` picks memory).
 * @module
 */

import { readFileSync } from 'node:fs';
import * as wasm from './wasm/annals.js';
import { makeOpenStore } from './store.js';
import type { EventStore, OpenStoreOptions } from './types.js';

export * from './public.js';

let ready = false;

function load(): typeof wasm {
  if (!ready) {
    wasm.initSync({ module: readFileSync(new URL('./wasm/annals_bg.wasm', import.meta.url)) });
    ready = true;
  }
  return wasm;
}

/** Opens (creating if needed) a store. */
export const openStore: (options?: OpenStoreOptions) => Promise<EventStore> =
  makeOpenStore(load);
