// Shared helpers for the browser end-to-end tests (not a test file itself).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { start } from '../../demo/serve.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PAGES_DIR = path.join(ROOT, 'tests/e2e/pages');
const FIXTURES_DIR = path.join(ROOT, 'tests/fixtures');
const DEMO_DIR = path.join(ROOT, 'demo');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless=new',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function sameBytes(a, b) {
  try {
    return fs.readFileSync(a).equals(fs.readFileSync(b));
  } catch {
    return false;
  }
}

/**
 * Make sure demo/node_modules/annals is the packed form of the current pkg-js build: runs
 * demo/install.sh when it is missing or its dist differs from pkg-js/dist. Test files may run
 * in parallel processes, so the install is done under a lock directory.
 */
export function ensureDemoInstalled() {
  const built = path.join(ROOT, 'pkg-js/dist');
  const installed = path.join(DEMO_DIR, 'node_modules/annals/dist');
  if (!fs.existsSync(path.join(built, 'browser.js'))) {
    throw new Error('pkg-js/dist/browser.js is missing: run `bash scripts/build.sh` first');
  }
  const fresh = () =>
    ['browser.js', 'wasm/annals_bg.wasm', 'wasm/annals.js'].every((f) =>
      sameBytes(path.join(built, f), path.join(installed, f)),
    );
  if (fresh()) return;

  const lock = path.join(os.tmpdir(), 'annals-e2e-demo-install.lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 300_000) fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      else sleepSync(250);
    }
  }
  try {
    if (!fresh()) {
      execFileSync('bash', [path.join(DEMO_DIR, 'install.sh')], { cwd: ROOT, stdio: 'inherit', timeout: 170_000 });
    }
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
  if (!fresh()) throw new Error('demo/node_modules/annals does not match pkg-js/dist after demo/install.sh');
}

/** Static server on a free port: the demo at /, the test pages at /e2e/, the schema fixtures at /fixtures/. */
export function startServer() {
  return start(0, { mounts: { '/e2e/': PAGES_DIR, '/fixtures/': FIXTURES_DIR } });
}

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A persistent Chromium context on `userDataDir` (its own IndexedDB, kept on disk). `args` are
 * passed to Chromium after CHROMIUM_ARGS.
 */
export async function launchContext(userDataDir, { args = [] } = {}) {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    timeout: 30_000,
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  return context;
}

/**
 * What a browser test needs, torn down when test `t` ends: the demo installed, a server on a
 * free port, a fresh profile and a Chromium context on it. `restart()` closes the browser and
 * opens it again on the same profile (IndexedDB kept on disk).
 */
export async function browserSession(t, label) {
  ensureDemoInstalled();
  const server = await startServer();
  const profile = tempDir(`annals-e2e-${label}-`);
  const session = { server, context: undefined };
  t.after(async () => {
    await session.context?.close().catch(() => {});
    await server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  });
  session.context = await launchContext(profile);
  session.restart = async () => {
    await session.context.close();
    session.context = await launchContext(profile);
    return session.context;
  };
  return session;
}

/** Collects uncaught page errors and console errors so a test can assert there were none. */
export function watchPage(page, label) {
  const problems = [];
  page.on('pageerror', (err) => problems.push(`${label} pageerror: ${err.stack ?? err}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`${label} console.error: ${msg.text()}`);
  });
  page.on('requestfailed', (req) => problems.push(`${label} request failed: ${req.url()} ${req.failure()?.errorText}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`${label} HTTP ${res.status()}: ${res.url()}`);
  });
  return problems;
}

/** Reject after `ms` with a message naming what was awaited. */
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export const SCREENSHOT_DIR = path.join(os.tmpdir(), 'annals-e2e-screenshots');
export function screenshotPath(name) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return path.join(SCREENSHOT_DIR, name);
}
