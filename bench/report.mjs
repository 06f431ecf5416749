// Turns the measurements into the terminal table and BENCHMARKS.md, with every target of
// issue 11 (and those of issue 4 it does not supersede) marked met or missed from the measured
// ratio.
import { median, percentile, ratios } from './stats.mjs';

const NAMES = { annals: 'annals', raw: 'raw IndexedDB', rawLayout: "raw, annals' layout", dexie: 'Dexie', floor: 'bulk put (floor, informational)', emmett: 'Emmett in-memory' };

function titles(P) {
  const k = (n) => n.toLocaleString('en-US');
  return {
    a: `(a) ${k(P.a.n)} single-event appends, one after another, one stream`,
    b: `(b) ${k(P.b.batches)} batches of ${k(P.b.size)} events, one stream`,
    'c.array': `(c) read a ${k(P.c.n)}-event stream to an array`,
    'c.iter': `(c) read a ${k(P.c.n)}-event stream through the iterator`,
    'c.first': `(c) time to first event of a ${k(P.c.n)}-event stream`,
    'd.catchup': `(d) catch-up from 0: ${k(P.d.events)} events over ${k(P.d.streams)} streams (Zipf)`,
    'd.live': `(d) live delivery, same tab: ${k(P.live.n)} appends, append → delivery`,
    'd.live2': `(d) live delivery, second tab: ${k(P.live.n)} appends, append → delivery`,
    e: `(e) ${k(P.e.rounds)} rounds of ${P.e.conc} concurrent single-event appends over ${P.e.streams} streams`,
    f: `(f) ${P.f.writers} writers × ${k(P.f.each)} appends on one stream, retrying on conflict`,
    'node.append': `(node) ${k(P.node.n)} single-event appends, one stream`,
    'node.read': `(node) read the ${k(P.node.n)}-event stream to an array`,
  };
}
const FLOOR_NOTE = {
  a: 'same events, one transaction, no index', b: 'same events, one transaction, no index',
  e: 'same events, one transaction, no index', f: 'same events, one transaction, no index',
  'c.array': 'one getAll, no index', 'c.iter': 'one getAll, no index', 'd.catchup': 'one getAll, no index',
};

const f1 = (x) => (x === undefined || Number.isNaN(x) ? '' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fr = (r) => (r ? `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : '');
const rate = (events, ms) => Math.round(events / (ms / 1000)).toLocaleString('en-US');

/** Rows of one group of results (workload -> contestant -> reps). */
function rows(results, T) {
  const out = [];
  for (const [key, byC] of Object.entries(results)) {
    const base = byC.annals?.map((r) => r.ms);
    const order = ['annals', 'raw', 'rawLayout', 'dexie', 'floor', 'emmett'];
    for (const [c, reps] of Object.entries(byC).sort((x, y) => order.indexOf(x[0]) - order.indexOf(y[0]))) {
      const ms = median(reps.map((r) => r.ms));
      const events = median(reps.map((r) => r.events));
      const lat = reps.flatMap((r) => r.lat ?? []);
      const notes = [];
      if (c === 'floor' && FLOOR_NOTE[key]) notes.push(FLOOR_NOTE[key]);
      if (reps.some((r) => r.retries !== undefined)) notes.push(`retries/rep: median ${median(reps.map((r) => r.retries))}`);
      if (reps.some((r) => r.failures)) notes.push(`failed checks/rep: median ${median(reps.map((r) => r.failures ?? 0))}`);
      const isLive = key.startsWith('d.live');
      out.push({
        key, title: T[key], contestant: NAMES[c] ?? c, c,
        ms: isLive ? undefined : ms,
        rate: isLive || key === 'c.first' ? '' : rate(events, ms),
        ratio: c !== 'annals' && base ? ratios(base, reps.map((r) => r.ms)) : undefined,
        p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99),
        notes: notes.join('; '),
      });
    }
  }
  return out;
}

const find = (rs, key, c) => rs.find((r) => r.key === key && r.c === c);
// A workload key as the targets name it: (a), (c) array, (d) catch-up, ...
const short = (key) => (key.startsWith('c.') ? `(c) ${key.slice(2)}` : key === 'd.catchup' ? '(d) catch-up' : `(${key})`);
const LAYOUT_KEYS = ['a', 'b', 'c.array', 'c.iter', 'd.catchup', 'e', 'f'];

/** Issue 11's targets and issue 4's it does not supersede: { issue11, issue4 } rows. */
function targets(browserRuns, nodeRows, size) {
  const issue11 = [], issue4 = [];
  const check = (t, what, value, ok, shown) => t.push({ what, value: shown ?? value, met: value === undefined ? null : ok(value) });
  const x = (v) => (v === undefined ? 'not measured' : `${v.toFixed(2)}×`);
  for (const run of browserRuns) {
    const rs = run.rows, L = `[${run.backingLabel}]`;
    const ratio = (key, c) => find(rs, key, c)?.ratio?.median;
    const atMost = (key, c, bound, what = `${short(key)} ≤ ${bound.toFixed(2)}× raw`) => {
      const v = ratio(key, c);
      check(issue11, `${L} ${what}`, v, (w) => w <= bound, x(v));
    };
    atMost('a', 'raw', 1.0);
    atMost('b', 'raw', 0.5);
    atMost('c.array', 'raw', 0.7, '(c) to array ≤ 0.70× raw paged getAll');
    atMost('c.iter', 'raw', 0.7, '(c) iterator ≤ 0.70× raw paged getAll');
    atMost('d.catchup', 'raw', 0.7);
    const e = ratio('e', 'raw');
    check(issue11, `${L} (e) group commit ≥ 3× raw throughput (time ratio ≤ 0.33×)`, e, (v) => v <= 1 / 3,
      e === undefined ? 'not measured' : `${x(e)} time = ${(1 / e).toFixed(2)}× raw throughput`);
    for (const key of LAYOUT_KEYS) atMost(key, 'rawLayout', 1.15, `${short(key)} ≤ 1.15× raw in annals' layout (the library's cost)`);

    const l1 = find(rs, 'd.live', 'annals')?.p99, l2 = find(rs, 'd.live2', 'annals')?.p99;
    check(issue4, `${L} (d) live p99 same tab ≤ 5 ms`, l1, (v) => v <= 5, l1 === undefined ? 'not measured' : `${l1.toFixed(2)} ms`);
    check(issue4, `${L} (d) live p99 second tab ≤ 16 ms`, l2, (v) => v <= 16, l2 === undefined ? 'not measured' : `${l2.toFixed(2)} ms`);
    for (const key of ['a', 'b', 'c.array', 'c.iter', 'd.catchup', 'e']) {
      const v = ratio(key, 'dexie');
      check(issue4, `${L} ${short(key)} faster than Dexie by ≥ 1.5× (time ratio ≤ 0.67×)`,
        v, (w) => w <= 1 / 1.5, v === undefined ? 'not measured' : `${x(v)} = ${(1 / v).toFixed(2)}× Dexie's speed`);
    }
  }
  if (nodeRows) {
    const a = find(nodeRows, 'node.append', 'emmett')?.ratio?.median, r = find(nodeRows, 'node.read', 'emmett')?.ratio?.median;
    check(issue4, 'Node memory ≥ 3× Emmett on appends (time ratio ≤ 0.33×)', a, (v) => v <= 1 / 3, a === undefined ? '' : `${a.toFixed(2)}× time = ${(1 / a).toFixed(2)}× Emmett's speed`);
    check(issue4, 'Node memory reads ≤ 1.2× Emmett', r, (v) => v <= 1.2, r === undefined ? '' : `${r.toFixed(2)}×`);
  }
  const gz = size.annals.at(-1).gzip;
  check(issue4, 'wasm + glue ≤ 60 KB gzipped', gz, (v) => v <= 60 * 1024, `${(gz / 1024).toFixed(1)} KB`);
  return { issue11, issue4 };
}

/** Informational: raw in annals' layout ÷ raw IndexedDB (per event), per workload and backing store. */
function layoutTable(runs) {
  const keys = ['a', 'b', 'c.array', 'c.iter', 'c.first', 'd.catchup', 'e', 'f'];
  const body = keys.map((key) => [short(key), ...runs.map((run) => {
    const a = run.results[key]?.rawLayout, b = run.results[key]?.raw;
    return a && b ? fr(ratios(a.map((r) => r.ms), b.map((r) => r.ms))) : 'not measured';
  })]);
  return table(['workload', ...runs.map((r) => r.backingLabel)], body);
}

function table(head, body) {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i >= 2 && i <= 7 ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ');
  const md = (cells) => `| ${cells.join(' | ')} |`;
  return {
    text: [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n'),
    md: [md(head), md(head.map((_, i) => (i >= 2 && i <= 7 ? '---:' : '---'))), ...body.map(md)].join('\n'),
  };
}

const HEAD = ['workload', 'contestant', 'median ms', 'events/s', 'annals ÷ this', 'p50 ms', 'p95 ms', 'p99 ms', 'notes'];
function resultTable(rs) {
  let last;
  return table(HEAD, rs.map((r) => {
    const first = r.key !== last;
    last = r.key;
    return [first ? r.title : '', r.contestant, f1(r.ms), r.rate, fr(r.ratio), f1(r.p50), f1(r.p95), f1(r.p99), r.notes];
  }));
}

export function report({ env, node, runs }) {
  const P = env.params;
  const T = titles(P);
  const nodeRows = node ? rows({ 'node.append': node.append, 'node.read': node.read }, T) : null;
  for (const run of runs) {
    run.rows = rows(run.results, T);
    run.backingLabel = run.label === 'default' ? `default store (ran: ${run.backing.store})` : `IdbSqliteBackingStore requested (ran: ${run.backing.store})`;
  }
  const tg = targets(runs, nodeRows, env.size);
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  const sizeRows = [...env.size.annals.map((r) => [`annals ${r.name === 'total' ? 'wasm + glue' : r.name}`, kb(r.raw), kb(r.gzip), kb(r.brotli)]),
    ['annals JS layer (dist/*.js, informational)', kb(env.size.annalsLayer.raw), kb(env.size.annalsLayer.gzip), kb(env.size.annalsLayer.brotli)],
    ...env.size.dexie.filter((r) => r.name !== 'total').map((r) => [`Dexie ${r.name}`, kb(r.raw), kb(r.gzip), kb(r.brotli)])];
  const sizeT = table(['shipped size', 'raw', 'gzip -9', 'brotli'], sizeRows);
  const shared = env.load[0] > 1;
  const scaled = env.quick ? 'quick smoke run: every workload scaled down (--quick); not comparable with the targets' : null;
  const envLines = [
    `date: ${env.date}${env.commit ? ` (commit ${env.commit})` : ''}`,
    `Chromium: ${runs[0]?.version ?? '?'} (${env.chromium ?? 'chromium --version failed'}); Node ${env.node}`,
    `CPU: ${env.cpu}; memory ${env.memory}`,
    `load average at start: ${env.load.join(' ')}${shared ? ' — a SHARED machine (load > 1): other work ran alongside; contestants were interleaved so it fell on all of them' : ''}`,
    `method: ${env.reps} repetitions after ${env.warmup} warm-up, contestants interleaved in rotating order; write workloads on a fresh database per repetition; read workloads (c, d) fill each contestant's database once and read it every repetition; ratios are the median (min–max) of per-repetition ratios annals ÷ contestant (below 1: annals faster); latencies pooled over repetitions; run took ${env.seconds} s`,
    ...(scaled ? [scaled] : []),
    ...(env.scaled ?? []).map((x) => `scaled down: ${x}`),
  ];
  const sections = [];
  if (nodeRows) sections.push({ title: 'Node: annals memory backend vs Emmett in-memory event store', t: resultTable(nodeRows) });
  for (const run of runs) {
    sections.push({
      title: `Chromium, ${run.backingLabel}${run.args.length ? ` — flags ${run.args.join(' ')}` : ''}; evidence: ${run.backing.evidence.join(', ') || 'none found'}`,
      t: resultTable(run.rows),
    });
  }
  const tgTable = (t) => table(['target', 'measured', ''], t.map((x) => [x.what, x.value, x.met === null ? 'not measured' : x.met ? 'met' : '**missed**']));
  const tg11 = tgTable(tg.issue11), tg4 = tgTable(tg.issue4);
  const layoutT = layoutTable(runs);
  const contestants = env.contestants ? `browser contestants run: ${env.contestants.map((c) => NAMES[c] ?? c).join(', ')} (--contestants)` : null;
  if (contestants) envLines.push(contestants);
  const LAYOUT_TITLE = "What the layout alone gives: raw, annals' layout ÷ raw IndexedDB (below 1: the layout is faster)";
  const terminal = [
    '', ...envLines, '',
    ...sections.flatMap((s) => [`== ${s.title}`, s.t.text, '']),
    `== ${LAYOUT_TITLE}`, layoutT.text, '',
    '== shipped size', sizeT.text, '',
    '== targets (issue 11)', tg11.text.replaceAll('**', ''), '',
    '== targets kept from issue 4', tg4.text.replaceAll('**', ''), '',
  ].join('\n');
  const markdown = [
    '# Benchmarks', '',
    'Written by `bash scripts/bench.sh` (`node bench/run.mjs`); the latest run replaces this file.', '',
    ...envLines.map((l) => `- ${l}`), '',
    '## Targets (issue 11)', '',
    'Issue 11 (schema 3, the log layout) replaces issue 4\'s targets against raw IndexedDB with these; its target for pulling 100,000 events (≤ 2× the IndexedDB bulk-put floor) is in the Sync section.', '',
    tg11.md, '',
    '## Targets kept from issue 4', '',
    'Live delivery, Dexie, Node and shipped size: targets issue 11 does not supersede.', '',
    tg4.md, '',
    ...sections.flatMap((s) => [`## ${s.title}`, '', s.t.md, '']),
    `## ${LAYOUT_TITLE}`, '',
    'Median (min–max) of per-repetition ratios; informational, no target.', '',
    layoutT.md, '',
    '## Shipped size', '', sizeT.md, '',
    '## Notes', '',
    '- raw IndexedDB and Dexie use annals\' former per-event layout (schemas 1 and 2: one record per event, stream and global heads in `streams` and `meta`) and its append logic, but never look up event ids for idempotency (the issue\'s minimal store); annals looks up only ids the caller chose (the workloads here let the store generate them). raw IndexedDB is kept as it was so the ratios to it stay comparable across issues.',
    '- raw, annals\' layout writes exactly the records of annals\' schema 3 (one `log` record per append, keyed by its last position, indexes on `[stream, version]`, `outbox` and the ids) with the same checks, in raw JavaScript: annals ÷ it is what the library costs on top of its layout. Its reads fetch whole records (`getAll` of up to 256 records, so a page may hold more than 256 events) and build a plain object per event; `recordedAt` stays a number.',
    '- Where the time goes, what is ours and what IndexedDB bounds: docs/performance.md (CDP profiles, `node bench/profile.mjs <workload>`).',
    '- Live delivery subscribes with `after: \'end\'` on the filled (d) database; the second-tab latency uses `performance.timeOrigin + performance.now()` in both tabs, and the sender waits for the receiver\'s acknowledgement before the next append.',
    '- The floor rows are not event stores (no checks, no index): they show what IndexedDB itself costs for the same bytes.',
    '',
  ].join('\n');
  return { terminal, markdown };
}
