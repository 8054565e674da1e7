#!/usr/bin/env bash
# The one test command (README, .ci/run): set-up, then every gate in order, stopping at the
# first failure: typecheck, unit tests, build, byte budgets, the CDN file (README SRI, ES2019),
# the API reference (TypeDoc, no warnings) and no broken doc links, the packed package (publint,
# attw), e2e in Chromium, Firefox and WebKit, then the client behind real nginx and HAProxy
# (e2e/proxies/README.md; ends with `proxies: N passed, N failed`), then heartline/server on
# Redis: 3 nodes behind HAProxy with SIGKILLs (ends with `cluster: N passed, N failed`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browsers
echo "== typecheck";  npx tsc -p tsconfig.test.json
echo "== unit";       npx vitest run
echo "== build";      npx rollup -c --silent
echo "== size";       node scripts/size.mjs
echo "== cdn";        node scripts/sri.mjs
echo "== docs";       node scripts/docs.mjs && node scripts/docs-check.mjs
echo "== pack";       node scripts/pack-check.mjs
echo "== e2e";        node e2e/run.mjs
echo "== proxies";    node e2e/proxies.mjs
echo "== cluster";    node e2e/cluster.mjs
