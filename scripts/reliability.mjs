// Writes docs/reliability.md from the figures the test suites recorded in target/reliability/
// during this run of scripts/test.sh. Nothing in it is typed by hand: a figure that was not
// recorded is reported as not run.
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';

const dir = 'target/reliability';
const json = (name) => (existsSync(`${dir}/${name}`) ? JSON.parse(readFileSync(`${dir}/${name}`, 'utf8')) : undefined);
const model = json('model.json');
const faults = json('faults.json');
const crash = json('crash.json');
const quota = json('quota.json');
const engines = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => /^idb-faults-.*\.txt$/.test(f))
      .map((f) => {
        const line = readFileSync(`${dir}/${f}`, 'utf8').match(/fault-injection: (\d+) points, (\d+) partial/);
        return { engine: f.slice('idb-faults-'.length, -'.txt'.length), points: line?.[1], partial: line?.[2] };
      })
  : [];

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
  ...(crash
    ? Object.values(crash).map((c) =>
        row(`Crash, IndexedDB on ${c.backend === 'sqlite' ? 'SQLite (IdbSqliteBackingStore)' : "LevelDB (Chromium's default)"}: Chromium on a persistent profile SIGKILLed in the middle of appends (${c.writers} writers, ${c.streams} streams, batches of 1–5 events); after each restart the whole store checked against every acknowledged append, then the unacknowledged ones retried with their ids`,
          `${c.kills} kills, ${c.appendsAcknowledged.toLocaleString('en')} acknowledged appends (${c.eventsAcknowledged.toLocaleString('en')} events), ${c.eventsChecked.toLocaleString('en')} event checks; of ${c.retriedIdempotent + c.retriedWritten} unacknowledged appends ${c.retriedIdempotent} had committed, ${c.retriedWritten} had not`,
          `${c.lost} lost, ${c.partial} partial` +
            (c.chromiumDeletedDatabase
              ? `; but Chromium itself deleted the whole database ${c.chromiumDeletedDatabase}× (LevelDB log corrupt after a kill, google/leveldb#1287), with ${c.acknowledgedAppendsDeletedByChromium} acknowledged appends`
              : c.backend === 'leveldb' ? '; Chromium deleted no database in this run' : '')))
    : [notRun('Crash (SIGKILL during appends)')]),
  quota
    ? row(`Quota: the origin's quota set to ${Math.round(quota.quotaBytes / 1024)} KB (DevTools protocol), ${quota.eventsPerAppend}-event appends of ${Math.round(quota.eventBytes / 1024)} KB events until full, on a page and in a dedicated worker, then the quota raised`,
        `full after ${quota.appendsBeforeFull} (page) and ${quota.worker.appendsBeforeFull} (worker) appends; the failed append: ${quota.failedAppendErrorName} / ${quota.worker.failedAppendErrorName}; ${quota.resumed ? 'appends resumed, subscription went on' : 'appends did NOT resume'}`,
        `${quota.partial} partial`)
    : notRun('Quota exhaustion'),
];

const md = `# Reliability figures

Produced by \`bash scripts/test.sh\` (\`node scripts/reliability.mjs\` at its end) from what the
suites recorded during that run; do not edit by hand. Last run: ${new Date().toISOString().slice(0, 10)}.

| what | tried | lost, duplicated, reordered or partial |
|---|---|---|
${rows.join('\n')}

In every run above the store afterwards equalled the store before the failed operation (or,
for model runs, the reference model), and the next operation worked.

Not yet covered here (issue 5): fuzzing, ≥ 10,000 generated invalid JS calls, the 4-page
stress and slow-consumer memory bound, schema-upgrade fixtures.
`;
writeFileSync('docs/reliability.md', md);
console.log(md);
