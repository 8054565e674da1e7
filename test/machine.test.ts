// The state machine (issue 13, item 1): the table in ARCHITECTURE.md is the one `next` implements,
// and every timer belongs to one state: none is pending when a state is left (at every `state`
// event), over lives that take every step of the table.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { END, LOST, OPEN, START, next } from '../src/machine';
import type { Step } from '../src/machine';
import type { State } from '../src/options';
import type { Connection } from '../src/index';
import { lastSocket, resetSockets } from './fake-websocket';
import { advance, open, settle } from './helpers';

const STATES: State[] = ['closed', 'connecting', 'open', 'reconnecting'];
const STEPS: Record<string, Step> = { START, OPEN, LOST, END };

/** Rows of ARCHITECTURE.md's state table: step, from (a list or "any"), to. */
const documented = (): [string, State[], State][] => {
  const md = readFileSync(resolve(__dirname, '../ARCHITECTURE.md'), 'utf8');
  return [...md.matchAll(/^\| (START|OPEN|LOST|END) \| ([a-z, ]+) \| ([a-z]+) \|/gm)].map((m) => [
    m[1]!,
    m[2] === 'any' ? STATES : (m[2]!.split(', ') as State[]),
    m[3] as State,
  ]);
};

describe('the state table', () => {
  it('ARCHITECTURE.md documents every step from every state it is taken in, as next() does it', () => {
    const rows = documented();
    expect(rows.map((r) => r[0]).sort()).toEqual(['END', 'LOST', 'OPEN', 'START', 'START']);
    for (const [step, froms, to] of rows) for (const from of froms) expect([step, from, next(from, STEPS[step]!)]).toEqual([step, from, to]);
  });
});

describe('every timer belongs to one state', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    resetSockets();
    sessionStorage.clear();
  });
  afterEach(() => vi.useRealTimers());

  /** At every `state` event (a state was just left): the timers still pending. */
  const watch = (c: Connection): [State, number][] => {
    const seen: [State, number][] = [];
    c.on('state', (s) => void seen.push([s, vi.getTimerCount()]));
    return seen;
  };

  it('plain: connecting → open → reconnecting → open → reconnecting (reconnect()) → closed', async () => {
    const c = open({ lazy: true, heartbeat: { interval: 1000, timeout: 500, message: 'ping' }, reconnect: { initialDelay: 100, maxDelay: 100 } });
    const seen = watch(c);
    c.reconnect(); // starts the lazy connection
    await settle();
    lastSocket().open();
    lastSocket().receive('hello');
    await advance(1000); // a ping is out, with its deadline
    lastSocket().serverClose(1006);
    await advance(150);
    lastSocket().open();
    c.reconnect();
    await settle();
    c.close();
    expect(seen.map((e) => e[0])).toEqual(['connecting', 'open', 'reconnecting', 'open', 'reconnecting', 'closed']);
    expect(seen.filter((e) => e[1] !== 0)).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('protocol: a welcome wait, a heartbeat timeout, a resume and a stop rule leave no timer behind', async () => {
    const c = open({ lazy: true, protocol: 'auto', heartbeat: { interval: 1000, timeout: 500 }, reconnect: { initialDelay: 100, maxDelay: 100 } });
    const seen = watch(c);
    c.reconnect();
    await settle();
    lastSocket().open(); // the welcome wait runs
    lastSocket().receive('welcome {"v":1}');
    lastSocket().receive('ready {"session":"s","ack":0}');
    await advance(1600); // a ping, unanswered: heartbeat-timeout
    await advance(150);
    lastSocket().open();
    lastSocket().receive('welcome {"v":1}');
    lastSocket().receive('ready {"session":"s","ack":0,"resumed":true}');
    lastSocket().serverClose(4404); // a stop rule
    expect(seen.map((e) => e[0])).toEqual(['connecting', 'open', 'reconnecting', 'open', 'closed']);
    expect(seen.filter((e) => e[1] !== 0)).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
