// `heartline/ws`: the reconnecting WebSocket for plain servers. Everything `heartline` exports, but
// its connect() is the core with the WebSocket transport alone: no protocol, fallback or uploads.
import type { Connect } from './connection.js';
import { open } from './core.js';
import { websocket } from './transports/websocket.js';

export * from './index.js';

/**
 * Opens a reconnecting WebSocket to a plain server (see `connect` in `heartline` for the rest):
 * jittered backoff, heartbeat deadlines, a bounded send queue and the page lifecycle. Every server
 * is plain here (no heartline protocol, fallback or uploads: import `heartline` for those).
 * Throws {@link OptionError} synchronously for invalid options.
 */
export const connect: Connect = (url, options = {}) => open(url, options, { transports: [websocket] });
