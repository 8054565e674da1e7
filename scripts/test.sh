#!/usr/bin/env bash
# The one test command (README, .ci/run): set-up, then every gate in order, stopping at the
# first failure: typecheck, unit tests, build, byte budgets, e2e in Chromium, Firefox and WebKit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browsers
echo "== typecheck";  npx tsc -p tsconfig.test.json
echo "== unit";       npx vitest run
echo "== build";      npx rollup -c --silent
echo "== size";       node scripts/size.mjs
echo "== e2e";        node e2e/run.mjs
