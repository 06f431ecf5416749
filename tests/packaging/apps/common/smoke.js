// The smoke test every runtime app runs (tests/packaging): a memory store kept for the life
// of the process or isolate. Each call appends two events with the expected version, checks
// that a stale one is refused with the typed error, reads the stream back and sees the two
// appends arrive live on a subscription opened before them.
let store;

export async function smoke(openStore, isWrongExpectedVersionError) {
  store ??= await openStore({ storage: 'memory' });
  const version = await store.streamVersion('Smoke-1');
  const live = [];
  const sub = store.subscribe({ after: 'end' });
  const watching = (async () => {
    for await (const e of sub) if (live.push(e.data.n) === 2) break;
  })();
  await store.append('Smoke-1', [1, 2].map((i) => ({ type: 'Added', data: { n: version + i } })),
    { expectedVersion: version === 0 ? 'no_stream' : version });
  let stale;
  try {
    await store.append('Smoke-1', { type: 'Added', data: { n: 0 } }, { expectedVersion: 'no_stream' });
  } catch (e) {
    stale = isWrongExpectedVersionError(e) ? `${e.name} actual=${e.actual}` : String(e);
  }
  await watching;
  const events = (await store.readStream('Smoke-1').toArray()).map((e) => e.data.n);
  return { events, live, stale };
}
