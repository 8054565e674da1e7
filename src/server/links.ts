/**
 * The downstream links of the HTTP transports: an SSE response, and a long-poll connection that
 * lives across its polls (PROTOCOL.md section 5).
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { Core } from './core.js';
import type { LogEvent } from './engine.js';
import { field, frameEvent, sseEvent } from './frames.js';
import type { Link, Session } from './session.js';

/** The headers of an event stream (SSE, and every long-poll answer). */
export const STREAM_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-store',
  'X-Accel-Buffering': 'no',
  Heartline: '1',
};

/** The last event as an SSE event, built once: a publish pushes the same event to every subscriber in a row. */
let cached: { ev: LogEvent | null; text: string } = { ev: null, text: '' };
/** An application event as an SSE event; binary events are not sent over HTTP. */
const eventText = (ev: LogEvent): string =>
  cached.ev === ev ? cached.text : (cached = { ev, text: typeof ev.data === 'string' ? sseEvent(ev.event, ev.id, ev.data) : '' }).text;

/** An SSE response: events as SSE events, frames as `heartline` events, comments as heartbeats. */
export class SseLink implements Link {
  readonly transport = 'sse';
  session: Session | null = null;
  pending: LogEvent[] | null = null;
  private ended = false;

  constructor(
    private readonly core: Core,
    private readonly res: ServerResponse,
  ) {}

  private write(text: string): void {
    if (this.ended || !text) return;
    this.res.write(text);
    if (this.res.writableLength > this.core.limits.maxBufferedBytes) {
      // A slow consumer: a close frame would wait behind the backlog, so the stream is cut.
      this.gone();
      this.res.destroy();
    }
  }

  push(ev: LogEvent): void {
    this.write(eventText(ev));
  }

  frame(text: string): void {
    this.write(frameEvent(text));
  }

  close(code: number, reason: string): void {
    this.frame(`close ${code} ${field(reason)}`);
    if (this.ended) return;
    this.gone();
    this.res.end();
  }

  beat(): void {
    this.write(':\n\n');
  }

  /** The response closed (or was cut): no more writes. */
  gone(): void {
    this.ended = true;
    this.core.detach(this);
  }
}

/**
 * A long-poll connection. Events and frames queue (bounded by `maxBufferedBytes`) until a poll is
 * held, which is answered at once when something is queued, else after `pollTimeout` with a
 * comment (or sooner when the poll asked with `wait=MS`, PROTOCOL.md section 5). A client that
 * stops polling is forgotten `pollTimeout` + `pollTimeout` clamped to 2-10 s after its last answer.
 */
export class PollLink implements Link {
  readonly transport = 'longpoll';
  session: Session | null = null;
  pending: LogEvent[] | null = null;
  private held: ServerResponse | null = null;
  private queue: string[] = [];
  /** The event number of each queued text (0 for a frame). */
  private seqs: number[] = [];
  private bytes = 0;
  private closing = false;
  private ended = false;
  private scheduled = false;
  private cancelHold = (): void => {};
  private cancelIdle = (): void => {};

  constructor(private readonly core: Core) {
    this.idle();
  }

  private idle(): void {
    this.cancelIdle();
    const { pollTimeout } = this.core.limits;
    // At least 2 s of grace: a short-polling host (a tiny pollTimeout) still sees polls paced by
    // the client's pollInterval (1 s by default).
    this.cancelIdle = this.core.later(pollTimeout + Math.min(Math.max(pollTimeout, 2000), 10000), () => this.gone());
  }

  private add(text: string, seq = 0): void {
    if (this.closing || this.ended || !text) return;
    this.queue.push(text);
    this.seqs.push(seq);
    this.bytes += text.length;
    if (this.bytes > this.core.limits.maxBufferedBytes) {
      this.queue = [];
      this.seqs = [];
      this.bytes = 0;
      return this.close(1013, 'slow consumer');
    }
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => ((this.scheduled = false), this.flush()));
  }

  push(ev: LogEvent): void {
    this.add(eventText(ev), ev.seq);
  }

  frame(text: string): void {
    this.add(frameEvent(text));
  }

  /**
   * A poll of this connection: held until something is queued or `hold` (at most `pollTimeout`)
   * passed. Events up
   * to `after` (the poll's last event id, when of this log) are not sent again: with several
   * server processes the client may have received them from another one meanwhile.
   */
  poll(res: ServerResponse, after = 0, hold = this.core.limits.pollTimeout): void {
    if (after > 0) {
      const keep = this.seqs.map((seq) => seq === 0 || seq > after);
      this.queue = this.queue.filter((_, i) => keep[i]);
      this.seqs = this.seqs.filter((_, i) => keep[i]);
    }
    if (this.ended) return void res.writeHead(409, { 'Content-Type': 'text/plain' }).end('unknown session\n');
    this.answer(':\n\n'); // a poll still held (the client gave up on it) gets an empty answer
    this.cancelIdle();
    this.held = res;
    res.once('close', () => {
      if (this.held !== res) return;
      this.held = null;
      this.cancelHold();
      if (!this.ended) this.idle();
    });
    if (this.queue.length) return this.flush();
    this.cancelHold = this.core.later(Math.min(hold, this.core.limits.pollTimeout), () => this.answer(':\n\n'));
  }

  private flush(): void {
    if (!this.held || !this.queue.length) return;
    const body = this.queue.join('');
    this.queue = [];
    this.seqs = [];
    this.bytes = 0;
    this.answer(body);
    if (this.closing) this.gone();
  }

  private answer(body: string): void {
    const res = this.held;
    if (!res) return;
    this.held = null;
    this.cancelHold();
    res.writeHead(200, { ...STREAM_HEADERS, 'Content-Length': Buffer.byteLength(body) }).end(body);
    if (!this.ended) this.idle();
  }

  /** The `close` frame goes out with the held poll or the next one; then the connection is gone. */
  close(code: number, reason: string): void {
    if (this.closing || this.ended) return;
    this.queue.push(frameEvent(`close ${code} ${field(reason)}`));
    this.seqs.push(0);
    this.closing = true;
    if (this.session?.link !== this) return this.gone(); // superseded: the client polls no more
    this.flush();
  }

  beat(): void {} // every poll is answered within pollTimeout

  gone(): void {
    if (this.ended) return;
    this.ended = true;
    this.answer(':\n\n');
    this.cancelHold();
    this.cancelIdle();
    this.core.detach(this);
  }
}
