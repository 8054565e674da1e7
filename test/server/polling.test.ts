// @vitest-environment node
// Long-polling hosts and proxies (PROTOCOL.md section 5) and the dropped-message counters, driven
// with raw requests so each case controls the timing of every poll.
import { afterEach, describe, expect, it } from 'vitest';
import { start, type Running } from './helpers.js';

let running: Running | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** Opens a long-poll connection; returns its session id. */
async function openPoll(url: string): Promise<string> {
  const res = await fetch(`${url}?heartline=1&poll=1&open=1`, { signal: AbortSignal.timeout(3000) });
  const body = await res.text();
  const session = /"session":"([^"]+)"/.exec(body)?.[1];
  if (!session) throw new Error(`no welcome: ${res.status} ${body}`);
  return session;
}

describe('long-polling', () => {
  it('a short-polling host (tiny pollTimeout) keeps the connection between polls paced by pollInterval', async () => {
    running = await start({ limits: { pollTimeout: 20 } });
    const session = await openPoll(running.url);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      await new Promise((r) => setTimeout(r, 600)); // a client's pollInterval after its previous poll
      const res = await fetch(`${running.url}?heartline=1&poll=1&session=${session}`, { signal: AbortSignal.timeout(3000) });
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses).toEqual([200, 200, 200]);
  });

  it('a later poll with wait=MS is held at most MS (a proxy with a shorter timeout in between)', async () => {
    running = await start({ limits: { pollTimeout: 20000 } });
    const session = await openPoll(running.url);
    const res = await fetch(`${running.url}?heartline=1&poll=1&session=${session}&wait=100`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(':\n\n');
  });

  it('wait=MS never holds a poll longer than pollTimeout', async () => {
    running = await start({ limits: { pollTimeout: 100 } });
    const session = await openPoll(running.url);
    const res = await fetch(`${running.url}?heartline=1&poll=1&session=${session}&wait=60000`, { signal: AbortSignal.timeout(5000) });
    expect(await res.text()).toBe(':\n\n');
  });
});

describe('stats', () => {
  it('counts client messages dropped as duplicates and as gaps', async () => {
    running = await start({ onMessage: () => {} });
    const session = await openPoll(running.url);
    const post = async (seq: number) => {
      const res = await fetch(`${running!.url}?heartline=1&session=${session}&seq=${seq}`, { method: 'POST', body: `m${seq}` });
      return res.text();
    };
    expect(await post(1)).toBe('ack 1');
    expect(await post(1)).toBe('ack 1'); // a resend after a lost ack
    expect(await post(3)).toBe('ack 1'); // 2 is missing
    expect(await post(2)).toBe('ack 2');
    const { duplicates, gaps } = await running.live.stats();
    expect({ duplicates, gaps }).toEqual({ duplicates: 1, gaps: 1 });
  });
});
