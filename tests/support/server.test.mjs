// tests/support/server.mjs works as documented: a cluster and two servers on it, push and
// pull, a notice across processes, a PostgreSQL restart, a graceful stop, cleanup, the rate limit option.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startPostgres, startServer } from './server.mjs';

const id = (n) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const push = (server, token, appends) =>
  fetch(`${server.url}/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ appends }),
  });

/** Reads the notice stream until a head of at least `want` (guarded: 60 s). */
async function waitForHead(response, want) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const guard = setTimeout(() => reader.cancel(), 60_000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the notice stream ended');
      buffer += decoder.decode(value, { stream: true });
      for (const m of buffer.matchAll(/data: (\{.*\})/g)) {
        if (JSON.parse(m[1]).head >= want) return JSON.parse(m[1]).head;
      }
    }
  } finally {
    clearTimeout(guard);
    reader.cancel().catch(() => {});
  }
}

test('startPostgres and startServer: push, pull, notices, restart, stop', async () => {
  const pg = await startPostgres({ settings: { fsync: 'off' } });
  assert.match(pg.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
  const a = await startServer({ databaseUrl: pg.url, tokens: { s1: 'shop' }, limits: { maxAppends: 3 } });
  const b = await startServer({ databaseUrl: pg.url, tokens: { s2: 'shop' } });
  assert.match(a.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const notices = await fetch(`${b.url}/v1/notices`, { headers: { authorization: 'Bearer s2' } });
  assert.equal(notices.status, 200);

  const append = (n) => ({ stream: 'Cart-1', expectedVersion: 'any', recordedAt: 1, events: [{ id: id(n), type: 'Added', data: { n } }] });
  const tooMany = await push(a, 's1', [append(1), append(2), append(3), append(4)]);
  assert.equal(tooMany.status, 413);
  assert.equal((await tooMany.json()).limits.maxAppends, 3, 'the limits given reach the server');
  const ok = await push(a, 's1', [append(1), append(2)]);
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).head, 2);
  assert.equal(await waitForHead(notices, 2), 2, 'a push through one server is announced by the other');

  await pg.restart();
  let reply;
  for (let i = 0; i < 100; i++) {
    reply = await push(a, 's1', [append(3)]);
    if (reply.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(reply.status, 200, 'the server recovers after a PostgreSQL restart');
  const pulled = await (await fetch(`${b.url}/v1/pull?after=0`, { headers: { authorization: 'Bearer s2' } })).json();
  assert.deepEqual(pulled.events.map((e) => e.data.n), [1, 2, 3]);

  assert.equal(await a.stop(), 0, 'SIGTERM stops it gracefully');
  await b.kill();
  await pg.stop();
  assert.equal(fs.existsSync(pg.dir), false, 'the cluster directory is gone');
});

test('startServer: rateLimit reaches the server; off by default', async () => {
  const pg = await startPostgres({ settings: { fsync: 'off' } });
  const limited = await startServer({ databaseUrl: pg.url, tokens: { s1: 'shop' }, rateLimit: '1,2' });
  const free = await startServer({ databaseUrl: pg.url, tokens: { s1: 'shop' } });
  try {
    const pull = (server) => fetch(`${server.url}/v1/pull`, { headers: { authorization: 'Bearer s1' } });
    assert.deepEqual([(await pull(limited)).status, (await pull(limited)).status], [200, 200]);
    const over = await pull(limited);
    assert.equal(over.status, 429);
    assert.equal(over.headers.get('retry-after'), '1');
    const body = await over.json();
    assert.equal(body.error, 'rate_limited');
    assert.ok(body.retryAfterMs > 0 && body.retryAfterMs <= 1000, `retryAfterMs ${body.retryAfterMs}`);
    for (let i = 0; i < 120; i++) assert.equal((await pull(free)).status, 200, `request ${i} without a limit`);
  } finally {
    await limited.stop();
    await free.stop();
    await pg.stop();
  }
});
