// The heartline protocol over HTTP (PROTOCOL.md sections 3 and 5), on the same `/hl/<stream>` route
// as the WebSocket: SSE (`GET` + `Accept: text/event-stream`), long-polling (`GET` + `poll=1`) and
// the send channel (`POST`). The log, sessions and delivery rules are protocol.mjs's.
import { num } from './scenarios.mjs';
import { field, streamOf } from './protocol.mjs';
import { post } from './protocol-post.mjs';

const PATH = /^\/hl\/[^/]+$/;
const HOLD_MS = 25000; // how long a later poll is held at most (`hold=`)
const HEARTBEAT_MS = 2000; // SSE comment line interval (`hb=`)
const POLL_BATCH = 1000; // events per long-poll answer at most; the client polls again at once

/**
 * One SSE event: `id:` and `event:` when present, then the payload as `data:` lines. The format
 * cannot carry CR: CR and CRLF inside a payload arrive as LF.
 */
export function sseEvent(event, id, data) {
  let out = id == null ? '' : `id: ${id}\n`;
  if (event) out += `event: ${event}\n`;
  for (const line of String(data).split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}
/** Protocol frames travel as events named `heartline`; binary events are not sent over HTTP. */
const frameEvent = (text) => sseEvent('heartline', null, text);
const eventOf = (ev) => (ev.binary ? '' : sseEvent(ev.event, ev.id, ev.data));
const streamHeaders = (protocol) => ({
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-store',
  ...(protocol ? { Heartline: '1' } : {}),
});
const welcome = (session, resumed, heartbeat) =>
  `welcome ${JSON.stringify({ v: 1, session: session.id, ack: session.last, resumed, heartbeat })}`;

export function plain(res, status, text, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

/**
 * The client's last event id: `Last-Event-ID` carries its UTF-8 bytes (as EventSource sends it),
 * which Node hands over one byte per character; the `lastEventId` parameter is percent-encoded UTF-8.
 */
const lastEventIdOf = (req, params) => {
  const h = req.headers['last-event-id'];
  return h === undefined ? (params.get('lastEventId') ?? '') : Buffer.from(h, 'latin1').toString('utf8');
};

/** What the control actions need of a connection (as conn.mjs's Conn): close, destroy, black-hole. */
class HttpLink {
  constructor(stream, transport) {
    this.stream = stream;
    this.state = stream.state;
    this.transport = transport;
    this.session = null;
    /** 'live' | 'blackholed' | 'gone' */
    this.mode = 'live';
    this.timers = new Set();
    this.state.conns.add(this);
    this.state.changed();
  }

  later(ms, fn) {
    const t = setTimeout(() => (this.timers.delete(t), this.mode === 'live' && fn()), ms);
    this.timers.add(t);
  }

  clearTimers() {
    for (const t of this.timers) clearTimeout(t), clearInterval(t);
    this.timers.clear();
  }

  /** Stop writing, keep the TCP connection open until the server stops. */
  blackhole() {
    if (this.mode !== 'live') return;
    this.mode = 'blackholed';
    this.clearTimers();
    this.socket()?.pause();
    this.state.changed();
  }

  destroy() {
    this.socket()?.destroy();
    this.forget();
  }

  pauseReading() {}
  resumeReading() {}

  forget() {
    if (this.mode === 'gone') return;
    this.mode = 'gone';
    this.clearTimers();
    this.stream.detach(this);
    if (this.state.conns.delete(this)) this.state.changed();
  }
}

/** An SSE response as a link: events as SSE events, frames as `heartline` events, `:` heartbeats. */
class SseLink extends HttpLink {
  constructor(stream, res) {
    super(stream, 'sse');
    this.res = res;
    res.once('close', () => this.forget());
  }
  socket = () => this.res.socket;
  write(text) {
    if (this.mode === 'live') this.res.write(text);
  }
  heartbeat(ms) {
    const t = setInterval(() => this.write(':\n'), ms);
    this.timers.add(t);
  }
  push = (ev) => this.write(eventOf(ev));
  frame = (text) => this.write(frameEvent(text));
  send = (data) => this.write(sseEvent(null, null, data)); // the `send` control action
  close(code = 1000, reason = '') {
    this.frame(`close ${code} ${field(reason)}`);
    this.supersede();
  }
  supersede() {
    if (this.mode !== 'live') return;
    this.res.end();
    this.forget();
  }
}

/**
 * A long-poll connection: lives across its polls (at most one held at a time). Events are pulled
 * from the log after the poll's `lastEventId` (else after the last one sent); frames are queued.
 */
class LongPollLink extends HttpLink {
  constructor(stream, hold) {
    super(stream, 'longpoll');
    this.hold = hold;
    this.held = null;
    this.queue = [];
    this.sent = stream.lastId;
    this.closing = false;
    this.idle();
  }
  socket = () => this.held?.socket;
  /** A client that stopped polling: forget the connection. */
  idle() {
    this.clearTimers();
    this.later(this.hold + 10000, () => this.forget());
  }
  /** `hold`: this poll's hold, ms (the connection's, or less when the poll asked with `wait=`). */
  poll(res, lastEventId, hold = this.hold) {
    if (this.mode === 'blackholed') return res.socket?.pause(); // held for good, never answered
    this.answer(':\n'); // a poll still held (the client gave up on it) gets an empty answer
    this.clearTimers();
    this.held = res;
    res.once('close', () => this.held === res && ((this.held = null), this.mode === 'live' && this.idle()));
    if (/^\d+$/.test(lastEventId)) this.sent = Number(lastEventId);
    this.flush();
    if (this.held) this.later(hold, () => this.answer(':\n'));
  }
  flush() {
    if (!this.held || this.mode !== 'live') return;
    const events = this.stream.since(this.sent).filter((ev) => !ev.binary).slice(0, POLL_BATCH);
    if (!events.length && !this.queue.length) return;
    const body = this.queue.join('') + events.map(eventOf).join('');
    this.queue = [];
    if (events.length) this.sent = events.at(-1).id;
    this.answer(body);
    if (this.closing) this.forget();
  }
  answer(body) {
    const res = this.held;
    if (!res) return;
    this.held = null;
    res.writeHead(200, { ...streamHeaders(true), 'Content-Length': Buffer.byteLength(body) }).end(body);
    if (this.mode === 'live') this.idle();
  }
  push = () => this.flush();
  frame(text) {
    this.queue.push(frameEvent(text));
    this.flush();
  }
  send = (data) => (this.queue.push(sseEvent(null, null, data)), this.flush());
  /** The `close` frame goes out with the held poll or the next one; then the connection is gone. */
  close(code = 1000, reason = '') {
    if (this.mode !== 'live' || this.closing) return;
    this.closing = true;
    this.frame(`close ${code} ${field(reason)}`);
  }
  supersede() {
    if (this.mode !== 'live') return;
    this.answer(':\n');
    this.forget();
  }
}

function openSse(req, res, params, stream, protocol) {
  const hb = num(params, 'hb', HEARTBEAT_MS);
  res.writeHead(200, streamHeaders(protocol));
  res.flushHeaders();
  const link = new SseLink(stream, res);
  stream.transports.sse += 1;
  if (params.get('buffer') === '1') return; // a buffering proxy: the header, then nothing at all
  const { resumed, events } = stream.replay(lastEventIdOf(req, params));
  if (protocol) {
    const session = stream.open(params.get('session'));
    link.frame(welcome(session, resumed, hb));
    if (params.has('retry')) link.frame(`retry ${num(params, 'retry', 0)}`);
    for (const ev of events) link.push(ev);
    stream.attach(session, link);
  } else {
    for (const ev of events) link.push(ev); // a plain SSE server: no header, no welcome, no session
    stream.links.add(link);
  }
  link.heartbeat(hb);
  stream.startGen(params);
}

function poll(req, res, params, stream) {
  const lastEventId = lastEventIdOf(req, params);
  if (params.get('open') !== '1') {
    const link = stream.find(params.get('session'))?.link;
    if (!(link instanceof LongPollLink)) return plain(res, 409, 'unknown session\n');
    // `wait=MS`: a proxy cut the client's held polls, so it asks for answers within MS.
    return link.poll(res, lastEventId, Math.min(link.hold, num(params, 'wait', link.hold)));
  }
  const hold = num(params, 'hold', HOLD_MS);
  const session = stream.open(params.get('session'));
  const { resumed, events } = stream.replay(lastEventId);
  const link = new LongPollLink(stream, hold);
  stream.transports.longpoll += 1;
  stream.attach(session, link);
  let body = frameEvent(welcome(session, resumed, hold));
  if (params.has('retry')) body += frameEvent(`retry ${num(params, 'retry', 0)}`);
  body += events.map(eventOf).join('');
  res.writeHead(200, { ...streamHeaders(true), 'Content-Length': Buffer.byteLength(body) }).end(body);
  stream.startGen(params);
}

/**
 * `/hl/<stream>` over HTTP. `auth=TOKEN` requires `Authorization: Bearer TOKEN`; the `refuse`
 * control action also refuses SSE requests and first polls.
 * @returns {Promise<boolean>} false when the path is not this route
 */
export async function handleHeartlineHttp(req, res, url, registry) {
  if (!PATH.test(url.pathname)) return false;
  const params = url.searchParams;
  const state = registry.get(params.get('key') ?? '');
  const stream = streamOf(state);
  const protocol = params.get('heartline') === '1';
  const polling = params.get('poll') === '1';
  const token = params.get('auth');
  if (token && req.headers.authorization !== `Bearer ${token}`) {
    req.resume();
    plain(res, 401, 'unauthorized\n', { 'WWW-Authenticate': 'Bearer' });
  } else if (req.method === 'POST') {
    if (protocol) await post(req, res, params, stream);
    else req.resume(), plain(res, 400, 'POST needs heartline=1\n');
  } else if (req.method !== 'GET') {
    plain(res, 405, 'use GET or POST\n');
  } else if (!polling && !/text\/event-stream/.test(req.headers.accept ?? '')) {
    plain(res, 406, 'Accept: text/event-stream, or poll=1\n');
  } else if (polling && !protocol) {
    plain(res, 400, 'poll=1 needs heartline=1\n');
  } else {
    const refusal = polling && params.get('open') !== '1' ? null : state.takeRefusal();
    if (refusal) {
      state.refused += 1;
      state.changed();
      plain(res, refusal.status, `${refusal.status}\n`, refusal.headers);
    } else if (polling) poll(req, res, params, stream);
    else openSse(req, res, params, stream, protocol);
  }
  return true;
}
