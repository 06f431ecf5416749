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
  StorageError, QuotaExceededError, StoreClosedError, ErrorCode,
  isAnnalsError, isWrongExpectedVersionError, isDuplicateEventIdError, isInvalidArgumentError,
  isStorageError, isQuotaExceededError, isStoreClosedError,
} = annals;

const guards = {
  WrongExpectedVersionError: isWrongExpectedVersionError,
  DuplicateEventIdError: isDuplicateEventIdError,
  InvalidArgumentError: isInvalidArgumentError,
  StorageError: isStorageError,
  QuotaExceededError: isQuotaExceededError,
  StoreClosedError: isStoreClosedError,
};

/** A raw error as the wasm module throws it: a plain Error with a name and own fields. */
function raw(name, message, fields = {}) {
  const e = new Error(message);
  e.name = name;
  return Object.assign(e, fields);
}

const samples = () => [
  [raw('WrongExpectedVersionError', 'S-1: expected 2, found 3', { stream: 'S-1', expected: 2, actual: 3 }), WrongExpectedVersionError, { stream: 'S-1', expected: 2, actual: 3 }, 412],
  [raw('WrongExpectedVersionError', 'x', { stream: 'S-2', expected: 'no_stream', actual: 1 }), WrongExpectedVersionError, { stream: 'S-2', expected: 'no_stream', actual: 1 }, 412],
  [raw('DuplicateEventIdError', 'dup', { id: 'abc' }), DuplicateEventIdError, { id: 'abc' }, 409],
  [raw('InvalidArgumentError', 'stream: must not be empty', { field: 'stream' }), InvalidArgumentError, { field: 'stream' }, 400],
  [raw('StorageError', 'storage failed: boom', { cause: 'boom' }), StorageError, { cause: 'boom' }, 500],
  [raw('QuotaExceededError', 'full', { cause: new Error('QuotaExceededError') }), QuotaExceededError, {}, 507],
  [raw('StoreClosedError', 'the store is closed'), StoreClosedError, {}, 410],
];

describe('fromRaw: raw wasm errors become typed ones by name', () => {
  for (const [input, Class, fields, code] of samples()) {
    test(`${input.name} (${JSON.stringify(fields)})`, () => {
      const e = fromRaw(input);
      assert.ok(e instanceof Class);
      assert.ok(e instanceof AnnalsError);
      assert.ok(e instanceof Error);
      assert.equal(e.name, input.name);
      assert.equal(e.message, input.message);
      assert.equal(e.errorCode, code);
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
      { InvalidArgument: 400, DuplicateEventId: 409, StoreClosed: 410, WrongExpectedVersion: 412, Storage: 500, QuotaExceeded: 507, Sync: 502, WasmLoad: 503 },
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
    const dist = fileURLToPath(new URL('../dist/', import.meta.url));
    for (const f of ['errors.js', 'types.js']) await cp(join(dist, f), join(target, f));
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
