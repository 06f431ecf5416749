// Small statistics helpers for the harness.
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
export function percentile(xs, p) {
  if (!xs.length) return undefined;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
/** Per-repetition ratios a[i] / b[i]: median, min, max. */
export function ratios(a, b) {
  const r = a.map((x, i) => x / b[i]);
  return { median: median(r), min: Math.min(...r), max: Math.max(...r) };
}
