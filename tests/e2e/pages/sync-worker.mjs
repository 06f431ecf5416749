// A dedicated module worker that syncs: opens an IndexedDB store, appends, flushes, reports.
import { openStore } from '/node_modules/annals/dist/browser.js';

self.onmessage = async ({ data: { url, token, events } }) => {
  try {
    const store = await openStore({ name: 'worker-device', storage: 'indexeddb' });
    for (let i = 0; i < events; i++) await store.append(`Worker-${i % 3}`, { type: 'FromWorker', data: { i } });
    const sync = store.sync({ url, token });
    await sync.flush();
    const all = await store.readAll().toArray();
    const state = sync.state;
    await sync.close();
    await store.close();
    self.postMessage({ ok: true, pending: state.pending, serverPositions: all.map((e) => e.serverPosition) });
  } catch (e) {
    self.postMessage({ ok: false, error: `${e?.name}: ${e?.message}` });
  }
};
