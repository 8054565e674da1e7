/**
 * The transport-free core of `heartline/server`: sessions, fan-out, resume, delivery of client
 * messages through the application's hook, authentication, heartbeats and expiry. The transports
 * (websocket.ts, http.ts) turn sockets and requests into calls of this class.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { LogEvent, ReplayLog, SessionStore, UploadStore } from './engine.js';
import { FileUploads } from './files.js';
import { MemoryLog, MemorySessions } from './memory.js';
import { Refused, validateOptions, type AuthRequest, type ResolvedLimits, type ServerOptions, type Transport } from './options.js';
import { Session, type Link } from './session.js';
import { Uploads } from './uploads.js';

/** What `authenticate` decided: the user, or a refusal status. */
export type AuthResult = { user: unknown } | { status: 401 | 403; reason: string };

/** Counts of what the server holds, for monitoring and for tests that look for leaks. */
export interface ServerStats {
  /** Live downstream connections by transport. */
  connections: { websocket: number; sse: number; longpoll: number };
  /** WebSockets accepted that have not sent their `hello` yet. */
  handshaking: number;
  /** Sessions this process holds. */
  sessions: number;
  /** Unfinished uploads. */
  uploads: number;
  /** Timers the server has scheduled (its two intervals included while it runs). */
  timers: number;
  /** Events in the replay log. */
  events: number;
  /** Client messages dropped since start because their SEQ was already delivered (a resend after a lost ack). */
  duplicates: number;
  /** Client messages dropped since start because an earlier SEQ was missing (a client bug: the protocol never skips). */
  gaps: number;
}

/** The state and rules every transport shares; one per `createServer` call. */
export class Core {
  readonly limits: ResolvedLimits;
  readonly log: ReplayLog;
  readonly store: SessionStore;
  readonly files: UploadStore;
  readonly heartbeat: number;
  readonly sessions = new Map<string, Session>();
  readonly links = new Set<Link>();
  readonly uploads: Uploads;
  handshaking = 0;
  closed = false;
  /** See {@link ServerStats.duplicates} and {@link ServerStats.gaps}. */
  private dropped = { duplicates: 0, gaps: 0 };
  private readonly subscribers = new Map<string, Set<Session>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private publishing: Promise<unknown> = Promise.resolve();

  constructor(readonly options: ServerOptions) {
    this.limits = validateOptions(options);
    const { maxEvents, maxEventAge, sessionTtl } = this.limits;
    this.log = options.log ?? new MemoryLog({ maxEvents, maxAge: maxEventAge });
    this.store = options.sessions ?? new MemorySessions();
    this.files = options.uploads ?? new FileUploads();
    this.heartbeat = options.heartbeat ?? 25000;
    this.uploads = new Uploads(this);
    this.every(this.heartbeat, () => {
      const now = Date.now();
      for (const link of [...this.links]) link.beat(now);
    });
    this.every(Math.min(60000, sessionTtl / 2), () => void this.sweep().catch((e) => this.report(e, { where: 'internal' })));
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.add(t);
  }

  /** A tracked timeout; returns its cancel function. */
  later(ms: number, fn: () => void): () => void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
    return () => {
      clearTimeout(t);
      this.timers.delete(t);
    };
  }

  /** Hands an error to `onError` (console.error by default); a throwing `onError` is ignored. */
  report(error: unknown, context: { where: 'message' | 'upload' | 'authenticate' | 'subscribe' | 'internal'; session?: string }): void {
    try {
      (this.options.onError ?? ((e: unknown) => console.error('heartline/server:', e)))(error, context);
    } catch {}
  }

  /** Runs `authenticate` (when set) and maps its answer. */
  async authenticate(request: AuthRequest): Promise<AuthResult> {
    const fn = this.options.authenticate;
    if (!fn) return { user: true };
    try {
      const user = await fn(request);
      return user === false || user == null ? { status: 401, reason: 'unauthorized' } : { user };
    } catch (e) {
      if (e instanceof Refused) return { status: e.status === 403 ? 403 : 401, reason: e.message };
      this.report(e, { where: 'authenticate' });
      return { status: 401, reason: 'unauthorized' };
    }
  }

  /** The session named `id` if this server knows it. */
  async find(id: string | null): Promise<Session | undefined> {
    if (!id || id.length > 64) return undefined;
    const live = this.sessions.get(id);
    if (live) return live;
    const record = await this.store.get(id);
    if (!record) return undefined;
    const session = new Session(record, this.limits.messageRate);
    this.sessions.set(id, session);
    return session;
  }

  /**
   * The session a connection or first request names (a new one if unknown), its user and streams
   * updated. Undefined when a new one would exceed `maxSessions`.
   */
  async open(id: string | null, user: unknown, request: AuthRequest): Promise<Session | undefined> {
    let streams: string[];
    try {
      streams = [...(await (this.options.streams ?? (() => ['default']))(user, request))].map(String);
    } catch (e) {
      this.report(e, { where: 'subscribe' });
      streams = [];
    }
    let session = await this.find(id);
    if (!session) {
      if ((await this.store.size()) >= this.limits.maxSessions) return undefined;
      const record = { id: randomBytes(16).toString('base64url'), last: 0, streams, user, seen: Date.now() };
      session = new Session(record, this.limits.messageRate);
      this.sessions.set(record.id, session);
    }
    Object.assign(session.record, { streams, user, seen: Date.now() });
    await this.store.set(session.record);
    this.subscribe(session, streams);
    return session;
  }

  private subscribe(session: Session, streams: string[]): void {
    for (const s of session.streams) this.subscribers.get(s)?.delete(session);
    session.streams = new Set(streams);
    if (!session.link) return;
    for (const s of streams) {
      let set = this.subscribers.get(s);
      if (!set) this.subscribers.set(s, (set = new Set()));
      set.add(session);
    }
  }

  /**
   * Makes `link` the session's connection (the previous one is no longer written to and is ended),
   * sends `first(resumed)`, the replay after `lastEventId`, then what was published meanwhile.
   */
  async connect(session: Session, link: Link, lastEventId: string, first: (resumed: boolean) => string): Promise<void> {
    const old = session.link;
    session.link = link;
    link.session = session;
    link.pending = [];
    this.links.add(link);
    this.subscribe(session, [...session.streams]);
    if (old && old !== link) {
      old.session = null;
      this.detach(old);
      old.close(1000, 'superseded');
    }
    const { resumed, events } = await this.log.since(lastEventId, { streams: session.streams, session: session.id }, Infinity);
    if (link.session !== session) return;
    link.frame(first(resumed));
    let seq = 0;
    for (const ev of events) link.push(ev), (seq = ev.seq);
    const pending = link.pending;
    link.pending = null;
    for (const ev of pending) if (ev.seq > seq) link.push(ev);
  }

  /** The link is gone (closed, superseded, dead): no more writes to it. */
  detach(link: Link): void {
    this.links.delete(link);
    const session = link.session;
    if (session?.link !== link) return;
    session.link = null;
    session.record.seen = Date.now();
    for (const s of session.streams) this.subscribers.get(s)?.delete(session);
    void Promise.resolve(this.store.set(session.record)).catch((e) => this.report(e, { where: 'internal' }));
  }

  /**
   * A client message (PROTOCOL.md section 4), run in the session's queue: delivered to `onMessage`
   * if SEQ = last + 1, a duplicate if SEQ <= last. Resolves with the cumulative ack to send, or
   * null when the hook threw (nothing is acknowledged).
   */
  deliver(session: Session, seq: number, data: string | Buffer, binary: boolean, transport: Transport): Promise<number | null> {
    return session.run(async () => {
      const record = session.record;
      record.seen = Date.now();
      if (seq !== record.last + 1) {
        this.dropped[seq <= record.last ? 'duplicates' : 'gaps'] += 1;
        return record.last; // a duplicate, or a gap: what it has
      }
      try {
        await this.options.onMessage?.({ session: record.id, user: record.user, seq, data, binary, transport });
      } catch (e) {
        this.report(e, { where: 'message', session: record.id });
        return null;
      }
      record.last = seq;
      await this.store.set(record);
      return seq;
    });
  }

  /** Appends to the log (in call order) and pushes to the live links it concerns. */
  append(stream: string | null, session: string | null, data: string | Uint8Array, event: string | null): Promise<LogEvent> {
    if (this.closed) return Promise.reject(new Error('heartline/server: closed'));
    const p = this.publishing.then(async () => {
      const ev = await this.log.append({ stream, session, event, data });
      const targets = stream === null ? [this.sessions.get(session ?? '')] : this.subscribers.get(stream) ?? [];
      for (const s of targets) {
        const link = s?.link;
        if (link) link.pending ? link.pending.push(ev) : link.push(ev);
      }
      return ev;
    });
    this.publishing = p.catch(() => {});
    return p;
  }

  /** Ends the session's live connection with `code` (the session stays, for a resume). */
  disconnect(id: string, code: number, reason: string): boolean {
    const link = this.sessions.get(id)?.link;
    if (!link) return false;
    link.close(code, reason);
    return true;
  }

  /** `bye` or expiry: the session is forgotten with its uploads; its link stays open unattached. */
  async forget(session: Session): Promise<void> {
    const link = session.link;
    if (link) this.detach(link), (link.session = null);
    this.sessions.delete(session.id);
    for (const s of session.streams) this.subscribers.get(s)?.delete(session);
    await this.uploads.dropAll(session);
    await this.store.delete(session.id);
  }

  /** Forgets sessions idle past `sessionTtl` (unless uploading) and uploads idle past `uploadTtl`. */
  async sweep(now = Date.now()): Promise<void> {
    const { sessionTtl, uploadTtl } = this.limits;
    for (const session of this.sessions.values()) await this.uploads.expire(session, now - uploadTtl);
    const keep = (id: string): boolean => {
      const s = this.sessions.get(id);
      return !!s && (s.link !== null || s.uploading(now - uploadTtl));
    };
    const gone = await this.store.sweep(now - sessionTtl, keep);
    for (const id of gone) {
      const s = this.sessions.get(id);
      if (s) await this.forget(s);
    }
    for (const s of [...this.sessions.values()]) if (!keep(s.id) && s.record.seen < now - sessionTtl) this.sessions.delete(s.id);
  }

  async stats(): Promise<ServerStats> {
    const connections = { websocket: 0, sse: 0, longpoll: 0 };
    for (const link of this.links) connections[link.transport] += 1;
    let uploads = 0;
    for (const s of this.sessions.values()) for (const u of s.uploads.values()) uploads += u.done ? 0 : 1;
    const [sessions, events] = await Promise.all([this.store.size(), this.log.size()]);
    return { connections, handshaking: this.handshaking, sessions, uploads, timers: this.timers.size, events, ...this.dropped };
  }

  /** Stops the timers, ends every link with 1001 and frees the engines. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of [...this.links]) link.close(1001, 'server closing');
    this.links.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of [...this.sessions.values()]) await this.uploads.dropAll(s);
    this.sessions.clear();
    this.subscribers.clear();
    await this.files.close();
    await this.store.close();
    await this.log.close();
  }
}
