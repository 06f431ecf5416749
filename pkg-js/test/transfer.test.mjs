// Export to NDJSON and import into another store (docs/api.md "Export and import").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  openStore,
  InvalidArgumentError,
  WrongExpectedVersionError,
  DuplicateEventIdError,
  StoreClosedError,
} from 'annals';

const memory = (options = {}) => openStore({ storage: 'memory', ...options });
const collect = async (iterable) => {
  const chunks = [];
  for await (const chunk of iterable) chunks.push(chunk);
  return chunks;
};
const exported = async (store, options) => (await collect(store.export(options))).join('');
/** Everything an event is, but its local position. */
const identity = (e) => [e.id, e.stream, e.version, e.type, e.recordedAt.getTime(), e.data, e.metadata];

/** A store with two streams interleaved, ids given and generated, metadata and unicode. */
async function source() {
  const store = await memory();
  await store.append('Order-1', [{ type: 'Placed', data: { total: 3, note: 'thé ✓' } }, { type: 'Paid', data: null, metadata: { by: 'card' } }]);
  await store.append('Cart-1', { type: 'Added', data: ['tea', 2], id: crypto.randomUUID() });
  await store.append('Order-1', { type: 'Shipped', data: { at: '2026-01-01' } });
  return store;
}

describe('export', () => {
  test('one line per event, in position order, with id, stream, version, type, recordedAt, data and metadata', async () => {
    const store = await source();
    const text = await exported(store);
    assert.ok(text.endsWith('\n'));
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    const events = await store.readAll().toArray();
    assert.equal(lines.length, 4);
    for (const [i, line] of lines.entries()) {
      assert.deepEqual(Object.keys(line), ['id', 'stream', 'version', 'type', 'recordedAt', 'data', 'metadata']);
      const e = events[i];
      assert.deepEqual(line, { id: e.id, stream: e.stream, version: e.version, type: e.type, recordedAt: e.recordedAt.getTime(), data: e.data, metadata: e.metadata });
    }
  });

  test('chunks end at line ends; a large store comes in several', async () => {
    const store = await memory();
    for (let i = 0; i < 6; i++) await store.append(`S-${i}`, Array.from({ length: 100 }, (_, k) => ({ type: 'T', data: { k } })));
    const chunks = await collect(store.export());
    assert.ok(chunks.length > 1, `${chunks.length} chunk(s)`);
    assert.ok(chunks.every((c) => c.endsWith('\n')));
    assert.equal(chunks.join('').split('\n').length - 1, 600);
  });

  test('after, streams and streamPrefix choose the events; other options are not read', async () => {
    const store = await source();
    const streamsOf = async (options) => (await exported(store, options)).trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l).stream);
    assert.deepEqual(await streamsOf({ after: 2 }), ['Cart-1', 'Order-1']);
    assert.deepEqual(await streamsOf({ streams: ['Cart-1'] }), ['Cart-1']);
    assert.deepEqual(await streamsOf({ streamPrefix: 'Order-' }), ['Order-1', 'Order-1', 'Order-1']);
    assert.deepEqual(await streamsOf({ types: ['Paid'], limit: 1 }), ['Order-1', 'Order-1', 'Cart-1', 'Order-1']);
  });

  test('invalid options reject the first chunk, typed', async () => {
    const store = await source();
    const throwing = { get after() { throw new Error('getter'); } };
    for (const [options, field] of [[{ streams: [] }, 'streams'], [{ after: -1 }, 'after'], ['all', 'options'], [{ streamPrefix: '' }, 'streamPrefix'], [throwing, 'after']]) {
      await assert.rejects(exported(store, options), (e) => e instanceof InvalidArgumentError && e.field === field, field);
    }
  });
});

describe('import', () => {
  test('into another store: ids, streams, versions, types, data, metadata and times kept', async () => {
    const from = await source();
    const to = await memory();
    assert.deepEqual(await to.import(await exported(from)), { events: 4 });
    const [a, b] = [await from.readAll().toArray(), await to.readAll().toArray()];
    assert.deepEqual(b.map(identity), a.map(identity));
    assert.deepEqual(b.map((e) => e.position), [1, 2, 3, 4]);
    assert.equal(await to.streamVersion('Order-1'), 3);
    // Imported events are local appends: pending until a sync confirms them.
    assert.ok(b.every((e) => e.serverPosition === null));
    const sync = to.sync({ url: 'http://127.0.0.1:9', token: 't', live: false }); // nothing listens there
    await assert.rejects(sync.flush(), { name: 'SyncError', code: 'network' });
    assert.equal(sync.state.pending, 4);
    await sync.close();
  });

  test('importing twice writes nothing; an incremental export adds only what is new', async () => {
    const from = await source();
    const to = await memory();
    const text = await exported(from);
    await to.import(text);
    const before = await to.readAll().toArray();
    assert.deepEqual(await to.import(text), { events: 4 });
    assert.deepEqual(await to.readAll().toArray(), before);
    await from.append('Order-1', { type: 'Refunded', data: 1 });
    await to.import(await exported(from, { after: 4 }));
    assert.deepEqual((await to.readAll().toArray()).map(identity), (await from.readAll().toArray()).map(identity));
    // The whole export again, now that it holds the new event too: still nothing twice.
    await to.import(await exported(from));
    assert.equal((await to.readAll().toArray()).length, 5);
  });

  test('sources: chunks cut anywhere (inside a line, inside a UTF-8 character), Blob, ReadableStream, async iterable; CRLF and blank lines', async () => {
    const from = await source();
    const text = (await exported(from)).replaceAll('\n', '\r\n\n');
    const bytes = new TextEncoder().encode(text);
    const cut = (n) => Array.from({ length: Math.ceil(bytes.length / n) }, (_, i) => bytes.slice(i * n, (i + 1) * n));
    const expected = (await from.readAll().toArray()).map(identity);
    const sources = {
      string: text,
      'text chunks of 7': Array.from({ length: Math.ceil(text.length / 7) }, (_, i) => text.slice(i * 7, i * 7 + 7)),
      'byte chunks of 1': cut(1),
      'byte chunks of 5': cut(5),
      Blob: new Blob([bytes]),
      ReadableStream: new ReadableStream({ start(c) { for (const chunk of cut(13)) c.enqueue(chunk); c.close(); } }),
      'async iterable': (async function* () { for (const chunk of cut(17)) yield chunk; })(),
    };
    for (const [label, input] of Object.entries(sources)) {
      const to = await memory();
      assert.deepEqual(await to.import(input), { events: 4 }, label);
      assert.deepEqual((await to.readAll().toArray()).map(identity), expected, label);
    }
  });

  test('a line that is not JSON: InvalidArgumentError naming the event and its line, nothing of its batch written', async () => {
    const from = await source();
    const lines = (await exported(from)).trimEnd().split('\n');
    const to = await memory();
    const text = [lines[0], '', lines[1], '{"id": oops', lines[2]].join('\n');
    await assert.rejects(to.import(text), (e) => e instanceof InvalidArgumentError && e.field === 'events[2]' && /line 4/.test(e.message));
    assert.deepEqual(await to.readAll().toArray(), []);
  });

  test('invalid fields are named events[i].<field>; bytes that are not UTF-8 and sources of other kinds are refused', async () => {
    const to = await memory();
    const line = (fields) => JSON.stringify({ id: crypto.randomUUID(), stream: 'S-1', version: 1, type: 'T', recordedAt: 0, data: 1, ...fields });
    for (const [fields, field] of [[{ id: undefined }, 'events[0].id'], [{ version: 0 }, 'events[0].version'], [{ stream: '' }, 'events[0].stream'], [{ recordedAt: 'today' }, 'events[0].recordedAt'], [{ metadata: 3 }, 'events[0].metadata'], [{ type: 7 }, 'events[0].type']]) {
      await assert.rejects(to.import(line(fields)), (e) => e instanceof InvalidArgumentError && e.field === field, field);
    }
    await assert.rejects(to.import([new Uint8Array([0xff, 0xfe])]), (e) => e instanceof InvalidArgumentError && e.field === 'source');
    for (const bad of [42, null, undefined, { text: 'x' }, [1]]) {
      await assert.rejects(to.import(bad), (e) => e instanceof InvalidArgumentError && e.field === 'source', String(bad));
    }
    assert.deepEqual(await to.readAll().toArray(), []);
  });

  test('a stream whose history differs refuses; an id standing for another event too', async () => {
    const from = await source();
    const text = await exported(from);
    const to = await memory();
    await to.append('Order-1', { type: 'Other', data: 0 });
    await assert.rejects(to.import(text), (e) => e instanceof WrongExpectedVersionError && e.stream === 'Order-1' && e.expected === 0 && e.actual === 1);
    const taken = await memory();
    const [first] = await from.readAll().toArray();
    await taken.append('Elsewhere-1', { type: 'X', data: 1, id: first.id });
    await assert.rejects(taken.import(text), (e) => e instanceof DuplicateEventIdError && e.id === first.id);
  });

  test('a closed store refuses', async () => {
    const store = await memory();
    await store.close();
    await assert.rejects(store.import(''), StoreClosedError);
    await assert.rejects(exported(store), StoreClosedError);
  });
});
