// Event generation shared by the page and the Node part: deterministic, ~250 B of JSON data
// per event, made before any clock starts.
// Deterministic generator: events with ~250 B of JSON data each.
export function rng(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const WORDS = 'tea milk bread apples pears oats rice beans lentils basil thyme soap paper coffee honey jam butter eggs flour sugar salt'.split(' ');
export function makeEvents(n, seed = 1) {
  const r = rng(seed);
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const words = [];
    for (let w = 0; w < 28; w++) words.push(WORDS[Math.floor(r() * WORDS.length)]);
    out[i] = {
      type: ['ItemAdded', 'ItemRemoved', 'QuantityChanged', 'Checked'][Math.floor(r() * 4)],
      data: {
        sku: `SKU-${Math.floor(r() * 1e6).toString().padStart(6, '0')}`,
        qty: 1 + Math.floor(r() * 9),
        price: Math.floor(r() * 100000) / 100,
        currency: 'EUR',
        customer: `Customer-${Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0')}`,
        note: words.join(' ').slice(0, 153),
      },
    };
  }
  return out;
}

// Zipf(s = 1) stream choice over `streams` streams.
export function zipfStreams(n, streams, seed = 7) {
  const r = rng(seed);
  const cdf = new Float64Array(streams);
  let sum = 0;
  for (let k = 0; k < streams; k++) cdf[k] = sum += 1 / (k + 1);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r() * sum;
    let lo = 0, hi = streams - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid] < u) lo = mid + 1; else hi = mid; }
    out[i] = lo;
  }
  return out;
}

