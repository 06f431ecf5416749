// PostgreSQL and annals-server for end-to-end tests and benchmarks, each a private process
// on 127.0.0.1 that is stopped with the Node process however it ends.
//
//   import { startPostgres, startServer, serverBinary } from '../support/server.mjs';
//
//   const pg = await startPostgres();            // { url, dir, port, stop(), restart() }
//   //   options: { settings: { fsync: 'off', … } }  extra `-c name=value` server settings
//   //   (tests may pass fsync: 'off'; the default is PostgreSQL's own, durable, for benchmarks).
//   //   url: postgres://postgres@127.0.0.1:PORT/postgres (trust auth, superuser `postgres`).
//   //   restart(): stops (fast: connections are cut) and starts it again on the same port.
//   //   restart({ mode: 'immediate' }): the same, stopped as by a crash (no shutdown checkpoint;
//   //   the next start recovers from the WAL).
//   //   query(sql): runs `sql` through psql; resolves with its rows, each an array of text fields
//   //   (tab-separated, NULL as ''): for tests that check what PostgreSQL holds.
//   //   stop(): stops it and deletes its directory. Idempotent.
//
//   const server = await startServer({
//     databaseUrl: pg.url,                       // required
//     tokens: { 'secret-1': 'tenantA' },         // required: bearer token → tenant
//     allowOrigins: ['http://127.0.0.1:5173'],   // optional CORS origins (default none)
//     limits: { maxBodyBytes, maxAppends, maxEvents, maxEventBytes },  // optional
//     rateLimit: '50,100',                       // optional: ANNALS_RATE_LIMIT, requests per
//                                                // second and burst per token, or 'off'
//                                                // (default 'off': suites measure sync, not
//                                                // the limiter; the server's own default is 50,100)
//     port: 0,                                   // optional; 0 (default): any free port
//     release: false,                            // optional; true: the optimised build
//   });                                          // { url, pid, stop(), kill() }
//   //   Resolves once the server prints its "listening" line; url is http://127.0.0.1:PORT.
//   //   stop(): SIGTERM, resolves with the exit code once it has exited (graceful: requests
//   //   under way finish, notice streams end). kill(): SIGKILL, resolves once it has exited.
//
// The server binary is target/debug/annals-server, or target/server/annals-server with
// `release: true`; it is built (cargo build -p annals-server [--profile server]) when it is
// missing. A script that needs a fresh build calls buildServer() (or runs that cargo command)
// first. PostgreSQL comes from $ANNALS_PG_BIN, else /usr/lib/postgresql/15/bin (Debian's
// `postgresql` package; bash scripts/setup.sh installs it). As root, PostgreSQL's commands run
// as the `postgres` user (runuser), as it refuses to run as root.
//
// Cleanup: each process is stopped by stop()/kill(), else when Node exits (an 'exit' hook:
// a server or cluster left running does not keep Node alive;
// SIGINT/SIGTERM/SIGHUP end the process through it), else, if Node dies by SIGKILL, by a
// watchdog shell that waits for Node's end of a pipe to close.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PG_BIN = process.env.ANNALS_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const READY_TIMEOUT_MS = 60_000;

/** The path of the server binary (`release`: the optimised build). */
export function serverBinary({ release = false } = {}) {
  return path.join(ROOT, 'target', release ? 'server' : 'debug', 'annals-server');
}

/** Builds the server binary (a no-op when it is up to date). */
export function buildServer({ release = false } = {}) {
  const args = ['build', '-p', 'annals-server', '--bin', 'annals-server', ...(release ? ['--profile', 'server'] : [])];
  execFileSync('cargo', args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  return serverBinary({ release });
}

// ---- cleanup ----------------------------------------------------------------------------

const cleanups = new Set();
let hooked = false;

function onExit(cleanup) {
  cleanups.add(cleanup);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      // Newest first: servers before the clusters they use.
      for (const c of [...cleanups].reverse()) {
        try { c(); } catch { /* best effort while exiting */ }
      }
    });
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
    }
  }
  return () => cleanups.delete(cleanup);
}

/** A shell that runs `script` when this process's end of its stdin closes (Node died). */
function watchdog(script) {
  const child = spawn('sh', ['-c', `trap '' TERM INT HUP; read _; ${script}`], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  child.unref();
  child.stdin.unref?.();
  return {
    disarm() {
      try { child.kill('SIGKILL'); } catch { /* already gone */ }
    },
  };
}

function pgCommand(program, args) {
  const bin = path.join(PG_BIN, program);
  return IS_ROOT ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

function runPg(program, args) {
  const [cmd, argv] = pgCommand(program, args);
  const out = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (out.status !== 0) {
    throw new Error(`${program} ${args.join(' ')} failed (${out.status}): ${out.stdout}${out.stderr}`);
  }
  return out.stdout;
}

/** runPg without blocking the event loop (proxies and clients in this process keep going). */
function runPgAsync(program, args) {
  const [cmd, argv] = pgCommand(program, args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { out += c; });
    child.on('error', reject);
    child.on('close', (status) => {
      if (status === 0) resolve(out);
      else reject(new Error(`${program} ${args.join(' ')} failed (${status}): ${out}`));
    });
  });
}

function shellQuote(s) {
  return `'${String(s).replaceAll("'", "'\\''")}'`;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ---- PostgreSQL ---------------------------------------------------------------------------

/** Creates and starts a private PostgreSQL cluster; see the header. */
export async function startPostgres({ settings = {} } = {}) {
  if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) {
    throw new Error(`PostgreSQL is not installed at ${PG_BIN} (bash scripts/setup.sh installs it)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-pg-'));
  if (IS_ROOT) execFileSync('chown', ['postgres', dir]);
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'log');
  runPg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const extra = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`);
  let port;
  let options;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    options = ['-c listen_addresses=127.0.0.1', `-k ${dir}`, ...extra, `-p ${port}`].join(' ');
    try {
      runPg('pg_ctl', ['-D', data, '-l', log, '-w', '-o', options, 'start']);
      break;
    } catch (err) {
      // The port may have been taken meanwhile: try another.
      if (attempt >= 4) throw new Error(`${err.message}\n${fs.readFileSync(log, 'utf8')}`);
    }
  }
  const [stopCmd, stopArgs] = pgCommand('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
  const dog = watchdog(
    `${[stopCmd, ...stopArgs].map(shellQuote).join(' ')} >/dev/null 2>&1; rm -rf ${shellQuote(dir)}`,
  );
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    unhook();
    try { runPg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']); } catch { /* already stopped */ }
    fs.rmSync(dir, { recursive: true, force: true });
    dog.disarm();
  };
  const unhook = onExit(stop);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dir,
    port,
    async stop() { stop(); },
    async query(sql) {
      const [cmd, argv] = pgCommand('psql', ['-X', '-q', '-At', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-c', sql]);
      const out = await new Promise((resolve, reject) => {
        const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
        const chunks = [];
        let err = '';
        child.stdout.on('data', (c) => chunks.push(c));
        child.stderr.on('data', (c) => { err += c; });
        child.on('error', reject);
        child.on('close', (status) => (status === 0 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`psql failed (${status}): ${err}`))));
      });
      return out.split('\n').filter((line) => line !== '').map((line) => line.split('\t'));
    },
    async restart({ mode = 'fast' } = {}) {
      if (!['smart', 'fast', 'immediate'].includes(mode)) throw new Error(`restart: unknown mode ${mode}`);
      await runPgAsync('pg_ctl', ['-D', data, '-l', log, '-m', mode, '-w', 'restart']);
    },
  };
}

// ---- annals-server ------------------------------------------------------------------------

/** Starts annals-server; see the header. */
export async function startServer({
  databaseUrl,
  tokens,
  allowOrigins = [],
  limits = {},
  rateLimit = 'off',
  port = 0,
  release = false,
} = {}) {
  if (!databaseUrl) throw new Error('startServer: databaseUrl is required');
  if (!tokens || Object.keys(tokens).length === 0) throw new Error('startServer: tokens are required');
  let binary = serverBinary({ release });
  if (!fs.existsSync(binary)) binary = buildServer({ release });
  const flags = { maxBodyBytes: '--max-body-bytes', maxAppends: '--max-appends', maxEvents: '--max-events', maxEventBytes: '--max-event-bytes' };
  const args = ['--listen', `127.0.0.1:${port}`, '--database-url', databaseUrl];
  for (const [secret, tenant] of Object.entries(tokens)) args.push('--token', `${secret}=${tenant}`);
  for (const origin of allowOrigins) args.push('--allow-origin', origin);
  for (const [key, value] of Object.entries(limits)) {
    if (!flags[key]) throw new Error(`startServer: unknown limit ${key}`);
    args.push(flags[key], String(value));
  }
  const env = { ...process.env };
  delete env.ANNALS_TOKENS;
  delete env.DATABASE_URL;
  delete env.ANNALS_ALLOW_ORIGINS;
  env.ANNALS_RATE_LIMIT = String(rateLimit);
  const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const dog = watchdog(`kill -9 ${child.pid} 2>/dev/null`);
  const unhook = onExit(() => {
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
    dog.disarm();
  });
  exited.then(() => { unhook(); dog.disarm(); });

  const lines = readline.createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('annals-server did not start in time')), READY_TIMEOUT_MS);
    lines.on('line', (line) => {
      const m = /^annals-server listening on (http:\/\/\S+)$/.exec(line);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    exited.then((code) => { clearTimeout(timer); reject(new Error(`annals-server exited (${code}) before listening`)); });
  });
  // A server left running does not keep Node alive: the exit hook stops it.
  child.unref();
  child.stdout.unref?.();
  return {
    url,
    pid: child.pid,
    /** SIGTERM; resolves with the exit code. */
    async stop() {
      child.ref(); // wait for it
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    /** SIGKILL; resolves once it has exited. */
    async kill() {
      child.ref();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}
