/**
 * Build flag. `heartline` (dist/heartline.mjs, the IIFE) is built with FULL = true; the
 * `heartline/ws` entry (dist/ws.mjs) swaps this module for one with FULL = false (rollup.config.mjs),
 * and every `if (FULL …)` branch — the heartline protocol, the HTTP transports, fallback and
 * uploads — drops out of it, leaving the plain reconnecting WebSocket.
 */
export const FULL: boolean = true;
