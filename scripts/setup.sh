#!/usr/bin/env bash
# Installs what is missing, quickly when nothing is. Everything comes from crates.io, npm and
# Debian: nothing downloads binaries from elsewhere.
#   bash scripts/setup.sh        build tools, Chromium and PostgreSQL (demo, bench, server)
#   bash scripts/setup.sh test   also Firefox ESR, WebKitGTK, Xvfb and their WebDrivers
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-build}

step() { printf '\n== %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen's CLI must match the crate exactly; the version comes from Cargo.lock.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  step "cargo install wasm-bindgen-cli --version $want (a few minutes, once)"
  # No --locked: the registry mirror lacks a version the CLI's own lockfile pins.
  cargo install wasm-bindgen-cli --version "$want"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci (typescript, playwright-core, binaryen)"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  step "apt-get install chromium chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# annals-server's tests, scripts/server.sh and the sync benchmark run PostgreSQL 15 privately.
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  step "apt-get install postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

[ "$purpose" = test ] || exit 0

# The wasm suites also run in Firefox ESR and WebKitGTK (which needs a display: Xvfb).
if [ ! -x /usr/bin/firefox-esr ] || [ ! -x /usr/bin/WebKitWebDriver ] || ! command -v xvfb-run >/dev/null; then
  step "apt-get install firefox-esr webkit2gtk-driver xvfb xauth"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq firefox-esr webkit2gtk-driver xvfb xauth >/dev/null
fi

if ! command -v geckodriver >/dev/null; then
  step "cargo install geckodriver (a few minutes, once)"
  cargo install geckodriver --locked
fi

# The packaging tests' bundlers and runtimes (tests/packaging): Vite 5–8, webpack, esbuild,
# Rollup, wrangler and workerd, Deno, Bun and edge-runtime, all from npm.
if [ ! -d tests/packaging/node_modules ] ||
  [ tests/packaging/package-lock.json -nt tests/packaging/node_modules/.package-lock.json ]; then
  step "npm ci in tests/packaging (the packaging tests' bundlers and runtimes)"
  (cd tests/packaging && npm ci --no-audit --no-fund --loglevel=error)
fi
