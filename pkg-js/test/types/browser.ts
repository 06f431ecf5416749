// The browser entry has the same API plus initWasm.
import { initWasm, openStore } from '../../dist/browser.js';
import type { EventStore } from '../../dist/node.js';

export async function browserUsage(): Promise<EventStore> {
  await initWasm(new URL('./annals_bg.wasm', 'https://example.com/assets/'));
  return openStore({ storage: 'indexeddb' });
}
