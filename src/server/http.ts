/**
 * The HTTP transports (PROTOCOL.md sections 3 and 5) on one path: SSE (`GET`, `Accept:
 * text/event-stream`), long-polling (`GET` with `poll=1`) and the send channel (`POST`), behind the
 * Origin check, CORS and `authenticate`.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Core } from './core.js';
import { corsHeaders, originAllowed } from './cors.js';
import { parseFrame, seqOf, splitBinary } from './frames.js';
import { PollLink, SseLink, STREAM_HEADERS } from './links.js';
import type { AuthRequest, Transport } from './options.js';
import type { Session } from './session.js';

type Body = Buffer | { tooLarge: true; head: Buffer } | null;

/** A plain-text answer; the request body, if any, is drained. */
function plain(req: IncomingMessage, res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (!req.readableEnded) req.resume();
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

/** The body, `{ tooLarge, head }` past `limit` (only its first 256 bytes kept), or null if the request failed. */
function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let head: Buffer | null = null;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (!head) (head = Buffer.concat([...chunks, chunk]).subarray(0, 256)), (chunks.length = 0);
    });
    req.on('end', () => resolve(head ? { tooLarge: true, head } : Buffer.concat(chunks)));
    req.on('error', () => resolve(null));
    req.on('close', () => resolve(null)); // no-op after 'end'
  });
}

/** SSE, long-polling and POST on the server's path. */
export class HttpTransport {
  constructor(private readonly core: Core) {}

  /** One request on our path; answers it (never throws). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('error', () => {});
    try {
      await this.route(req, res);
    } catch (e) {
      // An engine failed (the log, the session store): 500, or the stream ends if it had begun.
      this.core.report(e, { where: 'internal' });
      if (res.headersSent) res.destroy();
      else plain(req, res, 500, 'internal error');
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { core } = this;
    const { limits, options } = core;
    const url = req.url ?? '';
    if (core.closed) return plain(req, res, 503, 'closing', { 'Retry-After': '5' });
    if (url.length > limits.maxUrlLength) return plain(req, res, 414, 'URL too long');
    for (const h of ['authorization', 'last-event-id', 'origin', 'access-control-request-headers']) {
      if (String(req.headers[h] ?? '').length > limits.maxHeaderValue) return plain(req, res, 431, `${h} too long`);
    }
    if (!originAllowed(req, options.origins)) return plain(req, res, 403, 'origin not allowed');
    corsHeaders(req, res, options.credentials === true);
    if (req.method === 'OPTIONS') return plain(req, res, 204, '');
    const release = core.addresses.admit(req);
    if (!release) return plain(req, res, 429, 'too many connections from this address', { 'Retry-After': '5' });
    res.once('close', release);
    if (req.method !== 'GET' && req.method !== 'POST') return plain(req, res, 405, 'use GET or POST', { Allow: 'GET, POST, OPTIONS' });
    let params: URLSearchParams;
    try {
      params = new URL(url, 'http://x').searchParams;
    } catch {
      return plain(req, res, 400, 'bad URL');
    }
    if (params.get('heartline') !== '1') return plain(req, res, 400, 'heartline=1 required');
    const polling = params.get('poll') === '1';
    const transport: Transport = req.method === 'POST' ? 'post' : polling ? 'longpoll' : 'sse';
    if (transport === 'sse' && !/text\/event-stream/.test(req.headers.accept ?? '')) {
      return plain(req, res, 406, 'Accept: text/event-stream, or poll=1');
    }
    const auth = req.headers.authorization;
    const request: AuthRequest = { transport, credentials: auth, headers: req.headers, url, session: params.get('session') };
    let gone = false;
    res.once('close', () => (gone = true));
    const result = await core.authenticate(request);
    if ('status' in result) return plain(req, res, result.status, result.reason, result.status === 503 ? { 'Retry-After': '5' } : { 'WWW-Authenticate': 'Bearer' });
    if (transport === 'post') return this.post(req, res, params, result.user);
    if (polling && params.get('open') !== '1') return this.poll(req, res, params, result.user);
    const session = await core.open(request.session, result.user, request);
    if (!session) return plain(req, res, 503, 'too many sessions', { 'Retry-After': '10' });
    if (gone) return;
    const lastEventId = String(req.headers['last-event-id'] ?? params.get('lastEventId') ?? '');
    const welcome = (hb: number) => (resumed: boolean) =>
      `welcome ${JSON.stringify({ v: 1, session: session.id, ack: session.record.last, resumed, heartbeat: hb })}`;
    if (polling) {
      // The first poll is answered at once with the welcome and the replay.
      const link = new PollLink(core);
      await core.connect(session, link, lastEventId, welcome(limits.pollTimeout)).catch((e: unknown) => {
        link.gone();
        throw e;
      });
      return gone ? link.gone() : link.poll(res);
    }
    res.writeHead(200, STREAM_HEADERS);
    res.flushHeaders();
    const link = new SseLink(core, res);
    res.once('close', () => link.gone());
    await core.connect(session, link, lastEventId, welcome(core.heartbeat));
  }

  /** A later poll: the session's long-poll connection, else 409 (the client opens a new one). */
  private async poll(req: IncomingMessage, res: ServerResponse, params: URLSearchParams, user: unknown): Promise<void> {
    const { core } = this;
    const session = await core.find(params.get('session'));
    const link = session?.link;
    const after = String(req.headers['last-event-id'] ?? params.get('lastEventId') ?? '').slice(0, core.limits.maxHeaderValue);
    if (session && !(link instanceof PollLink) && core.log.bus) {
      // No sticky sessions: this process takes the connection over, resuming from the poll's id.
      const taken = new PollLink(core);
      session.record.user = user;
      await core.connect(session, taken, after, () => '').catch((e: unknown) => {
        taken.gone();
        throw e;
      });
      return taken.poll(res);
    }
    if (!session || !(link instanceof PollLink)) return plain(req, res, 409, 'unknown session');
    session.record.user = user;
    session.record.seen = Date.now();
    const m = /^([^-]+)-(\d{1,16})$/.exec(after);
    // `wait=MS`: a proxy in between cuts polls held longer, so this one is held at most MS.
    const wait = Number(params.get('wait'));
    link.poll(res, m && m[1] === core.log.epoch ? Number(m[2]) : 0, wait > 0 ? wait : Infinity);
  }

  /** The send channel: one message (`seq=N`), a control frame or an upload frame per POST. */
  private async post(req: IncomingMessage, res: ServerResponse, params: URLSearchParams, user: unknown): Promise<void> {
    const { core } = this;
    const { limits } = core;
    const session = await core.find(params.get('session'));
    if (!session) return plain(req, res, 409, 'unknown session');
    session.record.user = user;
    if (!session.bucket.tryTake()) return plain(req, res, 429, 'rate limit', { 'Retry-After': '1' });
    const seq = params.get('seq');
    const body = await readBody(req, seq === null ? limits.maxChunkSize + 1024 : limits.maxMessageSize);
    if (body === null) return;
    if (!Buffer.isBuffer(body)) {
      const { fields } = parseFrame(body.head.toString('latin1'));
      if (seq !== null || fields[0] !== 'up.chunk') return plain(req, res, 413, 'too large');
      return plain(req, res, 200, (await core.uploads.tooLarge(session, fields[1] ?? ''))[0]!);
    }
    if (seq !== null) return this.message(req, res, session, seqOf(seq), body, params.get('bin') === '1');
    if (/^up\.\w+ /.test(body.toString('latin1', 0, 16))) {
      const { fields, rest } = splitBinary(body);
      const chunk = fields[0] === 'up.chunk';
      const frames = await core.uploads.frame(session, fields, chunk ? '' : rest.toString('utf8'), chunk ? rest : new Uint8Array(0));
      return plain(req, res, 200, frames.at(-1) ?? '');
    }
    // A control frame: `ping N`, `pong N` or `bye`; the answer to a ping goes down the event stream.
    const [type, arg = ''] = body.toString('utf8', 0, 64).split(' ');
    if (type === 'ping' && /^\d{1,16}$/.test(arg)) core.toLink(session, `pong ${arg}`);
    else if (type === 'bye') await core.forget(session);
    plain(req, res, 200, `ack ${session.record.last}`);
  }

  private async message(req: IncomingMessage, res: ServerResponse, session: Session, seq: number, body: Buffer, binary: boolean): Promise<void> {
    if (Number.isNaN(seq)) return plain(req, res, 400, 'bad seq');
    const ack = await this.core.deliver(session, seq, binary ? body : body.toString('utf8'), binary, 'post');
    // A hook that threw: the cumulative ack stays below SEQ (not acknowledged), as over WebSocket;
    // the client keeps the message and resends it after its next reconnect.
    plain(req, res, 200, `ack ${ack ?? session.record.last}`);
  }
}
