import type { HeartlineError } from './errors.js';
import type { Data, DefaultOut, JsonValue, Options, Reason, State, TransportName, UrlSource } from './options.js';
import type { UploadOptions, UploadResult } from './upload.js';

/**
 * Listener signatures, by event type. `In` is the type of `message` data: `any` unless the
 * connection was given one (see {@link Connect}). It is a promise about what the server sends,
 * not a check: heartline delivers what it received (JSON-parsed with `json: true`).
 */
export interface Events<In = any> {
  open: (info: { transport: TransportName; resumed: boolean; attempt: number }) => void;
  message: (data: In, meta: { id: string; event: string; transport: TransportName }) => void;
  state: (state: State, info: { previous: State; reason: Reason }) => void;
  reconnecting: (info: { attempt: number; delay: number; reason: Reason; error?: HeartlineError | undefined }) => void;
  close: (info: { code: number; reason: string; wasClean: boolean; willReconnect: boolean }) => void;
  error: (error: HeartlineError) => void;
  /** A heartbeat was answered: `rtt` is the ms from the ping to the first inbound frame after it. */
  heartbeat: (info: { rtt: number }) => void;
}

/**
 * A connection: `In` is the type of the messages it receives (`message` data), `Out` the type
 * send() and sendWithAck() accept. `Connection` alone is `Connection<any, unknown>`: untyped, as
 * before message types existed.
 */
export interface Connection<In = any, Out = unknown> {
  readonly state: State;
  /** The open transport, or undefined while none is open. */
  readonly transport: TransportName | undefined;
  /** The last event id the server named ('' until then); carried into every reconnection. */
  readonly lastEventId: string;
  /** Writes now when open, else queues (bounded); throws a HeartlineError after close(). */
  send(data: Out): void;
  /**
   * Like send(), and resolves once the server acknowledged the message (heartline protocol), the
   * HTTP request carrying it succeeded (plain HTTP transports) or it was written (plain WebSocket).
   * Rejects with a HeartlineError when it is dropped (close(), queue overflow).
   */
  sendWithAck(data: Out): Promise<void>;
  /**
   * Uploads a File or Blob in chunks (PROTOCOL.md section 7), over the open transport, resuming
   * from the server's acknowledged offset after every reconnect. Resolves with the server's
   * result; rejects with an {@link UploadError} (its `reason` says why). Needs a protocol server.
   */
  upload(blob: Blob, options?: UploadOptions): Promise<UploadResult>;
  /** Drops the current attempt or connection and connects again now, backoff reset. Also restarts a closed connection. */
  reconnect(): void;
  /** Final: no more reconnects; unsent and unacknowledged messages are reported through `error`. code: 1000 or 3000-4999. */
  close(code?: number, reason?: string): void;
  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof Events>(type: K, listener: Events<In>[K]): () => void;
}

/**
 * The signature of {@link connect}. Type arguments are optional: `connect(url)` is untyped
 * (`message` data `any`, send() takes `unknown`, checked at run time, as before message types).
 * `connect<In>(url, options)` types the received messages and makes send() and sendWithAck()
 * take what the mode can send ({@link DefaultOut}): {@link Data} when the options have no `json`
 * or `json: false`, else {@link JsonValue} (`json: true`, or an `Options` value whose `json` is
 * only known to be a boolean). `connect<In, Out>(...)` names both directions, like socket.io's
 * typed events. The types are promises, not checks: what arrives is not validated.
 *
 * @example
 * type ChatIn = { from: string; text: string };
 * type ChatOut = { text: string };
 * const chat = connect<ChatIn, ChatOut>('wss://example.com/chat', { json: true });
 * chat.on('message', (m) => console.log(m.from, m.text)); // m: ChatIn
 * chat.send({ text: 'hi' }); // send(() => 1) or send({ txt: 'hi' }) does not compile
 */
export interface Connect {
  /** Text and binary mode (no `json`, or `json: false`): `Out` defaults to {@link Data} once `In` is given. */
  <In = any, Out = DefaultOut<In, Data>>(url: UrlSource, options?: Options & { json?: false }): Connection<In, Out>;
  /** JSON mode (`json: true`, or a `json` not known to be false): `Out` defaults to {@link JsonValue} once `In` is given. */
  <In = any, Out = DefaultOut<In, JsonValue>>(url: UrlSource, options: Options): Connection<In, Out>;
}
