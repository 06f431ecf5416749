#!/usr/bin/env bash
# Installs what is missing, builds the package, installs it into the demo as a user would, then
# runs the demo synced through annals-server: a private PostgreSQL cluster and the server on
# http://127.0.0.1:${SYNC_PORT:-8787} (scripts/server.sh), the demo on
# http://127.0.0.1:${PORT:-8080}/. Open it in two browsers (or two profiles) to see them sync.
# Ctrl-C stops all of it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh
bash demo/install.sh

port=${PORT:-8080}
sync_port=${SYNC_PORT:-8787}
token=${DEMO_TOKEN:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}

server_pid=""
stop() {
  trap - EXIT INT TERM
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The server lets the demo's origin call it (CORS) and knows the demo's token. No rate limit:
# one local user whose tabs share the token (the limit guards a shared server).
ANNALS_TOKENS="$token=demo" ANNALS_ALLOW_ORIGINS="http://127.0.0.1:$port" ANNALS_RATE_LIMIT=off PORT=$sync_port \
  bash scripts/server.sh &
server_pid=$!
healthy() { node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "http://127.0.0.1:$sync_port/v1/health"; }
for _ in $(seq 1 600); do
  healthy && break
  kill -0 "$server_pid" 2>/dev/null || { echo "demo.sh: annals-server did not start" >&2; exit 1; }
  sleep 0.5
done
healthy || { echo "demo.sh: annals-server is not answering" >&2; exit 1; }

SYNC_URL="http://127.0.0.1:$sync_port" SYNC_TOKEN="$token" PORT=$port node demo/serve.mjs
