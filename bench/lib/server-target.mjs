// The server under test of bench/server.mjs, in its own process (started with --expose-gc):
// heartline/server (dist/server.mjs, the build users get) or a baseline written the plain way
// (a raw `ws` broadcast loop, `res.write` to every SSE response, socket.io). Driven over IPC:
//   { cmd: 'publish', text }  one publish; answers { at, cpu } (epoch ms when it began, the CPU it took synchronously)
//   { cmd: 'mem' }            after two GCs: { rss, heapUsed, external, arrayBuffers, connections }
//   { cmd: 'cpu' }            process.cpuUsage() so far, in µs
//   { cmd: 'stop' }           exits
// Usage (by bench/server.mjs): node --expose-gc server-target.mjs KIND   KIND: heartline | raw-ws | raw-sse | socketio
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const kind = process.argv[2];
const now = () => performance.timeOrigin + performance.now();
const http = createServer();
http.on('error', (e) => console.error(`server-target: ${e.message}`)); // e.g. EMFILE at the descriptor limit
let publish; // (text) => void
let connections; // () => number

if (kind === 'heartline') {
  const { createServer: heartline } = await import(pathToFileURL(join(here, '../../dist/server.mjs')).href);
  // Defaults except: every client comes from 127.0.0.x (the per-address limit is lifted), the
  // capacity run holds more than 100,000 sessions, messageRate is lifted for the ack throughput run
  // (one connection sends thousands a second), and the heartbeat is slow so a minutes-long ramp
  // of silent sockets is not cut as dead.
  const live = heartline({
    heartbeat: 300000,
    onMessage: () => {},
    onError: (e) => console.error('heartline/server:', e),
    limits: { maxConnectionsPerAddress: 1e7, maxSessions: 1e7, messageRate: 1e7 },
  });
  http.on('request', live.handler);
  live.attach(http);
  publish = (text) => void live.publish('default', text);
  connections = async () => {
    const s = await live.stats(); // asked for between measurements only: it walks every connection
    return s.connections.websocket + s.connections.sse;
  };
} else if (kind === 'raw-ws') {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  // The plain echo of an acknowledged send: `ack N` for every `msg N`.
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(`ack ${String(d).slice(4, String(d).indexOf('\n'))}`)));
  publish = (text) => {
    for (const ws of wss.clients) ws.send(text);
  };
  connections = () => wss.clients.size;
} else if (kind === 'raw-sse') {
  const streams = new Set();
  http.on('request', (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
    res.write(': hi\n\n');
    streams.add(res);
    res.on('error', () => {});
    res.on('close', () => streams.delete(res));
  });
  let id = 0;
  publish = (text) => {
    const event = `id: ${++id}\ndata: ${text}\n\n`;
    for (const res of streams) res.write(event);
  };
  connections = () => streams.size;
} else if (kind === 'socketio') {
  const { Server } = await import('socket.io');
  const io = new Server(http, { transports: ['websocket'], serveClient: false });
  publish = (text) => void io.emit('m', text);
  connections = () => io.engine.clientsCount;
} else throw new Error(`unknown kind ${kind}`);

const limit = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
http.listen(0, '127.0.0.1', () => process.send({ ready: true, port: http.address().port, nofile: Number(limit) }));

process.on('SIGINT', () => process.exit(0)); // a profiled run (SERVER_BENCH_PROFILE) writes its profile on exit
process.on('message', async ({ id, cmd, text }) => {
  let answer;
  if (cmd === 'publish') {
    const cpu = process.cpuUsage();
    const at = now();
    publish(text);
    answer = { at, cpu: process.cpuUsage(cpu) };
  } else if (cmd === 'mem') {
    for (let i = 0; i < 3; i += 1) globalThis.gc(), await new Promise((r) => setTimeout(r, 50));
    answer = { ...process.memoryUsage(), connections: await connections() };
  } else if (cmd === 'connections') answer = await connections();
  else if (cmd === 'cpu') answer = process.cpuUsage();
  else if (cmd === 'stop') return process.exit(0);
  process.send({ id, answer });
});
