import { HeartlineError, isHeartlineError } from '../errors.js';
import type { Data } from '../options.js';
import type { Context, Handlers, Transport } from './types.js';

/** The request URL with the protocol's query parameters (PROTOCOL.md section 3). */
export const withParams = (ctx: Context, extra: Record<string, string>, base = ctx.url): string => {
  const u = new URL(base, ctx.url);
  const p = u.searchParams;
  if (ctx.o.protocol !== 'plain') p.set('heartline', '1');
  if (ctx.session) p.set('session', ctx.session);
  for (const k in extra) if (extra[k] && extra[k]!.length <= MAX_ID) p.set(k, extra[k]!);
  return u.href;
};

/**
 * The longest last event id sent to a server (UTF-8 bytes in the header, characters in the query):
 * a server that names a huge id would otherwise get it back in every request, and answer 431 or 414
 * for ever. A longer id is not sent: the server cannot resume, says `resumed: false`, and the app
 * gets a `gap` error.
 */
const MAX_ID = 1024;

/**
 * A last event id as a header value: its UTF-8 bytes, one character each, as WHATWG EventSource
 * sends it (header values are byte strings: `5€` as is would make fetch throw). '' (no header)
 * for an id no header can carry: CR, LF, NUL or a lone surrogate.
 */
const bytes = (s: string): string => {
  try {
    s = unescape(encodeURIComponent(s));
    return /[\0\r\n]/.test(s) || s.length > MAX_ID ? '' : s;
  } catch {
    return '';
  }
};

/**
 * One request of an HTTP transport: the URL with the protocol's query parameters, and the headers
 * of every request: the app's, then credentials (never in the URL), then resume. Without `post`
 * (the method and body; `base`, the URL to add the parameters to) a GET of an event stream.
 */
export const request = (
  ctx: Context,
  signal: AbortSignal,
  params: Record<string, string>,
  lastEventId = '',
  post?: RequestInit,
  base?: string,
): Promise<Response> => {
  const c = ctx.credentials;
  const id = bytes(lastEventId);
  return (ctx.o.fetch || fetch)(withParams(ctx, params, base), {
    headers: {
      ...(!post && { Accept: 'text/event-stream' }),
      ...ctx.o.headers,
      ...(typeof c == 'string' ? { Authorization: `Bearer ${c}` } : (c as Record<string, string>)),
      ...(id && { 'Last-Event-ID': id }),
    },
    signal,
    cache: 'no-store',
    credentials: ctx.o.withCredentials ? 'include' : 'same-origin',
    ...post,
  });
};

/**
 * Reads a response body chunk by chunk, never whole. More than `cap` bytes throws a
 * HeartlineError `'sse-limit'`; the caller's abort then cancels the rest of the body.
 */
export const read = async (res: Response, each: (chunk: Uint8Array) => void, cap = Infinity): Promise<void> => {
  const r = res.body && res.body.getReader();
  for (let n = 0, c; r && !(c = await r.read()).done; each(c.value)) {
    if ((n += c.value.length) > cap) throw new HeartlineError('sse-limit', `response exceeds ${cap} bytes`);
  }
};

/** The most bytes a POST answer may have (bytes): answers are short frames (`ack 12`, `up.done ID {json}`). */
export const MAX_ANSWER = 65536;

/** The catch handler of a request loop: a failure after close() is expected and ignored. */
export const fails = (h: Handlers, signal: AbortSignal) => (e: unknown): void => {
  if (!signal.aborted) h.close(1006, 'network error', false, isHeartlineError(e) ? e : new HeartlineError('connect', 'network error', e));
};

/**
 * Turns a failed response into the close code with the same meaning (PROTOCOL.md section 6) and
 * reports it. 204 is the SSE "stop"; 429/503 carry Retry-After (seconds or an HTTP date).
 * Returns false for a usable response, after `h.open()` when `open` (the stream is the channel:
 * its `heartline` header tells the protocol).
 */
export const failed = (res: Response, h: Handlers, open?: boolean): boolean => {
  const s = res.status;
  const type = res.headers.get('content-type') || '';
  if (s === 200 && /^text\/event-stream\s*(;|$)/i.test(type)) {
    if (open) h.open(res.headers.get('heartline') === '1');
    return false;
  }
  const ra = res.headers.get('retry-after');
  const hint = ra ? (/^\d+$/.test(ra) ? +ra * 1000 : Date.parse(ra) - Date.now()) : NaN;
  const code =
    s === 200 ? 1002 : s === 204 ? 4204 : [401, 403, 404, 409, 410].includes(s) ? 4000 + s : s === 429 || s === 503 ? 1013 : 1011;
  h.close(code, `HTTP ${s}`, false, new HeartlineError('connect', `HTTP ${s} ${type}`, undefined, s), hint > 0 ? hint : undefined);
  return true;
};

/**
 * Client-to-server messages over HTTP POST, one request in flight so they arrive in order. Each
 * POST carries one message as its body, its sequence number in the query (`seq`, plus `bin=1` for
 * binary) and is answered `ack SEQ`; a control frame (`ping 3`) is a POST without `seq`. Against a
 * plain server the message is POSTed as is and a 2xx counts as its acknowledgement. Every POST
 * has its own deadline: a pooled keep-alive socket can be dead after a network change. An answer
 * over {@link MAX_ANSWER} bytes is a HeartlineError `'sse-limit'` and a reconnect. Returns the
 * transport, its sending half done; `close` ends the receiving half (and aborts `signal`).
 */
export const poster = (ctx: Context, h: Handlers, signal: AbortSignal, close: () => void): Transport => {
  const queue: [Data | string, number, number][] = []; // body, seq, size
  let busy = false;
  let bytes = 0; // body bytes queued or in flight, the HTTP counterpart of bufferedAmount
  const pump = async (): Promise<void> => {
    const next = queue[0];
    if (busy || !next || signal.aborted) return;
    busy = true;
    const [body, seq, n] = next;
    const text = typeof body == 'string';
    const hl = t.hl;
    const deadline = new AbortController();
    const abort = () => deadline.abort();
    signal.addEventListener('abort', abort);
    // Twice the heartbeat timeout: a dead stream is the heartbeat's to report (reason
    // 'heartbeat-timeout'); this catches a POST stuck on a dead pooled socket while the stream lives.
    const hb = ctx.o.heartbeat;
    const timer = setTimeout(abort, 2 * ((hb && hb.timeout) || 10000));
    try {
      const params: Record<string, string> = hl && seq > 0 ? { seq: '' + seq, bin: text ? '' : '1' } : {};
      const ep = ctx.o.endpoints || {};
      // Upload frames (`up.*`, and chunks: seq -2) go to the upload endpoint when there is one.
      const up = seq === -2 || (text && body.startsWith('up.'));
      const res = await request(ctx, deadline.signal, params, '', { method: 'POST', body: body as BodyInit }, (up && ep.upload) || ep.send);
      if (!res.ok) throw new HeartlineError('connect', `send: HTTP ${res.status}`, undefined, res.status);
      const parts: BlobPart[] = [];
      await read(res, (b) => parts.push(b as BlobPart), MAX_ANSWER);
      const answer = await new Blob(parts).text();
      queue.shift();
      bytes -= n;
      if (!signal.aborted) h.reply(hl ? answer : `ack ${seq}`);
    } catch (e) {
      return fails(h, signal)(e);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
      abort(); // cancels an answer left unread (an error status, one over MAX_ANSWER)
      busy = false;
    }
    void pump();
  };
  /** seq > 0: an application message; -1: a control frame such as `ping 3`; -2: an upload chunk. */
  const push = (d: Data | string, seq: number): boolean => {
    const n = typeof d == 'string' ? d.length : (d as Blob).size ?? (d as ArrayBuffer).byteLength;
    queue.push([d, seq, n]);
    bytes += n;
    void pump();
    return true;
  };
  const t: Transport = {
    hl: false,
    send: push,
    control: (f) => void push(f, -1),
    /** An upload chunk frame (header line, LF, bytes) as one body (PROTOCOL.md section 7); the answer is a frame. */
    chunk: (frame) => void push(new Blob([frame as BlobPart]), -2),
    buffered: () => bytes,
    close,
  };
  return t;
};
