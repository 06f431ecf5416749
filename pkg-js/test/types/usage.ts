// Type-checked against the built .d.ts (test/types.test.mjs runs `tsc --noEmit` here); never run.
import {
  openStore,
  isWrongExpectedVersionError,
  isStorageError,
  isAnnalsError,
  AnnalsError,
  ErrorCode,
  InvalidArgumentError,
  StoreClosedError,
  type Aggregate,
  type ImportResult,
  type JsonValue,
  type Upcasters,
  type AppendResult,
  type EventInput,
  type EventIterable,
  type EventStore,
  type ExpectedVersion,
  type RecordedEvent,
  type Snapshot,
  type Subscription,
} from 'annals';

/** Compile-time equality of two types (idb's test style). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T>(_value: T): void {}
function assertType<T extends true>(): void {}

interface OrderPlaced { orderId: string; total: number }
interface Meta { correlationId: string; causationId?: string }

export async function usage(): Promise<void> {
  const store: EventStore = await openStore({ name: 'shop', storage: 'memory', maxEventBytes: 4096 });
  await openStore();
  await openStore({ storage: 'auto' });

  const input: EventInput<OrderPlaced, Meta> = {
    type: 'OrderPlaced',
    data: { orderId: 'o-1', total: 12 },
    metadata: { correlationId: 'c' },
    id: crypto.randomUUID(),
  };
  const result = await store.append<OrderPlaced, Meta>('Order-1', [input], { expectedVersion: 'no_stream' });
  expectType<AppendResult>(result);
  expectType<number>(result.nextExpectedVersion);
  expectType<number>(result.position);
  await store.append('Order-1', { type: 'Shipped', data: null }, { expectedVersion: result.nextExpectedVersion });
  for (const expectedVersion of ['any', 'no_stream', 'stream_exists', 3] as ExpectedVersion[]) {
    await store.append('Order-2', { type: 'T', data: [1, 'a'] }, { expectedVersion });
  }

  const version: number = await store.streamVersion('Order-1');
  expectType<number>(version);

  const read = store.readStream<OrderPlaced, Meta>('Order-1', { fromVersion: 1, direction: 'backward', limit: 10 });
  expectType<EventIterable<RecordedEvent<OrderPlaced, Meta>>>(read);
  for await (const e of read) {
    assertType<Equals<typeof e, RecordedEvent<OrderPlaced, Meta>>>();
    expectType<string>(e.data.orderId);
    expectType<string>(e.metadata.correlationId);
    expectType<Date>(e.recordedAt);
    expectType<number>(e.version + e.position);
  }
  const all = await store.readAll({ after: 0, direction: 'forward', limit: 5, types: ['OrderPlaced'], streamPrefix: 'Order-' }).toArray();
  assertType<Equals<typeof all, RecordedEvent<unknown, Record<string, unknown>>[]>>();

  const controller = new AbortController();
  const sub = store.subscribe<OrderPlaced>({ after: 'end', checkpoint: 'list', types: ['OrderPlaced'], streamPrefix: 'Order-', signal: controller.signal });
  expectType<Subscription<RecordedEvent<OrderPlaced>>>(sub);
  expectType<number>(sub.position);
  for await (const e of sub) {
    expectType<number>(e.data.total);
    break;
  }
  await sub.close();
  store.subscribe({ after: 42 }).close();

  await store.checkpoints.set('list', 3);
  const cp: number | undefined = await store.checkpoints.get('list');
  expectType<number | undefined>(cp);

  await store.snapshots.save<{ total: number }>('Order-1', { version: 1, state: { total: 12 } });
  const snap = await store.snapshots.load<{ total: number }>('Order-1');
  expectType<Snapshot<{ total: number }> | undefined>(snap);
  if (snap) expectType<number>(snap.state.total + snap.version);

  try {
    await store.append('Order-1', input, { expectedVersion: 0 });
  } catch (e) {
    if (isWrongExpectedVersionError(e)) {
      expectType<string>(e.stream);
      expectType<ExpectedVersion>(e.expected);
      expectType<number>(e.actual);
      expectType<'WrongExpectedVersionError'>(e.name);
    } else if (isStorageError(e)) {
      expectType<unknown>(e.cause);
    } else if (isAnnalsError(e)) {
      expectType<number>(e.errorCode);
      expectType<AnnalsError>(e);
    } else if (e instanceof InvalidArgumentError) {
      expectType<string>(e.field);
    }
  }
  expectType<412>(ErrorCode.WrongExpectedVersion);

  // What issue 12 added: storage, exact-stream filters, aggregates, export and import, upcasters.
  expectType<'indexeddb' | 'memory'>(store.storage);
  await store.readAll({ streams: ['Order-1', 'Order-2'] }).toArray();
  store.subscribe({ streams: ['Order-1'] }).close();
  const aggregate = await store.aggregateStream<number, OrderPlaced>('Order-1', {
    initialState: () => 0,
    evolve: (total, e) => total + e.data.total,
    snapshotEvery: 100,
  });
  expectType<Aggregate<number>>(aggregate);
  expectType<number>(aggregate.state + aggregate.version);
  for await (const chunk of store.export({ after: 0, streamPrefix: 'Order-' })) expectType<string>(chunk);
  const imported: ImportResult = await store.import('');
  await store.import([new Uint8Array(), 'text']);
  expectType<number>(imported.events);
  const upcasters: Upcasters = {
    OrderPlacedV1: (e) => ({ type: 'OrderPlaced', data: { ...(e.data as object), currency: 'EUR' } }),
  };
  await openStore({ storage: 'memory', upcasters });
  const json: JsonValue = { a: [1, 'two', null, { b: true }] };
  await store.append('Order-3', { type: 'T', data: json, metadata: { correlationId: 'c' } });
  interface WithOptional { sku: string; note?: string }
  const optional: WithOptional = { sku: 'tea' };
  await store.append('Order-3', { type: 'T', data: optional });
  const unknownData: unknown = JSON.parse('1');
  await store.append('Order-3', { type: 'T', data: unknownData });
  try {
    await store.append('Order-3', { type: 'T', data: 1 });
  } catch (e) {
    if (e instanceof StoreClosedError) expectType<'close' | 'versionchange'>(e.reason);
  }

  await store.close();
}
