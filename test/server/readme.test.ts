// @vitest-environment node
// The README's "Server" snippets (```js server blocks), run as written but for two substitutions:
// the port 8080 becomes 0 (a free one) and `heartline/server` this repository's source. Each is
// then exercised with the heartline client over WebSocket, SSE and long-polling (POST): a message sent by one client
// is published to every client, as the snippets promise. This is also the Express 5 and Fastify 5
// integration test of the README's wiring.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { HeartlineServer } from '../../src/server/index.js';
import { client, next, until } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIR = resolve(ROOT, 'test/server/.readme');

/** The ```js server blocks of README.md, in order. */
export function serverSnippets(text = readFileSync(resolve(ROOT, 'README.md'), 'utf8')): string[] {
  return [...text.matchAll(/^```js server\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

interface Loaded {
  live: HeartlineServer;
  server?: Server;
  /** Fastify's instance (Express's `app` is exported too, and unused here). */
  app?: { server: Server; close(): Promise<void> };
}

async function load(name: string, code: string): Promise<Loaded> {
  const count = (s: string) => code.split(s).length - 1;
  expect(count("from 'heartline/server'")).toBe(1);
  expect(count('8080')).toBe(1);
  const declared = ['live', 'server', 'app'].filter((v) => new RegExp(`\\bconst ${v}\\b`).test(code));
  const source = code
    .replace("from 'heartline/server'", `from '${resolve(ROOT, 'src/server/index.ts')}'`)
    .replace('8080', '0');
  mkdirSync(DIR, { recursive: true });
  const file = resolve(DIR, `${name}.mjs`);
  writeFileSync(file, `${source}\nexport { ${declared.join(', ')} };\n`);
  return (await import(/* @vite-ignore */ `${file}?t=${Date.now()}`)) as Loaded;
}

const snippets = serverSnippets();
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe('README server snippets', () => {
  it('are three: node:http (at most 15 lines), Express, Fastify', () => {
    expect(snippets).toHaveLength(3);
    expect(snippets[0]!.trimEnd().split('\n').length).toBeLessThanOrEqual(15);
    expect(snippets[1]).toContain("from 'express'");
    expect(snippets[2]).toContain("from 'fastify'");
  });

  it.each([
    ['node-http', 0],
    ['express', 1],
    ['fastify', 2],
  ] as const)('%s: a message from one client reaches every client, over WebSocket, SSE and long-polling', async (name, i) => {
    const mod = await load(name, snippets[i]!);
    const http = mod.server ?? mod.app!.server;
    await until(() => http.listening, 5000, 'listening');
    const conns = [] as ReturnType<typeof client>[];
    cleanup = async () => {
      for (const c of conns) c.close();
      await mod.live.close();
      if (mod.server) {
        http.closeAllConnections();
        await new Promise((r) => http.close(r));
      } else await mod.app!.close();
    };
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/live`;
    const a = client(url, 'websocket');
    const b = client(url, 'sse');
    const c = client(url, 'longpoll');
    conns.push(a, b, c);
    const got: string[] = [];
    b.on('message', (d) => got.push(String(d)));
    await Promise.all([next(a, 'open'), next(b, 'open'), next(c, 'open')]);
    await a.sendWithAck('hello from a');
    await until(() => got.length > 0, 5000, 'the broadcast');
    await c.sendWithAck('hello from c'); // a POST through the framework's request handling
    await until(() => got.length > 1, 5000, 'the second broadcast');
    expect(got).toEqual(['hello from a', 'hello from c']);
    expect([a.transport, b.transport, c.transport]).toEqual(['websocket', 'sse', 'longpoll']);
  });
});
