// The shipped .d.ts: a usage file exercising the whole API type-checks (and a wrong call does not).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = fileURLToPath(new URL('../../node_modules/.bin/tsc', import.meta.url));
const run = (project) => spawnSync(tsc, ['--noEmit', '-p', project], { encoding: 'utf8', cwd: root });

test('test/types/usage.ts type-checks against the built declarations', () => {
  const r = run(join(root, 'test/types'));
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('the check bites: without its @ts-expect-error the file fails', async () => {
  // A copy beside the original (so 'annals' still resolves), with the directive removed.
  const dir = join(root, 'test/types');
  const source = await readFile(join(dir, 'usage.ts'), 'utf8');
  assert.match(source, /@ts-expect-error/);
  const tmp = await mkdtemp(join(dir, '.bites-'));
  try {
    await writeFile(join(tmp, 'usage.ts'), source.replace(/^\s*\/\/ @ts-expect-error.*$/m, ''));
    await writeFile(join(tmp, 'browser.ts'), '');
    await cp(join(dir, 'tsconfig.json'), join(tmp, 'tsconfig.json'));
    const r = run(tmp);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /error TS2322|error TS2345|error TS2769/, r.stdout);
    assert.match(r.stdout, /"maybe"/);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
