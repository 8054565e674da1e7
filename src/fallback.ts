import { RETRY } from './backoff.js';
import type { Verdict } from './backoff.js';
import { WELCOME, where } from './kernel.js';
import type { Core } from './kernel.js';
import { HeartlineError } from './errors.js';
import type { TransportName } from './options.js';
import { remember } from './remember.js';
import type { Transport, TransportFactory } from './transports/types.js';

/** On a fallback after WebSocket had worked on this connection (a server restart), WebSocket is re-checked this soon (ms). */
const SOON = 3000;

/** What the core asks of the transport choice (see {@link fallback}). */
export interface Fallback {
  /** The transport for the next attempt at `u`, or undefined (and the connection failed) when none is usable. */
  choose(u: string): TransportFactory | undefined;
  /** Just before `f` opens. */
  opening(f: TransportFactory): void;
  /** Transport `n` opened. */
  opened(n: TransportName): void;
  /** The connection is ready. */
  ready(): void;
  /** The open timer fired at `now`: starts the background check of WebSocket when due; ms to the next one. */
  check(now: number): number;
  /** The attempt or connection is gone: true when the next transport is tried at once. */
  lost(had: boolean, was: boolean, verdict: Verdict): boolean;
  /** After the `close` event: moves the rotation on (a fallback) or back to the start (an outage). */
  move(fallback: boolean, was: boolean): void;
  /** Forgets the background WebSocket, if any. */
  drop(): void;
}

/**
 * The choice of transport for each attempt, in the order of `options.transports` (by default
 * WebSocket, then SSE, then long-polling for http(s) URLs): the one that worked last in this page
 * session first; the next one at once when a transport never opens (a proxy that blocks only
 * WebSockets); back to the first after an outage. While open on a fallback, WebSocket is checked
 * in the background every `upgradeAfter` ms and the connection moves back when a protocol server
 * greets it.
 */
export const fallback = (k: Core, transports: TransportFactory[]): Fallback => {
  const { o } = k;
  const { upgradeAfter = 300000 } = o;
  const websocket = transports.find((t) => t.name === 'websocket');
  const wait = Math.min(k.hb ? k.hb.timeout : WELCOME, WELCOME);
  let key = ''; // sessionStorage key of the transport that worked for this URL
  let pick = -1; // index of the transport to try next; -1: the remembered one, or the first
  let fallbacks = 0; // transports tried in a row without one opening
  let usable = 1; // how many transports this URL and runtime offer
  let upgradable = false; // open on a fallback while WebSocket comes first
  let wsSeen = false; // WebSocket was open on this connection once: a failure later is an outage, not a block
  let scoutedAt = 0; // when WebSocket was last checked in the background (or the fallback opened)
  let scout: Transport | undefined; // that background WebSocket, until it answers or fails
  let scoutTimer: ReturnType<typeof setTimeout> | undefined;

  const unscout = (): void => {
    clearTimeout(scoutTimer);
    if (scout) scout.close(1000, 'probe');
    scout = undefined;
  };

  /**
   * Opens a WebSocket on the side, leaving the open transport alone. A protocol server greets it
   * with `welcome` unprompted; only then is the fallback dropped and WebSocket connected for real,
   * resuming the session (PROTOCOL.md section 4: nothing is lost or doubled). A failure or silence
   * just closes the side socket; the check repeats `upgradeAfter` later.
   */
  const scoutWebSocket = async (): Promise<void> => {
    const g = k.gen;
    scoutedAt = Date.now();
    const end = (works: boolean): void => {
      unscout();
      if (works && g === k.gen) {
        pick = 0;
        k.restart('upgrade');
      }
    };
    try {
      const target = await where(k.o, websocket!, k.base!);
      if (g !== k.gen || scout) return;
      target.searchParams.set('heartline', '1');
      const nop = (): void => {};
      scoutTimer = setTimeout(end, wait, false);
      scout = websocket!.open({ ...k.ctx!, url: target.href }, {
        open: nop,
        data: (d) => end(typeof d == 'string' && d.startsWith('welcome ')),
        event: nop,
        control: nop,
        reply: nop,
        alive: nop,
        close: () => end(false),
      });
    } catch {
      unscout(); // a URL function that threw: stay on the fallback
    }
  };

  return {
    choose(u) {
      key = 'heartline:' + u;
      const names = o.transports || (/^wss?:/.test(u) ? ['websocket'] : ['websocket', 'sse', 'longpoll']);
      const list = names.map((n) => transports.find((t) => t.name === n)!).filter((t) => t && t.supported(o));
      if (pick < 0) pick = Math.max(0, list.findIndex((t) => t.name === remember(key)));
      const f = list[pick % list.length];
      usable = list.length;
      upgradable = f !== list[0] && list[0] === websocket;
      if (!f) k.fail('stop', new HeartlineError('connect', `no usable transport in ${names}`));
      return f;
    },
    opening(f) {
      // A buffering proxy (nginx's default) holds back an event stream's response headers too:
      // give them as long as a welcome, then try the next transport.
      if (f.name === 'sse') k.setTimer(wait, () => k.lost('connect-timeout'));
    },
    opened(n) {
      // A fallback that opened after WebSocket had worked is an outage's accident, not this network's rule.
      if (n === 'websocket' || !wsSeen) remember(key, n);
      if (n === 'websocket') wsSeen = true;
    },
    ready() {
      scoutedAt = Date.now();
      // Back on a fallback after WebSocket worked here (a restart raced the rotation): look again soon.
      if (wsSeen && k.name !== 'websocket') scoutedAt -= upgradeAfter - SOON;
      fallbacks = 0;
    },
    check(now) {
      if (!(upgradable && k.hl && upgradeAfter)) return Infinity;
      if (now - scoutedAt >= upgradeAfter) void scoutWebSocket(); // sets scoutedAt before its first await
      return scoutedAt + upgradeAfter - now;
    },
    lost: (had, was, verdict) => had && !was && verdict === RETRY && ++fallbacks < usable,
    move(fallback, was) {
      if (fallback) return void pick++;
      // Every transport failed in a row (an outage): the next round starts from the preferred one again.
      if (!was && fallbacks) pick = 0;
      fallbacks = 0;
    },
    drop: unscout,
  };
};
