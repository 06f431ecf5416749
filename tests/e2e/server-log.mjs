// A tenant's log on annals-server, read and written straight over HTTP by the sync e2e tests
// (not a test file itself).
import assert from 'node:assert/strict';

/** Every event of the tenant behind `token`, in server order. */
export async function serverLog(url, token) {
  const events = [];
  for (;;) {
    const response = await fetch(`${url}/v1/pull?after=${events.length}&limit=10000`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200, `pull: HTTP ${response.status}`);
    const page = await response.json();
    events.push(...page.events);
    if (page.events.length === 0 || events.length >= page.head) return events;
  }
}

/** Another device's events, pushed straight to the server: `n` events over 8 streams. */
export async function pushEvents(url, token, n, prefix) {
  for (let done = 0; done < n; ) {
    const appends = [];
    for (let i = 0; i < 500 && done < n; i++, done++) {
      appends.push({
        stream: `${prefix}-${done % 8}`,
        expectedVersion: 'any',
        recordedAt: Date.now(),
        events: [{ id: crypto.randomUUID(), type: 'Elsewhere', data: { n: done, text: `event ${done} of another device` }, metadata: {} }],
      });
    }
    const response = await fetch(`${url}/v1/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ appends }),
    });
    assert.equal(response.status, 200, `push: HTTP ${response.status} ${await response.text()}`);
  }
}
