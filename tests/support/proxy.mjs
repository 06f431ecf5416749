// An HTTP proxy in front of annals-server for end-to-end tests: a device's network. It can be
// taken offline (connections refused while off), and it can lose the answers of pushes the
// server committed (the request goes through, the response never comes back).
//
//   const proxy = await startProxy(serverUrl);
//   proxy.url            // give this to store.sync({ url })
//   proxy.online = false // every request fails as if the network were down
//   proxy.losePushAnswers = 3  // the next 3 pushes reach the server; their answers are lost
//   proxy.counts         // { push, pull, notices, lostAnswers, refused }
//   proxy.inFlight       // { push, pull }: requests forwarded whose answer has not ended yet
//   await proxy.stop()
//
// Options: startProxy(target, { onPush }) — onPush({ request, status, reply }) is called once
// for every push that reached the server, when it is settled: `request` the body sent (a Buffer),
// `status` the HTTP status of the answer the device was given in full (null when it got none:
// the upstream connection broke, the device went away, or the answer was lost on purpose),
// `reply` the answer's body (a Buffer, empty when status is null).
// startProxy(target, { onAnswer }) — onAnswer({ kind, sentAt, status, body }) is called for every
// push, pull and notice-stream request the server answered: `kind` 'push' | 'pull' | 'notices',
// `sentAt` when the request reached the proxy (performance.now()), `status` the answer's status,
// `body` its parsed JSON for a 429 (null otherwise).
import http from 'node:http';

export async function startProxy(target, { onPush, onAnswer } = {}) {
  const upstream = new URL(target);
  const sockets = new Set();
  const state = {
    online: true,
    losePushAnswers: 0,
    counts: { push: 0, pull: 0, notices: 0, lostAnswers: 0, refused: 0 },
    inFlight: { push: 0, pull: 0 },
  };
  const server = http.createServer((req, res) => {
    if (!state.online) {
      state.counts.refused += 1;
      req.socket.destroy();
      return;
    }
    const sentAt = performance.now();
    const path = req.url ?? '/';
    const kind = path.startsWith('/v1/push') ? 'push' : path.startsWith('/v1/pull') ? 'pull' : path.startsWith('/v1/notices') ? 'notices' : 'other';
    if (kind in state.counts) state.counts[kind] += 1;
    const lose = kind === 'push' && state.losePushAnswers > 0;
    if (lose) state.losePushAnswers -= 1;
    // In flight from forwarding until the answer has ended (or the exchange broke).
    const tracked = kind === 'push' || kind === 'pull';
    let settled = false;
    if (tracked) state.inFlight[kind] += 1;
    const observe = kind === 'push' && onPush !== undefined;
    const sent = [];
    const received = [];
    const settle = (status) => {
      if (settled) return;
      settled = true;
      if (tracked) state.inFlight[kind] -= 1;
      if (observe) onPush({ request: Buffer.concat(sent), status, reply: status === null ? Buffer.alloc(0) : Buffer.concat(received) });
    };
    if (observe) req.on('data', (chunk) => sent.push(chunk));
    res.on('finish', () => settle(res.statusCode));
    res.on('close', () => settle(null));
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, path, method: req.method, headers: req.headers },
      (answer) => {
        if (observe) answer.on('data', (chunk) => received.push(chunk));
        if (onAnswer && kind !== 'other') {
          if (answer.statusCode === 429) {
            const body = [];
            answer.on('data', (chunk) => body.push(chunk));
            answer.on('end', () => onAnswer({ kind, sentAt, status: 429, body: JSON.parse(Buffer.concat(body)) }));
          } else {
            onAnswer({ kind, sentAt, status: answer.statusCode, body: null });
          }
        }
        if (lose) {
          // The server decided and committed; the device never hears of it.
          answer.resume();
          answer.on('end', () => {
            state.counts.lostAnswers += 1;
            req.socket.destroy();
          });
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => req.socket.destroy());
    // The device's side gone (offline, or it went away) before the answer ended: the server's
    // side goes too, as over a real network; a notice stream held open here would otherwise
    // stay open on the server for good.
    res.on('close', () => {
      if (!res.writableFinished) forward.destroy();
    });
    req.pipe(forward);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    get counts() {
      return state.counts;
    },
    get inFlight() {
      return state.inFlight;
    },
    get online() {
      return state.online;
    },
    /** Going offline also cuts the connections open now (the notice stream among them). */
    set online(on) {
      state.online = on;
      if (!on) for (const socket of sockets) socket.destroy();
    },
    get losePushAnswers() {
      return state.losePushAnswers;
    },
    set losePushAnswers(n) {
      state.losePushAnswers = n;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
