/**
 * Incremental `text/event-stream` parser following the WHATWG HTML rules for
 * "interpreting an event stream" (html.spec.whatwg.org/multipage/server-sent-events.html).
 * Pure: no globals beyond `TextDecoder` (created on the first byte chunk), no DOM, no timers.
 */
import { HeartlineError } from './errors.js';

/** One dispatched event, carrying what EventSource's `MessageEvent` would. */
export interface SSEEvent {
  /** The `data` lines joined with LF. */
  data: string;
  /** The `event` field, or `'message'` when the event named none (or an empty one). */
  event: string;
  /** The last event id in force at dispatch: it persists across events until an `id` field changes it. */
  id: string;
}

export interface SSEParserOptions {
  /**
   * Cap, in UTF-16 code units, on one line and on the data of one pending event. Exceeding it
   * throws a `HeartlineError` with code `'sse-limit'` out of `feed` and resets the parser, so an
   * endless line from a broken or hostile server costs bounded memory.
   * @default 1048576 (1 Mi)
   */
  maxLength?: number;
  /** Last event id to start from, e.g. carried over from the previous connection. @default '' */
  lastEventId?: string;
  /** Every valid `retry` field, in ms, as sent: clamping absurd values is the caller's job. */
  onRetry?: (ms: number) => void;
  /** Every comment line (text after ':' minus one leading space); servers send them as keep-alives. */
  onComment?: (text: string) => void;
  /**
   * A blank line committed a new last event id without dispatching an event (a block with an
   * `id` but no `data`): the spec sets the last event ID before its empty-data check, so a
   * resume must start after it. Events carry their id themselves.
   */
  onId?: ((id: string) => void) | undefined;
}

export interface SSEParser {
  /**
   * Parse the next chunk of the stream. Bytes are decoded as UTF-8 (characters may be split
   * across chunks); a stream should be fed either bytes or strings, not both.
   * @throws HeartlineError `'sse-limit'` when a line or an event exceeds `maxLength`.
   */
  feed(chunk: Uint8Array | string): void;
  /** End of stream: an unterminated line or event is discarded (per spec); same as `reset()`. */
  end(): void;
  /**
   * Forget the current stream (pending line, data, event type, undecoded bytes, BOM state) so the
   * parser can read the next connection's stream. `lastEventId` is KEPT, because the next
   * connection resumes from it, unless a new value is passed. Called from inside a callback, it
   * also discards the rest of the chunk being fed.
   */
  reset(lastEventId?: string): void;
  /**
   * The last event id as of the last blank line (the spec's "last event ID string"): the value to
   * send as `Last-Event-ID`. An `id` field of an event cut off before its blank line does not count.
   */
  readonly lastEventId: string;
}

export const createSSEParser = (
  onEvent: (event: SSEEvent) => void,
  { maxLength: max = 1 << 20, lastEventId: last = '', onRetry, onComment, onId }: SSEParserOptions = {},
): SSEParser => {
  let decoder: TextDecoder | undefined;
  // Partial line from earlier chunks (engines concatenate strings as ropes, so += stays linear).
  let pending = '';
  let data = '';
  let type = '';
  let id = last; // the spec's "last event ID buffer"
  let bom = true; // no text seen yet: strip one leading U+FEFF
  let cr = false; // the previous chunk ended with CR: an LF starting this one belongs to it
  let gen = 0; // bumped by reset() so a callback's reset stops the loop over the current chunk

  const reset = (seed?: string): void => {
    if (seed !== undefined) last = seed;
    pending = data = type = '';
    id = last;
    bom = true;
    cr = false;
    decoder = undefined;
    gen++;
  };

  const limit = (what: string): never => {
    reset();
    throw new HeartlineError('sse-limit', `SSE ${what} exceeds ${max} characters`);
  };

  const line = (l: string): void => {
    if (!l) {
      // Blank line: dispatch. The id is committed even when there is no data to dispatch.
      const d = data;
      const t = type;
      data = type = '';
      const was = last;
      last = id;
      if (d) onEvent({ data: d.slice(0, -1), event: t || 'message', id });
      else if (onId && id !== was) onId(id);
      return;
    }
    if (l.length > max) limit('line');
    const c = l.indexOf(':');
    const k = c < 0 ? l.length : c;
    const f = l.slice(0, k);
    const v = l.slice(l.charCodeAt(k + 1) === 32 ? k + 2 : k + 1);
    if (!c) {
      if (onComment) onComment(v);
    } else if (f === 'data') {
      data += v + '\n';
      if (data.length > max) limit('event');
    } else if (f === 'event') type = v;
    else if (f === 'id') {
      if (v.indexOf('\0') < 0) id = v;
    } else if (f === 'retry' && onRetry && /^\d+$/.test(v)) onRetry(+v);
  };

  const text = (s: string): void => {
    if (!s) return; // keeps `cr` and `bom` across chunks that decode to nothing
    if (bom) {
      bom = false;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    const n = s.length;
    // indexOf with `n` for "none": each terminator kind is scanned once per chunk, never rescanned.
    const at = (t: string, from: number): number => {
      const j = s.indexOf(t, from);
      return j < 0 ? n : j;
    };
    const g = gen;
    let i = cr && s.charCodeAt(0) === 10 ? 1 : 0;
    let r = at('\r', i);
    let f = at('\n', i);
    cr = false;
    for (let e = r < f ? r : f; e < n; e = r < f ? r : f) {
      const l = pending + s.slice(i, e);
      pending = '';
      i = e + 1;
      if (e === r) {
        if (i === n) cr = true;
        else if (s.charCodeAt(i) === 10) i++;
      }
      line(l);
      if (g !== gen) return;
      if (r < i) r = at('\r', i);
      if (f < i) f = at('\n', i);
    }
    pending += s.slice(i);
    if (pending.length > max) limit('line');
  };

  return {
    feed: (chunk) =>
      text(
        typeof chunk === 'string'
          ? chunk
          : (decoder || (decoder = new TextDecoder('utf-8', { ignoreBOM: true }))).decode(chunk, {
              stream: true,
            }),
      ),
    end: reset,
    reset,
    get lastEventId() {
      return last;
    },
  };
};
