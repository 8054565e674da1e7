import type { Events } from './connection.js';
import type { createEmitter } from './emitter.js';
import { HeartlineError, OptionError, isHeartlineError } from './errors.js';
import type { Fallback } from './fallback.js';
import type { Heartbeat } from './heartbeat.js';
import type { Protocol } from './negotiate.js';
import type { Outbox } from './outbox.js';
import { resolveHeartbeat, resolveReconnect, validate } from './options.js';
import type { Options, Reason, ResolvedHeartbeat, ResolvedReconnect, State, TransportName } from './options.js';
import type { Context, Transport, TransportFactory } from './transports/types.js';
import type { createUploads } from './upload.js';

/**
 * What a connection is made of. The core imports no transport, no protocol and no uploads: an
 * entry hands it the ones it offers (index.ts: all of them; ws.ts: WebSocket alone), so what an
 * app does not import does not reach its bundle.
 */
export interface Parts {
  /** The transports, most preferred first. Without `fallback`, only the first is used. */
  transports: TransportFactory[];
  /** The heartline protocol (negotiate.ts). Without it every server is a plain one. */
  protocol?: (k: Core) => Protocol;
  /** The choice of transport, the fallback and the background move back to WebSocket (fallback.ts). */
  fallback?: (k: Core, transports: TransportFactory[]) => Fallback;
  /** Resumable uploads (upload.ts). */
  uploads?: typeof createUploads;
  /** Checks the options that only these parts read. */
  validate?: (o: Options) => void;
}

/**
 * What the core shares with its modules. Mutable fields are written by the core only, except
 * where a field says otherwise. Every callback a transport or timer runs compares `gen` first.
 */
export interface Core {
  o: Options;
  hb: ResolvedHeartbeat | undefined;
  state: State;
  /** Bumped whenever an attempt or connection is discarded: stale callbacks compare it. */
  gen: number;
  /** The one live transport; undefined while none is open or opening. */
  current?: Transport | undefined;
  /** Set once `current` is open. */
  name?: TransportName | undefined;
  /** The heartline protocol on `current`; undefined while negotiating (written by negotiate.ts). */
  hl?: boolean | undefined;
  ctx?: Context | undefined;
  /** Written by negotiate.ts and the transports' `id` handler too. */
  lastEventId: string;
  /** The heartline session (written by negotiate.ts). */
  session?: string | undefined;
  outbox: Outbox;
  /** The server's `retry` hint for the next delay (written by negotiate.ts). */
  hint: number;
  /** When the state's timer should fire, wall clock. */
  due?: number;
  /** The URL the current attempt resolved, before any per-transport endpoint. */
  base?: string;
  /** Sets the current state's one timer (replacing the one it had). */
  setTimer(ms: number, f: () => void): void;
  /** The connection or attempt is gone (core.ts's `lost`): `code`, `text`, `wasClean` are the `close` event's. */
  lost(reason: Reason, error?: HeartlineError, code?: number, text?: string, wasClean?: boolean, wait?: number): void;
  fail(reason: Reason, error: HeartlineError): void;
  ready(heartline: boolean, credentials?: unknown, resumed?: boolean, asked?: string): void;
  deliver(data: unknown, id?: string, event?: string): void;
  restart(reason: Reason): void;
  /** The heartbeat (heartbeat.ts). */
  beat: Heartbeat;
  emit: ReturnType<typeof createEmitter<Events>>['emit'];
  /** Runs an app callback; a throw is reported through `error` and counts as `undefined`. */
  call<A extends unknown[], R>(f: (...a: A) => R, ...args: A): R | undefined;
  up?: ReturnType<typeof createUploads> | undefined;
}

/**
 * The longest a `welcome` (or an event stream's response headers, or the background WebSocket's
 * greeting) is waited for (ms), unless the heartbeat's `timeout` is shorter: a silent server is
 * plain. Only the protocol and the fallback wait for these, so heartline/ws carries none of it.
 */
export const WELCOME = 2000;

/** Reads the options once: an options object with getters must not be able to throw (or change) later. */
export const read = (options: Options, parts: Parts): [Options, ResolvedHeartbeat | undefined, ResolvedReconnect | undefined] => {
  try {
    const o: Options = { ...options, endpoints: { ...options.endpoints }, queue: { ...options.queue } };
    if (o.headers) o.headers = { ...o.headers };
    if (parts.validate) parts.validate(o);
    validate(o);
    return [o, resolveHeartbeat(o.heartbeat), resolveReconnect(o.reconnect)];
  } catch (e) {
    throw isHeartlineError(e) ? e : new OptionError('the options could not be read', e);
  }
};

/** The URL of transport `f` for `u`: its endpoint, or `u` with http(s) and ws(s) switched as needed. */
export const where = async (o: Options, f: TransportFactory, u: string): Promise<URL> => {
  const src = o.endpoints![f.name] || u;
  const page = (globalThis as { location?: { href: string } }).location;
  const target = new URL(String(await (typeof src == 'function' ? src() : src)), page && page.href);
  const ws = f.name === 'websocket';
  target.protocol = target.protocol.replace(ws ? 'http' : 'ws', ws ? 'ws' : 'http');
  return target;
};
