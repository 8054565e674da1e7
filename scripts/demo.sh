#!/usr/bin/env bash
# The live demo (README: `npm run demo`). From a fresh clone on Debian 12 + Node 20:
# installs dependencies if needed, builds dist/, then runs the fixture server, which prints the URL
# of the demo page. Opens no browser and needs none. PORT=8080 npm run demo picks the port
# (default 0: any free port). Stop it with Ctrl-C.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v node >/dev/null || { echo "demo: node is not installed (Node >= 20 is needed)" >&2; exit 1; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( node_major < 20 )); then
  echo "demo: Node >= 20 is needed, found $(node --version)" >&2
  exit 1
fi

bash scripts/setup.sh >&2

echo "demo: building dist/ (npm run build)…" >&2
npm run --silent build >&2

exec node e2e/server.mjs --port "${PORT:-0}"
