import { Server, WebSocket as MockWebSocket } from 'mock-socket';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connect } from '../src/index';
import { advance, ofType, record } from './helpers';

// mock-socket delivers every event through a 4 ms timer, so fake time is advanced in steps.
let server: Server;
let n = 0;
let url: string;
beforeEach(() => {
  vi.useFakeTimers();
  url = `ws://127.0.0.1:9/echo-${++n}`;
  server = new Server(url);
});
afterEach(() => {
  server.stop();
  vi.useRealTimers();
});

const echo = (s: Server) =>
  s.on('connection', (socket) => socket.on('message', (d) => (d === 'ping' ? socket.send('pong') : socket.send(d))));

describe('against a mock-socket server', () => {
  it('echoes through the README example settings and measures heartbeat round trips', async () => {
    echo(server);
    const c = connect(url, {
      WebSocket: MockWebSocket as never,
      heartbeat: { interval: 1000, timeout: 500, message: 'ping', isPong: (d) => d === 'pong' },
    });
    const log = record(c);
    const got: unknown[] = [];
    c.on('message', (d) => got.push(d));
    c.send('queued before open');
    // A silent server gets the welcome deadline, min(heartbeat.timeout, 2000) ms, to show it
    // speaks the heartline protocol.
    await advance(490);
    expect(c.state).toBe('connecting');
    await advance(30);
    expect(c.state).toBe('open');
    c.send('hello');
    await advance(20);
    expect(got).toEqual(['queued before open', 'hello']);
    await advance(1020);
    expect(ofType(log, 'heartbeat')).toHaveLength(1);
    expect(ofType(log, 'heartbeat')[0]![0].rtt).toBeLessThan(500);
    expect(got).toEqual(['queued before open', 'hello']);
    // The page session remembers the plain server: a reconnect does not wait again.
    c.reconnect();
    await advance(20);
    expect(c.state).toBe('open');
    c.close();
  });

  it('reconnects after the server closes the socket and delivers what was sent meanwhile', async () => {
    const received: unknown[] = [];
    let connections = 0;
    server.on('connection', (socket) => {
      connections++;
      socket.on('message', (d) => received.push(d));
      if (connections === 1) setTimeout(() => socket.close({ code: 1012, reason: 'restart', wasClean: true }), 10);
    });
    const c = connect(url, { WebSocket: MockWebSocket as never, protocol: 'plain', reconnect: { initialDelay: 200, jitter: 0 } });
    const log = record(c);
    await advance(30);
    expect(c.state).toBe('reconnecting');
    c.send('one');
    c.send('two');
    await advance(230);
    expect(connections).toBe(2);
    expect(c.state).toBe('open');
    expect(received).toEqual(['one', 'two']);
    expect(ofType(log, 'close')[0]![0]).toMatchObject({ code: 1012, willReconnect: true });
    c.close();
  });

  it('detects a server that stops answering within interval + timeout', async () => {
    server.on('connection', () => {}); // accepts, then never says anything
    const c = connect(url, {
      WebSocket: MockWebSocket as never,
      protocol: 'plain',
      heartbeat: { interval: 1000, timeout: 500, message: 'ping' },
      reconnect: { initialDelay: 5000, jitter: 0 },
    });
    const log = record(c);
    let openedAt = 0;
    let detectedAt = 0;
    c.on('open', () => (openedAt = Date.now()));
    c.on('reconnecting', () => (detectedAt = Date.now()));
    await advance(2000);
    const [info] = ofType(log, 'reconnecting')[0]!;
    expect(info.reason).toBe('heartbeat-timeout');
    expect(openedAt).toBeGreaterThan(0);
    expect(detectedAt - openedAt).toBe(1500);
    c.close();
  });
});
