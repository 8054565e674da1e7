// @vitest-environment node
// Authentication (401/403, 4401/4403, expiry), the Origin allowlist on upgrades and CORS on the
// HTTP transports, against a real server on 127.0.0.1.
import { afterEach, describe, expect, it } from 'vitest';
import { Refused } from '../../src/server/index.js';
import { client, next, raw, rawReady, start, until, type Running } from './helpers.js';

let running: Running | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** Accepts `Bearer good` / hello.auth 'good'; 'banned' is refused with 403; the rest with 401. */
const authenticate = ({ credentials }: { credentials: unknown }) => {
  const token = typeof credentials === 'string' ? credentials.replace(/^Bearer /, '') : credentials;
  if (token === 'banned') throw new Refused(403);
  return token === 'good' ? { name: 'ann' } : false;
};

describe('authenticate', () => {
  it('over WebSocket: hello.auth accepted, else close 4401, or 4403 for Refused(403)', async () => {
    running = await start({ authenticate });
    const ok = await rawReady(running.url, { auth: 'good' });
    ok.ws.close();
    for (const [auth, code] of [['bad', 4401], [undefined, 4401], ['banned', 4403]] as const) {
      const r = await raw(running.url);
      await r.frame(/^welcome /);
      r.ws.send(`hello ${JSON.stringify({ v: 1, auth })}`);
      expect(await r.closed).toBe(code);
    }
  });

  it('over HTTP: the Authorization header on SSE, polls and POSTs; 401 with WWW-Authenticate, 403', async () => {
    running = await start({ authenticate });
    const sse = (auth?: string) =>
      fetch(`${running!.url}?heartline=1`, { headers: { Accept: 'text/event-stream', ...(auth ? { Authorization: auth } : {}) } });
    const none = await sse();
    expect([none.status, none.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
    expect((await sse('Bearer banned')).status).toBe(403);
    const good = await sse('Bearer good');
    expect([good.status, good.headers.get('heartline')]).toEqual([200, '1']);
    await good.body?.cancel();
    const poll = await fetch(`${running.url}?heartline=1&poll=1&open=1`, { headers: { Authorization: 'Bearer good' } });
    const session = /"session":"([^"]+)"/.exec(await poll.text())![1];
    const post = (auth: string) =>
      fetch(`${running!.url}?heartline=1&session=${session}&seq=1`, { method: 'POST', body: 'x', headers: { Authorization: auth } });
    expect((await post('Bearer nope')).status).toBe(401);
    const accepted = await post('Bearer good');
    expect([accepted.status, await accepted.text()]).toEqual([200, 'ack 1']);
  });

  it("the client's auth() reaches authenticate on each transport; disconnect() ends a session with 4401 and the client resumes it", async () => {
    const seen: unknown[] = [];
    let session = '';
    running = await start({
      authenticate: (r) => (seen.push(r.credentials), r.credentials === 'Bearer t1' || r.credentials === 't1' ? 'u' : false),
      onMessage: (m) => void (session = m.session),
    });
    for (const transport of ['websocket', 'sse', 'longpoll'] as const) {
      seen.length = 0;
      const conn = client(running.url, transport, { auth: () => 't1' });
      const opens: boolean[] = [];
      conn.on('open', (i) => opens.push(i.resumed));
      await next(conn, 'open');
      await conn.sendWithAck('hi');
      expect(seen[0]).toBe(transport === 'websocket' ? 't1' : 'Bearer t1');
      await running.live.publish('default', 'x');
      await until(() => conn.lastEventId !== '', 5000, 'an event');
      expect(running.live.disconnect(session)).toBe(true);
      await until(() => opens.length === 2, 5000, `the reconnect over ${transport}`);
      expect(opens).toEqual([false, true]);
      conn.close();
    }
  });
});

describe('origins', () => {
  it('a WebSocket upgrade from a foreign Origin gets 403; same origin, no Origin and listed ones are accepted', async () => {
    running = await start({ origins: ['https://app.example'] });
    const host = `http://127.0.0.1:${running.port}`;
    await expect(raw(running.url, { Origin: 'https://evil.example' })).rejects.toMatchObject({ status: 403 });
    await expect(raw(running.url, { Origin: 'null' })).rejects.toMatchObject({ status: 403 });
    for (const headers of [{ Origin: 'https://app.example' }, { Origin: host }, {}]) {
      const r = await raw(running.url, headers);
      await r.frame(/^welcome /);
      r.ws.close();
    }
    await until(async () => (await running!.live.stats()).handshaking === 0, 5000, 'the sockets to go');
  });

  it('CORS: a preflight from a listed origin is answered with the methods and headers; a foreign one gets 403 and no CORS headers', async () => {
    running = await start({ origins: ['https://app.example'], credentials: true });
    const preflight = (origin: string) =>
      fetch(`${running!.url}?heartline=1`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization, last-event-id' },
      });
    const ok = await preflight('https://app.example');
    expect(ok.status).toBe(204);
    expect(Object.fromEntries([...ok.headers].filter(([k]) => k.startsWith('access-control')))).toEqual({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': 'authorization, last-event-id',
      'access-control-expose-headers': 'Heartline, Retry-After',
      'access-control-max-age': '600',
    });
    const bad = await preflight('https://evil.example');
    expect([bad.status, bad.headers.get('access-control-allow-origin')]).toEqual([403, null]);
    const sse = await fetch(`${running.url}?heartline=1`, { headers: { Origin: 'https://app.example', Accept: 'text/event-stream' } });
    expect([sse.status, sse.headers.get('access-control-allow-origin')]).toEqual([200, 'https://app.example']);
    await sse.body?.cancel();
    const foreign = await fetch(`${running.url}?heartline=1`, { headers: { Origin: 'https://evil.example', Accept: 'text/event-stream' } });
    expect(foreign.status).toBe(403);
  });
});
