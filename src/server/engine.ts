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
}
