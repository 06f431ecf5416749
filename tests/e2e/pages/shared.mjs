// Helpers shared by the e2e test pages and their Node drivers (plain ESM, no browser APIs).

/** Mulberry32: a small seeded generator of floats in [0, 1), so a run's choices follow from its seed. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A recorded event as plain JSON (`recordedAt` in milliseconds; flagged when not a Date). */
export const plainEvent = (e) => ({
  id: e.id,
  stream: e.stream,
  type: e.type,
  version: e.version,
  position: e.position,
  data: e.data,
  metadata: e.metadata,
  recordedAt: e.recordedAt instanceof Date ? e.recordedAt.getTime() : `not a Date: ${e.recordedAt}`,
  serverPosition: e.serverPosition,
});
