import { eventReader } from './events.js';
import { failed, fails, poster, read, request, withParams } from './http.js';
import type { Context, TransportFactory } from './types.js';

type ESLike = new (url: string, init?: { withCredentials?: boolean }) => EventSource;
const g = globalThis as { fetch?: unknown; ReadableStream?: unknown; EventSource?: ESLike };
const streams = (o: Context['o']): boolean => !!(o.fetch || g.fetch) && !!g.ReadableStream;

/**
 * Server-sent events over a streaming fetch, so headers (Authorization, Last-Event-ID) can be set
 * and the status and content type checked; native EventSource only where fetch cannot stream
 * (the last event id then travels as the `lastEventId` query parameter). Client-to-server
 * messages go by POST.
 */
export const sse: TransportFactory = {
  name: 'sse',
  supported: (o) => streams(o) || !!(o.EventSource || g.EventSource),
  open(ctx, h) {
    const ac = new AbortController();
    let es: EventSource | undefined;
    const t = poster(ctx, h, ac.signal, () => {
      ac.abort();
      if (es) es.close();
    });
    const fail = fails(h, ac.signal);
    if (streams(ctx.o)) {
      request(ctx, ac.signal, {}, ctx.lastEventId)
        .then(async (res) => {
          if (failed(res, h, true)) return;
          const parser = eventReader(ctx, h);
          await read(res, (b) => (h.alive(), parser.feed(b)));
          h.close(1000, 'stream ended', true);
        })
        .catch(fail);
    } else {
      const ES = (ctx.o.EventSource || g.EventSource) as ESLike;
      es = new ES(withParams(ctx, { lastEventId: ctx.lastEventId }), { withCredentials: !!ctx.o.withCredentials });
      es.onopen = () => h.open(); // no headers to read: only a welcome tells
      es.onmessage = (e) => h.event(e.data, e.lastEventId, 'message');
      es.addEventListener('heartline', (e) => h.control((e as MessageEvent).data));
      es.onerror = () => {
        es!.close(); // heartline owns reconnection, with its backoff and fallback
        fail(undefined);
      };
    }
    return t;
  },
};
