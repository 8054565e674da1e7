// `heartline/core`: connect() assembled from the parts an app imports. Everything `heartline`
// exports, plus `connectWith` and the parts: the transports, the protocol, the fallback, uploads.
import type { Connect } from './connection.js';
import { open } from './core.js';
import type { Parts } from './core.js';
import { validateFull } from './options.js';

export * from './index.js';
export type { Parts } from './kernel.js';
export { fallback } from './fallback.js';
export { protocol } from './negotiate.js';
export type { Context, Handlers, Transport, TransportFactory } from './transports/types.js';
export { longpoll } from './transports/longpoll.js';
export { sse } from './transports/sse.js';
export { websocket } from './transports/websocket.js';
export { createUploads as uploads } from './upload.js';

/**
 * A `connect` made of the parts given: only those reach the bundle. `heartline`'s connect is
 * `connectWith({ transports: [websocket, sse, longpoll], protocol, fallback, uploads })`, and
 * `heartline/ws`'s is `connectWith({ transports: [websocket] })` (without this entry's checks of
 * the fallback and protocol options). Without `fallback` only the first transport is used;
 * without `protocol` every server is plain; without `uploads`, upload() rejects.
 *
 * @example
 * import { connectWith, websocket, protocol } from 'heartline/core';
 * // WebSocket with the heartline protocol (resume, acknowledged sends), no HTTP fallback, no uploads
 * export const connect = connectWith({ transports: [websocket], protocol });
 */
export const connectWith =
  (parts: Parts): Connect =>
  (url, options = {}) =>
    open(url, options, { validate: validateFull, ...parts });
