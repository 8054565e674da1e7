// A cluster for the tests: redis-server, N heartline nodes (child processes of e2e/cluster/node.mjs
// on fixed free ports, so a restarted node comes back where HAProxy expects it) and HAProxy round
// robin in front. Every process is ours and stopped by PID.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../proxies/start.mjs';
import { startBalancer, startRedis } from './start.mjs';

const NODE = new URL('./node.mjs', import.meta.url);

export async function startCluster({ nodes = 3 } = {}) {
  let redis = await startRedis();
  const prefix = `c${Date.now().toString(36)}:`;
  const uploads = mkdtempSync(join(tmpdir(), 'heartline-cluster-uploads-'));
  const ports = [];
  for (let i = 0; i < nodes; i++) ports.push(await freePort());
  const children = ports.map(() => null);
  const up = async (i) => {
    const child = fork(NODE, [], { env: { ...process.env, PORT: String(ports[i]), REDIS_URL: redis.url, PREFIX: prefix, UPLOADS: uploads }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children[i] = child;
    await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`node ${i} exited (${code}) before listening`)));
    });
  };
  for (let i = 0; i < nodes; i++) await up(i);
  const balancer = await startBalancer(ports);
  const kill = (i) =>
    new Promise((resolve) => {
      const child = children[i];
      children[i] = null;
      if (!child || child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      process.kill(child.pid, 'SIGKILL');
    });
  return {
    redis,
    prefix,
    ports,
    url: `http://127.0.0.1:${balancer.port}`,
    /** SIGKILL node i (no goodbye to anyone). */
    kill,
    /** Starts node i again on its port. */
    restart: (i) => up(i),
    /** Starts redis-server again on its port (after `redis.stop()`): empty, as without persistence. */
    async restartRedis() {
      redis = Object.assign(this.redis, await startRedis(this.redis.port));
    },
    async stop() {
      for (let i = 0; i < nodes; i++) await kill(i);
      await balancer.stop();
      await redis.stop();
      rmSync(uploads, { recursive: true, force: true });
    },
  };
}
