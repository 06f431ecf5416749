// A dedicated module worker for tests/e2e/vanished.test.mjs: opens an IndexedDB store, and
// answers { op: 'open' | 'append' | 'close' } messages with plain JSON.
import { openStore } from '/node_modules/annals/dist/browser.js';

let store;
const recoveryOf = (s) => s.recovery && { ...s.recovery, markedAt: s.recovery.markedAt.getTime() };

self.onmessage = async ({ data: { op, name, events, stream } }) => {
  try {
    if (op === 'open') {
      store = await openStore({ name, storage: 'indexeddb' });
      self.postMessage({ ok: true, recovery: recoveryOf(store) ?? null, hasCaches: typeof caches !== 'undefined' });
    } else if (op === 'append') {
      for (let i = 0; i < events; i++) await store.append(stream, { type: 'FromWorker', data: { i } });
      self.postMessage({ ok: true, count: (await store.readAll().toArray()).length });
    } else if (op === 'close') {
      await store.close();
      self.postMessage({ ok: true });
    }
  } catch (e) {
    self.postMessage({ ok: false, error: `${e?.name}: ${e?.message}` });
  }
};
