import { eventReader } from './events.js';
import { failed, fails, getFetch, headersFor, init, poster, withParams } from './http.js';
import type { Transport, TransportFactory } from './types.js';

/**
 * Long-polling over fetch, for networks where neither WebSocket nor a stream gets through: each
 * GET returns the events since the last event id in text/event-stream format and is reissued at
 * once. Liveness is the connection's heartbeat (the server answers within 25 s even when idle).
 */
export const longpoll: TransportFactory = {
  name: 'longpoll',
  supported: (o) => !!(o.fetch || (globalThis as { fetch?: unknown }).fetch),
  open(ctx, h) {
    const ac = new AbortController();
    const post = poster(ctx, h, ac.signal, () => t.hl);
    const t: Transport = { hl: false, send: post.push, control: (f) => post.push(f, -1), chunk: post.chunk, buffered: post.buffered, close: () => ac.abort() };
    const parser = eventReader(ctx, h);
    (async () => {
      for (let first = true; ; first = false) {
        const id = parser.lastEventId;
        const res = await getFetch(ctx)(
          withParams(ctx, { poll: '1', open: first ? '1' : '', lastEventId: id }),
          init(ctx, ac.signal, { Accept: 'text/event-stream', ...headersFor(ctx, id) }),
        );
        if (failed(res, h)) return;
        if (first) h.open(res.headers.get('heartline') === '1');
        const text = await res.text();
        h.alive();
        parser.feed(text);
        parser.reset(); // each response is a whole stream: an unterminated event is discarded
      }
    })().catch(fails(h, ac.signal));
    return t;
  },
};
