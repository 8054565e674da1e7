// scripts/setup.sh --browsers (issue 12, case 19) against fake Debian tools on PATH: dpkg-query
// reports the installed versions from a state file, apt-get records its calls (and whether a
// policy-rc.d refusing service starts was in place) and "installs" by rewriting that state;
// the suite's binaries live under a temporary root. Real dpkg compares the versions.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const SETUP = resolve(__dirname, '../scripts/setup.sh');
const BINARIES = [
  '/usr/lib/chromium/chromium',
  '/usr/bin/firefox-esr',
  '/usr/bin/WebKitWebDriver',
  '/usr/bin/xvfb-run',
  '/usr/bin/xauth',
  '/usr/bin/redis-server',
  '/usr/sbin/nginx',
  '/usr/sbin/haproxy',
];
/** What `apt-get install` without `apt-get update` gives on bookworm (BROWSERS.md). */
const STALE = {
  chromium: '150.0.7871.100-1~deb12u1',
  'firefox-esr': '140.12.0esr-1~deb12u1',
  'webkit2gtk-driver': '2.50.6-1~deb12u2',
  xvfb: '2:21.1.7-3+deb12u11',
  xauth: '1:1.1.2-1',
  'redis-server': '5:7.0.15-1~deb12u10',
  nginx: '1.22.1-9+deb12u9',
  haproxy: '2.6.12-1+deb12u4',
};
const CURRENT = { ...STALE, chromium: '156.0.8078.114-1~deb12u1', 'firefox-esr': '153.8.0esr-1~deb12u1' };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function script(path: string, body: string) {
  writeFileSync(path, `#!/bin/bash\n${body}\n`);
  chmodSync(path, 0o755);
}

/** Run setup.sh --browsers with `installed` as the machine's packages; `after` is what apt-get install leaves. */
function runSetup(installed: Record<string, string>, after: Record<string, string> | null) {
  const dir = mkdtempSync(join(tmpdir(), 'heartline-setup-'));
  dirs.push(dir);
  const bin = join(dir, 'bin');
  const root = join(dir, 'root');
  mkdirSync(bin);
  for (const file of BINARIES) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    script(join(root, file), 'exit 0');
  }
  const state = join(dir, 'state');
  const log = join(dir, 'apt.log');
  const policy = join(dir, 'policy-rc.d');
  const lines = (m: Record<string, string>) => Object.entries(m).map(([p, v]) => `${p} ${v}\n`).join('');
  writeFileSync(state, lines(installed));
  writeFileSync(join(dir, 'after'), after ? lines(after) : lines(installed));
  script(join(bin, 'dpkg-query'), `v=$(awk -v p="\${@: -1}" '$1 == p { print $2 }' "${state}"); [ -n "$v" ] || exit 1; printf 'ii  %s' "$v"`);
  script(
    join(bin, 'apt-get'),
    `p=absent; [ -e "${policy}" ] && p="$(tail -n1 "${policy}")"; echo "apt-get $* [policy-rc.d: $p]" >>"${log}"
     case " $* " in *" install "*) cp "${dir}/after" "${state}";; esac`,
  );
  script(join(bin, 'apt-cache'), `v=$(awk -v p="$2" '$1 == p { print $2 }' "${state}"); echo "  Candidate: $v"`);
  script(join(bin, 'sudo'), 'exec "$@"');
  const res = spawnSync('bash', [SETUP, '--browsers'], {
    encoding: 'utf8',
    timeout: 8000,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, HEARTLINE_SETUP_ROOT: root, HEARTLINE_POLICY_RC: policy, HEARTLINE_SETUP_NO_NPM: '1' },
  });
  const apt = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  return { code: res.status, out: res.stdout + res.stderr, apt, policyLeft: existsSync(policy) };
}

describe('scripts/setup.sh --browsers', () => {
  it('runs no apt-get at all when every package is new enough', () => {
    const r = runSetup(CURRENT, null);
    expect(r.apt).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('upgrades the stale browsers, apt-get update first, with service starts refused meanwhile', () => {
    const r = runSetup(STALE, CURRENT);
    expect(r.code, r.out).toBe(0);
    expect(r.apt).toHaveLength(2);
    expect(r.apt[0]).toMatch(/^apt-get update .*\[policy-rc\.d: exit 101\]$/);
    expect(r.apt[1]).toMatch(/^apt-get install -y -qq chromium firefox-esr \[policy-rc\.d: exit 101\]$/);
    expect(r.policyLeft).toBe(false); // it added one, so it removes it
  });

  it('fails with what to do when apt still has only the old versions', () => {
    const r = runSetup(STALE, STALE);
    expect(r.code).toBe(1);
    expect(r.apt.map((l) => l.split(' ')[1])).toEqual(['update', 'install']);
    expect(r.out).toContain('chromium: installed 150.0.7871.100, the suite needs >= 156');
    expect(r.out).toContain('firefox-esr: installed 140.12.0esr, the suite needs >= 153');
    expect(r.out).toContain('bookworm-security');
    expect(r.out).toContain('sudo apt-get update && sudo apt-get install -y chromium firefox-esr');
  });

  it('installs the servers the later tests start (redis-server, nginx, haproxy) when absent', () => {
    const without: Record<string, string> = { ...CURRENT };
    for (const p of ['redis-server', 'nginx', 'haproxy']) delete without[p];
    const r = runSetup(without, CURRENT);
    expect(r.code, r.out).toBe(0);
    expect(r.apt[1]).toMatch(/^apt-get install -y -qq redis-server nginx haproxy /);
  });
});
