// The processes of the cluster tests: redis-server without persistence and HAProxy balancing
// round robin (no stickiness) over several heartline nodes, each our own foreground process on
// 127.0.0.1, stopped by PID (the process code is e2e/proxies/start.mjs's).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HAPROXY, start } from '../proxies/start.mjs';

export const REDIS = process.env.HEARTLINE_REDIS || '/usr/bin/redis-server';

/**
 * redis-server on a free loopback port (or `port`, to restart it where nodes expect it), with no
 * RDB snapshots and no AOF: a stop loses everything, as a Redis restart without persistence does.
 * @returns {Promise<{ url: string, port: number, pid: number, stop(): Promise<void> }>}
 */
export async function startRedis(port) {
  const p = await start(
    'redis',
    REDIS,
    (dir, at) => ['--port', String(at), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir, '--loglevel', 'warning'],
    port,
  );
  return { ...p, url: `redis://127.0.0.1:${p.port}` };
}

/**
 * HAProxy in front of 127.0.0.1:ports, round robin per request, no stickiness, and a health check
 * every 500 ms so a killed node leaves the rotation quickly (and comes back once it listens again).
 * @returns {Promise<{ url: string, port: number, pid: number, stop(): Promise<void> }>}
 */
export function startBalancer(ports, { timeout = '60s' } = {}) {
  return start('haproxy', HAPROXY, (dir, port) => {
    const file = join(dir, 'haproxy.cfg');
    const servers = ports.map((p, i) => `  server n${i} 127.0.0.1:${p} check inter 500 fall 1 rise 1`).join('\n');
    writeFileSync(
      file,
      `global
  maxconn 2048
defaults
  mode http
  option redispatch
  retries 3
  timeout connect 1s
  timeout client ${timeout}
  timeout server ${timeout}
  timeout tunnel ${timeout}
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  balance roundrobin
${servers}
`,
    );
    return ['-f', file, '-db'];
  });
}
