// A suite's row of docs/reliability.md: written from the figures the suite measured, read by
// scripts/reliability.mjs at the end of scripts/test.sh. Nothing in a row is typed by hand.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const rowsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'target', 'reliability', 'rows');

/**
 * Records the row `name` (a file name without extension): `what` the suite did, what it `tried`
 * (runs, kills, requests, events) and its `result` (lost, duplicated, reordered or partial).
 * `order` places it among the rows written this way.
 */
export function writeReliabilityRow(name, { order, what, tried, result }) {
  mkdirSync(rowsDir, { recursive: true });
  writeFileSync(join(rowsDir, `${name}.json`), JSON.stringify({ order, what, tried, result }, null, 2) + '\n');
}

/** `n` with thousands separators, as every row prints numbers. */
export const fmt = (n) => Number(n).toLocaleString('en');
