#!/usr/bin/env bash
# Benchmarks (issues 4 and 11): installs what is missing, builds the package, then runs the
# harness: Node (annals memory vs Emmett) and headless Chromium (annals vs raw IndexedDB, raw
# IndexedDB in annals' layout, Dexie and an index-free bulk put) on the default IndexedDB
# backing store and on IdbSqliteBackingStore.
# Then the sync benchmarks (bench/sync.mjs). Prints the tables and writes BENCHMARKS.md.
# Arguments go to both:
#   bash scripts/bench.sh --quick     # a short smoke run (scaled down; BENCHMARKS.md untouched)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
node bench/run.mjs "$@"
# Sync: annals-server on a private PostgreSQL (started and stopped by the script).
cargo build -p annals-server --bin annals-server --profile server --quiet
node bench/sync.mjs "$@"
