/**
 * The in-memory engines: a replay log bounded by length and age, and a session map. Both live and
 * die with the process; the log's random epoch makes a restart visible to resuming clients.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { LogEvent, LogFilter, Replay, ReplayLog, SessionRecord, SessionStore } from './engine.js';

/** Bounds of {@link MemoryLog}. */
export interface MemoryLogOptions {
  /** Events kept, all streams and sessions together. @default 10000 */
  maxEvents?: number;
  /** Events older than this (ms) are dropped. @default 600000 (10 minutes) */
  maxAge?: number;
  /** The epoch; a random one by default, new at every start. */
  epoch?: string;
}

const matches = (ev: LogEvent, f: LogFilter): boolean =>
  ev.session === null ? ev.stream !== null && f.streams.has(ev.stream) : ev.session === f.session;

/** A ring of recent events in this process. Ids are `EPOCH-N`, N = 1, 2, 3… */
export class MemoryLog implements ReplayLog {
  readonly epoch: string;
  private readonly events: LogEvent[] = [];
  private head = 0;
  private last = 0;
  private readonly maxEvents: number;
  private readonly maxAge: number;

  constructor(options: MemoryLogOptions = {}) {
    this.epoch = options.epoch ?? randomBytes(6).toString('base64url').replace(/-/g, '_');
    this.maxEvents = options.maxEvents ?? 10000;
    this.maxAge = options.maxAge ?? 600000;
  }

  append(event: Omit<LogEvent, 'id' | 'seq' | 'time'>): LogEvent {
    const seq = ++this.last;
    const full: LogEvent = { ...event, id: `${this.epoch}-${seq}`, seq, time: Date.now() };
    this.events.push(full);
    this.trim();
    return full;
  }

  /** Drops events past the length or age bound; compacts the array now and then. */
  private trim(): void {
    const cutoff = Date.now() - this.maxAge;
    const live = this.events.length - this.head;
    let drop = Math.max(0, live - this.maxEvents);
    while (this.head + drop < this.events.length && this.events[this.head + drop]!.time < cutoff) drop += 1;
    this.head += drop;
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events.splice(0, this.head);
      this.head = 0;
    }
  }

  since(lastEventId: string, filter: LogFilter, limit: number): Replay {
    this.trim();
    const m = /^([^-]+)-([1-9]\d{0,15}|0)$/.exec(lastEventId);
    const oldest = this.head < this.events.length ? this.events[this.head]!.seq : this.last + 1;
    const after = m && m[1] === this.epoch ? Number(m[2]) : NaN;
    if (!(after >= oldest - 1 && after <= this.last)) return { resumed: false, events: [] };
    const events: LogEvent[] = [];
    for (let i = this.head + (after + 1 - oldest); i < this.events.length && events.length < limit; i += 1) {
      const ev = this.events[i]!;
      if (matches(ev, filter)) events.push(ev);
    }
    return { resumed: true, events };
  }

  size(): number {
    this.trim();
    return this.events.length - this.head;
  }

  close(): void {
    this.events.length = 0;
    this.head = 0;
  }
}

/** Sessions in a Map of this process. */
export class MemorySessions implements SessionStore {
  private readonly map = new Map<string, SessionRecord>();

  get(id: string): SessionRecord | undefined {
    return this.map.get(id);
  }

  set(record: SessionRecord): void {
    this.map.set(record.id, record);
  }

  delete(id: string): void {
    this.map.delete(id);
  }

  size(): number {
    return this.map.size;
  }

  sweep(before: number, keep: (id: string) => boolean): string[] {
    const gone: string[] = [];
    for (const [id, s] of this.map) {
      if (s.seen < before && !keep(id)) {
        this.map.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  close(): void {
    this.map.clear();
  }
}
