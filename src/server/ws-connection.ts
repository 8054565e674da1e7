/**
 * One accepted WebSocket: the `hello` handshake, inbound frames in order through one queue, the
 * rate and backlog bounds (PROTOCOL.md sections 2-5 and 7 over WebSocket).
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import type { Core } from './core.js';
import { parseFrame, seqOf, splitBinary } from './frames.js';
import type { AuthRequest } from './options.js';
import { Bucket } from './session.js';
import type { WsLink } from './websocket.js';

/** The inbound side of one accepted WebSocket, from `welcome` to close. */
export class WsConnection {
  private readonly bucket: Bucket;
  private handshaking = true;
  private started = false;
  private chain: Promise<unknown> = Promise.resolve();
  private queued = 0;
  /** Bytes of the frames in `queued` (bounded by `limits.maxPendingBytes`). */
  private queuedBytes = 0;
  private throttled = false;
  /** The SEQ a `bin SEQ` header announced for the very next frame (NaN: none). */
  private announced = NaN;
  private acked = 0;
  private ackScheduled = false;
  private cancelThrottle = (): void => {};
  private readonly cancelHello: () => void;

  constructor(
    private readonly core: Core,
    private readonly ws: WebSocket,
    private readonly req: IncomingMessage,
    private readonly link: WsLink,
  ) {
    this.bucket = new Bucket(core.limits.messageRate);
    core.handshaking += 1;
    this.cancelHello = core.later(core.limits.helloTimeout, () => link.close(1008, 'no hello'));
    ws.on('error', () => {}); // ws closes the socket itself; the 'close' event follows
    ws.on('close', () => (this.shaken(), this.cancelThrottle(), link.gone()));
    ws.on('message', (data: RawData, isBinary: boolean) => this.receive(data, isBinary));
    ws.send(`welcome ${JSON.stringify({ v: 1, heartbeat: core.heartbeat })}`);
  }

  /** The handshake is over (a session was opened, or the socket closed). */
  private shaken(): void {
    if (!this.handshaking) return;
    this.handshaking = false;
    this.core.handshaking -= 1;
    this.cancelHello();
  }

  /** Reading resumes when neither the app's backlog nor a rate debt holds it. */
  private release(): void {
    const { maxPendingMessages, maxPendingBytes } = this.core.limits;
    const backlog = this.queued > maxPendingMessages / 2 || this.queuedBytes > maxPendingBytes / 2;
    if (!this.throttled && !backlog && this.ws.isPaused) this.ws.resume();
  }

  /** Runs `fn` after every frame received before it; the socket is paused while too many frames or bytes wait. */
  private enqueue(fn: () => Promise<unknown>, bytes = 0): void {
    const { maxPendingMessages, maxPendingBytes } = this.core.limits;
    this.queuedBytes += bytes;
    if (++this.queued > maxPendingMessages || this.queuedBytes > maxPendingBytes) this.ws.pause();
    const session = this.link.session;
    this.chain = this.chain
      .then(fn)
      .catch((e: unknown) => this.core.report(e, { where: 'internal', ...(session ? { session: session.id } : {}) }))
      .finally(() => (--this.queued, (this.queuedBytes -= bytes), this.release()));
  }

  /** Over `messageRate`: paused until the debt is paid; cut with 1013 when owing 20 s of it. */
  private overRate(): boolean {
    const rate = this.core.limits.messageRate;
    const balance = this.bucket.take();
    if (balance < -20 * rate) return this.link.close(1013, 'rate limit'), true;
    if (balance < 0 && !this.throttled) {
      this.throttled = true;
      this.ws.pause();
      this.cancelThrottle = this.core.later(Math.ceil((-balance * 1000) / rate), () => ((this.throttled = false), this.release()));
    }
    return false;
  }

  private receive(raw: RawData, isBinary: boolean): void {
    const { link } = this;
    const { limits } = this.core;
    link.seen = Date.now();
    const data = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    const seq = this.announced;
    this.announced = NaN;
    if (link.closing || this.overRate()) return;
    if (isBinary) {
      if (Number.isNaN(seq)) return this.binaryFrame(data);
      if (data.length > limits.maxMessageSize) return link.close(1009, 'message too big');
      return this.deliver(seq, data, true, data.length);
    }
    if (data.length > limits.maxMessageSize + 256) return link.close(1009, 'message too big');
    const text = data.toString('utf8');
    const { fields, payload } = parseFrame(text);
    const [type, arg] = fields;
    if (type === 'hello') {
      if (!this.started) (this.started = true), this.enqueue(() => this.hello(text.slice(6)).catch((e: unknown) => this.failed(e)));
    } else if (type === 'ping') {
      if (/^\d{1,16}$/.test(arg ?? '')) link.frame(`pong ${arg}`);
    } else if (type === 'msg') this.deliver(seqOf(arg), payload, false, data.length);
    else if (type === 'bin') this.announced = seqOf(arg);
    else if (type === 'up.open' || type === 'up.abort') this.upload(fields, payload, new Uint8Array(0));
    else if (type === 'bye') this.enqueue(async () => link.session && this.core.forget(link.session));
    // `pong N` and unknown frame types: nothing to do (the peer is alive: `seen` is updated)
  }

  /** A binary frame no `bin` announced: an upload chunk frame, else ignored. */
  private binaryFrame(data: Buffer): void {
    const { fields, rest } = splitBinary(data);
    if (fields[0] === 'up.chunk') this.upload(fields, '', rest);
  }

  /** `size`: the frame's bytes on the wire (what `limits.maxPendingBytes` counts). */
  private deliver(seq: number, data: string | Buffer, binary: boolean, size: number): void {
    this.enqueue(async () => {
      const session = this.link.session;
      if (!session || Number.isNaN(seq)) return;
      const ack = await this.core.deliver(session, seq, data, binary, 'websocket');
      if (ack !== null) this.ack(ack);
    }, size);
  }

  /**
   * Acks are cumulative: those of the messages delivered in one turn of the event loop go out as
   * one frame, the highest (a client pipelining its sends costs one write per batch, not per message).
   */
  private ack(seq: number): void {
    this.acked = Math.max(this.acked, seq);
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => ((this.ackScheduled = false), this.link.frame(`ack ${this.acked}`)));
  }

  private upload(fields: string[], payload: string, bytes: Uint8Array): void {
    this.enqueue(async () => {
      const { core } = this;
      const session = this.link.session;
      // Not once the connection is closed or replaced: a new one may have told the client the
      // upload's offset already, and bytes appended now would make its acks claim more than it sent.
      if (!session || session.link !== this.link) return;
      const frames =
        bytes.length > core.limits.maxChunkSize
          ? await core.uploads.tooLarge(session, fields[1] ?? '')
          : await core.uploads.frame(session, fields, payload, bytes);
      for (const f of frames) this.link.frame(f);
    }, bytes.length + payload.length);
  }

  /** An engine failed during the handshake: reported, and the socket closed with 1011 (the client retries). */
  private failed(e: unknown): void {
    this.core.report(e, { where: 'internal' });
    this.link.close(1011, 'server error');
  }

  /** `hello {json}`: authenticate, open or resume the session, answer `ready`, replay. */
  private async hello(json: string): Promise<void> {
    const { core, link } = this;
    let h: unknown;
    try {
      h = JSON.parse(json);
    } catch {}
    if (!h || typeof h !== 'object' || Array.isArray(h)) return link.close(1002, 'bad hello');
    const { session: sid, auth, lastEventId } = h as Record<string, unknown>;
    const { headers, url = '' } = this.req;
    const request: AuthRequest = { transport: 'websocket', credentials: auth, headers, url, session: typeof sid === 'string' ? sid : null };
    const result = await core.authenticate(request);
    if (link.closing) return;
    if ('status' in result) return link.close(result.status === 403 ? 4403 : result.status === 503 ? 1013 : 4401, result.reason);
    const session = await core.open(request.session, result.user, request);
    if (link.closing) return;
    if (!session) return link.close(1013, 'too many sessions');
    this.shaken();
    const last = typeof lastEventId === 'string' ? lastEventId.slice(0, core.limits.maxHeaderValue) : '';
    const { heartbeat } = core;
    await core.connect(session, link, last, (resumed) =>
      `ready ${JSON.stringify({ session: session.id, ack: session.record.last, resumed, heartbeat })}`,
    );
  }
}
