#!/usr/bin/env bash
# Installs what is missing, then runs every test: native, annals-server on PostgreSQL, no_std
# build, wasm in Node, wasm in Chromium, Firefox ESR and WebKitGTK (IndexedDB, page and worker),
# the built npm package in Node, and the demo end to end.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh test

step() { printf '\n== %s\n' "$*"; }
# A hung suite fails the run instead of stalling it: every step has a time limit.
limit() { local seconds=$1; shift; timeout --kill-after=10 "$seconds" "$@"; }
# The wasm test runner takes the first WebDriver it finds on PATH (geckodriver first): every
# browser run names its driver and only that one.
unset CHROMEDRIVER GECKODRIVER SAFARIDRIVER
in_browser() {
  local engine=$1; shift
  case $engine in
    chromium) CHROMEDRIVER=/usr/bin/chromedriver limit 900 "$@" ;;
    firefox) GECKODRIVER=$(command -v geckodriver) limit 900 "$@" ;;
    # WebKitGTK's MiniBrowser has no headless mode: it gets a virtual display.
    webkit) SAFARIDRIVER=/usr/bin/WebKitWebDriver xvfb-run -a timeout --kill-after=10 900 "$@" ;;
  esac
}
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120}

# Rows of docs/reliability.md come only from this run's suites.
rm -rf target/reliability/rows

step "no merge conflict markers left in tracked files"
if git grep -nE '^(<<<<<<<|>>>>>>>) ' -- . ':!*.lock' ':!tests/packaging/package-lock.json'; then
  echo "merge conflict markers above" >&2
  exit 1
fi

step "native: cargo test (core unit tests + conformance suite on memory)"
limit 900 cargo test

step "annals-server: conformance suite on PostgreSQL, the wire protocol over HTTP, PostgreSQL restarts, 10,000+ hostile requests, security (tokens, SQL parameters, CORS), rate limit, the decode_push fuzz corpus"
limit 900 cargo test -p annals-server
step "annals-server: the Node test support (tests/support/server.mjs)"
limit 300 node --test tests/support/

step "no_std: the core builds for wasm32 without std"
limit 600 cargo build --lib --no-default-features --target wasm32-unknown-unknown

step "wasm32 in Node: conformance suite on memory"
limit 900 cargo test --target wasm32-unknown-unknown --test wasm_node

mkdir -p target/reliability
for engine in chromium firefox webkit; do
  step "wasm32 in $engine: conformance suite and IndexedDB tests, on a page and in a worker"
  in_browser "$engine" cargo test --target wasm32-unknown-unknown --test wasm_browser --test wasm_worker
  step "wasm32 in $engine: an append failed at each of its IndexedDB requests leaves nothing"
  in_browser "$engine" cargo test --target wasm32-unknown-unknown --test wasm_faults -- --nocapture \
    | tee "target/reliability/idb-faults-$engine.txt"
done

step "build the npm package (release wasm + TypeScript layer)"
limit 900 bash scripts/build.sh

step "npm package in Node: node:test, tsc --noEmit, npm pack + install"
(cd pkg-js && limit 900 npm test)

step "sync under failure: annals-server SIGKILLed mid-push, PostgreSQL restarted -m immediate, a conflict rebased during a round, a device over its rate limit"
limit 600 node --test tests/chaos/server-killed.test.mjs tests/chaos/postgres-restarted.test.mjs tests/chaos/rebase-during-round.test.mjs tests/chaos/rate-limited.test.mjs

step "packaging: the packed tarball built into apps by Vite 5–8 (builds and dev servers), webpack, esbuild and Rollup (run in Chromium) and run by workerd, edge-runtime, Deno, Bun, Node, a bundled Node function and a module worker"
limit 600 node --test tests/packaging/packaging.test.mjs

step "Chromium end to end (Playwright): demo, multi-page stress, SIGKILL crashes while appending and while syncing (LevelDB and SQLite), a vanished database, quota, sync across devices"
limit 300 bash demo/install.sh
limit 1500 node --test tests/e2e/

step "soak: 16 devices over 2 server processes for 10 minutes, offline spells, memory sampled every 10 s"
limit 1200 node --test tests/chaos/soak.test.mjs

step "docs/reliability.md from the figures the suites above recorded"
node scripts/reliability.mjs

printf '\nAll test suites passed.\n'
