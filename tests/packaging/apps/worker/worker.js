// A module worker with its own IndexedDB store, as an app that keeps its store off the main
// thread runs it.
import { openStore } from 'annals';

try {
  const store = await openStore({ name: 'packaging-worker', storage: 'indexeddb' });
  self.onmessage = async ({ data }) => {
    await store.append('Notes', { type: 'Noted', data: { text: data.note } });
    self.postMessage({ appended: data.note });
  };
  self.postMessage({ ready: true });
  for await (const e of store.subscribe({ streamPrefix: 'Notes' })) {
    self.postMessage({ event: `${e.version} ${e.data.text}` });
  }
} catch (e) {
  self.postMessage({ error: `${e.name}: ${e.message}` });
}
