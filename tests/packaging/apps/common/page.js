// The page every bundler app runs (tests/packaging): an IndexedDB store the test drives
// through `window.smoke`. `document.title` turns 'ready' once the store is open, or 'failed'
// with the error in the body.
export async function servePage(openStore) {
  try {
    window.smoke = await storeCalls(openStore);
    document.title = 'ready';
  } catch (e) {
    document.body.textContent = `${e.name}: ${e.message}`;
    document.title = 'failed';
  }
}

/** The calls the test makes, on a store named 'packaging'. */
export async function storeCalls(openStore) {
  const store = await openStore({ name: 'packaging' });
  const seen = [];
  return {
    append: async (n) => (await store.append('Smoke-1', { type: 'Added', data: { n } })).position,
    read: async () => (await store.readStream('Smoke-1').toArray()).map((e) => e.data.n),
    watch: async () => {
      const sub = store.subscribe({ after: 'end' });
      (async () => { for await (const e of sub) seen.push(e.data.n); })();
    },
    seen: async () => seen,
  };
}
