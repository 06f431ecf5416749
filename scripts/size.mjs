// Prints the shipped size of the given files: raw, gzip -9 and brotli (max), and the total.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const kb = (n) => `${(n / 1024).toFixed(1)} KB`.padStart(10);
const rows = process.argv.slice(2).map((file) => {
  const bytes = readFileSync(file);
  return {
    name: basename(file),
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY },
    }).length,
  };
});
rows.push(rows.reduce((t, r) => ({ name: 'total', raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }),
  { raw: 0, gzip: 0, brotli: 0 }));
console.log(`\n${'shipped size'.padEnd(20)}${'raw'.padStart(10)}${'gzip'.padStart(10)}${'brotli'.padStart(10)}`);
for (const r of rows) console.log(`${r.name.padEnd(20)}${kb(r.raw)}${kb(r.gzip)}${kb(r.brotli)}`);
