/**
 * Options, hooks and bounds of `heartline/server`.
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ReplayLog, SessionStore, UploadStore } from './engine.js';

/** The transports of PROTOCOL.md. */
export type Transport = 'websocket' | 'sse' | 'longpoll' | 'post';

/** What {@link ServerOptions.authenticate} is given: one connection or one HTTP request. */
export interface AuthRequest {
  transport: Transport;
  /**
   * The client's credentials: `hello.auth` over WebSocket (any JSON value), the `Authorization`
   * header over HTTP (a string), undefined when it sent none.
   */
  credentials: unknown;
  /** The request's headers (for a WebSocket, the upgrade request's: cookies live there). */
  headers: IncomingHttpHeaders;
  /** The request URL (path and query; parse with `new URL(url, 'http://x')`). */
  url: string;
  /** The session the client names, if any (not yet verified to exist). */
  session: string | null;
}

/**
 * Thrown by `authenticate` to refuse with a given status: 401 (credentials missing or expired:
 * the client fetches fresh ones once, then stops) or 403 (refused: the client stops after its one
 * retry). Over WebSocket they become the close codes 4401 and 4403.
 */
export class Refused extends Error {
  constructor(
    readonly status: 401 | 403 = 401,
    message = status === 401 ? 'unauthorized' : 'forbidden',
  ) {
    super(message);
    this.name = 'Refused';
  }
}

/**
 * Reported to `onError` when a hook did not settle within its limit (`authTimeout`,
 * `messageTimeout`, `uploadTimeout`). The server stops waiting for it; whatever the hook does
 * after that is ignored.
 */
export class HookTimeout extends Error {
  constructor(
    readonly hook: 'authenticate' | 'streams' | 'onMessage' | 'onUpload',
    readonly ms: number,
  ) {
    super(`heartline/server: ${hook} did not settle within ${ms} ms`);
    this.name = 'HookTimeout';
  }
}

/** One client message, handed to {@link ServerOptions.onMessage}. */
export interface Message {
  /** The session id. */
  session: string;
  /** What `authenticate` returned for the connection or request that carried it. */
  user: unknown;
  /** The client's sequence number (1, 2, 3… per session). */
  seq: number;
  /** The payload: text, or bytes for a binary message. */
  data: string | Buffer;
  binary: boolean;
  transport: Transport;
}

/** A finished upload, handed to {@link ServerOptions.onUpload}. */
export interface UploadedFile {
  /** The client's upload id (unique in its session). */
  id: string;
  session: string;
  user: unknown;
  /** Where the bytes are, when the upload store keeps them on this machine's disk. */
  path: string | null;
  size: number;
  /** Lowercase hex SHA-256 of the whole file, computed as the bytes arrived. */
  sha256: string;
  name: string | null;
  type: string | null;
  metadata: Record<string, unknown> | null;
}

/** Where an error reported to {@link ServerOptions.onError} came from. */
export interface ErrorContext {
  where: 'message' | 'upload' | 'authenticate' | 'subscribe' | 'internal';
  session?: string;
}

/** Bounds on everything a client or the network controls. Each has a default. */
export interface Limits {
  /** Bytes of one application message (a WebSocket frame, a POST body with `seq`). Larger: close 1009 / 413. @default 1048576 (1 MiB) */
  maxMessageSize?: number;
  /** Bytes of one upload chunk (its frame or POST body). Larger: `up.error ID 413`. @default 16777216 (16 MiB) */
  maxChunkSize?: number;
  /**
   * Client frames per second per WebSocket, POSTs per second per session, in bursts of as many.
   * Over it a WebSocket is no longer read until the rate allows (a client resending its outbox is
   * slowed, not cut); one owing 20 seconds' worth (frames that arrived in the socket buffer anyway)
   * is closed with 1013. A POST over it gets 429 with `Retry-After: 1`. @default 100
   */
  messageRate?: number;
  /** Bytes queued for one slow connection. Over: it is cut with close 1013 (the client retries and resumes). @default 4194304 (4 MiB) */
  maxBufferedBytes?: number;
  /** Client messages waiting for `onMessage` per connection; over it the server stops reading that socket. @default 64 */
  maxPendingMessages?: number;
  /**
   * Bytes of received frames (messages and upload chunks) waiting their turn per WebSocket; over
   * it the server stops reading that socket until half are done, so TCP slows the sender (whose
   * `bufferedAmount` then paces its uploads) and pings wait behind at most this much. One frame
   * is always taken, whatever its size. @default 4194304 (4 MiB)
   */
  maxPendingBytes?: number;
  /** Sessions held. A new one past it: 503 with Retry-After / close 1013. @default 100000 */
  maxSessions?: number;
  /** A session without a connection is forgotten after this (ms). @default 600000 (10 minutes) */
  sessionTtl?: number;
  /** Events the in-memory replay log keeps (all streams together). @default 10000 */
  maxEvents?: number;
  /** Age after which the in-memory replay log drops an event (ms). @default 600000 (10 minutes) */
  maxEventAge?: number;
  /** Bytes of one upload (its declared size). Over: `up.error ID 413`. @default 1073741824 (1 GiB) */
  maxUploadSize?: number;
  /** Unfinished uploads per session. Over: `up.error ID 429`. @default 4 */
  maxUploadsPerSession?: number;
  /** An unfinished upload stays resumable this long after its last chunk (ms); it keeps its session alive meanwhile. @default 3600000 (1 hour) */
  uploadTtl?: number;
  /** How long a long-poll request is held at most (ms); also its `welcome.heartbeat`. @default 25000 */
  pollTimeout?: number;
  /** Characters of a request URL. Longer: 414 (HTTP) / 414 refusal of the upgrade. @default 8192 */
  maxUrlLength?: number;
  /** Characters of a header value the server reads (`Authorization`, `Last-Event-ID`, `Origin`). Longer: 431. @default 8192 */
  maxHeaderValue?: number;
  /** A WebSocket that sends no `hello` within this (ms) is closed with 1008. @default 10000 */
  helloTimeout?: number;
  /**
   * How long `authenticate` and `streams` may take (ms). `authenticate` past it: 503 with
   * `Retry-After: 5` / close 1013 (the client retries later); `streams` past it: 500 / close 1011
   * (retried with backoff). Both reported to `onError` as a {@link HookTimeout}. @default 10000
   */
  authTimeout?: number;
  /**
   * How long `onMessage` may take (ms). Past it the message is treated as if the hook threw: not
   * acknowledged (the client resends it after its next reconnect), a {@link HookTimeout} reported,
   * the connection stays open and the session's queue moves on. @default 30000
   */
  messageTimeout?: number;
  /** How long `onUpload` may take (ms). Past it: `up.error ID 504`, the file is deleted, a {@link HookTimeout} reported. @default 120000 (2 minutes) */
  uploadTimeout?: number;
  /**
   * Concurrent WebSockets (from the upgrade to the close) and HTTP requests (an SSE stream, a held
   * poll, a POST) from one client address. Past it: 429 with `Retry-After: 5` (HTTP and upgrade),
   * reported to `onError` once per address and process. Behind a reverse proxy every client has the
   * proxy's address: set {@link ServerOptions.addressHeader}, or raise this. @default 1000
   */
  maxConnectionsPerAddress?: number;
  /** Unfinished uploads held by the server (all sessions; each holds an open file). Past it: `up.error ID 429`. @default 1000 */
  maxUploads?: number;
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The path every transport is served on (query strings aside); other paths are not ours. @default '/live' */
  path?: string;
  /**
   * Called for every WebSocket `hello` and every HTTP request (SSE, each poll's first request,
   * each POST). Return the user (anything but `false`, `null` or `undefined`) to accept; return
   * one of those to refuse with 401 / 4401, or throw {@link Refused} to choose 401 or 403. Any other
   * throw is reported to `onError` and refused with 401. @default every client accepted, user `true`
   */
  authenticate?: (request: AuthRequest) => unknown;
  /** The streams a session receives, decided when it connects. @default () => ['default'] */
  streams?: (user: unknown, request: AuthRequest) => Iterable<string> | Promise<Iterable<string>>;
  /**
   * Called exactly once per client message, in order per session. The `ack` is sent after it
   * settled; if it throws (or rejects), the message is not acknowledged (the cumulative `ack`
   * stays below it; the client resends it after its next reconnect), the error goes to `onError`
   * and the connection stays open. Messages after it in the same session wait behind it.
   */
  onMessage?: (message: Message) => unknown;
  /**
   * A finished, verified upload. Move or copy the file inside the hook: once it settles the server
   * deletes what is left at `path`. An object returned is merged into the client's result
   * (`up.done`); a throw fails the upload (`up.error ID 500`). Without this hook uploads are refused
   * (`up.error ID 403`).
   */
  onUpload?: (file: UploadedFile) => unknown;
  /** Errors thrown by hooks, and internal ones; never thrown back at a client. @default console.error */
  onError?: (error: unknown, context: ErrorContext) => void;
  /**
   * Origins allowed to open a WebSocket and to make cross-origin HTTP requests (CORS), exactly as
   * browsers send them (`https://app.example.com`), `'*'` for any, or a function. A request without
   * an `Origin` header (not from a browser page) is allowed. @default same origin only (the Origin's host equals the Host header)
   */
  origins?: string[] | '*' | ((origin: string) => boolean);
  /** Send `Access-Control-Allow-Credentials: true` to allowed origins (cookies on cross-origin requests). @default false */
  credentials?: boolean;
  /** Server heartbeat interval (ms): a ping over WebSocket, a comment over SSE. Announced in `welcome`/`ready`. @default 25000 */
  heartbeat?: number;
  /**
   * A request header that carries the client's address, set by a reverse proxy you trust (for
   * example `'x-forwarded-for'`: its last entry is taken, the address the proxy saw). Used only for
   * `limits.maxConnectionsPerAddress`. Never set it when clients can reach the server without the
   * proxy: they could claim any address. @default none: the socket's remote address
   */
  addressHeader?: string;
  /** Bounds; see {@link Limits}. */
  limits?: Limits;
  /** The replay log. @default a {@link MemoryLog} with `limits.maxEvents` and `limits.maxEventAge` */
  log?: ReplayLog;
  /** The session store. @default a {@link MemorySessions} */
  sessions?: SessionStore;
  /** Upload storage. @default a {@link FileUploads} in a new temporary directory */
  uploads?: UploadStore;
}

/** Every limit, defaults filled in. */
export type ResolvedLimits = Required<Limits>;

/** The default of every limit (see {@link Limits}; the README's bounds table lists them). */
export const DEFAULT_LIMITS: Readonly<ResolvedLimits> = Object.freeze({
  maxMessageSize: 1 << 20,
  maxChunkSize: 1 << 24,
  messageRate: 100,
  maxBufferedBytes: 1 << 22,
  maxPendingMessages: 64,
  maxPendingBytes: 1 << 22,
  maxSessions: 100000,
  sessionTtl: 600000,
  maxEvents: 10000,
  maxEventAge: 600000,
  maxUploadSize: 1 << 30,
  maxUploadsPerSession: 4,
  uploadTtl: 3600000,
  pollTimeout: 25000,
  maxUrlLength: 8192,
  maxHeaderValue: 8192,
  helloTimeout: 10000,
  authTimeout: 10000,
  messageTimeout: 30000,
  uploadTimeout: 120000,
  maxConnectionsPerAddress: 1000,
  maxUploads: 1000,
});

/** The limits with defaults filled in; throws a TypeError for one that is not a positive number. */
export function resolveLimits(limits: Limits = {}): ResolvedLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(limits) as [keyof Limits, unknown][]) {
    if (!(key in DEFAULT_LIMITS)) throw new TypeError(`heartline/server: unknown limit ${key}`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value > 0) || value > Number.MAX_SAFE_INTEGER) throw new TypeError(`heartline/server: limits.${key} must be a positive number`);
    out[key] = value;
  }
  return out;
}

const HOOKS = ['authenticate', 'streams', 'onMessage', 'onUpload', 'onError'] as const;

/** Throws a TypeError naming the first invalid option (hooks, origins, heartbeat, path, limits). */
export function validateOptions(o: ServerOptions): ResolvedLimits {
  const fail = (what: string): never => {
    throw new TypeError(`heartline/server: ${what}`);
  };
  if (o === null || typeof o !== 'object') fail('options must be an object');
  for (const hook of HOOKS) if (o[hook] !== undefined && typeof o[hook] !== 'function') fail(`${hook} must be a function`);
  const { origins, heartbeat, path, addressHeader } = o;
  if (addressHeader !== undefined && !(typeof addressHeader === 'string' && /^[\w-]+$/.test(addressHeader))) fail('addressHeader must be a header name');
  const list = Array.isArray(origins) && origins.every((x) => typeof x === 'string');
  if (origins !== undefined && origins !== '*' && typeof origins !== 'function' && !list) fail("origins must be a list of origins, '*' or a function");
  if (heartbeat !== undefined && !(typeof heartbeat === 'number' && heartbeat >= 10 && heartbeat <= 2 ** 31 - 1)) fail('heartbeat must be a number of ms, at least 10');
  if (path !== undefined && !(typeof path === 'string' && /^\/[^?#\s]*$/.test(path))) fail('path must start with / and have no query');
  return resolveLimits(o.limits);
}
