#!/usr/bin/env bash
# Builds the wasm module (release) and the npm package into pkg-js/dist, then prints the
# shipped size. Run scripts/setup.sh first (the README commands do).
set -euo pipefail
cd "$(dirname "$0")/.."

wasm=target/wasm32-unknown-unknown/release/annals.wasm
out=pkg-js/dist/wasm

cargo rustc --lib --release --target wasm32-unknown-unknown --crate-type cdylib --quiet
rm -rf "$out"
wasm-bindgen --target web --out-dir "$out" --out-name annals "$wasm"
# binaryen from npm (v132): Debian's v108 breaks wasm-bindgen output.
node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out/annals_bg.wasm" -o "$out/annals_bg.wasm"

# The TypeScript layer is compiled against the declarations wasm-bindgen just generated.
mkdir -p pkg-js/src/wasm
cp "$out/annals.d.ts" pkg-js/src/wasm/annals.d.ts
(cd pkg-js && npm run --silent build)
node scripts/size.mjs "$out/annals_bg.wasm" "$out/annals.js" "$out"/snippets/*/*.js
