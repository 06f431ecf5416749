// Operations of the quota test (tests/e2e/quota.test.mjs), shared by the page (quota.js) and
// the dedicated worker (quota-worker.js). Imports no annals: each side passes in the annals module
// and its store. Everything returned is plain JSON.
import { plainEvent } from './shared.mjs';

/** The event as plain JSON. */
export const plain = plainEvent;

/** What an error is, as far as the contract names it. */
export function describe(annals, err) {
  return {
    name: err?.name,
    message: err?.message,
    errorCode: err?.errorCode,
    cause: typeof err?.cause === 'string' ? err.cause : String(err?.cause),
    isAnnalsError: annals.isAnnalsError(err),
    isStorageError: annals.isStorageError(err),
    isQuotaExceededError: annals.isQuotaExceededError(err),
    instanceofStorageError: err instanceof annals.StorageError,
    instanceofQuotaExceededError: err instanceof annals.QuotaExceededError,
  };
}

/** `n` random characters from [a-z0-9]: storage cannot compress them much. */
function noise(n) {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let s = '';
  for (const b of bytes) s += 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36];
  return s;
}

export function ops(annals, store) {
  const state = async () => {
    const all = (await store.readAll().toArray()).map(plain);
    const streams = {};
    for (const s of new Set(all.map((e) => e.stream))) {
      streams[s] = { events: (await store.readStream(s).toArray()).map(plain), version: await store.streamVersion(s) };
    }
    const last = await store.readAll({ direction: 'backward', limit: 1 }).toArray();
    return { all, streams, head: last.length ? last[0].position : 0 };
  };

  const batch = (tag, size, eventBytes) =>
    Array.from({ length: size }, (_, index) => ({
      id: crypto.randomUUID(),
      type: 'Filled',
      data: { tag, index, size, noise: noise(eventBytes) },
    }));

  return {
    state,

    /** Appends small events, each with its exact expected version. */
    async small(stream, count) {
      const results = [];
      for (let i = 0; i < count; i++) {
        const v = await store.streamVersion(stream);
        results.push(await store.append(stream, { type: 'Small', data: { i } }, { expectedVersion: v === 0 ? 'no_stream' : v }));
      }
      return results;
    },

    /**
     * Appends batches of `batchSize` events of about `eventBytes` each to `stream`, with exact
     * expected versions, until one fails or `maxAppends` succeeded. Returns the acknowledged
     * appends, and for the failed one its events, expected version, error, and the store's
     * state read just before it was made.
     */
    async fill({ stream, eventBytes, batchSize, maxAppends }) {
      const acked = [];
      for (let n = 0; n < maxAppends; n++) {
        const v = await store.streamVersion(stream);
        const expectedVersion = v === 0 ? 'no_stream' : v;
        const events = batch(`${stream}-${n}`, batchSize, eventBytes);
        const before = await state();
        try {
          const r = await store.append(stream, events, { expectedVersion });
          acked.push({ ids: events.map((e) => e.id), ...r });
        } catch (err) {
          return { acked, failed: { events, expectedVersion, error: describe(annals, err), before } };
        }
      }
      return { acked, failed: null };
    },

    /** One append; its result, or the error described. */
    async append(stream, events, expectedVersion) {
      try {
        return { result: await store.append(stream, events, { expectedVersion }) };
      } catch (err) {
        return { error: describe(annals, err) };
      }
    },

    /** A fresh batch, as `fill` makes them (for an append the test makes itself). */
    batch,
  };
}
