// The heartline protocol v1, server side: the reference implementation of PROTOCOL.md.
// This file holds what every transport shares (frames, the per-key event log and its replay
// buffer, sessions with de-duplicated client delivery) and the WebSocket transport (section 3).
// protocol-http.mjs carries the same sessions over SSE, long-polling and POST (section 5), and
// uploads.mjs holds resumable uploads (section 7) for both.
import { randomBytes } from 'node:crypto';
import { num } from './scenarios.mjs';
import { Uploads, splitFrame } from './uploads.mjs';

const REPLAY_BUFFER = 10000; // events kept per stream for resume
const SESSION_TTL_MS = 10 * 60 * 1000; // a session without a connection is forgotten after this

/** Split a text frame at the first `\n`: the header's fields (split at single spaces), the payload. */
export function parseFrame(text) {
  const nl = text.indexOf('\n');
  const header = nl < 0 ? text : text.slice(0, nl);
  return { fields: header.split(' '), payload: nl < 0 ? '' : text.slice(nl + 1) };
}

/** A header field: percent-encoded, `-` when absent (section 1). */
export const field = (value) => (value == null || value === '' ? '-' : encodeURIComponent(value));

/** A client SEQ: a positive integer, else NaN (which is neither delivered nor counted). */
export const seqOf = (text) => (/^[1-9]\d*$/.test(text ?? '') ? Number(text) : NaN);

/**
 * One key's stream: the event log (ids 1, 2, 3…; the last REPLAY_BUFFER kept), its sessions and the
 * counters `GET /control/<key>/stats` reports. It lives in the key's state, so it survives the
 * `restart` control action (same process). A "link" is one live downstream connection:
 * `{ transport, session, push(event), frame(text), close(code, reason), supersede() }`.
 */
export class Stream {
  constructor(state) {
    this.state = state;
    /** @type {{ id: number, event: string | null, data: string | Buffer, binary: boolean }[]} */
    this.log = [];
    this.lastId = 0;
    this.sessions = new Map();
    this.links = new Set();
    this.delivered = [];
    this.duplicates = 0;
    this.gaps = 0;
    this.transports = { websocket: 0, sse: 0, longpoll: 0 };
    this.gen = null;
    this.uploads = new Uploads(state.files);
  }

  /** Add an event to the log and push it to every live link. */
  append(data, { event = null, binary = false } = {}) {
    const ev = { id: ++this.lastId, event, data, binary };
    this.log.push(ev);
    if (this.log.length > REPLAY_BUFFER) this.log.shift();
    for (const link of [...this.links]) link.push(ev);
    return ev;
  }

  /** Events with an id above `after` (ids in the log are consecutive). */
  since(after) {
    const oldest = this.log.length ? this.log[0].id : this.lastId + 1;
    return this.log.slice(Math.max(0, after + 1 - oldest));
  }

  /**
   * Section 4: no last event id = a new client, nothing replayed; an id the buffer still covers =
   * resumed, replay what follows it; an id older than the buffer (or unknown) = not resumed, go on
   * from now.
   */
  replay(lastEventId) {
    const after = /^\d+$/.test(String(lastEventId ?? '')) ? Number(lastEventId) : NaN;
    const oldest = this.log.length ? this.log[0].id : this.lastId + 1;
    if (!(after >= oldest - 1 && after <= this.lastId)) return { resumed: false, events: [] };
    return { resumed: true, events: this.since(after) };
  }

  sweep() {
    const now = Date.now();
    for (const [id, s] of this.sessions) if (!s.link && now - s.used > SESSION_TTL_MS) this.sessions.delete(id);
  }

  /** The session named `id` if the server still knows it, else undefined. */
  find(id) {
    this.sweep();
    const session = id ? this.sessions.get(id) : undefined;
    if (session) session.used = Date.now();
    return session;
  }

  /** A hello (or HTTP request) naming `id`: that session if known, else a new one. */
  open(id) {
    const known = this.find(id);
    if (known) return known;
    const session = { id: randomBytes(12).toString('base64url'), last: 0, link: null, used: Date.now() };
    this.sessions.set(session.id, session);
    return session;
  }

  /** `bye`, or the `forget` control action: the session is gone (its link stays open). */
  forget(session) {
    this.sessions.delete(session.id);
    const link = session.link;
    if (link) {
      this.detach(link);
      link.session = null;
    }
  }

  /** Make `link` the session's downstream; the previous one is no longer written to, and ended. */
  attach(session, link) {
    const old = session.link;
    link.session = session;
    session.link = link;
    session.used = Date.now();
    this.links.add(link);
    if (old && old !== link) {
      this.links.delete(old);
      old.session = null;
      old.supersede();
    }
  }

  detach(link) {
    this.links.delete(link);
    if (link.session?.link === link) {
      link.session.link = null;
      link.session.used = Date.now();
    }
  }

  /**
   * A client message (section 4): delivered only if SEQ = last + 1, dropped as a duplicate if
   * SEQ <= last, ignored on a gap. Delivered messages are echoed into the log unless `echo=0`.
   * @returns {number} the session's cumulative ack
   */
  receive(session, seq, data, binary, echo = true) {
    session.used = Date.now();
    if (seq === session.last + 1) {
      session.last = seq;
      this.delivered.push(binary ? { binary: Buffer.from(data).toString('base64') } : data);
      if (echo) this.append(data, { binary });
    } else if (seq <= session.last) {
      this.duplicates += 1;
    } else if (seq > session.last) {
      this.gaps += 1;
    }
    this.state.changed();
    return session.last;
  }

  /** `gen=N&every=MS` on the first connection of a key: payloads `{"n":i}`, i = 1…N. */
  startGen(params) {
    if (this.gen || !params.has('gen')) return;
    const total = num(params, 'gen', 0);
    const every = num(params, 'every', 0);
    const gen = (this.gen = { i: 0, timer: null });
    const emit = () => this.append(JSON.stringify({ n: ++gen.i }));
    if (every <= 0) {
      while (gen.i < total) emit();
      return;
    }
    const tick = () => {
      emit();
      if (gen.i < total) gen.timer = setTimeout(tick, every);
    };
    if (total > 0) tick();
  }

  dispose() {
    if (this.gen) clearTimeout(this.gen.timer);
  }

  stats() {
    this.sweep();
    return {
      sessions: this.sessions.size,
      delivered: [...this.delivered],
      duplicates: this.duplicates,
      gaps: this.gaps,
      transports: { ...this.transports },
      uploads: this.uploads.stats(),
    };
  }
}

/** The key's stream, created on first use. */
export const streamOf = (state) => (state.heartline ??= new Stream(state));

/** A WebSocket as a link: events as `msg ID EVENT\n…` or `bin ID EVENT` + a binary frame. */
function wsLink(conn) {
  return {
    transport: 'websocket',
    session: null,
    push(ev) {
      if (!ev.binary) return conn.send(`msg ${ev.id} ${field(ev.event)}\n${ev.data}`);
      conn.send(`bin ${ev.id} ${field(ev.event)}`);
      conn.send(ev.data, true);
    },
    frame: (text) => conn.send(text),
    close: (code, reason) => conn.close(code, reason),
    supersede: () => conn.close(1000, 'superseded'),
  };
}

/**
 * The `/hl/<stream>` WebSocket route, as an entry of the scenario table (server.mjs). No
 * subprotocol is selected. Without `heartline=1` it is a plain echo server.
 */
export const heartline = {
  // `ws=STATUS` refuses every upgrade; `wsFirst=N` refuses the first N (a proxy that lets
  // WebSockets through again later).
  refuse(params, state) {
    if (num(params, 'ws', 0)) return { status: num(params, 'ws', 0) };
    const first = num(params, 'wsFirst', 0);
    return first && state.countScenarioUpgrade('hl') <= first ? { status: 403 } : null;
  },
  protocol: () => false,
  open(conn, params) {
    if (params.get('heartline') !== '1') return conn.onMessage((data, isBinary) => conn.send(data, isBinary));
    const stream = streamOf(conn.state);
    const echo = params.get('echo') !== '0';
    const link = wsLink(conn);
    /** what to do with the next (binary) frame, as a `bin SEQ` header announced */
    let pending = null;
    stream.transports.websocket += 1;
    conn.ws.on('close', () => stream.detach(link));
    conn.send(`welcome ${JSON.stringify({ v: 1 })}`);

    const hello = (json) => {
      if (link.session) return; // one hello per connection
      let h = null;
      try {
        h = JSON.parse(json);
      } catch {}
      if (!h || typeof h !== 'object') return conn.close(1002, 'bad hello');
      const token = params.get('auth');
      if (token && h.auth !== token) return conn.close(4401, 'unauthorized');
      const { resumed, events } = stream.replay(h.lastEventId);
      const session = stream.open(typeof h.session === 'string' ? h.session : '');
      conn.send(`ready ${JSON.stringify({ session: session.id, ack: session.last, resumed })}`);
      if (params.has('retry')) conn.send(`retry ${num(params, 'retry', 0)}`);
      for (const ev of events) link.push(ev);
      stream.attach(session, link);
      stream.startGen(params);
    };

    // Upload frames are answered on this socket, in order (up.ack, then up.done).
    const upload = (fields, payload, bytes) => {
      for (const frame of stream.uploads.frame(link.session, fields, payload, bytes, params)) conn.send(frame);
    };

    conn.onMessage((data, isBinary) => {
      const announced = pending;
      pending = null; // a header announces the very next frame only
      if (isBinary) {
        if (!link.session) return;
        if (announced) return announced(data);
        // Not announced by `bin`: an upload chunk frame, `up.chunk ID OFFSET CHECK\n` + bytes. Any
        // other binary frame is ignored (no session state to answer it from).
        const { fields, rest } = splitFrame(data);
        if (fields[0] === 'up.chunk') upload(fields, '', rest);
        return;
      }
      const text = data.toString('utf8');
      const { fields, payload } = parseFrame(text);
      const [type, arg] = fields;
      if (type === 'hello') return hello(text.slice(6));
      if (type === 'ping') return conn.send(`pong ${arg ?? ''}`);
      if (!link.session) return; // msg/bin/bye/up.* before hello: no session to deliver into
      if (type === 'msg') conn.send(`ack ${stream.receive(link.session, seqOf(arg), payload, false, echo)}`);
      else if (type === 'bin') {
        const seq = seqOf(arg);
        if (!Number.isNaN(seq)) pending = (bytes) => conn.send(`ack ${stream.receive(link.session, seq, bytes, true, echo)}`);
      } else if (type === 'up.open' || type === 'up.abort') upload(fields, payload, null);
      else if (type === 'bye') stream.forget(link.session);
      // `pong N` and unknown frame types: nothing to do
    });
  },
};
