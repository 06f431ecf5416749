// The smoke test every server-side runtime runs on a memory store: a live subscription sees two
// appends, a wrong expected version is refused with its typed error, and a read gives the events
// back in order. Returns what it saw; the packaging test compares it with what must hold.
export async function smoke({ openStore, isWrongExpectedVersionError }, store) {
  store ??= await openStore();
  const live = [];
  const subscription = store.subscribe({ streamPrefix: 'Notes' });
  const listening = (async () => {
    for await (const e of subscription) if (live.push(e.data.text) === 2) break;
  })();
  await store.append('Notes', { type: 'Noted', data: { text: 'one' } }, { expectedVersion: 'no_stream' });
  await store.append('Notes', { type: 'Noted', data: { text: 'two' } }, { expectedVersion: 1 });
  let refused;
  try {
    await store.append('Notes', { type: 'Noted', data: { text: 'three' } }, { expectedVersion: 'no_stream' });
  } catch (e) {
    refused = isWrongExpectedVersionError(e) ? { name: e.name, actual: e.actual } : String(e);
  }
  await listening;
  const read = (await store.readStream('Notes').toArray()).map((e) => [e.version, e.data.text]);
  return { live, refused, read };
}

/** What `smoke` returns when everything holds. */
export const EXPECTED = {
  live: ['one', 'two'],
  refused: { name: 'WrongExpectedVersionError', actual: 2 },
  read: [[1, 'one'], [2, 'two']],
};
