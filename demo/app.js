// Offline-first shopping list on annals, synced with annals-server when one is configured.
//
// Every change is an event on one stream, `List-<id>`:
//   ItemAdded { itemId, name } · ItemChecked { itemId } · ItemUnchecked { itemId } · ItemRemoved { itemId }
// The list is the fold of that stream, rebuilt from the stream whenever it changes (a local
// append, another tab's, a pulled one, a confirmation or a conflict). Commands append with the
// stream version the state was built from; on WrongExpectedVersionError (another tab got there
// first) the state is rebuilt and the command is decided again. With sync, an append another
// device beat to the server comes back as a conflict, shown with Rebase / Discard buttons.
import { openStore } from 'annals';

const listParam = new URLSearchParams(location.search).get('list');
const LIST_ID = listParam && /^[\w-]{1,64}$/.test(listParam) ? listParam : 'default';
const STREAM = `List-${LIST_ID}`;
const MAX_ATTEMPTS = 10;
const ONLINE_KEY = `annals-demo-online:${LIST_ID}`;

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);
const ui = {
  form: $('add-form'),
  input: $('new-item-input'),
  add: $('add-button'),
  status: $('status'),
  error: $('error'),
  count: $('item-count'),
  list: $('item-list'),
  empty: $('empty-list'),
  stream: $('stream-name'),
  log: $('event-log-body'),
  syncPanel: $('sync-panel'),
  online: $('online-toggle'),
  syncStatus: $('sync-status'),
  pending: $('pending-count'),
  conflicts: $('conflict-list'),
};
ui.stream.textContent = STREAM;

// ---- state: a pure fold of the stream ---------------------------------------------------

/** The list the events of the stream make, with each item's sync state. */
function fold(events) {
  const items = new Map(); // itemId -> { id, name, checked, pending }
  const names = new Map(); // itemId -> name, kept after removal for the log
  for (const e of events) {
    const { itemId, name } = e.data ?? {};
    const item = items.get(itemId);
    const pending = e.serverPosition === null;
    switch (e.type) {
      case 'ItemAdded':
        items.set(itemId, { id: itemId, name, checked: false, pending });
        names.set(itemId, name);
        break;
      case 'ItemChecked':
      case 'ItemUnchecked':
        if (item) Object.assign(item, { checked: e.type === 'ItemChecked', pending: item.pending || pending });
        break;
      case 'ItemRemoved':
        items.delete(itemId);
        break;
      default:
        break; // unknown event types are kept in the log, ignored by the list
    }
  }
  const version = events.length ? events[events.length - 1].version : 0;
  const pending = events.filter((e) => e.serverPosition === null).length;
  return { version, items, names, events, pending };
}

let state = fold([]);

// ---- store ----------------------------------------------------------------------------

let store;
let reads = Promise.resolve();

/**
 * Rebuilds the state from the stream. Calls are chained, so each read starts after the
 * previous one ended and sees every append committed before the call.
 */
function refresh() {
  const read = reads.then(async () => {
    state = fold(await store.readStream(STREAM).toArray());
    render();
  });
  reads = read.catch(() => {});
  return read;
}

/**
 * Run a command: `decide(state)` returns the events to append (or none). The append is
 * conditional on the version the decision was made from.
 */
async function execute(decide) {
  for (let attempt = 1; ; attempt++) {
    const events = decide();
    if (!events || events.length === 0) return;
    try {
      await store.append(STREAM, events, { expectedVersion: state.version });
      await refresh();
      return;
    } catch (err) {
      if (err?.name === 'WrongExpectedVersionError' && attempt < MAX_ATTEMPTS) {
        // another tab appended first: catch up, then decide again on the new state
        document.body.dataset.conflicts = String(Number(document.body.dataset.conflicts ?? 0) + 1);
        await refresh();
        continue;
      }
      throw err;
    }
  }
}

// Commands of this tab run one at a time; conflicts can then only come from other tabs.
let commands = Promise.resolve();
function run(decide) {
  commands = commands
    .then(() => execute(decide))
    .then(clearError, showError)
    .finally(render);
}

const addItem = (name) => {
  const itemId = crypto.randomUUID();
  return () => [{ type: 'ItemAdded', data: { itemId, name } }];
};
const setChecked = (itemId, checked) => () => {
  const item = state.items.get(itemId);
  if (!item || item.checked === checked) return [];
  return [{ type: checked ? 'ItemChecked' : 'ItemUnchecked', data: { itemId } }];
};
const removeItem = (itemId) => () => (state.items.has(itemId) ? [{ type: 'ItemRemoved', data: { itemId } }] : []);

// ---- sync -----------------------------------------------------------------------------

/** `{ url, token }` of the annals server, from config.json next to the page (absent: no sync). */
async function loadConfig() {
  try {
    const response = await fetch('./config.json', { cache: 'no-store' });
    if (!response.ok) return undefined;
    const config = await response.json();
    return typeof config?.url === 'string' && typeof config?.token === 'string' ? config : undefined;
  } catch {
    return undefined;
  }
}

let config;
let sync;
let shownConflicts = new Set();

/** Online: a live sync, and its conflicts shown as they come. Offline: no sync at all. */
async function setOnline(online) {
  localStorage.setItem(ONLINE_KEY, online ? 'true' : 'false');
  ui.online.checked = online;
  if (!online) {
    const closing = sync;
    sync = undefined;
    await closing?.close();
    renderSync();
    return;
  }
  if (sync) return;
  sync = store.sync({ url: config.url, token: config.token });
  renderSync();
  const mine = sync;
  (async () => {
    for await (const conflict of mine.conflicts()) showConflict(conflict);
  })().catch(showError);
}

function showConflict(conflict) {
  const key = conflict.events[0]?.id;
  if (shownConflicts.has(key)) return;
  shownConflicts.add(key);
  const li = document.createElement('li');
  li.dataset.testid = 'conflict';
  const what = conflict.events
    .map((e) => `${e.type} ${state.names.get(e.data?.itemId) ?? e.data?.name ?? ''}`.trim())
    .join(', ');
  const text = document.createElement('span');
  text.dataset.testid = 'conflict-text';
  text.textContent = `${what} — another device changed the list first (${conflict.reason.replaceAll('_', ' ')}).`;
  const resolve = (action) => async () => {
    for (const b of li.querySelectorAll('button')) b.disabled = true;
    try {
      await conflict.resolve(action);
      li.remove();
      shownConflicts.delete(key);
      await refresh();
    } catch (err) {
      showError(err);
    }
  };
  li.append(text, button('Rebase', 'conflict-rebase', resolve('rebase')), button('Discard', 'conflict-discard', resolve('discard')));
  ui.conflicts.append(li);
  refresh();
}

function button(label, testid, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.dataset.testid = testid;
  b.addEventListener('click', onClick);
  return b;
}

let lastSeen = '';
/** The sync's state changes without an event here (a confirmation): watch it. */
function watchSync() {
  setInterval(() => {
    const s = sync?.state;
    const seen = s ? `${s.serverPosition}/${s.pending}/${s.connected}/${s.error?.code ?? ''}` : 'off';
    if (seen !== lastSeen) {
      lastSeen = seen;
      refresh().then(renderSync);
    }
  }, 300);
}

function renderSync() {
  if (!config) return;
  const s = sync?.state;
  let text = 'Offline: changes stay in this browser until you go online.';
  if (s?.error) text = `Not synced: ${s.error.code ?? s.error.name} (retrying)`;
  else if (s?.connected) text = `Synced up to server position ${s.serverPosition}`;
  else if (s) text = 'Connecting…';
  ui.syncStatus.textContent = text;
  ui.syncStatus.dataset.state = !s ? 'offline' : s.error ? 'error' : s.connected ? 'connected' : 'connecting';
  ui.pending.textContent = String(state.pending);
  ui.pending.dataset.count = String(state.pending);
}

// ---- rendering ------------------------------------------------------------------------

const rows = new Map(); // itemId -> <li>

function itemRow(item) {
  const li = document.createElement('li');
  li.dataset.testid = 'item';
  li.dataset.itemId = item.id;
  const label = document.createElement('label');
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.dataset.testid = 'item-checkbox';
  // The box shows the click at once; render() sets it back to the state when the command is done.
  box.addEventListener('change', () => run(setChecked(item.id, box.checked)));
  const name = document.createElement('span');
  name.className = 'name';
  name.dataset.testid = 'item-name';
  label.append(box, name);
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.dataset.testid = 'item-state';
  const remove = button('Remove', 'item-remove', () => run(removeItem(item.id)));
  remove.className = 'remove';
  li.append(label, badge, remove);
  return li;
}

function render() {
  // keyed update: keeps focus on the checkbox or button the user is using
  for (const [id, li] of rows) {
    if (!state.items.has(id)) {
      li.remove();
      rows.delete(id);
    }
  }
  for (const item of state.items.values()) {
    let li = rows.get(item.id);
    if (!li) {
      li = itemRow(item);
      rows.set(item.id, li);
    }
    ui.list.append(li); // in the stream's order, which sync may change
    li.dataset.checked = String(item.checked);
    li.querySelector('.name').textContent = item.name;
    li.querySelector('input').checked = item.checked;
    li.querySelector('.remove').setAttribute('aria-label', `Remove ${item.name}`);
    const badge = li.querySelector('.badge');
    badge.hidden = !config;
    badge.textContent = item.pending ? 'pending' : 'synced';
    badge.dataset.state = item.pending ? 'pending' : 'synced';
  }
  const total = state.items.size;
  const done = [...state.items.values()].filter((i) => i.checked).length;
  ui.count.textContent = total ? `(${done} of ${total} checked)` : '';
  ui.empty.hidden = total > 0;
  ui.status.dataset.version = String(state.version);
  ui.status.textContent = `Up to date · ${STREAM} at version ${state.version}`;
  renderLog();
  renderSync();
}

function renderLog() {
  const rowsNow = [...state.events].reverse().map((e) => {
    const tr = document.createElement('tr');
    tr.dataset.testid = 'log-row';
    tr.dataset.position = String(e.position);
    tr.dataset.version = String(e.version);
    tr.dataset.type = e.type;
    const at = e.recordedAt instanceof Date ? e.recordedAt : new Date(e.recordedAt);
    const time = document.createElement('time');
    time.dateTime = at.toISOString();
    time.textContent = at.toLocaleTimeString();
    const cells = [e.position, e.version, e.type, state.names.get(e.data?.itemId) ?? '', time];
    for (const value of cells) {
      const td = document.createElement('td');
      td.append(value instanceof Node ? value : String(value));
      tr.append(td);
    }
    return tr;
  });
  ui.log.replaceChildren(...rowsNow);
}

function showError(err) {
  console.error(err);
  ui.error.textContent = `${err?.name ?? 'Error'}: ${err?.message ?? err}`;
  ui.error.hidden = false;
}
function clearError() {
  ui.error.hidden = true;
  ui.error.textContent = '';
}

// ---- wiring ---------------------------------------------------------------------------

ui.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = ui.input.value.trim();
  if (!name) return;
  ui.input.value = '';
  run(addItem(name));
  ui.input.focus();
});

async function main() {
  store = await openStore({ name: 'shopping' });
  config = await loadConfig();

  // Subscribe before the first read so nothing appended in between is missed.
  const live = store.subscribe({ after: 'end', streamPrefix: STREAM });
  await refresh();

  if (config) {
    ui.syncPanel.hidden = false;
    ui.online.addEventListener('change', () => setOnline(ui.online.checked).catch(showError));
    await setOnline(localStorage.getItem(ONLINE_KEY) !== 'false');
    watchSync();
  }
  ui.input.disabled = false;
  ui.add.disabled = false;
  document.body.dataset.ready = 'true';

  // A burst of events (a pull) makes one rebuild, not one per event.
  let queued = false;
  for await (const e of live) {
    if (e.stream !== STREAM || queued) continue;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      refresh();
    });
  }
}

main().catch((err) => {
  document.body.dataset.ready = 'error';
  ui.status.textContent = 'The list could not be loaded.';
  showError(err);
});
