// The demo syncing between two browsers (two Chromium profiles = two devices) through
// annals-server on a private PostgreSQL: live updates, the online switch, the pending count,
// each item's state, and a conflict resolved with its Rebase and Discard buttons.
import test from 'node:test';
import assert from 'node:assert/strict';
import { ensureDemoInstalled, launchContext, screenshotPath, tempDir } from './helpers.mjs';
import { start } from '../../demo/serve.mjs';
import { startPostgres, startServer } from '../support/server.mjs';

const WAIT = { timeout: 20_000 };

async function openDevice(t, url, label) {
  const context = await launchContext(tempDir(`annals-demo-sync-${label}-`));
  t.after(() => context.close().catch(() => {}));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`${label}: ${e}`));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', WAIT);
  await page.waitForSelector('[data-testid="sync-status"][data-state="connected"]', WAIT);
  return { page, errors, label };
}

const list = (page) =>
  page.$$eval('[data-testid="item"]', (lis) =>
    lis.map((li) => ({
      name: li.querySelector('[data-testid="item-name"]').textContent,
      checked: li.dataset.checked === 'true',
      state: li.querySelector('[data-testid="item-state"]').dataset.state,
    })),
  );

async function add(page, name) {
  await page.fill('[data-testid="new-item-input"]', name);
  await page.click('[data-testid="add-button"]');
  await page.locator('[data-testid="item-name"]', { hasText: name }).waitFor(WAIT);
}

const pending = (page) => page.getAttribute('[data-testid="pending-count"]', 'data-count').then(Number);
const online = (page, on) => page.setChecked('[data-testid="online-toggle"]', on);

/** Waits until the page's list is `expected` (names, checked, state). */
async function waitList(page, expected) {
  await page.waitForFunction(
    (want) => {
      const got = [...document.querySelectorAll('[data-testid="item"]')].map((li) => ({
        name: li.querySelector('[data-testid="item-name"]').textContent,
        checked: li.dataset.checked === 'true',
        state: li.querySelector('[data-testid="item-state"]').dataset.state,
      }));
      return JSON.stringify(got) === JSON.stringify(want);
    },
    expected,
    WAIT,
  ).catch(async (e) => {
    throw new Error(`${e.message}\nwanted ${JSON.stringify(expected)}\ngot    ${JSON.stringify(await list(page))}`);
  });
}

test('demo: two browsers sync, work offline, and settle a conflict with Rebase and Discard', { timeout: 240_000 }, async (t) => {
  ensureDemoInstalled();
  const pg = await startPostgres();
  t.after(() => pg.stop());
  // The server must know the demo's origin (CORS), and the demo the server's URL: the static
  // server starts first and serves /config.json from an object filled in once the server runs.
  const config = {};
  const statics = await start(0, { config });
  t.after(() => statics.close());
  const server = await startServer({ databaseUrl: pg.url, tokens: { 'demo-token': 'demo' }, allowOrigins: [new URL(statics.url).origin] });
  t.after(() => server.stop());
  Object.assign(config, { url: server.url, token: 'demo-token' });

  const a = await openDevice(t, statics.url, 'a');
  const b = await openDevice(t, statics.url, 'b');
  const synced = (name, checked = false) => ({ name, checked, state: 'synced' });

  // Online: an item added on one device reaches the other, live, and shows as synced on both.
  await add(a.page, 'Milk');
  await waitList(a.page, [synced('Milk')]);
  await waitList(b.page, [synced('Milk')]);

  // Offline, both devices change the list from the same version.
  await online(a.page, false);
  await online(b.page, false);
  await a.page.waitForSelector('[data-testid="sync-status"][data-state="offline"]', WAIT);
  await add(a.page, 'Eggs');
  await add(b.page, 'Bread');
  await waitList(a.page, [synced('Milk'), { name: 'Eggs', checked: false, state: 'pending' }]);
  await waitList(b.page, [synced('Milk'), { name: 'Bread', checked: false, state: 'pending' }]);
  assert.equal(await pending(a.page), 1);
  assert.equal(await pending(b.page), 1);
  await b.page.screenshot({ path: screenshotPath('demo-sync-offline.png'), fullPage: true });

  // A comes back first and wins; B's append was decided on version 1 and is refused: a
  // conflict, while B's list shows the server's.
  await online(a.page, true);
  await waitList(a.page, [synced('Milk'), synced('Eggs')]);
  await online(b.page, true);
  await b.page.locator('[data-testid="conflict"]').waitFor(WAIT);
  assert.match(await b.page.textContent('[data-testid="conflict-text"]'), /ItemAdded Bread/);
  await waitList(b.page, [synced('Milk'), synced('Eggs')]);
  assert.equal(await pending(b.page), 0);
  await b.page.screenshot({ path: screenshotPath('demo-sync-conflict.png'), fullPage: true });
  t.diagnostic(`screenshots: ${screenshotPath('demo-sync-offline.png')}, ${screenshotPath('demo-sync-conflict.png')}`);

  // Rebase: Bread goes after Eggs, on both devices.
  await b.page.click('[data-testid="conflict-rebase"]');
  await waitList(b.page, [synced('Milk'), synced('Eggs'), synced('Bread')]);
  await waitList(a.page, [synced('Milk'), synced('Eggs'), synced('Bread')]);
  assert.equal(await b.page.locator('[data-testid="conflict"]').count(), 0);

  // Again offline: A checks Milk, B removes it; B's removal is refused and discarded.
  await online(a.page, false);
  await online(b.page, false);
  await a.page.locator('[data-testid="item"]', { hasText: 'Milk' }).locator('[data-testid="item-checkbox"]').click();
  await b.page.locator('[data-testid="item"]', { hasText: 'Milk' }).locator('[data-testid="item-remove"]').click();
  await waitList(b.page, [synced('Eggs'), synced('Bread')]);
  await online(a.page, true);
  await waitList(a.page, [synced('Milk', true), synced('Eggs'), synced('Bread')]);
  await online(b.page, true);
  await b.page.locator('[data-testid="conflict"]').waitFor(WAIT);
  await b.page.click('[data-testid="conflict-discard"]');
  await waitList(b.page, [synced('Milk', true), synced('Eggs'), synced('Bread')]);
  assert.equal(await pending(b.page), 0);
  assert.deepEqual([...a.errors, ...b.errors], []);
});
