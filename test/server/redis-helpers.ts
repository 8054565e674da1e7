// The Redis tests' helpers: a real redis-server (started on a free loopback port, stopped by PID),
// node-redis clients to it, and heartline server "nodes" on the Redis engine in this process.
import { createClient } from 'redis';
// @ts-expect-error -- plain ESM test tooling without type declarations
import { startRedis } from '../../e2e/cluster/start.mjs';
import type { ServerOptions } from '../../src/server/index.js';
import { createRedisEngine, type RedisClientLike, type RedisEngine, type RedisEngineOptions } from '../../src/server/redis.js';
import { start, type Running } from './helpers.js';

export interface RedisProcess {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export const redisServer = (port?: number): Promise<RedisProcess> => startRedis(port) as Promise<RedisProcess>;

/** A connected node-redis client that fails commands at once while disconnected and reconnects quickly. */
export async function redisClient(url: string): Promise<RedisClientLike & { close(): Promise<unknown> }> {
  const client = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: (n: number) => Math.min(50 * (n + 1), 300), connectTimeout: 1000 } });
  client.on('error', () => {});
  await client.connect();
  return client as unknown as RedisClientLike & { close(): Promise<unknown> };
}

export interface Node extends Running {
  engine: RedisEngine;
  client: RedisClientLike & { close(): Promise<unknown> };
}

/** A heartline server on the Redis engine, on its own HTTP port. */
export async function node(url: string, options: ServerOptions = {}, engine: Partial<RedisEngineOptions> = {}): Promise<Node> {
  const client = await redisClient(url);
  const e = await createRedisEngine({ client, commandTimeout: 1000, ...engine });
  const running = await start({ log: e.log, sessions: e.sessions, ...(e.uploads ? { uploads: e.uploads } : {}), ...options });
  return {
    ...running,
    engine: e,
    client,
    async stop() {
      await running.stop();
      await e.close();
      client.destroy();
    },
  };
}
