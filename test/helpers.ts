import { vi } from 'vitest';
import { connect } from '../src/index';
import type { Connection, Events, Options } from '../src/index';
import { FakeWebSocket, lastSocket } from './fake-websocket';

export const URL_ = 'ws://127.0.0.1:1/live';

/** Lets pending promises (auth, async URL) and zero-delay timers run. */
export const settle = (): Promise<unknown> => vi.advanceTimersByTimeAsync(0);
export const advance = (ms: number): Promise<unknown> => vi.advanceTimersByTimeAsync(ms);

export type Entry = [keyof Events, ...unknown[]];

/** Records every event the connection emits, in order, without starting a lazy connection. */
export const record = (c: Connection): Entry[] => {
  const log: Entry[] = [];
  for (const t of ['open', 'state', 'reconnecting', 'close', 'error', 'heartbeat'] as const) {
    c.on(t, (...args: unknown[]) => void log.push([t, ...args]));
  }
  return log;
};
export const ofType = <K extends keyof Events>(log: Entry[], type: K): Parameters<Events[K]>[] =>
  log.filter((e) => e[0] === type).map((e) => e.slice(1) as Parameters<Events[K]>);

/**
 * A connection over the scripted fake socket, which plays a plain server; pass options to override
 * the defaults (the protocol's own tests pass `protocol: 'auto'`).
 */
export const open = (options: Options = {}, url: Parameters<typeof connect>[0] = URL_): Connection =>
  connect(url, { WebSocket: FakeWebSocket as never, protocol: 'plain', ...options });

/** Opens the connection's current socket after letting the attempt start. */
export const accept = async (): Promise<FakeWebSocket> => {
  await settle();
  const s = lastSocket();
  s.open();
  return s;
};
