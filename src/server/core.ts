/**
 * The transport-free core of `heartline/server`: sessions, fan-out, resume, delivery of client
 * messages through the application's hook, authentication, heartbeats and expiry. The transports
 * (websocket.ts, http.ts) turn sockets and requests into calls of this class.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { LogEvent, ReplayLog, SessionStore, Signal, UploadStore } from './engine.js';
import { FileUploads } from './files.js';
import { Addresses, within } from './guards.js';
import { MemoryLog, MemorySessions } from './memory.js';
import { HookTimeout, Refused, validateOptions, type AuthRequest, type ResolvedLimits, type ServerOptions, type Transport } from './options.js';
import { Session, type Link } from './session.js';
import { Uploads } from './uploads.js';

/** What `authenticate` decided: the user, or a refusal status. */
export type AuthResult = { user: unknown } | { status: 401 | 403 | 503; reason: string };

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
  readonly addresses: Addresses;
  handshaking = 0;
  closed = false;
  /** See {@link ServerStats.duplicates} and {@link ServerStats.gaps}. */
  private dropped = { duplicates: 0, gaps: 0 };
  private readonly subscribers = new Map<string, Set<Session>>();
  /** With a bus: the highest link number seen per session (a lower one is superseded). */
  private readonly gens = new Map<string, number>();
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
    this.addresses = new Addresses(this.limits.maxConnectionsPerAddress, options.addressHeader, (e) => this.report(e, { where: 'internal' }));
    const bus = this.log.bus;
    if (bus) {
      // A shared log: live events come from the bus (appends of every process, in log order).
      const handler = { event: (ev: LogEvent) => this.push(ev), signal: (id: string, sig: Signal) => this.signaled(id, sig), lost: () => this.lost() };
      void Promise.resolve(bus.listen(handler)).catch((e) => this.report(e, { where: 'internal' }));
    }
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

  /** Runs `authenticate` (when set) and maps its answer; one not settled within `authTimeout` is a 503. */
  async authenticate(request: AuthRequest): Promise<AuthResult> {
    const fn = this.options.authenticate;
    if (!fn) return { user: true };
    try {
      const user = await within(this, 'authenticate', this.limits.authTimeout, () => fn(request));
      return user === false || user == null ? { status: 401, reason: 'unauthorized' } : { user };
    } catch (e) {
      if (e instanceof Refused) return { status: e.status === 403 ? 403 : 401, reason: e.message };
      this.report(e, { where: 'authenticate' });
      if (e instanceof HookTimeout) return { status: 503, reason: 'authenticate timed out' };
      return { status: 401, reason: 'unauthorized' };
    }
  }

  /** The session named `id` if this server knows it. */
  async find(id: string | null): Promise<Session | undefined> {
    if (!id || id.length > 64) return undefined;
    const live = this.sessions.get(id);
    if (live && !this.store.shared) return live;
    // A shared store is read again (another process may have moved the cursor); while it is
    // unreachable a session this process holds is served as it last knew it.
    const record = await Promise.resolve(this.store.get(id)).catch((e: unknown) => {
      if (!live) throw e;
      this.report(e, { where: 'internal', session: id });
      return live.record;
    });
    if (live && record) return Object.assign(live.record, record, { user: live.record.user }), live;
    if (live) this.sessions.delete(id), live.link && this.detach(live.link);
    if (!record) return undefined;
    const session = new Session(record, this.limits.messageRate);
    this.sessions.set(id, session);
    return session;
  }

  /**
   * The session a connection or first request names (a new one if unknown), its user and streams
   * updated. Undefined when a new one would exceed `maxSessions`.
   * @throws HookTimeout when `streams` did not settle within `authTimeout` (the transport fails the connection)
   */
  async open(id: string | null, user: unknown, request: AuthRequest): Promise<Session | undefined> {
    let streams: string[];
    try {
      const fn = this.options.streams ?? (() => ['default']);
      streams = [...(await within(this, 'streams', this.limits.authTimeout, () => fn(user, request)))].map(String);
    } catch (e) {
      if (e instanceof HookTimeout) throw e;
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
    if (old && old !== link) this.supersede(old);
    if (this.log.bus) {
      const gen = await this.log.bus.signal(session.id, { type: 'link', gen: 0 });
      if (link.session !== session) return;
      if (gen < (this.gens.get(session.id) ?? 0)) return this.supersede(link);
      this.gens.set(session.id, (link.gen = gen));
    }
    const after = lastEventId || session.record.from || '';
    const { resumed, events, head } = await this.log.since(after, { streams: session.streams, session: session.id }, Infinity);
    if (link.session !== session) return;
    if (!resumed && head) await this.store.set(Object.assign(session.record, { from: head }));
    if (link.session !== session) return;
    const text = first(resumed);
    if (!text && !resumed) return link.close(1012, 'resume lost'); // a later poll on another process
    if (text) link.frame(text);
    // Nothing at or below what the client has, or what the replay carried, goes out again (with a
    // bus, an event the replay read may still arrive from it, late, on a busy process).
    let seq = resumed ? Number(/-(\d+)$/.exec(after)?.[1] ?? 0) : 0;
    for (const ev of events) if (ev.seq > seq) link.push(ev), (seq = ev.seq);
    const pending = link.pending;
    link.pending = null;
    for (const ev of pending) if (ev.seq > seq) link.push(ev), (seq = ev.seq);
    link.floor = seq;
  }

  private supersede(old: Link): void {
    this.detach(old);
    old.session = null;
    old.close(1000, 'superseded');
  }

  /** A signal from another process (or this one) through the bus. */
  private signaled(id: string, sig: Signal): void {
    const link = this.sessions.get(id)?.link;
    if (sig.type === 'link') {
      this.gens.set(id, Math.max(sig.gen, this.gens.get(id) ?? 0));
      if (link?.gen !== undefined && link.gen < sig.gen) this.supersede(link);
    } else if (link) sig.type === 'frame' ? link.frame(sig.text) : link.close(sig.code, sig.reason);
  }

  /** The bus may have missed events: every live link ends with 1012, and its client resumes. */
  private lost(): void {
    for (const link of [...this.links]) link.close(1012, 'fan-out interrupted');
  }

  /** A frame for the session's live link, wherever it is. */
  toLink(session: Session, text: string): void {
    if (session.link) return session.link.frame(text);
    void Promise.resolve(this.log.bus?.signal(session.id, { type: 'frame', text })).catch((e) => this.report(e, { where: 'internal' }));
  }

  /** The link is gone (closed, superseded, dead): no more writes to it. */
  detach(link: Link): void {
    this.links.delete(link);
    const session = link.session;
    if (session?.link !== link) return;
    session.link = null;
    this.gens.delete(session.id);
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
      const shared = this.store.shared;
      let token: string | null = null;
      for (let wait = 5; shared; wait = Math.min(wait * 2, 100)) {
        // Another process may deliver this session's messages: its lease makes it the one writer.
        const lease = await shared.begin(record.id, seq);
        record.last = Math.max(record.last, lease.last);
        if (!lease.busy) ((token = lease.token), (wait = 0));
        if (!wait || this.closed) break;
        await new Promise((r) => setTimeout(r, wait));
      }
      if (seq !== record.last + 1) {
        this.dropped[seq <= record.last ? 'duplicates' : 'gaps'] += 1;
        return record.last; // a duplicate, or a gap: what it has
      }
      if (shared && !token) return record.last; // the server is closing while another process holds the lease
      try {
        const fn = this.options.onMessage;
        const message = { session: record.id, user: record.user, seq, data, binary, transport };
        if (fn) await within(this, 'onMessage', this.limits.messageTimeout, () => fn(message));
      } catch (e) {
        this.report(e, { where: 'message', session: record.id });
        if (token) await shared!.release(record.id, token);
        return null;
      }
      if (token) return (record.last = await shared!.commit(record.id, token, seq));
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
      if (!this.log.bus) this.push(ev);
      return ev;
    });
    this.publishing = p.catch(() => {});
    return p;
  }

  /** Pushes an appended event to the live links it concerns. */
  private push(ev: LogEvent): void {
    const targets = ev.stream === null ? [this.sessions.get(ev.session ?? '')] : this.subscribers.get(ev.stream) ?? [];
    for (const s of targets) {
      const link = s?.link;
      if (!link) continue;
      if (link.pending) link.pending.push(ev);
      else if (ev.seq > (link.floor ?? 0)) link.push(ev), (link.floor = ev.seq);
    }
  }

  /** Ends the session's live connection with `code` (the session stays, for a resume). */
  disconnect(id: string, code: number, reason: string): boolean {
    const link = this.sessions.get(id)?.link;
    if (!link && this.log.bus) void Promise.resolve(this.log.bus.signal(id, { type: 'close', code, reason })).catch((e) => this.report(e, { where: 'internal' }));
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
    const held = [...this.sessions.keys()].filter(keep);
    if (this.store.shared && held.length) await this.store.shared.touch(held, now);
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
