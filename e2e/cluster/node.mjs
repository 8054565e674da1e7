// One heartline node of the cluster tests, run as a child process: dist/server.mjs on the Redis
// engine (dist/server-redis.mjs), on 127.0.0.1:PORT, also serving dist/ and the test page. The
// application records every message its hook is handed (and every finished upload) in Redis, so
// the test counts what the application saw across node deaths.
// Env: PORT, REDIS_URL, PREFIX, UPLOADS (the shared upload directory).
import { readFile } from 'node:fs/promises';
import { createServer as httpServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { createServer } from '../../dist/server.mjs';
import { createRedisEngine } from '../../dist/server-redis.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const { PORT = '0', REDIS_URL, PREFIX = 'heartline:', UPLOADS } = process.env;
const client = createClient({ url: REDIS_URL, disableOfflineQueue: true, socket: { reconnectStrategy: (n) => Math.min(50 * (n + 1), 500), connectTimeout: 1000 } });
client.on('error', () => {});
await client.connect();
const engine = await createRedisEngine({ client, prefix: PREFIX, uploadsDir: UPLOADS, commandTimeout: 2000 });
const record = (key, value) => client.sendCommand(['RPUSH', `${PREFIX}app:${key}`, value]);
// The hook is idempotent on (session, seq), as README "Scaling out" advises: a node SIGKILLed
// between the hook and the cursor write leaves the message unacknowledged, and the client sends it
// again; such re-runs are counted (app:redeliveries), not recorded twice.
const ONCE = `if redis.call('HSETNX', KEYS[1], ARGV[1], 1) == 1 then return redis.call('RPUSH', KEYS[2], ARGV[2]) end
return -redis.call('INCR', KEYS[3])`;
const onMessage = async (m) =>
  void (await client.sendCommand(['EVAL', ONCE, '3', `${PREFIX}app:seen:${m.session}`, `${PREFIX}app:msg:${m.session}`, `${PREFIX}app:redeliveries`, String(m.seq), String(m.data)]));
const live = createServer({
  log: engine.log,
  sessions: engine.sessions,
  uploads: engine.uploads,
  heartbeat: 2000,
  origins: '*',
  onMessage,
  onUpload: async (f) => void (await record('uploads', JSON.stringify({ id: f.id, size: f.size, sha256: f.sha256 }))),
  onError: () => {},
});
const TYPES = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.map': 'application/json' };
const http = httpServer(async (req, res) => {
  const path = (req.url ?? '').split('?')[0];
  if (path === live.path) return live.handler(req, res);
  const file = normalize(join(ROOT, path));
  if (!(file.startsWith(join(ROOT, 'dist')) || file.startsWith(join(ROOT, 'e2e/cluster')))) return res.writeHead(404).end();
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
live.attach(http);
http.listen(Number(PORT), '127.0.0.1', () => process.send?.('listening'));
process.on('disconnect', () => process.exit(0)); // the test process is gone (even killed): so is this node
