import { createSSEParser } from '../sse-parser.js';
import type { Context, Handlers } from './types.js';

/**
 * The text/event-stream reader shared by SSE and long-polling: application events go to
 * `h.event` with the last event id in force, `heartline` events are protocol frames, `retry:`
 * becomes a retry hint, an id committed by a block without data goes to `h.id`, and the size cap
 * comes from `maxEventSize`. `seen` is called before each event or frame is handed on.
 */
export const eventReader = (ctx: Context, h: Handlers, seen = (): unknown => 0) =>
  createSSEParser((e) => (seen(), e.event === 'heartline' ? h.control(e.data) : h.event(e.data, e.id, e.event)), {
    lastEventId: ctx.lastEventId,
    maxLength: ctx.o.maxEventSize || 1 << 20,
    onRetry: (ms) => h.control(`retry ${ms}`),
    onId: h.id,
  });
