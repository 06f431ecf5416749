// Calls that must not compile. Each line after a `@ts-expect-error [token]` directive is an
// error (tsc reports a directive that meets none as one); test/types.test.mjs also removes every
// directive and checks that each of those lines fails with an error that mentions its token.
import { openStore } from 'annals';

interface Money {
  amount: number;
  format(): string;
}

export async function refused(money: Money): Promise<void> {
  const store = await openStore({ storage: 'memory' });

  // Data and metadata must be JSON-compatible (docs/api.md "Events"): refused when compiled.
  // @ts-expect-error [Date] a Date is not JSON data
  await store.append('S-1', { type: 'T', data: new Date() });
  // @ts-expect-error [Date] nor inside an object
  await store.append('S-1', { type: 'T', data: { at: new Date() } });
  // @ts-expect-error [Map] nor a Map
  await store.append('S-1', [{ type: 'T', data: new Map<string, number>() }]);
  // @ts-expect-error [bigint] nor a bigint
  await store.append('S-1', { type: 'T', data: { n: 1n } });
  // @ts-expect-error [=> number] nor a function
  await store.append('S-1', { type: 'T', data: { f: () => 1 } });
  // @ts-expect-error [=> string] nor an object with methods
  await store.append('S-1', { type: 'T', data: money });
  // @ts-expect-error [Date] metadata neither
  await store.append('S-1', { type: 'T', data: 1, metadata: { at: new Date() } });

  // A misspelled option, of each call that takes options.
  // @ts-expect-error [storag] openStore
  await openStore({ storag: 'memory' });
  // @ts-expect-error [expectedVerison] append
  await store.append('S-1', { type: 'T', data: 1 }, { expectedVerison: 1 });
  // @ts-expect-error [streamPrefx] readAll
  store.readAll({ streamPrefx: 'Order-' });
  // @ts-expect-error [fromVerison] readStream
  store.readStream('S-1', { fromVerison: 2 });
  // @ts-expect-error [checkpiont] subscribe
  store.subscribe({ checkpiont: 'list' });
  // @ts-expect-error [snapshotEvry] aggregateStream
  await store.aggregateStream('S-1', { initialState: () => 0, evolve: (n: number) => n + 1, snapshotEvry: 10 });
  // @ts-expect-error [afer] export
  store.export({ afer: 10 });

  // Values the contract does not know.
  // @ts-expect-error ["maybe"] an expected version
  await store.append('S-1', { type: 'T', data: 1 }, { expectedVersion: 'maybe' });
  // @ts-expect-error ["disk"] a storage
  await openStore({ storage: 'disk' });

  // Recorded events are read-only.
  const [e] = await store.readAll().toArray();
  // @ts-expect-error [read-only] an event's version
  e.version = 2;
  // @ts-expect-error [read-only] its data
  e.data = {};
}
