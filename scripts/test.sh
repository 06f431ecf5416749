#!/usr/bin/env bash
# Installs what is missing, then runs every test: native, no_std build, wasm in Node and in
# headless Chromium (IndexedDB), the built npm package in Node, and the demo end to end.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }
# A hung suite fails the run instead of stalling it: every step has a time limit.
limit() { local seconds=$1; shift; timeout --kill-after=10 "$seconds" "$@"; }
# The wasm test runner takes the first WebDriver it finds: name Chromium's explicitly.
unset GECKODRIVER SAFARIDRIVER
export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120}

step "native: cargo test (core unit tests + conformance suite on memory)"
limit 900 cargo test

step "no_std: the core builds for wasm32 without std"
limit 600 cargo build --lib --no-default-features --target wasm32-unknown-unknown

step "wasm32 in Node: conformance suite on memory"
limit 900 cargo test --target wasm32-unknown-unknown --test wasm_node

step "wasm32 in headless Chromium: conformance suite and IndexedDB tests, on a page and in a worker"
limit 900 cargo test --target wasm32-unknown-unknown --test wasm_browser --test wasm_worker

step "build the npm package (release wasm + TypeScript layer)"
limit 900 bash scripts/build.sh

step "npm package in Node: node:test, tsc --noEmit, npm pack + install"
(cd pkg-js && limit 900 npm test)

step "demo and multi-page tests in Chromium (Playwright)"
limit 300 bash demo/install.sh
limit 900 node --test tests/e2e/

printf '\nAll test suites passed.\n'
