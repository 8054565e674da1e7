// The `/hl/<stream>` route: heartline/server itself (dist/server.mjs, what users deploy), one
// instance per key, with the fixture's faults around it (heartline-conns.mjs, fault-socket.mjs)
// and the counters `GET /control/<key>/stats` reports. e2e/SERVER.md is the contract.
import { FileUploads, MemoryLog, MemorySessions, createServer } from '../../dist/server.mjs';
import { PollConn, SseConn, WsConn } from './heartline-conns.mjs';
import { num } from './scenarios.mjs';

/** The module's path; every `/hl/<stream>` request is rewritten to it (the stream name is free-form). */
const PATH = '/hl';
/** The one stream every session of a key receives. */
const STREAM = 'default';
export const HL_PATH = /^\/hl\/[^/]+$/;

/** A view of an engine whose `close` does nothing: the engines outlive the instances built on them. */
const kept = (engine) =>
  new Proxy(engine, { get: (t, k) => (k === 'close' ? () => {} : typeof t[k] === 'function' ? t[k].bind(t) : t[k]) });

/** The key's settings, from the query of its first `/hl/` request. */
function configOf(params) {
  return {
    hb: Math.max(10, num(params, 'hb', 25000)), // the module's default; scenarios that want more set it
    hold: num(params, 'hold', 25000),
    auth: params.get('auth'),
    echo: params.get('echo') !== '0',
    maxUpload: num(params, 'maxUpload', 2 ** 30),
    rate: num(params, 'rate', 10000),
  };
}

/** One key's heartline server, its engines, and what the fixture counts around it. */
export class KeyProtocol {
  constructor(state, params) {
    this.state = state;
    this.config = configOf(params);
    /** every client message the module handed to `onMessage`, in order (binary as base64) */
    this.delivered = [];
    this.transports = { websocket: 0, sse: 0, longpoll: 0 };
    /** upload id → its record (`stats.uploads`) */
    this.uploads = new Map();
    /** the dropped-message counters of instances already closed (restart, forget) */
    this.dropped = { duplicates: 0, gaps: 0 };
    /** session → its long-poll connection */
    this.polls = new Map();
    /** session → the connection the module made its live one last (any transport) */
    this.current = new Map();
    this.gen = null;
    this.log = new MemoryLog();
    this.sessions = new MemorySessions();
    this.server = this.create();
  }

  create() {
    const c = this.config;
    return createServer({
      path: PATH,
      origins: '*',
      heartbeat: c.hb,
      log: kept(this.log),
      sessions: kept(this.sessions),
      uploads: this.uploadStore(),
      limits: { pollTimeout: Math.max(1, c.hold), maxUploadSize: c.maxUpload, messageRate: c.rate },
      ...(c.auth && {
        authenticate: ({ transport, credentials }) => credentials === (transport === 'websocket' ? c.auth : `Bearer ${c.auth}`),
      }),
      onMessage: async ({ data, binary }) => {
        this.delivered.push(binary ? { binary: data.toString('base64') } : data);
        this.state.changed();
        if (c.echo) await this.server.publish(STREAM, data);
      },
      onUpload: (file) => {
        Object.assign(this.upload(file.id), { name: file.name, size: file.size, received: file.size, sha256: file.sha256, done: true });
        this.state.changed();
      },
      // Hook and auth failures are the point of some scenarios; an internal error is a module bug.
      onError: (error, { where }) => where === 'internal' && console.error('fixture: heartline/server internal error:', error),
    });
  }

  upload(id) {
    let r = this.uploads.get(id);
    if (!r) {
      r = { id, name: null, size: null, received: 0, sha256: null, done: false, aborted: false, error: null, chunks: 0, resends: 0, opens: 0 };
      this.uploads.set(id, r);
    }
    return r;
  }

  /** The module's FileUploads, with the bytes written counted per upload. */
  uploadStore() {
    const files = new FileUploads();
    return {
      create: async (key) => {
        const file = await files.create(key);
        const r = this.upload(key.slice(key.indexOf('/') + 1));
        r.received = 0;
        return {
          path: file.path,
          write: async (offset, bytes) => {
            await file.write(offset, bytes);
            r.received = offset + bytes.length;
          },
          finish: () => file.finish(),
          remove: () => ((r.aborted ||= !r.done), file.remove()),
        };
      },
      close: () => files.close(),
    };
  }

  /** A client frame seen on its way in (a WebSocket frame's first bytes, or a POST body's). */
  clientFrame(binary, head) {
    const text = head.toString(binary ? 'latin1' : 'utf8');
    const nl = text.indexOf('\n');
    const [type, id = '', offset] = (nl < 0 ? text : text.slice(0, nl)).split(' ');
    if (!binary && type === 'up.open') {
      const r = this.upload(id);
      r.opens += 1;
      try {
        const { name, size } = JSON.parse(text.slice(nl + 1));
        r.name ??= typeof name === 'string' ? name : null;
        r.size ??= typeof size === 'number' ? size : null;
      } catch {}
    } else if (binary && type === 'up.chunk' && this.uploads.has(id)) {
      const r = this.upload(id);
      r.chunks += 1;
      if (Number(offset) < r.received) r.resends += 1;
    }
    this.state.changed();
  }

  /** `gen=N&every=MS`: once per key, when the first connection carrying it is open. */
  startGen(params) {
    if (this.gen || !params.has('gen')) return;
    const total = num(params, 'gen', 0);
    const every = num(params, 'every', 0);
    const gen = (this.gen = { i: 0, timer: null, stopped: false });
    const emit = () => this.server.publish(STREAM, JSON.stringify({ n: ++gen.i })).catch(() => {});
    const tick = () => {
      if (gen.stopped) return;
      emit();
      if (gen.i < total) gen.timer = every > 0 ? setTimeout(tick, every) : setImmediate(tick);
    };
    if (total > 0) setImmediate(tick);
  }

  /** A WebSocket upgrade with `heartline=1`, refusals already decided. */
  upgrade(req, socket, head, params) {
    this.transports.websocket += 1;
    const conn = new WsConn(this, socket, head, params);
    req.url = PATH + new URL(req.url, 'http://x').search;
    this.server.handleUpgrade(req, conn.socket, head);
  }

  /** An HTTP request on `/hl/`, refusals already decided. */
  http(req, res, url) {
    const params = url.searchParams;
    const polling = params.get('poll') === '1';
    req.url = PATH + url.search;
    if (req.method === 'POST') this.tapPost(req, params);
    else if (req.method === 'GET' && polling && params.get('open') === '1') {
      this.transports.longpoll += 1;
      new PollConn(this, params).poll(res);
    } else if (req.method === 'GET' && polling) {
      const conn = this.polls.get(params.get('session'));
      if (conn && !conn.poll(res)) return;
    } else if (req.method === 'GET' && /text\/event-stream/.test(req.headers.accept ?? '') && params.get('heartline') === '1') {
      this.transports.sse += 1;
      new SseConn(this, res, params);
    }
    this.server.handler(req, res);
  }

  /** A POST's first bytes, as the frame it carries (the module reads the body itself). */
  tapPost(req, params) {
    const seq = params.get('seq');
    const binary = params.get('bin') === '1';
    let head = Buffer.alloc(0);
    const emit = req.emit;
    req.emit = (event, ...args) => {
      if (event === 'data' && head.length < 512) head = Buffer.concat([head, args[0]]).subarray(0, 512);
      if (event === 'end') {
        const frame = seq === null ? head : binary ? head : Buffer.concat([Buffer.from(`msg ${seq}\n`), head]);
        const chunk = seq === null && frame.toString('latin1', 0, 9) === 'up.chunk ';
        this.state.recordFrame(frame, binary || chunk);
        if (seq === null && /^up\./.test(frame.toString('latin1', 0, 3))) this.clientFrame(chunk, frame);
      }
      return emit.call(req, event, ...args);
    };
  }

  /**
   * Restart: a new instance on the same engines (the log, its epoch and the sessions survive, as
   * after a restart of a server whose engines live elsewhere), or with `fresh`, new engines (a lost
   * log: a new epoch). The old instance's connections are gone already (the listener restarted).
   */
  async restart({ fresh = false, sessionsOnly = false } = {}) {
    const old = this.server;
    const { duplicates, gaps } = await old.stats();
    this.dropped.duplicates += duplicates;
    this.dropped.gaps += gaps;
    const engines = [];
    if (fresh || sessionsOnly) engines.push(this.sessions), (this.sessions = new MemorySessions());
    if (fresh) engines.push(this.log), (this.log = new MemoryLog());
    this.polls.clear();
    this.current.clear();
    this.server = this.create();
    await old.close();
    for (const e of engines) await e.close();
  }

  /** `forget`: every session of the key is forgotten; its connection gets close 4409. */
  async forget() {
    for (const conn of this.state.conns) if (conn.session) this.server.disconnect(conn.session, 4409, 'unknown session');
    await this.restart({ sessionsOnly: true });
  }

  async stats() {
    const s = await this.server.stats();
    return {
      sessions: s.sessions,
      delivered: [...this.delivered],
      duplicates: this.dropped.duplicates + s.duplicates,
      gaps: this.dropped.gaps + s.gaps,
      transports: { ...this.transports },
      uploads: [...this.uploads.values()].map((r) => ({ ...r })),
    };
  }

  async close() {
    if (this.gen) (this.gen.stopped = true), clearTimeout(this.gen.timer);
    await this.server.close();
    await this.sessions.close();
    await this.log.close();
  }
}

/** `ws=STATUS` refuses every upgrade of the key; `wsFirst=N` the first N (a proxy that lets WebSockets through later). */
export function wsRefusal(params, state) {
  if (num(params, 'ws', 0)) return { status: num(params, 'ws', 0) };
  const first = num(params, 'wsFirst', 0);
  return first && state.countScenarioUpgrade('hl') <= first ? { status: 403 } : null;
}

/** The key's protocol server, created on its first `/hl/` request. */
export const protocolOf = (state, params) => (state.heartline ??= new KeyProtocol(state, params));
