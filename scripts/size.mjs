// Prints the shipped size of the given files: raw, gzip -9 and brotli (max), and the total.
// As a module: sizes(files) returns the rows (with a 'total' row last) without printing.
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

export function sizeOf(file) {
  const bytes = readFileSync(file);
  return {
    name: basename(file),
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY },
    }).length,
  };
}

export function sizes(files) {
  const rows = files.map(sizeOf);
  rows.push(rows.reduce((t, r) => ({ name: 'total', raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }),
    { raw: 0, gzip: 0, brotli: 0 }));
  return rows;
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`.padStart(10);

export function formatSizes(rows) {
  return [`\n${'shipped size'.padEnd(20)}${'raw'.padStart(10)}${'gzip'.padStart(10)}${'brotli'.padStart(10)}`,
    ...rows.map((r) => `${r.name.padEnd(20)}${kb(r.raw)}${kb(r.gzip)}${kb(r.brotli)}`)].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(formatSizes(sizes(process.argv.slice(2))));
}
