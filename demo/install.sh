#!/usr/bin/env bash
# Pack pkg-js/ the way it would be published and install that tarball into demo/node_modules,
# so the demo imports exactly what a user of the npm package would get.
# Needs a built package: run `bash scripts/build.sh` first.
set -euo pipefail

demo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkg="$(cd "$demo/../pkg-js" 2>/dev/null && pwd)" || { echo "install.sh: pkg-js/ not found" >&2; exit 1; }

if [ ! -f "$pkg/dist/browser.js" ]; then
  echo "install.sh: $pkg/dist/browser.js is missing: run 'bash scripts/build.sh' first" >&2
  exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/annals-pack.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# --ignore-scripts: the build is scripts/build.sh's job; packing must not rebuild.
tarball="$(cd "$pkg" && npm pack --ignore-scripts --silent --pack-destination "$tmp" | tail -n 1)"
[ -f "$tmp/$tarball" ] || { echo "install.sh: npm pack produced no tarball" >&2; exit 1; }

cd "$demo"
rm -rf node_modules/annals
npm install --no-save --no-package-lock --offline --no-audit --no-fund --ignore-scripts "$tmp/$tarball" >/dev/null

for f in node_modules/annals/package.json node_modules/annals/dist/browser.js; do
  [ -f "$f" ] || { echo "install.sh: $f missing after install (check pkg-js 'files'/'exports')" >&2; exit 1; }
done
version="$(node -p "require('./node_modules/annals/package.json').version")"
echo "install.sh: annals@$version installed into demo/node_modules/annals (from $tarball)"
