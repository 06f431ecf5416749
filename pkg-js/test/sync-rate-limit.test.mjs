// A server that answers 429 (rate limited): the sync waits what it asks (`retryAfterMs` in the
// body, else `Retry-After` seconds), flush() rejects with a SyncError 'rate_limited' carrying
// `retryAfterMs` and sends nothing until the wait is over, and a live sync retries no sooner,
// then syncs. Against a small node:http stand-in for annals-server (one tenant, in memory).
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { openStore, SyncError } from 'annals';

const LIMITS = { maxBodyBytes: 8 << 20, maxAppends: 1000, maxEvents: 10000, maxEventBytes: 1 << 20 };

/**
 * An annals-server stand-in: pushes are accepted in order (expected versions are not checked:
 * the tests append with 'any'), pulls page the log. The next `refuse` requests to push or
 * pull (`refuseNotices`: connections to the notice stream) are answered 429 with `answer429()`'s
 * headers and body. Every request is logged with the time it arrived, and whether it was refused.
 */
async function stubServer(t) {
  const log = [];
  const events = [];
  const versions = new Map();
  const notices = new Set();
  const state = { refuse: 0, refuseNotices: 0, answer429: () => ({ headers: { 'retry-after': '1' }, body: { error: 'rate_limited', message: 'slow down', retryAfterMs: 1000 } }) };
  const json = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const announce = () => {
    for (const res of notices) res.write(`event: head\nid: ${events.length}\ndata: {"head":${events.length}}\n\n`);
  };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://stub');
    let text = '';
    for await (const chunk of req) text += chunk;
    if (url.pathname === '/v1/notices') {
      const refused = state.refuseNotices > 0;
      log.push({ kind: 'notices', at: performance.now(), refused });
      if (refused) {
        state.refuseNotices -= 1;
        const { headers, body } = state.answer429();
        return json(res, 429, body, headers);
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      notices.add(res);
      res.on('close', () => notices.delete(res));
      res.write(`event: head\nid: ${events.length}\ndata: {"head":${events.length}}\n\n`);
      return;
    }
    const kind = url.pathname === '/v1/push' ? 'push' : 'pull';
    const refused = state.refuse > 0;
    log.push({ kind, at: performance.now(), refused });
    if (refused) {
      state.refuse -= 1;
      const { headers, body } = state.answer429();
      return json(res, 429, body, headers);
    }
    if (kind === 'push') {
      const outcomes = JSON.parse(text).appends.map((append) => {
        for (const e of append.events) {
          const version = (versions.get(append.stream) ?? 0) + 1;
          versions.set(append.stream, version);
          events.push({ id: e.id.toLowerCase(), stream: append.stream, type: e.type, version, position: events.length + 1, data: e.data, metadata: e.metadata ?? {}, recordedAt: append.recordedAt });
        }
        return { status: 'accepted', nextExpectedVersion: versions.get(append.stream), position: events.length, repeat: false };
      });
      json(res, 200, { outcomes, head: events.length, limits: LIMITS });
      announce();
      return;
    }
    const after = Number(url.searchParams.get('after') ?? 0);
    json(res, 200, { events: events.slice(after), head: events.length, limits: LIMITS });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const res of notices) res.destroy();
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return { url: `http://127.0.0.1:${server.address().port}`, log, events, state };
}

/** A memory store syncing live with `stub`, whose 429s ask for `ms` (and `Retry-After: 1`). */
async function liveStore(t, stub, ms) {
  stub.state.answer429 = () => ({ headers: { 'retry-after': '1' }, body: { error: 'rate_limited', message: 'slow down', retryAfterMs: ms } });
  const store = await openStore({ storage: 'memory' });
  t.after(() => store.close());
  return store;
}

/** Waits until `done()` holds, for at most 20 s. */
async function until(done, what) {
  const deadline = Date.now() + 20_000;
  while (!done()) {
    assert.ok(Date.now() < deadline, what());
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rateLimited = (ms) => (e) => e instanceof SyncError && e.code === 'rate_limited' && e.errorCode === 502 && e.retryAfterMs === ms;

test("flush() rejects with 'rate_limited' and retryAfterMs, and asks nothing more until the wait is over", async (t) => {
  const stub = await stubServer(t);
  const store = await openStore({ storage: 'memory' });
  t.after(() => store.close());
  await store.append('S', { type: 'T', data: 1 });
  const sync = store.sync({ url: stub.url, token: 't', live: false });
  t.after(() => sync.close());

  stub.state.refuse = 1;
  stub.state.answer429 = () => ({ headers: { 'retry-after': '1' }, body: { error: 'rate_limited', message: 'slow down', retryAfterMs: 600 } });
  await assert.rejects(sync.flush(), rateLimited(600), 'the body says the wait in ms');
  assert.equal(stub.log.length, 1);
  assert.equal(sync.state.error?.code, 'rate_limited');
  assert.equal(sync.state.pending, 1);

  // At once again: refused by the client itself, with the wait left; no request.
  await assert.rejects(sync.flush(), (e) => e instanceof SyncError && e.code === 'rate_limited' && e.retryAfterMs > 0 && e.retryAfterMs <= 600);
  assert.equal(stub.log.length, 1, 'nothing sent during the wait');

  await new Promise((r) => setTimeout(r, 650));
  await sync.flush();
  assert.equal(stub.events.length, 1);
  assert.equal(sync.state.pending, 0);
  assert.equal(sync.state.error, undefined);
  assert.ok(stub.log[1].at - stub.log[0].at >= 600, 'the next request came after the wait');

  // Without retryAfterMs in the body, the Retry-After header's seconds.
  stub.state.refuse = 1;
  stub.state.answer429 = () => ({ headers: { 'retry-after': '2' }, body: { error: 'rate_limited', message: 'slow down' } });
  await assert.rejects(sync.flush(), rateLimited(2000), 'Retry-After: 2');
});

test('a live sync waits at least what each 429 asks, backing off further on repeated ones, then syncs', async (t) => {
  const stub = await stubServer(t);
  const store = await liveStore(t, stub, 400);
  stub.state.refuse = 3;
  await store.append('S', [{ type: 'T', data: 1 }, { type: 'T', data: 2 }]);
  const sync = store.sync({ url: stub.url, token: 't', live: true });
  t.after(() => sync.close());
  await until(() => sync.state.pending === 0 && stub.log.length >= 5, () => `not synced: ${JSON.stringify(stub.log)}`);
  const requests = stub.log.filter((r) => r.kind !== 'notices');
  assert.deepEqual(requests.map((r) => `${r.kind}${r.refused ? ' 429' : ''}`).slice(0, 5), ['push 429', 'push 429', 'push 429', 'push', 'pull']);
  // Timers may fire up to a millisecond early against performance.now(): 2 ms of slack.
  const gaps = requests.slice(1, 4).map((r, i) => r.at - requests[i].at);
  for (const [i, gap] of gaps.entries()) assert.ok(gap >= 400 - 2, `retry ${i + 1} came ${gap.toFixed(1)} ms after a 429 asking 400 ms`);
  // The third wait is the engine's own backoff, grown past what the server asked: 500 to 1000 ms.
  assert.ok(gaps[2] >= 500 - 2, `the backoff grows on repeated 429s: ${gaps.map((g) => g.toFixed(0))}`);
  assert.equal(stub.events.length, 2);
  assert.equal(sync.state.connected, true);
  assert.equal(sync.state.error, undefined);
});

test('a notice stream answered 429 is retried no sooner than asked, and no round runs meanwhile', async (t) => {
  const stub = await stubServer(t);
  const store = await liveStore(t, stub, 500);
  stub.state.refuseNotices = 2;
  const sync = store.sync({ url: stub.url, token: 't', live: true });
  t.after(() => sync.close());
  await until(() => stub.log.filter((r) => r.kind === 'notices').length >= 3, () => `no third notice connection: ${JSON.stringify(stub.log)}`);
  const kinds = stub.log.map((r) => `${r.kind}${r.refused ? ' 429' : ''}`);
  // A round at start; each refused notice connection is followed, after the wait, by a catch-up
  // round (a pull) and a new connection.
  assert.deepEqual(kinds.slice(0, 6), ['pull', 'notices 429', 'pull', 'notices 429', 'pull', 'notices']);
  for (const i of [1, 3]) {
    const gap = stub.log[i + 1].at - stub.log[i].at;
    assert.ok(gap >= 500 - 2, `request ${i + 1} came ${gap.toFixed(1)} ms after a 429 asking 500 ms`);
  }
});
