import { OptionError } from './errors.js';
import type { HeartlineError } from './errors.js';

/** What `send()` accepts besides JSON values in JSON mode, and what a transport writes. */
export type Data = string | ArrayBuffer | ArrayBufferView | Blob;
/**
 * What send() takes in JSON mode once the connection is typed: a value JSON.stringify encodes,
 * checked at the top level only (no function, symbol, bigint or undefined; nested values are
 * checked when encoded, and a failure is an OptionError), or binary {@link Data}, sent as is.
 * Interfaces and class instances fit (a plain JSON type with an index signature would refuse them).
 */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | { [key: string]: unknown }
  | (object & { call?: never; apply?: never; bind?: never });
/**
 * The type send() takes when only the received type `In` is given: `unknown` (untyped, as before)
 * while `In` is `any` or `unknown`, else `T` (the mode's type: {@link Data} or {@link JsonValue}).
 */
export type DefaultOut<In, T> = unknown extends In ? unknown : T;
/** The connection URL: fixed, or computed on every attempt (sync or async), e.g. to add a fresh token. */
export type UrlSource = string | URL | (() => string | URL | PromiseLike<string | URL>);
export type TransportName = 'websocket' | 'sse' | 'longpoll';
export type State = 'connecting' | 'open' | 'reconnecting' | 'closed';
/** Why the state changed; every `state` event and every `reconnecting` event carries one. */
export type Reason =
  | 'connect' // the first attempt, or a start after a pause
  | 'open'
  | 'user-close' // close() or the `signal` aborted
  | 'user-reconnect' // reconnect()
  | 'server-close' // the server closed cleanly (close frame)
  | 'network-error' // the connection failed or ended without a close frame
  | 'heartbeat-timeout' // no inbound traffic within the heartbeat deadline
  | 'connect-timeout' // no open within `interval + timeout`
  | 'offline' // a probe sent on the `offline` event went unanswered
  | 'online' // the `online` event cut a backoff wait short
  | 'hidden' // `whenHidden: 'close'` closed a hidden page's connection
  | 'visible' // the page came back and the connection resumes
  | 'pagehide' // the page went into the back/forward cache
  | 'pageshow' // the page came back from the back/forward cache
  | 'auth-failed' // the credentials were refused after one refresh, or auth() threw
  | 'max-retries' // `reconnect.maxRetries` reached
  | 'fallback' // a transport failed to open: the next one is tried at once
  | 'upgrade' // on a fallback transport for `upgradeAfter` ms: WebSocket is tried again
  | 'stop'; // shouldReconnect() said no, a stop rule (204, 404, 410), or no usable URL/transport

/** What `shouldReconnect` is told about the failure it decides on. */
export interface RetryInfo {
  /** Retries already made since the last stable connection. */
  attempt: number;
  reason: Reason;
  /** WebSocket close code (1006 when there was none). */
  code: number;
  error?: HeartlineError | undefined;
  /** What heartline would do by default. */
  retry: boolean;
}

export interface HeartbeatOptions {
  /** ms of inbound silence after which a ping is sent. @default 25000 */
  interval?: number;
  /** ms to wait for any inbound frame after the ping before the connection is declared dead. @default 10000 */
  timeout?: number;
  /**
   * The ping to send to a plain server, e.g. `'ping'` or `() => JSON.stringify({ type: 'ping' })`.
   * Sent as is (not JSON-encoded, not queued). Without it heartline only watches for silence:
   * the server must then send something at least every `interval + timeout` ms.
   */
  message?: Data | (() => Data);
  /** Recognises the server's pong so it is not delivered as a `message` event. */
  isPong?: (data: unknown) => boolean;
}

export interface ReconnectOptions {
  /** ms; the first retry waits up to this long. @default 500 */
  initialDelay?: number;
  /** ms; no scheduled wait is longer (server hints may be, up to 10 minutes). At least `initialDelay`, and at least 1. @default 30000 */
  maxDelay?: number;
  /** Growth of the delay per failed attempt. @default 2 */
  factor?: number;
  /** 0..1; the share of the delay that is randomised. 1 = full jitter. @default 1 */
  jitter?: number;
  /** Consecutive retries before giving up. @default Infinity */
  maxRetries?: number;
  /** ms a connection must stay open before the retry counter resets. @default 5000 */
  stableAfter?: number;
  /** Overrides the default stop rules: return true to retry, false to stop, undefined for the default. */
  shouldReconnect?: (info: RetryInfo) => boolean | undefined;
}

export interface QueueOptions {
  /** Messages kept while not connected. @default 1000 */
  limit?: number;
  /** What a full queue does with one more message; every drop is reported through `error`. @default 'drop-oldest' */
  overflow?: 'drop-oldest' | 'drop-newest' | 'error';
}

/** A minimal structural WebSocket constructor, so polyfills, mocks and Node's global all fit. */
export type WebSocketLike = new (url: string, protocols?: string | string[]) => WebSocket;

export interface Options {
  /** Ordered preference, filtered by feature detection. @default ['websocket'] for ws(s) URLs, ['websocket', 'sse', 'longpoll'] for http(s) */
  transports?: TransportName[];
  /**
   * Per-transport URL overrides; otherwise `url` is used, with http(s) and ws(s) switched for the
   * WebSocket. `send` is where HTTP transports POST client-to-server messages; `upload` is where
   * they POST upload frames and chunks (default: `send`, else `url`).
   */
  endpoints?: { websocket?: UrlSource; sse?: string; longpoll?: string; send?: string; upload?: string };
  /**
   * 'auto' offers the heartline protocol (PROTOCOL.md) and falls back to plain mode when the server
   * does not answer with a `welcome`; 'plain' never offers it. @default 'auto'
   */
  protocol?: 'auto' | 'plain';
  /** Extra request headers for the HTTP transports (SSE, long-polling, POST). */
  headers?: Record<string, string>;
  /** Send cookies with cross-origin HTTP transport requests. @default false */
  withCredentials?: boolean;
  /** Cap, in characters, on one SSE line or event; a larger one is a typed error and a reconnect. @default 1048576 */
  maxEventSize?: number;
  /**
   * ms, long-polling: the least time from the start of one poll to the start of the next when the
   * first brought no event or frame (an empty answer, a comment, a proxy's gateway timeout). A
   * long-polling server holds each poll, so this only paces one that answers at once. That is
   * short polling, for hosts that cannot hold a request open (serverless functions, some PHP
   * hosts): an idle connection then makes one request per `pollInterval`, and events wait up to
   * that long; a poll that brought something is followed by the next at once. Keep it well under
   * `heartbeat.interval + heartbeat.timeout`. @default 1000
   */
  pollInterval?: number;
  /**
   * ms on a fallback transport (SSE, long-polling) before heartline checks in the background
   * whether WebSocket works again, and moves back to it when it does; 0 never checks. @default 300000
   */
  upgradeAfter?: number;

  /** WebSocket subprotocols. */
  protocols?: string | string[];
  /** Liveness checks; `false` turns them off. */
  heartbeat?: false | HeartbeatOptions;
  /** Automatic reconnection; `false` turns it off (the first failure closes for good). */
  reconnect?: false | ReconnectOptions;
  /** The send queue used while not connected. */
  queue?: QueueOptions;
  /** The event id to resume from, e.g. saved before a page reload. @default '' */
  lastEventId?: string;
  /**
   * Credentials, called once per connection attempt (concurrent attempts share one call) and
   * again after the server refused them once. Over a plain WebSocket the result is sent as the
   * first frame (a string as is, anything else as JSON).
   */
  auth?: () => unknown;
  /** true: send() JSON-encodes values and text messages are JSON-parsed before `message`. @default false */
  json?: boolean;
  /** @default 'arraybuffer' */
  binaryType?: 'arraybuffer' | 'blob';
  /** 'close' closes the connection after the page has been hidden 30 s and resumes when visible. @default 'keep' */
  whenHidden?: 'keep' | 'close';
  /** Connect on the first send() or on('message') instead of at once. @default false */
  lazy?: boolean;
  /** Aborting it closes the connection, like close(). */
  signal?: AbortSignal;
  /** Injected WebSocket constructor. @default globalThis.WebSocket, looked up when connecting */
  WebSocket?: WebSocketLike;
  /** Injected EventSource, used only where fetch cannot stream. @default globalThis.EventSource */
  EventSource?: new (url: string, init?: { withCredentials?: boolean }) => EventSource;
  /** Injected fetch for the HTTP transports. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Receives a structured record of every event, for debugging. */
  logger?: (entry: { type: string; args: unknown[] }) => void;
}

type Required2<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };
export type ResolvedHeartbeat = Required2<Pick<HeartbeatOptions, 'interval' | 'timeout'>> & HeartbeatOptions;
export type ResolvedReconnect = Required2<Omit<ReconnectOptions, 'shouldReconnect'>> & ReconnectOptions;

const fail = (name: string, range: string, v: unknown): never => {
  throw new OptionError(`option ${name} must be ${range}, got ${String(v)}`);
};
/** The longest delay setTimeout honours (ms); larger values would fire at once. */
const MAX_MS = 2 ** 31 - 1;
/** Checks the number `o[name]`; the message names it `path + name`. */
export const num = (o: Record<string, unknown>, path: string, name: string, min: number, max = MAX_MS): void => {
  const v = o[name];
  if (typeof v !== 'number' || !(v >= min && v <= max)) fail(path + name, `a number in [${min}, ${max}]`, v);
};
const fn = (v: unknown, name: string): void => {
  if (v !== undefined && typeof v !== 'function') fail(name, 'a function', v);
};
const oneOf = (v: unknown, name: string, values: unknown[]): void => {
  if (v !== undefined && !values.includes(v)) fail(name, `one of ${values.join(', ')}`, v);
};

/** Fills in defaults and validates; throws {@link OptionError} naming the option and its range. */
export const resolveHeartbeat = (h: Options['heartbeat']): ResolvedHeartbeat | undefined => {
  if (h === false) return;
  const r = { interval: 25000, timeout: 10000, ...h };
  num(r, 'heartbeat.', 'interval', 1);
  num(r, 'heartbeat.', 'timeout', 1);
  fn(r.isPong, 'heartbeat.isPong');
  return r;
};

export const resolveReconnect = (c: Options['reconnect']): ResolvedReconnect | undefined => {
  if (c === false) return;
  const r = { initialDelay: 500, maxDelay: 30000, factor: 2, jitter: 1, maxRetries: Infinity, stableAfter: 5000, ...c };
  const p = 'reconnect.';
  num(r, p, 'initialDelay', 0);
  num(r, p, 'maxDelay', r.initialDelay || 1); // never 0: no retry loop without any wait
  num(r, p, 'factor', 1, 100);
  num(r, p, 'jitter', 0, 1);
  num(r, p, 'maxRetries', 0, Infinity);
  num(r, p, 'stableAfter', 0);
  fn(r.shouldReconnect, p + 'shouldReconnect');
  return r;
};

/** The checks every entry makes (heartline/ws too). */
export const validate = (o: Options): void => {
  const q = { limit: 1000, ...o.queue };
  num(q, 'queue.', 'limit', 0, Infinity);
  oneOf(q.overflow, 'queue.overflow', ['drop-oldest', 'drop-newest', 'error']);
  oneOf(o.binaryType, 'binaryType', ['arraybuffer', 'blob']);
  oneOf(o.whenHidden, 'whenHidden', ['keep', 'close']);
  for (const k of ['auth', 'logger', 'WebSocket'] as const) fn(o[k], k);
};

/**
 * The checks of the options only the full entry reads (heartline/ws has no other transport and no
 * protocol, and ignores them; `EventSource` and `fetch` serve only the HTTP transports). Not called
 * by {@link validate}: the full entry (and heartline/core's connectWith) calls both.
 */
export const validateFull = (o: Options): void => {
  const ts = o.transports;
  if (ts) {
    if (!Array.isArray(ts) || !ts.length) fail('transports', 'a non-empty array', ts);
    for (const t of ts) oneOf(t, 'transports[]', ['websocket', 'sse', 'longpoll']);
  }
  oneOf(o.protocol, 'protocol', ['auto', 'plain']);
  num({ maxEventSize: 1, ...o }, '', 'maxEventSize', 1, Infinity);
  num({ upgradeAfter: 0, ...o }, '', 'upgradeAfter', 0);
  num({ pollInterval: 0, ...o }, '', 'pollInterval', 0);
  for (const k of ['EventSource', 'fetch'] as const) fn(o[k], k);
};
