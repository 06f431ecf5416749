#!/usr/bin/env bash
# Installs what is missing, builds the package, installs it into the demo as a user would,
# and serves the demo on http://127.0.0.1:${PORT:-8080}/ (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh
bash demo/install.sh
exec node demo/serve.mjs
