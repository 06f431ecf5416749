// Writes docs/reliability.md from the figures the test suites recorded in target/reliability/
// during this run of scripts/test.sh. Nothing in it is typed by hand: a figure that was not
// recorded is reported as not run.
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';

const dir = 'target/reliability';
const json = (name) => (existsSync(`${dir}/${name}`) ? JSON.parse(readFileSync(`${dir}/${name}`, 'utf8')) : undefined);
const model = json('model.json');
const syncModel = json('sync-model.json');
const faults = json('faults.json');
const invalid = json('invalid-calls.json');
const invalidIdb = json('invalid-calls-idb.json');
const stress = json('stress.json');
// The core's targets (tests/fuzz_corpus.rs) and the server's (server/tests/fuzz_corpus.rs).
const fuzzParts = [json('fuzz.json'), json('fuzz-server.json')].filter(Boolean);
const fuzz = fuzzParts.length ? { targets: Object.assign({}, ...fuzzParts.map((f) => f.targets)) } : undefined;
// What each fuzz target feeds the core, for the table.
const fuzzTargets = {
  validate_input: 'arbitrary appends (names, JSON values, ids, expected versions, maxEventBytes) against a reference',
  decode_stored_record: 'arbitrary raw fields of a stored event record through RecordedEvent::from_stored',
  decode_push: 'any bytes as the body of a push through the server\'s decoder (annals_server::wire::decode_push) under small or default limits: a decoded push is within the limits and decodes again to the same requests once written back; every refusal a typed DecodeError; a body over maxBodyBytes TooLarge',
};
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

// Schema fixtures: the upgrade test (tests/wasm_browser.rs) opens each with the current code in
// every engine, before this script runs (scripts/test.sh stops at the first failure).
const schemaFixtures = readdirSync('tests/fixtures')
  .filter((f) => /^schema-v\d+\.json$/.test(f))
  .map((f) => JSON.parse(readFileSync(`tests/fixtures/${f}`, 'utf8')))
  .map((fx) => {
    const records = (name) => fx.stores.find((s) => s.name === name)?.records ?? [];
    // Positions held: one record each in schemas 1 and 2; schema 3's runs hold `ids.length`
    // events, its tombstones `removed` positions.
    const positions = records('events').length + records('log').reduce((n, r) => n + (r.ids?.length ?? r.removed ?? 0), 0);
    return { version: fx.version, positions };
  });

const row = (what, figure, lost) => `| ${what} | ${figure} | ${lost} |`;
// Rows a suite writes whole, from its own figures: target/reliability/rows/<name>.json holding
// { order, what, tried, result } (see tests/support/reliability.mjs). Sorted by `order`.
const rowsDir = `${dir}/rows`;
const suiteRows = existsSync(rowsDir)
  ? readdirSync(rowsDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(`${rowsDir}/${f}`, 'utf8')))
      .sort((a, b) => a.order - b.order || a.what.localeCompare(b.what))
  : [];
const notRun = (what) => row(what, 'not run', '—');
const fmt = (x) => x.toLocaleString('en');
const rows = [
  model
    ? row('Model-based tests (proptest): random operation sequences against a reference model, on memory and on memory that yields before every operation',
        `${model.cases.toLocaleString('en')} cases, ${model.operations.toLocaleString('en')} operations`, `${model.divergences} divergences`)
    : notRun('Model-based tests'),
  syncModel
    ? row('Sync, model-based (proptest, `tests/sync_model.rs`): three devices (syncing on flush, or live) with appends of mixed expected versions on shared streams, flushes, offline spells, rebase/discard, and the network\'s faults — lost push answers, pushes delivered twice, pull answers delivered twice, pushes held back and delivered later (after other devices\' pushes and the sender\'s retry), held pushes delivered in reverse order, stale pull answers after newer ones, 429s — and restarts (the engine dropped mid-round, its request in flight lost, a new one over the same store), against the server\'s rules; after every step the server holds each appended event at most once and none discarded, and each device\'s confirmed events are the server\'s prefix; at the end all converge',
        `${fmt(syncModel.cases)} cases (${fmt(syncModel.liveCases)} with live devices), ${fmt(syncModel.operations)} operations, ${fmt(syncModel.appended)} events appended, ${fmt(syncModel.conflicts)} conflicts; ${fmt(syncModel.lostAnswers)} lost answers, ${fmt(syncModel.duplicated)} duplicated messages (${fmt(syncModel.duplicatedPushes)} pushes, ${fmt(syncModel.duplicatedPullAnswers)} pull answers), ${fmt(syncModel.delayed)} delayed pushes (${fmt(syncModel.delayedPastOthers)} past others' pushes, ${fmt(syncModel.delayedPastRetry)} past the sender's retry), ${fmt(syncModel.reordered)} reordered messages (${fmt(syncModel.reorderedPushes)} pushes, ${fmt(syncModel.stalePullAnswers)} stale pull answers), ${fmt(syncModel.restarts)} restarts (${fmt(syncModel.requestsLostInRestarts)} requests in flight lost), ${fmt(syncModel.rateLimited)} 429s`,
        `${syncModel.divergences} divergences; ${fmt(syncModel.appended - syncModel.onServer - syncModel.discarded)} lost (${fmt(syncModel.onServer)} on the server + ${fmt(syncModel.discarded)} discarded by the app)`)
    : notRun('Sync, model-based'),
  faults
    ? row('Fault injection, every backend call of a scenario failed in turn (before storage, and after commit with the acknowledgement lost)',
        `${faults.points} points × ${faults.modes} modes = ${faults.runs} runs`, `${faults.partial} partial`)
    : notRun('Fault injection (backend calls)'),
  ...(fuzz
    ? Object.entries(fuzz.targets).map(([target, f]) =>
        row(`Fuzzing (cargo fuzz), \`${target}\`: ${fuzzTargets[target] ?? 'see fuzz/README.md'}; its corpus replayed by \`cargo test\``,
          `${f.secondsFuzzed.toLocaleString('en')} s, ${f.execs.toLocaleString('en')} executions; ${f.corpusFiles} corpus files replayed`,
          '0 failing inputs'))
    : [notRun('Fuzzing (corpus replay)')]),
  ...(engines.length
    ? engines.map(({ engine, points, partial }) =>
        row(`IndexedDB fault injection in ${engine}: a 3-event append aborted at each of its requests and at commit`,
          points ? `${points} points` : 'no figure printed', partial !== undefined ? `${partial} partial` : '—'))
    : [notRun('IndexedDB fault injection')]),
  engines.length && schemaFixtures.length
    ? row(`Schema upgrades: a database written by each schema version, opened by the current code in ${engines.map((e) => e.engine).join(', ')}`,
        schemaFixtures.map((f) => `schema ${f.version}: ${f.positions} positions`).join('; '), '0 lost')
    : notRun('Schema upgrades'),
  ...[[invalid, 'memory, Node'], [invalidIdb, 'IndexedDB, Chromium']].map(([r, where]) =>
    r
      ? row(`Generated invalid JS calls across the whole API (${where}, seed ${r.seed}): wrong types, over-limit and empty strings, control characters, lone surrogates, cyclic and exotic objects, throwing getters and Proxies, \`__proto__\` keys, wrong option values, events over maxEventBytes, calls after close; each must end in its expected typed error`,
          `${r.calls.toLocaleString('en')} calls, ${r.typedErrors.toLocaleString('en')} expected typed errors`,
          `${r.writes} writes, ${r.panics} panics, ${r.escapes} escaped exceptions, ${r.hangs} hangs`)
      : notRun(`Generated invalid JS calls (${where})`)),
  stress?.multiTab
    ? row(`${stress.multiTab.pages} pages of one origin × ${stress.multiTab.writersPerPage} writers × ${stress.multiTab.appendsPerWriter.toLocaleString('en')} appends over ${stress.multiTab.streams} streams (mixed expected versions, conflicts retried), a subscriber per page: every subscription equal to readAll, every acknowledged append once`,
        `${stress.multiTab.appends.toLocaleString('en')} appends, ${stress.multiTab.events.toLocaleString('en')} events, ${stress.multiTab.wrongExpectedVersionErrors.toLocaleString('en')} conflicts; each subscriber saw ${stress.multiTab.eventsSeenPerPage.map((p) => p.events.toLocaleString('en')).join(' / ')}`,
        `${stress.multiTab.gaps} gaps, ${stress.multiTab.duplicates} duplicates`)
    : notRun('Multi-page stress (4 pages × 4 writers)'),
  stress?.slowConsumer
    ? row(`Slow consumer: a subscriber sleeps while ${stress.slowConsumer.events.toLocaleString('en')} events are appended, then drains; memory sampled while it sleeps (JS heap after GC, wasm linear memory)`,
        `${stress.slowConsumer.drained.toLocaleString('en')} delivered in order; JS heap +${(stress.slowConsumer.withSubscriber.growth.heap / 1048576).toFixed(2)} MiB, wasm memory +${(stress.slowConsumer.withSubscriber.growth.wasm / 1048576).toFixed(2)} MiB (the events weigh ${(stress.slowConsumer.heldBytes / 1048576).toFixed(1)} MiB as JS objects)`,
        `${stress.slowConsumer.events - stress.slowConsumer.drained} missed, ${stress.slowConsumer.outOfOrder} out of order`)
    : notRun('Slow consumer (100,000 events)'),
  ...(crash
    ? Object.values(crash).map((c) =>
        row(`Crash, IndexedDB on ${c.backend === 'sqlite' ? 'SQLite (IdbSqliteBackingStore)' : "LevelDB (Chromium's default)"}: Chromium on a persistent profile SIGKILLed in the middle of appends (${c.writers} writers, ${c.streams} streams, batches of 1–5 events); after each restart the whole store checked against every acknowledged append, then the unacknowledged ones retried with their ids`,
          `${c.kills} kills, ${c.appendsAcknowledged.toLocaleString('en')} acknowledged appends (${c.eventsAcknowledged.toLocaleString('en')} events), ${c.eventsChecked.toLocaleString('en')} event checks; of ${c.retriedIdempotent + c.retriedWritten} unacknowledged appends ${c.retriedIdempotent} had committed, ${c.retriedWritten} had not`,
          `${c.lost} lost, ${c.partial} partial` +
            (c.chromiumDeletedDatabase
              ? `; but Chromium itself deleted the whole database ${c.chromiumDeletedDatabase}× (LevelDB log corrupt after a kill, google/leveldb#1287), with ${c.acknowledgedAppendsDeletedByChromium} acknowledged appends; the reopened store reported the loss (\`store.recovery\`) ${c.vanishedReported ?? 0} of ${c.chromiumDeletedDatabase}×`
              : c.backend === 'leveldb' ? '; Chromium deleted no database in this run' : '')))
    : [notRun('Crash (SIGKILL during appends)')]),
  quota
    ? row(`Quota: the origin's quota set to ${Math.round(quota.quotaBytes / 1024)} KB (DevTools protocol), ${quota.eventsPerAppend}-event appends of ${Math.round(quota.eventBytes / 1024)} KB events until full, on a page and in a dedicated worker, then the quota raised`,
        `full after ${quota.appendsBeforeFull} (page) and ${quota.worker.appendsBeforeFull} (worker) appends; the failed append: ${quota.failedAppendErrorName} / ${quota.worker.failedAppendErrorName}; ${quota.resumed ? 'appends resumed, subscription went on' : 'appends did NOT resume'}`,
        `${quota.partial} partial`)
    : notRun('Quota exhaustion'),
  ...suiteRows.map((r) => row(r.what, r.tried, r.result)),
];

const md = `# Reliability figures

Produced by \`bash scripts/test.sh\` (\`node scripts/reliability.mjs\` at its end) from what the
suites recorded during that run; do not edit by hand. Last run: ${new Date().toISOString().slice(0, 10)}.

| what | tried | lost, duplicated, reordered or partial |
|---|---|---|
${rows.join('\n')}

In every run above the store afterwards equalled the store before the failed operation (or,
for model runs, the reference model), and the next operation worked.

Outside annals: on Chromium's default IndexedDB backing store (LevelDB) a SIGKILL can leave
LevelDB's log in a state that a later session reads as corruption, and Chromium then deletes
the whole database (google/leveldb#1287). The crash rows count those deletions separately;
on the SQLite backing store none happened. See docs/design.md, "What Chromium gives, measured".

`;
writeFileSync('docs/reliability.md', md);
console.log(md);
