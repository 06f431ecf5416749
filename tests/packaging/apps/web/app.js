// The page every bundler app shares: opens an IndexedDB store, lists the events of one stream
// as they come (catch-up, then live, also from other pages) and exposes `window.note(text)`
// for the test to append. `document.body.dataset` says `ready` or the error it met.
export async function run(openStore) {
  try {
    const store = await openStore({ name: 'packaging', storage: 'indexeddb' });
    const list = document.querySelector('#events');
    window.note = (text) => store.append('Notes', { type: 'Noted', data: { text } }).then(() => text);
    document.body.dataset.state = 'ready';
    for await (const e of store.subscribe({ streamPrefix: 'Notes' })) {
      const item = document.createElement('li');
      item.textContent = `${e.version} ${e.data.text}`;
      list.append(item);
    }
  } catch (e) {
    document.body.dataset.state = 'failed';
    document.body.dataset.error = `${e.name}: ${e.message}`;
  }
}
