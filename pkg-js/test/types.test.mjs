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

test('every refused call fails for the reason its directive names', async () => {
  // A copy beside the original (so 'annals' still resolves), with every directive removed.
  const dir = join(root, 'test/types');
  const source = await readFile(join(dir, 'refused.ts'), 'utf8');
  const cases = [...source.split('\n').entries()]
    .filter(([, line]) => /^\s*\/\/ @ts-expect-error/.test(line))
    .map(([i, line]) => ({ line: i + 2, token: line.match(/\[(.+?)\]/)?.[1] }));
  assert.ok(cases.length >= 15, `${cases.length} cases`);
  const tmp = await mkdtemp(join(dir, '.bites-'));
  try {
    await writeFile(join(tmp, 'refused.ts'), source.replace(/^\s*\/\/ @ts-expect-error.*$/gm, '//'));
    await writeFile(join(tmp, 'usage.ts'), '');
    await writeFile(join(tmp, 'browser.ts'), '');
    await cp(join(dir, 'tsconfig.json'), join(tmp, 'tsconfig.json'));
    const r = run(tmp);
    assert.notEqual(r.status, 0);
    // tsc prints `<path>/refused.ts(<line>,<column>): error TS<n>: <message>` and continuation lines.
    const errors = r.stdout.split(/\n(?=\S)/);
    for (const { line, token } of cases) {
      assert.ok(token, `line ${line - 1}: the directive names a token in brackets`);
      const here = errors.filter((e) => e.includes(`refused.ts(${line},`));
      assert.ok(here.some((e) => e.includes(token)), `line ${line}: an error mentioning ${token}; got ${here.join(' | ') || 'none'}`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
