export { connect } from './connect.js';
export type { Connect, Connection, Events } from './connect.js';
export { backoff } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { HeartlineError, OptionError, QueueOverflowError, UploadError, isHeartlineError } from './errors.js';
export type { ErrorCode, UploadReason } from './errors.js';
export type { UploadOptions, UploadResult } from './upload.js';
export type {
  Data,
  DefaultOut,
  HeartbeatOptions,
  JsonValue,
  Options,
  QueueOptions,
  Reason,
  ReconnectOptions,
  RetryInfo,
  State,
  TransportName,
  UrlSource,
  WebSocketLike,
} from './options.js';
export { observe } from './store.js';
export type { Snapshot } from './store.js';
