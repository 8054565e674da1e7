/**
 * `heartline/server`: the server side of the heartline protocol (PROTOCOL.md) for Node >= 20.
 *
 * One object serves every transport on one path: WebSocket upgrades (on `ws`, an optional peer
 * dependency: `npm i heartline ws`), SSE, long-polling and the POST send channel. It plugs into
 * `node:http` (`handler` + `attach`), Express 5 (`handler` as middleware + `attach`) and Fastify 5
 * (`fastify` plugin). It ships in the `heartline` package as a subpath export, built separately
 * from the client: browser entries never import it, and the client keeps zero runtime dependencies.
 *
 * The replay log, the session store and upload storage are interfaces (engine.ts); the defaults
 * keep them in this process and on its disk.
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Core, type ServerStats } from './core.js';
import { HttpTransport } from './http.js';
import type { ServerOptions } from './options.js';
import { WsTransport } from './websocket.js';

export type { Awaitable, Bus, BusHandler, LogEvent, LogFilter, Replay, ReplayLog, SessionRecord, SessionStore, SharedSessions, SharedUploads, Signal, UploadFile, UploadState, UploadStore } from './engine.js';
export { FileUploads, type FileUploadsOptions } from './files.js';
export { MemoryLog, MemorySessions, type MemoryLogOptions } from './memory.js';
export { DEFAULT_LIMITS, HookTimeout, Refused } from './options.js';
export type { AuthRequest, ErrorContext, Limits, ResolvedLimits, Message, ServerOptions, Transport, UploadedFile } from './options.js';
export type { ServerStats } from './core.js';

/** Options of {@link HeartlineServer.publish} and {@link HeartlineServer.send}. */
export interface EventOptions {
  /** The event name (`message` when absent). */
  event?: string;
}

/** The minimal shape of a Fastify instance the plugin uses (Fastify itself is not a dependency). */
export interface FastifyLike {
  server: Server;
  removeAllContentTypeParsers(): void;
  addContentTypeParser(type: string, parser: (req: unknown, payload: unknown, done: (err: null) => void) => void): void;
  route(route: { method: string[]; url: string; handler: (request: { raw: IncomingMessage }, reply: { raw: ServerResponse; hijack(): void }) => Promise<void> }): void;
  addHook(name: 'onClose', hook: () => Promise<void> | void): void;
}

/** A heartline server; see {@link createServer}. */
export interface HeartlineServer {
  /** The path it serves. */
  readonly path: string;
  /**
   * A `node:http` request handler (also an Express 5 middleware): requests on `path` are served,
   * others go to `next` when given, else get 404. Mount it before any body parser.
   */
  handler(req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  /** Handles an HTTP upgrade on `path` (false, socket untouched, for any other path). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Takes WebSocket upgrades on `path` of an HTTP server; returns the function that detaches. */
  attach(server: Server): () => void;
  /**
   * A Fastify 5 plugin: `app.register(live.fastify)` routes GET, POST and OPTIONS on `path` here
   * (with its own body handling, in the plugin's scope) and takes upgrades on `app.server`.
   */
  fastify(instance: FastifyLike): Promise<void>;
  /** Publishes to every session on `stream` (and the replay log); resolves with the event id. */
  publish(stream: string, data: string | Uint8Array, options?: EventOptions): Promise<string>;
  /** Sends to one session (and the replay log); resolves with the event id, or null for an unknown session. */
  send(session: string, data: string | Uint8Array, options?: EventOptions): Promise<string | null>;
  /**
   * Ends a session's live connection with a close code the client understands: by default 4401
   * (credentials expired: the client fetches fresh ones once and reconnects, resuming the session).
   * Returns false when the session has no live connection.
   */
  disconnect(session: string, code?: number, reason?: string): boolean;
  /** What the server holds now (connections, sessions, uploads, timers, events). */
  stats(): Promise<ServerStats>;
  /** Stops taking connections, ends every one with 1001 and frees timers, sessions and upload files. */
  close(): Promise<void>;
}

const pathOf = (url: string | undefined): string => {
  const q = (url ?? '').indexOf('?');
  return q < 0 ? url ?? '' : (url ?? '').slice(0, q);
};

/**
 * Creates a server; it does not listen by itself (see `handler`, `attach`, `fastify`).
 * @throws TypeError for an invalid option
 */
export function createServer(options: ServerOptions = {}): HeartlineServer {
  const core = new Core(options);
  const path = options.path ?? '/live';
  const http = new HttpTransport(core);
  const ws = new WsTransport(core);
  const event = (o?: EventOptions): string | null => (o?.event === undefined || o.event === 'message' ? null : o.event);

  const server: HeartlineServer = {
    path,
    handler(req, res, next) {
      const original = (req as { originalUrl?: string }).originalUrl ?? req.url;
      if (pathOf(original) === path) return void http.handle(req, res);
      if (next) return next();
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    },
    handleUpgrade(req, socket, head) {
      if (pathOf(req.url) !== path) return false;
      ws.upgrade(req, socket, head);
      return true;
    },
    attach(target) {
      const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => void server.handleUpgrade(req, socket, head);
      target.on('upgrade', listener);
      return () => void target.off('upgrade', listener);
    },
    async fastify(instance) {
      instance.removeAllContentTypeParsers();
      instance.addContentTypeParser('*', (_req, _payload, done) => done(null));
      instance.route({
        method: ['GET', 'POST', 'OPTIONS'],
        url: path,
        handler: async (request, reply) => {
          reply.hijack();
          await http.handle(request.raw, reply.raw);
        },
      });
      const detach = server.attach(instance.server);
      instance.addHook('onClose', detach);
    },
    publish: (stream, data, o) => core.append(String(stream), null, data, event(o)).then((ev) => ev.id),
    async send(session, data, o) {
      if (!(await core.find(session))) return null;
      return (await core.append(null, session, data, event(o))).id;
    },
    disconnect: (session, code = 4401, reason = 'credentials expired') => core.disconnect(session, code, reason),
    stats: () => core.stats(),
    async close() {
      ws.close();
      await core.close();
    },
  };
  return server;
}
