/**
 * `heartline/server/redis`: the engines of `heartline/server` on Redis, for two or more server
 * processes behind a load balancer without sticky sessions.
 *
 * - The replay log: one Redis Stream per stream and per session (`send`), trimmed by length
 *   (`MAXLEN ~`) and age (`MINID ~`) at every append. Event numbers come from one counter, so ids
 *   are ordered across processes; the epoch lives in Redis and changes when Redis lost its data.
 * - Fan-out: every append publishes on one pub/sub channel that every process subscribes to, in
 *   the same atomic script as the append, so each process sees the events in log order.
 * - Sessions: a hash per session; `last` (the acknowledged / de-duplication cursor) is written by a
 *   compare-and-set under a per-session lease before each `ack` goes out.
 *
 * It takes a node-redis client you created and connected (`redis` is an optional peer dependency
 * this module never imports: it only calls the client's methods).
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Bus, BusHandler, LogEvent, LogFilter, Replay, ReplayLog, SessionRecord, SessionStore, SharedSessions, Signal, UploadStore } from './engine.js';
import { RedisUploads } from './redis-uploads.js';
import { APPEND, BEGIN, COMMIT, GET, LINK, RELEASE, SET, SINCE } from './redis-scripts.js';

/** The methods of a node-redis (v4 to v6) client this engine uses. */
export interface RedisClientLike {
  readonly isReady: boolean;
  sendCommand(args: string[]): Promise<unknown>;
  duplicate(): RedisClientLike;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  destroy(): void;
}

/** Options of {@link createRedisEngine}. */
export interface RedisEngineOptions {
  /** A connected node-redis client; create it with `disableOfflineQueue: true` so a Redis outage fails commands at once. */
  client: RedisClientLike;
  /** Prefix of every key and of the pub/sub channel. @default 'heartline:' */
  prefix?: string;
  /** Events kept per stream and per session (approximately: `MAXLEN ~`). @default 10000 */
  maxEvents?: number;
  /** Events older than this (ms) are trimmed at the stream's next append (`MINID ~`). @default 600000 (10 minutes) */
  maxAge?: number;
  /** Events one resume reads per stream. @default 10000 */
  maxReplay?: number;
  /** How long one process may hold a session's delivery lease (the hook's time included), ms. @default 30000 */
  leaseTime?: number;
  /** A Redis command not answered within this (ms) fails with {@link RedisEngineError} `timeout`. @default 5000 */
  commandTimeout?: number;
  /**
   * A directory every server process mounts (a shared volume): with it the engine also gives
   * `uploads`, resumable on any process. Without it uploads stay with the process that took them.
   */
  uploadsDir?: string;
  /** How long one process may hold an upload's lease (one chunk's write), ms. @default 10000 */
  uploadLeaseTime?: number;
}

/** A Redis command that failed: `unavailable` (not connected), `timeout`, or `failed` (Redis answered an error). */
export class RedisEngineError extends Error {
  constructor(
    readonly code: 'unavailable' | 'timeout' | 'failed',
    message: string,
    cause?: unknown,
  ) {
    super(`heartline/server/redis: ${message}`, { cause });
    this.name = 'RedisEngineError';
  }
}

/** The engines to spread into `createServer` options, and `close` to stop the subscriber. */
export interface RedisEngine {
  log: ReplayLog;
  sessions: SessionStore;
  /** Present with `uploadsDir`. */
  uploads?: UploadStore;
  close(): Promise<void>;
}

const newEpoch = (): string => randomBytes(6).toString('base64url').replace(/-/g, '_');

interface Payload {
  s: string | null;
  S: string | null;
  e: string | null;
  d: string;
  b?: 1;
}

/** Creates the engines; reads (or creates) the epoch in Redis. */
export async function createRedisEngine(options: RedisEngineOptions): Promise<RedisEngine> {
  const r = new Redis(options);
  const log = new RedisLog(r, options);
  await log.start();
  const sessions = new RedisSessions(r, options);
  const uploads = options.uploadsDir === undefined ? {} : { uploads: new RedisUploads(r, options.uploadsDir, options.uploadLeaseTime ?? 10000) };
  return { log, sessions, ...uploads, close: () => log.close() };
}

/** Commands with a timeout and typed errors. */
class Redis {
  readonly p: string;
  private readonly timeout: number;
  constructor(private readonly o: RedisEngineOptions) {
    this.p = o.prefix ?? 'heartline:';
    this.timeout = o.commandTimeout ?? 5000;
  }

  async send(args: string[]): Promise<unknown> {
    if (!this.o.client.isReady) throw new RedisEngineError('unavailable', 'Redis is not connected');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisEngineError('timeout', `no answer in ${this.timeout} ms`)), this.timeout);
    });
    try {
      return await Promise.race([this.o.client.sendCommand(args), late]);
    } catch (e) {
      throw e instanceof RedisEngineError ? e : new RedisEngineError('failed', String((e as Error)?.message ?? e), e);
    } finally {
      clearTimeout(timer);
    }
  }

  script(lua: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    return this.send(['EVAL', lua, String(keys.length), ...keys, ...args.map(String)]);
  }
}

const toEvent = (epoch: string, id: string, time: string | number, json: string): LogEvent => {
  const p = JSON.parse(json) as Payload;
  const data = p.b ? new Uint8Array(Buffer.from(p.d, 'base64')) : p.d;
  return { id: `${epoch}-${id}`, seq: Number(id), stream: p.s, session: p.S, event: p.e, data, time: Number(time) };
};

/** The replay log and the bus on Redis Streams and pub/sub. */
class RedisLog implements ReplayLog, Bus {
  epoch = '';
  readonly bus: Bus = this;
  private sub: RedisClientLike | null = null;
  private handler: BusHandler | null = null;
  private readonly maxEvents: number;
  private readonly maxAge: number;

  constructor(
    private readonly r: Redis,
    private readonly o: RedisEngineOptions,
  ) {
    this.maxEvents = o.maxEvents ?? 10000;
    this.maxAge = o.maxAge ?? 600000;
  }

  private key = (stream: string | null, session: string | null): string =>
    stream === null ? `${this.r.p}y:${session}` : `${this.r.p}x:${stream}`;

  /** Reads or sets the epoch and subscribes to the bus (so a server made next sees every event). */
  async start(): Promise<void> {
    await this.r.send(['SET', `${this.r.p}epoch`, newEpoch(), 'NX']);
    this.epoch = String(await this.r.send(['GET', `${this.r.p}epoch`]));
    await this.subscribe();
  }

  async append(event: Omit<LogEvent, 'id' | 'seq' | 'time'>): Promise<LogEvent> {
    const { stream, session, event: e, data } = event;
    const binary = typeof data !== 'string';
    const payload = JSON.stringify({ s: stream, S: session, e, d: binary ? Buffer.from(data).toString('base64') : data, ...(binary ? { b: 1 } : {}) });
    const { p } = this.r;
    const keys = [`${p}epoch`, `${p}seq`, this.key(stream, session)];
    const [epoch, id, time] = (await this.r.script(APPEND, keys, [newEpoch(), payload, this.maxEvents, this.maxAge, `${p}bus`])) as [string, string, number];
    this.epoch = epoch;
    return { id: `${epoch}-${id}`, seq: Number(id), stream, session, event: e, data, time };
  }

  async since(lastEventId: string, filter: LogFilter, limit: number): Promise<Replay> {
    const m = /^([^-]+)-(0|[1-9]\d{0,15})$/.exec(lastEventId) ?? ['', '', '0'];
    const { p } = this.r;
    const keys = [`${p}epoch`, `${p}seq`, ...[...filter.streams].map((s) => this.key(s, null)), this.key(null, filter.session)];
    const count = Math.min(limit, this.o.maxReplay ?? 10000);
    const out = (await this.r.script(SINCE, keys, [m[1]!, m[2]!, count])) as (number | string)[];
    const head = String(out[1]);
    if (out[0] !== 1) return { resumed: false, events: [], head };
    const events: LogEvent[] = [];
    for (let i = 2; i + 2 < out.length; i += 3) events.push(toEvent(m[1]!, String(out[i]), out[i + 2]!, String(out[i + 1])));
    events.sort((a, b) => a.seq - b.seq);
    return { resumed: true, events: events.slice(0, count), head };
  }

  async size(): Promise<number> {
    let n = 0;
    let cursor = '0';
    do {
      const [next, keys] = (await this.r.send(['SCAN', cursor, 'MATCH', `${this.r.p}[xy]:*`, 'COUNT', '1000'])) as [string, string[]];
      for (const k of keys) n += Number(await this.r.send(['XLEN', k]));
      cursor = next;
    } while (cursor !== '0');
    return n;
  }

  listen(handler: BusHandler): void {
    this.handler = handler;
  }

  private async subscribe(): Promise<void> {
    const sub = (this.sub = this.o.client.duplicate());
    let down = false;
    sub.on('error', () => {}); // node-redis reconnects by itself; commands report the outage
    sub.on('end', () => (down = true));
    sub.on('reconnecting', () => (down = true));
    sub.on('ready', () => {
      // Events published while we were away were not delivered: live links resume from the log.
      if (down) (down = false), this.handler?.lost();
    });
    await sub.connect();
    await sub.subscribe(`${this.r.p}bus`, (message) => {
      const handler = this.handler;
      if (!handler) return;
      try {
        if (message.startsWith('e ')) {
          const [, epoch = '', id = '', time = '0'] = message.split(' ', 4);
          const json = message.slice(5 + epoch.length + id.length + time.length);
          this.epoch = epoch;
          handler.event(toEvent(epoch, id, time, json));
        } else if (message.startsWith('s ')) {
          const at = message.indexOf(' ', 2);
          handler.signal(message.slice(2, at), JSON.parse(message.slice(at + 1)) as Signal);
        }
      } catch {} // a message another program published on our channel
    });
  }

  async signal(session: string, signal: Signal): Promise<number> {
    const { p } = this.r;
    if (signal.type === 'link') return Number(await this.r.script(LINK, [`${p}g:${session}`], [`${p}bus`, session]));
    await this.r.send(['PUBLISH', `${p}bus`, `s ${session} ${JSON.stringify(signal)}`]);
    return 0;
  }

  async close(): Promise<void> {
    const sub = this.sub;
    this.sub = null;
    sub?.destroy();
  }
}

/** Session records in Redis hashes, `seen` in one sorted set, delivery under a lease. */
class RedisSessions implements SessionStore, SharedSessions {
  readonly shared: SharedSessions = this;
  private readonly seen: string;

  constructor(
    private readonly r: Redis,
    private readonly o: RedisEngineOptions,
  ) {
    this.seen = `${r.p}seen`;
  }

  private rec = (id: string): string => `${this.r.p}s:${id}`;
  private lease = (id: string): string => `${this.r.p}l:${id}`;

  async get(id: string): Promise<SessionRecord | undefined> {
    const r = (await this.r.script(GET, [this.rec(id), this.seen], [id])) as string[] | null;
    if (!r) return undefined;
    const record: SessionRecord = { id, last: Number(r[0]), streams: JSON.parse(r[1] ?? '[]') as string[], user: JSON.parse(r[2] ?? 'null'), seen: Number(r[3]) };
    return r[4] ? { ...record, from: r[4] } : record;
  }

  async set(s: SessionRecord): Promise<void> {
    await this.r.script(SET, [this.rec(s.id), this.seen], [s.id, s.last, JSON.stringify(s.streams), JSON.stringify(s.user ?? null), s.seen, s.from ?? '']);
  }

  async delete(id: string): Promise<void> {
    const p = this.r.p;
    await this.r.send(['DEL', this.rec(id), `${p}y:${id}`, `${p}g:${id}`, this.lease(id)]);
    await this.r.send(['ZREM', this.seen, id]);
  }

  async size(): Promise<number> {
    return Number(await this.r.send(['ZCARD', this.seen]));
  }

  async sweep(before: number, keep: (id: string) => boolean): Promise<string[]> {
    const ids = (await this.r.send(['ZRANGEBYSCORE', this.seen, '-inf', `(${before}`, 'LIMIT', '0', '1000'])) as string[];
    const gone = ids.filter((id) => !keep(id));
    for (const id of gone) await this.delete(id);
    return gone;
  }

  async close(): Promise<void> {}

  async begin(id: string, seq: number): Promise<{ last: number; token: string | null; busy: boolean }> {
    const token = randomBytes(9).toString('base64url');
    const [last, state] = (await this.r.script(BEGIN, [this.rec(id), this.lease(id)], [seq, token, this.o.leaseTime ?? 30000])) as [number, number];
    return { last: Number(last), token: state === 1 ? token : null, busy: state === 2 };
  }

  async commit(id: string, token: string, seq: number): Promise<number> {
    return Number(await this.r.script(COMMIT, [this.rec(id), this.lease(id)], [token, seq]));
  }

  async release(id: string, token: string): Promise<void> {
    await this.r.script(RELEASE, [this.lease(id)], [token]);
  }

  async touch(ids: string[], now: number): Promise<void> {
    await this.r.send(['ZADD', this.seen, 'XX', 'GT', ...ids.flatMap((id) => [String(now), id])]);
  }
}
