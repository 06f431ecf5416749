// store.sync() in Node without a server: its arguments are checked, one sync per store, and a
// server that cannot be reached is a SyncError with code 'network' that loses nothing.
// (Syncing with annals-server itself: tests/e2e/sync.test.mjs.)
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { openStore, InvalidArgumentError, StoreClosedError, SyncError } from 'annals';

const unreachable = 'http://127.0.0.1:9'; // discard port: nothing listens there

test('sync() checks its options and refuses what is not a server to sync with', async () => {
  const store = await openStore({ storage: 'memory' });
  const cases = [
    [undefined, 'options'],
    ['http://x', 'options'],
    [{ token: 't' }, 'url'],
    [{ url: 'ftp://example.com', token: 't' }, 'url'],
    [{ url: unreachable }, 'token'],
    [{ url: unreachable, token: '' }, 'token'],
    [{ url: unreachable, token: 't', live: 'yes' }, 'live'],
    [{ url: unreachable, token: 't', signal: {} }, 'signal'],
  ];
  for (const [options, field] of cases) {
    assert.throws(() => store.sync(options), (e) => e instanceof InvalidArgumentError && e.field === field, JSON.stringify(options));
  }
  await store.close();
});

test('a store syncs through one sync at a time; a closed store syncs no more', async () => {
  const store = await openStore({ storage: 'memory' });
  const first = store.sync({ url: unreachable, token: 't', live: false });
  assert.throws(() => store.sync({ url: unreachable, token: 't', live: false }), (e) => e instanceof InvalidArgumentError && e.field === 'sync');
  await first.close();
  const second = store.sync({ url: unreachable, token: 't', live: false });
  await store.close();
  await assert.rejects(second.flush(), StoreClosedError);
  assert.throws(() => store.sync({ url: unreachable, token: 't' }), StoreClosedError);
});

test('an unreachable server is a network SyncError; the events stay pending', async () => {
  const store = await openStore({ storage: 'memory' });
  await store.append('S', [{ type: 'T', data: 1 }, { type: 'T', data: 2 }]);
  const sync = store.sync({ url: unreachable, token: 't', live: false });
  await assert.rejects(sync.flush(), (e) => e instanceof SyncError && e.code === 'network' && e.errorCode === 502);
  const state = sync.state;
  assert.equal(state.pending, 2);
  assert.equal(state.connected, false);
  assert.ok(state.error instanceof SyncError);
  const events = await store.readAll().toArray();
  assert.deepEqual(events.map((e) => e.serverPosition), [null, null]);
  await sync.close();
  await store.close();
});

test('answers that are not the protocol are protocol errors; statuses map to codes', async (t) => {
  const answers = [
    [401, { error: 'unauthorized', message: 'no' }, 'unauthorized'],
    [413, { error: 'too_large', message: 'big' }, 'too_large'],
    [503, { error: 'server', message: 'down' }, 'server'],
    [200, { nonsense: true }, 'protocol'],
    [200, 'not json', 'protocol'],
  ];
  let next;
  const server = http.createServer((req, res) => {
    req.resume();
    const [status, body] = next;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${server.address().port}`;
  for (const [status, body, code] of answers) {
    next = [status, body];
    const store = await openStore({ storage: 'memory' });
    await store.append('S', { type: 'T', data: 1 });
    const sync = store.sync({ url, token: 't', live: false });
    await assert.rejects(sync.flush(), (e) => e instanceof SyncError && e.code === code, `${status} ${JSON.stringify(body)}`);
    if (status === 413) {
      // A single append the server refuses as too large can never be pushed: a conflict.
      assert.equal(sync.state.pending, 0);
      const { value } = await sync.conflicts().next();
      assert.equal(value.reason, 'too_large');
      assert.equal(value.events.length, 1);
    } else {
      assert.equal(sync.state.pending, 1, `${status}: nothing lost`);
    }
    await store.close();
  }
});

test('flush({ signal }) stops waiting when aborted', async () => {
  const server = http.createServer(() => {}); // never answers
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const store = await openStore({ storage: 'memory' });
  await store.append('S', { type: 'T', data: 1 });
  const sync = store.sync({ url: `http://127.0.0.1:${server.address().port}`, token: 't', live: false });
  const controller = new AbortController();
  const flushing = sync.flush({ signal: controller.signal });
  controller.abort(new Error('user gave up'));
  await assert.rejects(flushing, /user gave up/);
  await sync.close();
  await store.close();
  server.closeAllConnections();
  server.close();
});
