// End-to-end tests of the shopping-list demo (demo/) in headless Chromium:
//   (a) the list survives a reload (and a browser restart on the same profile): IndexedDB;
//   (b) a change made in one page shows up live in a second page of the same origin.
import test from 'node:test';
import assert from 'node:assert/strict';
import { browserSession, watchPage, screenshotPath } from './helpers.mjs';

const WAIT = { timeout: 15_000 };

async function openDemo(context, url, label) {
  const page = await context.newPage();
  const problems = watchPage(page, label);
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready]', WAIT).catch((err) => {
    throw new Error(`${label}: demo not ready: ${err.message}\n${problems.join('\n')}`);
  });
  const ready = await page.getAttribute('body', 'data-ready');
  if (ready !== 'true') {
    const error = await page.textContent('[data-testid="error"]');
    throw new Error(`${label}: demo failed to load: ${error}\n${problems.join('\n')}`);
  }
  return { page, problems };
}

function readList(page) {
  return page.$$eval('[data-testid="item"]', (lis) =>
    lis.map((li) => ({
      name: li.querySelector('[data-testid="item-name"]').textContent,
      checked: li.querySelector('[data-testid="item-checkbox"]').checked,
      rowChecked: li.dataset.checked === 'true',
    })),
  );
}

function readLog(page) {
  return page.$$eval('[data-testid="log-row"]', (rows) =>
    rows.map((tr) => ({
      position: Number(tr.cells[0].textContent),
      version: Number(tr.cells[1].textContent),
      type: tr.cells[2].textContent,
      item: tr.cells[3].textContent,
      time: tr.querySelector('time')?.dateTime ?? '',
    })),
  );
}

const waitVersion = (page, v) => page.waitForSelector(`[data-testid="status"][data-version="${v}"]`, WAIT);

async function addItem(page, name, expectVersion) {
  await page.fill('[data-testid="new-item-input"]', name);
  await page.click('[data-testid="add-button"]');
  await waitVersion(page, expectVersion);
}

function itemRow(page, name) {
  return page.locator('[data-testid="item"]', {
    has: page.locator('[data-testid="item-name"]', { hasText: new RegExp(`^${name}$`) }),
  });
}

test('demo: 3 items and a checked item survive a reload and a browser restart', { timeout: 150_000 }, async (t) => {
  const session = await browserSession(t, 'demo-a');
  const { server } = session;
  let { context } = session;
  const { page, problems } = await openDemo(context, server.url, 'page');
  assert.deepEqual(await readList(page), [], 'a fresh profile starts with an empty list');
  assert.match(await page.textContent('[data-testid="offline-note"]'), /offline/i);

  await addItem(page, 'Milk', 1);
  await addItem(page, 'Eggs', 2);
  await addItem(page, 'Bread', 3);
  await itemRow(page, 'Eggs').locator('[data-testid="item-checkbox"]').click();
  await waitVersion(page, 4);

  const expected = [
    { name: 'Milk', checked: false, rowChecked: false },
    { name: 'Eggs', checked: true, rowChecked: true },
    { name: 'Bread', checked: false, rowChecked: false },
  ];
  const expectedLog = [
    { position: 4, version: 4, type: 'ItemChecked', item: 'Eggs' },
    { position: 3, version: 3, type: 'ItemAdded', item: 'Bread' },
    { position: 2, version: 2, type: 'ItemAdded', item: 'Eggs' },
    { position: 1, version: 1, type: 'ItemAdded', item: 'Milk' },
  ];
  const withoutTime = (rows) => rows.map(({ time, ...rest }) => rest);
  assert.deepEqual(await readList(page), expected, 'before reload');

  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="true"]', WAIT).catch((err) => {
    throw new Error(`demo not ready after reload: ${err.message}\n${problems.join('\n')}`);
  });
  assert.deepEqual(await readList(page), expected, 'after reload');
  const log = await readLog(page);
  assert.deepEqual(withoutTime(log), expectedLog, 'event log after reload');
  for (const row of log) assert.ok(!Number.isNaN(Date.parse(row.time)), `recordedAt is a date: ${row.time}`);
  assert.equal(await page.getAttribute('[data-testid="status"]', 'data-version'), '4');
  const shot = screenshotPath('demo-after-reload.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
  assert.deepEqual(problems, [], 'no page errors');

  // A browser restart on the same profile: the list comes back from IndexedDB on disk.
  context = await session.restart();
  const again = await openDemo(context, server.url, 'restarted page');
  assert.deepEqual(await readList(again.page), expected, 'after browser restart');
  assert.deepEqual(withoutTime(await readLog(again.page)), expectedLog, 'event log after browser restart');
  assert.deepEqual(again.problems, [], 'no page errors after restart');
});

test('demo: a change in one page appears live in a second page', { timeout: 120_000 }, async (t) => {
  const session = await browserSession(t, 'demo-b');
  const { server, context } = session;
  const one = await openDemo(context, server.url, 'page 1');
  const two = await openDemo(context, server.url, 'page 2');
  assert.deepEqual(await readList(two.page), []);

  // page 1 adds → page 2 shows it without a reload
  await addItem(one.page, 'Apples', 1);
  await itemRow(two.page, 'Apples').waitFor({ state: 'attached', ...WAIT });
  await waitVersion(two.page, 1);
  assert.deepEqual(await readList(two.page), [{ name: 'Apples', checked: false, rowChecked: false }]);
  const log2 = await readLog(two.page);
  assert.equal(log2.length, 1, 'page 2 event log has one row');
  assert.deepEqual(
    { ...log2[0], time: undefined },
    { position: 1, version: 1, type: 'ItemAdded', item: 'Apples', time: undefined },
  );
  const shot = screenshotPath('demo-second-page.png');
  await two.page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);

  // page 2 checks it → page 1 shows it checked
  await itemRow(two.page, 'Apples').locator('[data-testid="item-checkbox"]').click();
  await one.page.waitForSelector('[data-testid="item"][data-checked="true"]', WAIT);
  assert.deepEqual(await readList(one.page), [{ name: 'Apples', checked: true, rowChecked: true }]);

  // page 1 removes it → page 2's list is empty, and its log has all three events
  await itemRow(one.page, 'Apples').locator('[data-testid="item-remove"]').click();
  await waitVersion(two.page, 3);
  assert.deepEqual(await readList(two.page), []);
  assert.deepEqual(
    (await readLog(two.page)).map(({ position, version, type }) => [position, version, type]),
    [
      [3, 3, 'ItemRemoved'],
      [2, 2, 'ItemChecked'],
      [1, 1, 'ItemAdded'],
    ],
  );
  assert.deepEqual([...one.problems, ...two.problems], [], 'no page errors');
});

test('demo: two pages adding at the same moment both land (conflicts are retried)', { timeout: 120_000 }, async (t) => {
  const session = await browserSession(t, 'demo-c');
  const { server, context } = session;
  const one = await openDemo(context, server.url, 'page 1');
  const two = await openDemo(context, server.url, 'page 2');

  // Each page submits 5 items in one go; both pages at once.
  const submitAll = (names) => {
    const input = document.querySelector('[data-testid="new-item-input"]');
    const form = document.querySelector('[data-testid="add-form"]');
    for (const name of names) {
      input.value = name;
      form.requestSubmit();
    }
  };
  const names1 = ['a1', 'a2', 'a3', 'a4', 'a5'];
  const names2 = ['b1', 'b2', 'b3', 'b4', 'b5'];
  await Promise.all([one.page.evaluate(submitAll, names1), two.page.evaluate(submitAll, names2)]);
  await Promise.all([waitVersion(one.page, 10), waitVersion(two.page, 10)]);

  const list1 = await readList(one.page);
  const list2 = await readList(two.page);
  assert.deepEqual(list1.map((i) => i.name).sort(), [...names1, ...names2].sort(), 'page 1 has all 10 items');
  assert.deepEqual(list2, list1, 'both pages show the same list in the same order');
  // each page's own items keep their submit order
  assert.deepEqual(list1.map((i) => i.name).filter((n) => n.startsWith('a')), names1);
  assert.deepEqual(list1.map((i) => i.name).filter((n) => n.startsWith('b')), names2);
  for (const page of [one.page, two.page]) {
    const log = await readLog(page);
    assert.deepEqual(log.map((r) => r.version), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    assert.ok(log.every((r) => r.type === 'ItemAdded'));
    assert.equal(await page.isHidden('[data-testid="error"]'), true, 'no error shown');
  }
  const conflicts = await Promise.all([one.page, two.page].map((p) => p.getAttribute('body', 'data-conflicts')));
  t.diagnostic(`conflicts retried: page 1 ${conflicts[0] ?? 0}, page 2 ${conflicts[1] ?? 0}`);
  assert.deepEqual([...one.problems, ...two.problems], [], 'no page errors');
});
