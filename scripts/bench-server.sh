#!/usr/bin/env bash
# annals-server's push throughput next to raw batched INSERTs into the same tables (issue 9),
# printed as a Markdown table with ratios. Installs PostgreSQL when missing; builds the
# optimised server (profile `server`). A few minutes on 2 cores.
#   bash scripts/bench-server.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo bench -p annals-server --bench push --profile server
