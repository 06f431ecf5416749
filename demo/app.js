// Offline-first shopping list on annals.
//
// Every change is an event on one stream, `List-<id>`:
//   ItemAdded { itemId, name } · ItemChecked { itemId } · ItemUnchecked { itemId } · ItemRemoved { itemId }
// The list is the fold of that stream. Commands append with the stream version the state was
// built from; on WrongExpectedVersionError (another tab got there first) the state is
// refreshed from the stream and the command is decided again.
import { openStore } from 'annals';

const listParam = new URLSearchParams(location.search).get('list');
const LIST_ID = listParam && /^[\w-]{1,64}$/.test(listParam) ? listParam : 'default';
const STREAM = `List-${LIST_ID}`;
const MAX_ATTEMPTS = 10;

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
};
ui.stream.textContent = STREAM;

// ---- state: a pure fold of the stream ---------------------------------------------------

const state = {
  version: 0, // last version of STREAM applied
  items: new Map(), // itemId -> { id, name, checked }
  names: new Map(), // itemId -> name, kept after removal for the log
};

/** Apply one recorded event. Returns 'applied', 'skip' (already seen) or 'gap'. */
function apply(e) {
  if (e.stream !== STREAM || e.version <= state.version) return 'skip';
  if (e.version !== state.version + 1) return 'gap';
  const { itemId, name } = e.data ?? {};
  const item = state.items.get(itemId);
  switch (e.type) {
    case 'ItemAdded':
      state.items.set(itemId, { id: itemId, name, checked: false });
      state.names.set(itemId, name);
      break;
    case 'ItemChecked':
      if (item) item.checked = true;
      break;
    case 'ItemUnchecked':
      if (item) item.checked = false;
      break;
    case 'ItemRemoved':
      state.items.delete(itemId);
      break;
    default:
      break; // unknown event types are kept in the log, ignored by the list
  }
  state.version = e.version;
  prependLogRow(e);
  return 'applied';
}

// ---- store ----------------------------------------------------------------------------

let store;
let reads = Promise.resolve();

/**
 * Apply what the stream holds beyond the applied version. Calls are chained, so each read
 * starts after the previous one ended and sees every append committed before the call.
 */
function refresh() {
  const read = reads.then(async () => {
    for await (const e of store.readStream(STREAM, { fromVersion: state.version + 1 })) apply(e);
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
      await refresh(); // show our own change at once; the subscription will skip it
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
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'remove';
  remove.dataset.testid = 'item-remove';
  remove.textContent = 'Remove';
  remove.addEventListener('click', () => run(removeItem(item.id)));
  li.append(label, remove);
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
      ui.list.append(li);
    }
    li.dataset.checked = String(item.checked);
    li.querySelector('.name').textContent = item.name;
    li.querySelector('input').checked = item.checked;
    li.querySelector('.remove').setAttribute('aria-label', `Remove ${item.name}`);
  }
  const total = state.items.size;
  const done = [...state.items.values()].filter((i) => i.checked).length;
  ui.count.textContent = total ? `(${done} of ${total} checked)` : '';
  ui.empty.hidden = total > 0;
  ui.status.dataset.version = String(state.version);
  ui.status.textContent = `Up to date · ${STREAM} at version ${state.version}`;
}

function prependLogRow(e) {
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
  ui.log.prepend(tr);
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

  // Subscribe before the first read so nothing appended in between is missed; events the
  // read already applied are skipped by version.
  const live = store.subscribe({ after: 'end', streamPrefix: STREAM });
  await refresh();

  ui.input.disabled = false;
  ui.add.disabled = false;
  document.body.dataset.ready = 'true';

  for await (const e of live) {
    if (apply(e) === 'gap') await refresh();
    render();
  }
}

main().catch((err) => {
  document.body.dataset.ready = 'error';
  ui.status.textContent = 'The list could not be loaded.';
  showError(err);
});
