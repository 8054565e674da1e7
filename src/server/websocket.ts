/**
 * The WebSocket transport (PROTOCOL.md sections 3 and 5) on `ws` in noServer mode: the HTTP
 * server keeps the port, upgrades on our path come here after the Origin check.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Core } from './core.js';
import { originAllowed } from './cors.js';
import type { LogEvent } from './engine.js';
import { field, parseFrame, seqOf, splitBinary } from './frames.js';
import type { AuthRequest } from './options.js';
import { Bucket, type Link, type Session } from './session.js';

const STATUS: Record<number, string> = { 403: 'Forbidden', 414: 'URI Too Long', 503: 'Service Unavailable' };
/** A closing socket whose peer does not answer the close frame is dropped after this (ms). */
const CLOSE_GRACE = 2000;

/** Answers an upgrade we refuse with a plain HTTP response. */
function refuse(socket: Duplex, status: number): void {
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status} ${STATUS[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** One accepted WebSocket as a link. */
class WsLink implements Link {
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
    if (this.closing || this.ws.readyState !== 1) return;
    this.ws.send(data, { binary });
    if (this.ws.bufferedAmount > this.core.limits.maxBufferedBytes) this.close(1013, 'slow consumer');
  }

  push(ev: LogEvent): void {
    if (typeof ev.data === 'string') return this.send(`msg ${field(ev.id)} ${field(ev.event)}\n${ev.data}`);
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
    socket.on('error', () => {});
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const { core } = this;
    const { limits } = core;
    const link = new WsLink(core, ws);
    const bucket = new Bucket(limits.messageRate);
    let handshaking = true;
    let started = false;
    let chain: Promise<unknown> = Promise.resolve();
    let queued = 0;
    let throttled = false;
    let cancelThrottle = (): void => {};
    let announced = NaN; // the SEQ a `bin SEQ` header announced for the next frame
    core.handshaking += 1;
    const shaken = (): void => {
      if (handshaking) (handshaking = false), (core.handshaking -= 1), cancelHello();
    };
    const cancelHello = core.later(limits.helloTimeout, () => link.close(1008, 'no hello'));
    ws.on('error', () => {}); // ws closes the socket itself; the 'close' event follows
    ws.on('close', () => (shaken(), cancelThrottle(), link.gone()));

    // Reading stops while the app's backlog is full or the peer owes rate tokens.
    const backlog = (): boolean => queued > limits.maxPendingMessages / 2;
    const release = (): void => void (!throttled && !backlog() && ws.isPaused && ws.resume());
    const enqueue = (fn: () => Promise<unknown>): void => {
      if (++queued > limits.maxPendingMessages) ws.pause();
      chain = chain
        .then(fn)
        .catch((e: unknown) => core.report(e, { where: 'internal', ...(link.session ? { session: link.session.id } : {}) }))
        .finally(() => (--queued, release()));
    };
    /** Over `messageRate`: paused until the debt is paid; cut with 1013 when owing 20 s of it. */
    const overRate = (): boolean => {
      const balance = bucket.take();
      if (balance < -20 * limits.messageRate) return link.close(1013, 'rate limit'), true;
      if (balance < 0 && !throttled) {
        throttled = true;
        ws.pause();
        cancelThrottle = core.later(Math.ceil((-balance * 1000) / limits.messageRate), () => ((throttled = false), release()));
      }
      return false;
    };
    const deliver = (seq: number, data: string | Buffer, binary: boolean): void =>
      enqueue(async () => {
        const session = link.session;
        if (!session || Number.isNaN(seq)) return;
        const ack = await core.deliver(session, seq, data, binary, 'websocket');
        if (ack !== null) link.frame(`ack ${ack}`);
      });
    const upload = (fields: string[], payload: string, bytes: Uint8Array): void =>
      enqueue(async () => {
        const session = link.session;
        if (!session) return;
        const frames = bytes.length > limits.maxChunkSize
          ? await core.uploads.tooLarge(session, fields[1] ?? '')
          : await core.uploads.frame(session, fields, payload, bytes);
        for (const f of frames) link.frame(f);
      });

    const hello = async (json: string): Promise<void> => {
      let h: unknown;
      try {
        h = JSON.parse(json);
      } catch {}
      if (!h || typeof h !== 'object' || Array.isArray(h)) return link.close(1002, 'bad hello');
      const { session: sid, auth, lastEventId } = h as Record<string, unknown>;
      const request: AuthRequest = {
        transport: 'websocket',
        credentials: auth,
        headers: req.headers,
        url: req.url ?? '',
        session: typeof sid === 'string' ? sid : null,
      };
      const result = await core.authenticate(request);
      if (link.closing) return;
      if ('status' in result) return link.close(result.status === 403 ? 4403 : 4401, result.reason);
      const session = await core.open(request.session, result.user, request);
      if (link.closing) return;
      if (!session) return link.close(1013, 'too many sessions');
      shaken();
      const last = typeof lastEventId === 'string' ? lastEventId.slice(0, limits.maxHeaderValue) : '';
      const { heartbeat } = core;
      await core.connect(session, link, last, (resumed) =>
        `ready ${JSON.stringify({ session: session.id, ack: session.record.last, resumed, heartbeat })}`,
      );
    };

    ws.on('message', (raw: RawData, isBinary: boolean) => {
      link.seen = Date.now();
      const data = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
      const seq = announced;
      announced = NaN;
      if (link.closing || overRate()) return;
      if (isBinary) {
        if (!Number.isNaN(seq)) {
          if (data.length > limits.maxMessageSize) return link.close(1009, 'message too big');
          return deliver(seq, data, true);
        }
        const { fields, rest } = splitBinary(data);
        if (fields[0] === 'up.chunk') upload(fields, '', rest);
        return; // other binary frames are ignored
      }
      if (data.length > limits.maxMessageSize + 256) return link.close(1009, 'message too big');
      const text = data.toString('utf8');
      const { fields, payload } = parseFrame(text);
      const [type, arg] = fields;
      if (type === 'hello') {
        if (!started) (started = true), enqueue(() => hello(text.slice(6)));
      } else if (type === 'ping') {
        if (/^\d{1,16}$/.test(arg ?? '')) link.frame(`pong ${arg}`);
      } else if (type === 'msg') deliver(seqOf(arg), payload, false);
      else if (type === 'bin') announced = seqOf(arg);
      else if (type === 'up.open' || type === 'up.abort') upload(fields, payload, new Uint8Array(0));
      else if (type === 'bye') enqueue(async () => link.session && core.forget(link.session));
      // `pong N` and unknown frame types: nothing to do (the peer is alive: `seen` is updated)
    });
    ws.send(`welcome ${JSON.stringify({ v: 1, heartbeat: core.heartbeat })}`);
  }

  /** Stops accepting upgrades. */
  close(): void {
    this.wss.close();
  }
}
