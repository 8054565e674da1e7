import { eventReader } from './events.js';
import { failed, fails, poster, read, request } from './http.js';
import type { TransportFactory } from './types.js';

/** A poll answered after this long was held by the server, so a gateway error on it is a proxy's timeout (ms). */
const HELD = 1000;

/**
 * Long-polling over fetch, for networks where neither WebSocket nor a stream gets through: each
 * GET returns the events since the last event id in text/event-stream format, read as a stream
 * through the parser, and is reissued at once when it brought something, else no sooner than
 * `pollInterval` after the last one started (which is short polling against a server that answers
 * at once). Liveness is the connection's heartbeat (the server answers within 25 s even when idle).
 *
 * Once open, a 408/502/504 is a proxy giving up on a held poll: the poll counts as empty, and when
 * it had been held at least `HELD` ms (1,000) the server is asked to hold later polls for less
 * (`wait=`, three quarters of what the proxy allowed; PROTOCOL.md section 5). Such errors that come
 * at once are tolerated twice in a row; the third fails the connection.
 */
export const longpoll: TransportFactory = {
  name: 'longpoll',
  supported: (o) => !!(o.fetch || (globalThis as { fetch?: unknown }).fetch),
  open(ctx, h) {
    const ac = new AbortController();
    // Each poll has its own controller: fetch adds an abort listener to every signal it is given.
    let pc = ac;
    let pause: ReturnType<typeof setTimeout> | undefined;
    const t = poster(ctx, h, ac.signal, () => (ac.abort(), pc.abort(), clearTimeout(pause)));
    let got: unknown; // the poll brought an event or a frame
    const parser = eventReader(ctx, h, () => (got = 1));
    const { pollInterval: every = 1000 } = ctx.o;
    (async () => {
      for (let first = true, wait = 0, strikes = 0; !ac.signal.aborted; first = false) {
        const id = parser.lastEventId;
        const start = Date.now();
        got = 0;
        pc = new AbortController();
        try {
          const res = await request(ctx, pc.signal, { poll: '1', open: first ? '1' : '', lastEventId: id, wait: '' + (wait || '') }, id);
          const held = Date.now() - start;
          if (!first && [408, 502, 504].includes(res.status)) {
            if (held >= HELD) wait = (held * 3) >> 2;
            else if (++strikes > 2 && failed(res, h)) return;
          } else {
            if (failed(res, h, first)) return;
            strikes = 0;
            h.alive(); // events and frames prove life too, as they come
            await read(res, parser.feed);
            parser.reset(); // each response is a whole stream: an unterminated event is discarded
          }
        } finally {
          pc.abort(); // the rest of a body not read
        }
        const rest = start + every - Date.now();
        if (!got && rest > 0 && !ac.signal.aborted) await new Promise((r) => (pause = setTimeout(r, rest)));
      }
    })().catch(fails(h, ac.signal));
    return t;
  },
};
