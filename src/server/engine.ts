/**
 * The engine seams of `heartline/server`: the replay log, the session store and upload storage.
 * The protocol code knows only these interfaces; the defaults keep everything in this process
 * (memory.ts) and upload bytes in files (files.ts). Every method may answer synchronously or with
 * a Promise, so an implementation backed by Redis or object storage fits behind the same calls.
 *
 * What the in-memory defaults cannot do: survive a restart (a restarted server starts a new epoch,
 * so clients learn that their resume failed) or be shared between processes.
 * @module
 */

/** A value or a Promise of it. */
export type Awaitable<T> = T | Promise<T>;

/** An application event as the log holds it. */
export interface LogEvent {
  /** Opaque to clients: `EPOCH-N` in the in-memory log. */
  id: string;
  /** Position in this epoch, 1, 2, 3…: what the server compares. */
  seq: number;
  /** The stream it was published to, or null for an event sent to one session. */
  stream: string | null;
  /** The session it was sent to, or null for a published event. */
  session: string | null;
  /** The event name, or null for `message`. */
  event: string | null;
  /** Text, or bytes for a binary event (WebSocket only). */
  data: string | Uint8Array;
  /** When it was appended (ms since the epoch of the clock). */
  time: number;
}

/** What to replay to one client: events published to its streams or sent to its session. */
export interface LogFilter {
  streams: ReadonlySet<string>;
  session: string;
}

/** The answer to a resume request. */
export interface Replay {
  /** true when the log still holds everything after the requested id (PROTOCOL.md section 4). */
  resumed: boolean;
  /** The events after that id matching the filter, oldest first (empty when not resumed). */
  events: LogEvent[];
  /** The id of the newest event when read, from a log that offers it (the shared one). */
  head?: string;
}

/**
 * The replay log: every published or sent event, for a bounded length and age. Ids never go
 * backwards for a client: a log that lost its history picks a new `epoch`, and a resume from an
 * id of another epoch answers `resumed: false`.
 */
export interface ReplayLog {
  /** Changes whenever the log's history was lost (e.g. at every start of the in-memory log). */
  readonly epoch: string;
  /** Adds an event and names it; appends resolve in call order. */
  append(event: Omit<LogEvent, 'id' | 'seq' | 'time'>): Awaitable<LogEvent>;
  /**
   * The events after `lastEventId` matching `filter`, at most `limit`. An empty id means a new
   * client (not resumed, nothing replayed); an id of another epoch, older than the log or beyond
   * its end means not resumed.
   */
  since(lastEventId: string, filter: LogFilter, limit: number): Awaitable<Replay>;
  /** How many events are held (for stats). */
  size(): Awaitable<number>;
  /** Frees what the log holds. */
  close(): Awaitable<void>;
  /**
   * Present when the log is shared by several server processes: it then carries their live
   * fan-out too, and the server pushes events only as the bus delivers them (its own included).
   */
  readonly bus?: Bus;
}

/** What one process tells the process holding a session's live link. */
export type Signal =
  /** A protocol frame for the session's link (a `pong` answering a POSTed `ping`). */
  | { type: 'frame'; text: string }
  /** End the session's link with this close code (`disconnect`). */
  | { type: 'close'; code: number; reason: string }
  /** A process attached link number `gen` of the session: links of lower numbers are superseded. */
  | { type: 'link'; gen: number };

/** What a {@link Bus} delivers to its server. */
export interface BusHandler {
  /** An event appended by any process, in log order. */
  event(event: LogEvent): void;
  /** A signal sent to a session by any process. */
  signal(session: string, signal: Signal): void;
  /** Delivery stopped and may have missed messages (a lost connection): live links must resume. */
  lost(): void;
}

/** Live fan-out between server processes (e.g. Redis pub/sub). */
export interface Bus {
  /** Starts delivering to `handler`. */
  listen(handler: BusHandler): Awaitable<void>;
  /** Sends `signal` to every process; for `link` the bus fills in `gen` and returns it. */
  signal(session: string, signal: Signal): Awaitable<number>;
}

/** One session as the store keeps it. */
export interface SessionRecord {
  /** Random, unguessable: it is the client's only claim to the session. */
  id: string;
  /** The highest client SEQ delivered to the application (and acknowledged). */
  last: number;
  /** The streams its connections receive. */
  streams: string[];
  /** What `authenticate` returned for its latest connection or request. */
  user: unknown;
  /** When it last had a connection, a request or a message (ms). */
  seen: number;
  /**
   * Where the log stood when the session began (shared logs): a connection of the session that
   * names no event id (its client received none yet) resumes from here, on whichever process.
   */
  from?: string;
}

/** Where sessions live between connections. */
export interface SessionStore {
  get(id: string): Awaitable<SessionRecord | undefined>;
  /** Creates or replaces. */
  set(record: SessionRecord): Awaitable<void>;
  delete(id: string): Awaitable<void>;
  size(): Awaitable<number>;
  /** Deletes every session for which `keep` is false and `seen` is before `before`; returns their ids. */
  sweep(before: number, keep: (id: string) => boolean): Awaitable<string[]>;
  close(): Awaitable<void>;
  /**
   * Present when the store is shared by several processes. The server then re-reads a record
   * whenever a request names it, delivers each client message under a lease taken here, and
   * refreshes `seen` of the sessions it serves so another process does not sweep them.
   */
  readonly shared?: SharedSessions;
}

/** The compare-and-set of a shared session store. */
export interface SharedSessions {
  /**
   * Before delivering client message `seq`: the stored `last`, and a lease token when `seq` is
   * `last + 1` and no other process holds the session's lease (`busy` when one does).
   */
  begin(id: string, seq: number): Awaitable<{ last: number; token: string | null; busy: boolean }>;
  /** After the hook: `last` = `seq` if the lease is still held; the lease ends; returns the stored `last`. */
  commit(id: string, token: string, seq: number): Awaitable<number>;
  /** The lease ends without delivery (the hook threw). */
  release(id: string, token: string): Awaitable<void>;
  /** Marks sessions seen at `now`. */
  touch(ids: string[], now: number): Awaitable<void>;
}

/** The bytes of one upload, appended in order. */
export interface UploadFile {
  /** Where the bytes are, for an implementation that keeps them on the local disk. */
  readonly path: string | null;
  /** Writes `bytes` at `offset` (always the length written so far). */
  write(offset: number, bytes: Uint8Array): Awaitable<void>;
  /** No more writes: the upload is complete. The file stays until `remove`. */
  finish(): Awaitable<void>;
  /** Deletes the bytes (abort, failure, expiry, or after the application took the file). */
  remove(): Awaitable<void>;
}

/** Upload storage: tusd's data store idea, reduced to what PROTOCOL.md section 7 needs. */
export interface UploadStore {
  /** A new empty file; `key` is unique on this server (session id and upload id). */
  create(key: string): Awaitable<UploadFile>;
  /** Removes every file still held (server shutdown with `removeUploadsOnClose`). */
  close(): Awaitable<void>;
  /**
   * Present when several processes share the uploads (state in a shared store, bytes in shared
   * storage). Each upload frame is then answered under the upload's lease, from the shared state,
   * and the SHA-256 is computed from the file at the end.
   */
  readonly shared?: SharedUploads;
}

/** What a shared upload store keeps of one upload between frames. */
export interface UploadState {
  size: number;
  name: string | null;
  type: string | null;
  metadata: Record<string, unknown> | null;
  received: number;
  done: string | null;
}

/** The shared side of an {@link UploadStore}. */
export interface SharedUploads {
  /** Takes the upload's lease; a token, or null while another process holds it. */
  lock(key: string): Awaitable<string | null>;
  unlock(key: string, token: string): Awaitable<void>;
  load(key: string): Awaitable<UploadState | undefined>;
  /** Saves the state, forgotten after `ttl` ms without a save. */
  save(key: string, state: UploadState, ttl: number): Awaitable<void>;
  delete(key: string): Awaitable<void>;
  /** The file of an upload `create` made (on this or another process), to write on. */
  open(key: string): Awaitable<UploadFile>;
}
