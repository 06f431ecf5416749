// What the packaging test needs around the apps: the packed package installed into fresh app
// directories, the tools of tests/packaging/node_modules, servers on free ports, one Chromium,
// and the sizes of what a build emits. Not a test file itself.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
/** Apps are laid out here, under tests/packaging so their configs resolve the tools installed here. */
export const WORK = path.join(HERE, '.work');
export const BIN = path.join(HERE, 'node_modules/.bin');

/** Runs a command; rejects with its output when it fails or outlives `timeout`. */
export async function sh(cmd, args, { cwd, env, timeout = 120_000 } = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(cmd, args, {
      cwd, env: { ...process.env, ...env }, timeout, maxBuffer: 64 << 20, killSignal: 'SIGKILL',
    });
    return stdout + stderr;
  } catch (e) {
    const output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed (${e.code ?? e.signal}):\n${output.slice(-4000)}`);
  }
}

/** Packs pkg-js as it would be published and installs it into a scratch project; returns its node_modules/annals. */
export async function packAndInstall() {
  const pkg = path.join(ROOT, 'pkg-js');
  if (!fs.existsSync(path.join(pkg, 'dist/browser.js'))) throw new Error('pkg-js/dist is missing: run `bash scripts/build.sh` first');
  fs.rmSync(WORK, { recursive: true, force: true });
  const scratch = path.join(WORK, '.install');
  fs.mkdirSync(scratch, { recursive: true });
  const [packed] = JSON.parse(await sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], { cwd: pkg }));
  fs.writeFileSync(path.join(scratch, 'package.json'), '{ "name": "scratch", "private": true }');
  await sh('npm', ['install', path.join(scratch, packed.filename), '--offline', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts'], { cwd: scratch });
  return path.join(scratch, 'node_modules/annals');
}

/**
 * A fresh app: `template` (a folder of apps/) copied to .work/`name`, with the installed
 * package in its node_modules. `replace` swaps file contents (the baseline builds).
 */
export function makeApp(name, template, installed, replace = {}) {
  const dir = path.join(WORK, name);
  fs.cpSync(path.join(HERE, 'apps', template), dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  fs.cpSync(installed, path.join(dir, 'node_modules/annals'), { recursive: true });
  for (const [file, from] of Object.entries(replace)) fs.copyFileSync(path.join(dir, from), path.join(dir, file));
  return dir;
}

/** gzip -9 of every .js and .wasm file under `dir` (what a page downloads) but `skip`, added up. */
export function shippedGzip(dir, skip = () => false) {
  let total = 0;
  for (const f of fs.readdirSync(dir, { recursive: true })) {
    if (/\.(m?js|wasm)$/.test(f) && !skip(f)) total += gzipSync(fs.readFileSync(path.join(dir, f)), { level: 9 }).length;
  }
  return total;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a long-running command; `stop()` ends it by its PID (and its process group). */
export function startProcess(cmd, args, { cwd, env } = {}) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return {
    output: () => output,
    stop: () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

/** Polls `f` until it resolves without throwing, for at most `ms`. */
export async function eventually(f, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}: ${e.message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
