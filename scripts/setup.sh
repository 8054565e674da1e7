#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian 12 + Node 20 machine, and nothing that is
# already there. `--browsers` adds the real browsers the e2e suite drives (Debian's packages:
# Playwright cannot download its own here, see ../shared/BROWSERS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--browsers" ]; then
  missing=()
  [ -x /usr/lib/chromium/chromium ] || missing+=(chromium)
  [ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
  [ -x /usr/bin/WebKitWebDriver ] || missing+=(webkit2gtk-driver)
  command -v xvfb-run >/dev/null || missing+=(xvfb)
  command -v xauth >/dev/null || missing+=(xauth)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]} with apt-get"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

# npm ci from the committed lockfile whenever node_modules does not match it.
stamp=node_modules/.heartline-lock
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
