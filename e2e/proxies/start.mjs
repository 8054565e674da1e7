// nginx and HAProxy from Debian, started by the tests themselves on 127.0.0.1 in front of the
// fixture server (e2e/server.mjs), in the configurations users commonly deploy (README.md here).
// Each proxy is our own foreground process with its config, pid, logs and temp files in a fresh
// temp dir; stop() ends it by PID and removes the dir. No system service is used.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX = process.env.HEARTLINE_NGINX || '/usr/sbin/nginx';
export const HAPROXY = process.env.HEARTLINE_HAPROXY || '/usr/sbin/haproxy';

/** Every proxy still running, so a crashed test run does not leave one behind. */
const live = new Set();
process.once('exit', () => {
  for (const p of live) {
    p.signal('SIGTERM'); // nginx's master then stops its workers
    rmSync(p.dir, { recursive: true, force: true });
  }
});

/** A port free on 127.0.0.1 right now (the proxy binds it a moment later; start() retries on a clash). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once 127.0.0.1:port accepts a TCP connection; rejects after `ms` or if `exited()`. */
async function accepting(port, ms, exited) {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (exited()) throw new Error('the proxy exited before it accepted');
    if (Date.now() > end) throw new Error(`the proxy did not accept on port ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Write the config, start the process, wait until it accepts. `write(dir, port)` writes the config
 * files and returns the argv. Retries with another port when the first one was taken meanwhile
 * (`fixedPort`: that port, e.g. to restart a process where its clients expect it).
 */
export async function start(name, bin, write, fixedPort) {
  for (let attempt = 0; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), `heartline-${name}-`));
    const port = fixedPort ?? (await freePort());
    const args = write(dir, port);
    // In a process group of its own, so a signal to -PID reaches nginx's workers too.
    const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    let exited = false;
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const gone = new Promise((resolve) => child.once('close', () => ((exited = true), resolve())));
    child.once('error', (err) => ((stderr += String(err)), (exited = true)));
    const signal = (sig) => {
      if (exited || !child.pid) return;
      try {
        process.kill(-child.pid, sig);
      } catch {}
    };
    const kill = () => signal('SIGKILL');
    const entry = { signal, dir };
    live.add(entry);
    try {
      await accepting(port, 5000, () => exited);
    } catch (err) {
      kill();
      await gone;
      live.delete(entry);
      rmSync(dir, { recursive: true, force: true });
      if (attempt < 3 && fixedPort === undefined && /in use|cannot bind/i.test(stderr)) continue;
      throw new Error(`${name} failed to start: ${err.message}\n${stderr}`);
    }
    let stopped = null;
    return {
      name,
      port,
      dir,
      pid: child.pid,
      url: `http://127.0.0.1:${port}/`,
      /** The access log so far (nginx only; HAProxy logs nowhere without syslog). */
      accessLog: () => {
        try {
          return readFileSync(join(dir, 'access.log'), 'utf8');
        } catch {
          return '';
        }
      },
      stderr: () => stderr,
      /** SIGTERM by PID, SIGKILL after 2 s, then remove the temp dir. Idempotent. */
      stop() {
        stopped ??= (async () => {
          signal('SIGTERM');
          const timer = setTimeout(kill, 2000);
          await gone;
          clearTimeout(timer);
          live.delete(entry);
          rmSync(dir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  }
}

/** nginx's `location /` body of each configuration (see README.md in this directory). */
export const NGINX_LOCATIONS = {
  /** a: what a tutorial's first `proxy_pass` gives: HTTP/1.0 upstream, no Upgrade, buffering on */
  default: 'proxy_pass http://upstream;',
  /** b: WebSocket upgrade headers, no buffering, idle connections cut after 5 s */
  websocket: [
    'proxy_pass http://upstream;',
    'proxy_http_version 1.1;',
    'proxy_set_header Upgrade $http_upgrade;',
    'proxy_set_header Connection $connection_upgrade;',
    'proxy_set_header Host $host;',
    'proxy_buffering off;',
    'proxy_read_timeout 5s;',
  ].join('\n      '),
};

/**
 * nginx in front of 127.0.0.1:upstreamPort. `config` is a key of NGINX_LOCATIONS or the text of a
 * `location /` block body.
 * @returns {Promise<{ url: string, port: number, pid: number, accessLog(): string, stop(): Promise<void> }>}
 */
export function startNginx(config, upstreamPort) {
  const location = NGINX_LOCATIONS[config] ?? config;
  return start('nginx', NGINX, (dir, port) => {
    mkdirSync(join(dir, 'tmp'));
    const root = process.getuid?.() === 0 ? 'user root;' : '';
    writeFileSync(
      join(dir, 'nginx.conf'),
      `${root}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  types { text/html html; text/javascript js mjs; }
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream upstream { server 127.0.0.1:${upstreamPort}; }
  server {
    listen 127.0.0.1:${port};
    location / {
      ${location}
    }
  }
}
`,
    );
    return ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'];
  });
}

/**
 * HAProxy in front of 127.0.0.1:upstreamPort, in HTTP mode (WebSocket upgrades pass by default),
 * with `timeout client/server/tunnel` of `timeout` (default '5s': idle connections cut after 5 s).
 * @returns {Promise<{ url: string, port: number, pid: number, stop(): Promise<void> }>}
 */
export function startHaproxy(upstreamPort, { timeout = '5s' } = {}) {
  return start('haproxy', HAPROXY, (dir, port) => {
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(
      file,
      `global
  maxconn 512
defaults
  mode http
  timeout connect 2s
  timeout client ${timeout}
  timeout server ${timeout}
  timeout tunnel ${timeout}
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server s1 127.0.0.1:${upstreamPort}
`,
    );
    return ['-f', file, '-db'];
  });
}
