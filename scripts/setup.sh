#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian 12 + Node 20 machine, and nothing that is
# already there. `--browsers` adds what the e2e suite and the proxy scenarios drive: the real
# browsers (Debian's packages: Playwright cannot download its own here, see ../shared/BROWSERS.md),
# and nginx, HAProxy and Redis, which the tests start themselves on loopback.
#
# Versions are checked, not only presence: an `apt-get install` without `apt-get update` gives
# bookworm's older builds (Chromium 150, Firefox ESR 140), which Playwright cannot drive. When
# everything is new enough, apt-get is not run at all. No system service is started or left
# running: a policy-rc.d that refuses every start is in place while apt-get runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# package, minimum upstream version, a file the suite runs
NEEDS=(
  "chromium 156 /usr/lib/chromium/chromium"
  "firefox-esr 153 /usr/bin/firefox-esr"
  "webkit2gtk-driver 2.50 /usr/bin/WebKitWebDriver"
  "xvfb 0 /usr/bin/xvfb-run"
  "xauth 0 /usr/bin/xauth"
  "redis-server 7 /usr/bin/redis-server"
  "nginx 1.22 /usr/sbin/nginx"
  "haproxy 2.6 /usr/sbin/haproxy"
)

# The installed upstream version of a package (no epoch, no Debian revision), or '' when absent.
installed() {
  local v
  v=$(dpkg-query -W -f='${db:Status-Abbrev} ${Version}' "$1" 2>/dev/null || true)
  [[ "$v" == ii* ]] || return 0
  v=${v##* }
  v=${v#*:}
  echo "${v%%-*}"
}

# Prints "package have want" for every package that is absent, too old, or missing its binary.
# (HEARTLINE_SETUP_ROOT prefixes the binaries' paths, for test/setup-script.test.ts.)
lacking() {
  local pkg min file have
  for line in "${NEEDS[@]}"; do
    read -r pkg min file <<<"$line"
    have=$(installed "$pkg")
    if [ -z "$have" ] || [ ! -x "${HEARTLINE_SETUP_ROOT:-}$file" ] || ! dpkg --compare-versions "$have" ge "$min"; then
      echo "$pkg ${have:-none} $min"
    fi
  done
}

if [ "${1:-}" = "--browsers" ]; then
  todo=$(lacking)
  if [ -n "$todo" ]; then
    pkgs=$(cut -d' ' -f1 <<<"$todo" | tr '\n' ' ')
    echo "setup: installing ${pkgs}with apt-get (missing or too old: $(tr '\n' ';' <<<"$todo" | sed 's/;$//;s/;/; /g'))"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    # Debian's postinst scripts start nginx, haproxy and redis-server as system services unless
    # policy-rc.d says no. Add one for the install only when the machine has none.
    # (HEARTLINE_POLICY_RC: another path, for test/setup-script.test.ts.)
    policy=${HEARTLINE_POLICY_RC:-/usr/sbin/policy-rc.d}
    added_policy=""
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
      $sudo chmod 755 "$policy"
      added_policy=1
    fi
    trap '[ -z "$added_policy" ] || $sudo rm -f "$policy"' EXIT
    # Always refresh the lists first: the stale ones hold bookworm's older browser builds.
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $pkgs >/dev/null
    still=$(lacking)
    if [ -n "$still" ]; then
      echo "setup: these packages are still missing or too old after apt-get update && apt-get install:" >&2
      while read -r pkg have min; do
        cand=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
        echo "  $pkg: installed ${have}, the suite needs >= ${min}; apt's candidate is ${cand:-none}" >&2
      done <<<"$still"
      echo "setup: the newer builds come from Debian's security and updates suites. Make sure" >&2
      echo "  /etc/apt/sources.list(.d) lists 'bookworm-security' (http://deb.debian.org/debian-security)" >&2
      echo "  and 'bookworm-updates', then run:" >&2
      echo "  sudo apt-get update && sudo apt-get install -y $(cut -d' ' -f1 <<<"$still" | tr '\n' ' ')" >&2
      exit 1
    fi
  fi
fi

# npm ci from the committed lockfile whenever node_modules does not match it.
# A node_modules that is a symlink belongs to another checkout (a git worktree sharing its
# install): npm ci would empty and rewrite that one, so it is left alone.
stamp=node_modules/.heartline-lock
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -n "${HEARTLINE_SETUP_NO_NPM:-}" ]; then
  : # test/setup-script.test.ts checks the package part only
elif [ -L node_modules ]; then
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] || echo "setup: node_modules is a symlink to another checkout's install; not running npm ci there (run it in that checkout if its lockfile differs)"
elif [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
