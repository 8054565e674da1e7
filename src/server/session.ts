/**
 * A live session (a store record plus what only this process holds: its connection, its delivery
 * queue and its uploads), the link every transport implements, and a rate bucket.
 * @module
 */
import type { LogEvent, SessionRecord } from './engine.js';
import type { Transport } from './options.js';
import type { Upload } from './uploads.js';

/** One downstream connection of a session, whatever the transport. */
export interface Link {
  readonly transport: Exclude<Transport, 'post'>;
  /** The session it serves, once attached; null after it was superseded or closed. */
  session: Session | null;
  /** While the replay is read, live events wait here (then those the replay did not carry go out). */
  pending: LogEvent[] | null;
  /** Its number among the session's links, when a bus numbers them across processes. */
  gen?: number;
  /** The highest event number pushed (set by the core): a later event at or below it is not sent again. */
  floor?: number;
  /** An application event. */
  push(event: LogEvent): void;
  /** A protocol frame (`welcome`, `ready`, `ack`, `pong`, `ping`, `retry`, `up.*`). */
  frame(text: string): void;
  /** Ends the connection with a close code (WebSocket close frame, or the `close` frame over HTTP). */
  close(code: number, reason: string): void;
  /** The heartbeat tick: a ping or a comment, and the dead-peer check. */
  beat(now: number): void;
}

/** A session: its record, its current link (at most one: a newer connection supersedes), uploads. */
export class Session {
  link: Link | null = null;
  /** The delivery queue: client messages and upload frames run one at a time, in order. */
  private chain: Promise<unknown> = Promise.resolve();
  readonly uploads = new Map<string, Upload>();
  /** Over HTTP, POSTs of this session share one rate bucket. */
  readonly bucket: Bucket;
  streams: Set<string>;

  constructor(
    readonly record: SessionRecord,
    rate: number,
  ) {
    this.streams = new Set(record.streams);
    this.bucket = new Bucket(rate);
  }

  get id(): string {
    return this.record.id;
  }

  /** Runs `fn` after everything queued before it settled; resolves or rejects as `fn` does. */
  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => {});
    return p;
  }

  /** An unfinished upload touched after `since` (keeps the session alive). */
  uploading(since: number): boolean {
    for (const u of this.uploads.values()) if (!u.done && u.touched >= since) return true;
    return false;
  }
}

/**
 * A token bucket: `rate` tokens a second, holding at most `rate`. Over WebSocket tokens may be
 * owed (the socket is paused until they are paid back); over HTTP a request without one is refused.
 */
export class Bucket {
  private tokens: number;
  private at = Date.now();

  constructor(private readonly rate: number) {
    this.tokens = rate;
  }

  /** Takes one token; returns the balance after it (negative: owed). */
  take(): number {
    const now = Date.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = now;
    return (this.tokens -= 1);
  }

  /** Takes one token only if there is one. */
  tryTake(): boolean {
    if (this.take() >= 0) return true;
    this.tokens += 1;
    return false;
  }
}
