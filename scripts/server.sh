#!/usr/bin/env bash
# Runs annals-server on 127.0.0.1:${PORT:-8787} until Ctrl-C, over $DATABASE_URL or, when it is
# unset, a private PostgreSQL cluster created in a temporary directory for this run (Debian's
# PostgreSQL 15, installed when missing). Tokens come from $ANNALS_TOKENS ("s1=tenantA,…");
# when unset, one is generated for a tenant `demo` and printed. On exit both processes are
# stopped, by their own PIDs, and the temporary cluster is deleted.
#   bash scripts/server.sh
#   DATABASE_URL=postgres://… ANNALS_TOKENS=secret=shop PORT=9000 bash scripts/server.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BIN=${ANNALS_PG_BIN:-/usr/lib/postgresql/15/bin}
pg() { # a PostgreSQL command, as the postgres user when we are root (it refuses root)
  local program=$1; shift
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$PG_BIN/$program" "$@"; else "$PG_BIN/$program" "$@"; fi
}

cluster=""
server_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$cluster" ]; then
    pg pg_ctl -D "$cluster/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$cluster"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${DATABASE_URL:-}" ]; then
  if [ ! -x "$PG_BIN/initdb" ]; then
    echo "== apt-get install postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
  fi
  cluster=$(mktemp -d)
  [ "$(id -u)" = 0 ] && chown postgres "$cluster"
  pg initdb -D "$cluster/data" -U postgres --auth=trust -E UTF8 >/dev/null
  # A free port for PostgreSQL (the kernel picks one; it is released before pg_ctl binds it).
  pg_port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  pg pg_ctl -D "$cluster/data" -l "$cluster/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $cluster" start >/dev/null
  DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
  echo "PostgreSQL: $DATABASE_URL (a temporary cluster in $cluster, deleted on exit)"
fi
export DATABASE_URL

if [ -z "${ANNALS_TOKENS:-}" ]; then
  token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  ANNALS_TOKENS="$token=demo"
  echo "token for tenant demo: $token"
fi
export ANNALS_TOKENS

cargo build -q -p annals-server --bin annals-server --profile server
target/server/annals-server --listen "127.0.0.1:${PORT:-8787}" "$@" &
server_pid=$!
wait "$server_pid"
