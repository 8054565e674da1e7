// The in-memory engines behind Promises that settle a macrotask later, as a networked engine
// (Redis) would: the server's tests run once per engine kind, so the core is shown to await every
// engine call rather than rely on synchronous answers.
import type { LogEvent, LogFilter, Replay, ReplayLog, SessionRecord, SessionStore } from '../../src/server/index.js';
import { MemoryLog, MemorySessions } from '../../src/server/index.js';

const later = <T>(fn: () => T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(fn()), 1));

export class AsyncLog implements ReplayLog {
  private readonly inner = new MemoryLog();
  get epoch(): string {
    return this.inner.epoch;
  }
  append = (e: Omit<LogEvent, 'id' | 'seq' | 'time'>): Promise<LogEvent> => later(() => this.inner.append(e));
  since = (id: string, f: LogFilter, limit: number): Promise<Replay> => later(() => this.inner.since(id, f, limit));
  size = (): Promise<number> => later(() => this.inner.size());
  close = (): Promise<void> => later(() => this.inner.close());
}

/** Records are copied in and out, as a store outside the process would. */
export class AsyncSessions implements SessionStore {
  private readonly inner = new MemorySessions();
  get = (id: string): Promise<SessionRecord | undefined> => later(() => {
    const r = this.inner.get(id);
    return r && { ...r, streams: [...r.streams] };
  });
  set = (r: SessionRecord): Promise<void> => later(() => this.inner.set({ ...r, streams: [...r.streams] }));
  delete = (id: string): Promise<void> => later(() => this.inner.delete(id));
  size = (): Promise<number> => later(() => this.inner.size());
  sweep = (before: number, keep: (id: string) => boolean): Promise<string[]> => later(() => this.inner.sweep(before, keep));
  close = (): Promise<void> => later(() => this.inner.close());
}

export const ENGINES = {
  memory: () => ({}),
  async: () => ({ log: new AsyncLog(), sessions: new AsyncSessions() }),
};
