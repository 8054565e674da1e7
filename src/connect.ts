import type { Connect } from './connection.js';
import { open } from './core.js';
import type { Parts } from './kernel.js';
import { fallback } from './fallback.js';
import { protocol } from './negotiate.js';
import { validateFull } from './options.js';
import { longpoll } from './transports/longpoll.js';
import { sse } from './transports/sse.js';
import { websocket } from './transports/websocket.js';
import { createUploads } from './upload.js';

export type { Connect, Connection, Events } from './connection.js';

/** Everything: WebSocket, SSE and long-polling, the heartline protocol, the fallback and uploads. */
const all: Parts = { transports: [websocket, sse, longpoll], protocol, fallback, uploads: createUploads, validate: validateFull };

/**
 * Opens a connection that keeps itself alive: it reconnects with jittered backoff, checks liveness
 * with wall-clock heartbeat deadlines, queues sends while down, falls back from WebSocket to SSE to
 * long-polling, resumes with the last event id and reacts to the page lifecycle.
 * Throws {@link OptionError} synchronously for invalid options.
 */
export const connect: Connect = (url, options = {}) => open(url, options, all);
