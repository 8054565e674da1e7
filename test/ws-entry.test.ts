// `heartline/ws` is src/ws.ts: the core with the WebSocket transport alone, the plain reconnecting
// WebSocket. These tests run its sources (the e2e suite runs dist/ws.mjs).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connect } from '../src/ws';
import { FakeWebSocket, lastSocket, resetSockets, sockets } from './fake-websocket';
import { advance, ofType, record, settle } from './helpers';

beforeEach(() => {
  vi.useFakeTimers();
  resetSockets();
});
afterEach(() => vi.useRealTimers());

describe('heartline/ws', () => {
  it('never offers the protocol: open at once, frames delivered as they are', async () => {
    const c = connect('http://127.0.0.1:1/live', { WebSocket: FakeWebSocket as never, transports: ['sse'] });
    const log = record(c);
    const got: unknown[] = [];
    c.on('message', (d) => got.push(d));
    await settle();
    const s = lastSocket();
    expect(s.url).toBe('ws://127.0.0.1:1/live'); // no heartline=1; the transports option has no other choice here
    s.open();
    expect(c.state).toBe('open');
    s.receive('welcome {"v":1}'); // just a message to a plain client
    expect(got).toEqual(['welcome {"v":1}']);
    expect(s.sent).toEqual([]); // no hello
    await expect(c.upload(new Blob(['x']))).rejects.toMatchObject({ code: 'upload' });
    c.send('m1');
    await expect(c.sendWithAck('m2')).resolves.toBeUndefined(); // written = done on a plain WebSocket
    expect(s.sent).toEqual(['m1', 'm2']);
    s.serverClose(1006, '', false);
    expect(ofType(log, 'reconnecting')).toHaveLength(1); // a backoff retry, not a fallback
    await advance(1000);
    expect(sockets).toHaveLength(2);
    expect(sockets[1]!.url).toBe('ws://127.0.0.1:1/live');
    c.close();
  });
});
