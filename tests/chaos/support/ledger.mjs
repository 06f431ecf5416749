// What the devices heard of their pushes, as seen through their proxies (tests/support/proxy.mjs
// `onPush`): the events of appends answered `accepted` in a 200 the device received in full are
// acknowledged; the events of a push that got no answer, or a 5xx, were not heard of and must be
// retried by the device.

export class PushLedger {
  /** Ids of events in appends the devices heard accepted. */
  acknowledged = new Set();
  /** Ids of events in pushes whose answer the devices never heard (or heard as 5xx). */
  unheard = new Set();
  /** Debugging (CHAOS_DEBUG): the outcome and time each acknowledged id was heard with. */
  where = new Map();
  /** Unheard ids not yet taken by `takeUnheard()`. */
  #fresh = [];
  /** Pushes answered 200, pushes with no answer, pushes answered 5xx, other answers. */
  counts = { answered: 0, noAnswer: 0, serverError: 0, other: 0 };

  /** The `onPush` of a proxy. */
  observe = ({ request, status, reply }) => {
    let body;
    try {
      body = JSON.parse(request.toString('utf8'));
    } catch {
      // A push cut off on its way (the device went away mid-body): nothing to learn.
      this.counts.noAnswer += 1;
      return;
    }
    const appends = body.appends ?? [];
    if (status === 200) {
      this.counts.answered += 1;
      const { outcomes } = JSON.parse(reply.toString('utf8'));
      appends.forEach((a, i) => {
        if (outcomes[i]?.status === 'accepted') {
          for (const e of a.events) {
            this.acknowledged.add(e.id);
            if (process.env.CHAOS_DEBUG) this.where.set(e.id, { at: new Date().toISOString(), ...outcomes[i] });
          }
        }
      });
      return;
    }
    if (status === null) this.counts.noAnswer += 1;
    else if (status >= 500) this.counts.serverError += 1;
    else this.counts.other += 1;
    for (const a of appends) {
      for (const e of a.events) {
        this.unheard.add(e.id);
        this.#fresh.push(e.id);
      }
    }
  };

  /** The ids that became unheard since the last call. */
  takeUnheard() {
    return this.#fresh.splice(0);
  }

  /** Pushes the devices have to retry: no answer, or a 5xx. */
  get retried() {
    return this.counts.noAnswer + this.counts.serverError;
  }
}

/** The ids of `tenant`'s events in PostgreSQL, with how many rows each has. */
export async function eventIdsInPostgres(pg, tenant) {
  const rows = await pg.query(
    `SELECT e.id, count(*) FROM events e JOIN tenants t ON t.id = e.tenant WHERE t.name = '${tenant.replaceAll("'", "''")}' GROUP BY e.id`,
  );
  return new Map(rows.map(([id, n]) => [id, Number(n)]));
}

/** `tenant`'s positions in PostgreSQL, in order, and its head. */
export async function positionsInPostgres(pg, tenant) {
  const name = tenant.replaceAll("'", "''");
  const positions = (await pg.query(`SELECT e.position FROM events e JOIN tenants t ON t.id = e.tenant WHERE t.name = '${name}' ORDER BY e.position`)).map(([p]) => Number(p));
  const [[head]] = await pg.query(`SELECT head FROM tenants WHERE name = '${name}'`);
  return { positions, head: Number(head) };
}

/** `tenant`'s events in PostgreSQL, in server order: [id, stream, version, position]. */
export async function logInPostgres(pg, tenant) {
  const rows = await pg.query(
    `SELECT e.id, e.stream, e.version, e.position FROM events e JOIN tenants t ON t.id = e.tenant WHERE t.name = '${tenant.replaceAll("'", "''")}' ORDER BY e.position`,
  );
  return rows.map(([id, stream, version, position]) => [id, stream, Number(version), Number(position)]);
}

/**
 * The check of tests/e2e/sync.test.mjs on `log` (the server's, [id, stream, version, position]
 * in server order) and each device's `events` ([id, stream, version, serverPosition] in local
 * order): every stream on every device equals the server's (same ids at the same versions, in
 * version order), every event has its serverPosition, the server's positions are 1..N with no
 * gap. Returns the problems found (none when converged).
 */
export function divergences(log, devices) {
  const problems = [];
  log.forEach(([, , , position], i) => {
    if (position !== i + 1) problems.push(`server: position ${position} at index ${i} (gap)`);
  });
  const byStream = (events) => {
    // Version order (a device's local order may differ: pulled events land after its own).
    const streams = new Map();
    for (const e of events.toSorted((a, b) => a[2] - b[2])) {
      const [id, stream, version, position] = e;
      if (!streams.has(stream)) streams.set(stream, []);
      streams.get(stream).push(`${id}@${version}#${position}`);
    }
    return streams;
  };
  const expected = byStream(log);
  for (const [stream, events] of expected) {
    events.forEach((e, i) => {
      if (!e.includes(`@${i + 1}#`)) problems.push(`server: stream ${stream}: ${e} at index ${i} (version gap)`);
    });
  }
  for (const { label, events } of devices) {
    const actual = byStream(events);
    for (const [stream, want] of expected) {
      const got = actual.get(stream) ?? [];
      if (got.join() !== want.join()) problems.push(`${label}: stream ${stream}: ${got.length} events, server ${want.length}`);
    }
    for (const stream of actual.keys()) if (!expected.has(stream)) problems.push(`${label}: stream ${stream} unknown to the server`);
    const positions = events.map((e) => e[3]).toSorted((a, b) => a - b);
    if (positions.some((p, i) => p !== i + 1) || positions.length !== log.length) problems.push(`${label}: serverPositions not 1..${log.length}`);
  }
  return problems;
}

/**
 * Every event heard acknowledged (by `ledger`, or holding a serverPosition on one of `clients`)
 * is in PostgreSQL, and none is there twice. Returns how many were checked; throws with the
 * missing ones.
 */
export async function checkAcknowledged(pg, tenant, ledger, clients, when) {
  // What was heard first, then PostgreSQL: anything heard before the query began was
  // committed before it (while servers run, acknowledgements keep coming).
  const heard = new Set(ledger.acknowledged);
  for (const c of clients) for (const [id, , , position] of await c.events()) if (position !== null) heard.add(id);
  const inPg = await eventIdsInPostgres(pg, tenant);
  const missing = [...heard].filter((id) => !inPg.has(id));
  if (missing.length > 0) {
    const byReply = missing.filter((id) => ledger.acknowledged.has(id)).length;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const later = await eventIdsInPostgres(pg, tenant);
    const stillMissing = missing.filter((id) => !later.has(id)).length;
    const sample = missing.slice(0, 3).map((id) => `${id} ${JSON.stringify(ledger.where?.get(id))}`);
    throw new Error(`${when}: ${missing.length} events heard acknowledged are not in PostgreSQL (${byReply} heard in push replies, the rest only as serverPositions; ${stillMissing} still missing 2 s later; ${inPg.size} events there): ${sample.join('; ')}…`);
  }
  const twice = [...inPg].filter(([, n]) => n !== 1);
  if (twice.length > 0) throw new Error(`${when}: ${twice.length} events are in PostgreSQL more than once`);
  return { heard: heard.size, inPostgres: inPg.size };
}

/**
 * The end of a chaos run, once the clients have settled: every event any client appended is in
 * PostgreSQL exactly once (nothing else is there), every unheard one among them, no conflict was
 * discarded, and every client equals the server. Throws with what is wrong; returns the figures.
 */
export async function checkEnd(pg, tenant, clients, ledger) {
  const inPg = await eventIdsInPostgres(pg, tenant);
  const appended = clients.flatMap((c) => c.appended);
  const problems = [];
  const discarded = clients.flatMap((c) => c.discarded);
  if (discarded.length > 0) problems.push(`${discarded.length} events discarded (a conflict could not be rebased)`);
  const mine = new Set(appended);
  if (mine.size !== appended.length) problems.push('an id appended twice');
  const lost = appended.filter((id) => !inPg.has(id));
  if (lost.length > 0) problems.push(`${lost.length} appended events not in PostgreSQL (lost): ${lost.slice(0, 5).join(', ')}`);
  const duplicated = [...inPg].filter(([, n]) => n !== 1);
  if (duplicated.length > 0) problems.push(`${duplicated.length} events in PostgreSQL more than once`);
  const foreign = [...inPg.keys()].filter((id) => !mine.has(id));
  if (foreign.length > 0) problems.push(`${foreign.length} events in PostgreSQL that no device appended`);
  const unheard = ledger ? [...ledger.unheard] : [];
  const unheardMissing = unheard.filter((id) => inPg.get(id) !== 1);
  if (unheardMissing.length > 0) problems.push(`${unheardMissing.length} unheard events not in PostgreSQL exactly once`);
  const log = await logInPostgres(pg, tenant);
  const devices = [];
  for (const c of clients) devices.push({ label: c.label, events: await c.events() });
  problems.push(...divergences(log, devices).slice(0, 20));
  for (const c of clients) for (const e of c.resolveErrors) problems.push(`${c.label}: resolving a conflict: ${e?.stack ?? e}`);
  if (problems.length > 0) throw new Error(`chaos run: ${problems.join('\n')}`);
  return {
    appended: appended.length,
    onServer: log.length,
    lost: lost.length,
    duplicated: duplicated.length,
    converged: devices.length,
    unheard: unheard.length,
    conflicts: clients.reduce((n, c) => n + c.conflicts, 0),
    conflictEvents: clients.reduce((n, c) => n + c.conflictEvents, 0),
  };
}
