// @vitest-environment node
// heartline/server inside Express 5 and Fastify 5 apps that have routes of their own: the app's
// routes and body parsing keep working beside it, and the client reaches it over every transport.
import express from 'express';
import Fastify from 'fastify';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type HeartlineServer } from '../../src/server/index.js';
import { client, next, TRANSPORTS, until } from './helpers.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function roundTrip(live: HeartlineServer, base: string): Promise<void> {
  for (const transport of TRANSPORTS) {
    const conn = client(`${base}/live`, transport);
    const got: string[] = [];
    conn.on('message', (d) => got.push(String(d)));
    await next(conn, 'open');
    await conn.sendWithAck(`via ${transport}`);
    await until(() => got.length === 1, 5000, `the echo over ${transport}`);
    expect(got).toEqual([`echo via ${transport}`]);
    conn.close();
  }
}

const echoing = () => {
  const live: HeartlineServer = createServer({ onError: () => {}, onMessage: (m) => void live.send(m.session, `echo ${m.data}`) });
  return live;
};

describe('Express 5', () => {
  it('serves its own routes and JSON bodies beside heartline', async () => {
    const live = echoing();
    const app = express();
    app.use(live.handler);
    app.use(express.json());
    app.post('/api', (req, res) => void res.json({ got: (req.body as { n: number }).n }));
    const server: Server = app.listen(0, '127.0.0.1');
    live.attach(server);
    await until(() => server.listening, 5000, 'listening');
    cleanup = async () => {
      await live.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    };
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const api = await fetch(`${base}/api`, { method: 'POST', body: '{"n":7}', headers: { 'Content-Type': 'application/json' } });
    expect(await api.json()).toEqual({ got: 7 });
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    await roundTrip(live, base);
  });
});

describe('Fastify 5', () => {
  it('serves its own routes and JSON bodies beside heartline (the plugin’s body handling stays in its scope)', async () => {
    const live = echoing();
    const app = Fastify();
    await app.register(live.fastify);
    app.post('/api', async (req) => ({ got: (req.body as { n: number }).n }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanup = async () => {
      await live.close();
      await app.close();
    };
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const api = await fetch(`${base}/api`, { method: 'POST', body: '{"n":7}', headers: { 'Content-Type': 'application/json' } });
    expect(await api.json()).toEqual({ got: 7 });
    await roundTrip(live, base);
  });
});
