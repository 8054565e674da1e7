/**
 * The WebSocket transport (PROTOCOL.md sections 3 and 5) on `ws` in noServer mode: the HTTP
 * server keeps the port, upgrades on our path come here after the Origin check.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Core } from './core.js';
import { originAllowed } from './cors.js';
import type { LogEvent } from './engine.js';
import { field } from './frames.js';
import type { Link, Session } from './session.js';
import { WsConnection } from './ws-connection.js';

const STATUS: Record<number, string> = { 403: 'Forbidden', 414: 'URI Too Long', 429: 'Too Many Requests', 503: 'Service Unavailable' };
/** A closing socket whose peer does not answer the close frame is dropped after this (ms). */
const CLOSE_GRACE = 2000;

const TEXT = { binary: false };
const BINARY = { binary: true };
/** The last event's `msg` frame, encoded once: a publish pushes the same event to every subscriber in a row. */
let cached: { ev: LogEvent | null; frame: Buffer } = { ev: null, frame: Buffer.alloc(0) };
const textFrame = (ev: LogEvent): Buffer =>
  cached.ev === ev ? cached.frame : (cached = { ev, frame: Buffer.from(`msg ${field(ev.id)} ${field(ev.event)}\n${ev.data as string}`) }).frame;

/** Answers an upgrade we refuse with a plain HTTP response. */
function refuse(socket: Duplex, status: number): void {
  socket.on('error', () => {});
  const retry = status === 429 || status === 503 ? 'Retry-After: 5\r\n' : '';
  socket.end(`HTTP/1.1 ${status} ${STATUS[status]}\r\nConnection: close\r\n${retry}Content-Length: 0\r\n\r\n`);
}

/** One accepted WebSocket as a link: frames out, with the outbound buffer bound and the heartbeat. */
export class WsLink implements Link {
  readonly transport = 'websocket';
  session: Session | null = null;
  pending: LogEvent[] | null = null;
  /** When the peer last sent anything (ms). */
  seen = Date.now();
  closing = false;
  private pings = 0;
  private cancel = (): void => {};

  constructor(
    private readonly core: Core,
    private readonly ws: WebSocket,
  ) {}

  private send(data: string | Uint8Array, binary = false): void {
    // A Buffer with binary false goes out as a text frame, not encoded again per connection.
    if (this.closing || this.ws.readyState !== 1) return;
    this.ws.send(data, binary ? BINARY : TEXT);
    if (this.ws.bufferedAmount > this.core.limits.maxBufferedBytes) this.close(1013, 'slow consumer');
  }

  push(ev: LogEvent): void {
    if (typeof ev.data === 'string') return this.send(textFrame(ev));
    this.send(`bin ${field(ev.id)} ${field(ev.event)}`);
    this.send(ev.data, true);
  }

  frame(text: string): void {
    this.send(text);
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.core.detach(this);
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      this.ws.terminate();
    }
    if (this.core.closed) setTimeout(() => this.ws.terminate(), CLOSE_GRACE).unref();
    else this.cancel = this.core.later(CLOSE_GRACE, () => this.ws.terminate());
  }

  /** The socket is gone: cancel the close timer, stop writing. */
  gone(): void {
    this.closing = true;
    this.cancel();
    this.core.detach(this);
  }

  beat(now: number): void {
    const hb = this.core.heartbeat;
    if (now - this.seen > 2.5 * hb + 1000) {
      this.gone();
      this.ws.terminate(); // no frame at all, not even a pong, for over two heartbeats
    } else this.send(`ping ${++this.pings}`);
  }
}

/** WebSocket upgrades on the server's path (`ws` in noServer mode). */
export class WsTransport {
  private readonly wss: WebSocketServer;

  constructor(private readonly core: Core) {
    const { maxMessageSize, maxChunkSize } = core.limits;
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: Math.max(maxMessageSize, maxChunkSize) + 1024,
    });
  }

  /** An HTTP upgrade on our path: refused (503, 414, 403 for a foreign Origin) or accepted. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { core } = this;
    if (core.closed) return refuse(socket, 503);
    if ((req.url ?? '').length > core.limits.maxUrlLength) return refuse(socket, 414);
    if ((req.headers.origin ?? '').length > core.limits.maxHeaderValue) return refuse(socket, 403);
    if (!originAllowed(req, core.options.origins)) return refuse(socket, 403);
    const release = core.addresses.admit(req);
    if (!release) return refuse(socket, 429);
    socket.once('close', release);
    socket.on('error', () => {});
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    new WsConnection(this.core, ws, req, new WsLink(this.core, ws));
  }

  /** Stops accepting upgrades. */
  close(): void {
    this.wss.close();
  }
}
