// Typed errors: classes, codes, type guards (also across two copies of the package), translation.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as annals from 'annals';
import { fromRaw } from '../dist/translate.js';

const {
  AnnalsError, WrongExpectedVersionError, DuplicateEventIdError, InvalidArgumentError,
  StorageError, QuotaExceededError, StoreClosedError, SyncError, ErrorCode,
  isAnnalsError, isWrongExpectedVersionError, isDuplicateEventIdError, isInvalidArgumentError,
  isStorageError, isQuotaExceededError, isStoreClosedError, isSyncError, isWasmLoadError,
} = annals;

const guards = {
  WrongExpectedVersionError: isWrongExpectedVersionError,
  DuplicateEventIdError: isDuplicateEventIdError,
  InvalidArgumentError: isInvalidArgumentError,
  StorageError: isStorageError,
  QuotaExceededError: isQuotaExceededError,
  StoreClosedError: isStoreClosedError,
  SyncError: isSyncError,
  WasmLoadError: isWasmLoadError,
};

/** A raw error made by hand, for the one kind Node cannot produce (a full IndexedDB). */
function raw(name, message, fields = {}) {
  const e = new Error(message);
  e.name = name;
  return Object.assign(e, fields);
}

/** What `promise` rejects with, untranslated. */
async function thrown(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('expected a rejection');
}

/** Every kind of error, as the wasm module itself throws it, with the fields it must carry. */
async function samples() {
  await annals.openStore({ storage: 'memory' }); // the module is initialised
  const wasm = await import('../dist/wasm/annals.js');
  const store = await wasm.openStore({ storage: 'memory' });
  const id = crypto.randomUUID();
  await store.append('S-1', { type: 'T', data: 1, id }, {});
  const down = () => Promise.reject(new Error('unreachable'));
  const transport = { push: down, pull: down, notice: down, sleep: async () => {}, close() {} };
  const sync = store.sync(transport, { live: false });
  const syncError = await thrown(sync.flush());
  sync.close();
  const closed = await wasm.openStore({ storage: 'memory' });
  await closed.close();
  return [
    [await thrown(store.append('S-1', { type: 'T', data: 1 }, { expectedVersion: 5 })), WrongExpectedVersionError, { stream: 'S-1', expected: 5, actual: 1 }],
    [await thrown(store.append('S-1', { type: 'T', data: 1 }, { expectedVersion: 'no_stream' })), WrongExpectedVersionError, { stream: 'S-1', expected: 'no_stream', actual: 1 }],
    [await thrown(store.append('S-2', { type: 'T', data: 2, id }, {})), DuplicateEventIdError, { id }],
    [await thrown(store.append('', { type: 'T', data: 1 }, {})), InvalidArgumentError, { field: 'stream' }],
    [await thrown(store.append('S-1', { type: 'T', data: { at: new Date() } }, {})), InvalidArgumentError, { field: 'events[0].data' }],
    [await thrown(wasm.openStore({ storage: 'indexeddb' })), StorageError, { cause: 'IndexedDB is not available in this context' }],
    [await thrown(closed.append('S-1', { type: 'T', data: 1 }, {})), StoreClosedError, {}],
    [syncError, SyncError, { code: 'network' }],
    [raw('QuotaExceededError', 'full', { errorCode: 507, cause: new Error('QuotaExceededError') }), QuotaExceededError, {}],
  ];
}

describe('fromRaw: the wasm module\'s errors become typed ones by name', async () => {
  const cases = await samples();
  test('every kind the module has is covered', () => {
    // WasmLoadError is the JS layer's: it is raised before there is a module (wasm-load.test.mjs).
    const kinds = Object.keys(ErrorCode).filter((k) => k !== 'WasmLoad');
    assert.deepEqual(new Set(cases.map(([input]) => input.name)), new Set(kinds.map((k) => `${k}Error`)));
  });
  for (const [input, Class, fields] of cases) {
    test(`${input.name} (${JSON.stringify(fields)})`, () => {
      assert.equal(isAnnalsError(input), false, 'the raw error is not typed yet');
      const e = fromRaw(input);
      assert.ok(e instanceof Class);
      assert.ok(e instanceof AnnalsError);
      assert.ok(e instanceof Error);
      assert.equal(e.name, input.name);
      assert.equal(e.message, input.message);
      assert.equal(e.errorCode, ErrorCode[input.name.replace(/Error$/, '')]);
      assert.equal(e.errorCode, input.errorCode, 'the number the module sent');
      for (const [k, v] of Object.entries(fields)) assert.deepEqual(e[k], v);
      if ('cause' in input) assert.equal(e.cause, input.cause);
      assert.ok(isAnnalsError(e));
      for (const [name, guard] of Object.entries(guards)) {
        const expected = name === e.name || (name === 'StorageError' && e.name === 'QuotaExceededError');
        assert.equal(guard(e), expected, `${guard.name}(${e.name})`);
      }
      assert.ok(e.stack.startsWith(`${e.name}: `), e.stack);
      assert.equal(String(e), `${e.name}: ${e.message}`);
    });
  }

  test('anything else passes through untouched', () => {
    const runtime = new WebAssembly.RuntimeError('unreachable');
    assert.equal(fromRaw(runtime), runtime);
    const type = new TypeError('x');
    assert.equal(fromRaw(type), type);
    const unknownName = raw('SomethingElse', 'y');
    assert.equal(fromRaw(unknownName), unknownName);
    assert.equal(fromRaw('a string'), 'a string');
    assert.equal(fromRaw(undefined), undefined);
    const typed = new InvalidArgumentError('m', 'f');
    assert.equal(fromRaw(typed), typed);
  });
});

describe('classes', () => {
  test('QuotaExceededError is a StorageError', () => {
    const e = new QuotaExceededError('full', 'why');
    assert.ok(e instanceof StorageError);
    assert.ok(isStorageError(e) && isQuotaExceededError(e));
    assert.equal(e.name, 'QuotaExceededError');
    assert.equal(e.cause, 'why');
    assert.equal(new StorageError('s').name, 'StorageError');
    assert.equal(isQuotaExceededError(new StorageError('s')), false);
  });

  test('error codes are stable numbers', () => {
    assert.deepEqual(
      { ...ErrorCode },
      { InvalidArgument: 400, DuplicateEventId: 409, StoreClosed: 410, WrongExpectedVersion: 412, Storage: 500, Sync: 502, WasmLoad: 503, QuotaExceeded: 507 },
    );
  });

  test('guards reject look-alikes: plain errors with the right name, strings, null', () => {
    for (const guard of [isAnnalsError, ...Object.values(guards)]) {
      assert.equal(guard(raw('InvalidArgumentError', 'm', { field: 'f', errorCode: 400 })), false);
      assert.equal(guard('InvalidArgumentError'), false);
      assert.equal(guard(null), false);
      assert.equal(guard(undefined), false);
      assert.equal(guard({ name: 'StoreClosedError' }), false);
    }
  });

  test('the brand does not show in enumerable keys', () => {
    const e = new DuplicateEventIdError('m', 'id-1');
    assert.deepEqual(Object.keys(e).sort(), ['errorCode', 'id', 'name']);
  });
});

describe('two copies of the package in one bundle', () => {
  const dir = mkdtemp(join(tmpdir(), 'annals-copy-'));
  after(async () => rm(await dir, { recursive: true, force: true }));

  test('guards recognise the other copy’s errors where instanceof cannot', async () => {
    const target = await dir;
    await cp(fileURLToPath(new URL('../dist/', import.meta.url)), target, { recursive: true });
    const other = await import(pathToFileURL(join(target, 'errors.js')).href);
    assert.notEqual(other.InvalidArgumentError, InvalidArgumentError);
    const theirs = new other.WrongExpectedVersionError('m', 'S', 1, 2);
    assert.equal(theirs instanceof WrongExpectedVersionError, false);
    assert.equal(theirs instanceof AnnalsError, false);
    assert.ok(isAnnalsError(theirs));
    assert.ok(isWrongExpectedVersionError(theirs));
    assert.equal(isInvalidArgumentError(theirs), false);
    assert.ok(other.isStoreClosedError(new StoreClosedError()));
    assert.ok(other.isStorageError(new QuotaExceededError('q')));
  });
});
