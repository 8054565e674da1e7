// Every public call, made from inside every event's listener, at the first, second and third
// time that event fires (table-driven: events × calls × occurrence), over a scripted life (open, messages, heartbeats, an ack, a server close, a failed
// handshake, a reopen): the connection must stay consistent (issue 12's classes; issue 13 item 1).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Connection, Events, HeartlineError } from '../src/index';
import { lastSocket, liveSockets, resetSockets, sockets } from './fake-websocket';
import { advance, open, settle } from './helpers';

beforeEach(() => {
  vi.useFakeTimers();
  resetSockets();
  sessionStorage.clear();
});
afterEach(() => vi.useRealTimers());

const EVENTS: (keyof Events)[] = ['open', 'message', 'state', 'reconnecting', 'close', 'error', 'heartbeat'];
const CALLS: Record<string, (c: Connection) => unknown> = {
  close: (c) => c.close(),
  reconnect: (c) => c.reconnect(),
  send: (c) => c.send('from a listener'),
  sendWithAck: (c) => c.sendWithAck('acked from a listener').catch(() => {}),
  upload: (c) => c.upload(new Blob(['abc'])).catch(() => {}),
  'on + off': (c) => c.on('message', () => {})(),
};

/** Plays a protocol server through one life of the connection; tolerant of a connection that was closed or restarted. */
const life = async (): Promise<void> => {
  const current = () => lastSocket();
  const handshake = async () => {
    await settle();
    const s = current();
    if (s.readyState !== 0) return;
    s.open();
    s.receive('welcome {"v":1}');
    s.receive('ready {"session":"s1","ack":0,"resumed":false}');
  };
  await handshake();
  current().receive('msg 1 -\nhello');
  current().receive('ack 1');
  await advance(1000); // heartbeat interval: a ping
  current().receive('pong 1');
  current().receive('msg 2 -\nagain');
  current().serverClose(1006); // lost: close, state, error?, reconnecting
  await advance(200);
  if (current().readyState === 0) current().serverClose(1006); // a failed handshake: error
  await advance(400);
  await handshake();
  current().receive('msg 3 -\nlast');
  await advance(50);
};

/** After close(): still closed 5 s later, no new socket, none live, no timer left. */
/**
 * After the scripted life: no call of ours threw inside a listener or callback (that is reported
 * as a 'listener' error), one live socket at most, and `state` and `transport` agree.
 */
const consistent = (c: Connection, errors: HeartlineError[]): void => {
  expect(errors.filter((e) => e.code === 'listener').map((e) => String(e.cause))).toEqual([]);
  expect(liveSockets().length).toBeLessThanOrEqual(1);
  expect(c.state === 'open').toBe(c.transport !== undefined);
};

const closedForGood = async (c: Connection): Promise<void> => {
  const count = sockets.length;
  await advance(5000);
  expect(c.state).toBe('closed');
  expect(sockets.length).toBe(count); // nothing reconnects after close()
  expect(liveSockets()).toHaveLength(0);
  expect(vi.getTimerCount()).toBe(0);
};

/** Whatever happened, the connection still reaches open: each new socket is answered as a protocol server. */
const reopen = async (c: Connection): Promise<void> => {
  for (let i = 0; i < 20 && c.state !== 'open'; i++) {
    await advance(200);
    const s = lastSocket();
    if (s.readyState === 0) {
      s.open();
      s.receive('welcome {"v":1}');
      s.receive('ready {"session":"s1","ack":0,"resumed":false}');
    }
  }
  expect(c.state).toBe('open');
};

describe('any public call from inside any listener leaves a consistent connection', () => {
  for (const event of EVENTS) {
    for (const [name, act] of Object.entries(CALLS)) {
      for (const nth of [0, 1, 2]) it(`${name} from a ${event} listener, at its occurrence ${nth + 1}`, async () => {
        const c = open({ protocol: 'auto', heartbeat: { interval: 1000, timeout: 300 }, reconnect: { initialDelay: 50, maxDelay: 100 } });
        let fired = 0;
        let acted = false;
        let lived = false; // the call is made during the scripted life only, never in the checks after it
        c.on(event, () => {
          if (!lived && fired++ === nth) (acted = true), act(c);
        });
        const errors: HeartlineError[] = [];
        c.on('error', (e) => void errors.push(e)); // errors are expected (a failed handshake); none may be thrown
        await expect(life()).resolves.toBeUndefined();
        lived = true;
        consistent(c, errors);
        if (name === 'close' && acted) {
          await closedForGood(c);
        } else {
          // Whatever happened, the connection still works: it reaches open and carries a message.
          await reopen(c);
          const got: unknown[] = [];
          c.on('message', (d) => void got.push(d));
          lastSocket().receive('msg 9 -\nstill here');
          expect(got).toEqual(['still here']);
          c.close();
          expect(vi.getTimerCount()).toBe(0);
        }
      });
    }
  }
});

// The same calls from inside the app's option callbacks (issue 13 item 1: "any listener or
// callback"), each at the first time it runs: auth(), the URL function, shouldReconnect,
// heartbeat.message (plain mode, where the app's ping is sent) and isPong, and the logger.
type Cb = (act: () => void) => Record<string, unknown>;
const CALLBACKS: Record<string, Cb> = {
  auth: (act) => ({ auth: () => (act(), 'token') }),
  url: (act) => ({ url: () => (act(), 'ws://127.0.0.1:1/live') }),
  shouldReconnect: (act) => ({ reconnect: { initialDelay: 50, maxDelay: 100, shouldReconnect: () => void act() } }),
  'heartbeat.message': (act) => ({ protocol: 'plain', heartbeat: { interval: 1000, timeout: 300, message: () => (act(), 'ping') } }),
  'heartbeat.isPong': (act) => ({ protocol: 'plain', heartbeat: { interval: 1000, timeout: 300, isPong: () => (act(), false) } }),
  logger: (act) => ({ logger: () => void act() }),
};

describe('any public call from inside any option callback leaves a consistent connection', () => {
  for (const [cb, make] of Object.entries(CALLBACKS)) {
    for (const [name, act] of Object.entries(CALLS)) {
      it(`${name} from ${cb}`, async () => {
        let c: Connection | undefined;
        let acted = false;
        let lived = false;
        const { url, ...extra } = make(() => {
          if (!acted && !lived && c) (acted = true), act(c);
        });
        c = open(
          { protocol: 'auto', heartbeat: { interval: 1000, timeout: 300 }, reconnect: { initialDelay: 50, maxDelay: 100 }, ...extra },
          (url as () => string) || undefined,
        );
        const errors: HeartlineError[] = [];
        c.on('error', (e) => void errors.push(e));
        await settle();
        // close() from auth() or the URL function ends the connection before its first socket.
        if (!sockets.length) expect([acted, name, c.state]).toEqual([true, 'close', 'closed']);
        else await expect(life()).resolves.toBeUndefined();
        lived = true;
        consistent(c, errors);
        if (name === 'close' && acted) {
          await closedForGood(c);
        } else {
          await reopen(c);
          c.close();
          expect(vi.getTimerCount()).toBe(0);
        }
      });
    }
  }
});

describe('calls from a close listener while the connection is being lost', () => {
  it('upload() waits for the next connection instead of refusing a protocol server', async () => {
    const c = open({ protocol: 'auto', reconnect: { initialDelay: 50, maxDelay: 50 } });
    let up: Promise<unknown> | undefined;
    c.on('close', () => void (up ??= c.upload(new Blob(['abc']))));
    c.on('error', () => {});
    await settle();
    lastSocket().open();
    lastSocket().receive('welcome {"v":1}');
    lastSocket().receive('ready {"session":"s1","ack":0}');
    lastSocket().serverClose(1006);
    const outcome = await Promise.race([up!.then(() => 'resolved', (e: { reason?: string }) => `rejected: ${e.reason}`), advance(20).then(() => 'pending')]);
    expect(outcome).toBe('pending');
    c.close();
    await expect(up).rejects.toMatchObject({ reason: 'closed' });
  });
});
