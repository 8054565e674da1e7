/**
 * Every error heartline raises or emits is a {@link HeartlineError} with a stable `code`.
 * Subclasses exist for the cases an app handles differently; `isHeartlineError` also accepts
 * errors from another realm (an iframe's copy of the library) by their `name`.
 */

/** Stable, machine-readable error codes. */
export type ErrorCode =
  | 'invalid-option' // an option or argument is out of range or of the wrong type
  | 'closed' // the connection was closed by the app: send() refused or queued messages dropped
  | 'queue-overflow' // the send queue was full
  | 'listener' // an event listener threw
  | 'malformed' // the server sent something that could not be decoded
  | 'auth' // the auth() hook failed or the server rejected the credentials
  | 'connect' // a connection attempt failed, or the server told us to stop
  | 'sse-limit' // an SSE line or event exceeded its size cap, or an HTTP answer its byte cap
  | 'gap' // the server could not resume from the last event id: events after it may have been missed
  | 'upload'; // an upload failed: see UploadError.reason

export class HeartlineError extends Error {
  /** Stable code, safe to switch on. */
  readonly code: ErrorCode;
  /** What the error is about: the dropped messages, the undecodable frame, the close code... */
  readonly data: unknown;
  constructor(code: ErrorCode, message: string, cause?: unknown, data?: unknown) {
    super(message, { cause });
    this.name = 'HeartlineError';
    this.code = code;
    this.data = data;
  }
}

/** Raised synchronously when an option or argument is invalid; the message names it and its range. */
export class OptionError extends HeartlineError {
  constructor(message: string, cause?: unknown) {
    super('invalid-option', message, cause);
  }
}

/** Emitted when a message could not be queued or had to be dropped; `data` holds the message(s). */
export class QueueOverflowError extends HeartlineError {
  constructor(message: string, data: unknown) {
    super('queue-overflow', message, undefined, data);
  }
}

/** Why an upload failed. */
export type UploadReason =
  | 'aborted' // its signal aborted
  | 'closed' // close() was called, or the connection gave up
  | 'protocol' // the server is plain: uploads need the heartline protocol
  | 'bad-ack' // the server acknowledged beyond the file, went backwards, sent a malformed number or result, or finished early
  | 'stalled' // no acknowledgement for the upload's timeout (connected or not), or the server named the same offset again and again
  | 'read' // the file could not be read
  | 'server'; // the server refused it (`up.error`: too large, checksum mismatch...)

/** The rejection of `conn.upload()`; `reason` says why. */
export class UploadError extends HeartlineError {
  readonly reason: UploadReason;
  constructor(reason: UploadReason, message: string, cause?: unknown) {
    super('upload', message, cause);
    this.reason = reason;
  }
}

/** True for any heartline error, including one created by another copy of the library. */
export const isHeartlineError = (e: unknown): e is HeartlineError =>
  e instanceof HeartlineError || (e instanceof Error && e.name === 'HeartlineError');
