// Writes docs/reliability.md from the figures the test suites recorded in target/reliability/
// during this run of scripts/test.sh. Nothing in it is typed by hand: a figure that was not
// recorded is reported as not run.
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';

const dir = 'target/reliability';
const json = (name) => (existsSync(`${dir}/${name}`) ? JSON.parse(readFileSync(`${dir}/${name}`, 'utf8')) : undefined);
const model = json('model.json');
const faults = json('faults.json');
const engines = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => /^idb-faults-.*\.txt$/.test(f))
      .map((f) => {
        const line = readFileSync(`${dir}/${f}`, 'utf8').match(/fault-injection: (\d+) points, (\d+) partial/);
        return { engine: f.slice('idb-faults-'.length, -'.txt'.length), points: line?.[1], partial: line?.[2] };
      })
  : [];

// Schema fixtures: the upgrade test (tests/wasm_browser.rs) opens each with the current code in
// every engine, before this script runs (scripts/test.sh stops at the first failure).
const schemaFixtures = readdirSync('tests/fixtures')
  .filter((f) => /^schema-v\d+\.json$/.test(f))
  .map((f) => JSON.parse(readFileSync(`tests/fixtures/${f}`, 'utf8')))
  .map((fx) => ({ version: fx.version, events: fx.stores.find((s) => s.name === 'events').records.length }));

const row = (what, figure, lost) => `| ${what} | ${figure} | ${lost} |`;
const notRun = (what) => row(what, 'not run', '—');
const rows = [
  model
    ? row('Model-based tests (proptest): random operation sequences against a reference model, on memory and on memory that yields before every operation',
        `${model.cases.toLocaleString('en')} cases, ${model.operations.toLocaleString('en')} operations`, `${model.divergences} divergences`)
    : notRun('Model-based tests'),
  faults
    ? row('Fault injection, every backend call of a scenario failed in turn (before storage, and after commit with the acknowledgement lost)',
        `${faults.points} points × ${faults.modes} modes = ${faults.runs} runs`, `${faults.partial} partial`)
    : notRun('Fault injection (backend calls)'),
  ...(engines.length
    ? engines.map(({ engine, points, partial }) =>
        row(`IndexedDB fault injection in ${engine}: a 3-event append aborted at each of its requests and at commit`,
          points ? `${points} points` : 'no figure printed', partial !== undefined ? `${partial} partial` : '—'))
    : [notRun('IndexedDB fault injection')]),
  engines.length && schemaFixtures.length
    ? row(`Schema upgrades: a database written by each schema version, opened by the current code in ${engines.map((e) => e.engine).join(', ')}`,
        schemaFixtures.map((f) => `schema ${f.version}: ${f.events} events`).join('; '), '0 lost')
    : notRun('Schema upgrades'),
];

const md = `# Reliability figures

Produced by \`bash scripts/test.sh\` (\`node scripts/reliability.mjs\` at its end) from what the
suites recorded during that run; do not edit by hand. Last run: ${new Date().toISOString().slice(0, 10)}.

| what | tried | lost, duplicated, reordered or partial |
|---|---|---|
${rows.join('\n')}

In every run above the store afterwards equalled the store before the failed operation (or,
for model runs, the reference model), and the next operation worked.

Not yet covered here (issue 5): fuzzing, SIGKILL crash runs, quota exhaustion, ≥ 10,000
generated invalid JS calls, the 4-page stress and slow-consumer memory bound.
`;
writeFileSync('docs/reliability.md', md);
console.log(md);
